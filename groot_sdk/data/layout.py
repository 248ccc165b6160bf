"""Where things live in a LeRobot v2.1 dataset, crash-safe writes of its metadata, and the
quarantine that damaged or stray files are moved into (never deleted).

Paths follow LeRobot ``v2.1`` (``lerobot/common/datasets/utils.py``): one parquet file and one
mp4 per camera per episode, ``chunks_size`` episodes per chunk directory. Every path built from
``info.json``'s templates must resolve inside the dataset root.
"""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from attrs import define, field, frozen

from groot_sdk.errors import GrootError

CODEBASE_VERSION = "v2.1"
DATA_PATH = "data/chunk-{episode_chunk:03d}/episode_{episode_index:06d}.parquet"
VIDEO_PATH = "videos/chunk-{episode_chunk:03d}/{video_key}/episode_{episode_index:06d}.mp4"
DEFAULT_CHUNKS_SIZE = 1000

META = "meta"
INFO = "meta/info.json"
EPISODES = "meta/episodes.jsonl"
TASKS = "meta/tasks.jsonl"
EPISODES_STATS = "meta/episodes_stats.jsonl"
STATS = "meta/stats.json"
MODALITY = "meta/modality.json"
#: episodes being written; never read by loaders (hidden, outside data/ and videos/)
INCOMPLETE = ".incomplete"
#: the next ``meta/`` being assembled, swapped in as one step (see :func:`commit_meta`)
META_NEW = ".meta.new"
META_OLD = ".meta.old"
#: damaged episodes and stray files are moved here, one folder per run, with a report.json
QUARANTINE = "quarantine"
#: the write-ahead plan of a repair (quarantine + renumbering), rolled forward on open
REPAIR_PLAN = ".repair.json"

#: columns every LeRobot frame carries besides the robot's features
INDEX_COLUMNS = ("timestamp", "frame_index", "episode_index", "index", "task_index")

#: metadata files larger than this are refused rather than parsed (a 64 MiB info.json is hostile)
MAX_META_BYTES = 64 * 1024 * 1024


class DatasetError(GrootError, ValueError):
    """A dataset cannot be written or read as asked (names the file, episode and key)."""


def inside(root: Path, path: Path, what: str) -> Path:
    """``path`` if it resolves (symlinks followed) inside ``root``; else a DatasetError."""
    base = root.resolve()
    real = path.resolve()
    if real != base and base not in real.parents:
        raise DatasetError(f"{root}: {what} resolves to {real}, outside the dataset; refused")
    return path


@frozen
class DatasetLayout:
    """Paths of one dataset root, from the templates in its ``info.json``."""

    root: Path
    chunks_size: int = DEFAULT_CHUNKS_SIZE
    data_path: str = DATA_PATH
    video_path: str = VIDEO_PATH

    @classmethod
    def from_info(cls, root: str | Path, info: Mapping[str, Any]) -> DatasetLayout:
        """From an ``info.json`` document, checked by :func:`groot_sdk.data.schema.parse_info`."""
        from groot_sdk.data.schema import parse_info

        parsed = parse_info(info)
        return cls(
            Path(root), parsed.chunks_size, parsed.data_path, parsed.video_path or VIDEO_PATH
        )

    def chunk(self, episode_index: int) -> int:
        return episode_index // self.chunks_size

    def data_file(self, episode_index: int) -> Path:
        rel = self.data_path.format(
            episode_chunk=self.chunk(episode_index), episode_index=episode_index
        )
        return inside(self.root, self.root / rel, f"data_path for episode {episode_index}")

    def video_file(self, episode_index: int, video_key: str) -> Path:
        rel = self.video_path.format(
            episode_chunk=self.chunk(episode_index),
            video_key=video_key,
            episode_index=episode_index,
        )
        return inside(
            self.root, self.root / rel, f"video_path for episode {episode_index} '{video_key}'"
        )

    def meta(self, name: str) -> Path:
        return self.root / name

    def rel(self, path: Path) -> str:
        """``path`` relative to the root, for error messages."""
        try:
            return str(path.relative_to(self.root))
        except ValueError:
            return str(path)


# -- crash-safe file writes -------------------------------------------------------------------
def fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def _write_synced(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())


def atomic_write_text(path: Path, text: str) -> None:
    """Write via a temporary file and ``os.replace``: readers see the old or the new file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    _write_synced(tmp, text)
    os.replace(tmp, path)
    fsync_dir(path.parent)


def json_text(data: Any) -> str:
    return json.dumps(data, indent=4) + "\n"


def jsonl_text(rows: Iterable[dict[str, Any]]) -> str:
    return "".join(json.dumps(r) + "\n" for r in rows)


def atomic_write_json(path: Path, data: Any) -> None:
    atomic_write_text(path, json_text(data))


def atomic_write_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> None:
    atomic_write_text(path, jsonl_text(rows))


def fsync_file(path: Path) -> None:
    with open(path, "rb") as f:
        os.fsync(f.fileno())


def move_into_place(src: Path, dst: Path) -> None:
    """Atomically rename a finished file to its final name (same filesystem)."""
    fsync_file(src)
    dst.parent.mkdir(parents=True, exist_ok=True)
    os.replace(src, dst)
    fsync_dir(dst.parent)


# -- the metadata commit ----------------------------------------------------------------------
_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def _exchange(a: Path, b: Path) -> bool:
    """Swap two directories in one step (Linux ``renameat2(RENAME_EXCHANGE)``); False where
    the platform or filesystem cannot."""
    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0


def recover_meta(root: Path) -> None:
    """Finish a metadata commit cut short between its two renames (``meta/`` missing, the
    complete new one still under ``.meta.new/``). Only renames; safe for readers to call."""
    meta, new = root / META, root / META_NEW
    if not meta.exists() and (new / "info.json").is_file():
        os.rename(new, meta)
        fsync_dir(root)


def commit_meta(root: Path, files: Mapping[str, str]) -> None:
    """Replace ``meta/`` files (name -> text) all at once: readers see the old metadata or the
    new, never a mix (``episodes.jsonl`` of one commit with ``info.json`` of another).

    The new ``meta/`` is assembled under ``.meta.new/`` (unchanged files copied, ``info.json``
    written last, so its presence marks a complete copy) and swapped in with one
    ``renameat2(RENAME_EXCHANGE)``; elsewhere with two renames, which :func:`recover_meta`
    completes after a crash between them. Only superseded metadata is removed.
    """
    meta, new, old = root / META, root / META_NEW, root / META_OLD
    root.mkdir(parents=True, exist_ok=True)
    for p in (meta, new, old):
        if p.is_symlink():
            raise DatasetError(f"{root}: {p.name} is a symbolic link; metadata must live inside")
    recover_meta(root)
    for stale in (new, old):  # a crashed commit's copies: superseded or never committed
        if stale.exists():
            shutil.rmtree(stale)
    new.mkdir()
    names = {Path(n).name: text for n, text in files.items()}
    if meta.is_dir():
        for p in sorted(meta.iterdir()):
            if p.name in names or p.name == "info.json":
                continue
            if p.is_dir():
                shutil.copytree(p, new / p.name)
            else:
                shutil.copy2(p, new / p.name)
    for name, text in names.items():
        if name != "info.json":
            _write_synced(new / name, text)
    if "info.json" in names:
        _write_synced(new / "info.json", names["info.json"])
    elif (meta / "info.json").is_file():
        shutil.copy2(meta / "info.json", new / "info.json")
        fsync_file(new / "info.json")
    fsync_dir(new)
    if not meta.exists():
        os.rename(new, meta)
    elif _exchange(new, meta):  # the commit point; .meta.new now holds the old metadata
        shutil.rmtree(new)
    else:
        os.rename(meta, old)
        os.rename(new, meta)  # the commit point of the fallback
        shutil.rmtree(old)
    fsync_dir(root)


# -- reading ----------------------------------------------------------------------------------
def _read_text(path: Path) -> str:
    size = path.stat().st_size
    if size > MAX_META_BYTES:
        raise ValueError(f"{path.name} is {size} bytes, more than {MAX_META_BYTES} allowed")
    with open(path, encoding="utf-8", errors="strict") as f:
        return f.read()


def read_json(path: Path) -> Any:
    """A JSON file; a ``ValueError`` names the file for bad, oversized or too-deep JSON."""
    try:
        return json.loads(_read_text(path))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path.name}: not JSON ({exc.msg} at line {exc.lineno})") from None
    except RecursionError:
        raise ValueError(f"{path.name}: JSON nested too deeply") from None
    except UnicodeDecodeError:
        raise ValueError(f"{path.name}: not UTF-8 text") from None


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Rows of a JSON-lines file; a ``ValueError`` names the file and line of a bad row."""
    rows = []
    try:
        text = _read_text(path)
    except UnicodeDecodeError:
        raise ValueError(f"{path.name}: not UTF-8 text") from None
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path.name} line {n}: not JSON ({exc.msg})") from None
        except RecursionError:
            raise ValueError(f"{path.name} line {n}: JSON nested too deeply") from None
        if not isinstance(row, dict):
            raise ValueError(  # noqa: TRY004 - callers catch ValueError for bad files
                f"{path.name} line {n}: must be a JSON object"
            )
        rows.append(row)
    return rows


# -- quarantine -------------------------------------------------------------------------------
@define
class Quarantine:
    """Moves files aside into ``quarantine/<stamp>/`` (same relative path) and writes
    ``report.json`` saying what was moved and why. Nothing is ever deleted."""

    root: Path
    stamp: str = field(factory=lambda: time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()))
    items: list[dict[str, Any]] = field(factory=list)
    _reported: int = 0  #: items already in report.json

    @property
    def dir(self) -> Path:
        return self.root / QUARANTINE / self.stamp

    def move(self, path: Path, reason: str, episode: int | None = None) -> Path | None:
        """Move ``path`` (file or folder) aside; None when it does not exist."""
        if not path.exists() and not path.is_symlink():
            return None
        rel = path.relative_to(self.root)
        dst = self.dir / rel
        n = 1
        while dst.exists():
            dst = self.dir / rel.parent / f"{rel.name}.{n}"
            n += 1
        dst.parent.mkdir(parents=True, exist_ok=True)
        os.rename(path, dst)
        fsync_dir(path.parent)
        self.items.append(
            {"path": str(rel), "moved_to": str(dst.relative_to(self.root)), "reason": reason}
            | ({"episode": episode} if episode is not None else {})
        )
        return dst

    def write_report(self) -> Path | None:
        """Add the items not yet reported to ``report.json``; its path, None if none ever."""
        path = self.dir / "report.json"
        if self._reported == len(self.items):
            return path if self.items else None
        previous: list[dict[str, Any]] = []
        if path.exists():
            try:
                previous = list(read_json(path).get("items", []))
            except (ValueError, AttributeError):
                previous = []
        new = self.items[self._reported :]
        atomic_write_json(path, {"dataset": str(self.root), "items": previous + new})
        self._reported = len(self.items)
        return path
