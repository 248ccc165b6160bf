"""groot-sdk plugin: Berkeley Humanoid Lite: 22 DOF (arms 2x5, legs 2x6), Recoil CAN motor controllers."""

__version__ = "0.1.0"
