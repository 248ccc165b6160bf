"""groot export-onnx: GR00T N1.5/N1.6/N1.7 checkpoint -> ONNX graphs for onnxruntime / TensorRT."""

from __future__ import annotations

import click


@click.command("export-onnx")
@click.argument("checkpoint")
@click.argument("out_dir", type=click.Path(file_okay=False))
@click.option("--embodiment-tag", default=None, help="Which metadata.json embodiment to bundle.")
@click.option("--tokenizer", default=None, help="Local tokenizer directory (if not in CHECKPOINT).")
@click.option("--opset", default=18, show_default=True, type=int)
@click.option(
    "--part",
    "parts",
    multiple=True,
    type=click.Choice(["backbone", "action_head"]),
    help="Export only these graphs (default: both).",
)
def command(checkpoint, out_dir, embodiment_tag, tokenizer, opset, parts) -> None:
    """Export CHECKPOINT (directory or hub repo id) to OUT_DIR.

    Writes backbone.onnx (vision encoder, connector, truncated LM) and action_head.onnx (the
    whole flow-matching loop: every Euler step unrolled, noise as an input), plus the config,
    metadata and tokenizer files the onnx/tensorrt backends read.
    """
    from groot_sdk.errors import require

    require("torch", "torch", "ONNX export")
    require("onnx", "onnx", "ONNX export")
    from groot_sdk.models.gr00t_n15.export import export_onnx
    from groot_sdk.models.gr00t_n15.loading import resolve_checkpoint
    from groot_sdk.policy.gr00t_versions import detect, implementation

    directory = resolve_checkpoint(checkpoint)
    version = detect(directory)
    if version != "n1.5":
        export_onnx = implementation(version).export_onnx
    out = export_onnx(
        directory,
        out_dir,
        embodiment_tag=embodiment_tag,
        opset=opset,
        parts=tuple(parts) or ("backbone", "action_head"),
        tokenizer=tokenizer,
    )
    click.echo(f"exported to {out}; run it with --policy onnx --policy-opt checkpoint={out}")
