"""Input events, key bindings, the gamepad mapping (a stand-in joystick), the SO-101's
Cartesian keyboard through its IK, and base velocity commands for BHL's walker."""

import io

import numpy as np
import pytest

from groot_sdk.plugins import get_registry
from groot_sdk.teleop import InputError, InputEvent, ScriptedInput, TeleopInput, TerminalKeys
from groot_sdk.teleop.events import parse_event


def test_keys_hold_axes_and_episode_actions():
    events = [
        InputEvent(0.0, "key", "space"),
        InputEvent(0.1, "key", "w", 1.0),
        InputEvent(0.1, "key", "a", 1.0),
        InputEvent(0.3, "key", "w", 0.0),
        InputEvent(0.4, "axis", "z", -0.5),
        InputEvent(0.5, "key", "enter"),
    ]
    inp = TeleopInput(ScriptedInput(events))
    assert inp.update(0.0) == ["start"]
    inp.update(0.2)
    a = inp.axes()
    assert a["x"] == 1.0 and a["y"] == 1.0 and a["vx"] == 1.0 and a["z"] == 0.0
    inp.update(0.45)
    a = inp.axes()
    assert a["x"] == 0.0 and a["y"] == 1.0 and a["z"] == -0.5
    assert inp.update(0.5) == ["save"]


def test_script_file_and_bad_events(tmp_path):
    path = tmp_path / "k.jsonl"
    path.write_text('{"t": 0.5, "key": "q"}\n{"t": 0.1, "button": "a"}\n')
    src = ScriptedInput.load(path)
    assert [e.code for e in src.events] == ["a", "q"]
    for bad, msg in [
        ({"t": "x", "key": "w"}, "'t' must be"),
        ({"t": 1, "key": "w", "axis": "x"}, "exactly one of"),
        ({"t": 1, "axis": "x", "value": 3}, "'value' must be"),
        ({"t": 1, "key": ""}, "'key' must name"),
    ]:
        with pytest.raises(InputError, match=msg):
            parse_event(bad)
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(InputError, match="not JSON"):
        ScriptedInput.load(tmp_path / "bad.json")


def test_terminal_keys_release_and_eof():
    """Keys typed into a stream: a press, a synthetic release after release_s, and end of
    input makes the source lost."""
    keys = TerminalKeys(release_s=0.0, stream=io.StringIO("w "))
    keys._thread.join(2)
    assert keys.lost
    first = keys.poll(1.0)
    assert [(e.code, e.value) for e in first][:2] == [("w", 1.0), ("space", 1.0)]
    assert {e.code for e in first if e.value == 0.0} == {"w", "space"}


class _FakeJoystick:
    def __init__(self):
        self.axes = [0.0, 0.0, -1.0, 0.0, 0.0, -1.0]
        self.buttons = [0] * 8

    def init(self):
        pass

    def quit(self):
        pass

    def get_numaxes(self):
        return len(self.axes)

    def get_axis(self, i):
        return self.axes[i]

    def get_numbuttons(self):
        return len(self.buttons)

    def get_button(self, i):
        return self.buttons[i]


class _FakePygame:
    """A stand-in for pygame's joystick API (pygame 2.6: joystick.get_count/Joystick,
    event.get, JOYDEVICEREMOVED), so the mapping is tested without a pad."""

    JOYDEVICEREMOVED = 0x606

    def __init__(self):
        self.stick = _FakeJoystick()
        self.queue = []
        outer = self

        class _J:
            @staticmethod
            def get_count():
                return 1

            @staticmethod
            def Joystick(i):  # pygame's name
                return outer.stick

        class _E:
            @staticmethod
            def get():
                q, outer.queue = outer.queue, []
                return q

        self.joystick, self.event = _J, _E


def test_gamepad_mapping_with_a_stand_in_joystick():
    from groot_sdk.teleop.gamepad import PygameGamepad

    pg = _FakePygame()
    inp = TeleopInput(PygameGamepad(pygame=pg))
    pg.stick.axes[1] = -1.0  # left stick pushed forward
    pg.stick.axes[5] = 1.0  # right trigger fully pressed
    pg.stick.buttons[0] = 1  # A
    assert inp.update(0.0) == ["start"]
    a = inp.axes()
    assert a["x"] == 1.0 and a["vx"] == 1.0 and a["gripper"] == 1.0 and a["y"] == 0.0
    pg.stick.buttons[0] = 0
    pg.stick.buttons[3] = 1  # Y
    assert inp.update(0.1) == ["save"]
    pg.queue.append(type("E", (), {"type": pg.JOYDEVICEREMOVED})())
    inp.update(0.2)
    assert inp.lost and inp.axes()["x"] == 0.0


@pytest.mark.timeout(120)
def test_so101_keyboard_moves_the_gripper_through_ik():
    """Holding 'w' (forward, +x) on the SO-101: the teleop policy's joint targets move the
    end effector forward, by no more than the max lead per call."""
    pytest.importorskip("mujoco", reason="the SO-101 IK uses MuJoCo kinematics")
    from groot_sdk.teleop.factory import build_policy
    from groot_sdk.teleop.policy import CartesianIK

    entry = get_registry().embodiment("so101")
    spec = entry.spec
    inp = TeleopInput(ScriptedInput([InputEvent(0.0, "key", "w", 1.0)]))
    inp.update(0.0)
    policy = build_policy(entry, "keyboard", inp)
    mapping = policy.mapping
    assert isinstance(mapping, CartesianIK)
    q = np.array(spec.defaults, np.float64)
    q[1], q[2] = -0.5, 0.8  # a pose with room to reach forward
    ee0 = mapping.solver.forward(q)
    for _ in range(15):  # the arm follows its command exactly
        obs = {f"state.{g.key}": q[None, g.slice] for g in spec.observed_state_groups}
        chunk = policy.get_action(obs)
        q = np.concatenate([chunk[f"action.{g.key}"][0] for g in spec.action_groups])
    ee = mapping.solver.forward(q)
    moved = ee - ee0
    assert moved[0] > 0.02, moved
    assert abs(moved[1]) < 0.01 and abs(moved[2]) < 0.02


@pytest.mark.timeout(120)
def test_bhl_keys_set_the_walkers_velocity_command():
    """w and j on BHL: the locomotion policy observes (vx, 0, yaw) scaled by the maxima."""
    pytest.importorskip("onnxruntime", reason="BHL's walker is an ONNX policy")
    from groot_sdk.policy.factory import make_backend
    from groot_sdk.teleop.factory import build_policy
    from groot_sdk.teleop.policy import VelocityTeleop

    entry = get_registry().embodiment("bhl")
    inner = make_backend("onnx-rl", entry.spec)
    seen = []
    real = inner.get_action
    inner.get_action = lambda obs: seen.append(obs["state.velocity_command"].copy()) or real(obs)
    inp = TeleopInput(
        ScriptedInput([InputEvent(0.0, "key", "w", 1.0), InputEvent(0.0, "key", "j", 1.0)])
    )
    inp.update(0.0)
    policy = build_policy(entry, "keyboard", inp, locomotion=inner)
    assert isinstance(policy, VelocityTeleop)
    spec = entry.spec
    obs = {f"state.{k.key}": np.zeros((1, k.dim), np.float32) for k in inner.layout.state}
    obs["state.projected_gravity"][0, 2] = -1.0
    chunk = policy.get_action(obs)
    assert np.allclose(seen[-1][-1], [0.5, 0.0, 1.0])
    assert all(np.isfinite(v).all() for v in chunk.values())
    assert sum(v.shape[-1] for v in chunk.values()) == spec.dof
    policy.close()


def test_unknown_device_names_the_devices():
    from groot_sdk.errors import BackendError
    from groot_sdk.teleop.factory import build_policy

    entry = get_registry().embodiment("fetch")
    inp = TeleopInput(ScriptedInput([]))
    with pytest.raises(BackendError, match="has no device 'leader'; devices: keyboard, gamepad"):
        build_policy(entry, "leader", inp)


@pytest.mark.timeout(300)
def test_bhl_walks_forward_while_w_is_held():
    """BHL's published walker in simulation, the keyboard as its velocity command: holding
    'w' for 4 s walks it forward; without a key it stands (the same session otherwise)."""
    pytest.importorskip("onnxruntime", reason="BHL's walker is an ONNX policy")
    pytest.importorskip("mujoco", reason="the BHL simulator")
    from groot_sdk.deploy import DeployConfig
    from groot_sdk.policy.factory import make_backend
    from groot_sdk.teleop.factory import build_policy
    from groot_sdk.teleop.session import TeleopSession

    entry = get_registry().embodiment("bhl")

    def walk(keys):
        events = [InputEvent(0.0, "key", "space"), *keys, InputEvent(4.5, "key", "enter")]
        inp = TeleopInput(ScriptedInput(events))
        policy = build_policy(
            entry, "keyboard", inp, locomotion=make_backend("onnx-rl", entry.spec)
        )
        robot = entry.make_sim(seed=0, render=False)
        config = DeployConfig(rate_hz=0, seed=0, hardware=False)
        session = TeleopSession(robot, policy, inp, config, say=lambda m: None)
        with robot:
            start = robot.episodic.base_position()
            report = session.run()
            moved = robot.episodic.base_position() - start
        policy.close()
        assert report.safety_stops == 0 and report.extra["teleop"]["saved"] == 1
        assert not report.extra.get("failed_episodes"), "the robot fell"
        return moved

    forward = walk([InputEvent(0.5, "key", "w", 1.0)])
    still = walk([])
    assert forward[0] > 0.4, forward
    assert abs(still[0]) < 0.15, still


def test_missing_teleop_extra_is_named(monkeypatch):
    import sys

    from groot_sdk.errors import MissingExtraError
    from groot_sdk.teleop.gamepad import PygameGamepad

    monkeypatch.setitem(sys.modules, "pygame", None)  # as if pygame were not installed
    with pytest.raises(MissingExtraError, match=r"groot-sdk\[teleop\]"):
        PygameGamepad()


def test_arrow_keys_neither_quit_nor_press_letters():
    """An arrow key reaches a terminal as ESC [ A (up) or ESC [ C (right): it must not end
    the session, nor press 'a' (+y) or 'c' (close the gripper)."""
    from groot_sdk.teleop.events import split_keys

    assert split_keys("w\x1b[A\x1b[C\x1bOD\x1b") == ["w", "up", "right", "left", "escape"]
    keys = TerminalKeys(release_s=10.0, stream=io.StringIO("\x1b[A\x1b[C"))
    keys._thread.join(2)
    inp = TeleopInput(keys)
    assert inp.update(0.0) == []
    assert not any(inp.axes().values())
