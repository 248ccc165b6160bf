"""Fetch (gymnasium-robotics): a 4-D Cartesian action and a 16-D proprioceptive state.

The action is what the environment takes, ``[dx, dy, dz, gripper]`` in [-1, 1]: the position
part moves the gripper by up to 5 cm per step, +1 opens the gripper. These are commands,
not joint positions, hence the ``normalized`` unit and ``eef`` kind.
The state is gymnasium-robotics' proprioception plus the object and goal positions, so that
state-based baselines (scripted, RL residuals) see what they need.
"""

from groot_sdk.spec import (
    CameraSpec,
    ControlRates,
    EmbodimentSpec,
    GripperSpec,
    Group,
    GroupKind,
    Joint,
    Unit,
)

STATE_GROUPS = {
    "eef_position": ("grip_x", "grip_y", "grip_z"),
    "gripper_qpos": ("finger_r", "finger_l"),
    "eef_velocity": ("grip_vx", "grip_vy", "grip_vz"),
    "gripper_qvel": ("finger_vr", "finger_vl"),
    "object_position": ("object_x", "object_y", "object_z"),
    "goal_position": ("goal_x", "goal_y", "goal_z"),
}


def _state():
    dims, groups, start = [], [], 0
    for key, names in STATE_GROUPS.items():
        dims.extend(names)
        groups.append(Group(key, start, start + len(names)))
        start += len(names)
    return tuple(dims), tuple(groups)


_dims, _groups = _state()
_n = Unit.NORMALIZED

SPEC = EmbodimentSpec(
    name="fetch",
    joints=(
        Joint("dx", -1, 1, unit=_n),
        Joint("dy", -1, 1, unit=_n),
        Joint("dz", -1, 1, unit=_n),
        Joint("gripper", -1, 1, unit=_n),
    ),
    action_groups=(
        Group("eef_delta", 0, 3, kind=GroupKind.EEF),
        Group("gripper", 3, 4, kind=GroupKind.GRIPPER),
    ),
    state_dims=_dims,
    state_groups=_groups,
    cameras=(CameraSpec("front", 480, 480, fps=25),),
    rates=ControlRates(policy_hz=25.0, low_level_hz=25.0),
    gripper=GripperSpec("gripper", open=1.0, closed=-1.0),
    robot_type="fetch",
    description="Fetch arm in gymnasium-robotics (Reach/Push/PickAndPlace v4), Cartesian deltas",
)
