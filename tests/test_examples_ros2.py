"""examples/ros2_groot_node.py: the node's ROS-free logic, driven with the real Controller.

rclpy does not install here, so the messages are stand-ins: classes with exactly the fields
of the ROS 2 message definitions (common_interfaces, rolling: sensor_msgs/msg/JointState.msg,
sensor_msgs/msg/Image.msg, trajectory_msgs/msg/JointTrajectory.msg and JointTrajectoryPoint.msg,
std_msgs/msg/Float64MultiArray.msg; rcl_interfaces: builtin_interfaces/msg/Duration.msg) and
``__slots__``, so that setting a field the real message lacks fails here as it would there.
The GrootNode class itself (rclpy subscriptions, publisher, timer) is not run.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from groot_sdk import Controller, DeployConfig
from groot_sdk.errors import ObservationError
from groot_sdk.plugins import get_registry
from groot_sdk.policy.factory import make_backend

pytestmark = pytest.mark.timeout(120)


def _example():
    path = Path(__file__).parents[1] / "examples" / "ros2_groot_node.py"
    spec = importlib.util.spec_from_file_location("ros2_groot_node", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ros = _example()


class Msg:
    __slots__: tuple[str, ...] = ()

    def __init__(self, **fields) -> None:
        for name in self.__slots__:
            setattr(self, name, None)
        for name, value in fields.items():
            setattr(self, name, value)


class JointStateMsg(Msg):
    __slots__ = ("effort", "header", "name", "position", "velocity")


class ImageMsg(Msg):
    __slots__ = ("data", "encoding", "header", "height", "is_bigendian", "step", "width")


class JointTrajectory(Msg):
    __slots__ = ("header", "joint_names", "points")


class JointTrajectoryPoint(Msg):
    __slots__ = ("accelerations", "effort", "positions", "time_from_start", "velocities")


class Duration(Msg):
    __slots__ = ("nanosec", "sec")


class Float64MultiArray(Msg):
    __slots__ = ("data", "layout")


SPEC = get_registry().embodiment("so101").spec
NAMES = list(SPEC.joint_names)


def joint_msg(position, names=NAMES, velocity=()):
    return JointStateMsg(name=list(names), position=list(position), velocity=list(velocity))


def image_msg(rgb: np.ndarray, encoding: str, pad: int = 0) -> ImageMsg:
    h, w, _ = rgb.shape
    pixels = {
        "rgb8": rgb,
        "bgr8": rgb[:, :, ::-1],
        "rgba8": np.concatenate([rgb, np.full((h, w, 1), 255, np.uint8)], axis=2),
        "bgra8": np.concatenate([rgb[:, :, ::-1], np.full((h, w, 1), 7, np.uint8)], axis=2),
        "mono8": rgb[:, :, :1],
    }[encoding]
    rows = pixels.reshape(h, -1)
    rows = np.concatenate([rows, np.full((h, pad), 99, np.uint8)], axis=1)
    return ImageMsg(
        height=h, width=w, encoding=encoding, is_bigendian=0, step=rows.shape[1],
        data=rows.tobytes(),
    )  # fmt: skip


# ---- messages -> arrays ------------------------------------------------------------------


def test_joint_states_arrive_in_the_specs_order_from_partial_messages():
    cache = ros.JointCache(NAMES)
    order = [5, 2, 0]
    cache.update(joint_msg([0.5, 0.2, 0.0], [NAMES[i] for i in order], velocity=[5, 2, 0]))
    assert not cache.ready
    with pytest.raises(ObservationError, match="shoulder_lift"):
        cache.joint_state()
    cache.update(joint_msg([0.1, 0.3, 0.4, 9.0], [NAMES[1], NAMES[3], NAMES[4], "extra_joint"]))
    state = cache.joint_state()
    np.testing.assert_allclose(state.position, [0.0, 0.1, 0.2, 0.3, 0.4, 0.5])
    assert state.velocity is None  # only some joints had one
    cache.update(joint_msg(np.arange(6) / 10, NAMES, velocity=np.arange(6)))
    np.testing.assert_allclose(cache.joint_state().velocity, np.arange(6))


def test_joint_state_with_mismatched_lengths_is_refused():
    cache = ros.JointCache(NAMES)
    with pytest.raises(ObservationError, match="6 names but 5 positions"):
        cache.update(joint_msg([0.0] * 5, NAMES))
    with pytest.raises(ObservationError, match="6 names but 2 velocities"):
        cache.update(joint_msg([0.0] * 6, NAMES, velocity=[1, 2]))


@pytest.mark.parametrize("encoding", ["rgb8", "bgr8", "rgba8", "bgra8"])
@pytest.mark.parametrize("pad", [0, 4])
def test_images_become_rgb(encoding, pad):
    rgb = np.random.default_rng(0).integers(0, 255, (5, 7, 3), dtype=np.uint8)
    out = ros.image_to_rgb(image_msg(rgb, encoding, pad))
    assert out.dtype == np.uint8 and out.shape == (5, 7, 3)
    np.testing.assert_array_equal(out, rgb)


def test_mono_images_are_grey_rgb_and_other_encodings_are_named():
    grey = np.arange(12, dtype=np.uint8).reshape(3, 4, 1).repeat(3, axis=2)
    np.testing.assert_array_equal(ros.image_to_rgb(image_msg(grey, "mono8", pad=2)), grey)
    bad = image_msg(grey, "rgb8")
    bad.encoding = "16UC1"
    with pytest.raises(ObservationError, match="16UC1"):
        ros.image_to_rgb(bad)
    short = image_msg(grey, "rgb8")
    short.data = short.data[:-1]
    with pytest.raises(ObservationError, match="3x4x3"):
        ros.image_to_rgb(short)


# ---- commands -> messages ----------------------------------------------------------------


def test_command_becomes_a_one_point_joint_trajectory_and_a_position_array():
    command = ros.Command(np.array([0.1, -0.2, 0.3, 0, 0.5, 1], np.float32), "run", 2.0)
    msg = ros.to_joint_trajectory(
        command, NAMES, 1.25, JointTrajectory, JointTrajectoryPoint, Duration
    )
    assert msg.joint_names == NAMES and len(msg.points) == 1
    point = msg.points[0]
    np.testing.assert_allclose(point.positions, command.position)
    assert all(type(x) is float for x in point.positions)
    assert (point.time_from_start.sec, point.time_from_start.nanosec) == (1, 250_000_000)
    short = ros.to_joint_trajectory(
        command, NAMES, 0.01, JointTrajectory, JointTrajectoryPoint, Duration
    )
    assert (short.points[0].time_from_start.sec, short.points[0].time_from_start.nanosec) == (
        0,
        10_000_000,
    )
    array = ros.to_float64_array(command, Float64MultiArray)
    np.testing.assert_allclose(array.data, command.position)


# ---- the timer body with the controller ----------------------------------------------------


def test_bridge_sends_the_controllers_setpoints_whatever_the_message_order():
    """A 100 Hz timer over a 30 Hz policy, joint states arriving in another order: the bridge
    gives exactly what a plain controller loop gives on the same (ordered) inputs (lock-step,
    so both runs are deterministic)."""
    shuffled = NAMES[::-1]
    config = DeployConfig(rate_hz=0)
    pose = np.array([0.1, -0.2, 0.3, 0.0, 0.5, 0.2], np.float32)
    with (
        make_backend("sinusoid", SPEC) as backend,
        Controller(SPEC, backend, config, hardware=False) as controller,
    ):
        bridge = ros.GrootBridge(SPEC, controller, task="wave")
        assert bridge.on_timer(0.0) is None  # no joint state yet: nothing to publish
        bridge.on_joint_state(joint_msg(pose[::-1], shuffled))
        got = []
        for k in range(100):
            command = bridge.on_timer(10.0 + k / 100)
            assert command is not None and command.mode == "run"
            got.append(command.position)
            pose = command.position  # a perfect position-controlled robot
            bridge.on_joint_state(joint_msg(pose[::-1], shuffled))
    pose = np.array([0.1, -0.2, 0.3, 0.0, 0.5, 0.2], np.float32)
    with (
        make_backend("sinusoid", SPEC) as backend,
        Controller(SPEC, backend, config, hardware=False) as controller,
    ):
        controller.reset(pose, task="wave")
        want = []
        for k in range(100):
            pose = controller.step(pose, None, 10.0 + k / 100).position
            want.append(pose)
    np.testing.assert_array_equal(np.stack(got), np.stack(want))
    assert np.ptp(np.stack(got), axis=0).max() > 0.01  # the policy did move the arm
    assert (np.stack(got) >= np.float32(SPEC.lower)).all()
    assert (np.stack(got) <= np.float32(SPEC.upper)).all()


def test_bridge_without_camera_images_holds_then_stops_and_publishes_nothing():
    """A policy that needs cameras, no image ever arrives: no request is made (NoObservation),
    the watchdog holds (published: the last setpoint), then stops; after the stop nothing is
    published."""
    config = DeployConfig(rate_hz=0, timeout=0.2)
    with (
        make_backend("zero", SPEC, {"video": True}) as backend,
        Controller(SPEC, backend, config, hardware=False) as controller,
    ):
        bridge = ros.GrootBridge(SPEC, controller)
        bridge.on_joint_state(joint_msg(np.zeros(6)))
        modes = []
        for k in range(100):
            command = bridge.on_timer(k / 100)
            modes.append(None if command is None else command.mode)
        assert controller.camera_faults > 0
        assert "hold" in modes and modes[-1] is None
        assert bridge.stopped is not None and bridge.stopped.safety
        assert "watchdog" in bridge.stopped.reason


def test_bridge_with_camera_images_runs_and_a_clock_jump_back_resets():
    """Images (bgr8, camera resolution, padded rows) reach the policy, which answers; a clock
    that jumps back (a restarted simulator) starts a new episode instead of failing."""
    config = DeployConfig(rate_hz=0, timeout=0.2)
    frame = np.zeros((48, 64, 3), np.uint8)
    with (
        make_backend("zero", SPEC, {"video": True}) as backend,
        Controller(SPEC, backend, config, hardware=False) as controller,
    ):
        bridge = ros.GrootBridge(SPEC, controller)
        bridge.on_joint_state(joint_msg(np.zeros(6)))
        for camera in ("front", "wrist"):
            bridge.on_image(camera, image_msg(frame, "bgr8", pad=8))
        for k in range(50):
            command = bridge.on_timer(100 + k / 100)
            assert command is not None and command.mode == "run"
        assert controller.camera_faults == 0 and controller.latencies
        command = bridge.on_timer(3.0)  # back in time
        assert command is not None and command.mode == "run"
