"""Teleoperation devices of the SO-101 (found by ``groot teleop`` as ``<plugin>.teleop``).

* ``leader``: the SO-101 leader arm (:mod:`groot_sdk_so101.leader`), joint by joint.
* keyboard / gamepad: Cartesian end-effector commands through :func:`cartesian_solver`, the
  MuJoCo kinematics of the ``ik`` baseline (the ``sim`` extra); ``wrist_roll`` turns with the
  roll axis.
"""

from __future__ import annotations

from typing import Any

from groot_sdk.spec import EmbodimentSpec

#: joint turned by the roll axis of a Cartesian device
ROLL_JOINT = "wrist_roll"


def make_device(spec: EmbodimentSpec, device: str, **options: Any):
    """A teleop mapping for ``device``, or None when this plugin does not provide it."""
    if device == "leader":
        from groot_sdk_so101.leader import make_leader

        return make_leader(spec, **options)
    return None


DEVICES = ("leader",)


def cartesian_solver(spec: EmbodimentSpec):
    """Forward and inverse kinematics of the ``gripperframe`` site (damped least squares on
    pan, lift, elbow and wrist flex)."""
    from groot_sdk_so101.ik import So101ReachIK

    return So101ReachIK(spec, target=(0.2, 0.0, 0.1), iterations=30)
