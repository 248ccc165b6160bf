"""LeRobot, both ways (tested against lerobot 0.3.3).

* :class:`GrootRobot` / :class:`GrootRobotConfig`: any SDK embodiment (simulated or hardware,
  by its plugin name) as a LeRobot ``Robot``, registered as ``--robot.type=groot_sdk``. They
  subclass LeRobot's classes, so touching them imports ``lerobot``.
* :func:`spec_from_lerobot` / :func:`embodiment_from_lerobot`: any LeRobot robot as an SDK
  :class:`~groot_sdk.embodiment.Embodiment`, for the deployer, the controller and recording.
  These only read the robot's documented attributes and do not import ``lerobot``.
"""

from __future__ import annotations

from typing import Any

from groot_sdk.integrations.lerobot.embodiment import (
    LeRobotCamera,
    LeRobotJoints,
    embodiment_from_lerobot,
    spec_from_lerobot,
)

_ROBOT_NAMES = ("GrootRobot", "GrootRobotConfig", "TYPE_NAME")


def __getattr__(name: str) -> Any:
    if name in _ROBOT_NAMES:
        from groot_sdk.integrations.lerobot import robot

        return getattr(robot, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "TYPE_NAME",
    "GrootRobot",
    "GrootRobotConfig",
    "LeRobotCamera",
    "LeRobotJoints",
    "embodiment_from_lerobot",
    "spec_from_lerobot",
]
