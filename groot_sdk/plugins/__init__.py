"""Plugin machinery: hookspecs, an error-isolating loader and a typed registry."""

from groot_sdk.plugins.entries import BackendEntry, EmbodimentEntry, resolve
from groot_sdk.plugins.hookspecs import hookimpl
from groot_sdk.plugins.manager import PluginFailure
from groot_sdk.plugins.registry import Registry, UnknownNameError, get_registry, reset_registry

__all__ = [
    "BackendEntry",
    "EmbodimentEntry",
    "PluginFailure",
    "Registry",
    "UnknownNameError",
    "get_registry",
    "hookimpl",
    "reset_registry",
    "resolve",
]
