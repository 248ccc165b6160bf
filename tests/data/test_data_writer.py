"""DatasetWriter: chunking, refusing inconsistent episodes, repairing an interrupted commit."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

pytest.importorskip("pyarrow")
pytest.importorskip("av")

from groot_sdk.data.validate import validate
from groot_sdk.data.writer import DatasetError, DatasetWriter

from .helpers import so101_spec


def _episode(n, value=0):
    spec = so101_spec()
    cols = {
        "observation.state": np.full((n, spec.state_dim), value, np.float32),
        "action": np.full((n, spec.action_dim), value, np.float32),
    }
    videos = {c.original_key: np.full((n, 224, 224, 3), 40 * value, np.uint8) for c in spec.cameras}
    return cols, videos


def test_chunks_follow_chunks_size(tmp_path):
    spec = so101_spec()
    w = DatasetWriter.for_spec(tmp_path / "ds", spec, chunks_size=2)
    for i in range(3):
        w.write_episode(*_episode(4, i), "t")
    w.close()
    assert (tmp_path / "ds/data/chunk-001/episode_000002.parquet").exists()
    assert (tmp_path / "ds/videos/chunk-001/observation.images.wrist/episode_000002.mp4").exists()
    info = json.loads((tmp_path / "ds/meta/info.json").read_text())
    assert info["total_chunks"] == 2 and info["chunks_size"] == 2
    assert validate(tmp_path / "ds", spec).ok


def test_an_inconsistent_episode_is_refused_and_leaves_nothing(tmp_path):
    spec = so101_spec()
    w = DatasetWriter.for_spec(tmp_path / "ds", spec)
    cols, videos = _episode(5)
    videos["observation.images.front"] = videos["observation.images.front"][:4]
    with pytest.raises(DatasetError, match="video 'observation.images.front' has 4 frames for 5"):
        w.write_episode(cols, videos, "t")
    cols, videos = _episode(5)
    cols["action"] = cols["action"][:, :5]
    with pytest.raises(DatasetError, match="'action' has shape \\[5\\] per frame, features say"):
        w.write_episode(cols, videos, "t")
    cols, videos = _episode(5)
    cols["action"][2, 1] = np.nan
    with pytest.raises(DatasetError, match="'action' has a non-finite value at frame 2"):
        w.write_episode(cols, videos, "t")
    w.write_episode(*_episode(3), "t")  # the writer is still usable
    w.close()
    assert not list((tmp_path / "ds").rglob("*.tmp"))
    assert not (tmp_path / "ds/.incomplete").exists()
    report = validate(tmp_path / "ds", spec)
    assert report.ok and report.episodes == 1


def test_reopening_repairs_a_commit_cut_short(tmp_path):
    """A crash between renaming an episode's files and rewriting the metadata leaves files
    no metadata lists: loaders ignore them, validate warns, reopening removes them."""
    spec = so101_spec()
    root = tmp_path / "ds"
    w = DatasetWriter.for_spec(root, spec)
    for i in range(2):
        w.write_episode(*_episode(4, i), "t")
    w.close()
    shutil.copy(root / "data/chunk-000/episode_000001.parquet",
                root / "data/chunk-000/episode_000002.parquet")  # fmt: skip
    (root / ".incomplete/episode_000003").mkdir(parents=True)
    report = validate(root, spec)
    assert report.ok and report.episodes == 2
    assert any("episode_000002.parquet" in str(p) and "not listed" in str(p)
               for p in report.warnings)  # fmt: skip
    w = DatasetWriter.for_spec(root, spec)
    assert w.num_episodes == 2
    assert not (root / "data/chunk-000/episode_000002.parquet").exists()
    w.write_episode(*_episode(6, 3), "t2")
    w.close()
    report = validate(root, spec)
    assert report.ok and report.episodes == 3 and not report.warnings
