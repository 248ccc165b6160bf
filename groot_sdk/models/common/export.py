"""What the N1.5, N1.6 and N1.7 ONNX exports share: two graphs written the same way, the
checkpoint's side files copied, ``groot_onnx.json`` written.

The versions differ in their graph inputs, dynamic axes, side files and manifest format, which
the callers pass in.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

MANIFEST = "groot_onnx.json"

#: dynamic axes of one graph: input name -> {axis: label}
Axes = Mapping[str, dict[int, str]]


def export_graphs(
    out: Path,
    parts: Sequence[str],
    opset: int,
    backbone: tuple[Any, tuple, list[str], Axes],
    action_head: tuple[Any, tuple, list[str], Axes],
) -> dict[str, str]:
    """Write ``backbone.onnx`` and/or ``action_head.onnx`` (those in ``parts``); each graph is
    (module, example args, input names, dynamic axes). Returns {graph: file name}."""
    from groot_sdk.models.gr00t_n15.export import _export

    graphs: dict[str, str] = {}
    outputs = {"backbone": "backbone_features", "action_head": "actions"}
    for graph, (module, args, names, axes) in (
        ("backbone", backbone),
        ("action_head", action_head),
    ):
        if graph in parts:
            _export(module, args, out / f"{graph}.onnx", names, outputs[graph], dict(axes), opset)
            graphs[graph] = f"{graph}.onnx"
    return graphs


def copy_side_files(
    names: Iterable[str], directory: Path, tokenizer_dir: Path | None, out: Path
) -> None:
    """Copy each present file, from ``tokenizer_dir`` where it has it, else the checkpoint."""
    for name in names:
        src = (
            tokenizer_dir if tokenizer_dir and (tokenizer_dir / name).is_file() else directory
        ) / name
        if src.is_file():
            shutil.copy2(src, out / name)


def write_manifest(
    out: Path,
    fmt: str,
    graphs: dict[str, str],
    action_head: Any,
    opset: int,
    tag: str | None,
    inputs: dict[str, list[str]],
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """``groot_onnx.json``: format, graphs, the full-loop head's steps and buckets, ``extra``
    (e.g. N1.6's image size), opset, embodiment tag, input names per graph."""
    manifest = {
        "format": fmt,
        "graphs": graphs,
        "action_head": "full-loop",
        "num_inference_timesteps": action_head.num_inference_timesteps,
        "timestep_buckets": action_head.timestep_buckets(),
        **(extra or {}),
        "opset": opset,
        "embodiment_tag": tag,
        "inputs": inputs,
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2))
    return manifest
