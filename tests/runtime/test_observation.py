"""Observation assembly and validation: both dialects, and errors that name the key."""

import numpy as np
import pytest

from groot_sdk.errors import ObservationError
from groot_sdk.hardware import Frame, ImuReading, JointState
from groot_sdk.modality.layout import KeyDim, ModalityLayout
from groot_sdk.policy.observation import (
    assemble_observation,
    derived_state,
    projected_gravity,
    resize_image,
    validate_observation,
)
from groot_sdk.spec import ColorOrder


@pytest.fixture
def frames():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 255, (480, 640, 3), dtype=np.uint8)
    return {"front": img, "wrist": Frame(img, color_order=ColorOrder.BGR)}


def test_n15_flat_shapes(so101_spec, frames):
    obs = assemble_observation(so101_spec, np.arange(6), frames, "pick the cube")
    assert obs["video.front"].shape == (1, 224, 224, 3) and obs["video.front"].dtype == np.uint8
    assert obs["state.single_arm"].shape == (1, 5) and obs["state.single_arm"].dtype == np.float32
    assert obs["state.gripper"].tolist() == [[5.0]]
    assert obs["annotation.human.task_description"] == ["pick the cube"]
    validate_observation(obs, so101_spec)
    batched = assemble_observation(so101_spec, np.arange(6), frames, "x", batched=True)
    assert batched["video.wrist"].shape == (1, 1, 224, 224, 3)
    assert batched["state.single_arm"].shape == (1, 1, 5)
    validate_observation(batched, so101_spec)


def test_n16_nested_is_batched(so101_spec, frames):
    obs = assemble_observation(so101_spec, np.zeros(6), frames, "pick", dialect="n1.6")
    assert set(obs) == {"video", "state", "language"}
    assert obs["video"]["front"].shape == (1, 1, 224, 224, 3)
    assert obs["state"]["single_arm"].shape == (1, 1, 5)
    assert obs["language"]["annotation.human.task_description"] == [["pick"]]
    validate_observation(obs, so101_spec, dialect="n1.6")
    obs["state"]["gripper"] = np.zeros((1, 1), np.float32)
    with pytest.raises(ObservationError, match=r"state.gripper.*\(B, T, 1\)"):
        validate_observation(obs, so101_spec, dialect="n1.6")


def test_bgr_is_converted_and_resized():
    img = np.zeros((448, 448, 3), np.uint8)
    img[..., 0] = 200  # blue in BGR
    spec_layout = ModalityLayout(state=(KeyDim("s", 1),), action=(KeyDim("a", 1),))
    layout = ModalityLayout(
        state=spec_layout.state,
        action=spec_layout.action,
        video=(__import__("groot_sdk").modality.VideoKey("cam", 224, 224),),
    )
    obs = assemble_observation(layout, [0.0], {"cam": Frame(img, color_order="bgr")}, "t")
    px = obs["video.cam"][0, 10, 10]
    assert px.tolist() == [0, 0, 200]  # now RGB: blue last


def test_resize_bilinear_and_area():
    grad = np.tile(np.arange(100, dtype=np.uint8)[None, :, None], (50, 1, 3))
    out = resize_image(grad, 25, 50)  # integer factor: box average
    assert out.shape == (25, 50, 3) and out[0, 0, 0] == 1  # mean of 0 and 1, rounded half up
    out = resize_image(grad, 30, 70)  # bilinear
    assert out.shape == (30, 70, 3)
    assert np.all(np.diff(out[0, :, 0].astype(int)) >= 0)  # monotone gradient survives


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda o: o.pop("state.gripper"), r"missing \['state.gripper'\]"),
        (lambda o: o.update({"state.base": np.zeros((1, 2), np.float32)}), "unexpected keys"),
        (
            lambda o: o.update({"state.single_arm": np.zeros((1, 5))}),
            "state.single_arm: dtype float64",
        ),
        (
            lambda o: o.update({"state.single_arm": np.zeros((1, 4), np.float32)}),
            r"state.single_arm: shape \(1, 4\)",
        ),
        (lambda o: o["state.gripper"].__setitem__((0, 0), np.nan), "state.gripper: non-finite"),
        (lambda o: o["state.gripper"].__setitem__((0, 0), np.inf), "state.gripper: non-finite"),
        (
            lambda o: o.update({"state.gripper": np.array([[None]], object)}),
            "state.gripper: object array",
        ),
        (
            lambda o: o.update({"video.front": o["video.front"].astype(np.float32)}),
            "video.front: dtype float32, expected uint8",
        ),
        (
            lambda o: o.update({"video.wrist": np.zeros((1, 100, 100, 3), np.uint8)}),
            r"video.wrist: shape \(1, 100, 100, 3\), expected uint8 \(T, 224, 224, 3\)",
        ),
        (
            lambda o: o.update({"annotation.human.task_description": "pick"}),
            "annotation.human.task_description: expected",
        ),
        (lambda o: o.update({"state.gripper": [[0.1]]}), "state.gripper: expected a numpy array"),
    ],
)
def test_validation_names_the_key(so101_spec, frames, mutate, message):
    obs = assemble_observation(so101_spec, np.zeros(6), frames, "pick")
    mutate(obs)
    with pytest.raises(ObservationError, match=message):
        validate_observation(obs, so101_spec)


def test_assembly_errors(so101_spec, frames):
    with pytest.raises(ObservationError, match="state vector has 5 values, expected 6"):
        assemble_observation(so101_spec, np.zeros(5), frames, "t")
    with pytest.raises(ObservationError, match="video.wrist: no frame"):
        assemble_observation(so101_spec, np.zeros(6), {"front": frames["front"]}, "t")
    with pytest.raises(ObservationError, match="camera 'front'"):
        assemble_observation(so101_spec, np.zeros(6), {**frames, "front": np.zeros((4, 4))}, "t")
    with pytest.raises(ObservationError, match="dialect"):
        assemble_observation(so101_spec, np.zeros(6), frames, "t", dialect="n2")


def test_projected_gravity_and_derived_keys():
    assert np.allclose(projected_gravity([1, 0, 0, 0]), [0, 0, -1])
    half = np.pi / 8  # 45 degrees of roll about x
    g = projected_gravity([np.cos(half), np.sin(half), 0, 0])
    assert np.allclose(g, [0, -np.sqrt(0.5), -np.sqrt(0.5)], atol=1e-6)
    pitch = np.pi / 4  # 90 degrees of pitch about y: gravity along +x of the body
    assert np.allclose(
        projected_gravity([np.cos(pitch), 0, np.sin(pitch), 0]), [1, 0, 0], atol=1e-6
    )
    joints = JointState([0, 1], [0.5, -0.5])
    imu = ImuReading([1, 0, 0, 0], [0.1, 0.2, 0.3])
    keys = ["joint_velocity", "base_gyro", "projected_gravity", "velocity_command"]
    out = derived_state(keys, joints, imu, (0.3, 0, 0))
    assert out["joint_velocity"].tolist() == [0.5, -0.5]
    assert np.allclose(out["base_gyro"], [0.1, 0.2, 0.3])
    assert out["velocity_command"].tolist() == pytest.approx([0.3, 0, 0])
    assert derived_state(["velocity_command"])["velocity_command"].tolist() == [0, 0, 0]
    with pytest.raises(ObservationError, match="no IMU"):
        derived_state(["base_gyro"], joints, None)


def test_extra_state_keys_from_a_backend_layout(so101_spec):
    base = ModalityLayout.from_spec(so101_spec)
    layout = ModalityLayout(
        state=(*base.state, KeyDim("joint_velocity", 6)), action=base.action, video=()
    )
    obs = assemble_observation(
        so101_spec,
        np.zeros(6),
        {},
        "t",
        layout=layout,
        extra={"joint_velocity": np.ones(6)},
    )
    assert obs["state.joint_velocity"].shape == (1, 6)
    validate_observation(obs, layout)
