"""Sensors: joint encoders, cameras, IMUs and generic vector sensors."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence

from groot_sdk.hardware.lifecycle import Component, State
from groot_sdk.hardware.readings import Frame, ImuReading, JointState, VectorReading


class Sensor(Component):
    """A component that can be read while INACTIVE or ACTIVE."""

    def read(self):
        self._require("read", State.INACTIVE, State.ACTIVE)
        try:
            return self._read()
        except Exception as exc:
            self.mark_fault(exc)
            raise

    @abstractmethod
    def _read(self): ...


class JointEncoder(Sensor):
    """Reads positions (and velocities) of ``joint_names``, a subset of the spec's joints."""

    def __init__(self, name: str, joint_names: Sequence[str]) -> None:
        Component.__init__(self, name)  # not super(): drivers may also be Actuators
        self.joint_names = tuple(joint_names)

    def read(self) -> JointState:
        return super().read()

    @abstractmethod
    def _read(self) -> JointState: ...


class Camera(Sensor):
    """Returns the latest frame of camera ``camera`` (a :class:`CameraSpec` name)."""

    def __init__(self, name: str, camera: str | None = None) -> None:
        super().__init__(name)
        self.camera = camera or name

    def read(self) -> Frame:
        return super().read()

    @abstractmethod
    def _read(self) -> Frame: ...


class Imu(Sensor):
    def read(self) -> ImuReading:
        return super().read()

    @abstractmethod
    def _read(self) -> ImuReading: ...


class VectorSensor(Sensor):
    """Reads the state dimensions ``dims`` (names from ``EmbodimentSpec.state_dims``)."""

    def __init__(self, name: str, dims: Sequence[str]) -> None:
        super().__init__(name)
        self.dims = tuple(dims)

    def read(self) -> VectorReading:
        return super().read()

    @abstractmethod
    def _read(self) -> VectorReading: ...
