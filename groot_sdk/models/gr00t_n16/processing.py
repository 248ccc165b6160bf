"""GR00T N1.6 pre/post-processing: the SDK's flat observations <-> model tensors.

What Isaac-GR00T N1.6's ``Gr00tN1d6Processor`` + ``StateActionProcessor`` do at evaluation:

* video, per frame: shortest edge to ``shortest_image_edge`` (256; area interpolation), centre
  crop to ``crop_fraction`` (0.95, ``int(side * f)``), shortest edge to 256 again, then Eagle 3's
  ``smart_resize`` (each side rounded to a multiple of 28, PIL bicubic), rescale 1/255 and
  normalise with mean/std 0.5. A 256 px square frame becomes 252 x 252 = 81 image tokens.
  Frames are ordered (time, view).
* language: lower-cased, punctuation removed (``formalize_language``); the conversation is
  the text *then* one ``<image-N>`` per frame, rendered with the chat template without a
  generation prompt; each placeholder becomes ``<image N><img>`` + ``<IMG_CONTEXT>`` x tokens +
  ``</img>``; tokenised, left-padded with ``<|endoftext|>``.
* state (per key of ``processor_config.json``'s modality config): sin/cos encoded
  (``[sin x, cos x]``, doubling the width) for ``sin_cos_embedding_keys`` when
  ``apply_sincos_state_encoding``, mean/std for ``mean_std_embedding_keys``, else min/max to
  [-1, 1] (q01/q99 with ``use_percentiles``; 0 where the bounds coincide; clipped with
  ``clip_outliers``); concatenated, zero-padded to ``max_state_dim``; the last time step.
* action: model output (B, horizon, max_action_dim) -> first ``len(delta_indices)`` steps and
  each key's columns -> clipped to [-1, 1] and unnormalised (mean/std keys: ``x * std + mean``).
  Keys whose action config is ``relative`` (with ``use_relative_action``) use the
  ``relative_action`` statistics (their min/max, per step when the stats are (T, D)) and are then
  made absolute by adding the current (last) state of ``state_key`` (or the same key).
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
from groot_sdk.models.gr00t_n15.processing import Tokenizer
from groot_sdk.spec import LANGUAGE_KEY

log = logging.getLogger(__name__)

IMG_CONTEXT = "<IMG_CONTEXT>"
DEFAULT_INSTRUCTION = "Perform the default behavior."
IMAGE_FACTOR = 28
MIN_PIXELS = 4 * 28 * 28
MAX_PIXELS = 4096 * 28 * 28
IMAGE_MAX_SIZE = 500 * 14

#: Eagle 3's chat template (``add_vision_id`` off): system prompt, user turn, ``<image-N>``.
EAGLE3_CHAT_TEMPLATE = (
    "{% set image_count = namespace(value=0) %}"
    "{% for message in messages %}{% if loop.first and message['role'] != 'system' %}"
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}"
    "<|im_start|>{{ message['role'] }}\n{% if message['content'] is string %}"
    "{{ message['content'] }}<|im_end|>\n{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'image' %}{% set image_count.value = image_count.value + 1 %}"
    "<image-{{ image_count.value }}>{% elif 'text' in content %}{{ content['text'] }}{% endif %}"
    "{% endfor %}<|im_end|>\n{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
_PLACEHOLDER = re.compile(r"<image-(\d+)>")


# -- images ------------------------------------------------------------------------------------
def _area_resize(frame: np.ndarray, height: int, width: int) -> np.ndarray:
    """cv2's INTER_AREA (what albumentations' SmallestMaxSize uses); torch's area/bilinear
    resampling when OpenCV is not installed (close, not bit-identical)."""
    try:
        import cv2
    except ImportError:
        import torch
        import torch.nn.functional as F

        t = torch.from_numpy(np.ascontiguousarray(frame)).permute(2, 0, 1)[None].float()
        if height <= frame.shape[0] and width <= frame.shape[1]:
            t = F.interpolate(t, size=(height, width), mode="area")
        else:
            t = F.interpolate(t, size=(height, width), mode="bilinear", antialias=True)
        return t.round().clamp(0, 255).to(torch.uint8)[0].permute(1, 2, 0).numpy()
    return cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA)


def smallest_max_size(frame: np.ndarray, size: int) -> np.ndarray:
    h, w = frame.shape[:2]
    scale = size / min(h, w)
    if scale == 1.0:
        return frame
    return _area_resize(frame, round(h * scale), round(w * scale))


def fractional_center_crop(frame: np.ndarray, fraction: float) -> np.ndarray:
    h, w = frame.shape[:2]
    ch, cw = max(1, int(h * fraction)), max(1, int(w * fraction))
    top, left = (h - ch) // 2, (w - cw) // 2
    return frame[top : top + ch, left : left + cw]


def smart_resize(height: int, width: int, factor: int = IMAGE_FACTOR) -> tuple[int, int]:
    """Eagle 3's size rule: sides to multiples of ``factor`` within the pixel budget."""
    import math

    h = min(max(factor, round(height / factor) * factor), IMAGE_MAX_SIZE)
    w = min(max(factor, round(width / factor) * factor), IMAGE_MAX_SIZE)
    if h * w > MAX_PIXELS:
        beta = math.sqrt(h * w / MAX_PIXELS)
        h, w = math.floor(h / beta / factor) * factor, math.floor(w / beta / factor) * factor
    elif h * w < MIN_PIXELS:
        beta = math.sqrt(MIN_PIXELS / (height * width))
        h, w = math.ceil(height * beta / factor) * factor, math.ceil(width * beta / factor) * factor
    return h, w


def _bicubic(frame: np.ndarray, height: int, width: int) -> np.ndarray:
    if frame.shape[:2] == (height, width):
        return frame
    try:
        from PIL import Image
    except ImportError:
        import torch
        import torch.nn.functional as F

        t = torch.from_numpy(np.ascontiguousarray(frame)).permute(2, 0, 1)[None].float()
        t = F.interpolate(t, size=(height, width), mode="bicubic", antialias=True)
        return t.round().clamp(0, 255).to(torch.uint8)[0].permute(1, 2, 0).numpy()
    return np.asarray(Image.fromarray(frame).resize((width, height), Image.Resampling.BICUBIC))


def eval_image_size(height: int, width: int, edge: int, fraction: float) -> tuple[int, int]:
    """The (height, width) an (height, width) frame reaches the vision encoder at."""

    def smallest(h: int, w: int) -> tuple[int, int]:
        scale = edge / min(h, w)
        return (h, w) if scale == 1.0 else (round(h * scale), round(w * scale))

    h, w = smallest(height, width)
    h, w = smallest(max(1, int(h * fraction)), max(1, int(w * fraction)))
    return smart_resize(h, w)


def transform_frame(frame: np.ndarray, edge: int, fraction: float) -> np.ndarray:
    """(H, W, 3) uint8 -> the resized uint8 frame the vision encoder sees."""
    resized = smallest_max_size(frame, edge)
    resized = smallest_max_size(fractional_center_crop(resized, fraction), edge)
    return _bicubic(resized, *smart_resize(*resized.shape[:2]))


# -- normalisation -----------------------------------------------------------------------------
def minmax_normalize(x: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """2 (x - lo) / (hi - lo) - 1, and 0 where lo and hi are (numpy-)close."""
    ok = ~np.isclose(hi, lo)
    scaled = 2.0 * (x - lo) / np.where(ok, hi - lo, 1.0) - 1.0
    return np.where(ok, scaled, 0.0).astype(np.float32)


def minmax_unnormalize(x: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    return ((np.clip(x, -1.0, 1.0) + 1.0) / 2.0 * (hi - lo) + lo).astype(np.float32)


def meanstd_normalize(x: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    ok = ~np.isclose(std, 0.0)
    return np.where(ok, (x - mean) / np.where(ok, std, 1.0), 0.0).astype(np.float32)


# -- tokenizer ---------------------------------------------------------------------------------
class VocabTokenizer:
    """Eagle 3's tokenizer as Isaac-GR00T vendors it (``vocab.json`` + ``merges.txt`` +
    ``tokenizer_config.json``'s added tokens), through transformers' Qwen2 tokenizer, offline;
    the same interface as N1.5's ``tokenizer.json`` :class:`Tokenizer` (left padding)."""

    def __init__(self, directory: Path) -> None:
        from transformers import AutoTokenizer

        try:
            self._tok = AutoTokenizer.from_pretrained(str(directory), local_files_only=True)
        except (OSError, ValueError) as exc:
            raise ModalityError(f"cannot read the tokenizer in {directory}: {exc}") from exc
        pad = self._tok.pad_token_id
        self.pad_id = int(pad) if pad is not None else 0

    def token_id(self, token: str) -> int | None:
        found = self._tok.convert_tokens_to_ids(token)
        if not isinstance(found, int) or found == self._tok.unk_token_id:
            return None
        return found

    def __call__(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        ids = [self._tok(t, add_special_tokens=False)["input_ids"] for t in texts]
        length = max(len(i) for i in ids)
        input_ids = np.full((len(ids), length), self.pad_id, np.int64)
        mask = np.zeros((len(ids), length), np.int64)
        for row, seq in enumerate(ids):
            input_ids[row, length - len(seq) :] = seq
            mask[row, length - len(seq) :] = 1
        return input_ids, mask


def load_tokenizer(directory: Path) -> Tokenizer | VocabTokenizer:
    """``tokenizer.json`` when present, else ``vocab.json`` + ``merges.txt`` (Eagle 3's files)."""
    if (directory / "tokenizer.json").is_file():
        return Tokenizer(directory)
    if (directory / "vocab.json").is_file() and (directory / "merges.txt").is_file():
        return VocabTokenizer(directory)
    raise ModalityError(
        f"no tokenizer in {directory} (tokenizer.json, or vocab.json + merges.txt): pass "
        "tokenizer=DIR, e.g. Isaac-GR00T's gr00t/model/modules/nvidia/Eagle-Block2A-2B-v2; "
        "groot-sdk never downloads it at run time"
    )


# -- metadata ----------------------------------------------------------------------------------
@frozen
class ActionKey:
    key: str
    dim: int
    relative: bool = False
    state_key: str | None = None
    eef: bool = False


@frozen
class N16Metadata:
    """One embodiment of ``processor_config.json`` + ``statistics.json``."""

    tag: str
    video: tuple[str, ...]
    state: tuple[KeyDim, ...]
    action: tuple[ActionKey, ...]
    action_horizon: int
    language_key: str
    sincos_keys: frozenset[str]
    state_meanstd: frozenset[str]
    action_meanstd: frozenset[str]
    statistics: dict[str, dict[str, dict[str, np.ndarray]]] = field(eq=False)

    def stats(self, modality: str, key: str) -> dict[str, np.ndarray]:
        try:
            return self.statistics[modality][key]
        except KeyError:
            raise ModalityError(
                f"statistics.json has no {modality}.{key} for embodiment '{self.tag}'"
            ) from None


def _enum(value: Any) -> str:
    text = value.get("value", value) if isinstance(value, dict) else value
    return str(text).split(".")[-1].lower()


def read_processor_config(directory: Path) -> dict[str, Any]:
    file = directory / "processor_config.json"
    if not file.is_file():
        raise ModalityError(f"checkpoint {directory} has no processor_config.json")
    data = json.loads(file.read_text())
    return dict(data.get("processor_kwargs", data))


def read_metadata(directory: Path, tag: str) -> N16Metadata:
    """Modality config and statistics for ``tag``; errors name what is missing."""
    kwargs = read_processor_config(directory)
    configs = kwargs.get("modality_configs") or {}
    if tag not in configs:
        raise ModalityError(
            f"processor_config.json has no embodiment '{tag}' (it has: {', '.join(sorted(configs))})"
        )
    stats_file = directory / "statistics.json"
    if not stats_file.is_file():
        raise ModalityError(f"checkpoint {directory} has no statistics.json")
    raw = json.loads(stats_file.read_text()).get(tag)
    if raw is None:
        raise ModalityError(f"statistics.json has no embodiment '{tag}'")
    statistics = {
        modality: {
            key: {name: np.asarray(v, np.float32) for name, v in values.items()}
            for key, values in raw.get(modality, {}).items()
        }
        for modality in ("state", "action", "relative_action")
    }
    cfg = configs[tag]

    def section(name: str) -> dict[str, Any]:
        return cfg.get(name) or {}

    def dim(modality: str, key: str) -> int:
        stats = statistics.get(modality, {}).get(key)
        if stats is None or "min" not in stats:
            raise ModalityError(f"statistics.json has no {modality}.{key}.min for '{tag}'")
        return int(stats["min"].shape[-1])

    state = tuple(KeyDim(k, dim("state", k)) for k in section("state").get("modality_keys", []))
    if len(section("state").get("delta_indices") or [0]) != 1:
        raise ModalityError(
            f"processor_config.json: {tag} takes {len(section('state')['delta_indices'])} state "
            "steps; groot-sdk's N1.6 runs single-step state (delta_indices [0])"
        )
    action_cfg = section("action")
    action_keys = list(action_cfg.get("modality_keys", []))
    per_key = action_cfg.get("action_configs") or [None] * len(action_keys)
    if len(per_key) != len(action_keys):
        raise ModalityError(
            f"processor_config.json: {tag} has {len(per_key)} action_configs for "
            f"{len(action_keys)} action keys"
        )
    actions = []
    for key, ac in zip(action_keys, per_key, strict=True):
        ac = ac or {}
        actions.append(
            ActionKey(
                key,
                dim("action", key),
                relative=_enum(ac.get("rep", "absolute")) == "relative",
                state_key=ac.get("state_key"),
                eef=_enum(ac.get("type", "non_eef")) == "eef",
            )
        )
    language = section("language").get("modality_keys") or [LANGUAGE_KEY]
    return N16Metadata(
        tag=tag,
        video=tuple(section("video").get("modality_keys", [])),
        state=state,
        action=tuple(actions),
        action_horizon=len(action_cfg.get("delta_indices") or []) or 16,
        language_key=str(language[0]),
        sincos_keys=frozenset(section("state").get("sin_cos_embedding_keys") or ()),
        state_meanstd=frozenset(section("state").get("mean_std_embedding_keys") or ()),
        action_meanstd=frozenset(action_cfg.get("mean_std_embedding_keys") or ()),
        statistics=statistics,
    )


def read_tags(directory: Path) -> list[str]:
    try:
        return sorted(read_processor_config(directory).get("modality_configs") or {})
    except ModalityError:
        return []


# -- the processor -----------------------------------------------------------------------------
@frozen
class N16Inputs:
    """Numpy inputs of the network plus the raw current state (for relative actions)."""

    pixel_values: np.ndarray  #: (B*T*V, 3, H, W) float32
    input_ids: np.ndarray  #: (B, L) int64
    attention_mask: np.ndarray  #: (B, L) int64
    state: np.ndarray  #: (B, 1, max_state_dim) float32
    embodiment_id: np.ndarray  #: (B,) int64
    raw_state: dict[str, np.ndarray] = field(factory=dict, eq=False)  #: key -> (B, D)


class Gr00tN16Processor:
    """Observation dicts -> :class:`N16Inputs`; model actions -> ``action.<key>`` dicts."""

    def __init__(
        self,
        metadata: N16Metadata,
        tokenizer: Tokenizer | VocabTokenizer,
        embodiment_id: int,
        image_token_index: int,
        patch_size: int = 14,
        unshuffle: int = 2,
        max_state_dim: int = 128,
        max_action_dim: int = 128,
        model_horizon: int = 50,
        shortest_image_edge: int = 256,
        crop_fraction: float = 0.95,
        use_percentiles: bool = False,
        clip_outliers: bool = True,
        use_relative_action: bool = False,
        apply_sincos_state_encoding: bool = False,
        formalize_language: bool = True,
        chat_template: str | None = None,
        image_mean: Sequence[float] = (0.5, 0.5, 0.5),
        image_std: Sequence[float] = (0.5, 0.5, 0.5),
        camera_size: tuple[int, int] = (256, 256),
        language_key: str = LANGUAGE_KEY,
    ) -> None:
        from jinja2.sandbox import ImmutableSandboxedEnvironment

        self.metadata = metadata
        self.tokenizer = tokenizer
        self.embodiment_id = int(embodiment_id)
        self.patch_size = patch_size
        self.unshuffle = unshuffle
        self.max_state_dim = max_state_dim
        self.max_action_dim = max_action_dim
        self.model_horizon = model_horizon
        self.action_horizon = metadata.action_horizon
        self.edge = int(shortest_image_edge)
        self.fraction = float(crop_fraction)
        self.use_percentiles = use_percentiles
        self.clip_outliers = clip_outliers
        self.use_relative_action = use_relative_action
        self.sincos = apply_sincos_state_encoding
        self.formalize_language = formalize_language
        self.camera_size = camera_size
        self.language_key = language_key
        self.image_mean = np.asarray(image_mean, np.float32).reshape(1, 3, 1, 1)
        self.image_std = np.asarray(image_std, np.float32).reshape(1, 3, 1, 1)
        env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
        self._template = env.from_string(chat_template or EAGLE3_CHAT_TEMPLATE)
        token = tokenizer.token_id(IMG_CONTEXT)
        if token != image_token_index:
            raise ModalityError(
                f"tokenizer maps {IMG_CONTEXT} to {token}, the model expects {image_token_index}"
            )
        if not metadata.video:
            raise ModalityError(f"embodiment '{metadata.tag}' has no camera (GR00T N1.6 needs one)")
        if self.action_horizon > model_horizon:
            raise ModalityError(
                f"action horizon is {self.action_horizon} steps, the model emits at most "
                f"{model_horizon} (action_horizon)"
            )
        state_dim = sum(2 * k.dim if self._sincos(k.key) else k.dim for k in metadata.state)
        action_dim = sum(k.dim for k in metadata.action)
        if state_dim > max_state_dim:
            raise ModalityError(f"state is {state_dim}-D, the model takes at most {max_state_dim}")
        if action_dim > max_action_dim:
            raise ModalityError(
                f"action is {action_dim}-D, the model emits at most {max_action_dim}"
            )
        for ak in metadata.action:
            if self._relative(ak):
                if ak.eef:
                    raise ModalityError(
                        f"action.{ak.key}: relative end-effector actions are not supported"
                    )
                ref = ak.state_key or ak.key
                if ref not in {k.key: k for k in metadata.state}:
                    raise ModalityError(
                        f"action.{ak.key} is relative to state.{ref}, which is absent"
                    )
                if ak.key not in metadata.statistics["relative_action"]:
                    raise ModalityError(
                        f"statistics.json has no relative_action.{ak.key} for '{metadata.tag}'"
                    )

    def _sincos(self, key: str) -> bool:
        return self.sincos and key in self.metadata.sincos_keys

    def _relative(self, ak: ActionKey) -> bool:
        return self.use_relative_action and ak.relative

    def _bounds(self, stats: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        if self.use_percentiles:
            return stats["q01"], stats["q99"]
        return stats["min"], stats["max"]

    @property
    def layout(self) -> ModalityLayout:
        h, w = self.camera_size
        return ModalityLayout(
            state=self.metadata.state,
            action=tuple(KeyDim(a.key, a.dim) for a in self.metadata.action),
            video=tuple(VideoKey(v, h, w) for v in self.metadata.video),
            language_key=self.language_key,
            action_horizon=self.action_horizon,
            embodiment_tag=self.metadata.tag,
        )

    def tokens_per_image(self, height: int, width: int) -> int:
        h, w = eval_image_size(height, width, self.edge, self.fraction)
        return (h // self.patch_size) * (w // self.patch_size) // self.unshuffle**2

    # observations -> inputs
    def prompt(self, language: str, n_images: int, tokens: int) -> str:
        if self.formalize_language:
            language = re.sub(r"[^\w\s]", "", language.lower())
        content: list[dict[str, Any]] = [{"type": "text", "text": language}]
        content += [{"type": "image"} for _ in range(n_images)]
        text = self._template.render(
            messages=[{"role": "user", "content": content}], add_generation_prompt=False
        )
        context = IMG_CONTEXT * tokens
        return _PLACEHOLDER.sub(lambda m: f"<image {m.group(1)}><img>{context}</img>", text)

    def _array(self, observation: Mapping[str, Any], key: str, batched: bool) -> np.ndarray:
        if key not in observation:
            raise ObservationError(f"observation lacks '{key}'")
        arr = np.asarray(observation[key])
        return arr if batched else arr[None]

    def _video(self, observation: Mapping[str, Any], batch: int, batched: bool) -> np.ndarray:
        views = []
        for name in self.metadata.video:
            key = f"video.{name}"
            arr = self._array(observation, key, batched)
            if arr.ndim != 5 or arr.shape[0] != batch or arr.shape[-1] != 3:
                want = "(B, T, H, W, 3)" if batched else "(T, H, W, 3)"
                raise ObservationError(f"'{key}' has shape {list(arr.shape)}, expected {want}")
            if arr.dtype != np.uint8:
                raise ObservationError(f"'{key}' must be uint8, got {arr.dtype}")
            views.append(arr)
        shapes = {v.shape[2:4] for v in views}
        if len(shapes) != 1:
            raise ObservationError(f"cameras have different sizes {sorted(shapes)}; resize them")
        video = np.stack(views, axis=2)  # (B, T, V, H, W, 3)
        h, w = video.shape[3:5]
        frames = [transform_frame(f, self.edge, self.fraction) for f in video.reshape(-1, h, w, 3)]
        pixels = np.stack(frames).transpose(0, 3, 1, 2).astype(np.float32) / 255.0
        return ((pixels - self.image_mean) / self.image_std).astype(np.float32)

    def _state(
        self, observation: Mapping[str, Any], batch: int, batched: bool
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        parts, raw = [], {}
        for kd in self.metadata.state:
            key = f"state.{kd.key}"
            arr = self._array(observation, key, batched).astype(np.float32)
            if arr.ndim != 3 or arr.shape[0] != batch or arr.shape[-1] != kd.dim:
                want = f"(B, T, {kd.dim})" if batched else f"(T, {kd.dim})"
                raise ObservationError(f"'{key}' has shape {list(arr.shape)}, expected {want}")
            if not np.isfinite(arr).all():
                raise ObservationError(f"'{key}' has non-finite values")
            last = arr[:, -1:]
            raw[kd.key] = last[:, 0]
            if self._sincos(kd.key):
                parts.append(np.concatenate([np.sin(last), np.cos(last)], -1).astype(np.float32))
                continue
            stats = self.metadata.stats("state", kd.key)
            if kd.key in self.metadata.state_meanstd:
                parts.append(meanstd_normalize(last, stats["mean"], stats["std"]))
                continue
            norm = minmax_normalize(last, *self._bounds(stats))
            parts.append(np.clip(norm, -1.0, 1.0) if self.clip_outliers else norm)
        state = np.concatenate(parts, axis=-1) if parts else np.zeros((batch, 1, 0), np.float32)
        pad = self.max_state_dim - state.shape[-1]
        return np.pad(state, ((0, 0), (0, 0), (0, pad))).astype(np.float32), raw

    def _language(self, observation: Mapping[str, Any], batch: int) -> list[str]:
        value = observation.get(self.language_key)
        if value is None:
            value = observation.get(self.metadata.language_key)
        if value is None:
            return [DEFAULT_INSTRUCTION] * batch
        texts = [value] if isinstance(value, str) else [str(v) for v in value]
        if len(texts) == 1 and batch > 1:
            texts = texts * batch
        if len(texts) != batch:
            raise ObservationError(
                f"'{self.language_key}' has {len(texts)} strings for a batch of {batch}"
            )
        return texts

    def __call__(self, observation: Mapping[str, Any], batched: bool = False) -> N16Inputs:
        first = f"video.{self.metadata.video[0]}"
        batch = int(self._array(observation, first, batched).shape[0])
        pixel_values = self._video(observation, batch, batched)
        n_images = pixel_values.shape[0] // batch
        tokens = (
            (pixel_values.shape[2] // self.patch_size)
            * (pixel_values.shape[3] // self.patch_size)
            // self.unshuffle**2
        )
        prompts = [self.prompt(t, n_images, tokens) for t in self._language(observation, batch)]
        input_ids, mask = self.tokenizer(prompts)
        state, raw = self._state(observation, batch, batched)
        return N16Inputs(
            pixel_values=pixel_values,
            input_ids=input_ids,
            attention_mask=mask,
            state=state,
            embodiment_id=np.full((batch,), self.embodiment_id, np.int64),
            raw_state=raw,
        )

    def collate(self, observations: Sequence[Mapping[str, Any]]) -> N16Inputs:
        """Several unbatched observations -> one batch (left-padded prompts)."""
        items = [self(o) for o in observations]
        seqs = [i.input_ids[0][i.attention_mask[0] == 1] for i in items]
        length = max(len(s) for s in seqs)
        ids = np.full((len(items), length), self.tokenizer.pad_id, np.int64)
        mask = np.zeros((len(items), length), np.int64)
        for row, seq in enumerate(seqs):
            ids[row, length - len(seq) :] = seq
            mask[row, length - len(seq) :] = 1
        return N16Inputs(
            pixel_values=np.concatenate([i.pixel_values for i in items]),
            input_ids=ids,
            attention_mask=mask,
            state=np.concatenate([i.state for i in items]),
            embodiment_id=np.concatenate([i.embodiment_id for i in items]),
            raw_state={
                k: np.concatenate([i.raw_state[k] for i in items]) for k in items[0].raw_state
            },
        )

    # actions -> chunk
    def decode(
        self, actions: np.ndarray, raw_state: Mapping[str, np.ndarray]
    ) -> list[dict[str, np.ndarray]]:
        """(B, horizon, max_action_dim) normalised -> one ``action.<key>`` dict per item;
        relative keys become absolute with ``raw_state`` (key -> (B, D), the current state)."""
        actions = np.asarray(actions, np.float32)
        out = []
        for row, item in enumerate(actions):
            chunk, start = {}, 0
            for ak in self.metadata.action:
                part = item[: self.action_horizon, start : start + ak.dim]
                start += ak.dim
                if self._relative(ak):
                    stats = self.metadata.statistics["relative_action"][ak.key]
                    lo, hi = stats["min"], stats["max"]
                    if lo.ndim == 2:
                        lo, hi = lo[: self.action_horizon], hi[: self.action_horizon]
                    value = minmax_unnormalize(part, lo, hi)
                    value = value + raw_state[ak.state_key or ak.key][row][None, :]
                elif ak.key in self.metadata.action_meanstd:
                    stats = self.metadata.stats("action", ak.key)
                    value = (part * stats["std"] + stats["mean"]).astype(np.float32)
                else:
                    value = minmax_unnormalize(
                        part, *self._bounds(self.metadata.stats("action", ak.key))
                    )
                chunk[f"action.{ak.key}"] = value.astype(np.float32)
            out.append(chunk)
        return out


def embodiment_table(directory: Path) -> dict[str, int]:
    """N1.6's tag table, extended by the checkpoint's ``embodiment_id.json``."""
    from groot_sdk.models.gr00t_n16.config import EMBODIMENT_TAG_MAPPING

    file = directory / "embodiment_id.json"
    extra = json.loads(file.read_text()) if file.is_file() else {}
    return {**EMBODIMENT_TAG_MAPPING, **{str(k): int(v) for k, v in extra.items()}}


def build_processor(
    checkpoint: Path,
    config: Any,
    embodiment_tag: str | None = None,
    tokenizer_dir: Path | None = None,
    embodiment_id: int | None = None,
    camera_size: tuple[int, int] | None = None,
) -> Gr00tN16Processor:
    """The processor for a checkpoint directory and its :class:`Gr00tN1d6Config`."""
    from groot_sdk.models.gr00t_n16.config import projector_index

    tags = read_tags(checkpoint)
    if embodiment_tag is None:
        if len(tags) != 1:
            raise ModalityError(
                f"choose embodiment_tag=...: processor_config.json has {tags or 'no embodiments'}"
            )
        embodiment_tag = tags[0]
    if embodiment_id is None:
        embodiment_id = projector_index(embodiment_tag, embodiment_table(checkpoint))
    slots = int(config.max_num_embodiments)
    if not 0 <= int(embodiment_id) < slots:
        raise ModalityError(f"embodiment_id {embodiment_id} is outside the model's 0..{slots - 1}")
    kwargs = read_processor_config(checkpoint)
    metadata = read_metadata(checkpoint, embodiment_tag)
    eagle = config.eagle_config
    tok_dir = tokenizer_dir or checkpoint
    edge = kwargs.get("shortest_image_edge", config.shortest_image_edge)
    fraction = kwargs.get("crop_fraction", config.crop_fraction)
    if kwargs.get("use_albumentations") is False:
        raise ModalityError(
            "processor_config.json sets use_albumentations: false (the torchvision image "
            "pipeline), which groot-sdk does not reproduce"
        )
    if edge is None or fraction is None:
        raise ModalityError(
            "processor_config.json without shortest_image_edge/crop_fraction "
            "(image_target_size pipelines) is not supported"
        )
    mean, std = [0.5] * 3, [0.5] * 3
    pre = tok_dir / "preprocessor_config.json"
    if pre.is_file():
        data = json.loads(pre.read_text())
        mean, std = data.get("image_mean", mean), data.get("image_std", std)
    return Gr00tN16Processor(
        metadata,
        load_tokenizer(tok_dir),
        int(embodiment_id),
        image_token_index=int(eagle["image_token_index"]),
        patch_size=int(eagle["vision_config"]["patch_size"]),
        unshuffle=round(1 / float(eagle.get("downsample_ratio", 0.5))),
        max_state_dim=int(config.max_state_dim),
        max_action_dim=int(config.max_action_dim),
        model_horizon=int(config.action_horizon),
        shortest_image_edge=int(edge),
        crop_fraction=float(fraction),
        use_percentiles=bool(kwargs.get("use_percentiles", False)),
        clip_outliers=bool(kwargs.get("clip_outliers", True)),
        use_relative_action=bool(kwargs.get("use_relative_action", config.use_relative_action)),
        apply_sincos_state_encoding=bool(
            kwargs.get("apply_sincos_state_encoding", config.apply_sincos_state_encoding)
        ),
        formalize_language=bool(kwargs.get("formalize_language", config.formalize_language)),
        chat_template=_chat_template(tok_dir),
        image_mean=mean,
        image_std=std,
        camera_size=camera_size or (int(edge), int(edge)),
    )


def _chat_template(directory: Path) -> str | None:
    for name in ("chat_template.jinja", "chat_template.json", "tokenizer_config.json"):
        file = directory / name
        if not file.is_file():
            continue
        if name.endswith(".jinja"):
            return file.read_text()
        template = json.loads(file.read_text()).get("chat_template")
        if isinstance(template, str):
            return template
    return None
