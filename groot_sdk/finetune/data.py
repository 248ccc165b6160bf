"""Training samples from LeRobot v2.1 datasets with ``meta/modality.json``, in the layout of an
embodiment, as Isaac-GR00T N1.5's ``LeRobotSingleDataset`` serves them.

A sample at step ``t`` of an episode: the video frame(s) at ``t`` (decoded with PyAV), the state
at ``t`` (delta index 0), the actions at ``t .. t + horizon - 1`` (indices past the end repeat
the last row, N1.5's rule for absolute keys) and the episode's task string. Several datasets are
concatenated; their statistics are computed over all of them together and written the way N1.5
reads them (``experiment_cfg/metadata.json``).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from attrs import frozen

from groot_sdk.finetune import FinetuneError
from groot_sdk.modality.layout import ModalityLayout

log = logging.getLogger(__name__)

#: N1.5 ``StateActionMetadata`` fields per key (continuous, no rotation representation)
_KEY_META = {"absolute": True, "rotation_type": None, "continuous": True}


@frozen
class KeySource:
    """Where one modality key lives in a dataset: ``column[:, start:end]``."""

    key: str
    column: str
    start: int
    end: int


@frozen
class Episode:
    dataset: int
    index: int
    state: np.ndarray  #: (T, state_dim) float32, the layout's keys concatenated
    action: np.ndarray  #: (T, action_dim) float32
    timestamp: np.ndarray  #: (T,) seconds
    task: str


class DatasetSource:
    """One dataset's episodes mapped onto ``layout``; a missing key is a one-line error."""

    def __init__(self, root: str | Path, layout: ModalityLayout, number: int) -> None:
        from groot_sdk.data.layout import DatasetError
        from groot_sdk.data.reader import Dataset
        from groot_sdk.data.schema import parse_modality_entry

        self.root = Path(root)
        if not (self.root / "meta" / "info.json").is_file():
            raise FinetuneError(f"--dataset {self.root}: no meta/info.json (not a LeRobot dataset)")
        version = _codebase_version(self.root)
        self.v3 = version.startswith("v3")
        try:
            self.ds: Any = _V30Dataset(self.root) if self.v3 else Dataset(self.root)
        except DatasetError as exc:
            raise FinetuneError(f"--dataset {self.root}: {exc}") from None
        if self.ds.modality is None:
            raise FinetuneError(f"--dataset {self.root}: no meta/modality.json")
        self.number = number
        modality = self.ds.modality
        self.state: list[KeySource] = []
        self.action: list[KeySource] = []
        for section, default, keys, out in (
            ("state", "observation.state", layout.state, self.state),
            ("action", "action", layout.action, self.action),
        ):
            entries = modality.get(section) or {}
            for kd in keys:
                if kd.key not in entries:
                    raise FinetuneError(
                        f"--dataset {self.root}: meta/modality.json has no '{section}.{kd.key}' "
                        f"(embodiment layout: {', '.join(k.key for k in keys)})"
                    )
                col, start, end = parse_modality_entry(section, kd.key, entries[kd.key], default)
                if end - start != kd.dim:
                    raise FinetuneError(
                        f"--dataset {self.root}: '{section}.{kd.key}' is {end - start}-D, the "
                        f"embodiment's is {kd.dim}-D"
                    )
                if col not in self.ds.features:
                    raise FinetuneError(
                        f"--dataset {self.root}: '{section}.{kd.key}' reads column '{col}', "
                        "which meta/info.json does not list"
                    )
                out.append(KeySource(kd.key, col, start, end))
        videos = modality.get("video") or {}
        self.video: dict[str, str] = {}
        for vk in layout.video:
            entry = videos.get(vk.name)
            if entry is None:
                raise FinetuneError(
                    f"--dataset {self.root}: meta/modality.json has no 'video.{vk.name}'"
                )
            original = (entry or {}).get("original_key") or vk.name
            if original not in self.ds.video_keys:
                raise FinetuneError(
                    f"--dataset {self.root}: 'video.{vk.name}' reads '{original}', not a video "
                    "feature in meta/info.json"
                )
            self.video[vk.name] = original
        self.fps = float(self.ds.fps)

    def resolution(self, camera: str) -> tuple[int, int]:
        """(width, height) of a camera's video feature (N1.5 metadata order)."""
        feat = self.ds.features[self.video[camera]]
        names = list(feat.get("names") or [])
        shape = list(feat.get("shape") or [])
        if "height" in names and "width" in names:
            return int(shape[names.index("width")]), int(shape[names.index("height")])
        return int(shape[1]), int(shape[0])

    def episodes(self) -> list[Episode]:
        columns = sorted({s.column for s in self.state + self.action} | {"timestamp"})
        has_task = "task_index" in self.ds.features
        if has_task:
            columns.append("task_index")
        out = []
        for index in self.ds.episode_indices:
            cols = self.ds.episode(index, columns)

            state, action = _take(cols, self.state), _take(cols, self.action)
            if len(action) == 0:
                continue
            if not (np.isfinite(state).all() and np.isfinite(action).all()):
                raise FinetuneError(
                    f"--dataset {self.root}: episode {index} has non-finite state or action values"
                )
            task = ""
            if has_task:
                task = self.ds.tasks.get(int(np.asarray(cols["task_index"]).reshape(-1)[0]), "")
            out.append(
                Episode(
                    self.number,
                    index,
                    state,
                    action,
                    np.asarray(cols["timestamp"], np.float64).reshape(-1),
                    task,
                )
            )
        if not out:
            raise FinetuneError(f"--dataset {self.root}: has no episodes")
        return out

    def video_path(self, episode: int, camera: str) -> Path:
        if self.v3:
            return self.ds.index.video_file(episode, self.video[camera])
        return self.ds.layout.video_file(episode, self.video[camera])

    def video_start(self, episode: int, camera: str) -> float:
        """Where the episode starts in its video file (v3.0 files hold many episodes)."""
        return self.ds.index.video_span(episode, self.video[camera])[0] if self.v3 else 0.0


class _V30Dataset:
    """A LeRobot v3.0 dataset (:mod:`groot_sdk.data.v30`) with the reader's interface."""

    def __init__(self, root: Path) -> None:
        from groot_sdk.data import layout as L
        from groot_sdk.data import v30

        self.root = root
        self.info = v30.parse_info_v30(L.read_json(root / L.INFO))
        self.features: dict[str, Any] = self.info["features"]
        self.fps = float(self.info["fps"])
        self.index = v30.V30Index(root, self.info)
        self.tasks = v30.read_tasks(root)
        mod = root / L.MODALITY
        self.modality = L.read_json(mod) if mod.is_file() else None

    @property
    def video_keys(self) -> list[str]:
        return [k for k, f in self.features.items() if f.get("dtype") == "video"]

    @property
    def episode_indices(self) -> list[int]:
        return [int(r["episode_index"]) for r in self.index.rows]

    def episode(self, index: int, columns: Sequence[str]) -> dict[str, np.ndarray]:
        return self.index.episode(index, columns)


def _take(cols: Mapping[str, np.ndarray], sources: list[KeySource]) -> np.ndarray:
    """The sources' slices of an episode's columns, side by side (T, sum of widths)."""
    parts = []
    for s in sources:
        values = np.asarray(cols[s.column], np.float32)
        if values.ndim == 1:
            values = values[:, None]
        parts.append(values[:, s.start : s.end])
    return np.concatenate(parts, axis=1)


def _codebase_version(root: Path) -> str:
    import json

    try:
        return str(json.loads((root / "meta" / "info.json").read_text()).get("codebase_version"))
    except (OSError, ValueError):
        return ""


def key_stats(values: np.ndarray) -> dict[str, list[float]]:
    """N1.5's six statistics of (N, D) values (exact quantiles over every row)."""
    from groot_sdk.data.stats import NUMERIC_STATS, numeric_stats

    st = numeric_stats(values)
    return {name: np.asarray(st[name], np.float64).tolist() for name in NUMERIC_STATS}


class TrainingData:
    """Every step of every episode of ``roots`` (in the embodiment's layout)."""

    def __init__(self, roots: Sequence[str | Path], layout: ModalityLayout) -> None:
        if not roots:
            raise FinetuneError("--dataset: give at least one dataset directory")
        self.layout = layout
        self.sources = [DatasetSource(r, layout, n) for n, r in enumerate(roots)]
        fps = {s.fps for s in self.sources}
        if len(fps) > 1:
            raise FinetuneError(f"--dataset: the datasets have different fps {sorted(fps)}")
        self.episodes: list[Episode] = [e for s in self.sources for e in s.episodes()]
        lengths = np.array([len(e.action) for e in self.episodes])
        self.offsets = np.concatenate([[0], np.cumsum(lengths)])
        self._frames: OrderedDict[tuple[int, int], np.ndarray] = OrderedDict()
        self._frame_bytes = 0

    def __len__(self) -> int:
        return int(self.offsets[-1])

    def locate(self, position: int) -> tuple[Episode, int]:
        """The episode and step of sample ``position`` (0 .. len - 1)."""
        e = int(np.searchsorted(self.offsets, position, side="right") - 1)
        return self.episodes[e], int(position - self.offsets[e])

    # -- statistics / metadata ----------------------------------------------------------------
    def statistics(self) -> dict[str, dict[str, dict[str, list[float]]]]:
        state = np.concatenate([e.state for e in self.episodes])
        action = np.concatenate([e.action for e in self.episodes])
        out: dict[str, dict[str, dict[str, list[float]]]] = {"state": {}, "action": {}}
        for section, values, keys in (
            ("state", state, self.layout.state),
            ("action", action, self.layout.action),
        ):
            start = 0
            for kd in keys:
                out[section][kd.key] = key_stats(values[:, start : start + kd.dim])
                start += kd.dim
        return out

    def metadata(self, tag: str, normalization: Mapping[str, str] | None = None) -> dict[str, Any]:
        """``experiment_cfg/metadata.json`` for ``tag`` in Isaac-GR00T N1.5's layout."""
        source = self.sources[0]
        entry: dict[str, Any] = {
            "statistics": self.statistics(),
            "modalities": {
                "video": {
                    v.name: {
                        "resolution": list(source.resolution(v.name)),
                        "channels": 3,
                        "fps": source.fps,
                    }
                    for v in self.layout.video
                },
                "state": {k.key: {**_KEY_META, "shape": [k.dim]} for k in self.layout.state},
                "action": {k.key: {**_KEY_META, "shape": [k.dim]} for k in self.layout.action},
            },
            "embodiment_tag": tag,
        }
        if normalization:
            entry["normalization_modes"] = dict(normalization)
        return {tag: entry}

    # -- video ---------------------------------------------------------------------------------
    def frames(
        self, episode: Episode, size: int, crop_scale: float, budget_bytes: int
    ) -> np.ndarray:
        """(T, V, size, size, 3) uint8: every frame of the episode's cameras, cropped and
        resized as N1.5's eval transforms do; kept in an LRU cache of ``budget_bytes``."""
        from groot_sdk.data.video import iter_frames
        from groot_sdk.models.gr00t_n15.processing import crop_resize

        key = (episode.dataset, episode.index)
        if key in self._frames:
            self._frames.move_to_end(key)
            return self._frames[key]
        source = self.sources[episode.dataset]
        views = []
        for vk in self.layout.video:
            path = source.video_path(episode.index, vk.name)
            if not path.is_file():
                raise FinetuneError(f"--dataset {source.root}: missing video {path}")
            if source.v3:  # the episode's span of a many-episode file (decoded from its start)
                from groot_sdk.data.v30 import extract_frames

                start = source.video_start(episode.index, vk.name)
                images = extract_frames(path, start, len(episode.action), source.fps)
                decoded = [(k / source.fps, f) for k, f in enumerate(images)]
            else:
                decoded = list(iter_frames(path))
            if not decoded:
                raise FinetuneError(f"--dataset {source.root}: {path} has no frames")
            times = np.array([t for t, _ in decoded])
            # the frame whose time is nearest each step's timestamp (N1.5's lookup)
            pick = np.abs(times[None, :] - episode.timestamp[:, None]).argmin(1)
            raw = np.stack([decoded[i][1] for i in pick])
            views.append(crop_resize(raw, size, size, crop_scale))
        frames = np.stack(views, axis=1)
        self._frames[key] = frames
        self._frame_bytes += frames.nbytes
        while self._frame_bytes > budget_bytes and len(self._frames) > 1:
            _, old = self._frames.popitem(last=False)
            self._frame_bytes -= old.nbytes
        return frames
