"""Joint direction and offset calibration for BHL's Recoil joints, stored as JSON.

Joint frame: ``motor = (q + offset) * direction`` and ``q = motor * direction - offset``
(the lowlevel stack's convention). Offsets are found by holding the robot in a known pose:
the legs against the mechanical stops of ``LEG_CALIBRATION_POSE_DEG`` (the lowlevel
``calibrate_joints.py`` pose), the arms at zero; then ``offset = direction * motor - pose``.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from attrs import frozen

from groot_sdk.errors import SpecError
from groot_sdk.spec import EmbodimentSpec

#: joint axis directions, spec order (lowlevel ``bimanual.py`` arms, ``humanoid.py`` legs)
DIRECTIONS = (1, 1, -1, -1, -1, -1, 1, -1, 1, -1) + (-1, 1, -1, -1, -1, 1, -1, 1, 1, 1, 1, 1)
#: the leg pose (deg) at which offsets are calibrated: each joint at a mechanical stop
LEG_CALIBRATION_POSE_DEG = {
    "leg_left_hip_roll_joint": -10.0,
    "leg_left_hip_yaw_joint": 33.75,
    "leg_left_hip_pitch_joint": 56.25,
    "leg_left_knee_pitch_joint": 0.0,
    "leg_left_ankle_pitch_joint": -45.0,
    "leg_left_ankle_roll_joint": -15.0,
    "leg_right_hip_roll_joint": 10.0,
    "leg_right_hip_yaw_joint": -33.75,
    "leg_right_hip_pitch_joint": 56.25,
    "leg_right_knee_pitch_joint": 0.0,
    "leg_right_ankle_pitch_joint": -45.0,
    "leg_right_ankle_roll_joint": 15.0,
}


@frozen
class JointCalibration:
    """Per-joint direction (+-1) and offset (rad), in the spec's joint order."""

    joint_names: tuple[str, ...]
    directions: tuple[float, ...]
    offsets: tuple[float, ...]

    @classmethod
    def default(cls, spec: EmbodimentSpec) -> JointCalibration:
        return cls(spec.joint_names, tuple(map(float, DIRECTIONS)), (0.0,) * spec.dof)

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        return np.array(self.directions, np.float64), np.array(self.offsets, np.float64)

    def to_json(self) -> dict:
        return {
            "directions": dict(zip(self.joint_names, (int(d) for d in self.directions))),
            "offsets": dict(zip(self.joint_names, self.offsets)),
        }

    def save(self, path: str | os.PathLike) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_json(), indent=2) + "\n")
        return path

    @classmethod
    def load(cls, path: str | os.PathLike, spec: EmbodimentSpec) -> JointCalibration:
        """Entries in the file override the defaults joint by joint."""
        path = Path(path)
        if not path.is_file():
            raise SpecError(f"no BHL calibration file at {path}")
        if path.stat().st_size > 1 << 20:
            raise SpecError(f"{path}: calibration file larger than 1 MiB")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
            raise SpecError(f"{path}: not JSON ({exc})") from exc
        if not isinstance(data, dict):
            raise SpecError(f"{path}: expected an object with 'directions' and 'offsets'")
        directions, offsets = cls.default(spec).arrays()
        for key, target, valid in (
            ("directions", directions, lambda v: not isinstance(v, bool) and v in (-1, 1)),
            (
                "offsets",
                offsets,
                lambda v: (
                    not isinstance(v, bool) and isinstance(v, (int, float)) and abs(v) < 2 * math.pi
                ),
            ),
        ):
            entries = data.get(key) or {}
            if not isinstance(entries, dict):
                raise SpecError(f"{path}: '{key}' must map joint names to values")
            for joint, value in entries.items():
                if joint not in spec.joint_names:
                    raise SpecError(f"{path}: {key} names unknown joint '{joint}'")
                if not valid(value):
                    raise SpecError(f"{path}: {key}['{joint}'] = {value!r} is invalid")
                target[spec.joint_names.index(joint)] = value
        return cls(spec.joint_names, tuple(directions), tuple(offsets))

    @classmethod
    def from_pose(
        cls,
        spec: EmbodimentSpec,
        motor_positions: np.ndarray,
        pose: Mapping[str, float] | None = None,
        directions: np.ndarray | None = None,
    ) -> JointCalibration:
        """Offsets that make ``motor_positions`` read as ``pose`` (rad; default: legs at
        the calibration stops, arms at 0)."""
        if pose is None:
            pose = {n: math.radians(d) for n, d in LEG_CALIBRATION_POSE_DEG.items()}
        dirs = cls.default(spec).arrays()[0] if directions is None else np.asarray(directions)
        target = np.array([pose.get(n, 0.0) for n in spec.joint_names])
        offsets = dirs * np.asarray(motor_positions, np.float64) - target
        return cls(spec.joint_names, tuple(map(float, dirs)), tuple(map(float, offsets)))


def default_path(robot_id: str = "default") -> Path:
    root = os.environ.get("GROOT_CALIBRATION_DIR") or Path.home() / ".cache/groot/calibration"
    return Path(root) / "bhl" / f"{robot_id}.json"
