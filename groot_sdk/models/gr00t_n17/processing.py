"""GR00T N1.7 pre/post-processing: N1.5-style flat observations <-> model tensors.

What LeRobot 0.6.1's N1.7 processor (``GrootN17PackInputsStep``, ``GrootN17VLMEncodeStep``,
``GrootN17ActionDecodeStep``) and the Qwen3-VL processor do, in order:

* video: per camera the last ``len(video.delta_indices)`` frames (left-padded by repeating the
  first), each frame resized to ``image_target_size`` (bicubic, antialiased, back to uint8),
  centre-cropped to ``image_crop_size / image_target_size`` of it (crop rounded, offset
  floored) and resized back, then Qwen3-VL's image processing: rescale 1/255, normalise with
  mean/std 0.5, duplicated over the temporal patch and cut into merge-grouped patches
  (256 px, patch 16, merge 2 -> 256 patches -> 64 tokens); images ordered (frame, view);
* language: lower-cased, punctuation dropped (``formalize_language``), a user turn of the chat
  template (the tokenizer's if shipped, else Qwen3-VL's) with one
  ``<|vision_start|><|image_pad|><|vision_end|>`` per image before the text, each
  ``<|image_pad|>`` repeated once per image token; tokenised, padded on the left;
* M-RoPE positions as ``Qwen3VLModel.get_rope_index`` computes them (pads get 0);
* state: groups in ``processor_config.json`` order, ``2 (x - min) / (max - min) - 1`` with
  q01/q99 when ``use_percentiles`` (0 where max = min), clipped to [-1, 1]
  (``clip_outliers``), zero-padded to ``max_state_dim``;
* action: the model's (B, 40, 132) -> the first ``len(action.delta_indices)`` steps, per group
  clipped to [-1, 1] and unnormalised; ``rep: relative`` groups (``use_relative_action``) with
  the ``relative_action`` min/max (per step where given) and then made absolute with the
  current raw state (``non_eef``: added; ``eef`` xyz+rot6d: composed as poses).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from attrs import field, frozen

from groot_sdk.errors import ModalityError, ObservationError
from groot_sdk.modality.layout import KeyDim, ModalityLayout, VideoKey
from groot_sdk.models.gr00t_n15.processing import Tokenizer, load_chat_template
from groot_sdk.spec import LANGUAGE_KEY

log = logging.getLogger(__name__)

DEFAULT_INSTRUCTION = "Perform the task."
IMAGE_PAD = "<|image_pad|>"
#: Qwen3-VL's chat template, reduced to what GR00T renders (one user turn, no system prompt)
QWEN3_VL_CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}{% else %}"
    "{% for content in message['content'] %}"
    "{% if content['type'] == 'image' %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif 'text' in content %}{{ content['text'] }}{% endif %}{% endfor %}{% endif %}"
    "<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def _unprefix(key: str, modality: str) -> str:
    return key[len(modality) + 1 :] if key.startswith(modality + ".") else key


def _enum(value: Any) -> str:
    """``"RELATIVE"``, ``"ActionRepresentation.RELATIVE"``, ``"relative"`` -> ``"relative"``."""
    text = str(value.get("value", "")) if isinstance(value, dict) else str(value or "")
    text = text.rsplit(".", 1)[-1].lower()
    return {"xyz_rot6d": "xyz+rot6d", "xyz_rotvec": "xyz+rotvec"}.get(text, text)


@frozen
class ActionGroup:
    key: str
    dim: int
    relative: bool = False
    kind: str = "non_eef"  #: "non_eef" or "eef"
    format: str = "default"
    state_key: str | None = None


@frozen
class N17Metadata:
    """One embodiment's entry of ``processor_config.json`` + ``statistics.json``."""

    tag: str
    state: tuple[KeyDim, ...]
    actions: tuple[ActionGroup, ...]
    video: tuple[str, ...]
    language_key: str
    video_frames: int
    valid_horizon: int
    statistics: dict[str, dict[str, dict[str, np.ndarray]]] = field(eq=False)
    use_percentiles: bool = True
    use_relative_action: bool = False
    clip_outliers: bool = True
    formalize_language: bool = True
    #: image transform overrides of processor_config.json (None: the model config's)
    crop_size: tuple[int, int] | None = None
    target_size: tuple[int, int] | None = None
    shortest_edge: int | None = None
    crop_fraction: float | None = None
    letterbox: bool = False

    @property
    def action(self) -> tuple[KeyDim, ...]:
        return tuple(KeyDim(g.key, g.dim) for g in self.actions)

    def stats(self, modality: str, key: str) -> dict[str, np.ndarray]:
        try:
            return self.statistics[modality][key]
        except KeyError:
            raise ModalityError(
                f"statistics.json for embodiment '{self.tag}' has no {modality}.{key}"
            ) from None


def _read(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ModalityError(f"checkpoint has no {path.name} (GR00T N1.7 needs it)")
    data = json.loads(path.read_text())
    if not isinstance(data, dict):
        raise ModalityError(f"{path.name} is not a JSON object")
    return data


def processor_kwargs(directory: Path) -> dict[str, Any]:
    data = _read(directory / "processor_config.json")
    kwargs = data.get("processor_kwargs", data)
    return kwargs if isinstance(kwargs, dict) else {}


def embodiment_tags(directory: Path) -> list[str]:
    """The tags ``processor_config.json`` has modality configs for."""
    return sorted(processor_kwargs(directory).get("modality_configs", {}))


def _dim(stats: Mapping[str, Any], where: str) -> int:
    for name in ("min", "max", "mean", "q01", "q99", "std"):
        if name in stats:
            return int(np.asarray(stats[name]).shape[-1])
    raise ModalityError(f"statistics.json: {where} has no min/max/mean/q01/q99/std")


def read_metadata(directory: Path, tag: str) -> N17Metadata:
    """Parse the checkpoint's processor config and statistics for ``tag``; errors name what
    is missing (the tag, a group, a statistic)."""
    kwargs = processor_kwargs(directory)
    configs = kwargs.get("modality_configs", {})
    if tag not in configs:
        raise ModalityError(
            f"processor_config.json has no embodiment '{tag}' (it has: {', '.join(sorted(configs))})"
        )
    cfg = configs[tag]
    all_stats = _read(directory / "statistics.json")
    if tag not in all_stats:
        raise ModalityError(
            f"statistics.json has no embodiment '{tag}' (it has: {', '.join(sorted(all_stats))})"
        )
    raw = all_stats[tag]
    statistics = {
        modality: {
            key: {name: np.asarray(v, np.float32) for name, v in values.items()}
            for key, values in (raw.get(modality) or {}).items()
        }
        for modality in ("state", "action", "relative_action")
    }

    def keys(modality: str) -> list[str]:
        return [_unprefix(k, modality) for k in (cfg.get(modality) or {}).get("modality_keys", [])]

    state = []
    for key in keys("state"):
        if key not in statistics["state"]:
            raise ModalityError(f"statistics.json: '{tag}' has no statistics for state.{key}")
        state.append(KeyDim(key, _dim(statistics["state"][key], f"{tag} state.{key}")))
    action_cfg = cfg.get("action") or {}
    configs_list = action_cfg.get("action_configs") or []
    use_relative = bool(kwargs.get("use_relative_action", False))
    groups = []
    for idx, key in enumerate(keys("action")):
        if key not in statistics["action"]:
            raise ModalityError(f"statistics.json: '{tag}' has no statistics for action.{key}")
        ac = configs_list[idx] if idx < len(configs_list) and configs_list[idx] else {}
        relative = use_relative and _enum(ac.get("rep")) == "relative"
        group = ActionGroup(
            key,
            _dim(statistics["action"][key], f"{tag} action.{key}"),
            relative,
            _enum(ac.get("type")) or "non_eef",
            _enum(ac.get("format")) or "default",
            _unprefix(ac["state_key"], "state") if ac.get("state_key") else None,
        )
        if relative:
            if key not in statistics["relative_action"]:
                raise ModalityError(
                    f"statistics.json: '{tag}' action.{key} is relative but has no relative_action statistics"
                )
            ref = group.state_key or key
            if ref not in [s.key for s in state]:
                raise ModalityError(
                    f"relative action.{key} needs state.{ref}, which '{tag}' does not have"
                )
            if group.kind == "eef" and group.format != "xyz+rot6d":
                raise ModalityError(
                    f"relative eef action.{key} in format {group.format} is not supported"
                )
        groups.append(group)
    language = (cfg.get("language") or {}).get("modality_keys") or [LANGUAGE_KEY]
    video_frames = len((cfg.get("video") or {}).get("delta_indices") or [0])
    horizon = len(action_cfg.get("delta_indices") or []) or 0
    return N17Metadata(
        tag,
        tuple(state),
        tuple(groups),
        tuple(keys("video")),
        str(language[0]),
        max(1, video_frames),
        horizon,
        statistics,
        use_percentiles=bool(kwargs.get("use_percentiles", False)),
        use_relative_action=use_relative,
        clip_outliers=bool(kwargs.get("clip_outliers", True)),
        formalize_language=bool(kwargs.get("formalize_language", True)),
        crop_size=_pair(kwargs.get("image_crop_size")),
        target_size=_pair(kwargs.get("image_target_size")),
        shortest_edge=int(kwargs["shortest_image_edge"])
        if kwargs.get("shortest_image_edge")
        else None,
        crop_fraction=float(kwargs["crop_fraction"]) if kwargs.get("crop_fraction") else None,
        letterbox=bool(kwargs.get("letter_box_transform", False)),
    )


def _pair(value: Any) -> tuple[int, int] | None:
    if isinstance(value, (list, tuple)) and len(value) == 2:
        return int(value[0]), int(value[1])
    return None


def embodiment_mapping(directory: Path) -> dict[str, int] | None:
    """``embodiment_id.json`` (tag -> projector slot), if the checkpoint has one."""
    file = directory / "embodiment_id.json"
    if not file.is_file():
        return None
    data = json.loads(file.read_text())
    return {str(k): int(v) for k, v in data.items()} if isinstance(data, dict) else None


# -- normalisation -----------------------------------------------------------------------------
def normalize(x: np.ndarray, lo: np.ndarray, hi: np.ndarray, clip: bool = True) -> np.ndarray:
    """``2 (x - lo) / (hi - lo) - 1``, 0 where hi = lo, clipped to [-1, 1] when ``clip``."""
    x = np.asarray(x, np.float32)
    span = hi - lo
    ok = span != 0
    out = np.where(ok, 2.0 * (x - lo) / np.where(ok, span, 1.0) - 1.0, 0.0)
    return (np.clip(out, -1.0, 1.0) if clip else out).astype(np.float32)


def unnormalize(x: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """The inverse, after clipping the model output to [-1, 1] (as the reference does)."""
    return ((np.clip(x, -1.0, 1.0) + 1.0) * 0.5 * (hi - lo) + lo).astype(np.float32)


def _rot6d_to_matrix(rot6d: np.ndarray) -> np.ndarray:
    a, b = rot6d[..., :3], rot6d[..., 3:6]
    r1 = a / np.linalg.norm(a, axis=-1, keepdims=True)
    r2 = b - np.sum(r1 * b, axis=-1, keepdims=True) * r1
    r2 = r2 / np.linalg.norm(r2, axis=-1, keepdims=True)
    return np.stack([r1, r2, np.cross(r1, r2)], axis=-2)


def relative_eef_to_absolute(action: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """(T, 9) xyz+rot6d deltas in the reference pose's frame -> absolute poses (T, 9)."""
    action = np.asarray(action, np.float64)
    reference = np.asarray(reference, np.float64)
    r_ref = _rot6d_to_matrix(reference[3:9])
    r_rel = _rot6d_to_matrix(action[:, 3:9])
    rot = r_ref[None] @ r_rel
    pos = reference[:3][None] + action[:, :3] @ r_ref.T
    return np.concatenate([pos, rot[:, :2, :].reshape(-1, 6)], axis=-1).astype(np.float32)


# -- video -------------------------------------------------------------------------------------
def _resize(t: Any, size: tuple[int, int]) -> Any:
    """torchvision's uint8 bicubic antialiased resize: float maths, rounded and clamped."""
    import torch
    import torch.nn.functional as F

    if tuple(t.shape[-2:]) == tuple(size):
        return t
    out = F.interpolate(t.float(), size=size, mode="bicubic", antialias=True, align_corners=False)
    return out.round_().clamp_(0, 255).to(torch.uint8)


def transform_frames(
    frames: np.ndarray,
    target: tuple[int, int],
    crop: tuple[int, int] | None,
    shortest_edge: int | None = None,
    crop_fraction: float | None = None,
    letterbox: bool = False,
) -> np.ndarray:
    """(N, H, W, 3) uint8 -> (N, 3, th, tw) uint8, N1.7's eval transform: optionally pad to a
    square (``letter_box_transform``), resize to ``shortest_edge`` (default th) square, centre
    crop ``crop_fraction`` (default crop / th; size rounded, offset floored), resize to target."""
    import torch

    t = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2)
    th, tw = target
    if letterbox and t.shape[-2] != t.shape[-1]:
        h, w = t.shape[-2:]
        edge = max(h, w)
        left, top = (edge - w) // 2, (edge - h) // 2
        t = torch.nn.functional.pad(t, (left, edge - w - left, top, edge - h - top))
    edge = shortest_edge or th
    t = _resize(t, (edge, edge))
    fraction = crop_fraction
    if fraction is None and crop is not None:
        fraction = crop[0] / float(th)
    if fraction is not None and 0.0 < fraction < 1.0:
        ch = max(1, round(t.shape[-2] * fraction))
        cw = max(1, round(t.shape[-1] * fraction))
        top, left = max(0, (t.shape[-2] - ch) // 2), max(0, (t.shape[-1] - cw) // 2)
        t = t[..., top : top + ch, left : left + cw]
    return _resize(t, (th, tw)).numpy()


def patchify(
    images: np.ndarray,
    patch: int,
    merge: int,
    temporal: int,
    mean: Sequence[float] = (0.5, 0.5, 0.5),
    std: Sequence[float] = (0.5, 0.5, 0.5),
) -> np.ndarray:
    """(N, 3, H, W) uint8 -> (N, H*W/patch^2, 3*temporal*patch^2) float32, Qwen2-VL's order
    (each still image repeated over the temporal patch, patches grouped by merge window)."""
    x = images.astype(np.float32) / 255.0
    x = (x - np.asarray(mean, np.float32)[:, None, None]) / np.asarray(std, np.float32)[
        :, None, None
    ]
    n, c, h, w = x.shape
    gh, gw = h // patch, w // patch
    x = np.repeat(x[:, None], temporal, axis=1)  # (N, T, C, H, W)
    x = x.reshape(n, temporal, c, gh // merge, merge, patch, gw // merge, merge, patch)
    x = x.transpose(0, 3, 6, 4, 7, 2, 1, 5, 8)
    return np.ascontiguousarray(x.reshape(n, gh * gw, c * temporal * patch * patch))


def mrope_positions(
    input_ids: np.ndarray,
    attention_mask: np.ndarray,
    image_token_id: int,
    llm_grid: tuple[int, int],
) -> np.ndarray:
    """(3, B, L) M-RoPE ids as ``Qwen3VLModel.get_rope_index`` gives them for still images:
    text runs count up on all three rows, an image run of (gh, gw) merged tokens gets
    (start, start + row, start + col), then the count resumes at start + max(gh, gw).
    Padded positions are 0."""
    gh, gw = llm_grid
    per_image = gh * gw
    b, length = input_ids.shape
    out = np.zeros((3, b, length), np.int64)
    rows = np.repeat(np.arange(gh), gw)
    cols = np.tile(np.arange(gw), gh)
    for i in range(b):
        valid = np.flatnonzero(attention_mask[i])
        ids = input_ids[i, valid]
        pos = np.zeros((3, len(ids)), np.int64)
        j, current = 0, 0
        while j < len(ids):
            if ids[j] == image_token_id:
                run = j
                while run < len(ids) and ids[run] == image_token_id:
                    run += 1
                if (run - j) % per_image:
                    raise ObservationError(
                        f"prompt has {run - j} consecutive image tokens, not a multiple of {per_image}"
                    )
                for k in range(j, run, per_image):
                    pos[0, k : k + per_image] = current
                    pos[1, k : k + per_image] = current + rows
                    pos[2, k : k + per_image] = current + cols
                    current += max(gh, gw)
                j = run
            else:
                pos[:, j] = current
                current += 1
                j += 1
        out[:, i, valid] = pos
    return out


def formalize(text: str) -> str:
    """Lower case, only letters/digits/whitespace/underscore kept (the reference's rule)."""
    text = text.lower()
    return "".join(ch for ch in text if ch.isalnum() or ch.isspace() or ch == "_")


class PromptBuilder:
    """One user turn of the chat template with an image placeholder per image, expanded."""

    def __init__(self, tokens_per_image: int, template: str | None = None) -> None:
        from jinja2.sandbox import ImmutableSandboxedEnvironment

        env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
        self._template = env.from_string(template or QWEN3_VL_CHAT_TEMPLATE)
        self.tokens_per_image = tokens_per_image

    def __call__(self, language: str, n_images: int) -> str:
        content: list[dict[str, Any]] = [{"type": "image"} for _ in range(n_images)]
        content.append({"type": "text", "text": language})
        text = self._template.render(
            messages=[{"role": "user", "content": content}], add_generation_prompt=False
        )
        return re.sub(re.escape(IMAGE_PAD), IMAGE_PAD * self.tokens_per_image, text)


# -- the processor -----------------------------------------------------------------------------
@frozen
class ModelInputs:
    """Numpy inputs of the network (shared by the torch, onnx and tensorrt backends)."""

    pixel_values: np.ndarray  #: (images, patches, 3*T*P*P) float32, (batch, frame, view) order
    input_ids: np.ndarray  #: (B, L) int64
    attention_mask: np.ndarray  #: (B, L) int64
    position_ids: np.ndarray  #: (3, B, L) int64
    state: np.ndarray  #: (B, 1, max_state_dim) float32
    embodiment_id: np.ndarray  #: (B,) int64
    raw_state: tuple[dict[str, np.ndarray], ...] = ()  #: per item, the last frame per state key


class Gr00tN17Processor:
    """Observation dicts -> :class:`ModelInputs`; model actions -> ``action.<key>`` dicts."""

    def __init__(
        self,
        metadata: N17Metadata,
        tokenizer: Tokenizer,
        embodiment_id: int,
        config: Any,
        chat_template: str | None = None,
        image_mean: Sequence[float] = (0.5, 0.5, 0.5),
        image_std: Sequence[float] = (0.5, 0.5, 0.5),
    ) -> None:
        vl = config.qwen3_vl_config
        vision = vl["vision_config"]
        self.metadata = metadata
        self.tokenizer = tokenizer
        self.embodiment_id = int(embodiment_id)
        self.target = config.image_size
        if metadata.target_size is not None and metadata.target_size != self.target:
            raise ModalityError(
                f"processor_config.json resizes images to {list(metadata.target_size)}, the "
                f"model's vision grid is built for {list(self.target)} (config image_target_size)"
            )
        crop = metadata.crop_size or config.image_crop_size
        self.crop = (int(crop[0]), int(crop[1])) if crop else None
        self.patch = int(vision["patch_size"])
        self.merge = int(vision["spatial_merge_size"])
        self.temporal = int(vision["temporal_patch_size"])
        self.llm_grid = (
            self.target[0] // self.patch // self.merge,
            self.target[1] // self.patch // self.merge,
        )
        self.tokens_per_image = self.llm_grid[0] * self.llm_grid[1]
        self.image_token_id = int(vl["image_token_id"])
        self.max_state_dim = int(config.max_state_dim)
        self.max_action_dim = int(config.max_action_dim)
        self.model_horizon = int(config.action_horizon)
        self.action_horizon = min(metadata.valid_horizon or self.model_horizon, self.model_horizon)
        self.language_key = metadata.language_key
        self.image_mean, self.image_std = tuple(image_mean), tuple(image_std)
        self.prompt = PromptBuilder(self.tokens_per_image, chat_template)
        token = tokenizer.token_id(IMAGE_PAD)
        if token != self.image_token_id:
            raise ModalityError(
                f"tokenizer maps {IMAGE_PAD} to {token}, the model expects {self.image_token_id}"
            )
        if not metadata.video:
            raise ModalityError(f"embodiment '{metadata.tag}' has no camera: GR00T N1.7 needs one")
        state_dim = sum(k.dim for k in metadata.state)
        action_dim = sum(g.dim for g in metadata.actions)
        if state_dim > self.max_state_dim:
            raise ModalityError(
                f"state is {state_dim}-D, the model takes at most {self.max_state_dim}"
            )
        if action_dim > self.max_action_dim:
            raise ModalityError(
                f"action is {action_dim}-D, the model emits at most {self.max_action_dim}"
            )

    @property
    def image_size(self) -> int:
        return self.target[0]

    @property
    def layout(self) -> ModalityLayout:
        h, w = self.target
        return ModalityLayout(
            state=self.metadata.state,
            action=self.metadata.action,
            video=tuple(VideoKey(v, h, w) for v in self.metadata.video),
            language_key=self.language_key,
            action_horizon=self.action_horizon,
            embodiment_tag=self.metadata.tag,
        )

    def _range(self, modality: str, key: str) -> tuple[np.ndarray, np.ndarray]:
        stats = self.metadata.stats(modality, key)
        lo, hi = (
            ("q01", "q99")
            if self.metadata.use_percentiles and modality != "relative_action"
            else ("min", "max")
        )
        if lo not in stats or hi not in stats:
            raise ModalityError(
                f"statistics.json: '{self.metadata.tag}' {modality}.{key} lacks {lo}/{hi}"
            )
        return stats[lo], stats[hi]

    def _batch_of(self, observation: Mapping[str, Any], batched: bool) -> int:
        key = f"video.{self.metadata.video[0]}"
        if key not in observation:
            raise ObservationError(f"observation lacks '{key}'")
        return int(np.asarray(observation[key]).shape[0]) if batched else 1

    def _video(self, observation: Mapping[str, Any], batch: int, batched: bool) -> np.ndarray:
        views = []
        frames = self.metadata.video_frames
        for name in self.metadata.video:
            key = f"video.{name}"
            if key not in observation:
                raise ObservationError(f"observation lacks '{key}'")
            arr = np.asarray(observation[key])
            if not batched:
                arr = arr[None]
            if arr.ndim != 5 or arr.shape[0] != batch or arr.shape[-1] != 3:
                want = "(B, T, H, W, 3)" if batched else "(T, H, W, 3)"
                raise ObservationError(f"'{key}' has shape {list(arr.shape)}, expected {want}")
            if arr.dtype != np.uint8:
                raise ObservationError(f"'{key}' must be uint8, got {arr.dtype}")
            if arr.shape[1] >= frames:
                arr = arr[:, -frames:]
            else:
                arr = np.concatenate([np.repeat(arr[:, :1], frames - arr.shape[1], 1), arr], 1)
            views.append(arr)
        if len({v.shape[2:4] for v in views}) > 1:
            out = [self._frames(v) for v in views]  # (B, T, 3, th, tw) each
            images = np.stack(out, axis=2)
        else:
            images = self._frames(np.stack(views, axis=2).reshape(-1, *views[0].shape[2:]))
            images = images.reshape(batch, frames, len(views), *images.shape[1:])
        images = images.reshape(-1, *images.shape[-3:])  # (B*T*V, 3, th, tw)
        return patchify(
            images, self.patch, self.merge, self.temporal, self.image_mean, self.image_std
        )

    def _frames(self, arr: np.ndarray) -> np.ndarray:
        lead = arr.shape[:-3]
        out = transform_frames(
            arr.reshape(-1, *arr.shape[-3:]),
            self.target,
            self.crop,
            self.metadata.shortest_edge,
            self.metadata.crop_fraction,
            self.metadata.letterbox,
        )
        return out.reshape(*lead, *out.shape[1:])

    def _state(
        self, observation: Mapping[str, Any], batch: int, batched: bool
    ) -> tuple[np.ndarray, list[dict[str, np.ndarray]]]:
        parts: list[np.ndarray] = []
        raw: list[dict[str, np.ndarray]] = [{} for _ in range(batch)]
        for kd in self.metadata.state:
            key = f"state.{kd.key}"
            if key not in observation:
                raise ObservationError(f"observation lacks '{key}'")
            given = np.asarray(observation[key], np.float32)
            arr = given if batched else given[None]
            if arr.ndim == 2 and arr.shape[-1] == kd.dim:
                arr = arr[:, None]
            if arr.ndim != 3 or arr.shape[0] != batch or arr.shape[-1] != kd.dim:
                want = f"(B, T, {kd.dim})" if batched else f"(T, {kd.dim})"
                raise ObservationError(f"'{key}' has shape {list(given.shape)}, expected {want}")
            if not np.isfinite(arr).all():
                raise ObservationError(f"'{key}' has non-finite values")
            last = arr[:, -1]
            for i in range(batch):
                raw[i][kd.key] = last[i].copy()
            lo, hi = self._range("state", kd.key)
            parts.append(normalize(last, lo, hi, self.metadata.clip_outliers))
        state = np.concatenate(parts, axis=-1) if parts else np.zeros((batch, 0), np.float32)
        state = np.pad(state, ((0, 0), (0, self.max_state_dim - state.shape[-1])))
        return state[:, None].astype(np.float32), raw

    def _language(self, observation: Mapping[str, Any], batch: int) -> list[str]:
        value = observation.get(self.language_key)
        if value is None or (isinstance(value, str) and not value):
            texts = [DEFAULT_INSTRUCTION] * batch
        else:
            texts = (
                [value]
                if isinstance(value, str)
                else [str(v) for v in np.asarray(value).reshape(-1)]
            )
        if len(texts) == 1 and batch > 1:
            texts = texts * batch
        if len(texts) != batch:
            raise ObservationError(
                f"'{self.language_key}' has {len(texts)} strings for a batch of {batch}"
            )
        texts = [t or DEFAULT_INSTRUCTION for t in texts]
        return [formalize(t) for t in texts] if self.metadata.formalize_language else texts

    def __call__(self, observation: Mapping[str, Any], batched: bool = False) -> ModelInputs:
        batch = self._batch_of(observation, batched)
        pixel_values = self._video(observation, batch, batched)
        n_images = pixel_values.shape[0] // batch
        prompts = [self.prompt(t, n_images) for t in self._language(observation, batch)]
        state, raw = self._state(observation, batch, batched)
        return self._finish(prompts, pixel_values, state, raw)

    def _finish(self, prompts, pixel_values, state, raw) -> ModelInputs:
        input_ids, mask = self.tokenizer(prompts)
        return ModelInputs(
            pixel_values=pixel_values,
            input_ids=input_ids,
            attention_mask=mask,
            position_ids=mrope_positions(input_ids, mask, self.image_token_id, self.llm_grid),
            state=state,
            embodiment_id=np.full((len(prompts),), self.embodiment_id, np.int64),
            raw_state=tuple(raw),
        )

    def collate(self, observations: Sequence[Mapping[str, Any]]) -> ModelInputs:
        """Several unbatched observations -> one batch (prompts left-padded together)."""
        prompts, pixels, states, raws = [], [], [], []
        for obs in observations:
            pixels.append(self._video(obs, 1, False))
            prompts.append(self.prompt(self._language(obs, 1)[0], pixels[-1].shape[0]))
            state, raw = self._state(obs, 1, False)
            states.append(state)
            raws.extend(raw)
        return self._finish(prompts, np.concatenate(pixels), np.concatenate(states), raws)

    # actions -> chunk
    def decode(
        self, actions: np.ndarray, raw_state: Sequence[Mapping[str, np.ndarray]] = ()
    ) -> list[dict[str, np.ndarray]]:
        """(B, model horizon, max_action_dim) normalised -> one ``action.<key>`` dict per item
        (the checkpoint's horizon); relative groups need the item's ``raw_state``."""
        actions = np.asarray(actions, np.float32)[:, : self.action_horizon]
        out = []
        for i, item in enumerate(actions):
            chunk, start = {}, 0
            for group in self.metadata.actions:
                part = item[:, start : start + group.dim]
                start += group.dim
                if group.relative:
                    lo, hi = self._range("relative_action", group.key)
                    if lo.ndim == 2:  # per chunk step
                        lo, hi = lo[: part.shape[0]], hi[: part.shape[0]]
                    value = unnormalize(part, lo, hi)
                    if i >= len(raw_state):
                        raise ModalityError(
                            f"action.{group.key} is relative: decoding needs the state"
                        )
                    ref = np.asarray(raw_state[i][group.state_key or group.key], np.float32)
                    if group.kind == "eef":
                        value = relative_eef_to_absolute(value, ref)
                    else:
                        value = (value + ref[None]).astype(np.float32)
                else:
                    lo, hi = self._range("action", group.key)
                    value = unnormalize(part, lo, hi)
                chunk[f"action.{group.key}"] = value
            out.append(chunk)
        return out


def build_processor(
    checkpoint: Path,
    config: Any,
    embodiment_tag: str | None = None,
    tokenizer_dir: Path | None = None,
    embodiment_id: int | None = None,
) -> Gr00tN17Processor:
    """The processor for a checkpoint directory and its :class:`GR00TN17Config`."""
    from groot_sdk.models.gr00t_n17.config import projector_index

    if embodiment_tag is None:
        tags = embodiment_tags(checkpoint)
        if len(tags) != 1:
            raise ModalityError(
                f"choose embodiment_tag=...: processor_config.json has {tags or 'none'}"
            )
        embodiment_tag = tags[0]
    if embodiment_id is None:
        embodiment_id = projector_index(embodiment_tag, embodiment_mapping(checkpoint))
    slots = int(config.max_num_embodiments)
    if not 0 <= int(embodiment_id) < slots:
        raise ModalityError(f"embodiment_id {embodiment_id} is outside the model's 0..{slots - 1}")
    metadata = read_metadata(checkpoint, embodiment_tag)
    if processor_kwargs(checkpoint).get("use_albumentations"):
        log.warning(
            "%s asks for the albumentations (cv2 INTER_AREA) image transform; groot-sdk uses "
            "the default bicubic one, so images differ slightly from training",
            checkpoint,
        )
    source = tokenizer_dir or checkpoint
    mean, std = [0.5] * 3, [0.5] * 3
    pre = source / "preprocessor_config.json"
    if pre.is_file():
        cfg = json.loads(pre.read_text())
        mean, std = list(cfg.get("image_mean", mean)), list(cfg.get("image_std", std))
    return Gr00tN17Processor(
        metadata,
        Tokenizer(source),
        int(embodiment_id),
        config,
        chat_template=load_chat_template(source),
        image_mean=mean,
        image_std=std,
    )
