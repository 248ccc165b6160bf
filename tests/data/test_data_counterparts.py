"""Datasets `groot run --record` writes load in the counterparts' readers, sample by sample.

The Isaac-GR00T N1.5 loader is a stand-in written from its published source
(``tests/data/groot_n15_loader.py``: ``gr00t/data/dataset.py`` at commit 4af2b622). LeRobot's
own v2.1 reader is tested in ``test_data_lerobot.py`` (``nox -s lerobot_compat``).
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("pyarrow")
av = pytest.importorskip("av")

import pyarrow.parquet as pq

from .groot_n15_loader import N15Dataset

HORIZON = 16  #: N1.5's action horizon: delta indices 0..15


def groot_record(root, seconds: float = 0.5, task: str = "wave") -> None:
    """One episode of the SO-101 on fake hardware under the sinusoid, through the CLI."""
    out = subprocess.run(
        [sys.executable, "-m", "groot_sdk.cli.main", "run", "-e", "so101", "--fake-hardware",
         "--policy", "sinusoid", "--task", task, "--seconds", str(seconds), "--record",
         str(root), "--json"],
        check=False, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    root = tmp_path_factory.mktemp("n15") / "so101_wave"
    groot_record(root)
    groot_record(root, task="wave again")  # appended: two episodes, two tasks
    return root


def _deltas(modality):
    deltas = {f"state.{k}": [0] for k in modality["state"]}
    deltas |= {f"action.{k}": list(range(HORIZON)) for k in modality["action"]}
    deltas |= {f"video.{k}": [0] for k in modality["video"]}
    deltas |= {f"annotation.{k}": [0] for k in modality["annotation"]}
    return deltas


def test_groot_n15_loader_reads_a_recorded_dataset_sample_by_sample(recorded):
    modality = json.loads((recorded / "meta/modality.json").read_text())
    ds = N15Dataset(recorded, _deltas(modality))  # IndexError here when stats.json has count
    assert not ds.recomputed_stats
    assert ds.trajectory_ids == [0, 1] and len(ds) == sum(ds.trajectory_lengths) > 0
    parquet = {
        i: pq.read_table(recorded / f"data/chunk-000/episode_{i:06d}.parquet").to_pydict()
        for i in ds.trajectory_ids
    }
    # the statistics it normalises with are the parquet's, per modality key
    state = np.concatenate([np.stack(p["observation.state"]) for p in parquet.values()])
    action = np.concatenate([np.stack(p["action"]) for p in parquet.values()])
    for section, values in (("state", state), ("action", action)):
        for key, entry in modality[section].items():
            st = ds.statistics[section][key]
            assert set(st) == {"min", "max", "mean", "std", "q01", "q99"}
            cut = values[:, entry["start"] : entry["end"]].astype(np.float64)
            np.testing.assert_allclose(st["max"], cut.max(0), rtol=1e-6)
            np.testing.assert_allclose(st["q01"], np.quantile(cut, 0.01, axis=0), rtol=1e-5)
    steps = 0
    for tid, base in ds.all_steps():
        p = parquet[tid]
        n = len(p["frame_index"])
        st, ac = np.stack(p["observation.state"]), np.stack(p["action"])
        for key, entry in modality["state"].items():
            got = ds.state_or_action(tid, "state", key, base)
            np.testing.assert_array_equal(got, st[[base], entry["start"] : entry["end"]])
        for key, entry in modality["action"].items():
            got = ds.state_or_action(tid, "action", key, base)
            rows = np.minimum(np.arange(base, base + HORIZON), n - 1)  # padded with the last
            np.testing.assert_array_equal(got, ac[rows, entry["start"] : entry["end"]])
        for key, meta in ds.video_meta.items():
            frame = ds.video(tid, key, base)
            assert frame.shape == (1, meta["resolution"][1], meta["resolution"][0], 3)
            pts, frames = ds._frames[(tid, key)]
            assert len(frames) == n  # one frame per row, at the row's timestamp
            assert abs(pts[base] - p["timestamp"][base]) < 0.5 / meta["fps"]
            np.testing.assert_array_equal(frame[0], frames[base])
        task = "wave" if tid == 0 else "wave again"
        assert ds.language(tid, "human.task_description", base) == [task]
        steps += 1
    assert steps == len(ds)


def test_stats_json_has_one_value_per_element_and_counts_stay_per_episode(recorded):
    info = json.loads((recorded / "meta/info.json").read_text())
    stats = json.loads((recorded / "meta/stats.json").read_text())
    for key, entry in stats.items():
        width = int(np.prod(info["features"][key]["shape"]))
        assert "count" not in entry, key
        assert {k: np.asarray(v).size for k, v in entry.items()} == dict.fromkeys(entry, width)
    rows = [
        json.loads(line)
        for line in (recorded / "meta/episodes_stats.jsonl").read_text().splitlines()
    ]
    lengths = [
        json.loads(line)["length"]
        for line in (recorded / "meta/episodes.jsonl").read_text().splitlines()
    ]
    assert [r["stats"]["action"]["count"] for r in rows] == [[n] for n in lengths]


def test_validate_flags_a_stats_json_the_n15_loader_cannot_slice_and_stats_write_fixes_it(
    recorded, tmp_path
):
    """Datasets recorded before the fix carry ``"count": [N]`` in stats.json."""
    import shutil

    from click.testing import CliRunner

    from groot_sdk.cli.main import cli
    from groot_sdk.data.validate import validate

    root = tmp_path / "old"
    shutil.copytree(recorded, root)
    stats = json.loads((root / "meta/stats.json").read_text())
    stats["observation.state"]["count"] = [30]
    (root / "meta/stats.json").write_text(json.dumps(stats))
    modality = json.loads((root / "meta/modality.json").read_text())
    with pytest.raises(IndexError):
        N15Dataset(root, _deltas(modality))
    errors = [str(e) for e in validate(root).errors]
    assert any("'count' has 1 values, the feature 6" in e and "stats --write" in e for e in errors)
    result = CliRunner().invoke(cli, ["dataset", "stats", str(root), "--write"])
    assert result.exit_code == 0, result.output
    assert validate(root).ok
    N15Dataset(root, _deltas(modality))
