"""Runtime overhead and loop timing for the G1 + Inspire shapes (53-D, one 224x224 camera).

Rows (per policy step, model excluded; median and p99 over many repetitions):
* ``numpy copy (baseline)``  copying the same arrays (image, state, chunk): the floor
* ``assemble``               state/frames -> N1.5 observation dict (the deployer's
                             precomputed ObservationAssembler)
* ``assemble (one-off)``     the same through ``assemble_observation`` (plans every call)
* ``validate``               the observation check
* ``decode``                 action chunk (16 x 53) -> clamped joint targets
* ``sdk overhead``           assemble + validate + decode (goal < 100 us)
* ``setpoint``               per low-level tick: trajectory sample + safety filter
* ``assemble 640x480``       for reference: with a resize from the native camera size

Loop timing at 250 Hz (lateness of each tick's start against its deadline; goal p99 < 1 ms):
* ``bare clock (baseline)``  the deadline clock with no work: the OS floor in this run
* ``deployer``               the full deployer on mock hardware under the sinusoid policy
* ``deployer SCHED_FIFO 50``  the same with ``rt_priority=50`` (``--rt-priority``), where
                             the OS allows it

The clock alone, idle and under CPU load, is benchmarks/bench_clock.py. ``--quick`` runs in
a few seconds. Writes out/bench/runtime.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import attrs
import numpy as np

from groot_sdk.deploy import DeployConfig, RealtimeDeployer
from groot_sdk.deploy.timing import DeadlineClock
from groot_sdk.deploy.trajectory import ChunkTrajectory
from groot_sdk.embodiment import mock_embodiment
from groot_sdk.hardware import Frame
from groot_sdk.modality import ModalityLayout
from groot_sdk.plugins import get_registry
from groot_sdk.policy.actions import ActionDecoder, SafetyFilter, zero_order_mask
from groot_sdk.policy.baselines import SinusoidPolicy
from groot_sdk.policy.observation import (
    ObservationAssembler,
    assemble_observation,
    validate_observation,
)


def timeit_us(fn, n: int) -> dict[str, float]:
    for _ in range(min(50, n)):
        fn()
    out = np.empty(n)
    for i in range(n):
        t = time.perf_counter_ns()
        fn()
        out[i] = time.perf_counter_ns() - t
    us = out / 1e3
    return {"median_us": float(np.median(us)), "p99_us": float(np.percentile(us, 99))}


def overhead(n: int) -> dict[str, dict[str, float]]:
    spec = get_registry().embodiment("g1_inspire").spec
    cam = spec.cameras[0]
    spec224 = attrs.evolve(spec, cameras=(attrs.evolve(cam, width=224, height=224),))
    layout = ModalityLayout.from_spec(spec224)
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (224, 224, 3), dtype=np.uint8)
    native = rng.integers(0, 255, (cam.height, cam.width, 3), dtype=np.uint8)
    state = rng.uniform(-0.1, 0.1, spec.dof).astype(np.float32)
    frames = {cam.name: Frame(image)}
    task = "pick up the cup"
    chunk = {
        f"action.{k.key}": rng.uniform(-0.1, 0.1, (16, k.dim)).astype(np.float32)
        for k in layout.action
    }
    decoder = ActionDecoder(spec224, layout)
    assemble = ObservationAssembler(spec224, layout=layout)  # what the deployer uses
    obs = assemble(state, frames, task)

    def baseline():
        image.copy()
        state.copy()
        for v in chunk.values():
            v.copy()

    def full():
        o = assemble(state, frames, task)
        validate_observation(o, layout)
        decoder.decode(chunk, state)

    traj = ChunkTrajectory(spec.rates.policy_dt, zero_order_mask(spec))
    traj.merge(decoder.decode(chunk, state), 0.0, 0.0, state)
    safety = SafetyFilter(spec, spec.rates.low_level_dt)
    t = [0.0]

    def setpoint():
        t[0] = (t[0] + spec.rates.low_level_dt) % 0.5
        target = traj.sample(t[0])
        assert target is not None
        safety(target, state)

    return {
        "numpy copy (baseline)": timeit_us(baseline, n),
        "assemble": timeit_us(lambda: assemble(state, frames, task), n),
        "assemble (one-off)": timeit_us(
            lambda: assemble_observation(spec224, state, frames, task), n
        ),
        "validate": timeit_us(lambda: validate_observation(obs, layout), n),
        "decode": timeit_us(lambda: decoder.decode(chunk, state), n),
        "sdk overhead": timeit_us(full, n),
        "setpoint": timeit_us(setpoint, n),
        "assemble 640x480": timeit_us(
            lambda: assemble(state, {cam.name: Frame(native)}, task),
            max(n // 10, 50),
        ),
    }


def loop_timing(seconds: float) -> dict[str, dict[str, float]]:
    spec = get_registry().embodiment("g1_inspire").spec
    clock = DeadlineClock(spec.rates.low_level_hz)
    for _ in range(round(seconds * spec.rates.low_level_hz)):
        clock.wait()
    bare = clock.stats()
    rows = {"bare clock (baseline)": bare}
    for name, prio in (("deployer", None), ("deployer SCHED_FIFO 50", 50)):
        robot = mock_embodiment(spec)
        policy = SinusoidPolicy(spec, amplitude=0.2)
        dep = RealtimeDeployer(robot, policy, DeployConfig(seconds=seconds, rt_priority=prio))
        report = dep.run()
        if prio and report.extra.get("rt_priority") is None:
            continue  # not permitted here
        full = dep.clock.stats()
        full["holds"] = report.holds
        full["safety_stops"] = report.safety_stops
        rows[name] = full
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3000, help="repetitions per overhead row")
    ap.add_argument("--seconds", type=float, default=10.0, help="seconds of each 250 Hz loop")
    ap.add_argument("--out", default="out/bench/runtime.json")
    ap.add_argument("--quick", action="store_true", help="a few seconds: small counts")
    args = ap.parse_args()
    if args.quick:
        args.repeat, args.seconds = 200, 0.5

    over = overhead(args.repeat)
    base = over["numpy copy (baseline)"]["median_us"]
    print("SDK overhead per policy step, G1+Inspire (53-D, one 224x224 camera), model excluded")
    print(f"{'row':<24} {'median us':>10} {'p99 us':>10} {'x baseline':>11}")
    for name, r in over.items():
        ratio = r["median_us"] / base if base > 0 else float("nan")
        print(f"{name:<24} {r['median_us']:>10.1f} {r['p99_us']:>10.1f} {ratio:>11.1f}")
    goal_ok = over["sdk overhead"]["median_us"] < 100
    print(f"goal: sdk overhead < 100 us -> {'met' if goal_ok else 'NOT met'}")

    loops = loop_timing(args.seconds)
    print(f"\n250 Hz loop, {args.seconds:g} s each (lateness of tick starts)")
    print(f"{'row':<24} {'loop Hz':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'overruns':>9}")
    for name, s in loops.items():
        print(
            f"{name:<24} {s['loop_hz']:>8.1f} {s['jitter_ms_p50']:>8.3f} "
            f"{s['jitter_ms_p99']:>8.3f} {s['jitter_ms_max']:>8.3f} {s['overruns']:>9d}"
        )
    jit_ok = loops["deployer"]["jitter_ms_p99"] < 1.0
    print(f"goal: deployer jitter p99 < 1 ms -> {'met' if jit_ok else 'NOT met'}")
    if "deployer SCHED_FIFO 50" in loops:
        rt_ok = loops["deployer SCHED_FIFO 50"]["jitter_ms_p99"] < 1.0
        print(f"goal with --rt-priority 50 -> {'met' if rt_ok else 'NOT met'}")

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    doc = {
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_avg": os.getloadavg(),
        },
        "overhead": over,
        "overhead_ratio_vs_copy": over["sdk overhead"]["median_us"] / base if base else None,
        "loop_250hz": loops,
        "goals": {
            "overhead_lt_100us": goal_ok,
            "jitter_p99_lt_1ms": jit_ok,
            "jitter_p99_lt_1ms_rt": (
                loops["deployer SCHED_FIFO 50"]["jitter_ms_p99"] < 1.0
                if "deployer SCHED_FIFO 50" in loops
                else None
            ),
        },
    }
    out.write_text(json.dumps(doc, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
