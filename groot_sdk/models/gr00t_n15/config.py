"""GR00T N1.5 configuration: the ``config.json`` schema of NVIDIA's released checkpoints.

The top level (``backbone_cfg``, ``action_head_cfg``, ``action_horizon``, ``action_dim``,
``compute_dtype``, ``model_type: gr00t_n1_5``) is what ``nvidia/GR00T-N1.5-3B`` ships. The released
``backbone_cfg`` does not describe the Eagle 2.5 network itself (Isaac-GR00T reads that from a
vendored ``eagle2_hg_model/config.json``), so we carry those published values as defaults here and
accept an optional ``backbone_cfg["eagle_config"]`` override (used by tiny test checkpoints).
"""

from __future__ import annotations

import copy
from typing import Any

from transformers import PretrainedConfig

from groot_sdk.errors import ModalityError

MODEL_TYPE = "gr00t_n1_5"

#: embodiment tag -> projector index (category-specific layers): Isaac-GR00T's N1.5
#: ``EMBODIMENT_TAG_MAPPING`` (new_embodiment, oxe_droid, agibot_genie1, gr1) plus LeRobot's
#: so100 and unitree_g1. Unknown tags are an error, never slot 0; a fine-tuned checkpoint with
#: its own tag passes ``embodiment_id=N`` to the backends.
EMBODIMENT_TAG_MAPPING: dict[str, int] = {
    "new_embodiment": 31,
    "oxe_droid": 17,
    "agibot_genie1": 26,
    "gr1": 24,
    "so100": 2,
    "unitree_g1": 3,
}


def projector_index(tag: str, mapping: dict[str, int] | None = None) -> int:
    """The category-specific projector slot for ``tag``; raises naming the known tags."""
    table = EMBODIMENT_TAG_MAPPING if mapping is None else mapping
    if tag not in table:
        known = ", ".join(sorted(table))
        raise ModalityError(f"unknown embodiment tag '{tag}' (GR00T N1.5 knows: {known})")
    return table[tag]


#: Eagle 2.5 VL as used by GR00T N1.5: SigLIP (224 px, patch 14), a 1-layer MLP connector
#: without pixel shuffle, a Qwen3-1.7B language model (hidden 2048), image token 151669.
DEFAULT_EAGLE_CONFIG: dict[str, Any] = {
    "vision_config": {
        "model_type": "siglip_vision_model",
        "hidden_size": 1152,
        "intermediate_size": 4304,
        "num_attention_heads": 16,
        "num_hidden_layers": 27,
        "image_size": 224,
        "patch_size": 14,
        "num_channels": 3,
        "hidden_act": "gelu_pytorch_tanh",
        "layer_norm_eps": 1e-6,
    },
    "text_config": {
        "architectures": ["Qwen3ForCausalLM"],
        "model_type": "qwen3",
        "hidden_size": 2048,
        "intermediate_size": 6144,
        "num_attention_heads": 16,
        "num_key_value_heads": 8,
        "head_dim": 128,
        "num_hidden_layers": 28,
        "vocab_size": 151680,
        "max_position_embeddings": 40960,
        "rms_norm_eps": 1e-6,
        "rope_theta": 1000000.0,
        "hidden_act": "silu",
        "tie_word_embeddings": True,
    },
    "use_pixel_shuffle": False,
    "downsample_ratio": 0.5,
    "mlp_connector_layers": 1,
    "image_token_index": 151669,
    "select_layer": -1,
}

DEFAULT_BACKBONE_CFG: dict[str, Any] = {
    "eagle_path": "NVEagle/eagle_er-qwen3_1_7B-Siglip2_400M_stage1_5_128gpu_er_v7_1mlp_nops",
    "load_bf16": False,
    "project_to_dim": None,
    "reproject_vision": False,
    "select_layer": 12,
    "tune_llm": False,
    "tune_visual": True,
    "use_flash_attention": True,
}

DEFAULT_ACTION_HEAD_CFG: dict[str, Any] = {
    "action_dim": 32,
    "action_horizon": 16,
    "add_pos_embed": True,
    "backbone_embedding_dim": 2048,
    "diffusion_model_cfg": {
        "attention_head_dim": 48,
        "cross_attention_dim": 2048,
        "dropout": 0.2,
        "final_dropout": True,
        "interleave_self_attention": True,
        "norm_type": "ada_norm",
        "num_attention_heads": 32,
        "num_layers": 16,
        "output_dim": 1024,
        "positional_embeddings": None,
    },
    "hidden_size": 1024,
    "input_embedding_dim": 1536,
    "max_action_dim": 32,
    "max_state_dim": 64,
    "max_num_embodiments": 32,
    "max_seq_len": 1024,
    "model_dtype": "float32",
    "noise_beta_alpha": 1.5,
    "noise_beta_beta": 1.0,
    "noise_s": 0.999,
    "num_inference_timesteps": 4,
    "num_target_vision_tokens": 32,
    "num_timestep_buckets": 1000,
    "tune_diffusion_model": True,
    "tune_projector": True,
    "use_vlln": True,
    "vl_self_attention_cfg": {
        "attention_head_dim": 64,
        "dropout": 0.2,
        "final_dropout": True,
        "num_attention_heads": 32,
        "num_layers": 4,
        "positional_embeddings": None,
    },
}


class GR00TN15Config(PretrainedConfig):
    """``config.json`` of a GR00T N1.5 checkpoint (``model_type: gr00t_n1_5``)."""

    model_type = MODEL_TYPE

    def __init__(
        self,
        backbone_cfg: dict[str, Any] | None = None,
        action_head_cfg: dict[str, Any] | None = None,
        action_horizon: int = 16,
        action_dim: int = 32,
        compute_dtype: str = "float32",
        **kwargs: Any,
    ) -> None:
        self.backbone_cfg = {**copy.deepcopy(DEFAULT_BACKBONE_CFG), **(backbone_cfg or {})}
        head = {**copy.deepcopy(DEFAULT_ACTION_HEAD_CFG), **(action_head_cfg or {})}
        self.action_head_cfg = head
        self.action_horizon = action_horizon
        self.action_dim = action_dim
        self.compute_dtype = compute_dtype
        super().__init__(**kwargs)

    @property
    def eagle_config(self) -> dict[str, Any]:
        """The Eagle 2.5 network description: the checkpoint's override or N1.5's values."""
        override = self.backbone_cfg.get("eagle_config") or {}
        merged = copy.deepcopy(DEFAULT_EAGLE_CONFIG)
        for key, value in override.items():
            if key in ("vision_config", "text_config") and isinstance(value, dict):
                merged[key] = {**merged[key], **value}
            else:
                merged[key] = value
        return merged

    @property
    def max_state_dim(self) -> int:
        return int(self.action_head_cfg["max_state_dim"])

    @property
    def max_action_dim(self) -> int:
        return int(self.action_head_cfg["action_dim"])
