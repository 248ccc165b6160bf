"""Exceptions raised by groot-sdk. Every message names the joint, key or plugin at fault."""

from __future__ import annotations


class GrootError(Exception):
    """Base class for all groot-sdk errors."""


class SpecError(GrootError, ValueError):
    """An embodiment spec is inconsistent (names the joint, group or camera)."""


class ModalityError(GrootError, ValueError):
    """A modality layout cannot be generated or does not match (names the key)."""


class PluginLoadError(GrootError):
    """A plugin failed to import or register."""


class LifecycleError(GrootError, RuntimeError):
    """A hardware component was used in a lifecycle state that does not allow it."""


class HardwareError(GrootError, RuntimeError):
    """A device reported a fault or did not answer (names the motor, joint or sensor)."""


class BackendError(GrootError, RuntimeError):
    """A policy backend failed to produce an action."""


class ObservationError(GrootError, ValueError):
    """An observation has a wrong key, dtype, shape or non-finite values."""


class ActionError(GrootError, ValueError):
    """An action chunk does not match the embodiment or contains invalid values."""


class MissingExtraError(GrootError, ImportError):
    """An optional dependency is missing; the message names the extra to install."""

    def __init__(self, module: str, extra: str, what: str = "") -> None:
        self.module, self.extra = module, extra
        purpose = f" for {what}" if what else ""
        super().__init__(
            f"'{module}' is needed{purpose} but is not installed: pip install 'groot-sdk[{extra}]'"
        )


def require(module: str, extra: str, what: str = ""):
    """Import ``module`` or raise :class:`MissingExtraError` naming the extra."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - depends on the environment
        if exc.name and module.split(".")[0] != exc.name.split(".")[0]:
            raise
        raise MissingExtraError(module, extra, what) from exc
