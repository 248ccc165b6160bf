"""``GR00TN17``: the Qwen3-VL backbone and the action head under the released names."""

from __future__ import annotations

from typing import Any

import torch
from transformers import PreTrainedModel

from groot_sdk.models.gr00t_n17.action_head import Gr00tN17ActionHead
from groot_sdk.models.gr00t_n17.backbone import Qwen3VLBackbone
from groot_sdk.models.gr00t_n17.config import GR00TN17Config


class GR00TN17(PreTrainedModel):
    """GR00T N1.7 for inference: ``backbone.model.*`` (Qwen3-VL) and ``action_head.*``.

    ``from_pretrained`` goes through :func:`groot_sdk.models.gr00t_n17.loading.load_model`,
    which checks every key and shape and names the ones that do not match.
    """

    config_class = GR00TN17Config
    base_model_prefix = "gr00t"
    main_input_name = "input_ids"
    _supports_sdpa = True

    def __init__(self, config: GR00TN17Config) -> None:
        super().__init__(config)
        self.backbone = Qwen3VLBackbone(
            config.qwen3_vl_config, int(config.select_layer), config.image_size
        )
        self.action_head = Gr00tN17ActionHead(config)

    def _init_weights(self, module: torch.nn.Module) -> None:  # weights come from checkpoints
        pass

    @torch.no_grad()
    def get_action(
        self,
        pixel_values: torch.Tensor,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        position_ids: torch.Tensor,
        state: torch.Tensor,
        embodiment_id: torch.Tensor,
        noise: torch.Tensor,
    ) -> torch.Tensor:
        """Normalised, padded actions (B, action_horizon, max_action_dim)."""
        features, image_mask = self.backbone(pixel_values, input_ids, attention_mask, position_ids)
        dtype = self.action_head.state_encoder.layer1.W.dtype
        return self.action_head(
            features.to(dtype),
            image_mask,
            attention_mask,
            state.to(dtype),
            embodiment_id,
            noise.to(dtype),
        )

    def forward(self, **inputs: Any) -> torch.Tensor:
        return self.get_action(**inputs)

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, *args: Any, **kwargs: Any):
        from groot_sdk.models.gr00t_n17.loading import load_model

        return load_model(pretrained_model_name_or_path, **kwargs)
