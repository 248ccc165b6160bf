"""Simulated robots: cost of one low-level control period, of reading the joints, and of a
camera frame, for each of the four simulators.

Rows per robot (milliseconds per call):

* ``<robot> physics``  the bare simulator step of one control period (``mj_step`` x substeps,
  or gymnasium's ``env.step`` for Fetch): the baseline
* ``<robot> write``    the SDK's actuator write: servo targets + that same step
* ``<robot> read``     the SDK's joint read (positions, velocities, efforts; no physics)
* ``<robot> render``   one camera frame at the spec's native resolution (offscreen GL)

``realtime x`` is the control period divided by the write's mean: how much faster than real
time a lock-step loop can simulate. Ratios are against ``physics`` of the same robot, timed
in interleaved blocks in the same run. Uses the generated BHL/G1 models (the published ones
when GROOT_BHL_MODEL / GROOT_G1_MODEL point at them). Writes out/bench/sim.json.
"""

from __future__ import annotations

import argparse
import json
import platform
from pathlib import Path

import numpy as np
from _timing import interleaved

from groot_sdk.cli.commands.benchmark import summarize
from groot_sdk.sim import configure_gl

configure_gl()


def _robot(name: str):
    from groot_sdk.plugins import get_registry

    entry = get_registry().embodiment(name)
    robot = entry.make_sim(
        seed=0, render=True, **({"task": "gantry"} if name in ("bhl", "g1_inspire") else {})
    )
    return entry.spec, robot


def bench(name: str, calls: int, frames: int) -> tuple[dict[str, list[float]], float]:
    spec, robot = _robot(name)
    robot.connect()
    robot.enable()
    target = np.array(spec.defaults, np.float32)
    act = next(iter(robot.actuators.values()))
    if name == "fetch":
        env = robot.episodic.env
        zero = np.zeros(4, np.float32)
        physics = lambda: env.step(zero)
    else:
        world = act.world
        physics = lambda: world.mj.mj_step(world.model, world.data, nstep=world.substeps)
    timers = {
        f"{name} physics": physics,
        f"{name} write": lambda: robot.write(target),
        f"{name} read": robot.read_joints,
    }
    samples = interleaved(timers, calls)
    cam = next(s for s in robot.sensors.values() if hasattr(s, "camera"))
    cam.read()  # the first frame creates the GL context and uploads meshes
    samples.update(interleaved({f"{name} render": cam.read}, frames, block=1))
    robot.close()
    return samples, spec.rates.low_level_dt * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--frames", type=int, default=10)
    parser.add_argument("--out", default="out/bench")
    args, _ = parser.parse_known_args()
    doc: dict = {"machine": platform.platform(), "processor": platform.processor(), "rows": {}}
    print(f"{'row':<20} {'p50 ms':>9} {'p99 ms':>9} {'mean ms':>9}  ratio vs physics  realtime x")
    for name in ("fetch", "so101", "bhl", "g1_inspire"):
        try:
            samples, period_ms = bench(name, args.calls, args.frames)
        except ImportError as exc:
            print(f"skipping {name}: {exc}")
            continue
        base = summarize(samples[f"{name} physics"])["mean"]
        for row, values in samples.items():
            stats = summarize(values)
            ratio = stats["mean"] / base
            rt = period_ms / stats["mean"] if row.endswith("write") else None
            doc["rows"][row] = {**stats, "ratio": ratio, "realtime_factor": rt}
            rt_text = f"{rt:10.1f}" if rt else ""
            print(
                f"{row:<20} {stats['p50']:9.4f} {stats['p99']:9.4f} {stats['mean']:9.4f}  "
                f"{ratio:15.2f}  {rt_text}"
            )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "sim.json").write_text(json.dumps(doc, indent=2))
    print(f"wrote {out / 'sim.json'}")


if __name__ == "__main__":
    main()
