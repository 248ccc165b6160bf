"""validate rejects each way a dataset breaks GR00T training, naming file, episode and key."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

pytest.importorskip("pyarrow")
pytest.importorskip("av")

import pyarrow as pa
import pyarrow.parquet as pq
from click.testing import CliRunner

from groot_sdk.cli.main import cli
from groot_sdk.data.validate import validate
from groot_sdk.data.video import read_frames, write_video

from .helpers import record_mock, so101_spec

EP1 = "data/chunk-000/episode_000001.parquet"


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    root = tmp_path_factory.mktemp("good") / "ds"
    record_mock(root, so101_spec(), episodes=2, steps=10)
    return root


@pytest.fixture
def ds(good, tmp_path):
    dst = tmp_path / "ds"
    shutil.copytree(good, dst)
    return dst


def _rewrite(path, fn):
    table = pq.read_table(path)
    pq.write_table(fn(table), path)


def _errors(root, spec=None):
    report = validate(root, spec)
    assert not report.ok
    return [str(p) for p in report.errors]


def test_the_unmodified_dataset_is_valid(good):
    assert validate(good, so101_spec()).ok
    result = CliRunner().invoke(cli, ["dataset", "validate", str(good), "-e", "so101"])
    assert result.exit_code == 0, result.output
    assert "valid: 2 episodes, 20 frames" in result.output


def test_renamed_action_column(ds):
    _rewrite(
        ds / EP1,
        lambda t: t.rename_columns(
            ["action.action" if c == "action" else c for c in t.column_names]
        ),
    )
    errors = _errors(ds)
    assert any(
        EP1 in e
        and "(episode 1)" in e
        and "'action'" in e
        and "action.action" in e
        and "KeyError" in e
        for e in errors
    ), errors
    result = CliRunner().invoke(cli, ["dataset", "validate", str(ds)])
    assert result.exit_code == 1
    assert "INVALID" in result.output


def test_modality_slice_past_the_column_width(ds):
    path = ds / "meta/modality.json"
    doc = json.loads(path.read_text())
    doc["action"]["gripper"]["end"] = 7
    path.write_text(json.dumps(doc))
    errors = _errors(ds)
    assert any(
        "meta/modality.json" in e
        and "'action.gripper'" in e
        and "[5:7]" in e
        and "runs past the 6 values of 'action'" in e
        for e in errors
    ), errors


def test_video_one_frame_short(ds):
    video = ds / "videos/chunk-000/observation.images.wrist/episode_000000.mp4"
    frames = read_frames(video)
    write_video(video, frames[:-1], 30)
    errors = _errors(ds)
    assert any(
        "observation.images.wrist/episode_000000.mp4" in e
        and "(episode 0)" in e
        and "has 9 frames but the episode has 10 rows (1 short)" in e
        for e in errors
    ), errors


def test_task_index_without_a_task(ds):
    def bump(t):
        i = t.column_names.index("task_index")
        return t.set_column(i, "task_index", pa.array(np.full(t.num_rows, 5, np.int64)))

    _rewrite(ds / EP1, bump)
    errors = _errors(ds)
    assert any(
        EP1 in e and "'task_index'" in e and "task index 5 has no task in meta/tasks.jsonl" in e
        for e in errors
    ), errors


def test_other_breakages(ds):
    # timestamps off the frame rate, totals that disagree, missing stats, wrong embodiment
    def slow(t):
        i = t.column_names.index("timestamp")
        return t.set_column(i, "timestamp", pa.array(np.arange(t.num_rows, dtype=np.float32) / 15))

    _rewrite(ds / EP1, slow)
    info = json.loads((ds / "meta/info.json").read_text())
    info["total_frames"] = 99
    (ds / "meta/info.json").write_text(json.dumps(info))
    stats = json.loads((ds / "meta/stats.json").read_text())
    del stats["action"]["q01"]
    (ds / "meta/stats.json").write_text(json.dumps(stats))
    (ds / "meta/episodes_stats.jsonl").write_text(
        (ds / "meta/episodes_stats.jsonl").read_text().splitlines()[0] + "\n"
    )
    from groot_sdk.plugins import get_registry

    errors = _errors(ds, get_registry().embodiment("fetch").spec)
    text = "\n".join(errors)
    assert "'timestamp' step at frame 1 is 0.06667s; at 30 fps it must be 0.03333s" in text
    assert "'total_frames' is 99 but the dataset has 20" in text
    assert "meta/episodes_stats.jsonl (episode 1): has no stats" in text
    assert "differ from fetch's" in text
    assert "meta/stats.json: 'action' lacks ['q01']" in text


def test_v3_dataset_is_pointed_at_the_converter(ds):
    info = json.loads((ds / "meta/info.json").read_text())
    info["codebase_version"] = "v3.0"
    (ds / "meta/info.json").write_text(json.dumps(info))
    assert any("groot dataset convert --from lerobot-v3" in e for e in _errors(ds))


def test_unreadable_episode_does_not_shift_later_indices(tmp_path):
    """Issue 13 finding 5: after one truncated episode file, every later episode was reported
    ("'index' must run 10..19" for a file holding 20..29): the unreadable file's frames still
    count (its length in meta/episodes.jsonl)."""
    root = tmp_path / "ds"
    record_mock(root, so101_spec(), episodes=4, steps=10)
    part = root / EP1
    part.write_bytes(part.read_bytes()[: part.stat().st_size // 2])
    errors = _errors(root)
    assert len(errors) == 1, errors
    assert "episode_000001.parquet" in errors[0] and "cannot be read as parquet" in errors[0]
    result = CliRunner().invoke(cli, ["dataset", "validate", str(root)])
    assert result.exit_code == 1 and "'index'" not in result.output


def test_missing_root_is_bad_input_like_stats(tmp_path):
    """Issue 13 finding 9: validate exited 1 and stats 2 for the same missing directory."""
    for sub in ("validate", "stats", "show"):
        result = CliRunner().invoke(cli, ["dataset", sub, str(tmp_path / "nowhere")])
        assert result.exit_code == 2, (sub, result.output)
