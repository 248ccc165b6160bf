"""Read a LeRobot v2.1 dataset's metadata and episode columns as numpy arrays (no pandas)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from groot_sdk.data import layout as L
from groot_sdk.data.writer import DatasetError, video_keys
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
    pq = require("pyarrow.parquet", "data", "reading parquet")
    table = pq.read_table(path, columns=list(columns) if columns is not None else None)
    return {name: arrow_to_numpy(table.column(name)) for name in table.column_names}


class Dataset:
    """The metadata of a v2.1 dataset plus per-episode access to its files."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        info_path = self.root / L.INFO
        if not info_path.exists():
            raise DatasetError(f"{self.root}: no meta/info.json (not a LeRobot dataset?)")
        self.info: dict[str, Any] = L.read_json(info_path)
        version = self.info.get("codebase_version")
        if version != L.CODEBASE_VERSION:
            hint = (
                "; convert it with `groot dataset convert --from lerobot-v3`"
                if str(version).startswith("v3")
                else ""
            )
            raise DatasetError(f"{self.root}: meta/info.json is LeRobot {version}, not v2.1{hint}")
        self.layout = L.DatasetLayout.from_info(self.root, self.info)
        self.features: dict[str, Any] = self.info.get("features", {})
        self.fps = float(self.info["fps"])
        self.episodes = self._jsonl(L.EPISODES)
        self.tasks = {int(r["task_index"]): r["task"] for r in self._jsonl(L.TASKS)}
        mod = self.root / L.MODALITY
        self.modality: dict[str, Any] | None = L.read_json(mod) if mod.exists() else None

    def _jsonl(self, name: str) -> list[dict[str, Any]]:
        path = self.root / name
        return L.read_jsonl(path) if path.exists() else []

    @property
    def video_keys(self) -> list[str]:
        return video_keys(self.features)

    @property
    def episode_indices(self) -> list[int]:
        return [int(e["episode_index"]) for e in self.episodes]

    def episode(self, index: int, columns: Sequence[str] | None = None) -> dict[str, np.ndarray]:
        path = self.layout.data_file(index)
        if not path.exists():
            raise DatasetError(f"{self.layout.rel(path)}: missing (episode {index})")
        return read_columns(path, columns)

    def concat(self, columns: Sequence[str]) -> dict[str, np.ndarray]:
        """``columns`` of every episode, concatenated in episode order."""
        parts = [self.episode(i, columns) for i in self.episode_indices]
        return {c: np.concatenate([p[c] for p in parts]) for c in columns}
