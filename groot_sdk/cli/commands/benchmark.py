"""groot benchmark: per-call latency of a policy backend (warm-up, percentiles, JSON, PNG)."""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path
from typing import Any

import click
import numpy as np


def _observation(backend: Any, seed: int = 0) -> dict[str, Any]:
    """A synthetic observation in the backend's layout (GR00T backends make their own)."""
    own = getattr(backend, "synthetic_observation", None)
    if callable(own):  # N1.6/N1.7 backends know their own observation format
        return own(seed)
    processor = getattr(backend, "processor", None)
    if processor is not None:
        from groot_sdk.models.gr00t_n15.runtime import synthetic_observation

        return synthetic_observation(processor, seed)
    rng = np.random.default_rng(seed)
    layout = backend.layout
    obs: dict[str, Any] = {
        f"video.{v.name}": rng.integers(0, 256, (1, v.height, v.width, 3), dtype=np.uint8)
        for v in layout.video
    }
    for k in layout.state:
        obs[f"state.{k.key}"] = np.zeros((1, k.dim), np.float32)
    obs[layout.language_key] = ["pick up the cube"]
    return obs


def summarize(latencies_ms: list[float]) -> dict[str, float]:
    arr = np.asarray(latencies_ms, np.float64)
    out = {f"p{q}": float(np.percentile(arr, q)) for q in (50, 90, 95, 99)}
    out.update(
        mean=float(arr.mean()), std=float(arr.std()), min=float(arr.min()), max=float(arr.max())
    )
    return out


def measure(backend: Any, calls: int, warmup: int, seed: int = 0) -> list[float]:
    """Warm up, then time ``calls`` calls of ``get_action`` (milliseconds each)."""
    obs = _observation(backend, seed)
    for _ in range(warmup):
        backend.get_action(obs)
    samples = []
    for _ in range(calls):
        start = time.perf_counter()
        backend.get_action(obs)
        samples.append((time.perf_counter() - start) * 1e3)
    return samples


def histogram(samples: list[float], stats: dict[str, float], title: str, path: Path) -> None:
    from groot_sdk.errors import require

    require("matplotlib", "plot", "the latency histogram")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    ax.hist(samples, bins=min(50, max(10, len(samples) // 4)), color="#4c72b0")
    for q, style in (("p50", "-"), ("p95", "--"), ("p99", ":")):
        ax.axvline(stats[q], color="k", linestyle=style, label=f"{q} {stats[q]:.2f} ms")
    ax.set_xlabel("latency per call (ms)")
    ax.set_ylabel("calls")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


#: backends that take their layout from a checkpoint or a server, so need no robot
SPEC_FREE = frozenset({"torch", "onnx", "tensorrt", "remote"})


def default_embodiment(backend_name: str) -> str:
    """The robot a backend is benchmarked on when none is given: the first it is limited
    to, else so101, else the first installed."""
    from groot_sdk.errors import BackendError
    from groot_sdk.plugins import get_registry

    registry = get_registry()
    allowed = registry.backend(backend_name).embodiments
    names = sorted(registry.embodiments())
    for name in (*allowed, "so101", *names):
        if name in names:
            return name
    raise BackendError(f"'{backend_name}' needs a robot, and no embodiment is installed")


@click.command("benchmark")
@click.option("--policy", required=True, help="Backend name or string (torch, onnx, remote://...).")
@click.option("--policy-opt", "policy_opts", multiple=True, help="key=value for the backend.")
@click.option(
    "--embodiment",
    default=None,
    help="Embodiment spec to create the backend for (default: none for checkpoint and remote "
    "backends, else the backend's first robot, so101 or the first installed).",
)
@click.option("--calls", default=50, show_default=True, type=click.IntRange(1, 1_000_000))
@click.option("--warmup", default=5, show_default=True, type=click.IntRange(0, 1_000_000))
@click.option("--out", "out_dir", default="out/bench", show_default=True, type=click.Path())
@click.option("--name", default=None, help="Report file stem (default: the policy name).")
def command(policy, policy_opts, embodiment, calls, warmup, out_dir, name) -> None:
    """Measure per-call latency of --policy: warm-up, then percentiles; JSON + histogram PNG."""
    from groot_sdk.cli._common import key_values, make_backend
    from groot_sdk.plugins import get_registry
    from groot_sdk.policy.factory import parse_policy

    options = key_values(policy_opts, "--policy-opt")
    backend_name, parsed = parse_policy(policy)
    get_registry().backend(backend_name)  # an unknown name is named before anything else
    if embodiment is None and backend_name not in SPEC_FREE:
        embodiment = default_embodiment(backend_name)
        click.echo(
            f"benchmark: '{backend_name}' on {embodiment} (--embodiment to choose)", err=True
        )
    if embodiment:
        spec = get_registry().embodiment(embodiment).spec
        backend = make_backend(policy, spec, options)
    else:
        no_spec: Any = None  # checkpoint backends take their layout from the checkpoint
        backend = get_registry().backend(backend_name).create(no_spec, **{**parsed, **options})
    with backend:
        samples = measure(backend, calls, warmup)
    stats = summarize(samples)
    stem = name or parse_policy(policy)[0]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    report = {
        "policy": policy,
        "options": {k: str(v) for k, v in options.items()},
        "embodiment": embodiment,
        "warmup": warmup,
        "calls": calls,
        "latency_ms": stats,
        "samples_ms": samples,
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor(),
            "python": platform.python_version(),
        },
    }
    (out / f"{stem}.json").write_text(json.dumps(report, indent=2))
    histogram(samples, stats, f"{policy}: {calls} calls", out / f"{stem}.png")
    click.echo(
        f"{policy}: p50 {stats['p50']:.2f} ms  p90 {stats['p90']:.2f}  p99 {stats['p99']:.2f}  "
        f"mean {stats['mean']:.2f} ({calls} calls after {warmup} warm-up)"
    )
    click.echo(f"report: {out / f'{stem}.json'}  histogram: {out / f'{stem}.png'}")
