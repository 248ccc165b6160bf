"""Frozen values describing a robot: joints, groups, cameras, rates."""

from groot_sdk.spec.cameras import CameraSpec, ColorOrder
from groot_sdk.spec.embodiment import (
    LANGUAGE_KEY,
    ControlRates,
    EmbodimentSpec,
    GripperSpec,
    validate,
)
from groot_sdk.spec.joints import Group, GroupKind, Joint, Mimic, Representation, Unit

__all__ = [
    "LANGUAGE_KEY",
    "CameraSpec",
    "ColorOrder",
    "ControlRates",
    "EmbodimentSpec",
    "GripperSpec",
    "Group",
    "GroupKind",
    "Joint",
    "Mimic",
    "Representation",
    "Unit",
    "validate",
]
