"""Copy episodes between datasets of either format: convert (v2.1 <-> v3.0), merge several
recording days into one, split, drop bad episodes.

Every path goes through one copy: the chosen episodes are written as v2.1 episodes by the
crash-safe :class:`~groot_sdk.data.writer.DatasetWriter` (episode indices, global indices and
task indices renumbered; videos stream-copied, never re-encoded unless a v3.0 cut does not
start on a keyframe), then packed into v3.0 when that is the output format. Per-episode and
dataset statistics are recomputed from the copied values; camera statistics are carried over
from the source episodes (they describe the same frames).
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from groot_sdk.data import layout as L
from groot_sdk.data import v30
from groot_sdk.data.layout import DatasetError
from groot_sdk.data.reader import Dataset

log = logging.getLogger(__name__)
Progress = Callable[[Any], Any]

#: keys of an episode row that the writer sets itself
_OWN = ("episode_index", "tasks", "length")


def _episode_stats_v21(ds: Dataset) -> dict[int, dict[str, Any]]:
    path = ds.root / L.EPISODES_STATS
    if not path.exists():
        return {}
    return {int(r["episode_index"]): r.get("stats", {}) for r in L.read_jsonl(path)}


def _prepare_out(out: Path, overwrite: bool) -> None:
    if (out / L.INFO).exists() or (out / v30.STAGING).exists():
        if not overwrite:
            raise DatasetError(
                f"{out} already holds a dataset; choose another directory or --overwrite"
            )
        for sub in ("meta", "data", "videos", L.INCOMPLETE, v30.STAGING):
            shutil.rmtree(out / sub, ignore_errors=True)


def copy_episodes(
    sources: Sequence[tuple[str | Path, Sequence[int] | None]],
    out: str | Path,
    *,
    fmt: str | None = None,
    overwrite: bool = False,
    modality: Mapping[str, Any] | None = None,
    progress: Progress | None = None,
) -> Dataset:
    """Write the chosen episodes (``None``: all) of each source, in order, into a new dataset
    at ``out`` in ``fmt`` (default: the first source's format). Sources must agree on fps and
    features; their ``meta/modality.json`` must agree too (``modality`` overrides)."""
    from groot_sdk.data.writer import DatasetWriter

    if not sources:
        raise DatasetError("no source datasets given")
    out = Path(out)
    opened = [(Dataset(root), sel) for root, sel in sources]
    first = opened[0][0]
    fmt = v30.check_format(fmt or ("v3.0" if first.v30 is not None else "v2.1"))
    for ds, sel in opened:
        if ds.root.resolve() == out.resolve():
            raise DatasetError(f"{out}: the output must not be one of the sources")
        _check_compatible(first, ds)
        known = set(ds.episode_indices)
        bad = [i for i in (sel or []) if i not in known]
        if bad:
            raise DatasetError(f"{ds.root}: has no episodes {bad} (it has 0..{len(known) - 1})")
    if modality is None:
        modality = first.modality
        for ds, _ in opened[1:]:
            if ds.modality != modality:
                raise DatasetError(
                    f"{ds.root}: meta/modality.json differs from {first.root}'s; pass the "
                    "embodiment to write one for the result"
                )
    _prepare_out(out, overwrite)
    target = out if fmt == "v2.1" else v30.staging_dir(out)
    if fmt == "v3.0":
        shutil.rmtree(target, ignore_errors=True)
    features = {k: dict(v) for k, v in first.features.items()}
    reencode = set()
    for key, f in features.items():
        codec = (f.get("info") or {}).get("video.codec")
        if f["dtype"] == "video" and fmt == "v2.1" and codec not in (None, "h264", "libx264"):
            # GR00T's v2.1 decoders (torchvision_av, decord) want H.264, not LeRobot's AV1
            reencode.add(key)
            f["info"] = {**f["info"], "video.codec": "h264", "video.pix_fmt": "yuv420p"}
    writer = DatasetWriter(
        target,
        features=features,
        fps=first.fps,
        robot_type=str(first.info.get("robot_type") or ""),
        modality=modality,
    )
    work = [(ds, i) for ds, sel in opened for i in (sel if sel is not None else ds.episode_indices)]
    items = progress(work) if progress else work
    tmp = Path(tempfile.mkdtemp(prefix=".copy-", dir=out if out.exists() else None))
    stats_cache: dict[Path, dict[int, dict[str, Any]]] = {}
    try:
        for ds, i in items:
            _copy_one(writer, ds, i, tmp, stats_cache, reencode)
        writer.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if fmt == "v3.0":
        v30.pack(target, out)
        shutil.rmtree(target)
    return Dataset(out)


def _check_compatible(a: Dataset, b: Dataset) -> None:
    if abs(a.fps - b.fps) > 1e-6:
        raise DatasetError(f"{b.root}: is {b.fps:g} fps, {a.root} is {a.fps:g} fps")
    for key in sorted(set(a.features) | set(b.features)):
        fa, fb = a.features.get(key), b.features.get(key)
        if fa is None or fb is None:
            where = a.root if fa is None else b.root
            raise DatasetError(f"{where}: has no feature '{key}' (the datasets must match)")
        if fa["dtype"] != fb["dtype"] or list(fa["shape"]) != list(fb["shape"]):
            raise DatasetError(
                f"{b.root}: feature '{key}' is {fb['dtype']} {fb['shape']}, "
                f"{a.root} has {fa['dtype']} {fa['shape']}"
            )
        if fa["dtype"] == "video":
            ca = (fa.get("info") or {}).get("video.codec")
            cb = (fb.get("info") or {}).get("video.codec")
            if ca and cb and ca != cb:
                raise DatasetError(f"{b.root}: '{key}' is {cb} video, {a.root} has {ca}")


def _copy_one(writer: Any, ds: Dataset, i: int, tmp: Path, cache: dict, reencode: set[str]) -> None:
    from groot_sdk.data.writer import video_keys

    cols = ds.episode(i)
    n = len(cols["frame_index"])
    tasks = [ds.tasks[int(t)] for t in cols["task_index"]]
    values = {k: v for k, v in cols.items() if k not in L.INDEX_COLUMNS}
    row = next(e for e in ds.episodes if int(e["episode_index"]) == i)
    extra = {k: v for k, v in row.items() if k not in _OWN and v is not None}
    if ds.v30 is not None:
        ep_stats = ds.v30.stats(i)
    else:
        if ds.root not in cache:
            cache[ds.root] = _episode_stats_v21(ds)
        ep_stats = cache[ds.root].get(i, {})
    pending = writer.new_episode()
    try:
        for key in video_keys(ds.features):
            st = ep_stats.get(key)
            given = {s: st[s] for s in ("min", "max", "mean", "std", "count")} if st and all(
                s in st for s in ("min", "max", "mean", "std", "count")
            ) else None  # fmt: skip
            if ds.v30 is None:
                src, start = ds.layout.video_file(i, key), 0.0
            else:
                src = ds.v30.video_file(i, key)
                start = ds.v30.video_span(i, key)[0]
            cut = tmp / f"{key}.mp4"
            cut.unlink(missing_ok=True)
            if key in reencode:
                for img in v30.extract_frames(src, start, n, ds.fps):
                    pending.add_frame(key, img)
            elif ds.v30 is None:
                pending.adopt_video(key, src, n, given)
            elif v30.cut_video(src, start, n, ds.fps, cut):
                pending.adopt_video(key, cut, n, given)
            else:  # not on a keyframe (another tool's encoding): decode and re-encode
                log.info("episode %d '%s' does not start on a keyframe: re-encoding", i, key)
                for img in v30.extract_frames(src, start, n, ds.fps):
                    pending.add_frame(key, img)
    except BaseException:
        writer.discard(pending)
        raise
    writer.commit(pending, values, tasks, timestamps=cols["timestamp"], extra=extra)


def convert(
    src: str | Path,
    dst: str | Path,
    to: str,
    *,
    overwrite: bool = False,
    modality: Mapping[str, Any] | None = None,
    progress: Progress | None = None,
) -> Dataset:
    """``src`` (v2.1 or v3.0) as a ``to`` dataset at ``dst``. v2.1 -> v3.0 packs directly."""
    v30.check_format(to)
    ds = Dataset(src)
    if to == "v3.0" and ds.v30 is None and modality is None:
        dst = Path(dst)
        _prepare_out(dst, overwrite)
        v30.pack(src, dst, progress=progress)
        return Dataset(dst)
    return copy_episodes([(src, None)], dst, fmt=to, overwrite=overwrite, modality=modality,
                         progress=progress)  # fmt: skip


def merge(
    out: str | Path, sources: Sequence[str | Path], *, fmt: str | None = None, **kw: Any
) -> Dataset:
    """Several datasets (recording days) into one, in the order given."""
    if len(sources) < 1:
        raise DatasetError("merge needs at least one source dataset")
    return copy_episodes([(s, None) for s in sources], out, fmt=fmt, **kw)


def parse_episodes(text: str) -> list[int]:
    """``"0,3,5-7"`` -> [0, 3, 5, 6, 7]; a one-line DatasetError names a bad item."""
    out: list[int] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        try:
            if "-" in part:
                a, b = (int(x) for x in part.split("-", 1))
                if b < a:
                    raise ValueError
                out.extend(range(a, b + 1))
            else:
                out.append(int(part))
        except ValueError:
            raise DatasetError(f"--episodes: {part!r} is not an index or a range a-b") from None
    if any(i < 0 for i in out):
        raise DatasetError("--episodes: indices must be >= 0")
    return sorted(set(out))


def drop_episodes(
    src: str | Path, out: str | Path, drop: Sequence[int], *, fmt: str | None = None, **kw: Any
) -> Dataset:
    """``src`` without the episodes ``drop`` (bad takes), renumbered, into ``out``."""
    ds = Dataset(src)
    unknown = sorted(set(drop) - set(ds.episode_indices))
    if unknown:
        raise DatasetError(f"{src}: has no episodes {unknown}")
    keep = [i for i in ds.episode_indices if i not in set(drop)]
    if not keep:
        raise DatasetError(f"{src}: dropping {len(set(drop))} episodes leaves none")
    return copy_episodes([(src, keep)], out, fmt=fmt, **kw)


def split(
    src: str | Path,
    out_a: str | Path,
    out_b: str | Path,
    *,
    episodes: Sequence[int] | None = None,
    fraction: float | None = None,
    fmt: str | None = None,
    **kw: Any,
) -> tuple[Dataset, Dataset]:
    """``episodes`` (or the first ``fraction`` of them) into ``out_a``, the rest into
    ``out_b``; each renumbered from 0, with its own statistics."""
    ds = Dataset(src)
    all_eps = ds.episode_indices
    if (episodes is None) == (fraction is None):
        raise DatasetError("split: give either --episodes or --fraction")
    if fraction is not None:
        if not 0 < fraction < 1:
            raise DatasetError(f"--fraction must be in (0, 1), got {fraction}")
        a = all_eps[: int(np.ceil(fraction * len(all_eps)))]
    else:
        a = sorted(set(episodes or []))
        unknown = sorted(set(a) - set(all_eps))
        if unknown:
            raise DatasetError(f"{src}: has no episodes {unknown}")
    b = [i for i in all_eps if i not in set(a)]
    if not a or not b:
        raise DatasetError(f"split: one side would be empty ({len(a)} and {len(b)} episodes)")
    return (
        copy_episodes([(src, a)], out_a, fmt=fmt, **kw),
        copy_episodes([(src, b)], out_b, fmt=fmt, **kw),
    )
