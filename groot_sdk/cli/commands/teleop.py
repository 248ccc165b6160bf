"""groot teleop: drive a robot (or its simulator) by hand and record demonstrations."""

from __future__ import annotations

from typing import Any

import click

from groot_sdk.cli._common import (
    FiniteFloat,
    Text,
    key_values,
    make_backend,
    make_robot,
    record_format_option,
)
from groot_sdk.cli.commands.run import (
    MAX_TIMEOUT_S,
    _hardware_options,
    _writable_dir,
    close_without_waiting,
    exit_status,
)


@click.command("teleop")
@click.option("--embodiment", "-e", required=True, type=Text(256, empty=False), help="Robot.")
@click.option(
    "--device",
    "-d",
    required=True,
    type=Text(64, empty=False),
    help="leader (SO-101 leader arm), keyboard or gamepad (see docs/teleop.md).",
)
@click.option(
    "--device-opt",
    "device_opts",
    multiple=True,
    metavar="KEY=VALUE",
    help="Device option (repeatable), e.g. port=/dev/ttyACM1, calibration=FILE, script=FILE.",
)
@click.option("--record", type=click.Path(file_okay=False), default=None, help="Dataset dir.")
@record_format_option
@click.option(
    "--episodes",
    type=click.IntRange(1, 100_000),
    default=1,
    show_default=True,
    help="Episodes to save before the session ends.",
)
@click.option("--task", type=Text(), default="", help="Language instruction recorded.")
@click.option("--sim", is_flag=True, help="Drive the embodiment's simulator.")
@click.option("--sim-task", type=Text(64), default="", help="The simulator's task (e.g. reach).")
@click.option(
    "--fake-hardware",
    is_flag=True,
    help="Simulated devices speaking the wire protocol: the leader arm, and the robot "
    "itself unless --sim.",
)
@click.option(
    "--policy",
    "-p",
    type=Text(empty=False),
    default=None,
    help="A locomotion policy that takes velocity commands (e.g. onnx-rl for bhl): the "
    "keyboard or gamepad then drives the base.",
)
@click.option("--policy-opt", "policy_opts", multiple=True, metavar="KEY=VALUE")
@click.option(
    "--speed",
    type=FiniteFloat(0, 2, min_open=True),
    default=None,
    help="Cartesian speed: m/s (joint-position arms) or share of full scale (Fetch).",
)
@click.option(
    "--input-script",
    type=click.Path(dir_okay=False, exists=True),
    default=None,
    help="Key/axis events from a JSON file instead of the terminal (demos, tests).",
)
@click.option("--seed", type=click.IntRange(0, 2**32 - 1), default=0, show_default=True)
@click.option(
    "--rate",
    type=FiniteFloat(0, 1e6),
    default=None,
    help="Wall-clock tick rate in Hz (default: real time; 0: as fast as possible, --sim only).",
)
@click.option(
    "--timeout",
    type=FiniteFloat(0, MAX_TIMEOUT_S, min_open=True),
    default=1.0,
    show_default=True,
    help="Device timeout: hold when the device stops answering, safe stop after this long.",
)
@click.option(
    "--view",
    is_flag=False,
    flag_value="spawn",
    default=None,
    metavar="[spawn|FILE.rrd]",
    help="Live view in rerun (the 'viz' extra): spawn a viewer, or save to an .rrd file.",
)
@click.option("--port", type=Text(empty=False), default=None, help="Robot hardware: port.")
@click.option("--hw", multiple=True, metavar="KEY=VALUE", help="Robot hardware option.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON report at the end.")
def command(
    embodiment: str,
    device: str,
    device_opts: tuple[str, ...],
    record: str | None,
    record_format: str,
    episodes: int,
    task: str,
    sim: bool,
    sim_task: str,
    fake_hardware: bool,
    policy: str | None,
    policy_opts: tuple[str, ...],
    speed: float | None,
    input_script: str | None,
    seed: int,
    rate: float | None,
    timeout: float,
    view: str | None,
    port: str | None,
    hw: tuple[str, ...],
    as_json: bool,
) -> None:
    """Teleoperate EMBODIMENT with DEVICE; with --record, save EPISODES demonstrations.

    Keys (terminal or --input-script): space starts recording, enter saves, backspace
    discards and re-records, q quits. Safety is `groot run`'s: limits, velocity limits,
    hold when the device stops answering, safe stop after --timeout (exit status 3).
    """
    import sys

    from groot_sdk.cli._common import echo_json, embodiment_entry
    from groot_sdk.deploy import DeployConfig
    from groot_sdk.teleop.bindings import MOTION_HELP, TeleopInput
    from groot_sdk.teleop.events import InputError, MergedInput, ScriptedInput, TerminalKeys
    from groot_sdk.teleop.factory import INPUT_DEVICES, build_policy, devices
    from groot_sdk.teleop.session import TeleopSession

    if rate == 0 and not sim:
        raise click.BadParameter("0 (as fast as possible) is for simulators", param_hint="--rate")
    dev_options = key_values(device_opts, "--device-opt")
    pol_options = key_values(policy_opts, "--policy-opt")
    hw_options = key_values(hw, "--hw")
    if record:
        _writable_dir(record, "--record")
    entry = embodiment_entry(embodiment)
    spec = entry.spec
    known = devices(entry)
    if device not in known:  # before any terminal or bus is opened
        raise click.BadParameter(
            f"'{device[:100]}' is not a device of {spec.name}; devices: {', '.join(known)}",
            param_hint="--device",
        )
    if device not in INPUT_DEVICES and fake_hardware:
        dev_options.setdefault("fake", True)
    if view is not None:  # checked up front: the extra, and a writable file
        from groot_sdk.viz.live import LiveView

        live = LiveView.open(view, spec, name=f"groot teleop {spec.name}")
    else:
        live = None
    source: Any
    try:
        if input_script:
            source = ScriptedInput.load(input_script)
        elif device == "gamepad":
            from groot_sdk.teleop.gamepad import PygameGamepad

            pad = PygameGamepad()
            tty = sys.stdin.isatty()
            source = MergedInput(pad, TerminalKeys()) if tty else pad
        else:
            source = TerminalKeys()
    except InputError as exc:
        raise click.UsageError(str(exc)) from None
    inp = TeleopInput(source)
    locomotion = make_backend(policy, spec, pol_options) if policy else None
    teleop_policy = None
    robot = None
    recorder = None
    session = None
    try:
        teleop_policy = build_policy(
            entry, device, inp, options=dev_options, locomotion=locomotion, speed=speed
        )
        if sim:
            robot = make_robot(entry, True, task=sim_task, seed=seed, render=bool(record or live))
            instruction = task or getattr(robot.episodic, "instruction", "") or robot.task or ""
        else:
            robot = make_robot(
                entry,
                False,
                **_hardware_options(port, None, None, None, fake_hardware, hw_options),
            )
            instruction = task or robot.task or ""
        if record:
            from groot_sdk.data.recorder import LeRobotRecorder

            fps = float(getattr(teleop_policy, "policy_hz", None) or spec.rates.policy_hz)
            recorder = LeRobotRecorder(  # a worker process: add_step never waits for the GIL
                record, spec, fps=fps, task=instruction, format=record_format, backend="process"
            )
        config = DeployConfig(
            rate_hz=rate, task=instruction, timeout=timeout, seed=seed, hardware=not sim
        )

        def say(message: str) -> None:
            click.echo(message, err=as_json)

        if device in INPUT_DEVICES:
            say(MOTION_HELP)
        run_policy: Any = teleop_policy
        if live is not None:  # the view shows each command chunk too
            from groot_sdk.viz.live import ViewedPolicy

            run_policy = ViewedPolicy(teleop_policy, live)
        session = TeleopSession(
            robot,
            run_policy,
            inp,
            config,
            episodes=episodes,
            recorder=recorder,
            task=instruction,
            view=live,
            say=say,
        )
        report = session.run()
    finally:
        inp.close()
        if teleop_policy is not None:
            in_flight = session is not None and session.deployer.inference_in_flight
            close_without_waiting(teleop_policy.close, in_flight, f"device '{device}'")
        elif locomotion is not None:
            locomotion.close()
        if robot is not None:
            robot.close()
        if recorder is not None:
            recorder.close()
        if live is not None:
            live.close()
    if recorder is not None:
        report.extra["recording"] = recorder.summary()
    status = exit_status(report)
    if as_json:
        echo_json(report.to_json())
    else:
        t = report.extra["teleop"]
        click.echo(
            f"{spec.name}: {t['saved']} episode(s) saved, {t['discarded']} discarded, "
            f"holds {report.holds}, safety stops {report.safety_stops} ({report.stop_reason})"
        )
    if status:
        raise SystemExit(status)
