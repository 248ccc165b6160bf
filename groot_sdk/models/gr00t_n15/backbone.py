"""The Eagle 2.5 vision-language backbone of GR00T N1.5, from transformers' own blocks.

``eagle_model.vision_model`` is a ``SiglipVisionModel``, ``eagle_model.mlp1`` the MLP connector,
``eagle_model.language_model`` a Qwen3 (or Qwen2/Llama) causal LM built with only
``select_layer`` decoder layers (GR00T drops the rest), and ``eagle_linear`` the projection into
the action head (an identity when ``project_to_dim`` is null, as in the released 3B model).
Attention uses SDPA, so it runs on CPU; no flash-attn, no remote code.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn
from transformers import (
    LlamaConfig,
    LlamaForCausalLM,
    Qwen2Config,
    Qwen2ForCausalLM,
    Qwen3Config,
    Qwen3ForCausalLM,
    SiglipVisionConfig,
    SiglipVisionModel,
)

_LANGUAGE_MODELS = {
    "Qwen3ForCausalLM": (Qwen3Config, Qwen3ForCausalLM),
    "Qwen2ForCausalLM": (Qwen2Config, Qwen2ForCausalLM),
    "LlamaForCausalLM": (LlamaConfig, LlamaForCausalLM),
}


def pixel_shuffle(x: torch.Tensor, scale: float) -> torch.Tensor:
    """(N, W, H, C) -> (N, W*s, H*s, C/s^2): Eagle's token-merging for pixel-shuffle configs."""
    n, w, h, c = x.shape
    x = x.reshape(n, w, int(h * scale), int(c / scale)).permute(0, 2, 1, 3)
    x = x.reshape(n, int(h * scale), int(w * scale), int(c / (scale * scale)))
    return x.permute(0, 2, 1, 3)


class _VisionTower(nn.Module):
    """Keeps the checkpoints' ``vision_model.vision_model.*`` names on transformers >= 5,
    whose ``SiglipVisionModel`` no longer nests a ``vision_model`` attribute."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.vision_model = model

    def forward(self, pixel_values: torch.Tensor, **kwargs: Any):
        return self.vision_model(pixel_values=pixel_values, **kwargs)


def _vision_tower(config: SiglipVisionConfig) -> nn.Module:
    model = SiglipVisionModel(config)
    return model if hasattr(model, "vision_model") else _VisionTower(model)


class Eagle25VL(nn.Module):
    """Vision encoder + connector + language model (parameter names as Eagle 2.5 VL's)."""

    def __init__(self, eagle_cfg: dict[str, Any], num_llm_layers: int) -> None:
        super().__init__()
        cfg = copy.deepcopy(eagle_cfg)
        vision_cfg = {k: v for k, v in cfg["vision_config"].items() if k != "model_type"}
        vision_config = SiglipVisionConfig(**vision_cfg)
        vision_config._attn_implementation = "sdpa"
        self.vision_model = _vision_tower(vision_config)

        text_cfg = dict(cfg["text_config"])
        arch = (text_cfg.get("architectures") or ["Qwen3ForCausalLM"])[0]
        if arch not in _LANGUAGE_MODELS:
            raise ValueError(f"unsupported Eagle language model '{arch}'")
        config_cls, model_cls = _LANGUAGE_MODELS[arch]
        text_cfg.pop("model_type", None)
        text_cfg["num_hidden_layers"] = num_llm_layers
        text_config = config_cls(**text_cfg)
        text_config._attn_implementation = "sdpa"
        self.language_model = model_cls(text_config)

        self.image_token_index = int(cfg["image_token_index"])
        self.use_pixel_shuffle = bool(cfg.get("use_pixel_shuffle", False))
        self.downsample_ratio = float(cfg.get("downsample_ratio", 0.5))
        self.select_layer = int(cfg.get("select_layer", -1))
        vit = vision_config.hidden_size
        llm = text_config.hidden_size
        vit_in = vit * int(1 / self.downsample_ratio) ** 2 if self.use_pixel_shuffle else vit
        layers = int(cfg.get("mlp_connector_layers", 1))
        if layers == 2:
            self.mlp1 = nn.Sequential(
                nn.LayerNorm(vit_in), nn.Linear(vit_in, llm), nn.GELU(), nn.Linear(llm, llm)
            )
        elif layers == 1:
            self.mlp1 = nn.Sequential(nn.Linear(vit_in, llm))
        else:
            raise ValueError(f"unsupported mlp_connector_layers {layers}")
        patches = (int(vision_cfg["image_size"]) // int(vision_cfg["patch_size"])) ** 2
        self.num_image_token = int(
            patches * self.downsample_ratio**2 if self.use_pixel_shuffle else patches
        )
        self.llm_hidden_size = llm

    def extract_feature(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) -> (N, num_image_token, llm_hidden)."""
        if self.select_layer == -1:
            vit = self.vision_model(pixel_values=pixel_values).last_hidden_state
        else:
            out = self.vision_model(pixel_values=pixel_values, output_hidden_states=True)
            vit = out.hidden_states[self.select_layer]
        if self.use_pixel_shuffle:
            side = int(vit.shape[1] ** 0.5)
            vit = pixel_shuffle(vit.reshape(vit.shape[0], side, side, -1), self.downsample_ratio)
            vit = vit.reshape(vit.shape[0], -1, vit.shape[-1])
        return self.mlp1(vit)

    def forward(
        self, pixel_values: torch.Tensor, input_ids: torch.Tensor, attention_mask: torch.Tensor
    ) -> torch.Tensor:
        """Hidden states after the kept LM layers and the final norm (B, L, llm_hidden)."""
        vit = self.extract_feature(pixel_values.to(next(self.mlp1.parameters()).dtype))
        embeds = self.language_model.get_input_embeddings()(input_ids)
        b, n, c = embeds.shape
        flat = embeds.reshape(b * n, c)
        selected = (input_ids == self.image_token_index).reshape(b * n)
        # the i-th image-context token takes the i-th vision token (a gather, export-friendly)
        index = (torch.cumsum(selected.to(torch.long), 0) - 1).clamp(min=0)
        vision_tokens = vit.reshape(-1, c).to(flat.dtype)
        index = index.clamp(max=vision_tokens.shape[0] - 1)
        flat = torch.where(selected.unsqueeze(-1), vision_tokens[index], flat)
        out = self.language_model.model(
            inputs_embeds=flat.reshape(b, n, c), attention_mask=attention_mask, use_cache=False
        )
        # left-padding positions are query rows with every key masked: what attention returns
        # there differs between kernels (SDPA, flash-attn, ONNX Runtime), so pin them to zero
        return out.last_hidden_state * attention_mask.unsqueeze(-1).to(out.last_hidden_state.dtype)


class EagleBackbone(nn.Module):
    """``backbone.eagle_model`` + ``backbone.eagle_linear`` as in GR00T N1.5."""

    def __init__(self, backbone_cfg: dict[str, Any], eagle_cfg: dict[str, Any]) -> None:
        super().__init__()
        select_layer = int(backbone_cfg.get("select_layer", 12))
        self.eagle_model = Eagle25VL(eagle_cfg, num_llm_layers=select_layer)
        project_to_dim = backbone_cfg.get("project_to_dim")
        self.eagle_linear: nn.Module = (
            nn.Linear(self.eagle_model.llm_hidden_size, project_to_dim)
            if project_to_dim is not None
            else nn.Identity()
        )

    def forward(
        self, pixel_values: torch.Tensor, input_ids: torch.Tensor, attention_mask: torch.Tensor
    ) -> torch.Tensor:
        return self.eagle_linear(self.eagle_model(pixel_values, input_ids, attention_mask))
