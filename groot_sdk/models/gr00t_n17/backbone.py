"""GR00T N1.7's backbone: Cosmos-Reason2 (Qwen3-VL) on transformers' own Qwen3-VL classes.

The weights live in a ``Qwen3VLForConditionalGeneration`` under ``backbone.model`` (the names the
released checkpoint and LeRobot use: ``backbone.model.model.visual.*``,
``backbone.model.model.language_model.*``); the language model is cut to ``select_layer``
decoder layers and the features are the last kept layer's output *before* the final RMSNorm,
as the reference does.

The forward is written for export: every image has the same grid (the processor resizes to
``image_target_size``), so the vision tower runs batched per image (the per-grid position
table and rotary angles are computed once), the image and deepstack features are placed with
a gather instead of boolean indexing, and the M-RoPE position ids come precomputed from the
processor. The maths is transformers' (its modules run every layer); the result matches
``Qwen3VLModel.forward`` to float rounding.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

try:
    from transformers import Qwen3VLConfig, Qwen3VLForConditionalGeneration
    from transformers.integrations.sdpa_attention import sdpa_attention_forward
    from transformers.masking_utils import (
        ALL_MASK_ATTENTION_FUNCTIONS,
        create_causal_mask,
        sdpa_mask,
    )
    from transformers.modeling_utils import ALL_ATTENTION_FUNCTIONS
    from transformers.models.qwen3_vl.modeling_qwen3_vl import apply_rotary_pos_emb_vision
    from transformers.vision_utils import (
        get_vision_interpolation_indices_and_weights,
        get_vision_position_ids,
    )
except ImportError as exc:  # older transformers: N1.5 keeps working, N1.7 says what it needs
    raise ImportError(
        "GR00T N1.7 needs transformers 5 with its Qwen3-VL classes (tested with 5.24): "
        f"pip install -U 'transformers>=5.4' ({exc})"
    ) from exc


class PreNormOutput(nn.Module):
    """Holds the final RMSNorm's weight (so checkpoint keys match) and passes features through:
    GR00T N1.7 reads the last kept decoder layer's output before that norm."""

    def __init__(self, hidden_size: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(hidden_size))

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return hidden_states


#: the text model's attention: transformers' SDPA, with fully masked query rows set to 0
ATTENTION = "groot_sdpa_zero_masked_rows"


def sdpa_zero_masked_rows(module, query, key, value, attention_mask, **kwargs):
    """transformers' SDPA attention, then an explicit 0 for queries that may attend nowhere.

    Left padding makes such rows (a pad token sees only pads). torch's SDPA already returns 0
    there; ONNX Runtime and TensorRT do not, and the reference's VL self-attention has no mask,
    so those rows reach the actions: stating the 0 keeps every runtime on the reference's result.
    """
    out, weights = sdpa_attention_forward(module, query, key, value, attention_mask, **kwargs)
    if attention_mask is not None and attention_mask.dtype == torch.bool:
        keep = attention_mask.any(-1).transpose(1, 2).unsqueeze(-1)  # (B, L, 1, 1)
        out = torch.where(keep, out, torch.zeros_like(out))
    return out, weights


ALL_ATTENTION_FUNCTIONS.register(ATTENTION, sdpa_zero_masked_rows)
ALL_MASK_ATTENTION_FUNCTIONS.register(ATTENTION, sdpa_mask)


def qwen3_vl_config(values: dict[str, Any]) -> Qwen3VLConfig:
    config: Any = Qwen3VLConfig(**values)
    config._attn_implementation = "sdpa"
    for sub in (config.text_config, config.vision_config):
        sub._attn_implementation = "sdpa"
    return config


class Qwen3VLBackbone(nn.Module):
    """Pixel patches + prompt -> (B, L, hidden) features and the image-token mask."""

    interp_indices: torch.Tensor
    interp_weights: torch.Tensor
    vision_positions: torch.Tensor

    def __init__(
        self, values: dict[str, Any], select_layer: int, image_size: tuple[int, int]
    ) -> None:
        super().__init__()
        config: Any = qwen3_vl_config(values)
        self.model: Any = Qwen3VLForConditionalGeneration(config)
        layers: Any = self.language_model.layers
        if select_layer > 0:
            while len(layers) > select_layer:
                layers.pop(-1)
        self.language_model.norm = PreNormOutput(config.text_config.hidden_size)
        self.language_model.config._attn_implementation = ATTENTION
        self.select_layer = select_layer
        self.image_token_id = int(config.image_token_id)
        vision: Any = config.vision_config
        patch, merge = int(vision.patch_size), int(vision.spatial_merge_size)
        h, w = image_size
        if h % (patch * merge) or w % (patch * merge):
            raise ValueError(f"image size {h}x{w} is not a multiple of {patch * merge}")
        self.grid = (1, h // patch, w // patch)
        grid = torch.tensor([self.grid], device="cpu")
        visual = self.visual
        idx, weights = get_vision_interpolation_indices_and_weights(
            grid,
            num_grid_per_side=visual.num_grid_per_side,
            mode=visual.interpolation_mode,
            align_corners=visual.interpolation_align_corners,
            spatial_merge_size=merge,
        )
        self.register_buffer("interp_indices", idx, persistent=False)
        self.register_buffer("interp_weights", weights, persistent=False)
        self.register_buffer(
            "vision_positions", get_vision_position_ids(grid, merge), persistent=False
        )

    @property
    def language_model(self) -> Any:
        return self.model.model.language_model

    @property
    def visual(self) -> Any:
        return self.model.model.visual

    @property
    def tokens_per_image(self) -> int:
        merge = self.visual.spatial_merge_size
        return int(self.grid[0] * self.grid[1] * self.grid[2] // (merge * merge))

    def vision(self, pixel_values: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """(images, patches, C*T*P*P) -> merged tokens (images*tokens, D) and deepstack ones."""
        visual = self.visual
        n_img, patches = pixel_values.shape[0], pixel_values.shape[1]
        x = visual.patch_embed(pixel_values.reshape(n_img * patches, -1))
        pos = (visual.pos_embed(self.interp_indices) * self.interp_weights[:, :, None]).sum(1)
        x = (x + pos.to(x.dtype).repeat(n_img, 1)).reshape(n_img, patches, -1)
        cos, sin = visual.rotary_pos_emb(x, self.vision_positions)
        deepstack = []
        for layer, block in enumerate(visual.blocks):
            attn = block.attn
            normed = block.norm1(x)
            qkv = attn.qkv(normed).reshape(n_img, patches, 3, attn.num_heads, -1)
            q, k, v = qkv.unbind(2)
            q, k = apply_rotary_pos_emb_vision(q, k, cos, sin)
            out = nn.functional.scaled_dot_product_attention(
                q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), scale=attn.scaling
            )
            x = x + attn.proj(out.transpose(1, 2).reshape(n_img, patches, -1))
            x = x + block.mlp(block.norm2(x))
            if layer in visual.deepstack_visual_indexes:
                merger = visual.deepstack_merger_list[visual.deepstack_visual_indexes.index(layer)]
                deepstack.append(merger(x.reshape(n_img * patches, -1)))
        return visual.merger(x.reshape(n_img * patches, -1)), deepstack

    def forward(
        self,
        pixel_values: torch.Tensor,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        position_ids: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Features (B, L, D) before the final norm, and the image-token mask (B, L).

        ``pixel_values`` (images, patches, C*T*P*P) in prompt order; ``position_ids`` (3, B, L)
        the M-RoPE ids (:func:`groot_sdk.models.gr00t_n17.processing.mrope_positions`).
        """
        lm = self.language_model
        embeds = lm.embed_tokens(input_ids)
        image_mask = input_ids == self.image_token_id
        image_embeds, deepstack = self.vision(pixel_values.to(embeds.dtype))
        # the k-th image token of the batch (row-major) takes the k-th image feature
        order = (torch.cumsum(image_mask.reshape(-1).long(), 0) - 1).clamp(min=0)
        order = order.reshape(image_mask.shape)
        where = image_mask.unsqueeze(-1)
        embeds = torch.where(where, image_embeds.to(embeds.dtype)[order], embeds)
        mask = create_causal_mask(
            config=lm.config,
            inputs_embeds=embeds,
            attention_mask=attention_mask,
            cache=None,
            position_ids=position_ids[0],
        )
        rope = lm.rotary_emb(embeds, position_ids)
        hidden = embeds
        last = len(lm.layers) - 1
        for idx, layer in enumerate(lm.layers):
            hidden = layer(
                hidden, attention_mask=mask, position_ids=position_ids[0], position_embeddings=rope
            )
            # the reference reads the last kept layer's own output: a deepstack feature that
            # transformers would add after it (select_layer <= number of deepstack layers) is not
            # part of the features
            if idx < len(deepstack) and idx < last:
                extra = deepstack[idx].to(hidden.dtype)[order]
                hidden = hidden + torch.where(where, extra, torch.zeros_like(extra))
        return lm.norm(hidden), image_mask
