"""GR00T N1.7 configuration: the flat ``config.json`` schema of ``nvidia/GR00T-N1.7-3B``.

The published file names the backbone (``model_name: nvidia/Cosmos-Reason2-2B``) but does not
describe it: Cosmos-Reason2-2B's Qwen3-VL sizes are carried here as defaults
(:data:`COSMOS_REASON2_CONFIG`), and an optional ``backbone_config`` (a Qwen3-VL config dict)
overrides them; tiny test checkpoints use that. Facts read from LeRobot 0.6.1's
``lerobot/policies/groot/groot_n1_7.py`` and ``processor_groot.py`` (Apache-2.0).
"""

from __future__ import annotations

import copy
from typing import Any

from transformers import PretrainedConfig

from groot_sdk.errors import ModalityError

MODEL_TYPE = "Gr00tN1d7"

#: Fallback tag -> projector slot when a checkpoint has no ``embodiment_id.json``
#: (LeRobot 0.6.1 ``N1_7_EMBODIMENT_MAPPING``). Unknown tags are an error, never slot 0.
EMBODIMENT_TAG_MAPPING: dict[str, int] = {
    "simpler_env_google": 0,
    "simpler_env_widowx": 1,
    "libero_sim": 2,
    "new_embodiment": 10,
    "oxe_droid_relative_eef_relative_joint": 24,
    "real_g1_relative_eef_relative_joints": 25,
    "unitree_g1_full_body_with_waist_height_nav_cmd": 25,
    "real_r1_pro_sharpa_relative_eef": 26,
    "real_r1_pro_sharpa_relative_eef_human": 26,
    "real_r1_pro_sharpa_relative_eef_maxinsights": 26,
    "real_r1_pro_sharpa_relative_eef_mecka": 26,
    "xdof_relative_eef_relative_joint": 27,
    "xdof_relative_eef_relative_joint_subtask": 27,
}


def projector_index(tag: str, mapping: dict[str, int] | None = None) -> int:
    """The category-specific projector slot for ``tag``; raises naming the known tags."""
    table = EMBODIMENT_TAG_MAPPING if mapping is None else mapping
    if tag not in table:
        raise ModalityError(
            f"unknown embodiment tag '{tag}' (this GR00T N1.7 checkpoint knows: "
            f"{', '.join(sorted(table))}); pass embodiment_id=N for another slot"
        )
    return int(table[tag])


#: nvidia/Cosmos-Reason2-2B (a Qwen3-VL-2B layout) as a transformers ``Qwen3VLConfig`` dict.
COSMOS_REASON2_CONFIG: dict[str, Any] = {
    "model_type": "qwen3_vl",
    "image_token_id": 151655,
    "video_token_id": 151656,
    "vision_start_token_id": 151652,
    "vision_end_token_id": 151653,
    "tie_word_embeddings": True,
    "text_config": {
        "model_type": "qwen3_vl_text",
        "attention_bias": False,
        "head_dim": 128,
        "hidden_act": "silu",
        "hidden_size": 2048,
        "intermediate_size": 6144,
        "max_position_embeddings": 262144,
        "num_attention_heads": 16,
        "num_hidden_layers": 28,
        "num_key_value_heads": 8,
        "rms_norm_eps": 1e-6,
        "rope_scaling": {
            "mrope_interleaved": True,
            "mrope_section": [24, 20, 20],
            "rope_type": "default",
        },
        "rope_theta": 5000000,
        "tie_word_embeddings": True,
        "vocab_size": 151936,
        "bos_token_id": 151643,
        "eos_token_id": 151645,
    },
    "vision_config": {
        "model_type": "qwen3_vl",
        "deepstack_visual_indexes": [5, 11, 17],
        "depth": 24,
        "hidden_act": "gelu_pytorch_tanh",
        "hidden_size": 1024,
        "in_channels": 3,
        "intermediate_size": 4096,
        "num_heads": 16,
        "num_position_embeddings": 2304,
        "out_hidden_size": 2048,
        "patch_size": 16,
        "spatial_merge_size": 2,
        "temporal_patch_size": 2,
    },
}

#: The published N1.7 ``config.json`` values (LeRobot 0.6.1 ``GR00T_N1_7_DEFAULTS``).
DEFAULTS: dict[str, Any] = {
    "model_dtype": "bfloat16",
    "model_name": "nvidia/Cosmos-Reason2-2B",
    "backbone_model_type": "qwen",
    "model_revision": None,
    "tune_top_llm_layers": 0,
    "backbone_embedding_dim": 2048,
    "tune_llm": False,
    "tune_visual": False,
    "select_layer": 16,
    "reproject_vision": False,
    "use_flash_attention": False,
    "load_bf16": False,
    "backbone_trainable_params_fp32": True,
    "image_crop_size": [230, 230],
    "image_target_size": [256, 256],
    "shortest_image_edge": None,
    "crop_fraction": None,
    "random_rotation_angle": None,
    "color_jitter_params": None,
    "use_albumentations_transforms": True,
    "extra_augmentation_config": None,
    "formalize_language": True,
    "apply_sincos_state_encoding": False,
    "use_percentiles": True,
    "use_relative_action": False,
    "max_state_dim": 132,
    "max_action_dim": 132,
    "action_horizon": 40,
    "hidden_size": 1024,
    "input_embedding_dim": 1536,
    "state_history_length": 1,
    "add_pos_embed": True,
    "attn_dropout": 0.2,
    "use_vlln": True,
    "max_seq_len": 1024,
    "use_alternate_vl_dit": True,
    "attend_text_every_n_blocks": 2,
    "diffusion_model_cfg": {
        "positional_embeddings": None,
        "num_layers": 32,
        "num_attention_heads": 32,
        "attention_head_dim": 48,
        "norm_type": "ada_norm",
        "dropout": 0.2,
        "final_dropout": True,
        "output_dim": 1024,
        "interleave_self_attention": True,
    },
    "vl_self_attention_cfg": {
        "positional_embeddings": None,
        "num_layers": 4,
        "num_attention_heads": 32,
        "attention_head_dim": 64,
        "dropout": 0.2,
        "final_dropout": True,
    },
    "num_inference_timesteps": 4,
    "noise_beta_alpha": 1.5,
    "noise_beta_beta": 1.0,
    "noise_s": 0.999,
    "num_timestep_buckets": 1000,
    "tune_projector": True,
    "tune_diffusion_model": True,
    "tune_vlln": True,
    "state_dropout_prob": 0.2,
    "exclude_state": False,
    "use_mean_std": False,
    "max_num_embodiments": 32,
    "rtc_ramp_rate": 6.0,
    "backbone_config": None,
}


class GR00TN17Config(PretrainedConfig):
    """``config.json`` of a GR00T N1.7 checkpoint (``model_type: Gr00tN1d7``)."""

    model_type = MODEL_TYPE

    def __init__(self, **kwargs: Any) -> None:
        values = {k: copy.deepcopy(kwargs.pop(k, v)) for k, v in DEFAULTS.items()}
        super().__init__(**kwargs)
        for key, value in values.items():
            setattr(self, key, value)

    @property
    def qwen3_vl_config(self) -> dict[str, Any]:
        """The backbone network: ``backbone_config`` merged over Cosmos-Reason2-2B's values."""
        merged = copy.deepcopy(COSMOS_REASON2_CONFIG)
        for key, value in (self.backbone_config or {}).items():
            if key in ("vision_config", "text_config") and isinstance(value, dict):
                merged[key] = {**merged[key], **value}
            else:
                merged[key] = value
        return merged

    @property
    def image_size(self) -> tuple[int, int]:
        """(height, width) of the images the vision tower sees (``image_target_size``)."""
        h, w = self.image_target_size or (256, 256)
        return int(h), int(w)
