"""GR00T N1.5 pre/post-processing: N1.5 flat observations <-> model tensors.

What Isaac-GR00T's eval transforms do, in order:

* video: per camera (T, H, W, 3) uint8 -> centre crop to 95 % (``VideoCrop(scale=0.95)``, eval
  mode) -> resize to the model resolution (``VideoResize``, bilinear with antialiasing, back to
  uint8) -> Eagle's image processing (one tile, no thumbnail: rescale 1/255, normalise with the
  SigLIP mean/std 0.5) -> ``pixel_values`` ordered (time, view);
* language: Eagle's chat template (the one shipped with the tokenizer files, else Eagle 2.5's
  own: system prompt, then ``<image-N>`` per image and the raw instruction), each placeholder
  expanded to ``<image N><img>`` + ``<IMG_CONTEXT>`` x num_image_token + ``</img>``; tokenised
  from files in the checkpoint (or a local tokenizer directory), left-padded;
* state: per key normalised (``min_max`` / ``q99`` to [-1, 1], ``mean_std``), concatenated in the
  metadata's key order, zero-padded to ``max_state_dim``;
* action: model output (B, 16, max_action_dim) -> first sum(D) columns -> clipped to [-1, 1]
  for the range modes -> unnormalised -> ``action.<key>`` arrays (16, D).
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
from groot_sdk.spec import LANGUAGE_KEY

log = logging.getLogger(__name__)

NORMALIZATION_MODES = ("min_max", "q99", "mean_std", "binary", "identity")
DEFAULT_INSTRUCTION = "Perform the default behavior."
IMG_CONTEXT = "<IMG_CONTEXT>"


# -- metadata ----------------------------------------------------------------------------------
@frozen
class EmbodimentMetadata:
    """One embodiment tag's entry of ``experiment_cfg/metadata.json``."""

    tag: str
    state: tuple[KeyDim, ...]
    action: tuple[KeyDim, ...]
    video: tuple[str, ...]
    statistics: dict[str, dict[str, dict[str, np.ndarray]]] = field(eq=False)
    #: camera -> (height, width) the dataset recorded (metadata ``resolution`` is [W, H])
    resolution: dict[str, tuple[int, int]] = field(factory=dict, eq=False)

    def stats(self, modality: str, key: str) -> dict[str, np.ndarray]:
        try:
            return self.statistics[modality][key]
        except KeyError:
            raise ModalityError(
                f"metadata for embodiment '{self.tag}' has no statistics for {modality}.{key}"
            ) from None


def read_metadata(path: Path, tag: str) -> EmbodimentMetadata:
    """Parse ``metadata.json`` for ``tag``; errors name the tag or key that is missing."""
    if not path.is_file():
        raise ModalityError(f"checkpoint has no {path.parent.name}/{path.name}")
    data = json.loads(path.read_text())
    if tag not in data:
        raise ModalityError(
            f"metadata.json has no embodiment '{tag}' (it has: {', '.join(sorted(data))})"
        )
    entry = data[tag]
    modalities = entry.get("modalities", {})
    raw_stats = entry.get("statistics", {})

    def keys(modality: str) -> tuple[KeyDim, ...]:
        out = []
        for key, info in modalities.get(modality, {}).items():
            shape = info.get("shape")
            if not shape:
                raise ModalityError(f"metadata.json: {tag} {modality}.{key} has no shape")
            out.append(KeyDim(key, int(shape[-1])))
        return tuple(out)

    statistics: dict[str, dict[str, dict[str, np.ndarray]]] = {}
    for modality in ("state", "action"):
        statistics[modality] = {
            key: {name: np.asarray(v, np.float32) for name, v in values.items()}
            for key, values in raw_stats.get(modality, {}).items()
        }
    videos = modalities.get("video", {})
    resolution = {
        name: (int(info["resolution"][1]), int(info["resolution"][0]))
        for name, info in videos.items()
        if isinstance(info, dict) and len(info.get("resolution") or ()) == 2
    }
    meta = EmbodimentMetadata(
        tag, keys("state"), keys("action"), tuple(videos), statistics, resolution
    )
    for modality, kds in (("state", meta.state), ("action", meta.action)):
        for kd in kds:
            stats = meta.stats(modality, kd.key)
            for name, arr in stats.items():
                if arr.shape[-1:] != (kd.dim,):
                    raise ModalityError(
                        f"metadata.json: {tag} statistics {modality}.{kd.key}.{name} has "
                        f"shape {list(arr.shape)}, modality shape is [{kd.dim}]"
                    )
    return meta


# -- normalisation -----------------------------------------------------------------------------
def _range(stats: Mapping[str, np.ndarray], mode: str) -> tuple[np.ndarray, np.ndarray]:
    lo, hi = ("q01", "q99") if mode == "q99" else ("min", "max")
    return stats[lo], stats[hi]


def normalize(x: np.ndarray, stats: Mapping[str, np.ndarray], mode: str) -> np.ndarray:
    """GR00T's ``Normalizer.forward``.

    ``min_max``: 2 (x - min) / (max - min) - 1, 0 where min == max (not clipped);
    ``q99``: the same with q01/q99, the raw value where q01 == q99, then clipped to [-1, 1];
    ``mean_std``: (x - mean) / std, the raw value where std == 0; ``binary``: x > 0.5.
    """
    x = np.asarray(x, np.float32)
    if mode == "identity":
        return x
    if mode == "binary":
        return (x > 0.5).astype(np.float32)
    if mode in ("min_max", "q99"):
        lo, hi = _range(stats, mode)
        ok = hi != lo
        scaled = 2.0 * (x - lo) / np.where(ok, hi - lo, 1.0) - 1.0
        if mode == "min_max":
            return np.where(ok, scaled, 0.0).astype(np.float32)
        return np.clip(np.where(ok, scaled, x), -1.0, 1.0).astype(np.float32)
    if mode == "mean_std":
        std = stats["std"]
        ok = std != 0
        return np.where(ok, (x - stats["mean"]) / np.where(ok, std, 1.0), x).astype(np.float32)
    raise ModalityError(f"unknown normalisation mode '{mode}' (known: {NORMALIZATION_MODES})")


def unnormalize(
    x: np.ndarray, stats: Mapping[str, np.ndarray], mode: str, clip: bool = False
) -> np.ndarray:
    """GR00T's ``Normalizer.inverse``; ``clip`` first limits range modes to [-1, 1] (GR00T
    does not, so a model output outside it lands outside the dataset's range)."""
    x = np.asarray(x, np.float32)
    if mode == "identity":
        return x
    if mode == "binary":
        return (x > 0.5).astype(np.float32)
    if mode in ("min_max", "q99"):
        lo, hi = _range(stats, mode)
        if clip:
            x = np.clip(x, -1.0, 1.0)
        return ((x + 1.0) / 2.0 * (hi - lo) + lo).astype(np.float32)
    if mode == "mean_std":
        return (x * stats["std"] + stats["mean"]).astype(np.float32)
    raise ModalityError(f"unknown normalisation mode '{mode}' (known: {NORMALIZATION_MODES})")


# -- video -------------------------------------------------------------------------------------
def crop_resize(frames: np.ndarray, height: int, width: int, scale: float = 0.95) -> np.ndarray:
    """(N, H, W, 3) uint8 -> centre crop ``scale`` -> (N, height, width, 3) uint8."""
    import torch
    import torch.nn.functional as F

    _, h, w, _ = frames.shape
    ch, cw = int(h * scale), int(w * scale)
    top, left = round((h - ch) / 2.0), round((w - cw) / 2.0)
    crop = frames[:, top : top + ch, left : left + cw]
    t = torch.from_numpy(np.ascontiguousarray(crop)).permute(0, 3, 1, 2).float()
    if (ch, cw) != (height, width):
        t = F.interpolate(t, size=(height, width), mode="bilinear", antialias=True)
    return t.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()


# -- tokenizer ---------------------------------------------------------------------------------
class Tokenizer:
    """The checkpoint's ``tokenizer.json`` through the ``tokenizers`` library (no downloads)."""

    def __init__(self, directory: Path) -> None:
        from tokenizers import Tokenizer as HFTokenizer

        file = directory / "tokenizer.json"
        if not file.is_file():
            raise ModalityError(
                f"no tokenizer.json in {directory}: pass tokenizer=DIR (a local copy of the "
                "Eagle 2.5 tokenizer files); groot-sdk never downloads them at run time"
            )
        self._tok = HFTokenizer.from_file(str(file))
        cfg_file = directory / "tokenizer_config.json"
        cfg = json.loads(cfg_file.read_text()) if cfg_file.is_file() else {}
        pad = cfg.get("pad_token") or "<|endoftext|>"
        if isinstance(pad, dict):
            pad = pad.get("content")
        pad_id = self._tok.token_to_id(str(pad))
        self.pad_id = int(pad_id) if pad_id is not None else 0

    def token_id(self, token: str) -> int | None:
        return self._tok.token_to_id(token)

    def __call__(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Left-padded ``input_ids`` and ``attention_mask`` (B, L) int64."""
        ids = [self._tok.encode(t, add_special_tokens=False).ids for t in texts]
        length = max(len(i) for i in ids)
        input_ids = np.full((len(ids), length), self.pad_id, np.int64)
        mask = np.zeros((len(ids), length), np.int64)
        for row, seq in enumerate(ids):
            input_ids[row, length - len(seq) :] = seq
            mask[row, length - len(seq) :] = 1
        return input_ids, mask


#: Eagle 2.5's chat template (Qwen-style, default system prompt, ``<image-N>`` placeholders)
EAGLE_CHAT_TEMPLATE = (
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


def load_chat_template(directory: Path) -> str | None:
    """The chat template shipped with the tokenizer files, if any."""
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


class PromptBuilder:
    """Eagle's conversation -> text: the chat template, then each ``<image-N>`` placeholder
    becomes ``<image N><img>`` + ``<IMG_CONTEXT>`` x tokens-per-image + ``</img>`` (one tile)."""

    def __init__(self, num_image_token: int, template: str | None = None) -> None:
        from jinja2.sandbox import ImmutableSandboxedEnvironment

        env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
        self._template = env.from_string(template or EAGLE_CHAT_TEMPLATE)
        self.num_image_token = num_image_token

    def __call__(self, language: str, n_images: int) -> str:
        content: list[dict[str, Any]] = [{"type": "image"} for _ in range(n_images)]
        content.append({"type": "text", "text": language})
        text = self._template.render(
            messages=[{"role": "user", "content": content}], add_generation_prompt=True
        )
        context = IMG_CONTEXT * self.num_image_token
        return _PLACEHOLDER.sub(lambda m: f"<image {m.group(1)}><img>{context}</img>", text)


# -- the processor -----------------------------------------------------------------------------
@frozen
class ModelInputs:
    """Numpy inputs of the network (shared by the torch, onnx and tensorrt backends)."""

    pixel_values: np.ndarray  #: (B*T*V, 3, H, W) float32
    input_ids: np.ndarray  #: (B, L) int64
    attention_mask: np.ndarray  #: (B, L) int64
    state: np.ndarray  #: (B, 1, max_state_dim) float32
    embodiment_id: np.ndarray  #: (B,) int64


class Gr00tN15Processor:
    """Observation dicts -> :class:`ModelInputs`; model actions -> ``action.<key>`` dicts."""

    def __init__(
        self,
        metadata: EmbodimentMetadata,
        tokenizer: Tokenizer,
        embodiment_id: int,
        image_size: int,
        num_image_token: int,
        image_token_index: int,
        max_state_dim: int = 64,
        max_action_dim: int = 32,
        action_horizon: int = 16,
        normalization: Mapping[str, str] | str = "min_max",
        image_mean: Sequence[float] = (0.5, 0.5, 0.5),
        image_std: Sequence[float] = (0.5, 0.5, 0.5),
        crop_scale: float = 0.95,
        language_key: str = LANGUAGE_KEY,
        chat_template: str | None = None,
        clip_actions: bool = False,
    ) -> None:
        self.metadata = metadata
        self.clip_actions = clip_actions
        self._warned: set[str] = set()
        self.prompt = PromptBuilder(num_image_token, chat_template)
        self.tokenizer = tokenizer
        self.embodiment_id = embodiment_id
        self.image_size = image_size
        self.num_image_token = num_image_token
        self.max_state_dim = max_state_dim
        self.max_action_dim = max_action_dim
        self.action_horizon = action_horizon
        self.crop_scale = crop_scale
        self.language_key = language_key
        self.image_mean = np.asarray(image_mean, np.float32).reshape(1, 3, 1, 1)
        self.image_std = np.asarray(image_std, np.float32).reshape(1, 3, 1, 1)
        token = tokenizer.token_id(IMG_CONTEXT)
        if token != image_token_index:
            raise ModalityError(
                f"tokenizer maps {IMG_CONTEXT} to {token}, the model expects {image_token_index}"
            )
        state_dim = sum(k.dim for k in metadata.state)
        action_dim = sum(k.dim for k in metadata.action)
        if state_dim > max_state_dim:
            raise ModalityError(f"state is {state_dim}-D, the model takes at most {max_state_dim}")
        if action_dim > max_action_dim:
            raise ModalityError(
                f"action is {action_dim}-D, the model emits at most {max_action_dim}"
            )
        self.modes = self._modes(normalization)
        for modality, kds in (("state", metadata.state), ("action", metadata.action)):
            for kd in kds:
                stats = metadata.stats(modality, kd.key)
                mode = self.modes[f"{modality}.{kd.key}"]
                need = {
                    "min_max": ("min", "max"),
                    "q99": ("q01", "q99"),
                    "mean_std": ("mean", "std"),
                    "binary": (),
                    "identity": (),
                }[mode]
                absent = [n for n in need if n not in stats]
                if absent:
                    raise ModalityError(
                        f"metadata for '{metadata.tag}' lacks {absent} for {modality}.{kd.key} "
                        f"(needed by {mode} normalisation)"
                    )

    def _modes(self, normalization: Mapping[str, str] | str) -> dict[str, str]:
        keys = [f"state.{k.key}" for k in self.metadata.state] + [
            f"action.{k.key}" for k in self.metadata.action
        ]
        if isinstance(normalization, str):
            modes = {k: normalization for k in keys}
        else:
            unknown = sorted(set(normalization) - set(keys))
            if unknown:
                raise ModalityError(f"normalisation given for unknown keys {unknown}")
            modes = {k: normalization.get(k, "min_max") for k in keys}
        bad = {k: m for k, m in modes.items() if m not in NORMALIZATION_MODES}
        if bad:
            raise ModalityError(f"unknown normalisation modes {bad} (known: {NORMALIZATION_MODES})")
        return modes

    @property
    def layout(self) -> ModalityLayout:
        return ModalityLayout(
            state=self.metadata.state,
            action=self.metadata.action,
            video=tuple(
                VideoKey(v, *self.metadata.resolution.get(v, (self.image_size, self.image_size)))
                for v in self.metadata.video
            ),
            language_key=self.language_key,
            action_horizon=self.action_horizon,
            embodiment_tag=self.metadata.tag,
        )

    # observations -> inputs
    def _batch_of(self, observation: Mapping[str, Any], batched: bool) -> int:
        if not self.metadata.video:
            raise ModalityError("GR00T N1.5 needs at least one camera in the metadata")
        key = f"video.{self.metadata.video[0]}"
        if key not in observation:
            raise ObservationError(f"observation lacks '{key}'")
        return int(np.asarray(observation[key]).shape[0]) if batched else 1

    def _video(self, observation: Mapping[str, Any], batch: int, batched: bool) -> np.ndarray:
        views = []
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
            want_hw = self.metadata.resolution.get(name)
            if (
                want_hw is not None
                and tuple(arr.shape[2:4]) != want_hw
                and name not in self._warned
            ):
                self._warned.add(name)
                log.warning(
                    "'%s' is %dx%d, the checkpoint was trained on %dx%d frames (GR00T crops "
                    "95%% of those): results may differ",
                    key,
                    arr.shape[3],
                    arr.shape[2],
                    want_hw[1],
                    want_hw[0],
                )
            views.append(arr)
        video = np.stack(views, axis=2)  # (B, T, V, H, W, 3)
        b, t, v, h, w, _ = video.shape
        frames = crop_resize(
            video.reshape(b * t * v, h, w, 3), self.image_size, self.image_size, self.crop_scale
        )
        pixels = frames.transpose(0, 3, 1, 2).astype(np.float32) / 255.0
        return ((pixels - self.image_mean) / self.image_std).astype(np.float32)

    def _state(self, observation: Mapping[str, Any], batch: int, batched: bool) -> np.ndarray:
        parts = []
        for kd in self.metadata.state:
            key = f"state.{kd.key}"
            if key not in observation:
                raise ObservationError(f"observation lacks '{key}'")
            arr = np.asarray(observation[key], np.float32)
            if not batched:
                arr = arr[None]
            if arr.ndim != 3 or arr.shape[0] != batch or arr.shape[-1] != kd.dim:
                want = f"(B, T, {kd.dim})" if batched else f"(T, {kd.dim})"
                raise ObservationError(f"'{key}' has shape {list(arr.shape)}, expected {want}")
            if not np.isfinite(arr).all():
                raise ObservationError(f"'{key}' has non-finite values")
            stats = self.metadata.stats("state", kd.key)
            parts.append(normalize(arr[:, -1:], stats, self.modes[key]))
        state = np.concatenate(parts, axis=-1) if parts else np.zeros((batch, 1, 0), np.float32)
        pad = self.max_state_dim - state.shape[-1]
        return np.pad(state, ((0, 0), (0, 0), (0, pad))).astype(np.float32)

    def _language(self, observation: Mapping[str, Any], batch: int) -> list[str]:
        value = observation.get(self.language_key)
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

    def __call__(self, observation: Mapping[str, Any], batched: bool = False) -> ModelInputs:
        batch = self._batch_of(observation, batched)
        pixel_values = self._video(observation, batch, batched)
        n_images = pixel_values.shape[0] // batch
        prompts = [self.prompt(text, n_images) for text in self._language(observation, batch)]
        input_ids, mask = self.tokenizer(prompts)
        return ModelInputs(
            pixel_values=pixel_values,
            input_ids=input_ids,
            attention_mask=mask,
            state=self._state(observation, batch, batched),
            embodiment_id=np.full((batch,), self.embodiment_id, np.int64),
        )

    def collate(self, observations: Sequence[Mapping[str, Any]]) -> ModelInputs:
        """Several unbatched observations -> one batch (left-padded prompts)."""
        items = [self(o) for o in observations]
        prompts_ids = [i.input_ids[0][i.attention_mask[0] == 1] for i in items]
        length = max(len(p) for p in prompts_ids)
        ids = np.full((len(items), length), self.tokenizer.pad_id, np.int64)
        mask = np.zeros((len(items), length), np.int64)
        for row, seq in enumerate(prompts_ids):
            ids[row, length - len(seq) :] = seq
            mask[row, length - len(seq) :] = 1
        return ModelInputs(
            pixel_values=np.concatenate([i.pixel_values for i in items]),
            input_ids=ids,
            attention_mask=mask,
            state=np.concatenate([i.state for i in items]),
            embodiment_id=np.concatenate([i.embodiment_id for i in items]),
        )

    # actions -> chunk
    def decode(self, actions: np.ndarray) -> list[dict[str, np.ndarray]]:
        """(B, horizon, max_action_dim) normalised -> one ``action.<key>`` dict per item."""
        actions = np.asarray(actions, np.float32)
        out = []
        for item in actions:
            chunk, start = {}, 0
            for kd in self.metadata.action:
                key = f"action.{kd.key}"
                part = item[: self.action_horizon, start : start + kd.dim]
                stats = self.metadata.stats("action", kd.key)
                chunk[key] = unnormalize(part, stats, self.modes[key], self.clip_actions)
                start += kd.dim
            out.append(chunk)
        return out


def build_processor(
    checkpoint: Path,
    config: Any,
    embodiment_tag: str | None = None,
    tokenizer_dir: Path | None = None,
    normalization: Mapping[str, str] | str | None = None,
    clip_actions: bool = False,
    embodiment_id: int | None = None,
) -> Gr00tN15Processor:
    """The processor for a checkpoint directory and its :class:`GR00TN15Config`."""
    from groot_sdk.models.gr00t_n15.config import projector_index

    meta_path = checkpoint / "experiment_cfg" / "metadata.json"
    if embodiment_tag is None:
        tags = list(json.loads(meta_path.read_text())) if meta_path.is_file() else []
        if len(tags) != 1:
            raise ModalityError(
                f"choose embodiment_tag=...: metadata.json has {tags or 'no embodiments'}"
            )
        embodiment_tag = tags[0]
    if embodiment_id is None:
        embodiment_id = projector_index(embodiment_tag)
    slots = int(config.action_head_cfg.get("max_num_embodiments", 32))
    if not 0 <= int(embodiment_id) < slots:
        raise ModalityError(f"embodiment_id {embodiment_id} is outside the model's 0..{slots - 1}")
    metadata = read_metadata(meta_path, embodiment_tag)
    if normalization is None:
        normalization = _metadata_modes(meta_path, embodiment_tag) or "min_max"
    eagle = config.eagle_config
    vision = eagle["vision_config"]
    patches = (vision["image_size"] // vision["patch_size"]) ** 2
    ratio = float(eagle.get("downsample_ratio", 0.5))
    num_image_token = int(patches * ratio**2) if eagle.get("use_pixel_shuffle") else patches
    mean, std = _image_norm(tokenizer_dir or checkpoint)
    return Gr00tN15Processor(
        metadata,
        Tokenizer(tokenizer_dir or checkpoint),
        int(embodiment_id),
        image_size=int(vision["image_size"]),
        num_image_token=num_image_token,
        image_token_index=int(eagle["image_token_index"]),
        max_state_dim=config.max_state_dim,
        max_action_dim=config.max_action_dim,
        action_horizon=int(config.action_horizon),
        normalization=normalization,
        image_mean=mean,
        image_std=std,
        chat_template=load_chat_template(tokenizer_dir or checkpoint),
        clip_actions=clip_actions,
    )


def _metadata_modes(path: Path, tag: str) -> dict[str, str] | None:
    """Optional ``normalization_modes`` ({"state.x": "min_max", ...}) stored beside the stats."""
    entry = json.loads(path.read_text()).get(tag, {})
    modes = entry.get("normalization_modes")
    return dict(modes) if isinstance(modes, dict) else None


def _image_norm(directory: Path) -> tuple[list[float], list[float]]:
    file = directory / "preprocessor_config.json"
    if file.is_file():
        cfg = json.loads(file.read_text())
        return list(cfg.get("image_mean", [0.5] * 3)), list(cfg.get("image_std", [0.5] * 3))
    return [0.5] * 3, [0.5] * 3
