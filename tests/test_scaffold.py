"""A plugin made by `groot new-plugin` installs and passes the conformance kit."""

import os
import subprocess
import sys

from click.testing import CliRunner

from groot_sdk.cli.main import cli


def test_new_plugin_installs_and_passes_conformance(tmp_path):
    result = CliRunner().invoke(cli, ["new-plugin", "my_arm", "--dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    root = tmp_path / "groot-sdk-my-arm"
    site = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(site),
            str(root),
        ],
        check=True,
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]),
    }
    info = subprocess.run(
        [sys.executable, "-m", "groot_sdk.cli.main", "info", "my_arm", "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert '"joint_1"' in info.stdout
    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(root / "tests")],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "6 passed" in tests.stdout


def test_new_plugin_rejects_bad_name(tmp_path):
    result = CliRunner().invoke(cli, ["new-plugin", "My-Arm", "--dir", str(tmp_path)])
    assert result.exit_code != 0
    assert "must be lower case" in str(result.exception)
