"""Action decoding: alignment, representations, gripper, mimic, clamps, interpolation."""

import attrs
import numpy as np
import pytest

from groot_sdk.errors import ActionError
from groot_sdk.modality.layout import KeyDim, ModalityLayout
from groot_sdk.plugins import get_registry
from groot_sdk.policy.actions import (
    ActionDecoder,
    GripperMap,
    SafetyFilter,
    align,
    interpolate,
    upsample,
)
from groot_sdk.spec import EmbodimentSpec, GripperSpec, Joint, Mimic, Representation


def chunk_for(layout, value=0.0, horizon=4):
    return {f"action.{k.key}": np.full((horizon, k.dim), value, np.float32) for k in layout.action}


def test_identity_decoding(so101_spec):
    dec = ActionDecoder(so101_spec)
    chunk = {
        "action.single_arm": np.tile(np.linspace(-0.5, 0.5, 5, dtype=np.float32), (16, 1)),
        "action.gripper": np.full((16, 1), 0.7, np.float32),
    }
    out = dec.decode(chunk, np.zeros(6))
    assert out.shape == (16, 6) and out.dtype == np.float32
    assert out[3].tolist() == pytest.approx([-0.5, -0.25, 0, 0.25, 0.5, 0.7])
    batched = {k: v[None] for k, v in chunk.items()}  # (1, H, D) from a batched backend
    assert np.array_equal(dec.decode(batched, np.zeros(6)), out)


def test_checkpoint_6_plus_1_vs_so101_is_rejected_naming_both_layouts(so101_spec):
    ckpt = ModalityLayout(state=(), action=(KeyDim("single_arm", 6), KeyDim("gripper", 1)))
    with pytest.raises(ActionError) as err:
        ActionDecoder(so101_spec, ckpt)
    msg = str(err.value)
    assert "single_arm 6 + gripper 1" in msg and "single_arm 5 + gripper 1" in msg
    assert "shoulder_pan" in msg and '"take"' in msg


def test_checkpoint_6_plus_1_mapped_by_override(so101_spec):
    ckpt = ModalityLayout(state=(), action=(KeyDim("single_arm", 6), KeyDim("gripper", 1)))
    dec = ActionDecoder(so101_spec, ckpt, {"single_arm": {"take": [0, 1, 2, 3, 5]}})
    arm = np.tile(np.array([0.1, 0.2, 0.3, 0.4, 9.0, 0.5], np.float32), (16, 1))
    out = dec.decode({"action.single_arm": arm, "action.gripper": np.zeros((16, 1))}, np.zeros(6))
    assert out[0].tolist() == pytest.approx([0.1, 0.2, 0.3, 0.4, 0.5, 0.0])
    assert any("5 of action.single_arm's 6" in n for n in dec.alignment.notes)


def test_alignment_by_joint_names_and_hold_and_ignore(so101_spec):
    names = ("wrist_roll", "wrist_flex", "elbow_flex", "shoulder_lift", "shoulder_pan")
    ckpt = ModalityLayout(
        state=(),
        action=(KeyDim("arm", 5, names), KeyDim("base", 3)),
    )
    with pytest.raises(ActionError, match="no action.gripper"):
        align(ckpt, so101_spec, {"base": "ignore"})
    dec = ActionDecoder(so101_spec, ckpt, {"base": "ignore", "gripper": "hold"})
    arm = np.tile(np.arange(5, dtype=np.float32) / 10, (2, 1))
    out = dec.decode({"action.arm": arm, "action.base": np.zeros((2, 3))}, np.full(6, 0.3))
    assert out[0].tolist() == pytest.approx([0.4, 0.3, 0.2, 0.1, 0.0, 0.3])  # gripper held
    with pytest.raises(ActionError, match=r"'action.base'\] command nothing"):
        align(ckpt, so101_spec, {"gripper": "hold"})


def test_relative_groups_add_the_reference(so101_spec):
    groups = tuple(
        attrs.evolve(g, representation=Representation.RELATIVE) if g.key == "single_arm" else g
        for g in so101_spec.action_groups
    )
    spec = attrs.evolve(so101_spec, action_groups=groups)
    dec = ActionDecoder(spec)
    ref = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6], np.float32)
    out = dec.decode(chunk_for(dec.layout, 0.1), ref)
    assert out[0].tolist() == pytest.approx([0.2, 0.3, 0.4, 0.5, 0.6, 0.1])  # gripper absolute


def test_gripper_range_and_polarity(so101_spec):
    # so101 gripper: closed 0.0, open 1.5 (joint units)
    arm = np.zeros((3, 5), np.float32)
    grip = np.array([[0.0], [0.5], [1.0]], np.float32)
    normal = ActionDecoder(so101_spec, gripper="0..1")
    out = normal.decode({"action.single_arm": arm, "action.gripper": grip}, np.zeros(6))
    assert out[:, 5].tolist() == pytest.approx([0.0, 0.75, 1.5])
    inverted = ActionDecoder(so101_spec, gripper="1..0")
    out = inverted.decode({"action.single_arm": arm, "action.gripper": grip}, np.zeros(6))
    assert out[:, 5].tolist() == pytest.approx([1.5, 0.75, 0.0])
    signed = ActionDecoder(so101_spec, gripper="-1..1")
    out = signed.decode({"action.single_arm": arm, "action.gripper": -grip}, np.zeros(6))
    assert out[:, 5].tolist() == pytest.approx([0.75, 0.375, 0.0])
    assert GripperMap.parse("joint") is None
    with pytest.raises(ActionError, match="CLOSED..OPEN"):
        GripperMap.parse("open")


def test_clamped_to_joint_limits(so101_spec):
    dec = ActionDecoder(so101_spec)
    out = dec.decode(chunk_for(dec.layout, 100.0), np.zeros(6))
    assert out[0].tolist() == pytest.approx(so101_spec.upper)
    assert dec.clamped == 4 * 6


def test_non_finite_rejects_the_chunk(so101_spec):
    dec = ActionDecoder(so101_spec)
    chunk = chunk_for(dec.layout)
    chunk["action.single_arm"][2, 3] = np.nan
    with pytest.raises(
        ActionError, match=r"action.single_arm: non-finite value nan at step 2, column 3"
    ):
        dec.decode(chunk, np.zeros(6))
    chunk = chunk_for(dec.layout)
    chunk["action.gripper"] = np.zeros((4, 2), np.float32)
    with pytest.raises(
        ActionError, match=r"action.gripper: shape \(4, 2\), expected \(horizon, 1\)"
    ):
        dec.decode(chunk, np.zeros(6))
    with pytest.raises(ActionError, match="lacks 'action.gripper'"):
        dec.decode({"action.single_arm": np.zeros((4, 5))}, np.zeros(6))


def test_mimic_joints_follow_their_source():
    g1 = get_registry().embodiment("g1_inspire").spec
    dec = ActionDecoder(g1)
    chunk = chunk_for(dec.layout, 0.0, 2)
    chunk["action.left_hand"][:] = 1.0  # followers too: they must be overwritten
    out = dec.decode(chunk, np.zeros(53, np.float32))
    names = g1.joint_names
    prox, inter = names.index("L_index_proximal_joint"), names.index("L_index_intermediate_joint")
    assert out[0, prox] == pytest.approx(1.0) and out[0, inter] == pytest.approx(1.13)
    distal = names.index("L_thumb_distal_joint")
    assert out[0, distal] == pytest.approx(min(0.5 * 1.13, g1.joints[distal].upper))


def test_mimic_with_offset():
    spec = EmbodimentSpec.from_groups(
        "m",
        {"hand": [Joint("a", -1, 1), Joint("b", -1, 1, mimic=Mimic("a", -0.5, 0.1))]},
        gripper=GripperSpec("a", open=1.0, closed=-1.0),
    )
    out = ActionDecoder(spec).decode({"action.hand": np.array([[0.4, 0.9]])}, np.zeros(2))
    assert out[0].tolist() == pytest.approx([0.4, -0.1])


def test_safety_filter_velocity_limit(so101_spec):
    dt = 1 / 60
    f = SafetyFilter(so101_spec, dt)  # 4 rad/s -> 0.0667 rad per tick
    prev = np.zeros(6, np.float32)
    out = f(np.array([1.0, -1.0, 0.01, 0, 0, 0], np.float32), prev)
    assert out[:3].tolist() == pytest.approx([4 * dt, -4 * dt, 0.01], rel=1e-5)
    assert f.limited == 1
    out = f(np.full(6, 50.0, np.float32), None)  # no previous: limits only
    assert out.tolist() == pytest.approx(so101_spec.upper)
    with pytest.raises(ActionError, match="shoulder_lift"):
        f(np.array([0, np.inf, 0, 0, 0, 0], np.float32), prev)


def test_safety_filter_passes_values_within_bounds_bit_for_bit(so101_spec):
    f = SafetyFilter(so101_spec, 1 / 60)
    prev = np.array([0.1, -0.2, 0.3, 0.0, 0.05, 0.4], np.float32)
    target = prev + np.float32(0.01) * np.arange(6, dtype=np.float32) / 7
    out = f(target, prev)
    assert out.tobytes() == target.tobytes() and f.limited == 0


def test_safety_filter_brings_a_joint_outside_its_limits_back_at_the_velocity_limit(so101_spec):
    """A joint found far outside its limits (the first setpoint is the measured pose) is not
    yanked inside them in one tick: the per-tick step bound wins."""
    dt = 1 / 60
    f = SafetyFilter(so101_spec, dt)
    step = f.max_step.astype(np.float64)
    upper, lower = np.array(so101_spec.upper), np.array(so101_spec.lower)
    prev = np.zeros(6, np.float32)
    prev[0] = upper[0] + 0.5  # above: the command comes down one step
    prev[1] = lower[1] - 0.5  # below: up one step
    prev[2] = upper[2] + step[2] / 2  # within a step of the range: into it
    target = np.zeros(6, np.float32)
    target[2] = upper[2] + 1.0  # asks to stay outside: the limit holds it
    out = f(target, prev).astype(np.float64)
    assert out[0] == pytest.approx(prev[0] - step[0], rel=1e-6)
    assert out[1] == pytest.approx(prev[1] + step[1], rel=1e-6)
    assert out[2] == pytest.approx(upper[2], rel=1e-6)
    # and it arrives: within the limits after enough ticks, never faster than the bound
    for _ in range(200):
        nxt = f(target, out.astype(np.float32)).astype(np.float64)
        assert np.all(np.abs(nxt - out) <= step * (1 + 1e-6))
        out = nxt
    assert np.all(out >= lower - 1e-6) and np.all(out <= upper + 1e-6)


def test_interpolation_10hz_to_250hz():
    steps = np.arange(16, dtype=np.float32)[:, None] * np.array([[1.0, -2.0]], np.float32)
    setpoints = upsample(steps, 10, 250)
    assert setpoints.shape == (400, 2)
    assert setpoints[25].tolist() == pytest.approx([1.0, -2.0])  # exactly the next step
    assert setpoints[12].tolist() == pytest.approx([0.48, -0.96])  # linear in between
    assert np.all(np.diff(setpoints[:, 0]) >= 0)
    zoh = upsample(steps, 10, 250, zero_order=np.array([True, False]))
    assert zoh[12, 0] == 0.0 and zoh[24, 0] == 0.0 and zoh[25, 0] == 1.0
    assert interpolate(np.array([0.0, 1.0]), np.array([[0.0], [2.0]]), 5.0).tolist() == [2.0]
