"""A tiny GR00T N1.6 checkpoint (random weights, the released names and config schema).

Everything a run needs is written locally: ``config.json``, ``model.safetensors``,
``processor_config.json``, ``statistics.json`` (with ``relative_action`` statistics),
``embodiment_id.json`` and a word-level tokenizer with Eagle's special tokens (no downloads).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from groot_sdk.models.common.tiny import random_stats as _stats
from groot_sdk.models.gr00t_n15.tiny import IMG_CONTEXT, SPECIAL_TOKENS, WORDS, write_tiny_tokenizer

_NORMS = (
    "norm.weight",
    "layernorm.weight",
    "layer_norm1.weight",
    "layer_norm2.weight",
    "mlp1.0.weight",
)

#: the tiny checkpoints' camera pipeline: 84 px shortest edge -> 6x6 patches of 14 -> 9 tokens
TINY_IMAGE_EDGE = 84


def tiny_config_dict(
    max_state_dim: int = 32,
    max_action_dim: int = 32,
    action_horizon: int = 16,
    num_inference_timesteps: int = 4,
) -> dict[str, Any]:
    """A few layers, widths of 32; 4 DiT blocks so text, self and image blocks all occur."""
    width = 32
    vocab = len(SPECIAL_TOKENS) + len(WORDS) + 2  # + "\n", [UNK]
    eagle = {
        "vision_config": {
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_attention_heads": 2,
            "num_hidden_layers": 2,
            "num_patches": 16,  # a 4x4 position grid, resized to each image's grid
            "patch_size": 14,
        },
        "text_config": {
            "architectures": ["Qwen3ForCausalLM"],
            "hidden_size": width,
            "intermediate_size": 64,
            "num_attention_heads": 4,
            "num_key_value_heads": 2,
            "head_dim": 8,
            "num_hidden_layers": 4,
            "vocab_size": vocab,
            "max_position_embeddings": 512,
            "tie_word_embeddings": True,
        },
        "image_token_index": SPECIAL_TOKENS.index(IMG_CONTEXT),
    }
    return {
        "model_type": "Gr00tN1d6",
        "model_dtype": "float32",
        "select_layer": 2,
        "backbone_embedding_dim": width,
        "max_state_dim": max_state_dim,
        "max_action_dim": max_action_dim,
        "action_horizon": action_horizon,
        "hidden_size": 32,
        "input_embedding_dim": 32,
        "max_seq_len": 64,
        "use_alternate_vl_dit": True,
        "attend_text_every_n_blocks": 2,
        "num_inference_timesteps": num_inference_timesteps,
        "state_dropout_prob": 0.8,
        "use_relative_action": True,
        "shortest_image_edge": TINY_IMAGE_EDGE,
        "diffusion_model_cfg": {
            "num_layers": 4,
            "num_attention_heads": 2,
            "attention_head_dim": 16,
            "output_dim": 32,
        },
        "eagle_config": eagle,
    }


def wide_config_dict(
    vision_layers: int = 1,
    llm_layers: int = 1,
    dit_layers: int = 2,
    vocab_size: int = 4096,
    max_state_dim: int = 128,
    max_action_dim: int = 128,
    action_horizon: int = 50,
) -> dict[str, Any]:
    """N1.6's real widths (SigLIP 2 1152, Qwen3 2048, DiT 1536) with fewer layers (benchmarks)."""
    from groot_sdk.models.gr00t_n16.config import DEFAULT_EAGLE_CONFIG

    eagle = json.loads(json.dumps(DEFAULT_EAGLE_CONFIG))
    eagle["vision_config"]["num_hidden_layers"] = vision_layers
    eagle["text_config"]["vocab_size"] = vocab_size
    eagle["image_token_index"] = SPECIAL_TOKENS.index(IMG_CONTEXT)
    return {
        "model_type": "Gr00tN1d6",
        "model_dtype": "float32",
        "select_layer": llm_layers,
        "max_state_dim": max_state_dim,
        "max_action_dim": max_action_dim,
        "action_horizon": action_horizon,
        "state_dropout_prob": 0.8,
        "diffusion_model_cfg": {"num_layers": dit_layers},
        "eagle_config": eagle,
    }


def tiny_processor_files(
    state: dict[str, int],
    action: dict[str, int],
    cameras: Iterable[str] = ("front",),
    tag: str = "new_embodiment",
    seed: int = 0,
    relative: Iterable[str] = (),
    action_horizon: int = 16,
    max_state_dim: int = 32,
    max_action_dim: int = 32,
    image_edge: int = TINY_IMAGE_EDGE,
) -> dict[str, Any]:
    """``processor_config.json``, ``statistics.json`` and ``embodiment_id.json`` contents in
    Isaac-GR00T N1.6's layout, with made-up statistics (relative ones per horizon step)."""
    rng = np.random.default_rng(seed)
    relative = set(relative)
    unknown = relative - set(action)
    if unknown:
        raise ValueError(f"relative keys {sorted(unknown)} are not action keys")
    action_configs = [
        {
            "rep": "RELATIVE" if key in relative else "ABSOLUTE",  # N1.6 writes enum names
            "type": "NON_EEF",
            "format": "DEFAULT",
            "state_key": key if key in relative else None,
        }
        for key in action
    ]
    modality = {
        "video": {"delta_indices": [0], "modality_keys": list(cameras)},
        "state": {
            "delta_indices": [0],
            "modality_keys": list(state),
            "sin_cos_embedding_keys": None,
            "mean_std_embedding_keys": None,
            "action_configs": None,
        },
        "action": {
            "delta_indices": list(range(action_horizon)),
            "modality_keys": list(action),
            "sin_cos_embedding_keys": None,
            "mean_std_embedding_keys": None,
            "action_configs": action_configs,
        },
        "language": {"delta_indices": [0], "modality_keys": ["annotation.human.task_description"]},
    }
    statistics = {
        "state": {k: _stats((d,), rng, -2.0, 2.0) for k, d in state.items()},
        "action": {k: _stats((d,), rng, -1.5, 1.5) for k, d in action.items()},
        "relative_action": {
            k: _stats((action_horizon, action[k]), rng, -0.3, 0.3) for k in action if k in relative
        },
    }
    config = {
        "processor_class": "Gr00tN1d6Processor",
        "processor_kwargs": {
            "modality_configs": {tag: modality},
            "image_crop_size": None,
            "image_target_size": None,
            "use_albumentations": True,
            "random_rotation_angle": None,
            "color_jitter_params": None,
            "shortest_image_edge": image_edge,
            "crop_fraction": 0.95,
            "model_name": "nvidia/Eagle-Block2A-2B-v2",
            "model_type": "eagle",
            "formalize_language": True,
            "max_state_dim": max_state_dim,
            "max_action_dim": max_action_dim,
            "max_action_horizon": action_horizon,
            "use_percentiles": False,
            "clip_outliers": True,
            "apply_sincos_state_encoding": False,
            "use_relative_action": bool(relative),
        },
    }
    from groot_sdk.models.gr00t_n16.config import EMBODIMENT_TAG_MAPPING

    ids = dict(EMBODIMENT_TAG_MAPPING)
    ids.setdefault(tag, 10)
    return {
        "processor_config.json": config,
        "statistics.json": {tag: statistics},
        "embodiment_id.json": ids,
    }


def build_tiny_checkpoint(
    directory: str | Path,
    state: dict[str, int] | None = None,
    action: dict[str, int] | None = None,
    cameras: tuple[str, ...] = ("front",),
    tag: str = "new_embodiment",
    seed: int = 0,
    config: dict[str, Any] | None = None,
    *,
    relative: Iterable[str] = (),
    action_horizon: int | None = None,
) -> Path:
    """Write a complete tiny random N1.6 checkpoint directory and return its path.

    ``config`` replaces the tiny network (e.g. :func:`wide_config_dict`); ``relative`` names
    action keys stored as deltas from the state key of the same name.
    """
    import torch

    from groot_sdk.models.gr00t_n16.config import Gr00tN1d6Config
    from groot_sdk.models.gr00t_n16.loading import save_checkpoint
    from groot_sdk.models.gr00t_n16.modeling import Gr00tN1d6

    cfg = Gr00tN1d6Config(**(config or tiny_config_dict()))
    torch.manual_seed(seed)
    model = Gr00tN1d6(cfg)
    with torch.no_grad():  # _init_weights is a no-op: give every tensor a small random value
        for name, param in model.named_parameters():
            if name.endswith(_NORMS):
                param.fill_(1.0)
            else:
                param.normal_(0.0, 0.2)
    out = save_checkpoint(model, directory)
    state = state or {"single_arm": 6, "gripper": 1}
    action = action or {"single_arm": 6, "gripper": 1}
    files = tiny_processor_files(
        state,
        action,
        cameras,
        tag,
        seed,
        relative,
        action_horizon or min(16, int(cfg.action_horizon)),
        int(cfg.max_state_dim),
        int(cfg.max_action_dim),
        int(cfg.shortest_image_edge),
    )
    for name, content in files.items():
        (out / name).write_text(json.dumps(content, indent=2))
    write_tiny_tokenizer(out)
    return out
