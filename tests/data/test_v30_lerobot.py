"""The v3.0 datasets groot-sdk writes, read by LeRobot's own ``LeRobotDataset`` (the real
``lerobot`` package, 0.4.4: the newest release on PyPI for Python 3.11; its torch<2.11 pin
clashes with the project's torch, so it runs in its own nox session, ``nox -s lerobot_v04``).
Skips, saying so, where no LeRobot with the v3.0 reader is installed."""

from __future__ import annotations

import os

import numpy as np
import pytest

#: local folders only; huggingface_hub reads this once, at import, so before lerobot is imported
os.environ.setdefault("HF_HUB_OFFLINE", "1")
pytestmark = pytest.mark.timeout(600)

pytest.importorskip("pyarrow")
pytest.importorskip("av")


def _lerobot_v3():
    try:
        from lerobot.datasets.lerobot_dataset import CODEBASE_VERSION, LeRobotDataset
    except Exception as exc:  # noqa: BLE001 - absent, or an import that fails here
        pytest.skip(f"LeRobot's v3.0 reader is not installed ({exc}); run `nox -s lerobot_v04`")
    if CODEBASE_VERSION != "v3.0":
        pytest.skip(f"installed lerobot reads {CODEBASE_VERSION}; `nox -s lerobot_v04` has 0.4.4")
    return LeRobotDataset


def _check_against_lerobot(root, LeRobotDataset) -> None:
    from groot_sdk.data.reader import Dataset

    from .test_v30 import _frames_v3

    ours = Dataset(root)
    theirs = LeRobotDataset("local/groot-sdk-test", root=root, video_backend="pyav")
    assert theirs.num_episodes == len(ours.episodes)
    assert theirs.num_frames == sum(int(e["length"]) for e in ours.episodes)
    assert set(theirs.meta.stats) >= {"observation.state", "action", *ours.video_keys}
    for i in ours.episode_indices:
        cols = ours.episode(i)
        frames = {k: _frames_v3(ours, i, k) for k in ours.video_keys}
        for f, g in enumerate(cols["index"]):
            item = theirs[int(g)]
            assert int(item["episode_index"]) == i and int(item["frame_index"]) == f
            for key in ("observation.state", "action"):
                np.testing.assert_array_equal(item[key].numpy(), cols[key][f])
            assert item["task"] == ours.tasks[int(cols["task_index"][f])]
            for key, video in frames.items():
                img = item[key].numpy()  # (3, H, W) float in [0, 1]
                assert img.shape == (3, *video.shape[1:3])
                np.testing.assert_allclose(
                    img.transpose(1, 2, 0) * 255.0, video[f], atol=2.0,
                    err_msg=f"episode {i} frame {f} '{key}'",
                )  # fmt: skip


def test_packed_v30_loads_in_lerobot(tmp_path):
    LeRobotDataset = _lerobot_v3()
    from groot_sdk.data.merge import convert

    from .helpers import record_mock, so101_spec

    record_mock(tmp_path / "v21", so101_spec(), episodes=3, steps=9)
    convert(tmp_path / "v21", tmp_path / "v3", "v3.0")
    _check_against_lerobot(tmp_path / "v3", LeRobotDataset)


def test_recorded_appended_merged_and_dropped_v30_load_in_lerobot(tmp_path):
    LeRobotDataset = _lerobot_v3()
    from groot_sdk.data.merge import drop_episodes, merge
    from groot_sdk.data.recorder import LeRobotRecorder

    from .helpers import record_mock, so101_spec

    spec = so101_spec()
    rng = np.random.default_rng(0)
    # two recorder sessions into one v3.0 dataset: the second lands in new files
    for session in range(2):
        with LeRobotRecorder(tmp_path / "rec", spec, fps=30, format="v3.0") as rec:
            rec.start_episode(f"session {session}")
            for k in range(6):
                frames = {
                    c.name: np.full(c.model_shape, 30 * k + 100 * session, np.uint8)
                    for c in spec.cameras
                }
                rec.add_step(frames, rng.normal(size=6), rng.normal(size=6), 0.0)
            rec.end_episode(True)
    _check_against_lerobot(tmp_path / "rec", LeRobotDataset)
    for day in ("a", "b"):
        record_mock(tmp_path / f"day_{day}", spec, episodes=2, steps=7, task=day)
    merge(tmp_path / "m", [tmp_path / "day_a", tmp_path / "day_b"], fmt="v3.0")
    drop_episodes(tmp_path / "m", tmp_path / "d", [1])
    _check_against_lerobot(tmp_path / "m", LeRobotDataset)
    _check_against_lerobot(tmp_path / "d", LeRobotDataset)
