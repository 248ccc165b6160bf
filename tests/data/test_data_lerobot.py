"""A dataset `groot run --record` writes, read by LeRobot's OWN v2.1 reader, sample by sample.

The counterpart is the real package: ``lerobot==0.3.3`` (the last release that reads
``codebase_version`` v2.1; 0.4+ raise ``BackwardCompatibilityError`` for it). Its pins
(torch<2.8, torchvision<0.23) clash with the project's, so it runs in its own environment:
``nox -s lerobot_compat``. Elsewhere this module is skipped.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("pyarrow")
pytest.importorskip("av")
lerobot_dataset = pytest.importorskip("lerobot.datasets.lerobot_dataset")

import pyarrow.parquet as pq

from groot_sdk.data.video import iter_frames

from .test_data_counterparts import HORIZON, groot_record

FPS = 30


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    root = tmp_path_factory.mktemp("lerobot") / "so101_wave"
    groot_record(root)
    groot_record(root, task="wave again")
    return root


def test_lerobot_v21_reader_loads_a_recorded_dataset_sample_by_sample(recorded, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # a local dataset: never reach for the hub
    info = json.loads((recorded / "meta/info.json").read_text())
    assert info["fps"] == FPS
    ds = lerobot_dataset.LeRobotDataset(
        "local/so101_wave",
        root=recorded,
        delta_timestamps={"action": [k / FPS for k in range(HORIZON)]},
        video_backend="pyav",
    )
    parquet = [
        pq.read_table(recorded / f"data/chunk-000/episode_{i:06d}.parquet").to_pydict()
        for i in range(2)
    ]
    assert ds.meta.total_episodes == 2 and ds.num_episodes == 2
    assert len(ds) == ds.num_frames == sum(len(p["index"]) for p in parquet)
    # LeRobot aggregates dataset stats from episodes_stats.jsonl (counts included)
    action = np.concatenate([np.stack(p["action"]) for p in parquet]).astype(np.float64)
    np.testing.assert_allclose(ds.meta.stats["action"]["mean"], action.mean(0), rtol=1e-6)
    np.testing.assert_allclose(ds.meta.stats["action"]["max"], action.max(0), rtol=1e-6)
    assert int(np.asarray(ds.meta.stats["action"]["count"]).reshape(-1)[0]) == len(action)
    videos = {}
    for key in ds.meta.video_keys:
        for ep in range(2):
            path = recorded / f"videos/chunk-000/{key}/episode_{ep:06d}.mp4"
            videos[key, ep] = [img for _, img in iter_frames(path)]
    tasks = ["wave", "wave again"]
    for idx in range(len(ds)):
        item = ds[idx]
        ep = int(item["episode_index"])
        p = parquet[ep]
        t = int(item["frame_index"])
        n = len(p["index"])
        assert int(item["index"]) == p["index"][t] == idx
        assert float(item["timestamp"]) == pytest.approx(p["timestamp"][t])
        np.testing.assert_array_equal(item["observation.state"].numpy(), p["observation.state"][t])
        rows = np.minimum(np.arange(t, t + HORIZON), n - 1)
        np.testing.assert_array_equal(item["action"].numpy(), np.stack(p["action"])[rows])
        assert item["action_is_pad"].numpy().tolist() == [t + k >= n for k in range(HORIZON)]
        assert item["task"] == tasks[ep] and int(item["task_index"]) == ep
        for key in ds.meta.video_keys:
            frame = item[key].numpy()  # (3, H, W) float in [0, 1], decoded at the timestamp
            expect = videos[key, ep][t].transpose(2, 0, 1) / 255.0
            assert frame.shape == expect.shape
            np.testing.assert_allclose(frame, expect, atol=1 / 255 + 1e-6)


def test_lerobot_is_the_release_that_reads_v21():
    from importlib.metadata import version

    assert version("lerobot").startswith("0.3."), version("lerobot")
