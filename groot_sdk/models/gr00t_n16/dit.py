"""GR00T N1.6's DiT: N1.5's blocks plus a key mask on cross-attention (``AlternateVLDiT``).

The blocks keep diffusers' parameter names (``attn1.to_q``, ``ff.net.0.proj``, ``norm1.linear``
...), reusing N1.5's modules; what N1.6 adds is the alternating cross-attention: even blocks
attend to the backbone tokens, every ``2 * attend_text_every_n_blocks``-th of them to the text
tokens only and the others to the image tokens only (both restricted to the prompt's real tokens),
odd blocks attend to the state/action tokens themselves. The plain ``DiT`` (no alternation, no
mask) is kept for configs with ``use_alternate_vl_dit: false``.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from groot_sdk.models.gr00t_n15.dit import (
    AdaLayerNorm,
    Attention,
    FeedForward,
    TimestepEncoder,
)


class MaskedAttention(Attention):
    """diffusers' ``Attention`` (same parameters) with an optional boolean key mask (B, S)."""

    def forward(
        self,
        hidden_states: torch.Tensor,
        encoder_hidden_states: torch.Tensor | None = None,
        key_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        context = hidden_states if encoder_hidden_states is None else encoder_hidden_states
        b = hidden_states.shape[0]
        heads = self.heads
        q = self.to_q(hidden_states).view(b, -1, heads, self.to_q.out_features // heads)
        k = self.to_k(context).view(b, -1, heads, self.to_k.out_features // heads)
        v = self.to_v(context).view(b, -1, heads, self.to_v.out_features // heads)
        mask = None if key_mask is None else key_mask[:, None, None, :]
        out = F.scaled_dot_product_attention(
            q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), attn_mask=mask
        )
        out = out.transpose(1, 2).reshape(b, -1, self.to_q.out_features).to(q.dtype)
        return self.to_out[1](self.to_out[0](out))


class Block(nn.Module):
    """norm1 (AdaLN) -> attn1 (self or masked cross) -> residual; norm3 -> ff -> residual."""

    def __init__(
        self,
        dim: int,
        heads: int,
        head_dim: int,
        cross_attention_dim: int | None,
        cfg: dict[str, Any],
    ) -> None:
        super().__init__()
        if cfg.get("positional_embeddings") is not None:
            raise ValueError("GR00T N1.6 DiT blocks take no positional embeddings")
        dropout = float(cfg.get("dropout", 0.1))
        affine = bool(cfg.get("norm_elementwise_affine", False))
        eps = float(cfg.get("norm_eps", 1e-5))
        self.norm_type = cfg.get("norm_type", "ada_norm")
        self.norm1: nn.Module = (
            AdaLayerNorm(dim)
            if self.norm_type == "ada_norm"
            else nn.LayerNorm(dim, eps=eps, elementwise_affine=affine)
        )
        self.attn1 = MaskedAttention(
            dim,
            heads,
            head_dim,
            bias=bool(cfg.get("attention_bias", True)),
            cross_attention_dim=cross_attention_dim,
            dropout=dropout,
        )
        self.norm3 = nn.LayerNorm(dim, eps, affine)
        self.ff = FeedForward(
            dim,
            activation_fn=cfg.get("activation_fn", "gelu-approximate"),
            dropout=dropout,
            final_dropout=bool(cfg.get("final_dropout", True)),
        )
        self.final_dropout = nn.Dropout(dropout) if cfg.get("final_dropout", True) else None

    def forward(
        self,
        hidden_states: torch.Tensor,
        temb: torch.Tensor,
        encoder_hidden_states: torch.Tensor | None = None,
        key_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        if self.norm_type == "ada_norm":
            normed = self.norm1(hidden_states, temb)
        else:
            normed = self.norm1(hidden_states)
        attn = self.attn1(normed, encoder_hidden_states, key_mask)
        if self.final_dropout is not None:
            attn = self.final_dropout(attn)
        hidden_states = attn + hidden_states
        return self.ff(self.norm3(hidden_states)) + hidden_states


class DiT(nn.Module):
    """State/action tokens attending to the backbone tokens (odd blocks self-attention when
    ``interleave_self_attention``); ``alternate`` switches on N1.6's text/image alternation."""

    def __init__(
        self,
        cross_attention_dim: int,
        alternate: bool = True,
        attend_text_every_n_blocks: int = 2,
        **cfg: Any,
    ) -> None:
        super().__init__()
        heads = int(cfg.get("num_attention_heads", 8))
        head_dim = int(cfg.get("attention_head_dim", 64))
        self.inner_dim = heads * head_dim
        self.interleave = bool(cfg.get("interleave_self_attention", False))
        if alternate and not self.interleave:
            raise ValueError("AlternateVLDiT needs interleave_self_attention")
        self.alternate = alternate
        self.every = int(attend_text_every_n_blocks)
        self.timestep_encoder = TimestepEncoder(self.inner_dim)
        self.transformer_blocks = nn.ModuleList(
            [
                Block(
                    self.inner_dim,
                    heads,
                    head_dim,
                    None if self._self_only(i) else cross_attention_dim,
                    cfg,
                )
                for i in range(int(cfg.get("num_layers", 12)))
            ]
        )
        self.norm_out = nn.LayerNorm(self.inner_dim, elementwise_affine=False, eps=1e-6)
        self.proj_out_1 = nn.Linear(self.inner_dim, 2 * self.inner_dim)
        self.proj_out_2 = nn.Linear(self.inner_dim, int(cfg.get("output_dim", 26)))

    def _self_only(self, idx: int) -> bool:
        return self.interleave and idx % 2 == 1

    def block_kinds(self) -> list[str]:
        """Per block: ``self``, ``text``, ``image`` or ``all`` (what it attends to)."""
        kinds = []
        for idx in range(len(self.transformer_blocks)):
            if self._self_only(idx):
                kinds.append("self")
            elif not self.alternate:
                kinds.append("all")
            else:
                kinds.append("text" if idx % (2 * self.every) == 0 else "image")
        return kinds

    def forward(
        self,
        hidden_states: torch.Tensor,
        encoder_hidden_states: torch.Tensor,
        timestep: torch.Tensor,
        image_mask: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        temb = self.timestep_encoder(timestep)
        masks: dict[str, torch.Tensor | None] = {"all": None, "self": None}
        if self.alternate:
            if image_mask is None or attention_mask is None:
                raise ValueError("AlternateVLDiT needs image_mask and attention_mask")
            valid = attention_mask.bool()
            image = image_mask.bool()
            masks["image"] = image & valid
            masks["text"] = ~image & valid
        for block, kind in zip(self.transformer_blocks, self.block_kinds(), strict=True):
            context = None if kind == "self" else encoder_hidden_states
            hidden_states = block(hidden_states, temb, context, masks[kind])
        shift, scale = self.proj_out_1(F.silu(temb)).chunk(2, dim=1)
        hidden_states = self.norm_out(hidden_states) * (1 + scale[:, None]) + shift[:, None]
        return self.proj_out_2(hidden_states)
