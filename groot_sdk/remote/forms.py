"""The shapes observations and actions take on the wire, and conversions between them.

Isaac-GR00T clients send three forms, and expect the reply in the matching one:

* **flat** (N1.5 ``service.py``, N1.6 ``Gr00tSimPolicyWrapper``): ``video.<cam>``,
  ``state.<key>``, the language key; unbatched (T, ...) or batched (B, T, ...). Reply:
  ``action.<key>`` arrays, (H, D) or (B, H, D).
* **nested** (N1.6 ``Gr00tPolicy``): ``{"video": {cam}, "state": {key}, "language": {key:
  [[str]]}}``, always batched. Reply: ``{key: (B, H, D)}`` without the ``action.`` prefix.

The server normalises every request to flat-batched, splits it for the backend, and answers in
the request's form; the client does the reverse. Before validating, the server passes each
request through :func:`conform`, which takes it the way Isaac-GR00T's own policy would
(float64 states, frames at another resolution, keys the model does not read).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeGuard

import numpy as np
from attrs import frozen

from groot_sdk.errors import ActionError, ObservationError
from groot_sdk.modality.layout import ModalityLayout
from groot_sdk.policy.observation import resize_image
from groot_sdk.spec import EmbodimentSpec, GroupKind, Representation

SECTIONS = ("video", "state", "language")
ACTION_PREFIX = "action."


@frozen
class Form:
    """How an observation arrived: nested or flat, and whether it carried a batch dimension."""

    nested: bool
    batched: bool


def is_nested(obs: Mapping[str, Any]) -> bool:
    # flat keys always have a dot: a bare section name holding a map means nested
    return any(k in SECTIONS and isinstance(v, Mapping) for k, v in obs.items())


def detect_form(obs: Mapping[str, Any], layout: ModalityLayout) -> Form:
    if is_nested(obs):
        return Form(nested=True, batched=True)
    probe = [f"video.{v.name}" for v in layout.video[:1]] + [
        f"state.{k.key}" for k in layout.state[:1]
    ]
    for key in probe:
        value = obs.get(key)
        if isinstance(value, np.ndarray):
            return Form(nested=False, batched=value.ndim == (5 if key.startswith("video.") else 3))
    return Form(nested=False, batched=False)


def conform(
    obs: Mapping[str, Any], layout: ModalityLayout, form: Form, max_bytes: int
) -> tuple[dict[str, Any], list[str]]:
    """Accept what Isaac-GR00T N1.5's ``Gr00tPolicy`` accepts (its transforms cast states to
    float, resize frames and read only their own keys): integer or float64 states become
    float32, uint8 RGB frames are resized to the layout's size, keys the layout lacks are
    dropped. Returns the observation and the dropped keys; anything still wrong (missing keys,
    wrong widths, NaN, other dtypes) is left for validation to refuse."""
    state_keys = {k.key for k in layout.state}
    cams = {v.name: (v.height, v.width) for v in layout.video}
    ignored: list[str] = []

    def fix(section: str, name: str, value: Any) -> Any:
        if not isinstance(value, np.ndarray):
            return value
        if section == "state" and value.dtype != np.float32 and value.dtype.kind in "fiu":
            with np.errstate(over="ignore"):  # an overflow becomes inf: validation names it
                return value.astype(np.float32)
        if section == "state" and not value.flags.writeable:
            return value.copy()  # a view of the message (the server decodes without copies)
        if section == "video":
            return _resized(f"video.{name}", value, *cams[name], max_bytes)
        if section == "language" and value.dtype.kind == "U":  # np.array of strings
            return value.tolist()
        return value

    if form.nested:
        wanted = {"video": set(cams), "state": state_keys, "language": {layout.language_key}}
        out: dict[str, Any] = {}
        for section, part in obs.items():
            if section not in SECTIONS:
                ignored.append(section)
            elif not isinstance(part, Mapping):
                out[section] = part  # validation names it
            else:
                out[section] = {}
                for key, value in part.items():
                    if key in wanted[section]:
                        out[section][key] = fix(section, key, value)
                    else:
                        ignored.append(f"{section}.{key}")
        return out, ignored
    flat: dict[str, Any] = {}
    for key, value in obs.items():
        section, _, name = key.partition(".")
        if key == layout.language_key:
            flat[key] = fix("language", key, value)
        elif (section == "state" and name in state_keys) or (section == "video" and name in cams):
            flat[key] = fix(section, name, value)
        else:
            ignored.append(key)
    return flat, ignored


_F32, _U8 = np.dtype(np.float32), np.dtype(np.uint8)


class ExactFlat:
    """Takes a flat unbatched observation that :func:`conform` would leave as it is and
    validation would accept, in a few lookups per key: a control loop sends such an
    observation every step. Returns what conform returns for it (read-only states copied),
    or None for anything else, which then goes the slow way (conform, then validation, with
    its exact error text). Non-finite states also return None, so validation names them."""

    def __init__(self, layout: ModalityLayout) -> None:
        self.layout = layout
        #: key -> (dtype, trailing shape) of an array, or None for the language key
        self._plan: dict[str, tuple[np.dtype, tuple[int, ...]] | None] = {
            f"video.{v.name}": (_U8, (v.height, v.width, 3)) for v in layout.video
        }
        self._plan.update({f"state.{k.key}": (_F32, (k.dim,)) for k in layout.state})
        self._plan[layout.language_key] = None
        self._states = [f"state.{k.key}" for k in layout.state]

    def __call__(self, obs: Mapping[str, Any]) -> dict[str, Any] | None:
        plan = self._plan
        if type(obs) is not dict or len(obs) != len(plan) or obs.keys() != plan.keys():
            return None
        out: dict[str, Any] = {}
        states = []
        for key, value in obs.items():
            want = plan[key]
            if want is None:  # the language key: one string
                if type(value) is not list or len(value) != 1 or type(value[0]) is not str:
                    return None
            elif (
                type(value) is not np.ndarray
                or value.dtype != want[0]
                or value.ndim != len(want[1]) + 1
                or value.shape[1:] != want[1]
            ):
                return None
            elif want[0] is _F32:
                if not value.flags.writeable:
                    value = value.copy()  # a view of the message, as conform copies it
                states.append(value.reshape(-1))
            out[key] = value
        if states and not np.isfinite(np.concatenate(states)).all():  # one pass for all
            return None
        return out

    def values(self, obs: dict[str, Any]) -> dict[str, Any] | None:
        """What this returns for ``obs`` when an observation with the same keys, types,
        dtypes, shapes and language was taken before: only its states' values are left to
        check (and read-only states to copy). The caller vouches for the sameness (the
        server: both requests matched one :class:`~groot_sdk.remote.codec.Template`)."""
        out = dict(obs)
        states = []
        for key in self._states:
            value = out[key]
            if not value.flags.writeable:
                out[key] = value = value.copy()
            states.append(value.reshape(-1))
        if states and not np.isfinite(np.concatenate(states)).all():
            return None
        return out


def _resized(key: str, value: np.ndarray, height: int, width: int, max_bytes: int) -> np.ndarray:
    if value.dtype != np.uint8 or value.ndim < 3 or value.shape[-1] != 3:
        return value
    h, w = value.shape[-3:-1]
    if (h, w) == (height, width) or not h or not w:
        return value
    frames = value.reshape(-1, h, w, 3)
    if not len(frames):
        return value
    if len(frames) * height * width * 3 > max_bytes:
        raise ObservationError(
            f"{key}: resizing {len(frames)} frames to {height}x{width} exceeds {max_bytes} bytes"
        )
    out = np.stack([resize_image(f, height, width) for f in frames])
    return out.reshape(value.shape[:-3] + (height, width, 3))


def nested_to_flat(obs: Mapping[str, Any]) -> dict[str, Any]:
    """Nested (batched) -> flat batched; language ``[[s], ...]`` -> ``[s, ...]``."""
    flat: dict[str, Any] = {}
    for section in ("video", "state"):
        for key, value in dict(obs.get(section) or {}).items():
            flat[f"{section}.{key}"] = value
    for key, value in dict(obs.get("language") or {}).items():
        flat[key] = [
            item[0] if isinstance(item, (list, tuple)) and item else item for item in value
        ]
    return flat


def flat_to_nested(obs: Mapping[str, Any], layout: ModalityLayout) -> dict[str, Any]:
    """Flat batched -> nested; language ``[s, ...]`` -> ``[[s], ...]``."""
    out: dict[str, dict[str, Any]] = {"video": {}, "state": {}, "language": {}}
    for key, value in obs.items():
        section, dot, name = key.partition(".")
        if dot and section in ("video", "state") and key != layout.language_key:
            out[section][name] = value
        else:
            out["language"][key] = [[s] for s in value]
    return out


def add_batch(obs: Mapping[str, Any]) -> dict[str, Any]:
    """Flat unbatched (T, ...) -> flat batched with B = 1 (language lists stay one string)."""
    return {k: v[None] if isinstance(v, np.ndarray) else list(v) for k, v in obs.items()}


def batch_size(obs: Mapping[str, Any]) -> int:
    for value in obs.values():
        if isinstance(value, np.ndarray):
            return int(value.shape[0])
    for value in obs.values():
        if isinstance(value, (list, tuple)):
            return len(value)
    return 1


def split_batch(obs: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Flat batched -> one flat unbatched observation per batch element."""
    n = batch_size(obs)
    items: list[dict[str, Any]] = [{} for _ in range(n)]
    for key, value in obs.items():
        for i in range(n):
            items[i][key] = value[i] if isinstance(value, np.ndarray) else [value[i]]
    return items


def stack_chunks(chunks: list[Mapping[str, Any]]) -> dict[str, np.ndarray]:
    """Per-element action chunks -> ``{action.<key>: (B, H, D)}``."""
    keys = list(chunks[0])
    out = {}
    for key in keys:
        try:
            out[key] = np.stack([np.asarray(c[key]) for c in chunks])
        except (KeyError, ValueError) as exc:
            raise ActionError(f"backend returned inconsistent '{key}' across the batch: {exc}")
    return out


def action_to_wire(action: Mapping[str, np.ndarray], form: Form) -> dict[str, np.ndarray]:
    """Flat batched ``action.<key>`` -> the form the request came in."""
    if form.nested:
        return {k.removeprefix(ACTION_PREFIX): v for k, v in action.items()}
    if not form.batched:
        return {k: v[0] for k, v in action.items()}
    return dict(action)


def action_from_wire(action: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Any reply form -> ``{action.<key>: (H, D) float32}`` (batch of one dropped)."""
    out: dict[str, np.ndarray] = {}
    for key, value in action.items():
        if not isinstance(value, np.ndarray):
            raise ActionError(f"server sent '{key}' as {type(value).__name__}, expected an array")
        if value.dtype.kind not in "fiub":
            raise ActionError(f"server sent '{key}' of dtype {value.dtype}, expected numbers")
        if value.ndim == 3:
            if value.shape[0] != 1:
                raise ActionError(f"server sent '{key}' with batch {value.shape[0]}, expected 1")
            value = value[0]
        name = key if key.startswith(ACTION_PREFIX) else ACTION_PREFIX + key
        out[name] = value.astype(np.float32, copy=False)
    return out


def is_exact_chunk(
    action: Any, want: Mapping[str, tuple[int, ...]]
) -> TypeGuard[dict[str, np.ndarray]]:
    """Whether ``action`` is already what :func:`action_from_wire` and the client's shape check
    make of it: exactly the ``action.<key>`` keys of ``want``, float32 arrays of those shapes.
    (A dtype that is float32 but not numpy's own instance just takes the slow way.)"""
    if type(action) is not dict or action.keys() != want.keys():
        return False
    for key, value in action.items():
        if type(value) is not np.ndarray or value.dtype is not _F32 or value.shape != want[key]:
            return False
    return True


# -- modality config (N1.6 get_modality_config) --------------------------------------------------
def _config(keys: list[str], delta: list[int], **extra: Any) -> dict[str, Any]:
    return {
        "delta_indices": delta,
        "modality_keys": keys,
        "sin_cos_embedding_keys": None,
        "mean_std_embedding_keys": None,
        "action_configs": extra.get("action_configs"),
    }


def modality_config(layout: ModalityLayout, spec: EmbodimentSpec | None) -> dict[str, Any]:
    """The N1.6 ``{video, state, action, language}`` ModalityConfig maps for ``layout``.

    Field names and enum spellings (``ABSOLUTE``, ``NON_EEF``, ``DEFAULT``) are those
    Isaac-GR00T's ``ModalityConfig(**as_json)`` accepts.
    """
    groups = {g.key: g for g in spec.action_groups} if spec is not None else {}
    action_configs = []
    for k in layout.action:
        group = groups.get(k.key)
        rep = group.representation if group else Representation.ABSOLUTE
        eef = group is not None and group.kind is GroupKind.EEF
        action_configs.append(
            {
                "rep": rep.name,
                "type": "EEF" if eef else "NON_EEF",
                "format": "DEFAULT",
                "state_key": k.key if rep is Representation.RELATIVE else None,
            }
        )
    config = {
        "video": _config([v.name for v in layout.video], [0]),
        "state": _config([k.key for k in layout.state], [0]),
        "action": _config(
            [k.key for k in layout.action],
            list(range(layout.action_horizon)),
            action_configs=action_configs,
        ),
        "language": _config([layout.language_key], [0]),
    }
    # ModalityConfig refuses empty modality_keys: leave out a section the robot lacks
    return {name: c for name, c in config.items() if c["modality_keys"]}


def modality_config_n15(layout: ModalityLayout) -> dict[str, dict[str, Any]]:
    """The N1.5 ``{video, state, action, language}`` ModalityConfig fields for ``layout``:
    Isaac-GR00T N1.5's pydantic model has only ``delta_indices`` and ``modality_keys``, and its
    data configs prefix the keys (``state.eef_position``); all four sections are present."""

    def config(keys: list[str], delta: list[int]) -> dict[str, Any]:
        return {"delta_indices": delta, "modality_keys": keys}

    return {
        "video": config([f"video.{v.name}" for v in layout.video], [0]),
        "state": config([f"state.{k.key}" for k in layout.state], [0]),
        "action": config(
            [f"action.{k.key}" for k in layout.action], list(range(layout.action_horizon))
        ),
        "language": config([layout.language_key], [0]),
    }


def layout_from_modality_config(config: Mapping[str, Any], spec: EmbodimentSpec) -> ModalityLayout:
    """A layout from a server's modality config: keys and horizon from the server, dims from the
    embodiment spec (the config carries no dims). N1.5 prefixes its keys (``state.x``), N1.6
    and N1.7 do not: both read the same. Raises naming keys the robot cannot supply."""
    own = ModalityLayout.from_spec(spec)

    def keys(section: str) -> list[str]:
        if section in ("video", "language") and section not in config:
            return []
        part = config.get(section)
        got = part.get("modality_keys") if isinstance(part, Mapping) else None
        if not isinstance(got, list) or not all(isinstance(k, str) for k in got):
            raise ObservationError(f"server modality config has no '{section}' modality_keys")
        if section == "language":
            return got
        return [k.removeprefix(f"{section}.") for k in got]

    state_dims = {k.key: k for k in own.state}
    action_dims = {k.key: k for k in own.action}
    cams = {v.name: v for v in own.video}
    missing = [f"state.{k}" for k in keys("state") if k not in state_dims]
    missing += [f"action.{k}" for k in keys("action") if k not in action_dims]
    missing += [f"video.{k}" for k in keys("video") if k not in cams]
    if missing:
        raise ObservationError(
            f"the server's model wants {missing}, which embodiment '{spec.name}' does not have "
            f"(it has state {list(state_dims)}, action {list(action_dims)}, video {list(cams)})"
        )
    action_part = config["action"]
    delta = action_part.get("delta_indices") if isinstance(action_part, Mapping) else None
    horizon = len(delta) if isinstance(delta, list) and delta else own.action_horizon
    language = keys("language")
    return ModalityLayout(
        state=tuple(state_dims[k] for k in keys("state")),
        action=tuple(action_dims[k] for k in keys("action")),
        video=tuple(cams[k] for k in keys("video")),
        language_key=language[0] if language else own.language_key,
        action_horizon=horizon,
        embodiment_tag=own.embodiment_tag,
    )


__all__ = [
    "ExactFlat",
    "Form",
    "action_from_wire",
    "action_to_wire",
    "add_batch",
    "detect_form",
    "flat_to_nested",
    "is_exact_chunk",
    "layout_from_modality_config",
    "modality_config",
    "nested_to_flat",
    "split_batch",
    "stack_chunks",
]
