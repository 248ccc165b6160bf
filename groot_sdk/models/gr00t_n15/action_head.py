"""GR00T N1.5's flow-matching action head (inference path).

Parameter names follow Isaac-GR00T's ``FlowmatchingActionHead``: ``state_encoder.layer{1,2}``,
``action_encoder.W{1,2,3}``, ``action_decoder.layer{1,2}`` (one weight slice per embodiment),
``position_embedding``, ``future_tokens``, ``vlln``, ``vl_self_attention``, ``model`` (the DiT).
The initial noise is an explicit input so runs are reproducible and the whole Euler loop can be
exported to ONNX as one graph.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from groot_sdk.models.gr00t_n15.dit import DiT, SelfAttentionTransformer


class CategorySpecificLinear(nn.Module):
    """A linear layer with one (W, b) per embodiment category."""

    def __init__(self, num_categories: int, input_dim: int, hidden_dim: int) -> None:
        super().__init__()
        self.W = nn.Parameter(0.02 * torch.randn(num_categories, input_dim, hidden_dim))
        self.b = nn.Parameter(torch.zeros(num_categories, hidden_dim))

    def forward(self, x: torch.Tensor, cat_ids: torch.Tensor) -> torch.Tensor:
        return torch.bmm(x, self.W[cat_ids]) + self.b[cat_ids].unsqueeze(1)


class CategorySpecificMLP(nn.Module):
    def __init__(self, num_categories: int, input_dim: int, hidden_dim: int, output_dim: int):
        super().__init__()
        self.layer1 = CategorySpecificLinear(num_categories, input_dim, hidden_dim)
        self.layer2 = CategorySpecificLinear(num_categories, hidden_dim, output_dim)

    def forward(self, x: torch.Tensor, cat_ids: torch.Tensor) -> torch.Tensor:
        return self.layer2(F.relu(self.layer1(x, cat_ids)), cat_ids)


def sinusoidal_encoding(timesteps: torch.Tensor, dim: int) -> torch.Tensor:
    """(B, T) -> (B, T, dim): [sin | cos] of log-spaced frequencies (the action encoder's)."""
    half = dim // 2
    exponent = -torch.arange(half, dtype=torch.float32, device=timesteps.device) * (
        torch.log(torch.tensor(10000.0)) / half
    )
    freqs = timesteps.float().unsqueeze(-1) * exponent.exp()
    return torch.cat([torch.sin(freqs), torch.cos(freqs)], dim=-1)


class MultiEmbodimentActionEncoder(nn.Module):
    """Noisy action trajectory + timestep bucket -> action tokens (per embodiment)."""

    def __init__(self, action_dim: int, hidden_size: int, num_embodiments: int) -> None:
        super().__init__()
        self.hidden_size = hidden_size
        self.W1 = CategorySpecificLinear(num_embodiments, action_dim, hidden_size)
        self.W2 = CategorySpecificLinear(num_embodiments, 2 * hidden_size, hidden_size)
        self.W3 = CategorySpecificLinear(num_embodiments, hidden_size, hidden_size)

    def forward(
        self, actions: torch.Tensor, timesteps: torch.Tensor, cat_ids: torch.Tensor
    ) -> torch.Tensor:
        horizon = actions.shape[1]
        a_emb = self.W1(actions, cat_ids)
        tau = sinusoidal_encoding(timesteps.unsqueeze(1).expand(-1, horizon), self.hidden_size)
        x = torch.cat([a_emb, tau.to(a_emb.dtype)], dim=-1)
        x = F.silu(self.W2(x, cat_ids))
        return self.W3(x, cat_ids)


class FlowmatchingActionHead(nn.Module):
    """State + backbone features -> (B, action_horizon, action_dim) actions by Euler steps."""

    def __init__(self, cfg: dict[str, Any]) -> None:
        super().__init__()
        self.cfg = cfg
        self.hidden_size = cfg["hidden_size"]
        self.input_embedding_dim = cfg["input_embedding_dim"]
        self.action_dim = cfg["action_dim"]
        self.action_horizon = cfg["action_horizon"]
        self.num_inference_timesteps = cfg["num_inference_timesteps"]
        self.num_timestep_buckets = cfg["num_timestep_buckets"]
        self.add_pos_embed = cfg.get("add_pos_embed", True)
        n_emb = cfg.get("max_num_embodiments", 32)

        self.model = DiT(**cfg["diffusion_model_cfg"])
        self.state_encoder = CategorySpecificMLP(
            n_emb, cfg["max_state_dim"], self.hidden_size, self.input_embedding_dim
        )
        self.action_encoder = MultiEmbodimentActionEncoder(
            self.action_dim, self.input_embedding_dim, n_emb
        )
        self.action_decoder = CategorySpecificMLP(
            n_emb, self.hidden_size, self.hidden_size, self.action_dim
        )
        self.future_tokens = nn.Embedding(cfg["num_target_vision_tokens"], self.input_embedding_dim)
        use_vlln = cfg.get("use_vlln", True)
        self.vlln: nn.Module = (
            nn.LayerNorm(cfg["backbone_embedding_dim"]) if use_vlln else nn.Identity()
        )
        self.vl_self_attention: nn.Module = (
            SelfAttentionTransformer(**cfg["vl_self_attention_cfg"]) if use_vlln else nn.Identity()
        )
        if self.add_pos_embed:
            self.position_embedding = nn.Embedding(
                cfg.get("max_seq_len", 1024), self.input_embedding_dim
            )

    def timestep_buckets(self) -> list[int]:
        """The discretised timesteps of the Euler loop: int(k / N * buckets), k = 0..N-1."""
        n = self.num_inference_timesteps
        return [int(k / float(n) * self.num_timestep_buckets) for k in range(n)]

    def process_backbone_features(self, features: torch.Tensor) -> torch.Tensor:
        return self.vl_self_attention(self.vlln(features))

    def velocity(
        self,
        actions: torch.Tensor,
        bucket: torch.Tensor,
        state_features: torch.Tensor,
        vl_embs: torch.Tensor,
        embodiment_id: torch.Tensor,
    ) -> torch.Tensor:
        """One denoising step's predicted velocity (B, horizon, action_dim)."""
        action_features = self.action_encoder(actions, bucket, embodiment_id)
        if self.add_pos_embed:
            pos_ids = torch.arange(action_features.shape[1], device=actions.device)
            action_features = action_features + self.position_embedding(pos_ids).unsqueeze(0)
        future = self.future_tokens.weight.unsqueeze(0).expand(vl_embs.shape[0], -1, -1)
        sa_embs = torch.cat((state_features, future.to(action_features.dtype), action_features), 1)
        out = self.model(hidden_states=sa_embs, encoder_hidden_states=vl_embs, timestep=bucket)
        pred = self.action_decoder(out, embodiment_id)
        return pred[:, -self.action_horizon :]

    def forward(
        self,
        backbone_features: torch.Tensor,
        state: torch.Tensor,
        embodiment_id: torch.Tensor,
        noise: torch.Tensor,
    ) -> torch.Tensor:
        """The whole Euler loop; ``noise`` (B, horizon, action_dim) is the starting sample."""
        vl_embs = self.process_backbone_features(backbone_features)
        state_features = self.state_encoder(state, embodiment_id)
        actions = noise.to(vl_embs.dtype)
        dt = 1.0 / self.num_inference_timesteps
        for bucket_value in self.timestep_buckets():
            bucket = torch.full(
                (actions.shape[0],), bucket_value, dtype=torch.long, device=actions.device
            )
            actions = actions + dt * self.velocity(
                actions, bucket, state_features, vl_embs, embodiment_id
            )
        return actions
