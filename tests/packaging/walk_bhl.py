"""Walk the BHL as ``groot run -e bhl --sim -p onnx-rl --command 0.3,0,0 --seconds 10
--rate 0`` does (the registry's simulator and backend, by name, no paths) and print what the
CLI's report does not: which model and policy were used, the distance walked and the lowest
IMU height. Run by the packaging tests in an interpreter that sees only installed packages."""

from __future__ import annotations

import json

import groot_sdk_bhl

import groot_sdk
from groot_sdk.deploy import DeployConfig, RealtimeDeployer
from groot_sdk.plugins import get_registry
from groot_sdk.policy.factory import make_backend


def main() -> None:
    entry = get_registry().embodiment("bhl")
    robot = entry.make_sim(seed=0, render=False)
    policy = make_backend("onnx-rl", entry.spec)
    ep = robot.episodic
    lowest: list[float] = []
    config = DeployConfig(rate_hz=0, seconds=10.0, command=(0.3, 0.0, 0.0), status_every=0.04)
    with robot:
        start = ep.base_position()
        report = RealtimeDeployer(
            robot, policy, config, on_status=lambda _: lowest.append(ep.imu_height())
        ).run()
        moved = ep.base_position() - start
    print(
        json.dumps(
            {
                "groot_sdk": groot_sdk.__file__,
                "groot_sdk_bhl": groot_sdk_bhl.__file__,
                "model": ep.model_info,
                "policy": policy.path,
                "moved_x": float(moved[0]),
                "lowest_imu": min(lowest),
                "start_imu": ep.start_height,
                "sim_time": ep.time,
                "stop_reason": report.stop_reason,
                "safety_stops": report.safety_stops,
            }
        )
    )


if __name__ == "__main__":
    main()
