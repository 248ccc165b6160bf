"""SO-101: five arm joints and a gripper (LeRobot order, servo IDs 1..6).

Limits are the MuJoCo model's (``so101_new_calib.xml``: each joint's zero is the middle of
its range). Velocity limit: STS3215 no-load speed is about 0.22 s / 60 deg at 7.4 V.
"""

from groot_sdk.spec import (
    CameraSpec,
    ControlRates,
    EmbodimentSpec,
    GripperSpec,
    GroupKind,
    Joint,
)

VEL = 4.0  # rad/s

#: servo ID of each joint, in joint order
SERVO_IDS = {
    "shoulder_pan": 1,
    "shoulder_lift": 2,
    "elbow_flex": 3,
    "wrist_flex": 4,
    "wrist_roll": 5,
    "gripper": 6,
}

SPEC = EmbodimentSpec.from_groups(
    "so101",
    {
        "single_arm": [
            Joint("shoulder_pan", -1.91986, 1.91986, velocity_limit=VEL),
            Joint("shoulder_lift", -1.74533, 1.74533, velocity_limit=VEL),
            Joint("elbow_flex", -1.69, 1.69, velocity_limit=VEL),
            Joint("wrist_flex", -1.65806, 1.65806, velocity_limit=VEL),
            Joint("wrist_roll", -2.74385, 2.84121, velocity_limit=VEL),
        ],
        "gripper": [Joint("gripper", -0.17453, 1.74533, velocity_limit=VEL)],
    },
    kinds={"gripper": GroupKind.GRIPPER},
    cameras=(CameraSpec("front", 640, 480, fps=30), CameraSpec("wrist", 640, 480, fps=30)),
    rates=ControlRates(policy_hz=30.0, low_level_hz=60.0),
    gripper=GripperSpec("gripper", open=1.5, closed=0.0),
    robot_type="so101_follower",
    description="SO-101 5-DOF arm + gripper, Feetech STS3215 servos",
)
