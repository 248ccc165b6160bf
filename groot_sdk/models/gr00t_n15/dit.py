"""The cross-attention DiT and the VL self-attention transformer of GR00T N1.5's action head.

Released checkpoints were trained with diffusers' ``Attention``/``FeedForward``/``Timesteps``
blocks; these modules reproduce their maths and, importantly, their parameter names
(``attn1.to_q``, ``attn1.to_out.0``, ``ff.net.0.proj``, ``ff.net.2``,
``timestep_encoder.timestep_embedder.linear_1`` ...) so real weights load unchanged, without
pulling in diffusers. Attention runs through ``F.scaled_dot_product_attention`` (SDPA), as
diffusers' ``AttnProcessor2_0`` does.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn


def timestep_embedding(
    timesteps: torch.Tensor,
    dim: int,
    flip_sin_to_cos: bool = True,
    downscale_freq_shift: float = 1.0,
    max_period: float = 10000.0,
) -> torch.Tensor:
    """diffusers' ``get_timestep_embedding``: (N,) -> (N, dim) sinusoids."""
    half = dim // 2
    exponent = -math.log(max_period) * torch.arange(
        half, dtype=torch.float32, device=timesteps.device
    )
    freqs = torch.exp(exponent / (half - downscale_freq_shift))
    args = timesteps[:, None].float() * freqs[None, :]
    emb = torch.cat([torch.sin(args), torch.cos(args)], dim=-1)
    if flip_sin_to_cos:
        emb = torch.cat([emb[:, half:], emb[:, :half]], dim=-1)
    if dim % 2 == 1:
        emb = F.pad(emb, (0, 1))
    return emb


class TimestepEmbedding(nn.Module):
    """diffusers' ``TimestepEmbedding`` (linear_1 -> SiLU -> linear_2)."""

    def __init__(self, in_channels: int, time_embed_dim: int) -> None:
        super().__init__()
        self.linear_1 = nn.Linear(in_channels, time_embed_dim)
        self.act = nn.SiLU()
        self.linear_2 = nn.Linear(time_embed_dim, time_embed_dim)

    def forward(self, sample: torch.Tensor) -> torch.Tensor:
        return self.linear_2(self.act(self.linear_1(sample)))


class TimestepEncoder(nn.Module):
    """Timestep bucket -> conditioning vector (256 sinusoid channels, then an MLP)."""

    def __init__(self, embedding_dim: int) -> None:
        super().__init__()
        self.timestep_embedder = TimestepEmbedding(256, embedding_dim)

    def forward(self, timesteps: torch.Tensor) -> torch.Tensor:
        dtype = self.timestep_embedder.linear_1.weight.dtype
        return self.timestep_embedder(timestep_embedding(timesteps, 256).to(dtype))


class SinusoidalPositionalEmbedding(nn.Module):
    """diffusers' fixed sinusoidal positions (buffer ``pe``), for configs that ask for them."""

    pe: torch.Tensor

    def __init__(self, embed_dim: int, max_seq_length: int = 32) -> None:
        super().__init__()
        position = torch.arange(max_seq_length).unsqueeze(1)
        div_term = torch.exp(torch.arange(0, embed_dim, 2) * (-math.log(10000.0) / embed_dim))
        pe = torch.zeros(1, max_seq_length, embed_dim)
        pe[0, :, 0::2] = torch.sin(position * div_term)
        pe[0, :, 1::2] = torch.cos(position * div_term)
        self.register_buffer("pe", pe)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.pe[:, : x.shape[1]].to(x.dtype)


class Attention(nn.Module):
    """Multi-head (cross-)attention with diffusers' parameter names (to_q/to_k/to_v/to_out.0)."""

    def __init__(
        self,
        query_dim: int,
        heads: int,
        dim_head: int,
        bias: bool = False,
        cross_attention_dim: int | None = None,
        out_bias: bool = True,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        inner = heads * dim_head
        kv_dim = cross_attention_dim if cross_attention_dim is not None else query_dim
        self.heads = heads
        self.to_q = nn.Linear(query_dim, inner, bias=bias)
        self.to_k = nn.Linear(kv_dim, inner, bias=bias)
        self.to_v = nn.Linear(kv_dim, inner, bias=bias)
        self.to_out = nn.ModuleList(
            [nn.Linear(inner, query_dim, bias=out_bias), nn.Dropout(dropout)]
        )

    def forward(
        self, hidden_states: torch.Tensor, encoder_hidden_states: torch.Tensor | None = None
    ) -> torch.Tensor:
        context = hidden_states if encoder_hidden_states is None else encoder_hidden_states
        b = hidden_states.shape[0]
        q = self.to_q(hidden_states).view(b, -1, self.heads, self.to_q.out_features // self.heads)
        k = self.to_k(context).view(b, -1, self.heads, self.to_k.out_features // self.heads)
        v = self.to_v(context).view(b, -1, self.heads, self.to_v.out_features // self.heads)
        out = F.scaled_dot_product_attention(
            q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
        )
        out = out.transpose(1, 2).reshape(b, -1, self.to_q.out_features).to(q.dtype)
        return self.to_out[1](self.to_out[0](out))


class GELU(nn.Module):
    """diffusers' ``GELU`` activation block (a projection, then GELU)."""

    def __init__(self, dim_in: int, dim_out: int, approximate: str = "none", bias: bool = True):
        super().__init__()
        self.proj = nn.Linear(dim_in, dim_out, bias=bias)
        self.approximate = approximate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.gelu(self.proj(x), approximate=self.approximate)


class GEGLU(nn.Module):
    def __init__(self, dim_in: int, dim_out: int, bias: bool = True):
        super().__init__()
        self.proj = nn.Linear(dim_in, dim_out * 2, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x, gate = self.proj(x).chunk(2, dim=-1)
        return x * F.gelu(gate)


class FeedForward(nn.Module):
    """diffusers' ``FeedForward``: ``net.0`` activation block, ``net.2`` output projection."""

    def __init__(
        self,
        dim: int,
        activation_fn: str = "geglu",
        inner_dim: int | None = None,
        dropout: float = 0.0,
        final_dropout: bool = False,
        bias: bool = True,
    ) -> None:
        super().__init__()
        inner = inner_dim or dim * 4
        act: nn.Module
        if activation_fn == "gelu":
            act = GELU(dim, inner, bias=bias)
        elif activation_fn == "gelu-approximate":
            act = GELU(dim, inner, approximate="tanh", bias=bias)
        elif activation_fn == "geglu":
            act = GEGLU(dim, inner, bias=bias)
        else:
            raise ValueError(f"unsupported activation_fn '{activation_fn}'")
        layers: list[nn.Module] = [act, nn.Dropout(dropout), nn.Linear(inner, dim, bias=bias)]
        if final_dropout:
            layers.append(nn.Dropout(dropout))
        self.net = nn.ModuleList(layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.net:
            x = layer(x)
        return x


class AdaLayerNorm(nn.Module):
    """LayerNorm whose scale and shift come from the timestep embedding."""

    def __init__(self, dim: int, norm_eps: float = 1e-5, elementwise_affine: bool = False) -> None:
        super().__init__()
        self.silu = nn.SiLU()
        self.linear = nn.Linear(dim, dim * 2)
        self.norm = nn.LayerNorm(dim, norm_eps, elementwise_affine)

    def forward(self, x: torch.Tensor, temb: torch.Tensor) -> torch.Tensor:
        scale, shift = self.linear(self.silu(temb)).chunk(2, dim=1)
        return self.norm(x) * (1 + scale[:, None]) + shift[:, None]


class BasicTransformerBlock(nn.Module):
    """norm1 -> attn1 (self or cross) -> residual; norm3 -> ff -> residual."""

    def __init__(
        self,
        dim: int,
        num_attention_heads: int,
        attention_head_dim: int,
        dropout: float = 0.0,
        cross_attention_dim: int | None = None,
        activation_fn: str = "geglu",
        attention_bias: bool = False,
        norm_elementwise_affine: bool = True,
        norm_type: str = "layer_norm",
        norm_eps: float = 1e-5,
        final_dropout: bool = False,
        positional_embeddings: str | None = None,
        num_positional_embeddings: int | None = None,
    ) -> None:
        super().__init__()
        self.norm_type = norm_type
        if positional_embeddings == "sinusoidal":
            if num_positional_embeddings is None:
                raise ValueError("sinusoidal positional embeddings need num_positional_embeddings")
            self.pos_embed: nn.Module | None = SinusoidalPositionalEmbedding(
                dim, num_positional_embeddings
            )
        elif positional_embeddings is None:
            self.pos_embed = None
        else:
            raise ValueError(f"unsupported positional_embeddings '{positional_embeddings}'")
        self.norm1: nn.Module = (
            AdaLayerNorm(dim)
            if norm_type == "ada_norm"
            else nn.LayerNorm(dim, eps=norm_eps, elementwise_affine=norm_elementwise_affine)
        )
        self.attn1 = Attention(
            dim,
            num_attention_heads,
            attention_head_dim,
            bias=attention_bias,
            cross_attention_dim=cross_attention_dim,
            dropout=dropout,
        )
        self.norm3 = nn.LayerNorm(dim, norm_eps, norm_elementwise_affine)
        self.ff = FeedForward(
            dim, activation_fn=activation_fn, dropout=dropout, final_dropout=final_dropout
        )
        self.final_dropout = nn.Dropout(dropout) if final_dropout else None

    def forward(
        self,
        hidden_states: torch.Tensor,
        encoder_hidden_states: torch.Tensor | None = None,
        temb: torch.Tensor | None = None,
    ) -> torch.Tensor:
        if self.norm_type == "ada_norm":
            normed = self.norm1(hidden_states, temb)
        else:
            normed = self.norm1(hidden_states)
        if self.pos_embed is not None:
            normed = self.pos_embed(normed)
        attn = self.attn1(normed, encoder_hidden_states=encoder_hidden_states)
        if self.final_dropout is not None:
            attn = self.final_dropout(attn)
        hidden_states = attn + hidden_states
        return self.ff(self.norm3(hidden_states)) + hidden_states


def _block_kwargs(cfg: dict[str, Any]) -> dict[str, Any]:
    return {
        "dropout": cfg.get("dropout", 0.1),
        "activation_fn": cfg.get("activation_fn", "gelu-approximate"),
        "attention_bias": cfg.get("attention_bias", True),
        "positional_embeddings": cfg.get("positional_embeddings", "sinusoidal"),
        "num_positional_embeddings": cfg.get("max_num_positional_embeddings", 512),
        "final_dropout": cfg.get("final_dropout", True),
    }


class DiT(nn.Module):
    """Diffusion transformer: state/action tokens attend to vision-language features.

    With ``interleave_self_attention`` the odd blocks attend to themselves only.
    """

    def __init__(self, **cfg: Any) -> None:
        super().__init__()
        heads = cfg.get("num_attention_heads", 8)
        head_dim = cfg.get("attention_head_dim", 64)
        self.inner_dim = heads * head_dim
        self.interleave_self_attention = cfg.get("interleave_self_attention", False)
        norm_type = cfg.get("norm_type", "ada_norm")
        self.timestep_encoder = TimestepEncoder(self.inner_dim)
        blocks = []
        for idx in range(cfg.get("num_layers", 12)):
            self_only = idx % 2 == 1 and self.interleave_self_attention
            blocks.append(
                BasicTransformerBlock(
                    self.inner_dim,
                    heads,
                    head_dim,
                    cross_attention_dim=None if self_only else cfg.get("cross_attention_dim"),
                    norm_type=norm_type,
                    norm_elementwise_affine=cfg.get("norm_elementwise_affine", False),
                    norm_eps=cfg.get("norm_eps", 1e-5),
                    **_block_kwargs(cfg),
                )
            )
        self.transformer_blocks = nn.ModuleList(blocks)
        self.norm_out = nn.LayerNorm(self.inner_dim, elementwise_affine=False, eps=1e-6)
        self.proj_out_1 = nn.Linear(self.inner_dim, 2 * self.inner_dim)
        self.proj_out_2 = nn.Linear(self.inner_dim, cfg.get("output_dim", 26))

    def forward(
        self,
        hidden_states: torch.Tensor,
        encoder_hidden_states: torch.Tensor,
        timestep: torch.Tensor,
    ) -> torch.Tensor:
        temb = self.timestep_encoder(timestep)
        for idx, block in enumerate(self.transformer_blocks):
            self_only = idx % 2 == 1 and self.interleave_self_attention
            hidden_states = block(
                hidden_states,
                encoder_hidden_states=None if self_only else encoder_hidden_states,
                temb=temb,
            )
        shift, scale = self.proj_out_1(F.silu(temb)).chunk(2, dim=1)
        hidden_states = self.norm_out(hidden_states) * (1 + scale[:, None]) + shift[:, None]
        return self.proj_out_2(hidden_states)


class SelfAttentionTransformer(nn.Module):
    """Plain self-attention blocks over the backbone features (``vl_self_attention``)."""

    def __init__(self, **cfg: Any) -> None:
        super().__init__()
        heads = cfg.get("num_attention_heads", 8)
        head_dim = cfg.get("attention_head_dim", 64)
        self.inner_dim = heads * head_dim
        self.transformer_blocks = nn.ModuleList(
            [
                BasicTransformerBlock(self.inner_dim, heads, head_dim, **_block_kwargs(cfg))
                for _ in range(cfg.get("num_layers", 12))
            ]
        )

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        for block in self.transformer_blocks:
            hidden_states = block(hidden_states)
        return hidden_states
