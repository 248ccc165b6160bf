"""groot dataset stats/show and groot finetune-config."""

from __future__ import annotations

import ast
import json

import numpy as np
import pytest

pytest.importorskip("pyarrow")
pytest.importorskip("av")

from click.testing import CliRunner

from groot_sdk.cli.main import cli
from groot_sdk.data.reader import Dataset

from .helpers import record_mock, so101_spec


@pytest.fixture(scope="module")
def ds(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli") / "ds"
    record_mock(root, so101_spec(), episodes=2, steps=20)
    return root


def test_stats_per_modality_key(ds):
    result = CliRunner().invoke(cli, ["dataset", "stats", str(ds), "--json", "--write"])
    assert result.exit_code == 0, result.output
    stats = json.loads(result.output)
    assert set(stats) == {"state", "action"}
    assert set(stats["action"]) == {"single_arm", "gripper"}
    arm = stats["action"]["single_arm"]
    assert set(arm) == {"mean", "std", "min", "max", "q01", "q99"}
    action = Dataset(ds).concat(["action"])["action"]
    np.testing.assert_allclose(arm["mean"], action[:, :5].mean(0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(arm["q99"], np.quantile(action[:, :5], 0.99, axis=0), rtol=1e-5)
    assert len(stats["state"]["gripper"]["std"]) == 1
    written = json.loads((ds / "meta/stats.json").read_text())
    assert set(written["action"]) >= {"mean", "std", "min", "max", "q01", "q99"}
    table = CliRunner().invoke(cli, ["dataset", "stats", str(ds)])
    assert "action.single_arm" in table.output and "q99" in table.output


def test_show_and_plot(ds, tmp_path):
    out = tmp_path / "ep1.png"
    result = CliRunner().invoke(cli, ["dataset", "show", str(ds), "--episode", "1", "--plot",
                                      str(out)])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "2 episodes" in result.output and "episode 1: 20 frames" in result.output
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 10_000
    bad = CliRunner().invoke(cli, ["dataset", "show", str(ds), "--episode", "9"])
    assert bad.exit_code != 0


@pytest.mark.parametrize("model", ["n1.5", "n1.6"])
def test_finetune_config(ds, tmp_path, model):
    out = tmp_path / f"cfg_{model.replace('.', '')}.py"
    result = CliRunner().invoke(
        cli, ["finetune-config", "so101", "--model", model, "--dataset", str(ds), "--out",
              str(out), "--max-steps", "2000", "--batch-size", "16"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    source = out.read_text()
    tree = ast.parse(source)
    imported = {
        (node.module, a.name)
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        for a in node.names
    }
    cmd = result.stdout.strip().splitlines()[-1]
    assert f"--dataset-path {ds.resolve()}" in cmd and "--max-steps 2000" in cmd
    if model == "n1.6":
        assert ("gr00t.data.types", "ModalityConfig") in imported
        assert ("gr00t.data.types", "ActionConfig") in imported
        assert ("gr00t.configs.data.embodiment_configs", "register_modality_config") in imported
        assert "EmbodimentTag.NEW_EMBODIMENT" in source
        assert '"single_arm", "gripper"' in source and "ActionRepresentation.ABSOLUTE" in source
        assert "gr00t/experiment/launch_finetune.py" in cmd
        assert "--embodiment-tag NEW_EMBODIMENT" in cmd
        assert f"--modality-config-path {out.resolve()}" in cmd
        assert "--global-batch-size 16" in cmd and "--tune-projector" in cmd
    else:
        assert ("gr00t.experiment.data_config", "BaseDataConfig") in imported
        assert 'state_keys = ["state.single_arm", "state.gripper"]' in source
        assert 'video_keys = ["video.front", "video.wrist"]' in source
        assert "scripts/gr00t_finetune.py" in cmd
        assert "--data-config cfg_n15:So101DataConfig" in cmd and "--batch-size 16" in cmd
        assert "--no-tune-llm" in cmd and "--tune-diffusion-model" in cmd


def test_finetune_config_refuses_a_dataset_of_another_robot(ds, tmp_path):
    result = CliRunner().invoke(
        cli, ["finetune-config", "fetch", "--dataset", str(ds), "--out", str(tmp_path / "x.py")]
    )
    assert result.exit_code != 0
    assert "does not match fetch" in result.output
