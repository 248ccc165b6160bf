"""The live view: cameras, joint positions against commands, the action chunk and loop
timing, logged to rerun (``rerun-sdk``, the ``viz`` extra, as LeRobot's own tools use) while
``groot run``, ``groot teleop`` or a recording runs.

Entity paths: ``cameras/<name>`` (RGB at model resolution), ``joints/<joint>/position`` and
``joints/<joint>/command`` (scalars; for a robot whose state is not its joints,
``state/<name>`` and ``action/<name>``), ``chunk/<action key>`` (the policy's last chunk as a
tensor, horizon x dim), ``timing/<field>`` (loop rate, jitter, holds). Time lines: ``t``
(control time, seconds) and rerun's own log time.

The view never slows the loop by much: it is called at policy steps (not every tick) and
rerun's SDK buffers and sends in its own thread.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from groot_sdk.errors import GrootError, require
from groot_sdk.policy.backend import ActionChunk, Observation, PolicyBackend
from groot_sdk.spec import EmbodimentSpec

TIMING_KEYS = ("loop_hz", "jitter_ms_p99", "overruns", "holds")


class ViewError(GrootError, ValueError):
    """A --view target that cannot be used."""


def import_rerun():
    return require("rerun", "viz", "the live view and `groot dataset show --rerun`")


def open_stream(target: str, name: str) -> Any:
    """A rerun recording stream to ``target``: ``spawn`` (a local viewer), a path ending in
    ``.rrd`` (a file, for headless machines: open it later with ``rerun FILE``) or a
    ``rerun+http://`` address (a running viewer)."""
    rr = import_rerun()
    rec = rr.RecordingStream(name)
    if target == "spawn":
        rec.spawn()
    elif target.startswith(("rerun://", "rerun+http://", "rerun+https://")):
        rec.connect_grpc(target)
    elif target.endswith(".rrd"):
        path = Path(target)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch()
        except OSError as exc:
            raise ViewError(f"--view: cannot write {target}: {exc}") from None
        rec.save(str(path))
    else:
        raise ViewError(
            f"--view: give 'spawn', a FILE.rrd or a rerun+http:// address, got '{target[:200]}'"
        )
    return rec


class LiveView:
    """Logs one run to a rerun stream (see the module docstring)."""

    def __init__(self, rec: Any, spec: EmbodimentSpec) -> None:
        self.rr = import_rerun()
        self.rec, self.spec = rec, spec
        self.joint_state = spec.state_dims is None  #: the state vector is the joints
        self._lock = threading.Lock()  #: steps (loop thread) and chunks (worker) interleave
        self.t = 0.0
        self.steps = 0
        self.chunks = 0
        self._closed = False

    @classmethod
    def open(cls, target: str, spec: EmbodimentSpec, name: str = "groot") -> LiveView:
        return cls(open_stream(target, name), spec)

    def step(
        self,
        frames: Mapping[str, np.ndarray],
        state: np.ndarray,
        action: np.ndarray,
        t: float,
        policy: Any = None,
    ) -> None:
        """One policy step: what was observed and what was commanded."""
        rr, rec, spec = self.rr, self.rec, self.spec
        with self._lock:
            self.t = float(t)
            rec.set_time("t", duration=self.t)
            for name, img in frames.items():
                rec.log(f"cameras/{name}", rr.Image(np.asarray(img)))
            state = np.asarray(state, np.float64).reshape(-1)
            action = np.asarray(action, np.float64).reshape(-1)
            if self.joint_state:
                for i, name in enumerate(spec.joint_names):
                    rec.log(f"joints/{name}/position", rr.Scalars(float(state[i])))
                    rec.log(f"joints/{name}/command", rr.Scalars(float(action[i])))
            else:
                for i, name in enumerate(spec.state_names):
                    rec.log(f"state/{name}", rr.Scalars(float(state[i])))
                for i, name in enumerate(spec.joint_names):
                    rec.log(f"action/{name}", rr.Scalars(float(action[i])))
            self.steps += 1

    def chunk(self, chunk: Mapping[str, np.ndarray]) -> None:
        """The policy's answer (logged at the control time of the last step)."""
        rr, rec = self.rr, self.rec
        with self._lock:
            rec.set_time("t", duration=self.t)
            for key, arr in chunk.items():
                a = np.asarray(arr, np.float32)
                a = a.reshape(-1, a.shape[-1]) if a.ndim >= 2 else a.reshape(1, -1)
                rec.log(f"chunk/{key.removeprefix('action.')}", rr.Tensor(a))
            self.chunks += 1

    def status(self, status: Mapping[str, Any]) -> None:
        """The deployer's periodic status (loop rate, jitter, holds...)."""
        rr, rec = self.rr, self.rec
        with self._lock:
            rec.set_time("t", duration=float(status.get("t", self.t)))
            for key in TIMING_KEYS:
                v = status.get(key)
                if isinstance(v, (int, float)) and np.isfinite(v):
                    rec.log(f"timing/{key}", rr.Scalars(float(v)))

    def tee_status(self, then: Any) -> Any:
        """A status callback that shows the status here, then calls ``then``."""

        def on_status(status: Mapping[str, Any]) -> None:
            self.status(status)
            then(status)

        return on_status

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self.rec.flush()
        finally:
            disconnect = getattr(self.rec, "disconnect", None)
            if disconnect is not None:
                disconnect()


class ViewedPolicy(PolicyBackend):
    """``inner`` with each chunk shown in ``view`` (called in the inference thread)."""

    def __init__(self, inner: PolicyBackend, view: LiveView) -> None:
        self.inner, self.view = inner, view
        self.dialect, self.batched = inner.dialect, inner.batched
        for attr in ("policy_hz", "replan_every", "stats"):
            if hasattr(inner, attr):
                setattr(self, attr, getattr(inner, attr))

    @property
    def layout(self):
        return self.inner.layout

    def reset(self, options: Mapping[str, Any] | None = None) -> None:
        self.inner.reset(options)

    @property
    def clock(self) -> Any:
        """The inner policy's control clock (open-loop baselines); AttributeError without."""
        return self.inner.clock  # type: ignore[attr-defined]

    @clock.setter
    def clock(self, value: Any) -> None:
        self.inner.clock = value  # type: ignore[attr-defined]

    def get_action(self, observation: Observation) -> ActionChunk:
        chunk = self.inner.get_action(observation)
        self.view.chunk(chunk)
        return chunk

    def close(self) -> None:
        self.inner.close()


class ViewedRecorder:
    """A StepRecorder that shows each step in ``view`` and passes it on to ``inner``
    (None: view only)."""

    def __init__(self, inner: Any, view: LiveView) -> None:
        self.inner, self.view = inner, view

    def start_episode(self, task: str) -> None:
        if self.inner is not None:
            self.inner.start_episode(task)

    def add_step(self, frames, state, action, timestamp) -> None:
        self.view.step(frames, state, action, timestamp)
        if self.inner is not None:
            self.inner.add_step(frames, state, action, timestamp)

    def end_episode(self, success: bool | None = None) -> None:
        if self.inner is not None:
            self.inner.end_episode(success)

    def close(self) -> None:
        if self.inner is not None:
            self.inner.close()


__all__ = [
    "LiveView",
    "ViewError",
    "ViewedPolicy",
    "ViewedRecorder",
    "import_rerun",
    "open_stream",
]
