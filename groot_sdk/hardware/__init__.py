"""Sensors and actuators with an explicit lifecycle (connect / enable / read-write / hold /
disable / close), so a deployer can always bring a robot to a safe state."""

from groot_sdk.hardware.actuator import Actuator
from groot_sdk.hardware.lifecycle import Component, State
from groot_sdk.hardware.mock import ConstantVector, MirrorJoints, SyntheticCamera, UprightImu
from groot_sdk.hardware.readings import Frame, ImuReading, JointCommand, JointState, VectorReading
from groot_sdk.hardware.sensor import Camera, Imu, JointEncoder, Sensor, VectorSensor

__all__ = [
    "Actuator",
    "Camera",
    "Component",
    "ConstantVector",
    "Frame",
    "Imu",
    "ImuReading",
    "JointCommand",
    "JointEncoder",
    "JointState",
    "MirrorJoints",
    "Sensor",
    "State",
    "SyntheticCamera",
    "UprightImu",
    "VectorReading",
    "VectorSensor",
]
