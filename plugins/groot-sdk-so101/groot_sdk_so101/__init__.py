"""groot-sdk plugin: SO-101 arm: 5 joints + gripper, Feetech STS3215 servos over serial."""

__version__ = "0.1.0"
