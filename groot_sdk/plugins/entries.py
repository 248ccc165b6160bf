"""What plugins register: embodiments (spec + drivers) and policy backends."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from attrs import field, frozen

from groot_sdk.spec import EmbodimentSpec

#: a callable, or "package.module:attribute" resolved on first use (keeps imports lazy)
Factory = Callable[..., Any] | str


def resolve(factory: Factory) -> Callable[..., Any]:
    if callable(factory):
        return factory
    module, _, attr = factory.partition(":")
    obj: Any = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


@frozen
class EmbodimentEntry:
    """An embodiment a plugin provides.

    ``sim(spec, **options)`` and ``hardware(spec, **options)`` return an
    :class:`~groot_sdk.embodiment.Embodiment`. ``backend_defaults`` are options handed to
    model backends for this robot (device, dtype, embodiment tag, engine precision).
    """

    spec: EmbodimentSpec
    sim: Factory | None = None
    hardware: Factory | None = None
    backend_defaults: dict[str, Any] = field(factory=dict)
    summary: str = ""
    plugin: str = ""  #: filled in by the registry
    version: str = ""  #: filled in by the registry

    @property
    def name(self) -> str:
        return self.spec.name

    def make_sim(self, **options: Any):
        if self.sim is None:
            raise NotImplementedError(f"embodiment '{self.name}' has no simulator")
        return resolve(self.sim)(self.spec, **options)

    def make_hardware(self, **options: Any):
        if self.hardware is None:
            raise NotImplementedError(f"embodiment '{self.name}' has no hardware driver")
        return resolve(self.hardware)(self.spec, **options)


@frozen
class BackendEntry:
    """A policy backend: ``factory(spec, **options) -> PolicyBackend``.

    ``extra`` names the pip extra the backend needs (shown by ``groot list``).
    ``embodiments`` limits the backend to some robots (empty: any).
    """

    name: str
    factory: Factory
    summary: str = ""
    extra: str = ""
    embodiments: tuple[str, ...] = field(default=(), converter=tuple)
    plugin: str = ""
    version: str = ""

    def create(self, spec: EmbodimentSpec, **options: Any):
        return resolve(self.factory)(spec, **options)
