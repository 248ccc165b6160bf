"""A gamepad through pygame (the ``teleop`` extra): SDL2's joystick layer, on Linux, macOS
and Windows, maintained and shipped as wheels; no window is needed (SDL's dummy video driver).

Default layout (Xbox-style pads under Linux's xpad/SDL: axes 0/1 left stick, 2 left trigger,
3/4 right stick, 5 right trigger; buttons 0 A, 1 B, 2 X, 3 Y, 7 Start): left stick moves the
end effector in x/y (or the base in vx/vy), right stick up/down in z and turns (wrist roll,
base yaw), right trigger opens and left trigger closes the gripper; A starts recording, Y
saves, B discards and re-records, Start quits. Unplugging the pad makes the source ``lost``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from typing import Any

from groot_sdk.errors import require
from groot_sdk.teleop.events import InputError, InputEvent

#: axis index -> ((teleop axis, sign), ...); triggers are handled apart
STICKS: Mapping[int, tuple[tuple[str, float], ...]] = {
    0: (("y", -1.0), ("vy", -1.0)),
    1: (("x", -1.0), ("vx", -1.0)),
    3: (("roll", -1.0), ("yaw", -1.0)),
    4: (("z", -1.0),),
}
TRIGGERS = {5: 1.0, 2: -1.0}  #: axis -> gripper direction (rest -1, full press +1)
BUTTONS = {0: "a", 1: "b", 2: "x", 3: "y", 7: "start"}
DEADZONE = 0.1


class PygameGamepad:
    """Joystick ``index`` as an input source (axes and button presses, polled each tick)."""

    def __init__(self, index: int = 0, pygame: Any = None) -> None:
        if pygame is None:
            os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
            pygame = require("pygame", "teleop", "gamepad teleoperation")
            pygame.display.init()
            pygame.joystick.init()
        self.pg = pygame
        if pygame.joystick.get_count() <= index:
            raise InputError(f"no gamepad #{index} found ({pygame.joystick.get_count()} connected)")
        self.js = pygame.joystick.Joystick(index)
        self.js.init()
        self._values: dict[str, float] = {}
        self._buttons: dict[int, bool] = {}
        self._lost = False

    def poll(self, t: float) -> list[InputEvent]:
        pg = self.pg
        removed = getattr(pg, "JOYDEVICEREMOVED", None)
        for e in pg.event.get():
            if removed is not None and e.type == removed:
                self._lost = True
        if self._lost:
            return [InputEvent(t, "lost")]
        values: dict[str, float] = {}
        n = self.js.get_numaxes()
        for axis, targets in STICKS.items():
            raw = self.js.get_axis(axis) if axis < n else 0.0
            raw = 0.0 if abs(raw) < DEADZONE else raw
            for name, sign in targets:
                values[name] = values.get(name, 0.0) + sign * raw
        grip = 0.0
        for axis, sign in TRIGGERS.items():
            if axis < n:
                pressed = (self.js.get_axis(axis) + 1.0) / 2.0
                grip += sign * (pressed if pressed > DEADZONE else 0.0)
        values["gripper"] = grip
        out = [
            InputEvent(t, "axis", k, max(-1.0, min(1.0, v)))
            for k, v in values.items()
            if self._values.get(k) != v
        ]
        self._values = values
        for idx, name in BUTTONS.items():
            down = idx < self.js.get_numbuttons() and bool(self.js.get_button(idx))
            if down != self._buttons.get(idx, False):
                out.append(InputEvent(t, "button", name, 1.0 if down else 0.0))
            self._buttons[idx] = down
        return out

    @property
    def lost(self) -> bool:
        return self._lost

    def close(self) -> None:
        with contextlib.suppress(RuntimeError):  # pygame.error: a pad already gone
            self.js.quit()


__all__ = ["BUTTONS", "STICKS", "TRIGGERS", "PygameGamepad"]
