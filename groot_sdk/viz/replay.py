"""Replay a recorded episode: into rerun (``groot dataset show --rerun``) or into a video of its
cameras above a plot of its joints (``--video out.mp4``, matplotlib + PyAV, no viewer needed).

The rerun paths are the live view's (:mod:`groot_sdk.viz.live`): a run watched live and its
recording replayed later look the same. Reads the dataset through
:class:`~groot_sdk.data.reader.Dataset` only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from groot_sdk.errors import require

#: height (px) each camera is scaled to in a replay video
VIDEO_CAMERA_HEIGHT = 240
VIDEO_PLOT_HEIGHT = 260


def load_episode(root: str | Path, episode: int) -> dict[str, Any]:
    """``t`` (s), ``state``/``action`` arrays, their ``state_names``/``action_names``, and
    ``frames``: camera key -> uint8 (N, H, W, 3), for one episode."""
    from groot_sdk.data.reader import Dataset
    from groot_sdk.data.video import read_frames
    from groot_sdk.data.writer import DatasetError

    ds = Dataset(root)
    if episode not in ds.episode_indices:
        raise DatasetError(f"{root}: no episode {episode} (episodes: {ds.episode_indices[:10]})")
    cols = ds.episode(episode)
    n = len(cols["action"])
    t = np.asarray(cols.get("timestamp", np.arange(n) / ds.fps), np.float64).reshape(-1)
    frames: dict[str, np.ndarray] = {}
    for key in ds.video_keys:
        if ds.v30 is not None:  # v3.0: the episode is a time span of a shared file
            from groot_sdk.data import v30

            start, _end = ds.v30.video_span(episode, key)
            imgs = v30.extract_frames(ds.v30.video_file(episode, key), start, n, ds.fps)
            frames[key] = np.stack(imgs) if imgs else np.zeros((0, 1, 1, 3), np.uint8)
        else:
            frames[key] = read_frames(ds.layout.video_file(episode, key))

    def names(column: str, width: int) -> list[str]:
        got = ds.features.get(column, {}).get("names") or []
        if isinstance(got, dict):  # LeRobot's {"motors": [...]} form
            got = next(iter(got.values()), [])
        got = [str(x) for x in got]
        return got if len(got) == width else [f"{column}[{j}]" for j in range(width)]

    state = np.asarray(cols["observation.state"], np.float64).reshape(n, -1)
    action = np.asarray(cols["action"], np.float64).reshape(n, -1)
    return {
        "t": t,
        "state": state,
        "action": action,
        "state_names": names("observation.state", state.shape[1]),
        "action_names": names("action", action.shape[1]),
        "frames": frames,
        "fps": float(ds.fps),
        "task": ", ".join(
            str(x) for x in ds.episodes[ds.episode_indices.index(episode)].get("tasks", [])
        ),
    }


def log_episode(root: str | Path, episode: int, target: str) -> int:
    """Log an episode to rerun ``target`` (``spawn``, FILE.rrd or an address); returns the
    number of steps logged."""
    from groot_sdk.viz.live import import_rerun, open_stream

    rr = import_rerun()
    ep = load_episode(root, episode)
    rec = open_stream(target, f"groot dataset {Path(root).name} episode {episode}")
    same = ep["state_names"] == ep["action_names"]
    try:
        for k, t in enumerate(ep["t"]):
            rec.set_time("t", duration=float(t))
            for key, frames in ep["frames"].items():
                if k < len(frames):
                    rec.log(
                        f"cameras/{key.removeprefix('observation.images.')}", rr.Image(frames[k])
                    )
            if same:
                for j, name in enumerate(ep["state_names"]):
                    rec.log(f"joints/{name}/position", rr.Scalars(float(ep["state"][k, j])))
                    rec.log(f"joints/{name}/command", rr.Scalars(float(ep["action"][k, j])))
            else:
                for j, name in enumerate(ep["state_names"]):
                    rec.log(f"state/{name}", rr.Scalars(float(ep["state"][k, j])))
                for j, name in enumerate(ep["action_names"]):
                    rec.log(f"action/{name}", rr.Scalars(float(ep["action"][k, j])))
        if ep["task"]:
            rec.log("task", rr.TextDocument(ep["task"]), static=True)
    finally:
        rec.flush()
        rec.disconnect()
    return len(ep["t"])


def _resize_height(img: np.ndarray, height: int) -> np.ndarray:
    """Nearest-neighbour resize to ``height`` keeping the aspect ratio (no extra library)."""
    h, w = img.shape[:2]
    width = max(2, round(w * height / h))
    rows = (np.arange(height) * h / height).astype(int)
    cols = (np.arange(width) * w / width).astype(int)
    return img[rows][:, cols]


def _plot_background(ep: dict[str, Any], width: int) -> tuple[np.ndarray, float, float]:
    """The joint plot as an RGB image and the pixel x of the first and last time."""
    matplotlib = require("matplotlib", "plot", "the replay video's joint plot")
    matplotlib.use("Agg")
    plt = require("matplotlib.pyplot", "plot", "the replay video's joint plot")
    dpi = 100
    fig, ax = plt.subplots(figsize=(width / dpi, VIDEO_PLOT_HEIGHT / dpi), dpi=dpi)
    t = ep["t"]
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    same = ep["state_names"] == ep["action_names"]
    for j, name in enumerate(ep["state_names"][:12]):
        c = colors[j % len(colors)]
        ax.plot(t, ep["state"][:, j], color=c, linewidth=1.0, label=name)
        if same:
            ax.plot(t, ep["action"][:, j], color=c, linewidth=1.0, linestyle="--")
    ax.set_xlim(float(t[0]), float(t[-1]) if len(t) > 1 else float(t[0]) + 1.0)
    ax.set_xlabel("time (s); solid: position, dashed: command", fontsize=7)
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=6, loc="upper right", ncol=3)
    fig.tight_layout()
    fig.canvas.draw()
    img = np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
    (x0, _), (x1, _) = ax.transData.transform([(ax.get_xlim()[0], 0), (ax.get_xlim()[1], 0)])
    plt.close(fig)
    return img, float(x0), float(x1)


def episode_video(root: str | Path, episode: int, out: str | Path) -> tuple[Path, int]:
    """Write ``out`` (mp4, H.264): the episode's cameras side by side above its joint plot,
    with a cursor at each frame's time. Returns the path and the frame count."""
    from groot_sdk.data.video import VideoEncoder

    ep = load_episode(root, episode)
    n = len(ep["t"])
    cams = [f for f in ep["frames"].values() if len(f)]
    tops = []
    for k in range(n):
        row = [_resize_height(f[min(k, len(f) - 1)], VIDEO_CAMERA_HEIGHT) for f in cams]
        tops.append(np.concatenate(row, axis=1) if row else None)
    width = max((tp.shape[1] for tp in tops if tp is not None), default=640)
    width += width % 2
    plot, x0, x1 = _plot_background(ep, width)
    plot = (
        plot[:, :width]
        if plot.shape[1] >= width
        else np.pad(plot, ((0, 0), (0, width - plot.shape[1]), (0, 0)), constant_values=255)
    )
    t0, t1 = float(ep["t"][0]), float(ep["t"][-1])
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    enc: VideoEncoder | None = None
    try:
        for k in range(n):
            frame = plot.copy()
            x = x0 if t1 <= t0 else x0 + (ep["t"][k] - t0) / (t1 - t0) * (x1 - x0)
            xi = int(np.clip(round(x), 0, width - 2))
            frame[:, xi : xi + 2] = (220, 30, 30)
            top = tops[k]
            if top is not None:
                top = np.pad(top, ((0, 0), (0, width - top.shape[1]), (0, 0)))
                frame = np.concatenate([top, frame], axis=0)
            if frame.shape[0] % 2:
                frame = np.pad(frame, ((0, 1), (0, 0), (0, 0)))
            if enc is None:
                enc = VideoEncoder(out, frame.shape[1], frame.shape[0], ep["fps"])
            enc.add(np.ascontiguousarray(frame))
    except BaseException:
        if enc is not None:
            enc.abort()
        raise
    if enc is not None:
        enc.close()
    return out, n


__all__ = ["episode_video", "load_episode", "log_episode"]
