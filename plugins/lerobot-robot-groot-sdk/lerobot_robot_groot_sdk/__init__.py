"""Imported by LeRobot's third-party discovery: registers the groot-sdk robot and teleoperator
config types with LeRobot's draccus choice registries."""

from groot_sdk.integrations.lerobot.robot import TYPE_NAME, GrootRobot, GrootRobotConfig
from groot_sdk.integrations.lerobot.teleop import (
    TELEOP_TYPE,
    GrootTrajectory,
    GrootTrajectoryConfig,
)

__all__ = [
    "TELEOP_TYPE",
    "TYPE_NAME",
    "GrootRobot",
    "GrootRobotConfig",
    "GrootTrajectory",
    "GrootTrajectoryConfig",
]
