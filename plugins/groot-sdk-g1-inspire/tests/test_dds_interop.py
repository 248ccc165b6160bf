"""The G1 driver, on this environment's CycloneDDS (11.x on Python 3.11), against the DDS stack
the robot runs: CycloneDDS 0.10.x with Unitree's own Python SDK (unitree-sdk2py-dimos 1.0.3, a
repackaging of unitree_sdk2_python, whose setup.py pins cyclonedds==0.10.2: its channel
factory, its ``unitree_hg`` IDL types and its shipped CRC library), in an interpreter of its
own, built by ``tests/dds010_venv.py`` (``nox -s tests`` builds it under .nox/).

Before the fix an 11.x and a 0.10.2 participant on ``lo`` exchanged 0 LowCmd and 0 LowState:
no discovery (11 enables multicast on ``lo``; 0.10 disables it there and looks for peers on
localhost unicast ports), and, with discovery forced, no match (0.10 describes the SDK's uint8
fields as TK_BYTE, 11 as TK_UINT8, which are not assignable).
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from groot_sdk_g1_inspire.dds.messages import LowCmd
from groot_sdk_g1_inspire.spec import SPEC

from groot_sdk.errors import HardwareError

pytest.importorskip("cyclonedds", reason="CycloneDDS is not installed (extra 'dds')")

ROOT = Path(__file__).resolve().parents[3]
DEFAULT = ROOT / ".nox" / "g1-cyclonedds-0.10"
ENV = "GROOT_G1_DDS010_PYTHON"
DOMAIN = 100 + os.getpid() % 100  # the driver's fake-hardware domain: one per process


@pytest.fixture(scope="module")
def peer_python() -> str:
    python = os.environ.get(ENV) or str(DEFAULT / "bin" / "python")
    if not os.path.exists(python):
        marker = Path(str(DEFAULT) + ".unavailable")
        why = marker.read_text().strip() if marker.exists() else "not built"
        pytest.skip(
            f"no CycloneDDS 0.10.x interpreter ({why}); build one with `python "
            f"plugins/groot-sdk-g1-inspire/tests/dds010_venv.py {DEFAULT}` or set {ENV}"
        )
    return python


@pytest.fixture
def robot010(peer_python):
    from groot_sdk_g1_inspire.dds.sim import SimulatedG1Process

    with SimulatedG1Process(peer_python, domain_id=DOMAIN, interface="lo") as robot:
        assert robot.cyclonedds.startswith("0.10."), robot.cyclonedds
        yield robot


def _eventually(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.02)
    return predicate()


def test_types_hash_as_unitree_sdk_on_cyclonedds_010(peer_python):
    """Our types' XTypes identifiers equal those of Unitree's SDK types under 0.10.x."""
    from groot_sdk_g1_inspire.dds import idl

    script = (
        "import json\nfrom unitree_sdk2py.idl.unitree_hg.msg.dds_ import LowCmd_, LowState_\n"
        "def ids(t):\n    i = t.__idl__.get_type_info()\n"
        "    return [bytes(w.typeid_with_size.type_id.value).hex() for w in (i.minimal, i.complete)]\n"
        "print(json.dumps({'LowCmd_': ids(LowCmd_), 'LowState_': ids(LowState_)}))"
    )
    out = subprocess.run(
        [peer_python, "-c", script], check=True, capture_output=True, text=True, timeout=60
    )
    theirs = json.loads(out.stdout)
    for name, want in theirs.items():
        info = getattr(idl, name).__idl__.get_type_info()
        ours = [
            bytes(w.typeid_with_size.type_id.value).hex() for w in (info.minimal, info.complete)
        ]
        assert ours == want, name


def test_lowcmd_and_lowstate_cross_both_ways(robot010):
    from groot_sdk_g1_inspire.dds.channel import G1LowLevel

    low = G1LowLevel(DOMAIN, "lo")
    low.open()
    try:
        cmd = LowCmd(mode_machine=5)
        cmd.mode[:29] = 1
        cmd.q[3], cmd.kp[3], cmd.kd[3] = 0.25, 60.0, 1.0
        sent = 0

        def exchanged():
            nonlocal sent
            low.publish(cmd)
            sent += 1
            return low.states_received >= 20 and robot010.status().received >= 20

        assert _eventually(exchanged), (low.states_received, robot010.status(), sent)
        status = robot010.status()
        assert status.bad_crc == 0  # Unitree's CRC agrees with ours on every command
        assert status.command.q[3] == pytest.approx(0.25) and status.command.kp[3] == 60
        state, _ = low.latest()
        assert state.mode_machine == 5 and state.mode[3] == 1
    finally:
        low.close()


def test_reserve_goes_out_under_the_crc_unitree_checks(robot010):
    """A LowCmd with a non-zero ``reserve`` is accepted by a robot that checks Unitree's CRC."""
    from groot_sdk_g1_inspire.dds.channel import G1LowLevel

    low = G1LowLevel(DOMAIN, "lo")
    low.open()
    try:
        cmd = LowCmd(mode_machine=5, reserve=(1, 2, 3, 0xFFFFFFFF))

        def accepted():
            low.publish(cmd)
            return robot010.status().received >= 5

        assert _eventually(accepted)
        status = robot010.status()
        assert status.bad_crc == 0 and status.command.reserve == (1, 2, 3, 0xFFFFFFFF)
    finally:
        low.close()


def test_fake_hardware_on_a_cyclonedds_010_robot(peer_python):
    from groot_sdk_g1_inspire.driver import make_hardware

    robot = make_hardware(SPEC, fake=True, rate_hz=100, sim_python=peer_python, domain_id=DOMAIN)
    sim = robot.sensors["body"]._owned[0]
    assert sim.cyclonedds.startswith("0.10.")
    robot.connect()
    try:
        # INACTIVE is damping; mode_machine comes from the first LowState
        assert _eventually(lambda: sim.status().received > 3)
        first = sim.command
        assert first.mode_machine == 5 and first.kp[:29].max() == 0 and first.kd[:29].min() > 0
        robot.enable()
        target = np.array(SPEC.defaults, np.float32)
        target[3] = 0.6  # left knee
        for _ in range(200):
            robot.write(target)
            state = robot.read_joints()
            if abs(state.position[3] - 0.6) < 0.02:
                break
            time.sleep(0.02)
        assert state.position[3] == pytest.approx(0.6, abs=0.02)
        assert sim.bad_crc == 0
        sim.set_motor_error(20, 0x2)
        with pytest.raises(HardwareError, match=r"left_wrist_pitch_joint \(motor 20\): 0x2"):
            for _ in range(100):
                robot.read_joints()
                time.sleep(0.01)
        robot.safe_stop()
        assert _eventually(lambda: sim.command.kp[:29].max() == 0)
    finally:
        robot.close()


def test_doctor_fake_hardware_with_a_cyclonedds_010_robot(peer_python):
    """``groot doctor g1_inspire --fake-hardware`` with the simulated G1 on cyclonedds 0.10."""
    groot = Path(sys.executable).with_name("groot")
    cmd = [str(groot)] if groot.exists() else [sys.executable, "-m", "groot_sdk.cli.main"]
    out = subprocess.run(
        [*cmd, "doctor", "g1_inspire", "--fake-hardware", "--json", "--hw",
         f"sim_python={peer_python}"],
        check=False, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    report = json.loads(out.stdout)
    assert report["ok"]
    rows = {r["device"]: r for r in report["checks"]}
    assert rows["g1 lowstate"]["ok"] and "mode_machine 5" in rows["g1 lowstate"]["detail"]
    assert len([d for d in rows if "(motor " in d]) == 29


def test_sim_python_errors_are_one_line(tmp_path):
    from groot_sdk_g1_inspire.driver import make_hardware

    from groot_sdk.errors import SpecError

    with pytest.raises(SpecError, match="sim_python needs fake=True"):
        make_hardware(SPEC, sim_python="python3", hand_address="127.0.0.1,127.0.0.2")
    missing = str(tmp_path / "no-python")
    with pytest.raises(HardwareError, match=r"simulated G1 \(.*no-python\): cannot start"):
        make_hardware(SPEC, fake=True, sim_python=missing, domain_id=DOMAIN)
