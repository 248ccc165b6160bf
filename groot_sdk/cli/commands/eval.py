"""groot eval: measure a policy alone in simulation before building on it (residual RL).

Prints the success rate with a Wilson confidence interval, the mean final distance to the
goal, the episode return, and the verdict: < 5% "domain gap too large", 5-20% "marginal",
> 20% "proceed". Episodes run as fast as the simulator allows (no wall clock).
"""

from __future__ import annotations

import click

from groot_sdk.cli._common import FiniteFloat, Text, echo_json


@click.command("eval")
@click.option(
    "--embodiment",
    "-e",
    required=True,
    type=Text(256, empty=False),
    help="Robot to evaluate on (see `groot list`).",
)
@click.option("--sim", is_flag=True, help="Evaluate in the embodiment's simulator (required).")
@click.option(
    "--policy",
    "-p",
    required=True,
    type=Text(empty=False),
    help="Backend: scripted, zero, X.onnx, remote://...",
)
@click.option(
    "--policy-opt", "policy_opts", multiple=True, metavar="KEY=VALUE", help="Backend option."
)
@click.option("--task", type=Text(256), default="", help="Simulator task (e.g. reach, push).")
@click.option("--episodes", "-n", type=click.IntRange(1, 1_000_000), default=100, show_default=True)
@click.option(
    "--seed",
    type=click.IntRange(0, 2**32 - 1),
    default=0,
    show_default=True,
    help="Seed of the first episode.",
)
@click.option(
    "--seconds",
    type=FiniteFloat(0, 86_400, min_open=True),
    default=None,
    help="Time limit per episode, in seconds of sim time (default: the simulator's own "
    "episode length).",
)
@click.option(
    "--replan-every",
    type=click.IntRange(1, 10_000),
    default=None,
    help="Policy steps between inference requests (default: horizon / 2, as groot run).",
)
@click.option(
    "--confidence",
    type=FiniteFloat(0, 1, min_open=True, max_open=True),
    default=0.95,
    show_default=True,
)
@click.option(
    "--no-video",
    is_flag=True,
    help="Do not render cameras (for bases that ignore images although their layout lists them).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def command(
    embodiment: str,
    sim: bool,
    policy: str,
    policy_opts: tuple[str, ...],
    task: str,
    episodes: int,
    seed: int,
    seconds: float | None,
    replan_every: int | None,
    confidence: float,
    no_video: bool,
    as_json: bool,
) -> None:
    """Success rate (Wilson CI), distance to goal, return and a go/no-go verdict."""
    if not sim:
        raise click.UsageError("groot eval runs in simulation only: add --sim")
    import math

    from groot_sdk.cli._common import embodiment_entry, key_values, make_backend, sim_model
    from groot_sdk.rl.env import evaluate_policy, make_env

    options = key_values(policy_opts, "--policy-opt")
    env_opts = {}
    if seconds is not None:  # policy steps of sim time
        policy_dt = embodiment_entry(embodiment).spec.rates.policy_dt
        env_opts["max_steps"] = max(1, math.ceil(seconds / policy_dt - 1e-9))
    env = make_env(embodiment, task=task, seed=seed, **env_opts)
    if env_opts and getattr(env.sim, "max_steps", None) is not None:
        env.sim.max_steps = env_opts["max_steps"]  # longer than the simulator's own, too
    model = sim_model(env.robot, quiet=as_json)
    try:
        backend = make_backend(policy, env.embodiment_spec, options)
        with backend:
            result = evaluate_policy(
                env,
                backend,
                episodes,
                seed=seed,
                replan_every=replan_every,
                video=False if no_video else None,
                confidence=confidence,
                progress=not as_json,
            )
    finally:
        env.close()
    if as_json:
        echo_json(
            {
                "embodiment": embodiment,
                "policy": policy,
                "task": env.task,
                **result.to_json(),
                **({"sim_model": model} if model else {}),
            }
        )
    else:
        click.echo(f"{embodiment} / {policy}" + (f" / {task}" if task else ""))
        click.echo(result.summary())
