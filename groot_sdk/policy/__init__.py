"""Policy backends: the contract, and the light baselines."""

from groot_sdk.policy.backend import ActionChunk, Observation, PolicyBackend
from groot_sdk.policy.simple import HoldPolicy, ZeroPolicy

__all__ = ["ActionChunk", "HoldPolicy", "Observation", "PolicyBackend", "ZeroPolicy"]
