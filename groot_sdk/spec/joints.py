"""Joints and the groups that become GR00T modality keys."""

from __future__ import annotations

import enum
import math

from attrs import field, frozen, validators


class Unit(str, enum.Enum):
    """Unit of a joint's position. SI inside the SDK; drivers convert at the edge."""

    RAD = "rad"
    M = "m"
    NORMALIZED = "normalized"  #: a dimensionless command, e.g. Fetch's [-1, 1] deltas


class Representation(str, enum.Enum):
    """How a policy's action for a group relates to the robot state."""

    ABSOLUTE = "absolute"  #: the action is the target position
    RELATIVE = "relative"  #: the action is a delta from the current state


class GroupKind(str, enum.Enum):
    """What a group's dimensions are, as GR00T's N1.6 ``ActionType`` sees them."""

    JOINT = "joint"
    GRIPPER = "gripper"
    EEF = "eef"  #: end-effector (Cartesian) coordinates


def _finite(instance, attribute, value) -> None:
    if not math.isfinite(value):
        raise ValueError(f"{attribute.name} must be finite, got {value!r}")


@frozen
class Mimic:
    """A joint that is not commanded itself but follows another (underactuated hands).

    ``position = multiplier * position(source) + offset``
    """

    source: str
    multiplier: float = 1.0
    offset: float = 0.0


@frozen
class Joint:
    """One dimension of the robot's command vector.

    ``index`` is the joint's position in the state/action vector; leave it at -1 and the
    :class:`~groot_sdk.spec.EmbodimentSpec` numbers joints in the order given.
    """

    name: str = field(validator=validators.min_len(1))
    lower: float = field(converter=float, validator=_finite)
    upper: float = field(converter=float, validator=_finite)
    default: float = field(default=0.0, converter=float, validator=_finite)
    velocity_limit: float = field(default=math.inf, converter=float)
    unit: Unit = field(default=Unit.RAD, converter=Unit)
    index: int = -1
    effort_limit: float | None = None
    mimic: Mimic | None = None

    @property
    def span(self) -> float:
        return self.upper - self.lower


@frozen
class Group:
    """A contiguous slice ``[start, end)`` of a vector that becomes one modality key."""

    key: str = field(validator=validators.matches_re(r"^[A-Za-z_][A-Za-z0-9_]*$"))
    start: int
    end: int
    representation: Representation = field(
        default=Representation.ABSOLUTE, converter=Representation
    )
    kind: GroupKind = field(default=GroupKind.JOINT, converter=GroupKind)

    @property
    def size(self) -> int:
        return self.end - self.start

    @property
    def slice(self) -> slice:
        return slice(self.start, self.end)
