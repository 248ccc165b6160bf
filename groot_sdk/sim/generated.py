"""A simple MuJoCo model generated from a spec: a box torso and capsule chains.

Robots whose published model cannot ship with their plugin (size, licence) still simulate
after a plain ``pip install``: every spec joint becomes a hinge (axis from its name: roll -> x,
yaw/pan -> z, otherwise y; range from the spec) on a capsule link, driven by a torque motor
that :class:`~groot_sdk.sim.MujocoJoints` turns into a PD servo. The base carries an ``imu``
site with ``imu_quat`` / ``imu_gyro`` / ``imu_acc`` sensors, like the published humanoids.
It is a kinematic stand-in (right joints, limits and rough proportions), not a dynamics model:
links touch the floor but not each other.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from attrs import field, frozen

from groot_sdk.errors import SpecError
from groot_sdk.sim.gl import import_mujoco
from groot_sdk.spec import EmbodimentSpec


def _vec(v) -> tuple[float, ...]:
    return tuple(float(x) for x in v)


@frozen
class Chain:
    """Joints in series. Each joint's body carries a capsule of ``lengths[i]`` along
    ``direction``; the next joint sits at its end.

    ``parent``: "base", or a joint name whose link end this chain hangs from (plus ``origin``).
    ``end``: "foot" adds a flat foot box under the last link, "hand" a small palm box.
    """

    joints: tuple[str, ...] = field(converter=tuple)
    parent: str = "base"
    origin: tuple[float, ...] = field(default=(0.0, 0.0, 0.0), converter=_vec)
    direction: tuple[float, ...] = field(default=(0.0, 0.0, -1.0), converter=_vec)
    lengths: tuple[float, ...] | None = None
    radius: float = 0.025
    end: str = ""


def joint_axis(name: str) -> tuple[float, float, float]:
    n = name.lower()
    if "roll" in n:
        return (1.0, 0.0, 0.0)
    if "yaw" in n or "pan" in n:
        return (0.0, 0.0, 1.0)
    return (0.0, 1.0, 0.0)


def build_kinematic_model(
    spec: EmbodimentSpec,
    chains: Sequence[Chain],
    *,
    torso: tuple[float, float, float] = (0.08, 0.12, 0.15),
    base_height: float = 1.0,
    floating: bool = True,
    armature: float = 0.01,
    damping: float = 0.1,
    timestep: float = 0.002,
) -> Any:
    """An ``MjSpec`` with a floor, a base body (``base``) and ``chains``; compile it yourself.

    Every spec joint must appear in exactly one chain (mimic followers included: in this
    model they are real joints that follow their source through their own servo).
    """
    mj = import_mujoco()
    covered = [j for c in chains for j in c.joints]
    missing = [j for j in spec.joint_names if j not in covered]
    extra = [j for j in covered if j not in spec.joint_names]
    if missing or extra:
        raise SpecError(
            f"{spec.name}: generated model chains miss joints {missing} / name unknown {extra}"
        )
    s = mj.MjSpec()
    s.modelname = f"{spec.name}_generated"
    s.compiler.degree = False  # ranges are radians, like the spec
    s.option.timestep = timestep
    s.visual.global_.offwidth = 640
    s.visual.global_.offheight = 480
    s.add_texture(
        name="sky",
        type=mj.mjtTexture.mjTEXTURE_SKYBOX,
        builtin=mj.mjtBuiltin.mjBUILTIN_GRADIENT,
        rgb1=[0.3, 0.5, 0.7],
        rgb2=[0, 0, 0],
        width=32,
        height=512,
    )
    s.add_texture(
        name="grid",
        type=mj.mjtTexture.mjTEXTURE_2D,
        builtin=mj.mjtBuiltin.mjBUILTIN_CHECKER,
        rgb1=[0.2, 0.3, 0.4],
        rgb2=[0.1, 0.2, 0.3],
        width=256,
        height=256,
    )
    grid = s.add_material(name="grid", texrepeat=[8, 8])
    grid.textures[mj.mjtTextureRole.mjTEXROLE_RGB] = "grid"
    world = s.worldbody
    world.add_light(pos=[0, 0, 3], dir=[0, 0, -1], type=mj.mjtLightType.mjLIGHT_DIRECTIONAL)
    world.add_geom(
        name="floor",
        type=mj.mjtGeom.mjGEOM_PLANE,
        size=[0, 0, 0.05],
        material="grid",
        contype=1,
        conaffinity=1,
    )
    # robot geoms touch the floor but not each other (contype 2 vs the floor's conaffinity 1)
    robot = s.default.geom
    robot.contype, robot.conaffinity = 2, 1
    base = world.add_body(name="base", pos=[0, 0, base_height])
    if floating:
        base.add_freejoint(name="base_freejoint")
    base.add_geom(
        type=mj.mjtGeom.mjGEOM_BOX, size=list(torso), rgba=[0.7, 0.7, 0.75, 1], density=300
    )
    base.add_site(name="imu", pos=[0, 0, 0])
    bodies: dict[str, tuple[Any, np.ndarray]] = {}  # joint -> (body, link end in body frame)
    limits = {j.name: (j.lower, j.upper) for j in spec.joints}
    defaults = {j.name: j.default for j in spec.joints}
    for chain in chains:
        if chain.parent == "base":
            parent, anchor = base, np.zeros(3)
        elif chain.parent in bodies:
            parent, anchor = bodies[chain.parent]
        else:
            raise SpecError(f"chain {chain.joints[0]}: parent '{chain.parent}' is not built yet")
        direction = np.asarray(chain.direction) / np.linalg.norm(chain.direction)
        lengths = chain.lengths or (0.03,) * len(chain.joints)
        pos = anchor + np.asarray(chain.origin)
        for name, length in zip(chain.joints, lengths):
            body = parent.add_body(name=f"{name}_link", pos=list(pos))
            body.add_joint(
                name=name,
                type=mj.mjtJoint.mjJNT_HINGE,
                axis=list(joint_axis(name)),
                range=list(limits[name]),
                limited=mj.mjtLimited.mjLIMITED_TRUE,
                armature=armature,
                damping=damping,
            )
            end = direction * max(length, 1e-3)
            body.add_geom(
                type=mj.mjtGeom.mjGEOM_CAPSULE,
                fromto=[0, 0, 0, *end.tolist()],
                size=[chain.radius, 0, 0],
                rgba=[0.2, 0.5, 0.8, 1],
            )
            bodies[name] = (body, end)
            parent, pos = body, end
        if chain.end == "foot":
            # level at the default pose: undo the chain's summed default pitch
            pitch = sum(defaults[j] for j in chain.joints if joint_axis(j) == (0.0, 1.0, 0.0))
            quat = [np.cos(-pitch / 2), 0.0, np.sin(-pitch / 2), 0.0]
            parent.add_geom(
                type=mj.mjtGeom.mjGEOM_BOX,
                pos=(pos + np.array([0.02, 0.0, -chain.radius])).tolist(),
                quat=quat,
                size=[0.1, 0.045, 0.015],
                rgba=[0.3, 0.3, 0.3, 1],
            )
        elif chain.end == "hand":
            parent.add_geom(
                type=mj.mjtGeom.mjGEOM_BOX,
                pos=list(pos + direction * 0.03),
                size=[0.02, 0.04, 0.03],
                rgba=[0.3, 0.3, 0.3, 1],
            )
    for j in spec.joints:
        s.add_actuator(
            name=j.name,
            target=j.name,
            trntype=mj.mjtTrn.mjTRN_JOINT,
            gainprm=[1] + [0] * 9,
        )
    s.add_sensor(
        name="imu_quat",
        type=mj.mjtSensor.mjSENS_FRAMEQUAT,
        objtype=mj.mjtObj.mjOBJ_SITE,
        objname="imu",
    )
    s.add_sensor(
        name="imu_gyro", type=mj.mjtSensor.mjSENS_GYRO, objtype=mj.mjtObj.mjOBJ_SITE, objname="imu"
    )
    s.add_sensor(
        name="imu_acc",
        type=mj.mjtSensor.mjSENS_ACCELEROMETER,
        objtype=mj.mjtObj.mjOBJ_SITE,
        objname="imu",
    )
    return s
