"""Where things live in a LeRobot v2.1 dataset, and crash-safe writes of its metadata.

Paths follow LeRobot ``v2.1`` (``lerobot/common/datasets/utils.py``): one parquet file and one
mp4 per camera per episode, ``chunks_size`` episodes per chunk directory.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from attrs import frozen

CODEBASE_VERSION = "v2.1"
DATA_PATH = "data/chunk-{episode_chunk:03d}/episode_{episode_index:06d}.parquet"
VIDEO_PATH = "videos/chunk-{episode_chunk:03d}/{video_key}/episode_{episode_index:06d}.mp4"
DEFAULT_CHUNKS_SIZE = 1000

INFO = "meta/info.json"
EPISODES = "meta/episodes.jsonl"
TASKS = "meta/tasks.jsonl"
EPISODES_STATS = "meta/episodes_stats.jsonl"
STATS = "meta/stats.json"
MODALITY = "meta/modality.json"
#: episodes being written; never read by loaders (hidden, outside data/ and videos/)
INCOMPLETE = ".incomplete"

#: columns every LeRobot frame carries besides the robot's features
INDEX_COLUMNS = ("timestamp", "frame_index", "episode_index", "index", "task_index")


@frozen
class DatasetLayout:
    """Paths of one dataset root, from the templates in its ``info.json``."""

    root: Path
    chunks_size: int = DEFAULT_CHUNKS_SIZE
    data_path: str = DATA_PATH
    video_path: str = VIDEO_PATH

    @classmethod
    def from_info(cls, root: str | Path, info: dict[str, Any]) -> DatasetLayout:
        return cls(
            Path(root),
            int(info.get("chunks_size", DEFAULT_CHUNKS_SIZE)),
            info.get("data_path", DATA_PATH),
            info.get("video_path") or VIDEO_PATH,
        )

    def chunk(self, episode_index: int) -> int:
        return episode_index // self.chunks_size

    def data_file(self, episode_index: int) -> Path:
        rel = self.data_path.format(
            episode_chunk=self.chunk(episode_index), episode_index=episode_index
        )
        return self.root / rel

    def video_file(self, episode_index: int, video_key: str) -> Path:
        rel = self.video_path.format(
            episode_chunk=self.chunk(episode_index),
            video_key=video_key,
            episode_index=episode_index,
        )
        return self.root / rel

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


def atomic_write_text(path: Path, text: str) -> None:
    """Write via a temporary file and ``os.replace``: readers see the old or the new file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def atomic_write_json(path: Path, data: Any) -> None:
    atomic_write_text(path, json.dumps(data, indent=4) + "\n")


def atomic_write_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> None:
    atomic_write_text(path, "".join(json.dumps(r) + "\n" for r in rows))


def fsync_file(path: Path) -> None:
    with open(path, "rb") as f:
        os.fsync(f.fileno())


def move_into_place(src: Path, dst: Path) -> None:
    """Atomically rename a finished file to its final name (same filesystem)."""
    fsync_file(src)
    dst.parent.mkdir(parents=True, exist_ok=True)
    os.replace(src, dst)
    fsync_dir(dst.parent)


# -- reading ----------------------------------------------------------------------------------
def read_json(path: Path) -> Any:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Rows of a JSON-lines file; a ``ValueError`` names the file and line of a bad row."""
    rows = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path.name} line {n}: not JSON ({exc.msg})") from None
    return rows
