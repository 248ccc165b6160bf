"""A tiny GR00T N1.5 checkpoint (random weights, the real names and config schema).

Used by the tests and the benchmarks: it exercises every code path of the 3B model in
milliseconds on a CPU, with a word-level tokenizer built locally (no downloads).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from groot_sdk.models.common.tiny import random_stats as _stats

IMG_CONTEXT = "<IMG_CONTEXT>"
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<img>", "</img>", IMG_CONTEXT]
WORDS = [
    "system",
    "You",
    ".",
    "<",
    ">",
    "are",
    "a",
    "helpful",
    "image",
    "1",
    "2",
    "user",
    "assistant",
    "pick",
    "up",
    "the",
    "cube",
    "place",
    "it",
    "in",
    "box",
    "and",
]


def tiny_config_dict(image_size: int = 28, num_inference_timesteps: int = 4) -> dict[str, Any]:
    width = 32
    vocab = len(SPECIAL_TOKENS) + len(WORDS) + 2  # + [UNK], "\n"
    eagle = {
        "vision_config": {
            "model_type": "siglip_vision_model",
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_attention_heads": 2,
            "num_hidden_layers": 2,
            "image_size": image_size,
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
        "use_pixel_shuffle": False,
        "mlp_connector_layers": 1,
        "image_token_index": SPECIAL_TOKENS.index(IMG_CONTEXT),
    }
    block = {"attention_head_dim": 16, "num_attention_heads": 2, "dropout": 0.2}
    return {
        "model_type": "gr00t_n1_5",
        "action_dim": 32,
        "action_horizon": 16,
        "compute_dtype": "float32",
        "backbone_cfg": {"select_layer": 2, "project_to_dim": None, "eagle_config": eagle},
        "action_head_cfg": {
            "action_dim": 32,
            "action_horizon": 16,
            "backbone_embedding_dim": width,
            "hidden_size": 32,
            "input_embedding_dim": 32,
            "max_state_dim": 64,
            "max_seq_len": 64,
            "num_inference_timesteps": num_inference_timesteps,
            "num_target_vision_tokens": 4,
            "diffusion_model_cfg": {
                **block,
                "cross_attention_dim": width,
                "final_dropout": True,
                "interleave_self_attention": True,
                "norm_type": "ada_norm",
                "num_layers": 2,
                "output_dim": 32,
                "positional_embeddings": None,
            },
            "vl_self_attention_cfg": {
                **block,
                "final_dropout": True,
                "num_layers": 1,
                "positional_embeddings": None,
            },
        },
    }


def wide_config_dict(
    vision_layers: int = 1,
    llm_layers: int = 1,
    dit_layers: int = 2,
    vl_layers: int = 1,
    vocab_size: int = 4096,
    embodiments: int = 32,
    num_inference_timesteps: int = 4,
) -> dict[str, Any]:
    """N1.5's real widths (SigLIP 1152, Qwen3 2048, DiT 1536, 224 px) with fewer layers.

    For benchmarks and profiles: per-layer cost and memory are the 3B model's, the depth and the
    vocabulary are whatever fits the machine. Uses the tiny tokenizer's image token.
    """
    from groot_sdk.models.gr00t_n15.config import (
        DEFAULT_ACTION_HEAD_CFG,
        DEFAULT_BACKBONE_CFG,
        DEFAULT_EAGLE_CONFIG,
    )

    eagle = json.loads(json.dumps(DEFAULT_EAGLE_CONFIG))
    eagle["vision_config"]["num_hidden_layers"] = vision_layers
    eagle["text_config"]["vocab_size"] = vocab_size
    eagle["image_token_index"] = SPECIAL_TOKENS.index(IMG_CONTEXT)
    head = json.loads(json.dumps(DEFAULT_ACTION_HEAD_CFG))
    head["diffusion_model_cfg"]["num_layers"] = dit_layers
    head["vl_self_attention_cfg"]["num_layers"] = vl_layers
    head["max_num_embodiments"] = embodiments
    head["num_inference_timesteps"] = num_inference_timesteps
    backbone = {**DEFAULT_BACKBONE_CFG, "select_layer": llm_layers, "eagle_config": eagle}
    return {
        "model_type": "gr00t_n1_5",
        "action_dim": 32,
        "action_horizon": 16,
        "compute_dtype": "float32",
        "backbone_cfg": backbone,
        "action_head_cfg": head,
    }


def tiny_metadata(
    state: dict[str, int],
    action: dict[str, int],
    cameras: tuple[str, ...] = ("front",),
    tag: str = "new_embodiment",
    seed: int = 0,
) -> dict[str, Any]:
    """``experiment_cfg/metadata.json`` in Isaac-GR00T's layout, with made-up statistics."""
    rng = np.random.default_rng(seed)

    def modality(dim: int) -> dict[str, Any]:
        return {"absolute": True, "rotation_type": None, "shape": [dim], "continuous": True}

    return {
        tag: {
            "statistics": {
                "state": {k: _stats(d, rng, -2.0, 2.0) for k, d in state.items()},
                "action": {k: _stats(d, rng, -1.5, 1.5) for k, d in action.items()},
            },
            "modalities": {
                "video": {c: {"resolution": [64, 48], "channels": 3, "fps": 30.0} for c in cameras},
                "state": {k: modality(d) for k, d in state.items()},
                "action": {k: modality(d) for k, d in action.items()},
            },
            "embodiment_tag": tag,
        }
    }


def write_tiny_tokenizer(directory: Path) -> Path:
    """A word-level tokenizer.json with Eagle's special tokens (built locally)."""
    from groot_sdk.models.common.tiny import write_word_tokenizer

    return write_word_tokenizer(directory, SPECIAL_TOKENS, WORDS, newline=True)


def build_tiny_checkpoint(
    directory: str | Path,
    state: dict[str, int] | None = None,
    action: dict[str, int] | None = None,
    cameras: tuple[str, ...] = ("front",),
    tag: str = "new_embodiment",
    seed: int = 0,
    config: dict[str, Any] | None = None,
) -> Path:
    """Write a complete tiny checkpoint directory and return its path.

    ``config`` replaces the tiny network (e.g. :func:`wide_config_dict`); the tokenizer stays.
    """
    import torch

    from groot_sdk.models.gr00t_n15.config import GR00TN15Config
    from groot_sdk.models.gr00t_n15.loading import save_checkpoint
    from groot_sdk.models.gr00t_n15.modeling import GR00TN15

    torch.manual_seed(seed)
    model = GR00TN15(GR00TN15Config(**(config or tiny_config_dict())))
    with torch.no_grad():  # _init_weights is a no-op: give every tensor a small random value
        for name, param in model.named_parameters():
            if name.endswith(("norm.weight", "layernorm.weight", "norm1.weight", "norm3.weight")):
                param.fill_(1.0)
            else:
                param.normal_(0.0, 0.2)
    out = Path(directory)
    metadata = tiny_metadata(
        state or {"single_arm": 6, "gripper": 1},
        action or {"single_arm": 6, "gripper": 1},
        cameras,
        tag,
        seed,
    )
    save_checkpoint(model, out, metadata)
    write_tiny_tokenizer(out)
    return out
