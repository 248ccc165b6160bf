"""The passive controller: the deployer's policy execution, driven by someone else's loop.

A host that owns the clock, the sensors and the actuators (a ROS 2 timer, a LeRobot loop, a
gymnasium env, a C++ stack's sidecar) calls ``command = controller.step(joints, frames, t)``
at its own rate and sends ``command.position`` (or holds, or stops, as ``command.mode``
says). Everything between is what :class:`~groot_sdk.deploy.RealtimeDeployer` does, because
the deployer is a loop over this class: asynchronous inference in a worker thread, the chunk
queue placed in control time, cross-fading of overlapping chunks, decoding, the safety filter
(joint limits, ``velocity_limit`` per unit of control time, and on hardware per unit of
*measured* monotonic time as well) and the watchdog (hold when no action is due, stop after
another ``timeout``). See docs/embedding.md for the threading model and the timing contract.

``t`` is control time in seconds, any origin, never decreasing; the host may call irregularly
and at any rate (the policy is asked at most once per policy period and only when the queue
runs low). ``step`` never waits for the policy, except for the first chunk after ``reset``
(up to ``startup_timeout``) and in lock-step mode (``sync``, ``rate_hz=0`` or a one-step
policy: up to ``timeout``); ``interrupt()`` from any thread ends such a wait.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import numpy as np
from attrs import frozen
from typing_extensions import Self

from groot_sdk.deploy.config import DeployConfig
from groot_sdk.deploy.inference import InferenceResult, InferenceWorker
from groot_sdk.deploy.trajectory import ChunkTrajectory
from groot_sdk.errors import ActionError, GrootError, ObservationError
from groot_sdk.hardware import Frame, ImuReading, JointState
from groot_sdk.policy.actions import ActionDecoder, SafetyFilter, zero_order_mask
from groot_sdk.policy.backend import PolicyBackend
from groot_sdk.policy.observation import (
    DERIVED_STATE_KEYS,
    ObservationAssembler,
    ObservationValidator,
    derived_state,
    prepare_frame,
)
from groot_sdk.spec import EmbodimentSpec

log = logging.getLogger(__name__)

RUN, HOLD, STOP = "run", "hold", "stop"


class NoObservation(GrootError):
    """A sensor had nothing fresh this policy step: no request is made; the queue runs out
    and the watchdog holds, then stops."""


@frozen(eq=False)
class Command:
    """What the host does this tick.

    ``mode``: ``"run"``: send ``position``; ``"hold"``: hold the robot (``position`` is the last
    setpoint sent); ``"stop"``: safe stop now (disable or damp the actuators) and call
    ``reset`` before stepping again. ``safety``: the stop came from the watchdog or a fault
    (not from ``interrupt``).
    """

    position: np.ndarray  #: joint-order setpoint (``spec.joint_names``), float32
    mode: str
    t: float  #: the control time this command is for
    reason: str = ""
    safety: bool = False


@frozen(eq=False)
class Sensed:
    """One observation, read in the host's thread; ``build`` assembles it in the worker."""

    joints: JointState
    build: Callable[[], Any]
    state: np.ndarray  #: the spec's state vector
    frames: dict[str, np.ndarray]  #: model-resolution RGB frames, only when recording


class _Halt(Exception):
    def __init__(self, reason: str, safety: bool) -> None:
        super().__init__(reason)
        self.reason, self.safety = reason, safety


class Controller:
    """Runs ``policy`` for a host loop (see the module docstring).

    ``config`` takes the deployer's options; the ones about the loop itself (``seconds``,
    ``episodes``, ``telemetry``, ``plot``, ``status_every``, ``rt_priority``) are the host's
    business and ignored here. ``hardware`` (default ``config.hardware``, and True when that
    is None): bound each setpoint by the velocity limit times the measured monotonic time
    since the previous one too; a simulator host that steps faster or slower than real time
    passes False. ``record``: read an observation at every policy step even when no request
    is due (``sensed`` then holds it, for a dataset writer).
    """

    def __init__(
        self,
        spec: EmbodimentSpec,
        policy: PolicyBackend,
        config: DeployConfig | None = None,
        *,
        hardware: bool | None = None,
        record: bool = False,
        abort: threading.Event | None = None,
    ) -> None:
        cfg = config or DeployConfig()
        self.spec, self.policy, self.config = spec, policy, cfg
        self.layout = policy.layout
        self.dt = spec.rates.low_level_dt
        # a backend may run at its own rate (an RL controller at rl_hz)
        self.policy_hz = float(getattr(policy, "policy_hz", None) or spec.rates.policy_hz)
        self.policy_dt = 1.0 / self.policy_hz
        self.rate_hz = spec.rates.low_level_hz if cfg.rate_hz is None else cfg.rate_hz
        horizon = self.layout.action_horizon
        # lock-step when asked, when free-running, and for one-step policies (which have
        # nothing left to execute while they think)
        self.sync = cfg.sync or self.rate_hz <= 0 or horizon == 1
        self.assemble = ObservationAssembler(spec, policy.dialect, policy.batched, self.layout)
        self._validate = ObservationValidator(self.layout, policy.dialect, policy.batched or None)
        self.decoder = ActionDecoder(spec, self.layout, cfg.action_map, cfg.gripper)
        # a one-step policy (an RL controller) steps its targets once per policy step, as it
        # was trained: bound that step by velocity_limit * policy_dt, not per control tick
        self.safety = SafetyFilter(spec, max(self.dt, self.policy_dt) if horizon == 1 else self.dt)
        if hardware is None:
            hardware = True if cfg.hardware is None else bool(cfg.hardware)
        self.hardware = hardware
        self.monotonic: Callable[[], float] = time.monotonic  #: the clock of that bound
        replan = cfg.replan_every or getattr(policy, "replan_every", None) or max(1, horizon // 2)
        self.replan_every = int(min(max(1, replan), horizon))
        self._due_below = horizon - self.replan_every + 1e-6
        self.blend = self.policy_dt if cfg.blend is None else cfg.blend
        self.record = record
        self.abort = abort if abort is not None else threading.Event()
        spec_keys = {g.key for g in spec.observed_state_groups}
        self._derived = [
            k.key
            for k in self.layout.state
            if k.key in DERIVED_STATE_KEYS and k.key not in spec_keys
        ]
        self._video = {v.name for v in self.layout.video}
        self._zero_order = zero_order_mask(spec)
        self.worker: InferenceWorker | None = None
        self._worker_open = False
        self.events: list[tuple[float, str]] = []  #: (control time, what): holds, stops
        self.request_times: list[float] = []  #: control times of inference requests
        self.instruction = cfg.task
        self._tag = 0
        self._obs_time = 0.0
        self.traj = ChunkTrajectory(self.policy_dt, self._zero_order)
        # the episode's state (``_begin`` sets it)
        self._command: np.ndarray | None = None  #: the last setpoint sent
        self._next_policy: float | None = None  #: control time of the next policy step
        self._pending_since: float | None = None  #: control time of the request in flight
        self._hold_since: float | None = None
        self._last_write: float | None = None  #: monotonic time of the last write (hardware)
        self._last_now: float | None = None  #: control time of the last setpoint
        self._last_t: float | None = None
        self._t0: float | None = None
        self._halted: Command | None = None  #: the stop, repeated until reset
        self._paused = False
        self.ticks = 0
        self.sensed: Sensed | None = None  #: the observation taken at the last tick, if any
        self.started = False  #: the last tick waited for the episode's first chunk (async)
        self.clear_counters()
        self._begin(None)
        self._reset_done = False

    # -- host API ----------------------------------------------------------------------------
    def reset(
        self, position: np.ndarray | None = None, task: str | None = None, *, wait: bool = True
    ) -> None:
        """Start an episode: drop the queue and any answer still coming, reset the policy.
        ``position``: the setpoint being held now (default: the next step's joint positions);
        ``task``: the instruction (default: ``config.task``); ``wait``: first give a policy
        call in flight ``max(timeout, 1 s)`` to end (False: the caller did)."""
        if wait and self._worker_open and self.inference_in_flight:
            self.wait_idle(max(self.config.timeout, 1.0))
        self.open()
        self._tag += 1  # results of earlier episodes are discarded
        self.policy.reset()
        if hasattr(self.policy, "clock"):  # open-loop baselines follow the control clock
            self.policy.clock = lambda: self._obs_time
        self.instruction = str(self.config.task if task is None else task)
        self._dropped += self.traj.dropped
        self.traj = ChunkTrajectory(self.policy_dt, self._zero_order)
        self._begin(position)
        self._reset_done = True

    def step(
        self,
        joints: JointState | np.ndarray,
        frames: Mapping[str, Frame | np.ndarray]
        | Callable[[], Mapping[str, Frame | np.ndarray]]
        | None = None,
        t: float | None = None,
        *,
        state: np.ndarray | None = None,
        imu: ImuReading | None = None,
    ) -> Command:
        """One host tick at control time ``t`` (default: monotonic seconds since the first).

        ``joints``: measured positions in ``spec.joint_names`` order (a JointState carries
        velocities for policies that want them); ``frames``: camera name -> RGB uint8 image
        or Frame, or a callable returning them (called only when an observation is taken, so
        a simulator renders only then); ``state``: the spec's state vector where it is not
        the joints; ``imu``: for policies that observe gravity or angular rate.
        """
        js = joints if isinstance(joints, JointState) else JointState(np.asarray(joints))
        if js.position.shape != (self.spec.dof,):
            raise ObservationError(
                f"Controller.step: joints has shape {js.position.shape}, expected "
                f"({self.spec.dof},) in the order {', '.join(self.spec.joint_names)}"
            )
        if t is None:
            t = time.monotonic() - self._t0 if self._t0 is not None else 0.0
            if self._t0 is None:
                self._t0 = time.monotonic()
        t = float(t)
        if not np.isfinite(t) or (self._last_t is not None and t < self._last_t):
            raise ObservationError(
                f"Controller.step: t must be finite and never decrease, got {t} after "
                f"{self._last_t}"
            )
        self._last_t = t
        if not self._reset_done:
            self.reset()
        if self._command is None:
            self._command = np.array(js.position, np.float32)
            if not np.isfinite(self._command).all():
                raise ObservationError(f"{self.spec.name}: non-finite joint positions")

        def sense() -> Sensed:
            if state is not None:
                vec = np.asarray(state, np.float32).reshape(-1)
            elif self.spec.state_dims is None:
                vec = js.position
            else:
                raise ObservationError(
                    f"{self.spec.name}: its state is not the joints "
                    f"({', '.join(self.spec.state_names)}); pass state="
                )
            if vec.shape != (self.spec.state_dim,):
                raise ObservationError(
                    f"Controller.step: state has {vec.size} values, expected "
                    f"{self.spec.state_dim} ({', '.join(self.spec.state_names)})"
                )
            raw = frames() if callable(frames) else (frames or {})
            images = {
                k: v if isinstance(v, Frame) else Frame(np.asarray(v)) for k, v in raw.items()
            }
            return self.sense(js, vec, images, imu)

        cmd = self.tick(t, sense)
        return attrs.evolve(cmd, position=cmd.position.copy())

    def hold(self) -> Command:
        """Pause the policy: the queue is dropped and steps return ``"hold"`` at the last
        setpoint (a deliberate hold: no watchdog) until :meth:`resume` or :meth:`reset`."""
        self._paused = True
        self._tag += 1  # an answer still coming belongs to before the pause
        self._pending_since = self._hold_since = None
        self.traj.clear()
        position = self._command if self._command is not None else np.zeros(self.spec.dof)
        return Command(np.array(position, np.float32), HOLD, self._last_t or 0.0, "held")

    def resume(self) -> None:
        """End a :meth:`hold`: the policy is asked again (the watchdog runs again too)."""
        self._paused = False
        self._last_write = self._last_now = None

    def interrupt(self) -> None:
        """From any thread: end a wait for the policy; that step returns ``"stop"``."""
        self.abort.set()

    def close(self, timeout: float = 0.2) -> None:
        """End the worker thread; a policy call still running is left behind (a daemon),
        so closing never waits for the policy. The backend stays open (its owner closes it)."""
        if self.worker is not None and self._worker_open:
            self.worker.close(timeout=timeout)
        self._worker_open = False  # the worker stays readable (inference_in_flight)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- state -------------------------------------------------------------------------------
    @property
    def inference_in_flight(self) -> bool:
        """Whether a policy call is still running (e.g. after a stop that did not wait)."""
        return self.worker is not None and self.worker.pending

    @property
    def dropped(self) -> int:
        """Chunk steps dropped because they were already in the past."""
        return self._dropped + self.traj.dropped

    def clear_counters(self) -> None:
        """Zero the run statistics (latencies, steps, rejects, holds...)."""
        self.latencies: list[float] = []
        self.policy_steps = 0
        self.rejected = 0
        self.holds = 0
        self.camera_faults = 0
        self.wall_limited = 0  #: setpoints shortened by the wall-clock bound
        self._dropped = -self.traj.dropped

    def open(self) -> None:
        """Start the worker thread (``reset`` and the first ``step`` do it)."""
        if self.worker is None or not self._worker_open:
            self.worker = InferenceWorker(self.policy)
            self._worker_open = True

    def wait_idle(self, timeout: float) -> bool:
        """Wait up to ``timeout`` for a policy call in flight (``interrupt`` ends the wait)."""
        return self.worker is None or self.worker.wait_idle(timeout, abort=self.abort)

    def _begin(self, position: np.ndarray | None) -> None:
        self._command = None if position is None else np.array(position, np.float32)
        self._next_policy = None
        self._pending_since = self._hold_since = None
        self._last_write = self._last_now = None
        self._last_t = self._t0 = None
        self._halted = None
        self._paused = False
        self.ticks = 0
        self.sensed = None
        self.started = False

    # -- one tick ----------------------------------------------------------------------------
    def sense(
        self,
        joints: JointState,
        state: np.ndarray,
        frames: Mapping[str, Frame],
        imu: ImuReading | None = None,
    ) -> Sensed:
        """Check and copy what was read (host thread); the returned builder assembles and
        validates the observation in the inference thread, so that resizing camera frames
        does not delay the next tick."""
        if not np.isfinite(state).all():
            bad = [self.spec.state_names[i] for i in np.flatnonzero(~np.isfinite(state))]
            raise ObservationError(f"{self.spec.name}: non-finite state {bad}")
        extra = derived_state(self._derived, joints, imu, self.config.command)
        # copies: a driver may reuse its buffers before the inference thread gets to them
        video = {
            k: attrs.evolve(f, image=np.array(f.image, copy=True))
            for k, f in frames.items()
            if k in self._video
        }
        instruction, validate = self.instruction, self.config.validate

        def build() -> Any:
            obs = self.assemble(state, video, instruction, extra)
            if validate:
                self._validate(obs)
            return obs

        model_frames: dict[str, np.ndarray] = {}
        if self.record:
            for cam in self.spec.cameras:
                if cam.name in frames:
                    model_frames[cam.name] = prepare_frame(
                        frames[cam.name], cam.model_height, cam.model_width, cam.name
                    )
        return Sensed(joints, build, state, model_frames)

    @property
    def wants_video(self) -> set[str]:
        """The cameras an observation needs (all of the spec's when recording)."""
        if self.record:
            return self._video | {c.name for c in self.spec.cameras}
        return self._video

    def tick(self, now: float, sense: Callable[[], Sensed]) -> Command:
        """The loop body at control time ``now``: ``sense`` is called only when an
        observation is due (it may raise :class:`NoObservation`). After a ``"stop"`` every
        tick returns it again until :meth:`reset`."""
        if self._halted is not None:
            return self._halted
        if not self._worker_open:
            self.open()
        try:
            return self._tick(now, sense)
        except _Halt as halt:
            assert self._command is not None
            self._halted = Command(self._command, STOP, now, halt.reason, halt.safety)
            return self._halted

    def _tick(self, now: float, sense: Callable[[], Sensed]) -> Command:
        cfg, traj, worker = self.config, self.traj, self.worker
        assert worker is not None and self._command is not None
        self.sensed = None
        self.started = False
        # 1. collect an answer
        result = worker.poll()
        if result is not None:
            self._pending_since = None
            self._accept(result, now)
        # 2. policy step: observe, request
        nxt = self._next_policy
        if nxt is None or now >= nxt - 1e-9:
            nxt = (now if nxt is None else nxt) + self.policy_dt
            if nxt <= now:  # a host slower than the policy: the next step is one period on
                nxt = now + self.policy_dt
            self._next_policy = nxt
            self.policy_steps += 1
            due = (
                not self._paused
                and not worker.pending
                and traj.remaining_steps(now) <= self._due_below
            )
            sensed = None
            if due or self.record:  # sensors are read only when needed
                try:
                    sensed = self.sensed = sense()
                except NoObservation as exc:
                    self.camera_faults += 1
                    self.events.append((now, f"no observation: {exc}"))
                    log.warning("t=%.3f s: %s", now, exc)
                    due = False  # no request; the chunk runs out and the watchdog holds
            if due:
                assert sensed is not None
                self._request(now, sensed)
        # 3. watchdog
        stale = self._pending_since is not None and now - self._pending_since > cfg.timeout
        target = None if stale or self._paused else traj.sample(now) if traj.valid(now) else None
        self.ticks += 1
        if target is None:
            self._last_write = self._last_now = None
            if self._paused:
                return Command(self._command, HOLD, now, "held")
            why = "policy did not answer" if stale else "no action for this tick"
            if self._hold_since is None:
                self._hold_since = now
                self.holds += 1
                self.events.append((now, f"hold: {why}"))
                log.warning("hold at t=%.3f s: %s", now, why)
            if now - self._hold_since > cfg.timeout:
                self.events.append((now, "safe stop: watchdog"))
                raise _Halt(
                    f"watchdog: no action for {now - self._hold_since:.3f} s "
                    f"(timeout {cfg.timeout} s)",
                    safety=True,
                )
            return Command(self._command, HOLD, now, why)
        if self._hold_since is not None:
            self.events.append((now, "resume"))
            self._hold_since = None
        # the velocity bound scales with the control time since the last setpoint (the
        # deployer's ticks are one control period apart: scale 1); after a start or a hold,
        # one period
        scale = 1.0
        if self._last_now is not None:
            h = now - self._last_now
            if abs(h - self.dt) > 1e-6 * self.dt:
                scale = max(h, 0.0) / self.dt
        self._last_now = now
        if self.hardware:
            wall = self.monotonic()
            target = self._wall_clock_step(target, self._command, wall, self._last_write, scale)
            self._last_write = wall
        if scale == 1.0:
            self._command = self.safety(target, self._command)
        else:
            per_tick = self.safety.max_step
            self.safety.max_step = per_tick * np.float32(scale)
            try:
                self._command = self.safety(target, self._command)
            finally:
                self.safety.max_step = per_tick
        return Command(self._command, RUN, now)

    def _request(self, now: float, sensed: Sensed) -> None:
        cfg, worker = self.config, self.worker
        assert worker is not None
        self._obs_time = now
        self.request_times.append(now)
        worker.submit(sensed.build, (self._tag, now, sensed.joints.position.copy()))
        self._pending_since = now
        first = self.traj.times is None and self.ticks == 0
        if not (self.sync or first):
            return
        # lock-step, or the first chunk of an episode: wait for it
        if worker.wait_idle(cfg.startup_timeout if first else cfg.timeout, abort=self.abort):
            result = worker.poll()
            if result is not None:
                self._pending_since = None
                self._accept(result, now)
        elif self.abort.is_set():  # a stop does not wait for the policy
            raise _Halt("stop requested", safety=False)
        else:
            self._pending_since = now - cfg.timeout - self.dt  # stale now
        self.started = first and not self.sync

    def _accept(self, result: InferenceResult, now: float) -> None:
        tag, t_obs, reference = result.tag
        if tag != self._tag:
            return  # from an earlier episode
        self.latencies.append(result.latency)
        if isinstance(result.error, ObservationError):  # a sensor or setup fault, not a hiccup
            self.events.append((now, f"safe stop: {result.error}"))
            raise _Halt(f"fault: observation: {result.error}", safety=True)
        if result.error is not None:
            self.rejected += 1
            log.warning("policy failed at t=%.3f s: %s", t_obs, result.error)
            self.events.append((now, f"policy error: {result.error}"))
            return
        try:
            assert result.chunk is not None
            targets = self.decoder.decode(result.chunk, reference)
        except ActionError as exc:
            self.rejected += 1
            log.warning("action chunk rejected at t=%.3f s: %s", now, exc)
            self.events.append((now, f"rejected: {exc}"))
            return
        self.traj.merge(targets, t_obs, now, self._command, blend=0.0 if self.sync else self.blend)

    def _wall_clock_step(
        self,
        target: np.ndarray,
        previous: np.ndarray,
        wall: float,
        last_write: float | None,
        scale: float = 1.0,
    ) -> np.ndarray:
        """Bound the step from ``previous`` by the safety filter's per-tick step scaled by the
        measured time since the last write over one tick of control time, where that is less
        than the control time since (``scale`` ticks): ticks faster than real time move a real
        joint no faster than its velocity limit."""
        if last_write is None:  # the first write after a start or a hold: one tick's bound
            return target
        frac = (wall - last_write) / self.dt
        if not frac < scale:  # real time or slower (NaN cannot widen the bound either)
            return target
        max_step = self.safety.max_step
        step = np.where(np.isfinite(max_step), max_step * max(frac, 0.0), np.inf)
        delta = np.asarray(target, np.float64) - previous
        out = previous + np.clip(delta, -step, step)
        if not np.array_equal(out, target):
            self.wall_limited += 1
        return out.astype(np.float32, copy=False)


__all__ = ["Command", "Controller", "NoObservation", "Sensed"]
