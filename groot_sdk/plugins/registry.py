"""The typed view of everything plugins registered: embodiments and backends by name."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from importlib.metadata import EntryPoint
from typing import Any

import attrs

from groot_sdk.errors import GrootError, PluginLoadError
from groot_sdk.plugins.entries import BackendEntry, EmbodimentEntry
from groot_sdk.plugins.manager import PluginFailure, PluginInfo, PluginLoader


class UnknownNameError(GrootError, KeyError):
    def __str__(self) -> str:  # KeyError quotes its message; we do not want that
        return str(self.args[0])


class Registry:
    """Embodiments and backends from all plugins. Loads lazily, on first access."""

    def __init__(self, entry_points: Iterable[EntryPoint] | None = None) -> None:
        self._loader = PluginLoader(entry_points)
        self._embodiments: dict[str, EmbodimentEntry] = {}
        self._backends: dict[str, BackendEntry] = {}
        self._loaded = False
        self._lock = threading.Lock()

    def _ensure(self) -> None:
        with self._lock:
            if self._loaded:
                return
            self._loaded = True
            self._loader.load()
            self._loader.call("groot_register_embodiments", self._registrar(self._embodiments))
            self._loader.call("groot_register_backends", self._registrar(self._backends))

    def _registrar(self, table: dict[str, Any]):
        def make(info: PluginInfo):
            def commit(entry):
                if entry.name in table:
                    other = table[entry.name].plugin
                    raise PluginLoadError(f"'{entry.name}' is already registered by '{other}'")
                table[entry.name] = attrs.evolve(entry, plugin=info.name, version=info.version)

            return commit

        return make

    # -- queries --------------------------------------------------------------------------
    @property
    def failures(self) -> list[PluginFailure]:
        self._ensure()
        return list(self._loader.failures)

    @property
    def plugins(self) -> dict[str, PluginInfo]:
        self._ensure()
        return dict(self._loader.plugins)

    def embodiments(self) -> dict[str, EmbodimentEntry]:
        self._ensure()
        return dict(self._embodiments)

    def backends(self) -> dict[str, BackendEntry]:
        self._ensure()
        return dict(self._backends)

    def embodiment(self, name: str) -> EmbodimentEntry:
        table = self.embodiments()
        if name not in table:
            raise UnknownNameError(self._unknown("embodiment", name, table))
        return table[name]

    def backend(self, name: str) -> BackendEntry:
        table = self.backends()
        if name not in table:
            raise UnknownNameError(self._unknown("policy backend", name, table))
        return table[name]

    def _unknown(self, what: str, name: str, table: dict) -> str:
        msg = f"unknown {what} '{name}'; known: {sorted(table) or 'none'}"
        if self._loader.failures:
            msg += "; plugins that failed to load: " + "; ".join(map(str, self._loader.failures))
        return msg


_default: Registry | None = None


def get_registry() -> Registry:
    """The process-wide registry (entry points of the installed plugins)."""
    global _default
    if _default is None:
        _default = Registry()
    return _default


def reset_registry(registry: Registry | None = None) -> None:
    """Replace the process-wide registry (tests; after installing a plugin at run time)."""
    global _default
    _default = registry
