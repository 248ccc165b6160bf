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

[project.entry-points.groot_sdk]
$name = "$module.plugin"

[tool.setuptools.packages.find]
include = ["$module*"]
""",
    "README.md": """\
# groot-sdk-$dash

A groot-sdk embodiment plugin for `$name`.

    pip install -e .
    groot info $name
    pytest tests

Edit `$module/spec.py` (joints, groups, cameras, rates) and replace the mock hardware in
`$module/driver.py` with your robot's driver (subclass `groot_sdk.hardware.JointEncoder`,
`Actuator`, `Camera`).
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
"""Hardware for $name. Starts as mock hardware that mirrors commands: replace it."""

from groot_sdk.embodiment import Embodiment, mock_embodiment


def make_hardware(spec, **options) -> Embodiment:
    return mock_embodiment(spec)
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
        "core_version": __version__,
    }
    for rel, text in FILES.items():
        path = root / Template(rel).substitute(values)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(Template(text).substitute(values))
    return root
