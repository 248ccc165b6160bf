"""A MuJoCo model and its data, advanced one low-level control period at a time."""

from __future__ import annotations

import logging
import math
import os
import threading
from typing import Any

import numpy as np

from groot_sdk.errors import HardwareError, SpecError
from groot_sdk.sim.gl import import_mujoco

log = logging.getLogger(__name__)


class MujocoWorld:
    """Owns ``model``/``data``; :meth:`step` runs ``substeps`` physics steps (one control period).

    Sim time therefore advances only when the robot is commanded, never with the wall clock:
    runs are deterministic and go as fast as the CPU allows.
    """

    def __init__(
        self,
        model: Any,
        *,
        control_dt: float,
        physics_dt: float | None = None,
        shadows: bool = False,
    ) -> None:
        self.mj = import_mujoco()
        if physics_dt is not None:
            model.opt.timestep = physics_dt
        self.control_dt = float(control_dt)
        # a whole number of physics steps per control period, no longer than the model's dt
        self.substeps = max(1, math.ceil(self.control_dt / model.opt.timestep - 1e-9))
        model.opt.timestep = self.control_dt / self.substeps
        self.model = model
        self.data = self.mj.MjData(model)
        self.steps = 0  #: control periods since the last reset
        #: shadow maps re-render every mesh per light: off by default, 5x faster on a CPU
        #: for mesh-heavy models (SO-101: 0.70 -> 0.14 s per 640x480 frame on llvmpipe)
        self.shadows = shadows
        self.renderers = Renderers()

    @classmethod
    def from_path(cls, path: str | os.PathLike, **kwargs: Any) -> MujocoWorld:
        mj = import_mujoco()
        return cls(mj.MjModel.from_xml_path(os.fspath(path)), **kwargs)

    # -- time ------------------------------------------------------------------------------
    @property
    def time(self) -> float:
        """Simulated seconds since the last reset."""
        return float(self.data.time)

    def step(self) -> None:
        """Advance one control period."""
        self.mj.mj_step(self.model, self.data, nstep=self.substeps)
        self.steps += 1

    def reset(
        self, qpos: np.ndarray | None = None, qvel: np.ndarray | None = None, key: int | None = None
    ) -> None:
        self.mj.mj_resetData(self.model, self.data)
        if key is not None:
            self.mj.mj_resetDataKeyframe(self.model, self.data, key)
        if qpos is not None:
            self.data.qpos[:] = qpos
        if qvel is not None:
            self.data.qvel[:] = qvel
        self.mj.mj_forward(self.model, self.data)
        self.steps = 0

    # -- lookups ---------------------------------------------------------------------------
    def id(self, kind: str, name: str) -> int:
        """Object id of ``name`` (kind: joint, body, site, camera, sensor, actuator), or -1."""
        obj = getattr(self.mj.mjtObj, f"mjOBJ_{kind.upper()}")
        return int(self.mj.mj_name2id(self.model, obj, name))

    def require_id(self, kind: str, name: str) -> int:
        i = self.id(kind, name)
        if i < 0:
            raise SpecError(f"MuJoCo model has no {kind} named '{name}'")
        return i

    def sensor(self, name: str) -> np.ndarray:
        """The current values of sensor ``name`` (a view into ``data.sensordata``)."""
        i = self.require_id("sensor", name)
        adr, dim = self.model.sensor_adr[i], self.model.sensor_dim[i]
        return self.data.sensordata[adr : adr + dim]

    # -- rendering -------------------------------------------------------------------------
    def render(self, camera: str | int | Any, width: int, height: int) -> np.ndarray:
        """An RGB uint8 (height, width, 3) image from a model camera (name, id or MjvCamera)."""
        return self.renderers.render(self.model, self.data, camera, width, height, self.shadows)

    def close(self) -> None:
        self.renderers.close()


class Renderers:
    """Offscreen renderers, one per thread and image size.

    A GL context is current in one thread only; rendering from another thread with it gives
    garbage or an EGL error, and the deployer may read cameras from its loop thread after the
    main thread did. Raises the model's offscreen buffer to the requested size.
    """

    def __init__(self) -> None:
        self.mj = import_mujoco()
        self._renderers: dict[tuple[int, int, int], Any] = {}

    def render(
        self,
        model: Any,
        data: Any,
        camera: str | int | Any,
        width: int,
        height: int,
        shadows: bool = False,
    ) -> np.ndarray:
        key = (int(width), int(height), threading.get_ident())
        renderer = self._renderers.get(key)
        if renderer is None:
            glob = model.vis.global_
            glob.offwidth = max(int(glob.offwidth), key[0])
            glob.offheight = max(int(glob.offheight), key[1])
            try:
                renderer = self.mj.Renderer(model, height=key[1], width=key[0])
            except Exception as exc:
                raise HardwareError(
                    f"offscreen rendering failed ({exc}); MUJOCO_GL="
                    f"{os.environ.get('MUJOCO_GL', '(unset)')}. Set MUJOCO_GL=egl (or osmesa) "
                    "before anything imports mujoco, or call groot_sdk.sim.configure_gl() first"
                ) from exc
            self._renderers[key] = renderer
        renderer.update_scene(data, camera=camera)
        renderer.scene.flags[self.mj.mjtRndFlag.mjRND_SHADOW] = shadows
        return renderer.render().copy()

    def close(self) -> None:
        for r in self._renderers.values():
            try:
                r.close()
            except Exception:  # a lost GL context must not prevent closing the rest
                log.debug("closing a renderer failed", exc_info=True)
        self._renderers.clear()
