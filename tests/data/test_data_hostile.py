"""Hostile metadata (issue 12, item 9): every info.json field the SDK reads, given wrong
types, out-of-range values, escaping paths and absurd nesting, makes `groot dataset
validate|stats|show` and the recorder fail with one line naming the file and field, never a
traceback; a truncated parquet is named the same way."""

from __future__ import annotations

import json
import math
import shutil
import sys

import pytest

pytest.importorskip("pyarrow")
pytest.importorskip("av")

from groot_sdk.cli.main import main
from groot_sdk.data.writer import DatasetError, DatasetWriter

from .helpers import record_mock, so101_spec

A = ("features", "action")
FRONT = ("features", "observation.images.front")
DEEP = 100_000


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


#: (case id, path into info.json (None: the whole document), value, what the error names)
CASES = [
    ("version-int", ("codebase_version",), 5, "codebase_version"),
    ("version-null", ("codebase_version",), None, "codebase_version"),
    ("version-v3", ("codebase_version",), "v3.0", "codebase_version"),
    ("version-long", ("codebase_version",), "v" * 10_000, "codebase_version"),
    ("fps-abc", ("fps",), "abc", "fps"),
    ("fps-nan", ("fps",), math.nan, "fps"),
    ("fps-inf", ("fps",), math.inf, "fps"),
    ("fps-zero", ("fps",), 0, "fps"),
    ("fps-negative", ("fps",), -30, "fps"),
    ("fps-huge", ("fps",), 1e9, "fps"),
    ("fps-overflow", ("fps",), 10**400, "fps"),
    ("fps-bool", ("fps",), True, "fps"),
    ("fps-list", ("fps",), [30], "fps"),
    ("fps-null", ("fps",), None, "fps"),
    ("fps-missing", ("fps",), KeyError, "fps"),
    ("chunks-zero", ("chunks_size",), 0, "chunks_size"),
    ("chunks-negative", ("chunks_size",), -1, "chunks_size"),
    ("chunks-float", ("chunks_size",), 1.5, "chunks_size"),
    ("chunks-str", ("chunks_size",), "10", "chunks_size"),
    ("chunks-huge", ("chunks_size",), 10**20, "chunks_size"),
    ("chunks-null", ("chunks_size",), None, "chunks_size"),
    ("data-unknown-field", ("data_path",), "data/{nope}", "data_path"),
    (
        "data-escape",
        ("data_path",),
        "../escaped/chunk-{episode_chunk:03d}/episode_{episode_index:06d}.parquet",
        "data_path",
    ),
    ("data-absolute", ("data_path",), "/tmp/x/episode_{episode_index:06d}.parquet", "data_path"),
    ("data-attribute", ("data_path",), "data/{episode_index.__class__}.parquet", "data_path"),
    ("data-positional", ("data_path",), "data/{0}.parquet", "data_path"),
    ("data-empty-field", ("data_path",), "data/{}.parquet", "data_path"),
    ("data-bad-spec", ("data_path",), "data/{episode_index:s}.parquet", "data_path"),
    ("data-unclosed", ("data_path",), "data/{episode_index", "data_path"),
    ("data-no-index", ("data_path",), "data/chunk-{episode_chunk:03d}/all.parquet", "data_path"),
    ("data-int", ("data_path",), 5, "data_path"),
    ("data-null", ("data_path",), None, "data_path"),
    ("data-long", ("data_path",), "d" * 100_000 + "{episode_index}", "data_path"),
    ("data-missing", ("data_path",), KeyError, "data_path"),
    ("video-escape", ("video_path",), "../v/{video_key}/{episode_index}.mp4", "video_path"),
    ("video-no-key", ("video_path",), "videos/{episode_index:06d}.mp4", "video_path"),
    ("video-null", ("video_path",), None, "video_path"),
    ("video-int", ("video_path",), 7, "video_path"),
    ("features-str", ("features",), "abc", "features"),
    ("features-list", ("features",), [], "features"),
    ("features-empty", ("features",), {}, "features"),
    ("features-missing", ("features",), KeyError, "features"),
    ("feature-str", A, "x", "features.action"),
    ("dtype-int", (*A, "dtype"), 5, "features.action.dtype"),
    ("dtype-unknown", (*A, "dtype"), "complex128", "features.action.dtype"),
    ("shape-str", (*A, "shape"), "abc", "features.action.shape"),
    ("shape-negative", (*A, "shape"), [-1], "features.action.shape"),
    ("shape-empty", (*A, "shape"), [], "features.action.shape"),
    ("shape-float", (*A, "shape"), [6.5], "features.action.shape"),
    ("shape-nested", (*A, "shape"), [[6]], "features.action.shape"),
    ("shape-huge", (*A, "shape"), [2**40], "features.action.shape"),
    ("shape-deep", (*A, "shape"), [1] * 20, "features.action.shape"),
    ("names-int", (*A, "names"), 5, "features.action.names"),
    ("video-shape-2d", (*FRONT, "shape"), [224, 224], "features.observation.images.front.shape"),
    ("video-info-str", (*FRONT, "info"), "x", "features.observation.images.front.info"),
    (
        "feature-key-escape",
        ("features", "../../x"),
        {"dtype": "video", "shape": [8, 8, 3]},
        "features",
    ),
    ("episodes-str", ("total_episodes",), "abc", "total_episodes"),
    ("episodes-negative", ("total_episodes",), -1, "total_episodes"),
    ("episodes-nan", ("total_episodes",), math.nan, "total_episodes"),
    ("episodes-missing", ("total_episodes",), KeyError, "total_episodes"),
    ("frames-str", ("total_frames",), "abc", "total_frames"),
    ("frames-negative", ("total_frames",), -5, "total_frames"),
    ("tasks-float", ("total_tasks",), 1.5, "total_tasks"),
    ("videos-str", ("total_videos",), "2", "total_videos"),
    ("chunks-total-neg", ("total_chunks",), -1, "total_chunks"),
    ("robot-int", ("robot_type",), 5, "robot_type"),
    ("robot-dict", ("robot_type",), {}, "robot_type"),
    ("splits-str", ("splits",), "abc", "splits"),
    ("doc-list", None, [], "(document)"),
    ("doc-str", None, "abc", "(document)"),
    ("doc-nested", None, DEEP, "nested too deeply"),
    ("fps-nested", ("fps",), DEEP, "nested too deeply"),
]


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    root = tmp_path_factory.mktemp("good") / "ds"
    record_mock(root, so101_spec(), episodes=1, steps=4)
    return root


def _hostile(good, tmp_path, path, value):
    root = tmp_path / "ds"
    shutil.copytree(good, root)
    info = json.loads((root / "meta/info.json").read_text())
    if value == DEEP:  # write the nesting as text: json.dumps would recurse too
        text = _nested(DEEP) if path is None else json.dumps(info).replace(
            f'"fps": {info["fps"]}', f'"fps": {_nested(DEEP)}'
        )  # fmt: skip
        (root / "meta/info.json").write_text(text)
        return root
    if path is None:
        info = value
    else:
        node = info
        for k in path[:-1]:
            node = node[k]
        if value is KeyError:
            del node[path[-1]]
        else:
            node[path[-1]] = value
    (root / "meta/info.json").write_text(json.dumps(info))
    return root


def _groot(monkeypatch, capsys, *args):
    """``groot ARGS`` in-process through the real entry point; (exit code, stdout, stderr)."""
    monkeypatch.setattr(sys, "argv", ["groot", *args])
    with pytest.raises(SystemExit) as exc:
        main()
    out = capsys.readouterr()
    return exc.value.code, out.out, out.err


@pytest.mark.parametrize(
    ("path", "value", "names"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_hostile_info_json_field_is_one_line_naming_file_and_field(
    good, tmp_path, monkeypatch, capsys, path, value, names
):
    root = _hostile(good, tmp_path, path, value)
    for command in ("stats", "show"):
        code, out, err = _groot(monkeypatch, capsys, "dataset", command, str(root))
        lines = err.strip().splitlines()
        assert code == 2 and len(lines) == 1, (command, out, err)
        assert "meta/info.json" in lines[0] and names in lines[0], (command, lines)
        assert "Traceback" not in out + err
    code, out, err = _groot(monkeypatch, capsys, "dataset", "validate", str(root))
    assert code == 1 and "Traceback" not in out + err
    problems = [x for x in err.splitlines() if x.startswith("error:")]
    assert len(problems) == 1 and "meta/info.json" in problems[0] and names in problems[0]
    with pytest.raises(DatasetError, match="info.json") as exc:
        DatasetWriter.for_spec(root, so101_spec())
    assert names in str(exc.value) and "\n" not in str(exc.value)


def test_truncated_parquet_is_named_not_a_traceback(good, tmp_path, monkeypatch, capsys):
    root = tmp_path / "ds"
    shutil.copytree(good, root)
    part = root / "data/chunk-000/episode_000000.parquet"
    part.write_bytes(part.read_bytes()[: part.stat().st_size // 2])
    code, out, err = _groot(monkeypatch, capsys, "dataset", "stats", str(root))
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "episode_000000.parquet" in err and "cannot be read as parquet" in err
    code, out, err = _groot(monkeypatch, capsys, "dataset", "validate", str(root))
    assert code == 1 and "episode_000000.parquet" in err and "Traceback" not in out + err
    code, out, err = _groot(
        monkeypatch, capsys, "dataset", "show", str(root), "--plot", str(tmp_path / "p.png")
    )
    assert code == 2 and "episode_000000.parquet" in err and "Traceback" not in out + err


@pytest.mark.parametrize(
    ("name", "text", "names"),
    [
        ("episodes.jsonl", '{"episode_index": "abc", "tasks": [], "length": 4}\n', "episode_index"),
        ("episodes.jsonl", '{"episode_index": 0, "tasks": [], "length": -4}\n', "length"),
        ("episodes.jsonl", "[1, 2]\n", "must be a JSON object"),
        ("episodes.jsonl", _nested(DEEP) + "\n", "nested too deeply"),
        ("tasks.jsonl", '{"task_index": 0, "task": 5}\n', "task"),
        ("modality.json", '{"state": {"a": {"start": "x", "end": 2}}, "action": {}}', "start"),
        ("modality.json", '{"state": {"a": {"start": 3, "end": 2}}, "action": {}}', "state.a"),
        ("modality.json", '{"state": [], "action": {}}', "state"),
    ],
)
def test_hostile_jsonl_rows_and_modality_entries(
    good, tmp_path, monkeypatch, capsys, name, text, names
):
    root = tmp_path / "ds"
    shutil.copytree(good, root)
    (root / "meta" / name).write_text(text)
    code, out, err = _groot(monkeypatch, capsys, "dataset", "stats", str(root))
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert name in err and names in err, err
    code, out, err = _groot(monkeypatch, capsys, "dataset", "validate", str(root))
    assert code == 1 and "Traceback" not in out + err and name in err
