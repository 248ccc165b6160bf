"""Action-chunk dict -> joint-order targets the robot can take.

The steps, in order, for one chunk ``{"action.<key>": (horizon, dim)}``:

1. **Alignment** of the checkpoint's :class:`ModalityLayout` with the embodiment: by group key,
   then by joint names, then by explicit overrides (``action_map``). A mismatch is an error that
   names both layouts (``single_arm 6 + gripper 1 vs single_arm 5 + gripper 1``).
2. **Representation** per spec group: absolute targets, or deltas added to the state at the
   observation (``Representation.RELATIVE``).
3. **Gripper** range and polarity: the policy's value (e.g. 0..1) onto ``spec.gripper``'s
   closed..open positions.
4. **Mimic** joints follow their source; **clamp** to joint limits.

Non-finite values reject the whole chunk (:class:`ActionError`), so the deployer holds.
:class:`SafetyFilter` applies the last line of defence per low-level setpoint (finite, limits,
per-tick velocity limit) and :func:`interpolate` turns policy-rate steps into setpoints.

``action_map`` (a dict, e.g. parsed from JSON) overrides alignment per spec group::

    {"single_arm": {"take": [0, 1, 2, 3, 4]}}          # columns of action.single_arm
    {"single_arm": {"from": "arm", "take": ["pan", "lift", "elbow", "wrist", "roll"]}}
    {"left_leg": "hold"}                                # not commanded by the policy
    {"base_motion": "ignore"}                           # a checkpoint key the robot lacks
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from attrs import frozen

from groot_sdk.errors import ActionError
from groot_sdk.finite import all_finite
from groot_sdk.modality.layout import KeyDim, ModalityLayout
from groot_sdk.spec import EmbodimentSpec, Representation, Unit

log = logging.getLogger(__name__)

ActionMap = Mapping[str, Any]


# -- gripper -----------------------------------------------------------------------------------
@frozen
class GripperMap:
    """Which policy values mean closed and open (``closed=1, open=0`` inverts polarity)."""

    closed: float = 0.0
    open: float = 1.0

    @classmethod
    def parse(cls, text: str | GripperMap | None) -> GripperMap | None:
        """``"0..1"`` (0 closed, 1 open), ``"-1..1"``, ``"1..0"`` (inverted); ``None``/``"joint"``:
        the policy already speaks joint units."""
        if text is None or isinstance(text, GripperMap):
            return text
        if text.strip().lower() in ("", "joint", "none"):
            return None
        lo, sep, hi = text.partition("..")
        try:
            closed, open_ = float(lo), float(hi)
        except ValueError:
            closed = open_ = float("nan")
        if not sep or not np.isfinite([closed, open_]).all() or closed == open_:
            raise ActionError(
                f"gripper range '{text}' must look like CLOSED..OPEN, e.g. '0..1' or '1..0'"
            )
        return cls(closed, open_)


# -- alignment ---------------------------------------------------------------------------------
@frozen
class Alignment:
    """For each spec joint: the (action key, column) it comes from, or ``None`` (held)."""

    sources: tuple[tuple[str, int] | None, ...]
    ignored: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def held(self) -> tuple[int, ...]:
        return tuple(i for i, s in enumerate(self.sources) if s is None)


def _mismatch(layout: ModalityLayout, spec: EmbodimentSpec, detail: str) -> ActionError:
    ours = ModalityLayout.from_spec(spec)
    return ActionError(
        f"checkpoint action layout ({layout.describe_action()}) does not match embodiment "
        f"'{spec.name}' ({ours.describe_action()}): {detail}"
    )


def _resolve_take(key: KeyDim, take: Sequence[int | str]) -> list[int]:
    cols = []
    for t in take:
        if isinstance(t, str) and not t.lstrip("-").isdigit():
            if t not in key.names:
                raise ActionError(
                    f"action map: action.{key.key} has no joint '{t}' (names: {list(key.names)})"
                )
            cols.append(key.names.index(t))
        else:
            c = int(t)
            if not 0 <= c < key.dim:
                raise ActionError(
                    f"action map: column {c} is outside action.{key.key} (dim {key.dim})"
                )
            cols.append(c)
    return cols


def align(
    layout: ModalityLayout, spec: EmbodimentSpec, action_map: ActionMap | None = None
) -> Alignment:
    """Match ``layout``'s action keys to ``spec``'s joints; raise :class:`ActionError` naming
    both layouts when they cannot be matched without an explicit ``action_map``."""
    action_map = dict(action_map or {})
    by_key = {k.key: k for k in layout.action}
    spec_keys = {g.key for g in spec.action_groups}
    sources: list[tuple[str, int] | None] = [None] * spec.dof
    used: set[str] = set()
    notes: list[str] = []
    ignored = [k for k, v in action_map.items() if v == "ignore" or v == {"ignore": True}]
    for k in ignored:
        if k not in by_key:
            raise _mismatch(layout, spec, f"action map ignores 'action.{k}', which it lacks")
    unknown = [k for k in action_map if k not in spec_keys and k not in ignored and k not in by_key]
    if unknown:
        raise ActionError(
            f"action map names {unknown}, which are neither groups of '{spec.name}' "
            f"{sorted(spec_keys)} nor checkpoint action keys {sorted(by_key)}"
        )
    for g in spec.action_groups:
        names = spec.joint_names[g.slice]
        rule = action_map.get(g.key)
        if rule == "hold":
            notes.append(f"{g.key}: held (not commanded by the policy)")
            continue
        if isinstance(rule, Mapping) and ("take" in rule or "from" in rule):
            src = by_key.get(rule.get("from", g.key))
            if src is None:
                raise _mismatch(
                    layout, spec, f"action map for '{g.key}' reads 'action.{rule.get('from')}'"
                )
            cols = _resolve_take(src, rule.get("take", range(src.dim)))
            if len(cols) != g.size:
                raise _mismatch(
                    layout,
                    spec,
                    f"action map for '{g.key}' takes {len(cols)} columns of action.{src.key}, "
                    f"the group has {g.size} joints {list(names)}",
                )
            for j, c in zip(range(g.start, g.end), cols):
                sources[j] = (src.key, c)
            used.add(src.key)
            if src.dim != len(cols):
                notes.append(f"{g.key}: {len(cols)} of action.{src.key}'s {src.dim} columns")
            continue
        if rule is not None and rule not in ("ignore",):
            raise ActionError(f"action map for '{g.key}': unknown rule {rule!r}")
        src = by_key.get(g.key)
        if src is not None and src.dim == g.size and (not src.names or src.names == names):
            for j, c in zip(range(g.start, g.end), range(src.dim)):
                sources[j] = (src.key, c)
            used.add(src.key)
            continue
        # by joint name, in this key or any other
        found = _by_names(layout, names)
        if found is not None:
            for j, s in zip(range(g.start, g.end), found):
                sources[j] = s
            used.update(s[0] for s in found)
            notes.append(f"{g.key}: matched by joint name")
            continue
        if src is None:
            detail = f"the checkpoint has no action.{g.key} for joints {list(names)}"
        else:
            detail = (
                f"action.{g.key} has {src.dim} values, '{spec.name}' group {g.key} has "
                f"{g.size} joints {list(names)}"
            )
        raise _mismatch(
            layout,
            spec,
            f"{detail}; map it explicitly, e.g. "
            f'action_map={{"{g.key}": {{"take": {list(range(g.size))}}}}} '
            f'or {{"{g.key}": "hold"}}',
        )
    leftover = [k for k in by_key if k not in used and k not in ignored]
    if leftover:
        raise _mismatch(
            layout,
            spec,
            f"checkpoint keys {['action.' + k for k in leftover]} command nothing on "
            f'\'{spec.name}\'; map or ignore them, e.g. action_map={{"{leftover[0]}": "ignore"}}',
        )
    for n in notes:
        log.info("action alignment: %s", n)
    return Alignment(tuple(sources), tuple(ignored), tuple(notes))


def _by_names(layout: ModalityLayout, names: Sequence[str]) -> list[tuple[str, int]] | None:
    where = {n: (k.key, i) for k in layout.action for i, n in enumerate(k.names)}
    if not where or not all(n in where for n in names):
        return None
    return [where[n] for n in names]


# -- decoding ----------------------------------------------------------------------------------
class ActionDecoder:
    """Turns a backend's action chunk into absolute joint-order targets, (horizon, dof).

    ``reference`` (the spec's joint positions when the observation was taken) is the base of
    relative groups and the value of held joints.
    """

    def __init__(
        self,
        spec: EmbodimentSpec,
        layout: ModalityLayout | None = None,
        action_map: ActionMap | None = None,
        gripper: GripperMap | str | None = None,
    ) -> None:
        self.spec = spec
        self.layout = layout or ModalityLayout.from_spec(spec)
        self.alignment = align(self.layout, spec, action_map)
        self.gripper = GripperMap.parse(gripper)
        if self.gripper is not None and spec.gripper is None:
            raise ActionError(f"'{spec.name}' has no gripper joint to map a gripper range onto")
        self.lower = np.array(spec.lower, np.float32)
        self.upper = np.array(spec.upper, np.float32)
        self._relative = np.zeros(spec.dof, bool)
        for g in spec.action_groups:
            if g.representation is Representation.RELATIVE:
                self._relative[g.slice] = True
        self._held = np.array(self.alignment.held, np.intp)
        # gather plan: per action key, (joint indices, columns)
        plan: dict[str, tuple[list[int], list[int]]] = {}
        for j, s in enumerate(self.alignment.sources):
            if s is not None:
                plan.setdefault(s[0], ([], []))
                plan[s[0]][0].append(j)
                plan[s[0]][1].append(s[1])
        self._plan: list[tuple[str, Any, Any]] = []
        for k, (js, cs) in plan.items():
            # contiguous, in order: plain slices (the common case) are cheaper than gathers
            if js == list(range(js[0], js[0] + len(js))) and cs == list(
                range(cs[0], cs[0] + len(cs))
            ):
                self._plan.append((k, slice(js[0], js[0] + len(js)), slice(cs[0], cs[0] + len(cs))))
            else:
                self._plan.append((k, np.array(js, np.intp), np.array(cs, np.intp)))
        self._dims = {k.key: k.dim for k in self.layout.action}
        mimic = [
            (j.index, spec.joint(j.mimic.source).index, j.mimic.multiplier, j.mimic.offset)
            for j in spec.joints
            if j.mimic is not None
        ]
        self._mimic: tuple[np.ndarray, ...] | None = None
        if mimic:
            cols = list(zip(*mimic))
            self._mimic = (
                np.array(cols[0], np.intp),
                np.array(cols[1], np.intp),
                np.array(cols[2], np.float32),
                np.array(cols[3], np.float32),
            )
        rel = self._relative.copy()
        rel[self._held] = False
        self._rel = np.flatnonzero(rel) if rel.any() else None
        self._grip = None if spec.gripper is None else spec.joint(spec.gripper.joint).index
        self.clamped = 0  #: values clamped to joint limits in the last chunk

    def _array(self, chunk: Mapping[str, Any], key: str) -> np.ndarray:
        name = f"action.{key}"
        if name not in chunk:
            raise ActionError(f"action chunk lacks '{name}' (has {sorted(chunk)})")
        a = np.asarray(chunk[name])
        if a.dtype == object or a.dtype.kind not in "fiu":
            raise ActionError(f"{name}: expected a float array, got dtype {a.dtype}")
        while a.ndim > 2 and a.shape[0] == 1:  # a batch of one
            a = a[0]
        if a.ndim == 1:
            a = a[None]
        dim = self._dims[key]
        if a.ndim != 2 or a.shape[1] != dim or a.shape[0] < 1:
            raise ActionError(f"{name}: shape {a.shape}, expected (horizon, {dim})")
        return a

    def _raise_non_finite(self, arrays: Mapping[str, np.ndarray]) -> None:
        for key, a in arrays.items():
            bad = ~np.isfinite(a)
            if bad.any():
                step, col = np.argwhere(bad)[0]
                raise ActionError(
                    f"action.{key}: non-finite value {a[step, col]} at step {step}, column {col}"
                )
        raise ActionError("non-finite value in the decoded action")  # pragma: no cover

    def decode(self, chunk: Mapping[str, Any], reference: np.ndarray) -> np.ndarray:
        """Absolute, clamped joint targets (horizon, dof) for ``chunk``."""
        unknown = [k for k in chunk if k.startswith("action.") and k[7:] not in self._dims]
        if unknown:
            raise ActionError(
                f"action chunk has keys {unknown} that the layout "
                f"({self.layout.describe_action()}) lacks"
            )
        reference = np.asarray(reference, np.float32)
        if reference.shape != (self.spec.dof,) or not np.isfinite(reference).all():
            raise ActionError(
                f"reference joint positions must be {self.spec.dof} finite values, got "
                f"{reference.shape}"
            )
        arrays = {k: self._array(chunk, k) for k, _, _ in self._plan}
        horizon = min((a.shape[0] for a in arrays.values()), default=1)
        out = np.empty((horizon, self.spec.dof), np.float32)
        out[:] = reference
        for key, joints, cols in self._plan:
            out[:, joints] = arrays[key][:horizon, cols]
        if not np.isfinite(out).all():  # NaN/inf rejects the whole chunk
            self._raise_non_finite(arrays)
        if self._grip is not None and self.gripper is not None and self.spec.gripper is not None:
            g, m = self.spec.gripper, self.gripper
            frac = (out[:, self._grip] - m.closed) / (m.open - m.closed)
            out[:, self._grip] = g.closed + frac * (g.open - g.closed)
        if self._rel is not None:
            out[:, self._rel] += reference[self._rel]
        if self._mimic is not None:
            followers, sources, mult, offset = self._mimic
            out[:, followers] = out[:, sources] * mult + offset
        clipped = np.clip(out, self.lower, self.upper)
        self.clamped = int(np.count_nonzero(clipped != out))
        return clipped


# -- per-setpoint safety -----------------------------------------------------------------------
class SafetyFilter:
    """Finite check, joint limits and the per-tick velocity limit (``velocity_limit * dt``).

    The step bound wins over the limits: a previous setpoint outside the limits (a joint
    found there at start) is brought back at the velocity limit, never in one jump.
    """

    def __init__(self, spec: EmbodimentSpec, dt: float) -> None:
        self.lower = np.array(spec.lower, np.float32)
        self.upper = np.array(spec.upper, np.float32)
        vmax = np.array([j.velocity_limit for j in spec.joints], np.float64)
        #: the largest change per tick, per joint (the controller scales it for late ticks)
        self.max_step = np.where(np.isfinite(vmax), vmax * dt, np.inf).astype(np.float32)
        self.names = spec.joint_names
        self.limited = 0  #: setpoints changed by the filter so far

    def __call__(self, target: np.ndarray, previous: np.ndarray | None) -> np.ndarray:
        target = np.asarray(target)
        if not all_finite(target):
            names = [n for n, ok in zip(self.names, np.isfinite(target)) if not ok]
            raise ActionError(f"non-finite setpoint for joints {names}")
        # minimum(maximum()) is np.clip's result at a fraction of its cost (it runs every
        # tick); a value inside both bounds passes through bit for bit
        out = np.minimum(np.maximum(target, self.lower), self.upper)
        if previous is not None:
            step = self.max_step
            np.maximum(out, previous - step, out=out)
            np.minimum(out, previous + step, out=out)
        # the bytes compare equal exactly when the values do (same dtype; no NaN got this far)
        if (
            out.shape != target.shape
            or out.dtype != target.dtype
            or out.tobytes() != target.tobytes()
        ):
            self.limited += 1
        return out if out.dtype == np.float32 else out.astype(np.float32)


# -- interpolation -----------------------------------------------------------------------------
def zero_order_mask(spec: EmbodimentSpec) -> np.ndarray:
    """Joints whose commands are not positions (``normalized`` units, e.g. Fetch's deltas):
    they are held step by step instead of interpolated."""
    return np.array([j.unit is Unit.NORMALIZED for j in spec.joints], bool)


def interpolate(
    times: np.ndarray,
    values: np.ndarray,
    t: float | np.ndarray,
    zero_order: np.ndarray | None = None,
) -> np.ndarray:
    """Sample a piecewise-linear trajectory (``values[i]`` at ``times[i]``) at ``t``.

    Before the first point and after the last the ends are held. Columns in ``zero_order``
    take the value of the latest point at or before ``t`` instead.
    """
    times = np.asarray(times, np.float64)
    ts = np.atleast_1d(np.asarray(t, np.float64))
    idx = np.clip(np.searchsorted(times, ts, side="right") - 1, 0, len(times) - 1)
    nxt = np.minimum(idx + 1, len(times) - 1)
    span = times[nxt] - times[idx]
    frac = np.where(span > 0, (ts - times[idx]) / np.where(span > 0, span, 1.0), 0.0)
    frac = np.clip(frac, 0.0, 1.0).astype(np.float32)[:, None]
    out = values[idx] * (1 - frac) + values[nxt] * frac
    if zero_order is not None and zero_order.any():
        out[:, zero_order] = values[idx][:, zero_order]
    return out if np.ndim(t) else out[0]


def upsample(
    values: np.ndarray, policy_hz: float, low_level_hz: float, zero_order: np.ndarray | None = None
) -> np.ndarray:
    """Policy-rate steps (horizon, dof) -> low-level setpoints covering the same time span,
    linear between steps (10 Hz x 16 steps -> 250 Hz x 400 setpoints)."""
    h = values.shape[0]
    times = np.arange(h) / policy_hz
    n = round(h * low_level_hz / policy_hz)
    return interpolate(times, values, np.arange(n) / low_level_hz, zero_order)


__all__ = [
    "ActionDecoder",
    "ActionMap",
    "Alignment",
    "GripperMap",
    "SafetyFilter",
    "align",
    "interpolate",
    "upsample",
    "zero_order_mask",
]
