"""groot-sdk: run NVIDIA GR00T vision-language-action policies on real and simulated robots.

The core is light (numpy, attrs, pluggy, click, msgpack, pyzmq): heavy pieces (torch,
onnxruntime, TensorRT, MuJoCo, python-can, pyserial) load lazily behind extras.
"""

from groot_sdk._version import PLUGIN_API_VERSION, __version__
from groot_sdk.deploy import Command, Controller, DeployConfig, Deployer, RunReport
from groot_sdk.embodiment import Embodiment, Episodic
from groot_sdk.errors import GrootError, SpecError
from groot_sdk.hardware import Actuator, Camera, Imu, JointEncoder, Sensor
from groot_sdk.modality import ModalityLayout
from groot_sdk.plugins import BackendEntry, EmbodimentEntry, get_registry, hookimpl
from groot_sdk.policy import PolicyBackend
from groot_sdk.spec import (
    CameraSpec,
    ControlRates,
    EmbodimentSpec,
    GripperSpec,
    Group,
    GroupKind,
    Joint,
    Mimic,
    Representation,
    Unit,
)

__all__ = [
    "PLUGIN_API_VERSION",
    "Actuator",
    "BackendEntry",
    "Camera",
    "CameraSpec",
    "Command",
    "ControlRates",
    "Controller",
    "DeployConfig",
    "Deployer",
    "Embodiment",
    "EmbodimentEntry",
    "EmbodimentSpec",
    "Episodic",
    "GripperSpec",
    "GrootError",
    "Group",
    "GroupKind",
    "Imu",
    "Joint",
    "JointEncoder",
    "Mimic",
    "ModalityLayout",
    "PolicyBackend",
    "Representation",
    "RunReport",
    "Sensor",
    "SpecError",
    "Unit",
    "__version__",
    "get_registry",
    "hookimpl",
]
