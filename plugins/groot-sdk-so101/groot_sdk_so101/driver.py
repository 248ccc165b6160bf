"""SO-101 hardware: six Feetech STS3215 servos on one serial bus (pyserial), plus cameras.

``make_hardware(spec, port=..., calibration=..., fake=False, camera_front=..., ...)``.
With ``fake=True`` a simulated STS3215 bus is started on a pseudo-terminal and the same
driver talks to it byte for byte.

Safe state (``disable``): torque off, broadcast to every servo and then confirmed per servo.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from groot_sdk.embodiment import Embodiment
from groot_sdk.errors import HardwareError, SpecError
from groot_sdk.hardware import Actuator, Component, JointCommand, JointEncoder, JointState
from groot_sdk.hardware import options as opt
from groot_sdk.spec import EmbodimentSpec
from groot_sdk_so101.feetech import protocol as p
from groot_sdk_so101.feetech.bus import FeetechBus, FeetechError, NoReplyError, ServoFaultError
from groot_sdk_so101.feetech.calibration import Calibration, TickConverter, default_path
from groot_sdk_so101.spec import SERVO_IDS

log = logging.getLogger(__name__)

#: STS3215 stall torque at 7.4 V (the MJCF's forcerange); Present_Load is per mille of it
STALL_TORQUE_NM = 3.35
#: LeRobot's SO follower configuration, written at connect (torque off)
CONFIGURE = (
    (p.Reg.RETURN_DELAY_TIME, 0),
    (p.Reg.OPERATING_MODE, 0),
    (p.Reg.P_COEFFICIENT, 16),
    (p.Reg.I_COEFFICIENT, 0),
    (p.Reg.D_COEFFICIENT, 32),
    (p.Reg.MAXIMUM_ACCELERATION, 254),
    (p.Reg.ACCELERATION, 254),
)


class So101Servos(JointEncoder, Actuator):
    """The servo bus as one encoder + actuator for the spec's joints."""

    def __init__(
        self,
        spec: EmbodimentSpec,
        bus: FeetechBus,
        calibration: Calibration,
        *,
        ids: Mapping[str, int] = SERVO_IDS,
        max_step_rad: float | None = None,
        owned: tuple[Any, ...] = (),
        name: str = "servos",
    ) -> None:
        Component.__init__(self, name)
        self.joint_names = spec.joint_names
        self.spec = spec
        self.bus = bus
        self.ids = [ids[n] for n in self.joint_names]
        calibration.check_covers(spec, ids)
        self.calibration = calibration
        self.convert = TickConverter(spec, calibration)
        if max_step_rad is not None and not 0 < max_step_rad <= math.pi:  # NaN fails too
            raise opt.OptionError(f"option max_step_rad must be in (0, pi], got {max_step_rad!r}")
        self.max_step_rad = max_step_rad
        self._lower = np.array(spec.lower, np.float32)
        self._upper = np.array(spec.upper, np.float32)
        self._owned = owned  #: simulated devices to stop on close
        self._last: JointState | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    def _on_connect(self) -> None:
        self.bus.open()
        try:
            for name, i in zip(self.joint_names, self.ids):
                model = self.bus.ping(i)
                if model != p.MODEL_STS3215:
                    raise FeetechError(
                        f"servo {i} ({name}) is model {model}, expected STS3215 "
                        f"({p.MODEL_STS3215})",
                        i,
                    )
            self._torque_off_all(confirm=True)
            self._write_calibration_if_needed()
            for i in self.ids:
                for field, value in CONFIGURE:
                    if self.bus.read(i, field) != value:
                        self.bus.write(i, field, value)
        except Exception:
            self.bus.close()
            raise

    def _write_calibration_if_needed(self) -> None:
        for name, i in zip(self.joint_names, self.ids):
            m = self.calibration.motors[name]
            want = {
                p.Reg.HOMING_OFFSET: m.homing_offset,
                p.Reg.MIN_POSITION_LIMIT: m.range_min,
                p.Reg.MAX_POSITION_LIMIT: m.range_max,
            }
            for field, value in want.items():
                if self.bus.read(i, field) != value:
                    log.info("servo %d (%s): writing %s = %d", i, name, field, value)
                    self.bus.write(i, field, value)

    def _on_enable(self) -> None:
        state = self._read()
        # goal = where the arm is, so switching torque on does not jump
        self.bus.sync_write(p.Reg.GOAL_POSITION, self._goal_ticks(state.position))
        for i in self.ids:
            self.bus.write(i, p.Reg.TORQUE_ENABLE, 1)
            self.bus.write(i, p.Reg.LOCK, 1)

    def _on_disable(self) -> None:
        self._torque_off_all(confirm=True)

    def _torque_off_all(self, confirm: bool) -> None:
        """Broadcast torque off (reaches a servo whose replies are lost), then confirm each."""
        self.bus.sync_write(p.Reg.TORQUE_ENABLE, {i: 0 for i in self.ids})
        if not confirm:
            return
        failed = []
        for name, i in zip(self.joint_names, self.ids):
            for field in (p.Reg.TORQUE_ENABLE, p.Reg.LOCK):
                try:
                    self.bus.write(i, field, 0)
                except ServoFaultError as exc:  # it answered, so it executed the write
                    log.warning("%s while switching torque off", exc)
                except NoReplyError as exc:
                    failed.append(f"{name} (servo {i}): {exc}")
                    break
        if failed:
            raise HardwareError(
                "torque off was broadcast but not confirmed by " + "; ".join(failed)
            )

    def _on_close(self) -> None:
        try:
            self.bus.close()
        finally:
            for device in self._owned:
                device.stop()

    # -- I/O -----------------------------------------------------------------------------------
    def _read(self) -> JointState:
        raw = self.bus.sync_read(p.FEEDBACK_ADDR, p.FEEDBACK_SIZE, self.ids)
        pos = np.empty(len(self.ids))
        vel = np.empty(len(self.ids))
        load = np.empty(len(self.ids))
        for k, i in enumerate(self.ids):
            block = raw[i]
            pos[k] = p.decode(p.Reg.PRESENT_POSITION, block[0:2])
            vel[k] = p.decode(p.Reg.PRESENT_VELOCITY, block[2:4])
            load[k] = p.decode(p.Reg.PRESENT_LOAD, block[4:6])
        effort = np.sign(self.convert.scale) * load / 1000.0 * STALL_TORQUE_NM
        self._last = JointState(
            self.convert.to_radians(pos),
            self.convert.velocity_to_si(vel),
            effort,
            stamp=time.monotonic(),
        )
        return self._last

    def _goal_ticks(self, position: np.ndarray) -> dict[int, int]:
        ticks = self.convert.to_ticks(np.clip(position, self._lower, self._upper))
        return dict(zip(self.ids, (int(t) for t in ticks)))

    def _write(self, command: JointCommand) -> None:
        target = command.position
        if self.max_step_rad is not None and self._last is not None:
            lo = self._last.position - self.max_step_rad
            target = np.clip(target, lo, self._last.position + self.max_step_rad)
        self.bus.sync_write(p.Reg.GOAL_POSITION, self._goal_ticks(target))

    def _hold(self) -> None:
        self.bus.sync_write(p.Reg.GOAL_POSITION, self._goal_ticks(self._read().position))

    # -- bring-up ------------------------------------------------------------------------------
    def diagnose(self) -> list[tuple[str, bool, str]]:
        """One row per servo for ``groot doctor``: (device, ok, detail)."""
        rows = []
        for name, i in zip(self.joint_names, self.ids):
            label = f"{self.name}/{name} (id {i})"
            try:
                model = self.bus.ping(i)
                block = self.bus.read_bytes(i, 56, 8)
                ticks = p.decode(p.Reg.PRESENT_POSITION, block[0:2])
                k = self.joint_names.index(name)
                rad = float((ticks - self.convert.zero[k]) * self.convert.scale[k])
                rows.append(
                    (
                        label,
                        model == p.MODEL_STS3215,
                        (
                            f"model {model}, {rad:+.3f} rad ({ticks} ticks), "
                            f"{block[6] / 10:.1f} V, {block[7]} C"
                        ),
                    )
                )
            except FeetechError as exc:
                rows.append((label, False, str(exc)))
        return rows


# -- assembly -------------------------------------------------------------------------------------
def _load_calibration(spec, calibration, robot_id: str, fake: bool) -> Calibration:
    if isinstance(calibration, Calibration):
        return calibration
    if calibration is None and fake:
        return Calibration.default_for(spec, SERVO_IDS)
    path = Path(calibration) if calibration is not None else default_path(robot_id)
    if not path.is_file():
        raise SpecError(
            f"no SO-101 calibration at {path}: run `groot calibrate so101 --port PORT` "
            "(or pass calibration=PATH)"
        )
    return Calibration.load(path)


#: baud rates an STS3215 can be set to (its BAUD_RATE register, Feetech's memory table)
BAUDRATES = (1_000_000, 500_000, 250_000, 128_000, 115_200, 76_800, 57_600, 38_400)


def _calibration_source(_inst: Any, attribute: attrs.Attribute, value: Any) -> None:
    if value is None or isinstance(value, Calibration):
        return
    if not isinstance(value, (str, os.PathLike)) or not os.fspath(value).strip():
        raise opt.OptionError(f"option calibration must be a file path, got {value!r}")


@attrs.frozen
class So101Options:
    """``make_hardware`` / ``--hw`` options of the servo bus, each checked when built."""

    port: str | None = opt.text_field(None, optional=True)
    fake: bool = opt.bool_field(False)
    calibration: Any = attrs.field(default=None, validator=_calibration_source)
    robot_id: str = opt.name_field("default")
    baudrate: int = opt.int_field(1_000_000, choices=BAUDRATES)
    timeout_s: float = opt.float_field(0.05, gt=0.0, le=10.0)
    retries: int = opt.int_field(2, ge=0, le=10)
    #: per-write step bound in the driver (rad), on top of the deployer's velocity limit
    max_step_rad: float | None = opt.float_field(None, gt=0.0, le=math.pi, optional=True)


def make_servos(
    spec: EmbodimentSpec,
    *,
    port: str | None = None,
    fake: bool = False,
    calibration: str | Calibration | None = None,
    robot_id: str = "default",
    baudrate: int = 1_000_000,
    timeout_s: float = 0.05,
    retries: int = 2,
    max_step_rad: float | None = None,
) -> So101Servos:
    """The servo bus component; with ``fake`` its simulated bus starts here."""
    o = opt.parse_options(
        So101Options,
        {
            "port": port,
            "fake": fake,
            "calibration": calibration,
            "robot_id": robot_id,
            "baudrate": baudrate,
            "timeout_s": timeout_s,
            "retries": retries,
            "max_step_rad": max_step_rad,
        },
        "so101 hardware",
    )
    cal = _load_calibration(spec, o.calibration, o.robot_id, o.fake)
    cal.check_covers(spec, SERVO_IDS)  # before anything indexes it by joint
    owned: tuple[Any, ...] = ()
    port, timeout_s = o.port, o.timeout_s
    if o.fake:
        from groot_sdk_so101.feetech.sim import SimulatedFeetechBus

        conv = TickConverter(spec, cal)
        start = conv.to_ticks(np.array(spec.defaults))
        sim = SimulatedFeetechBus(SERVO_IDS.values(), dict(zip(SERVO_IDS.values(), start)))
        port = sim.start()
        owned = (sim,)
        # the pty answers in microseconds, but the shared CI machine can stall a thread
        timeout_s = max(timeout_s, 0.2)
    if not port:
        raise SpecError("so101 hardware needs port=/dev/ttyACM0 (or fake=True)")
    names = {i: n for n, i in SERVO_IDS.items()}
    bus = FeetechBus(port, o.baudrate, timeout_s=timeout_s, retries=o.retries, names=names)
    return So101Servos(spec, bus, cal, max_step_rad=o.max_step_rad, owned=owned)


def make_hardware(spec: EmbodimentSpec, **options: Any) -> Embodiment:
    """Options: ``port``, ``fake``, ``calibration`` (path), ``robot_id``, ``baudrate``,
    ``timeout_s``, ``retries``, ``max_step_rad`` (see :class:`So101Options`),
    ``camera_<name>`` (OpenCV index or path)."""
    from groot_sdk.hardware.opencv_camera import cameras_from_options

    cameras_keys = {f"camera_{c.name}" for c in spec.cameras}
    servo_opts = {k: v for k, v in options.items() if k not in cameras_keys}
    # every option is checked before a device (or a simulated one) starts
    opt.parse_options(So101Options, servo_opts, "so101 hardware")
    cameras = cameras_from_options(spec, options, fake=bool(options.get("fake")))
    servos = make_servos(spec, **servo_opts)
    return Embodiment(spec, {"servos": servos, **cameras}, {"servos": servos})


def calibrate(
    spec: EmbodimentSpec,
    *,
    port: str,
    prompt,
    until_done,
    output: str | None = None,
    robot_id: str = "default",
    on_sample=None,
    baudrate: int = 1_000_000,
    **_: Any,
):
    """``groot calibrate so101``: LeRobot's procedure (see calibration.py); saves the JSON."""
    from groot_sdk_so101.feetech.calibration import record_calibration

    names = {i: n for n, i in SERVO_IDS.items()}
    bus = FeetechBus(port, int(baudrate), names=names)
    bus.open()
    phase: list = []

    def done() -> bool:
        if not phase:
            phase.append(until_done("Move every joint through its whole range."))
        return phase[0]()

    try:
        for i in SERVO_IDS.values():
            bus.ping(i)
        cal = record_calibration(
            bus,
            SERVO_IDS,
            centred=lambda: prompt("Move every joint to the middle of its range."),
            done=done,
            on_sample=on_sample,
        )
    finally:
        bus.close()
    path = Path(output) if output else default_path(robot_id)
    cal.save(path)
    return cal, path
