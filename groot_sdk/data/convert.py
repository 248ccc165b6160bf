"""Converters into LeRobot v2.1 + ``meta/modality.json``.

* :func:`convert_npz` - a directory of ``.npz`` episodes, one file each, holding
  ``observations`` (T, state_dim), ``actions`` (T, action_dim), ``images`` (T, H, W, 3) for a
  single camera or ``images.<camera>`` / ``images/<camera>`` / ``images_<camera>`` per camera,
  and optionally ``timestamps`` (T,) and ``task`` (a string).
* :func:`convert_v3` - a LeRobot v3.0 dataset (many episodes per parquet/mp4 file).
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from groot_sdk.data import layout as L
from groot_sdk.data.reader import read_columns
from groot_sdk.data.video import iter_frames
from groot_sdk.data.writer import DatasetError, DatasetWriter, video_keys
from groot_sdk.errors import require
from groot_sdk.spec import EmbodimentSpec

log = logging.getLogger(__name__)
Progress = Callable[[Any], Any]


def _ensure_new(dst: Path, overwrite: bool) -> None:
    """Refuse to mix a conversion into an existing dataset; ``overwrite`` replaces it."""
    if not (dst / L.INFO).exists():
        return
    if not overwrite:
        raise DatasetError(
            f"{dst} already holds a dataset; choose another output directory or --overwrite"
        )
    for sub in ("meta", "data", "videos", L.INCOMPLETE):
        shutil.rmtree(dst / sub, ignore_errors=True)


# -- .npz episodes ----------------------------------------------------------------------------
def _npz_images(data: Any, spec: EmbodimentSpec, name: str) -> dict[str, np.ndarray]:
    keys = list(data.keys())
    out: dict[str, np.ndarray] = {}
    for cam in spec.cameras:
        for k in (f"images.{cam.name}", f"images/{cam.name}", f"images_{cam.name}"):
            if k in keys:
                out[cam.name] = data[k]
    if "images" in keys and not out:
        if len(spec.cameras) != 1:
            cams = [c.name for c in spec.cameras]
            raise DatasetError(
                f"{name}: 'images' holds one camera but {spec.name} has {cams}; "
                "store them as images.<camera>"
            )
        out[spec.cameras[0].name] = data["images"]
    missing = [c.name for c in spec.cameras if c.name not in out]
    if missing:
        raise DatasetError(f"{name}: no images for cameras {missing} (keys: {keys})")
    return out


def _check_rate(ts: np.ndarray, fps: float, name: str) -> None:
    diffs = np.diff(np.asarray(ts, np.float64))
    if len(diffs) and (np.abs(diffs - 1.0 / fps) > 0.1 / fps).any():
        k = int(np.argmax(np.abs(diffs - 1.0 / fps) > 0.1 / fps)) + 1
        raise DatasetError(
            f"{name}: 'timestamps' step at frame {k} is {diffs[k - 1]:.4f}s but the dataset is "
            f"{fps:g} fps ({1 / fps:.4f}s); LeRobot needs one row per frame at a fixed rate"
        )


def convert_npz(
    src: str | Path,
    dst: str | Path,
    spec: EmbodimentSpec,
    *,
    fps: float | None = None,
    task: str = "",
    overwrite: bool = False,
    progress: Progress | None = None,
) -> DatasetWriter:
    """Convert every ``*.npz`` under ``src`` (sorted by name) into a dataset at ``dst``."""
    from groot_sdk.policy.observation import resize_image

    src, dst = Path(src), Path(dst)
    files = sorted(src.glob("*.npz")) if src.is_dir() else [src]
    if not files:
        raise DatasetError(f"{src}: no .npz episodes found")
    _ensure_new(dst, overwrite)
    if fps is None:
        with np.load(files[0], allow_pickle=False) as first:
            if "timestamps" in first and len(first["timestamps"]) > 1:
                fps = float(round(1.0 / float(np.median(np.diff(first["timestamps"]))), 3))
    writer = DatasetWriter.for_spec(dst, spec, fps)
    items = progress(files) if progress else files
    for path in items:
        name = path.name
        with np.load(path, allow_pickle=False) as data:
            for key in ("observations", "actions"):
                if key not in data:
                    raise DatasetError(f"{name}: no '{key}' array (keys: {list(data.keys())})")
            state = np.asarray(data["observations"], np.float32)
            action = np.asarray(data["actions"], np.float32)
            state = state.reshape(len(state), -1)
            action = action.reshape(len(action), -1)
            if state.shape[1] != spec.state_dim:
                raise DatasetError(
                    f"{name}: 'observations' has {state.shape[1]} values per step, "
                    f"{spec.name} has {spec.state_dim}"
                )
            if action.shape[1] != spec.action_dim:
                raise DatasetError(
                    f"{name}: 'actions' has {action.shape[1]} values per step, "
                    f"{spec.name} has {spec.action_dim}"
                )
            images = _npz_images(data, spec, name)
            lengths = {"observations": len(state), "actions": len(action)}
            lengths.update({f"images.{k}": len(v) for k, v in images.items()})
            if "timestamps" in data:
                ts = np.asarray(data["timestamps"])
                lengths["timestamps"] = len(ts)
                _check_rate(ts, writer.fps, name)
            if len(set(lengths.values())) != 1:
                raise DatasetError(f"{name}: arrays have different lengths {lengths}")
            ep_task = str(data["task"]) if "task" in data else task
            if not ep_task:
                raise DatasetError(f"{name}: no 'task' string in the file; pass --task")
            videos: dict[str, Iterator[np.ndarray]] = {}
            for cam in spec.cameras:
                frames = np.asarray(images[cam.name])
                if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3:
                    raise DatasetError(
                        f"{name}: images of '{cam.name}' must be uint8 (T, H, W, 3), "
                        f"got {frames.dtype} {frames.shape}"
                    )
                h, w = cam.model_height, cam.model_width
                videos[cam.original_key] = (resize_image(f, h, w) for f in frames)
            writer.write_episode({"observation.state": state, "action": action}, videos, ep_task)
    writer.close()
    return writer


# -- LeRobot v3.0 -----------------------------------------------------------------------------
class _VideoCursor:
    """Walks a v3.0 concatenated video file forward, handing out one episode's frames."""

    def __init__(self) -> None:
        self.path: Path | None = None
        self._it: Iterator[tuple[float, np.ndarray]] | None = None
        self._ahead: tuple[float, np.ndarray] | None = None

    def _next(self) -> tuple[float, np.ndarray] | None:
        if self._ahead is not None:
            item, self._ahead = self._ahead, None
            return item
        assert self._it is not None
        return next(self._it, None)

    def frames(self, path: Path, start: float, end: float, fps: float) -> Iterator[np.ndarray]:
        if path != self.path:
            self.path, self._it, self._ahead = path, iter_frames(path), None
        half = 0.5 / fps
        while True:
            item = self._next()
            if item is None:
                return
            t, img = item
            if t < start - half:
                continue
            if t >= end - half:
                self._ahead = item
                return
            yield img


def _tasks_v3(src: Path) -> dict[int, str]:
    cols = read_columns(src / "meta" / "tasks.parquet")
    text = next(
        (cols[k] for k in ("task", "__index_level_0__") if k in cols),
        None,
    )
    if text is None or "task_index" not in cols:
        raise DatasetError(f"{src}/meta/tasks.parquet: needs task and task_index columns")
    return {int(i): str(t) for i, t in zip(cols["task_index"], text, strict=True)}


def convert_v3(
    src: str | Path,
    dst: str | Path,
    spec: EmbodimentSpec | None = None,
    *,
    overwrite: bool = False,
    progress: Progress | None = None,
) -> DatasetWriter:
    """Convert a LeRobot v3.0 dataset at ``src`` into v2.1 at ``dst`` (videos re-encoded to
    H.264, one file per episode; stats recomputed)."""
    pq = require("pyarrow.parquet", "data", "reading parquet")
    src, dst = Path(src), Path(dst)
    from groot_sdk.data.schema import MAX_FPS, check_feature_key, check_number, feature

    try:
        info = L.read_json(src / L.INFO)
    except (ValueError, OSError) as exc:
        raise DatasetError(f"{src}: {exc}") from None
    if not isinstance(info, dict) or not str(info.get("codebase_version", "")).startswith("v3"):
        version = info.get("codebase_version") if isinstance(info, dict) else None
        raise DatasetError(f"{src}: codebase_version is {version!r}, expected v3.0")
    fps = check_number(L.INFO, "fps", info.get("fps"), 0.0, MAX_FPS)
    if not isinstance(info.get("features"), dict) or not info["features"]:
        raise DatasetError(f"{src}: {L.INFO}: 'features' must be a non-empty object")
    features = {
        check_feature_key(L.INFO, str(k)): feature(str(k), v) for k, v in info["features"].items()
    }
    _ensure_new(dst, overwrite)
    for key in video_keys(features):
        vinfo = dict(features[key].get("info") or {})
        vinfo.update({"video.codec": "h264", "video.pix_fmt": "yuv420p"})
        vinfo["video.fps"] = fps
        features[key]["info"] = vinfo
    modality = None
    if spec is not None:
        from groot_sdk.modality import modality_json

        modality = modality_json(spec)
    elif (src / L.MODALITY).exists():
        modality = L.read_json(src / L.MODALITY)
    else:
        log.warning("%s has no meta/modality.json; pass an embodiment to generate one", src)
    writer = DatasetWriter(
        dst,
        features=features,
        fps=fps,
        robot_type=info.get("robot_type") or (spec.robot_type if spec else ""),
        modality=modality,
    )
    tasks = _tasks_v3(src)
    ep_files = sorted((src / "meta" / "episodes").glob("*/*.parquet"))
    if not ep_files:
        raise DatasetError(f"{src}: no meta/episodes/*/*.parquet")
    episodes: list[dict[str, Any]] = []
    for f in ep_files:
        table = pq.read_table(f)
        episodes.extend(table.to_pylist())
    episodes.sort(key=lambda e: int(e["episode_index"]))
    data_template = info.get(
        "data_path", "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
    )
    video_template = info.get("video_path")
    vkeys = video_keys(features)
    cursors = {k: _VideoCursor() for k in vkeys}
    cached: tuple[Path, dict[str, np.ndarray]] | None = None
    columns = [k for k, f in features.items() if f["dtype"] != "video"]
    items = progress(episodes) if progress else episodes
    for ep in items:
        i = int(ep["episode_index"])
        path = L.inside(
            src,
            src
            / str(data_template).format(
                chunk_index=int(ep["data/chunk_index"]), file_index=int(ep["data/file_index"])
            ),
            "data_path",
        )
        if cached is None or cached[0] != path:
            cached = (path, read_columns(path))
        data = cached[1]
        rows = np.flatnonzero(data["episode_index"] == i)
        rows = rows[np.argsort(data["frame_index"][rows], kind="stable")]
        if len(rows) != int(ep["length"]):
            raise DatasetError(
                f"{path.name}: episode {i} has {len(rows)} rows, its metadata says {ep['length']}"
            )
        cols = {k: data[k][rows] for k in columns if k not in L.INDEX_COLUMNS}
        task_list = [tasks[int(t)] for t in data["task_index"][rows]]
        videos = {}
        for key in vkeys:
            vpath = L.inside(
                src,
                src
                / str(video_template).format(
                    video_key=key,
                    chunk_index=int(ep[f"videos/{key}/chunk_index"]),
                    file_index=int(ep[f"videos/{key}/file_index"]),
                ),
                "video_path",
            )
            videos[key] = list(
                cursors[key].frames(
                    vpath,
                    float(ep[f"videos/{key}/from_timestamp"]),
                    float(ep[f"videos/{key}/to_timestamp"]),
                    writer.fps,
                )
            )
            if len(videos[key]) != len(rows):
                raise DatasetError(
                    f"{vpath.name}: episode {i} of '{key}' has {len(videos[key])} frames "
                    f"for {len(rows)} rows"
                )
        writer.write_episode(cols, videos, task_list)
    writer.close()
    return writer
