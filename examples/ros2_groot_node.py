"""A ROS 2 node running a GR00T policy through ``groot_sdk.Controller``: subscribe to
``sensor_msgs/JointState`` and ``sensor_msgs/Image``, publish position commands from a timer.

    ros2 run <your_pkg> ros2_groot_node --ros-args -p embodiment:=so101 -p policy:=remote://gpu-box:5555 \\
        -p cameras:="['front:/camera/front/image_raw', 'wrist:/camera/wrist/image_raw']" \\
        -p output:=trajectory -p rate_hz:=100.0
    # or: python examples/ros2_groot_node.py --ros-args -p policy:=sinusoid

NOT RUN HERE: rclpy (and the message packages) do not install from PyPI on this machine, so
the node class below is written against rclpy's documented API (``Node.create_subscription``,
``create_publisher``, ``create_timer``, ``declare_parameter``, ``get_clock().now()``) and was
never started. Everything that is not ROS (a message -> arrays in the spec's joint order, an
image -> RGB, a command -> the fields of ``trajectory_msgs/JointTrajectory`` or
``std_msgs/Float64MultiArray``, and the timer's body) is in plain functions and
:class:`GrootBridge`, which tests/test_examples_ros2.py drives with the controller and
stand-in message objects that have the ROS messages' field names.

Threading: with the default single-threaded executor the callbacks and the timer share one
thread, which is what ``Controller.step`` wants (call it from one thread). ``step`` does not
wait for the policy except for the first chunk after a reset (up to ``startup_timeout``) and
in lock-step mode; inference runs in the controller's own worker thread. Safety: the
controller clamps every setpoint to the joint limits and the velocity limit and holds, then
stops, when the policy goes quiet; on ``"stop"`` this node stops publishing and says so; your
stack must then disable or damp the robot (a ros2_control controller keeps its last command),
and its own deadline (a QoS deadline, the driver's watchdog) must cover this node dying.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from groot_sdk import Command, Controller
from groot_sdk.deploy.controller import NoObservation
from groot_sdk.errors import ObservationError
from groot_sdk.hardware import JointState
from groot_sdk.spec import EmbodimentSpec

# ---- ROS-free logic (tested) -------------------------------------------------------------


class JointCache:
    """The latest position (and velocity) of every joint, from ``sensor_msgs/JointState``
    messages that may each name only some joints (several drivers publish one topic)."""

    def __init__(self, joint_names: Sequence[str]) -> None:
        self.joint_names = tuple(joint_names)
        self.position: dict[str, float] = {}
        self.velocity: dict[str, float] = {}

    def update(self, msg: Any) -> None:
        """``msg``: a ``sensor_msgs/JointState`` (``name``, ``position``, ``velocity``;
        ``velocity`` may be empty). Joints the spec does not know are ignored."""
        names, position = list(msg.name), list(msg.position)
        if len(position) != len(names):
            raise ObservationError(f"JointState: {len(names)} names but {len(position)} positions")
        velocity = list(msg.velocity)
        if velocity and len(velocity) != len(names):
            raise ObservationError(f"JointState: {len(names)} names but {len(velocity)} velocities")
        for i, name in enumerate(names):
            self.position[name] = float(position[i])
            if velocity:
                self.velocity[name] = float(velocity[i])

    @property
    def ready(self) -> bool:
        return all(n in self.position for n in self.joint_names)

    def joint_state(self) -> JointState:
        """Positions (and velocities, where every joint has one) in the spec's joint order."""
        missing = [n for n in self.joint_names if n not in self.position]
        if missing:
            raise ObservationError(f"JointState: no position yet for joints {missing}")
        position = np.array([self.position[n] for n in self.joint_names], np.float32)
        velocity = None
        if all(n in self.velocity for n in self.joint_names):
            velocity = np.array([self.velocity[n] for n in self.joint_names], np.float32)
        return JointState(position, velocity)


_CHANNELS = {"rgb8": 3, "bgr8": 3, "rgba8": 4, "bgra8": 4, "mono8": 1}


def image_to_rgb(msg: Any) -> np.ndarray:
    """A ``sensor_msgs/Image`` (``height``, ``width``, ``encoding``, ``step``, ``data``) ->
    an (H, W, 3) uint8 RGB array; rows may be padded (``step`` > width x channels)."""
    channels = _CHANNELS.get(msg.encoding)
    if channels is None:
        raise ObservationError(
            f"Image: encoding '{msg.encoding}' not handled (use one of {sorted(_CHANNELS)})"
        )
    height, width, step = int(msg.height), int(msg.width), int(msg.step)
    data = np.frombuffer(bytes(msg.data), np.uint8)
    if step < width * channels or data.size < height * step:
        raise ObservationError(
            f"Image: {data.size} bytes, step {step} do not hold {height}x{width}x{channels}"
        )
    rows = data[: height * step].reshape(height, step)[:, : width * channels]
    pixels = rows.reshape(height, width, channels)
    if msg.encoding == "mono8":
        return np.repeat(pixels, 3, axis=2)
    if msg.encoding.startswith("bgr"):
        return np.ascontiguousarray(pixels[:, :, 2::-1])
    return np.ascontiguousarray(pixels[:, :, :3])


def to_joint_trajectory(
    command: Command,
    joint_names: Sequence[str],
    time_from_start: float,
    trajectory_cls: Callable[[], Any],
    point_cls: Callable[[], Any],
    duration_cls: Callable[[], Any],
) -> Any:
    """``command`` as a one-point ``trajectory_msgs/JointTrajectory`` reaching its position
    ``time_from_start`` seconds from now (one timer period: the controller interpolates, the
    robot's trajectory controller only bridges to the next message). The header stamp is the
    publisher's to set. Message classes are passed in so this runs without ROS."""
    msg = trajectory_cls()
    msg.joint_names = list(joint_names)
    point = point_cls()
    point.positions = [float(x) for x in command.position]
    duration = duration_cls()
    duration.sec = int(time_from_start)
    duration.nanosec = round((time_from_start - int(time_from_start)) * 1e9)
    point.time_from_start = duration
    msg.points = [point]
    return msg


def to_float64_array(command: Command, array_cls: Callable[[], Any]) -> Any:
    """``command`` as a ``std_msgs/Float64MultiArray`` (what ros2_control's
    ``forward_command_controller/JointGroupPositionController`` takes), joint order."""
    msg = array_cls()
    msg.data = [float(x) for x in command.position]
    return msg


class GrootBridge:
    """The node's logic without ROS: keeps the latest joints and images, and on each timer
    tick steps the controller and says what to publish.

    ``cameras``: the spec's camera name -> nothing more than a key in ``images``; an image
    the policy needs that has not arrived yet skips that observation (``NoObservation``: the
    controller holds, then stops, if it never comes).
    """

    def __init__(self, spec: EmbodimentSpec, controller: Controller, task: str = "") -> None:
        self.spec, self.controller, self.task = spec, controller, task
        self.joints = JointCache(spec.joint_names)
        self.images: dict[str, Any] = {}  # camera -> the latest sensor_msgs/Image
        self.stopped: Command | None = None
        self._last_t: float | None = None

    def on_joint_state(self, msg: Any) -> None:
        self.joints.update(msg)

    def on_image(self, camera: str, msg: Any) -> None:
        self.images[camera] = msg

    def frames(self) -> Mapping[str, np.ndarray]:
        """Called by the controller only when it observes: converts then, not per message."""
        wanted = self.controller.wants_video
        missing = sorted(wanted - set(self.images))
        if missing:
            raise NoObservation(f"no image yet from cameras {missing}")
        return {name: image_to_rgb(self.images[name]) for name in wanted}

    def on_timer(self, t: float) -> Command | None:
        """One tick at ROS time ``t`` (seconds): the command to publish, or None (no joint
        state yet, or stopped). A clock that jumps back (a simulator restarted with
        ``use_sim_time``) starts a new episode."""
        if self.stopped is not None or not self.joints.ready:
            return None
        joints = self.joints.joint_state()
        if self._last_t is None or t < self._last_t:
            self.controller.reset(joints.position, task=self.task)
        self._last_t = t
        command = self.controller.step(joints, self.frames, t)
        if command.mode == "stop":
            self.stopped = command
            return None
        return command  # "run" and "hold" (the last setpoint) are both published


# ---- the ROS 2 node (written against rclpy's API; not run here) ---------------------------


def main(args: list[str] | None = None) -> None:  # pragma: no cover - needs rclpy
    import rclpy
    from builtin_interfaces.msg import Duration
    from rclpy.node import Node
    from sensor_msgs.msg import Image
    from sensor_msgs.msg import JointState as JointStateMsg
    from std_msgs.msg import Float64MultiArray
    from trajectory_msgs.msg import JointTrajectory, JointTrajectoryPoint

    from groot_sdk import DeployConfig
    from groot_sdk.plugins import get_registry
    from groot_sdk.policy.factory import make_backend

    class GrootNode(Node):
        def __init__(self) -> None:
            super().__init__("groot")
            embodiment = self.declare_parameter("embodiment", "so101").value
            policy = self.declare_parameter("policy", "zero").value
            self.rate_hz = float(self.declare_parameter("rate_hz", 100.0).value)
            self.output = self.declare_parameter("output", "trajectory").value
            task = self.declare_parameter("task", "").value
            cameras = self.declare_parameter("cameras", [""]).value  # "name:topic"
            self.spec = get_registry().embodiment(embodiment).spec
            self.backend = make_backend(policy, self.spec)
            self.controller = Controller(self.spec, self.backend, DeployConfig())
            self.bridge = GrootBridge(self.spec, self.controller, task)
            self.create_subscription(JointStateMsg, "joint_states", self.bridge.on_joint_state, 10)
            for item in (c for c in cameras if c):
                name, _, topic = item.partition(":")
                self.create_subscription(
                    Image, topic, lambda msg, name=name: self.bridge.on_image(name, msg), 2
                )
            if self.output == "trajectory":
                self.pub = self.create_publisher(JointTrajectory, "joint_trajectory", 10)
            else:  # a JointGroupPositionController's topic
                self.pub = self.create_publisher(Float64MultiArray, "position_commands", 10)
            self.timer = self.create_timer(1.0 / self.rate_hz, self.tick)

        def tick(self) -> None:
            now = self.get_clock().now()
            command = self.bridge.on_timer(now.nanoseconds * 1e-9)
            if command is None:
                if self.bridge.stopped is not None:
                    self.get_logger().error(
                        f"safe stop ({self.bridge.stopped.reason}): not publishing; "
                        "disable or damp the robot",
                        once=True,
                    )
                return
            if self.output == "trajectory":
                msg = to_joint_trajectory(
                    command,
                    self.spec.joint_names,
                    1.0 / self.rate_hz,
                    JointTrajectory,
                    JointTrajectoryPoint,
                    Duration,
                )
                msg.header.stamp = now.to_msg()
            else:
                msg = to_float64_array(command, Float64MultiArray)
            self.pub.publish(msg)

        def destroy_node(self) -> None:
            self.controller.close()
            self.backend.close()
            super().destroy_node()

    rclpy.init(args=args)
    node = GrootNode()
    try:
        rclpy.spin(node)
    except KeyboardInterrupt:
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()


if __name__ == "__main__":
    main()
