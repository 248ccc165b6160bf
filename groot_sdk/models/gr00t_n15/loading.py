"""Load a GR00T N1.5 checkpoint: a directory or a hub repo id (through the local HF cache).

A checkpoint is ``config.json`` (``model_type: gr00t_n1_5``), safetensors weights (one file or
shards with ``model.safetensors.index.json``) and ``experiment_cfg/metadata.json``. Every key and
shape is compared with the model before loading; mismatches are reported by name.
"""

from __future__ import annotations

import json
import logging
import os
import struct
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch

from groot_sdk.errors import GrootError
from groot_sdk.models.gr00t_n15.config import MODEL_TYPE, GR00TN15Config

log = logging.getLogger(__name__)

#: files a hub snapshot needs (no optimizer states, no pickles)
CHECKPOINT_PATTERNS = [
    "*.json",
    "*.safetensors",
    "experiment_cfg/*",
    "*.jinja",
    "*.txt",
    "*.model",
]

#: parameters GR00T never uses at inference, which checkpoints may or may not contain
#: (the tied LM head, the SigLIP pooling head)
OPTIONAL_PREFIXES = (
    "backbone.eagle_model.language_model.lm_head.",
    "backbone.eagle_model.vision_model.vision_model.head.",
)


class CheckpointError(GrootError, ValueError):
    """A checkpoint is missing files, or its keys/shapes do not match the model."""


def resolve_checkpoint(
    name_or_path: str | os.PathLike[str],
    revision: str | None = None,
    local_files_only: bool | None = None,
    allow_patterns: Iterable[str] = CHECKPOINT_PATTERNS,
) -> Path:
    """A local directory as is; a repo id through ``huggingface_hub`` (honours HF_HUB_OFFLINE)."""
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        return path
    text = str(name_or_path)
    if path.exists() or text.startswith((".", "/", "~")) or text.count("/") != 1:
        raise CheckpointError(f"checkpoint '{text}' is not a directory nor a hub repo id")
    from huggingface_hub import snapshot_download

    kwargs: dict[str, Any] = {"repo_id": text, "revision": revision}
    if local_files_only is not None:
        kwargs["local_files_only"] = local_files_only
    try:
        return Path(snapshot_download(allow_patterns=list(allow_patterns), **kwargs))
    except Exception as exc:  # hub errors have many types; the message is what matters
        raise CheckpointError(f"cannot get checkpoint '{text}': {exc}") from exc


def load_config(directory: Path) -> GR00TN15Config:
    file = directory / "config.json"
    if not file.is_file():
        raise CheckpointError(f"{directory} has no config.json")
    data = json.loads(file.read_text())
    if data.get("model_type") != MODEL_TYPE:
        raise CheckpointError(
            f"{file}: model_type is '{data.get('model_type')}', expected '{MODEL_TYPE}'"
        )
    return GR00TN15Config.from_dict(data)


def weight_files(directory: Path) -> list[Path]:
    index = directory / "model.safetensors.index.json"
    if index.is_file():
        shards = sorted(set(json.loads(index.read_text())["weight_map"].values()))
        missing = [s for s in shards if not (directory / s).is_file()]
        if missing:
            raise CheckpointError(f"{directory}: missing weight shards {missing}")
        return [directory / s for s in shards]
    files = sorted(directory.glob("*.safetensors"))
    if not files:
        raise CheckpointError(f"{directory} has no *.safetensors weights")
    return files


def checkpoint_shapes(files: list[Path]) -> dict[str, tuple[int, ...]]:
    from safetensors import safe_open

    shapes: dict[str, tuple[int, ...]] = {}
    for file in files:
        try:
            with safe_open(str(file), framework="pt") as f:
                for key in f.keys():  # noqa: SIM118 - a safetensors handle, not a dict
                    shapes[key] = tuple(f.get_slice(key).get_shape())
        except Exception as exc:  # SafetensorError is not importable by a stable name
            raise CheckpointError(f"{file} is not a readable safetensors file: {exc}") from exc
    return shapes


def compare_keys(
    model_shapes: dict[str, tuple[int, ...]], ckpt_shapes: dict[str, tuple[int, ...]]
) -> list[str]:
    """Problems as readable lines: missing keys, unexpected keys, shape mismatches."""

    def optional(key: str) -> bool:
        return key.startswith(OPTIONAL_PREFIXES)

    missing = sorted(k for k in model_shapes if k not in ckpt_shapes and not optional(k))
    unexpected = sorted(k for k in ckpt_shapes if k not in model_shapes and not optional(k))
    shapes = sorted(
        f"{k}: checkpoint {list(ckpt_shapes[k])} vs model {list(model_shapes[k])}"
        for k in model_shapes
        if k in ckpt_shapes and tuple(ckpt_shapes[k]) != tuple(model_shapes[k])
    )
    problems = []
    if missing:
        problems.append(f"missing keys ({len(missing)}): {', '.join(missing[:20])}")
    if unexpected:
        problems.append(f"unexpected keys ({len(unexpected)}): {', '.join(unexpected[:20])}")
    if shapes:
        problems.append(f"shape mismatches ({len(shapes)}): {'; '.join(shapes[:20])}")
    return problems


_EAGLE = "backbone.eagle_model."


def eagle_config_from_shapes(shapes: dict[str, tuple[int, ...]]) -> dict[str, Any]:
    """Eagle 2.5 sizes implied by the weights (released configs do not spell them out).

    Vocabulary, widths, layer counts, patch and image size, head counts where the weights fix
    them (Qwen3's q_norm gives head_dim), the connector's depth and pixel shuffle. Anything the
    weights do not determine (vision heads, rope theta) keeps N1.5's published value.
    """
    vis = _EAGLE + "vision_model.vision_model."
    lm = _EAGLE + "language_model.model."
    text: dict[str, Any] = {}
    vision: dict[str, Any] = {}
    out: dict[str, Any] = {}
    if (emb := shapes.get(lm + "embed_tokens.weight")) is not None:
        text["vocab_size"], text["hidden_size"] = emb
    if (gate := shapes.get(lm + "layers.0.mlp.gate_proj.weight")) is not None:
        text["intermediate_size"] = gate[0]
    q, k = (
        shapes.get(lm + "layers.0.self_attn.q_proj.weight"),
        shapes.get(lm + "layers.0.self_attn.k_proj.weight"),
    )
    if (qn := shapes.get(lm + "layers.0.self_attn.q_norm.weight")) is not None and q and k:
        text["head_dim"] = qn[0]
        text["num_attention_heads"] = q[0] // qn[0]
        text["num_key_value_heads"] = k[0] // qn[0]
    if (patch := shapes.get(vis + "embeddings.patch_embedding.weight")) is not None:
        vision["hidden_size"], vision["patch_size"] = patch[0], patch[-1]
        if (pos := shapes.get(vis + "embeddings.position_embedding.weight")) is not None:
            vision["image_size"] = round(pos[0] ** 0.5) * patch[-1]
    prefix = vis + "encoder.layers."
    layers = {k[len(prefix) :].split(".")[0] for k in shapes if k.startswith(prefix)}
    if layers:
        vision["num_hidden_layers"] = len(layers)
    if (fc1 := shapes.get(vis + "encoder.layers.0.mlp.fc1.weight")) is not None:
        vision["intermediate_size"] = fc1[0]
    if (first := shapes.get(_EAGLE + "mlp1.0.weight")) is not None:
        # 1 layer: Linear(in, llm); 2 layers: LayerNorm(in), Linear, GELU, Linear
        out["mlp_connector_layers"] = 2 if _EAGLE + "mlp1.3.weight" in shapes else 1
        if "hidden_size" in vision:
            out["use_pixel_shuffle"] = first[-1] > vision["hidden_size"]
    if text:
        out["text_config"] = text
    if vision:
        out["vision_config"] = vision
    return out


@contextmanager
def empty_parameters() -> Iterator[None]:
    """Modules built inside get their parameters on the meta device (no memory, no init).

    Buffers stay real: the non-persistent ones (rotary frequencies, position ids) are computed
    at construction and are not in checkpoints. The weights are then read straight into the
    model (:func:`read_safetensors`, ``load_state_dict(assign=True)``), so loading peaks near
    the weights' size instead of a random model plus a state dict.
    """
    register = torch.nn.Module.register_parameter

    def on_meta(module: torch.nn.Module, name: str, param: Any) -> None:
        if param is not None and param.device.type != "meta":
            param = torch.nn.Parameter(param.to("meta"), requires_grad=param.requires_grad)
        register(module, name, param)

    torch.nn.Module.register_parameter = on_meta  # type: ignore[method-assign, assignment, unused-ignore]
    try:
        yield
    finally:
        torch.nn.Module.register_parameter = register  # type: ignore[method-assign, unused-ignore]


_SAFETENSORS_DTYPES = {
    "F64": torch.float64,
    "F32": torch.float32,
    "F16": torch.float16,
    "BF16": torch.bfloat16,
    "I64": torch.int64,
    "I32": torch.int32,
    "I16": torch.int16,
    "I8": torch.int8,
    "U8": torch.uint8,
    "BOOL": torch.bool,
}


def read_safetensors(file: Path) -> Iterator[tuple[str, torch.Tensor]]:
    """Each tensor of a safetensors file, read from disk straight into its own memory.

    ``readinto`` goes through the page cache, never a mapping of the file, so the process holds
    each byte once (a mapped read counts the file's pages and the copy both).
    """
    with open(file, "rb") as f:
        (size,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(size))
        header.pop("__metadata__", None)
        start = 8 + size
        for key, info in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
            dtype = _SAFETENSORS_DTYPES.get(info["dtype"])
            if dtype is None:
                raise CheckpointError(
                    f"{file}: tensor '{key}' has unsupported dtype {info['dtype']}"
                )
            begin, end = info["data_offsets"]
            tensor = torch.empty(info["shape"], dtype=dtype)
            view = tensor.reshape(-1).view(torch.uint8).numpy().data
            f.seek(start + begin)
            if f.readinto(view) != end - begin:
                raise CheckpointError(f"{file}: tensor '{key}' is truncated")
            yield key, tensor


def load_model(
    name_or_path: str | os.PathLike[str],
    *,
    config: GR00TN15Config | None = None,
    dtype: torch.dtype | str | None = None,
    torch_dtype: torch.dtype | str | None = None,
    device: str | torch.device = "cpu",
    revision: str | None = None,
    local_files_only: bool | None = None,
    **_: Any,
):
    """Build the model from ``config.json`` and load its safetensors weights, strictly.

    The model is built without parameter memory and the weights are assigned in place, so the
    peak is about the weights' size (plus a converted copy of one tensor at a time for ``dtype``).
    """
    from groot_sdk.models.gr00t_n15.modeling import GR00TN15

    directory = resolve_checkpoint(name_or_path, revision, local_files_only)
    if config is None or not isinstance(config, GR00TN15Config):
        config = load_config(directory)
    files = weight_files(directory)
    ckpt = checkpoint_shapes(files)
    if "eagle_config" not in config.backbone_cfg:
        derived = eagle_config_from_shapes(ckpt)
        if derived:
            log.info("Eagle sizes read from the weights: %s", derived)
            config.backbone_cfg["eagle_config"] = derived
    with empty_parameters():
        model: Any = GR00TN15(config)
    model_shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    embed = "backbone.eagle_model.language_model.model.embed_tokens.weight"
    head = OPTIONAL_PREFIXES[0] + "weight"
    renames = {}
    if embed not in ckpt and head in ckpt:  # tied weights saved under the head's name
        renames[head] = embed
        ckpt[embed] = ckpt.pop(head)
    problems = compare_keys(model_shapes, ckpt)
    if problems:
        raise CheckpointError(
            f"checkpoint {directory} does not match GR00T N1.5: " + " | ".join(problems)
        )
    want = weight_dtype(dtype, torch_dtype)
    loaded = load_weights(model, files, model_shapes, want, renames)
    if hasattr(model.backbone.eagle_model.language_model, "tie_weights"):
        model.backbone.eagle_model.language_model.tie_weights()
    _materialize_unused(model, want)
    model = finish_loading(model, directory, device, want)
    log.info("loaded GR00T N1.5 from %s (%d tensors)", directory, loaded)
    return model


def weight_dtype(dtype: Any, torch_dtype: Any) -> Any:
    """``dtype`` (or transformers' older ``torch_dtype``) as a torch dtype, or None."""
    want = dtype or torch_dtype
    if isinstance(want, str):
        want = getattr(torch, want)
    return want


def load_weights(
    model: torch.nn.Module,
    files: Iterable[Path],
    model_shapes: dict[str, tuple[int, ...]],
    want: torch.dtype | None,
    renames: dict[str, str] | None = None,
    skip_prefix: str | None = None,
    same_shape: bool = False,
) -> int:
    """Stream the files' tensors into the empty (meta) model, one file's state at a time, each
    floating tensor cast to ``want``; keys the model lacks (or ``skip_prefix``, or of another
    shape when ``same_shape``) are left out. Returns how many tensors were loaded."""
    loaded = 0
    for file in files:
        state: dict[str, torch.Tensor] = {}
        for key, tensor in read_safetensors(file):
            key = renames.get(key, key) if renames else key
            if key not in model_shapes or (skip_prefix and key.startswith(skip_prefix)):
                continue
            if same_shape and tuple(tensor.shape) != model_shapes[key]:
                continue
            if want is not None and tensor.is_floating_point():
                tensor = tensor.to(want)  # one tensor at a time, not a second model
            state[key] = tensor
        model.load_state_dict(state, strict=False, assign=True)
        loaded += len(state)
        del state
    return loaded


def finish_loading(model: Any, directory: Path, device: Any, want: torch.dtype | None) -> Any:
    """Refuse a model with parameters still on meta, then move it, set eval mode, remember
    ``checkpoint_dir``."""
    absent = [k for k, v in model.state_dict().items() if v.is_meta]
    if absent:  # pragma: no cover - compare_keys catches these first
        raise CheckpointError(f"keys not loaded: {absent[:20]}")
    model = model.to(device=device, dtype=want) if want is not None else model.to(device)
    model.eval()
    model.checkpoint_dir = directory
    return model


def _materialize_unused(model: torch.nn.Module, dtype: torch.dtype | None) -> None:
    """Zeros for the optional parameters a checkpoint left out (heads inference never runs)."""
    for name, param in list(model.named_parameters(remove_duplicate=False)):
        if param.is_meta and name.startswith(OPTIONAL_PREFIXES):
            owner, _, attr = name.rpartition(".")
            module = model.get_submodule(owner)
            zeros = torch.zeros(param.shape, dtype=dtype or param.dtype)
            setattr(module, attr, torch.nn.Parameter(zeros, requires_grad=param.requires_grad))


def save_checkpoint(model, directory: str | os.PathLike[str], metadata: dict[str, Any]) -> Path:
    """Write ``config.json``, ``model.safetensors`` and ``experiment_cfg/metadata.json``."""
    from safetensors.torch import save_file

    out = Path(directory)
    (out / "experiment_cfg").mkdir(parents=True, exist_ok=True)
    model.config.architectures = ["GR00T_N1_5"]
    model.config.to_json_file(str(out / "config.json"))
    state = {
        k: v.detach().contiguous().clone()
        for k, v in model.state_dict().items()
        if not k.startswith(OPTIONAL_PREFIXES[0])  # the LM head is tied to the embeddings
    }
    save_file(state, str(out / "model.safetensors"), metadata={"format": "pt"})
    (out / "experiment_cfg" / "metadata.json").write_text(json.dumps(metadata, indent=2))
    return out
