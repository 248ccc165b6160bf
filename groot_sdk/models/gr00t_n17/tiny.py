"""A tiny GR00T N1.7 checkpoint (random weights, the released names and config schema).

Everything a real checkpoint ships beside the weights is written too (``statistics.json``
with ``relative_action`` entries, ``embodiment_id.json``, ``processor_config.json``) plus a
word-level tokenizer with Qwen3-VL's special tokens, so nothing is downloaded. Images keep
N1.7's real 256 px / 230 crop, the action head its real 132-D, 40-step output.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from groot_sdk.models.common.tiny import random_stats as _stats
from groot_sdk.models.common.tiny import write_word_tokenizer

SPECIAL_TOKENS = [
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|image_pad|>",
    "<|video_pad|>",
]
WORDS = ["user", "assistant", "pick", "up", "the", "cube", "place", "it", "in", "box", "and"]
WORDS += ["perform", "task", "red", "blue", "a", "to"]


def _vocab_size() -> int:
    return len(SPECIAL_TOKENS) + len(WORDS) + 1  # + [UNK]


def tiny_config_dict(num_inference_timesteps: int = 4) -> dict[str, Any]:
    """A Qwen3-VL of width 32 (2 vision blocks, 4 LM layers cut to 2), a 4-block DiT."""
    width = 32
    backbone = {
        "image_token_id": SPECIAL_TOKENS.index("<|image_pad|>"),
        "video_token_id": SPECIAL_TOKENS.index("<|video_pad|>"),
        "vision_start_token_id": SPECIAL_TOKENS.index("<|vision_start|>"),
        "vision_end_token_id": SPECIAL_TOKENS.index("<|vision_end|>"),
        "text_config": {
            "hidden_size": width,
            "intermediate_size": 64,
            "num_attention_heads": 4,
            "num_key_value_heads": 2,
            "head_dim": 8,
            "num_hidden_layers": 4,
            "vocab_size": _vocab_size(),
            "max_position_embeddings": 1024,
            "rope_scaling": {
                "mrope_interleaved": True,
                "mrope_section": [2, 1, 1],
                "rope_type": "default",
            },
            "bos_token_id": 0,
            "eos_token_id": 2,
        },
        "vision_config": {
            "depth": 2,
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_heads": 2,
            "num_position_embeddings": 64,
            "out_hidden_size": width,
            "deepstack_visual_indexes": [0, 1],
        },
    }
    block = {"attention_head_dim": 16, "num_attention_heads": 2, "dropout": 0.2}
    return {
        "model_type": "Gr00tN1d7",
        "select_layer": 2,
        "backbone_embedding_dim": width,
        "hidden_size": 32,
        "input_embedding_dim": 32,
        "max_seq_len": 64,
        "num_inference_timesteps": num_inference_timesteps,
        "diffusion_model_cfg": {
            **block,
            "positional_embeddings": None,
            "num_layers": 4,
            "norm_type": "ada_norm",
            "final_dropout": True,
            "output_dim": 32,
            "interleave_self_attention": True,
        },
        "vl_self_attention_cfg": {
            **block,
            "positional_embeddings": None,
            "num_layers": 1,
            "final_dropout": True,
        },
        "backbone_config": backbone,
    }


def wide_config_dict(
    vision_layers: int = 1,
    llm_layers: int = 1,
    dit_layers: int = 2,
    vl_layers: int = 1,
    vocab_size: int = 4096,
    num_inference_timesteps: int = 4,
    embodiments: int = 32,
) -> dict[str, Any]:
    """N1.7's real widths (vision 1024, LM 2048, DiT 1536, 256 px) with fewer layers (benchmarks).
    Uses the tiny tokenizer's special token ids; ``embodiments`` projector slots (the category
    weights are most of the head: 32 slots are ~1.3 GB of fp32)."""
    from groot_sdk.models.gr00t_n17.config import DEFAULTS

    cfg = json.loads(json.dumps(DEFAULTS))
    tiny = tiny_config_dict(num_inference_timesteps)["backbone_config"]
    cfg["backbone_config"] = {
        **{k: v for k, v in tiny.items() if k.endswith("_token_id")},
        "text_config": {"vocab_size": vocab_size, "bos_token_id": 0, "eos_token_id": 2},
        "vision_config": {"depth": vision_layers, "deepstack_visual_indexes": [0]},
    }
    cfg["select_layer"] = llm_layers
    cfg["diffusion_model_cfg"]["num_layers"] = dit_layers
    cfg["vl_self_attention_cfg"]["num_layers"] = vl_layers
    cfg["num_inference_timesteps"] = num_inference_timesteps
    cfg["max_num_embodiments"] = embodiments
    cfg["model_type"] = "Gr00tN1d7"
    return cfg


def tiny_sidecars(
    state: dict[str, int],
    action: dict[str, int],
    cameras: tuple[str, ...] = ("front",),
    tag: str = "new_embodiment",
    seed: int = 0,
    relative: tuple[str, ...] = (),
    horizon: int = 40,
) -> dict[str, dict[str, Any]]:
    """``statistics.json``, ``processor_config.json``, ``embodiment_id.json`` contents.

    ``relative`` action keys are deltas from the state key of the same name (``rep:
    RELATIVE``, ``type: NON_EEF``) with per-step ``relative_action`` statistics.
    """
    from groot_sdk.models.gr00t_n17.config import EMBODIMENT_TAG_MAPPING

    rng = np.random.default_rng(seed)
    missing = [k for k in relative if k not in action or state.get(k) != action[k]]
    if missing:
        raise ValueError(f"relative action keys {missing} need a state key of the same size")
    statistics = {
        tag: {
            "state": {k: _stats((d,), rng, -2.0, 2.0) for k, d in state.items()},
            "action": {k: _stats((d,), rng, -1.5, 1.5) for k, d in action.items()},
            "relative_action": {k: _stats((horizon, action[k]), rng, -0.3, 0.3) for k in relative},
        }
    }
    modality = {
        "video": {"delta_indices": [0], "modality_keys": list(cameras)},
        "state": {"delta_indices": [0], "modality_keys": list(state)},
        "action": {
            "delta_indices": list(range(horizon)),
            "modality_keys": list(action),
            "action_configs": [
                {
                    "rep": "RELATIVE" if k in relative else "ABSOLUTE",
                    "type": "NON_EEF",
                    "format": "DEFAULT",
                    "state_key": None,
                }
                for k in action
            ],
        },
        "language": {"delta_indices": [0], "modality_keys": ["annotation.human.task_description"]},
    }
    processor = {
        "processor_class": "Gr00tN1d7Processor",
        "processor_kwargs": {
            "modality_configs": {tag: modality},
            "image_crop_size": [230, 230],
            "image_target_size": [256, 256],
            "use_albumentations": False,
            "formalize_language": True,
            "use_percentiles": True,
            "use_relative_action": bool(relative),
            "clip_outliers": True,
            "max_state_dim": 132,
            "max_action_dim": 132,
            "max_action_horizon": 40,
        },
    }
    ids = dict(EMBODIMENT_TAG_MAPPING)
    ids.setdefault(tag, 31)
    return {
        "statistics.json": statistics,
        "processor_config.json": processor,
        "embodiment_id.json": ids,
    }


def write_tiny_tokenizer(directory: Path) -> Path:
    """A word-level ``tokenizer.json`` with Qwen3-VL's special tokens (built locally)."""
    return write_word_tokenizer(directory, SPECIAL_TOKENS, WORDS)


def build_tiny_checkpoint(
    directory: str | Path,
    state: dict[str, int] | None = None,
    action: dict[str, int] | None = None,
    cameras: tuple[str, ...] = ("front",),
    tag: str = "new_embodiment",
    seed: int = 0,
    config: dict[str, Any] | None = None,
    *,
    relative: tuple[str, ...] = (),
) -> Path:
    """Write a complete tiny N1.7 checkpoint directory and return its path.

    ``config`` replaces the tiny network (e.g. :func:`wide_config_dict`); the tokenizer stays.
    """
    import torch

    from groot_sdk.models.gr00t_n17.config import GR00TN17Config
    from groot_sdk.models.gr00t_n17.loading import save_checkpoint
    from groot_sdk.models.gr00t_n17.modeling import GR00TN17

    torch.manual_seed(seed)
    with torch.device("meta"):  # no default initialisation: every tensor is filled below
        model = GR00TN17(GR00TN17Config(**(config or tiny_config_dict())))
    model = model.to_empty(device="cpu")
    with torch.no_grad():  # give every tensor a small random value
        for name, param in model.named_parameters():
            if name.endswith(
                ("norm.weight", "norm1.weight", "norm2.weight", "norm3.weight", "layernorm.weight")
            ):
                param.fill_(1.0)
            else:
                param.normal_(0.0, 0.2)
    out = Path(directory)
    save_checkpoint(model, out)
    state = state or {"single_arm": 6, "gripper": 1}
    action = action or {"single_arm": 6, "gripper": 1}
    for name, content in tiny_sidecars(state, action, cameras, tag, seed, relative).items():
        (out / name).write_text(json.dumps(content, indent=1))
    write_tiny_tokenizer(out)
    return out
