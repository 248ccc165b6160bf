"""Writes a new embodiment plugin package that installs and passes the conformance kit."""

from __future__ import annotations

import re
from pathlib import Path
from string import Template

from groot_sdk import __version__
from groot_sdk.errors import GrootError

FILES = {
    "pyproject.toml": """\
[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "groot-sdk-$dash"
version = "0.1.0"
description = "groot-sdk plugin for the $name robot"
readme = "README.md"
requires-python = ">=3.10"
dependencies = ["groot-sdk>=$core_version"]

[project.optional-dependencies]
sim = ["groot-sdk[sim]>=$core_version"]  # MuJoCo, for a sim.py
test = ["pytest>=8"]

[project.entry-points.groot_sdk]
$name = "$module.plugin"

[tool.setuptools.packages.find]
include = ["$module*"]
""",
    "README.md": """\
# groot-sdk-$dash

A groot-sdk embodiment plugin for `$name`.

    pip install -e '.[test]'     # groot-sdk itself first, if it is not on your index
    groot info $name
    pytest tests
    groot doctor $name --fake-hardware

Edit `$module/spec.py` (joints, groups, cameras, rates) and write your robot's wire protocol
into `${cls}Joints` in `$module/driver.py` (a `groot_sdk.hardware.JointEncoder` and
`Actuator`). Until then `groot doctor $name --port ...` fails, and `--fake-hardware` runs the
loop on joints that mirror their commands. See groot-sdk's docs/writing-a-plugin.md.
""",
    "$module/__init__.py": '"""groot-sdk plugin for the $name robot."""\n\n__version__ = "0.1.0"\n',
    "$module/spec.py": '''\
"""The $name embodiment: one source of truth for joints, groups, cameras and rates."""

from groot_sdk.spec import CameraSpec, ControlRates, EmbodimentSpec, GroupKind, Joint

SPEC = EmbodimentSpec.from_groups(
    "$name",
    {
        "arm": [
            Joint("joint_1", -3.14, 3.14, velocity_limit=3.0),
            Joint("joint_2", -1.57, 1.57, velocity_limit=3.0),
            Joint("joint_3", -1.57, 1.57, velocity_limit=3.0),
        ],
        "gripper": [Joint("gripper", 0.0, 1.0, velocity_limit=2.0)],
    },
    kinds={"gripper": GroupKind.GRIPPER},
    cameras=(CameraSpec("front", 640, 480, fps=30),),
    rates=ControlRates(policy_hz=10.0, low_level_hz=100.0),
    description="$name robot",
)
''',
    "$module/driver.py": '''\
"""Hardware for $name: write your robot's wire protocol into `${cls}Joints`.

Options (``groot run -e $name --port ...``, ``--hw KEY=VALUE``), checked by `${cls}Options`:

* ``port``: the motor bus's serial port (``--port /dev/ttyUSB0``);
* ``fake``: ``--fake-hardware``: joints that mirror their commands and synthetic cameras,
  to try the loop without the robot;
* ``camera_<name>``: an OpenCV index or path per camera (``--hw camera_front=0``).

Until the protocol is written, connecting to a real port fails with a ``HardwareError``, so
``groot doctor $name --port ...`` never reports a robot that is not there.
"""

from __future__ import annotations

import os
from typing import Any

import attrs
from groot_sdk.embodiment import Embodiment
from groot_sdk.errors import HardwareError, SpecError
from groot_sdk.hardware import (
    Actuator,
    Component,
    JointCommand,
    JointEncoder,
    JointState,
    MirrorJoints,
)
from groot_sdk.hardware import options as opt
from groot_sdk.hardware.opencv_camera import cameras_from_options


@attrs.frozen
class ${cls}Options:
    """The driver's options, each checked before a device is opened."""

    port: str | None = opt.text_field(None, optional=True)
    fake: bool = opt.bool_field(False)


class ${cls}Joints(JointEncoder, Actuator):
    """The motor bus as one encoder + actuator. Raise ``HardwareError`` (naming the motor) for
    every device fault: the deployer then stops the robot safely and the CLI prints one line."""

    def __init__(self, spec, port: str) -> None:
        Component.__init__(self, "joints")
        self.joint_names = spec.joint_names
        self.port = port

    def _on_connect(self) -> None:
        if not os.path.exists(self.port):
            raise HardwareError(
                f"$name: port {self.port} does not exist (robot unplugged? see ls /dev/tty*)"
            )
        # open self.port here and ping every motor; raise HardwareError naming a silent one
        raise HardwareError(
            f"$name: no driver for the robot on {self.port} yet: write ${cls}Joints in "
            f"$module/driver.py (or try --fake-hardware)"
        )

    def _on_enable(self) -> None:
        """Torque on, with the goal set to the measured position (so nothing jumps)."""

    def _read(self) -> JointState:
        raise HardwareError("$name: reading the joints is not written yet")

    def _write(self, command: JointCommand) -> None:
        raise HardwareError("$name: writing position targets is not written yet")

    def _hold(self) -> None:
        raise HardwareError("$name: holding is not written yet")

    def _on_disable(self) -> None:
        """Leave the robot safe: torque off or damping."""

    def _on_close(self) -> None:
        """Release the port."""


def make_hardware(spec, **options: Any) -> Embodiment:
    cameras = {f"camera_{c.name}" for c in spec.cameras}
    o = opt.parse_options(${cls}Options, options, "$name hardware", allowed=cameras.__contains__)
    joints: MirrorJoints | ${cls}Joints
    if o.fake:
        joints = MirrorJoints("joints", spec.joint_names, spec.defaults)
    elif o.port:
        joints = ${cls}Joints(spec, o.port)
    else:
        raise SpecError("$name hardware needs --port /dev/ttyUSB0 (or --fake-hardware)")
    sensors = {"joints": joints, **cameras_from_options(spec, options, fake=o.fake)}
    return Embodiment(spec, sensors, {"joints": joints})
''',
    "$module/plugin.py": '''\
"""Hook implementations: registers the '$name' embodiment."""

from groot_sdk.plugins import EmbodimentEntry, hookimpl

from $module.spec import SPEC

GROOT_PLUGIN_API = 1


@hookimpl
def groot_register_embodiments(register):
    register(EmbodimentEntry(spec=SPEC, hardware="$module.driver:make_hardware",
                             summary=SPEC.description))
''',
    "tests/test_conformance_$name.py": """\
from groot_sdk.testing import EmbodimentConformance


class TestConformance(EmbodimentConformance):
    embodiment = "$name"
""",
}


def new_plugin(name: str, directory: Path) -> Path:
    """Create ``directory/groot-sdk-<name>/`` and return its path."""
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        raise GrootError(f"plugin name '{name}' must be lower case letters, digits and '_'")
    dash = name.replace("_", "-")
    root = directory / f"groot-sdk-{dash}"
    if root.exists():
        raise GrootError(f"{root} already exists")
    values = {
        "name": name,
        "dash": dash,
        "module": f"groot_sdk_{name}",
        "cls": "".join(part.capitalize() for part in name.split("_")),
        "core_version": __version__,
    }
    for rel, text in FILES.items():
        path = root / Template(rel).substitute(values)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(Template(text).substitute(values))
    return root
