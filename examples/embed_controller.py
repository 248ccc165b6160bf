"""Your loop, the SDK's policy execution: a plain loop over a MuJoCo simulator with
``groot_sdk.Controller`` (what a ROS 2 timer callback or a gym env's ``step`` would do).

    python examples/embed_controller.py                      # SO-101 reach, ik, 5 episodes
    python examples/embed_controller.py --every 2            # the host at half the sim rate
    python examples/embed_controller.py --policy sinusoid --seconds 3

The loop owns the clock (here: simulated time), the sensors and the actuators; the controller
decides what to send (see docs/embedding.md). Needs groot-sdk-so101 and the `sim` extra.
"""

from __future__ import annotations

import argparse
import json
import math

from groot_sdk import Controller, DeployConfig
from groot_sdk.plugins import get_registry
from groot_sdk.policy.factory import make_backend


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--embodiment", default="so101")
    ap.add_argument("--policy", default="ik")
    ap.add_argument("--episodes", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=None, help="per episode (default: the sim's)")
    ap.add_argument("--every", type=int, default=1, help="host step every N sim control periods")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    entry = get_registry().embodiment(args.embodiment)
    spec = entry.spec
    backend = make_backend(args.policy, spec)
    robot = entry.make_sim(seed=args.seed, render=bool(backend.layout.video))
    sim = robot.episodic
    dt = spec.rates.low_level_dt  # one write advances the simulator by this much
    # rate 0: the host waits for each answer (lock-step); hardware=False: simulated time
    config = DeployConfig(rate_hz=0)
    outcomes = []
    try:
        robot.connect()
        robot.enable()
        with backend, Controller(spec, backend, config, hardware=False) as controller:
            for episode in range(args.episodes):
                sim.reset(seed=args.seed + episode)
                controller.reset(robot.read_joints().position, task=sim.instruction)
                periods = math.inf
                if args.seconds is not None:
                    periods = args.seconds / dt
                elif getattr(sim, "max_steps", None):  # policy steps
                    periods = math.ceil(sim.max_steps * spec.rates.policy_dt / dt - 1e-6)
                k = 0
                while k < periods and not sim.done():
                    command = controller.step(
                        robot.read_joints(),
                        robot.read_cameras,  # called (rendered) only when observing
                        k * dt,
                        state=None if spec.state_dims is None else robot.read_state(),
                    )
                    if command.mode == "stop":  # watchdog or fault: your safe stop here
                        raise SystemExit(f"safe stop: {command.reason}")
                    for _ in range(args.every):  # "hold" keeps the last setpoint
                        robot.write(command.position)
                    k += args.every
                outcomes.append(bool(sim.success()))
    finally:
        robot.safe_stop()
        robot.close()
    result = {"episodes": len(outcomes), "successes": sum(outcomes), "episode_success": outcomes}
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
