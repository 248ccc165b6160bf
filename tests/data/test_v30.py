"""LeRobot v3.0: writing (pack, recording with format="v3.0"), reading, validating, and the
v2.1 <-> v3.0 round trip (every parquet value and every decoded frame kept: videos are
stream-copied both ways)."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("pyarrow")
pytest.importorskip("av")

from click.testing import CliRunner

from groot_sdk.cli.main import cli
from groot_sdk.data import v30
from groot_sdk.data.merge import convert
from groot_sdk.data.reader import Dataset
from groot_sdk.data.recorder import LeRobotRecorder
from groot_sdk.data.validate import validate
from groot_sdk.data.video import read_frames
from groot_sdk.modality import modality_json

from .helpers import record_mock, so101_spec


def _frames_v3(ds: Dataset, i: int, key: str) -> np.ndarray:
    """Decode episode ``i`` of a v3.0 dataset from its shared file, by its timestamps."""
    path = ds.v30.video_file(i, key)
    t0, _ = ds.v30.video_span(i, key)
    n = int(ds.episodes[i]["length"])
    return np.stack(v30.extract_frames(path, t0, n, ds.fps))


def _assert_same(a: Dataset, b: Dataset, frames_of_b=None) -> None:
    assert a.episode_indices == b.episode_indices
    assert a.tasks == b.tasks
    for i in a.episode_indices:
        ea, eb = a.episode(i), b.episode(i)
        assert sorted(ea) == sorted(eb)
        for k in ea:
            np.testing.assert_array_equal(ea[k], eb[k], err_msg=f"episode {i} '{k}'")
        for key in a.video_keys:
            fa = read_frames(a.layout.video_file(i, key))
            fb = frames_of_b(b, i, key) if frames_of_b else read_frames(b.layout.video_file(i, key))
            np.testing.assert_array_equal(fa, fb, err_msg=f"episode {i} '{key}'")


@pytest.fixture(scope="module")
def v21(tmp_path_factory):
    root = tmp_path_factory.mktemp("v30") / "v21"
    record_mock(root, so101_spec(), episodes=3, steps=10)
    return root


def test_pack_writes_lerobot_v30_layout(v21, tmp_path):
    out = tmp_path / "v3"
    convert(v21, out, "v3.0")
    info = json.loads((out / "meta/info.json").read_text())
    assert info["codebase_version"] == "v3.0"
    assert info["data_path"] == "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
    assert info["total_episodes"] == 3 and info["total_frames"] == 30
    # several episodes per file: one data file, one video file per camera
    assert [p.name for p in (out / "data").rglob("*.parquet")] == ["file-000.parquet"]
    for cam in so101_spec().cameras:
        assert len(list((out / "videos" / cam.original_key).rglob("*.mp4"))) == 1
    assert (out / "meta/episodes/chunk-000/file-000.parquet").is_file()
    assert (out / "meta/tasks.parquet").is_file()
    assert json.loads((out / "meta/modality.json").read_text()) == modality_json(so101_spec())
    stats = json.loads((out / "meta/stats.json").read_text())
    assert stats["observation.images.front"]["count"] == [30]  # cameras too, with counts
    ds = Dataset(out)
    rows = ds.v30.rows
    assert [(r["dataset_from_index"], r["dataset_to_index"]) for r in rows] == [
        (0, 10), (10, 20), (20, 30)
    ]  # fmt: skip
    report = validate(out, so101_spec())
    assert report.ok, report.to_json()
    assert (report.episodes, report.frames) == (3, 30)


def test_round_trip_keeps_every_value_and_frame(v21, tmp_path):
    convert(v21, tmp_path / "v3", "v3.0")
    a, b = Dataset(v21), Dataset(tmp_path / "v3")
    _assert_same(a, b, _frames_v3)  # v3.0 frames cut by the episode's timestamps
    convert(tmp_path / "v3", tmp_path / "back", "v2.1")
    c = Dataset(tmp_path / "back")
    assert c.info["codebase_version"] == "v2.1"
    _assert_same(a, c)
    assert [e.get("success") for e in c.episodes] == [e.get("success") for e in a.episodes]
    assert validate(tmp_path / "back", so101_spec()).ok
    # the mp4 files are stream copies: the same encoded packets, not a re-encode
    key = a.video_keys[0]
    for i in a.episode_indices:
        assert a.layout.video_file(i, key).stat().st_size == pytest.approx(
            c.layout.video_file(i, key).stat().st_size, rel=0.02
        )


def test_cli_convert_to_both_ways(v21, tmp_path):
    run = CliRunner().invoke
    r = run(cli, ["dataset", "convert", str(v21), str(tmp_path / "v3"), "--to", "v3.0"])
    assert r.exit_code == 0, r.output
    assert "3 episodes, 30 frames (valid)" in r.output
    r = run(cli, ["dataset", "convert", str(tmp_path / "v3"), str(tmp_path / "v2")])
    assert r.exit_code == 0, r.output  # the other format by default
    assert Dataset(tmp_path / "v2").info["codebase_version"] == "v2.1"
    r = run(cli, ["dataset", "validate", str(tmp_path / "v3"), "-e", "so101"])
    assert r.exit_code == 0 and "valid" in r.output, r.output


def test_recorder_writes_v30_and_appends(tmp_path):
    spec = so101_spec()
    root = tmp_path / "rec"
    rng = np.random.default_rng(0)
    frames = {c.name: np.full(c.model_shape, 40 * k, np.uint8) for k, c in enumerate(spec.cameras)}
    for session in range(2):  # two recording sessions into the same v3.0 dataset
        with LeRobotRecorder(root, spec, fps=30, task="t", format="v3.0") as rec:
            for _ in range(2):
                rec.start_episode(f"task {session}")
                for _ in range(6):
                    rec.add_step(frames, rng.normal(size=6), rng.normal(size=6), 0.0)
                rec.end_episode(True)
    assert not (root / v30.STAGING).exists()
    ds = Dataset(root)
    assert ds.version == "v3.0" and len(ds.episodes) == 4
    assert ds.tasks == {0: "task 0", 1: "task 1"}
    # the second session's episodes went to new files after the first's
    assert sorted(p.name for p in (root / "data/chunk-000").iterdir()) == [
        "file-000.parquet", "file-001.parquet"
    ]  # fmt: skip
    report = validate(root, spec)
    assert report.ok, report.to_json()
    np.testing.assert_array_equal(ds.episode(3)["index"], np.arange(18, 24))
    with pytest.raises(Exception, match="v3.0 dataset; record with --format v3.0"):
        LeRobotRecorder(root, spec, fps=30)


def test_a_v30_recording_cut_short_is_packed_by_the_next_recorder(tmp_path):
    spec = so101_spec()
    root = tmp_path / "rec"
    frames = {c.name: np.zeros(c.model_shape, np.uint8) for c in spec.cameras}
    rec = LeRobotRecorder(root, spec, fps=30, format="v3.0")
    rec.start_episode("a")
    for _ in range(5):
        rec.add_step(frames, np.zeros(6), np.zeros(6), 0.0)
    rec.end_episode()
    assert rec.flush(60)
    # the process dies here: the episode is committed in the staging folder, not packed
    rec.writer.close()
    assert (root / v30.STAGING / "meta/info.json").exists()
    assert not (root / "meta/info.json").exists()  # nothing packed yet
    LeRobotRecorder(root, spec, fps=30, format="v3.0").close()
    ds = Dataset(root)
    assert [e["length"] for e in ds.episodes] == [5]
    assert not (root / v30.STAGING).exists()


def test_validate_names_a_wrong_episode_range(v21, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    out = tmp_path / "v3"
    convert(v21, out, "v3.0")
    path = out / "meta/episodes/chunk-000/file-000.parquet"
    table = pq.read_table(path)
    k = table.schema.get_field_index("dataset_to_index")
    table = table.set_column(k, table.schema.field(k), pa.array([10, 21, 30], pa.int64()))
    pq.write_table(table, path)
    report = validate(out)
    assert not report.ok
    assert any("dataset_from/to_index must be 10..20" in str(p) for p in report.errors), [
        str(p) for p in report.errors
    ]


def test_process_backend_records_the_same_dataset(tmp_path):
    """The shared-memory process worker writes what the thread worker writes."""
    spec = so101_spec()
    rng = np.random.default_rng(4)
    steps = [
        (
            {c.name: rng.integers(0, 255, c.model_shape, dtype=np.uint8) for c in spec.cameras},
            rng.normal(size=6).astype(np.float32),
            rng.normal(size=6).astype(np.float32),
        )
        for _ in range(8)
    ]
    for backend in ("thread", "process"):
        with LeRobotRecorder(tmp_path / backend, spec, fps=30, backend=backend) as rec:
            for ep in range(2):
                rec.start_episode(f"t{ep}")
                for frames, s, a in steps[ep * 4 : ep * 4 + 4]:
                    rec.add_step(frames, s, a, 0.0)
                rec.end_episode(bool(ep))
        assert rec.summary()["episodes_recorded"] == 2
    _assert_same(Dataset(tmp_path / "thread"), Dataset(tmp_path / "process"))


def test_groot_run_records_v30(tmp_path):
    """`groot run --record DIR --format v3.0` (the process worker) twice into one dataset."""
    import subprocess
    import sys

    root = tmp_path / "run_v3"
    for task in ("wave", "wave again"):
        out = subprocess.run(
            [sys.executable, "-m", "groot_sdk.cli.main", "run", "-e", "so101", "--fake-hardware",
             "--policy", "sinusoid", "--task", task, "--seconds", "0.5", "--record", str(root),
             "--format", "v3.0", "--json"],
            check=False, capture_output=True, text=True, timeout=180,
        )  # fmt: skip
        assert out.returncode == 0, out.stderr[-2000:]
        assert json.loads(out.stdout)["recording"]["episodes_recorded"] == 1
    ds = Dataset(root)
    assert ds.version == "v3.0" and len(ds.episodes) == 2
    assert sorted(ds.tasks.values()) == ["wave", "wave again"]
    report = validate(root, so101_spec())
    assert report.ok, report.to_json()


def test_stats_and_show_read_v30_and_stats_write_keeps_lerobot_form(v21, tmp_path):
    out = tmp_path / "v3"
    convert(v21, out, "v3.0")
    before = json.loads((out / "meta/stats.json").read_text())
    (out / "meta/stats.json").write_text(json.dumps({"action": before["action"]}))  # damaged
    run = CliRunner().invoke
    r = run(cli, ["dataset", "stats", str(out), "--write", "--json"])
    assert r.exit_code == 0, r.output
    assert set(json.loads(r.output)) == {"state", "action"}  # per modality key
    after = json.loads((out / "meta/stats.json").read_text())
    assert after == before  # cameras and counts back, the same numbers
    assert (out / "meta/episodes/chunk-000/file-000.parquet").is_file()  # kept
    assert validate(out, so101_spec()).ok
    r = run(cli, ["dataset", "show", str(out), "--episode", "2"])
    assert r.exit_code == 0, r.output
    assert "LeRobot v3.0" in r.output and "episode 2: 10 frames" in r.output


def test_reader_gives_frames_of_either_format_and_no_wrong_v30_paths(v21, tmp_path):
    from groot_sdk.data.layout import DatasetError

    convert(v21, tmp_path / "v3", "v3.0")
    a, b = Dataset(v21), Dataset(tmp_path / "v3")
    key = a.video_keys[1]
    np.testing.assert_array_equal(a.video_frames(2, key), b.video_frames(2, key))
    assert a.video_frames(2, key).shape[0] == 10
    with pytest.raises(DatasetError, match="no per-episode files"):
        b.layout.video_file(0, key)  # a v2.1 path would name a file that does not exist


def test_process_backend_drops_steps_when_every_slot_is_in_flight(tmp_path):
    """With the worker process stopped (SIGSTOP), the ring's 2 slots fill and further steps
    are dropped and counted, without blocking; the kept ones are written once it resumes."""
    import os
    import signal

    spec = so101_spec()
    frames = {c.name: np.zeros(c.model_shape, np.uint8) for c in spec.cameras}
    rec = LeRobotRecorder(tmp_path / "ds", spec, fps=30, max_pending=2, backend="process")
    os.kill(rec._proc.pid, signal.SIGSTOP)
    try:
        rec.start_episode("t")
        for _ in range(5):
            rec.add_step(frames, np.zeros(6), np.zeros(6), 0.0)
        assert rec.dropped == 3
        rec.end_episode()
    finally:
        os.kill(rec._proc.pid, signal.SIGCONT)
    rec.close()
    ds = Dataset(tmp_path / "ds")
    assert [(e["length"], e["dropped_steps"]) for e in ds.episodes] == [(2, 3)]


_KILLED_PARENT = """
import os, signal, sys
import numpy as np
sys.path.insert(0, {tests!r})
from data.helpers import so101_spec
from groot_sdk.data.recorder import LeRobotRecorder

if __name__ == "__main__":
    spec = so101_spec()
    frames = {{c.name: np.full(c.model_shape, 60, np.uint8) for c in spec.cameras}}
    rec = LeRobotRecorder(sys.argv[1], spec, fps=30, format="v3.0", backend="process")
    for ep in range(3):
        rec.start_episode(f"t{{ep}}")
        for _ in range(5):
            rec.add_step(frames, np.zeros(6), np.zeros(6), 0.0)
        if ep < 2:
            rec.end_episode(True)
    rec.flush(60)
    print(rec._proc.pid, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)  # mid-episode, no close()
"""


def test_a_killed_parent_leaves_the_finished_episodes_packed(tmp_path):
    """kill -9 of the recording process: its worker process sees the pipe close, keeps the
    finished episodes (packed into v3.0), drops the unfinished one, and exits."""
    import os
    import subprocess
    import sys
    import time
    from pathlib import Path

    script = tmp_path / "rec.py"
    script.write_text(_KILLED_PARENT.format(tests=str(Path(__file__).resolve().parents[1])))
    out = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "ds")],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert out.returncode == -9, out.stderr[-2000:]
    child = int(out.stdout.split()[0])
    for _ in range(600):  # bounded: the worker finishes and exits on its own
        try:
            os.kill(child, 0)
            status = Path(f"/proc/{child}/status")
            if status.exists() and "\tZ" in status.read_text():
                break  # exited; waiting for a parent that does not reap orphans
        except (ProcessLookupError, FileNotFoundError):
            break
        time.sleep(0.1)
    else:
        pytest.fail("the worker process did not exit after its parent was killed")
    ds = Dataset(tmp_path / "ds")
    assert ds.version == "v3.0" and [e["length"] for e in ds.episodes] == [5, 5]
    assert validate(tmp_path / "ds", so101_spec()).ok


def test_pack_starts_new_files_at_the_size_limits(v21, tmp_path):
    out = tmp_path / "v3"
    v30.pack(v21, out, data_file_mb=1e-6)  # every episode over the limit: one file each
    ds = Dataset(out)
    assert [(r["data/file_index"], r["dataset_from_index"]) for r in ds.v30.rows] == [
        (0, 0), (1, 10), (2, 20)
    ]  # fmt: skip
    key = ds.video_keys[0]
    assert [r[f"videos/{key}/file_index"] for r in ds.v30.rows] == [0, 1, 2]
    assert [r[f"videos/{key}/from_timestamp"] for r in ds.v30.rows] == [0.0, 0.0, 0.0]
    assert validate(out, so101_spec()).ok
    _assert_same(Dataset(v21), ds, _frames_v3)


@pytest.mark.parametrize("codec", ["av1", "h264"])
def test_a_lerobot_made_v30_converts_to_v21_with_modality(tmp_path, codec):
    """A v3.0 dataset as LeRobot writes it (no modality.json, no groot columns, tasks as a
    column): to v2.1 with the embodiment's modality.json; an AV1-labelled video is
    re-encoded to H.264 (GR00T's v2.1 decoders), an H.264 one stream-copied."""
    from .test_data_convert import _build_v3

    spec = so101_spec()
    lengths = [7, 11, 5]
    state, _ = _build_v3(tmp_path / "v3", spec, lengths)
    info_path = tmp_path / "v3/meta/info.json"
    info = json.loads(info_path.read_text())
    for cam in spec.cameras:
        info["features"][cam.original_key]["info"]["video.codec"] = codec
    info_path.write_text(json.dumps(info))
    r = CliRunner().invoke(
        cli, ["dataset", "convert", str(tmp_path / "v3"), str(tmp_path / "v21"), "-e", "so101"]
    )
    assert r.exit_code == 0, r.output
    ds = Dataset(tmp_path / "v21")
    assert ds.version == "v2.1" and [e["length"] for e in ds.episodes] == lengths
    assert ds.features["observation.images.front"]["info"]["video.codec"] == "h264"
    assert json.loads((tmp_path / "v21/meta/modality.json").read_text()) == modality_json(spec)
    np.testing.assert_array_equal(ds.episode(1)["observation.state"], state[7:18])
    assert ds.tasks == {0: "fold the towel", 1: "open the drawer"}
    for i in range(3):
        for c, cam in enumerate(spec.cameras):  # each episode a solid grey level
            frames = ds.video_frames(i, cam.original_key)
            assert abs(float(frames.mean()) - (20 + 50 * i + 10 * c)) < 3
