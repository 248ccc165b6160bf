"""Loads plugins from entry points, isolating failures: one broken plugin never hides the rest.

Environment switches:

* ``GROOT_DISABLE_PLUGIN_AUTOLOAD=1`` - load only the core's built-in plugin
* ``GROOT_PLUGINS=a,b`` - load only these entry points (by entry-point name)
* ``GROOT_STRICT_PLUGINS=1`` - raise on the first plugin failure instead of recording it
"""

from __future__ import annotations

import logging
import os
import traceback
from collections.abc import Callable, Iterable
from importlib.metadata import EntryPoint, entry_points
from types import ModuleType
from typing import Any

import pluggy
from attrs import frozen

from groot_sdk._version import PLUGIN_API_VERSION
from groot_sdk.errors import PluginLoadError
from groot_sdk.plugins import hookspecs

log = logging.getLogger(__name__)
ENTRY_POINT_GROUP = "groot_sdk"
BUILTIN = "groot_sdk.plugins.builtin"


@frozen
class PluginFailure:
    """A plugin that could not be loaded or registered, with the reason."""

    plugin: str
    dist: str
    version: str
    error: str
    traceback: str = ""

    def __str__(self) -> str:
        return f"plugin '{self.plugin}' ({self.dist} {self.version}) failed: {self.error}"


@frozen
class PluginInfo:
    name: str
    dist: str
    version: str
    module: ModuleType


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


class PluginLoader:
    """Discovers plugin modules and calls their hooks one plugin at a time."""

    def __init__(self, entry_points_: Iterable[EntryPoint] | None = None) -> None:
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.plugins: dict[str, PluginInfo] = {}
        self.failures: list[PluginFailure] = []
        self._entry_points = entry_points_
        self.strict = _flag("GROOT_STRICT_PLUGINS")

    def load(self) -> None:
        import importlib

        from groot_sdk import __version__

        self._add("groot_sdk", "groot-sdk", __version__, lambda: importlib.import_module(BUILTIN))
        if _flag("GROOT_DISABLE_PLUGIN_AUTOLOAD"):
            return
        allow = {p.strip() for p in os.environ.get("GROOT_PLUGINS", "").split(",") if p.strip()}
        eps = self._entry_points
        if eps is None:
            eps = entry_points(group=ENTRY_POINT_GROUP)
        for ep in sorted(eps, key=lambda e: e.name):
            if allow and ep.name not in allow:
                continue
            dist = getattr(ep, "dist", None)
            self._add(
                ep.name,
                dist.name if dist else "?",
                dist.version if dist else "?",
                ep.load,
            )

    def _add(self, name: str, dist: str, version: str, load: Callable[[], Any]) -> None:
        if name in self.plugins:
            self._fail(name, dist, version, f"a plugin named '{name}' is already loaded")
            return
        try:
            module = load()
            api = getattr(module, "GROOT_PLUGIN_API", PLUGIN_API_VERSION)
            if api != PLUGIN_API_VERSION:
                raise PluginLoadError(
                    f"written for plugin API {api}, this groot-sdk speaks {PLUGIN_API_VERSION}"
                )
            self.pm.register(module, name=name)
            self.pm.check_pending()
        except Exception as exc:  # noqa: BLE001 - a broken plugin must not stop the others
            if self.pm.get_plugin(name) is not None:
                self.pm.unregister(name=name)
            self._fail(name, dist, version, f"{type(exc).__name__}: {exc}", traceback.format_exc())
            return
        self.plugins[name] = PluginInfo(name, dist, version, module)

    def _fail(self, name: str, dist: str, version: str, error: str, tb: str = "") -> None:
        failure = PluginFailure(name, dist, version, error, tb)
        if self.strict:
            raise PluginLoadError(str(failure))
        log.warning("%s", failure)
        self.failures.append(failure)

    def call(self, hook: str, make_register: Callable[[PluginInfo], Callable]) -> None:
        """Call ``hook`` on each plugin separately; a failing plugin's entries are rolled back."""
        caller = getattr(self.pm.hook, hook)
        for impl in caller.get_hookimpls():
            info = self.plugins.get(impl.plugin_name)
            if info is None:
                continue
            staged: list[Any] = []
            try:
                impl.function(register=staged.append)
                commit = make_register(info)
                for entry in staged:
                    commit(entry)
            except Exception as exc:  # noqa: BLE001 - isolate each plugin's registration
                self._fail(
                    info.name,
                    info.dist,
                    info.version,
                    f"{hook}: {type(exc).__name__}: {exc}",
                    traceback.format_exc(),
                )
