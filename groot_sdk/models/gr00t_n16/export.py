"""Export GR00T N1.6 to ONNX: ``backbone.onnx`` and ``action_head.onnx``.

* ``backbone.onnx``: pixel_values (N, 3, H, W), input_ids (B, L), attention_mask (B, L) ->
  backbone_features (B, L, D): SigLIP 2 (position grid resized for the exported image size),
  unshuffle + connector, image-token scatter, the truncated Qwen3.
* ``action_head.onnx``: backbone_features, attention_mask, image_mask (B, L) (``input_ids`` ==
  the image token), state (B, 1, max_state_dim), embodiment_id (B,), noise (B, horizon,
  max_action_dim) -> actions: vlln and **every Euler step** (buckets as constants).

The image size is fixed at export (the position resize is a constant); the manifest records it
and the runtime refuses frames that would reach the encoder at another size. The directory also
gets config.json, the processor files and the tokenizer files, so it is a self-contained policy.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

log = logging.getLogger(__name__)

MANIFEST = "groot_onnx.json"
FORMAT = "groot-n1.6-onnx"
BACKBONE_INPUTS = ["pixel_values", "input_ids", "attention_mask"]
HEAD_INPUTS = [
    "backbone_features",
    "attention_mask",
    "image_mask",
    "state",
    "embodiment_id",
    "noise",
]
COPY = [
    "config.json",
    "processor_config.json",
    "statistics.json",
    "embodiment_id.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "preprocessor_config.json",
    "chat_template.json",
    "chat_template.jinja",
]


class _Backbone(nn.Module):
    def __init__(self, model: Any) -> None:
        super().__init__()
        self.backbone = model.backbone

    def forward(self, pixel_values, input_ids, attention_mask):
        return self.backbone(pixel_values, input_ids, attention_mask)


class _Head(nn.Module):
    def __init__(self, model: Any) -> None:
        super().__init__()
        self.action_head = model.action_head

    def forward(self, backbone_features, attention_mask, image_mask, state, embodiment_id, noise):
        return self.action_head(
            backbone_features, attention_mask, image_mask, state, embodiment_id, noise
        )


def example_inputs(model: Any, processor: Any, batch: int = 2) -> dict[str, torch.Tensor]:
    """A batch with prompts of different lengths, so the padding path is traced."""
    from groot_sdk.models.gr00t_n16.runtime import synthetic_observation

    observations = [synthetic_observation(processor, seed=i) for i in range(batch)]
    for i, obs in enumerate(observations[1:], 1):
        obs[processor.language_key] = " ".join(["pick up the cube and place it in the box"] * i)
    inputs = processor.collate(observations)
    shape = (batch, processor.model_horizon, processor.max_action_dim)
    ids = torch.from_numpy(inputs.input_ids)
    return {
        "pixel_values": torch.from_numpy(inputs.pixel_values),
        "input_ids": ids,
        "attention_mask": torch.from_numpy(inputs.attention_mask),
        "image_mask": (ids == model.image_token_index).to(torch.int64),
        "state": torch.from_numpy(inputs.state),
        "embodiment_id": torch.from_numpy(inputs.embodiment_id),
        "noise": torch.from_numpy(
            np.random.default_rng(0).standard_normal(shape).astype(np.float32)
        ),
    }


def export_onnx(
    checkpoint: str | Path,
    out_dir: str | Path,
    embodiment_tag: str | None = None,
    opset: int = 18,
    parts: tuple[str, ...] = ("backbone", "action_head"),
    tokenizer: str | Path | None = None,
) -> Path:
    """Write the ONNX graphs and the files the runtime needs; return ``out_dir``."""
    from groot_sdk.models.common.export import copy_side_files, export_graphs, write_manifest
    from groot_sdk.models.gr00t_n16.loading import load_model, resolve_checkpoint
    from groot_sdk.models.gr00t_n16.processing import build_processor
    from groot_sdk.models.gr00t_n16.runtime import choose_tag

    directory = resolve_checkpoint(checkpoint)
    model = load_model(directory, dtype=torch.float32).eval()
    tag = choose_tag(directory, embodiment_tag, None)
    tok_dir = resolve_checkpoint(tokenizer, local_files_only=True) if tokenizer else None
    processor = build_processor(directory, model.config, tag, tok_dir)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ex = example_inputs(model, processor)
    with torch.no_grad():
        features = model.backbone(ex["pixel_values"], ex["input_ids"], ex["attention_mask"])
        graphs = export_graphs(
            out,
            parts,
            opset,
            (
                _Backbone(model).eval(),
                (ex["pixel_values"], ex["input_ids"], ex["attention_mask"]),
                BACKBONE_INPUTS,
                {
                    "pixel_values": {0: "images"},
                    "input_ids": {0: "batch", 1: "seq"},
                    "attention_mask": {0: "batch", 1: "seq"},
                },
            ),
            (
                _Head(model).eval(),
                (
                    features,
                    ex["attention_mask"],
                    ex["image_mask"],
                    ex["state"],
                    ex["embodiment_id"],
                    ex["noise"],
                ),
                HEAD_INPUTS,
                {
                    "backbone_features": {0: "batch", 1: "seq"},
                    "attention_mask": {0: "batch", 1: "seq"},
                    "image_mask": {0: "batch", 1: "seq"},
                    "state": {0: "batch"},
                    "embodiment_id": {0: "batch"},
                    "noise": {0: "batch"},
                },
            ),
        )
    copy_side_files(COPY, directory, tok_dir, out)
    write_manifest(
        out,
        FORMAT,
        graphs,
        model.action_head,
        opset,
        tag,
        {"backbone": BACKBONE_INPUTS, "action_head": HEAD_INPUTS},
        extra={"image_size": list(ex["pixel_values"].shape[2:])},
    )
    log.info("exported GR00T N1.6 %s to %s", sorted(graphs), out)
    return out
