"""Read a LeRobot v2.1 or v3.0 dataset's metadata and episode columns as numpy arrays (no
pandas).

The metadata passes through :mod:`groot_sdk.data.schema` first; a bad field or unreadable
file is a one-line :class:`DatasetError` naming it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from groot_sdk.data import layout as L
from groot_sdk.data.layout import DatasetError
from groot_sdk.data.schema import parse_episode, parse_info, parse_task
from groot_sdk.errors import require


def arrow_to_numpy(column: Any) -> np.ndarray:
    """A (chunked) arrow column to numpy: scalars -> (T,), fixed-width lists -> (T, D)."""
    pa = require("pyarrow", "data", "reading parquet")
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if (
        pa.types.is_list(column.type)
        or pa.types.is_large_list(column.type)
        or (pa.types.is_fixed_size_list(column.type))
    ):
        lengths = column.value_lengths().to_numpy(zero_copy_only=False)
        if len(lengths) and (lengths != lengths[0]).any():
            raise ValueError(
                f"rows have different lengths ({int(lengths.min())}..{int(lengths.max())})"
            )
        width = int(lengths[0]) if len(lengths) else 0
        values = arrow_to_numpy(column.flatten())
        return values.reshape((len(column), width) + values.shape[1:])
    return column.to_numpy(zero_copy_only=False)


def read_columns(path: Path, columns: Sequence[str] | None = None) -> dict[str, np.ndarray]:
    """Columns of a parquet file; a truncated or foreign file is a DatasetError naming it."""
    pa = require("pyarrow", "data", "reading parquet")
    pq = require("pyarrow.parquet", "data", "reading parquet")
    try:
        table = pq.read_table(path, columns=list(columns) if columns is not None else None)
        return {name: arrow_to_numpy(table.column(name)) for name in table.column_names}
    except (pa.ArrowException, OSError, ValueError, KeyError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DatasetError(f"{path}: cannot be read as parquet ({first})") from None


def read_rows(root: Path, name: str) -> list[dict[str, Any]]:
    """A metadata JSON-lines file's rows ([] when absent); bad JSON is a DatasetError."""
    path = root / name
    if not path.exists():
        return []
    try:
        return L.read_jsonl(path)
    except (ValueError, OSError) as exc:
        raise DatasetError(f"{name}: {exc}") from None


def read_meta_json(root: Path, name: str) -> Any:
    try:
        return L.read_json(root / name)
    except (ValueError, OSError) as exc:
        raise DatasetError(f"{name}: {exc}") from None


class _NoEpisodeFiles(L.DatasetLayout):
    """``Dataset.layout`` of a v3.0 dataset: it has no per-episode files."""

    def data_file(self, episode_index: int) -> Path:
        raise DatasetError(
            f"{self.root}: a LeRobot v3.0 dataset has no per-episode files; read episode "
            f"{episode_index} with Dataset.episode() / video_frames()"
        )

    def video_file(self, episode_index: int, video_key: str) -> Path:
        return self.data_file(episode_index)


class Dataset:
    """The metadata of a v2.1 or v3.0 dataset plus per-episode access to its files.

    ``episodes`` are the v2.1 ``episodes.jsonl`` rows (for v3.0: ``episode_index``, ``tasks``,
    ``length`` and the extra columns of ``meta/episodes``); ``v30`` is set for v3.0.
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        try:
            L.recover_meta(self.root)
        except OSError as exc:
            raise DatasetError(
                f"{self.root}: cannot finish an interrupted metadata commit ({exc})"
            ) from None
        info_path = self.root / L.INFO
        if not info_path.exists():
            raise DatasetError(f"{self.root}: no meta/info.json (not a LeRobot dataset?)")
        doc = read_meta_json(self.root, L.INFO)
        self.v30: Any = None
        if isinstance(doc, dict) and str(doc.get("codebase_version", "")).startswith("v3"):
            self._open_v30(doc)
            return
        parsed = parse_info(doc, need_version=L.CODEBASE_VERSION)
        self.info: dict[str, Any] = parsed.raw
        self.layout = L.DatasetLayout(
            self.root, parsed.chunks_size, parsed.data_path, parsed.video_path or L.VIDEO_PATH
        )
        self.features: dict[str, Any] = parsed.features
        self.fps = parsed.fps
        self.episodes = [
            parse_episode(r, n) for n, r in enumerate(read_rows(self.root, L.EPISODES), 1)
        ]
        self.tasks = dict(parse_task(r, n) for n, r in enumerate(read_rows(self.root, L.TASKS), 1))
        mod = self.root / L.MODALITY
        self.modality: dict[str, Any] | None = None
        if mod.exists():
            doc = read_meta_json(self.root, L.MODALITY)
            if not isinstance(doc, dict):
                raise DatasetError(f"{L.MODALITY}: must be a JSON object")
            self.modality = doc

    def _open_v30(self, doc: dict[str, Any]) -> None:
        from groot_sdk.data import v30

        info = v30.parse_info_v30(doc)
        self.info = info
        self.features = info["features"]
        self.fps = float(info["fps"])
        self.v30 = v30.V30Index(self.root, info)
        # v3.0 files are found through ``v30`` (or :meth:`video_frames`); v2.1-style per-episode
        # lookups through ``layout`` fail loudly rather than name a wrong file
        self.layout = _NoEpisodeFiles(self.root)
        self.episodes = [
            {k: v for k, v in r.items() if "/" not in k and not k.startswith("dataset_")}
            for r in self.v30.rows
        ]
        self.tasks = v30.read_tasks(self.root)
        self.modality = None
        if (self.root / L.MODALITY).exists():
            mod = read_meta_json(self.root, L.MODALITY)
            if not isinstance(mod, dict):
                raise DatasetError(f"{L.MODALITY}: must be a JSON object")
            self.modality = mod

    @property
    def version(self) -> str:
        return str(self.info.get("codebase_version", ""))

    @property
    def video_keys(self) -> list[str]:
        return [k for k, f in self.features.items() if f.get("dtype") == "video"]

    @property
    def episode_indices(self) -> list[int]:
        return [int(e["episode_index"]) for e in self.episodes]

    def episode(self, index: int, columns: Sequence[str] | None = None) -> dict[str, np.ndarray]:
        if self.v30 is not None:
            return self.v30.episode(index, columns)
        path = self.layout.data_file(index)
        if not path.exists():
            raise DatasetError(f"{self.layout.rel(path)}: missing (episode {index})")
        cols = read_columns(path, columns)
        for c in columns or ():
            if c not in cols:
                raise DatasetError(f"{self.layout.rel(path)}: has no column '{c}'")
        return cols

    def video_frames(self, index: int, key: str) -> np.ndarray:
        """Every decoded frame (T, H, W, 3) of camera ``key`` in episode ``index``, either
        format (v3.0: the episode's span of the shared file)."""
        if self.v30 is not None:
            from groot_sdk.data.v30 import extract_frames

            n = int(next(e for e in self.episodes if e["episode_index"] == index)["length"])
            start, _ = self.v30.video_span(index, key)
            return np.stack(extract_frames(self.v30.video_file(index, key), start, n, self.fps))
        from groot_sdk.data.video import read_frames

        return read_frames(self.layout.video_file(index, key))

    def concat(self, columns: Sequence[str]) -> dict[str, np.ndarray]:
        """``columns`` of every episode, concatenated in episode order."""
        parts = [self.episode(i, columns) for i in self.episode_indices]
        if not parts:
            raise DatasetError(f"{self.root}: has no episodes")
        try:
            return {c: np.concatenate([p[c] for p in parts]) for c in columns}
        except ValueError as exc:
            raise DatasetError(
                f"{self.root}: episodes disagree on a column's shape ({exc})"
            ) from None
