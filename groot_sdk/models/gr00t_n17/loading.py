"""Load a GR00T N1.7 checkpoint: a directory or a hub repo id (through the local HF cache).

A checkpoint is ``config.json`` (``model_type: Gr00tN1d7``), safetensors weights (one file or
shards with ``model.safetensors.index.json``), ``statistics.json``, ``embodiment_id.json`` and
``processor_config.json``. Every key and shape is compared with the model before loading; the
generic machinery (hub resolution, shapes, comparison, meta-device build, streaming reads) is
N1.5's.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import torch

from groot_sdk.models.gr00t_n15.loading import (
    CheckpointError,
    checkpoint_shapes,
    compare_keys,
    empty_parameters,
    finish_loading,
    load_weights,
    resolve_checkpoint,
    weight_dtype,
    weight_files,
)
from groot_sdk.models.gr00t_n17.config import MODEL_TYPE, GR00TN17Config

log = logging.getLogger(__name__)

#: tied to the input embeddings and never run by GR00T: absent from released checkpoints
LM_HEAD = "backbone.model.lm_head."
EMBED = "backbone.model.model.language_model.embed_tokens.weight"
#: files of a checkpoint (no optimizer states)
CHECKPOINT_PATTERNS = ["*.json", "*.safetensors", "*.jinja", "*.txt"]


def load_config(directory: Path) -> GR00TN17Config:
    file = directory / "config.json"
    if not file.is_file():
        raise CheckpointError(f"{directory} has no config.json")
    data = json.loads(file.read_text())
    if data.get("model_type") != MODEL_TYPE:
        raise CheckpointError(
            f"{file}: model_type is '{data.get('model_type')}', expected '{MODEL_TYPE}' (GR00T N1.7)"
        )
    return GR00TN17Config.from_dict(data)


def _problems(model_shapes: dict[str, tuple[int, ...]], ckpt: dict[str, tuple[int, ...]]):
    model_shapes = {k: v for k, v in model_shapes.items() if not k.startswith(LM_HEAD)}
    ckpt = {k: v for k, v in ckpt.items() if not k.startswith(LM_HEAD)}
    return compare_keys(model_shapes, ckpt)


def load_model(
    name_or_path: str | os.PathLike[str],
    *,
    config: GR00TN17Config | None = None,
    dtype: torch.dtype | str | None = None,
    torch_dtype: torch.dtype | str | None = None,
    device: str | torch.device = "cpu",
    revision: str | None = None,
    local_files_only: bool | None = None,
    **_: Any,
):
    """Build the model from ``config.json`` and load its safetensors weights, strictly."""
    from groot_sdk.models.gr00t_n17.modeling import GR00TN17

    directory = resolve_checkpoint(name_or_path, revision, local_files_only, CHECKPOINT_PATTERNS)
    if config is None or not isinstance(config, GR00TN17Config):
        config = load_config(directory)
    files = weight_files(directory)
    ckpt = checkpoint_shapes(files)
    with empty_parameters():
        model: Any = GR00TN17(config)
    model_shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    problems = _problems(model_shapes, ckpt)
    if problems:
        raise CheckpointError(
            f"checkpoint {directory} does not match GR00T N1.7: " + " | ".join(problems)
        )
    want = weight_dtype(dtype, torch_dtype)
    loaded = load_weights(model, files, model_shapes, want, skip_prefix=LM_HEAD)
    model.backbone.model.lm_head.weight = model.backbone.language_model.embed_tokens.weight
    model = finish_loading(model, directory, device, want)
    log.info("loaded GR00T N1.7 from %s (%d tensors)", directory, loaded)
    return model


def save_checkpoint(model, directory: str | os.PathLike[str]) -> Path:
    """Write ``config.json`` and ``model.safetensors`` (without the tied LM head)."""
    from safetensors.torch import save_file

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    model.config.architectures = ["Gr00tN1d7"]
    model.config.to_json_file(str(out / "config.json"))
    state = {
        k: v.detach().contiguous().clone()
        for k, v in model.state_dict().items()
        if not k.startswith(LM_HEAD)
    }
    save_file(state, str(out / "model.safetensors"), metadata={"format": "pt"})
    return out
