"""groot train-residual: PPO residual on a base policy in simulation (the ``rl`` extra).

``total = clip(base + alpha * half_range * residual)``. The base is measured first, then
trained on, then measured again with its residual; logs, checkpoints, the learning curve
and ``report.json`` land in ``--out``.
"""

from __future__ import annotations

import click

from groot_sdk.cli._common import FiniteFloat, echo_json


@click.command("train-residual")
@click.option("--embodiment", "-e", default="fetch", show_default=True)
@click.option("--base", "-b", required=True, help="Base policy backend (scripted, X.onnx, ...).")
@click.option("--base-opt", "base_opts", multiple=True, metavar="KEY=VALUE", help="Base option.")
@click.option(
    "--offset",
    default=None,
    metavar="V1,V2,...",
    help="Add this constant to the base's actions (a deliberate bias, for demonstrations).",
)
@click.option("--alpha", type=FiniteFloat(0, 10), default=0.5, show_default=True)
@click.option("--steps", type=click.IntRange(1), default=20_000, show_default=True)
@click.option("--out", type=click.Path(file_okay=False), default="out/residual", show_default=True)
@click.option("--task", default="", help="Simulator task (e.g. reach).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--n-envs", type=click.IntRange(1), default=1, show_default=True)
@click.option("--eval-episodes", type=click.IntRange(1), default=100, show_default=True)
@click.option("--checkpoint-every", type=click.IntRange(0), default=10_000, show_default=True)
@click.option(
    "--curve-every",
    type=click.IntRange(0),
    default=0,
    help="Env steps between learning-curve evaluations (0: none).",
)
@click.option("--log", "log_format", type=click.Choice(["csv", "tensorboard"]), default="csv")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def command(
    embodiment: str,
    base: str,
    base_opts: tuple[str, ...],
    offset: str | None,
    alpha: float,
    steps: int,
    out: str,
    task: str,
    seed: int,
    n_envs: int,
    eval_episodes: int,
    checkpoint_every: int,
    curve_every: int,
    log_format: str,
    as_json: bool,
) -> None:
    """Train a residual policy on top of --base with PPO and report before/after."""
    from groot_sdk.plugins import get_registry
    from groot_sdk.policy.factory import make_backend, parse_options
    from groot_sdk.rl.env import make_env
    from groot_sdk.rl.train import TrainConfig, train_residual

    spec = get_registry().embodiment(embodiment).spec
    options = parse_options(base_opts)
    bias = None
    if offset is not None:
        try:
            bias = [float(v) for v in offset.split(",")]
        except ValueError as exc:
            raise click.BadParameter(f"--offset: {exc}") from exc
        if len(bias) != spec.action_dim:
            raise click.BadParameter(
                f"--offset takes {spec.action_dim} values ({', '.join(spec.joint_names)}), "
                f"got {len(bias)}"
            )

    def make_base():
        backend = make_backend(base, spec, options)
        if bias is None:
            return backend
        from groot_sdk.rl.offset import OffsetBackend

        return OffsetBackend(backend, bias)

    config = TrainConfig(
        alpha=alpha,
        steps=steps,
        seed=seed,
        n_envs=n_envs,
        eval_episodes=eval_episodes,
        checkpoint_every=checkpoint_every,
        curve_every=curve_every,
        log_format=log_format,
        task=task,
    )
    result = train_residual(
        lambda: make_env(embodiment, task=task),
        make_base,
        spec,
        config,
        out,
        progress=not as_json,
        extra_meta={"base": base, "base_options": options, "offset": bias},
    )
    if as_json:
        echo_json(result.to_json())
        return
    click.echo(
        f"base alone      success {result.base.success_rate:.3f} "
        f"[{result.base.ci_low:.3f}, {result.base.ci_high:.3f}]  "
        f"verdict: {result.base.verdict.value}"
    )
    click.echo(
        f"base + residual success {result.final.success_rate:.3f} "
        f"[{result.final.ci_low:.3f}, {result.final.ci_high:.3f}]"
    )
    click.echo(f"trained {steps} steps in {result.seconds:.1f} s; weights {result.weights}")
    click.echo(f"logs, checkpoints, curve and report.json in {result.out}")
    click.echo(
        f"deploy: groot run -e {embodiment} --sim -p residual --policy-opt path={result.out}"
    )
