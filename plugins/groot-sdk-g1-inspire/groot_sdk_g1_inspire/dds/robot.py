"""A simulated G1 that speaks DDS through Unitree's own Python SDK, to run in an interpreter of
its own: ``python -m groot_sdk_g1_inspire.dds.robot --domain 1 --interface lo``.

The robot runs CycloneDDS 0.10.x and Unitree's SDK pins cyclonedds 0.10.2, so run this in an
environment with that version to meet the driver as the robot would: Unitree's channel
factory, its ``unitree_hg`` IDL types and its CRC (``unitree_sdk2py.utils.crc``, the SDK's
shipped library) check each LowCmd, the motors are :class:`~.plant.G1Plant`. It needs only
cyclonedds, ``unitree_sdk2py``, numpy, attrs and this package on ``sys.path``; nothing of
groot_sdk.

Control on stdin, one JSON object a line, one JSON reply a line on stdout: ``{"op":
"status"}``, ``{"op": "silent", "on": true}``, ``{"op": "motor_error", "index": 20, "code":
2}``, ``{"op": "stop"}``. The first line out is ``{"ready": true, "cyclonedds": VERSION}``.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from importlib.metadata import version

from groot_sdk_g1_inspire.dds.messages import LowCmd
from groot_sdk_g1_inspire.dds.plant import G1Plant

_OUT = sys.stdout  # replies only: main() sends anything else printed (the SDK prints) to stderr


def _reply(obj: dict) -> None:
    _OUT.write(json.dumps(obj) + "\n")
    _OUT.flush()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--domain", type=int, default=1)
    p.add_argument("--interface", default="lo")
    p.add_argument("--rate-hz", type=float, default=200.0)
    p.add_argument("--mode-machine", type=int, default=5)
    args = p.parse_args(argv)
    sys.stdout = sys.stderr

    from unitree_sdk2py.core.channel import (
        ChannelFactoryInitialize,
        ChannelPublisher,
        ChannelSubscriber,
    )
    from unitree_sdk2py.idl.default import unitree_hg_msg_dds__LowState_
    from unitree_sdk2py.idl.unitree_hg.msg.dds_ import LowCmd_, LowState_
    from unitree_sdk2py.utils.crc import CRC

    plant = G1Plant(mode_machine=args.mode_machine)
    crc = CRC()
    ChannelFactoryInitialize(args.domain, args.interface or None)  # raises if it fails

    def on_cmd(msg) -> None:
        plant.accept(LowCmd.from_msg(msg), crc.Crc(msg) == msg.crc)

    sub = ChannelSubscriber("rt/lowcmd", LowCmd_)
    sub.Init(on_cmd, 10)
    pub = ChannelPublisher("rt/lowstate", LowState_)
    pub.Init()
    stop = threading.Event()

    def publish() -> None:
        period, last = 1.0 / args.rate_hz, time.monotonic()
        while not stop.wait(period):
            now = time.monotonic()
            state = plant.step(now - last)
            last = now
            msg = unitree_hg_msg_dds__LowState_()
            state.fill(msg)
            msg.crc = crc.Crc(msg)
            if not plant.silent.is_set():
                pub.Write(msg)

    thread = threading.Thread(target=publish, name="robot-lowstate", daemon=True)
    thread.start()
    _reply({"ready": True, "cyclonedds": version("cyclonedds")})
    for line in sys.stdin:
        request = json.loads(line)
        op = request.get("op")
        if op == "status":
            with plant.lock:
                _reply({
                    "received": plant.received,
                    "bad_crc": plant.bad_crc,
                    "command": plant.command.pack().hex(),
                })  # fmt: skip
        elif op == "silent":
            (plant.silent.set if request.get("on", True) else plant.silent.clear)()
            _reply({"ok": True})
        elif op == "motor_error":
            plant.set_motor_error(int(request["index"]), int(request["code"]))
            _reply({"ok": True})
        elif op == "stop":
            break
        else:
            _reply({"error": f"unknown op {op!r}"})
    stop.set()
    thread.join(timeout=2)
    sub.Close()
    pub.Close()
    _reply({"stopped": True})
    return 0


if __name__ == "__main__":
    sys.exit(main())
