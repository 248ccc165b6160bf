"""Close the loop on a simulated robot from Python: what `groot run --sim` does, step by step.

    python examples/run_sim.py                        # Fetch reach, scripted, 5 episodes
    python examples/run_sim.py --embodiment bhl --policy sinusoid --seconds 5

Needs the robot's plugin and the `sim` extra (MuJoCo; Fetch also gymnasium-robotics).
"""

from __future__ import annotations

import argparse
import json

from groot_sdk.deploy import DeployConfig, RealtimeDeployer
from groot_sdk.plugins import get_registry
from groot_sdk.policy.factory import make_backend


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--embodiment", default="fetch")
    ap.add_argument("--policy", default="scripted")
    ap.add_argument("--task", default="reach")
    ap.add_argument("--episodes", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=None)
    ap.add_argument("--rate", type=float, default=0.0, help="0: as fast as the simulator goes")
    args = ap.parse_args()

    entry = get_registry().embodiment(args.embodiment)
    policy = make_backend(args.policy, entry.spec)
    # the simulator renders cameras only when the policy looks at them
    robot = entry.make_sim(task=args.task, seed=0, render=bool(policy.layout.video))
    config = DeployConfig(
        rate_hz=args.rate,
        episodes=args.episodes,
        seconds=args.seconds,
    )
    try:
        report = RealtimeDeployer(robot, policy, config).run()
    finally:
        policy.close()
        robot.close()
    print(json.dumps(report.to_json(), indent=2))


if __name__ == "__main__":
    main()
