"""GR00T N1.5's training objective and which parameters train.

The loss is Isaac-GR00T N1.5's ``FlowmatchingActionHead.forward``: with t from
:class:`~groot_sdk.finetune.batches.FlowSchedule`, the noisy trajectory
``(1 - t) * noise + t * action``, the velocity target ``action - noise``, the timestep bucket
``int(t * num_timestep_buckets)``, and the squared error masked to the real action dimensions
(``sum(err * mask) / sum(mask)``). The noise and t come with the batch (seeded per sample).

Trainable parts follow N1.5's ``set_trainable_parameters``: the backbone's language model
(``tune_llm``) and vision tower + connector (``tune_visual``); in the action head the state and
action encoders, action decoder and position embedding (``tune_projector``) and the DiT
(``tune_diffusion_model``); the VL layer norm, VL self-attention and future tokens always train.
Frozen modules are kept in eval mode (no dropout), as N1.5 does.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

#: LoRA targets: the DiT's attention and feed-forward projections (always), and with
#: ``lora_llm`` the language model's attention and MLP projections
LORA_DIT = r"action_head\.model\.transformer_blocks\.\d+\.(attn1\.(to_q|to_k|to_v|to_out\.0)|ff\.net\.(0\.proj|2))"
LORA_LLM = r"backbone\.eagle_model\.language_model\.model\.layers\.\d+\.(self_attn\.(q_proj|k_proj|v_proj|o_proj)|mlp\.(gate_proj|up_proj|down_proj))"


def set_trainable(
    model: Any,
    tune_llm: bool,
    tune_visual: bool,
    tune_projector: bool,
    tune_diffusion_model: bool,
) -> None:
    eagle = model.backbone.eagle_model
    model.backbone.requires_grad_(True)
    if not tune_llm:
        eagle.language_model.requires_grad_(False)
    if not tune_visual:
        eagle.vision_model.requires_grad_(False)
        eagle.mlp1.requires_grad_(False)
    head = model.action_head
    head.requires_grad_(True)
    if not tune_projector:
        for part in (head.state_encoder, head.action_encoder, head.action_decoder):
            part.requires_grad_(False)
        if head.add_pos_embed:
            head.position_embedding.requires_grad_(False)
    if not tune_diffusion_model:
        head.model.requires_grad_(False)


def frozen_to_eval(model: Any) -> None:
    """Modules without trainable parameters run in eval mode (dropout off)."""
    eagle = model.backbone.eagle_model
    head = model.action_head
    for module in (
        eagle.language_model,
        eagle.vision_model,
        eagle.mlp1,
        head.state_encoder,
        head.action_encoder,
        head.action_decoder,
        head.model,
    ):
        if not any(p.requires_grad for p in module.parameters()):
            module.eval()


def add_lora(model: Any, rank: int, alpha: int, dropout: float, llm: bool) -> list[str]:
    """LoRA adapters (peft) on the DiT (and the LLM); returns the adapted module names.

    peft freezes everything but the adapters; the caller turns the other trainable parts
    back on (:func:`set_trainable` then this function's result is kept).
    """
    from peft import LoraConfig, inject_adapter_in_model

    target = f"({LORA_DIT})|({LORA_LLM})" if llm else LORA_DIT
    keep = {n for n, p in model.named_parameters() if p.requires_grad}
    config = LoraConfig(r=rank, lora_alpha=alpha, lora_dropout=dropout, target_modules=target)
    inject_adapter_in_model(config, model)
    adapted = [n for n, m in model.named_modules() if hasattr(m, "lora_A")]
    for name, param in model.named_parameters():
        if "lora_" in name or name in keep and not _is_adapted_base(name, adapted):
            param.requires_grad_(True)
    return adapted


def _is_adapted_base(name: str, adapted: list[str]) -> bool:
    return any(name.startswith(a + ".base_layer.") for a in adapted)


def merge_lora(model: nn.Module) -> int:
    """Fold every LoRA adapter into its base layer and put the base layer back in place, so
    the state dict has the released names again; returns how many were merged."""
    merged = 0
    for name, module in list(model.named_modules()):
        if hasattr(module, "lora_A") and hasattr(module, "get_base_layer"):
            module.merge()
            parent_name, _, attr = name.rpartition(".")
            parent = model.get_submodule(parent_name) if parent_name else model
            setattr(parent, attr, module.get_base_layer())
            merged += 1
    return merged


class FlowMatchingObjective(nn.Module):
    """Wraps :class:`GR00TN15`; ``forward(**batch)`` is the masked flow-matching loss."""

    def __init__(self, model: Any) -> None:
        super().__init__()
        self.model = model

    def _features(self, pixel_values, input_ids, attention_mask) -> torch.Tensor:
        backbone = self.model.backbone
        if any(p.requires_grad for p in backbone.eagle_model.parameters()):
            hidden = backbone.eagle_model(pixel_values, input_ids, attention_mask)
        else:
            with torch.no_grad():
                hidden = backbone.eagle_model(pixel_values, input_ids, attention_mask)
        return backbone.eagle_linear(hidden)

    def forward(
        self,
        pixel_values: torch.Tensor,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        state: torch.Tensor,
        embodiment_id: torch.Tensor,
        action: torch.Tensor,
        action_mask: torch.Tensor,
        noise: torch.Tensor,
        t: torch.Tensor,
    ) -> torch.Tensor:
        head = self.model.action_head
        features = self._features(pixel_values, input_ids, attention_mask)
        vl_embs = head.process_backbone_features(features)
        state_features = head.state_encoder(state, embodiment_id)
        tt = t[:, None, None]
        noisy = (1 - tt) * noise + tt * action
        velocity = action - noise
        bucket = (t * head.num_timestep_buckets).long()
        pred = head.velocity(noisy, bucket, state_features, vl_embs, embodiment_id)
        err = (pred.float() - velocity.float()) ** 2 * action_mask
        return err.sum() / action_mask.sum()
