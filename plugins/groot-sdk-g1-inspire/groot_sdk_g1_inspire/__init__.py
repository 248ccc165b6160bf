"""groot-sdk plugin: Unitree G1 (29 DOF) with two Inspire RH56 hands: the 53-D layout."""

__version__ = "0.1.0"
