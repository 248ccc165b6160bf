"""A stand-in for Isaac-GR00T N1.5's dataset loader, for tests.

Written from the published source of ``LeRobotSingleDataset`` in ``gr00t/data/dataset.py`` and
its schemas in ``gr00t/data/schema.py`` at Isaac-GR00T commit 4af2b622 (the last N1.5 commit,
Apache-2.0; read from the fork arnavinator/Isaac-GR00T). No code is copied; these are its
rules, restated:

* ``meta/modality.json``: state/action entries need ``start``/``end``; ``original_key``
  defaults to ``observation.state`` / ``action``; ``absolute`` defaults to true. Video entries
  name an ``original_key`` (or the key itself).
* ``meta/info.json``: a video feature's height/width come from ``shape`` at the positions of
  ``"height"``/``"width"`` in ``names``; channels and fps from ``names.index("channel")`` plus
  ``video_info["video.fps"]``, else from ``info["video.channels"]`` / ``info["video.fps"]``.
  ``data_path``/``video_path`` are formatted with ``episode_chunk``, ``episode_index`` and
  ``video_key``; the chunk is ``episode_index // chunks_size``.
* ``meta/stats.json``: every entry must carry max/min/mean/std/q01/q99 (else the loader
  recomputes the statistics from the parquet files and overwrites the file). Then, for each
  state/action key, *every* statistic listed for its column is indexed with
  ``np.arange(start, end)``: a statistic with fewer values raises ``IndexError``.
* ``meta/episodes.jsonl``: trajectory ids and lengths, in file order.
* A step: the parquet column stacked to (T, D) (1-D columns become (T, 1)), sliced
  ``[:, start:end]``, indexed by ``delta_indices + base_index``; indices outside the
  trajectory are padded with the first/last row (absolute keys) or zeros. Video frames: the
  indices are clipped into the trajectory, their ``timestamp`` values looked up, and the
  frames at those times decoded. Language: ``task_index`` (the annotation's original key) at
  the clipped indices, looked up in ``meta/tasks.jsonl``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

REQUIRED_STATS = ("max", "min", "mean", "std", "q01", "q99")


def _json(path: Path):
    return json.loads(path.read_text())


def _jsonl(path: Path):
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


class N15Dataset:
    """``LeRobotSingleDataset``'s metadata, statistics and step rules (see the module doc)."""

    def __init__(self, root: Path, delta_indices: dict[str, list[int]]) -> None:
        self.root = Path(root)
        self.delta = {k: np.asarray(v) for k, v in delta_indices.items()}
        self.modality = _json(self.root / "meta/modality.json")
        self.info = _json(self.root / "meta/info.json")
        self.video_meta = {}
        for key, entry in self.modality["video"].items():
            feat = self.info["features"][entry.get("original_key") or key]
            height = feat["shape"][feat["names"].index("height")]
            width = feat["shape"][feat["names"].index("width")]
            try:
                channels = feat["shape"][feat["names"].index("channel")]
                fps = feat["video_info"]["video.fps"]
            except (ValueError, KeyError):
                channels = feat["info"]["video.channels"]
                fps = feat["info"]["video.fps"]
            self.video_meta[key] = {"resolution": [width, height], "channels": channels, "fps": fps}
        self.recomputed_stats = False
        stats_path = self.root / "meta/stats.json"
        le_stats = _json(stats_path) if stats_path.exists() else None
        if le_stats is None or any(
            any(s not in entry for s in REQUIRED_STATS) for entry in le_stats.values()
        ):
            self.recomputed_stats = True  # upstream recomputes and overwrites; tests want not
            raise AssertionError("the N1.5 loader would ignore meta/stats.json and recompute it")
        self.statistics: dict[str, dict[str, dict[str, list]]] = {}
        for section, default in (("state", "observation.state"), ("action", "action")):
            self.statistics[section] = {}
            for key, entry in self.modality[section].items():
                column = entry.get("original_key") or default
                indices = np.arange(entry["start"], entry["end"])
                self.statistics[section][key] = {
                    name: np.asarray(values)[indices].tolist()  # IndexError if too short
                    for name, values in le_stats[column].items()
                }
        episodes = _jsonl(self.root / "meta/episodes.jsonl")
        self.trajectory_ids = [e["episode_index"] for e in episodes]
        self.trajectory_lengths = [e["length"] for e in episodes]
        self.tasks = {r["task_index"]: r["task"] for r in _jsonl(self.root / "meta/tasks.jsonl")}
        self._frames: dict[tuple[int, str], tuple[np.ndarray, list[np.ndarray]]] = {}

    def __len__(self) -> int:
        return sum(self.trajectory_lengths)

    def all_steps(self):
        for tid, length in zip(self.trajectory_ids, self.trajectory_lengths, strict=True):
            for base in range(length):
                yield tid, base

    def _parquet(self, tid: int):
        chunk = tid // self.info["chunks_size"]
        rel = self.info["data_path"].format(episode_chunk=chunk, episode_index=tid)
        return pq.read_table(self.root / rel).to_pydict()

    def _length(self, tid: int) -> int:
        return self.trajectory_lengths[self.trajectory_ids.index(tid)]

    def state_or_action(self, tid: int, section: str, key: str, base: int) -> np.ndarray:
        entry = self.modality[section][key]
        column = entry.get("original_key") or (
            "observation.state" if section == "state" else "action"
        )
        data = np.stack(self._parquet(tid)[column])
        if data.ndim == 1:
            data = data.reshape(-1, 1)
        data = data[:, np.arange(entry["start"], entry["end"])]
        steps = self.delta[f"{section}.{key}"] + base
        n = self._length(tid)
        out = np.zeros((len(steps), data.shape[1]))
        inside = (steps >= 0) & (steps < n)
        out[inside] = data[steps[inside]]
        if entry.get("absolute", True):
            out[steps < 0] = data[0]
            out[steps >= n] = data[-1]
        return out

    def video(self, tid: int, key: str, base: int) -> np.ndarray:
        import av

        n = self._length(tid)
        steps = np.clip(self.delta[f"video.{key}"] + base, 0, n - 1)
        times = np.asarray(self._parquet(tid)["timestamp"])[steps]
        if (tid, key) not in self._frames:
            original = self.modality["video"][key].get("original_key") or key
            chunk = tid // self.info["chunks_size"]
            rel = self.info["video_path"].format(
                episode_chunk=chunk, episode_index=tid, video_key=original
            )
            pts, frames = [], []
            with av.open(str(self.root / rel)) as container:
                for frame in container.decode(video=0):
                    pts.append(float(frame.time))
                    frames.append(frame.to_ndarray(format="rgb24"))
            self._frames[(tid, key)] = (np.asarray(pts), frames)
        pts, frames = self._frames[(tid, key)]
        return np.stack([frames[int(np.argmin(np.abs(pts - t)))] for t in times])

    def language(self, tid: int, key: str, base: int) -> list[str]:
        n = self._length(tid)
        steps = np.clip(self.delta[f"annotation.{key}"] + base, 0, n - 1)
        column = self.modality["annotation"][key].get("original_key") or f"annotation.{key}"
        values = self._parquet(tid)[column]
        return [self.tasks[int(values[s])] for s in steps]
