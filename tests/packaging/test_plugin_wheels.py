"""The humanoid plugins' wheels carry their robots: the published models (every mesh their
XML names), BHL's walking policies, each licence beside its files and the README, and a wheel
unpacked away from the source tree (and from ../shared) simulates the published robot and
walks it with the packaged policy by name. Builds one wheel per plugin with the venv's
setuptools (no network); `nox -s wheels` installs all wheels into a clean venv instead."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent

#: plugin -> (package, model XMLs, licence files, other files that must ship)
PLUGINS = {
    "groot-sdk-bhl": (
        "groot_sdk_bhl",
        ["assets/mjcf/bhl_scene.xml", "assets/mjcf/berkeley_humanoid_lite.xml"],
        ["assets/mjcf/LICENCE", "assets/policies/LICENCE"],
        [
            "assets/policies/policy_humanoid.onnx",
            "assets/policies/policy_humanoid_legs.onnx",
            "assets/policies/policy_biped_25hz_a.onnx",
        ],
    ),
    "groot-sdk-g1-inspire": (
        "groot_sdk_g1_inspire",
        ["assets/g1/scene_29dof.xml", "assets/g1/g1_29dof.xml"],
        ["assets/g1/LICENSE"],
        [],
    ),
}


def build_wheel(plugin: str, out: Path) -> Path:
    pytest.importorskip("setuptools", reason="builds the wheel with the venv's setuptools")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
         "-w", str(out), str(ROOT / "plugins" / plugin)],
        check=True, timeout=600, cwd=out,
    )  # fmt: skip
    (wheel,) = out.glob(f"{plugin.replace('-', '_')}-*.whl")
    return wheel


@pytest.fixture(scope="module")
def wheels(tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("wheels")
    return {p: build_wheel(p, out) for p in PLUGINS}


def meshes(xml: str, meshdir: str) -> set[str]:
    return {f"{meshdir}/{f}" for f in re.findall(r'<mesh[^>]*file="([^"]+)"', xml)}


@pytest.mark.parametrize("plugin", sorted(PLUGINS))
def test_wheel_ships_model_licences_and_readme(wheels, plugin):
    package, xmls, licences, files = PLUGINS[plugin]
    with zipfile.ZipFile(wheels[plugin]) as z:
        names = set(z.namelist())
        want = {f"{package}/{f}" for f in xmls + licences + files}
        for x in xmls:
            text = z.read(f"{package}/{x}").decode()
            m = re.search(r'meshdir="([^"]+)"', text)
            if m:
                base = f"{package}/{os.path.dirname(x)}/{m.group(1)}"
                assert meshes(text, base), x
                want |= meshes(text, base)
        assert not want - names, sorted(want - names)
        metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
        text = z.read(metadata).decode()
        assert "Third-party files in this package" in text  # the README, with the licences
        assert all(os.path.basename(lic) in text for lic in licences)


def unpacked_python(wheel: Path, dest: Path) -> dict[str, str]:
    """An environment whose PYTHONPATH puts the unpacked wheel before the editable source
    install; ../shared/assets cannot be reached through it."""
    with zipfile.ZipFile(wheel) as z:
        z.extractall(dest)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GROOT_")}
    env["PYTHONPATH"] = str(dest)
    env.setdefault("MUJOCO_GL", "egl")
    return env


def test_unpacked_bhl_wheel_walks_with_packaged_model_and_policy(wheels, tmp_path):
    pytest.importorskip("mujoco", reason="needs the sim extra (mujoco)")
    pytest.importorskip("onnxruntime", reason="needs onnxruntime")
    env = unpacked_python(wheels["groot-sdk-bhl"], tmp_path / "site")
    out = subprocess.run(
        [sys.executable, str(HERE / "walk_bhl.py")],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    r = json.loads(out.stdout.strip().splitlines()[-1])
    site = str(tmp_path / "site")
    assert r["groot_sdk_bhl"].startswith(site), r  # the plugin from the wheel
    assert r["model"]["model"] == "published" and r["model"]["path"].startswith(site), r
    assert r["policy"].startswith(site) and r["policy"].endswith("policy_humanoid.onnx"), r
    assert r["stop_reason"] == "completed" and r["safety_stops"] == 0, r
    assert r["sim_time"] == pytest.approx(10.0), r  # a fall would end the episode early
    assert r["lowest_imu"] > 0.5, r  # the published robot's IMU stands at 0.685 m
    assert r["moved_x"] > 1.0, r


def test_unpacked_g1_wheel_loads_packaged_model(wheels, tmp_path):
    pytest.importorskip("mujoco", reason="needs the sim extra (mujoco)")
    env = unpacked_python(wheels["groot-sdk-g1-inspire"], tmp_path / "site")
    code = (
        "import json, groot_sdk_g1_inspire\n"
        "from groot_sdk.plugins import get_registry\n"
        "r = get_registry().embodiment('g1_inspire').make_sim(render=False)\n"
        "print(json.dumps({'pkg': groot_sdk_g1_inspire.__file__, **r.episodic.model_info}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=tmp_path, capture_output=True, text=True,
        timeout=300, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    r = json.loads(out.stdout.strip().splitlines()[-1])
    site = str(tmp_path / "site")
    assert r["pkg"].startswith(site) and r["path"].startswith(site), r
    assert r["model"] == "published" and r["path"].endswith("scene_29dof.xml"), r
