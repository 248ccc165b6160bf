"""The residual wrapper on gymnasium-robotics' FetchReach-v4 (a real MuJoCo simulation)."""

import numpy as np
import pytest

from groot_sdk.errors import ActionError, ObservationError
from groot_sdk.policy.simple import ZeroPolicy

from .conftest import GoalReacher, make_reach, reach_state

gym = pytest.importorskip("gymnasium")
from groot_sdk.rl.offset import OffsetBackend
from groot_sdk.rl.residual import ResidualWrapper


def wrap(spec, base=None, **kw):
    return ResidualWrapper(make_reach(), base or GoalReacher(spec), spec, observe=reach_state, **kw)


def test_spaces_and_info(fetch_spec):
    env = wrap(fetch_spec, alpha=0.3)
    obs, info = env.reset(seed=0)
    assert env.action_space.shape == (4,)
    assert obs.shape == env.observation_space.shape == (16 + 4,)
    assert np.allclose(obs[16:], info["base_action"])
    _, reward, _, _, info = env.step(np.ones(4, np.float32))
    assert set(info) >= {"base_action", "residual_action", "action", "distance", "is_success"}
    assert np.allclose(info["residual_action"], 0.3)  # alpha * half range (1) * residual
    expected = np.clip(info["base_action"] + 0.3, -1, 1)
    assert np.allclose(info["action"], expected)
    assert np.isfinite(reward)
    env.close()


def test_zero_residual_reproduces_base(fetch_spec):
    """alpha = anything, residual 0 -> the env gets exactly the base policy's command."""
    env = wrap(fetch_spec, alpha=0.5)
    env.reset(seed=3)
    for _ in range(50):
        _, _, term, trunc, info = env.step(np.zeros(4))
        assert np.array_equal(info["action"], info["base_action"])
        if term or trunc:
            break
    assert info["is_success"] == 1.0  # the unbiased proportional base reaches the goal


def test_action_limits_hold(fetch_spec):
    env = wrap(fetch_spec, base=OffsetBackend(GoalReacher(fetch_spec), [0.9, 0.9, 0.9, 0]), alpha=1)
    env.reset(seed=1)
    for _ in range(10):
        _, _, _, _, info = env.step(np.ones(4))
        assert (np.abs(info["action"]) <= 1.0).all()
        assert (np.abs(info["base_action"]) <= 1.0).all()


def test_bad_residual_and_env_rejected(fetch_spec):
    env = wrap(fetch_spec)
    env.reset(seed=0)
    with pytest.raises(ActionError, match="expected 4"):
        env.step(np.zeros(3))
    with pytest.raises(ActionError, match="not finite"):
        env.step(np.array([np.nan, 0, 0, 0]))
    with pytest.raises(ObservationError, match="expected 16"):
        ResidualWrapper(
            make_reach(), GoalReacher(fetch_spec), fetch_spec, observe=lambda o: o["observation"]
        ).reset(seed=0)
    with pytest.raises(ObservationError, match="video.front"):
        ResidualWrapper(
            make_reach(), GoalReacher(fetch_spec, video=True), fetch_spec, observe=reach_state
        )


def test_replan_every_walks_the_chunk(fetch_spec):
    class Counting(GoalReacher):
        def get_action(self, observation):
            chunk = super().get_action(observation)
            chunk["action.gripper"][:, 0] = np.arange(self.spec.action_horizon) / 100.0
            return chunk

    base = Counting(fetch_spec)
    env = wrap(fetch_spec, base=base, replan_every=4)
    env.reset(seed=0)
    grips = [env.step(np.zeros(4))[4]["base_action"][3] for _ in range(8)]
    assert np.allclose(grips, [0, 0.01, 0.02, 0.03, 0, 0.01, 0.02, 0.03])
    assert len(base.seen) == 1 + 8 // 4  # reset + one query per 4 steps


def test_video_base_gets_frames(fetch_spec):
    raw = make_reach(render_mode="rgb_array", width=96, height=96)
    base = GoalReacher(fetch_spec, video=True)
    env = ResidualWrapper(
        raw,
        base,
        fetch_spec,
        observe=reach_state,
        frames=lambda: {"front": raw.render()},
        task="reach the red dot",
    )
    env.reset(seed=0)
    env.step(np.zeros(4))
    obs = base.seen[-1]
    cam = base.layout.video[0]
    assert obs["video.front"].shape == (1, cam.height, cam.width, 3)
    assert obs["video.front"].dtype == np.uint8 and obs["video.front"].std() > 0
    assert obs[fetch_spec.language_key] == ["reach the red dot"]
    env.close()


def test_vector_env(fetch_spec):
    n = 2
    venv = gym.vector.SyncVectorEnv([lambda: wrap(fetch_spec, alpha=0.2) for _ in range(n)])
    obs, info = venv.reset(seed=[0, 1])
    assert obs.shape == (n, 20)
    assert info["base_action"].shape == (n, 4)
    obs, rew, _, _, info = venv.step(np.zeros((n, 4), np.float32))
    assert rew.shape == (n,) and info["action"].shape == (n, 4)
    assert np.allclose(info["action"], info["base_action"])
    venv.close()


def test_offset_backend(fetch_spec):
    base = OffsetBackend(ZeroPolicy(fetch_spec), {"eef_delta": [0.1, -0.2, 0.3]})
    chunk = base.get_action({})
    assert np.allclose(chunk["action.eef_delta"], [[0.1, -0.2, 0.3]] * fetch_spec.action_horizon)
    assert np.allclose(chunk["action.gripper"], 0)
    with pytest.raises(ActionError, match="unknown action keys"):
        OffsetBackend(ZeroPolicy(fetch_spec), {"arm": [0.0]})
    with pytest.raises(ActionError, match="eef_delta 3"):
        OffsetBackend(ZeroPolicy(fetch_spec), [0.0, 0.0])
