"""Values that sensors return and actuators accept (SI units, float32 arrays)."""

from __future__ import annotations

import numpy as np
from attrs import field, frozen

from groot_sdk.spec.cameras import ColorOrder


def _f32(x) -> np.ndarray:
    return np.asarray(x, dtype=np.float32)


def _opt_f32(x) -> np.ndarray | None:
    return None if x is None else np.asarray(x, dtype=np.float32)


@frozen(eq=False)
class JointState:
    """Measured joint positions (rad or m) and velocities, in the sensor's joint order."""

    position: np.ndarray = field(converter=_f32)
    velocity: np.ndarray | None = field(default=None, converter=_opt_f32)
    effort: np.ndarray | None = field(default=None, converter=_opt_f32)
    stamp: float = 0.0


@frozen(eq=False)
class JointCommand:
    """Position targets, with optional feed-forward velocity and per-joint gains."""

    position: np.ndarray = field(converter=_f32)
    velocity: np.ndarray | None = field(default=None, converter=_opt_f32)
    kp: np.ndarray | None = field(default=None, converter=_opt_f32)
    kd: np.ndarray | None = field(default=None, converter=_opt_f32)


@frozen(eq=False)
class Frame:
    """One camera image, uint8 (H, W, 3)."""

    image: np.ndarray
    stamp: float = 0.0
    color_order: ColorOrder = ColorOrder.RGB
    index: int = 0


@frozen(eq=False)
class ImuReading:
    quaternion: np.ndarray = field(converter=_f32)  #: orientation, w x y z
    gyro: np.ndarray = field(converter=_f32)  #: rad/s, body frame
    accel: np.ndarray | None = field(default=None, converter=_opt_f32)  #: m/s^2
    stamp: float = 0.0


@frozen(eq=False)
class VectorReading:
    """Named values that are not joints (e.g. Fetch's gripper position and velocities)."""

    values: np.ndarray = field(converter=_f32)
    stamp: float = 0.0
