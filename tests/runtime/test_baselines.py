"""The generic baselines: sinusoid stays in limits, replay plays a file back (never pickle)."""

import io
import json

import numpy as np
import pytest

from groot_sdk.deploy import run_policy
from groot_sdk.embodiment import mock_embodiment
from groot_sdk.errors import BackendError
from groot_sdk.plugins import get_registry
from groot_sdk.policy.baselines import SinusoidPolicy
from groot_sdk.policy.factory import make_backend


def test_sinusoid_targets_inside_limits_for_every_robot():
    for name in get_registry().embodiments():
        spec = get_registry().embodiment(name).spec
        policy = make_backend("sinusoid", spec, {"amplitude": 1.0})
        for t in np.linspace(0, 5, 23):
            policy.clock = lambda t=t: t
            chunk = policy.get_action({})
            target = np.concatenate([chunk[f"action.{g.key}"] for g in spec.action_groups], 1)
            assert (target >= np.array(spec.lower) - 1e-6).all(), name
            assert (target <= np.array(spec.upper) + 1e-6).all(), name
    with pytest.raises(BackendError, match="amplitude"):
        SinusoidPolicy(spec, amplitude=2.0)


def trajectory(spec, n=30):
    t = np.linspace(0, 1, n)[:, None]
    return (np.array(spec.defaults) + 0.15 * np.sin(2 * np.pi * t) * np.ones(spec.dof)).astype(
        np.float32
    )


@pytest.mark.parametrize("fmt", ["npz", "json"])
def test_replay_follows_the_recorded_trajectory(tmp_path, so101_spec, fmt):
    actions = trajectory(so101_spec)
    path = tmp_path / f"traj.{fmt}"
    if fmt == "npz":
        np.savez(path, action=actions, fps=np.float64(30.0))
    else:
        path.write_text(json.dumps({"action": actions.tolist(), "fps": 30}))
    policy = make_backend(f"replay://{path}", so101_spec)
    robot = mock_embodiment(so101_spec)
    report = run_policy(robot, policy, seconds=1.0, rate_hz=0)
    sent = np.array(robot.actuators["joints"].commands)
    assert report.holds == 0 and report.steps == 60
    # at 60 Hz the 30 fps rows are reached every other tick (linear in between)
    assert np.allclose(sent[2::2][:28], actions[1:29], atol=1e-5)


def test_replay_rejects_bad_files(tmp_path, so101_spec):
    bad = tmp_path / "bad.npz"
    np.savez(bad, action=np.zeros((5, 4)))
    with pytest.raises(BackendError, match=r"\(N, 6\) for 'so101'"):
        make_backend("replay", so101_spec, {"path": str(bad)})
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, action=np.array([{"evil": 1}], dtype=object))
    with pytest.raises(BackendError, match="object arrays"):
        make_backend("replay", so101_spec, {"path": str(pickled)})
    with pytest.raises(BackendError, match=r"\.npz or \.json"):
        (tmp_path / "t.pkl").write_bytes(b"x")
        make_backend("replay", so101_spec, {"path": str(tmp_path / "t.pkl")})
    with pytest.raises(BackendError, match="path=FILE"):
        make_backend("replay", so101_spec)


def _npz_with_header(path, shape, payload: bytes = b"") -> None:
    """Write an ``.npz`` whose ``action`` header claims ``shape`` but holds ``payload``."""
    import zipfile

    header = {"descr": "<f4", "fortran_order": False, "shape": shape}
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, header)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("action.npy", buf.getvalue() + payload)


def test_replay_refuses_a_header_claiming_more_than_the_file_holds(tmp_path, so101_spec):
    """Issue 12 #10: a header claiming a 3.55 PiB array was trusted by ``np.load``."""
    path = tmp_path / "huge.npz"
    _npz_with_header(path, (2**46, 6), b"\0" * 24)
    with pytest.raises(BackendError, match=r"header says shape .* but the file holds 24 bytes"):
        make_backend("replay", so101_spec, {"path": str(path)})


@pytest.mark.parametrize(
    "content", [b"\x93NUMPY\x02\x00\x01", b"\x93NUMPY\x02\x00\x01\x00\x00", b"junk"]
)
def test_replay_refuses_truncated_npy_headers(tmp_path, so101_spec, content):
    """Issue 12 #13's short v2 header, here in a replay file: one clear error, no struct.error."""
    import zipfile

    path = tmp_path / "short.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("action.npy", content)
    with pytest.raises(BackendError, match="replay: "):
        make_backend("replay", so101_spec, {"path": str(path)})


@pytest.mark.parametrize("fps", [0, -30, float("nan"), float("inf"), "30"])
def test_replay_refuses_bad_fps(tmp_path, so101_spec, fps):
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"action": [[0.0] * so101_spec.dof], "fps": fps}))
    with pytest.raises(BackendError, match="fps"):
        make_backend("replay", so101_spec, {"path": str(path)})
