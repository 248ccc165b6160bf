"""GR00T N1.6 configuration: the flat ``config.json`` schema of ``nvidia/GR00T-N1.6-3B``.

N1.6 dropped N1.5's nested ``backbone_cfg``/``action_head_cfg``: every field sits at the top level
(``model_type: Gr00tN1d6``, ``model_name``, ``select_layer``, ``max_state_dim``, ``action_horizon``,
``diffusion_model_cfg``, ``use_alternate_vl_dit`` ...). Defaults are Isaac-GR00T's
``Gr00tN1d6Config`` class defaults; the released 3B checkpoint overrides some of them (action
horizon 50, state/action width 128, ``state_dropout_prob`` 0.8, relative actions and sin/cos state
encoding), and a checkpoint's own values always win.

The Eagle 3 network itself (SigLIP 2 + Qwen3-1.7B, ``nvidia/Eagle-Block2A-2B-v2``) is not described
in ``config.json``: Isaac-GR00T reads it from a vendored copy. Its published values are
:data:`DEFAULT_EAGLE_CONFIG`; an optional ``eagle_config`` override (tiny test checkpoints) or the
weights' shapes change them.
"""

from __future__ import annotations

import copy
from typing import Any

from transformers import PretrainedConfig

from groot_sdk.errors import ModalityError

MODEL_TYPE = "Gr00tN1d6"

#: embodiment tag -> projector slot, Isaac-GR00T N1.6's ``EMBODIMENT_TAG_TO_PROJECTOR_INDEX``.
#: A checkpoint's ``embodiment_id.json`` extends/overrides it (fine-tunes register their tags).
EMBODIMENT_TAG_MAPPING: dict[str, int] = {
    "oxe_google": 0,
    "oxe_widowx": 1,
    "libero_panda": 2,
    "unitree_g1": 8,
    "new_embodiment": 10,
    "robocasa_panda_omron": 13,
    "gr1": 20,
    "behavior_r1_pro": 24,
}

#: (max_state_dim, max_action_dim, action_horizon) of the released GR00T-N1.6-3B
RELEASED_LIMITS = (128, 128, 50)


def projector_index(tag: str, mapping: dict[str, int] | None = None) -> int:
    """The category-specific projector slot for ``tag``; raises naming the known tags."""
    table = {**EMBODIMENT_TAG_MAPPING, **(mapping or {})}
    if tag not in table:
        known = ", ".join(sorted(table))
        raise ModalityError(f"unknown embodiment tag '{tag}' (GR00T N1.6 knows: {known})")
    return int(table[tag])


#: Eagle 3 VL (``Eagle-Block2A-2B-v2``): SigLIP 2 (patch 14, a 16x16 position grid resized to
#: each image, no windows, no rope), pixel-unshuffle x2 + a 2-layer MLP connector, Qwen3-1.7B.
DEFAULT_EAGLE_CONFIG: dict[str, Any] = {
    "vision_config": {
        "model_type": "siglip2_vision_model",
        "hidden_size": 1152,
        "intermediate_size": 4304,
        "num_attention_heads": 16,
        "num_hidden_layers": 27,
        "num_patches": 256,
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
    "downsample_ratio": 0.5,
    "mlp_connector_layers": 2,
    "image_token_index": 151669,
    "select_layer": -1,
}

DEFAULT_DIFFUSION_MODEL_CFG: dict[str, Any] = {
    "positional_embeddings": None,
    "num_layers": 32,
    "num_attention_heads": 32,
    "attention_head_dim": 48,
    "norm_type": "ada_norm",
    "dropout": 0.2,
    "final_dropout": True,
    "output_dim": 1024,
    "interleave_self_attention": True,
}

#: Isaac-GR00T's ``Gr00tN1d6Config`` field defaults (those inference reads, plus the rest of
#: the schema so a round trip keeps every key a released config has).
DEFAULTS: dict[str, Any] = {
    "model_dtype": "bfloat16",
    "model_name": "nvidia/Eagle-Block2A-2B-v2",
    "backbone_model_type": "eagle",
    "model_revision": None,
    "tune_top_llm_layers": 4,
    "backbone_embedding_dim": 2048,
    "tune_llm": False,
    "tune_visual": False,
    "select_layer": 16,
    "reproject_vision": False,
    "use_flash_attention": True,
    "load_bf16": True,
    "eagle_collator": False,
    "backbone_trainable_params_fp32": True,
    "image_crop_size": None,
    "image_target_size": None,
    "shortest_image_edge": 256,
    "crop_fraction": 0.95,
    "random_rotation_angle": None,
    "color_jitter_params": None,
    "use_albumentations_transforms": True,
    "formalize_language": True,
    "apply_sincos_state_encoding": False,
    "use_relative_action": False,
    "max_state_dim": 29,
    "max_action_dim": 29,
    "action_horizon": 16,
    "hidden_size": 1024,
    "input_embedding_dim": 1536,
    "add_pos_embed": True,
    "attn_dropout": 0.2,
    "use_vlln": True,
    "max_seq_len": 1024,
    "use_alternate_vl_dit": True,
    "attend_text_every_n_blocks": 2,
    "num_inference_timesteps": 4,
    "noise_beta_alpha": 1.5,
    "noise_beta_beta": 1.0,
    "noise_s": 0.999,
    "num_timestep_buckets": 1000,
    "tune_projector": True,
    "tune_diffusion_model": True,
    "tune_vlln": True,
    "state_dropout_prob": 0.0,
    "state_additive_noise_scale": 0.0,
    "max_num_embodiments": 32,
}


class Gr00tN1d6Config(PretrainedConfig):
    """``config.json`` of a GR00T N1.6 checkpoint (``model_type: Gr00tN1d6``)."""

    model_type = MODEL_TYPE

    def __init__(self, **kwargs: Any) -> None:
        fields = {k: copy.deepcopy(v) for k, v in DEFAULTS.items()}
        for key in list(kwargs):
            if key in DEFAULTS:
                fields[key] = kwargs.pop(key)
        if "collator_overwrite_image_inputs" in kwargs:  # upstream's legacy alias
            fields["eagle_collator"] = kwargs.pop("collator_overwrite_image_inputs")
        diffusion = {
            **DEFAULT_DIFFUSION_MODEL_CFG,
            **(kwargs.pop("diffusion_model_cfg", None) or {}),
        }
        self.eagle_config_override: dict[str, Any] = kwargs.pop("eagle_config", None) or {}
        for key, value in fields.items():
            setattr(self, key, value)
        self.diffusion_model_cfg = diffusion
        super().__init__(**kwargs)

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        override = out.pop("eagle_config_override", None)
        if override:
            out["eagle_config"] = override
        return out

    @property
    def eagle_config(self) -> dict[str, Any]:
        """The Eagle 3 network: the checkpoint's override or the published values."""
        merged = copy.deepcopy(DEFAULT_EAGLE_CONFIG)
        for key, value in self.eagle_config_override.items():
            if key in ("vision_config", "text_config") and isinstance(value, dict):
                merged[key] = {**merged[key], **value}
            else:
                merged[key] = value
        return merged
