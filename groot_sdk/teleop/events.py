"""Input events and sources: keys, gamepad axes and buttons, on the control clock.

Every input device reduces to :class:`InputEvent` values stamped with the *control time* from
which they apply, so a scripted list of events (a test, a demo) drives a session exactly as
a person at a keyboard or a gamepad does, at any simulation speed.

Sources: :class:`ScriptedInput` (events from a list or a JSON file),
:class:`TerminalKeys` (the terminal, no extra library: works over ssh, where a window-based
keyboard hook does not) and, with the ``teleop`` extra,
:class:`~groot_sdk.teleop.gamepad.PygameGamepad`.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Protocol

from attrs import field, frozen, validators

from groot_sdk.errors import GrootError

KINDS = ("key", "axis", "button", "lost", "found")
#: largest --input-script file read
MAX_SCRIPT_BYTES = 4 << 20


class InputError(GrootError, ValueError):
    """A bad input script or an input device that cannot be opened."""


class DeviceLost(GrootError):
    """The teleoperation device stopped answering (unplugged, a dead bus, a closed terminal).

    Raised from the teleop policy: the controller then holds, and stops safely after its
    watchdog timeout, as it does for a policy that does not answer. Not an
    ``ObservationError`` on purpose: that would be a fault, with no hold first."""


@frozen
class InputEvent:
    """``kind``: ``key`` / ``button`` (``value`` 1 pressed, 0 released), ``axis`` (``value``
    in [-1, 1]), ``lost`` / ``found`` (the device went away / came back)."""

    t: float  #: control time (s) from which the event applies
    kind: str = field(validator=validators.in_(KINDS))
    code: str = ""
    value: float = 1.0


class InputSource(Protocol):
    def poll(self, t: float) -> list[InputEvent]:
        """The events due by control time ``t`` (each returned once)."""

    @property
    def lost(self) -> bool:
        """The device is gone (no events will come)."""

    def close(self) -> None: ...


class ScriptedInput:
    """Events given up front, released by control time."""

    def __init__(self, events: Iterable[InputEvent]) -> None:
        self.events = sorted(events, key=lambda e: e.t)
        self._next = 0
        self._lost = False

    def poll(self, t: float) -> list[InputEvent]:
        out = []
        while self._next < len(self.events) and self.events[self._next].t <= t + 1e-9:
            e = self.events[self._next]
            self._next += 1
            if e.kind == "lost":
                self._lost = True
            elif e.kind == "found":
                self._lost = False
            out.append(e)
        return out

    @property
    def lost(self) -> bool:
        return self._lost

    @property
    def exhausted(self) -> bool:
        return self._next >= len(self.events)

    def close(self) -> None:
        pass

    @classmethod
    def load(cls, path: str | os.PathLike) -> ScriptedInput:
        """A JSON list (or JSON lines) of ``{"t": 1.5, "key": "w", "value": 1}``,
        ``{"t": 2, "axis": "x", "value": 0.5}``, ``{"t": 3, "button": "a"}``,
        ``{"t": 4, "lost": true}``; ``value`` defaults to 1."""
        p = Path(path)
        try:
            if p.stat().st_size > MAX_SCRIPT_BYTES:
                raise InputError(f"input script {p} is larger than 4 MiB")
            text = p.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"cannot read input script {p}: {exc}") from None
        try:
            doc = (
                json.loads(text)
                if text.lstrip().startswith("[")
                else [json.loads(line) for line in text.splitlines() if line.strip()]
            )
        except (json.JSONDecodeError, RecursionError) as exc:
            raise InputError(f"input script {p} is not JSON: {exc}") from None
        if not isinstance(doc, list):
            raise InputError(f"input script {p}: expected a list of events")
        return cls(parse_event(e, f"{p}[{i}]") for i, e in enumerate(doc))


def parse_event(doc: Any, where: str = "event") -> InputEvent:
    """One scripted event (see :meth:`ScriptedInput.load`), checked."""
    if not isinstance(doc, Mapping):
        raise InputError(f"{where}: an event is an object, got {doc!r:.80}")
    t = doc.get("t")
    if isinstance(t, bool) or not isinstance(t, (int, float)) or not t >= 0 or t > 1e7:
        raise InputError(f"{where}: 't' must be a finite time >= 0 (control seconds), got {t!r}")
    kinds = [k for k in KINDS if k in doc]
    if len(kinds) != 1:
        raise InputError(f"{where}: give exactly one of {list(KINDS)}, got {sorted(doc)}")
    kind = kinds[0]
    value = doc.get("value", 1.0)
    if isinstance(value, bool):
        value = float(value)
    if not isinstance(value, (int, float)) or not -1.0 <= value <= 1.0:
        raise InputError(f"{where}: 'value' must be a number in [-1, 1], got {value!r}")
    code = doc[kind] if kind in ("key", "axis", "button") else ""
    if kind in ("key", "axis", "button") and (not isinstance(code, str) or not 0 < len(code) < 32):
        raise InputError(f"{where}: '{kind}' must name a {kind}, got {code!r:.40}")
    return InputEvent(float(t), kind, str(code), float(value))


#: terminal bytes -> key names
_SPECIAL = {
    " ": "space",
    "\r": "enter",
    "\n": "enter",
    "\x7f": "backspace",
    "\x08": "backspace",
    "\x1b": "escape",
    "\t": "tab",
}


def key_name(ch: str) -> str:
    return _SPECIAL.get(ch, ch.lower())


_ARROWS = {"A": "up", "B": "down", "C": "right", "D": "left"}


def split_keys(chars: str) -> list[str]:
    """Key names in what a terminal sent: an escape sequence (an arrow key is ``ESC [ A``)
    is one key (``up``, ``down``, ``right``, ``left``, else ``escape``), never the letters in
    it, which would press bound keys (``a``, ``c``, ``d``)."""
    out: list[str] = []
    i = 0
    while i < len(chars):
        ch = chars[i]
        if ch == "\x1b" and i + 1 < len(chars) and chars[i + 1] in "[O":
            j = i + 2
            while j < len(chars) and not ("@" <= chars[j] <= "~"):
                j += 1
            final = chars[j] if j < len(chars) else ""
            out.append(_ARROWS.get(final, "escape"))
            i = j + 1
            continue
        out.append(key_name(ch))
        i += 1
    return out


class TerminalKeys:
    """Keys typed in this terminal (stdin in cbreak mode, read in a daemon thread).

    A terminal reports presses only: a key counts as held while it auto-repeats and is
    released ``release_s`` after its last repeat (longer than the usual first repeat
    delay of 250-500 ms, so holding a key moves continuously). End of input (the terminal
    went away) makes the source ``lost``."""

    def __init__(self, release_s: float = 0.6, stream: Any = None) -> None:
        import sys

        self.stream = stream if stream is not None else sys.stdin
        if stream is None and not self.stream.isatty():
            raise InputError(
                "keyboard input needs a terminal (stdin is not one); script the keys with "
                "--input-script FILE"
            )
        self.release_s = float(release_s)
        self._lock = threading.Lock()
        self._pending: list[tuple[float, str]] = []  # (wall time, key) presses
        self._held: dict[str, float] = {}  # key -> wall time of its last press
        self._lost = False
        self._restore: Any = None
        self._fd: int | None = None
        if stream is None:
            import termios
            import tty

            fd = self._fd = self.stream.fileno()
            old = termios.tcgetattr(fd)
            tty.setcbreak(fd)
            self._restore = lambda: termios.tcsetattr(fd, termios.TCSADRAIN, old)
        self._thread = threading.Thread(target=self._read, name="groot-keys", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while True:
            try:  # a terminal: the bytes as they arrive (no text-layer buffering)
                chars = (
                    os.read(self._fd, 64).decode("utf-8", "ignore")
                    if self._fd is not None
                    else self.stream.read(64)
                )
            except (OSError, ValueError):
                chars = ""
            if not chars:
                with self._lock:
                    self._lost = True
                return
            now = time.monotonic()
            with self._lock:
                self._pending.extend((now, key) for key in split_keys(chars))

    def poll(self, t: float) -> list[InputEvent]:
        now = time.monotonic()
        out: list[InputEvent] = []
        with self._lock:
            pending, self._pending = self._pending, []
        for wall, key in pending:
            if key not in self._held:
                out.append(InputEvent(t, "key", key, 1.0))
            self._held[key] = wall
        for key, wall in list(self._held.items()):
            if now - wall > self.release_s:
                del self._held[key]
                out.append(InputEvent(t, "key", key, 0.0))
        return out

    @property
    def lost(self) -> bool:
        return self._lost

    def close(self) -> None:
        if self._restore is not None:
            self._restore()
            self._restore = None


class MergedInput:
    """Several sources as one (a keyboard for episode keys, a gamepad for motion); lost
    when any source is lost."""

    def __init__(self, *sources: InputSource) -> None:
        self.sources = sources

    def poll(self, t: float) -> list[InputEvent]:
        return [e for s in self.sources for e in s.poll(t)]

    @property
    def lost(self) -> bool:
        return any(s.lost for s in self.sources)

    def close(self) -> None:
        for s in self.sources:
            s.close()


__all__ = [
    "DeviceLost",
    "InputError",
    "InputEvent",
    "InputSource",
    "MergedInput",
    "ScriptedInput",
    "TerminalKeys",
    "key_name",
    "parse_event",
    "split_keys",
]
