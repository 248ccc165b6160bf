"""Deployment: the real-time loop that closes sensors -> policy -> actuators, safely."""

from groot_sdk.deploy.base import Deployer, RunReport, StepRecorder

__all__ = ["Deployer", "RunReport", "StepRecorder"]
