"""``LeRobotRecorder``: the deployer's :class:`~groot_sdk.deploy.base.StepRecorder` that writes a
LeRobot v2.1 dataset.

The control loop only copies the step and appends it to a queue; a worker thread encodes video
and writes files. When the worker falls ``max_pending`` steps behind, new steps are dropped
(counted in :attr:`dropped`) rather than slowing the loop. The ``timestamp`` column is
``frame_index / fps`` (the time of the step's video frame), as LeRobot and GR00T expect.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from typing_extensions import Self

from groot_sdk.data.writer import DatasetWriter, PendingEpisode
from groot_sdk.errors import GrootError, ObservationError, require
from groot_sdk.spec import EmbodimentSpec

log = logging.getLogger(__name__)


class RecorderError(GrootError, RuntimeError):
    """The recording worker failed; the message says why."""


class LeRobotRecorder:
    """Records the steps a deployer sees into ``root`` (created, or appended to).

    ``max_pending``: steps the worker may lag behind before new ones are dropped;
    ``progress``: show a tqdm counter of recorded episodes.
    """

    def __init__(
        self,
        root: str | Path,
        spec: EmbodimentSpec,
        fps: float | None = None,
        task: str = "",
        *,
        max_pending: int = 256,
        video_options: Mapping[str, str] | None = None,
        progress: bool = False,
    ) -> None:
        self.spec = spec
        self.task = task
        self.fps = float(fps or spec.rates.policy_hz)
        self.writer = DatasetWriter.for_spec(root, spec, self.fps, video_options=video_options)
        self.root = self.writer.root
        self.max_pending = max_pending
        self.dropped = 0  #: steps dropped because the worker was behind (all episodes)
        self.episodes_written = 0
        self.frames_written = 0
        self._cameras = [(c.name, c.original_key, c.model_shape) for c in spec.cameras]
        self._queue: queue.Queue[tuple[str, Any]] = queue.Queue()
        self._pending = 0  # steps queued, not yet consumed
        self._lock = threading.Lock()
        self._in_episode = False
        self._episode_dropped = 0
        self._error: BaseException | None = None
        self._closed = False
        self._bar: Any = None
        if progress:  # a counter of committed episodes on stderr (tqdm, when it is a TTY)
            tqdm = require("tqdm", "data", "progress bars").tqdm
            self._bar = tqdm(desc=f"recording {self.root.name}", unit="ep", disable=None)
        self._thread = threading.Thread(target=self._run, name="groot-recorder", daemon=True)
        self._thread.start()

    # -- the StepRecorder protocol (called from the control loop; never blocks) --------------
    def start_episode(self, task: str = "") -> None:
        self._check()
        if self._in_episode:
            log.warning("start_episode without end_episode: the unfinished episode is dropped")
        self._in_episode = True
        self._episode_dropped = 0
        self._queue.put(("start", task or self.task))

    def add_step(
        self,
        frames: Mapping[str, np.ndarray],
        state: np.ndarray,
        action: np.ndarray,
        timestamp: float,
    ) -> None:
        self._check()
        if not self._in_episode:
            raise RecorderError("add_step before start_episode")
        with self._lock:
            if self._pending >= self.max_pending:
                self.dropped += 1
                self._episode_dropped += 1
                return
            self._pending += 1
        try:
            step = self._copy(frames, state, action)
        except BaseException:
            with self._lock:
                self._pending -= 1
            raise
        self._queue.put(("step", step))

    def end_episode(self, success: bool | None = None) -> None:
        """Never raises: deployers call it from ``finally`` blocks; a failed recording is
        reported by :meth:`add_step` and :meth:`close`."""
        if not self._in_episode or self._closed:
            return
        self._in_episode = False
        if self._episode_dropped:
            log.warning(
                "recorder: %d steps of this episode were dropped (the writer fell behind)",
                self._episode_dropped,
            )
        self._queue.put(("end", (success, self._episode_dropped)))

    def close(self) -> None:
        """Finish the queued work, discard an episode that was never ended, stop the worker."""
        if self._closed:
            return
        self._closed = True
        if self._in_episode:
            log.warning("recorder closed mid-episode: that episode is not kept")
            self._in_episode = False
        self._queue.put(("close", None))
        self._thread.join()
        if self._error is not None:
            raise RecorderError(f"recording to {self.root} failed: {self._error}") from self._error

    # -- extras -----------------------------------------------------------------------------
    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every queued item is written; False on timeout."""
        done = threading.Event()
        self._queue.put(("flush", done))
        return done.wait(timeout)

    def summary(self) -> dict[str, Any]:
        return {
            "dataset": str(self.root),
            "episodes_recorded": self.episodes_written,
            "frames_recorded": self.frames_written,
            "dropped_steps": self.dropped,
        }

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _check(self) -> None:
        if self._error is not None:
            raise RecorderError(f"recording to {self.root} failed: {self._error}") from self._error
        if self._closed:
            raise RecorderError("the recorder is closed")

    def _copy(self, frames, state, action) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
        state = np.array(state, np.float32, copy=True).reshape(-1)
        action = np.array(action, np.float32, copy=True).reshape(-1)
        if state.shape != (self.spec.state_dim,):
            raise ObservationError(
                f"recorder: state has {state.size} values, {self.spec.name} has "
                f"{self.spec.state_dim} ({', '.join(self.spec.state_names[:4])}, ...)"
            )
        if action.shape != (self.spec.action_dim,):
            raise ObservationError(
                f"recorder: action has {action.size} values, {self.spec.name} has "
                f"{self.spec.action_dim} joints"
            )
        images = {}
        for name, key, shape in self._cameras:
            img = frames.get(name)
            if img is None:
                img = frames.get(key)
            if img is None:
                raise ObservationError(f"recorder: no frame for camera '{name}'")
            if img.shape != shape or img.dtype != np.uint8:
                raise ObservationError(
                    f"recorder: camera '{name}' frame is {img.dtype} {img.shape}, expected "
                    f"uint8 {shape} (the model resolution)"
                )
            images[key] = np.array(img, copy=True)
        return images, state, action

    # -- the worker -------------------------------------------------------------------------
    def _run(self) -> None:
        pending: PendingEpisode | None = None
        task = ""
        states: list[np.ndarray] = []
        actions: list[np.ndarray] = []
        failed = False
        while True:
            kind, payload = self._queue.get()
            if kind == "step":
                with self._lock:
                    self._pending -= 1
            if kind == "flush":
                payload.set()
                continue
            if kind == "close":
                if pending is not None:
                    self.writer.discard(pending)
                if self._bar is not None:
                    self._bar.close()
                try:
                    self.writer.close()
                except Exception as exc:  # reported by close()
                    log.exception("finishing the dataset failed")
                    self._error = self._error or exc
                return
            if failed:
                continue
            try:
                if kind == "start":
                    if pending is not None:
                        self.writer.discard(pending)
                    pending, task, states, actions = self.writer.new_episode(), payload, [], []
                elif kind == "step" and pending is not None:
                    images, state, action = payload
                    for key, img in images.items():
                        pending.add_frame(key, img)
                    states.append(state)
                    actions.append(action)
                elif kind == "end" and pending is not None:
                    success, dropped = payload
                    if states:
                        extra: dict[str, Any] = {}
                        if success is not None:
                            extra["success"] = bool(success)
                        if dropped:
                            extra["dropped_steps"] = int(dropped)
                        columns = {
                            "observation.state": np.stack(states),
                            "action": np.stack(actions),
                        }
                        row = self.writer.commit(pending, columns, task, extra=extra)
                        self.episodes_written += 1
                        self.frames_written += int(row["length"])
                        if self._bar is not None:
                            self._bar.update(1)
                            self._bar.set_postfix(frames=self.frames_written, dropped=self.dropped)
                        log.info(
                            "recorded episode %d (%d frames)", row["episode_index"], row["length"]
                        )
                    else:
                        self.writer.discard(pending)
                    pending = None
            except BaseException as exc:  # keep draining so the loop never blocks on us
                log.exception("recorder worker failed")
                self._error = exc
                failed = True
                if pending is not None:
                    self.writer.discard(pending)
                    pending = None
