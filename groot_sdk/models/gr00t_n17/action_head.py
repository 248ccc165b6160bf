"""GR00T N1.7's flow-matching action head (inference path).

What changed from N1.5 (whose building blocks are reused): no future tokens (the DiT sees
``[state, actions]``), a 32-layer DiT whose cross-attention blocks alternate between the text
tokens and the image tokens of the backbone (``AlternateVLDiT``: block 0, 4, 8, ... text,
2, 6, 10, ... image, odd blocks self-attention), masks from the prompt's padding, horizon 40 and
132-D state/action. Parameter names follow the checkpoint (``action_head.model.*``,
``state_encoder``, ``action_encoder``, ``action_decoder``, ``position_embedding``, ``vlln``,
``vl_self_attention``). The noise is an input so the whole Euler loop exports as one graph.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from groot_sdk.models.gr00t_n15.action_head import CategorySpecificMLP, MultiEmbodimentActionEncoder
from groot_sdk.models.gr00t_n15.dit import (
    Attention,
    BasicTransformerBlock,
    SelfAttentionTransformer,
    TimestepEncoder,
    _block_kwargs,
)


class MaskedAttention(Attention):
    """diffusers' ``Attention`` with a key mask (B, S), True = attend, as ``AttnProcessor2_0``
    applies it; a query whose keys are all masked gets zeros (torch's SDPA does the same)."""

    def forward(  # type: ignore[override, unused-ignore]
        self,
        hidden_states: torch.Tensor,
        encoder_hidden_states: torch.Tensor | None = None,
        key_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        if key_mask is None:
            return super().forward(hidden_states, encoder_hidden_states)
        context = hidden_states if encoder_hidden_states is None else encoder_hidden_states
        b = hidden_states.shape[0]
        heads = self.heads
        q = self.to_q(hidden_states).view(b, -1, heads, self.to_q.out_features // heads)
        k = self.to_k(context).view(b, -1, heads, self.to_k.out_features // heads)
        v = self.to_v(context).view(b, -1, heads, self.to_v.out_features // heads)
        mask = key_mask[:, None, None, :]
        out = F.scaled_dot_product_attention(
            q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), attn_mask=mask
        )
        out = torch.where(mask.any(-1, keepdim=True), out, torch.zeros_like(out))
        out = out.transpose(1, 2).reshape(b, -1, self.to_q.out_features).to(q.dtype)
        return self.to_out[1](self.to_out[0](out))


class MaskedBlock(BasicTransformerBlock):
    """N1.5's transformer block whose (cross-)attention takes a key mask."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        old = self.attn1
        self.attn1 = MaskedAttention(
            old.to_q.in_features,
            old.heads,
            old.to_q.out_features // old.heads,
            bias=old.to_q.bias is not None,
            cross_attention_dim=old.to_k.in_features,
            dropout=0.0,
        )

    def forward(  # type: ignore[override, unused-ignore]
        self,
        hidden_states: torch.Tensor,
        encoder_hidden_states: torch.Tensor | None = None,
        temb: torch.Tensor | None = None,
        key_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        normed = (
            self.norm1(hidden_states, temb)
            if self.norm_type == "ada_norm"
            else self.norm1(hidden_states)
        )
        if self.pos_embed is not None:
            normed = self.pos_embed(normed)
        attn = self.attn1(normed, encoder_hidden_states, key_mask)
        hidden_states = attn + hidden_states
        return self.ff(self.norm3(hidden_states)) + hidden_states


class AlternateVLDiT(nn.Module):
    """The N1.7 DiT: even blocks cross-attend to text or image tokens in turn, odd blocks to
    themselves (``interleave_self_attention`` is required)."""

    def __init__(self, attend_text_every_n_blocks: int = 2, **cfg: Any) -> None:
        super().__init__()
        heads = cfg.get("num_attention_heads", 8)
        head_dim = cfg.get("attention_head_dim", 64)
        self.inner_dim = heads * head_dim
        if not cfg.get("interleave_self_attention", False):
            raise ValueError("GR00T N1.7's DiT needs interleave_self_attention=True")
        self.attend_text_every_n_blocks = int(attend_text_every_n_blocks)
        self.timestep_encoder = TimestepEncoder(self.inner_dim)
        self.transformer_blocks = nn.ModuleList(
            MaskedBlock(
                self.inner_dim,
                heads,
                head_dim,
                cross_attention_dim=None if idx % 2 == 1 else cfg.get("cross_attention_dim"),
                norm_type=cfg.get("norm_type", "ada_norm"),
                norm_elementwise_affine=cfg.get("norm_elementwise_affine", False),
                norm_eps=cfg.get("norm_eps", 1e-5),
                **_block_kwargs(cfg),
            )
            for idx in range(cfg.get("num_layers", 12))
        )
        self.norm_out = nn.LayerNorm(self.inner_dim, elementwise_affine=False, eps=1e-6)
        self.proj_out_1 = nn.Linear(self.inner_dim, 2 * self.inner_dim)
        self.proj_out_2 = nn.Linear(self.inner_dim, cfg.get("output_dim", 26))

    def forward(
        self,
        hidden_states: torch.Tensor,
        encoder_hidden_states: torch.Tensor,
        timestep: torch.Tensor,
        text_mask: torch.Tensor,
        image_mask: torch.Tensor,
    ) -> torch.Tensor:
        temb = self.timestep_encoder(timestep)
        period = 2 * self.attend_text_every_n_blocks
        for idx, block in enumerate(self.transformer_blocks):
            if idx % 2 == 1:
                hidden_states = block(hidden_states, temb=temb)
            else:
                mask = text_mask if idx % period == 0 else image_mask
                hidden_states = block(hidden_states, encoder_hidden_states, temb, mask)
        shift, scale = self.proj_out_1(F.silu(temb)).chunk(2, dim=1)
        hidden_states = self.norm_out(hidden_states) * (1 + scale[:, None]) + shift[:, None]
        return self.proj_out_2(hidden_states)


class Gr00tN17ActionHead(nn.Module):
    """Backbone features + state -> (B, action_horizon, max_action_dim) by Euler steps."""

    def __init__(self, config: Any) -> None:
        super().__init__()
        self.hidden_size = int(config.hidden_size)
        self.input_embedding_dim = int(config.input_embedding_dim)
        self.action_dim = int(config.max_action_dim)
        self.action_horizon = int(config.action_horizon)
        self.num_inference_timesteps = int(config.num_inference_timesteps)
        self.num_timestep_buckets = int(config.num_timestep_buckets)
        self.add_pos_embed = bool(config.add_pos_embed)
        if not config.use_alternate_vl_dit:
            raise ValueError("this GR00T N1.7 implementation needs use_alternate_vl_dit=True")
        n_emb = int(config.max_num_embodiments)
        self.model = AlternateVLDiT(
            attend_text_every_n_blocks=config.attend_text_every_n_blocks,
            cross_attention_dim=config.backbone_embedding_dim,
            **config.diffusion_model_cfg,
        )
        state_in = int(config.max_state_dim) * int(config.state_history_length)
        self.state_encoder = CategorySpecificMLP(
            n_emb, state_in, self.hidden_size, self.input_embedding_dim
        )
        self.action_encoder = MultiEmbodimentActionEncoder(
            self.action_dim, self.input_embedding_dim, n_emb
        )
        self.action_decoder = CategorySpecificMLP(
            n_emb, self.hidden_size, self.hidden_size, self.action_dim
        )
        dim = int(config.backbone_embedding_dim)
        self.vlln: nn.Module = nn.LayerNorm(dim) if config.use_vlln else nn.Identity()
        vl_cfg = config.vl_self_attention_cfg or {}
        self.vl_self_attention: nn.Module = (
            SelfAttentionTransformer(**vl_cfg) if vl_cfg.get("num_layers", 0) > 0 else nn.Identity()
        )
        if self.add_pos_embed:
            self.position_embedding = nn.Embedding(
                int(config.max_seq_len), self.input_embedding_dim
            )

    def timestep_buckets(self) -> list[int]:
        """The discretised timesteps of the Euler loop: int(k / N * buckets), k = 0..N-1."""
        n = self.num_inference_timesteps
        return [int(k / float(n) * self.num_timestep_buckets) for k in range(n)]

    def forward(
        self,
        backbone_features: torch.Tensor,
        image_mask: torch.Tensor,
        attention_mask: torch.Tensor,
        state: torch.Tensor,
        embodiment_id: torch.Tensor,
        noise: torch.Tensor,
    ) -> torch.Tensor:
        """The whole Euler loop. Padded prompt positions reach the actions through the
        (unmasked) VL self-attention, as in the reference; the DiT's cross-attention masks them."""
        vl = self.vl_self_attention(self.vlln(backbone_features))
        valid = attention_mask.bool()
        image = image_mask.bool() & valid
        text = ~image_mask.bool() & valid
        state_features = self.state_encoder(state.reshape(state.shape[0], 1, -1), embodiment_id)
        actions = noise.to(vl.dtype)
        dt = 1.0 / self.num_inference_timesteps
        for value in self.timestep_buckets():
            bucket = torch.full((actions.shape[0],), value, dtype=torch.long, device=vl.device)
            features = self.action_encoder(actions, bucket, embodiment_id)
            if self.add_pos_embed:
                pos = torch.arange(features.shape[1], device=vl.device)
                features = features + self.position_embedding(pos).unsqueeze(0)
            tokens = torch.cat((state_features, features), dim=1)
            out = self.model(tokens, vl, bucket, text, image)
            pred = self.action_decoder(out, embodiment_id)
            actions = actions + dt * pred[:, -self.action_horizon :]
        return actions
