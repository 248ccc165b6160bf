"""Pick an offscreen OpenGL backend before MuJoCo is imported, then import MuJoCo lazily.

MuJoCo reads ``MUJOCO_GL`` once, when ``mujoco`` is first imported, so this has to run first.
Default: ``egl`` (headless GPUs and Mesa's llvmpipe), falling back to ``osmesa`` when no EGL
library is installed. A value the user already set is left alone.
"""

from __future__ import annotations

import ctypes.util
import logging
import os
import sys
from typing import Any

from groot_sdk.errors import require

log = logging.getLogger(__name__)


def choose_gl_backend() -> str:
    """The ``MUJOCO_GL`` value to use on this machine ("" lets MuJoCo use GLFW)."""
    if os.environ.get("MUJOCO_GL"):
        return os.environ["MUJOCO_GL"]
    if ctypes.util.find_library("EGL"):
        return "egl"
    if ctypes.util.find_library("OSMesa"):
        return "osmesa"
    return ""


def configure_gl() -> str:
    """Set ``MUJOCO_GL`` (and PyOpenGL's platform) unless set already; return the backend."""
    backend = choose_gl_backend()
    if "mujoco" in sys.modules and not os.environ.get("MUJOCO_GL"):
        log.warning(
            "mujoco was imported before groot_sdk.sim chose a GL backend; offscreen rendering "
            "may fail. Set MUJOCO_GL=egl (or osmesa) in the environment."
        )
    if backend:
        os.environ.setdefault("MUJOCO_GL", backend)
        if backend in ("egl", "osmesa"):
            os.environ.setdefault("PYOPENGL_PLATFORM", backend)
    return backend


def import_mujoco() -> Any:
    """``import mujoco`` with the GL backend chosen, or an error naming the ``sim`` extra."""
    configure_gl()
    return require("mujoco", "sim", "simulation")
