"""Sensor readings -> a GR00T observation dict, and the check every observation passes.

Two dialects, as Isaac-GR00T's policies take them:

* ``"n1.5"`` (flat): ``video.<cam>`` uint8 (T, H, W, 3), ``state.<key>`` float32 (T, D), the
  language key -> ``list[str]``; with ``batched=True`` a leading batch dimension
  (B, T, ...) and one string per batch element.
* ``"n1.6"`` (nested): ``{"video": {cam: (B, T, H, W, 3)}, "state": {key: (B, T, D)},
  "language": {language_key: [[str]]}}``. N1.6's ``Gr00tPolicy`` always takes a batch
  dimension, so this dialect is always batched.

Besides the spec's state groups a backend's layout may ask for derived state keys
(:data:`DERIVED_STATE_KEYS`), which the deployer computes from joints, IMU and command.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from groot_sdk.errors import ObservationError
from groot_sdk.finite import all_finite
from groot_sdk.hardware.readings import Frame, ImuReading, JointState
from groot_sdk.modality.layout import ModalityLayout
from groot_sdk.spec import ColorOrder, EmbodimentSpec

DIALECTS = ("n1.5", "n1.6")

#: state keys a backend may request that are not part of the spec's state vector
DERIVED_STATE_KEYS = ("joint_velocity", "base_gyro", "projected_gravity", "velocity_command")


def _layout(spec_or_layout: EmbodimentSpec | ModalityLayout) -> ModalityLayout:
    if isinstance(spec_or_layout, ModalityLayout):
        return spec_or_layout
    return ModalityLayout.from_spec(spec_or_layout)


def _check_dialect(dialect: str) -> None:
    if dialect not in DIALECTS:
        raise ObservationError(f"unknown observation dialect '{dialect}'; use one of {DIALECTS}")


# -- derived state ----------------------------------------------------------------------------
def projected_gravity(quaternion_wxyz: Sequence[float] | np.ndarray) -> np.ndarray:
    """Gravity direction ``[0, 0, -1]`` expressed in the body frame (``R(q)^T g``)."""
    w, x, y, z = (float(v) for v in quaternion_wxyz)
    n = math.sqrt(w * w + x * x + y * y + z * z)
    if not n > 0:
        raise ObservationError(f"IMU quaternion {list(quaternion_wxyz)} has zero norm")
    w, x, y, z = w / n, x / n, y / n, z / n
    # third row of R(q), negated: R^T @ [0, 0, -1] = -(R[2, :])
    return np.array(
        [-2 * (x * z - w * y), -2 * (y * z + w * x), -(1 - 2 * (x * x + y * y))], np.float32
    )


def derived_state(
    keys: Sequence[str],
    joints: JointState | None = None,
    imu: ImuReading | None = None,
    command: Sequence[float] | None = None,
) -> dict[str, np.ndarray]:
    """Values for the :data:`DERIVED_STATE_KEYS` among ``keys`` (others are ignored)."""
    out: dict[str, np.ndarray] = {}
    for key in keys:
        if key == "joint_velocity":
            if joints is None or joints.velocity is None:
                raise ObservationError("state.joint_velocity requested but no joint velocity read")
            out[key] = np.asarray(joints.velocity, np.float32)
        elif key in ("base_gyro", "projected_gravity"):
            if imu is None:
                raise ObservationError(f"state.{key} requested but the embodiment has no IMU")
            if key == "base_gyro":
                out[key] = np.asarray(imu.gyro, np.float32)
            else:
                out[key] = projected_gravity(imu.quaternion)
        elif key == "velocity_command":
            cmd = np.zeros(3, np.float32) if command is None else np.asarray(command, np.float32)
            if cmd.shape != (3,):
                raise ObservationError(
                    f"state.velocity_command must be 3 values (vx, vy, wz), got shape {cmd.shape}"
                )
            out[key] = cmd
    return out


# -- images ----------------------------------------------------------------------------------
@functools.lru_cache(maxsize=32)
def _bilinear_plan(src_h: int, src_w: int, dst_h: int, dst_w: int):
    def axis(src: int, dst: int):
        pos = (np.arange(dst, dtype=np.float64) + 0.5) * (src / dst) - 0.5
        pos = np.clip(pos, 0, src - 1)
        lo = np.floor(pos).astype(np.intp)
        hi = np.minimum(lo + 1, src - 1)
        return lo, hi, (pos - lo).astype(np.float32)

    return axis(src_h, dst_h), axis(src_w, dst_w)


def _area_factor(src: int, dst: int) -> int:
    return src // dst if src % dst == 0 else 0


def resize_image(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Resize uint8 (H, W, C) to (height, width, C): box average for integer downscales,
    bilinear otherwise. Plain numpy, so the core needs neither OpenCV nor Pillow."""
    h, w = image.shape[:2]
    if (h, w) == (height, width):
        return image
    fy, fx = _area_factor(h, height), _area_factor(w, width)
    if fy and fx:
        c = image.shape[2]
        boxes = image.reshape(height, fy, width, fx, c).astype(np.uint32).sum(axis=(1, 3))
        return ((boxes + (fy * fx) // 2) // (fy * fx)).astype(np.uint8)
    (y0, y1, wy), (x0, x1, wx) = _bilinear_plan(h, w, height, width)
    # gather the four neighbours on uint8 (cheap), blend in float32 at the output size, on
    # (height, width * channels) views so the weights broadcast along contiguous rows
    c_ = image.shape[2]
    r0, r1 = np.take(image, y0, axis=0), np.take(image, y1, axis=0)

    def corner(rows: np.ndarray, xs: np.ndarray) -> np.ndarray:
        return np.take(rows, xs, axis=1).astype(np.float32).reshape(height, width * c_)

    a, b, c, d = corner(r0, x0), corner(r0, x1), corner(r1, x0), corner(r1, x1)
    wxb = np.repeat(wx, c_)[None, :]
    b -= a
    b *= wxb
    a += b  # top row blend
    d -= c
    d *= wxb
    c += d  # bottom row blend
    c -= a
    c *= wy[:, None]
    a += c
    a += 0.5
    return a.astype(np.uint8).reshape(height, width, c_)


def prepare_frame(frame: Frame | np.ndarray, height: int, width: int, camera: str) -> np.ndarray:
    """A camera frame as the model wants it: uint8 RGB (height, width, 3)."""
    if isinstance(frame, Frame):
        image, order = frame.image, frame.color_order
    else:
        image, order = frame, ColorOrder.RGB
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] not in (3, 4):
        raise ObservationError(
            f"camera '{camera}': expected a uint8 (H, W, 3) image, got {image.dtype} {image.shape}"
        )
    if image.shape[2] == 4:
        image = image[..., :3]
    if ColorOrder(order) is ColorOrder.BGR:
        image = image[..., ::-1]
    return np.ascontiguousarray(resize_image(image, height, width))


# -- assembly --------------------------------------------------------------------------------
class ObservationAssembler:
    """Builds observations (T = 1) for one spec/layout/dialect; the plan is made once, so a
    control loop pays only for copying arrays (see benchmarks/bench_runtime.py).

    Pass a spec and a backend ``layout`` when the layout is not the spec's own; the spec's
    state vector is then split by the spec's state groups.
    """

    def __init__(
        self,
        spec_or_layout: EmbodimentSpec | ModalityLayout,
        dialect: str = "n1.5",
        batched: bool = False,
        layout: ModalityLayout | None = None,
    ) -> None:
        _check_dialect(dialect)
        self.spec = spec_or_layout if isinstance(spec_or_layout, EmbodimentSpec) else None
        self.layout = layout or _layout(spec_or_layout)
        self.nested = dialect == "n1.6"
        self.batched = batched or self.nested
        self._video = [(v.name, v.height, v.width) for v in self.layout.video]
        self._state = [(k.key, k.dim, k.names) for k in self.layout.state]
        self._spec_groups: list[tuple[str, int, int]] | None = None
        if self.spec is not None:
            self._spec_groups = [(g.key, g.start, g.end) for g in self.spec.observed_state_groups]
            self._spec_dim = self.spec.state_dim
        self._lead = (1, 1) if self.batched else (1,)

    def _groups(self, extra: Mapping[str, Any]) -> tuple[list[tuple[str, int, int]], int]:
        if self._spec_groups is not None:
            return self._spec_groups, self._spec_dim
        groups, cursor = [], 0
        for key, dim, _ in self._state:
            if key not in extra:
                groups.append((key, cursor, cursor + dim))
                cursor += dim
        return groups, cursor

    def _parts(
        self, state: np.ndarray | Mapping[str, Any], extra: Mapping[str, Any]
    ) -> dict[str, np.ndarray]:
        if isinstance(state, Mapping):
            parts = {k: np.array(v, np.float32).reshape(-1) for k, v in state.items()}
        else:
            vec = np.array(state, np.float32).reshape(-1)  # a copy: the caller may reuse it
            groups, expected = self._groups(extra)
            if vec.shape[0] != expected:
                raise ObservationError(
                    f"state vector has {vec.shape[0]} values, expected {expected} "
                    f"({', '.join(f'{k} {e - s}' for k, s, e in groups)})"
                )
            parts = {key: vec[start:end] for key, start, end in groups}
        for key, value in extra.items():
            parts[key] = np.array(value, np.float32).reshape(-1)
        return parts

    def __call__(
        self,
        state: np.ndarray | Mapping[str, Any],
        frames: Mapping[str, Frame | np.ndarray] | None,
        task: str,
        extra: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        parts = self._parts(state, extra or {})
        frames = frames or {}
        lead = self._lead
        video: dict[str, np.ndarray] = {}
        for name, h, w in self._video:
            frame = frames.get(name)
            if frame is None:
                raise ObservationError(
                    f"video.{name}: no frame from camera '{name}' (cameras read: {sorted(frames)})"
                )
            img = prepare_frame(frame, h, w, name)
            video[name] = img.reshape(lead + img.shape)
        states: dict[str, np.ndarray] = {}
        for key, dim, names in self._state:
            value = parts.get(key)
            if value is None:
                raise ObservationError(
                    f"state.{key}: no value (have {sorted(parts)}); the layout wants {dim} dims"
                )
            if value.shape[0] != dim:
                raise ObservationError(
                    f"state.{key}: {value.shape[0]} values, the layout expects {dim}"
                    + (f" {list(names)}" if names else "")
                )
            states[key] = value.reshape(lead + (dim,))
        text = str(task)
        if self.nested:
            return {
                "video": video,
                "state": states,
                "language": {self.layout.language_key: [[text]]},
            }
        obs: dict[str, Any] = {f"video.{k}": v for k, v in video.items()}
        obs.update({f"state.{k}": v for k, v in states.items()})
        obs[self.layout.language_key] = [text]
        return obs


def assemble_observation(
    spec_or_layout: EmbodimentSpec | ModalityLayout,
    state: np.ndarray | Mapping[str, Any],
    frames: Mapping[str, Frame | np.ndarray] | None,
    task: str,
    dialect: str = "n1.5",
    batched: bool = False,
    extra: Mapping[str, Any] | None = None,
    layout: ModalityLayout | None = None,
) -> dict[str, Any]:
    """Build one observation (T = 1) for a policy (a one-off :class:`ObservationAssembler`).

    ``state``: the spec's state vector (``spec.state_names`` order) or ``{key: values}``;
    ``frames``: camera name -> :class:`Frame` or uint8 image (resized, BGR converted);
    ``extra``: values for additional state keys (e.g. :func:`derived_state`).
    Pass a spec and a backend ``layout`` when the layout is not the spec's own.
    """
    return ObservationAssembler(spec_or_layout, dialect, batched, layout)(
        state, frames, task, extra
    )


# -- validation ------------------------------------------------------------------------------
def _check_array(
    name: str, value: Any, dtype: type, shape: tuple[int | None, ...], what: str
) -> None:
    if not isinstance(value, np.ndarray):
        raise ObservationError(f"{name}: expected a numpy array {what}, got {type(value).__name__}")
    if value.dtype != dtype:  # one comparison when it is right (every observation of a loop)
        if value.dtype == object:
            raise ObservationError(f"{name}: object array; expected {np.dtype(dtype).name} {what}")
        raise ObservationError(
            f"{name}: dtype {value.dtype}, expected {np.dtype(dtype).name} {what}"
        )
    got = value.shape
    ok = len(got) == len(shape)
    if ok:
        for g, want in zip(got, shape):
            if want is not None and g != want:
                ok = False
                break
    if not ok:
        raise ObservationError(f"{name}: shape {value.shape}, expected {what}")
    if value.dtype.kind == "f" and not all_finite(value.reshape(-1)):
        bad = np.argwhere(~np.isfinite(value))[0].tolist()
        raise ObservationError(f"{name}: non-finite value (NaN/inf) at index {bad}")


def _check_language(name: str, value: Any, batched: bool, nested: bool) -> None:
    want = "[[str]]" if nested else ("list of str (one per batch element)" if batched else "[str]")
    if not isinstance(value, (list, tuple)) or not value:
        raise ObservationError(f"{name}: expected {want}, got {type(value).__name__}")
    items = value
    if nested:
        if not all(isinstance(v, (list, tuple)) and v for v in value):
            raise ObservationError(f"{name}: expected {want}, got {value!r:.80}")
        items = [s for v in value for s in v]
    elif not batched and len(value) != 1:
        raise ObservationError(f"{name}: expected {want} with one string, got {len(value)}")
    if not all(isinstance(s, str) for s in items):
        raise ObservationError(f"{name}: expected {want}, got {value!r:.80}")


class ObservationValidator:
    """:func:`validate_observation` for one layout, dialect and batching, with the expected
    keys, shapes and messages worked out once: a control loop validates every observation
    it builds, and per call only the checks themselves are left."""

    def __init__(
        self,
        layout: EmbodimentSpec | ModalityLayout,
        dialect: str = "n1.5",
        batched: bool | None = None,
    ) -> None:
        _check_dialect(dialect)
        self.layout = layout = _layout(layout)
        self.nested = dialect == "n1.6"
        self.batched = batched
        self._expected = (
            [f"video.{v.name}" for v in layout.video]
            + [f"state.{k.key}" for k in layout.state]
            + [layout.language_key]
        )
        self._keys = set(self._expected)
        self._first_state = self._expected[len(layout.video)] if layout.state else None
        # (key, dim, what when batched, what when not)
        self._state = [
            (f"state.{k.key}", k.dim, f"float32 (B, T, {k.dim})", f"float32 (T, {k.dim})")
            for k in layout.state
        ]
        self._video = [
            (
                f"video.{v.name}",
                v.height,
                v.width,
                f"uint8 (B, T, {v.height}, {v.width}, 3)",
                f"uint8 (T, {v.height}, {v.width}, 3)",
            )
            for v in layout.video
        ]

    def __call__(self, observation: Mapping[str, Any]) -> None:
        """Raise :class:`ObservationError` naming the first wrong key, dtype, shape or value."""
        if not isinstance(observation, Mapping):
            raise ObservationError(f"observation must be a dict, got {type(observation).__name__}")
        if self.nested:
            _validate_nested(observation, self.layout)
            return
        if observation.keys() != self._keys:
            expected = self._expected
            missing = [k for k in expected if k not in observation]
            if missing:
                raise ObservationError(
                    f"observation is missing {missing}; expected keys {expected}"
                )
            extra = [k for k in observation if k not in self._keys]
            raise ObservationError(f"observation has unexpected keys {extra}; expected {expected}")
        batched = self.batched
        if batched is None:
            first = observation[self._first_state] if self._first_state is not None else None
            batched = isinstance(first, np.ndarray) and first.ndim == 3
        b: int | None = None
        for name, dim, what_b, what in self._state:
            value = observation[name]
            if batched and isinstance(value, np.ndarray) and value.ndim == 3:
                b = value.shape[0] if b is None else b
            if batched:
                _check_array(name, value, np.float32, (b, None, dim), what_b)
            else:
                _check_array(name, value, np.float32, (None, dim), what)
        for name, h, w, what_b, what in self._video:
            if batched:
                _check_array(name, observation[name], np.uint8, (b, None, h, w, 3), what_b)
            else:
                _check_array(name, observation[name], np.uint8, (None, h, w, 3), what)
        _check_language(
            self.layout.language_key, observation[self.layout.language_key], batched, False
        )


def validate_observation(
    observation: Mapping[str, Any],
    layout: EmbodimentSpec | ModalityLayout,
    dialect: str = "n1.5",
    batched: bool | None = None,
) -> None:
    """Raise :class:`ObservationError` naming the first wrong key, dtype, shape or value.

    ``batched=None`` infers the batch dimension from the first state array (N1.5); N1.6
    observations are always batched. A loop that validates many observations of one layout
    keeps an :class:`ObservationValidator` instead.
    """
    ObservationValidator(layout, dialect, batched)(observation)


def _validate_nested(observation: Mapping[str, Any], layout: ModalityLayout) -> None:
    sections = {"video", "state", "language"}
    extra = [k for k in observation if k not in sections]
    if extra:
        raise ObservationError(
            f"N1.6 observation has unexpected keys {extra}; expected {sorted(sections)}"
        )
    want = {
        "video": [v.name for v in layout.video],
        "state": [k.key for k in layout.state],
        "language": [layout.language_key],
    }
    for section, keys in want.items():
        part = observation.get(section, {})
        if not isinstance(part, Mapping):
            raise ObservationError(f"{section}: expected a dict, got {type(part).__name__}")
        missing = [k for k in keys if k not in part]
        if missing:
            raise ObservationError(f"{section}: missing {missing}; expected {keys}")
        unknown = [k for k in part if k not in keys]
        if unknown:
            raise ObservationError(f"{section}: unexpected keys {unknown}; expected {keys}")
    b: int | None = None
    for k in layout.state:
        value = observation["state"][k.key]
        if b is None and isinstance(value, np.ndarray) and value.ndim == 3:
            b = value.shape[0]
        _check_array(
            f"state.{k.key}", value, np.float32, (b, None, k.dim), f"float32 (B, T, {k.dim})"
        )
    for v in layout.video:
        _check_array(
            f"video.{v.name}",
            observation["video"][v.name],
            np.uint8,
            (b, None, v.height, v.width, 3),
            f"uint8 (B, T, {v.height}, {v.width}, 3)",
        )
    _check_language(
        f"language.{layout.language_key}",
        observation["language"][layout.language_key],
        True,
        True,
    )


__all__ = [
    "DERIVED_STATE_KEYS",
    "DIALECTS",
    "ObservationAssembler",
    "ObservationValidator",
    "assemble_observation",
    "derived_state",
    "prepare_frame",
    "projected_gravity",
    "resize_image",
    "validate_observation",
]
