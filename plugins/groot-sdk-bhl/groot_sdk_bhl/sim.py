"""Berkeley Humanoid Lite in MuJoCo.

Models (``model=`` or ``GROOT_BHL_MODEL``):

* ``published`` (default): the published robot (HybridRobotics/Berkeley-Humanoid-Lite-Assets,
  CC BY-SA 4.0, licence beside it), shipped in this package under ``assets/mjcf``: 26 visual
  meshes (42 MB; collisions are primitives and every body has its measured inertia);
* ``generated``: a capsule model generated from the joint map, only when asked for (same
  joints, limits and rough proportions, not the real dynamics);
* a path to another MJCF file of the robot (e.g. a local copy of the published scene).

The model used is logged and kept as ``episodic.model_info``.

Control is the sim2sim setup of the BHL repo: PD torque control evaluated every physics step
(dt 0.5 ms), kp 20 / kd 2 / 6 Nm on the legs and kp 10 / kd 2 / 4 Nm on the arms (the Isaac
actuator config). Each write advances one 250 Hz low-level period (8 physics steps).
The IMU is the model's ``imu`` site (``imu_quat``, ``imu_gyro``, ``imu_acc`` sensors).
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
PHYSICS_DT = 0.0005
MODEL_ENV = "GROOT_BHL_MODEL"
#: the published scene (robot + floor), package data of this plugin
PUBLISHED_MODEL = Path(__file__).parent / "assets" / "mjcf" / "bhl_scene.xml"
SOURCE = "HybridRobotics/Berkeley-Humanoid-Lite-Assets, CC BY-SA 4.0"


def gains(spec: EmbodimentSpec) -> tuple[dict[str, float], dict[str, float], dict[str, float]]:
    """kp, kd and effort limit per joint (hardware.md 1.1, Isaac actuator config)."""
    kp = {n: 20.0 if n.startswith("leg_") else 10.0 for n in spec.joint_names}
    kd = dict.fromkeys(spec.joint_names, 2.0)
    effort = {j.name: float(j.effort_limit or 4.0) for j in spec.joints}
    return kp, kd, effort


def generated_model(spec: EmbodimentSpec) -> Any:
    """A capsule BHL: legs ~0.5 m, arms at the shoulders, the IMU in the torso."""

    def names(prefix: str) -> tuple[str, ...]:
        return tuple(n for n in spec.joint_names if n.startswith(prefix))

    chains = []
    for side, y in (("left", 1.0), ("right", -1.0)):
        chains.append(
            Chain(
                names(f"leg_{side}_"),
                origin=(0.0, 0.06 * y, -0.12),
                lengths=(0.02, 0.02, 0.22, 0.22, 0.02, 0.02),
                radius=0.025,
                end="foot",
            )
        )
        chains.append(
            Chain(
                names(f"arm_{side}_"),
                origin=(0.0, 0.16 * y, 0.12),
                lengths=(0.02, 0.02, 0.14, 0.12, 0.02),
                radius=0.02,
                end="hand",
            )
        )
    return build_kinematic_model(
        spec, chains, torso=(0.06, 0.1, 0.14), base_height=0.7, timestep=PHYSICS_DT
    )


def load_model(model_path: str | os.PathLike) -> Any:
    mj = import_mujoco()
    path = os.fspath(model_path)
    if not os.path.isfile(path):
        raise SpecError(f"bhl: model file '{path}' does not exist")
    return mj.MjSpec.from_file(path)


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
    """A simulated BHL. ``model``: ``published`` (default, the packaged robot), ``generated``
    or an MJCF path; ``model_path`` is the older name of a path."""
    if options:
        raise SpecError(f"bhl sim: unknown options {sorted(options)}")
    if model and model_path:
        raise SpecError("bhl sim: give model or model_path, not both")
    if task.strip().lower() == GANTRY:
        fixed_base, task = True, ""
    choice = choose_model("bhl", model or model_path, MODEL_ENV, PUBLISHED_MODEL, SOURCE)
    published = choice.kind != GENERATED
    mjspec = load_model(choice.path) if choice.path else generated_model(spec)
    kp, kd, effort = gains(spec)
    head = CameraMount("head", "base", (0.09, 0.0, 0.8) if published else (0.07, 0.0, 0.12))
    robot = make_humanoid_sim(
        spec,
        mjspec,
        kp=kp,
        kd=kd,
        effort=effort,
        cameras=[head],
        task=task,
        seed=seed,
        render=render,
        base_body="base",
        fixed_base=fixed_base,
        physics_dt=physics_dt,
        place_on_floor=not published,
    )
    robot.episodic.model_info = choice.to_json()  # type: ignore[union-attr]
    return robot
