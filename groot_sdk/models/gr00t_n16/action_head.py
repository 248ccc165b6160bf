"""GR00T N1.6's flow-matching action head (inference path).

Differences from N1.5 (whose embodiment-conditioned MLPs and action encoder it reuses):
no future tokens and no VL self-attention (the backbone tokens only go through ``vlln``), a
32-layer DiT whose cross-attention alternates between text and image tokens under the prompt's
mask, wider state/action vectors (128 in the 3B release) and a longer horizon (50). The sequence
the DiT sees is ``[state token, action tokens]``. ``mask_token`` exists when the checkpoint was
trained with state dropout; inference never uses it.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from groot_sdk.models.gr00t_n15.action_head import (
    CategorySpecificMLP,
    MultiEmbodimentActionEncoder,
)
from groot_sdk.models.gr00t_n16.dit import DiT


class Gr00tN1d6ActionHead(nn.Module):
    """State + backbone tokens -> (B, action_horizon, max_action_dim) by Euler steps."""

    def __init__(self, config: Any) -> None:
        super().__init__()
        self.hidden_size = int(config.hidden_size)
        self.input_embedding_dim = int(config.input_embedding_dim)
        self.action_dim = int(config.max_action_dim)
        self.action_horizon = int(config.action_horizon)
        self.num_inference_timesteps = int(config.num_inference_timesteps)
        self.num_timestep_buckets = int(config.num_timestep_buckets)
        self.add_pos_embed = bool(config.add_pos_embed)
        n_emb = int(config.max_num_embodiments)
        self.model = DiT(
            cross_attention_dim=int(config.backbone_embedding_dim),
            alternate=bool(config.use_alternate_vl_dit),
            attend_text_every_n_blocks=int(config.attend_text_every_n_blocks),
            **config.diffusion_model_cfg,
        )
        self.state_encoder = CategorySpecificMLP(
            n_emb, int(config.max_state_dim), self.hidden_size, self.input_embedding_dim
        )
        self.action_encoder = MultiEmbodimentActionEncoder(
            self.action_dim, self.input_embedding_dim, n_emb
        )
        self.action_decoder = CategorySpecificMLP(
            n_emb, self.hidden_size, self.hidden_size, self.action_dim
        )
        self.vlln: nn.Module = (
            nn.LayerNorm(int(config.backbone_embedding_dim)) if config.use_vlln else nn.Identity()
        )
        if self.add_pos_embed:
            self.position_embedding = nn.Embedding(
                int(config.max_seq_len), self.input_embedding_dim
            )
        if float(config.state_dropout_prob) > 0:
            self.mask_token = nn.Parameter(torch.zeros(1, 1, self.input_embedding_dim))

    def timestep_buckets(self) -> list[int]:
        """int(k / N * buckets), k = 0..N-1 (0/250/500/750 for 4 steps)."""
        n = self.num_inference_timesteps
        return [int(k / float(n) * self.num_timestep_buckets) for k in range(n)]

    def velocity(
        self,
        actions: torch.Tensor,
        bucket: torch.Tensor,
        state_features: torch.Tensor,
        vl_embs: torch.Tensor,
        embodiment_id: torch.Tensor,
        image_mask: torch.Tensor,
        attention_mask: torch.Tensor,
    ) -> torch.Tensor:
        """One denoising step's predicted velocity (B, horizon, max_action_dim)."""
        features = self.action_encoder(actions, bucket, embodiment_id)
        if self.add_pos_embed:
            pos_ids = torch.arange(features.shape[1], device=actions.device)
            features = features + self.position_embedding(pos_ids).unsqueeze(0)
        tokens = torch.cat((state_features, features), dim=1)
        out = self.model(tokens, vl_embs, bucket, image_mask, attention_mask)
        return self.action_decoder(out, embodiment_id)[:, -self.action_horizon :]

    def forward(
        self,
        backbone_features: torch.Tensor,
        attention_mask: torch.Tensor,
        image_mask: torch.Tensor,
        state: torch.Tensor,
        embodiment_id: torch.Tensor,
        noise: torch.Tensor,
    ) -> torch.Tensor:
        """The whole Euler loop from ``noise`` (B, horizon, max_action_dim)."""
        vl_embs = self.vlln(backbone_features)
        state_features = self.state_encoder(state, embodiment_id)
        actions = noise.to(vl_embs.dtype)
        dt = 1.0 / self.num_inference_timesteps
        for value in self.timestep_buckets():
            bucket = torch.full((actions.shape[0],), value, dtype=torch.long, device=noise.device)
            actions = actions + dt * self.velocity(
                actions, bucket, state_features, vl_embs, embodiment_id, image_mask, attention_mask
            )
        return actions
