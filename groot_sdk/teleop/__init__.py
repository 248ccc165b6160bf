"""Teleoperation: collect demonstrations with a leader arm, a keyboard or a gamepad.

The operator's device takes the policy's seat in ``groot run``'s deployer
(:mod:`groot_sdk.teleop.policy`), so limits, velocity limits, hold on a lost device and safe
stop are the deployer's own; :class:`~groot_sdk.teleop.session.TeleopSession` adds episodes
under the operator's keys and records through the SDK recorder. See docs/teleop.md.
"""

from groot_sdk.teleop.bindings import Bindings, TeleopInput
from groot_sdk.teleop.events import (
    DeviceLost,
    InputError,
    InputEvent,
    MergedInput,
    ScriptedInput,
    TerminalKeys,
)

__all__ = [
    "Bindings",
    "DeviceLost",
    "InputError",
    "InputEvent",
    "MergedInput",
    "ScriptedInput",
    "TeleopInput",
    "TerminalKeys",
]
