"""Feature statistics: per episode (``episodes_stats.jsonl``), per dataset (``stats.json``) and
per modality key (``groot dataset stats``).

Numeric features get min/max/mean/std/count plus the q01/q99 quantiles GR00T normalises with;
video features get LeRobot's per-channel stats of sampled frames scaled to [0, 1], shape
(3, 1, 1).

``meta/stats.json`` carries no ``count``: Isaac-GR00T N1.5's ``LeRobotSingleDataset``
(``gr00t/data/dataset.py``, commit 4af2b622) slices *every* statistic of a column by the
``modality.json`` ``start:end`` range, so each one must have the feature's width (a
``"count": [N]`` raises ``IndexError``). LeRobot v2.1 takes its counts from
``episodes_stats.jsonl``, where they stay.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

NUMERIC_STATS = ("min", "max", "mean", "std", "q01", "q99")
#: what ``meta/stats.json`` holds per feature: one value per feature element, nothing else
STATS_JSON_KEYS = NUMERIC_STATS
#: how many frames per episode LeRobot samples for image statistics (``sample_indices``)
IMAGE_SAMPLES = 100


def numeric_stats(values: np.ndarray) -> dict[str, np.ndarray]:
    """Stats over axis 0 of a (T,) or (T, D) array; every stat keeps the feature's shape."""
    a = np.asarray(values, dtype=np.float64)
    if a.ndim == 1:
        a = a[:, None]
    if len(a) == 0:
        raise ValueError("cannot compute statistics of an empty episode")
    return {
        "min": a.min(0),
        "max": a.max(0),
        "mean": a.mean(0),
        "std": a.std(0),
        "q01": np.quantile(a, 0.01, axis=0),
        "q99": np.quantile(a, 0.99, axis=0),
        "count": np.array([len(a)]),
    }


def sample_indices(length: int, samples: int = IMAGE_SAMPLES) -> list[int]:
    """Evenly spaced frame indices (LeRobot v2.1 samples images the same way)."""
    if length <= samples:
        return list(range(length))
    return np.round(np.linspace(0, length - 1, samples)).astype(int).tolist()


def image_stats(frames: Sequence[np.ndarray] | np.ndarray, count: int) -> dict[str, np.ndarray]:
    """Per-channel stats of uint8 (N, H, W, 3) frames, in [0, 1], shaped (3, 1, 1)."""
    a = np.asarray(frames, dtype=np.float32) / 255.0
    flat = a.reshape(-1, 3)
    out = {
        "min": flat.min(0),
        "max": flat.max(0),
        "mean": flat.mean(0, dtype=np.float64),
        "std": flat.std(0, dtype=np.float64),
    }
    stats = {k: np.asarray(v, np.float64).reshape(3, 1, 1) for k, v in out.items()}
    stats["count"] = np.array([count])
    return stats


def episode_stats(
    columns: Mapping[str, np.ndarray], video_samples: Mapping[str, Sequence[np.ndarray]]
) -> dict[str, dict[str, np.ndarray]]:
    length = len(next(iter(columns.values())))
    stats = {
        key: numeric_stats(np.stack(list(v)) if v.dtype == object else v)
        for key, v in columns.items()
    }
    for key, frames in video_samples.items():
        if len(frames):
            stats[key] = image_stats(frames, length)
    return stats


def to_json(stats: Mapping[str, Mapping[str, np.ndarray]]) -> dict[str, dict[str, Any]]:
    return {k: {s: np.asarray(v).tolist() for s, v in st.items()} for k, st in stats.items()}


def aggregate(episodes: Sequence[Mapping[str, Mapping[str, Any]]]) -> dict[str, dict[str, Any]]:
    """``meta/stats.json`` from per-episode stats: exact min/max/mean/std; quantiles
    approximated by the count-weighted mean of the episodes' quantiles (LeRobot's aggregation
    does likewise). No ``count`` (see the module docstring)."""
    keys = {k for ep in episodes for k in ep}
    out: dict[str, dict[str, Any]] = {}
    for key in sorted(keys):
        parts = [ep[key] for ep in episodes if key in ep]
        counts = np.array([float(np.asarray(p["count"]).reshape(-1)[0]) for p in parts])
        w = counts / counts.sum()
        means = np.stack([np.asarray(p["mean"], np.float64) for p in parts])
        stds = np.stack([np.asarray(p["std"], np.float64) for p in parts])
        wshape = (-1,) + (1,) * (means.ndim - 1)
        mean = (means * w.reshape(wshape)).sum(0)
        var = ((stds**2 + (means - mean) ** 2) * w.reshape(wshape)).sum(0)
        agg = {
            "min": np.min(np.stack([np.asarray(p["min"]) for p in parts]), 0),
            "max": np.max(np.stack([np.asarray(p["max"]) for p in parts]), 0),
            "mean": mean,
            "std": np.sqrt(var),
        }
        for q in ("q01", "q99"):
            if all(q in p for p in parts):
                qs = np.stack([np.asarray(p[q], np.float64) for p in parts])
                agg[q] = (qs * w.reshape(wshape)).sum(0)
        out[key] = {s: np.asarray(v).tolist() for s, v in agg.items()}
    return out


def modality_stats(
    columns: Mapping[str, np.ndarray], modality: Mapping[str, Any]
) -> dict[str, dict[str, dict[str, list[float]]]]:
    """Exact stats per ``state.<key>`` / ``action.<key>`` of modality.json over all rows.

    ``columns``: the concatenated ``observation.state`` / ``action`` (or other original_key)
    columns of the whole dataset, each (N, D).
    """
    out: dict[str, dict[str, dict[str, list[float]]]] = {}
    from groot_sdk.data.layout import MODALITY, DatasetError
    from groot_sdk.data.schema import parse_modality_entry

    for section, default_col in (("state", "observation.state"), ("action", "action")):
        entries = modality.get(section, {})
        if not isinstance(entries, Mapping):
            raise DatasetError(f"{MODALITY}: '{section}' must be an object")
        for key, entry in entries.items():
            col, start, end = parse_modality_entry(section, key, entry, default_col)
            if col not in columns:
                raise DatasetError(f"{MODALITY}: '{section}.{key}' reads '{col}', not a column")
            values = np.asarray(columns[col])
            if values.ndim == 1:
                values = values[:, None]
            if end > values.shape[1]:
                raise DatasetError(
                    f"{MODALITY}: '{section}.{key}' slice [{start}:{end}] runs past the "
                    f"{values.shape[1]} values of '{col}'"
                )
            st = numeric_stats(values[:, start:end])
            out.setdefault(section, {})[key] = {
                s: np.asarray(st[s]).tolist() for s in NUMERIC_STATS
            }
    return out


def dataset_modality_stats(root: Any, progress: Any = None) -> dict[str, Any]:
    """Exact per-key stats of a v2.1 dataset, from its parquet files and modality.json."""
    from groot_sdk.data.layout import DatasetError
    from groot_sdk.data.reader import Dataset
    from groot_sdk.data.schema import parse_modality_entry

    ds = Dataset(root)
    if ds.modality is None:
        raise DatasetError(f"{root}: no meta/modality.json; stats are per modality key")
    wanted_set = set()
    for section, default in (("state", "observation.state"), ("action", "action")):
        entries = ds.modality.get(section, {})
        if not isinstance(entries, Mapping):
            raise DatasetError(f"meta/modality.json: '{section}' must be an object")
        for key, e in entries.items():
            col = parse_modality_entry(section, key, e, default)[0]
            if col not in ds.features:
                raise DatasetError(
                    f"meta/modality.json: '{section}.{key}' reads '{col}', which is not a "
                    "feature in meta/info.json"
                )
            wanted_set.add(col)
    wanted = sorted(wanted_set)
    if not wanted:
        raise DatasetError("meta/modality.json: has no state or action keys to compute stats of")
    items = progress(ds.episode_indices) if progress else ds.episode_indices
    parts = [ds.episode(i, wanted) for i in items]
    if not parts:
        raise DatasetError(f"{root}: has no episodes")
    try:
        columns = {c: np.concatenate([p[c] for p in parts]) for c in wanted}
    except ValueError as exc:
        raise DatasetError(f"{root}: episodes disagree on a column's shape ({exc})") from None
    return modality_stats(columns, ds.modality)


def exact_feature_stats(root: Any) -> dict[str, dict[str, Any]]:
    """``meta/stats.json`` content with exact quantiles (what GR00T computes when it is absent):
    the six statistics per element, no ``count``."""
    from groot_sdk.data.reader import Dataset

    ds = Dataset(root)
    keys = [k for k, f in ds.features.items() if f.get("dtype") not in ("video", "string")]
    cols = ds.concat(keys)
    out = {}
    for k in keys:
        st = numeric_stats(cols[k])
        out[k] = {s: np.asarray(st[s]).tolist() for s in STATS_JSON_KEYS}
    return out
