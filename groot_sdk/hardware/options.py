"""Driver options (``--hw KEY=VALUE``, ``make_hardware(**options)``), checked at the boundary.

Each driver declares its options as one frozen attrs class whose fields use the validators
here, and builds it with :func:`parse_options`. A NaN timeout, a negative step limit,
``baudrate=abc`` or a billion retries is then refused with one line naming the option before
any device is opened, instead of reaching the bus or the control loop.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import attrs

from groot_sdk.errors import SpecError

T = TypeVar("T")

#: longest string option (paths, interfaces, addresses)
MAX_TEXT = 4096
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class OptionError(SpecError):
    """An option value is missing, of the wrong type, non-finite or out of range (names it)."""


def _fail(attribute: attrs.Attribute, message: str) -> OptionError:
    return OptionError(f"option {attribute.name} {message}")


# -- converters: the CLI parses "3" as 3 and "3.0" as 3.0; accept either where it is exact ------
def _to_int(value: Any) -> Any:
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return value


def _to_float(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def _to_text(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return value


# -- validators -------------------------------------------------------------------------------
def _range_text(ge: float | None, gt: float | None, le: float | None) -> str:
    low = f"> {gt:g}" if gt is not None else f">= {ge:g}" if ge is not None else ""
    high = f"<= {le:g}" if le is not None else ""
    return " and ".join(p for p in (low, high) if p)


def _check_number(
    attribute: attrs.Attribute,
    value: Any,
    integer: bool,
    ge: float | None,
    gt: float | None,
    le: float | None,
) -> None:
    kind = "an integer" if integer else "a number"
    if isinstance(value, bool) or not isinstance(value, int if integer else (int, float)):
        raise _fail(attribute, f"must be {kind}, got {value!r}")
    if not math.isfinite(value):
        raise _fail(attribute, f"must be a finite number, got {value!r}")
    if (
        (ge is not None and value < ge)
        or (gt is not None and value <= gt)
        or (le is not None and value > le)
    ):
        raise _fail(attribute, f"must be {_range_text(ge, gt, le)}, got {value!r}")


def float_field(
    default: float | None,
    *,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
    optional: bool = False,
) -> Any:
    """A finite float in range (``None`` allowed when ``optional``)."""

    def check(_inst: Any, attribute: attrs.Attribute, value: Any) -> None:
        if value is None and optional:
            return
        _check_number(attribute, value, False, ge, gt, le)

    return attrs.field(default=default, converter=_to_float, validator=check)


def int_field(
    default: int | None,
    *,
    ge: int | None = None,
    le: int | None = None,
    choices: Iterable[int] | None = None,
    optional: bool = False,
) -> Any:
    """An integer in range or in ``choices`` (``None`` allowed when ``optional``)."""
    allowed = None if choices is None else tuple(choices)

    def check(_inst: Any, attribute: attrs.Attribute, value: Any) -> None:
        if value is None and optional:
            return
        _check_number(attribute, value, True, ge, None, le)
        if allowed is not None and value not in allowed:
            raise _fail(attribute, f"must be one of {list(allowed)}, got {value!r}")

    return attrs.field(default=default, converter=_to_int, validator=check)


def bool_field(default: bool = False) -> Any:
    """``true``/``false`` (``--hw fake=true``); 0 and 1 are read as booleans too."""

    def convert(value: Any) -> Any:
        return bool(value) if isinstance(value, int) and value in (0, 1) else value

    def check(_inst: Any, attribute: attrs.Attribute, value: Any) -> None:
        if not isinstance(value, bool):
            raise _fail(attribute, f"must be true or false, got {value!r}")

    return attrs.field(default=default, converter=convert, validator=check)


def text_field(
    default: str | None,
    *,
    optional: bool = False,
    choices: Iterable[str] | None = None,
    pattern: re.Pattern[str] | None = None,
    what: str = "a non-empty string",
) -> Any:
    """A non-empty string of at most :data:`MAX_TEXT` characters without control characters."""
    allowed = None if choices is None else tuple(choices)

    def check(_inst: Any, attribute: attrs.Attribute, value: Any) -> None:
        if value is None and optional:
            return
        if not isinstance(value, str) or not value.strip():
            raise _fail(attribute, f"must be {what}, got {value!r}")
        if len(value) > MAX_TEXT:
            raise _fail(attribute, f"is longer than {MAX_TEXT} characters")
        if any(ord(c) < 32 for c in value):
            raise _fail(attribute, f"contains control characters: {value!r}")
        if allowed is not None and value not in allowed:
            raise _fail(attribute, f"must be one of {list(allowed)}, got {value!r}")
        if pattern is not None and not pattern.match(value):
            raise _fail(attribute, f"must be {what}, got {value!r}")

    return attrs.field(default=default, converter=_to_text, validator=check)


def name_field(default: str) -> Any:
    """A name that becomes part of a file name (``robot_id``): no separators, no ``..``."""
    return text_field(
        default, pattern=_SAFE_NAME, what="a name of letters, digits, '_', '.', '-' (<= 64)"
    )


def existing_file(_inst: Any, attribute: attrs.Attribute, value: Any) -> None:
    """Validator: ``value`` (when a path) names an existing regular file."""
    if isinstance(value, (str, os.PathLike)) and not Path(value).is_file():
        raise _fail(attribute, f"names no file: {os.fspath(value)!r}")


# -- building a config from raw options -------------------------------------------------------
def parse_options(
    cls: type[T],
    options: Mapping[str, Any],
    who: str,
    *,
    allowed: Callable[[str], bool] | None = None,
) -> T:
    """Build ``cls`` (an attrs class) from ``options``; keys ``allowed`` accepts are skipped.

    Raises :class:`OptionError` naming ``who`` and the option: unknown keys, wrong types,
    non-finite or out-of-range values.
    """
    names = [a.name for a in attrs.fields(cls)]  # type: ignore[arg-type]
    unknown = sorted(k for k in options if k not in names and not (allowed and allowed(k)))
    if unknown:
        raise OptionError(f"{who}: unknown options {unknown}; known: {sorted(names)}")
    try:
        return cls(**{k: v for k, v in options.items() if k in names})
    except OptionError as exc:
        raise OptionError(f"{who}: {exc}") from None


def validate_camera_source(name: str, value: Any) -> int | str:
    """``camera_<name>=SOURCE``: a device index (0..255) or a non-empty path / URL."""
    option = f"camera_{name}"
    if isinstance(value, bool):
        raise OptionError(f"option {option} must be a device index or a path, got {value!r}")
    if isinstance(value, int):
        if not 0 <= value <= 255:
            raise OptionError(f"option {option}: device index must be 0..255, got {value}")
        return value
    if isinstance(value, str) and value.strip() and len(value) <= MAX_TEXT:
        if any(ord(c) < 32 for c in value):
            raise OptionError(f"option {option} contains control characters: {value!r}")
        return value
    raise OptionError(f"option {option} must be a device index or a path, got {value!r}")


__all__ = [
    "OptionError",
    "bool_field",
    "existing_file",
    "float_field",
    "int_field",
    "name_field",
    "parse_options",
    "text_field",
    "validate_camera_source",
]
