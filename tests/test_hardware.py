import numpy as np
import pytest

from groot_sdk.embodiment import Embodiment, mock_embodiment
from groot_sdk.errors import ActionError, HardwareError, LifecycleError, SpecError
from groot_sdk.hardware import JointCommand, MirrorJoints, State, SyntheticCamera


def test_lifecycle_transitions():
    dev = MirrorJoints("bus", ["a", "b"])
    with pytest.raises(LifecycleError, match="cannot write while unconfigured"):
        dev.write(JointCommand([0, 0]))
    dev.connect()
    assert dev.state is State.INACTIVE and dev.read().position.tolist() == [0, 0]
    with pytest.raises(LifecycleError, match="cannot write while inactive"):
        dev.write(JointCommand([0, 0]))
    dev.enable()
    dev.write(JointCommand([0.5, -0.5]))
    assert dev.read().position.tolist() == [0.5, -0.5] and not dev.safe
    dev.disable()
    assert dev.state is State.INACTIVE and dev.safe
    dev.close()
    dev.close()  # idempotent
    assert dev.state is State.FINALIZED


def test_write_checks_shape_and_finiteness():
    dev = MirrorJoints("bus", ["a", "b"])
    dev.connect()
    dev.enable()
    with pytest.raises(ActionError, match=r"takes 2 positions \['a', 'b'\], got shape \(3,\)"):
        dev.write(JointCommand([0, 0, 0]))
    with pytest.raises(ActionError, match=r"non-finite command for joints \['b'\]"):
        dev.write(JointCommand([0, np.nan]))


def test_fault_goes_to_error_and_close_still_disables():
    class Flaky(MirrorJoints):
        def _write(self, command):
            raise OSError("bus off")

    dev = Flaky("bus", ["a"])
    dev.connect()
    dev.enable()
    with pytest.raises(OSError):
        dev.write(JointCommand([0.1]))
    assert dev.state is State.ERROR
    dev.close()
    assert dev.safe and dev.state is State.FINALIZED


def test_embodiment_splits_commands_across_buses(so101_spec):
    arm = MirrorJoints("arm", so101_spec.joint_names[:5])
    grip = MirrorJoints("grip", so101_spec.joint_names[5:])
    robot = Embodiment(
        so101_spec,
        {"arm": arm, "grip": grip, "front": SyntheticCamera("front")},
        {"arm": arm, "grip": grip},
    )
    with robot:
        robot.enable()
        robot.write(np.arange(6, dtype=np.float32) / 10)
        assert robot.read_joints().position.tolist() == pytest.approx([0, 0.1, 0.2, 0.3, 0.4, 0.5])
        assert robot.read_cameras()["front"].image.shape == (224, 224, 3)
        assert robot.safe_stop() == []
    assert arm.safe and grip.safe


def test_embodiment_rejects_uncovered_or_doubled_joints(so101_spec):
    arm = MirrorJoints("arm", so101_spec.joint_names[:5])
    with pytest.raises(SpecError, match=r"no encoder measures joints \['gripper'\]"):
        Embodiment(so101_spec, {"arm": arm}, {"arm": arm})
    both = MirrorJoints("all", so101_spec.joint_names)
    with pytest.raises(SpecError, match="commanded by two actuators"):
        Embodiment(so101_spec, {"all": both}, {"all": both, "arm": arm})


def test_missing_reading_names_joints(so101_spec):
    robot = mock_embodiment(so101_spec)
    robot.connect()
    robot.sensors["joints"]._position[2] = np.nan
    with pytest.raises(HardwareError, match=r"no valid position for joints \['elbow_flex'\]"):
        robot.read_joints()
