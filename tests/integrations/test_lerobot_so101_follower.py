"""An SDK run drives LeRobot's own ``SO101Follower`` (lerobot 0.3.3, with its Feetech driver
``feetech-servo-sdk``) connected to the SDK's simulated STS3215 bus on a pty
(``groot_sdk_so101.feetech.sim``), through the SDK's safety filter.

The calibration file is written by the test (every servo's full range, no homing offset) so
that ``connect(calibrate=False)`` needs no operator; ``use_degrees=True``: arm joints in
degrees around the range's middle, the gripper in 0..100.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("lerobot.robots")
pytest.importorskip("scservo_sdk")
pytest.importorskip("groot_sdk_so101")

from groot_sdk_so101.feetech import protocol as p
from groot_sdk_so101.feetech.sim import SimulatedFeetechBus

try:  # lerobot 0.3.3
    from lerobot.robots.so101_follower import SO101Follower, SO101FollowerConfig
except ImportError:  # lerobot 0.4: one module for the SO-100 and SO-101 followers
    from lerobot.robots.so_follower import SO101Follower, SO101FollowerConfig

from groot_sdk.deploy import DeployConfig, RealtimeDeployer
from groot_sdk.integrations.lerobot import embodiment_from_lerobot
from groot_sdk.policy.simple import ZeroPolicy

pytestmark = pytest.mark.timeout(60)

NAMES = ["shoulder_pan", "shoulder_lift", "elbow_flex", "wrist_flex", "wrist_roll", "gripper"]
LIMITS = {**{n: (-30.0, 30.0) for n in NAMES[:5]}, "gripper": (10.0, 60.0)}


class Far(ZeroPolicy):
    """170 for every joint: far past every limit."""

    def get_action(self, observation):
        return {k: np.full_like(v, 170.0) for k, v in super().get_action(observation).items()}


def _goal_ticks(bus: SimulatedFeetechBus) -> np.ndarray:
    """Goal_Position of servos 1..6 from every SYNC_WRITE the driver sent."""
    goal = p.Reg.GOAL_POSITION
    rows = []
    for pkt in bus.sent(p.Inst.SYNC_WRITE):
        addr, size, body = pkt.params[0], pkt.params[1], pkt.params[2:]
        if addr != goal.addr or size != 2:
            continue
        row = {
            body[k]: int.from_bytes(body[k + 1 : k + 3], "little") for k in range(0, len(body), 3)
        }
        rows.append([row[i] for i in range(1, 7)])
    return np.array(rows)


def test_sdk_deployer_drives_lerobot_so101_follower_on_the_simulated_bus(tmp_path):
    calibration = {
        n: {"id": i + 1, "drive_mode": 0, "homing_offset": 0, "range_min": 0, "range_max": 4095}
        for i, n in enumerate(NAMES)
    }
    (tmp_path / "sim.json").write_text(json.dumps(calibration))
    with SimulatedFeetechBus(range(1, 7)) as bus:
        follower = SO101Follower(
            SO101FollowerConfig(port=bus.port, id="sim", calibration_dir=tmp_path, use_degrees=True)
        )
        follower.connect(calibrate=False)
        emb = embodiment_from_lerobot(
            follower, limits=LIMITS, velocity_limits=dict.fromkeys(NAMES, 200.0), fps=30
        )
        report = RealtimeDeployer(
            emb, Far(emb.spec), DeployConfig(seconds=0.5, rate_hz=30, hardware=True)
        ).run()
        assert report.safety_stops == 0 and report.steps > 5, report.stop_reason
        goals = _goal_ticks(bus)
        final = follower.get_observation()
        emb.close()
        assert follower.is_connected  # the test connected it: it disconnects it
        follower.disconnect()
    assert len(goals) >= report.steps
    # LeRobot's own conversion (0.3.3, use_degrees): deg = (ticks - 2047.5) * 360 / 4095;
    # gripper percent = ticks / 4095 * 100
    arm_max = 2047.5 + 30.0 * 4095 / 360
    assert goals[:, :5].max() <= arm_max + 1 and goals[:, 5].max() <= 0.6 * 4095 + 1
    assert goals[:, :5].max() >= arm_max - 1  # it did reach the limit, not just stay put
    assert all(abs(final[f"{n}.pos"] - 30.0) < 1.0 for n in NAMES[:5]), final
