"""Simulated robots: the SDK's whole control loop against the bare simulator, per robot.

Rows per robot (milliseconds per control tick, means of interleaved rounds):

* ``<robot> physics``  the bare simulator step of one control period (``mj_step`` x substeps,
  or gymnasium's ``env.step`` for Fetch), timed inside the SDK loop's run so that it steps
  exactly the states the loop visits (a standalone step of a robot left limp or fallen costs
  more or less than one held upright): the baseline
* ``<robot> sdk loop`` ``groot run -p hold --rate 0``'s loop: the deployer's whole tick
  (clock, controller, trajectory sample, safety filter, actuator write and that same step,
  lock-step inference of the hold policy every replan), timed from the first tick's start
  to the last one's over a run, so episode setup is excluded
* ``<robot> read``     the SDK's joint read (positions, velocities, efforts; no physics)
* ``<robot> render``   one camera frame at the spec's native resolution (offscreen GL)

The ratio is the bare step's mean over the SDK loop's mean tick, per round: the fraction of
the bare simulator's step rate the SDK loop reaches (goal >= 0.8, issue 18), both from the
same run; printed as the median and the best round, with the SDK's own microseconds per tick. ``--quick`` runs in a few seconds.
Uses the generated BHL/G1 models (the published ones when GROOT_BHL_MODEL / GROOT_G1_MODEL
point at them). Writes out/bench/sim.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
from _timing import interleaved

from groot_sdk.cli.commands.benchmark import summarize
from groot_sdk.sim import configure_gl

configure_gl()

ROBOTS = ("fetch", "so101", "bhl", "g1_inspire")
GOAL = 0.8


def _robot(name: str, render: bool):
    from groot_sdk.plugins import get_registry

    entry = get_registry().embodiment(name)
    robot = entry.make_sim(
        seed=0, render=render, **({"task": "gantry"} if name in ("bhl", "g1_inspire") else {})
    )
    return entry.spec, robot


class _Timed:
    """Wraps the simulator's step (``world.step``, or ``env.step`` for Fetch) and sums its
    time: the bare simulator's cost on exactly the states the SDK loop visits."""

    def __init__(self, owner, attr: str) -> None:
        self.owner, self.attr, self.inner = owner, attr, getattr(owner, attr)
        self.seconds, self.calls = 0.0, 0
        setattr(owner, attr, self)

    def __call__(self, *args, **kwargs):
        t = time.perf_counter()
        try:
            return self.inner(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - t
            self.calls += 1


def _stepper(name: str, robot):
    if name == "fetch":
        return robot.episodic.env, "step"
    return next(iter(robot.actuators.values())).world, "step"


def _sdk_loop(robot, spec, ticks: int, timed: _Timed) -> tuple[float, float]:
    """(tick period, physics per tick) in ms over one ``groot run -p hold --rate 0`` run."""
    from groot_sdk.deploy import DeployConfig, RealtimeDeployer
    from groot_sdk.policy.simple import HoldPolicy

    cfg = DeployConfig(rate_hz=0, seconds=ticks * spec.rates.low_level_dt)
    dep = RealtimeDeployer(robot, HoldPolicy(spec), cfg)
    timed.seconds, timed.calls = 0.0, 0
    report = dep.run()
    starts = dep.clock.starts
    if report.safety_stops or len(starts) < 2:
        raise RuntimeError(f"sdk loop did not run: {report.stop_reason}")
    loop = (starts[-1] - starts[0]) / (len(starts) - 1) * 1e3
    return loop, timed.seconds / max(timed.calls, 1) * 1e3


def bench(name: str, ticks: int, rounds: int, calls: int, frames: int) -> dict[str, list[float]]:
    spec, robot = _robot(name, render=False)
    timed = _Timed(*_stepper(name, robot))
    samples: dict[str, list[float]] = {f"{name} physics": [], f"{name} sdk loop": []}
    _sdk_loop(robot, spec, min(ticks, 50), timed)  # warm up (imports, first inference)
    for _ in range(rounds):
        loop, physics = _sdk_loop(robot, spec, ticks, timed)
        samples[f"{name} physics"].append(physics)
        samples[f"{name} sdk loop"].append(loop)
    robot.close()
    spec, robot = _robot(name, render=True)
    robot.connect()
    robot.enable()
    samples.update(interleaved({f"{name} read": robot.read_joints}, calls))
    cam = next(s for s in robot.sensors.values() if hasattr(s, "camera"))
    cam.read()  # the first frame creates the GL context and uploads meshes
    samples.update(interleaved({f"{name} render": cam.read}, frames, block=1))
    robot.close()
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", type=int, default=2000, help="ticks per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--frames", type=int, default=10)
    parser.add_argument("--robots", default=",".join(ROBOTS))
    parser.add_argument("--quick", action="store_true", help="a few seconds: small counts")
    parser.add_argument("--out", default="out/bench")
    args, _ = parser.parse_known_args()
    if args.quick:
        args.ticks, args.rounds, args.calls, args.frames = 100, 1, 20, 2
    doc: dict = {"machine": platform.platform(), "processor": platform.processor(), "rows": {}}
    print(f"{'row':<22} {'p50 ms':>9} {'mean ms':>9}")
    ratios: dict[str, dict[str, float]] = {}
    for name in args.robots.split(","):
        try:
            samples = bench(name, args.ticks, args.rounds, args.calls, args.frames)
        except ImportError as exc:
            print(f"skipping {name}: {exc}")
            continue
        for row, values in samples.items():
            stats = summarize(values)
            doc["rows"][row] = stats
            print(f"{row:<22} {stats['p50']:9.4f} {stats['mean']:9.4f}")
        # one ratio per round (physics and loop of the same run), so that a burst of load
        # from other processes spoils one round, not the comparison
        per_round = np.array(samples[f"{name} physics"]) / np.array(samples[f"{name} sdk loop"])
        overhead_us = (
            np.array(samples[f"{name} sdk loop"]) - np.array(samples[f"{name} physics"])
        ) * 1e3
        ratios[name] = {
            "median": float(np.median(per_round)),
            "best": float(per_round.max()),
            "sdk_us_per_tick": float(np.median(overhead_us)),
        }
    print(f"\nsdk loop rate / bare simulator step rate, {args.rounds} round(s) (goal >= {GOAL}):")
    print(f"  {'robot':<12} {'median':>7} {'best':>7} {'sdk us/tick':>12}")
    for name, r in ratios.items():
        verdict = "met" if r["median"] >= GOAL else "NOT met"
        print(
            f"  {name:<12} {r['median']:7.2f} {r['best']:7.2f} {r['sdk_us_per_tick']:12.1f}"
            f"  {verdict}"
        )
    doc["loop_vs_bare"] = ratios
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "sim.json").write_text(json.dumps(doc, indent=2))
    print(f"wrote {out / 'sim.json'}")


if __name__ == "__main__":
    main()
