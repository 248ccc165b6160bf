"""``Gr00tN1d6``: the Eagle 3 backbone and the N1.6 action head under the released names."""

from __future__ import annotations

from typing import Any

import torch
from transformers import PreTrainedModel

from groot_sdk.models.gr00t_n16.action_head import Gr00tN1d6ActionHead
from groot_sdk.models.gr00t_n16.backbone import EagleBackbone
from groot_sdk.models.gr00t_n16.config import Gr00tN1d6Config


class Gr00tN1d6(PreTrainedModel):
    """GR00T N1.6 for inference: ``backbone.model.*`` (Eagle 3) and ``action_head.*``.

    ``from_pretrained`` goes through :func:`groot_sdk.models.gr00t_n16.loading.load_model`, which
    checks every key and shape and names the ones that do not match.
    """

    config_class = Gr00tN1d6Config
    base_model_prefix = "gr00t_n1d6"
    main_input_name = "input_ids"
    _supports_sdpa = True

    def __init__(self, config: Gr00tN1d6Config) -> None:
        super().__init__(config)
        self.backbone = EagleBackbone(config)
        self.action_head = Gr00tN1d6ActionHead(config)
        self.image_token_index = int(config.eagle_config["image_token_index"])

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
        dtype = next(self.action_head.parameters()).dtype
        image_mask = input_ids == self.image_token_index
        return self.action_head(
            features.to(dtype),
            attention_mask,
            image_mask,
            state.to(dtype),
            embodiment_id,
            noise.to(dtype),
        )

    def forward(self, **inputs: Any) -> torch.Tensor:
        return self.get_action(**inputs)

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, *args: Any, **kwargs: Any):
        from groot_sdk.models.gr00t_n16.loading import load_model

        return load_model(pretrained_model_name_or_path, **kwargs)
