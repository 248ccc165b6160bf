"""Unitree G1 (29 DOF) with two Inspire hands in MuJoCo.

The 53-D joint vector (29 body + 12 per hand) maps onto two kinds of model (``model=`` or
``GROOT_G1_MODEL``):

* **published** (default): Unitree's G1 29-DOF model and scene (unitreerobotics/unitree_mujoco,
  BSD-3-Clause, licence beside it), shipped in this package under ``assets/g1`` with the 36
  meshes it uses (18 MB): the 29 body joints are simulated; the 24 hand joints are *virtual*
  mimic state: they report the last command (mimic followers computed from their source), so
  observations keep the 53-D layout while the hands have no physics. A path to another MJCF
  file of the robot loads that instead.
* **generated** (only when asked for): a capsule model built from the joint map, in which all
  53 joints exist. Hand joints are small finger links; the underactuated followers
  (``*_intermediate_joint``, ``thumb_distal``) are driven to ``multiplier x source`` (the
  spec's ``Mimic``), like the real linkage; not the real dynamics.

The model used is logged and kept as ``episodic.model_info``.

Body joints are PD servos with Unitree's example gains (hips 60/1, knees 100/2, ankles 40/1,
arms 40/1; waist roll/pitch stiffened to 100/2: at the example's 40/1 the torso, an inverted
pendulum of about 40 Nm/rad, folds over) and the model's torque limits; each write advances one
250 Hz period (2 physics steps of 2 ms). The IMU is the pelvis ``imu`` site.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from groot_sdk.embodiment import Embodiment
from groot_sdk.errors import SpecError
from groot_sdk.sim.generated import Chain, build_kinematic_model
from groot_sdk.sim.gl import import_mujoco
from groot_sdk.sim.humanoid import CameraMount, make_humanoid_sim
from groot_sdk.sim.models import GENERATED, choose_model
from groot_sdk.spec import EmbodimentSpec

#: the task name that puts the robot on a test stand (base fixed 0.3 m up), e.g. for
#: ``groot run --sim --task gantry --policy hold``; any other task is just the instruction
GANTRY = "gantry"
PHYSICS_DT = 0.002
MODEL_ENV = "GROOT_G1_MODEL"
#: the published scene (robot + floor), package data of this plugin
PUBLISHED_MODEL = Path(__file__).parent / "assets" / "g1" / "scene_29dof.xml"
SOURCE = "unitreerobotics/unitree_mujoco, BSD-3-Clause"
FINGERS = ("index", "middle", "ring", "pinky")

#: (substring of the joint name, kp, kd, torque limit in Nm); first match wins
_GAINS = (
    ("knee", 100.0, 2.0, 139.0),
    ("hip", 60.0, 1.0, 88.0),
    ("ankle", 40.0, 1.0, 50.0),
    ("waist_yaw", 60.0, 1.0, 88.0),
    ("waist", 100.0, 2.0, 50.0),  # at 40/1 (the SDK example) the torso sags past its limit
    ("wrist_pitch", 40.0, 1.0, 5.0),
    ("wrist_yaw", 40.0, 1.0, 5.0),
    ("shoulder", 40.0, 1.0, 25.0),
    ("elbow", 40.0, 1.0, 25.0),
    ("wrist_roll", 40.0, 1.0, 25.0),
    ("", 2.0, 0.05, 2.0),  # hand joints (generated model only)
)


def gains(spec: EmbodimentSpec) -> tuple[dict[str, float], dict[str, float], dict[str, float]]:
    kp, kd, effort = {}, {}, {}
    for name in spec.joint_names:
        _, p, d, e = next(g for g in _GAINS if g[0] in name)
        kp[name], kd[name], effort[name] = p, d, e
    return kp, kd, effort


def generated_model(spec: EmbodimentSpec) -> Any:
    """A capsule G1 (legs ~0.65 m, torso, arms) with two 12-joint hands."""
    names = spec.joint_names

    def pick(prefix: str) -> tuple[str, ...]:
        return tuple(n for n in names if n.startswith(prefix))

    chains = [
        Chain(
            pick("waist_"),
            origin=(0.0, 0.0, 0.05),
            direction=(0.0, 0.0, 1.0),
            lengths=(0.02, 0.02, 0.3),
            radius=0.08,
        )
    ]
    for side, hand, y in (("left", "L", 1.0), ("right", "R", -1.0)):
        chains.insert(
            0,
            Chain(
                pick(f"{side}_")[:6],
                origin=(0.0, 0.12 * y, -0.05),
                lengths=(0.02, 0.02, 0.3, 0.3, 0.02, 0.02),
                radius=0.04,
                end="foot",
            ),
        )
        arm = tuple(n for n in pick(f"{side}_") if "leg" not in n)[6:]
        chains.append(
            Chain(
                arm,
                parent="waist_pitch_joint",
                origin=(0.0, 0.2 * y, -0.02),
                lengths=(0.02, 0.02, 0.2, 0.2, 0.02, 0.02, 0.02),
                radius=0.03,
            )
        )
        for i, finger in enumerate(FINGERS):
            chains.append(
                Chain(
                    (f"{hand}_{finger}_proximal_joint", f"{hand}_{finger}_intermediate_joint"),
                    parent=f"{side}_wrist_yaw_joint",
                    origin=(0.03 - 0.02 * i, 0.0, -0.06),
                    lengths=(0.04, 0.03),
                    radius=0.007,
                )
            )
        chains.append(
            Chain(
                tuple(
                    f"{hand}_thumb_{p}_joint"
                    for p in ("proximal_yaw", "proximal_pitch", "intermediate", "distal")
                ),
                parent=f"{side}_wrist_yaw_joint",
                origin=(0.04, 0.02 * y, -0.02),
                direction=(1.0, 0.0, -1.0),
                lengths=(0.01, 0.03, 0.025, 0.02),
                radius=0.008,
            )
        )
    return build_kinematic_model(
        spec, chains, torso=(0.08, 0.1, 0.06), base_height=1.0, timestep=PHYSICS_DT
    )


def make_sim(
    spec: EmbodimentSpec,
    task: str = "",
    seed: int | None = None,
    render: bool = True,
    model: str | os.PathLike[str] | None = None,
    fixed_base: bool = False,
    physics_dt: float = PHYSICS_DT,
    model_path: str | os.PathLike[str] | None = None,
    **options: Any,
) -> Embodiment:
    """A simulated G1 + Inspire. ``model``: ``published`` (default, the packaged robot),
    ``generated`` or an MJCF path; ``model_path`` is the older name of a path."""
    if options:
        raise SpecError(f"g1_inspire sim: unknown options {sorted(options)}")
    if model and model_path:
        raise SpecError("g1_inspire sim: give model or model_path, not both")
    if task.strip().lower() == GANTRY:
        fixed_base, task = True, ""
    choice = choose_model("g1_inspire", model or model_path, MODEL_ENV, PUBLISHED_MODEL, SOURCE)
    published = choice.kind != GENERATED
    if choice.path:
        mjspec = import_mujoco().MjSpec.from_file(choice.path)
        base, camera = "pelvis", CameraMount("cam_left_high", "torso_link", (0.08, 0.03, 0.45))
    else:
        mjspec = generated_model(spec)
        base = "base"
        camera = CameraMount("cam_left_high", "waist_pitch_joint_link", (0.1, 0.03, 0.3))
    kp, kd, effort = gains(spec)
    robot = make_humanoid_sim(
        spec,
        mjspec,
        kp=kp,
        kd=kd,
        effort=effort,
        cameras=[camera],
        task=task,
        seed=seed,
        render=render,
        base_body=base,
        fixed_base=fixed_base,
        physics_dt=physics_dt,
        place_on_floor=not published,
    )
    robot.episodic.model_info = choice.to_json()  # type: ignore[union-attr]
    return robot
