"""``rt/lowcmd`` / ``rt/lowstate`` through Unitree's Python SDK on CycloneDDS.

Needs ``pip install 'groot-sdk-g1-inspire[dds]'`` (``unitree-sdk2py-dimos`` and
``cyclonedds``; see research/hardware.md on which builds install on Python 3.11). The SDK's
channel factory is process-wide: one DDS domain and interface per process.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import numpy as np

from groot_sdk.errors import HardwareError, require
from groot_sdk_g1_inspire.dds.messages import NUM_MOTORS, LowCmd, LowState

log = logging.getLogger(__name__)

LOWCMD_TOPIC = "rt/lowcmd"
LOWSTATE_TOPIC = "rt/lowstate"
_factory_lock = threading.Lock()
_factory: tuple[int, str] | None = None


def init_factory(domain_id: int, interface: str | None) -> None:
    """``ChannelFactoryInitialize`` once per process (a second, different call is an error)."""
    global _factory
    channel = require("unitree_sdk2py.core.channel", "dds", "the G1 DDS interface")
    with _factory_lock:
        wanted = (int(domain_id), interface or "")
        if _factory is None:
            if interface:
                channel.ChannelFactoryInitialize(int(domain_id), interface)
            else:
                channel.ChannelFactoryInitialize(int(domain_id))
            _factory = wanted
        elif _factory != wanted:
            raise HardwareError(
                f"DDS is already initialised on domain {_factory[0]} / '{_factory[1]}' in this "
                f"process; cannot also use domain {wanted[0]} / '{wanted[1]}'"
            )


def to_sdk(cmd: LowCmd):
    """Our :class:`LowCmd` as the SDK's ``unitree_hg`` LowCmd_, crc included."""
    default = require("unitree_sdk2py.idl.default", "dds")
    msg = default.unitree_hg_msg_dds__LowCmd_()
    msg.mode_pr, msg.mode_machine = int(cmd.mode_pr), int(cmd.mode_machine)
    for i in range(NUM_MOTORS):
        m = msg.motor_cmd[i]
        m.mode = int(cmd.mode[i])
        m.q, m.dq, m.tau = float(cmd.q[i]), float(cmd.dq[i]), float(cmd.tau[i])
        m.kp, m.kd = float(cmd.kp[i]), float(cmd.kd[i])
    msg.crc = cmd.crc
    return msg


def from_sdk_cmd(msg) -> LowCmd:
    cmd = LowCmd(msg.mode_pr, msg.mode_machine)
    for i, m in enumerate(msg.motor_cmd[:NUM_MOTORS]):
        cmd.mode[i] = m.mode
        cmd.q[i], cmd.dq[i], cmd.tau[i], cmd.kp[i], cmd.kd[i] = m.q, m.dq, m.tau, m.kp, m.kd
    return cmd


def state_to_sdk(state: LowState):
    default = require("unitree_sdk2py.idl.default", "dds")
    msg = default.unitree_hg_msg_dds__LowState_()
    msg.mode_pr, msg.mode_machine, msg.tick = state.mode_pr, state.mode_machine, state.tick
    imu = msg.imu_state
    imu.quaternion = [float(x) for x in state.quaternion]
    imu.gyroscope = [float(x) for x in state.gyroscope]
    imu.accelerometer = [float(x) for x in state.accelerometer]
    imu.rpy = [float(x) for x in state.rpy]
    for i in range(NUM_MOTORS):
        m = msg.motor_state[i]
        m.mode = int(state.mode[i])
        m.q, m.dq, m.ddq = float(state.q[i]), float(state.dq[i]), float(state.ddq[i])
        m.tau_est, m.motorstate = float(state.tau_est[i]), int(state.motorstate[i])
    msg.crc = 0
    return msg


def from_sdk_state(msg) -> LowState:
    n = NUM_MOTORS
    ms = msg.motor_state[:n]
    imu = msg.imu_state
    return LowState(
        mode_pr=msg.mode_pr,
        mode_machine=msg.mode_machine,
        tick=msg.tick,
        quaternion=np.array(imu.quaternion, np.float32),
        gyroscope=np.array(imu.gyroscope, np.float32),
        accelerometer=np.array(imu.accelerometer, np.float32),
        rpy=np.array(imu.rpy, np.float32),
        mode=np.array([m.mode for m in ms], np.uint8),
        q=np.array([m.q for m in ms], np.float32),
        dq=np.array([m.dq for m in ms], np.float32),
        ddq=np.array([m.ddq for m in ms], np.float32),
        tau_est=np.array([m.tau_est for m in ms], np.float32),
        motorstate=np.array([m.motorstate for m in ms], np.uint32),
    )


class Endpoint:
    """A publisher on one topic and a subscriber on the other (robot or controller side)."""

    def __init__(
        self,
        publish: str,
        publish_type: str,
        subscribe: str,
        subscribe_type: str,
        on_message: Callable[[object], None],
        *,
        domain_id: int = 0,
        interface: str | None = None,
    ) -> None:
        self._args = (publish, publish_type, subscribe, subscribe_type)
        self._on_message = on_message
        self.domain_id, self.interface = domain_id, interface
        self._pub = self._sub = None

    def open(self) -> None:
        init_factory(self.domain_id, self.interface)
        channel = require("unitree_sdk2py.core.channel", "dds")
        hg = require("unitree_sdk2py.idl.unitree_hg.msg.dds_", "dds")
        publish, ptype, subscribe, stype = self._args
        self._pub = channel.ChannelPublisher(publish, getattr(hg, ptype))
        self._pub.Init()
        self._sub = channel.ChannelSubscriber(subscribe, getattr(hg, stype))
        self._sub.Init(self._on_message, 1)

    def write(self, msg) -> None:
        if self._pub is None:
            raise HardwareError("DDS endpoint is not open")
        self._pub.Write(msg)

    def close(self) -> None:
        for ch in (self._sub, self._pub):
            if ch is not None:
                try:
                    ch.Close()
                except Exception:  # cyclonedds raises if the entity is already gone
                    log.debug("closing a DDS channel failed", exc_info=True)
        self._sub = self._pub = None


class G1LowLevel:
    """The controller side: publishes LowCmd, keeps the newest LowState."""

    def __init__(self, domain_id: int = 0, interface: str | None = None) -> None:
        self._lock = threading.Lock()
        self._state: LowState | None = None
        self._stamp = 0.0
        self.states_received = 0
        self._endpoint = Endpoint(
            LOWCMD_TOPIC, "LowCmd_", LOWSTATE_TOPIC, "LowState_", self._on_state,
            domain_id=domain_id, interface=interface,
        )  # fmt: skip

    def _on_state(self, msg) -> None:
        state = from_sdk_state(msg)
        with self._lock:
            self._state, self._stamp = state, time.monotonic()
            self.states_received += 1

    def open(self) -> None:
        self._endpoint.open()

    def close(self) -> None:
        self._endpoint.close()

    def latest(self) -> tuple[LowState | None, float]:
        with self._lock:
            return self._state, self._stamp

    def publish(self, cmd: LowCmd) -> None:
        self._endpoint.write(to_sdk(cmd))


def release_builtin_control(timeout_s: float = 5.0) -> None:  # pragma: no cover - robot only
    """Release Unitree's built-in locomotion (MotionSwitcher) before low-level control."""
    switcher = require(
        "unitree_sdk2py.comm.motion_switcher.motion_switcher_client", "dds", "MotionSwitcher"
    )
    client = switcher.MotionSwitcherClient()
    client.SetTimeout(timeout_s)
    client.Init()
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        status, result = client.CheckMode()
        if status != 0 or not result or not result.get("name"):
            return
        client.ReleaseMode()
        time.sleep(0.5)
    raise HardwareError("the G1's built-in controller did not release within the timeout")
