"""LeRobot v3.0 datasets: reading, packing v2.1 episodes into v3.0 files, and validation.

Layout (LeRobot >= 0.4, ``lerobot/datasets/utils.py``; checked against lerobot 0.4.4)::

    meta/info.json                     codebase_version "v3.0", data_files_size_in_mb, ...
    meta/stats.json                    per feature, cameras included, with count and quantiles
    meta/tasks.parquet                 task text as the pandas index, column task_index
    meta/episodes/chunk-000/file-000.parquet   one row per episode (paths, ranges, stats/...)
    meta/modality.json                 GR00T's, kept (LeRobot's own tools drop it)
    data/chunk-000/file-000.parquet    many episodes per file
    videos/<key>/chunk-000/file-000.mp4        many episodes per file, concatenated streams

Packing never re-encodes: each episode's mp4 is stream-copied into the file (as LeRobot's
``concatenate_video_files`` does), and unpacking cuts the packets back out, so a
v2.1 -> v3.0 -> v2.1 round trip keeps every frame bit for bit.
"""

from __future__ import annotations

import json
import os
import shutil
import string
import uuid
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from groot_sdk.data import layout as L
from groot_sdk.data.layout import DatasetError
from groot_sdk.data.schema import (
    MAX_FPS,
    SchemaError,
    check_feature_key,
    check_int,
    check_number,
    check_str,
    feature,
)
from groot_sdk.errors import require

CODEBASE_VERSION = "v3.0"
DATA_PATH = "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
VIDEO_PATH = "videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4"
EPISODES_PATH = "meta/episodes/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
EPISODES_DIR = "meta/episodes"
TASKS = "meta/tasks.parquet"
#: LeRobot's defaults: files per chunk directory, and the size a file grows to before the next
CHUNKS_SIZE, DATA_FILE_MB, VIDEO_FILE_MB = 1000, 100, 200
#: a v3.0 recording writes v2.1 episodes here first (crash-safe), packed into v3.0 on close
STAGING = ".staging-v2.1"
PACKED_MARK = "meta/groot_packed.json"
FORMATS = ("v2.1", "v3.0")
_CHUNK_FIELDS = frozenset({"chunk_index", "file_index"})


def _pa():
    return require("pyarrow", "data", "reading and writing parquet")


def _pq():
    return require("pyarrow.parquet", "data", "reading and writing parquet")


def _av():
    return require("av", "data", "video stream copy")


def version_of(root: str | Path) -> str:
    """``codebase_version`` of the dataset at ``root`` ("" when it has no info.json)."""
    path = Path(root) / L.INFO
    if not path.is_file():
        return ""
    try:
        doc = L.read_json(path)
    except (ValueError, OSError) as exc:
        raise DatasetError(f"{root}: {exc}") from None
    version = doc.get("codebase_version") if isinstance(doc, dict) else None
    return str(version) if isinstance(version, str) else ""


def check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise DatasetError(f"format must be one of {list(FORMATS)}, got {fmt!r}")
    return fmt


# -- info.json ----------------------------------------------------------------------------------
def _template(key: str, value: Any, allowed: frozenset[str]) -> str:
    text = check_str(L.INFO, key, value, 512)
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise SchemaError(L.INFO, key, f"is not a valid path template ({exc})") from None
    used = {name for _, name, _, _ in parsed if name is not None}
    if not used <= allowed or any(conv for _, n, _, conv in parsed if n is not None):
        raise SchemaError(L.INFO, key, f"may only use {sorted(allowed)} as fields, got {text!r}")
    if not _CHUNK_FIELDS <= used:
        raise SchemaError(L.INFO, key, f"must contain {sorted(_CHUNK_FIELDS)}, got {text!r}")
    sample = text.format(chunk_index=0, file_index=0, video_key="k")
    path = PurePosixPath(sample)
    if "\x00" in sample or "\\" in sample or path.is_absolute() or ".." in path.parts:
        raise SchemaError(L.INFO, key, f"must be a relative path inside the dataset, got {text!r}")
    return text


def parse_info_v30(doc: Any) -> dict[str, Any]:
    """Check a v3.0 ``info.json``; returns it with ``features`` checked (SchemaError names
    the first bad field)."""
    if not isinstance(doc, Mapping):
        raise SchemaError(L.INFO, "(document)", "must be a JSON object")
    version = check_str(L.INFO, "codebase_version", doc.get("codebase_version"), 32)
    if not version.startswith("v3"):
        raise SchemaError(L.INFO, "codebase_version", f"is {version!r}, expected v3.0")
    for key in ("fps", "features", "data_path", "total_episodes"):
        if key not in doc:
            raise SchemaError(L.INFO, key, "is missing")
    out = dict(doc)
    out["fps"] = check_number(L.INFO, "fps", doc["fps"], 0.0, MAX_FPS)
    feats = doc["features"]
    if not isinstance(feats, Mapping) or not feats:
        raise SchemaError(L.INFO, "features", "must be a non-empty object")
    out["features"] = {
        check_feature_key(L.INFO, str(k)): feature(str(k), v) for k, v in feats.items()
    }
    if "{episode_index" in str(doc["data_path"]):
        raise SchemaError(
            L.INFO, "codebase_version", f"is {version!r} but data_path is a v2.1 template "
            f"({str(doc['data_path'])[:80]!r}): a v2.1 dataset mislabelled?",
        )  # fmt: skip
    out["data_path"] = _template("data_path", doc["data_path"], _CHUNK_FIELDS)
    if any(f["dtype"] == "video" for f in out["features"].values()) or doc.get("video_path"):
        out["video_path"] = _template(
            "video_path", doc.get("video_path"), _CHUNK_FIELDS | {"video_key"}
        )
    check_int(L.INFO, "total_episodes", doc["total_episodes"])
    check_int(L.INFO, "chunks_size", doc.get("chunks_size", CHUNKS_SIZE), 1, 10_000_000)
    return out


# -- reading ------------------------------------------------------------------------------------
def read_table_rows(path: Path) -> list[dict[str, Any]]:
    pa = _pa()
    try:
        return _pq().read_table(path).to_pylist()
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise DatasetError(f"{path}: cannot be read as parquet ({exc})") from None


def read_tasks(root: Path) -> dict[int, str]:
    """``meta/tasks.parquet``: task text (the pandas index LeRobot writes) by task_index."""
    from groot_sdk.data.reader import read_columns

    path = root / TASKS
    if not path.is_file():
        raise DatasetError(f"{TASKS}: is missing")
    cols = read_columns(path)
    text = next((cols[k] for k in ("__index_level_0__", "task") if k in cols), None)
    if text is None or "task_index" not in cols:
        raise DatasetError(f"{TASKS}: needs the task text (as its index) and a task_index column")
    return {int(i): str(t) for i, t in zip(cols["task_index"], text, strict=True)}


def read_episodes(root: Path) -> list[dict[str, Any]]:
    """Every row of ``meta/episodes/*/*.parquet``, sorted by episode_index."""
    files = sorted((root / EPISODES_DIR).glob("*/*.parquet"))
    if not files:
        raise DatasetError(f"{EPISODES_DIR}: has no parquet files")
    rows: list[dict[str, Any]] = []
    for f in files:
        rows.extend(read_table_rows(f))
    for n, r in enumerate(rows):
        for key in ("episode_index", "length", "data/chunk_index", "data/file_index"):
            if not isinstance(r.get(key), int) or isinstance(r.get(key), bool) or r[key] < 0:
                raise DatasetError(f"{EPISODES_DIR}: row {n} '{key}' must be an integer >= 0")
    return sorted(rows, key=lambda r: int(r["episode_index"]))


class V30Index:
    """Where each episode of a v3.0 dataset lives (the reader's v3.0 half)."""

    def __init__(self, root: Path, info: Mapping[str, Any]) -> None:
        self.root = root
        self.info = info
        self.rows = read_episodes(root)
        self.by_index = {int(r["episode_index"]): r for r in self.rows}
        self._cache: tuple[Path, dict[str, np.ndarray]] | None = None

    def data_file(self, i: int) -> Path:
        r = self.by_index[i]
        rel = self.info["data_path"].format(
            chunk_index=int(r["data/chunk_index"]), file_index=int(r["data/file_index"])
        )
        return L.inside(self.root, self.root / rel, f"data_path of episode {i}")

    def video_file(self, i: int, key: str) -> Path:
        r = self.by_index[i]
        try:
            chunk, file = int(r[f"videos/{key}/chunk_index"]), int(r[f"videos/{key}/file_index"])
        except (KeyError, TypeError):
            raise DatasetError(
                f"{EPISODES_DIR}: episode {i} has no videos/{key}/ columns"
            ) from None
        rel = self.info["video_path"].format(video_key=key, chunk_index=chunk, file_index=file)
        return L.inside(self.root, self.root / rel, f"video_path of episode {i} '{key}'")

    def video_span(self, i: int, key: str) -> tuple[float, float]:
        r = self.by_index[i]
        return float(r[f"videos/{key}/from_timestamp"]), float(r[f"videos/{key}/to_timestamp"])

    def episode(self, i: int, columns: Sequence[str] | None = None) -> dict[str, np.ndarray]:
        from groot_sdk.data.reader import read_columns

        if i not in self.by_index:
            raise DatasetError(f"{self.root}: has no episode {i}")
        path = self.data_file(i)
        if not path.exists():
            raise DatasetError(f"{path.relative_to(self.root)}: missing (episode {i})")
        if self._cache is None or self._cache[0] != path:
            self._cache = (path, read_columns(path))
        data = self._cache[1]
        if "episode_index" not in data:
            raise DatasetError(f"{path.name}: has no episode_index column")
        rows = np.flatnonzero(data["episode_index"] == i)
        if "frame_index" in data:
            rows = rows[np.argsort(data["frame_index"][rows], kind="stable")]
        names = list(columns) if columns is not None else list(data)
        for c in names:
            if c not in data:
                raise DatasetError(f"{path.relative_to(self.root)}: has no column '{c}'")
        return {c: data[c][rows] for c in names}

    def stats(self, i: int) -> dict[str, dict[str, Any]]:
        """The episode's ``stats/<feature>/<stat>`` columns, nested."""
        out: dict[str, dict[str, Any]] = {}
        for k, v in self.by_index[i].items():
            if k.startswith("stats/") and v is not None:
                _, feat, stat = k.split("/", 2) if k.count("/") >= 2 else (k, k, "")
                out.setdefault(feat, {})[stat] = v
        return out


# -- video stream copy --------------------------------------------------------------------------
def concat_videos(paths: Sequence[Path], out: Path) -> list[float]:
    """Stream-copy ``paths`` one after another into ``out`` (no re-encoding: ffmpeg's concat
    demuxer, as LeRobot does); returns each input's start time in ``out``, in seconds, read
    back from the packets written."""
    av = _av()
    counts = []
    for p in paths:
        with av.open(str(p)) as c:
            counts.append(sum(1 for pk in c.demux(c.streams.video[0]) if pk.size))
    out.parent.mkdir(parents=True, exist_ok=True)
    listing = out.with_name(f".{out.name}.ffconcat")
    listing.write_text(
        "ffconcat version 1.0\n" + "".join(f"file '{Path(p).resolve()}'\n" for p in paths)
    )
    try:
        with (
            av.open(str(listing), format="concat", options={"safe": "0"}) as src,
            av.open(str(out), mode="w", format="mp4") as dst,
        ):
            istream = src.streams.video[0]
            ostream = dst.add_stream_from_template(template=istream, opaque=True)
            ostream.time_base = istream.time_base
            for packet in src.demux(istream):
                if packet.dts is None:
                    continue
                packet.stream = ostream
                dst.mux(packet)
    finally:
        listing.unlink(missing_ok=True)
    times = sorted(_packet_times(out))
    if len(times) != sum(counts):
        raise DatasetError(
            f"{out}: holds {len(times)} frames after concatenation, not {sum(counts)}"
        )
    starts, k = [], 0
    for n in counts:
        starts.append(times[k])
        k += n
    return starts


def _packet_times(path: Path) -> list[float]:
    av = _av()
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        return [float(p.pts * s.time_base) for p in c.demux(s) if p.size and p.pts is not None]


def cut_video(src: Path, start: float, frames: int, fps: float, out: Path) -> bool:
    """Stream-copy the ``frames`` frames from ``start`` (seconds) of ``src`` into ``out``,
    shifted to start at 0. False (nothing written) when the cut does not start on a keyframe
    in decode order, where a copy could not be decoded alone: the caller re-encodes then."""
    av = _av()
    half = 0.5 / fps
    with av.open(str(src)) as c:
        s = c.streams.video[0]
        tb = s.time_base
        picked = []
        for p in c.demux(s):
            if not p.size or p.pts is None:
                continue
            t = float(p.pts * tb)
            if start - half <= t < start + (frames - 0.5) / fps:
                picked.append(p)
        if len(picked) != frames or not picked[0].is_keyframe:
            return False
        first_pts = min(p.pts for p in picked)
        # a B-frame reorder delay keeps dts below pts: copy the first packet's offset
        shift = first_pts
        out.parent.mkdir(parents=True, exist_ok=True)
        with av.open(str(out), mode="w", format="mp4") as dst:
            o = dst.add_stream_from_template(template=s, opaque=True)
            o.time_base = tb
            for p in picked:
                p.pts -= shift
                if p.dts is not None:
                    p.dts -= shift
                p.stream = o
                dst.mux(p)
    return True


def extract_frames(src: Path, start: float, frames: int, fps: float) -> list[np.ndarray]:
    """Decode ``frames`` frames from ``start`` seconds (the re-encoding fallback). Single-
    threaded decoding: leaving a frame-threaded PyAV decoder early can hang (PyAV 15)."""
    av = _av()
    half = 0.5 / fps
    out: list[np.ndarray] = []
    with av.open(str(src)) as c:
        for frame in c.decode(c.streams.video[0]):
            if float(frame.time or 0.0) < start - half:
                continue
            out.append(frame.to_ndarray(format="rgb24"))
            if len(out) == frames:
                break
    return out


# -- writing ------------------------------------------------------------------------------------
def tasks_table(tasks: Mapping[int, str]) -> Any:
    """``meta/tasks.parquet`` as pandas writes it (LeRobot reads it with pandas: the text is the
    index, rows in task_index order, or ``item["task"]`` silently comes back wrong)."""
    pa = _pa()
    order = sorted(tasks)
    meta = {
        "index_columns": ["__index_level_0__"],
        "column_indexes": [{"name": None, "field_name": None, "pandas_type": "unicode",
                            "numpy_type": "object", "metadata": {"encoding": "UTF-8"}}],
        "columns": [
            {"name": "task_index", "field_name": "task_index", "pandas_type": "int64",
             "numpy_type": "int64", "metadata": None},
            {"name": None, "field_name": "__index_level_0__", "pandas_type": "unicode",
             "numpy_type": "object", "metadata": None},
        ],
        "creator": {"library": "pyarrow", "version": pa.__version__},
        "pandas_version": "2.2.3",
    }  # fmt: skip
    table = pa.table(
        {
            "task_index": pa.array(order, pa.int64()),
            "__index_level_0__": pa.array([tasks[i] for i in order], pa.string()),
        }
    )
    return table.replace_schema_metadata({b"pandas": json.dumps(meta).encode()})


def _bytes_of(table: Any) -> bytes:
    pa = _pa()
    sink = pa.BufferOutputStream()
    _pq().write_table(table, sink)
    return bytes(sink.getvalue().to_pybytes())


def commit_meta_v30(root: Path, files: Mapping[str, bytes], keep: Iterable[str] = ()) -> None:
    """Replace ``meta/`` in one step (as :func:`layout.commit_meta`): the new folder holds
    ``files`` (paths relative to the root, binary) plus the old ``keep`` names (e.g.
    ``modality.json``); ``meta/info.json`` is written last."""
    meta, new, old = root / L.META, root / L.META_NEW, root / L.META_OLD
    L.recover_meta(root)
    for stale in (new, old):
        if stale.exists():
            shutil.rmtree(stale)
    new.mkdir(parents=True)
    for name in keep:
        if (meta / name).is_file():
            (new / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(meta / name, new / name)
    ordered = sorted(files, key=lambda n: n == L.INFO)
    for rel in ordered:
        p = new / PurePosixPath(rel).relative_to(L.META)
        p.parent.mkdir(parents=True, exist_ok=True)
        with open(p, "wb") as f:
            f.write(files[rel])
            f.flush()
            os.fsync(f.fileno())
    L.fsync_dir(new)
    if not meta.exists():
        os.rename(new, meta)
    elif L._exchange(new, meta):
        shutil.rmtree(new)
    else:
        os.rename(meta, old)
        os.rename(new, meta)
        shutil.rmtree(old)
    L.fsync_dir(root)


def _file_index(k: int, chunks_size: int) -> tuple[int, int]:
    return k // chunks_size, k % chunks_size


def _stat_columns(stats: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    return {
        f"stats/{feat}/{s}": np.asarray(v).tolist()
        for feat, st in stats.items()
        for s, v in st.items()
    }


def pack(
    src: str | Path,
    dst: str | Path,
    *,
    data_file_mb: float = DATA_FILE_MB,
    video_file_mb: float = VIDEO_FILE_MB,
    progress: Any = None,
) -> dict[str, Any]:
    """Write the episodes of the v2.1 dataset ``src`` into the v3.0 dataset ``dst`` (created,
    or appended to: new files after its last ones). Videos are stream-copied, parquet values
    copied with ``episode_index``/``index``/``task_index`` renumbered; statistics are
    recomputed over the whole result. Returns the new ``info.json``."""
    from groot_sdk.data.reader import Dataset

    pa = _pa()
    src_ds = Dataset(src)
    if src_ds.info["codebase_version"] != "v2.1":
        raise DatasetError(
            f"{src}: pack reads v2.1 datasets, got {src_ds.info['codebase_version']}"
        )
    dst = Path(dst)
    L.recover_meta(dst)
    version = version_of(dst)
    rows: list[dict[str, Any]] = []
    tasks: dict[int, str] = {}
    if version:
        if not version.startswith("v3"):
            raise DatasetError(f"{dst}: holds a {version} dataset; cannot append v3.0 files")
        info = parse_info_v30(L.read_json(dst / L.INFO))
        _check_same_features(info, src_ds, dst)
        rows = read_episodes(dst)
        tasks = read_tasks(dst)
    else:
        info = _new_info(src_ds)
    features = info["features"]
    chunks = int(info.get("chunks_size", CHUNKS_SIZE))
    vkeys = [k for k, f in features.items() if f["dtype"] == "video"]
    next_data = 1 + max(
        (int(r["data/chunk_index"]) * chunks + int(r["data/file_index"]) for r in rows), default=-1
    )
    next_video = {
        k: 1
        + max(
            (
                int(r[f"videos/{k}/chunk_index"]) * chunks + int(r[f"videos/{k}/file_index"])
                for r in rows
            ),
            default=-1,
        )
        for k in vkeys
    }
    ep_offset = len(rows)
    frame_offset = int(rows[-1]["dataset_to_index"]) if rows else 0
    task_of_text = {t: i for i, t in tasks.items()}
    remap = {}
    for i, t in sorted(src_ds.tasks.items()):
        remap[i] = task_of_text.setdefault(t, len(task_of_text))
    tasks = {i: t for t, i in task_of_text.items()}
    src_stats = {
        int(r["episode_index"]): r.get("stats", {})
        for r in L.read_jsonl(src_ds.root / L.EPISODES_STATS)
    } if (src_ds.root / L.EPISODES_STATS).exists() else {}  # fmt: skip
    q = L.Quarantine(dst)
    # group consecutive episodes into files no bigger than the limits
    groups: list[list[dict[str, Any]]] = [[]]
    size_d = size_v = 0.0
    for ep in src_ds.episodes:
        i = int(ep["episode_index"])
        d = src_ds.layout.data_file(i).stat().st_size / 2**20
        v = max((src_ds.layout.video_file(i, k).stat().st_size / 2**20 for k in vkeys), default=0)
        if groups[-1] and (size_d + d > data_file_mb or size_v + v > video_file_mb):
            groups.append([])
            size_d = size_v = 0.0
        groups[-1].append(ep)
        size_d, size_v = size_d + d, size_v + v
    new_rows: list[dict[str, Any]] = []
    items = progress(groups) if progress else groups
    for group in items:
        if not group:
            continue
        chunk, file = _file_index(next_data, chunks)
        data_path = dst / info["data_path"].format(chunk_index=chunk, file_index=file)
        tables = []
        ep_rows: list[dict[str, Any]] = []
        for ep in group:
            i = int(ep["episode_index"])
            j = ep_offset + len(new_rows) + len(ep_rows)
            table = _pq().read_table(src_ds.layout.data_file(i))
            n = table.num_rows
            if n != int(ep["length"]):
                raise DatasetError(f"{src}: episode {i} has {n} rows, its length is {ep['length']}")
            ti = table.column("task_index").to_numpy()
            for name, values in (
                ("episode_index", np.full(n, j, np.int64)),
                ("index", np.arange(frame_offset, frame_offset + n, dtype=np.int64)),
                ("task_index", np.array([remap[int(t)] for t in ti], np.int64)),
            ):
                k = table.schema.get_field_index(name)
                table = table.set_column(k, table.schema.field(k), pa.array(values, pa.int64()))
            tables.append(table)
            row = {k: v for k, v in ep.items() if k not in ("episode_index", "tasks", "length")}
            ep_rows.append({
                "episode_index": j, "tasks": list(ep.get("tasks", [])), "length": n,
                "data/chunk_index": chunk, "data/file_index": file,
                "dataset_from_index": frame_offset, "dataset_to_index": frame_offset + n,
                **row, "_src": i,
            })  # fmt: skip
            frame_offset += n
        _place(q, data_path)
        tmp = data_path.with_name(f".{data_path.name}.tmp")
        tmp.parent.mkdir(parents=True, exist_ok=True)
        _pq().write_table(pa.concat_tables(tables), tmp)
        L.move_into_place(tmp, data_path)
        next_data += 1
        for key in vkeys:
            vchunk, vfile = _file_index(next_video[key], chunks)
            vpath = dst / info["video_path"].format(
                video_key=key, chunk_index=vchunk, file_index=vfile
            )
            _place(q, vpath)
            tmp = vpath.with_name(f".{vpath.name}.tmp.mp4")
            starts = concat_videos([src_ds.layout.video_file(r["_src"], key) for r in ep_rows], tmp)
            L.move_into_place(tmp, vpath)
            next_video[key] += 1
            for r, t0 in zip(ep_rows, starts, strict=True):
                r[f"videos/{key}/chunk_index"] = vchunk
                r[f"videos/{key}/file_index"] = vfile
                r[f"videos/{key}/from_timestamp"] = t0
                r[f"videos/{key}/to_timestamp"] = t0 + r["length"] / float(info["fps"])
        for r in ep_rows:
            r.update(_stat_columns(src_stats.get(r.pop("_src"), {})))
        new_rows.extend(ep_rows)
    all_rows = rows + new_rows
    info = {
        **info,
        "codebase_version": CODEBASE_VERSION,
        "total_episodes": len(all_rows),
        "total_frames": int(all_rows[-1]["dataset_to_index"]) if all_rows else 0,
        "total_tasks": len(tasks),
        "splits": {"train": f"0:{len(all_rows)}"},
    }
    if src_ds.modality is not None and not (dst / L.MODALITY).exists():
        modality_text: bytes | None = L.json_text(src_ds.modality).encode()
    else:
        modality_text = None
    write_meta_v30(dst, info, all_rows, tasks, modality_text)
    report = q.write_report()
    if report is not None:
        import logging

        logging.getLogger(__name__).warning("%s: moved stray files aside; see %s", dst, report)
    return info


def _place(q: L.Quarantine, path: Path) -> None:
    """A file in the way of a new one (left by a pack cut short) goes to the quarantine."""
    if path.exists():
        q.move(path, "in the way of a new v3.0 file (left by an interrupted pack?)")


def _new_info(src_ds: Any) -> dict[str, Any]:
    return {
        "codebase_version": CODEBASE_VERSION,
        "robot_type": src_ds.info.get("robot_type"),
        "total_episodes": 0,
        "total_frames": 0,
        "total_tasks": 0,
        "chunks_size": CHUNKS_SIZE,
        "data_files_size_in_mb": DATA_FILE_MB,
        "video_files_size_in_mb": VIDEO_FILE_MB,
        "fps": src_ds.info["fps"],
        "splits": {},
        "data_path": DATA_PATH,
        "video_path": VIDEO_PATH if src_ds.video_keys else None,
        "features": src_ds.features,
    }


def _check_same_features(info: Mapping[str, Any], src_ds: Any, dst: Path) -> None:
    if abs(float(info["fps"]) - float(src_ds.fps)) > 1e-6:
        raise DatasetError(f"{dst}: is {info['fps']:g} fps, the episodes {src_ds.fps:g} fps")
    a, b = info["features"], src_ds.features
    for key in sorted(set(a) | set(b)):
        fa, fb = a.get(key), b.get(key)
        if (
            fa is None
            or fb is None
            or fa["dtype"] != fb["dtype"]
            or list(fa["shape"]) != list(fb["shape"])
        ):
            raise DatasetError(f"{dst}: feature '{key}' differs from the episodes' ({fa} vs {fb})")


def write_meta_v30(
    root: Path,
    info: dict[str, Any],
    rows: list[dict[str, Any]],
    tasks: Mapping[int, str],
    modality: bytes | None = None,
) -> None:
    """Commit a v3.0 ``meta/``: episodes table, tasks, stats (recomputed), info."""
    pa = _pa()
    files: dict[str, bytes] = {}
    clean = []
    for r in rows:
        r = {k: v for k, v in r.items() if not k.startswith("meta/episodes/")}
        r["meta/episodes/chunk_index"], r["meta/episodes/file_index"] = 0, 0
        clean.append(r)
    if clean:
        names = list(dict.fromkeys(k for r in clean for k in r))
        table = pa.Table.from_pylist([{k: r.get(k) for k in names} for r in clean])
        files[EPISODES_PATH.format(chunk_index=0, file_index=0)] = _bytes_of(table)
    files[TASKS] = _bytes_of(tasks_table(tasks))
    if rows:
        files[L.STATS] = L.json_text(dataset_stats_v30(root, info, clean)).encode()
    files[L.INFO] = L.json_text(info).encode()
    if modality is not None:
        files[L.MODALITY] = modality
    keep = [n for n in ("modality.json", "README.md") if f"meta/{n}" not in files]
    commit_meta_v30(root, files, keep)


def dataset_stats_v30(
    root: Path, info: Mapping[str, Any], rows: Sequence[Mapping[str, Any]]
) -> dict[str, dict[str, Any]]:
    """``meta/stats.json`` of a v3.0 dataset, as LeRobot reads it: every feature (cameras
    too), with ``count``; numeric features exact over all rows (min/max/mean/std and
    q01/q10/q50/q90/q99), cameras aggregated from the episodes' ``stats/`` columns."""
    from groot_sdk.data.reader import read_columns
    from groot_sdk.data.stats import aggregate

    features = info["features"]
    numeric = [k for k, f in features.items() if f["dtype"] not in ("video", "image", "string")]
    files = sorted({(int(r["data/chunk_index"]), int(r["data/file_index"])) for r in rows})
    parts = [
        read_columns(root / info["data_path"].format(chunk_index=c, file_index=f), numeric)
        for c, f in files
    ]
    out: dict[str, dict[str, Any]] = {}
    for key in numeric:
        a = np.concatenate([p[key] for p in parts]).astype(np.float64)
        if a.ndim == 1:
            a = a[:, None]
        st = {"min": a.min(0), "max": a.max(0), "mean": a.mean(0), "std": a.std(0),
              "count": np.array([len(a)])}  # fmt: skip
        for q in (0.01, 0.10, 0.50, 0.90, 0.99):
            st[f"q{round(q * 100):02d}"] = np.quantile(a, q, axis=0)
        out[key] = {s: np.asarray(v).tolist() for s, v in st.items()}
    for key in (k for k, f in features.items() if f["dtype"] == "video"):
        per_ep = []
        for r in rows:
            st = {s: r.get(f"stats/{key}/{s}") for s in ("min", "max", "mean", "std", "count")}
            if all(v is not None for v in st.values()):
                per_ep.append({key: st})
        if per_ep:
            agg = aggregate(per_ep)[key]
            agg["count"] = [int(sum(np.asarray(p[key]["count"]).reshape(-1)[0] for p in per_ep))]
            for qk in ("q01", "q10", "q50", "q90", "q99"):  # LeRobot's normalisers may ask
                agg.setdefault(qk, agg["mean"])
            out[key] = agg
    return out


# -- staging (v3.0 recordings) ------------------------------------------------------------------
def staging_dir(root: str | Path) -> Path:
    return Path(root) / STAGING


def staging_id(stage: Path) -> str:
    path = stage / ".id"
    if not path.exists():
        stage.mkdir(parents=True, exist_ok=True)
        L.atomic_write_text(path, uuid.uuid4().hex)
    return path.read_text().strip()


def finish_staging(root: str | Path) -> None:
    """Remove a staging folder whose episodes were already packed (a crash between the pack's
    commit and the removal); otherwise leave it to be packed."""
    root = Path(root)
    stage = staging_dir(root)
    mark = root / PACKED_MARK
    if stage.is_dir() and mark.is_file() and (stage / ".id").is_file():
        try:
            packed = L.read_json(mark).get("staging_id")
        except (ValueError, OSError, AttributeError):
            return
        if packed == (stage / ".id").read_text().strip():
            shutil.rmtree(stage)


def pack_staging(root: str | Path) -> None:
    """Pack a recording's staged v2.1 episodes into the v3.0 dataset at ``root``, then remove
    them. The pack's commit records the staging id, so a crash before the removal does not
    pack them twice (:func:`finish_staging`)."""
    root = Path(root)
    stage = staging_dir(root)
    finish_staging(root)
    if not (stage / L.INFO).is_file():
        return
    from groot_sdk.data.reader import Dataset

    if not Dataset(stage).episodes:
        shutil.rmtree(stage)
        return
    sid = staging_id(stage)
    pack(stage, root)
    L.commit_meta(root, {PACKED_MARK: L.json_text({"staging_id": sid})})
    shutil.rmtree(stage)


# -- validation ---------------------------------------------------------------------------------
def validate_v30(root: Path, spec: Any, check_videos: bool, report: Any) -> Any:
    """Check a v3.0 dataset; fills and returns ``report`` (a validate.Report)."""
    r = report
    try:
        info = parse_info_v30(L.read_json(root / L.INFO))
    except (SchemaError, ValueError, OSError) as exc:
        hint = "; GR00T N1.5/N1.6 train on v2.1: `groot dataset convert --from lerobot-v3`"
        r.error(L.INFO, f"{exc} (read as LeRobot v3.0){hint}")
        return r
    features, fps = info["features"], float(info["fps"])
    for key in L.INDEX_COLUMNS:
        if key not in features:
            r.error(L.INFO, "feature is missing", key=key)
    try:
        rows = read_episodes(root)
        tasks = read_tasks(root)
    except DatasetError as exc:
        r.error(EPISODES_DIR, str(exc))
        return r
    idx = V30Index(root, info)
    indices = [int(e["episode_index"]) for e in rows]
    if indices != list(range(len(rows))):
        r.error(EPISODES_DIR, f"episode_index must run 0..{len(rows) - 1}, got {indices[:10]}")
    total = sum(int(e["length"]) for e in rows)
    for key, value in (("total_episodes", len(rows)), ("total_frames", total),
                       ("total_tasks", len(tasks))):  # fmt: skip
        if key in info and int(info[key]) != value:
            r.error(L.INFO, f"is {info[key]} but the dataset has {value}", key=key)
    r.episodes, r.frames = len(rows), total
    if sorted(tasks) != list(range(len(tasks))):
        r.error(TASKS, f"task_index must run 0..{len(tasks) - 1}, got {sorted(tasks)[:10]}")
    stats_doc = None
    if not (root / L.STATS).is_file():
        r.error(L.STATS, "is missing (LeRobot v3.0 normalises with it)")
    else:
        stats_doc = L.read_json(root / L.STATS)
        for key, f in features.items():
            if f["dtype"] in ("string",) or key in L.INDEX_COLUMNS:
                continue
            if not isinstance(stats_doc, dict) or key not in stats_doc:
                r.error(L.STATS, "has no entry for this feature", key=key)
    vkeys = [k for k, f in features.items() if f["dtype"] == "video"]
    offset = 0
    for e in rows:
        i, n = int(e["episode_index"]), int(e["length"])
        where = f"episode {i}"
        if (
            int(e.get("dataset_from_index", -1)) != offset
            or int(e.get("dataset_to_index", -1)) != offset + n
        ):
            r.error(EPISODES_DIR, f"dataset_from/to_index must be {offset}..{offset + n}", i)
        for t in e.get("tasks") or []:
            if t not in tasks.values():
                r.error(EPISODES_DIR, f"task {t!r} is not in {TASKS}", i)
        try:
            cols = idx.episode(i)
        except DatasetError as exc:
            r.error(EPISODES_DIR, str(exc), i)
            offset += n
            continue
        rel = str(idx.data_file(i).relative_to(root))
        got = len(next(iter(cols.values()))) if cols else 0
        if got != n:
            r.error(rel, f"has {got} rows of {where}, its length is {n}", i)
        else:
            if "index" in cols and (cols["index"] != np.arange(offset, offset + n)).any():
                r.error(rel, f"must run {offset}..{offset + n - 1}", i, "index")
            if "frame_index" in cols and (cols["frame_index"] != np.arange(n)).any():
                r.error(rel, "must run 0..length-1", i, "frame_index")
            if "timestamp" in cols and n > 1:
                d = np.diff(cols["timestamp"].astype(np.float64))
                if (np.abs(d - 1 / fps) > 1e-4).any():
                    r.error(rel, f"steps must be 1/fps = {1 / fps:.5f}s", i, "timestamp")
            for t in np.unique(cols.get("task_index", np.array([], np.int64))):
                if int(t) not in tasks:
                    r.error(rel, f"task index {int(t)} has no task in {TASKS}", i, "task_index")
            for key, f in features.items():
                if f["dtype"] in ("video", "image") or key not in cols:
                    if f["dtype"] not in ("video", "image"):
                        r.error(rel, "column is missing", i, key)
                    continue
                shape = [int(s) for s in f["shape"]]
                if (list(cols[key].shape[1:]) or [1]) != shape:
                    r.error(
                        rel, f"rows have shape {list(cols[key].shape[1:])}, not {shape}", i, key
                    )
        if check_videos:
            for key in vkeys:
                try:
                    vpath = idx.video_file(i, key)
                    t0, t1 = idx.video_span(i, key)
                except (DatasetError, KeyError, TypeError, ValueError) as exc:
                    r.error(EPISODES_DIR, f"video span: {exc}", i, key)
                    continue
                if not vpath.is_file():
                    r.error(str(vpath.relative_to(root)), "video is missing", i, key)
                    continue
                times = _packet_times(vpath)
                inside = sum(1 for t in times if t0 - 0.5 / fps <= t < t1 - 0.5 / fps)
                if inside != n:
                    r.error(
                        str(vpath.relative_to(root)),
                        f"has {inside} frames in [{t0:.4f}, {t1:.4f}) for {n} rows",
                        i,
                        key,
                    )
        offset += n
    if (root / STAGING).exists():
        r.warn(
            STAGING, "holds episodes of a recording not yet packed (open and close the recorder)"
        )
    if (root / L.MODALITY).exists():
        from groot_sdk.data.validate import _Validator

        v = _Validator(root, spec, check_videos)
        v.r, v.features = r, features
        v._check_modality()
    elif spec is not None:
        r.warn(L.MODALITY, "is missing; GR00T needs it (convert with --embodiment)")
    if stats_doc is not None and isinstance(stats_doc, dict):
        for key in ("observation.state", "action"):
            entry = stats_doc.get(key)
            if key in features and isinstance(entry, dict):
                missing = [s for s in ("min", "max", "mean", "std", "q01", "q99") if s not in entry]
                if missing:
                    r.error(L.STATS, f"lacks {missing}", key=key)
    return r


__all__ = [
    "CODEBASE_VERSION",
    "FORMATS",
    "V30Index",
    "check_format",
    "concat_videos",
    "cut_video",
    "pack",
    "pack_staging",
    "parse_info_v30",
    "read_episodes",
    "read_tasks",
    "validate_v30",
    "version_of",
]
