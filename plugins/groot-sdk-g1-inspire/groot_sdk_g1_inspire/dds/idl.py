"""``unitree_hg`` LowCmd_ / LowState_ as CycloneDDS types that match what the G1 speaks.

Field names, order and widths follow Unitree's published IDL (``unitree_hg/msg/dds_``, as
shipped in unitree_sdk2_python's ``idl/unitree_hg/msg/dds_``): final structs, sequential ids.
We define them here instead of importing the SDK's because of one detail that decides whether
two CycloneDDS versions match at all: the 8-bit unsigned fields (``mode``, ``mode_pr``,
``mode_machine``, ``wireless_remote``), ``octet`` in Unitree's IDL. CycloneDDS 0.10.x (the
robot, and Unitree's Python SDK, which pins cyclonedds 0.10.2) describes them in its XTypes
type object as ``TK_BYTE``; 0.11 and later (the 11.x wheels on Python 3.11) describe the Python
SDK's ``types.uint8`` as ``TK_UINT8``. The two are not assignable, so a reader and a writer
across those versions never match and exchange nothing. Declared as ``byte`` (octet) on 0.11+
and as ``uint8`` on 0.10 (which has no ``byte`` and maps ``uint8`` to ``TK_BYTE``), the types
below hash to the robot's type identifiers on every version. (The other side of that coin: a
peer that uses the Python SDK's types on CycloneDDS 0.11+ does not match these, nor the robot.)
"""

# no ``from __future__ import annotations``: cyclonedds reads the field types at run time
from dataclasses import dataclass

from cyclonedds import idl
from cyclonedds.idl import annotations as annotate
from cyclonedds.idl import types

NUM_MOTORS = 35
#: an 8-bit unsigned field as CycloneDDS 0.10 describes it (TK_BYTE) on every version
octet = getattr(types, "byte", types.uint8)


@dataclass
@annotate.final
@annotate.autoid("sequential")
class MotorCmd_(idl.IdlStruct, typename="unitree_hg.msg.dds_.MotorCmd_"):
    mode: octet
    q: types.float32
    dq: types.float32
    tau: types.float32
    kp: types.float32
    kd: types.float32
    reserve: types.uint32


@dataclass
@annotate.final
@annotate.autoid("sequential")
class MotorState_(idl.IdlStruct, typename="unitree_hg.msg.dds_.MotorState_"):
    mode: octet
    q: types.float32
    dq: types.float32
    ddq: types.float32
    tau_est: types.float32
    temperature: types.array[types.int16, 2]
    vol: types.float32
    sensor: types.array[types.uint32, 2]
    motorstate: types.uint32
    reserve: types.array[types.uint32, 4]


@dataclass
@annotate.final
@annotate.autoid("sequential")
class IMUState_(idl.IdlStruct, typename="unitree_hg.msg.dds_.IMUState_"):
    quaternion: types.array[types.float32, 4]
    gyroscope: types.array[types.float32, 3]
    accelerometer: types.array[types.float32, 3]
    rpy: types.array[types.float32, 3]
    temperature: types.int16


@dataclass
@annotate.final
@annotate.autoid("sequential")
class LowCmd_(idl.IdlStruct, typename="unitree_hg.msg.dds_.LowCmd_"):
    mode_pr: octet
    mode_machine: octet
    motor_cmd: types.array[MotorCmd_, NUM_MOTORS]
    reserve: types.array[types.uint32, 4]
    crc: types.uint32


@dataclass
@annotate.final
@annotate.autoid("sequential")
class LowState_(idl.IdlStruct, typename="unitree_hg.msg.dds_.LowState_"):
    version: types.array[types.uint32, 2]
    mode_pr: octet
    mode_machine: octet
    tick: types.uint32
    imu_state: IMUState_
    motor_state: types.array[MotorState_, NUM_MOTORS]
    wireless_remote: types.array[octet, 40]
    reserve: types.array[types.uint32, 4]
    crc: types.uint32


def new_lowcmd() -> LowCmd_:
    """An all-zero LowCmd_."""
    motors = [MotorCmd_(0, 0.0, 0.0, 0.0, 0.0, 0.0, 0) for _ in range(NUM_MOTORS)]
    return LowCmd_(0, 0, motors, [0, 0, 0, 0], 0)


def new_lowstate() -> LowState_:
    """An all-zero LowState_."""
    imu = IMUState_([0.0] * 4, [0.0] * 3, [0.0] * 3, [0.0] * 3, 0)
    motors = [
        MotorState_(0, 0.0, 0.0, 0.0, 0.0, [0, 0], 0.0, [0, 0], 0, [0, 0, 0, 0])
        for _ in range(NUM_MOTORS)
    ]
    return LowState_([0, 0], 0, 0, 0, imu, motors, [0] * 40, [0, 0, 0, 0], 0)
