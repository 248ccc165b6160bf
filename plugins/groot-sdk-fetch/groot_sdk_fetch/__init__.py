"""groot-sdk plugin: Fetch mobile manipulator from gymnasium-robotics: 4-D Cartesian action."""

__version__ = "0.1.0"
