"""Helpers shared by CLI commands: JSON output and option types that refuse hostile values."""

from __future__ import annotations

import json
import logging
import math
import os
from pathlib import Path
from typing import Any

import click

log = logging.getLogger(__name__)

#: longest free-text option (a task instruction, a path, an address)
MAX_TEXT = 4096


#: ``--format`` of ``groot run`` and ``groot teleop`` (both record through the same writer)
record_format_option = click.option(
    "--format",
    "record_format",
    type=click.Choice(["v2.1", "v3.0"]),
    default="v2.1",
    show_default=True,
    help="--record: LeRobot dataset format (v3.0: several episodes per file, LeRobot >= 0.4).",
)


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=_default))


def _default(obj: Any) -> Any:
    import numpy as np

    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return str(obj)


def embodiment_entry(name: str):
    from groot_sdk.plugins import get_registry

    return get_registry().embodiment(name)


class FiniteFloat(click.FloatRange):
    """A float range that also refuses NaN and infinities (``FloatRange`` lets NaN through:
    every comparison with NaN is false)."""

    name = "finite float"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None):
        rv = super().convert(value, param, ctx)
        if not math.isfinite(rv):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return rv


class Text(click.ParamType):
    """A string of at most ``max_len`` characters without control characters; ``empty``
    says whether "" (or only spaces) is allowed."""

    name = "text"

    def __init__(self, max_len: int = MAX_TEXT, empty: bool = True) -> None:
        self.max_len, self.empty = max_len, empty

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None):
        text = str(value)
        if not self.empty and not text.strip():
            self.fail("must not be empty.", param, ctx)
        if len(text) > self.max_len:
            self.fail(f"is longer than {self.max_len} characters.", param, ctx)
        if any(ord(c) < 32 and c not in "\t" for c in text):
            self.fail("contains control characters.", param, ctx)
        return text


def writable_file(path: str, option: str) -> Path:
    """Check up front that ``path`` can be created or overwritten (a run must not end in a
    traceback, or lose its telemetry, because the file cannot be written): creates the
    parent folders and opens the file for appending, leaving an existing file's content."""
    p = Path(path)
    if p.is_dir():
        raise click.BadParameter(f"'{path}' is a directory", param_hint=option)
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        existed = p.exists()
        with p.open("a", encoding="utf-8"):
            pass
        if not existed:
            p.unlink()
    except (OSError, ValueError) as exc:  # ValueError: an embedded NUL
        reason = os.strerror(exc.errno) if isinstance(exc, OSError) and exc.errno else str(exc)
        raise click.BadParameter(f"cannot write '{path}': {reason}", param_hint=option) from None
    return p


def key_values(pairs: tuple[str, ...], option: str) -> dict[str, Any]:
    """``KEY=VALUE`` options: each key named, values bounded, numbers finite."""
    from groot_sdk.policy.factory import parse_options

    try:
        options = parse_options(pairs)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint=option) from None
    for key, value in options.items():
        if not key or len(key) > 64:
            raise click.BadParameter(f"bad key '{key[:64]}'", param_hint=option)
        if isinstance(value, float) and not math.isfinite(value):
            raise click.BadParameter(f"{key}={value} is not a finite number", param_hint=option)
        if isinstance(value, str) and len(value) > MAX_TEXT:
            raise click.BadParameter(f"{key}: value longer than {MAX_TEXT}", param_hint=option)
    return options


def make_backend(policy: str, spec: Any, options: dict[str, Any]):
    """The backend, with a bad option value reported as a one-line error naming it."""
    from groot_sdk.policy import factory

    name, parsed = factory.parse_policy(policy)
    if name == "remote":
        check_resolves(str(parsed.get("target", "")))
    try:
        return factory.make_backend(policy, spec, options)
    except factory.UnknownOptionError as exc:
        raise click.BadParameter(str(exc), param_hint="--policy-opt") from None
    except factory.WrongEmbodimentError as exc:
        raise click.BadParameter(str(exc), param_hint="--policy") from None
    except (TypeError, ValueError) as exc:
        if isinstance(exc, click.ClickException):
            raise
        from groot_sdk.errors import GrootError

        if isinstance(exc, GrootError):
            raise
        log.debug("backend '%s' refused its options", policy, exc_info=True)
        raise click.BadParameter(f"'{policy}': {exc}", param_hint="--policy-opt") from None


def make_robot(entry: Any, sim: bool, **options: Any):
    """``entry.make_sim`` / ``entry.make_hardware``; an embodiment without one, or a plugin that
    names a module it does not ship, is a one-line error naming the embodiment."""
    what = "simulator" if sim else "hardware driver"
    try:
        return entry.make_sim(**options) if sim else entry.make_hardware(**options)
    except NotImplementedError as exc:
        hint = "" if sim else " (it has a simulator: groot run --sim)" if entry.sim else ""
        raise click.ClickException(f"{exc}{hint}") from None
    except ModuleNotFoundError as exc:
        factory = entry.sim if sim else entry.hardware
        module = factory.partition(":")[0] if isinstance(factory, str) else None
        if (
            module is None
            or exc.name is None
            or not (module == exc.name or module.startswith(exc.name + "."))
        ):
            raise
        raise click.ClickException(
            f"embodiment '{entry.name}' has no {what}: its plugin names {module}, which is "
            f"not installed (reinstall the plugin '{entry.plugin}')"
        ) from None


def sim_model(robot: Any, quiet: bool = False) -> dict[str, Any] | None:
    """Which model a simulator loaded (``episodic.model_info``: 'model' and 'path'), said on
    stderr unless ``quiet`` (a run must say whether it simulated the published robot or a
    stand-in)."""
    info = getattr(getattr(robot, "episodic", None), "model_info", None)
    if not isinstance(info, dict):
        return None
    if not quiet:
        click.echo(
            f"{robot.spec.name}: model {info.get('model')} {info.get('path') or ''}", err=True
        )
    return info


def check_resolves(target: str) -> None:
    """A ``remote://HOST:PORT`` whose host does not resolve is said as such, before the
    client waits out its timeout and reports only that no reply came."""
    import socket

    from groot_sdk.remote.client import parse_target

    try:
        host, port = parse_target(target)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--policy") from None
    try:
        socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        reason = exc.strerror if isinstance(exc, socket.gaierror) and exc.strerror else str(exc)
        raise click.BadParameter(
            f"host '{host[:200]}' did not resolve ({reason}): check the name or give an IP "
            "address, e.g. remote://192.168.1.20:5555",
            param_hint="--policy",
        ) from None
