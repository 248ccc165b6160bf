"""Turn a ``--policy`` string into a backend.

* ``NAME`` - a registered backend (``zero``, ``hold``, ``scripted``, ``torch`` ...)
* ``SCHEME://REST`` - backend ``SCHEME`` with ``target=REST`` (``remote://127.0.0.1:5555``)
* ``PATH.onnx`` - backend ``onnx-rl`` with ``path=PATH``

Options (``--policy-opt key=value``) are passed to the backend's factory.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterable, Mapping
from typing import Any

from groot_sdk.errors import BackendError
from groot_sdk.plugins import get_registry
from groot_sdk.plugins.entries import resolve
from groot_sdk.policy.backend import PolicyBackend
from groot_sdk.spec import EmbodimentSpec


def parse_policy(policy: str) -> tuple[str, dict[str, Any]]:
    """``"remote://h:5555"`` -> ``("remote", {"target": "h:5555"})``."""
    if "://" in policy:
        scheme, _, rest = policy.partition("://")
        return scheme, {"target": rest}
    if policy.endswith(".onnx"):
        return "onnx-rl", {"path": policy}
    return policy, {}


def parse_options(pairs: Iterable[str]) -> dict[str, Any]:
    """``["seed=3", "device=cpu"]`` -> ``{"seed": 3, "device": "cpu"}`` (ints/floats/bools parsed)."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise ValueError(f"policy option '{pair}' must look like key=value")
        out[key.strip().replace("-", "_")] = _scalar(value.strip())
    return out


def _scalar(text: str) -> Any:
    lowered = text.lower()
    if lowered in {"true", "false"}:
        return lowered == "true"
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def make_backend(
    policy: str, spec: EmbodimentSpec, options: Mapping[str, Any] | None = None
) -> PolicyBackend:
    """Create the backend a ``--policy`` string names, for ``spec``.

    A backend limited to other robots, and an option the backend does not take, are
    :class:`BackendError` lines naming the robots / the valid options.
    """
    name, parsed = parse_policy(policy)
    registry = get_registry()
    entry = registry.backend(name)
    if entry.embodiments and spec.name not in entry.embodiments:
        raise WrongEmbodimentError(
            f"policy '{name}' drives {', '.join(entry.embodiments)} only, not '{spec.name}': "
            "pick another policy (groot list)"
        )
    defaults = (
        registry.embodiment(spec.name).backend_defaults
        if spec.name in registry.embodiments()
        else {}
    )
    given = dict(options or {})
    try:
        return entry.create(spec, **{**defaults, **parsed, **given})
    except TypeError as exc:
        match = _UNEXPECTED.search(str(exc))
        if match is None or match.group(1) not in given:
            raise
        valid = option_names(entry.factory)
        known = f"; valid options: {', '.join(valid)}" if valid else ""
        raise UnknownOptionError(
            f"policy '{name}' has no option '{match.group(1)}'{known}"
        ) from None


class UnknownOptionError(BackendError):
    """An option the backend does not take (the message lists those it does)."""


class WrongEmbodimentError(BackendError):
    """A backend registered for other robots only."""


_UNEXPECTED = re.compile(r"unexpected keyword argument '([^']+)'")


def option_names(factory: Any) -> list[str]:
    """The keyword options a backend factory names (empty when it takes ``**options`` only
    or cannot be inspected)."""
    try:
        params = inspect.signature(resolve(factory)).parameters.values()
    except (TypeError, ValueError, ImportError, AttributeError):
        return []
    skip = {"spec", "self", "embodiment_tag", "target"}
    return [
        p.name
        for p in params
        if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD) and p.name not in skip
    ]
