"""Fetch in gymnasium-robotics (FetchReach/Push/PickAndPlace-v4) as groot-sdk drivers.

One ``env.step`` per actuator write (25 Hz, the spec's low-level rate): the write *is* the
physics step, so a run is deterministic for a seed and faster than real time.

The 16-D state (``spec.state_dims``) is read from the env's observation dict:
grip position, finger positions, grip velocity and finger velocities (converted from the
env's per-step displacements to m/s), ``object_position`` = the env's ``achieved_goal``
(the object for push/pick-and-place, the gripper itself for reach) and ``goal_position``
= ``desired_goal``. The "joints" of this embodiment are the 4-D command; reading them
returns the last command sent (zeros after a reset).
"""

from __future__ import annotations

import logging
import time
import warnings
from typing import Any

import numpy as np

from groot_sdk.embodiment import Embodiment
from groot_sdk.errors import SpecError, require
from groot_sdk.hardware import (
    Actuator,
    Camera,
    Component,
    Frame,
    JointCommand,
    JointEncoder,
    JointState,
    VectorReading,
    VectorSensor,
)
from groot_sdk.sim.gl import configure_gl, import_mujoco
from groot_sdk.sim.world import Renderers
from groot_sdk.spec import EmbodimentSpec

log = logging.getLogger(__name__)

TASKS = {
    "reach": "FetchReach-v4",
    "push": "FetchPush-v4",
    "pick_and_place": "FetchPickAndPlace-v4",
}
MAX_STEPS = 50  #: gymnasium-robotics' episode length for every Fetch task
#: gymnasium-robotics' Fetch viewpoint (used when the env does not expose its own)
DEFAULT_CAMERA = {
    "distance": 2.5,
    "azimuth": 132.0,
    "elevation": -14.0,
    "lookat": [1.3, 0.75, 0.55],
}


def _gym():
    configure_gl()
    gym = require("gymnasium", "sim", "the Fetch simulator")
    with warnings.catch_warnings(), _quiet_stdout():
        warnings.simplefilter("ignore")
        robotics = require("gymnasium_robotics", "sim", "the Fetch simulator")
    gym.register_envs(robotics)
    return gym


class _quiet_stdout:
    """gymnasium-robotics prints a notice about Adroit envs on import; keep the output clean."""

    def __enter__(self):
        import contextlib
        import io

        self._stack = contextlib.ExitStack()
        self._stack.enter_context(contextlib.redirect_stdout(io.StringIO()))
        self._stack.enter_context(contextlib.redirect_stderr(io.StringIO()))
        return self

    def __exit__(self, *exc):
        return self._stack.__exit__(*exc)


class FetchWorld:
    """The gymnasium env plus the episode bookkeeping (:class:`~groot_sdk.embodiment.Episodic`)."""

    def __init__(
        self, task: str, seed: int | None, render: bool, width: int = 480, height: int = 480
    ) -> None:
        env_id = TASKS.get(task)
        if env_id is None:
            raise SpecError(f"fetch: unknown task '{task}'; tasks are {sorted(TASKS)}")
        self.task, self.env_id = task, env_id
        self.env = _gym().make(env_id)
        self.width, self.height = width, height
        self._renderers: Renderers | None = Renderers() if render else None
        self._camera: Any = None
        self.seed = seed
        self.max_steps: int | None = MAX_STEPS
        self.policy_dt = float(self.env.unwrapped.dt)
        self.steps = 0
        self.episodes = 0
        self.instruction = {
            "reach": "move the gripper to the red target",
            "push": "push the block to the red target",
            "pick_and_place": "pick up the block and place it at the red target",
        }[task]
        self._obs: dict[str, np.ndarray] | None = None
        self._success = False
        self._last_action = np.zeros(4, np.float32)

    # -- Episodic --------------------------------------------------------------------------
    def reset(self, seed: int | None = None) -> None:
        if seed is None and self.episodes == 0:
            seed = self.seed
        self._obs, _ = self.env.reset(seed=seed)
        self.steps = 0
        self.episodes += 1
        self._success = self._is_success()
        self._last_action[:] = 0

    def success(self) -> bool | None:
        return self._success

    def done(self) -> bool:
        return self.max_steps is not None and self.steps >= self.max_steps

    @property
    def time(self) -> float:
        return self.steps * self.policy_dt

    # -- physics ---------------------------------------------------------------------------
    def step(self, action: np.ndarray) -> None:
        if self._obs is None:
            self.reset()
        action = np.clip(np.asarray(action, np.float32), -1.0, 1.0)
        self._obs, _, _, _, info = self.env.step(action)
        self._success = bool(info.get("is_success", False))
        self._last_action = action
        self.steps += 1

    def _is_success(self) -> bool:
        assert self._obs is not None
        ok = self.env.unwrapped._is_success(self._obs["achieved_goal"], self._obs["desired_goal"])
        return bool(ok)

    @property
    def last_action(self) -> np.ndarray:
        return self._last_action.copy()

    def state(self) -> np.ndarray:
        """The 16 state dims in ``spec.state_dims`` order."""
        if self._obs is None:
            self.reset()
        assert self._obs is not None
        o = self._obs["observation"]
        dt = self.policy_dt
        if self.task == "reach":  # grip(3) fingers(2) grip_vel(3) finger_vel(2)
            grip, fingers, gvel, fvel = o[0:3], o[3:5], o[5:8], o[8:10]
        else:  # grip, obj, rel, fingers(9:11), rot, velp, velr, grip_vel(20:23), finger_vel
            grip, fingers, gvel, fvel = o[0:3], o[9:11], o[20:23], o[23:25]
        return np.concatenate(
            [
                grip,
                fingers,
                gvel / dt,
                fvel / dt,
                self._obs["achieved_goal"],
                self._obs["desired_goal"],
            ]
        ).astype(np.float32)

    def render(self) -> np.ndarray:
        """The env's default viewpoint, rendered by our per-thread renderers (gymnasium's own
        renderer keeps one GL context and returns garbage when read from another thread)."""
        if self._renderers is None:
            raise SpecError("fetch: the simulator was made with render=False")
        u = self.env.unwrapped
        if self._camera is None:
            mj = import_mujoco()
            cam = mj.MjvCamera()
            config = getattr(getattr(u, "mujoco_renderer", None), "default_cam_config", None)
            for key, value in (config or DEFAULT_CAMERA).items():
                if key == "lookat":
                    cam.lookat[:] = value
                else:
                    setattr(cam, key, value)
            self._camera = cam
        callback = getattr(u, "_render_callback", None)
        if callback is not None:
            callback()  # what env.render() does first: put the goal marker on the goal
        return self._renderers.render(u.model, u.data, self._camera, self.width, self.height)

    def close(self) -> None:
        if self._renderers is not None:
            self._renderers.close()
        self.env.close()


class FetchArm(JointEncoder, Actuator):
    """The 4-D Cartesian command ``[dx, dy, dz, gripper]``; each write is one ``env.step``.

    ``hold()`` steps with zero motion (the mocap stays, the fingers keep their position);
    ``disable()`` stops stepping (the arm stays where it is, the env has no torque-off).
    Reading returns the last command, as gymnasium's Fetch has no joint-space action.
    """

    def __init__(self, name: str, world: FetchWorld, joint_names) -> None:
        Component.__init__(self, name)
        self.joint_names = tuple(joint_names)
        self.world = world

    def _on_connect(self) -> None:
        if self.world.episodes == 0:
            self.world.reset()

    def _on_close(self) -> None:
        self.world.close()

    def _read(self) -> JointState:
        return JointState(self.world.last_action, np.zeros(4), stamp=time.monotonic())

    def _write(self, command: JointCommand) -> None:
        self.world.step(command.position)

    def _hold(self) -> None:
        self.world.step(np.zeros(4, np.float32))


class FetchState(VectorSensor):
    def __init__(self, name: str, world: FetchWorld, dims) -> None:
        super().__init__(name, dims)
        self.world = world

    def _read(self) -> VectorReading:
        return VectorReading(self.world.state(), stamp=time.monotonic())


class FetchCamera(Camera):
    """The env's default viewpoint (as ``env.render()``), at the spec camera's resolution."""

    def __init__(self, name: str, world: FetchWorld) -> None:
        super().__init__(name, name)
        self.world = world
        self._count = 0

    def _read(self) -> Frame:
        self._count += 1
        return Frame(self.world.render(), stamp=time.monotonic(), index=self._count)


def make_sim(
    spec: EmbodimentSpec, task: str = "", seed: int | None = None, render: bool = True, **options
) -> Embodiment:
    """A simulated Fetch. ``task``: reach (default), push or pick_and_place."""
    if options:
        raise SpecError(f"fetch sim: unknown options {sorted(options)}")
    task = (task or "reach").strip().lower().replace("-", "_").replace(" ", "_")
    cam = spec.cameras[0] if spec.cameras else None
    world = FetchWorld(
        task, seed, render, width=cam.width if cam else 480, height=cam.height if cam else 480
    )
    assert spec.state_dims is not None
    arm = FetchArm("arm", world, spec.joint_names)
    sensors: dict[str, Any] = {"arm": arm, "state": FetchState("state", world, spec.state_dims)}
    if render and cam is not None:
        sensors[cam.name] = FetchCamera(cam.name, world)
    return Embodiment(spec, sensors, {"arm": arm}, episodic=world, task=world.instruction)
