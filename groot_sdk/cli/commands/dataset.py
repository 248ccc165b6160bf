"""groot dataset: validate, convert, summarise and plot LeRobot v2.1 datasets for GR00T."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from groot_sdk.cli._common import echo_json, embodiment_entry


def _progress(desc: str):
    from groot_sdk.errors import require

    tqdm = require("tqdm", "data", "progress bars").tqdm

    def wrap(items):
        return tqdm(items, desc=desc, unit="ep", disable=None, leave=False, file=sys.stderr)

    return wrap


def _spec(embodiment: str | None):
    return embodiment_entry(embodiment).spec if embodiment else None


@click.group("dataset")
def command() -> None:
    """LeRobot v2.1 datasets with GR00T's meta/modality.json."""


@command.command("validate")
@click.argument("root", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--embodiment", "-e", help="Also check the dataset against this embodiment.")
@click.option("--no-videos", is_flag=True, help="Skip opening the mp4 files.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def validate_cmd(root: Path, embodiment: str | None, no_videos: bool, as_json: bool) -> None:
    """Check everything GR00T training relies on; exit 1 when there are errors (2 when ROOT
    is not a directory, as for every dataset command)."""
    from groot_sdk.data.validate import validate

    report = validate(
        root, _spec(embodiment), check_videos=not no_videos, progress=_progress("validate")
    )
    if as_json:
        echo_json(report.to_json())
    else:
        for p in report.problems:
            click.echo(str(p), err=p.severity == "error")
        verdict = "valid" if report.ok else f"INVALID ({len(report.errors)} errors)"
        click.echo(
            f"{root}: {verdict}: {report.episodes} episodes, {report.frames} frames, "
            f"{len(report.warnings)} warnings"
        )
    if not report.ok:
        raise SystemExit(1)


@command.command("convert")
@click.argument("src", type=click.Path(exists=True, path_type=Path))
@click.argument("dst", type=click.Path(path_type=Path))
@click.option(
    "--from", "source", type=click.Choice(["npz", "lerobot-v3"]), required=True,
    help="Layout of SRC: a folder of .npz episodes, or a LeRobot v3.0 dataset.",
)  # fmt: skip
@click.option("--embodiment", "-e", help="The robot (required for npz; names modality.json).")
@click.option("--fps", type=float, help="npz: frame rate (default: from timestamps, else spec).")
@click.option("--task", default="", help="npz: task text for files without a 'task' entry.")
@click.option("--overwrite", is_flag=True, help="Write into DST even if it holds a dataset.")
def convert_cmd(src, dst, source, embodiment, fps, task, overwrite) -> None:
    """Convert SRC into a LeRobot v2.1 dataset at DST, then validate it."""
    from groot_sdk.data.convert import convert_npz, convert_v3
    from groot_sdk.data.validate import validate

    spec = _spec(embodiment)
    if source == "npz":
        if spec is None:
            raise click.UsageError("--from npz needs --embodiment (the state/action layout)")
        w = convert_npz(
            src, dst, spec, fps=fps, task=task, overwrite=overwrite, progress=_progress("convert")
        )
    else:
        w = convert_v3(src, dst, spec, overwrite=overwrite, progress=_progress("convert"))
    report = validate(dst, spec)
    for p in report.problems:
        click.echo(str(p), err=True)
    click.echo(
        f"{dst}: {w.num_episodes} episodes, {w.total_frames} frames "
        f"({'valid' if report.ok else 'INVALID'})"
    )
    if not report.ok:
        raise SystemExit(1)


@command.command("stats")
@click.argument("root", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--write", is_flag=True, help="Also rewrite meta/stats.json with exact values.")
def stats_cmd(root: Path, as_json: bool, write: bool) -> None:
    """mean/std/min/max/q01/q99 per state and action key of modality.json."""
    from groot_sdk.data.layout import STATS, commit_meta, json_text
    from groot_sdk.data.stats import NUMERIC_STATS, dataset_modality_stats, exact_feature_stats

    stats = dataset_modality_stats(root, progress=_progress("stats"))
    if write:
        commit_meta(root, {STATS: json_text(exact_feature_stats(root))})
    if as_json:
        echo_json(stats)
        return
    for section, keys in stats.items():
        for key, st in keys.items():
            click.echo(f"{section}.{key}")
            click.echo("  " + "".join(f"{s:>10}" for s in NUMERIC_STATS))
            for j in range(len(st["mean"])):
                click.echo("  " + "".join(f"{st[s][j]:>10.4f}" for s in NUMERIC_STATS))


@command.command("show")
@click.argument("root", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--episode", "-n", type=int, default=0, show_default=True)
@click.option(
    "--plot",
    "plot_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write a PNG of the episode's state and action trajectories.",
)
@click.option(
    "--rerun",
    "rerun_target",
    is_flag=False,
    flag_value="spawn",
    default=None,
    metavar="[spawn|FILE.rrd]",
    help="Replay the episode in rerun (the 'viz' extra): a viewer, or an .rrd file.",
)
@click.option(
    "--video",
    "video_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write an mp4 of the episode's cameras above its joint plot.",
)
def show_cmd(
    root: Path,
    episode: int,
    plot_path: Path | None,
    rerun_target: str | None = None,
    video_path: Path | None = None,
) -> None:
    """Summarise a dataset and one episode; optionally plot, replay (rerun) or film it."""
    from groot_sdk.data.reader import Dataset

    ds = Dataset(root)
    info = ds.info
    click.echo(
        f"{root}: LeRobot {info['codebase_version']}, robot {info.get('robot_type')!r}, "
        f"{info['fps']} fps, {len(ds.episodes)} episodes, {info.get('total_frames')} "
        f"frames, {len(ds.tasks)} tasks"
    )
    for key, f in ds.features.items():
        click.echo(f"  {key:<32} {f['dtype']:<8} {f['shape']}")
    if ds.episodes:
        ep = next((e for e in ds.episodes if e["episode_index"] == episode), None)
        if ep is None:
            raise click.BadParameter(f"no episode {episode}", param_hint="--episode")
        click.echo(f"episode {episode}: {ep['length']} frames, tasks {ep['tasks']}")
    if plot_path is not None:
        from groot_sdk.data.plot import plot_episode

        click.echo(f"wrote {plot_episode(root, episode, plot_path)}")
    if rerun_target is not None:
        from groot_sdk.viz.replay import log_episode

        steps = log_episode(root, episode, rerun_target)
        click.echo(f"rerun: episode {episode}, {steps} steps -> {rerun_target}")
    if video_path is not None:
        from groot_sdk.viz.replay import episode_video

        out, frames = episode_video(root, episode, video_path)
        click.echo(f"wrote {out} ({frames} frames)")
