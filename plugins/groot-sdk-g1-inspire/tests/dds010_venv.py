"""Build a virtual environment with CycloneDDS 0.10.x and Unitree's Python SDK: the DDS stack
the G1 runs (Unitree's ``unitree_sdk2_python/setup.py`` pins ``cyclonedds==0.10.2``), for the
interoperability tests and for ``groot doctor g1_inspire --fake-hardware --hw
sim_python=DEST/bin/python``.

    python dds010_venv.py DEST

Exit 0: ``DEST/bin/python`` is ready (an existing one is reused). Exit 3: no 0.10.x build is
possible here; the reason is printed and written to ``DEST.unavailable`` (the tests skip with
it). Two ways, the first that works:

1. Debian's ``libddsc`` 0.10.x (package ``cyclonedds-dev``, installed with apt-get when this
   runs as root) and this interpreter: the ``cyclonedds`` Python binding of the same version is
   built from its sdist against it (``CYCLONEDDS_HOME``; a few seconds).
2. A CPython 3.8-3.10 on PATH: PyPI's ``cyclonedds`` 0.10.2 wheels (there are none for 3.11+),
   which bundle their own libddsc 0.10.2.

Unitree's SDK comes from ``unitree-sdk2py-dimos`` 1.0.3 (a complete repackaging of
unitree_sdk2_python, with its CRC libraries), without its opencv dependency.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

SDK = "unitree-sdk2py-dimos==1.0.3"
CHECK = (
    "from importlib.metadata import version; import cyclonedds.domain, "
    "unitree_sdk2py.core.channel, numpy, attrs; print(version('cyclonedds'))"
)


class Unavailable(Exception):
    pass


def _run(*cmd: str, env: dict | None = None) -> str:
    out = subprocess.run(cmd, check=False, capture_output=True, text=True, env=env, timeout=600)
    if out.returncode:
        raise Unavailable(f"{' '.join(cmd[:4])} ... failed: {(out.stderr or out.stdout)[-300:]}")
    return out.stdout


def _ready(python: Path) -> str | None:
    if not python.exists():
        return None
    out = subprocess.run(
        [str(python), "-c", CHECK], check=False, capture_output=True, text=True, timeout=120
    )
    found = out.stdout.strip()
    return found if out.returncode == 0 and found.startswith("0.10.") else None


def _venv(base: str, dest: Path, *packages: str, env: dict | None = None) -> Path:
    shutil.rmtree(dest, ignore_errors=True)
    _run(base, "-m", "venv", str(dest))
    python = dest / "bin" / "python"
    _run(str(python), "-m", "pip", "install", "-q", *packages, "numpy", "attrs", env=env)
    _run(str(python), "-m", "pip", "install", "-q", "--no-deps", SDK)
    return python


def _debian_libddsc() -> tuple[str, str] | None:
    """(the library's folder, its version) of an installed libddsc 0.10.x with headers."""
    libs = glob.glob("/usr/lib/*/libddsc.so.0.10.*") + glob.glob("/usr/lib/libddsc.so.0.10.*")
    for lib in sorted(libs):
        if os.path.exists("/usr/include/dds/dds.h"):
            return os.path.dirname(lib), lib.rsplit(".so.", 1)[1]
    return None


def _apt_install() -> None:
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise Unavailable("Debian's cyclonedds-dev is not installed and apt-get cannot run as root")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    policy = _run("apt-cache", "policy", "cyclonedds-dev")
    if "Candidate: 0.10." not in policy:
        _run("apt-get", "update", "-qq", env=env)
        policy = _run("apt-cache", "policy", "cyclonedds-dev")
    if "Candidate: 0.10." not in policy:
        raise Unavailable(f"apt offers no cyclonedds-dev 0.10.x: {policy.strip()[-200:]}")
    _run("apt-get", "install", "-y", "-qq", "cyclonedds-dev", env=env)


def via_debian(dest: Path) -> Path:
    if _debian_libddsc() is None:
        _apt_install()
    found = _debian_libddsc()
    if found is None:
        raise Unavailable("cyclonedds-dev installed no libddsc 0.10.x")
    libdir, lib_version = found
    home = Path(tempfile.mkdtemp(prefix="cyclonedds-home-"))
    try:  # the sdist's build looks for include/, lib/ and bin/ under CYCLONEDDS_HOME
        for name, target in (("include", "/usr/include"), ("lib", libdir), ("bin", "/usr/bin")):
            (home / name).symlink_to(target)
        env = {**os.environ, "CYCLONEDDS_HOME": str(home)}
        return _venv(sys.executable, dest, f"cyclonedds=={lib_version}", env=env)
    finally:
        shutil.rmtree(home, ignore_errors=True)


def via_wheel(dest: Path) -> Path:
    for minor in (10, 9, 8):
        exe = shutil.which(f"python3.{minor}")
        runs = exe and subprocess.run([exe, "-c", ""], check=False, capture_output=True)
        if runs and runs.returncode == 0:
            return _venv(exe, dest, "--only-binary=cyclonedds", "cyclonedds==0.10.2")
    raise Unavailable("no CPython 3.8-3.10 on PATH for PyPI's cyclonedds 0.10.2 wheels")


def build(dest: Path) -> Path:
    python = dest / "bin" / "python"
    if _ready(python):
        return python
    reasons = []
    for way in (via_debian, via_wheel):
        try:
            python = way(dest)
        except (Unavailable, OSError, subprocess.SubprocessError) as exc:
            reasons.append(f"{way.__name__}: {exc}")
            continue
        if _ready(python):
            return python
        reasons.append(f"{way.__name__}: the environment built does not import cyclonedds 0.10.x")
    raise Unavailable("; ".join(reasons))


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    dest = Path(sys.argv[1]).absolute()
    marker = Path(str(dest) + ".unavailable")
    try:
        python = build(dest)
    except Unavailable as exc:
        marker.write_text(str(exc) + "\n")
        print(f"no CycloneDDS 0.10.x environment: {exc}", file=sys.stderr)
        return 3
    marker.unlink(missing_ok=True)
    print(f"{python}: cyclonedds {_ready(python)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
