"""Test-session settings shared by the core and plugin test suites."""

import os

# MuJoCo picks its GL backend when first imported (gymnasium-robotics imports it at import
# time): choose headless EGL before any test module can import it.
os.environ.setdefault("MUJOCO_GL", "egl")
