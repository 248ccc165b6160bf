"""One schema for the metadata a dataset hands us: ``meta/info.json`` (typed, ranged), plus the
rows of ``episodes.jsonl`` / ``tasks.jsonl`` and the entries of ``modality.json`` the code reads.

Everything read from a dataset passes through here first, so a hostile or careless value
(``"fps": "abc"``, ``chunks_size: 0``, ``data_path: "../x/{episode_index}"``) becomes one
:class:`~groot_sdk.data.layout.DatasetError` naming the file and field, never a traceback or a
path outside the dataset.
"""

from __future__ import annotations

import math
import string
from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Any

from attrs import frozen

from groot_sdk.data.layout import (
    DATA_PATH,
    DEFAULT_CHUNKS_SIZE,
    EPISODES,
    INFO,
    MODALITY,
    TASKS,
    DatasetError,
)

#: LeRobot v2.1 feature dtypes (``lerobot/common/datasets/utils.py``) GR00T can meet
DTYPES = frozenset(
    {"float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool",
     "string", "video", "image"}
)  # fmt: skip
MAX_FPS = 10_000.0
MAX_CHUNKS_SIZE = 10_000_000
MAX_COUNT = 2**53  #: totals and indices stay exact as JSON numbers
MAX_TEMPLATE = 512
MAX_DIMS, MAX_DIM = 4, 2**31 - 1
MAX_KEY = 256
DATA_FIELDS = frozenset({"episode_chunk", "episode_index"})
VIDEO_FIELDS = DATA_FIELDS | {"video_key"}


class SchemaError(DatasetError):
    """A metadata field has the wrong type or range; ``file`` and ``key`` name it."""

    def __init__(self, file: str, key: str, message: str) -> None:
        self.file, self.key, self.detail = file, key, message
        super().__init__(f"{file}: '{key}' {message}")


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def check_int(file: str, key: str, value: Any, lo: int = 0, hi: int = MAX_COUNT) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise SchemaError(file, key, f"must be an integer, got {_show(value)}")
    if not lo <= value <= hi:
        raise SchemaError(file, key, f"must be in [{lo}, {hi}], got {value}")
    return value


def check_number(file: str, key: str, value: Any, lo: float, hi: float) -> float:
    """A finite number in (lo, hi]."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SchemaError(file, key, f"must be a number, got {_show(value)}")
    try:
        x = float(value)
    except OverflowError:
        x = math.inf
    if not math.isfinite(x) or not lo < x <= hi:
        raise SchemaError(file, key, f"must be a finite number in ({lo:g}, {hi:g}], got {x}")
    return x


def check_str(file: str, key: str, value: Any, max_len: int = MAX_KEY) -> str:
    if not isinstance(value, str):
        raise SchemaError(file, key, f"must be a string, got {_show(value)}")
    if len(value) > max_len:
        raise SchemaError(file, key, f"must be at most {max_len} characters, got {len(value)}")
    return value


def check_template(file: str, key: str, value: Any, allowed: frozenset[str]) -> str:
    """A relative path template using only ``allowed`` fields, each at most once per kind,
    with ``episode_index`` among them, that formats and stays below the dataset root."""
    text = check_str(file, key, value, MAX_TEMPLATE)
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise SchemaError(file, key, f"is not a valid path template ({exc})") from None
    used = set()
    for _, name, spec, conv in parsed:
        if name is None:
            continue
        if name not in allowed or conv is not None or (spec and "{" in spec):
            raise SchemaError(
                file, key, f"may only use {sorted(allowed)} as fields, got '{{{name}}}'"
            )
        used.add(name)
    need = {"episode_index"} | ({"video_key"} if "video_key" in allowed else set())
    if not need <= used:
        raise SchemaError(file, key, f"must contain {sorted(need)}, got {_show(text)}")
    try:
        sample = text.format(episode_chunk=0, episode_index=0, video_key="k")
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise SchemaError(file, key, f"does not format ({exc})") from None
    path = PurePosixPath(sample)
    if "\x00" in sample or "\\" in sample or path.is_absolute() or ".." in path.parts:
        raise SchemaError(
            file, key, f"must be a relative path inside the dataset, got {_show(text)}"
        )
    return text


def check_feature_key(file: str, key: str) -> str:
    if not key or len(key) > MAX_KEY or any(c in key for c in "/\\\x00") or key in (".", ".."):
        raise SchemaError(file, f"features.{key[:40]}", "is not a usable feature name")
    return key


def feature(key: str, f: Any) -> dict[str, Any]:
    where = f"features.{key}"
    if not isinstance(f, Mapping):
        raise SchemaError(INFO, where, f"must be an object, got {_show(f)}")
    dtype = check_str(INFO, f"{where}.dtype", f.get("dtype"))
    if dtype not in DTYPES:
        raise SchemaError(INFO, f"{where}.dtype", f"must be one of {sorted(DTYPES)}, got {dtype!r}")
    shape = f.get("shape")
    if not isinstance(shape, list | tuple) or not 1 <= len(shape) <= MAX_DIMS:
        raise SchemaError(
            INFO, f"{where}.shape", f"must be a list of 1-{MAX_DIMS} sizes, got {_show(shape)}"
        )
    for d in shape:
        check_int(INFO, f"{where}.shape", d, 1, MAX_DIM)
    if dtype in ("video", "image") and len(shape) != 3:
        raise SchemaError(INFO, f"{where}.shape", f"must be [height, width, channels], got {shape}")
    names = f.get("names")
    if names is not None and not isinstance(names, list | Mapping):
        raise SchemaError(
            INFO, f"{where}.names", f"must be a list, an object or null, got {_show(names)}"
        )
    extra = f.get("info")
    if extra is not None and not isinstance(extra, Mapping):
        raise SchemaError(INFO, f"{where}.info", f"must be an object or null, got {_show(extra)}")
    return dict(f)


@frozen
class Info:
    """The fields of ``meta/info.json`` the SDK reads, checked; ``raw`` is the whole document."""

    codebase_version: str
    fps: float
    features: dict[str, dict[str, Any]]
    data_path: str
    video_path: str | None
    chunks_size: int
    total_episodes: int
    robot_type: str
    totals: dict[str, int]
    raw: dict[str, Any]


TOTALS = ("total_frames", "total_tasks", "total_videos", "total_chunks")


def parse_info(doc: Any, *, need_version: str | None = None) -> Info:
    """Check an ``info.json`` document; raises :class:`SchemaError` for the first bad field.

    ``need_version``: also require this ``codebase_version`` (checked first, so a v3.0
    dataset is told it is v3.0 rather than that some v2.1 field is missing).
    """
    if not isinstance(doc, Mapping):
        raise SchemaError(INFO, "(document)", f"must be a JSON object, got {type(doc).__name__}")
    version = check_str(INFO, "codebase_version", doc.get("codebase_version"), 32)
    if need_version is not None and version != need_version:
        hint = (
            " (convert with `groot dataset convert --from lerobot-v3`)"
            if version.startswith("v3")
            else ""
        )
        raise SchemaError(
            INFO, "codebase_version", f"is {version!r}; GR00T reads {need_version}{hint}"
        )
    for key in ("fps", "features", "data_path", "total_episodes"):
        if key not in doc:
            raise SchemaError(INFO, key, "is missing")
    fps = check_number(INFO, "fps", doc["fps"], 0.0, MAX_FPS)
    feats = doc["features"]
    if not isinstance(feats, Mapping) or not feats:
        raise SchemaError(INFO, "features", f"must be a non-empty object, got {_show(feats)}")
    features = {check_feature_key(INFO, str(k)): feature(str(k), v) for k, v in feats.items()}
    data_path = check_template(INFO, "data_path", doc["data_path"], DATA_FIELDS)
    video_path = doc.get("video_path")
    has_video = any(f["dtype"] == "video" for f in features.values())
    if video_path is not None or has_video:
        if video_path is None:
            raise SchemaError(INFO, "video_path", "is missing (the dataset has video features)")
        video_path = check_template(INFO, "video_path", video_path, VIDEO_FIELDS)
    chunks = doc.get("chunks_size", DEFAULT_CHUNKS_SIZE)
    chunks_size = check_int(INFO, "chunks_size", chunks, 1, MAX_CHUNKS_SIZE)
    total_episodes = check_int(INFO, "total_episodes", doc["total_episodes"])
    totals = {k: check_int(INFO, k, doc[k]) for k in TOTALS if k in doc}
    robot_type = doc.get("robot_type")
    if robot_type is not None:
        check_str(INFO, "robot_type", robot_type)
    splits = doc.get("splits")
    if splits is not None and not isinstance(splits, Mapping):
        raise SchemaError(INFO, "splits", f"must be an object, got {_show(splits)}")
    return Info(
        codebase_version=version,
        fps=fps,
        features=features,
        data_path=data_path,
        video_path=video_path,
        chunks_size=chunks_size,
        total_episodes=total_episodes,
        robot_type=robot_type or "",
        totals=totals,
        raw=dict(doc),
    )


# -- jsonl rows and modality entries ----------------------------------------------------------
def parse_episode(row: Mapping[str, Any], line: int) -> dict[str, Any]:
    """An ``episodes.jsonl`` row: ``episode_index`` and ``length`` integers, ``tasks`` strings."""
    where = f"line {line}"
    i = check_int(EPISODES, f"{where} episode_index", row.get("episode_index"))
    check_int(EPISODES, f"{where} length", row.get("length"), 0)
    tasks = row.get("tasks", [])
    if not isinstance(tasks, list) or not all(isinstance(t, str) for t in tasks):
        raise SchemaError(EPISODES, f"{where} tasks", f"must be a list of strings (episode {i})")
    return dict(row)


def parse_task(row: Mapping[str, Any], line: int) -> tuple[int, str]:
    where = f"line {line}"
    index = check_int(TASKS, f"{where} task_index", row.get("task_index"))
    task = row.get("task")
    if not isinstance(task, str):
        raise SchemaError(TASKS, f"{where} task", f"must be a string, got {_show(task)}")
    return index, task


def parse_modality_entry(
    section: str, key: str, entry: Any, default_column: str
) -> tuple[str, int, int]:
    """A ``modality.json`` state/action entry: (column, start, end) with 0 <= start < end."""
    name = f"{section}.{key}"
    if not isinstance(entry, Mapping):
        raise SchemaError(MODALITY, name, f"must be an object, got {_show(entry)}")
    column = entry.get("original_key", default_column)
    column = check_str(
        MODALITY, f"{name}.original_key", column if column is not None else default_column
    )
    start = check_int(MODALITY, f"{name}.start", entry.get("start"), 0, MAX_DIM)
    end = check_int(MODALITY, f"{name}.end", entry.get("end"), 0, MAX_DIM)
    if end <= start:
        raise SchemaError(MODALITY, name, f"slice [{start}:{end}] is empty")
    return column, start, end


__all__ = [
    "DATA_PATH",
    "Info",
    "SchemaError",
    "parse_episode",
    "parse_info",
    "parse_modality_entry",
    "parse_task",
]
