"""`groot calibrate` and `groot doctor` against simulated devices."""

import json
import threading
import time

import pytest
from click.testing import CliRunner

pytest.importorskip("serial", reason="pyserial (extra 'serial') is needed")

from groot_sdk.cli.main import cli


def test_calibrate_so101_writes_servos_and_json(tmp_path):
    from groot_sdk_so101.feetech import protocol as p
    from groot_sdk_so101.feetech.sim import SimulatedFeetechBus
    from groot_sdk_so101.spec import SERVO_IDS

    centre = {1: 2600, 2: 1500, 3: 2048, 4: 2900, 5: 1200, 6: 2100}
    with SimulatedFeetechBus(SERVO_IDS.values(), centre) as sim:
        stop = threading.Event()

        def sweep():  # the user moves each joint +-300 ticks around the centre
            k = 0
            while not stop.wait(0.02):
                for i, c in centre.items():
                    sim.move_shaft(i, c + (300 if k % 2 else -300))
                k += 1

        mover = threading.Thread(target=sweep, daemon=True)
        time.sleep(0.01)
        out = tmp_path / "so101.json"
        runner = CliRunner()
        mover_started = threading.Timer(0.1, mover.start)
        mover_started.start()
        try:
            result = runner.invoke(
                cli,
                ["calibrate", "so101", "--port", sim.port, "--yes", "--seconds", "0.6",
                 "-o", str(out)],
            )  # fmt: skip
        finally:
            stop.set()
        assert result.exit_code == 0, result.output
        assert f"-> {out}" in result.output
        data = json.loads(out.read_text())
        assert set(data) == set(SERVO_IDS)
        for name, i in SERVO_IDS.items():
            entry = data[name]
            assert entry["id"] == i and entry["drive_mode"] == 0
            assert entry["homing_offset"] == centre[i] - 2047
            if name == "wrist_roll":
                assert (entry["range_min"], entry["range_max"]) == (0, 4095)
            else:
                assert entry["range_min"] == 2047 - 300 and entry["range_max"] == 2047 + 300
            flash = sim.servos[i].flash
            assert p.decode(p.Reg.MIN_POSITION_LIMIT, flash[9:11]) == entry["range_min"]


def test_calibrate_unknown_procedure():
    result = CliRunner().invoke(cli, ["calibrate", "fetch", "--port", "/dev/null"])
    assert result.exit_code != 0
    assert "has no hardware driver" in result.output or "no calibration procedure" in result.output


@pytest.mark.parametrize("embodiment", ["so101", "bhl"])
def test_doctor_fake_hardware(embodiment):
    pytest.importorskip("can", reason="python-can (extra 'can') is needed")
    result = CliRunner().invoke(cli, ["doctor", embodiment, "--fake-hardware", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["ok"] and len(report["checks"]) >= 6
    assert all(c["ok"] for c in report["checks"])


def test_doctor_reports_a_dead_servo(tmp_path):
    from groot_sdk_so101.feetech.calibration import Calibration
    from groot_sdk_so101.feetech.sim import SimulatedFeetechBus
    from groot_sdk_so101.spec import SERVO_IDS, SPEC

    cal = Calibration.default_for(SPEC, SERVO_IDS).save(tmp_path / "cal.json")
    # the pty answers in microseconds; a loaded CI machine can stall the simulated bus's
    # thread for longer than the driver's 50 ms default, so wait up to 0.5 s per reply
    args = ["--hw", f"calibration={cal}", "--hw", "timeout_s=0.5"]
    with SimulatedFeetechBus(SERVO_IDS.values()) as sim:
        result = CliRunner().invoke(cli, ["doctor", "so101", "--port", sim.port, *args])
        assert result.exit_code == 0, result.output  # connect + all six answer
        sim.inject(4, "no_reply")
        result = CliRunner().invoke(cli, ["doctor", "so101", "--port", sim.port, *args])
        assert result.exit_code == 1
        assert "FAIL" in result.output and "servo 4 (wrist_flex)" in result.output
