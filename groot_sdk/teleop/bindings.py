"""What keys and gamepad controls mean: motion axes and episode actions.

Motion is a set of named axes in [-1, 1] (``x``, ``y``, ``z`` end-effector directions in the
robot's base frame, ``roll`` the wrist, ``gripper`` +1 opening, ``vx``/``vy``/``yaw`` a base
velocity); each device mapping turns them into the robot's command. Episode actions:
``start`` recording, ``save`` the take, ``discard`` it and record it again, ``quit``.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping

import numpy as np
from attrs import field, frozen

from groot_sdk.teleop.events import InputEvent, InputSource

AXES = ("x", "y", "z", "roll", "gripper", "vx", "vy", "yaw")
ACTIONS = ("start", "save", "discard", "quit")

#: keyboard: key -> (axis, direction). Movement keys drive the arm axes and the base
#: velocity alike (w/s forward/back, a/d left/right); r/f up/down, z/x wrist roll,
#: o/c open/close the gripper, j/l turn the base.
KEY_AXES: dict[str, tuple[tuple[str, float], ...]] = {
    "w": (("x", 1.0), ("vx", 1.0)),
    "s": (("x", -1.0), ("vx", -1.0)),
    "a": (("y", 1.0), ("vy", 1.0)),
    "d": (("y", -1.0), ("vy", -1.0)),
    "r": (("z", 1.0),),
    "f": (("z", -1.0),),
    "z": (("roll", 1.0),),
    "x": (("roll", -1.0),),
    "o": (("gripper", 1.0),),
    "c": (("gripper", -1.0),),
    "j": (("yaw", 1.0),),
    "l": (("yaw", -1.0),),
}
#: keyboard: key -> episode action
KEY_ACTIONS = {
    "space": "start",
    "enter": "save",
    "backspace": "discard",
    "q": "quit",  # not Esc: a terminal sends it as the start of every arrow key
}
#: gamepad (SDL's standard controller layout): button -> episode action
BUTTON_ACTIONS = {"a": "start", "y": "save", "b": "discard", "start": "quit"}

PROMPT = "[space] start recording, [enter] save, [backspace] discard and re-record, [q] quit"
MOTION_HELP = (
    "w/s a/d: forward/back left/right, r/f: up/down, z/x: wrist roll, o/c: open/close "
    "gripper, j/l: turn"
)


@frozen
class Bindings:
    key_axes: Mapping[str, tuple[tuple[str, float], ...]] = field(factory=lambda: dict(KEY_AXES))
    key_actions: Mapping[str, str] = field(factory=lambda: dict(KEY_ACTIONS))
    button_actions: Mapping[str, str] = field(factory=lambda: dict(BUTTON_ACTIONS))


class TeleopInput:
    """The operator's intent from one input source: axis values and episode actions.

    ``update(t)`` runs in the control loop (it polls the source at control time ``t`` and
    returns the episode actions); ``axes()`` may be read from another thread (the policy's)."""

    def __init__(self, source: InputSource, bindings: Bindings | None = None) -> None:
        self.source = source
        self.bindings = bindings or Bindings()
        self._lock = threading.Lock()
        self._keys: dict[str, float] = {}  # held keys (their value: 1)
        self._analog: dict[str, float] = {}  # gamepad axes
        self.t = 0.0  #: control time of the last update

    def update(self, t: float) -> list[str]:
        actions: list[str] = []
        events = self.source.poll(t)
        with self._lock:
            self.t = t
            for e in events:
                self._apply(e, actions)
        return actions

    def _apply(self, e: InputEvent, actions: list[str]) -> None:
        b = self.bindings
        if e.kind == "key":
            if e.value > 0:
                if e.code in b.key_actions:
                    actions.append(b.key_actions[e.code])
                if e.code in b.key_axes:
                    self._keys[e.code] = 1.0
            else:
                self._keys.pop(e.code, None)
        elif e.kind == "button" and e.value > 0 and e.code in b.button_actions:
            actions.append(b.button_actions[e.code])
        elif e.kind == "axis" and e.code in AXES:
            self._analog[e.code] = float(np.clip(e.value, -1.0, 1.0))
        elif e.kind == "lost":
            self._keys.clear()
            self._analog.clear()

    def axes(self) -> dict[str, float]:
        """Axis name -> value in [-1, 1] (held keys add up with analog axes, clipped)."""
        out = dict.fromkeys(AXES, 0.0)
        with self._lock:
            for key in self._keys:
                for axis, sign in self.bindings.key_axes.get(key, ()):
                    out[axis] += sign
            for axis, v in self._analog.items():
                out[axis] += v
        return {k: float(np.clip(v, -1.0, 1.0)) for k, v in out.items()}

    @property
    def lost(self) -> bool:
        return bool(self.source.lost)

    def close(self) -> None:
        self.source.close()


__all__ = [
    "ACTIONS",
    "AXES",
    "BUTTON_ACTIONS",
    "KEY_ACTIONS",
    "KEY_AXES",
    "MOTION_HELP",
    "PROMPT",
    "Bindings",
    "TeleopInput",
]
