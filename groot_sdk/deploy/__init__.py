"""Deployment: the real-time loop that closes sensors -> policy -> actuators, safely, and the
controller it runs on, for hosts that own their loop."""

from groot_sdk.deploy.base import Deployer, EpisodeMonitor, RunReport, StepRecorder
from groot_sdk.deploy.config import DeployConfig
from groot_sdk.deploy.controller import Command, Controller, NoObservation
from groot_sdk.deploy.loop import RealtimeDeployer, run_policy

__all__ = [
    "Command",
    "Controller",
    "DeployConfig",
    "Deployer",
    "EpisodeMonitor",
    "NoObservation",
    "RealtimeDeployer",
    "RunReport",
    "StepRecorder",
    "run_policy",
]
