"""Unitree G1 (29 DOF, Unitree SDK motor order) with two Inspire RH56 hands: 53-D.

Body joints 0..28 are the ``LowCmd_.motor_cmd[]`` indices. Each hand then contributes the 12
URDF joints of ``g1_29dof_rev_1_0_with_inspire_hand_*`` (left hand 29..40, right 41..52),
the layout G1+Inspire datasets record.

Only 6 values per hand are commanded (Inspire register order: pinky, ring, middle, index,
thumb_bend, thumb_rotation, each 0..1000 with 1000 = open). They map onto the 12 joints:

==================  ===============================  ===========================
register            driven joint                     followers (``Mimic``)
==================  ===============================  ===========================
pinky / ring /      ``<f>_proximal_joint``           ``<f>_intermediate_joint``
middle / index                                       (x1.15 / 1.08 / 1.13 / 1.13)
thumb_bend          ``thumb_proximal_pitch_joint``   ``thumb_intermediate_joint`` (x1.0),
                                                     ``thumb_distal_joint`` (x1.13)
thumb_rotation      ``thumb_proximal_yaw_joint``     -
==================  ===============================  ===========================

Register value = round(1000 * (upper - q) / (upper - lower)) for the driven joint (q = 0 is
open). Followers are marked with :class:`~groot_sdk.spec.Mimic` and ignored when commanding.
"""

from groot_sdk.spec import CameraSpec, ControlRates, EmbodimentSpec, GroupKind, Joint, Mimic

# name, lower, upper, velocity limit (rad/s)
_LEG = [
    ("hip_pitch", -2.5307, 2.8798, 32.0),
    ("hip_roll", -0.5236, 2.9671, 32.0),
    ("hip_yaw", -2.7576, 2.7576, 32.0),
    ("knee", -0.087267, 2.8798, 20.0),
    ("ankle_pitch", -0.87267, 0.5236, 37.0),
    ("ankle_roll", -0.2618, 0.2618, 37.0),
]
_ARM = [
    ("shoulder_pitch", -3.0892, 2.6704, 37.0),
    ("shoulder_roll", -1.5882, 2.2515, 37.0),
    ("shoulder_yaw", -2.618, 2.618, 37.0),
    ("elbow", -1.0472, 2.0944, 37.0),
    ("wrist_roll", -1.97222, 1.97222, 37.0),
    ("wrist_pitch", -1.61443, 1.61443, 22.0),
    ("wrist_yaw", -1.61443, 1.61443, 22.0),
]
_MIRRORED = {
    "hip_roll",
    "hip_yaw",
    "shoulder_roll",
    "shoulder_yaw",
    "wrist_roll",
    "wrist_yaw",
    "ankle_roll",
}


def _side(side: str, table) -> list[Joint]:
    out = []
    for name, lo, hi, vel in table:
        if side == "right" and name in _MIRRORED:
            lo, hi = -hi, -lo
        out.append(Joint(f"{side}_{name}_joint", lo, hi, velocity_limit=vel))
    return out


WAIST = [
    Joint("waist_yaw_joint", -2.618, 2.618, velocity_limit=32.0),
    Joint("waist_roll_joint", -0.52, 0.52, velocity_limit=37.0),
    Joint("waist_pitch_joint", -0.52, 0.52, velocity_limit=37.0),
]

#: finger -> multiplier of the intermediate joint (MuJoCo menagerie inspire_hand couplings)
FINGER_COUPLING = {"index": 1.13, "middle": 1.13, "ring": 1.08, "pinky": 1.15}
FINGER_RANGE = 1.7  # rad, proximal joints (Unitree's normalisation)
THUMB_YAW = (-0.1, 1.3)
THUMB_PITCH = (0.0, 0.5)
HAND_VEL = 6.0  # rad/s


def hand(prefix: str) -> list[Joint]:
    joints: list[Joint] = []
    for finger, k in FINGER_COUPLING.items():
        prox = f"{prefix}_{finger}_proximal_joint"
        joints.append(Joint(prox, 0.0, FINGER_RANGE, velocity_limit=HAND_VEL))
        joints.append(
            Joint(
                f"{prefix}_{finger}_intermediate_joint",
                0.0,
                FINGER_RANGE * k,
                velocity_limit=HAND_VEL * k,
                mimic=Mimic(prox, k),
            )
        )
    pitch = f"{prefix}_thumb_proximal_pitch_joint"
    joints += [
        Joint(f"{prefix}_thumb_proximal_yaw_joint", *THUMB_YAW, velocity_limit=HAND_VEL),
        Joint(pitch, *THUMB_PITCH, velocity_limit=HAND_VEL),
        Joint(
            f"{prefix}_thumb_intermediate_joint",
            0.0,
            THUMB_PITCH[1],
            velocity_limit=HAND_VEL,
            mimic=Mimic(pitch, 1.0),
        ),
        Joint(
            f"{prefix}_thumb_distal_joint",
            0.0,
            THUMB_PITCH[1] * 1.13,
            velocity_limit=HAND_VEL * 1.13,
            mimic=Mimic(pitch, 1.13),
        ),
    ]
    return joints


#: Inspire register order -> the driven joint's suffix
INSPIRE_DOF_ORDER = (
    ("pinky", "pinky_proximal_joint"),
    ("ring", "ring_proximal_joint"),
    ("middle", "middle_proximal_joint"),
    ("index", "index_proximal_joint"),
    ("thumb_bend", "thumb_proximal_pitch_joint"),
    ("thumb_rotation", "thumb_proximal_yaw_joint"),
)

SPEC = EmbodimentSpec.from_groups(
    "g1_inspire",
    {
        "left_leg": _side("left", _LEG),
        "right_leg": _side("right", _LEG),
        "waist": WAIST,
        "left_arm": _side("left", _ARM),
        "right_arm": _side("right", _ARM),
        "left_hand": hand("L"),
        "right_hand": hand("R"),
    },
    kinds={"left_hand": GroupKind.GRIPPER, "right_hand": GroupKind.GRIPPER},
    cameras=(CameraSpec("cam_left_high", 640, 480, fps=30),),
    rates=ControlRates(policy_hz=30.0, low_level_hz=250.0),
    robot_type="unitree_g1_inspire",
    description="Unitree G1 29-DOF + two Inspire RH56 hands (12 URDF joints each, 6 actuated)",
)
