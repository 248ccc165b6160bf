"""Shared pieces for the RL tests: FetchReach-v4 straight from gymnasium-robotics."""

import os

os.environ.setdefault("MUJOCO_GL", "egl")  # before anything imports mujoco (headless)

import numpy as np
import pytest

from groot_sdk.modality.layout import ModalityLayout
from groot_sdk.policy.backend import PolicyBackend


@pytest.fixture(scope="session")
def fetch_spec():
    from groot_sdk.plugins import get_registry

    return get_registry().embodiment("fetch").spec


def reach_state(obs) -> np.ndarray:
    """FetchReach's dict observation as the fetch spec's 16-D state (no object: zeros)."""
    return np.concatenate([obs["observation"], np.zeros(3), obs["desired_goal"]]).astype(np.float32)


def make_reach(dense: bool = False, **kwargs):
    gym = pytest.importorskip("gymnasium")
    robotics = pytest.importorskip("gymnasium_robotics")
    gym.register_envs(robotics)
    return gym.make("FetchReachDense-v4" if dense else "FetchReach-v4", **kwargs)


class GoalReacher(PolicyBackend):
    """Proportional reaching from the state keys (a stand-in base in unit tests)."""

    def __init__(self, spec, gain: float = 10.0, video: bool = False) -> None:
        self.spec, self.gain = spec, gain
        layout = ModalityLayout.from_spec(spec)
        self._layout = layout if video else ModalityLayout(layout.state, layout.action)
        self.seen = []

    @property
    def layout(self):
        return self._layout

    def get_action(self, observation):
        self.seen.append(observation)
        grip = observation["state.eef_position"][-1]
        goal = observation["state.goal_position"][-1]
        h = self.spec.action_horizon
        delta = np.clip(self.gain * (goal - grip), -1, 1).astype(np.float32)
        return {
            "action.eef_delta": np.repeat(delta[None], h, 0),
            "action.gripper": np.zeros((h, 1), np.float32),
        }
