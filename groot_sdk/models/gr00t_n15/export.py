"""Export GR00T N1.5 to ONNX: ``backbone.onnx`` and ``action_head.onnx``.

* ``backbone.onnx``: pixel_values (N, 3, H, W), input_ids (B, L), attention_mask (B, L) ->
  backbone_features (B, L, D): SigLIP, connector, image-token scatter, the truncated LM.
* ``action_head.onnx``: backbone_features, state (B, 1, 64), embodiment_id (B,), noise
  (B, 16, 32) -> actions (B, 16, 32): **the whole denoising loop** (vlln + VL self-attention,
  then ``num_inference_timesteps`` Euler steps unrolled with their timestep buckets as constants),
  so one call gives the chunk and the runtime needs no loop logic.

The output directory also gets the checkpoint's ``config.json``, ``experiment_cfg/`` and
tokenizer files plus ``groot_onnx.json``, so it is a self-contained policy for the ``onnx`` and
``tensorrt`` backends.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

log = logging.getLogger(__name__)

MANIFEST = "groot_onnx.json"
BACKBONE_INPUTS = ["pixel_values", "input_ids", "attention_mask"]
HEAD_INPUTS = ["backbone_features", "state", "embodiment_id", "noise"]
_COPY = [
    "config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "preprocessor_config.json",
    "processor_config.json",
    "chat_template.json",
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

    def forward(self, backbone_features, state, embodiment_id, noise):
        return self.action_head(backbone_features, state, embodiment_id, noise)


def _nbytes(module: nn.Module) -> int:
    return sum(p.numel() * p.element_size() for p in module.parameters())


def _export(
    module: nn.Module,
    args: tuple,
    path: Path,
    names: list[str],
    output: str,
    dynamic: dict[str, dict[int, str]],
    opset: int,
) -> None:
    """torch.onnx (dynamo exporter where available, else the TorchScript one)."""
    try:
        from torch.export import Dim

        dims: dict[str, Any] = {}
        cache: dict[str, Any] = {}
        for name in names:
            axes = dynamic.get(name)
            dims[name] = (
                {
                    ax: cache.setdefault(label, Dim(label, min=1, max=4096))
                    for ax, label in axes.items()
                }
                if axes
                else None
            )
        torch.onnx.export(
            module,
            args,
            str(path),
            input_names=names,
            output_names=[output],
            dynamic_shapes=dims,
            opset_version=opset,
            dynamo=True,
            # the 3B backbone exceeds protobuf's 2 GiB: weights go to <name>.onnx.data
            external_data=_nbytes(module) > (1 << 30),
        )
    except Exception as exc:  # noqa: BLE001 - exporter coverage differs between torch versions
        log.warning(
            "dynamo ONNX export of %s failed (%s); using the TorchScript exporter", path.name, exc
        )
        torch.onnx.export(
            module,
            args,
            str(path),
            input_names=names,
            output_names=[output],
            dynamic_axes={**dynamic, output: {0: "batch"}},
            opset_version=opset,
            dynamo=False,
        )


def example_inputs(model: nn.Module, processor: Any, batch: int = 1) -> dict[str, torch.Tensor]:
    from groot_sdk.models.gr00t_n15.runtime import synthetic_observation

    observations = [synthetic_observation(processor, seed=i) for i in range(batch)]
    for i, obs in enumerate(observations[1:], 1):  # different lengths: trace the padding path
        obs[processor.language_key] = [" ".join(["pick up the cube and place it in the box"] * i)]
    inputs = processor.collate(observations)
    h, d = processor.action_horizon, processor.max_action_dim
    return {
        "pixel_values": torch.from_numpy(inputs.pixel_values),
        "input_ids": torch.from_numpy(inputs.input_ids),
        "attention_mask": torch.from_numpy(inputs.attention_mask),
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
    from groot_sdk.models.gr00t_n15.loading import load_model, resolve_checkpoint
    from groot_sdk.models.gr00t_n15.processing import build_processor
    from groot_sdk.models.gr00t_n15.runtime import choose_tag

    directory = resolve_checkpoint(checkpoint)
    model = load_model(directory, dtype=torch.float32).eval()
    tag = choose_tag(directory, embodiment_tag, None)
    tok_dir = resolve_checkpoint(tokenizer, local_files_only=True) if tokenizer else None
    processor = build_processor(directory, model.config, tag, tok_dir)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ex = example_inputs(model, processor, batch=2)  # size-1 dims would be specialised
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
                (features, ex["state"], ex["embodiment_id"], ex["noise"]),
                HEAD_INPUTS,
                {
                    "backbone_features": {0: "batch", 1: "seq"},
                    "state": {0: "batch"},
                    "embodiment_id": {0: "batch"},
                    "noise": {0: "batch"},
                },
            ),
        )
    copy_side_files(_COPY, directory, tok_dir, out)
    (out / "experiment_cfg").mkdir(exist_ok=True)
    shutil.copy2(directory / "experiment_cfg" / "metadata.json", out / "experiment_cfg")
    write_manifest(
        out,
        "groot-n1.5-onnx",
        graphs,
        model.action_head,
        opset,
        tag,
        {"backbone": BACKBONE_INPUTS, "action_head": HEAD_INPUTS},
    )
    log.info("exported %s to %s", sorted(graphs), out)
    return out
