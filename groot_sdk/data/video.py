"""H.264 (yuv420p) mp4 episodes through PyAV: an incremental encoder and light readers.

H.264 rather than LeRobot's AV1 default because Isaac-GR00T's decoders (torchvision_av, decord)
all read it; yuv420p because that is what every H.264 decoder supports. Frame ``i`` has
presentation time ``i / fps``, which is what GR00T's timestamp-based frame lookup expects.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
from attrs import frozen

from groot_sdk.errors import GrootError, require

log = logging.getLogger(__name__)

#: x264 settings: a keyframe every 2 frames like LeRobot (cheap random access when training
#: samples single frames), visually lossless-ish quality, and a preset fast enough to record
#: in real time on a laptop core.
DEFAULT_OPTIONS: dict[str, str] = {"g": "2", "crf": "23", "preset": "veryfast"}


def _av():
    return require("av", "data", "video encoding")


def fps_fraction(fps: float) -> Fraction:
    return Fraction(fps).limit_denominator(1001)


class VideoEncoder:
    """Encodes uint8 (H, W, 3) RGB frames one at a time into an mp4 (H.264, yuv420p)."""

    def __init__(
        self,
        path: str | Path,
        width: int,
        height: int,
        fps: float,
        options: Mapping[str, str] | None = None,
    ) -> None:
        if width % 2 or height % 2:
            raise GrootError(
                f"{path}: H.264 yuv420p needs even width and height, got {width}x{height}"
            )
        av = _av()
        self.path = Path(path)
        self.width, self.height = width, height
        self.frames = 0
        self._av = av
        self._container = av.open(str(self.path), mode="w", format="mp4")
        self._stream = self._container.add_stream("libx264", rate=fps_fraction(fps))
        self._stream.width, self._stream.height = width, height
        self._stream.pix_fmt = "yuv420p"
        self._stream.options = dict(options or DEFAULT_OPTIONS)
        self._closed = False

    def add(self, image: np.ndarray) -> None:
        if image.shape != (self.height, self.width, 3) or image.dtype != np.uint8:
            raise GrootError(
                f"{self.path.name}: frame {self.frames} is {image.dtype} {image.shape}, "
                f"expected uint8 ({self.height}, {self.width}, 3)"
            )
        frame = self._av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
        frame.pts = self.frames
        for packet in self._stream.encode(frame):
            self._container.mux(packet)
        self.frames += 1

    def close(self) -> None:
        """Flush the encoder and write the mp4 trailer (the file is unreadable before)."""
        if self._closed:
            return
        self._closed = True
        try:
            for packet in self._stream.encode(None):
                self._container.mux(packet)
        finally:
            self._container.close()

    def abort(self) -> None:
        if not self._closed:
            self._closed = True
            try:
                self._container.close()
            except Exception as exc:  # noqa: BLE001 - the file is discarded anyway
                log.debug("closing %s after an error: %s", self.path, exc)


def write_video(path: str | Path, frames: np.ndarray, fps: float, **kw: Any) -> int:
    """Encode a (T, H, W, 3) uint8 array; return the number of frames written."""
    frames = np.asarray(frames)
    enc = VideoEncoder(path, frames.shape[2], frames.shape[1], fps, **kw)
    try:
        for img in frames:
            enc.add(img)
    except BaseException:
        enc.abort()
        raise
    enc.close()
    return enc.frames


@frozen
class VideoInfo:
    frames: int  #: counted from the packets, not from the header
    width: int
    height: int
    codec: str
    pix_fmt: str
    fps: float
    first_time: float  #: presentation time of the first frame, seconds
    last_time: float


def probe(path: str | Path) -> VideoInfo:
    """Frame count (by demuxing every packet; no decoding), size, codec, timing."""
    av = _av()
    with av.open(str(path)) as container:
        if not container.streams.video:
            raise GrootError(f"{path}: has no video stream")
        stream = container.streams.video[0]
        ctx = stream.codec_context
        times = []
        for packet in container.demux(stream):
            if packet.size == 0 or packet.pts is None:
                continue
            times.append(float(packet.pts * stream.time_base))
        rate = stream.average_rate or stream.base_rate or 0
        return VideoInfo(
            frames=len(times),
            width=ctx.width,
            height=ctx.height,
            codec=ctx.name,
            pix_fmt=str(ctx.pix_fmt or ""),
            fps=float(rate),
            first_time=min(times) if times else 0.0,
            last_time=max(times) if times else 0.0,
        )


def iter_frames(path: str | Path) -> Iterator[tuple[float, np.ndarray]]:
    """Decode every frame: ``(time in seconds, uint8 (H, W, 3) RGB)`` in presentation order."""
    av = _av()
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for frame in container.decode(stream):
            yield float(frame.time or 0.0), frame.to_ndarray(format="rgb24")


def read_frames(path: str | Path) -> np.ndarray:
    return np.stack([img for _, img in iter_frames(path)])
