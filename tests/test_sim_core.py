"""groot_sdk.sim on a two-joint test model: GL choice, time stepping, servo drivers."""

from __future__ import annotations

import numpy as np
import pytest

from groot_sdk.sim import configure_gl
from groot_sdk.sim.gl import choose_gl_backend

configure_gl()
mujoco = pytest.importorskip("mujoco", reason="needs the sim extra (mujoco)")

from groot_sdk.errors import SpecError
from groot_sdk.hardware import JointCommand
from groot_sdk.sim import Chain, MujocoJoints, MujocoWorld, build_kinematic_model
from groot_sdk.spec import EmbodimentSpec, Joint, Mimic

ARM_XML = """
<mujoco>
  <compiler angle="radian"/>
  <option timestep="0.002"/>
  <worldbody>
    <body name="link1" pos="0 0 1">
      <joint name="a" type="hinge" axis="0 1 0" range="-1 1"/>
      <geom type="capsule" fromto="0 0 0 0.3 0 0" size="0.03"/>
      <body name="link2" pos="0.3 0 0">
        <joint name="b" type="hinge" axis="0 1 0" range="-1 1"/>
        <geom type="capsule" fromto="0 0 0 0.3 0 0" size="0.03"/>
      </body>
    </body>
  </worldbody>
  <actuator>
    <position joint="a" kp="500" kv="10"/>
    <motor joint="b"/>
  </actuator>
</mujoco>
"""

SPEC = EmbodimentSpec.from_groups(
    "two_link",
    {
        "arm": [
            Joint("a", -1, 1),
            Joint("b", -1, 1),
            Joint("c", -0.5, 0.5, mimic=Mimic("a", 0.5)),  # not in the model: virtual
        ]
    },
)


def test_gl_backend_choice(monkeypatch):
    import ctypes.util

    monkeypatch.delenv("MUJOCO_GL", raising=False)
    monkeypatch.setattr(
        ctypes.util, "find_library", lambda name: "libEGL.so.1" if name == "EGL" else None
    )
    assert choose_gl_backend() == "egl"
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: "x" if name == "OSMesa" else None)
    assert choose_gl_backend() == "osmesa"
    monkeypatch.setenv("MUJOCO_GL", "glfw")
    assert choose_gl_backend() == "glfw"


def _world(control_dt: float = 1 / 60) -> MujocoWorld:
    return MujocoWorld(mujoco.MjModel.from_xml_string(ARM_XML), control_dt=control_dt)


def test_whole_physics_steps_per_control_period():
    world = _world(1 / 60)  # 8.33 steps of 2 ms: becomes 9 steps of 1.85 ms
    assert world.substeps == 9
    assert world.model.opt.timestep * world.substeps == pytest.approx(1 / 60)
    for _ in range(60):
        world.step()
    assert world.time == pytest.approx(1.0)


def test_joints_servo_time_hold_disable_mimic_virtual():
    world = _world()
    with pytest.raises(SpecError, match="kp and kd"):
        MujocoJoints("joints", world, SPEC)  # joint b has a torque motor
    joints = MujocoJoints("joints", world, SPEC, kp={"b": 200.0}, kd={"b": 5.0}, effort=20.0)
    joints.connect()
    joints.enable()
    for _ in range(120):
        joints.write(JointCommand([0.5, -0.3, 0.4]))
    assert world.time == pytest.approx(2.0)
    state = joints.read()
    assert state.position[:2] == pytest.approx([0.5, -0.3], abs=0.05)
    assert state.position[2] == pytest.approx(0.25)  # virtual follower: 0.5 x source command
    assert np.abs(state.effort[:2]).max() > 0  # holding the links up against gravity
    joints.hold()
    held = joints._held.copy()
    for _ in range(30):
        joints.hold()
    assert np.allclose(joints._held, held)  # latched: later holds do not chase the sag
    assert world.time == pytest.approx(2.0 + 31 / 60)
    joints.disable()  # damping only: the links fall
    for _ in range(60):
        world.step()
    assert abs(joints.read().position[0] - 0.5) > 0.2


def test_generated_model_needs_every_joint_once():
    spec = EmbodimentSpec.from_groups("chain", {"arm": [Joint("j1", -1, 1), Joint("j2", -1, 1)]})
    with pytest.raises(SpecError, match="j2"):
        build_kinematic_model(spec, [Chain(("j1",))])
    model = build_kinematic_model(spec, [Chain(("j1", "j2"), lengths=(0.2, 0.2))]).compile()
    assert model.njnt == 3 and model.nu == 2  # free base + two hinges, two motors
    assert model.jnt_range[1] == pytest.approx([-1, 1])  # radians, not degrees


def test_render_from_two_threads():
    import threading

    world = MujocoWorld(
        mujoco.MjModel.from_xml_string(ARM_XML.replace("<worldbody>", CAMERA)), control_dt=0.01
    )
    main = world.render("eye", 64, 48)
    other: dict = {}
    thread = threading.Thread(target=lambda: other.setdefault("img", world.render("eye", 64, 48)))
    thread.start()
    thread.join()
    world.close()
    assert main.shape == (48, 64, 3) and main.dtype == np.uint8
    assert np.array_equal(main, other["img"])


CAMERA = '<worldbody><camera name="eye" pos="0.3 -1.5 1" xyaxes="1 0 0 0 0.5 1"/>'
