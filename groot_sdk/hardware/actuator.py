"""Actuators: accept joint commands while ACTIVE; hold; go safe on disable."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence

import numpy as np

from groot_sdk.errors import ActionError
from groot_sdk.finite import all_finite
from groot_sdk.hardware.lifecycle import Component, State
from groot_sdk.hardware.readings import JointCommand


class Actuator(Component):
    """Commands ``joint_names`` (a subset of the spec's joints, in this order).

    ``disable()`` must leave the hardware safe: torque off, or damping where a falling robot
    is worse than a limp one. ``hold()`` keeps the current measured position.
    """

    def __init__(self, name: str, joint_names: Sequence[str]) -> None:
        Component.__init__(self, name)  # not super(): drivers may also be JointEncoders
        self.joint_names = tuple(joint_names)

    def write(self, command: JointCommand) -> None:
        self._require("write", State.ACTIVE)
        if command.position.shape != (len(self.joint_names),):
            raise ActionError(
                f"actuator '{self.name}' takes {len(self.joint_names)} positions "
                f"{list(self.joint_names)}, got shape {command.position.shape}"
            )
        if not all_finite(command.position):
            bad = ~np.isfinite(command.position)
            names = [n for n, b in zip(self.joint_names, bad) if b]
            raise ActionError(f"actuator '{self.name}': non-finite command for joints {names}")
        try:
            self._write(command)
        except Exception as exc:
            self.mark_fault(exc)
            raise

    def hold(self) -> None:
        """Keep the current position (the first reaction to a missing or bad action)."""
        self._require("hold", State.ACTIVE)
        try:
            self._hold()
        except Exception as exc:
            self.mark_fault(exc)
            raise

    @abstractmethod
    def _write(self, command: JointCommand) -> None: ...

    @abstractmethod
    def _hold(self) -> None: ...
