"""Which device drives which robot, and how: ``groot teleop``'s assembly.

A plugin adds devices by shipping a ``<its package>.teleop`` module (found from the package
that its embodiment's simulator or driver lives in) with ``DEVICES`` (names),
``make_device(spec, device, **options)`` returning a
:class:`~groot_sdk.teleop.policy.TeleopMapping`, and optionally ``cartesian_solver(spec)``
(forward/inverse kinematics, for keyboard and gamepad on a joint-position arm) and
``ROLL_JOINT``. Keyboard and gamepad need no plugin code for robots that take normalized
end-effector deltas (Fetch) or for locomotion policies that observe a velocity command (BHL).
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

from groot_sdk.errors import BackendError
from groot_sdk.policy.backend import PolicyBackend
from groot_sdk.teleop.bindings import TeleopInput
from groot_sdk.teleop.policy import (
    CartesianIK,
    NormalizedCartesian,
    TeleopPolicy,
    VelocityTeleop,
)

INPUT_DEVICES = ("keyboard", "gamepad")


def plugin_module(entry: Any) -> ModuleType | None:
    """``<package>.teleop`` of the plugin that provides ``entry``, if it ships one."""
    for factory in (entry.hardware, entry.sim):
        if not isinstance(factory, str):
            continue
        package = factory.partition(":")[0].split(".")[0]
        name = f"{package}.teleop"
        try:
            return importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name not in (name, package):
                raise
    return None


def devices(entry: Any) -> tuple[str, ...]:
    """The device names ``entry`` can be driven with."""
    module = plugin_module(entry)
    return (*INPUT_DEVICES, *getattr(module, "DEVICES", ()))


def build_policy(
    entry: Any,
    device: str,
    input: TeleopInput,
    *,
    options: dict[str, Any] | None = None,
    locomotion: PolicyBackend | None = None,
    speed: float | None = None,
) -> PolicyBackend:
    """The teleop policy for ``device`` on ``entry``'s robot. ``options``: the device's
    (a leader's port, calibration...); ``locomotion``: a policy taking velocity commands
    (keyboard/gamepad then drive the base); ``speed``: Cartesian speed (m/s, or the share of
    full scale for normalized deltas)."""
    spec = entry.spec
    options = dict(options or {})
    module = plugin_module(entry)
    if device not in INPUT_DEVICES:
        make = getattr(module, "make_device", None)
        device_map = make(spec, device, **options) if make is not None else None
        if device_map is None:
            raise BackendError(
                f"teleop: '{spec.name}' has no device '{device}'; devices: "
                f"{', '.join(devices(entry))}"
            )
        return TeleopPolicy(spec, device_map, None, name=f"{spec.name} {device}")
    if options:
        raise BackendError(f"teleop: {device} takes no device options, got {sorted(options)}")
    if locomotion is not None:
        return VelocityTeleop(locomotion, input)
    try:
        mapping: Any = NormalizedCartesian(spec, **({"speed": speed} if speed else {}))
    except BackendError:
        solver = getattr(module, "cartesian_solver", None)
        if solver is None:
            raise BackendError(
                f"teleop: '{spec.name}' takes joint positions and its plugin has no Cartesian "
                f"solver for a {device}; devices: {', '.join(devices(entry))}"
            ) from None
        mapping = CartesianIK(
            spec,
            solver(spec),
            spec.rates.policy_dt,
            roll_joint=getattr(module, "ROLL_JOINT", None),
            **({"speed": speed} if speed else {}),
        )
    return TeleopPolicy(spec, mapping, input, name=f"{spec.name} {device}")


__all__ = ["INPUT_DEVICES", "build_policy", "devices", "plugin_module"]
