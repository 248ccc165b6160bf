import numpy as np
import pytest

from groot_sdk.plugins import UnknownNameError
from groot_sdk.policy.factory import make_backend, parse_options, parse_policy


def test_parse_policy():
    assert parse_policy("remote://127.0.0.1:5555") == ("remote", {"target": "127.0.0.1:5555"})
    assert parse_policy("walk.onnx") == ("onnx-rl", {"path": "walk.onnx"})
    assert parse_policy("zero") == ("zero", {})


def test_parse_options():
    assert parse_options(["seed=3", "alpha=0.5", "compile=true", "device=cpu"]) == {
        "seed": 3,
        "alpha": 0.5,
        "compile": True,
        "device": "cpu",
    }
    with pytest.raises(ValueError, match="key=value"):
        parse_options(["seed"])


def test_make_backend(so101_spec):
    hold = make_backend("hold", so101_spec)
    chunk = hold.get_action(
        {
            "state.single_arm": np.ones((1, 5), np.float32),
            "state.gripper": np.zeros((1, 1), np.float32),
        }
    )
    assert chunk["action.single_arm"].shape == (16, 5) and np.all(chunk["action.single_arm"] == 1)
    with pytest.raises(UnknownNameError, match="unknown policy backend 'nope'"):
        make_backend("nope", so101_spec)
