"""The SO-101 leader arm: six STS3215 servos with torque off, read by hand-guided position.

Same bus and protocol as the follower (``feetech.bus``), its own calibration file (LeRobot's
format, ``$GROOT_CALIBRATION_DIR/so101_leader/<id>.json``; record one with ``groot
calibrate so101 --port LEADER_PORT -o FILE``). Each leader joint is read in
radians (0 = the middle of its recorded range, like the follower) and mapped joint by joint,
by name, onto the follower's spec, clipped to the follower's limits. The gripper is mapped
by range: the leader's recorded gripper range (closed..open) onto the follower's gripper
joint range in the direction of its :class:`~groot_sdk.spec.GripperSpec`.

``fake=True`` starts a simulated leader bus on a pseudo-terminal (the follower's test
device); ``script=FILE`` then moves its shafts through a trajectory, one row per position
read (a JSON list of rows of joint radians in the spec's order, or ``{"positions": rows}``).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from groot_sdk.errors import SpecError
from groot_sdk.spec import EmbodimentSpec
from groot_sdk_so101.feetech import protocol as p
from groot_sdk_so101.feetech.bus import FeetechBus, FeetechError, ServoFaultError
from groot_sdk_so101.feetech.calibration import RAD_PER_TICK, Calibration
from groot_sdk_so101.feetech.sim import SimulatedFeetechBus
from groot_sdk_so101.spec import SERVO_IDS

log = logging.getLogger(__name__)

#: largest leader script read
MAX_SCRIPT_BYTES = 16 << 20


def leader_calibration_path(robot_id: str = "default") -> Path:
    root = os.environ.get("GROOT_CALIBRATION_DIR") or Path.home() / ".cache/groot/calibration"
    return Path(root) / "so101_leader" / f"{robot_id}.json"


class LeaderMap:
    """Leader ticks -> follower joint radians, joint by joint through the spec."""

    def __init__(
        self, spec: EmbodimentSpec, calibration: Calibration, *, gripper_inverted: bool = False
    ) -> None:
        calibration.check_covers(spec, SERVO_IDS)
        self.spec = spec
        self.names = spec.joint_names
        self.lower, self.upper = np.array(spec.lower), np.array(spec.upper)
        m = [calibration.motors[n] for n in self.names]
        self.lo = np.array([c.range_min for c in m], np.float64)
        self.hi = np.array([c.range_max for c in m], np.float64)
        self.sign = np.array([-1.0 if c.drive_mode else 1.0 for c in m])
        self.centre = (self.lo + self.hi) / 2
        g = spec.gripper
        self.grip = self.names.index(g.joint) if g is not None else None
        self.gripper_inverted = gripper_inverted
        if g is not None:
            j = spec.joints[self.grip]
            # the follower's gripper joint range, from its closed end to its open end
            self.grip_closed, self.grip_open = (
                (j.lower, j.upper) if g.open >= g.closed else (j.upper, j.lower)
            )

    def __call__(self, ticks: Sequence[int] | np.ndarray) -> np.ndarray:
        t = np.clip(np.asarray(ticks, np.float64), self.lo, self.hi)
        q = (t - self.centre) * RAD_PER_TICK * self.sign
        if self.grip is not None:
            k = self.grip
            frac = (t[k] - self.lo[k]) / (self.hi[k] - self.lo[k])  # 0 at range_min
            if self.gripper_inverted:
                frac = 1.0 - frac
            q[k] = self.grip_closed + frac * (self.grip_open - self.grip_closed)
        return np.clip(q, self.lower, self.upper)

    def to_ticks(self, q: np.ndarray) -> np.ndarray:
        """The inverse (for a simulated leader): follower radians -> leader ticks."""
        q = np.asarray(q, np.float64)
        t = q / (RAD_PER_TICK * self.sign) + self.centre
        if self.grip is not None:
            k = self.grip
            frac = (q[k] - self.grip_closed) / (self.grip_open - self.grip_closed)
            if self.gripper_inverted:
                frac = 1.0 - frac
            t[k] = self.lo[k] + frac * (self.hi[k] - self.lo[k])
        return np.clip(np.rint(t), self.lo, self.hi).astype(np.int64)


class ScriptedLeaderBus(SimulatedFeetechBus):
    """A simulated leader bus whose shafts follow ``ticks`` (rows of raw positions in the
    order of ``ids``), one row per position read; the last row is held."""

    def __init__(self, ids: Sequence[int], ticks: np.ndarray) -> None:
        ticks = np.asarray(ticks, np.int64)
        super().__init__(ids, dict(zip(ids, (int(v) for v in ticks[0]))))
        self.ids = list(ids)
        self.ticks = ticks
        self.row = 0  #: rows played so far

    def _handle(self, pkt: p.Packet) -> list[bytes]:
        is_read = pkt.code == p.Inst.SYNC_READ and len(pkt.params) >= 2
        if is_read and pkt.params[0] == p.Reg.PRESENT_POSITION.addr:
            row = self.ticks[min(self.row, len(self.ticks) - 1)]
            self.row += 1
            for i, v in zip(self.ids, row):
                servo = self.servos[i]
                servo.actual = float(v + servo._get(p.Reg.HOMING_OFFSET))
        return super()._handle(pkt)


def load_script(path: str | os.PathLike, spec: EmbodimentSpec) -> np.ndarray:
    """Rows of joint radians (spec order) from a JSON file."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_SCRIPT_BYTES:
            raise SpecError(f"leader script {path} is larger than 16 MiB")
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise SpecError(f"cannot read leader script {path}: {exc}") from None
    rows = doc.get("positions") if isinstance(doc, dict) else doc
    try:
        arr = np.asarray(rows, np.float64)
    except (TypeError, ValueError):
        arr = np.zeros((0,))
    if arr.ndim != 2 or arr.shape[1] != spec.dof or len(arr) == 0 or not np.isfinite(arr).all():
        raise SpecError(
            f"leader script {path}: expected rows of {spec.dof} finite joint positions "
            f"({', '.join(spec.joint_names)}), got shape {arr.shape}"
        )
    return arr


class So101Leader:
    """The leader arm as a teleop mapping (``TeleopMapping``): each call reads the leader and
    returns the follower's joint targets (the follower's state is not needed)."""

    def __init__(
        self,
        spec: EmbodimentSpec,
        bus: FeetechBus,
        calibration: Calibration,
        *,
        gripper_inverted: bool = False,
        owned: tuple[Any, ...] = (),
    ) -> None:
        self.spec, self.bus = spec, bus
        self.calibration = calibration
        self.map = LeaderMap(spec, calibration, gripper_inverted=gripper_inverted)
        self.ids = [SERVO_IDS[n] for n in spec.joint_names]
        self._owned = owned
        self.last: np.ndarray | None = None  #: the last reading (follower radians)
        self.reads = 0

    def connect(self) -> None:
        """Open the bus, check every servo is an STS3215, torque off (broadcast, then
        confirmed per servo) and write the calibration where the servo differs."""
        self.bus.open()
        try:
            for name, i in zip(self.spec.joint_names, self.ids):
                model = self.bus.ping(i)
                if model != p.MODEL_STS3215:
                    raise FeetechError(
                        f"leader servo {i} ({name}) is model {model}, expected STS3215", i
                    )
            self.bus.sync_write(p.Reg.TORQUE_ENABLE, {i: 0 for i in self.ids})
            for name, i in zip(self.spec.joint_names, self.ids):
                for field in (p.Reg.TORQUE_ENABLE, p.Reg.LOCK):
                    try:
                        self.bus.write(i, field, 0)
                    except ServoFaultError as exc:  # it answered, so it executed the write
                        log.warning("leader: %s while switching torque off", exc)
                m = self.calibration.motors[name]
                want = {
                    p.Reg.HOMING_OFFSET: m.homing_offset,
                    p.Reg.MIN_POSITION_LIMIT: m.range_min,
                    p.Reg.MAX_POSITION_LIMIT: m.range_max,
                }
                for field, value in want.items():
                    if self.bus.read(i, field) != value:
                        self.bus.write(i, field, value)
        except Exception:
            self.close()
            raise

    def read(self) -> np.ndarray:
        """The follower's joint targets from the leader's present positions."""
        raw = self.bus.sync_read(p.Reg.PRESENT_POSITION.addr, 2, self.ids)
        ticks = [p.decode(p.Reg.PRESENT_POSITION, raw[i]) for i in self.ids]
        self.last = self.map(ticks)
        self.reads += 1
        return self.last

    # -- TeleopMapping -------------------------------------------------------------------------
    def reset(self) -> None:
        pass

    def __call__(self, state: np.ndarray, axes: Mapping[str, float]) -> np.ndarray:
        return self.read()

    def close(self) -> None:
        try:
            self.bus.close()
        finally:
            for device in self._owned:
                device.stop()
            self._owned = ()


def make_leader(
    spec: EmbodimentSpec,
    *,
    port: str | None = None,
    fake: bool = False,
    calibration: str | Calibration | None = None,
    robot_id: str = "default",
    baudrate: int = 1_000_000,
    timeout_s: float = 0.05,
    retries: int = 2,
    script: str | None = None,
    gripper_inverted: bool = False,
    connect: bool = True,
) -> So101Leader:
    """The leader on ``port`` (or a simulated one with ``fake``), connected."""
    if isinstance(calibration, Calibration):
        cal = calibration
    elif calibration is None and fake:
        cal = Calibration.default_for(spec, SERVO_IDS)
    else:
        path = Path(calibration) if calibration else leader_calibration_path(robot_id)
        if not path.is_file():
            raise SpecError(
                f"no SO-101 leader calibration at {path}: run `groot calibrate so101 --port "
                f"LEADER_PORT -o {path}` (or pass --device-opt calibration=PATH)"
            )
        cal = Calibration.load(path)
    if script is not None and not fake:
        raise SpecError("leader: script= moves a simulated leader; it needs --fake-hardware")
    owned: tuple[Any, ...] = ()
    if fake:
        lmap = LeaderMap(spec, cal, gripper_inverted=gripper_inverted)
        rows = load_script(script, spec) if script else np.array([spec.defaults])
        ticks = np.stack([lmap.to_ticks(r) for r in rows])
        sim = ScriptedLeaderBus(list(SERVO_IDS.values()), ticks)
        port = sim.start()
        owned = (sim,)
        timeout_s = max(timeout_s, 0.2)  # the pty answers at once; a shared CI box may not
    if not port:
        raise SpecError("the SO-101 leader needs its port (--device-opt port=/dev/ttyACM1)")
    names = {i: f"leader {n}" for n, i in SERVO_IDS.items()}
    bus = FeetechBus(port, int(baudrate), timeout_s=timeout_s, retries=retries, names=names)
    leader = So101Leader(spec, bus, cal, gripper_inverted=gripper_inverted, owned=owned)
    if connect:
        leader.connect()  # closes the bus (and stops a simulated one) when it fails
    return leader


__all__ = [
    "LeaderMap",
    "ScriptedLeaderBus",
    "So101Leader",
    "leader_calibration_path",
    "load_script",
    "make_leader",
]
