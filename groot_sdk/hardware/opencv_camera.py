"""Cameras through OpenCV (``pip install 'groot-sdk[camera]'``; cv2 is imported lazily).

A reader thread grabs frames as fast as the camera delivers them and keeps only the newest,
converted to RGB and resized, so ``read()`` never waits on the device: a slow or stalled
camera shows up as a stale frame, which ``read()`` reports as a :class:`HardwareError`
naming the camera (the deployer then holds) instead of stalling the control loop.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from groot_sdk.errors import HardwareError, require
from groot_sdk.hardware.lifecycle import State
from groot_sdk.hardware.readings import Frame
from groot_sdk.hardware.sensor import Camera
from groot_sdk.spec.cameras import ColorOrder

log = logging.getLogger(__name__)


class OpenCVCamera(Camera):
    """``source``: a device index (``0``), a device path, a video file or a stream URL.

    ``width``/``height``/``fps`` are requested from the device; ``resize`` (w, h) scales
    what ``read()`` returns. ``fourcc="MJPG"`` asks USB cameras for MJPEG, which most need
    for 640x480 at 30 fps. Files play at ``fps`` (their own rate by default), like a live
    camera; ``loop`` rewinds them at the end.
    """

    def __init__(
        self,
        name: str,
        source: int | str,
        *,
        camera: str | None = None,
        width: int | None = None,
        height: int | None = None,
        fps: float | None = None,
        fourcc: str | None = "MJPG",
        resize: tuple[int, int] | None = None,
        max_age_s: float = 0.5,
        open_timeout_s: float = 5.0,
        loop: bool = False,
    ) -> None:
        super().__init__(name, camera)
        if isinstance(source, str) and source.isdigit():
            source = int(source)
        self.source = source
        self.width, self.height, self.fps, self.fourcc = width, height, fps, fourcc
        self.resize = resize
        self.max_age_s, self.open_timeout_s, self.loop = max_age_s, open_timeout_s, loop
        self._is_file = isinstance(source, str) and Path(source).is_file()
        self._cap: Any = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._latest: Frame | None = None
        self._error = ""
        self.frames_grabbed = 0

    def _on_connect(self) -> None:
        cv2 = require("cv2", "camera", f"camera '{self.camera}'")
        cap = cv2.VideoCapture(self.source)
        if not cap.isOpened():
            raise HardwareError(f"camera '{self.camera}': cannot open {self.source!r}")
        if not self._is_file:
            if self.fourcc:
                cap.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter_fourcc(*self.fourcc))
            if self.width and self.height:
                cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.width)
                cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.height)
            if self.fps:
                cap.set(cv2.CAP_PROP_FPS, self.fps)
        self._cap = cap
        self._stop.clear()
        self._thread = threading.Thread(target=self._grab, name=f"camera-{self.name}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + self.open_timeout_s
        while self._latest is None and time.monotonic() < deadline and self._thread.is_alive():
            time.sleep(0.005)
        if self._latest is None:
            self._shutdown()
            raise HardwareError(
                f"camera '{self.camera}' ({self.source!r}): no frame within "
                f"{self.open_timeout_s:g} s{': ' + self._error if self._error else ''}"
            )

    def _grab(self) -> None:
        cv2 = require("cv2", "camera")
        cap = self._cap
        period = 0.0
        if self._is_file:
            period = 1.0 / (self.fps or cap.get(cv2.CAP_PROP_FPS) or 30.0)
        next_due = time.monotonic()
        index = 0
        while not self._stop.is_set():
            ok, bgr = cap.read()
            if not ok or bgr is None:
                if self._is_file and self.loop:
                    cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
                    continue
                self._error = "the device returned no frame" if not self._is_file else "end of file"
                self._stop.wait(0.01 if not self._is_file else 0.05)
                continue
            rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            if self.resize is not None and (rgb.shape[1], rgb.shape[0]) != tuple(self.resize):
                rgb = cv2.resize(rgb, tuple(self.resize), interpolation=cv2.INTER_AREA)
            index += 1
            frame = Frame(np.ascontiguousarray(rgb), time.monotonic(), ColorOrder.RGB, index)
            with self._lock:
                self._latest = frame
                self._error = ""
            self.frames_grabbed = index
            if period:
                next_due += period
                self._stop.wait(max(0.0, next_due - time.monotonic()))

    def read(self) -> Frame:
        """The newest frame. A stale frame raises :class:`HardwareError` without marking the
        camera faulted: frames may come back, and the deployer decides whether to hold."""
        self._require("read", State.INACTIVE, State.ACTIVE)
        return self._read()

    def _read(self) -> Frame:
        with self._lock:
            frame, error = self._latest, self._error
        if frame is None:
            raise HardwareError(f"camera '{self.camera}': no frame yet")
        age = time.monotonic() - frame.stamp
        if age > self.max_age_s:
            raise HardwareError(
                f"camera '{self.camera}': no new frame for {age:.2f} s"
                f"{' (' + error + ')' if error else ''}"
            )
        return frame

    def _shutdown(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._thread = None
        if self._cap is not None:
            self._cap.release()
            self._cap = None

    def _on_close(self) -> None:
        self._shutdown()

    def diagnose(self) -> list[tuple[str, bool, str]]:
        try:
            frame = self.read()
        except HardwareError as exc:
            return [(f"camera {self.camera}", False, str(exc))]
        h, w = frame.image.shape[:2]
        return [(f"camera {self.camera}", True, f"{w}x{h}, frame {frame.index}")]


def cameras_from_options(spec, options: Mapping[str, Any], *, fake: bool = False) -> dict:
    """``camera_<name>=SOURCE`` options -> OpenCV cameras for the spec's cameras.

    A camera with no source is a synthetic test pattern under ``fake`` and left out (with
    a warning) on real hardware.
    """
    from groot_sdk.hardware.mock import SyntheticCamera
    from groot_sdk.hardware.options import validate_camera_source

    cameras: dict[str, Camera] = {}
    for cam in spec.cameras:
        source = options.get(f"camera_{cam.name}")
        if source is not None:
            source = validate_camera_source(cam.name, source)
            cameras[cam.name] = OpenCVCamera(
                cam.name, source, width=cam.width, height=cam.height, fps=cam.fps,
                resize=(cam.width, cam.height),
            )  # fmt: skip
        elif fake:
            cameras[cam.name] = SyntheticCamera(cam.name, cam.width, cam.height)
        else:
            log.warning("camera '%s' has no source (pass camera_%s=INDEX|PATH)", cam.name, cam.name)
    return cameras
