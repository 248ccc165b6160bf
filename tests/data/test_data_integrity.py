"""The recorder under damaged, hostile and interrupted datasets (issue 12, items 4, 11, 12):
it never deletes a file it did not create in this run, never touches a path outside the
dataset, and no reader sees the metadata of two different commits."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

pytest.importorskip("pyarrow")
pytest.importorskip("av")

import pyarrow.parquet as pq

from groot_sdk.data import layout as L
from groot_sdk.data import writer as W
from groot_sdk.data.reader import Dataset
from groot_sdk.data.validate import validate
from groot_sdk.data.writer import DatasetError, DatasetWriter

from .helpers import record_mock, so101_spec

FRONT = "videos/chunk-000/observation.images.front/episode_{:06d}.mp4"
DATA = "data/chunk-000/episode_{:06d}.parquet"


def _digests(root):
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in root.rglob("*")
        if p.is_file() and (p.suffix in (".parquet", ".mp4"))
    }


def _columns(path):
    t = pq.read_table(path)
    return {k: np.stack(t.column(k).to_pylist()) for k in ("observation.state", "action")}


def _quarantined(root):
    reports = list((root / L.QUARANTINE).glob("*/report.json"))
    assert len(reports) == 1, reports
    return reports[0].parent, json.loads(reports[0].read_text())


def _episode(spec, n):
    cols = {k: np.zeros((n, 6), np.float32) for k in ("observation.state", "action")}
    vids = {c.original_key: np.zeros((n, 224, 224, 3), np.uint8) for c in spec.cameras}
    return cols, vids


def _info_total(root):
    return json.loads((root / L.INFO).read_text())["total_episodes"]


def _rows(root, name=L.EPISODES):
    return [json.loads(x) for x in (root / name).read_text().splitlines() if x.strip()]


# -- item 4: a damaged episode is quarantined; intact ones are kept ----------------------------
def test_appending_after_episode_0_lost_its_video_keeps_episodes_1_and_2(tmp_path):
    spec = so101_spec()
    root = tmp_path / "ds"
    record_mock(root, spec, episodes=3, steps=8)
    before = _digests(root)
    kept = {i: _columns(root / DATA.format(i)) for i in (1, 2)}
    (root / FRONT.format(0)).unlink()  # episode 0 lost a video

    record_mock(root, spec, episodes=1, steps=5)  # append

    report = validate(root, spec)
    assert report.ok, report.to_json()
    assert report.episodes == 3 and report.frames == 8 + 8 + 5
    for new, old in ((0, 1), (1, 2)):  # renumbered, values intact
        got = _columns(root / DATA.format(new))
        for k in got:
            np.testing.assert_array_equal(got[k], kept[old][k])
        index = pq.read_table(root / DATA.format(new)).column("index").to_pylist()
        assert index == list(range(8 * new, 8 * new + 8))
    # nothing that existed is gone: each file is in the dataset or in the quarantine
    after = set(_digests(root).values())
    missing = {p for p, h in before.items() if h not in after and p != FRONT.format(0)}
    assert not missing, missing
    qdir, doc = _quarantined(root)
    assert (qdir / DATA.format(0)).is_file()  # the damaged episode's parquet, moved aside
    moved = [i["path"] for i in doc["items"] if "path" in i]
    assert len(moved) == len(set(moved)), moved  # each move reported once
    damaged = [i for i in doc["items"] if "damaged_episode" in i]
    assert len(damaged) == 1
    assert damaged[0]["damaged_episode"]["episode_index"] == 0
    assert any(FRONT.format(0) in r and "missing" in r for r in damaged[0]["reasons"])
    assert not (root / L.REPAIR_PLAN).exists()


def test_stray_files_and_unfinished_episodes_are_moved_aside_not_deleted(tmp_path):
    spec = so101_spec()
    root = tmp_path / "ds"
    record_mock(root, spec, episodes=2, steps=4)
    shutil.copy(root / DATA.format(1), root / DATA.format(7))  # listed nowhere
    (root / ".incomplete/episode_000002").mkdir(parents=True)
    (root / ".incomplete/episode_000002/observation.images.front.mp4").write_bytes(b"partial")
    record_mock(root, spec, episodes=1, steps=4)
    assert validate(root, spec).ok
    qdir, doc = _quarantined(root)
    assert (qdir / DATA.format(7)).is_file()
    assert (qdir / ".incomplete/episode_000002/observation.images.front.mp4").read_bytes() == (
        b"partial"
    )
    assert {i["path"] for i in doc["items"]} >= {DATA.format(7), ".incomplete/episode_000002"}


def test_an_interrupted_repair_is_finished_on_the_next_open(tmp_path, monkeypatch):
    spec = so101_spec()
    root = tmp_path / "ds"
    record_mock(root, spec, episodes=3, steps=6)
    kept = _columns(root / DATA.format(2))
    (root / DATA.format(1)).unlink()
    moves = 0
    real = L.move_into_place

    def crash_on_the_third_move(src, dst):
        nonlocal moves
        moves += 1
        if moves == 3:
            raise KeyboardInterrupt("killed mid-repair")
        real(src, dst)

    monkeypatch.setattr(L, "move_into_place", crash_on_the_third_move)
    with pytest.raises(KeyboardInterrupt):
        DatasetWriter.for_spec(root, spec)
    assert (root / L.REPAIR_PLAN).exists()
    monkeypatch.setattr(L, "move_into_place", real)
    w = DatasetWriter.for_spec(root, spec)
    w.close()
    report = validate(root, spec)
    assert report.ok and report.episodes == 2, report.to_json()
    got = _columns(root / DATA.format(1))
    np.testing.assert_array_equal(got["action"], kept["action"])
    assert not (root / L.REPAIR_PLAN).exists()


# -- item 11: every path stays inside the dataset ---------------------------------------------
def test_a_data_path_leading_outside_the_dataset_is_refused(tmp_path):
    spec = so101_spec()
    root = tmp_path / "ds"
    record_mock(root, spec, episodes=1, steps=4)
    info = json.loads((root / L.INFO).read_text())
    info["data_path"] = "../escaped/chunk-{episode_chunk:03d}/episode_{episode_index:06d}.parquet"
    (root / L.INFO).write_text(json.dumps(info))
    before = _digests(root)
    with pytest.raises(DatasetError, match="data_path.*inside the dataset"):
        record_mock(root, spec, episodes=1, steps=4)
    with pytest.raises(DatasetError, match="data_path"):
        Dataset(root)
    assert not (tmp_path / "escaped").exists()
    assert _digests(root) == before


def test_a_symlink_leading_outside_the_dataset_is_refused(tmp_path):
    spec = so101_spec()
    root = tmp_path / "ds"
    record_mock(root, spec, episodes=1, steps=4)
    outside = tmp_path / "elsewhere"
    shutil.move(root / "data", outside)
    os.symlink(outside, root / "data")
    with pytest.raises(DatasetError, match="outside the dataset"):
        DatasetWriter.for_spec(root, spec)
    with pytest.raises(DatasetError, match="outside the dataset"):
        Dataset(root).episode(0)
    assert (outside / "chunk-000/episode_000000.parquet").is_file()
    assert not list(outside.rglob("episode_000001*"))


# -- item 12: metadata commits are atomic -----------------------------------------------------
KILL_SCRIPT = textwrap.dedent(
    """
    import builtins, os, signal, sys
    from pathlib import Path
    import numpy as np
    from groot_sdk.data.writer import DatasetWriter
    from groot_sdk.plugins import get_registry

    spec = get_registry().embodiment("so101").spec
    w = DatasetWriter.for_spec(sys.argv[1], spec)
    def episode(v):
        n = 5
        cols = {"observation.state": np.full((n, 6), v, np.float32),
                "action": np.full((n, 6), v, np.float32)}
        vids = {c.original_key: np.full((n, 224, 224, 3), 30 * v, np.uint8) for c in spec.cameras}
        w.write_episode(cols, vids, "t")
    episode(0)
    episode(1)
    real_open, wrote_episodes = builtins.open, False
    def open_then_die(file, mode="r", *a, **k):
        global wrote_episodes
        name = Path(str(file)).name.lstrip(".")
        if "w" in mode and name.startswith("episodes.jsonl"):
            wrote_episodes = True
        elif "w" in mode and name.startswith("info.json") and wrote_episodes:
            print("KILLED BETWEEN episodes.jsonl AND info.json", flush=True)
            os.kill(os.getpid(), signal.SIGKILL)
        return real_open(file, mode, *a, **k)
    builtins.open = open_then_die
    episode(2)
    print("NOT KILLED", flush=True)
    """
)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")
def test_kill_9_between_episodes_jsonl_and_info_json_leaves_a_consistent_dataset(tmp_path):
    root = tmp_path / "ds"
    out = subprocess.run(
        [sys.executable, "-c", KILL_SCRIPT, str(root)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert out.returncode == -signal.SIGKILL, out.stdout + out.stderr[-2000:]
    assert "KILLED BETWEEN" in out.stdout
    spec = so101_spec()
    report = validate(root, spec)  # without reopening it for writing
    assert report.ok, report.to_json()
    assert _info_total(root) == len(_rows(root)) == len(_rows(root, L.EPISODES_STATS)) == 2
    assert Dataset(root).episode_indices == [0, 1]


def test_a_commit_cut_between_its_two_renames_is_finished_by_readers(tmp_path, monkeypatch):
    """Where ``renameat2(RENAME_EXCHANGE)`` is unavailable the commit takes two renames; a
    crash between them leaves no ``meta/`` and a complete ``.meta.new/``, which any reader
    finishes (one rename) before reading."""
    spec = so101_spec()
    root = tmp_path / "ds"
    record_mock(root, spec, episodes=1, steps=4)
    monkeypatch.setattr(L, "_exchange", lambda a, b: False)
    real_rename = os.rename

    def crash_before_the_second(src, dst):
        new_info = root / L.META_NEW / "info.json"
        if (
            str(src).endswith(L.META_NEW)
            and not (root / L.META).exists()
            and json.loads(new_info.read_text())["total_episodes"] == 2
        ):
            raise KeyboardInterrupt("killed between the renames")
        real_rename(src, dst)

    w = DatasetWriter.for_spec(root, spec)
    monkeypatch.setattr(L.os, "rename", crash_before_the_second)
    with pytest.raises(KeyboardInterrupt):
        w.write_episode(*_episode(spec, 3), "t")
    monkeypatch.setattr(L.os, "rename", real_rename)
    assert not (root / L.META).exists() and (root / L.META_NEW / "info.json").exists()
    report = validate(root, spec)
    assert report.ok and report.episodes == 2, report.to_json()
    assert _info_total(root) == len(_rows(root)) == 2


def test_the_exchange_is_used_where_the_platform_has_it(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "x").write_text("a")
    (b / "x").write_text("b")
    if not L._exchange(a, b):
        pytest.skip("renameat2(RENAME_EXCHANGE) is not available here")
    assert (a / "x").read_text() == "b" and (b / "x").read_text() == "a"


def test_the_writer_never_overwrites_a_file_in_the_way_of_a_new_episode(tmp_path):
    spec = so101_spec()
    root = tmp_path / "ds"
    w = DatasetWriter.for_spec(root, spec)
    (root / "data/chunk-000").mkdir(parents=True)
    (root / DATA.format(0)).write_bytes(b"someone else's file")
    n = 3
    w.write_episode(*_episode(spec, n), "t")
    w.close()
    qdir, _ = _quarantined(root)
    assert (qdir / DATA.format(0)).read_bytes() == b"someone else's file"
    assert W.parquet_rows(root / DATA.format(0)) == n
