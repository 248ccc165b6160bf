"""groot build-engine: TensorRT engines from a ``groot export-onnx`` directory."""

from __future__ import annotations

import click


@click.command("build-engine")
@click.argument("onnx_dir", type=click.Path(exists=True, file_okay=False))
@click.option(
    "--precision", type=click.Choice(["fp16", "bf16", "fp32"]), default="fp16", show_default=True
)
@click.option("--max-batch", default=4, show_default=True, type=int, help="Profile upper bound.")
@click.option("--max-seq", default=1024, show_default=True, type=int, help="Longest prompt.")
@click.option("--workspace-gib", default=8.0, show_default=True, type=float)
def command(onnx_dir, precision, max_batch, max_seq, workspace_gib) -> None:
    """Build backbone.engine and action_head.engine in ONNX_DIR (needs a CUDA GPU + TensorRT).

    One optimisation profile covers batch 1..--max-batch and prompt length 1..--max-seq; the
    timing cache is kept in ONNX_DIR/timing.cache. Engines only run on the GPU model and
    TensorRT version that built them.
    """
    from groot_sdk.models.gr00t_n15.tensorrt import build_engines
    from groot_sdk.policy.gr00t_versions import detect, implementation

    version = detect(onnx_dir)
    if version != "n1.5":
        build_engines = implementation(version).build_engines

    engines = build_engines(
        onnx_dir,
        precision=precision,
        max_batch=max_batch,
        max_seq=max_seq,
        workspace_gib=workspace_gib,
    )
    for graph, path in engines.items():
        click.echo(f"{graph}: {path}")
