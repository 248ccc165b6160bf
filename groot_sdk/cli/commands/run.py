"""groot run: close the loop on a simulated or real robot under a policy."""

from __future__ import annotations

import json
import logging
import math
import threading
from pathlib import Path
from typing import Any

import click

from groot_sdk.cli._common import (
    FiniteFloat,
    Text,
    key_values,
    make_backend,
    make_robot,
    record_format_option,
    sim_model,
    writable_file,
)

log = logging.getLogger(__name__)

#: largest --action-map file read
MAX_ACTION_MAP_BYTES = 1 << 20
#: longest --timeout (``groot_sdk.deploy.loop.MAX_TIMEOUT_S``; not imported: `groot --help`
#: stays free of numpy)
MAX_TIMEOUT_S = 10.0
#: exit status of a run that ended in a safety stop (text and --json alike)
EXIT_SAFETY_STOP = 3


def _floats(text: str | None, n: int, what: str) -> list[float] | None:
    if text is None:
        return None
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        values = []
    if len(values) != n or not all(math.isfinite(v) for v in values):
        raise click.BadParameter(
            f"takes {n} comma-separated finite numbers, got '{text[:80]}'", param_hint=what
        )
    return values


def _action_map(text: str | None) -> dict[str, Any] | None:
    """JSON when it looks like a JSON object (starts with '{'), else the path of a JSON file:
    decided from the text, never by asking the file system about a JSON string."""
    if not text:
        return None
    hint = "--action-map"
    if text.lstrip().startswith("{"):
        raw, what = text, "JSON"
    else:
        path = Path(text)
        try:
            if not path.is_file():
                raise click.BadParameter(
                    f"'{text[:200]}' is neither a JSON object nor a JSON file", param_hint=hint
                )
            if path.stat().st_size > MAX_ACTION_MAP_BYTES:
                raise click.BadParameter(f"{path} is larger than 1 MiB", param_hint=hint)
            raw = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise click.BadParameter(
                f"cannot read '{text[:200]}': {exc}", param_hint=hint
            ) from None
        what = str(path)
    try:
        doc = json.loads(raw)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise click.BadParameter(
            f"{what[:200]} is not valid JSON: {exc}", param_hint=hint
        ) from None
    if not isinstance(doc, dict):
        raise click.BadParameter("must be a JSON object", param_hint=hint)
    return doc


def close_without_waiting(close: Any, in_flight: bool, what: str) -> None:
    """``close()``; when an inference may still hold the backend (a remote call waiting for
    its reply), in a daemon thread given a moment: the process exits without waiting."""
    if not in_flight:
        close()
        return
    t = threading.Thread(target=close, name=f"close-{what}", daemon=True)
    t.start()
    t.join(0.2)
    if t.is_alive():
        log.warning("%s is still busy in an inference; exiting without waiting for it", what)


def _hardware_options(
    port: str | None,
    can: str | None,
    network_interface: str | None,
    hand_address: str | None,
    fake: bool,
    hw: tuple[str, ...] | dict[str, Any],
) -> dict[str, Any]:
    """The driver options: the named ones, then ``--hw KEY=VALUE`` (checked: numbers finite,
    values bounded; the driver's config class checks ranges and types)."""
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
    kw.update(hw if isinstance(hw, dict) else key_values(hw, "--hw"))
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
@click.option(
    "--embodiment",
    "-e",
    required=True,
    type=Text(256, empty=False),
    help="Robot to run (see `groot list`).",
)
@click.option("--sim", is_flag=True, help="Run the embodiment's simulator instead of hardware.")
@click.option(
    "--policy",
    "-p",
    type=Text(empty=False),
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
@click.option(
    "--task", type=Text(), default="", help="Task / language instruction (sims: the task name)."
)
@click.option(
    "--episodes",
    type=click.IntRange(1, 1_000_000),
    default=None,
    help="Episodes to run (simulators with episodes).",
)
@click.option(
    "--seconds",
    type=FiniteFloat(0, min_open=True),
    default=None,
    help="Seconds of control time per episode (default: the episode's own length; "
    "without episodes: until Ctrl-C).",
)
@click.option(
    "--seed",
    type=click.IntRange(0, 2**32 - 1),
    default=0,
    show_default=True,
    help="Seed of the first episode.",
)
@click.option(
    "--rate",
    type=FiniteFloat(0, 1e6),
    default=None,
    help="Wall-clock tick rate in Hz (default: the low-level rate, real time; "
    "0: as fast as possible, lock-step inference, simulators only). On hardware every "
    "step is also bounded by the velocity limit times the measured time.",
)
@click.option("--sync", is_flag=True, help="Wait for each inference (lock-step) instead of async.")
@click.option(
    "--timeout",
    type=FiniteFloat(0, MAX_TIMEOUT_S, min_open=True),
    default=1.0,
    show_default=True,
    help="Watchdog: hold after this long without an action, safe stop after twice.",
)
@click.option(
    "--replan-every",
    type=click.IntRange(1, 10_000),
    default=None,
    help="Policy steps between inference requests (default: horizon / 2).",
)
@click.option(
    "--command",
    "velocity_command",
    type=Text(256),
    default=None,
    metavar="VX,VY,WZ",
    help="Velocity command for locomotion policies (state.velocity_command).",
)
@click.option(
    "--action-map",
    type=Text(MAX_ACTION_MAP_BYTES),
    default=None,
    metavar="JSON|FILE",
    help='Align a checkpoint\'s action keys, e.g. \'{"single_arm": {"take": [0,1,2,3,4]}}\'.',
)
@click.option(
    "--gripper",
    type=Text(64),
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
    help="Record a LeRobot dataset into this directory (see --format).",
)
@record_format_option
@click.option(
    "--telemetry",
    type=click.Path(dir_okay=False),
    default=None,
    help="Per-tick telemetry as JSON lines.",
)
@click.option(
    "--plot", type=click.Path(dir_okay=False), default=None, help="Save a loop-timing plot (PNG)."
)
@click.option("--port", type=Text(empty=False), default=None, help="Hardware: serial port.")
@click.option(
    "--can",
    type=Text(1024, empty=False),
    default=None,
    metavar="CAN0,CAN1,...",
    help="Hardware: CAN interfaces.",
)
@click.option(
    "--network-interface",
    type=Text(64, empty=False),
    default=None,
    help="Hardware: network interface (DDS).",
)
@click.option(
    "--hand-address",
    type=Text(1024, empty=False),
    default=None,
    help="Hardware: hand address (Modbus).",
)
@click.option(
    "--fake-hardware",
    is_flag=True,
    help="Hardware drivers against simulated devices speaking the wire protocol.",
)
@click.option("--hw", multiple=True, metavar="KEY=VALUE", help="Other hardware option.")
@click.option(
    "--view",
    is_flag=False,
    flag_value="spawn",
    default=None,
    metavar="[spawn|FILE.rrd]",
    help="Live view in rerun (the 'viz' extra): cameras, joints vs commands, the action "
    "chunk, timing; spawn a viewer or save to an .rrd file.",
)
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
    view: str | None = None,
    record_format: str = "v2.1",
) -> None:
    """Run POLICY on EMBODIMENT (simulated with --sim) and report loop timing and success.

    The robot holds when the policy is late and stops safely on a second timeout, a
    device fault, Ctrl-C or SIGTERM (exit status 3 after a safety stop, with --json too).
    """
    import sys

    from groot_sdk.cli._common import echo_json, embodiment_entry
    from groot_sdk.deploy import DeployConfig, RealtimeDeployer
    from groot_sdk.errors import ActionError
    from groot_sdk.policy.actions import GripperMap

    # every option is checked here, before a backend, a device or a file is opened
    if rate == 0 and not sim:
        raise click.BadParameter(
            "0 (lock-step, as fast as possible) is for simulators; hardware runs in real "
            "time (a rate above it is bounded by the measured time)",
            param_hint="--rate",
        )
    options = key_values(policy_opts, "--policy-opt")
    hw_options = key_values(hw, "--hw")
    command_vec = _floats(velocity_command, 3, "--command")
    parsed_map = _action_map(action_map)
    try:
        GripperMap.parse(gripper)
    except ActionError as exc:
        raise click.BadParameter(str(exc), param_hint="--gripper") from None
    if telemetry:
        writable_file(telemetry, "--telemetry")
    if plot:
        writable_file(plot, "--plot")
    if record:
        _writable_dir(record, "--record")
    entry = embodiment_entry(embodiment)
    spec = entry.spec
    live = None
    if view is not None:  # the extra and the target, before anything starts
        from groot_sdk.viz.live import LiveView

        live = LiveView.open(view, spec, name=f"groot run {spec.name}")
    backend = make_backend(policy, spec, options)
    try:  # the action map and gripper range against this backend's actions, before devices
        from groot_sdk.policy.actions import ActionDecoder

        ActionDecoder(spec, backend.layout, parsed_map, gripper)
    except ActionError as exc:
        backend.close()
        hint = "--gripper" if gripper and parsed_map is None else "--action-map"
        raise click.BadParameter(str(exc)[:500], param_hint=hint) from None
    try:
        if sim:  # --task names the simulator's task; the instruction comes from the simulator
            render = bool(backend.layout.video or record or live)
            robot = make_robot(entry, True, task=task, seed=seed, render=render)
            instruction = getattr(robot.episodic, "instruction", "") or robot.task or task
        else:
            robot = make_robot(
                entry,
                False,
                **_hardware_options(
                    port, can, network_interface, hand_address, fake_hardware, hw_options
                ),
            )
            instruction = task or robot.task
    except BaseException:
        backend.close()
        raise
    model = sim_model(robot, quiet=as_json) if sim else None
    recorder = None
    try:
        if record:
            from groot_sdk.data.recorder import LeRobotRecorder

            fps = float(getattr(backend, "policy_hz", None) or spec.rates.policy_hz)
            recorder = LeRobotRecorder(  # a worker process: add_step never waits for the GIL
                record, spec, fps=fps, task=instruction, format=record_format, backend="process"
            )
    except BaseException:
        backend.close()
        robot.close()
        raise
    config = DeployConfig(
        rate_hz=rate,
        seconds=seconds,
        episodes=episodes,
        task="" if sim else instruction,
        timeout=timeout,
        replan_every=replan_every,
        sync=sync,
        command=command_vec,
        action_map=parsed_map,
        gripper=gripper,
        seed=seed,
        telemetry=telemetry,
        plot=plot,
        rt_priority=rt_priority,
        hardware=not sim,
    )
    status = _Status(sys.stdout.isatty() and not as_json)
    deployer = None
    run_backend: Any = backend
    run_recorder: Any = recorder
    on_status: Any = status
    if live is not None:  # the view taps the chunks, the steps and the status
        from groot_sdk.viz.live import ViewedPolicy, ViewedRecorder

        run_backend = ViewedPolicy(backend, live)
        run_recorder = ViewedRecorder(recorder, live)
        on_status = live.tee_status(status)

    try:
        deployer = RealtimeDeployer(robot, run_backend, config, run_recorder, on_status)
        report = deployer.run()
    finally:
        status.end()
        in_flight = deployer is not None and deployer.inference_in_flight
        close_without_waiting(backend.close, in_flight, f"policy '{policy}'")
        robot.close()
        if recorder is not None:
            recorder.close()
        if live is not None:
            live.close()
    if recorder is not None:
        report.extra["recording"] = recorder.summary()
    if model is not None:
        report.extra["sim_model"] = model
    stats = getattr(backend, "stats", None)  # e.g. the remote backend's round-trip times
    if stats is not None and hasattr(stats, "to_json"):
        report.extra["policy_stats"] = stats.to_json()
    behind = falling_behind(report.to_json())
    if behind:
        report.extra["behind_real_time"] = True
        click.echo(f"warning: {behind}", err=True)
    status_code = exit_status(report)
    if as_json:
        echo_json(report.to_json())
    else:
        click.echo(summary_line(spec.name, report.to_json()))
    if status_code:
        raise SystemExit(status_code)


def summary_line(name: str, r: dict[str, Any]) -> str:
    """The run's one-line summary: the real tick period p99 (lateness is not capped at one
    period there) and the overrun count, next to the lateness p99."""
    rate_txt = "n/a" if r["success_rate"] is None else f"{r['success_rate']:.1%}"
    period = r.get("period_ms_p99")
    nominal = r.get("rate_hz")
    period_txt = ""
    if period is not None and nominal:
        period_txt = f"period p99 {period:.3f} ms (nominal {1e3 / nominal:.3f}), "
    elif period is not None:
        period_txt = f"period p99 {period:.3f} ms, "
    return (
        f"{name}: {r['episodes']} episode(s), success {rate_txt}, {r['steps']} steps, "
        f"{r['loop_hz']:.1f} Hz, {period_txt}jitter p99 {r['jitter_ms_p99']:.3f} ms, "
        f"overruns {r['overruns']}, holds {r['holds']}, safety stops {r['safety_stops']} "
        f"({r['stop_reason']})"
    )


#: a real-time run slower than this share of its rate is reported as falling behind
KEEP_UP = 0.9


def falling_behind(r: dict[str, Any]) -> str:
    """A warning when a real-time run did not keep its rate (e.g. --record on a slow disk),
    else ''."""
    rate = r.get("rate_hz")
    if not rate or r["steps"] < 2 or r["loop_hz"] >= KEEP_UP * rate:
        return ""
    return (
        f"the loop ran at {r['loop_hz']:.1f} Hz instead of {rate:g} Hz ({r['overruns']} "
        "overruns): this machine cannot keep up in real time; lower --rate, drop --record/"
        "--plot or cameras, or use a faster machine"
    )


def exit_status(report: Any) -> int:
    """0, 3 after a safety stop, 128 + the signal's number after Ctrl-C/SIGTERM/SIGHUP
    (text and --json alike; docs/running.md lists them)."""
    import signal

    if report.safety_stops:
        return EXIT_SAFETY_STOP
    reason = report.stop_reason or ""
    if reason.startswith("interrupted"):
        name = reason.partition("(")[2].rstrip(")").strip() or "SIGINT"
        try:
            return 128 + int(signal.Signals[name])
        except KeyError:
            return 128 + int(signal.SIGINT)
    return 0


def _writable_dir(path: str, option: str) -> None:
    import os

    p = Path(path)
    if p.exists() and not p.is_dir():
        raise click.BadParameter(f"'{path}' is not a directory", param_hint=option)
    try:  # the recorder creates it anyway: do it now, before a device moves
        p.mkdir(parents=True, exist_ok=True)
    except (OSError, ValueError) as exc:
        raise click.BadParameter(f"cannot create '{path}': {exc}", param_hint=option) from None
    if not os.access(p, os.W_OK | os.X_OK):
        raise click.BadParameter(f"cannot write into '{path}'", param_hint=option)
