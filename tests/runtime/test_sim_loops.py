"""10 s of closed loop with `hold` and `sinusoid` on each simulated robot: no joint leaves
its limits. Lock-step (rate 0): 10 s of *sim* time, run as fast as the simulator goes.
Humanoids hang from a fixed base (a test stand) so that a test signal cannot tip them over.
"""

import inspect
from pathlib import Path

import attrs
import numpy as np
import pytest

from groot_sdk.deploy import DeployConfig, RealtimeDeployer
from groot_sdk.plugins import get_registry
from groot_sdk.policy.factory import make_backend

ROBOTS = ["fetch", "so101", "g1_inspire", "bhl"]
ASSETS = Path(__file__).resolve().parents[3] / "shared" / "assets"
#: humanoids whose published models ship in their plugin package (keys used; the paths are
#: where ../shared/assets keeps the same files)
PUBLISHED = {
    "bhl": ASSETS / "bhl" / "data" / "mjcf" / "bhl_scene.xml",
    "g1_inspire": ASSETS / "g1" / "unitree_robots" / "g1" / "scene_29dof.xml",
}
TOLERANCE = 0.02  # rad / m: MuJoCo enforces limits as soft constraints


class JointProbe:
    """A StepRecorder that reads the measured joints at every policy step."""

    def __init__(self, robot):
        self.robot, self.positions, self.steps = robot, [], 0

    def start_episode(self, task):
        pass

    def add_step(self, frames, state, action, timestamp):
        assert np.isfinite(state).all()
        self.positions.append(self.robot.read_joints().position.copy())
        self.steps += 1

    def end_episode(self, success=None):
        pass

    def close(self):
        pass


def make_sim(name, render, **extra):
    entry = get_registry().embodiment(name)
    try:
        factory_kwargs = {"render": render, "seed": 0, **extra}
        from groot_sdk.plugins.entries import resolve

        factory = resolve(entry.sim)
    except (ImportError, AttributeError) as exc:
        pytest.skip(f"{name}: no simulator yet ({exc})")
    if "fixed_base" in inspect.signature(factory).parameters:
        factory_kwargs["fixed_base"] = True
    return entry.spec, entry.make_sim(**factory_kwargs)


@pytest.mark.slow
@pytest.mark.parametrize("policy", ["hold", "sinusoid"])
@pytest.mark.parametrize("name", ROBOTS)
def test_ten_seconds_inside_limits(name, policy):
    # humanoids: the generated stand-in here (their packaged published models: below)
    closed_loop(name, policy, **({"model": "generated"} if name in PUBLISHED else {}))


@pytest.mark.slow
@pytest.mark.parametrize("policy", ["hold", "sinusoid"])
@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_ten_seconds_inside_limits_published_models(name, policy, request):
    if (name, policy) == ("g1_inspire", "sinusoid"):  # runs; turns red once it is fixed
        request.applymarker(
            pytest.mark.xfail(
                strict=True,
                reason="known sim issue: on the published G1 model hanging from the test "
                "stand the knees swing to -0.11 rad (limit -0.087) while their commands stay "
                "within +-0.026 rad: the leg servos do not hold them against the swinging hips",
            )
        )
    closed_loop(name, policy, model="published")  # shipped in the plugin package


def closed_loop(name, policy, **sim_options):
    spec = get_registry().embodiment(name).spec
    backend = make_backend(policy, spec)
    if policy == "hold":  # it reads only the state: skip rendering cameras it would ignore
        backend._layout = attrs.evolve(backend.layout, video=())
    spec, robot = make_sim(name, render=bool(backend.layout.video), **sim_options)
    probe = JointProbe(robot)
    config = DeployConfig(rate_hz=0, seconds=10.0)
    try:
        report = RealtimeDeployer(robot, backend, config, recorder=probe).run()
    finally:
        robot.close()
    assert report.safety_stops == 0, report.stop_reason
    assert report.stop_reason == "completed"
    assert report.steps == round(10.0 * spec.rates.low_level_hz)
    q = np.array(probe.positions)
    lower, upper = np.array(spec.lower), np.array(spec.upper)
    below = q < lower - TOLERANCE
    above = q > upper + TOLERANCE
    bad = np.flatnonzero((below | above).any(axis=0))
    assert not bad.size, [
        (spec.joint_names[i], float(q[:, i].min()), float(q[:, i].max())) for i in bad
    ]
    if policy == "sinusoid" and name != "fetch":  # it moved (Fetch's joints are commands)
        assert np.ptp(q, axis=0).max() > 0.05
