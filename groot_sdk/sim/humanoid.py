"""Assemble a simulated humanoid (BHL, G1) from an ``MjSpec``: PD joints, IMU, head camera.

Shared by the humanoid plugins so that a published model (loaded by path) and a generated
one (:func:`~groot_sdk.sim.generated.build_kinematic_model`) behave the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from attrs import field, frozen

from groot_sdk.embodiment import Embodiment
from groot_sdk.errors import SpecError
from groot_sdk.hardware import Actuator, Sensor
from groot_sdk.sim.drivers import MujocoCamera, MujocoImu, MujocoJoints
from groot_sdk.sim.episode import SimEpisode
from groot_sdk.sim.gl import import_mujoco
from groot_sdk.sim.world import MujocoWorld
from groot_sdk.spec import EmbodimentSpec

#: length of a humanoid episode when the plugin gives none (seconds of sim time)
DEFAULT_EPISODE_SECONDS = 20.0


def _vec(v) -> tuple[float, ...]:
    return tuple(float(x) for x in v)


@frozen
class CameraMount:
    """Where a spec camera sits: on ``body`` at ``pos``, looking along +x, tilted down."""

    name: str
    body: str
    pos: tuple[float, ...] = field(converter=_vec)
    tilt: float = 0.35  #: radians below the horizon
    fovy: float = 70.0


def add_camera(mjspec: Any, mount: CameraMount) -> None:
    mj = import_mujoco()
    body = mjspec.body(mount.body)
    if body is None:
        raise SpecError(f"model has no body '{mount.body}' to mount camera '{mount.name}' on")
    # camera frame: x right (-y world), y up, looking along -z = forward (+x) and down
    c, s = np.cos(mount.tilt), np.sin(mount.tilt)
    x_axis = np.array([0.0, -1.0, 0.0])
    y_axis = np.array([s, 0.0, c])
    z_axis = np.cross(x_axis, y_axis)
    quat = np.zeros(4)
    mj.mju_mat2Quat(quat, np.column_stack([x_axis, y_axis, z_axis]).flatten())
    body.add_camera(name=mount.name, pos=list(mount.pos), quat=quat.tolist(), fovy=mount.fovy)


def lowest_point(model: Any, data: Any) -> float:
    """The lowest z of any geom not on the world body (boxes, capsules, spheres exact)."""
    mj = import_mujoco()
    low = np.inf
    for g in range(model.ngeom):
        if model.geom_bodyid[g] == 0:
            continue
        pos, mat = data.geom_xpos[g], data.geom_xmat[g].reshape(3, 3)
        size, kind = model.geom_size[g], model.geom_type[g]
        if kind == mj.mjtGeom.mjGEOM_BOX:
            corners = np.array(np.meshgrid([-1, 1], [-1, 1], [-1, 1])).reshape(3, -1).T * size
            z = (pos + corners @ mat.T)[:, 2].min()
        elif kind == mj.mjtGeom.mjGEOM_CAPSULE:
            z = min(pos[2] + mat[2, 2] * size[1], pos[2] - mat[2, 2] * size[1]) - size[0]
        elif kind == mj.mjtGeom.mjGEOM_SPHERE:
            z = pos[2] - size[0]
        else:
            z = pos[2] - model.geom_rbound[g]
        low = min(low, float(z))
    return low


class HumanoidEpisode(SimEpisode):
    """Stand at the default pose; the episode fails when the IMU drops below
    ``fall_ratio`` of its starting height (the robot fell). No success criterion."""

    def __init__(
        self,
        world: MujocoWorld,
        joints: MujocoJoints,
        spec: EmbodimentSpec,
        qpos0: np.ndarray,
        *,
        base_body: str,
        floating: bool,
        fall_ratio: float = 0.6,
        task: str = "",
        max_steps: int | None = None,
        seed: int | None = None,
    ) -> None:
        super().__init__(world, policy_dt=spec.rates.policy_dt, max_steps=max_steps, seed=seed)
        self.joints = joints
        self.qpos0 = qpos0
        self.defaults = np.array([spec.joint(n).default for n in joints.joint_names])
        self.base_id = world.require_id("body", base_body)
        self.imu_site = world.id("site", "imu")
        self.floating = floating
        self.fall_ratio = fall_ratio
        self.instruction = task
        self.start_height = 0.0

    def _reset(self, rng: np.random.Generator) -> None:
        self.world.reset(qpos=self.qpos0)
        self.joints.set_virtual(self.defaults)
        self.joints.sync()
        self.start_height = self.imu_height()

    def base_position(self) -> np.ndarray:
        return self.world.data.xpos[self.base_id].copy()

    def imu_height(self) -> float:
        if self.imu_site >= 0:
            return float(self.world.data.site_xpos[self.imu_site][2])
        return float(self.base_position()[2])

    def failed(self) -> bool:
        return self.floating and self.imu_height() < self.fall_ratio * self.start_height


def make_humanoid_sim(
    spec: EmbodimentSpec,
    mjspec: Any,
    *,
    kp: Mapping[str, float],
    kd: Mapping[str, float],
    effort: Mapping[str, float],
    cameras: Sequence[CameraMount] = (),
    task: str = "",
    seed: int | None = None,
    render: bool = True,
    base_body: str = "base",
    fixed_base: bool = False,
    gantry_height: float = 0.3,
    physics_dt: float | None = None,
    place_on_floor: bool = False,
    shadows: bool = False,
    max_steps: int | None = None,
    episode_seconds: float = DEFAULT_EPISODE_SECONDS,
) -> Embodiment:
    """Compile ``mjspec`` and wrap it as an Embodiment (see :mod:`groot_sdk.sim` for the contract).

    ``fixed_base`` welds the base to the world, ``gantry_height`` above its usual place (a
    robot on a test stand). ``place_on_floor`` lowers a floating base until its lowest geom
    touches the floor at the default pose (for generated models). An episode ends after
    ``max_steps`` policy steps, by default ``episode_seconds`` of sim time (every episodic
    simulator ends: ``groot eval`` would otherwise never finish; ``groot run --seconds``
    still sets any length).
    """
    if max_steps is None:
        max_steps = max(1, round(episode_seconds / spec.rates.policy_dt))
    if max_steps < 1:
        raise SpecError(f"{spec.name}: max_steps must be at least 1, got {max_steps}")
    mj = import_mujoco()
    base = mjspec.body(base_body)
    if base is None:
        raise SpecError(f"{spec.name}: model has no base body '{base_body}'")
    free = [j for j in base.joints if j.type == mj.mjtJoint.mjJNT_FREE]
    floating = bool(free) and not fixed_base
    if fixed_base:
        for j in free:
            mjspec.delete(j)
        base.pos = [base.pos[0], base.pos[1], base.pos[2] + gantry_height]
    if render:
        for mount in cameras:
            add_camera(mjspec, mount)
    model = mjspec.compile()
    world = MujocoWorld(
        model, control_dt=spec.rates.low_level_dt, physics_dt=physics_dt, shadows=shadows
    )
    joints = MujocoJoints("joints", world, spec, kp=kp, kd=kd, effort=effort)
    defaults = np.array([spec.joint(n).default for n in joints.joint_names])
    qpos0 = model.qpos0.copy()
    qpos0[joints._qadr] = defaults[joints._real]
    if floating and place_on_floor:
        world.reset(qpos=qpos0)
        adr = model.jnt_qposadr[model.body_jntadr[world.require_id("body", base_body)]]
        qpos0[adr + 2] += 0.002 - lowest_point(model, world.data)
    episode = HumanoidEpisode(
        world,
        joints,
        spec,
        qpos0,
        base_body=base_body,
        floating=floating,
        task=task,
        max_steps=max_steps,
        seed=seed,
    )
    episode.reset(seed)
    sensors: dict[str, Sensor] = {"joints": joints}
    if world.id("sensor", "imu_quat") >= 0:
        sensors["imu"] = MujocoImu("imu", world)
    if render:
        mounted = {m.name for m in cameras}
        for cam in spec.cameras:
            if cam.name in mounted:
                sensors[cam.name] = MujocoCamera(cam.name, world, cam.name, cam.width, cam.height)
    actuators: dict[str, Actuator] = {"joints": joints}
    return Embodiment(spec, sensors, actuators, episodic=episode, task=task)
