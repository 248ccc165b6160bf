"""Export GR00T N1.7 to ONNX: ``backbone.onnx`` and ``action_head.onnx``.

* ``backbone.onnx``: pixel_values (images, patches, 3*2*16*16), input_ids (B, L),
  attention_mask (B, L), position_ids (3, B, L) -> backbone_features (B, L, 2048): the vision
  tower batched per image, the image-token gather, the truncated LM before its final norm.
* ``action_head.onnx``: backbone_features, input_ids, attention_mask, state (B, 1, 132),
  embodiment_id (B,), noise (B, 40, 132) -> actions (B, 40, 132): vlln + VL self-attention and
  every Euler step unrolled (the text/image masks come from input_ids and attention_mask).

The directory also gets the checkpoint's JSON side files and tokenizer files plus
``groot_onnx.json`` (``format: groot-n1.7-onnx``), so it is a self-contained policy for the
``onnx`` and ``tensorrt`` backends.
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
FORMAT = "groot-n1.7-onnx"
BACKBONE_INPUTS = ["pixel_values", "input_ids", "attention_mask", "position_ids"]
HEAD_INPUTS = [
    "backbone_features",
    "input_ids",
    "attention_mask",
    "state",
    "embodiment_id",
    "noise",
]
_COPY = [
    "config.json",
    "statistics.json",
    "embodiment_id.json",
    "processor_config.json",
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

    def forward(self, pixel_values, input_ids, attention_mask, position_ids):
        return self.backbone(pixel_values, input_ids, attention_mask, position_ids)[0]


class _Head(nn.Module):
    def __init__(self, model: Any) -> None:
        super().__init__()
        self.action_head = model.action_head
        self.image_token_id = int(model.backbone.image_token_id)

    def forward(self, backbone_features, input_ids, attention_mask, state, embodiment_id, noise):
        image_mask = input_ids == self.image_token_id
        return self.action_head(
            backbone_features, image_mask, attention_mask, state, embodiment_id, noise
        )


def example_inputs(processor: Any, batch: int = 2) -> dict[str, torch.Tensor]:
    from groot_sdk.models.gr00t_n17.runtime import synthetic_observation

    observations = [synthetic_observation(processor, seed=i) for i in range(batch)]
    for i, obs in enumerate(observations[1:], 1):  # different lengths: trace the padding path
        obs[processor.language_key] = [" ".join(["pick up the cube and place it in the box"] * i)]
    inputs = processor.collate(observations)
    h, d = processor.model_horizon, processor.max_action_dim
    return {
        "pixel_values": torch.from_numpy(inputs.pixel_values),
        "input_ids": torch.from_numpy(inputs.input_ids),
        "attention_mask": torch.from_numpy(inputs.attention_mask),
        "position_ids": torch.from_numpy(inputs.position_ids),
        "state": torch.from_numpy(inputs.state),
        "embodiment_id": torch.from_numpy(inputs.embodiment_id),
        "noise": torch.from_numpy(
            np.random.default_rng(0).standard_normal((batch, h, d)).astype(np.float32)
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
    from groot_sdk.models.gr00t_n15.loading import resolve_checkpoint
    from groot_sdk.models.gr00t_n17.loading import CHECKPOINT_PATTERNS, load_model
    from groot_sdk.models.gr00t_n17.processing import build_processor
    from groot_sdk.models.gr00t_n17.runtime import choose_tag

    directory = resolve_checkpoint(checkpoint, allow_patterns=CHECKPOINT_PATTERNS)
    model = load_model(directory, dtype=torch.float32).eval()
    tag = choose_tag(directory, embodiment_tag, None)
    tok_dir = resolve_checkpoint(tokenizer, local_files_only=True) if tokenizer else None
    processor = build_processor(directory, model.config, tag, tok_dir)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ex = example_inputs(processor, batch=2)  # size-1 dims would be specialised
    backbone_args = tuple(ex[k] for k in BACKBONE_INPUTS)
    with torch.no_grad():
        features = model.backbone(*backbone_args)[0]
        graphs = export_graphs(
            out,
            parts,
            opset,
            (
                _Backbone(model).eval(),
                backbone_args,
                BACKBONE_INPUTS,
                {
                    "pixel_values": {0: "images"},
                    "input_ids": {0: "batch", 1: "seq"},
                    "attention_mask": {0: "batch", 1: "seq"},
                    "position_ids": {1: "batch", 2: "seq"},
                },
            ),
            (
                _Head(model).eval(),
                (features, *(ex[k] for k in HEAD_INPUTS[1:])),
                HEAD_INPUTS,
                {
                    "backbone_features": {0: "batch", 1: "seq"},
                    "input_ids": {0: "batch", 1: "seq"},
                    "attention_mask": {0: "batch", 1: "seq"},
                    "state": {0: "batch"},
                    "embodiment_id": {0: "batch"},
                    "noise": {0: "batch"},
                },
            ),
        )
    copy_side_files(_COPY, directory, tok_dir, out)
    write_manifest(
        out,
        FORMAT,
        graphs,
        model.action_head,
        opset,
        tag,
        {"backbone": BACKBONE_INPUTS, "action_head": HEAD_INPUTS},
    )
    log.info("exported %s to %s", sorted(graphs), out)
    return out
