"""The lifecycle every sensor and actuator follows, after ros2_control's hardware interfaces.

::

    UNCONFIGURED --connect--> INACTIVE --enable--> ACTIVE
                                 ^                   |
                                 +-----disable-------+      (disable = the safe state:
    any --close--> FINALIZED       (ACTIVE is disabled first)  torque off / damping)
    any --fault--> ERROR --disable/close--> ...

The base class owns the transitions; drivers implement the ``_on_*`` hooks. A deployer can
therefore always bring a robot to a safe state: ``disable()`` is allowed from ACTIVE and
ERROR, and ``close()`` from anywhere. A connect that failed leaves nothing to disable or
release: the hooks ``_on_disable``/``_on_close`` run only for a device that connected (a
driver whose ``_on_connect`` fails half-way releases what it opened itself), and disabling
it returns it to UNCONFIGURED, so that ``connect`` may be tried again.
"""

from __future__ import annotations

import enum
import logging
from abc import ABC

from groot_sdk.errors import LifecycleError

log = logging.getLogger(__name__)


class State(str, enum.Enum):
    UNCONFIGURED = "unconfigured"
    INACTIVE = "inactive"  #: connected, reading allowed, outputs safe (torque off / damping)
    ACTIVE = "active"  #: commands are executed
    ERROR = "error"
    FINALIZED = "finalized"


class Component(ABC):
    """A device with a lifecycle. Subclasses override ``_on_connect`` etc. as needed."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._state = State.UNCONFIGURED
        self._fault: BaseException | None = None
        self._connected = False  #: _on_connect succeeded and _on_close has not run

    # -- public transitions ---------------------------------------------------------------
    @property
    def state(self) -> State:
        return self._state

    @property
    def last_fault(self) -> BaseException | None:
        return self._fault

    def connect(self) -> None:
        self._require("connect", State.UNCONFIGURED)
        self._guarded(self._on_connect)
        self._connected = True
        self._state = State.INACTIVE

    def enable(self) -> None:
        self._require("enable", State.INACTIVE)
        self._guarded(self._on_enable)
        self._state = State.ACTIVE

    def disable(self) -> None:
        """Go to the safe state. Allowed from ACTIVE, INACTIVE and ERROR; idempotent."""
        if self._state in (State.UNCONFIGURED, State.FINALIZED):
            return
        if self._state is State.INACTIVE:
            return
        if not self._connected:  # the fault was the connect itself: nothing to disable
            self._state = State.UNCONFIGURED
            return
        self._on_disable()
        self._state = State.INACTIVE

    def close(self) -> None:
        """Disable (best effort), then release the device. Idempotent."""
        if self._state is State.FINALIZED:
            return
        if self._state in (State.ACTIVE, State.ERROR):
            try:
                self.disable()
            except Exception as exc:  # the device may be gone: still release it
                log.warning("%s: disable failed during close: %s", self.name, exc)
                log.debug("%s: disable failed", self.name, exc_info=True)
        if self._connected:
            self._connected = False
            self._on_close()
        self._state = State.FINALIZED

    def mark_fault(self, exc: BaseException) -> None:
        """Record a fault; the component must be disabled before it is enabled again."""
        self._fault = exc
        self._state = State.ERROR

    # -- hooks ---------------------------------------------------------------------------
    def _on_connect(self) -> None:
        pass

    def _on_enable(self) -> None:
        pass

    def _on_disable(self) -> None:
        pass

    def _on_close(self) -> None:
        pass

    # -- helpers -------------------------------------------------------------------------
    def _require(self, action: str, *allowed: State) -> None:
        if self._state not in allowed:
            names = " or ".join(s.value for s in allowed)
            raise LifecycleError(
                f"{type(self).__name__} '{self.name}': cannot {action} while {self._state.value} "
                f"(needs {names})"
            )

    def _guarded(self, hook) -> None:
        try:
            hook()
        except Exception as exc:
            self.mark_fault(exc)
            raise

    def __enter__(self):
        if self._state is State.UNCONFIGURED:
            self.connect()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} {self._state.value}>"
