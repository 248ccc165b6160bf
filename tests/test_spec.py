import attrs
import pytest

from groot_sdk.errors import SpecError
from groot_sdk.spec import EmbodimentSpec, GripperSpec, Group, Joint


def arm(**kw):
    groups = kw.pop("groups", None)
    joints = kw.pop("joints", (Joint("a", -1, 1), Joint("b", -1, 1), Joint("c", 0, 1)))
    groups = groups or (Group("arm", 0, 2), Group("gripper", 2, 3))
    return EmbodimentSpec(name="toy", joints=joints, action_groups=groups, **kw)


def test_valid_spec_numbers_joints():
    spec = arm()
    assert [j.index for j in spec.joints] == [0, 1, 2]
    assert spec.group_joint_names("arm") == ("a", "b")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            {"joints": (Joint("a", -1, 1), Joint("a", -1, 1), Joint("c", 0, 1))},
            "duplicate joint name 'a'",
        ),
        (
            {"joints": (Joint("a", 1, -1, default=0), Joint("b", -1, 1), Joint("c", 0, 1))},
            "joint 'a' has lower limit 1.0 > upper -1.0",
        ),
        (
            {"joints": (Joint("a", -1, 1, default=2), Joint("b", -1, 1), Joint("c", 0, 1))},
            "joint 'a' default 2.0 is outside its limits [-1.0, 1.0]",
        ),
        (
            {"groups": (Group("arm", 0, 2), Group("gripper", 1, 3))},
            "groups 'arm' [0:2] and 'gripper' [1:3] overlap",
        ),
        (
            {"groups": (Group("arm", 0, 1), Group("gripper", 2, 3))},
            "gap at [1:2] before 'gripper' (uncovered: ['b'])",
        ),
        ({"groups": (Group("arm", 0, 2),)}, "do not cover dimensions [2:3] (uncovered: ['c'])"),
        (
            {"groups": (Group("arm", 0, 2), Group("gripper", 2, 4))},
            "'gripper' slice [2:4] runs past",
        ),
        ({"groups": (Group("arm", 0, 2), Group("arm", 2, 3))}, "duplicate action group 'arm'"),
        ({"gripper": GripperSpec("c", open=2.0, closed=0.0)}, "gripper 'c' open position 2.0"),
        ({"gripper": GripperSpec("nope", open=1.0, closed=0.0)}, "no joint named 'nope'"),
    ],
)
def test_invalid_specs_name_the_culprit(kwargs, message):
    with pytest.raises(SpecError) as err:
        arm(**kwargs)
    assert message in str(err.value)


def test_state_dims_must_be_covered():
    with pytest.raises(SpecError, match="state groups do not cover"):
        arm(state_dims=("x", "y", "z"), state_groups=(Group("pos", 0, 2),))


def test_spec_is_frozen():
    spec = arm()
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        spec.name = "other"
