"""groot finetune: fine-tune GR00T N1.5 on LeRobot v2.1 datasets (one process, or many under
``accelerate launch`` / ``torchrun``); the output is a checkpoint the backends load."""

from __future__ import annotations

from pathlib import Path

import click

from groot_sdk.cli._common import FiniteFloat, Text


@click.command("finetune")
@click.option(
    "--embodiment",
    "-e",
    required=True,
    type=Text(256, empty=False),
    help="Robot whose modality layout the datasets follow (see `groot list`).",
)
@click.option(
    "--dataset",
    "datasets",
    required=True,
    multiple=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="LeRobot v2.1 dataset with meta/modality.json (repeatable).",
)
@click.option(
    "--base",
    required=True,
    type=Text(1024, empty=False),
    help="Base N1.5 checkpoint: a directory or a hub repo id (nvidia/GR00T-N1.5-3B).",
)
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Output directory (the fine-tuned checkpoint, logs, resumable states).",
)
@click.option(
    "--embodiment-tag",
    default=None,
    type=Text(128, empty=False),
    help="Projector slot tag (default: the embodiment's, usually new_embodiment).",
)
@click.option(
    "--tokenizer",
    default=None,
    type=click.Path(file_okay=False, path_type=Path),
    help="Local Eagle tokenizer files, when the base checkpoint has none.",
)
@click.option("--max-steps", type=click.IntRange(1), default=None, help="Optimizer steps.")
@click.option(
    "--epochs",
    type=FiniteFloat(0, min_open=True),
    default=None,
    help="Passes over the data (instead of --max-steps).",
)
@click.option(
    "--batch-size",
    type=click.IntRange(1),
    default=32,
    show_default=True,
    help="Per process (global = batch x processes x --grad-accum).",
)
@click.option("--grad-accum", type=click.IntRange(1), default=1, show_default=True)
@click.option("--lr", type=FiniteFloat(0, min_open=True), default=1e-4, show_default=True)
@click.option("--weight-decay", type=FiniteFloat(0), default=1e-5, show_default=True)
@click.option(
    "--warmup-ratio", type=FiniteFloat(0, 1, max_open=True), default=0.05, show_default=True
)
@click.option("--max-grad-norm", type=FiniteFloat(0), default=1.0, show_default=True)
@click.option("--seed", type=click.IntRange(0, 2**32 - 1), default=42, show_default=True)
@click.option(
    "--precision",
    type=click.Choice(["fp32", "bf16"]),
    default="fp32",
    show_default=True,
    help="bf16: mixed precision (autocast), fp32 weights.",
)
@click.option("--tune-llm/--no-tune-llm", default=False, show_default=True)
@click.option("--tune-visual/--no-tune-visual", default=False, show_default=True)
@click.option("--tune-projector/--no-tune-projector", default=True, show_default=True)
@click.option("--tune-diffusion-model/--no-tune-diffusion-model", default=True, show_default=True)
@click.option(
    "--lora-rank",
    type=click.IntRange(0),
    default=0,
    show_default=True,
    help="LoRA (peft) on the DiT instead of full fine-tuning; merged into the output.",
)
@click.option("--lora-alpha", type=click.IntRange(1), default=16, show_default=True)
@click.option(
    "--lora-dropout", type=FiniteFloat(0, 1, max_open=True), default=0.1, show_default=True
)
@click.option("--lora-llm", is_flag=True, help="Also put LoRA adapters on the language model.")
@click.option(
    "--normalization",
    type=click.Choice(["min_max", "q99", "mean_std"]),
    default="min_max",
    show_default=True,
    help="State/action normalisation.",
)
@click.option(
    "--save-every",
    type=click.IntRange(0),
    default=0,
    show_default=True,
    help="Save a resumable state every N steps (0: at the end only).",
)
@click.option("--keep-checkpoints", type=click.IntRange(1), default=2, show_default=True)
@click.option("--resume", is_flag=True, help="Continue from the last state in OUT/checkpoints.")
@click.option(
    "--workers",
    type=click.IntRange(0),
    default=0,
    show_default=True,
    help="Data-loading worker processes (video decoding).",
)
@click.option("--log-every", type=click.IntRange(1), default=1, show_default=True)
@click.option(
    "--threads",
    type=click.IntRange(1, 1024),
    default=None,
    help="torch intra-op threads per process (small models on a busy CPU: 1).",
)
@click.option(
    "--frame-cache-gb",
    type=FiniteFloat(0, min_open=True),
    default=2.0,
    show_default=True,
    help="Decoded video frames kept in memory per process.",
)
@click.option("--no-progress", is_flag=True, help="No progress bar.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def command(embodiment, datasets, base, out, embodiment_tag, tokenizer, max_steps, epochs,
            batch_size, grad_accum, lr, weight_decay, warmup_ratio, max_grad_norm, seed,
            precision, tune_llm, tune_visual, tune_projector, tune_diffusion_model, lora_rank,
            lora_alpha, lora_dropout, lora_llm, normalization, save_every, keep_checkpoints,
            resume, workers, log_every, threads, frame_cache_gb, no_progress, as_json) -> None:  # fmt: skip
    """Fine-tune GR00T N1.5 (flow matching) and write a checkpoint to OUT.

    Multi-GPU / multi-node: run the same command under `accelerate launch` or `torchrun`
    (see docs/finetune.md).
    """
    import logging

    from groot_sdk.cli._common import echo_json
    from groot_sdk.finetune.config import FinetuneConfig
    from groot_sdk.finetune.trainer import run

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if max_steps is None and epochs is None:
        raise click.UsageError("give --max-steps or --epochs")
    cfg = FinetuneConfig(
        datasets=tuple(datasets), base=base, out=out, embodiment=embodiment,
        embodiment_tag=embodiment_tag, tokenizer=tokenizer, max_steps=max_steps, epochs=epochs,
        batch_size=batch_size, grad_accum=grad_accum, lr=lr, weight_decay=weight_decay,
        warmup_ratio=warmup_ratio, max_grad_norm=max_grad_norm, seed=seed, precision=precision,
        tune_llm=tune_llm, tune_visual=tune_visual, tune_projector=tune_projector,
        tune_diffusion_model=tune_diffusion_model, lora_rank=lora_rank, lora_alpha=lora_alpha,
        lora_dropout=lora_dropout, lora_llm=lora_llm, normalization=normalization,
        save_every=save_every, keep_checkpoints=keep_checkpoints, resume=resume,
        workers=workers, log_every=log_every, threads=threads, frame_cache_gb=frame_cache_gb,
        progress=not no_progress and not as_json,
    )  # fmt: skip
    summary = run(cfg)
    if not summary:  # not the main process
        return
    if as_json:
        echo_json(summary)
    else:
        click.echo(
            f"wrote {summary['checkpoint']}: {summary['steps']} steps in "
            f"{summary['train_seconds']:.1f} s ({summary['steps_per_s']:.2f} steps/s), loss "
            f"{summary['first_loss']:.4f} -> {summary['final_loss']:.4f}, peak memory "
            f"{summary['peak_memory_mb']:.0f} MB"
        )
        click.echo(f"evaluate it: groot eval -e {embodiment} --sim -p torch "
                   f"--policy-opt checkpoint={summary['checkpoint']}")  # fmt: skip
