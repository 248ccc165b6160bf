"""The real-time deployer: sensors -> observation -> policy -> chunk queue -> setpoints, safely.

Time. Each tick is one low-level control period of ``spec.rates.low_level_hz`` *control time*
(a simulator advances its physics by that much per write). Ticks are scheduled on the wall
clock at ``rate_hz`` (default: the low-level rate, i.e. real time); a simulator may run slower
or faster, and ``rate_hz=0`` runs as fast as possible (lock-step simulation, which also makes
inference synchronous). Chunk steps are placed in control time, so the same run gives the
same trajectory at any wall-clock speed.

Safety, in order: a chunk with a non-finite or mis-shaped value is rejected; each setpoint
is clamped to joint limits and to ``velocity_limit * dt`` from the previous one; on hardware
(no simulator) also to ``velocity_limit`` times the *measured* monotonic time since the
previous write, so a tick rate above real time (``rate_hz=0`` included) cannot move a real
joint faster than its limit; with no action for the current tick (the plan ran out, or the
policy has not answered within ``timeout``) the robot holds within that tick
(``Embodiment.hold``); if the hold lasts another ``timeout``, or any device faults, or
SIGINT/SIGTERM/SIGHUP arrives, the loop ends with ``Embodiment.safe_stop`` (actuators disabled /
damped) within one ``timeout``, whatever the policy is doing: waits for an answer end when a
stop is requested, and an inference still running is left behind (a daemon thread).

Every :class:`DeployConfig` field is checked when set (finite, in range): a NaN watchdog
timeout or a NaN tick rate cannot switch a safety piece off.
"""

from __future__ import annotations

import logging
import math
import os
import signal
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import attrs
import numpy as np
from attrs import define, field

from groot_sdk.deploy.base import Deployer, RunReport, StepRecorder
from groot_sdk.deploy.inference import InferenceResult, InferenceWorker
from groot_sdk.deploy.telemetry import TelemetryWriter, plot_timing
from groot_sdk.deploy.timing import DeadlineClock
from groot_sdk.deploy.trajectory import ChunkTrajectory
from groot_sdk.embodiment import Embodiment
from groot_sdk.errors import ActionError, HardwareError, ObservationError
from groot_sdk.hardware import Camera, Frame, JointState, MirrorJoints
from groot_sdk.hardware.options import OptionError
from groot_sdk.policy.actions import ActionDecoder, ActionMap, SafetyFilter, zero_order_mask
from groot_sdk.policy.backend import PolicyBackend
from groot_sdk.policy.observation import (
    DERIVED_STATE_KEYS,
    ObservationAssembler,
    derived_state,
    prepare_frame,
    validate_observation,
)

log = logging.getLogger(__name__)


#: longest watchdog timeout: beyond it a dead policy would leave the robot holding for minutes
MAX_TIMEOUT_S = 10.0


def _number(
    *, gt: float | None = None, ge: float | None = None, le: float | None = None, integer=False
) -> Callable[[Any, attrs.Attribute, Any], None]:
    """Validator: None, or a finite number (an int when ``integer``) in range."""

    def check(_inst: Any, attribute: attrs.Attribute, value: Any) -> None:
        if value is None:
            return
        name = attribute.name
        kind = (int, np.integer) if integer else (int, float, np.integer, np.floating)
        if isinstance(value, bool) or not isinstance(value, kind):
            what = "an integer" if integer else "a number"
            raise OptionError(f"DeployConfig.{name} must be {what}, got {value!r}")
        v = float(value)
        bad = not math.isfinite(v) or (gt is not None and v <= gt) or (ge is not None and v < ge)
        if bad or (le is not None and v > le):
            lo = f"> {gt:g}" if gt is not None else f">= {ge:g}" if ge is not None else ""
            hi = f" and <= {le:g}" if le is not None else ""
            raise OptionError(f"DeployConfig.{name} must be finite {lo}{hi}, got {value!r}")

    return check


def _command(_inst: Any, attribute: attrs.Attribute, value: Any) -> None:
    if value is None:
        return
    try:
        vec = np.asarray(value, np.float64)
    except (TypeError, ValueError):
        vec = np.array([np.nan])
    if vec.shape != (3,) or not np.isfinite(vec).all():
        raise OptionError(f"DeployConfig.command must be three finite numbers, got {value!r}")


@define
class DeployConfig:
    """How to run. Times are seconds of control time unless said otherwise.

    Fields are validated when set (non-finite and out-of-range values raise
    :class:`~groot_sdk.hardware.options.OptionError`).
    """

    #: wall-clock tick rate; None: real time; 0: as fast as possible
    rate_hz: float | None = field(default=None, validator=_number(ge=0.0, le=1e6))
    #: per episode (or the whole run without episodes)
    seconds: float | None = field(default=None, validator=_number(gt=0.0))
    #: with an episodic simulator; None: 1
    episodes: int | None = field(default=None, validator=_number(ge=1, integer=True))
    task: str = ""  #: the language instruction; default: the embodiment's own
    #: watchdog: hold after this long without an action, stop after 2x
    timeout: float = field(default=1.0, validator=_number(gt=0.0, le=MAX_TIMEOUT_S))
    #: wall seconds to wait for an episode's first chunk
    startup_timeout: float = field(default=30.0, validator=_number(gt=0.0, le=3600.0))
    #: policy steps between requests; None: horizon // 2
    replan_every: int | None = field(default=None, validator=_number(ge=1, integer=True))
    sync: bool = False  #: wait for each answer (lock-step); forced at rate 0 and for horizon 1
    #: cross-fade of overlapping chunks; None: one policy step
    blend: float | None = field(default=None, validator=_number(ge=0.0, le=60.0))
    #: (vx, vy, wz) for ``state.velocity_command``
    command: Sequence[float] | None = field(default=None, validator=_command)
    action_map: ActionMap | None = None
    gripper: str | None = None  #: policy gripper range, e.g. "0..1"; None: joint units
    seed: int | None = 0
    validate: bool = True  #: validate every observation before inference
    telemetry: str | None = None  #: JSON-lines path
    plot: str | None = None  #: PNG path for a loop-timing plot
    #: wall seconds between status callbacks
    status_every: float = field(default=0.5, validator=_number(ge=0.0))
    #: SCHED_FIFO priority (1..99) for the loop thread (Linux)
    rt_priority: int | None = field(default=None, validator=_number(ge=1, le=99, integer=True))
    #: real devices: bound each step by the measured wall-clock time too; None: when the
    #: embodiment has no simulator and is not the in-memory mock
    hardware: bool | None = None
    extra_options: dict[str, Any] = field(factory=dict)


class _NoFrame(Exception):
    """A camera had no fresh frame: skip this observation; the watchdog holds, then stops."""


class _Stop(Exception):
    def __init__(self, reason: str, safety: bool) -> None:
        super().__init__(reason)
        self.reason, self.safety = reason, safety


class RealtimeDeployer(Deployer):
    """Runs ``policy`` on ``embodiment`` (see the module docstring for time and safety)."""

    def __init__(
        self,
        embodiment: Embodiment,
        policy: PolicyBackend,
        config: DeployConfig | None = None,
        recorder: StepRecorder | None = None,
        on_status: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self.robot = embodiment
        self.spec = embodiment.spec
        self.policy = policy
        self.config = config or DeployConfig()
        self.recorder = recorder
        self.on_status = on_status
        spec, cfg = self.spec, self.config
        self.layout = policy.layout
        self.dt = spec.rates.low_level_dt
        # a backend may run at its own rate (an RL controller at rl_hz)
        self.policy_hz = float(getattr(policy, "policy_hz", None) or spec.rates.policy_hz)
        self.policy_dt = 1.0 / self.policy_hz
        self.rate_hz = spec.rates.low_level_hz if cfg.rate_hz is None else cfg.rate_hz
        # lock-step when asked, when free-running, and for one-step policies (which have
        # nothing left to execute while they think)
        self.sync = cfg.sync or self.rate_hz <= 0 or policy.layout.action_horizon == 1
        self.assemble = ObservationAssembler(spec, policy.dialect, policy.batched, self.layout)
        self.decoder = ActionDecoder(spec, self.layout, cfg.action_map, cfg.gripper)
        horizon = self.layout.action_horizon
        # a one-step policy (an RL controller) steps its targets once per policy step, as it
        # was trained: bound that step by velocity_limit * policy_dt, not per control tick
        self.safety = SafetyFilter(spec, max(self.dt, self.policy_dt) if horizon == 1 else self.dt)
        # a real device moves in wall-clock time, whatever the tick rate: bound its steps by
        # the measured time between writes as well (a mock or a simulator moves per tick)
        self.hardware = cfg.hardware
        if self.hardware is None:
            self.hardware = embodiment.episodic is None and not all(
                isinstance(a, MirrorJoints) for a in embodiment.actuators.values()
            )
        self.monotonic: Callable[[], float] = time.monotonic  #: the clock of that bound
        self.wall_limited = 0  #: setpoints shortened by the wall-clock bound
        replan = cfg.replan_every or getattr(policy, "replan_every", None) or max(1, horizon // 2)
        self.replan_every = int(min(max(1, replan), horizon))
        self.blend = self.policy_dt if cfg.blend is None else cfg.blend
        self._spec_state_keys = {g.key for g in spec.observed_state_groups}
        self._derived = [
            k.key
            for k in self.layout.state
            if k.key in DERIVED_STATE_KEYS and k.key not in self._spec_state_keys
        ]
        self._video = {v.name for v in self.layout.video}
        self._stop = threading.Event()
        self._stop_reason = ""
        self.events: list[tuple[float, str]] = []  #: (control time, what) for holds and stops
        self.request_times: list[float] = []  #: control times of inference requests

    @property
    def inference_in_flight(self) -> bool:
        """Whether a policy call is still running (e.g. after a stop that did not wait)."""
        worker = getattr(self, "worker", None)
        return worker is not None and worker.pending

    # -- Deployer ----------------------------------------------------------------------------
    def stop(self, reason: str = "requested") -> None:
        if not self._stop.is_set():
            self._stop_reason = reason
            self._stop.set()

    def run(self) -> RunReport:
        cfg = self.config
        report = RunReport()
        self.clock = DeadlineClock(self.rate_hz)
        self.worker = InferenceWorker(self.policy)
        try:
            self.telemetry = TelemetryWriter(cfg.telemetry) if cfg.telemetry else None
        except (OSError, ValueError) as exc:  # checked before the robot is touched
            raise OptionError(
                f"DeployConfig.telemetry: cannot write {cfg.telemetry}: {exc}"
            ) from None
        self._latencies: list[float] = []
        self._policy_steps = 0
        self._rejected = 0
        self._dropped = 0
        self._tag = 0
        self._obs_time = 0.0
        if hasattr(self.policy, "clock"):  # open-loop baselines follow the control clock
            self.policy.clock = lambda: self._obs_time
        restore = self._install_signals()
        restore_priority = self._realtime_priority(report)
        episodic = self.robot.episodic
        n_episodes = cfg.episodes if (cfg.episodes and episodic is not None) else 1
        wall0 = time.perf_counter()
        outcomes: list[bool | None] = []
        report.extra["episode_success"] = outcomes
        try:
            self.robot.connect()
            self.robot.enable()
            for ep in range(n_episodes):
                if self._stop.is_set():
                    break
                success = self._episode(ep, episodic, report)
                report.episodes += 1
                outcomes.append(success)
                if success is not None:
                    report.success_defined = True
                    report.successes += int(bool(success))
                if report.stop_reason:
                    break
            if not report.stop_reason:
                failed = report.extra.get("failed_episodes", 0)
                report.stop_reason = self._stop_reason or (
                    f"completed ({failed} episode(s) failed, e.g. a fall)"
                    if failed
                    else "completed"
                )
        except _Stop as stop:
            report.stop_reason = stop.reason
            if stop.safety:
                report.safety_stops += 1
        finally:
            errors = self.robot.safe_stop()
            if errors:
                report.extra["safe_stop_errors"] = errors
            self.worker.close(timeout=0.2)
            restore()
            restore_priority()
            if self.telemetry is not None:
                self.telemetry.close()
        self._fill_report(report, time.perf_counter() - wall0)
        if cfg.plot and self.clock.starts:
            plot_timing(
                cfg.plot,
                self.clock.starts,
                self.clock.lateness,
                self.clock.periods,
                self.clock.period or self.dt,
            )
        return report

    # -- one episode -------------------------------------------------------------------------
    def _episode(self, ep: int, episodic: Any, report: RunReport) -> bool | None:
        traj = ChunkTrajectory(self.policy_dt, zero_order_mask(self.spec))
        self._ticks = 0
        finished = False  # only a finished episode is handed to the recorder as complete
        success: bool | None = None
        try:
            success = self._run_episode(ep, episodic, report, traj)
            finished = True
        except _Stop:
            raise
        except (KeyboardInterrupt, SystemExit):
            raise _Stop("interrupted", safety=False) from None
        except Exception as exc:  # a device, sim or policy fault: stop safely, say why
            log.exception("fault in episode %d", ep)
            self.events.append((self._ticks * self.dt, f"safe stop: {exc}"))
            raise _Stop(f"fault: {type(exc).__name__}: {exc}", safety=True) from exc
        finally:
            report.steps += self._ticks
            self._dropped += traj.dropped
            if self.recorder is not None and finished:
                self.recorder.end_episode(success)
            # an unfinished episode is never ended: the recorder discards it
        return success

    def _run_episode(
        self, ep: int, episodic: Any, report: RunReport, traj: ChunkTrajectory
    ) -> bool | None:
        cfg = self.config
        if episodic is not None:
            if self.worker.pending:
                self.worker.wait_idle(max(cfg.timeout, 1.0), abort=self._stop)
            seed = None if cfg.seed is None else cfg.seed + ep
            episodic.reset(seed=seed)
        self._tag += 1  # results of earlier episodes are discarded
        self.policy.reset()
        # the instruction: given, else the simulator's for this episode, else the robot's
        task = cfg.task or getattr(episodic, "instruction", "") or self.robot.task or ""
        self._instruction = str(task)
        if self.recorder is not None:
            self.recorder.start_episode(task)
        joints = self.robot.read_joints()
        command = joints.position.copy()  # last setpoint sent
        max_steps = getattr(episodic, "max_steps", None) if episodic is not None else None
        # --seconds overrides the episode's own length; a failure (a fall) still ends it
        done = None
        if episodic is not None:
            done = getattr(episodic, "done" if cfg.seconds is None else "failed", None)
        limit_ticks = math.inf
        if cfg.seconds is not None:
            limit_ticks = cfg.seconds / self.dt
        if max_steps is not None and cfg.seconds is None:  # max_steps counts policy steps
            step_dt = float(getattr(episodic, "policy_dt", None) or self.policy_dt)
            limit_ticks = min(limit_ticks, math.ceil(max_steps * step_dt / self.dt - 1e-6))
        if episodic is None and cfg.seconds is None:
            limit_ticks = math.inf  # until stopped
        tick = 0
        next_policy = 0.0
        pending_since: float | None = None
        hold_since: float | None = None
        last_write: float | None = None  #: monotonic time of the last write (hardware)
        last_status = time.perf_counter()
        self.clock.reanchor()
        success: bool | None = None
        while tick < limit_ticks:
            if self._stop.is_set():
                raise _Stop(self._stop_reason, safety=False)
            if done is not None and done():
                break
            start = self.clock.wait()
            now = tick * self.dt
            record: tuple[dict[str, np.ndarray], np.ndarray, float] | None = None
            # 1. collect an answer
            result = self.worker.poll()
            if result is not None:
                pending_since = None
                self._accept(result, traj, now, command)
            # 2. policy step: observe, record, request
            obs_time = now >= next_policy - 1e-9
            if obs_time:
                next_policy += self.policy_dt
                self._policy_steps += 1
                due = not self.worker.pending and traj.remaining_steps(now) <= (
                    self.layout.action_horizon - self.replan_every + 1e-6
                )
                if due or self.recorder is not None:  # sensors are read only when needed
                    try:
                        joints, obs, frames, state = self._observe()
                    except _NoFrame as exc:
                        report.extra["camera_faults"] = report.extra.get("camera_faults", 0) + 1
                        self.events.append((now, f"no observation: {exc}"))
                        log.warning("t=%.3f s: %s", now, exc)
                        due = False  # no request; the chunk runs out and the watchdog holds
                    else:
                        if self.recorder is not None:  # completed below with this command
                            record = (frames, state, now)
                if due:
                    self._obs_time = now
                    self.request_times.append(now)
                    self.worker.submit(obs, (self._tag, now, joints.position.copy()))
                    pending_since = now
                    first = traj.times is None and tick == 0
                    if self.sync or first:
                        # lock-step, or the first chunk of an episode: wait for it
                        wait = cfg.startup_timeout if first else cfg.timeout
                        if self.worker.wait_idle(wait, abort=self._stop):
                            result = self.worker.poll()
                            if result is not None:
                                pending_since = None
                                self._accept(result, traj, now, command)
                        elif self._stop.is_set():  # a stop does not wait for the policy
                            raise _Stop(self._stop_reason, safety=False)
                        else:
                            pending_since = now - cfg.timeout - self.dt  # stale now
                        if first and not self.sync:
                            self.clock.reanchor(skip_tick=True)
            # 3. watchdog
            stale = pending_since is not None and now - pending_since > cfg.timeout
            target = None if stale else traj.sample(now) if traj.valid(now) else None
            if target is None:
                if hold_since is None:
                    hold_since = now
                    report.holds += 1
                    why = "policy did not answer" if stale else "no action for this tick"
                    self.events.append((now, f"hold: {why}"))
                    log.warning("hold at t=%.3f s: %s", now, why)
                if now - hold_since > cfg.timeout:
                    self.events.append((now, "safe stop: watchdog"))
                    raise _Stop(
                        f"watchdog: no action for {now - hold_since:.3f} s "
                        f"(timeout {cfg.timeout} s)",
                        safety=True,
                    )
                self.robot.hold()
                last_write = None
                mode = "hold"
            else:
                if hold_since is not None:
                    self.events.append((now, "resume"))
                    hold_since = None
                if self.hardware:
                    wall = self.monotonic()
                    target = self._wall_clock_step(target, command, wall, last_write)
                    last_write = wall
                command = self.safety(target, command)
                self.robot.write(command)
                mode = "run"
            if record is not None:
                assert self.recorder is not None
                self.recorder.add_step(record[0], record[1], command.copy(), record[2])
                record = None
            tick += 1
            self._ticks = tick
            if self.telemetry is not None:
                self._telemetry(start, now, mode, command)
            if self.on_status is not None and start - last_status > self.config.status_every:
                last_status = start
                self.on_status(self._status(ep, now, mode, report))
        if episodic is not None:
            success = getattr(episodic, "success", lambda: None)()
            failed = getattr(episodic, "failed", None)
            if failed is not None and failed():  # e.g. a humanoid fell: say so in the report
                report.extra["failed_episodes"] = report.extra.get("failed_episodes", 0) + 1
                self.events.append((tick * self.dt, "episode failed"))
        return success

    # -- pieces ------------------------------------------------------------------------------
    def _wall_clock_step(
        self, target: np.ndarray, previous: np.ndarray, wall: float, last_write: float | None
    ) -> np.ndarray:
        """Bound the step from ``previous`` by the safety filter's per-tick step scaled by the
        measured time since the last write over one tick of control time (never above 1):
        ticks faster than real time move a real joint no faster than its velocity limit."""
        if last_write is None:  # the first write after a start or a hold: one tick's bound
            return target
        frac = (wall - last_write) / self.dt
        if not frac < 1.0:  # real time or slower (NaN cannot widen the bound either)
            return target
        max_step = self.safety.max_step
        step = np.where(np.isfinite(max_step), max_step * max(frac, 0.0), np.inf)
        delta = np.asarray(target, np.float64) - previous
        out = previous + np.clip(delta, -step, step)
        if not np.array_equal(out, target):
            self.wall_limited += 1
        return out.astype(np.float32, copy=False)

    def _observe(self) -> tuple[JointState, Any, dict[str, np.ndarray], np.ndarray]:
        """Read the sensors (loop thread); return a builder that assembles and validates the
        observation, which runs in the inference thread so that resizing camera frames does
        not delay the next tick."""
        joints = self.robot.read_joints()
        state = self.robot.read_state(joints)
        if not np.isfinite(state).all():
            bad = [self.spec.state_names[i] for i in np.flatnonzero(~np.isfinite(state))]
            raise ObservationError(f"{self.spec.name}: non-finite state {bad}")
        want = set(self._video)
        if self.recorder is not None:
            want |= {c.name for c in self.spec.cameras}
        frames: dict[str, Frame] = {}
        for s in self.robot.sensors.values():
            if isinstance(s, Camera) and s.camera in want:
                try:
                    frames[s.camera] = s.read()
                except HardwareError as exc:  # no frame: hold rather than act blind
                    raise _NoFrame(str(exc)) from exc
        imu = self._imu()
        extra = derived_state(
            self._derived, joints, None if imu is None else imu.read(), self.config.command
        )
        # copies: a driver may reuse its buffers before the inference thread gets to them
        video = {
            k: attrs.evolve(f, image=np.array(f.image, copy=True))
            for k, f in frames.items()
            if k in self._video
        }
        instruction, validate = self._instruction, self.config.validate

        def build() -> Any:
            obs = self.assemble(state, video, instruction, extra)
            if validate:
                validate_observation(
                    obs, self.layout, self.policy.dialect, self.policy.batched or None
                )
            return obs

        model_frames: dict[str, np.ndarray] = {}
        if self.recorder is not None:
            for cam in self.spec.cameras:
                if cam.name in frames:
                    model_frames[cam.name] = prepare_frame(
                        frames[cam.name], cam.model_height, cam.model_width, cam.name
                    )
        return joints, build, model_frames, state

    def _imu(self):
        if not any(k in ("base_gyro", "projected_gravity") for k in self._derived):
            return None
        imu = self.robot.imu()
        if imu is None:
            raise ObservationError(
                f"the policy wants {self._derived} but '{self.spec.name}' has no IMU"
            )
        return imu

    def _accept(
        self, result: InferenceResult, traj: ChunkTrajectory, now: float, command: np.ndarray
    ) -> None:
        tag, t_obs, reference = result.tag
        if tag != self._tag:
            return  # from an earlier episode
        self._latencies.append(result.latency)
        if isinstance(result.error, ObservationError):  # a sensor or setup fault, not a hiccup
            self.events.append((now, f"safe stop: {result.error}"))
            raise _Stop(f"fault: observation: {result.error}", safety=True)
        if result.error is not None:
            self._rejected += 1
            log.warning("policy failed at t=%.3f s: %s", t_obs, result.error)
            self.events.append((now, f"policy error: {result.error}"))
            return
        try:
            assert result.chunk is not None
            targets = self.decoder.decode(result.chunk, reference)
        except ActionError as exc:
            self._rejected += 1
            log.warning("action chunk rejected at t=%.3f s: %s", now, exc)
            self.events.append((now, f"rejected: {exc}"))
            return
        traj.merge(targets, t_obs, now, command, blend=0.0 if self.sync else self.blend)

    def _telemetry(self, start: float, now: float, mode: str, command: np.ndarray) -> None:
        assert self.telemetry is not None
        c = self.clock
        self.telemetry.write(
            {
                "t": round(now, 6),
                "wall": round(start - c.t0, 6),
                "period_ms": round(c.periods[-1] * 1e3, 4) if c.periods else None,
                "late_ms": round(c.lateness[-1] * 1e3, 4),
                "mode": mode,
                "command": [round(float(v), 5) for v in command],
            }
        )

    def _status(self, ep: int, now: float, mode: str, report: RunReport) -> dict[str, Any]:
        s = self.clock.stats()
        return {
            "episode": ep + 1,
            "t": now,
            "mode": mode,
            "loop_hz": s["loop_hz"],
            "jitter_ms_p99": s["jitter_ms_p99"],
            "overruns": s["overruns"],
            "holds": report.holds,
            "successes": report.successes,
        }

    def _fill_report(self, report: RunReport, wall: float) -> None:
        s = self.clock.stats()
        report.loop_hz = s["loop_hz"]
        report.jitter_ms_p50 = s["jitter_ms_p50"]
        report.jitter_ms_p99 = s["jitter_ms_p99"]
        report.jitter_ms_max = s["jitter_ms_max"]
        report.overruns = int(s["overruns"])
        lat = np.asarray(self._latencies) * 1e3
        report.extra.update(
            {
                "policy_steps": self._policy_steps,
                "control_hz": self.spec.rates.low_level_hz,
                "rate_hz": self.rate_hz,
                "sync_inference": self.sync,
                "sim_seconds": round(report.steps * self.dt, 4),
                "wall_seconds": round(wall, 4),
                "period_ms_p99": round(s["period_ms_p99"], 4),
                "inference_ms_p50": round(float(np.percentile(lat, 50)), 3) if lat.size else None,
                "inference_ms_p99": round(float(np.percentile(lat, 99)), 3) if lat.size else None,
                "rejected_chunks": self._rejected,
                "dropped_steps": self._dropped,
                "limited_setpoints": self.safety.limited,
                "wall_clock_limited_setpoints": self.wall_limited,
                "hardware_velocity_clock": "measured" if self.hardware else "ticks",
            }
        )

    def _realtime_priority(self, report: RunReport) -> Callable[[], None]:
        """Run the loop thread under SCHED_FIFO where allowed: the OS then wakes it on time
        even when other processes load every core (see benchmarks/bench_runtime.py)."""
        prio = self.config.rt_priority
        report.extra["rt_priority"] = None
        if not prio:
            return lambda: None
        try:
            old_policy = os.sched_getscheduler(0)
            old_param = os.sched_getparam(0)
            os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(int(prio)))
        except (AttributeError, OSError) as exc:
            log.warning("real-time priority %s not available (%s); running without", prio, exc)
            return lambda: None
        report.extra["rt_priority"] = int(prio)

        def restore() -> None:
            try:
                os.sched_setscheduler(0, old_policy, old_param)
            except OSError:  # pragma: no cover
                log.warning("could not restore the scheduling policy")

        return restore

    def _install_signals(self) -> Callable[[], None]:
        if threading.current_thread() is not threading.main_thread():
            return lambda: None
        previous: dict[int, Any] = {}

        def handler(signum, _frame) -> None:
            self.stop(f"interrupted ({signal.Signals(signum).name})")

        # SIGHUP: the terminal or the ssh session of the run went away (unless ignored, as
        # under nohup: then the run was meant to outlive it)
        hup = getattr(signal, "SIGHUP", None)
        if hup is not None and signal.getsignal(hup) is signal.SIG_IGN:
            hup = None
        for sig in (signal.SIGINT, signal.SIGTERM, *([hup] if hup is not None else [])):
            try:
                previous[sig] = signal.signal(sig, handler)
            except (ValueError, OSError):  # pragma: no cover - not the main interpreter
                pass

        def restore() -> None:
            for sig, old in previous.items():
                signal.signal(sig, old)

        return restore


def run_policy(
    embodiment: Embodiment,
    policy: PolicyBackend,
    recorder: StepRecorder | None = None,
    on_status: Callable[[dict[str, Any]], None] | None = None,
    **config: Any,
) -> RunReport:
    """Convenience: ``RealtimeDeployer(embodiment, policy, DeployConfig(**config)).run()``."""
    return RealtimeDeployer(embodiment, policy, DeployConfig(**config), recorder, on_status).run()


__all__ = ["DeployConfig", "RealtimeDeployer", "run_policy"]
