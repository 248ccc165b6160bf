"""The SO-101 leader arm against a simulated STS3215 bus on a pty (real bytes both ways)."""

import numpy as np
import pytest

pytest.importorskip("serial", reason="pyserial (extra 'serial') is needed for the servo bus")

from groot_sdk_so101.feetech import protocol as p
from groot_sdk_so101.feetech.calibration import Calibration, MotorCalibration
from groot_sdk_so101.leader import LeaderMap, make_leader
from groot_sdk_so101.spec import SERVO_IDS, SPEC

from groot_sdk.errors import SpecError


def _leader_calibration(gripper=(1800, 2600)):
    """A leader whose gripper travels a different tick range than the follower's."""
    base = Calibration.default_for(SPEC, SERVO_IDS)
    motors = dict(base.motors)
    motors["gripper"] = MotorCalibration(SERVO_IDS["gripper"], 0, 0, *gripper)
    return Calibration(motors)


def test_gripper_range_maps_onto_the_followers_range():
    cal = _leader_calibration()
    m = LeaderMap(SPEC, cal)
    g = SPEC.joint_names.index("gripper")
    j = SPEC.joints[g]
    centre = [2048] * SPEC.dof
    closed, half, opened = (list(centre) for _ in range(3))
    closed[g], half[g], opened[g] = 1800, 2200, 2600
    assert m(closed)[g] == pytest.approx(j.lower)  # SO-101: open (1.5) > closed (0)
    assert m(opened)[g] == pytest.approx(j.upper)
    assert m(half)[g] == pytest.approx((j.lower + j.upper) / 2)
    inv = LeaderMap(SPEC, cal, gripper_inverted=True)
    assert inv(closed)[g] == pytest.approx(j.upper)
    # the arm joints: radians about the middle of the leader's range, clipped to the follower
    q = m(centre)
    assert np.abs(q[:5]).max() < 2e-3
    beyond = list(centre)
    beyond[0] = 4095
    assert m(beyond)[0] <= SPEC.upper[0]
    # the inverse used by the simulated leader agrees to the tick
    rows = np.array([SPEC.defaults, np.array(SPEC.upper) * 0.5])
    for r in rows:
        assert np.abs(m(m.to_ticks(r)) - r).max() < 2 * np.pi / 4096


def test_connect_switches_torque_off_and_writes_the_leaders_calibration():
    cal = _leader_calibration()
    leader = make_leader(SPEC, fake=True, calibration=cal)
    try:
        sim = leader._owned[0]
        for name, i in SERVO_IDS.items():
            servo = sim.servos[i]
            assert servo.table[p.Reg.TORQUE_ENABLE.addr] == 0
            assert servo._get(p.Reg.MIN_POSITION_LIMIT) == cal.motors[name].range_min
            assert servo._get(p.Reg.MAX_POSITION_LIMIT) == cal.motors[name].range_max
        q = leader.read()
        assert q.shape == (SPEC.dof,) and np.isfinite(q).all()
        # no instruction of the session ever switched a leader servo's torque on
        addr = p.Reg.TORQUE_ENABLE.addr
        values = [w.params[1] for w in sim.sent(p.Inst.WRITE) if w.params[0] == addr]
        for w in sim.sent(p.Inst.SYNC_WRITE):
            if w.params[0] == addr:
                body = w.params[2:]
                values += [body[k + 1] for k in range(0, len(body), 2)]
        assert values and not any(values)
    finally:
        leader.close()


def test_scripted_leader_plays_one_row_per_read(tmp_path):
    rows = np.array([SPEC.defaults] * 3, float)
    rows[1, 0], rows[2, 0] = 0.3, -0.4
    path = tmp_path / "leader.json"
    path.write_text(__import__("json").dumps({"positions": rows.tolist()}))
    leader = make_leader(SPEC, fake=True, script=str(path))
    try:
        got = [leader.read()[0] for _ in range(4)]
    finally:
        leader.close()
    assert got[1] == pytest.approx(0.3, abs=2e-3) and got[2] == pytest.approx(-0.4, abs=2e-3)
    assert got[3] == pytest.approx(-0.4, abs=2e-3)  # the last row is held


def test_leader_options_are_checked(tmp_path):
    with pytest.raises(SpecError, match="needs --fake-hardware"):
        make_leader(SPEC, port="/dev/null", script="x.json", calibration=_leader_calibration())
    bad = tmp_path / "bad.json"
    bad.write_text("[[1, 2]]")
    with pytest.raises(SpecError, match="rows of 6 finite joint positions"):
        make_leader(SPEC, fake=True, script=str(bad))
    with pytest.raises(SpecError, match="no SO-101 leader calibration"):
        make_leader(SPEC, port="/dev/null", calibration=str(tmp_path / "none.json"))
