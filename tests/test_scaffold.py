"""A plugin made by `groot new-plugin` installs, passes the conformance kit, and its placeholder
driver never passes `groot doctor` against a robot that is not there."""

import os
import re
import subprocess
import sys

import pytest
from click.testing import CliRunner

from groot_sdk.cli.main import cli


@pytest.fixture(scope="module")
def my_arm(tmp_path_factory):
    """`groot new-plugin my_arm`, installed into a directory of its own (not the venv)."""
    tmp = tmp_path_factory.mktemp("scaffold")
    result = CliRunner().invoke(cli, ["new-plugin", "my_arm", "--dir", str(tmp)])
    assert result.exit_code == 0, result.output
    root = tmp / "groot-sdk-my-arm"
    site = tmp / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
         "--target", str(site), str(root)],
        check=True, timeout=300,
    )  # fmt: skip
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]),
    }
    return root, env


def _groot(env, *args):
    return subprocess.run(
        [sys.executable, "-m", "groot_sdk.cli.main", *args],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_new_plugin_installs_and_passes_conformance(my_arm):
    root, env = my_arm
    info = _groot(env, "info", "my_arm", "--json")
    assert info.returncode == 0, info.stderr
    assert '"joint_1"' in info.stdout
    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(root / "tests")],
        env=env, capture_output=True, text=True, cwd=root.parent, timeout=300, check=False,
    )  # fmt: skip
    assert tests.returncode == 0, tests.stdout + tests.stderr
    passed = re.search(r"(\d+) passed", tests.stdout)
    assert passed and int(passed.group(1)) >= 6, tests.stdout


def test_doctor_fails_on_a_port_that_does_not_exist(my_arm, tmp_path):
    """The scaffold's driver used to return mirror joints whatever the options, so
    `groot doctor my_arm --port /dev/<nothing>` reported every check ok."""
    _, env = my_arm
    port = str(tmp_path / "ttyNOTHERE")
    doctor = _groot(env, "doctor", "my_arm", "--port", port)
    assert doctor.returncode == 1, doctor.stdout + doctor.stderr
    assert "FAIL" in doctor.stdout and f"{port} does not exist" in doctor.stdout
    assert "0/1 checks passed" in doctor.stdout
    assert "Traceback" not in doctor.stderr


def test_doctor_fails_on_a_port_without_a_driver(my_arm):
    """A port that exists is still not a robot until the wire protocol is written."""
    _, env = my_arm
    doctor = _groot(env, "doctor", "my_arm", "--port", os.devnull)
    assert doctor.returncode == 1, doctor.stdout + doctor.stderr
    assert "no driver for the robot" in doctor.stdout
    assert "groot_sdk_my_arm/driver.py" in doctor.stdout


def test_doctor_needs_a_port_or_fake_hardware(my_arm):
    _, env = my_arm
    doctor = _groot(env, "doctor", "my_arm")
    assert doctor.returncode != 0
    assert "--port" in doctor.stderr and "--fake-hardware" in doctor.stderr
    assert "Traceback" not in doctor.stderr
    typo = _groot(env, "doctor", "my_arm", "--hw", "prot=/dev/ttyUSB0")
    assert typo.returncode != 0
    assert "unknown options ['prot']" in typo.stderr


def test_fake_hardware_reaches_make_hardware(my_arm):
    """`--fake-hardware` arrives as ``fake=True``: mirror joints and a synthetic camera."""
    _, env = my_arm
    doctor = _groot(env, "doctor", "my_arm", "--fake-hardware")
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    assert "2/2 checks passed" in doctor.stdout


def test_new_plugin_rejects_bad_name(tmp_path):
    result = CliRunner().invoke(cli, ["new-plugin", "My-Arm", "--dir", str(tmp_path)])
    assert result.exit_code != 0
    assert "must be lower case" in str(result.exception)
