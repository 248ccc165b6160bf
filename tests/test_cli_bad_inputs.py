"""No user input reaches the user as a traceback (issue 13 finding 4): the CLI walked over a
table of bad inputs (misspelled names, broken files, missing devices, unreachable
endpoints, broken plugins) through the console entry point :func:`groot_sdk.cli.main.main`,
the error boundary. Each must end with the exit status docs/running.md documents and ONE
``error:`` line on stderr naming the problem, without a traceback.

Option *values* (NaN, ranges, control characters) are tests/test_hostile_options.py's; this
table holds the other kinds of bad input.
"""

from __future__ import annotations

import re
import shlex
import socket
import sys
import types
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from groot_sdk.cli.main import EXIT_CODES, error_line, main
from groot_sdk.plugins import BackendEntry, EmbodimentEntry, Registry, hookimpl, reset_registry
from groot_sdk.spec import EmbodimentSpec, Group, Joint

pytestmark = pytest.mark.timeout(120)

ROOT = Path(__file__).resolve().parents[1]


def groot(argv: list[str], capsys) -> tuple[int, str, str]:
    """Run the console entry point in-process; (status, stdout, stderr)."""
    try:
        main(argv)
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_error_line(code: int, out: str, err: str, status: int, words: tuple[str, ...]):
    assert "Traceback" not in out + err, err[-2000:]
    assert code == status, f"exit {code}, expected {status}; stderr: {err[-1000:]}"
    lines = [line for line in err.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error:")]
    assert len(errors) == 1, f"expected one 'error:' line on stderr, got: {lines}"
    assert not [line for line in lines if "Error:" in line.split(" ", 1)[0]], lines
    for word in words:
        assert word in errors[0], f"{word!r} not in {errors[0]!r}"


@pytest.fixture
def files(tmp_path, monkeypatch):
    """Broken files and an empty calibration cache (the table must not depend on $HOME)."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "garbage.npz").write_bytes(b"not a zip archive")
    (tmp_path / "bad.json").write_text("{nope", encoding="utf-8")
    (tmp_path / "list.json").write_text("[1, 2]", encoding="utf-8")
    (tmp_path / "empty").mkdir()
    (tmp_path / "a_file").write_text("x", encoding="utf-8")
    (tmp_path / "ckpt").mkdir()
    (tmp_path / "ckpt" / "config.json").write_text("{}", encoding="utf-8")
    return tmp_path


# (command line, exit status, words the error line must contain)
NAMES = [
    ("run -e so10 --sim", 2, ("unknown embodiment 'so10'", "so101")),
    ("run -e so101 --sim -p hodl", 2, ("unknown policy backend 'hodl'", "hold")),
    ("info nope", 2, ("unknown embodiment 'nope'",)),
    ("modality nope", 2, ("unknown embodiment 'nope'",)),
    ("doctor nope", 2, ("unknown embodiment 'nope'",)),
    ("eval -e bhll --sim -p hold -n 1", 2, ("unknown embodiment 'bhll'",)),
    ("serve -e nope -p zero", 2, ("unknown embodiment 'nope'",)),
    ("benchmark --policy nope", 2, ("unknown policy backend 'nope'",)),
    ("train-residual -b nope --steps 1 --out out/rr", 2, ("unknown policy backend 'nope'",)),
    ("nosuchcommand", 2, ("No such command 'nosuchcommand'",)),
    ("run --embodimnt so101 --sim", 2, ("--embodimnt",)),
    ("info so101 --bogus", 2, ("--bogus",)),
    ("info so101 extra", 2, ("extra",)),
    ("eval -e fetch -p zero -n 1", 2, ("--sim",)),
    ("modality so101 --format n9", 2, ("--format", "n9")),
    ("finetune-config so101 --model n1.9 --dataset empty", 2, ("--model", "n1.9")),
    ("dataset convert empty out_x --from npy", 2, ("--from", "npy")),
    ("dataset convert empty out_x --from npz", 2, ("--embodiment",)),
    ("run -e fetch --sim -p scripted --task reech --episodes 1", 2, ("reech", "reach")),
    ("eval -e fetch --sim -p scripted --task reech -n 1", 2, ("reech", "reach")),
    ("run -e so101 --sim -p hold --task nonsense --seconds 0.1", 2, ("nonsense",)),
    # a backend for other robots, and misspelled backend options, name the valid ones
    ("run -e so101 --sim -p scripted", 2, ("--policy", "scripted", "fetch only", "so101")),
    ("serve -e so101 -p scripted", 2, ("--policy", "fetch only")),
    (
        "run -e so101 --sim -p sinusoid --policy-opt amplitud=0.3",
        2,
        ("--policy-opt", "amplitud", "amplitude, frequency"),
    ),
    ("run -e so101 --sim -p replay --policy-opt pth=x", 2, ("pth", "path")),
    ("benchmark --policy sinusoid --policy-opt amplitud=1", 2, ("amplitud", "amplitude")),
    ("run -e so101 --sim -p tensorrt", 2, ("tensorrt", "pip install")),
    ("new-plugin ''", 2, ("plugin name",)),
]

FILES = [
    ("run -e so101 --sim -p replay://missing.npz", 2, ("missing.npz",)),
    ("run -e so101 --sim -p replay://garbage.npz", 2, ("garbage.npz", "not a readable .npz")),
    ("run -e so101 --sim -p replay://bad.json", 2, ("bad.json", "not valid JSON")),
    ("run -e so101 --sim -p replay://list.json", 2, ("list.json",)),
    ("run -e bhl --sim -p mymodel.onnx", 2, ("mymodel.onnx", "does not exist")),
    ("run -e so101 --sim -p torch --policy-opt checkpoint=nowhere", 2, ("nowhere",)),
    ("run -e so101 --sim -p residual --policy-opt path=nowhere", 2, ("nowhere",)),
    ("dataset validate nowhere", 2, ("nowhere",)),
    ("dataset stats nowhere", 2, ("nowhere",)),
    ("dataset show nowhere", 2, ("nowhere",)),
    ("dataset validate a_file", 2, ("a_file",)),
    ("dataset stats empty", 2, ("no meta/info.json",)),
    ("dataset show empty", 2, ("no meta/info.json",)),
    ("dataset validate empty", 1, ("meta/info.json", "missing")),
    ("export-onnx nowhere out_onnx", 2, ("nowhere",)),
    ("export-onnx ckpt out_onnx", 2, ("config.json", "model_type")),
    ("build-engine nowhere out_engine", 2, ("nowhere",)),
]

DEVICES = [
    ("run -e fetch -p scripted --task reach --episodes 1", 2, ("fetch", "no hardware driver")),
    ("doctor fetch --fake-hardware", 2, ("fetch", "no hardware driver")),
    ("calibrate fetch", 2, ("fetch", "no hardware driver")),
    ("run -e so101 --port /dev/nonexistent_tty --seconds 0.1", 2, ("calibration",)),
    ("doctor so101 --port /dev/nonexistent_tty", 2, ("calibration",)),
    (
        "run -e so101 --port /dev/nonexistent_tty --hw calibration=bad.json --seconds 0.1",
        2,
        ("bad.json", "not JSON"),
    ),
    ("calibrate so101 --port /dev/nonexistent_tty --yes", 2, ("/dev/nonexistent_tty",)),
    ("run -e bhl --can nosuchcan0 --seconds 0.1", 2, ("four CAN channels",)),
    ("doctor bhl --can nocan0,nocan1,nocan2,nocan3", 1, ("nocan0",)),
    ("run -e g1_inspire --network-interface nosuch0 --seconds 0.1", 2, ("hand_address",)),
]

ENDPOINTS = [
    ("run -e so101 --sim -p remote://nohost:5555", 2, ("--policy", "nohost", "did not resolve")),
    ("run -e so101 --sim -p remote://", 2, ("--policy", "empty")),
    ("run -e so101 --sim -p remote://127.0.0.1:99999", 2, ("--policy", "99999")),
    ("run -e so101 --sim -p remote://127.0.0.1:abc", 2, ("--policy", "'abc'")),
    (
        (
            "run -e so101 --sim -p remote://127.0.0.1:1 --policy-opt timeout_ms=200 "
            "--policy-opt connect_timeout_ms=200"
        ),
        2,
        ("tcp://127.0.0.1:1", "no reply"),
    ),
    ("serve -e so101 -p zero --host nohost.invalid", 2, ("nohost.invalid",)),
]

TABLE = NAMES + FILES + DEVICES + ENDPOINTS


def test_the_table_is_big_enough():
    assert len(TABLE) >= 40
    assert len({row[0] for row in TABLE}) == len(TABLE)


@pytest.mark.parametrize(("line", "status", "words"), TABLE, ids=[r[0][:60] for r in TABLE])
def test_bad_input_is_one_line(line, status, words, files, capsys):
    code, out, err = groot(shlex.split(line), capsys)
    assert_one_error_line(code, out, err, status, words)


def test_serve_on_a_port_in_use(files, capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, out, err = groot(["serve", "-e", "so101", "-p", "zero", "--port", str(port)], capsys)
    assert_one_error_line(code, out, err, 2, (f"127.0.0.1:{port}", "in use"))


def test_doctor_without_pyserial_says_it_once(files, capsys, monkeypatch, caplog):
    """Finding 7: a failed connect (no pyserial) is one table row and one error line; the
    lifecycle no longer disables/closes the bus that never opened (two FeetechError
    tracebacks were logged before)."""
    monkeypatch.setitem(sys.modules, "serial", None)  # import serial -> ImportError
    code, out, err = groot(["doctor", "so101", "--fake-hardware"], capsys)
    assert_one_error_line(code, out, err, 1, ("servos", "serial"))
    assert "FAIL" in out
    logged = [r for r in caplog.records if r.levelname in {"ERROR", "WARNING"}]
    assert not logged, [r.getMessage() for r in logged]
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"


# -- plugins that break -----------------------------------------------------------------------


@pytest.fixture
def broken_plugins():
    """A plugin whose embodiment names a driver module it does not ship, a backend whose
    module is missing, a backend that fails with a bug, and a plugin that fails to import."""
    spec = EmbodimentSpec(
        name="toy", joints=(Joint("a", -1, 1),), action_groups=(Group("arm", 0, 1),)
    )

    def boom(spec, **options):
        raise RuntimeError("the factory has a bug")

    @hookimpl
    def groot_register_embodiments(register):
        register(EmbodimentEntry(spec=spec, hardware="toy_plugin_ghost.driver:make"))

    @hookimpl
    def groot_register_backends(register):
        register(BackendEntry("ghost", "toy_plugin_ghost.backend:make"))
        register(BackendEntry("boom", boom))

    mod = types.ModuleType("toy_plugin_mod")
    mod.groot_register_embodiments = groot_register_embodiments
    mod.groot_register_backends = groot_register_backends
    sys.modules["toy_plugin_mod"] = mod
    reset_registry(
        Registry(
            [
                EntryPoint("toy", "toy_plugin_mod", "groot_sdk"),
                EntryPoint("broken", "toy_plugin_not_installed", "groot_sdk"),
            ]
        )
    )
    yield
    reset_registry(None)
    sys.modules.pop("toy_plugin_mod", None)


PLUGIN_ROWS = [
    ("run -e toy", 2, ("toy", "no hardware driver", "toy_plugin_ghost.driver")),
    ("doctor toy", 2, ("toy", "toy_plugin_ghost.driver")),
    ("run -e nope --sim", 2, ("unknown embodiment 'nope'", "toy_plugin_not_installed")),
    ("run -e toy -p ghost", 2, ("toy_plugin_ghost", "not installed")),
    ("run -e toy -p boom", 1, ("unexpected RuntimeError", "the factory has a bug", "--debug")),
]


@pytest.mark.parametrize(("line", "status", "words"), PLUGIN_ROWS, ids=[r[0] for r in PLUGIN_ROWS])
def test_broken_plugin_is_one_line(line, status, words, broken_plugins, files, capsys):
    code, out, err = groot(shlex.split(line), capsys)
    assert_one_error_line(code, out, err, status, words)


def test_debug_shows_the_traceback(broken_plugins, files, capsys, monkeypatch):
    """--debug anywhere on the line (or GROOT_DEBUG=1) prints the traceback, then the line."""
    code, _, err = groot(["run", "-e", "toy", "-p", "boom", "--debug"], capsys)
    assert code == 1 and "Traceback" in err and "RuntimeError: the factory has a bug" in err
    assert err.strip().splitlines()[-1].startswith("error: unexpected RuntimeError")
    monkeypatch.setenv("GROOT_DEBUG", "1")
    code, _out, err = groot(["run", "-e", "toy", "-p", "boom"], capsys)
    assert code == 1 and "Traceback" in err


# -- the documented statuses -------------------------------------------------------------------


def test_exit_codes_are_documented():
    """Every status the CLI uses is in docs/running.md's table, and the table lists no other."""
    text = (ROOT / "docs" / "running.md").read_text(encoding="utf-8")
    section = text.split("## Exit status and errors", 1)[1].split("\n## ", 1)[0]
    documented = {int(m) for m in re.findall(r"^\| (\d+) \|", section, flags=re.MULTILINE)}
    assert documented == set(EXIT_CODES)


def test_error_line_kinds():
    """The boundary's mapping: input errors 2, library errors named, bugs 1 with a hint."""
    from groot_sdk.errors import HardwareError

    assert error_line(HardwareError("servo 3 did not answer")) == ("servo 3 did not answer", 2)
    line, status = error_line(FileNotFoundError(2, "No such file or directory", "x.json"))
    assert status == 2 and "'x.json'" in line
    line, status = error_line(PermissionError(13, "Permission denied", "/dev/ttyACM0"))
    assert status == 2 and "/dev/ttyACM0" in line and "permission denied" in line
    line, status = error_line(ModuleNotFoundError("No module named 'mujoco'", name="mujoco"))
    assert status == 2 and "'mujoco'" in line
    line, status = error_line(ZeroDivisionError("division by zero"))
    assert status == 1 and "--debug" in line


def test_console_script_in_a_subprocess(tmp_path):
    """The installed entry point itself (not only main()): one line, status 2."""
    import subprocess

    proc = subprocess.run(
        [sys.executable, "-m", "groot_sdk.cli.main", "run", "-e", "so10", "--sim"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: unknown embodiment 'so10'; known: [")
