"""groot finetune-config: the GR00T config module for an embodiment and the command to train."""

from __future__ import annotations

from pathlib import Path

import click

from groot_sdk.cli._common import embodiment_entry


@click.command("finetune-config")
@click.argument("embodiment")
@click.option("--model", type=click.Choice(["n1.5", "n1.6"]), default="n1.6", show_default=True)
@click.option(
    "--dataset",
    type=click.Path(path_type=Path),
    required=True,
    help="The LeRobot v2.1 dataset to fine-tune on.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the config module (default: next to the dataset).",
)
@click.option(
    "--output-dir",
    default="./checkpoints",
    show_default=True,
    help="Checkpoint directory for the fine-tuning run.",
)
@click.option("--batch-size", type=int, default=32, show_default=True)
@click.option("--max-steps", type=int, default=10000, show_default=True)
@click.option("--num-gpus", type=int, default=1, show_default=True)
@click.option("--tune-llm/--no-tune-llm", default=False, show_default=True)
@click.option("--tune-visual/--no-tune-visual", default=False, show_default=True)
@click.option("--tune-projector/--no-tune-projector", default=True, show_default=True)
@click.option("--tune-diffusion-model/--no-tune-diffusion-model", default=True, show_default=True)
def command(
    embodiment,
    model,
    dataset,
    out,
    output_dir,
    batch_size,
    max_steps,
    num_gpus,
    tune_llm,
    tune_visual,
    tune_projector,
    tune_diffusion_model,
) -> None:
    """Write the N1.5 data config or N1.6 modality config, and print the fine-tune command."""
    from groot_sdk.data.finetune import FinetuneJob, default_filename, module_source
    from groot_sdk.data.validate import validate

    spec = embodiment_entry(embodiment).spec
    dataset = dataset.resolve()
    if (dataset / "meta" / "info.json").exists():
        report = validate(dataset, spec, check_videos=False)
        for p in report.errors:
            click.echo(str(p), err=True)
        if not report.ok:
            raise click.ClickException(f"{dataset} does not match {spec.name}; fix it first")
    else:
        click.echo(f"warning: {dataset} is not a dataset (yet)", err=True)
    path = (out or dataset.parent / default_filename(spec, model)).resolve()
    source = module_source(spec, model, path.stem)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(source, encoding="utf-8")
    job = FinetuneJob(
        model, dataset, path, output_dir, batch_size, max_steps, num_gpus,
        tune_llm, tune_visual, tune_projector, tune_diffusion_model,
    )  # fmt: skip
    click.echo(f"wrote {path}", err=True)
    where = "Isaac-GR00T (N1.5 release)" if model == "n1.5" else "Isaac-GR00T (N1.6)"
    click.echo(f"# run from a checkout of {where}:", err=True)
    click.echo(job.command_line(spec))
