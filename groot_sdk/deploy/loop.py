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

The loop body is :class:`~groot_sdk.deploy.controller.Controller` (what a host loop of its
own uses too); this module owns the clock, the devices, signals, telemetry and recording.

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
from collections.abc import Callable
from typing import Any

import numpy as np

from groot_sdk.deploy.base import Deployer, EpisodeMonitor, RunReport, StepRecorder
from groot_sdk.deploy.config import MAX_TIMEOUT_S, DeployConfig
from groot_sdk.deploy.controller import STOP, Controller, NoObservation, Sensed
from groot_sdk.deploy.telemetry import TelemetryWriter, plot_timing
from groot_sdk.deploy.timing import DeadlineClock
from groot_sdk.embodiment import Embodiment
from groot_sdk.errors import HardwareError, ObservationError
from groot_sdk.hardware import Camera, Frame, MirrorJoints
from groot_sdk.hardware.options import OptionError
from groot_sdk.policy.backend import PolicyBackend

log = logging.getLogger(__name__)


class _Stop(Exception):
    def __init__(self, reason: str, safety: bool) -> None:
        super().__init__(reason)
        self.reason, self.safety = reason, safety


class RealtimeDeployer(Deployer):
    """Runs ``policy`` on ``embodiment`` (see the module docstring for time and safety).

    The loop owns the clock, the sensors, the actuators, signals, telemetry and recording;
    what to send each tick comes from a :class:`~groot_sdk.deploy.controller.Controller`
    (``self.controller``), the same class a host loop uses, so the two cannot drift apart.
    """

    def __init__(
        self,
        embodiment: Embodiment,
        policy: PolicyBackend,
        config: DeployConfig | None = None,
        recorder: StepRecorder | None = None,
        on_status: Callable[[dict[str, Any]], None] | None = None,
        *,
        monitor: EpisodeMonitor | None = None,
    ) -> None:
        self.robot = embodiment
        self.spec = embodiment.spec
        self.policy = policy
        self.config = config or DeployConfig()
        self.recorder = recorder
        self.on_status = on_status
        self.monitor = monitor
        # a real device moves in wall-clock time, whatever the tick rate: bound its steps by
        # the measured time between writes as well (a mock or a simulator moves per tick)
        hardware = self.config.hardware
        if hardware is None:
            hardware = embodiment.episodic is None and not all(
                isinstance(a, MirrorJoints) for a in embodiment.actuators.values()
            )
        self._stop = threading.Event()
        self._stop_reason = ""
        self.controller = Controller(
            self.spec,
            policy,
            self.config,
            hardware=hardware,
            record=recorder is not None,
            abort=self._stop,
        )
        ctl = self.controller
        self.layout = ctl.layout
        self.dt = ctl.dt
        self.policy_hz, self.policy_dt = ctl.policy_hz, ctl.policy_dt
        self.rate_hz = ctl.rate_hz
        self.sync = ctl.sync
        self.replan_every, self.blend = ctl.replan_every, ctl.blend
        self.decoder, self.safety = ctl.decoder, ctl.safety

    # the controller's state, under the names the deployer has always had
    @property
    def hardware(self) -> bool:
        return self.controller.hardware

    @property
    def monotonic(self) -> Callable[[], float]:
        """The clock of the hardware velocity bound."""
        return self.controller.monotonic

    @monotonic.setter
    def monotonic(self, clock: Callable[[], float]) -> None:
        self.controller.monotonic = clock

    @property
    def wall_limited(self) -> int:
        """Setpoints shortened by the wall-clock bound."""
        return self.controller.wall_limited

    @property
    def events(self) -> list[tuple[float, str]]:
        """(control time, what) for holds and stops."""
        return self.controller.events

    @property
    def request_times(self) -> list[float]:
        """Control times of inference requests."""
        return self.controller.request_times

    @property
    def worker(self):
        return self.controller.worker

    @property
    def inference_in_flight(self) -> bool:
        """Whether a policy call is still running (e.g. after a stop that did not wait)."""
        return self.controller.inference_in_flight

    # -- Deployer ----------------------------------------------------------------------------
    def stop(self, reason: str = "requested") -> None:
        if not self._stop.is_set():
            self._stop_reason = reason
            self._stop.set()

    def run(self) -> RunReport:
        cfg = self.config
        report = RunReport()
        self.clock = DeadlineClock(self.rate_hz)
        try:
            self.telemetry = TelemetryWriter(cfg.telemetry) if cfg.telemetry else None
        except (OSError, ValueError) as exc:  # checked before the robot is touched
            raise OptionError(
                f"DeployConfig.telemetry: cannot write {cfg.telemetry}: {exc}"
            ) from None
        self.controller.clear_counters()
        self.controller.open()
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
            self.controller.close(timeout=0.2)
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
        self._ticks = 0
        finished = False  # only a finished episode is handed to the recorder as complete
        success: bool | None = None
        try:
            success = self._run_episode(ep, episodic, report)
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
            if self.recorder is not None and finished:
                self.recorder.end_episode(success)
            # an unfinished episode is never ended: the recorder discards it
        return success

    def _run_episode(self, ep: int, episodic: Any, report: RunReport) -> bool | None:
        cfg, ctl = self.config, self.controller
        if episodic is not None:
            ctl.wait_idle(max(cfg.timeout, 1.0))
            seed = None if cfg.seed is None else cfg.seed + ep
            episodic.reset(seed=seed)
        # the instruction: given, else the simulator's for this episode, else the robot's
        task = cfg.task or getattr(episodic, "instruction", "") or self.robot.task or ""
        if self.recorder is not None:
            self.recorder.start_episode(task)
        monitor = self.monitor
        if monitor is not None:
            monitor.start_episode(ep)
        joints = self.robot.read_joints()
        # a fresh queue from the setpoint being held; answers to earlier episodes are dropped
        ctl.reset(joints.position, str(task), wait=False)  # waited above
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
        last_status = time.perf_counter()
        self.clock.reanchor()
        recorder, telemetry, on_status = self.recorder, self.telemetry, self.on_status
        observe, hold, write = self._observe, self.robot.hold, self.robot.write
        success: bool | None = None
        while tick < limit_ticks:
            if self._stop.is_set():
                raise _Stop(self._stop_reason, safety=False)
            if done is not None and done():
                break
            start = self.clock.wait()
            now = tick * self.dt
            cmd = ctl.tick(now, observe)
            mode = cmd.mode
            if mode == STOP:
                if cmd.safety:
                    raise _Stop(cmd.reason, safety=True)
                raise _Stop(self._stop_reason, safety=False)  # a stop request
            if ctl.started:  # waited for the first chunk: the schedule starts now
                self.clock.reanchor(skip_tick=True)
            command = cmd.position
            if mode == "hold":
                hold()
            else:
                write(command)
            sensed = ctl.sensed
            if recorder is not None and sensed is not None:
                recorder.add_step(sensed.frames, sensed.state, command.copy(), now)
            tick += 1
            self._ticks = tick
            if monitor is not None:
                monitor.tick(now, mode)
            if telemetry is not None:
                self._telemetry(start, now, mode, command)
            if on_status is not None and start - last_status > cfg.status_every:
                last_status = start
                on_status(self._status(ep, now, mode, report))
        if episodic is not None:
            success = getattr(episodic, "success", lambda: None)()
            failed = getattr(episodic, "failed", None)
            if failed is not None and failed():  # e.g. a humanoid fell: say so in the report
                report.extra["failed_episodes"] = report.extra.get("failed_episodes", 0) + 1
                self.events.append((tick * self.dt, "episode failed"))
        if monitor is not None:
            monitor.end_episode(success)
        return success

    # -- pieces ------------------------------------------------------------------------------
    def _observe(self) -> Sensed:
        """Read the sensors (loop thread); the controller copies them and assembles the
        observation in the inference thread."""
        joints = self.robot.read_joints()
        state = self.robot.read_state(joints)
        want = self.controller.wants_video
        frames: dict[str, Frame] = {}
        if want:
            for s in self.robot.sensors.values():
                if isinstance(s, Camera) and s.camera in want:
                    try:
                        frames[s.camera] = s.read()
                    except HardwareError as exc:  # no frame: hold rather than act blind
                        raise NoObservation(str(exc)) from exc
        imu = self._imu()
        return self.controller.sense(joints, state, frames, None if imu is None else imu.read())

    def _imu(self):
        derived = self.controller._derived
        if not any(k in ("base_gyro", "projected_gravity") for k in derived):
            return None
        imu = self.robot.imu()
        if imu is None:
            raise ObservationError(f"the policy wants {derived} but '{self.spec.name}' has no IMU")
        return imu

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
            "holds": self.controller.holds,
            "successes": report.successes,
        }

    def _fill_report(self, report: RunReport, wall: float) -> None:
        s = self.clock.stats()
        ctl = self.controller
        report.loop_hz = s["loop_hz"]
        report.jitter_ms_p50 = s["jitter_ms_p50"]
        report.jitter_ms_p99 = s["jitter_ms_p99"]
        report.jitter_ms_max = s["jitter_ms_max"]
        report.overruns = int(s["overruns"])
        report.holds = ctl.holds
        if ctl.camera_faults:
            report.extra["camera_faults"] = ctl.camera_faults
        lat = np.asarray(ctl.latencies) * 1e3
        report.extra.update(
            {
                "policy_steps": ctl.policy_steps,
                "control_hz": self.spec.rates.low_level_hz,
                "rate_hz": self.rate_hz,
                "sync_inference": self.sync,
                "sim_seconds": round(report.steps * self.dt, 4),
                "wall_seconds": round(wall, 4),
                "period_ms_p99": round(s["period_ms_p99"], 4),
                "inference_ms_p50": round(float(np.percentile(lat, 50)), 3) if lat.size else None,
                "inference_ms_p99": round(float(np.percentile(lat, 99)), 3) if lat.size else None,
                "rejected_chunks": ctl.rejected,
                "dropped_steps": ctl.dropped,
                "limited_setpoints": self.safety.limited,
                "wall_clock_limited_setpoints": ctl.wall_limited,
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


__all__ = ["MAX_TIMEOUT_S", "DeployConfig", "RealtimeDeployer", "run_policy"]
