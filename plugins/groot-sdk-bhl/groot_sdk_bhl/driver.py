"""Berkeley Humanoid Lite hardware: 22 Recoil controllers on four CAN buses, the IMU, a camera.

``make_hardware(spec, can=["can0", "can1", "can2", "can3"], imu_port=..., fake=False, ...)``;
``fake=True`` starts simulated controllers on python-can ``virtual`` buses (and a simulated
IMU on a pty) and connects the same driver to them.

Sequence (after the lowlevel stack's ``Humanoid.enter_damping`` / ``RealHumanoid::run``):

* connect: ping every controller, check its ERROR flags, NMT -> IDLE, write kp / kd /
  torque limit by SDO (read back), heartbeat, NMT -> DAMPING (INACTIVE = damping);
* enable: heartbeat, hold-in-place command, NMT -> POSITION, interpolate to the default pose;
* disable (the safe state): NMT -> DAMPING; close: NMT -> IDLE, then release the buses.

Joint frame: ``motor = (q + offset) * direction``, ``q = motor * direction - offset``
(directions and offsets: recoil/calibration.py, ``groot calibrate bhl``).
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from groot_sdk.embodiment import Embodiment
from groot_sdk.errors import HardwareError, SpecError
from groot_sdk.hardware import Actuator, Component, JointCommand, JointEncoder, JointState
from groot_sdk.hardware import options as opt
from groot_sdk.spec import EmbodimentSpec
from groot_sdk_bhl.recoil import protocol as rp
from groot_sdk_bhl.recoil.bus import RecoilBus, RecoilError
from groot_sdk_bhl.recoil.calibration import JointCalibration, default_path
from groot_sdk_bhl.spec import CAN_MAP

log = logging.getLogger(__name__)

BUS_NAMES = ("left_arm", "right_arm", "left_leg", "right_leg")
DEFAULT_CHANNELS = ("can0", "can1", "can2", "can3")
_FAKE_RUNS = itertools.count()
#: PD gains per joint group (Isaac actuator config): arms kp 10 kd 2, legs kp 20 kd 2
ARM_GAINS, LEG_GAINS = (10.0, 2.0), (20.0, 2.0)


class BhlJoints(JointEncoder, Actuator):
    """All 22 joints over the four buses, as one encoder + actuator."""

    def __init__(
        self,
        spec: EmbodimentSpec,
        buses: Sequence[RecoilBus],
        *,
        directions: np.ndarray,
        offsets: np.ndarray,
        startup_s: float = 2.0,
        rate_hz: float | None = None,
        error_poll_every: int = 1,
        owned: Sequence[Any] = (),
        name: str = "joints",
    ) -> None:
        Component.__init__(self, name)
        self.spec = spec
        self.joint_names = spec.joint_names
        self.buses = list(buses)
        self.where = [CAN_MAP[n] for n in self.joint_names]  # (bus index, device id)
        self.directions = np.asarray(directions, np.float64)
        self.offsets = np.asarray(offsets, np.float64)
        legs = np.array([n.startswith("leg_") for n in self.joint_names])
        self.kp = np.where(legs, LEG_GAINS[0], ARM_GAINS[0])
        self.kd = np.where(legs, LEG_GAINS[1], ARM_GAINS[1])
        self.torque_limit = np.array([j.effort_limit for j in spec.joints], np.float64)
        self.startup_s = startup_s
        self.rate_hz = rate_hz or spec.rates.low_level_hz
        self.error_poll_every = error_poll_every
        self._owned = list(owned)
        self._lower = np.array(spec.lower)
        self._upper = np.array(spec.upper)
        self._target = np.zeros(spec.dof)  #: joint frame, what every PDO exchange sends
        self._measured = JointState(np.zeros(spec.dof), np.zeros(spec.dof))
        self._cycle = 0

    # -- helpers -------------------------------------------------------------------------------
    def _joints(self):
        for k, (b, device) in enumerate(self.where):
            yield k, self.buses[b], device

    def _each(self, action) -> None:
        """Apply ``action(bus, device)`` to every joint; on a failure keep going, then raise."""
        failed = []
        for k, bus, device in self._joints():
            try:
                action(bus, device)
            except RecoilError as exc:
                failed.append(str(exc))
        if failed:
            raise HardwareError("; ".join(failed))

    def _set_mode_all(self, mode: rp.Mode) -> None:
        self._each(lambda bus, device: bus.set_mode(device, mode))

    def _exchange(self, target: np.ndarray) -> JointState:
        motor = (target + self.offsets) * self.directions
        per_bus: list[dict[int, tuple[float, float]]] = [{} for _ in self.buses]
        for k, (b, device) in enumerate(self.where):
            per_bus[b][device] = (float(motor[k]), 0.0)
        for bus, cmds in zip(self.buses, per_bus):
            bus.drain()
            bus.exchange_start(cmds)
        replies = [bus.exchange_finish(cmds) for bus, cmds in zip(self.buses, per_bus)]
        pos = np.empty(len(self.where))
        vel = np.empty(len(self.where))
        for k, (b, device) in enumerate(self.where):
            pos[k], vel[k] = replies[b][device]
        self._measured = JointState(
            pos * self.directions - self.offsets, vel * self.directions, stamp=time.monotonic()
        )
        self._cycle += 1
        if self.error_poll_every and self._cycle % self.error_poll_every == 0:
            self._poll_errors()
        return self._measured

    def _poll_errors(self) -> None:
        """Read ERROR from one controller per bus (round robin)."""
        for b, bus in enumerate(self.buses):
            devices = [k for k, (bi, _) in enumerate(self.where) if bi == b]
            k = devices[(self._cycle // max(1, self.error_poll_every)) % len(devices)]
            self._check_error(k)

    def _check_error(self, k: int) -> None:
        b, device = self.where[k]
        bits = int(self.buses[b].read_param(device, rp.Param.ERROR))
        if bits:
            raise HardwareError(
                f"{self.buses[b].label(device)} reports "
                f"{rp.describe_error(bits)} (ERROR 0x{bits:x})"
            )

    # -- lifecycle -----------------------------------------------------------------------------
    def _on_connect(self) -> None:
        for bus in self.buses:
            bus.open()
        try:
            self._startup_to_damping()
        except Exception:
            for bus in self.buses:
                bus.close()
            raise

    def _startup_to_damping(self) -> None:
        missing = [bus.label(d) for k, bus, d in self._joints() if not bus.ping(d)]
        if missing:
            raise HardwareError("no answer to ping from " + "; ".join(missing))
        for k in range(len(self.where)):
            self._check_error(k)
        self._set_mode_all(rp.Mode.IDLE)
        for k, bus, d in self._joints():
            want = {
                rp.Param.POSITION_KP: self.kp[k],
                rp.Param.VELOCITY_KP: self.kd[k],
                rp.Param.TORQUE_LIMIT: self.torque_limit[k],
            }
            for param, value in want.items():
                bus.write_param(d, param, float(value))
            for param, value in want.items():
                got = float(bus.read_param(d, param))
                if not np.isclose(got, value, rtol=1e-6):
                    raise HardwareError(
                        f"{bus.label(d)}: {param.name} reads back {got}, wrote {value}"
                    )
        self._each(lambda bus, d: bus.feed(d))
        self._set_mode_all(rp.Mode.DAMPING)
        motor = np.array(
            [float(bus.read_param(d, rp.Param.POSITION_MEASURED)) for _, bus, d in self._joints()]
        )
        self._target = motor * self.directions - self.offsets
        self._exchange(self._target)

    def _on_enable(self) -> None:
        start = self._exchange(self._measured.position).position.astype(np.float64)
        self._target = start.copy()
        self._each(lambda bus, d: bus.feed(d))
        self._set_mode_all(rp.Mode.POSITION)
        goal = np.clip(np.array(self.spec.defaults), self._lower, self._upper)
        steps = max(1, round(self.startup_s * self.rate_hz))
        period = 1.0 / self.rate_hz
        next_due = time.monotonic()
        for i in range(1, steps + 1):
            self._target = start + (goal - start) * (i / steps)
            self._exchange(self._target)
            next_due += period
            time.sleep(max(0.0, next_due - time.monotonic()))

    def _on_disable(self) -> None:
        self._set_mode_all(rp.Mode.DAMPING)

    def _on_close(self) -> None:
        try:
            self._set_mode_all(rp.Mode.IDLE)
        except HardwareError:
            log.exception("%s: could not send IDLE to every controller", self.name)
        finally:
            for bus in self.buses:
                bus.close()
            for device in self._owned:
                device.stop()

    # -- I/O -----------------------------------------------------------------------------------
    def _read(self) -> JointState:
        return self._exchange(self._target)

    def _write(self, command: JointCommand) -> None:
        self._target = np.clip(command.position.astype(np.float64), self._lower, self._upper)
        self._exchange(self._target)

    def _hold(self) -> None:
        self._target = self._measured.position.astype(np.float64)
        self._exchange(self._target)

    def diagnose(self) -> list[tuple[str, bool, str]]:
        rows = []
        for k, bus, d in self._joints():
            label = f"{self.joint_names[k]} ({bus.channel} id {d})"
            try:
                if not bus.ping(d):
                    rows.append((label, False, "no answer to ping"))
                    continue
                bits = int(bus.read_param(d, rp.Param.ERROR))
                mode = rp.Mode(int(bus.read_param(d, rp.Param.MODE))).name.lower()
                pos = float(bus.read_param(d, rp.Param.POSITION_MEASURED))
                volts = float(bus.read_param(d, rp.Param.BUS_VOLTAGE_MEASURED))
                q = pos * self.directions[k] - self.offsets[k]
                detail = f"mode {mode}, {q:+.3f} rad, {volts:.1f} V"
                if bits:
                    detail += f", errors: {rp.describe_error(bits)}"
                rows.append((label, bits == 0, detail))
            except (RecoilError, ValueError) as exc:
                rows.append((label, False, str(exc)))
        return rows


# -- assembly -------------------------------------------------------------------------------------
def _channels(can: Any) -> list[str]:
    if can is None:
        return list(DEFAULT_CHANNELS)
    channels = [c.strip() for c in can.split(",")] if isinstance(can, str) else list(can)
    if len(channels) != 4:
        raise SpecError(
            f"bhl needs four CAN channels (left arm, right arm, left leg, right leg), got {channels}"
        )
    return channels


def _can_channels(_inst: Any, attribute: attrs.Attribute, value: Any) -> None:
    if value is None:
        return
    items = value.split(",") if isinstance(value, str) else value
    if (
        not isinstance(items, (list, tuple))
        or not items
        or not all(isinstance(c, str) and c.strip() and len(c) <= 64 for c in items)
    ):
        raise opt.OptionError(f"option can must be channel names like can0,can1,..., got {value!r}")


@attrs.frozen
class BhlOptions:
    """``make_hardware`` / ``--hw`` options (joints and IMU), each checked when built."""

    can: Any = attrs.field(default=None, validator=_can_channels)
    interface: str = opt.text_field("socketcan")  #: python-can interface
    fake: bool = opt.bool_field(False)
    calibration: str | None = attrs.field(
        default=None,
        converter=opt._to_text,
        validator=attrs.validators.optional([attrs.validators.instance_of(str), opt.existing_file]),
    )
    timeout_s: float = opt.float_field(0.005, gt=0.0, le=10.0)
    retries: int = opt.int_field(2, ge=0, le=10)
    startup_s: float = opt.float_field(2.0, ge=0.0, le=60.0)  #: ramp to the default pose
    rate_hz: float | None = opt.float_field(None, gt=0.0, le=10_000.0, optional=True)
    error_poll_every: int = opt.int_field(1, ge=0, le=100_000)
    imu_port: str | None = opt.text_field(None, optional=True)
    imu_protocol: str = opt.text_field("wit", choices=("wit", "bno085"))
    imu_baudrate: int | None = opt.int_field(None, ge=1_200, le=4_000_000, optional=True)


JOINT_OPTIONS = {
    "can", "interface", "fake", "calibration", "timeout_s", "retries", "startup_s", "rate_hz",
    "error_poll_every",
}  # fmt: skip
IMU_OPTIONS = {"imu_port", "imu_protocol", "imu_baudrate"}


def make_joints(
    spec: EmbodimentSpec,
    *,
    can: Any = None,
    interface: str = "socketcan",
    fake: bool = False,
    calibration: str | None = None,
    timeout_s: float = 0.005,
    retries: int = 2,
    startup_s: float = 2.0,
    rate_hz: float | None = None,
    error_poll_every: int = 1,
) -> BhlJoints:
    o = opt.parse_options(
        BhlOptions,
        {
            "can": can,
            "interface": interface,
            "fake": fake,
            "calibration": calibration,
            "timeout_s": timeout_s,
            "retries": retries,
            "startup_s": startup_s,
            "rate_hz": rate_hz,
            "error_poll_every": error_poll_every,
        },
        "bhl hardware",
    )
    calibration, timeout_s, interface = o.calibration, o.timeout_s, o.interface
    cal = (
        JointCalibration.load(calibration, spec)
        if calibration is not None
        else JointCalibration.default(spec)
    )
    directions, offsets = cal.arrays()
    channels = _channels(o.can)
    owned: list[Any] = []
    if o.fake:
        from groot_sdk_bhl.recoil.sim import SimulatedRecoilBus

        interface = "virtual"
        run = next(_FAKE_RUNS)  # virtual channels are per process: a counter keeps them apart
        channels = [f"fake{run}-{c}" for c in channels]
        timeout_s = max(timeout_s, 0.1)  # a Python thread answers, on a shared CPU
        for b, channel in enumerate(channels):
            positions = {}
            for k, name in enumerate(spec.joint_names):
                bus_index, device = CAN_MAP[name]
                if bus_index == b:  # the robot lies limp a little off its default pose
                    q = spec.joints[k].default * 0.5
                    positions[device] = (q + offsets[k]) * directions[k]
            owned.append(SimulatedRecoilBus(channel, positions).start())
    buses = []
    for b, channel in enumerate(channels):
        labels = {d: n for n, (bi, d) in CAN_MAP.items() if bi == b}
        buses.append(
            RecoilBus(
                channel,
                interface=interface,
                name=BUS_NAMES[b],
                timeout_s=timeout_s,
                retries=o.retries,
                labels=labels,
            )
        )
    return BhlJoints(
        spec,
        buses,
        directions=directions,
        offsets=offsets,
        startup_s=o.startup_s,
        rate_hz=o.rate_hz,
        error_poll_every=o.error_poll_every,
        owned=owned,
    )


def make_hardware(spec: EmbodimentSpec, **options: Any) -> Embodiment:
    """Options: ``can`` (four channels), ``interface``, ``fake``, ``calibration`` (JSON),
    ``imu_port``, ``imu_protocol`` (wit | bno085), ``imu_baudrate``, ``startup_s``,
    ``rate_hz``, ``timeout_s``, ``retries``, ``error_poll_every``, ``camera_head``."""
    from groot_sdk.hardware.opencv_camera import cameras_from_options
    from groot_sdk_bhl.imu import SerialImu, SimulatedImu

    cameras = {f"camera_{c.name}" for c in spec.cameras}
    o = opt.parse_options(BhlOptions, options, "bhl hardware", allowed=cameras.__contains__)
    fake = o.fake
    camera_sensors = cameras_from_options(spec, options, fake=fake)  # checked before devices
    joints = make_joints(spec, **{k: v for k, v in options.items() if k in JOINT_OPTIONS})
    sensors: dict[str, Any] = {"joints": joints}
    protocol = o.imu_protocol
    imu_port = o.imu_port
    if fake and imu_port is None:
        sim_imu = SimulatedImu(protocol).start()
        joints._owned.append(sim_imu)
        imu_port = sim_imu.port
    if imu_port is not None:
        sensors["imu"] = SerialImu("imu", imu_port, protocol=protocol, baudrate=o.imu_baudrate)
    sensors.update(camera_sensors)
    return Embodiment(spec, sensors, {"joints": joints})


def calibrate(
    spec: EmbodimentSpec,
    *,
    prompt,
    output: str | None = None,
    robot_id: str = "default",
    **options: Any,
):
    """``groot calibrate bhl``: joint offsets from the calibration pose (controllers idle)."""
    opts = {k: v for k, v in options.items() if k in JOINT_OPTIONS and k != "calibration"}
    joints = make_joints(spec, **opts)
    for bus in joints.buses:
        bus.open()
    try:
        missing = [bus.label(d) for _, bus, d in joints._joints() if not bus.ping(d)]
        if missing:
            raise HardwareError("no answer to ping from " + "; ".join(missing))
        joints._set_mode_all(rp.Mode.IDLE)
        prompt(
            "Hold the robot in the calibration pose: legs against the stops of "
            "LEG_CALIBRATION_POSE_DEG (recoil/calibration.py), arms at zero."
        )
        motor = np.array(
            [float(bus.read_param(d, rp.Param.POSITION_MEASURED)) for _, bus, d in joints._joints()]
        )
    finally:
        for bus in joints.buses:
            bus.close()
        for device in joints._owned:
            device.stop()
    cal = JointCalibration.from_pose(spec, motor, directions=joints.directions)
    path = Path(output) if output else default_path(robot_id)
    cal.save(path)
    return cal, path
