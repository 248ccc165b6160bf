"""The embodiment spec: the one source of truth for a robot's joints, modalities and rates.

Everything else (modality.json, GR00T data configs, LeRobot features, observation assembly,
action decoding) is generated from an :class:`EmbodimentSpec`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import attrs
from attrs import field, frozen

from groot_sdk.errors import SpecError
from groot_sdk.spec.cameras import CameraSpec
from groot_sdk.spec.joints import Group, GroupKind, Joint, Representation

LANGUAGE_KEY = "annotation.human.task_description"


@frozen
class ControlRates:
    """Loop rates in Hz. ``policy_hz`` is the rate of action-chunk steps."""

    policy_hz: float = 10.0
    low_level_hz: float = 100.0
    rl_hz: float | None = None  #: a fast RL controller's rate, where the robot has one

    @property
    def policy_dt(self) -> float:
        return 1.0 / self.policy_hz

    @property
    def low_level_dt(self) -> float:
        return 1.0 / self.low_level_hz


@frozen
class GripperSpec:
    """Which joint is a gripper and which of its positions are open and closed.

    Policies usually speak a normalised gripper (0 closed .. 1 open, or the reverse); action
    decoding maps that onto ``closed``..``open`` in joint units.
    """

    joint: str
    open: float
    closed: float


def _number_joints(joints: Iterable[Joint]) -> tuple[Joint, ...]:
    out = []
    for i, joint in enumerate(joints):
        out.append(attrs.evolve(joint, index=i) if joint.index == -1 else joint)
    return tuple(out)


@frozen
class EmbodimentSpec:
    """A robot as GR00T sees it.

    ``joints`` is the command vector; ``action_groups`` slice it into action modality keys.
    ``state_dims``/``state_groups`` describe the observed state vector; by default it is the
    joint positions, sliced like the actions.
    """

    name: str
    joints: tuple[Joint, ...] = field(converter=_number_joints)
    action_groups: tuple[Group, ...]
    cameras: tuple[CameraSpec, ...] = ()
    rates: ControlRates = ControlRates()
    gripper: GripperSpec | None = None
    state_dims: tuple[str, ...] | None = field(default=None)
    state_groups: tuple[Group, ...] | None = field(default=None)
    action_horizon: int = 16
    embodiment_tag: str = "new_embodiment"
    robot_type: str = ""
    language_key: str = LANGUAGE_KEY
    description: str = ""

    def __attrs_post_init__(self) -> None:
        validate(self)

    # -- derived views -------------------------------------------------------------------
    @property
    def joint_names(self) -> tuple[str, ...]:
        return tuple(j.name for j in self.joints)

    @property
    def dof(self) -> int:
        return len(self.joints)

    @property
    def action_dim(self) -> int:
        return len(self.joints)

    @property
    def state_names(self) -> tuple[str, ...]:
        return self.state_dims if self.state_dims is not None else self.joint_names

    @property
    def state_dim(self) -> int:
        return len(self.state_names)

    @property
    def observed_state_groups(self) -> tuple[Group, ...]:
        if self.state_groups is not None:
            return self.state_groups
        return tuple(
            attrs.evolve(g, representation=Representation.ABSOLUTE) for g in self.action_groups
        )

    @property
    def lower(self) -> list[float]:
        return [j.lower for j in self.joints]

    @property
    def upper(self) -> list[float]:
        return [j.upper for j in self.joints]

    @property
    def defaults(self) -> list[float]:
        return [j.default for j in self.joints]

    def joint(self, name: str) -> Joint:
        for j in self.joints:
            if j.name == name:
                return j
        raise SpecError(
            f"{self.name}: no joint named '{name}'; joints are {list(self.joint_names)}"
        )

    def action_group(self, key: str) -> Group:
        for g in self.action_groups:
            if g.key == key:
                return g
        keys = [g.key for g in self.action_groups]
        raise SpecError(f"{self.name}: no action group '{key}'; groups are {keys}")

    def camera(self, name: str) -> CameraSpec:
        for c in self.cameras:
            if c.name == name:
                return c
        raise SpecError(f"{self.name}: no camera '{name}'")

    def group_joint_names(self, key: str) -> tuple[str, ...]:
        return self.joint_names[self.action_group(key).slice]

    @classmethod
    def from_groups(
        cls,
        name: str,
        groups: Mapping[str, Sequence[Joint]],
        *,
        representation: Mapping[str, Representation | str] | None = None,
        kinds: Mapping[str, GroupKind | str] | None = None,
        **kwargs,
    ) -> EmbodimentSpec:
        """Build a joint-space spec from ``{group key: [joints...]}`` in vector order."""
        joints: list[Joint] = []
        action_groups = []
        representation = representation or {}
        kinds = kinds or {}
        for key, members in groups.items():
            start = len(joints)
            joints.extend(members)
            action_groups.append(
                Group(
                    key,
                    start,
                    len(joints),
                    representation=representation.get(key, Representation.ABSOLUTE),
                    kind=kinds.get(key, GroupKind.JOINT),
                )
            )
        return cls(name=name, joints=tuple(joints), action_groups=tuple(action_groups), **kwargs)


# -- validation -------------------------------------------------------------------------------
def validate(spec: EmbodimentSpec) -> None:
    """Raise :class:`SpecError` naming the first inconsistent joint, group or camera."""
    where = f"embodiment '{spec.name}'"
    if not spec.joints:
        raise SpecError(f"{where}: has no joints")
    seen: set[str] = set()
    for pos, j in enumerate(spec.joints):
        if j.name in seen:
            raise SpecError(f"{where}: duplicate joint name '{j.name}'")
        seen.add(j.name)
        if j.index != pos:
            raise SpecError(
                f"{where}: joint '{j.name}' has index {j.index} but is at position {pos}"
            )
        if j.lower > j.upper:
            raise SpecError(
                f"{where}: joint '{j.name}' has lower limit {j.lower} > upper {j.upper}"
            )
        if not j.lower <= j.default <= j.upper:
            raise SpecError(
                f"{where}: joint '{j.name}' default {j.default} is outside its limits "
                f"[{j.lower}, {j.upper}]"
            )
        if not (j.velocity_limit > 0):
            raise SpecError(f"{where}: joint '{j.name}' velocity limit must be > 0")
    for j in spec.joints:
        if j.mimic is not None and j.mimic.source not in seen:
            raise SpecError(f"{where}: joint '{j.name}' mimics unknown joint '{j.mimic.source}'")
    _check_cover(where, "action", spec.action_groups, spec.joint_names)
    if spec.state_groups is not None and spec.state_dims is None:
        raise SpecError(f"{where}: state_groups given without state_dims")
    if spec.state_dims is not None:
        if len(set(spec.state_dims)) != len(spec.state_dims):
            dup = sorted({d for d in spec.state_dims if spec.state_dims.count(d) > 1})
            raise SpecError(f"{where}: duplicate state dimension names {dup}")
        if spec.state_groups is None:
            raise SpecError(f"{where}: state_dims given without state_groups")
        _check_cover(where, "state", spec.state_groups, spec.state_dims)
    cams: set[str] = set()
    for c in spec.cameras:
        if c.name in cams:
            raise SpecError(f"{where}: duplicate camera '{c.name}'")
        cams.add(c.name)
        if min(c.width, c.height, c.model_width, c.model_height) <= 0 or c.fps <= 0:
            raise SpecError(f"{where}: camera '{c.name}' needs positive resolution and fps")
    if spec.gripper is not None:
        g = spec.joint(spec.gripper.joint)
        for label, value in (("open", spec.gripper.open), ("closed", spec.gripper.closed)):
            if not g.lower <= value <= g.upper:
                raise SpecError(
                    f"{where}: gripper '{g.name}' {label} position {value} is outside "
                    f"[{g.lower}, {g.upper}]"
                )
    r = spec.rates
    for label, hz in (("policy_hz", r.policy_hz), ("low_level_hz", r.low_level_hz)):
        if not (math.isfinite(hz) and hz > 0):
            raise SpecError(f"{where}: rate {label} must be a positive number, got {hz}")
    if spec.action_horizon < 1:
        raise SpecError(f"{where}: action_horizon must be >= 1")


def _check_cover(where: str, section: str, groups: Sequence[Group], names: Sequence[str]) -> None:
    if not groups:
        raise SpecError(f"{where}: no {section} groups")
    keys: set[str] = set()
    for g in groups:
        if g.key in keys:
            raise SpecError(f"{where}: duplicate {section} group '{g.key}'")
        keys.add(g.key)
        if g.end <= g.start or g.start < 0:
            raise SpecError(
                f"{where}: {section} group '{g.key}' has empty slice [{g.start}:{g.end}]"
            )
        if g.end > len(names):
            raise SpecError(
                f"{where}: {section} group '{g.key}' slice [{g.start}:{g.end}] runs past the "
                f"{len(names)} dimensions"
            )
    ordered = sorted(groups, key=lambda g: g.start)
    cursor = 0
    prev: Group | None = None
    for g in ordered:
        if g.start < cursor and prev is not None:
            raise SpecError(
                f"{where}: {section} groups '{prev.key}' [{prev.start}:{prev.end}] and "
                f"'{g.key}' [{g.start}:{g.end}] overlap"
            )
        if g.start > cursor:
            missing = list(names[cursor : g.start])
            raise SpecError(
                f"{where}: {section} groups leave a gap at [{cursor}:{g.start}] before "
                f"'{g.key}' (uncovered: {missing})"
            )
        cursor, prev = g.end, g
    if cursor != len(names):
        raise SpecError(
            f"{where}: {section} groups do not cover dimensions [{cursor}:{len(names)}] "
            f"(uncovered: {list(names[cursor:])})"
        )
