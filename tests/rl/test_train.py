"""Done-means: a biased base on FetchReach scores low alone; a short PPO residual fixes it."""

import pytest

pytest.importorskip("stable_baselines3")
pytest.importorskip("gymnasium_robotics")

from groot_sdk.policy.factory import make_backend
from groot_sdk.rl.env import make_env
from groot_sdk.rl.offset import OffsetBackend
from groot_sdk.rl.train import TrainConfig, evaluate_residual, load_policy, train_residual

#: scripted reach + this bias settles ~7 cm from the goal (success needs < 5 cm)
OFFSET = [0.8, -0.8, 0.8, 0.0]


@pytest.mark.slow
def test_residual_ppo_improves_biased_base(tmp_path, fetch_spec):
    config = TrainConfig(
        alpha=1.0, steps=8192, seed=0, eval_episodes=50, checkpoint_every=4096, curve_every=4096
    )
    result = train_residual(
        lambda: make_env("fetch", task="reach", render=False),
        lambda: OffsetBackend(make_backend("scripted", fetch_spec), OFFSET),
        fetch_spec,
        config,
        tmp_path,
        extra_meta={"base": "scripted", "offset": OFFSET},
    )
    assert result.base.success_rate <= 0.1
    assert result.final.success_rate >= result.base.success_rate + 0.5
    assert result.final.ci_low > result.base.ci_high  # the improvement is significant
    assert result.final.mean_distance < result.base.mean_distance
    assert [c[0] for c in result.curve] == [0, 4096, 8192]
    assert result.curve[-1][2] < result.curve[0][2]  # closer to the goal than at the start
    assert (tmp_path / "checkpoints" / "residual_4096.safetensors").exists()
    assert (tmp_path / "curve.csv").read_text().startswith("steps,success_rate")

    # the saved weights (safetensors, no pickle) reproduce the trained residual ...
    from groot_sdk.rl.residual import ResidualWrapper

    env = ResidualWrapper(
        make_env("fetch", task="reach", render=False),
        OffsetBackend(make_backend("scripted", fetch_spec), OFFSET),
        fetch_spec,
        alpha=1.0,
    )
    predict, meta = load_policy(result.weights)
    assert meta["alpha"] == 1.0 and meta["obs_dim"] == 20
    reloaded = evaluate_residual(env, predict, 20, seed=10_000)
    assert reloaded.success_rate >= result.final.success_rate - 0.1
    env.close()

    # ... and deploy as the `residual` backend (base + offset recorded in the JSON)
    from groot_sdk.rl.env import evaluate_policy

    backend = make_backend("residual", fetch_spec, {"path": str(tmp_path)})
    deployed = evaluate_policy(make_env("fetch", task="reach", render=False), backend, 20)
    assert deployed.success_rate >= result.final.success_rate - 0.1


def test_train_with_vectorised_envs(tmp_path, fetch_spec):
    """Two envs in stable-baselines3's DummyVecEnv, each with its own base; a tiny run."""
    config = TrainConfig(
        alpha=0.5, steps=256, n_envs=2, n_steps=64, batch_size=64, n_epochs=1,
        eval_episodes=2, checkpoint_every=128,
    )  # fmt: skip
    result = train_residual(
        lambda: make_env("fetch", task="reach", render=False),
        lambda: OffsetBackend(make_backend("scripted", fetch_spec), OFFSET),
        fetch_spec,
        config,
        tmp_path,
    )
    assert result.final.episodes == 2
    assert sorted(p.name for p in (tmp_path / "checkpoints").glob("*.safetensors"))
    with pytest.raises(ValueError, match="log_format"):
        train_residual(
            lambda: None, lambda: None, fetch_spec, TrainConfig(log_format="wandb"), tmp_path
        )
