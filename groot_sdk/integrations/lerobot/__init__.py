"""LeRobot, both ways (tested against lerobot 0.3.3 and 0.4.4).

* :class:`GrootRobot` / :class:`GrootRobotConfig`: any SDK embodiment (simulated or hardware,
  by its plugin name) as a LeRobot ``Robot``, registered as ``--robot.type=groot_sdk``, and
  :class:`GrootTrajectory` (``--teleop.type=groot_sdk_trajectory``), a scripted teleoperator.
  They subclass LeRobot's classes, so touching them imports ``lerobot``. LeRobot >= 0.4 finds
  them through its third-party discovery once the ``lerobot_robot_groot_sdk`` distribution
  (``plugins/lerobot-robot-groot-sdk``) is installed, so ``lerobot-record`` can drive them.
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
_TELEOP_NAMES = ("GrootTrajectory", "GrootTrajectoryConfig", "TELEOP_TYPE")


def __getattr__(name: str) -> Any:
    # LeRobot's device factory looks the device class up on this package by name
    if name in _ROBOT_NAMES:
        from groot_sdk.integrations.lerobot import robot

        return getattr(robot, name)
    if name in _TELEOP_NAMES:
        from groot_sdk.integrations.lerobot import teleop

        return getattr(teleop, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "TELEOP_TYPE",
    "TYPE_NAME",
    "GrootRobot",
    "GrootRobotConfig",
    "GrootTrajectory",
    "GrootTrajectoryConfig",
    "LeRobotCamera",
    "LeRobotJoints",
    "embodiment_from_lerobot",
    "spec_from_lerobot",
]
