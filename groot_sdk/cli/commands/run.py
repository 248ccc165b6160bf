"""groot run: close the loop on a simulated or real robot under a policy."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click


def _floats(text: str | None, n: int, what: str) -> list[float] | None:
    if text is None:
        return None
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        values = []
    if len(values) != n:
        raise click.BadParameter(f"{what} takes {n} comma-separated numbers, got '{text}'")
    return values


def _action_map(text: str | None) -> dict[str, Any] | None:
    if not text:
        return None
    path = Path(text)
    raw = path.read_text(encoding="utf-8") if path.is_file() else text
    try:
        doc = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise click.BadParameter(f"--action-map is neither a JSON file nor JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise click.BadParameter("--action-map must be a JSON object")
    return doc


def _hardware_options(
    port: str | None,
    can: str | None,
    network_interface: str | None,
    hand_address: str | None,
    fake: bool,
    hw: tuple[str, ...],
) -> dict[str, Any]:
    from groot_sdk.policy.factory import parse_options

    kw: dict[str, Any] = {}
    if port:
        kw["port"] = port
    if can:
        kw["can"] = [c.strip() for c in can.split(",") if c.strip()]
    if network_interface:
        kw["network_interface"] = network_interface
    if hand_address:
        kw["hand_address"] = hand_address
    if fake:
        kw["fake"] = True
    kw.update(parse_options(hw))
    return kw


class _Status:
    """One live line on a terminal; nothing when stdout is not a tty."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.shown = False

    def __call__(self, s: dict[str, Any]) -> None:
        if not self.enabled:
            return
        line = (
            f"ep {s['episode']} t={s['t']:7.2f}s {s['mode']:<4} {s['loop_hz']:7.1f} Hz "
            f"jitter p99 {s['jitter_ms_p99']:.3f} ms overruns {s['overruns']} "
            f"holds {s['holds']} successes {s['successes']}"
        )
        click.echo("\r" + line[:110].ljust(110), nl=False)
        self.shown = True

    def end(self) -> None:
        if self.shown:
            click.echo()


@click.command("run")
@click.option("--embodiment", "-e", required=True, help="Robot to run (see `groot list`).")
@click.option("--sim", is_flag=True, help="Run the embodiment's simulator instead of hardware.")
@click.option(
    "--policy",
    "-p",
    default="hold",
    show_default=True,
    help="Backend: zero, hold, sinusoid, replay, scripted, remote://HOST:PORT, X.onnx...",
)
@click.option(
    "--policy-opt",
    "policy_opts",
    multiple=True,
    metavar="KEY=VALUE",
    help="Option for the backend (repeatable).",
)
@click.option("--task", default="", help="Task / language instruction (sims: the task name).")
@click.option(
    "--episodes",
    type=click.IntRange(1),
    default=None,
    help="Episodes to run (simulators with episodes).",
)
@click.option(
    "--seconds",
    type=click.FloatRange(0, min_open=True),
    default=None,
    help="Seconds of control time per episode (default: the episode's own length; "
    "without episodes: until Ctrl-C).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the first episode.")
@click.option(
    "--rate",
    type=click.FloatRange(0),
    default=None,
    help="Wall-clock tick rate in Hz (default: the low-level rate, real time; "
    "0: as fast as possible, lock-step inference).",
)
@click.option("--sync", is_flag=True, help="Wait for each inference (lock-step) instead of async.")
@click.option(
    "--timeout",
    type=click.FloatRange(0, min_open=True),
    default=1.0,
    show_default=True,
    help="Watchdog: hold after this long without an action, safe stop after twice.",
)
@click.option(
    "--replan-every",
    type=click.IntRange(1),
    default=None,
    help="Policy steps between inference requests (default: horizon / 2).",
)
@click.option(
    "--command",
    "velocity_command",
    default=None,
    metavar="VX,VY,WZ",
    help="Velocity command for locomotion policies (state.velocity_command).",
)
@click.option(
    "--action-map",
    default=None,
    metavar="JSON|FILE",
    help='Align a checkpoint\'s action keys, e.g. \'{"single_arm": {"take": [0,1,2,3,4]}}\'.',
)
@click.option(
    "--gripper",
    default=None,
    metavar="CLOSED..OPEN",
    help="The policy's gripper range, e.g. 0..1 or 1..0 (default: joint units).",
)
@click.option(
    "--rt-priority",
    type=click.IntRange(1, 99),
    default=None,
    help="Run the loop thread under SCHED_FIFO with this priority (Linux; needs "
    "CAP_SYS_NICE or root). Falls back to normal scheduling with a warning.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON report at the end.")
@click.option(
    "--record",
    type=click.Path(file_okay=False),
    default=None,
    help="Record a LeRobot v2.1 dataset into this directory.",
)
@click.option(
    "--telemetry",
    type=click.Path(dir_okay=False),
    default=None,
    help="Per-tick telemetry as JSON lines.",
)
@click.option(
    "--plot", type=click.Path(dir_okay=False), default=None, help="Save a loop-timing plot (PNG)."
)
@click.option("--port", default=None, help="Hardware: serial port.")
@click.option("--can", default=None, metavar="CAN0,CAN1,...", help="Hardware: CAN interfaces.")
@click.option("--network-interface", default=None, help="Hardware: network interface (DDS).")
@click.option("--hand-address", default=None, help="Hardware: hand address (Modbus).")
@click.option(
    "--fake-hardware",
    is_flag=True,
    help="Hardware drivers against simulated devices speaking the wire protocol.",
)
@click.option("--hw", multiple=True, metavar="KEY=VALUE", help="Other hardware option.")
def command(
    embodiment: str,
    sim: bool,
    policy: str,
    policy_opts: tuple[str, ...],
    task: str,
    episodes: int | None,
    seconds: float | None,
    seed: int,
    rate: float | None,
    sync: bool,
    timeout: float,
    replan_every: int | None,
    velocity_command: str | None,
    action_map: str | None,
    gripper: str | None,
    rt_priority: int | None,
    as_json: bool,
    record: str | None,
    telemetry: str | None,
    plot: str | None,
    port: str | None,
    can: str | None,
    network_interface: str | None,
    hand_address: str | None,
    fake_hardware: bool,
    hw: tuple[str, ...],
) -> None:
    """Run POLICY on EMBODIMENT (simulated with --sim) and report loop timing and success.

    The robot holds when the policy is late and stops safely on a second timeout, a
    device fault, Ctrl-C or SIGTERM.
    """
    import sys

    from groot_sdk.cli._common import echo_json, embodiment_entry
    from groot_sdk.deploy import DeployConfig, RealtimeDeployer
    from groot_sdk.policy.factory import make_backend, parse_options

    entry = embodiment_entry(embodiment)
    spec = entry.spec
    try:
        options = parse_options(policy_opts)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--policy-opt") from exc
    command_vec = _floats(velocity_command, 3, "--command")
    backend = make_backend(policy, spec, options)
    try:
        if sim:  # --task names the simulator's task; the instruction comes from the simulator
            render = bool(backend.layout.video or record)
            robot = entry.make_sim(task=task, seed=seed, render=render)
            instruction = getattr(robot.episodic, "instruction", "") or robot.task or task
        else:
            robot = entry.make_hardware(
                **_hardware_options(port, can, network_interface, hand_address, fake_hardware, hw)
            )
            instruction = task or robot.task
    except NotImplementedError as exc:
        backend.close()
        raise click.ClickException(str(exc)) from exc
    recorder = None
    if record:
        from groot_sdk.data.recorder import LeRobotRecorder

        fps = float(getattr(backend, "policy_hz", None) or spec.rates.policy_hz)
        recorder = LeRobotRecorder(record, spec, fps=fps, task=instruction)
    config = DeployConfig(
        rate_hz=rate,
        seconds=seconds,
        episodes=episodes,
        task="" if sim else instruction,
        timeout=timeout,
        replan_every=replan_every,
        sync=sync,
        command=command_vec,
        action_map=_action_map(action_map),
        gripper=gripper,
        seed=seed,
        telemetry=telemetry,
        plot=plot,
        rt_priority=rt_priority,
    )
    status = _Status(sys.stdout.isatty() and not as_json)
    try:
        report = RealtimeDeployer(robot, backend, config, recorder, status).run()
    finally:
        status.end()
        backend.close()
        robot.close()
        if recorder is not None:
            recorder.close()
    if recorder is not None:
        report.extra["recording"] = recorder.summary()
    stats = getattr(backend, "stats", None)  # e.g. the remote backend's round-trip times
    if stats is not None and hasattr(stats, "to_json"):
        report.extra["policy_stats"] = stats.to_json()
    if as_json:
        echo_json(report.to_json())
        return
    r = report.to_json()
    rate_txt = "n/a" if r["success_rate"] is None else f"{r['success_rate']:.1%}"
    click.echo(
        f"{spec.name}: {r['episodes']} episode(s), success {rate_txt}, {r['steps']} steps, "
        f"{r['loop_hz']:.1f} Hz, jitter p99 {r['jitter_ms_p99']:.3f} ms, "
        f"overruns {r['overruns']}, holds {r['holds']}, safety stops {r['safety_stops']} "
        f"({r['stop_reason']})"
    )
    if report.safety_stops:
        raise SystemExit(3)
