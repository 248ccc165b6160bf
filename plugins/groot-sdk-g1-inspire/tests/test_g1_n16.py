"""The G1 + Inspire's full 53-D layout runs a GR00T N1.6 checkpoint; N1.5 cannot take it.

The checkpoint is tiny and random (``groot_sdk.models.gr00t_n16.tiny``), with this robot's state
and action groups, camera and tag, and the modality config ``groot_sdk.modality`` generates for
it; ``groot run -e g1_inspire --sim -p torch`` drives the MuJoCo G1 with it through the deployer.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytest.importorskip("torch", reason="needs the torch extra")
pytest.importorskip("transformers", reason="needs the torch extra")
pytest.importorskip("mujoco", reason="needs the sim extra")


@pytest.fixture(scope="module")
def spec():
    from groot_sdk.plugins import get_registry

    return get_registry().embodiment("g1_inspire").spec


@pytest.fixture(scope="module")
def g1_checkpoint(spec, tmp_path_factory):
    from groot_sdk.modality import n16_modality_config
    from groot_sdk.models.gr00t_n16.tiny import build_tiny_checkpoint, tiny_config_dict

    groups = {g.key: g.size for g in spec.observed_state_groups}
    actions = {g.key: g.size for g in spec.action_groups}
    directory = build_tiny_checkpoint(
        tmp_path_factory.mktemp("g1_n16") / "ckpt",
        groups,
        actions,
        cameras=tuple(c.name for c in spec.cameras),
        tag=spec.embodiment_tag,
        config=tiny_config_dict(max_state_dim=64, max_action_dim=64),
    )
    file = directory / "processor_config.json"
    config = json.loads(file.read_text())
    config["processor_kwargs"]["modality_configs"][spec.embodiment_tag] = n16_modality_config(spec)
    file.write_text(json.dumps(config))
    return directory


def test_the_53d_layout_is_an_n16_layout(spec):
    from groot_sdk_g1_inspire.plugin import GROOT_MODEL

    from groot_sdk.errors import ModalityError
    from groot_sdk.modality import MODEL_LIMITS, n15_data_config, n16_modality_config

    assert (spec.state_dim, spec.action_dim) == (53, 53)
    assert GROOT_MODEL == "n1.6"
    max_state, max_action = MODEL_LIMITS[GROOT_MODEL]
    assert spec.state_dim <= max_state and spec.action_dim <= max_action
    assert len(n16_modality_config(spec)["action"]["modality_keys"]) == 7
    with pytest.raises(ModalityError, match="GR00T N1.5 takes at most 32 .* or target N1.6"):
        n15_data_config(spec)


def test_an_n15_checkpoint_is_refused_naming_the_width(spec, tmp_path):
    from groot_sdk.errors import ModalityError
    from groot_sdk.models.gr00t_n15.tiny import build_tiny_checkpoint
    from groot_sdk.policy.factory import make_backend

    groups = {g.key: g.size for g in spec.observed_state_groups}
    n15 = build_tiny_checkpoint(tmp_path / "n15", groups, groups, ("cam_left_high",))
    with pytest.raises(ModalityError, match="action is 53-D, the model emits at most 32"):
        make_backend("torch", spec, {"checkpoint": str(n15)})


def test_groot_run_drives_the_sim_with_an_n16_checkpoint(g1_checkpoint):
    cmd = [sys.executable, "-m", "groot_sdk.cli.main", "run", "-e", "g1_inspire", "--sim",
           "-p", "torch", "--policy-opt", f"checkpoint={g1_checkpoint}",
           "--policy-opt", "seed=0", "--seconds", "0.2", "--sync", "--json"]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(out.stdout[out.stdout.index("{") :])
    assert report["stop_reason"] == "completed"
    assert report["policy_steps"] >= 1  # the N1.6 model ran and its chunks were executed
    assert report["rejected_chunks"] == 0 and report["safety_stops"] == 0
    assert report["steps"] >= 40
