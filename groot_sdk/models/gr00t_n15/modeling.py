"""``GR00TN15``: the backbone and the action head under the released checkpoints' names."""

from __future__ import annotations

from typing import Any

import torch
from transformers import PreTrainedModel

from groot_sdk.models.gr00t_n15.action_head import FlowmatchingActionHead
from groot_sdk.models.gr00t_n15.backbone import EagleBackbone
from groot_sdk.models.gr00t_n15.config import GR00TN15Config


class GR00TN15(PreTrainedModel):
    """GR00T N1.5 for inference: ``backbone.*`` (Eagle 2.5) and ``action_head.*`` (flow matching).

    ``from_pretrained`` goes through :func:`groot_sdk.models.gr00t_n15.loading.load_model`, which
    checks every key and shape and names the ones that do not match.
    """

    config_class = GR00TN15Config
    base_model_prefix = "gr00t"
    main_input_name = "input_ids"
    _supports_sdpa = True

    def __init__(self, config: GR00TN15Config) -> None:
        super().__init__(config)
        self.backbone = EagleBackbone(config.backbone_cfg, config.eagle_config)
        self.action_head = FlowmatchingActionHead(config.action_head_cfg)

    def _init_weights(self, module: torch.nn.Module) -> None:  # weights come from checkpoints
        pass

    @torch.no_grad()
    def get_action(
        self,
        pixel_values: torch.Tensor,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        state: torch.Tensor,
        embodiment_id: torch.Tensor,
        noise: torch.Tensor,
    ) -> torch.Tensor:
        """Normalised, padded actions (B, action_horizon, max_action_dim)."""
        features = self.backbone(pixel_values, input_ids, attention_mask)
        dtype = self.action_head.future_tokens.weight.dtype
        return self.action_head(features.to(dtype), state.to(dtype), embodiment_id, noise.to(dtype))

    def forward(self, **inputs: Any) -> torch.Tensor:
        return self.get_action(**inputs)

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, *args: Any, **kwargs: Any):
        from groot_sdk.models.gr00t_n15.loading import load_model

        return load_model(pretrained_model_name_or_path, **kwargs)
