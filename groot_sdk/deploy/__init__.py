"""Deployment: the real-time loop that closes sensors -> policy -> actuators, safely."""

from groot_sdk.deploy.base import Deployer, RunReport, StepRecorder
from groot_sdk.deploy.loop import DeployConfig, RealtimeDeployer, run_policy

__all__ = [
    "DeployConfig",
    "Deployer",
    "RealtimeDeployer",
    "RunReport",
    "StepRecorder",
    "run_policy",
]
