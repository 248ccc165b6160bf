"""Deployment: the real-time loop that closes sensors -> policy -> actuators, safely."""

from groot_sdk.deploy.base import Deployer, RunReport

__all__ = ["Deployer", "RunReport"]
