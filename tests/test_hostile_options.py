"""Every option of `groot run`, `groot serve`, `groot eval` and every hardware config field,
fed hostile values (NaN, inf, negative, zero, huge, wrong type, empty, overlong): each must end
in one error line naming the option and exit status 2, never a traceback, never a run.

The tables are checked against the commands' and config classes' own parameter lists, so a
new option without a row fails ``test_tables_cover_every_option``.
"""

from __future__ import annotations

import json

import attrs
import click
import pytest

from groot_sdk.cli.main import main

pytestmark = pytest.mark.timeout(120)

NAN, INF = "nan", "inf"
LONG = "x" * 5000
#: a run that would start if an option were wrongly accepted: short, on simulated devices
RUN = ["run", "-e", "so101", "--fake-hardware", "--policy", "zero", "--seconds", "0.05"]
SERVE = ["serve", "-e", "so101", "-p", "zero", "--port", "0"]
EVAL = ["eval", "-e", "so101", "--sim", "-p", "zero", "-n", "1"]


def _json_map(size: int) -> str:
    """A JSON action map of ``size`` characters (over 255 broke the path/JSON guess)."""
    return json.dumps({"single_arm": {"take": [0, 1, 2, 3, 4]}, "note": "y" * size})


# (option, value, words the error line must contain)
RUN_ROWS = [
    ("--embodiment", "", "--embodiment"),
    ("--embodiment", LONG, "--embodiment"),
    ("--embodiment", "nope", "embodiment"),
    ("--policy", "", "--policy"),
    ("--policy", LONG, "--policy"),
    ("--policy", "nope", "backend"),
    ("--policy-opt", "novalue", "--policy-opt"),
    ("--policy-opt", "=3", "--policy-opt"),
    ("--policy-opt", "amplitude=nan", "--policy-opt"),
    ("--policy-opt", "frequency=inf", "--policy-opt"),
    ("--policy-opt", "nope=1", "--policy-opt"),  # on sinusoid (zero and hold take anything)
    ("--policy-opt", "amplitude=abc", "--policy-opt"),
    ("--policy-opt", "x=" + LONG, "--policy-opt"),
    ("--policy-opt", "timeout_ms=0", "--policy-opt"),  # on remote:// (no server needed)
    ("--policy-opt", "timeout_ms=-5", "--policy-opt"),
    ("--policy-opt", "timeout_ms=abc", "--policy-opt"),
    ("--task", LONG, "--task"),
    ("--task", "a\x01b", "--task"),
    ("--episodes", "0", "--episodes"),
    ("--episodes", "-1", "--episodes"),
    ("--episodes", "10000000000", "--episodes"),
    ("--episodes", "abc", "--episodes"),
    ("--seconds", NAN, "--seconds"),
    ("--seconds", INF, "--seconds"),
    ("--seconds", "0", "--seconds"),
    ("--seconds", "-1", "--seconds"),
    ("--seed", "-1", "--seed"),
    ("--seed", str(2**40), "--seed"),
    ("--seed", "abc", "--seed"),
    ("--rate", NAN, "--rate"),
    ("--rate", INF, "--rate"),
    ("--rate", "-1", "--rate"),
    ("--rate", "0", "--rate"),  # lock-step is for simulators
    ("--rate", "1e300", "--rate"),
    ("--timeout", NAN, "--timeout"),
    ("--timeout", INF, "--timeout"),
    ("--timeout", "0", "--timeout"),
    ("--timeout", "-1", "--timeout"),
    ("--timeout", "1e9", "--timeout"),
    ("--timeout", "abc", "--timeout"),
    ("--replan-every", "0", "--replan-every"),
    ("--replan-every", "1000000000", "--replan-every"),
    ("--replan-every", "abc", "--replan-every"),
    ("--command", "nan,0,0", "--command"),
    ("--command", "0,inf,0", "--command"),
    ("--command", "1,2", "--command"),
    ("--command", "a,b,c", "--command"),
    ("--command", "", "--command"),
    ("--action-map", _json_map(300), "--action-map"),
    ("--action-map", "x" * 300, "--action-map"),
    ("--action-map", "[1, 2]", "--action-map"),
    ("--action-map", "{nope", "--action-map"),
    ("--action-map", "/nonexistent/map.json", "--action-map"),
    ("--action-map", '{"single_arm": {"take": [99]}}', "--action-map"),
    ("--gripper", "nan..1", "--gripper"),
    ("--gripper", "1..1", "--gripper"),
    ("--gripper", "abc", "--gripper"),
    ("--gripper", LONG, "--gripper"),
    ("--rt-priority", "0", "--rt-priority"),
    ("--rt-priority", "100", "--rt-priority"),
    ("--rt-priority", "abc", "--rt-priority"),
    ("--record", "/proc/groot-record", "--record"),
    ("--format", "v4.0", "--format"),
    ("--format", "", "--format"),
    ("--view", "", "--view"),
    ("--view", LONG, "--view"),
    ("--view", "nope", "--view"),
    ("--view", "/proc/groot/x.rrd", "--view"),
    ("--telemetry", "/proc/x.jsonl", "--telemetry"),
    ("--telemetry", "{tmp}", "--telemetry"),
    ("--plot", "/proc/x.png", "--plot"),
    ("--plot", "{tmp}", "--plot"),
    ("--port", "", "--port"),
    ("--port", LONG, "--port"),
    ("--can", "", "--can"),
    ("--network-interface", "", "--network-interface"),
    ("--network-interface", LONG, "--network-interface"),
    ("--hand-address", "", "--hand-address"),
    ("--hand-address", LONG, "--hand-address"),
    ("--hw", "novalue", "--hw"),
    ("--hw", "timeout_s=nan", "--hw"),
]

SERVE_ROWS = [
    ("--embodiment", "", "--embodiment"),
    ("--policy", "", "--policy"),
    ("--policy", "nope", "backend"),
    ("--policy-opt", "amplitude=nan", "--policy-opt"),
    ("--policy-opt", "nope=1", "--policy-opt"),  # on sinusoid
    ("--dialect", "n9", "--dialect"),
    ("--host", "", "--host"),
    ("--host", LONG, "--host"),
    ("--port", "-1", "--port"),
    ("--port", "70000", "--port"),
    ("--port", "abc", "--port"),
    ("--api-token", "", "--api-token"),
    ("--api-token", "   ", "--api-token"),
    ("--api-token", LONG, "--api-token"),
    ("--max-message-mb", NAN, "--max-message-mb"),
    ("--max-message-mb", INF, "--max-message-mb"),
    ("--max-message-mb", "0", "--max-message-mb"),
    ("--max-message-mb", "-1", "--max-message-mb"),
    ("--max-message-mb", "1e9", "--max-message-mb"),
    ("--max-batch", "0", "--max-batch"),
    ("--max-batch", "10000000000", "--max-batch"),
]

EVAL_ROWS = [
    ("--embodiment", "", "--embodiment"),
    ("--policy", "", "--policy"),
    ("--policy-opt", "amplitude=nan", "--policy-opt"),
    ("--policy-opt", "frequency=inf", "--policy-opt"),
    ("--seconds", NAN, "--seconds"),
    ("--seconds", "0", "--seconds"),
    ("--seconds", "-1", "--seconds"),
    ("--task", LONG, "--task"),
    ("--episodes", "0", "--episodes"),
    ("--episodes", "10000000000", "--episodes"),
    ("--seed", "-1", "--seed"),
    ("--seed", str(2**40), "--seed"),
    ("--replan-every", "0", "--replan-every"),
    ("--replan-every", "abc", "--replan-every"),
    ("--confidence", NAN, "--confidence"),
    ("--confidence", INF, "--confidence"),
    ("--confidence", "0", "--confidence"),
    ("--confidence", "1", "--confidence"),
]

# --hw KEY=VALUE per embodiment (all on --fake-hardware: nothing may start)
HW_ROWS = {
    "so101": [
        ("port", ""),
        ("port", LONG),
        ("fake", "maybe"),
        ("calibration", "/nonexistent/cal.json"),
        ("calibration", "{missing_joint}"),
        ("robot_id", "../../etc/passwd"),
        ("robot_id", ""),
        ("baudrate", "abc"),
        ("baudrate", "12345"),
        ("baudrate", NAN),
        ("timeout_s", "-1"),
        ("timeout_s", "0"),
        ("timeout_s", NAN),
        ("timeout_s", INF),
        ("timeout_s", "1e9"),
        ("timeout_s", "abc"),
        ("retries", "1000000000"),
        ("retries", "-1"),
        ("retries", "1.5"),
        ("max_step_rad", "-1"),
        ("max_step_rad", "0"),
        ("max_step_rad", NAN),
        ("max_step_rad", INF),
        ("max_step_rad", "10"),
        ("camera_front", "-1"),
        ("camera_front", "1.5"),
        ("camera_wrist", "true"),
        ("nope", "1"),
    ],
    "bhl": [
        ("can", ","),
        ("interface", ""),
        ("fake", "maybe"),
        ("calibration", "/nonexistent/cal.json"),
        ("timeout_s", "-1"),
        ("timeout_s", NAN),
        ("retries", "1000000000"),
        ("startup_s", "-1"),
        ("startup_s", INF),
        ("startup_s", "1e9"),
        ("rate_hz", "0"),
        ("rate_hz", NAN),
        ("rate_hz", INF),
        ("error_poll_every", "-1"),
        ("error_poll_every", "1e12"),
        ("imu_port", ""),
        ("imu_protocol", "nope"),
        ("imu_baudrate", "0"),
        ("imu_baudrate", "abc"),
        ("camera_head", "-1"),
    ],
    "g1_inspire": [
        ("network_interface", ""),
        ("domain_id", "-1"),
        ("domain_id", "1000"),
        ("hand_address", ""),
        ("hand_left", ""),
        ("hand_right", LONG),
        ("fake", "maybe"),
        ("rate_hz", "0"),
        ("rate_hz", NAN),
        ("rate_hz", "1e9"),
        ("state_timeout_s", "-1"),
        ("state_timeout_s", INF),
        ("release_mode", "maybe"),
        ("hand_speed", "5000"),
        ("hand_speed", "-1"),
        ("hand_force", "1e9"),
        ("hand_force", "abc"),
        ("hand_timeout_s", "0"),
        ("hand_timeout_s", NAN),
        ("sim_python", ""),
        ("camera_cam_left_high", "-1"),
    ],
}


def _call(argv: list[str], capsys) -> tuple[int, str]:
    """Run the console entry point in this process; an uncaught exception fails the test
    with its traceback."""
    try:
        main(argv)
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def _assert_one_line_error(code: int, output: str, words: str, status: int = 2) -> None:
    assert code == status, f"exit {code}, expected {status}:\n{output[-2000:]}"
    assert "Traceback" not in output
    errors = [ln for ln in output.splitlines() if ln.lower().startswith("error")]
    assert len(errors) == 1, output[-2000:]
    assert words in errors[0], f"{words!r} not in {errors[0][:300]!r}"
    assert len(errors[0]) < 1000, "the error line echoes a hostile value in full"


def _fill(value: str, tmp_path) -> str:
    if value == "{tmp}":
        return str(tmp_path)
    if value == "{missing_joint}":
        from groot_sdk_so101.feetech.calibration import Calibration
        from groot_sdk_so101.spec import SERVO_IDS, SPEC

        doc = Calibration.default_for(SPEC, SERVO_IDS).to_json()
        del doc["wrist_roll"]
        path = tmp_path / "cal.json"
        path.write_text(json.dumps(doc))
        return str(path)
    return value


@pytest.mark.parametrize(("option", "value", "words"), RUN_ROWS, ids=lambda v: str(v)[:24])
def test_run_refuses(option, value, words, capsys, tmp_path):
    pytest.importorskip("serial", reason="the fake SO-101 bus needs pyserial")
    base = list(RUN)
    if option == "--embodiment":
        base[2] = value
        argv = base
    elif option == "--policy":
        argv = [*base[:5], value, *base[6:]]
    else:
        argv = [*base, option, _fill(value, tmp_path)]
    if option == "--policy-opt" and value.startswith(("frequency", "nope", "amplitude")):
        argv[5] = "sinusoid"
    if option == "--policy-opt" and value.startswith("timeout_ms"):
        argv[5] = "remote://127.0.0.1:9"
    code, out = _call(argv, capsys)
    _assert_one_line_error(code, out, words)


@pytest.mark.parametrize(("option", "value", "words"), SERVE_ROWS, ids=lambda v: str(v)[:24])
def test_serve_refuses(option, value, words, capsys):
    pytest.importorskip("zmq", reason="groot serve needs pyzmq")
    from groot_sdk.cli.commands.serve import command

    if option not in {o for p in command.params for o in p.opts}:
        pytest.skip(f"groot serve has no {option}")
    argv = list(SERVE)
    if option == "--embodiment":
        argv[2] = value
    elif option == "--policy":
        argv[4] = value
    else:
        argv += [option, value]
    if option == "--policy-opt":
        argv[4] = "sinusoid"
    code, out = _call(argv, capsys)
    _assert_one_line_error(code, out, words)


@pytest.mark.parametrize(("option", "value", "words"), EVAL_ROWS, ids=lambda v: str(v)[:24])
def test_eval_refuses(option, value, words, capsys):
    argv = list(EVAL)
    if option == "--embodiment":
        argv[2] = value
    elif option == "--policy":
        argv[5] = value
    else:
        argv += [option, value]
    code, out = _call(argv, capsys)
    _assert_one_line_error(code, out, words)


@pytest.mark.parametrize(
    ("embodiment", "key", "value"),
    [(e, k, v) for e, rows in HW_ROWS.items() for k, v in rows],
    ids=lambda v: str(v)[:24],
)
def test_hw_option_refused(embodiment, key, value, capsys, tmp_path):
    """Every driver config field through ``--hw``: refused before any device starts."""
    needs = {"so101": "serial", "bhl": "can", "g1_inspire": "pymodbus"}[embodiment]
    pytest.importorskip(needs)
    argv = ["run", "-e", embodiment, "--fake-hardware", "--policy", "zero", "--seconds", "0.05"]
    argv += ["--hw", f"{key}={_fill(value, tmp_path)}"]
    code, out = _call(argv, capsys)
    word = "calibration" if value == "{missing_joint}" else key
    _assert_one_line_error(code, out, word)


def _options(command: click.Command) -> set[str]:
    return {
        p.opts[0]
        for p in command.params
        if isinstance(p, click.Option) and not p.is_flag and p.opts[0] != "--help"
    }


def test_tables_cover_every_option():
    from groot_sdk.cli.commands import eval as eval_cmd
    from groot_sdk.cli.commands import run, serve

    for command, rows in (
        (run.command, RUN_ROWS),
        (serve.command, SERVE_ROWS),
        (eval_cmd.command, EVAL_ROWS),
    ):
        missing = _options(command) - {o for o, _, _ in rows}
        assert not missing, f"groot {command.name}: no hostile rows for {sorted(missing)}"


@pytest.mark.parametrize("embodiment", sorted(HW_ROWS))
def test_hw_tables_cover_every_config_field(embodiment):
    from groot_sdk.plugins import get_registry

    module = {
        "so101": "groot_sdk_so101.driver:So101Options",
        "bhl": "groot_sdk_bhl.driver:BhlOptions",
        "g1_inspire": "groot_sdk_g1_inspire.driver:G1Options",
    }[embodiment]
    mod, _, name = module.partition(":")
    cls = getattr(pytest.importorskip(mod), name)
    spec = get_registry().embodiment(embodiment).spec
    fields = {a.name for a in attrs.fields(cls)} | {f"camera_{c.name}" for c in spec.cameras}
    covered = {k for k, _ in HW_ROWS[embodiment]}
    assert fields - covered == set(), f"{embodiment}: no hostile rows for {fields - covered}"


def test_run_timeout_bound_matches_the_deployer():
    from groot_sdk.cli.commands import run
    from groot_sdk.deploy import loop

    assert run.MAX_TIMEOUT_S == loop.MAX_TIMEOUT_S


def test_hardware_driver_the_plugin_does_not_ship(capsys):
    """Fetch ships no driver (it named one it did not ship): one line, bad input (2), not
    ModuleNotFoundError."""
    code, out = _call(["run", "-e", "fetch", "-p", "zero", "--seconds", "0.05"], capsys)
    _assert_one_line_error(code, out, "has no hardware driver", status=2)


@pytest.mark.parametrize(
    "argv",
    [
        ["calibrate", "so101", "--port", "/dev/null", "--seconds", "nan"],
        ["calibrate", "so101", "--port", "/dev/null", "--seconds", "inf"],
        ["calibrate", "so101", "--port", "/dev/null", "--hw", "baudrate=nan"],
        ["doctor", "so101", "--fake-hardware", "--hw", "timeout_s=nan"],
        ["train-residual", "--alpha", "nan"],
        ["run", "-e", "bhl", "--sim", "-p", "zero", "--gripper", "0..1"],  # bhl has no gripper
    ],
    ids=lambda a: " ".join(a[:1] + a[-2:]),
)
def test_other_commands_refuse_non_finite_values(argv, capsys):
    """Calibration and doctor reach devices too; --alpha scales a policy's output."""
    code, out = _call(argv, capsys)
    _assert_one_line_error(code, out, argv[-2])
