"""Hardware drivers against their simulated devices: time per bus transaction and per control
cycle, and Unitree's CRC32 three ways.

Rows (milliseconds per call; the devices are Python threads on the same machine, so these
are upper bounds on the driver's own cost, not the wire's):

* ``so101 read``           one READ round trip (2 bytes) on the pty: the SO-101 baseline
* ``so101 cycle``          read (SYNC_READ of 6 servos x position/velocity/load) + SYNC_WRITE
* ``bhl exchange``         PDO 2 command + feedback for 22 joints on four virtual CAN buses
* ``bhl cycle``            read + write of the embodiment (two exchanges)
* ``g1 crc table``         our table-driven CRC of a packed LowCmd (1004 bytes)
* ``g1 crc bitwise``       the same CRC bit by bit in Python (the reference algorithm)
* ``g1 crc unitree .so``   Unitree SDK's compiled ``crc32_core`` through ctypes (when installed)
* ``g1 lowcmd publish``    build the SDK message + CRC + DDS write (when installed)
* ``inspire read``         one Modbus TCP read of ANGLE_ACT on loopback

Ratios are against the baseline row of each group, measured in the same run; rows of a group
are timed in interleaved blocks so background load falls on all of them alike.
Writes out/bench/hardware.json.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import os
import platform
import struct
from pathlib import Path

import numpy as np
from _timing import interleaved

from groot_sdk.cli.commands.benchmark import summarize


def _bitwise_crc(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for (word,) in struct.iter_unpack("<I", data[:-4]):
        for bit in range(31, -1, -1):
            top = (crc >> 31) ^ ((word >> bit) & 1)
            crc = (crc << 1) & 0xFFFFFFFF
            if top:
                crc ^= 0x04C11DB7
    return crc


def bench_so101(calls: int, warmup: int) -> dict:
    from groot_sdk_so101.driver import make_hardware
    from groot_sdk_so101.spec import SPEC

    robot = make_hardware(SPEC, fake=True)
    servos = robot.sensors["servos"]
    target = np.array(SPEC.defaults, np.float32)
    with robot:
        robot.enable()

        def cycle() -> None:
            robot.read_joints()
            robot.write(target)

        samples = interleaved(
            {"so101 read": lambda: servos.bus.read_bytes(1, 56, 2), "so101 cycle": cycle},
            calls, warmup,
        )  # fmt: skip
    return {k: (v, "so101 read") for k, v in samples.items()}


def bench_bhl(calls: int, warmup: int) -> dict:
    from groot_sdk_bhl.driver import make_hardware
    from groot_sdk_bhl.spec import SPEC

    robot = make_hardware(SPEC, fake=True, startup_s=0.1, error_poll_every=0)
    joints = robot.sensors["joints"]
    target = np.array(SPEC.defaults, np.float32)
    with robot:
        robot.enable()

        def cycle() -> None:
            robot.read_joints()
            robot.write(target)

        samples = interleaved(
            {"bhl exchange": lambda: joints._exchange(joints._target), "bhl cycle": cycle},
            calls, warmup,
        )  # fmt: skip
    return {k: (v, "bhl exchange") for k, v in samples.items()}


def bench_g1(calls: int, warmup: int) -> dict:
    from groot_sdk_g1_inspire.dds.messages import LowCmd, message_crc

    cmd = LowCmd(mode_machine=5)
    cmd.q[:] = np.linspace(-1, 1, len(cmd.q))
    packed = cmd.pack()
    timers = {
        "g1 crc table": lambda: message_crc(packed),
        "g1 crc bitwise": lambda: _bitwise_crc(packed),
    }
    sdk = all(importlib.util.find_spec(m) for m in ("cyclonedds", "unitree_sdk2py"))
    closers: list = []
    if sdk:
        import ctypes

        from unitree_sdk2py.utils.crc import CRC

        lib = CRC().crc_lib
        words = (ctypes.c_uint32 * (len(packed) // 4)).from_buffer_copy(packed)
        n = len(packed) // 4 - 1
        assert lib.crc32_core(words, n) == message_crc(packed)
        timers["g1 crc unitree .so"] = lambda: lib.crc32_core(words, n)
        from groot_sdk_g1_inspire.dds.channel import G1LowLevel
        from groot_sdk_g1_inspire.dds.sim import SimulatedG1

        # LowCmd from this thread alone to a simulated robot (not the fake driver, whose
        # publish thread writing the same topic at the same time deadlocks in CycloneDDS's
        # Python binding: its write keeps the GIL while the in-process listener of the other
        # write waits for it; the driver itself writes from one thread only)
        domain = 100 + os.getpid() % 100
        robot = SimulatedG1(domain_id=domain, interface="lo").start()
        lowlevel = G1LowLevel(domain, "lo")
        lowlevel.open()
        closers += [robot.stop, lowlevel.close]
        timers["g1 lowcmd publish"] = lambda: lowlevel.publish(cmd)
    if importlib.util.find_spec("pymodbus"):
        from groot_sdk_g1_inspire.inspire.client import InspireClient
        from groot_sdk_g1_inspire.inspire.sim import SimulatedInspireHand

        hand = SimulatedInspireHand().start()
        client = InspireClient(hand.host, hand.port, timeout_s=0.5)
        client.open()
        closers += [hand.stop, client.close]
        timers["inspire read"] = client.angles
    try:
        samples = interleaved(timers, calls, warmup)
    finally:
        for close in reversed(closers):
            close()
    base = {"inspire read": "inspire read", "g1 lowcmd publish": "g1 lowcmd publish"}
    return {k: (v, base.get(k, "g1 crc bitwise")) for k, v in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--out", default="out/bench")
    parser.add_argument("--quick", action="store_true", help="a few calls: checks it runs")
    args = parser.parse_args()
    if args.quick:
        args.calls, args.warmup = 10, 2
    logging.basicConfig(level=logging.ERROR)
    rows: dict[str, tuple[list[float], str]] = {}
    for bench, needs in ((bench_so101, "serial"), (bench_bhl, "can"), (bench_g1, None)):
        if needs and importlib.util.find_spec(needs) is None:
            print(f"skipping {bench.__name__}: {needs} is not installed")
            continue
        rows.update(bench(args.calls, args.warmup))
    results = {}
    print(f"{'row':<22} {'p50 ms':>9} {'p99 ms':>9} {'mean ms':>9}  ratio (mean vs baseline)")
    for name, (samples, baseline) in rows.items():
        stats = summarize(samples)
        base = summarize(rows[baseline][0])["mean"]
        ratio = stats["mean"] / base
        results[name] = {**stats, "baseline": baseline, "ratio_vs_baseline": ratio}
        print(f"{name:<22} {stats['p50']:9.4f} {stats['p99']:9.4f} {stats['mean']:9.4f}  "
              f"{ratio:6.2f}x {baseline}")  # fmt: skip
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    doc = {
        "machine": {"platform": platform.platform(), "python": platform.python_version()},
        "calls": args.calls,
        "rows": results,
    }
    (out / "hardware.json").write_text(json.dumps(doc, indent=2))
    print(f"wrote {out / 'hardware.json'}")


if __name__ == "__main__":
    main()
