"""Unitree G1 (29 DOF) + two Inspire RH56 hands.

``make_hardware(spec, network_interface="eth0", hand_address="IP[:PORT],IP[:PORT]", ...)``
(left hand first). ``fake=True`` starts a simulated G1 on loopback DDS and two simulated
hands (pymodbus servers on 127.0.0.1) and connects the same drivers to them.

Body: LowCmd is published from a thread at ``rate_hz`` (500 Hz on the robot, like Unitree's
examples); ``mode_machine`` is copied from the first LowState; every command carries the CRC.
INACTIVE and the safe state are damping (mode 1, kp = 0, kd = ``damping_kd``): the robot
sinks slowly instead of dropping. Hands: the six register values <-> the twelve URDF joints
(see spec.py); the safe state stops the fingers where they are.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Sequence
from typing import Any

import attrs
import numpy as np

from groot_sdk.embodiment import Embodiment
from groot_sdk.errors import HardwareError, SpecError
from groot_sdk.hardware import (
    Actuator,
    Component,
    Imu,
    ImuReading,
    JointCommand,
    JointEncoder,
    JointState,
)
from groot_sdk.hardware import options as opt
from groot_sdk.spec import EmbodimentSpec
from groot_sdk_g1_inspire.dds.messages import NUM_MOTORS, LowCmd, LowState
from groot_sdk_g1_inspire.inspire import registers as reg
from groot_sdk_g1_inspire.inspire.client import InspireClient, InspireError
from groot_sdk_g1_inspire.spec import INSPIRE_DOF_ORDER

log = logging.getLogger(__name__)

BODY_DOF = 29
#: per-joint PD gains (Unitree's G1 low-level example): legs, waist, arms, wrists
KP = [60, 60, 60, 100, 40, 40] * 2 + [60, 40, 40] + [40] * 14
KD = [1, 1, 1, 2, 1, 1] * 2 + [1, 1, 1] + [1] * 14
DAMPING_KD = 8.0


class G1Body(JointEncoder, Actuator):
    """The 29 body joints over ``rt/lowcmd`` / ``rt/lowstate``."""

    def __init__(
        self,
        spec: EmbodimentSpec,
        lowlevel,
        *,
        rate_hz: float = 500.0,
        kp: Sequence[float] = KP,
        kd: Sequence[float] = KD,
        damping_kd: float = DAMPING_KD,
        state_timeout_s: float = 0.1,
        first_state_timeout_s: float = 3.0,
        release_mode: bool = False,
        owned: Sequence[Any] = (),
        name: str = "body",
    ) -> None:
        Component.__init__(self, name)
        self.joint_names = spec.joint_names[:BODY_DOF]
        self.lowlevel = lowlevel
        self.rate_hz = rate_hz
        self.kp = np.asarray(kp, np.float32)
        self.kd = np.asarray(kd, np.float32)
        self.damping_kd = damping_kd
        self.state_timeout_s, self.first_state_timeout_s = state_timeout_s, first_state_timeout_s
        self.release_mode = release_mode
        self._lower = np.array(spec.lower[:BODY_DOF], np.float32)
        self._upper = np.array(spec.upper[:BODY_DOF], np.float32)
        self._owned = list(owned)
        self._cmd = LowCmd()
        self._cmd_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._publish_error: BaseException | None = None
        self.published = 0

    # -- the command -------------------------------------------------------------------------
    def _set_command(self, q: np.ndarray, kp: np.ndarray, kd: np.ndarray) -> None:
        with self._cmd_lock:
            c = self._cmd
            c.mode[:BODY_DOF] = 1
            c.q[:BODY_DOF] = q
            c.dq[:] = 0
            c.tau[:] = 0
            c.kp[:BODY_DOF] = kp
            c.kd[:BODY_DOF] = kd

    def _damping(self, q: np.ndarray) -> None:
        self._set_command(q, np.zeros(BODY_DOF, np.float32), np.full(BODY_DOF, self.damping_kd))

    def _publish_loop(self) -> None:
        period = 1.0 / self.rate_hz
        next_due = time.monotonic()
        while not self._stop.is_set():
            with self._cmd_lock:
                cmd = LowCmd(
                    self._cmd.mode_pr, self._cmd.mode_machine, self._cmd.mode.copy(),
                    self._cmd.q.copy(), self._cmd.dq.copy(), self._cmd.tau.copy(),
                    self._cmd.kp.copy(), self._cmd.kd.copy(),
                )  # fmt: skip
            try:
                self.lowlevel.publish(cmd)
                self.published += 1
            except Exception as exc:  # noqa: BLE001 - surfaced by the next read()
                self._publish_error = exc
            next_due += period
            self._stop.wait(max(0.0, next_due - time.monotonic()))

    # -- lifecycle -----------------------------------------------------------------------------
    def _on_connect(self) -> None:
        if self.release_mode:  # pragma: no cover - needs the robot's MotionSwitcher service
            from groot_sdk_g1_inspire.dds.channel import release_builtin_control

            # first, as Unitree's examples do: its SDK makes the DDS domain that we then join
            release_builtin_control(self.lowlevel.domain_id, self.lowlevel.interface)
        self.lowlevel.open()
        deadline = time.monotonic() + self.first_state_timeout_s
        state = None
        while time.monotonic() < deadline:
            state, _ = self.lowlevel.latest()
            if state is not None:
                break
            time.sleep(0.005)
        if state is None:
            self.lowlevel.close()
            raise HardwareError(
                f"G1: no LowState on rt/lowstate within {self.first_state_timeout_s:g} s "
                "(check network_interface and that the robot is on)"
            )
        self._cmd.mode_machine = state.mode_machine  # the robot model, from the first state
        self._cmd.mode_pr = 0
        self._damping(state.q[:BODY_DOF])
        self._stop.clear()
        self._thread = threading.Thread(target=self._publish_loop, name="g1-lowcmd", daemon=True)
        self._thread.start()

    def _on_enable(self) -> None:
        q = self._lowstate().q[:BODY_DOF]
        self._set_command(q, self.kp, self.kd)  # hold where it stands, then follow writes

    def _on_disable(self) -> None:
        state, _ = self.lowlevel.latest()
        with self._cmd_lock:
            q = self._cmd.q[:BODY_DOF].copy() if state is None else state.q[:BODY_DOF]
        self._damping(q)
        if self._thread is None or not self._thread.is_alive():
            self.lowlevel.publish(self._cmd)  # at least once, even if the loop died

    def _on_close(self) -> None:
        try:
            time.sleep(min(0.05, 10.0 / self.rate_hz))  # let damping go out a few times
            self._stop.set()
            if self._thread is not None:
                self._thread.join(timeout=2)
            self.lowlevel.close()
        finally:
            for device in self._owned:
                device.stop()

    # -- I/O -----------------------------------------------------------------------------------
    def _lowstate(self) -> LowState:
        if self._publish_error is not None:
            exc, self._publish_error = self._publish_error, None
            raise HardwareError(f"G1: publishing LowCmd failed: {exc}") from exc
        state, stamp = self.lowlevel.latest()
        age = time.monotonic() - stamp
        if state is None or age > self.state_timeout_s:
            raise HardwareError(f"G1: no LowState for {age:.3f} s (limit {self.state_timeout_s} s)")
        bad = np.flatnonzero(state.motorstate[:BODY_DOF])
        if bad.size:
            faults = [
                f"{self.joint_names[i]} (motor {i}): 0x{int(state.motorstate[i]):x}" for i in bad
            ]
            raise HardwareError("G1 motor error: " + "; ".join(faults))
        return state

    def _read(self) -> JointState:
        s = self._lowstate()
        return JointState(
            s.q[:BODY_DOF], s.dq[:BODY_DOF], s.tau_est[:BODY_DOF], stamp=time.monotonic()
        )

    def _write(self, command: JointCommand) -> None:
        q = np.clip(command.position, self._lower, self._upper)
        kp = self.kp if command.kp is None else command.kp
        kd = self.kd if command.kd is None else command.kd
        self._set_command(q, kp, kd)

    def _hold(self) -> None:
        self._set_command(self._lowstate().q[:BODY_DOF], self.kp, self.kd)

    def diagnose(self) -> list[tuple[str, bool, str]]:
        try:
            s = self._lowstate()
        except HardwareError as exc:
            return [("g1 lowstate", False, str(exc))]
        rows = [("g1 lowstate", True, f"mode_machine {s.mode_machine}, tick {s.tick}")]
        for i, name in enumerate(self.joint_names):
            rows.append((f"{name} (motor {i})", s.motorstate[i] == 0, f"{s.q[i]:+.3f} rad"))
        return rows


class G1Imu(Imu):
    """The pelvis IMU, from the same LowState stream as the body."""

    def __init__(self, name: str, body: G1Body) -> None:
        super().__init__(name)
        self.body = body

    def _read(self) -> ImuReading:
        s, stamp = self.body.lowlevel.latest()
        if s is None or time.monotonic() - stamp > self.body.state_timeout_s:
            raise HardwareError(f"IMU '{self.name}': no recent LowState")
        return ImuReading(s.quaternion, s.gyroscope, s.accelerometer, stamp=stamp)


class InspireHand(JointEncoder, Actuator):
    """One hand's 12 URDF joints; six are driven (register order), six follow (Mimic)."""

    def __init__(
        self,
        spec: EmbodimentSpec,
        prefix: str,
        client: InspireClient,
        *,
        speed: int = 1000,
        force: int = 500,
        error_poll_every: int = 5,
        owned: Sequence[Any] = (),
        name: str = "",
    ) -> None:
        Component.__init__(self, name or f"{'left' if prefix == 'L' else 'right'}_hand")
        self.joint_names = tuple(n for n in spec.joint_names if n.startswith(f"{prefix}_"))
        self.client = client
        self.speed, self.force, self.error_poll_every = speed, force, error_poll_every
        local = {n: k for k, n in enumerate(self.joint_names)}
        self.driven = np.array([local[f"{prefix}_{suffix}"] for _, suffix in INSPIRE_DOF_ORDER])
        self.dof_names = [dof for dof, _ in INSPIRE_DOF_ORDER]
        joints = {j.name: j for j in spec.joints}
        self.lower = np.array([joints[self.joint_names[k]].lower for k in self.driven])
        self.upper = np.array([joints[self.joint_names[k]].upper for k in self.driven])
        follow = [(k, joints[n].mimic) for k, n in enumerate(self.joint_names) if joints[n].mimic]
        self.followers = [(k, local[m.source], m.multiplier, m.offset) for k, m in follow]
        self._owned = list(owned)
        self._reads = 0

    def to_registers(self, q_driven: np.ndarray) -> np.ndarray:
        q = np.clip(q_driven, self.lower, self.upper)
        return np.rint(1000 * (self.upper - q) / (self.upper - self.lower)).astype(np.int64)

    def to_joints(self, values: np.ndarray) -> np.ndarray:
        out = np.zeros(len(self.joint_names), np.float32)
        out[self.driven] = self.upper - np.asarray(values) / 1000.0 * (self.upper - self.lower)
        for k, source, mult, offset in self.followers:
            out[k] = mult * out[source] + offset
        return out

    def _check_errors(self) -> None:
        bits = self.client.errors()
        bad = [f"{self.dof_names[i]}: {reg.describe_error(b)}" for i, b in enumerate(bits) if b]
        if bad:
            raise HardwareError(f"{self.name} ({self.client.host}): " + "; ".join(bad))

    def _on_connect(self) -> None:
        self.client.open()
        try:
            self._check_errors()
            self.client.set_speeds([self.speed] * reg.NUM_DOF)
            self.client.set_forces([self.force] * reg.NUM_DOF)
        except Exception:
            self.client.close()
            raise

    def _read(self) -> JointState:
        self._reads += 1
        if self.error_poll_every and self._reads % self.error_poll_every == 0:
            self._check_errors()
        return JointState(self.to_joints(self.client.angles()), stamp=time.monotonic())

    def _write(self, command: JointCommand) -> None:
        self.client.set_angles(self.to_registers(command.position[self.driven]))

    def _hold(self) -> None:
        self.client.set_angles(self.client.angles())

    def _on_disable(self) -> None:
        # stop the fingers where they are; a hand that does not answer cannot be moved anyway
        self.client.set_angles(self.client.angles())

    def _on_close(self) -> None:
        try:
            self.client.close()
        finally:
            for device in self._owned:
                device.stop()

    def diagnose(self) -> list[tuple[str, bool, str]]:
        try:
            values = self.client.angles()
            bits = self.client.errors()
        except InspireError as exc:
            return [(self.name, False, str(exc))]
        detail = "angles " + " ".join(f"{d}={v}" for d, v in zip(self.dof_names, values))
        errs = [f"{d}: {reg.describe_error(b)}" for d, b in zip(self.dof_names, bits) if b]
        return [(self.name, not errs, detail + ("; " + "; ".join(errs) if errs else ""))]


# -- assembly -------------------------------------------------------------------------------------
def _hand_addresses(o: G1Options) -> tuple[str | None, str | None] | None:
    if o.hand_left is not None or o.hand_right is not None:
        return o.hand_left, o.hand_right
    value = o.hand_address
    if value is None:
        return None
    parts = [p.strip() for p in value.split(",")] if isinstance(value, str) else list(value)
    if len(parts) != 2 or not all(isinstance(p, str) and p for p in parts):
        raise opt.OptionError(f"hand_address needs two addresses (left,right), got {value!r}")
    return parts[0], parts[1]


def _split(address: str, default_port: int = 6000) -> tuple[str, int]:
    host, _, port = address.rpartition(":") if ":" in address else (address, "", "")
    if not port:
        return address, default_port
    if not port.isdigit() or not 0 < int(port) < 65536 or not host:
        raise opt.OptionError(f"hand address {address!r} must be HOST[:PORT] (port 1..65535)")
    return host, int(port)


def _addresses(_inst: Any, attribute: attrs.Attribute, value: Any) -> None:
    if value is None:
        return
    if isinstance(value, str) and value.strip() and len(value) <= opt.MAX_TEXT:
        return
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return
    raise opt.OptionError(f"option {attribute.name} must be 'IP[:PORT],IP[:PORT]', got {value!r}")


@attrs.frozen
class G1Options:
    """``make_hardware`` / ``--hw`` options, each checked when built (``None``: the default
    for real or fake hardware)."""

    network_interface: str | None = opt.text_field(None, optional=True)
    domain_id: int | None = opt.int_field(None, ge=0, le=232, optional=True)  #: DDS domain
    hand_address: Any = attrs.field(default=None, validator=_addresses)
    hand_left: str | None = opt.text_field(None, optional=True)
    hand_right: str | None = opt.text_field(None, optional=True)
    fake: bool = opt.bool_field(False)
    rate_hz: float | None = opt.float_field(None, gt=0.0, le=2_000.0, optional=True)
    state_timeout_s: float | None = opt.float_field(None, gt=0.0, le=10.0, optional=True)
    release_mode: bool = opt.bool_field(False)
    hand_speed: int = opt.int_field(1000, ge=0, le=1000)
    hand_force: int = opt.int_field(500, ge=0, le=1000)
    hand_timeout_s: float | None = opt.float_field(None, gt=0.0, le=10.0, optional=True)
    #: with ``fake``: run the simulated G1 in this interpreter, on Unitree's SDK and its
    #: CycloneDDS (e.g. a venv with cyclonedds 0.10.x, what the robot runs)
    sim_python: str | None = opt.text_field(None, optional=True)


OPTIONS = {a.name for a in attrs.fields(G1Options)}


def make_hardware(spec: EmbodimentSpec, **options: Any) -> Embodiment:
    """Options: ``network_interface`` (eth0), ``domain_id`` (0), ``hand_address``
    ("IP[:PORT],IP[:PORT]", left first) or ``hand_left``/``hand_right``, ``fake``,
    ``rate_hz`` (500), ``state_timeout_s``, ``release_mode`` (release Unitree's built-in
    controller first), ``hand_speed``/``hand_force`` (0..1000), ``camera_<name>``,
    ``sim_python`` (with ``fake``: the simulated G1's interpreter) (see :class:`G1Options`)."""
    from groot_sdk.hardware.opencv_camera import cameras_from_options
    from groot_sdk_g1_inspire.dds.channel import G1LowLevel

    cameras = {f"camera_{c.name}" for c in spec.cameras}
    o = opt.parse_options(G1Options, options, "g1_inspire hardware", allowed=cameras.__contains__)
    fake = o.fake
    camera_sensors = cameras_from_options(spec, options, fake=fake)  # checked before devices
    real_addresses = None if fake else _hand_addresses(o)
    if o.sim_python and not fake:
        raise SpecError("g1_inspire: option sim_python needs fake=True (it runs the simulated G1)")
    if not fake:  # before any DDS participant or socket is made
        if real_addresses is None:
            raise SpecError(
                "g1_inspire needs hand_address='LEFT_IP[:PORT],RIGHT_IP[:PORT]' (or fake)"
            )
        for side, a in zip(("left", "right"), real_addresses):
            if a is None:
                raise SpecError(f"g1_inspire: no address for the {side} hand")
            _split(a)
    body_owned: list[Any] = []
    hand_owned: list[list[Any]] = [[], []]
    if fake:
        from groot_sdk_g1_inspire.dds.sim import SimulatedG1, SimulatedG1Process
        from groot_sdk_g1_inspire.inspire.sim import SimulatedInspireHand

        # a per-process domain: tests running side by side must not hear each other
        domain = o.domain_id if o.domain_id is not None else 100 + os.getpid() % 100
        interface = o.network_interface or "lo"
        if o.sim_python:
            robot: Any = SimulatedG1Process(o.sim_python, domain_id=domain, interface=interface)
        else:
            robot = SimulatedG1(domain_id=domain, interface=interface)
        body_owned.append(robot.start())
        hands = [SimulatedInspireHand().start() for _ in range(2)]
        hand_owned = [[hands[0]], [hands[1]]]
        addresses: tuple[str | None, str | None] | None = tuple(
            f"127.0.0.1:{h.port}" for h in hands
        )  # type: ignore[assignment]
        rate = o.rate_hz or 100.0
    else:
        domain = o.domain_id or 0
        interface = o.network_interface
        addresses = real_addresses
        rate = o.rate_hz or 500.0
    body = G1Body(
        spec,
        G1LowLevel(domain, interface),
        rate_hz=rate,
        state_timeout_s=o.state_timeout_s or (0.1 if not fake else 0.5),
        release_mode=o.release_mode,
        owned=body_owned,
    )
    sensors: dict[str, Any] = {"body": body, "imu": G1Imu("imu", body)}
    actuators: dict[str, Any] = {"body": body}
    if addresses is None:
        raise SpecError("g1_inspire needs hand_address='LEFT_IP[:PORT],RIGHT_IP[:PORT]' (or fake)")
    for k, (prefix, address) in enumerate(zip(("L", "R"), addresses)):
        if address is None:
            raise SpecError(f"g1_inspire: no address for the {'left' if k == 0 else 'right'} hand")
        host, port = _split(address)
        hand = InspireHand(
            spec,
            prefix,
            InspireClient(
                host,
                port,
                name="left" if k == 0 else "right",
                timeout_s=o.hand_timeout_s or (0.1 if not fake else 0.5),
            ),
            speed=o.hand_speed,
            force=o.hand_force,
            owned=hand_owned[k],
        )
        sensors[hand.name] = actuators[hand.name] = hand
    sensors.update(camera_sensors)
    return Embodiment(spec, sensors, actuators)


__all__ = ["NUM_MOTORS", "G1Body", "G1Imu", "InspireHand", "make_hardware"]
