"""The Eagle 3 vision-language backbone of GR00T N1.6, from transformers' own blocks.

``backbone.model.vision_model.vision_model`` is SigLIP 2 (transformers' ``Siglip2VisionModel``
layers under the checkpoints' nested names), ``backbone.model.mlp1`` the connector (LayerNorm,
Linear, GELU, Linear after a 2x pixel unshuffle) and ``backbone.model.language_model`` a Qwen3
causal LM built with only ``select_layer`` decoder layers (GR00T pops the rest).

Eagle 3's SigLIP 2 splits patches into 14x14 windows but, with ``use_windows_attn`` and
``use_rope`` off (the released config), every layer attends over the whole image and the split is
undone at the end: a plain ViT over the patch grid. Its 16x16 position grid is resized to each
image's patch grid (bilinear, antialiased, as ``F.interpolate``); images of one call share a size,
so the resize is a constant matrix here (export-friendly). Attention is SDPA; no flash-attn.
"""

from __future__ import annotations

import copy
import functools
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from transformers import Siglip2VisionConfig, Siglip2VisionModel

from groot_sdk.models.gr00t_n15.backbone import _LANGUAGE_MODELS


@functools.lru_cache(maxsize=32)
def _resize_weights(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) weights of 1-D antialiased bilinear resizing (``align_corners=False``)."""
    scale = n_in / n_out
    support = max(scale, 1.0)
    center = (np.arange(n_out, dtype=np.float64) + 0.5) * scale
    source = np.arange(n_in, dtype=np.float64) + 0.5
    w = np.clip(1.0 - np.abs(source[None, :] - center[:, None]) / support, 0.0, None)
    return (w / w.sum(axis=1, keepdims=True)).astype(np.float32)


def resize_positions(grid: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """(G*G, C) position table -> (height*width, C), row-major like the patches."""
    side = round(grid.shape[0] ** 0.5)
    wh = torch.from_numpy(_resize_weights(side, height)).to(grid.device)
    ww = torch.from_numpy(_resize_weights(side, width)).to(grid.device)
    table = grid.float().reshape(side, side, -1)
    out = torch.einsum("hi,wj,ijc->hwc", wh, ww, table)
    return out.reshape(height * width, -1).to(grid.dtype)


class _Siglip2Tower(nn.Module):
    """Keeps the checkpoints' ``vision_model.vision_model.*`` names around transformers'
    (flat) ``Siglip2VisionModel``; runs embeddings, encoder and post-norm, not the pooling head."""

    def __init__(self, config: Siglip2VisionConfig, patch_size: int) -> None:
        super().__init__()
        self.vision_model = Siglip2VisionModel(config)
        self.patch_size = patch_size

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) -> (N, H/p * W/p, C)."""
        tower = self.vision_model
        n, c, height, width = pixel_values.shape
        p = self.patch_size
        h, w = height // p, width // p
        patches = pixel_values.reshape(n, c, h, p, w, p).permute(0, 2, 4, 3, 5, 1)
        patches = patches.reshape(n, h * w, p * p * c)
        emb = tower.embeddings.patch_embedding(
            patches.to(tower.embeddings.patch_embedding.weight.dtype)
        )
        pos = resize_positions(tower.embeddings.position_embedding.weight, h, w)
        hidden = tower.encoder(inputs_embeds=emb + pos.unsqueeze(0)).last_hidden_state
        return tower.post_layernorm(hidden)


class Eagle3VL(nn.Module):
    """Vision encoder + connector + truncated language model (Eagle 3 VL's parameter names)."""

    def __init__(self, eagle_cfg: dict[str, Any], num_llm_layers: int) -> None:
        super().__init__()
        cfg = copy.deepcopy(eagle_cfg)
        vision_cfg = {k: v for k, v in cfg["vision_config"].items() if k != "model_type"}
        vision_config = Siglip2VisionConfig(**vision_cfg)
        vision_config._attn_implementation = "sdpa"
        self.patch_size = int(vision_cfg["patch_size"])
        self.vision_model = _Siglip2Tower(vision_config, self.patch_size)

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
        self.downsample_ratio = float(cfg.get("downsample_ratio", 0.5))
        self.unshuffle = round(1 / self.downsample_ratio)
        vit = vision_config.hidden_size
        llm = text_config.hidden_size
        vit_in = vit * self.unshuffle**2
        layers = int(cfg.get("mlp_connector_layers", 2))
        if layers != 2:
            raise ValueError(f"Eagle 3 has a 2-layer MLP connector, config says {layers}")
        self.mlp1 = nn.Sequential(
            nn.LayerNorm(vit_in), nn.Linear(vit_in, llm), nn.GELU(), nn.Linear(llm, llm)
        )
        self.llm_hidden_size = llm

    def tokens_per_image(self, height: int, width: int) -> int:
        return (height // self.patch_size) * (width // self.patch_size) // self.unshuffle**2

    def extract_feature(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) -> (N, tokens_per_image, llm_hidden): SigLIP 2, unshuffle, MLP."""
        vit = self.vision_model(pixel_values.to(next(self.mlp1.parameters()).dtype))
        n, _, height, width = pixel_values.shape
        h, w = height // self.patch_size, width // self.patch_size
        grid = vit.transpose(1, 2).reshape(n, vit.shape[-1], h, w)
        merged = F.pixel_unshuffle(grid, self.unshuffle).flatten(2).transpose(1, 2)
        return self.mlp1(merged)

    def forward(
        self, pixel_values: torch.Tensor, input_ids: torch.Tensor, attention_mask: torch.Tensor
    ) -> torch.Tensor:
        """Hidden states after the kept LM layers and the final norm (B, L, llm_hidden)."""
        vit = self.extract_feature(pixel_values)
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
        # padding rows never reach the actions (the DiT masks them); zero them so every
        # kernel (SDPA, flash-attn, ONNX Runtime) returns the same tensor
        hidden = out.last_hidden_state
        return hidden * attention_mask.unsqueeze(-1).to(hidden.dtype)


class EagleBackbone(nn.Module):
    """``backbone.model`` as in GR00T N1.6 (no projection: the LM width is the head's input)."""

    def __init__(self, config: Any) -> None:
        super().__init__()
        self.model = Eagle3VL(config.eagle_config, num_llm_layers=int(config.select_layer))

    def forward(
        self, pixel_values: torch.Tensor, input_ids: torch.Tensor, attention_mask: torch.Tensor
    ) -> torch.Tensor:
        return self.model(pixel_values, input_ids, attention_mask)
