"""examples/gym_controller_env.py: a gymnasium env with the Controller in the loop passes
gymnasium's own ``check_env`` (the real gymnasium, as installed) and runs episodes."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

gym = pytest.importorskip("gymnasium")
pytest.importorskip("mujoco")
pytest.importorskip("groot_sdk_so101")

pytestmark = pytest.mark.timeout(300)


def _example():
    path = Path(__file__).parents[1] / "examples" / "gym_controller_env.py"
    spec = importlib.util.spec_from_file_location("gym_controller_env", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def env():
    env = _example().ControllerEnv("so101", "ik")
    yield env
    env.close()


def test_check_env_passes(env):
    """gymnasium's checker, with its warnings (bounds, dtypes, determinism) made errors."""
    import warnings

    from gymnasium.utils.env_checker import check_env

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(env, skip_render_check=True)


def test_zero_residual_episode_is_the_policy_and_succeeds(env):
    """With a zero offset the robot gets exactly the controller's setpoints; the ik policy
    reaches the target before the episode's time runs out."""
    obs, info = env.reset(seed=3)
    assert info["instruction"].startswith("reach")
    assert env.observation_space.contains(obs)
    done, steps, last = False, 0, None
    while not done:
        obs, reward, terminated, truncated, last = env.step(np.zeros(6, np.float32))
        assert env.observation_space.contains(obs)
        done = terminated or truncated
        steps += 1
    assert last["mode"] == "run" and last["success"] and reward == 1.0 and terminated
    assert steps < env.sim.max_steps


def test_residual_is_bounded_and_clamped_to_the_joint_limits(env):
    """An action past the bound is clipped to max_offset, and the written target stays inside
    the spec's limits even where setpoint + offset would leave them."""
    env.reset(seed=0)
    written = []
    write = env.robot.write
    env.robot.write = lambda target: (written.append(np.array(target)), write(target))[1]
    big = np.full(6, 10.0, np.float32)
    _, _, _, _, info = env.step(big)
    assert info["mode"] == "run" and len(written) == env.substeps
    setpoint = env._setpoint
    expected = np.clip(setpoint + env.max_offset, env.lower, env.upper)
    np.testing.assert_allclose(written[-1], expected, atol=1e-6)
    assert (written[-1] <= env.upper).all() and (written[-1] >= env.lower).all()
    # push to the top limits for a while: never outside
    for _ in range(40):
        env.step(big)
        assert (written[-1] <= env.upper + 1e-6).all()


def test_same_seed_same_episode(env):
    """Lock-step on simulated time: two episodes on one seed are identical."""
    runs = []
    for _ in range(2):
        obs, _ = env.reset(seed=5)
        trace = [obs["joints"].copy()]
        for _ in range(10):
            obs, *_ = env.step(np.full(6, 0.05, np.float32))
            trace.append(obs["joints"].copy())
        runs.append(np.stack(trace))
    np.testing.assert_array_equal(runs[0], runs[1])


def test_main_runs_an_episode(capsys):
    result = _example().main(["--random", "--seed", "1"])
    assert result["steps"] > 0 and result["mode"] in ("run", "hold")
    assert '"steps"' in capsys.readouterr().out
