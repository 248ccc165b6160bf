"""groot dataset: validate, convert, merge, split, share, summarise and plot LeRobot v2.1 and
v3.0 datasets for GR00T."""

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
    """LeRobot v2.1 and v3.0 datasets with GR00T's meta/modality.json."""


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


FORMAT = click.Choice(["v2.1", "v3.0"])


def _report(dst: Path, spec, what: str) -> None:
    """Validate the result, print its problems and a one-line verdict; exit 1 when invalid."""
    from groot_sdk.data.validate import validate

    report = validate(dst, spec)
    for p in report.problems:
        click.echo(str(p), err=True)
    click.echo(
        f"{dst}: {what}{report.episodes} episodes, {report.frames} frames "
        f"({'valid' if report.ok else 'INVALID'})"
    )
    if not report.ok:
        raise SystemExit(1)


def _modality(spec):
    if spec is None:
        return None
    from groot_sdk.modality import modality_json

    return modality_json(spec)


@command.command("convert")
@click.argument("src", type=click.Path(exists=True, path_type=Path))
@click.argument("dst", type=click.Path(path_type=Path))
@click.option(
    "--from", "source", type=click.Choice(["npz", "lerobot-v3"]),
    help="npz: a folder of .npz episodes; lerobot-v3: a LeRobot v3.0 dataset, re-encoded to "
    "H.264 v2.1 (the older path). Without it SRC is a LeRobot dataset of either format.",
)  # fmt: skip
@click.option(
    "--to", "to", type=FORMAT,
    help="Output format (default: v2.1 for --from, else the other format). Videos are "
    "stream-copied, never re-encoded, between v2.1 and v3.0.",
)  # fmt: skip
@click.option("--embodiment", "-e", help="The robot (required for npz; names modality.json).")
@click.option("--fps", type=float, help="npz: frame rate (default: from timestamps, else spec).")
@click.option("--task", default="", help="npz: task text for files without a 'task' entry.")
@click.option("--overwrite", is_flag=True, help="Write into DST even if it holds a dataset.")
def convert_cmd(src, dst, source, to, embodiment, fps, task, overwrite) -> None:
    """Convert SRC into a LeRobot dataset at DST (v2.1 or v3.0), then validate it."""
    import shutil

    from groot_sdk.data import merge, v30
    from groot_sdk.data.convert import convert_npz, convert_v3

    spec = _spec(embodiment)
    if source == "npz":
        if spec is None:
            raise click.UsageError("--from npz needs --embodiment (the state/action layout)")
        if to == "v3.0":
            merge._prepare_out(dst, overwrite)
            stage = v30.staging_dir(dst)
            shutil.rmtree(stage, ignore_errors=True)
            convert_npz(src, stage, spec, fps=fps, task=task, progress=_progress("convert"))
            v30.pack(stage, dst)
            shutil.rmtree(stage)
        else:
            convert_npz(
                src, dst, spec, fps=fps, task=task, overwrite=overwrite,
                progress=_progress("convert"),
            )  # fmt: skip
    elif source == "lerobot-v3" and to in (None, "v2.1"):
        convert_v3(src, dst, spec, overwrite=overwrite, progress=_progress("convert"))
    else:
        if to is None:
            to = "v2.1" if v30.version_of(src).startswith("v3") else "v3.0"
        merge.convert(
            src, dst, to, overwrite=overwrite, modality=_modality(spec),
            progress=_progress("convert"),
        )  # fmt: skip
    _report(dst, spec, "")


@command.command("merge")
@click.argument("out", type=click.Path(path_type=Path))
@click.argument(
    "sources",
    nargs=-1,
    required=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
)
@click.option("--format", "fmt", type=FORMAT, help="Output format (default: the first source's).")
@click.option("--embodiment", "-e", help="Write this robot's modality.json (when sources differ).")
@click.option("--overwrite", is_flag=True, help="Replace a dataset already at OUT.")
def merge_cmd(out: Path, sources: tuple[Path, ...], fmt, embodiment, overwrite) -> None:
    """Merge datasets (e.g. several recording days) into OUT: episodes, tasks and videos
    renumbered in the order given, statistics recomputed."""
    from groot_sdk.data.merge import merge

    spec = _spec(embodiment)
    merge(out, list(sources), fmt=fmt, overwrite=overwrite, modality=_modality(spec),
          progress=_progress("merge"))  # fmt: skip
    _report(out, spec, f"merged {len(sources)} datasets: ")


@command.command("drop-episodes")
@click.argument("src", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("out", type=click.Path(path_type=Path))
@click.option("--episodes", "-n", required=True, help="Indices to drop, e.g. 3,7-9.")
@click.option("--format", "fmt", type=FORMAT, help="Output format (default: SRC's).")
@click.option("--overwrite", is_flag=True, help="Replace a dataset already at OUT.")
def drop_cmd(src: Path, out: Path, episodes: str, fmt, overwrite) -> None:
    """Copy SRC to OUT without the given (bad) episodes; renumbered, statistics recomputed."""
    from groot_sdk.data.merge import drop_episodes, parse_episodes

    drop = parse_episodes(episodes)
    drop_episodes(src, out, drop, fmt=fmt, overwrite=overwrite, progress=_progress("copy"))
    _report(out, None, f"dropped {len(drop)}: ")


@command.command("split")
@click.argument("src", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("out_a", type=click.Path(path_type=Path))
@click.argument("out_b", type=click.Path(path_type=Path))
@click.option("--episodes", "-n", help="Episodes for OUT_A, e.g. 0-39; the rest go to OUT_B.")
@click.option("--fraction", type=float, help="The first FRACTION of episodes go to OUT_A.")
@click.option("--format", "fmt", type=FORMAT, help="Output format (default: SRC's).")
@click.option("--overwrite", is_flag=True, help="Replace datasets already at OUT_A/OUT_B.")
def split_cmd(src, out_a, out_b, episodes, fraction, fmt, overwrite) -> None:
    """Split SRC into two datasets (e.g. train/validation), each renumbered from 0 with its
    own statistics."""
    from groot_sdk.data.merge import parse_episodes, split

    chosen = parse_episodes(episodes) if episodes is not None else None
    split(src, out_a, out_b, episodes=chosen, fraction=fraction, fmt=fmt, overwrite=overwrite,
          progress=_progress("split"))  # fmt: skip
    _report(out_a, None, "")
    _report(out_b, None, "")


@command.command("push")
@click.argument("root", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("repo_id")
@click.option("--private", is_flag=True, help="Create the repository private.")
@click.option("--branch", "revision", help="Push to this branch (created if missing).")
@click.option("--message", "-m", help="The commit message.")
@click.option("--token", help="Hub token (default: HF_TOKEN, else the `hf auth login` file).")
def push_cmd(root: Path, repo_id: str, private, revision, message, token) -> None:
    """Upload ROOT (v2.1 or v3.0, with meta/modality.json) to the Hub dataset repo REPO_ID,
    mirrored (files ROOT no longer has are removed) and tagged with its codebase version.
    HF_ENDPOINT, HF_TOKEN and HF_HOME apply as for every Hub client."""
    from groot_sdk.data.hub import push

    url = push(root, repo_id, token=token, private=private, revision=revision, message=message)
    click.echo(f"pushed {root} to {repo_id}: {url}")


@command.command("pull")
@click.argument("repo_id")
@click.argument("dst", type=click.Path(path_type=Path))
@click.option("--revision", help="Branch, tag (e.g. v3.0) or commit.")
@click.option("--offline", is_flag=True, help="Only the local Hub cache (as HF_HUB_OFFLINE=1).")
@click.option("--token", help="Hub token (default: HF_TOKEN, else the `hf auth login` file).")
@click.option("--overwrite", is_flag=True, help="Replace a dataset already at DST.")
def pull_cmd(repo_id: str, dst: Path, revision, offline, token, overwrite) -> None:
    """Download the Hub dataset repo REPO_ID into DST (through the Hub cache; offline, or when
    the Hub cannot be reached, from the cached snapshot), then validate it."""
    from groot_sdk.data.hub import pull

    pull(repo_id, dst, revision=revision, token=token, offline=offline or None,
         overwrite=overwrite)  # fmt: skip
    _report(dst, None, f"pulled {repo_id}: ")


def _meta_names(root: Path, but: str) -> list[str]:
    """Every file of ``meta/`` (relative to it, subfolders included) except ``but``."""
    meta = root / "meta"
    return [
        str(p.relative_to(meta)) for p in sorted(meta.rglob("*"))
        if p.is_file() and str(p.relative_to(root)) != but
    ]  # fmt: skip


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
        from groot_sdk.data import v30

        if v30.version_of(root).startswith("v3"):  # LeRobot's form: cameras, counts, q10..q90
            info = v30.parse_info_v30(v30.L.read_json(root / v30.L.INFO))
            rows = v30.read_episodes(root)
            text = json_text(v30.dataset_stats_v30(root, info, rows)).encode()
            v30.commit_meta_v30(root, {STATS: text}, keep=_meta_names(root, STATS))
        else:
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
