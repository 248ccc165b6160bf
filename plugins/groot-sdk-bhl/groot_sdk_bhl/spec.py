"""Berkeley Humanoid Lite: 22 actuated joints, arms then legs (the policy/sim order).

Limits come from the published MJCF; defaults are the RL policy's standing pose.
Each joint lives on one of four CAN buses with a 7-bit device id (:data:`CAN_MAP`).
"""

from groot_sdk.spec import CameraSpec, ControlRates, EmbodimentSpec, Joint

LEG_VEL = 10.0  # rad/s, Isaac actuator config
ARM_VEL = 10.0


def _j(name, lo, hi, default=0.0, vel=ARM_VEL, effort=4.0):
    return Joint(name, lo, hi, default=default, velocity_limit=vel, effort_limit=effort)


LEFT_ARM = [
    _j("arm_left_shoulder_pitch_joint", -1.571, 0.785),
    _j("arm_left_shoulder_roll_joint", -0.262, 1.309),
    _j("arm_left_shoulder_yaw_joint", -0.785, 0.785),
    _j("arm_left_elbow_pitch_joint", 0.0, 1.571),
    _j("arm_left_elbow_roll_joint", -0.785, 0.785),
]
RIGHT_ARM = [
    _j("arm_right_shoulder_pitch_joint", -0.785, 1.571),
    _j("arm_right_shoulder_roll_joint", -1.309, 0.262),
    _j("arm_right_shoulder_yaw_joint", -0.785, 0.785),
    _j("arm_right_elbow_pitch_joint", -1.571, 0.0),
    _j("arm_right_elbow_roll_joint", -0.785, 0.785),
]
LEFT_LEG = [
    _j("leg_left_hip_roll_joint", -0.175, 1.571, vel=LEG_VEL, effort=6.0),
    _j("leg_left_hip_yaw_joint", -0.982, 0.589, vel=LEG_VEL, effort=6.0),
    _j("leg_left_hip_pitch_joint", -1.898, 0.982, -0.2, vel=LEG_VEL, effort=6.0),
    _j("leg_left_knee_pitch_joint", 0.0, 2.443, 0.4, vel=LEG_VEL, effort=6.0),
    _j("leg_left_ankle_pitch_joint", -0.785, 0.785, -0.3, vel=LEG_VEL, effort=6.0),
    _j("leg_left_ankle_roll_joint", -0.262, 0.262, vel=LEG_VEL, effort=6.0),
]
RIGHT_LEG = [
    _j("leg_right_hip_roll_joint", -1.571, 0.175, vel=LEG_VEL, effort=6.0),
    _j("leg_right_hip_yaw_joint", -0.589, 0.982, vel=LEG_VEL, effort=6.0),
    _j("leg_right_hip_pitch_joint", -1.898, 0.982, -0.2, vel=LEG_VEL, effort=6.0),
    _j("leg_right_knee_pitch_joint", 0.0, 2.443, 0.4, vel=LEG_VEL, effort=6.0),
    _j("leg_right_ankle_pitch_joint", -0.785, 0.785, -0.3, vel=LEG_VEL, effort=6.0),
    _j("leg_right_ankle_roll_joint", -0.262, 0.262, vel=LEG_VEL, effort=6.0),
]

#: joint -> (bus index, CAN device id); buses: 0 left arm, 1 right arm, 2 left leg, 3 right leg
CAN_MAP = {
    **{j.name: (0, i) for j, i in zip(LEFT_ARM, (1, 3, 5, 7, 9))},
    **{j.name: (1, i) for j, i in zip(RIGHT_ARM, (2, 4, 6, 8, 10))},
    **{j.name: (2, i) for j, i in zip(LEFT_LEG, (1, 3, 5, 7, 11, 13))},
    **{j.name: (3, i) for j, i in zip(RIGHT_LEG, (2, 4, 6, 8, 12, 14))},
}

SPEC = EmbodimentSpec.from_groups(
    "bhl",
    {"left_arm": LEFT_ARM, "right_arm": RIGHT_ARM, "left_leg": LEFT_LEG, "right_leg": RIGHT_LEG},
    cameras=(CameraSpec("head", 640, 480, fps=30),),
    rates=ControlRates(policy_hz=10.0, low_level_hz=250.0, rl_hz=25.0),
    robot_type="berkeley_humanoid_lite",
    description="Berkeley Humanoid Lite, 22 DOF; RL legs at 25 Hz, GR00T at 10 Hz, 250 Hz low level",
)
