"""Wire compatibility with Isaac-GR00T, both ways, both dialects.

The peers on the other side are written here from the published format (plain pyzmq +
msgpack + numpy), not with SDK code: a minimal client against `groot serve`, and minimal
N1.5/N1.6 servers behaving like Isaac-GR00T's against the SDK's `remote` backend.
"""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest
import zmq

from groot_sdk.policy.factory import make_backend
from groot_sdk.policy.observation import assemble_observation

TASK = "annotation.human.task_description"


def so101_flat_obs(batch: int | None = None) -> dict:
    rng = np.random.default_rng(0)
    arm = rng.uniform(-1, 1, (1, 5)).astype(np.float32)
    obs = {
        "video.front": rng.integers(0, 255, (1, 224, 224, 3), dtype=np.uint8),
        "video.wrist": rng.integers(0, 255, (1, 224, 224, 3), dtype=np.uint8),
        "state.single_arm": arm,
        "state.gripper": np.array([[0.25]], np.float32),
        TASK: ["pick up the cube"],
    }
    if batch:
        obs = {
            k: (np.stack([v] * batch) if isinstance(v, np.ndarray) else v * batch)
            for k, v in obs.items()
        }
    return obs


class MinimalClient:
    """An Isaac-GR00T-style REQ client, with a receive timeout so a broken test fails fast."""

    def __init__(self, port: int, wire, token: str | None = None) -> None:
        self.wire, self.token = wire, token
        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(zmq.REQ)
        self.sock.setsockopt(zmq.RCVTIMEO, 10000)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.connect(f"tcp://127.0.0.1:{port}")

    def call(self, endpoint: str, data=None, requires_input: bool = True):
        request = {"endpoint": endpoint}
        if requires_input:
            request["data"] = data
        if self.token:
            request["api_token"] = self.token
        self.sock.send(self.wire.pack(request))
        return self.wire.unpack(self.sock.recv())

    def close(self) -> None:
        self.sock.close()
        self.ctx.term()


def _serve(wire, dialect: str, *extra: str):
    return wire.start_serve(
        "--embodiment",
        "so101",
        "--policy",
        "hold",
        "--policy-opt",
        "video=true",
        "--dialect",
        dialect,
        *extra,
    )


def test_minimal_client_gets_actions_from_groot_serve_n15(wire):
    proc, port = _serve(wire, "n1.5")
    client = MinimalClient(port, wire)
    try:
        assert client.call("ping", requires_input=False) == {
            "status": "ok",
            "message": "Server is running",
        }
        obs = so101_flat_obs()
        action = client.call("get_action", obs)
        assert set(action) == {"action.single_arm", "action.gripper"}
        assert action["action.single_arm"].shape == (16, 5)
        assert action["action.single_arm"].dtype == np.float32
        # the hold policy repeats the observed state: the numbers made the round trip
        np.testing.assert_array_equal(action["action.single_arm"][7], obs["state.single_arm"][0])
        # batched N1.5 observations come back batched
        batched = client.call("get_action", so101_flat_obs(batch=3))
        assert batched["action.gripper"].shape == (3, 16, 1)
        # get_modality_config as N1.5's RobotInferenceServer answers it: JSON text, keys
        # prefixed (gr00t/eval/robot.py and gr00t/data/dataset.py at 4af2b622)
        config = client.call("get_modality_config", requires_input=False)
        assert config["action"]["__ModalityConfig_class__"] is True
        assert json.loads(config["action"]["as_json"]) == {
            "delta_indices": list(range(16)),
            "modality_keys": ["action.single_arm", "action.gripper"],
        }
        assert json.loads(config["video"]["as_json"])["modality_keys"] == [
            "video.front",
            "video.wrist",
        ]
        # N1.5 servers have no N1.6 endpoints
        assert "Unknown endpoint" in client.call("reset", {"options": None})["error"]
        # an invalid observation is refused with a message naming the key
        bad = dict(obs, **{"state.single_arm": np.zeros((1, 4), np.float32)})
        assert "state.single_arm" in client.call("get_action", bad)["error"]
    finally:
        client.close()
        wire.stop(proc)


def test_minimal_client_gets_actions_from_groot_serve_n16(wire):
    proc, port = _serve(wire, "n1.6", "--api-token", "s3cret")
    client = MinimalClient(port, wire, token="s3cret")
    try:
        config = client.call("get_modality_config", requires_input=False)
        assert config["action"]["__ModalityConfig_class__"] is True
        assert config["action"]["as_json"]["modality_keys"] == ["single_arm", "gripper"]
        assert len(config["action"]["as_json"]["delta_indices"]) == 16
        assert config["action"]["as_json"]["action_configs"][0]["rep"] == "ABSOLUTE"
        assert config["video"]["as_json"]["modality_keys"] == ["front", "wrist"]
        # what Isaac-GR00T's ModalityConfig(**as_json) accepts: its five fields, enums by name
        fields = {
            "delta_indices",
            "modality_keys",
            "sin_cos_embedding_keys",
            "mean_std_embedding_keys",
            "action_configs",
        }
        assert set(config) == {"video", "state", "action", "language"}
        for mc in config.values():
            assert set(mc["as_json"]) <= fields
            assert isinstance(mc["as_json"]["delta_indices"], list)
            assert mc["as_json"]["modality_keys"] and isinstance(
                mc["as_json"]["modality_keys"], list
            )
        for ac in config["action"]["as_json"]["action_configs"]:
            assert ac["rep"] in {"RELATIVE", "DELTA", "ABSOLUTE"}
            assert ac["type"] in {"EEF", "NON_EEF"}
            assert ac["format"] in {"DEFAULT", "XYZ_ROT6D", "XYZ_ROTVEC"}
        flat = so101_flat_obs()
        # Gr00tPolicy form: nested, batched; reply keys without the action. prefix
        nested = {
            "video": {"front": flat["video.front"][None], "wrist": flat["video.wrist"][None]},
            "state": {
                "single_arm": flat["state.single_arm"][None],
                "gripper": flat["state.gripper"][None],
            },
            "language": {TASK: [["pick up the cube"]]},
        }
        reply = client.call("get_action", {"observation": nested, "options": None})
        assert isinstance(reply, list) and len(reply) == 2
        action, info = reply
        assert info == {}
        assert action["single_arm"].shape == (1, 16, 5)
        np.testing.assert_array_equal(action["single_arm"][0, -1], flat["state.single_arm"][0])
        # Gr00tSimPolicyWrapper form: flat, batched, action. prefix
        action, _ = client.call(
            "get_action", {"observation": so101_flat_obs(batch=2), "options": None}
        )
        assert action["action.single_arm"].shape == (2, 16, 5)
        assert client.call("reset", {"options": None}) == {}
        # the token is checked
        intruder = MinimalClient(port, wire, token="guess")
        try:
            assert intruder.call("ping", requires_input=False) == {
                "error": "Unauthorized: Invalid API token"
            }
        finally:
            intruder.close()
        # kill is refused without --allow-kill, and the server keeps serving
        assert "allow-kill" in client.call("kill", requires_input=False)["error"]
        assert client.call("ping", requires_input=False)["status"] == "ok"
    finally:
        client.close()
        wire.stop(proc)


def test_serve_stops_cleanly_on_signals_and_on_allowed_kill(wire):
    import signal

    for sig in (signal.SIGTERM, signal.SIGINT):
        proc, port = _serve(wire, "n1.6")
        proc.send_signal(sig)
        assert proc.wait(10) == 0
        assert "stopped after" in proc.stderr.read()
    proc, port = _serve(wire, "n1.5", "--allow-kill")
    client = MinimalClient(port, wire)
    try:
        assert client.call("kill", requires_input=False)["status"] == "ok"
        assert proc.wait(10) == 0
    finally:
        client.close()
        wire.stop(proc)


# -- the SDK client against minimal Isaac-GR00T-like servers ----------------------------------
class MinimalServer:
    """Behaves like Isaac-GR00T's servers: N1.5 `service.py` or N1.6 `PolicyServer` wrapping a
    nested `Gr00tPolicy` that returns (B, 16, D) arrays keyed without the action. prefix."""

    def __init__(self, wire, dialect: str, token: str | None = None) -> None:
        self.wire, self.dialect, self.token = wire, dialect, token
        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(zmq.REP)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.port = self.sock.bind_to_random_port("tcp://127.0.0.1")
        self.seen: list = []
        self.running = True
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def get_action(self, obs):
        self.seen.append(obs)
        if self.dialect == "n1.5":
            arm = obs["state.single_arm"]
            return {
                "action.single_arm": np.repeat(arm[-1:], 16, 0) + 1,
                "action.gripper": np.zeros((16, 1), np.float32),
            }
        arm = obs["state"]["single_arm"]  # (B, T, 5)
        return {
            "single_arm": np.repeat(arm[:, -1:], 16, 1) + 1,
            "gripper": np.zeros((arm.shape[0], 16, 1), np.float32),
        }

    def run(self) -> None:
        while self.running:
            if not self.sock.poll(50):
                continue
            request = self.wire.unpack(self.sock.recv())
            try:
                if self.token is not None and request.get("api_token") != self.token:
                    result = {"error": "Unauthorized: Invalid API token"}
                else:
                    result = self.dispatch(request.get("endpoint", "get_action"), request)
            except Exception as exc:  # noqa: BLE001 - as Isaac-GR00T's server does
                result = {"error": str(exc)}
            self.sock.send(self.wire.pack(result))

    def dispatch(self, endpoint: str, request: dict):
        if endpoint == "ping":
            return {"status": "ok", "message": "Server is running"}
        if endpoint == "get_action" and self.dialect == "n1.5":
            return self.get_action(request.get("data", {}))
        if endpoint == "get_action":
            data = request["data"]
            return [self.get_action(data["observation"]), {}]
        if endpoint == "reset" and self.dialect == "n1.6":
            self.seen.append(("reset", request["data"]))
            return {}
        if endpoint == "get_modality_config" and self.dialect == "n1.6":

            def mc(keys, delta):
                return {
                    "__ModalityConfig_class__": True,
                    "as_json": {"delta_indices": delta, "modality_keys": keys},
                }

            return {
                "video": mc(["front", "wrist"], [0]),
                "state": mc(["single_arm", "gripper"], [0]),
                "action": mc(["single_arm", "gripper"], list(range(16))),
                "language": mc([TASK], [0]),
            }
        raise ValueError(f"Unknown endpoint: {endpoint}")

    def close(self) -> None:
        self.running = False
        self.thread.join(5)
        self.sock.close()
        self.ctx.term()


@pytest.mark.parametrize("dialect", ["n1.5", "n1.6"])
@pytest.mark.parametrize("explicit", [False, True])
def test_sdk_remote_backend_against_minimal_server(wire, so101_spec, dialect, explicit):
    server = MinimalServer(wire, dialect, token="tok")
    options = {"api_token": "tok", "timeout_ms": 5000}
    if explicit:
        options["dialect"] = dialect
    backend = make_backend(f"remote://127.0.0.1:{server.port}", so101_spec, options)
    try:
        assert backend.wire_dialect == dialect
        assert backend.layout.describe_action() == "single_arm 5 + gripper 1"
        state = np.array([0.1, -0.2, 0.3, -0.4, 0.5, 0.6], np.float32)
        frames = {
            "front": np.zeros((480, 640, 3), np.uint8),
            "wrist": np.zeros((480, 640, 3), np.uint8),
        }
        obs = assemble_observation(so101_spec, state, frames, "pick up the cube")
        chunk = backend.get_action(obs)
        assert set(chunk) == {"action.single_arm", "action.gripper"}
        assert chunk["action.single_arm"].shape == (16, 5)
        np.testing.assert_allclose(chunk["action.single_arm"][0], state[:5] + 1, rtol=1e-6)
        sent = server.seen[-1]
        if dialect == "n1.6":  # what Gr00tPolicy takes: nested, batched, [[str]]
            assert sent["video"]["front"].shape == (1, 1, 224, 224, 3)
            assert sent["state"]["single_arm"].shape == (1, 1, 5)
            assert sent["language"] == {TASK: [["pick up the cube"]]}
            backend.reset()
            assert server.seen[-1] == ("reset", {"options": None})
        else:  # what N1.5's service takes: flat, unbatched
            assert sent["video.front"].shape == (1, 224, 224, 3)
            assert sent[TASK] == ["pick up the cube"]
        stats = backend.stats.to_json()
        assert stats["calls"] >= 1 and stats["rtt_ms_last"] > 0 and stats["timeouts"] == 0
    finally:
        backend.close()
        server.close()


def test_sdk_remote_backend_reports_server_errors(wire, so101_spec):
    from groot_sdk.errors import BackendError

    server = MinimalServer(wire, "n1.5", token="right")
    try:
        with pytest.raises(BackendError, match="Unauthorized"):
            make_backend(
                f"remote://127.0.0.1:{server.port}",
                so101_spec,
                {"api_token": "wrong", "timeout_ms": 3000},
            )
    finally:
        server.close()


def test_serve_reports_bad_arguments():
    from click.testing import CliRunner

    from groot_sdk.cli.main import cli

    runner = CliRunner()
    result = runner.invoke(cli, ["serve", "-e", "so101", "-p", "hold", "--policy-opt", "oops"])
    assert result.exit_code != 0 and "key=value" in result.output
    result = runner.invoke(cli, ["serve", "-e", "so101", "-p", "hold", "--dialect", "n2"])
    assert result.exit_code != 0 and "n1.5" in result.output
