"""How a policy runs: :class:`DeployConfig`, shared by the deployer and the controller.

Every field is checked when set (finite, in range): a NaN watchdog timeout or a NaN tick rate
cannot switch a safety piece off.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import attrs
import numpy as np
from attrs import define, field

from groot_sdk.hardware.options import OptionError
from groot_sdk.policy.actions import ActionMap

#: longest watchdog timeout: beyond it a dead policy would leave the robot holding for minutes
MAX_TIMEOUT_S = 10.0


def _number(
    *, gt: float | None = None, ge: float | None = None, le: float | None = None, integer=False
) -> Callable[[Any, attrs.Attribute, Any], None]:
    """Validator: None, or a finite number (an int when ``integer``) in range."""

    def check(_inst: Any, attribute: attrs.Attribute, value: Any) -> None:
        if value is None:
            return
        name = attribute.name
        kind = (int, np.integer) if integer else (int, float, np.integer, np.floating)
        if isinstance(value, bool) or not isinstance(value, kind):
            what = "an integer" if integer else "a number"
            raise OptionError(f"DeployConfig.{name} must be {what}, got {value!r}")
        v = float(value)
        bad = not math.isfinite(v) or (gt is not None and v <= gt) or (ge is not None and v < ge)
        if bad or (le is not None and v > le):
            lo = f"> {gt:g}" if gt is not None else f">= {ge:g}" if ge is not None else ""
            hi = f" and <= {le:g}" if le is not None else ""
            raise OptionError(f"DeployConfig.{name} must be finite {lo}{hi}, got {value!r}")

    return check


def _command(_inst: Any, attribute: attrs.Attribute, value: Any) -> None:
    if value is None:
        return
    try:
        vec = np.asarray(value, np.float64)
    except (TypeError, ValueError):
        vec = np.array([np.nan])
    if vec.shape != (3,) or not np.isfinite(vec).all():
        raise OptionError(f"DeployConfig.command must be three finite numbers, got {value!r}")


@define
class DeployConfig:
    """How to run. Times are seconds of control time unless said otherwise.

    Fields are validated when set (non-finite and out-of-range values raise
    :class:`~groot_sdk.hardware.options.OptionError`).
    """

    #: wall-clock tick rate; None: real time; 0: as fast as possible
    rate_hz: float | None = field(default=None, validator=_number(ge=0.0, le=1e6))
    #: per episode (or the whole run without episodes)
    seconds: float | None = field(default=None, validator=_number(gt=0.0))
    #: with an episodic simulator; None: 1
    episodes: int | None = field(default=None, validator=_number(ge=1, integer=True))
    task: str = ""  #: the language instruction; default: the embodiment's own
    #: watchdog: hold after this long without an action, stop after 2x
    timeout: float = field(default=1.0, validator=_number(gt=0.0, le=MAX_TIMEOUT_S))
    #: wall seconds to wait for an episode's first chunk
    startup_timeout: float = field(default=30.0, validator=_number(gt=0.0, le=3600.0))
    #: policy steps between requests; None: horizon // 2
    replan_every: int | None = field(default=None, validator=_number(ge=1, integer=True))
    sync: bool = False  #: wait for each answer (lock-step); forced at rate 0 and for horizon 1
    #: cross-fade of overlapping chunks; None: one policy step
    blend: float | None = field(default=None, validator=_number(ge=0.0, le=60.0))
    #: (vx, vy, wz) for ``state.velocity_command``
    command: Sequence[float] | None = field(default=None, validator=_command)
    action_map: ActionMap | None = None
    gripper: str | None = None  #: policy gripper range, e.g. "0..1"; None: joint units
    seed: int | None = 0
    validate: bool = True  #: validate every observation before inference
    telemetry: str | None = None  #: JSON-lines path
    plot: str | None = None  #: PNG path for a loop-timing plot
    #: wall seconds between status callbacks
    status_every: float = field(default=0.5, validator=_number(ge=0.0))
    #: SCHED_FIFO priority (1..99) for the loop thread (Linux)
    rt_priority: int | None = field(default=None, validator=_number(ge=1, le=99, integer=True))
    #: real devices: bound each step by the measured wall-clock time too; None: the deployer
    #: decides (no simulator and not the in-memory mock), a bare Controller assumes hardware
    hardware: bool | None = None
    extra_options: dict[str, Any] = field(factory=dict)
