"""MuJoCo sensors and actuators: joints (encoder + servo), cameras, IMUs.

A :class:`MujocoJoints` write sets the servo targets and advances the world by one low-level
control period (``world.step()``); so does :meth:`~MujocoJoints.hold`. Sim time is therefore
tied to the commands, never to the wall clock.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

import numpy as np

from groot_sdk.errors import SpecError
from groot_sdk.hardware import (
    Actuator,
    Camera,
    Component,
    Frame,
    Imu,
    ImuReading,
    JointCommand,
    JointEncoder,
    JointState,
)
from groot_sdk.sim.world import MujocoWorld
from groot_sdk.spec import EmbodimentSpec


def _index(idx: np.ndarray) -> slice | np.ndarray:
    """A contiguous ascending index array as a slice (a view, no gather), else the array."""
    if len(idx) and np.array_equal(idx, np.arange(idx[0], idx[0] + len(idx))):
        return slice(int(idx[0]), int(idx[0]) + len(idx))
    return idx


def _per_joint(value: float | Mapping[str, float] | None, names: Sequence[str]) -> np.ndarray:
    """Per-joint values; NaN where not given (a mapping may cover only some joints)."""
    if value is None:
        return np.full(len(names), np.nan)
    if isinstance(value, Mapping):
        return np.array([value.get(n, np.nan) for n in names], np.float64)
    return np.full(len(names), float(value))


class MujocoJoints(JointEncoder, Actuator):
    """The spec's joints in a :class:`MujocoWorld`, as position servos.

    Each joint is driven by the model actuator acting on it. A position actuator is used as it
    is; a torque (``motor``) actuator is turned into a PD servo with ``kp``/``kd`` and clamped
    to ``effort`` (force = kp (target - q) - kd qdot, evaluated by MuJoCo every physics step).

    Joints the model does not have (e.g. the G1's hand joints on the 29-DOF published model)
    are *virtual*: they report the last command. Joints with a :class:`~groot_sdk.spec.Mimic`
    ignore their own command and follow their source.

    ``disable()`` leaves only damping (kp = 0, the ``kd`` term and the model's joint damping
    remain), like a motor controller's damping mode.
    """

    def __init__(
        self,
        name: str,
        world: MujocoWorld,
        spec: EmbodimentSpec,
        joint_names: Sequence[str] | None = None,
        *,
        kp: float | Mapping[str, float] | None = None,
        kd: float | Mapping[str, float] | None = None,
        effort: float | Mapping[str, float] | None = None,
        model_names: Mapping[str, str] | None = None,
    ) -> None:
        Component.__init__(self, name)
        self.joint_names = tuple(joint_names or spec.joint_names)
        self.world = world
        m = world.model
        model_names = dict(model_names or {})
        joints = [spec.joint(n) for n in self.joint_names]
        self._lower = np.array([j.lower for j in joints])
        self._upper = np.array([j.upper for j in joints])
        index = {n: i for i, n in enumerate(self.joint_names)}
        # mimic followers: (follower index, source index, multiplier, offset)
        self._mimic = [
            (i, index[j.mimic.source], j.mimic.multiplier, j.mimic.offset)
            for i, j in enumerate(joints)
            if j.mimic is not None and j.mimic.source in index
        ]
        self._mimic_arrays = tuple(
            np.array([t[i] for t in self._mimic], float if i > 1 else int) for i in range(4)
        )
        jnt_act = {
            int(m.actuator_trnid[a, 0]): a
            for a in range(m.nu)
            if int(m.actuator_trntype[a]) == int(world.mj.mjtTrn.mjTRN_JOINT)
        }
        qadr, dadr, act, real, virtual = [], [], [], [], []
        for i, n in enumerate(self.joint_names):
            jid = world.id("joint", model_names.get(n, n))
            if jid < 0:
                virtual.append(i)
                continue
            if jid not in jnt_act:
                raise SpecError(f"MuJoCo model has no actuator on joint '{n}'")
            real.append(i)
            qadr.append(int(m.jnt_qposadr[jid]))
            dadr.append(int(m.jnt_dofadr[jid]))
            act.append(jnt_act[jid])
        if not real:
            raise SpecError(f"MuJoCo model has none of the joints {list(self.joint_names)}")
        self._real = np.array(real, int)
        self._virtual = np.array(virtual, int)
        self._qadr, self._dadr, self._act = np.array(qadr), np.array(dadr), np.array(act)
        self._to_servos(kp, kd, effort)
        # the write path's indices, as slices where they are contiguous (every tick uses them)
        self._real_ix, self._act_ix = _index(self._real), _index(self._act)
        self._virtual_ix = _index(self._virtual)
        f = self._mimic_arrays[0]
        self._mimic_bounds = (self._lower[f], self._upper[f])
        self._target = self._measured_real_and_virtual_init()
        self._vv_from: np.ndarray | None = None  #: the target before the last write
        self._vv: np.ndarray | None = None  #: the virtual joints' velocity, once computed
        self._held: np.ndarray | None = None

    # -- servo setup -----------------------------------------------------------------------
    def _to_servos(self, kp, kd, effort) -> None:
        m, mj = self.world.model, self.world.mj
        names = [self.joint_names[i] for i in self._real]
        kp_v, kd_v, eff_v = (_per_joint(v, names) for v in (kp, kd, effort))
        for k, a in enumerate(self._act):
            is_servo = int(m.actuator_biastype[a]) == int(mj.mjtBias.mjBIAS_AFFINE)
            if not is_servo or np.isfinite(kp_v[k]):
                if not (np.isfinite(kp_v[k]) and np.isfinite(kd_v[k])):
                    raise SpecError(
                        f"actuator on joint '{names[k]}' is a torque motor: give kp and kd"
                    )
                m.actuator_gaintype[a] = mj.mjtGain.mjGAIN_FIXED
                m.actuator_biastype[a] = mj.mjtBias.mjBIAS_AFFINE
                m.actuator_gainprm[a, :] = 0
                m.actuator_biasprm[a, :] = 0
                m.actuator_gainprm[a, 0] = kp_v[k]
                m.actuator_biasprm[a, 1] = -kp_v[k]
                m.actuator_biasprm[a, 2] = -kd_v[k]
                m.actuator_ctrllimited[a] = 1
                m.actuator_ctrlrange[a] = (
                    self._lower[self._real[k]],
                    self._upper[self._real[k]],
                )
            if np.isfinite(eff_v[k]):
                m.actuator_forcelimited[a] = 1
                m.actuator_forcerange[a] = (-eff_v[k], eff_v[k])
        self._gains = m.actuator_gainprm[self._act, 0].copy()
        self._bias_kp = m.actuator_biasprm[self._act, 1].copy()

    def _set_stiffness(self, on: bool) -> None:
        m = self.world.model
        m.actuator_gainprm[self._act, 0] = self._gains if on else 0.0
        m.actuator_biasprm[self._act, 1] = self._bias_kp if on else 0.0

    def _measured_real_and_virtual_init(self) -> np.ndarray:
        target = np.zeros(len(self.joint_names))
        target[self._real] = self.world.data.qpos[self._qadr]
        return target

    # -- lifecycle -------------------------------------------------------------------------
    def sync(self) -> None:
        """Take the current sim state as the target (after a reset moved the joints)."""
        pos = self._target.copy()
        pos[self._real] = self.world.data.qpos[self._qadr]
        self._target = pos
        self.world.data.ctrl[self._act] = pos[self._real]
        self._vv_from = self._vv = None
        self._held = None

    def set_virtual(self, position: np.ndarray) -> None:
        """Set the virtual joints' positions (joint order of this driver) on reset."""
        self._virtual_vel  # noqa: B018 - fixes the velocity of the last write before the edit
        self._target[self._virtual] = np.asarray(position)[self._virtual]

    def _on_enable(self) -> None:
        self.sync()
        self._set_stiffness(True)

    def _on_disable(self) -> None:
        self._set_stiffness(False)
        self._vv_from = self._vv = None

    def _on_connect(self) -> None:
        self._set_stiffness(False)  # connected but not enabled: damping only

    def _on_close(self) -> None:
        self.world.close()

    @property
    def _virtual_vel(self) -> np.ndarray:
        """The virtual joints' velocity: their last command step over one control period."""
        if self._vv is None:
            before, v = self._vv_from, self._virtual_ix
            self._vv = (
                np.zeros(len(self._virtual))
                if before is None
                else (self._target[v] - before[v]) / self.world.control_dt
            )
        return self._vv

    # -- I/O -------------------------------------------------------------------------------
    def _read(self) -> JointState:
        d = self.world.data
        pos = self._target.copy()
        vel = np.zeros(len(self.joint_names))
        eff = np.zeros(len(self.joint_names))
        pos[self._real] = d.qpos[self._qadr]
        vel[self._real] = d.qvel[self._dadr]
        eff[self._real] = d.actuator_force[self._act]
        if len(self._virtual):
            vel[self._virtual] = self._virtual_vel
        return JointState(pos, vel, eff, stamp=time.monotonic())

    def _apply(self, target: np.ndarray) -> None:
        """``target`` is a float64 array this driver owns (clamped in place). Runs every
        tick: ufuncs rather than np.clip (same result, a fraction of the cost)."""
        lower, upper = self._lower, self._upper
        np.minimum(np.maximum(target, lower, out=target), upper, out=target)
        if self._mimic:
            f, src, k, off = self._mimic_arrays
            lo, hi = self._mimic_bounds
            target[f] = np.minimum(np.maximum(k * target[src] + off, lo), hi)
        self._vv_from, self._vv = self._target, None  # the velocity is computed when read
        self._target = target
        self.world.data.ctrl[self._act_ix] = target[self._real_ix]
        self.world.step()

    def _write(self, command: JointCommand) -> None:
        self._held = None
        self._apply(np.array(command.position, np.float64))

    def _hold(self) -> None:
        """Hold where the joints are at the first hold; later holds keep that pose (chasing
        the measured position would let gravity fold a loaded joint step by step)."""
        if self._held is None:
            self._held = self._target.copy()
            self._held[self._real] = self.world.data.qpos[self._qadr]
        self._apply(self._held.copy())


class MujocoCamera(Camera):
    """Renders a model camera offscreen at the spec's native resolution."""

    def __init__(self, name: str, world: MujocoWorld, camera: str, width: int, height: int) -> None:
        super().__init__(name, name)
        self.world, self.model_camera = world, camera
        self.width, self.height = width, height
        self._count = 0

    def _on_connect(self) -> None:
        self.world.require_id("camera", self.model_camera)

    def _on_close(self) -> None:
        self.world.close()  # GL contexts must be freed explicitly, not at interpreter exit

    def _read(self) -> Frame:
        self._count += 1
        img = self.world.render(self.model_camera, self.width, self.height)
        return Frame(img, stamp=time.monotonic(), index=self._count)


class MujocoImu(Imu):
    """Orientation, gyro and accelerometer from the model's sensors (site-mounted IMU)."""

    def __init__(
        self,
        name: str,
        world: MujocoWorld,
        quat: str = "imu_quat",
        gyro: str = "imu_gyro",
        accel: str | None = "imu_acc",
    ) -> None:
        super().__init__(name)
        self.world = world
        self._names = (quat, gyro, accel)

    def _on_connect(self) -> None:
        for n in self._names:
            if n is not None:
                self.world.require_id("sensor", n)

    def _read(self) -> ImuReading:
        quat, gyro, accel = self._names
        w = self.world
        return ImuReading(
            w.sensor(quat).copy(),
            w.sensor(gyro).copy(),
            None if accel is None else w.sensor(accel).copy(),
            stamp=time.monotonic(),
        )


def projected_gravity(quat_wxyz: np.ndarray) -> np.ndarray:
    """Gravity direction (0, 0, -1) expressed in the body frame of orientation ``quat``."""
    w, x, y, z = (float(v) for v in quat_wxyz)
    v = np.array([0.0, 0.0, -1.0])
    q = np.array([x, y, z])
    return v * (2 * w * w - 1) - np.cross(q, v) * w * 2 + q * np.dot(q, v) * 2
