"""Recording through the StepRecorder API produces a dataset GR00T can load."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest

pytest.importorskip("pyarrow")
pytest.importorskip("av")

import pyarrow.parquet as pq

from groot_sdk.data.recorder import LeRobotRecorder, RecorderError
from groot_sdk.data.validate import validate
from groot_sdk.data.video import iter_frames
from groot_sdk.data.writer import DatasetError
from groot_sdk.errors import ObservationError
from groot_sdk.modality import lerobot_features, modality_json

from .helpers import record_mock, so101_spec


def test_recorded_dataset_layout_and_validates(tmp_path):
    spec = so101_spec()
    rec = record_mock(tmp_path / "ds", spec, episodes=3, steps=12)
    root = tmp_path / "ds"
    assert rec.summary()["episodes_recorded"] == 3 and rec.dropped == 0
    info = json.loads((root / "meta/info.json").read_text())
    assert info["codebase_version"] == "v2.1"
    assert info["robot_type"] == spec.robot_type
    assert info["fps"] == 30
    assert info["total_episodes"] == 3 and info["total_frames"] == 36
    assert info["total_videos"] == 3 * len(spec.cameras) and info["total_chunks"] == 1
    assert info["splits"] == {"train": "0:3"}
    assert info["data_path"] == "data/chunk-{episode_chunk:03d}/episode_{episode_index:06d}.parquet"
    assert "{video_key}" in info["video_path"]
    feats = lerobot_features(spec)
    for key, f in feats.items():
        assert info["features"][key]["shape"] == f["shape"]
        assert info["features"][key]["names"] == f["names"]
    assert json.loads((root / "meta/modality.json").read_text()) == modality_json(spec)
    eps = [json.loads(line) for line in (root / "meta/episodes.jsonl").read_text().splitlines()]
    assert [e["length"] for e in eps] == [12, 12, 12]
    assert eps[0]["tasks"] == ["pick 0"] and eps[1]["success"] is True
    tasks = [json.loads(line) for line in (root / "meta/tasks.jsonl").read_text().splitlines()]
    assert tasks == [{"task_index": 0, "task": "pick 0"}, {"task_index": 1, "task": "pick 1"}]
    stats = [json.loads(x) for x in (root / "meta/episodes_stats.jsonl").read_text().splitlines()]
    assert stats[2]["episode_index"] == 2
    st = stats[2]["stats"]
    assert set(st["action"]) >= {"min", "max", "mean", "std", "count", "q01", "q99"}
    assert np.asarray(st["observation.images.front"]["mean"]).shape == (3, 1, 1)

    # meta/stats.json (what GR00T normalises with) is exact once the recorder is closed
    from groot_sdk.data.reader import Dataset

    agg = json.loads((root / "meta/stats.json").read_text())
    action = Dataset(root).concat(["action"])["action"]
    np.testing.assert_allclose(agg["action"]["q99"], np.quantile(action, 0.99, axis=0), rtol=1e-5)
    np.testing.assert_allclose(agg["action"]["min"], action.min(0))

    report = validate(root, spec)
    assert report.ok, report.to_json()
    assert report.episodes == 3 and report.frames == 36 and not report.warnings


def test_parquet_and_video_contents_match_what_was_recorded(tmp_path):
    spec = so101_spec()
    root = tmp_path / "ds"
    record_mock(root, spec, episodes=2, steps=15)
    table = pq.read_table(root / "data/chunk-000/episode_000001.parquet")
    assert table.column_names == [
        "observation.state", "action", "timestamp", "frame_index", "episode_index", "index",
        "task_index",
    ]  # fmt: skip
    action = np.array(table.column("action").to_pylist(), np.float32)
    lower, upper = np.array(spec.lower), np.array(spec.upper)
    expect = (lower + upper) / 2 + (upper - lower) / 4 * np.sin(0.3 * np.arange(15)[:, None] + 1)
    np.testing.assert_allclose(action, expect, atol=1e-5)
    state = np.array(table.column("observation.state").to_pylist(), np.float32)
    np.testing.assert_allclose(state[1:], action[:-1], atol=1e-5)  # mock mirrors commands
    assert table.column("index").to_pylist() == list(range(15, 30))
    ts = np.array(table.column("timestamp").to_pylist())
    np.testing.assert_allclose(ts, np.arange(15) / 30, atol=1e-6)
    for cam in spec.cameras:
        path = root / f"videos/chunk-000/{cam.original_key}/episode_000001.mp4"
        frames = list(iter_frames(path))
        assert len(frames) == table.num_rows  # exactly one frame per row
        np.testing.assert_allclose([t for t, _ in frames], ts, atol=1e-3)
        assert frames[0][1].shape == cam.model_shape


def test_appends_to_an_existing_dataset_and_refuses_another_robot(tmp_path):
    spec = so101_spec()
    root = tmp_path / "ds"
    record_mock(root, spec, episodes=2, steps=5)
    record_mock(root, spec, episodes=1, steps=7)
    report = validate(root, spec)
    assert report.ok and report.episodes == 3 and report.frames == 17
    from groot_sdk.plugins import get_registry

    fetch = get_registry().embodiment("fetch").spec
    with pytest.raises(DatasetError, match="feature"):
        LeRobotRecorder(root, fetch, fps=30)


def test_steps_are_dropped_not_blocking_when_the_writer_falls_behind(tmp_path):
    spec = so101_spec()
    rec = LeRobotRecorder(tmp_path / "ds", spec, max_pending=3, progress=True)
    gate = threading.Event()
    new_episode = rec.writer.new_episode

    def slow_new_episode():
        gate.wait(10)  # the worker is stuck while the loop keeps stepping
        return new_episode()

    rec.writer.new_episode = slow_new_episode
    frames = {c.name: np.zeros(c.model_shape, np.uint8) for c in spec.cameras}
    rec.start_episode("t")
    for _ in range(10):
        rec.add_step(frames, np.zeros(spec.state_dim), np.zeros(spec.action_dim), 0.0)
    assert rec.dropped == 7
    gate.set()
    rec.end_episode()
    rec.close()
    eps = [json.loads(x) for x in (tmp_path / "ds/meta/episodes.jsonl").read_text().splitlines()]
    assert eps == [{"episode_index": 0, "tasks": ["t"], "length": 3, "dropped_steps": 7}]
    assert validate(tmp_path / "ds", spec).ok


def test_bad_steps_are_rejected_naming_the_camera_or_vector(tmp_path):
    spec = so101_spec()
    with LeRobotRecorder(tmp_path / "ds", spec) as rec:
        rec.start_episode("t")
        good = {c.name: np.zeros(c.model_shape, np.uint8) for c in spec.cameras}
        with pytest.raises(ObservationError, match="camera 'wrist'"):
            rec.add_step({"front": good["front"]}, np.zeros(6), np.zeros(6), 0)
        with pytest.raises(ObservationError, match="camera 'front'.*model resolution"):
            rec.add_step({**good, "front": np.zeros((480, 640, 3), np.uint8)}, np.zeros(6),
                         np.zeros(6), 0)  # fmt: skip
        with pytest.raises(ObservationError, match="state has 5 values"):
            rec.add_step(good, np.zeros(5), np.zeros(6), 0)
        rec.end_episode()
    # an episode with no steps is not written; an unfinished one is discarded on close
    rec2 = LeRobotRecorder(tmp_path / "ds", spec)
    rec2.start_episode("t")
    rec2.add_step(good, np.zeros(6), np.zeros(6), 0)
    rec2.close()
    info = json.loads((tmp_path / "ds/meta/info.json").read_text())
    assert info["total_episodes"] == 0
    assert not (tmp_path / "ds/.incomplete").exists()
    with pytest.raises(RecorderError, match="closed"):
        rec2.start_episode("again")


def test_a_failing_worker_is_reported_by_add_step_and_close_not_end_episode(tmp_path):
    spec = so101_spec()
    rec = LeRobotRecorder(tmp_path / "ds", spec)

    def broken(*a, **k):
        raise OSError("No space left on device")

    rec.writer.new_episode = broken
    frames = {c.name: np.zeros(c.model_shape, np.uint8) for c in spec.cameras}
    rec.start_episode("t")
    rec.flush()
    with pytest.raises(RecorderError, match="No space left on device"):
        rec.add_step(frames, np.zeros(6), np.zeros(6), 0.0)
    rec.end_episode(True)  # from a deployer's finally: must not mask the original error
    with pytest.raises(RecorderError, match="No space left on device"):
        rec.close()
