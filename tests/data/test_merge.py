"""Merge (several recording days into one), split and drop-episodes, in both formats, with
statistics checked against a recomputation from the written values."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("pyarrow")
pytest.importorskip("av")

from click.testing import CliRunner

from groot_sdk.cli.main import cli
from groot_sdk.data.layout import DatasetError
from groot_sdk.data.merge import drop_episodes, merge, parse_episodes, split
from groot_sdk.data.reader import Dataset
from groot_sdk.data.stats import numeric_stats
from groot_sdk.data.validate import validate
from groot_sdk.data.video import read_frames

from .helpers import record_mock, so101_spec
from .test_v30 import _frames_v3


@pytest.fixture(scope="module")
def days(tmp_path_factory):
    """Two recording days: 3 and 2 episodes, tasks overlapping ("pick 0" in both)."""
    base = tmp_path_factory.mktemp("merge")
    spec = so101_spec()
    record_mock(base / "day1", spec, episodes=3, steps=8, task="pick")
    record_mock(base / "day2", spec, episodes=2, steps=6, task="place")
    return base / "day1", base / "day2"


def _frames(ds: Dataset, i: int, key: str) -> np.ndarray:
    return (
        _frames_v3(ds, i, key) if ds.v30 is not None else read_frames(ds.layout.video_file(i, key))
    )


def _check_stats(root) -> None:
    """meta/stats.json equals statistics recomputed from every row the dataset holds."""
    ds = Dataset(root)
    stats = json.loads((root / "meta/stats.json").read_text())
    for key in ("observation.state", "action", "index", "episode_index", "task_index"):
        values = np.concatenate([ds.episode(i, [key])[key] for i in ds.episode_indices])
        want = numeric_stats(values)
        for s in ("min", "max", "mean", "std", "q01", "q99"):
            np.testing.assert_allclose(
                np.asarray(stats[key][s]).reshape(-1), np.asarray(want[s]).reshape(-1),
                rtol=1e-6, atol=1e-6, err_msg=f"{root.name} {key} {s}",
            )  # fmt: skip
    if ds.v30 is None:  # per-episode stats too (v2.1's episodes_stats.jsonl)
        rows = [
            json.loads(x) for x in (root / "meta/episodes_stats.jsonl").read_text().split("\n") if x
        ]
        for r in rows:
            i = r["episode_index"]
            idx = ds.episode(i, ["index"])["index"]
            assert r["stats"]["index"]["min"] == [int(idx.min())]
            assert r["stats"]["episode_index"]["max"] == [i]


@pytest.mark.parametrize("fmt", ["v2.1", "v3.0"])
def test_merge_renumbers_episodes_tasks_and_videos(days, tmp_path, fmt):
    day1, day2 = days
    out = tmp_path / "all"
    merge(out, [day1, day2], fmt=fmt)
    ds, a, b = Dataset(out), Dataset(day1), Dataset(day2)
    assert ds.version == fmt
    assert ds.episode_indices == [0, 1, 2, 3, 4]
    assert ds.tasks == {0: "pick 0", 1: "pick 1", 2: "place 0", 3: "place 1"}
    report = validate(out, so101_spec())
    assert report.ok, report.to_json()
    assert report.frames == 3 * 8 + 2 * 6
    sources = [(a, i) for i in a.episode_indices] + [(b, i) for i in b.episode_indices]
    offset = 0
    for j, (src, i) in enumerate(sources):
        got, want = ds.episode(j), src.episode(i)
        n = len(want["index"])
        for k in ("observation.state", "action", "timestamp", "frame_index"):
            np.testing.assert_array_equal(got[k], want[k])
        np.testing.assert_array_equal(got["episode_index"], np.full(n, j))
        np.testing.assert_array_equal(got["index"], np.arange(offset, offset + n))
        assert [ds.tasks[int(t)] for t in got["task_index"]] == [
            src.tasks[int(t)] for t in want["task_index"]
        ]
        for key in ds.video_keys:
            np.testing.assert_array_equal(_frames(ds, j, key), _frames(src, i, key))
        offset += n
    _check_stats(out)


def test_merge_of_v30_sources(days, tmp_path):
    day1, day2 = days
    merge(tmp_path / "d1", [day1], fmt="v3.0")
    merge(tmp_path / "d2", [day2], fmt="v3.0")
    merge(tmp_path / "all", [tmp_path / "d1", tmp_path / "d2"])  # format of the first: v3.0
    ds = Dataset(tmp_path / "all")
    assert ds.version == "v3.0" and len(ds.episodes) == 5
    assert validate(tmp_path / "all", so101_spec()).ok
    _check_stats(tmp_path / "all")


@pytest.mark.parametrize("fmt", ["v2.1", "v3.0"])
def test_drop_episodes_keeps_the_rest_renumbered(days, tmp_path, fmt):
    day1, _ = days
    src = tmp_path / "src"
    merge(src, [day1], fmt=fmt)
    drop_episodes(src, tmp_path / "kept", [1])
    ds, orig = Dataset(tmp_path / "kept"), Dataset(src)
    assert ds.version == fmt and ds.episode_indices == [0, 1]
    for j, i in ((0, 0), (1, 2)):
        np.testing.assert_array_equal(
            ds.episode(j)["observation.state"], orig.episode(i)["observation.state"]
        )
        for key in ds.video_keys:
            np.testing.assert_array_equal(_frames(ds, j, key), _frames(orig, i, key))
    assert [e["success"] for e in ds.episodes] == [False, False]  # rows' extra keys kept
    assert validate(tmp_path / "kept", so101_spec()).ok
    _check_stats(tmp_path / "kept")


def test_split_by_fraction_and_by_list(days, tmp_path):
    day1, _ = days
    a, b = split(day1, tmp_path / "a", tmp_path / "b", fraction=0.5)
    assert (len(a.episodes), len(b.episodes)) == (2, 1)
    a, b = split(day1, tmp_path / "c", tmp_path / "d", episodes=[1], fmt="v3.0")
    assert a.version == b.version == "v3.0"
    np.testing.assert_array_equal(a.episode(0)["action"], Dataset(day1).episode(1)["action"])
    for root in ("a", "b", "c", "d"):
        assert validate(tmp_path / root).ok
        _check_stats(tmp_path / root)


def test_cli_merge_split_drop(days, tmp_path):
    day1, day2 = days
    run = CliRunner().invoke
    r = run(
        cli, ["dataset", "merge", str(tmp_path / "m"), str(day1), str(day2), "--format", "v3.0"]
    )
    assert r.exit_code == 0, r.output
    assert "merged 2 datasets: 5 episodes, 36 frames (valid)" in r.output
    r = run(
        cli, ["dataset", "drop-episodes", str(tmp_path / "m"), str(tmp_path / "x"), "-n", "0,3-4"]
    )
    assert r.exit_code == 0, r.output
    assert "dropped 3: 2 episodes" in r.output
    r = run(cli, ["dataset", "split", str(tmp_path / "m"), str(tmp_path / "t"), str(tmp_path / "v"),
                  "--fraction", "0.8"])  # fmt: skip
    assert r.exit_code == 0, r.output
    r = run(cli, ["dataset", "merge", str(tmp_path / "m"), str(day1)])
    assert r.exit_code != 0 and "already holds a dataset" in str(r.exception or r.output)


def test_bad_requests_are_one_line_errors(days, tmp_path):
    day1, _ = days
    with pytest.raises(DatasetError, match="has no episodes \\[7\\]"):
        drop_episodes(day1, tmp_path / "x", [7])
    with pytest.raises(DatasetError, match="leaves none"):
        drop_episodes(day1, tmp_path / "x", [0, 1, 2])
    with pytest.raises(DatasetError, match="'2-a' is not an index"):
        parse_episodes("1,2-a")
    assert parse_episodes("0, 3,5-7") == [0, 3, 5, 6, 7]
    with pytest.raises(DatasetError, match="output must not be one of the sources"):
        merge(day1, [day1], overwrite=True)
