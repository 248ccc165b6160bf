"""Per-joint calibration of Feetech servos: homing offset and range, stored as JSON.

The file is LeRobot's format (``{joint: {id, drive_mode, homing_offset, range_min,
range_max}}``, raw ticks), so a LeRobot calibration can be reused. Ticks map to radians
like LeRobot's DEGREES mode and the MuJoCo ``so101_new_calib`` model: 0 rad is the middle
of the recorded range, 2*pi/4096 rad per tick. A gripper maps its recorded range linearly
onto the joint's [lower, upper] (LeRobot's RANGE_0_100 idea, in radians).
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
from attrs import asdict, field, frozen, validators

from groot_sdk.errors import SpecError
from groot_sdk.spec import EmbodimentSpec
from groot_sdk_so101.feetech import protocol as p

RAD_PER_TICK = 2 * math.pi / p.TICKS_PER_REV
HALF_TURN = 2047
_tick = validators.and_(validators.instance_of(int), validators.ge(0), validators.le(4095))


@frozen
class MotorCalibration:
    id: int = field(validator=validators.and_(validators.ge(0), validators.le(p.MAX_ID)))
    drive_mode: int = field(default=0, validator=validators.in_((0, 1)))
    homing_offset: int = field(
        default=0, validator=[validators.ge(-HALF_TURN), validators.le(HALF_TURN)]
    )
    range_min: int = field(default=0, validator=_tick)
    range_max: int = field(default=4095, validator=_tick)

    def __attrs_post_init__(self) -> None:
        if self.range_min >= self.range_max:
            raise ValueError(f"range_min {self.range_min} must be below range_max {self.range_max}")


@frozen
class Calibration:
    """Joint name -> :class:`MotorCalibration`, in the spec's joint order."""

    motors: Mapping[str, MotorCalibration]

    def to_json(self) -> dict:
        return {name: asdict(m) for name, m in self.motors.items()}

    @classmethod
    def from_json(cls, data: Mapping, source: str = "calibration") -> Calibration:
        motors = {}
        for name, entry in data.items():
            try:
                motors[name] = MotorCalibration(**entry)
            except (TypeError, ValueError) as exc:
                raise SpecError(f"{source}: joint '{name}': {exc}") from exc
        return cls(motors)

    def save(self, path: str | os.PathLike) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_json(), indent=4) + "\n")
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> Calibration:
        path = Path(path)
        if path.stat().st_size > 1 << 20:
            raise SpecError(f"{path}: calibration file larger than 1 MiB")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
            raise SpecError(f"{path}: not JSON ({exc})") from exc
        if not isinstance(data, dict):
            raise SpecError(f"{path}: expected an object of joints")
        return cls.from_json(data, str(path))

    def check_covers(self, spec: EmbodimentSpec, ids: Mapping[str, int]) -> None:
        missing = [n for n in spec.joint_names if n not in self.motors]
        if missing:
            raise SpecError(f"calibration has no entry for joints {missing}")
        wrong = [n for n in spec.joint_names if self.motors[n].id != ids[n]]
        if wrong:
            raise SpecError(
                f"calibration servo ids differ from the spec for joints "
                f"{[(n, self.motors[n].id, ids[n]) for n in wrong]}"
            )

    @classmethod
    def default_for(cls, spec: EmbodimentSpec, ids: Mapping[str, int]) -> Calibration:
        """Ranges that put each joint's limits at 2*pi/4096 rad per tick around tick 2048:
        what a freshly centred arm records (used by the simulated bus)."""
        motors = {}
        for j in spec.joints:
            if spec.gripper is not None and j.name == spec.gripper.joint:
                lo, hi = 2048 + j.lower / RAD_PER_TICK, 2048 + j.upper / RAD_PER_TICK
            else:
                half = max(abs(j.lower), abs(j.upper)) / RAD_PER_TICK
                lo, hi = 2048 - half, 2048 + half
            motors[j.name] = MotorCalibration(
                ids[j.name], 0, 0, max(0, math.floor(lo)), min(4095, math.ceil(hi))
            )
        return cls(motors)


def default_path(robot_id: str = "default") -> Path:
    root = os.environ.get("GROOT_CALIBRATION_DIR") or Path.home() / ".cache/groot/calibration"
    return Path(root) / "so101" / f"{robot_id}.json"


class TickConverter:
    """Vectorised ticks <-> radians for the spec's joints: ``rad = (ticks - zero) * scale``."""

    def __init__(self, spec: EmbodimentSpec, calibration: Calibration) -> None:
        zero, scale = [], []
        for j in spec.joints:
            m = calibration.motors[j.name]
            sign = -1.0 if m.drive_mode else 1.0
            if spec.gripper is not None and j.name == spec.gripper.joint:
                s = (j.upper - j.lower) / (m.range_max - m.range_min)
                z = m.range_min - j.lower / s if not m.drive_mode else m.range_min + j.upper / s
            else:
                s, z = RAD_PER_TICK, (m.range_min + m.range_max) / 2
            zero.append(z)
            scale.append(sign * s)
        self.zero = np.array(zero)
        self.scale = np.array(scale)
        self.tick_min = np.array([calibration.motors[n].range_min for n in spec.joint_names])
        self.tick_max = np.array([calibration.motors[n].range_max for n in spec.joint_names])

    def to_radians(self, ticks) -> np.ndarray:
        return ((np.asarray(ticks, np.float64) - self.zero) * self.scale).astype(np.float32)

    def velocity_to_si(self, ticks_per_s) -> np.ndarray:
        return (np.asarray(ticks_per_s, np.float64) * self.scale).astype(np.float32)

    def to_ticks(self, radians) -> np.ndarray:
        ticks = np.rint(np.asarray(radians, np.float64) / self.scale + self.zero)
        return np.clip(ticks, self.tick_min, self.tick_max).astype(np.int64)


# -- the procedure -------------------------------------------------------------------------------
def record_calibration(
    bus,
    ids: Mapping[str, int],
    *,
    centred: Callable[[], None],
    done: Callable[[], bool],
    full_turn: tuple[str, ...] = ("wrist_roll",),
    on_sample: Callable[[dict[str, int]], None] | None = None,
    period_s: float = 0.02,
) -> Calibration:
    """LeRobot's procedure, on a :class:`~groot_sdk_so101.feetech.bus.FeetechBus`.

    Torque off and EEPROM unlocked; reset offsets and limits; ``centred()`` returns once the
    arm is in the middle of its range; Homing_Offset = present - 2047 puts that pose at the
    half turn; then positions are sampled until ``done()`` to record each joint's range
    (``full_turn`` joints get 0..4095). Offsets and limits are written to the servos.
    """
    servo_ids = list(ids.values())
    for i in servo_ids:
        bus.write(i, p.Reg.TORQUE_ENABLE, 0)
        bus.write(i, p.Reg.LOCK, 0)
        bus.write(i, p.Reg.HOMING_OFFSET, 0)
        bus.write(i, p.Reg.MIN_POSITION_LIMIT, 0)
        bus.write(i, p.Reg.MAX_POSITION_LIMIT, 4095)
    centred()
    homing = {}
    for name, i in ids.items():
        offset = bus.read(i, p.Reg.PRESENT_POSITION) - HALF_TURN
        p.encode(p.Reg.HOMING_OFFSET, offset)  # raises if |offset| > 2047
        bus.write(i, p.Reg.HOMING_OFFSET, offset)
        homing[name] = offset
    lo = {n: 4095 for n in ids}
    hi = {n: 0 for n in ids}
    while True:
        raw = bus.sync_read(p.Reg.PRESENT_POSITION.addr, 2, servo_ids)
        sample = {n: p.decode(p.Reg.PRESENT_POSITION, raw[i]) for n, i in ids.items()}
        for n, v in sample.items():
            lo[n], hi[n] = min(lo[n], v), max(hi[n], v)
        if on_sample is not None:
            on_sample(sample)
        if done():
            break
        time.sleep(period_s)
    motors = {}
    for name, i in ids.items():
        rmin, rmax = (0, 4095) if name in full_turn else (lo[name], hi[name])
        if rmin >= rmax:
            raise SpecError(f"joint '{name}' (servo {i}) did not move while recording its range")
        bus.write(i, p.Reg.MIN_POSITION_LIMIT, rmin)
        bus.write(i, p.Reg.MAX_POSITION_LIMIT, rmax)
        motors[name] = MotorCalibration(i, 0, homing[name], rmin, rmax)
    return Calibration(motors)
