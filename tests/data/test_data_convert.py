"""Converters: .npz episodes and LeRobot v3.0 into valid v2.1 datasets."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("pyarrow")
pytest.importorskip("av")

import pyarrow as pa
import pyarrow.parquet as pq
from click.testing import CliRunner

from groot_sdk.cli.main import cli
from groot_sdk.data.convert import convert_npz, convert_v3
from groot_sdk.data.reader import Dataset
from groot_sdk.data.validate import validate
from groot_sdk.data.video import read_frames, write_video
from groot_sdk.data.writer import DatasetError, spec_features
from groot_sdk.modality import modality_json

from .helpers import so101_spec


def _fetch():
    from groot_sdk.plugins import get_registry

    return get_registry().embodiment("fetch").spec


def _npz_episodes(folder, spec, n=3, fps=25.0):
    folder.mkdir()
    rng = np.random.default_rng(1)
    for ep in range(n):
        t = 8 + ep
        np.savez(
            folder / f"ep_{ep:03d}.npz",
            observations=rng.normal(size=(t, spec.state_dim)).astype(np.float32),
            actions=rng.uniform(-1, 1, size=(t, spec.action_dim)).astype(np.float32),
            images=np.full((t, 96, 96, 3), 30 * ep + 20, np.uint8),  # resized to 224x224
            timestamps=100.0 + np.arange(t) / fps,
            task=np.array(f"reach target {ep}"),
        )


def test_npz_conversion_produces_a_valid_dataset(tmp_path):
    spec = _fetch()
    _npz_episodes(tmp_path / "npz", spec)
    result = CliRunner().invoke(
        cli, ["dataset", "convert", str(tmp_path / "npz"), str(tmp_path / "out"),
              "--from", "npz", "-e", "fetch"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "3 episodes, 27 frames (valid)" in result.output
    report = validate(tmp_path / "out", spec)
    assert report.ok, report.to_json()
    ds = Dataset(tmp_path / "out")
    assert ds.fps == 25.0  # inferred from the timestamps
    assert ds.tasks == {0: "reach target 0", 1: "reach target 1", 2: "reach target 2"}
    src = np.load(tmp_path / "npz/ep_002.npz")
    cols = ds.episode(2)
    np.testing.assert_allclose(cols["action"], src["actions"])
    np.testing.assert_allclose(cols["observation.state"], src["observations"])
    frames = read_frames(ds.layout.video_file(2, "observation.images.front"))
    assert frames.shape == (10, 224, 224, 3)
    assert abs(float(frames.mean()) - 80) < 3


def test_npz_errors_name_the_file_and_key(tmp_path):
    spec = _fetch()
    folder = tmp_path / "npz"
    folder.mkdir()
    np.savez(folder / "a.npz", observations=np.zeros((5, 16)), actions=np.zeros((5, 3)),
             images=np.zeros((5, 8, 8, 3), np.uint8))  # fmt: skip
    with pytest.raises(DatasetError, match="a.npz: 'actions' has 3 values per step, fetch has 4"):
        convert_npz(folder, tmp_path / "o1", spec, fps=25, task="x")
    np.savez(
        folder / "a.npz",
        observations=np.zeros((5, 16)),
        actions=np.zeros((5, 4)),
        images=np.zeros((5, 8, 8, 3), np.uint8),
        timestamps=[0, 0.04, 0.08, 0.2, 0.24],
    )
    with pytest.raises(DatasetError, match="a.npz: 'timestamps' step at frame 3"):
        convert_npz(folder, tmp_path / "o2", spec, fps=25, task="x")


def _build_v3(root, spec, lengths, fps=30):
    """A LeRobot v3.0 dataset as lerobot >= 0.4 writes it: episodes concatenated per file."""
    (root / "meta/episodes/chunk-000").mkdir(parents=True)
    (root / "data/chunk-000").mkdir(parents=True)
    features = spec_features(spec, fps)
    for key in [c.original_key for c in spec.cameras]:
        features[key]["info"]["video.codec"] = "av1"
    info = {
        "codebase_version": "v3.0", "robot_type": spec.robot_type, "total_episodes": len(lengths),
        "total_frames": sum(lengths), "total_tasks": 2, "chunks_size": 1000,
        "data_files_size_in_mb": 100, "video_files_size_in_mb": 200, "fps": fps,
        "splits": {"train": f"0:{len(lengths)}"},
        "data_path": "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet",
        "video_path": "videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4",
        "features": features,
    }  # fmt: skip
    (root / "meta/info.json").write_text(json.dumps(info))
    tasks = ["fold the towel", "open the drawer"]
    pq.write_table(
        pa.table({"task_index": pa.array([0, 1], pa.int64()), "task": tasks}),
        root / "meta/tasks.parquet",
    )
    rng = np.random.default_rng(3)
    n = sum(lengths)
    state = rng.normal(size=(n, spec.state_dim)).astype(np.float32)
    action = rng.normal(size=(n, spec.action_dim)).astype(np.float32)
    ep_index = np.concatenate([np.full(k, i) for i, k in enumerate(lengths)])
    frame_index = np.concatenate([np.arange(k) for k in lengths])
    pq.write_table(
        pa.table({
            # lerobot writes fixed-size lists (datasets.Sequence(length=N)); accept both
            "observation.state": pa.FixedSizeListArray.from_arrays(
                pa.array(state.ravel()), spec.state_dim
            ),
            "action": [list(r) for r in action],
            "timestamp": pa.array(frame_index / fps, pa.float32()),
            "frame_index": pa.array(frame_index, pa.int64()),
            "episode_index": pa.array(ep_index, pa.int64()),
            "index": pa.array(np.arange(n), pa.int64()),
            "task_index": pa.array(ep_index % 2, pa.int64()),
        }),
        root / "data/chunk-000/file-000.parquet",
    )  # fmt: skip
    rows = {"episode_index": [], "tasks": [], "length": [], "data/chunk_index": [],
            "data/file_index": [], "dataset_from_index": [], "dataset_to_index": []}  # fmt: skip
    start = 0
    for i, k in enumerate(lengths):
        for col, v in (("episode_index", i), ("tasks", [tasks[i % 2]]), ("length", k),
                       ("data/chunk_index", 0), ("data/file_index", 0),
                       ("dataset_from_index", start), ("dataset_to_index", start + k)):  # fmt: skip
            rows[col].append(v)
        start += k
    for c, cam in enumerate(spec.cameras):
        key = cam.original_key
        # each episode is a solid grey level, so a wrong split shows in the pixels
        frames = np.concatenate(
            [
                np.full((k, 224, 224, 3), 20 + 50 * i + 10 * c, np.uint8)
                for i, k in enumerate(lengths)
            ]
        )
        path = root / f"videos/{key}/chunk-000/file-000.mp4"
        path.parent.mkdir(parents=True)
        write_video(path, frames, fps)
        t0 = 0.0
        for col in ("chunk_index", "file_index", "from_timestamp", "to_timestamp"):
            rows[f"videos/{key}/{col}"] = []
        for k in lengths:
            rows[f"videos/{key}/chunk_index"].append(0)
            rows[f"videos/{key}/file_index"].append(0)
            rows[f"videos/{key}/from_timestamp"].append(t0)
            rows[f"videos/{key}/to_timestamp"].append(t0 + k / fps)
            t0 += k / fps
    pq.write_table(pa.table(rows), root / "meta/episodes/chunk-000/file-000.parquet")
    return state, action


def test_v3_to_v21_conversion(tmp_path):
    spec = so101_spec()
    lengths = [7, 11, 5]
    state, action = _build_v3(tmp_path / "v3", spec, lengths)
    writer = convert_v3(tmp_path / "v3", tmp_path / "v21", spec)
    assert writer.num_episodes == 3
    report = validate(tmp_path / "v21", spec)
    assert report.ok, report.to_json()
    assert report.frames == sum(lengths)
    ds = Dataset(tmp_path / "v21")
    assert ds.info["codebase_version"] == "v2.1"
    assert ds.features["observation.images.front"]["info"]["video.codec"] == "h264"
    assert json.loads((tmp_path / "v21/meta/modality.json").read_text()) == modality_json(spec)
    cols = ds.episode(1)
    np.testing.assert_allclose(cols["observation.state"], state[7:18])
    np.testing.assert_allclose(cols["action"], action[7:18])
    assert [e["tasks"] for e in ds.episodes] == [["fold the towel"], ["open the drawer"],
                                                ["fold the towel"]]  # fmt: skip
    for i, k in enumerate(lengths):
        for c, cam in enumerate(spec.cameras):
            frames = read_frames(ds.layout.video_file(i, cam.original_key))
            assert len(frames) == k
            assert abs(float(frames.mean()) - (20 + 50 * i + 10 * c)) < 3, (i, cam.name)
    # the CLI path, and a v2.1 source is refused
    result = CliRunner().invoke(
        cli, ["dataset", "convert", str(tmp_path / "v3"), str(tmp_path / "v21b"),
              "--from", "lerobot-v3", "-e", "so101"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    with pytest.raises(DatasetError, match="already holds a dataset"):
        convert_v3(tmp_path / "v3", tmp_path / "v21b", spec)
    convert_v3(tmp_path / "v3", tmp_path / "v21b", spec, overwrite=True)  # replaced, not appended
    assert validate(tmp_path / "v21b", spec).episodes == 3
    with pytest.raises(DatasetError, match="expected v3.0"):
        convert_v3(tmp_path / "v21", tmp_path / "x", spec)
