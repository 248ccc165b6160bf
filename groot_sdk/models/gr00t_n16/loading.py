"""Load a GR00T N1.6 checkpoint: a directory or a hub repo id (through the local HF cache).

A checkpoint is ``config.json`` (``model_type: Gr00tN1d6``), safetensors weights (one file or
shards with ``model.safetensors.index.json``), ``processor_config.json``, ``statistics.json`` and
``embodiment_id.json``. Every key and shape is compared with the model before anything is read;
mismatches are reported by name (N1.5's checkpoint helpers do the reading and comparing).
"""

from __future__ import annotations

import json
import logging
import math
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
from groot_sdk.models.gr00t_n15.loading import (
    eagle_config_from_shapes as n15_eagle_sizes,
)
from groot_sdk.models.gr00t_n16.config import MODEL_TYPE, Gr00tN1d6Config

log = logging.getLogger(__name__)

__all__ = ["CheckpointError", "load_config", "load_model", "resolve_checkpoint", "save_checkpoint"]

PREFIX = "backbone.model."
LM_HEAD = PREFIX + "language_model.lm_head."
#: parameters inference never runs, which checkpoints may or may not hold (the tied LM head,
#: SigLIP 2's pooling head)
OPTIONAL_PREFIXES = (LM_HEAD, PREFIX + "vision_model.vision_model.head.")
EMBED = PREFIX + "language_model.model.embed_tokens.weight"


def load_config(directory: Path) -> Gr00tN1d6Config:
    file = directory / "config.json"
    if not file.is_file():
        raise CheckpointError(f"{directory} has no config.json")
    data = json.loads(file.read_text())
    if data.get("model_type") != MODEL_TYPE:
        raise CheckpointError(
            f"{file}: model_type is '{data.get('model_type')}', expected '{MODEL_TYPE}' (GR00T N1.6)"
        )
    return Gr00tN1d6Config.from_dict(data)


def eagle_config_from_shapes(shapes: dict[str, tuple[int, ...]]) -> dict[str, Any]:
    """Eagle 3 sizes the weights imply (the released config.json does not spell them out)."""
    renamed = {
        "backbone.eagle_model." + k[len(PREFIX) :]: v
        for k, v in shapes.items()
        if k.startswith(PREFIX)
    }
    out = n15_eagle_sizes(renamed)  # text sizes, layer counts, widths: same names as N1.5
    out.pop("use_pixel_shuffle", None)
    out.pop("mlp_connector_layers", None)
    vision = out.get("vision_config", {})
    vision.pop("image_size", None)
    vis = PREFIX + "vision_model.vision_model.embeddings."
    if (patch := shapes.get(vis + "patch_embedding.weight")) is not None:  # Linear(p*p*3, C)
        vision["patch_size"] = math.isqrt(patch[1] // 3)
    if (pos := shapes.get(vis + "position_embedding.weight")) is not None:
        vision["num_patches"] = int(pos[0])
    if vision:
        out["vision_config"] = vision
    return out


def _strip_optional(shapes: dict[str, tuple[int, ...]]) -> dict[str, tuple[int, ...]]:
    return {k: v for k, v in shapes.items() if not k.startswith(OPTIONAL_PREFIXES)}


def load_model(
    name_or_path: str | os.PathLike[str],
    *,
    config: Gr00tN1d6Config | None = None,
    dtype: torch.dtype | str | None = None,
    torch_dtype: torch.dtype | str | None = None,
    device: str | torch.device = "cpu",
    revision: str | None = None,
    local_files_only: bool | None = None,
    **_: Any,
):
    """Build the model from ``config.json`` and load its safetensors weights, strictly.

    The model is built without parameter memory and each tensor is assigned in place.
    """
    from groot_sdk.models.gr00t_n16.modeling import Gr00tN1d6

    directory = resolve_checkpoint(name_or_path, revision, local_files_only)
    if config is None or not isinstance(config, Gr00tN1d6Config):
        config = load_config(directory)
    files = weight_files(directory)
    ckpt = checkpoint_shapes(files)
    if not config.eagle_config_override:
        derived = eagle_config_from_shapes(ckpt)
        if derived:
            log.info("Eagle 3 sizes read from the weights: %s", derived)
            config.eagle_config_override = derived
    with empty_parameters():
        model: Any = Gr00tN1d6(config)
    model_shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    renames = {}
    if EMBED not in ckpt and LM_HEAD + "weight" in ckpt:  # tied weights saved under the head
        renames[LM_HEAD + "weight"] = EMBED
        ckpt[EMBED] = ckpt.pop(LM_HEAD + "weight")
    problems = compare_keys(_strip_optional(model_shapes), _strip_optional(ckpt))
    if problems:
        raise CheckpointError(
            f"checkpoint {directory} does not match GR00T N1.6: " + " | ".join(problems)
        )
    want = weight_dtype(dtype, torch_dtype)
    loaded = load_weights(model, files, model_shapes, want, renames, same_shape=True)
    if hasattr(model.backbone.model.language_model, "tie_weights"):
        model.backbone.model.language_model.tie_weights()
    for name, param in list(model.named_parameters(remove_duplicate=False)):
        if param.is_meta and name.startswith(OPTIONAL_PREFIXES):  # heads inference never runs
            owner, _, attr = name.rpartition(".")
            zeros = torch.zeros(param.shape, dtype=want or param.dtype)
            setattr(model.get_submodule(owner), attr, torch.nn.Parameter(zeros, False))
    model = finish_loading(model, directory, device, want)
    log.info("loaded GR00T N1.6 from %s (%d tensors)", directory, loaded)
    return model


def save_checkpoint(model, directory: str | os.PathLike[str]) -> Path:
    """Write ``config.json`` and ``model.safetensors`` (the tied LM head left out)."""
    from safetensors.torch import save_file

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    model.config.architectures = ["Gr00tN1d6"]
    data = model.config.to_dict()  # every field, as a released config.json has them
    (out / "config.json").write_text(json.dumps(data, indent=2, sort_keys=True))
    state = {
        k: v.detach().contiguous().clone()
        for k, v in model.state_dict().items()
        if not k.startswith(LM_HEAD)
    }
    save_file(state, str(out / "model.safetensors"), metadata={"format": "pt"})
    return out
