"""A tiny GR00T N1.5 base to fine-tune on a laptop CPU: random backbone, a small head.

Same names, config schema and tokenizer as :mod:`groot_sdk.models.gr00t_n15.tiny`; only the
action head is a little wider (``width``) so that it can learn a real task from the state.
``python -m groot_sdk.finetune.tiny DIR`` writes one.
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path
from typing import Any


def tiny_base_config(width: int = 64, layers: int = 4, dropout: float = 0.0) -> dict[str, Any]:
    from groot_sdk.models.gr00t_n15.tiny import tiny_config_dict

    cfg = copy.deepcopy(tiny_config_dict())
    head = cfg["action_head_cfg"]
    head["hidden_size"] = width
    head["input_embedding_dim"] = width
    dit = head["diffusion_model_cfg"]
    dit.update(num_layers=layers, attention_head_dim=width // 4, num_attention_heads=4,
               output_dim=width, dropout=dropout)  # fmt: skip
    vl = head["vl_self_attention_cfg"]
    vl.update(attention_head_dim=width // 4, num_attention_heads=4, dropout=dropout)
    # the vl self-attention runs at the backbone's width (32 in the tiny backbone)
    vl["attention_head_dim"] = (
        cfg["backbone_cfg"]["eagle_config"]["text_config"]["hidden_size"] // 4
    )
    return cfg


def build_tiny_base(directory: str | Path, seed: int = 0, **kw: Any) -> Path:
    """Write the base: the backbone random as in the tiny test checkpoint, the action head with
    torch's default initialisation (a starting point gradient descent can work from)."""
    import torch

    from groot_sdk.models.gr00t_n15.config import GR00TN15Config
    from groot_sdk.models.gr00t_n15.loading import save_checkpoint
    from groot_sdk.models.gr00t_n15.modeling import GR00TN15
    from groot_sdk.models.gr00t_n15.tiny import tiny_metadata, write_tiny_tokenizer

    torch.manual_seed(seed)
    model = GR00TN15(GR00TN15Config(**tiny_base_config(**kw)))
    with torch.no_grad():
        for name, param in model.backbone.named_parameters():
            if name.endswith(("norm.weight", "layernorm.weight")):
                param.fill_(1.0)
            else:
                param.normal_(0.0, 0.2)
        for name, param in model.action_head.named_parameters():
            if name.endswith(".W"):  # per-embodiment (in, out) weights: fan-in scaled
                param.normal_(0.0, param.shape[-2] ** -0.5)
            elif name in ("future_tokens.weight", "position_embedding.weight"):
                param.normal_(0.0, 0.02)
    out = Path(directory)
    meta = tiny_metadata({"single_arm": 6, "gripper": 1}, {"single_arm": 6, "gripper": 1})
    save_checkpoint(model, out, meta)  # a placeholder: finetune writes the dataset's own
    write_tiny_tokenizer(out)
    return out


if __name__ == "__main__":  # pragma: no cover - a convenience for the docs
    print(build_tiny_base(sys.argv[1] if len(sys.argv) > 1 else "tiny-gr00t-n15"))
