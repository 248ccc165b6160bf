"""Every hook a groot-sdk plugin can implement. One place, prefixed ``groot_``.

A plugin is a module exposed through the entry-point group ``groot_sdk``::

    [project.entry-points.groot_sdk]
    so101 = "groot_sdk_so101.plugin"

and implements hooks with :data:`groot_sdk.plugins.hookimpl`.
"""

from __future__ import annotations

from collections.abc import Callable

import pluggy

PROJECT = "groot_sdk"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def groot_register_embodiments(register: Callable) -> None:
    """Call ``register(EmbodimentEntry(...))`` for each embodiment the plugin provides."""


@hookspec
def groot_register_backends(register: Callable) -> None:
    """Call ``register(BackendEntry(...))`` for each policy backend the plugin provides."""
