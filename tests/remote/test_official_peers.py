"""groot-sdk against stand-ins for Isaac-GR00T's own clients and servers: N1.5, N1.6 and N1.7.

The stand-ins are written here from the published source (plain pyzmq + msgpack + numpy, no SDK
code), because Isaac-GR00T itself needs torch, flash-attn and a checkpoint:

* N1.5: NVIDIA/Isaac-GR00T commit 4af2b622 (Apache-2.0), read from the public fork
  arnavinator/Isaac-GR00T: ``gr00t/eval/service.py`` (MsgSerializer, BaseInferenceServer,
  BaseInferenceClient), ``gr00t/eval/robot.py`` (RobotInferenceServer registers
  ``get_modality_config``; RobotInferenceClient), ``gr00t/data/dataset.py`` (the pydantic
  ModalityConfig: ``delta_indices``, ``modality_keys``), ``gr00t/model/policy.py``
  (Gr00tPolicy.get_action: flat keys, batched or not, ``np.array`` on every value, keys it
  does not read are ignored), ``gr00t/experiment/data_config.py`` (modality configs with
  prefixed keys), ``scripts/inference_service.py --client`` (calls ``get_modality_config``,
  then ``get_action`` with ``np.random.rand`` float64 states) and ``scripts/eval_policy.py``
  (sends whole dataset steps, ``action.*`` ground truth included).
* N1.6: commit 4e62473d "GR00T N1.6 Release", read from squirel2000/Isaac-GR00T_n1d7:
  ``gr00t/policy/server_client.py`` (PolicyServer / PolicyClient: ``handler(**data)``,
  ``[action, info]`` replies, ``__ModalityConfig_class__`` with ``as_json`` a map),
  ``gr00t/data/types.py`` (ModalityConfig dataclass, enums looked up by name),
  ``gr00t/policy/gr00t_policy.py`` (check_observation: nested, batched, uint8 / float32).
* N1.7: commit 626af89d (May 2026, after the N1.7 release 23ace64f, Apache-2.0), same fork:
  ``gr00t/policy/server_client.py`` moved to msgpack-numpy 0.4.8 arrays (``{b"nd": True,
  b"type": dtype.str, b"kind": b"", b"shape": shape, b"data": raw bytes}``, refusing kind
  ``O``) and the ``__ModalityConfig__`` marker; the request/reply shapes are N1.6's.

The official N1.5 client sets no receive timeout; the stand-ins add one so a broken test fails
instead of hanging.
"""

from __future__ import annotations

import dataclasses
import io
import json
import logging
import threading
from typing import Any

import msgpack
import numpy as np
import pytest
import zmq

TASK = "annotation.human.task_description"
H = 16


# -- ModalityConfig, as each version's code defines it -------------------------------------------
@dataclasses.dataclass
class ModalityConfigN15:
    """N1.5 ``gr00t/data/dataset.py``: a pydantic model of two fields (extra fields ignored);
    it travels as ``model_dump_json()``, a JSON *string*."""

    delta_indices: list[int]
    modality_keys: list[str]

    @classmethod
    def from_json_string(cls, text: Any) -> ModalityConfigN15:
        data = json.loads(text)  # a map here raises TypeError, as pydantic's json.loads would
        delta, keys = data["delta_indices"], data["modality_keys"]
        assert isinstance(delta, list) and all(isinstance(i, int) for i in delta), delta
        assert isinstance(keys, list) and all(isinstance(k, str) for k in keys), keys
        return cls(delta, keys)

    def model_dump_json(self) -> str:
        return json.dumps(dataclasses.asdict(self))


ACTION_REP = ("RELATIVE", "DELTA", "ABSOLUTE")
ACTION_TYPE = ("EEF", "NON_EEF")
ACTION_FORMAT = ("DEFAULT", "XYZ_ROT6D", "XYZ_ROTVEC")


@dataclasses.dataclass
class ModalityConfig:
    """N1.6 / N1.7 ``gr00t/data/types.py``: a dataclass; ``__post_init__`` refuses empty keys
    and looks action-config enums up by *name* (``ActionRepresentation[d["rep"]]``)."""

    delta_indices: list[int]
    modality_keys: list[str]
    sin_cos_embedding_keys: list[str] | None = None
    mean_std_embedding_keys: list[str] | None = None
    action_configs: list[dict] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.delta_indices, list):
            raise ValueError(f"delta_indices must be a list, got {self.delta_indices!r}")  # noqa: TRY004
        if not isinstance(self.modality_keys, list) or not self.modality_keys:
            raise ValueError(f"modality_keys must be a non-empty list, got {self.modality_keys!r}")
        if self.action_configs is not None:
            assert len(self.action_configs) == len(self.modality_keys)
            for ac in self.action_configs:
                for field, names in (
                    ("rep", ACTION_REP),
                    ("type", ACTION_TYPE),
                    ("format", ACTION_FORMAT),
                ):
                    if ac[field] not in names:
                        raise KeyError(ac[field])

    def to_json_serializable(self) -> dict:
        return dataclasses.asdict(self)


# -- the three codecs ------------------------------------------------------------------------
def _npy(arr: np.ndarray) -> dict:
    out = io.BytesIO()
    np.save(out, arr, allow_pickle=False)
    return {"__ndarray_class__": True, "as_npy": out.getvalue()}


class CodecN15:
    """``MsgSerializer`` of N1.5 ``gr00t/eval/service.py``."""

    name = "n1.5"

    @staticmethod
    def pack(obj: Any) -> bytes:
        def default(o):
            if isinstance(o, ModalityConfigN15):
                return {"__ModalityConfig_class__": True, "as_json": o.model_dump_json()}
            if isinstance(o, np.ndarray):
                return _npy(o)
            return o

        return msgpack.packb(obj, default=default)

    @staticmethod
    def unpack(data: bytes) -> Any:
        def hook(obj):
            if "__ModalityConfig_class__" in obj:
                obj = ModalityConfigN15.from_json_string(obj["as_json"])
            if isinstance(obj, dict) and "__ndarray_class__" in obj:
                obj = np.load(io.BytesIO(obj["as_npy"]), allow_pickle=False)
            return obj

        return msgpack.unpackb(data, object_hook=hook)


class CodecN16:
    """``MsgSerializer`` of N1.6 ``gr00t/policy/server_client.py`` (4e62473d)."""

    name = "n1.6"

    @staticmethod
    def pack(obj: Any) -> bytes:
        def default(o):
            if isinstance(o, ModalityConfig):
                return {"__ModalityConfig_class__": True, "as_json": o.to_json_serializable()}
            if isinstance(o, np.ndarray):
                return _npy(o)
            return o

        return msgpack.packb(obj, default=default)

    @staticmethod
    def unpack(data: bytes) -> Any:
        def hook(obj):
            if not isinstance(obj, dict):
                return obj
            if "__ModalityConfig_class__" in obj:
                return ModalityConfig(**obj["as_json"])
            if "__ndarray_class__" in obj:
                return np.load(io.BytesIO(obj["as_npy"]), allow_pickle=False)
            return obj

        return msgpack.unpackb(data, object_hook=hook)


class CodecN17:
    """``MsgSerializer`` of ``gr00t/policy/server_client.py`` at 626af89d: msgpack-numpy 0.4.8's
    ``encode``/``decode`` (bytes keys; ``np.ndarray(buffer=data, dtype=type, shape=shape)``),
    behind a guard that refuses object arrays both ways, then the ``__ModalityConfig__`` hook."""

    name = "n1.7"

    @staticmethod
    def pack(obj: Any) -> bytes:
        def default(o):
            if isinstance(o, np.ndarray):
                if o.dtype.kind == "O":
                    raise TypeError("Refusing to encode object-dtype ndarray")
                return {
                    b"nd": True,
                    b"type": o.dtype.str,
                    b"kind": b"",
                    b"shape": o.shape,
                    b"data": o.tobytes(),
                }
            if isinstance(o, (np.bool_, np.number)):
                return {b"nd": False, b"type": o.dtype.str, b"data": o.tobytes()}
            if isinstance(o, ModalityConfig):
                return {"__ModalityConfig__": True, "as_json": o.to_json_serializable()}
            return o

        return msgpack.packb(obj, default=default)

    @staticmethod
    def unpack(data: bytes) -> Any:
        def hook(obj):
            nd, kind = obj.get(b"nd", obj.get("nd")), obj.get(b"kind", obj.get("kind"))
            if nd and kind in (b"O", "O"):
                raise ValueError("Refusing to decode object-dtype ndarray payload")
            if b"nd" in obj:
                if obj[b"nd"] is True:
                    return np.ndarray(
                        buffer=obj[b"data"], dtype=np.dtype(obj[b"type"]), shape=obj[b"shape"]
                    )
                return np.frombuffer(obj[b"data"], dtype=np.dtype(obj[b"type"]))[0]
            if "__ModalityConfig__" in obj:
                return ModalityConfig(**obj["as_json"])
            return obj

        return msgpack.unpackb(data, object_hook=hook, raw=False)


CODECS = {"n1.5": CodecN15, "n1.6": CodecN16, "n1.7": CodecN17}


# -- official clients ----------------------------------------------------------------------------
class OfficialClient:
    """N1.5 ``RobotInferenceClient`` (``gr00t/eval/robot.py``) or N1.6/N1.7 ``PolicyClient``:
    a REQ socket; ``{"endpoint", "data"?, "api_token"?}``; an ``error`` key raises."""

    def __init__(self, version: str, port: int, api_token: str | None = None) -> None:
        self.version, self.codec, self.api_token = version, CODECS[version], api_token
        self.context = zmq.Context()
        self.socket = self.context.socket(zmq.REQ)
        self.socket.setsockopt(zmq.RCVTIMEO, 20000)  # (not in the N1.5 original)
        self.socket.setsockopt(zmq.LINGER, 0)
        self.socket.connect(f"tcp://127.0.0.1:{port}")

    def call_endpoint(self, endpoint: str, data: Any = None, requires_input: bool = True) -> Any:
        request: dict = {"endpoint": endpoint}
        if requires_input:
            request["data"] = data
        if self.api_token:
            request["api_token"] = self.api_token
        self.socket.send(self.codec.pack(request))
        message = self.socket.recv()
        if self.version != "n1.5" and message == b"ERROR":
            raise RuntimeError("Server error. Make sure we are running the correct policy server.")
        response = self.codec.unpack(message)
        if isinstance(response, dict) and "error" in response:
            raise RuntimeError(f"Server error: {response['error']}")
        return response

    def get_modality_config(self) -> dict:
        return self.call_endpoint("get_modality_config", requires_input=False)

    def get_action(self, observation: dict) -> Any:
        if self.version == "n1.5":
            return self.call_endpoint("get_action", observation)
        return tuple(
            self.call_endpoint("get_action", {"observation": observation, "options": None})
        )

    def reset(self) -> Any:
        return self.call_endpoint("reset", {"options": None})

    def close(self) -> None:
        self.socket.close()
        self.context.term()


# -- official servers, with a policy that behaves like Gr00tPolicy on Fetch ---------------------
def fetch_configs(version: str, action_width: int = 3) -> dict:
    """What ``Gr00tPolicy.get_modality_config()`` returns for a Fetch data config (observing
    the gripper and the goal, one camera): N1.5 keys prefixed, N1.6+ keys bare."""
    if version == "n1.5":

        def mc(delta, keys):
            return ModalityConfigN15(delta, keys)

        return {
            "video": mc([0], ["video.front"]),
            "state": mc([0], ["state.eef_position", "state.goal_position"]),
            "action": mc(list(range(H)), ["action.eef_delta", "action.gripper"]),
            "language": mc([0], [TASK]),
        }
    ac = [
        {"rep": "DELTA", "type": "EEF", "format": "DEFAULT", "state_key": None},
        {"rep": "ABSOLUTE", "type": "NON_EEF", "format": "DEFAULT", "state_key": None},
    ]
    return {
        "video": ModalityConfig([0], ["front"]),
        "state": ModalityConfig([0], ["eef_position", "goal_position"]),
        "action": ModalityConfig(list(range(H)), ["eef_delta", "gripper"], action_configs=ac),
        "language": ModalityConfig([0], [TASK]),
    }


def reach(eef: np.ndarray, goal: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """(B, T, 3) states -> (B, H, width) and (B, H, 1) float32: head for the goal."""
    step = np.clip((goal[:, -1] - eef[:, -1]) * 20.0, -1, 1).astype(np.float32)
    step = np.concatenate([step, np.zeros((len(step), width - 3), np.float32)], axis=1)
    return np.repeat(step[:, None], H, 1), np.ones((len(step), H, 1), np.float32)


class FetchPolicy:
    """Gr00tPolicy's behaviour without the model. N1.5 (``gr00t/model/policy.py``): flat keys,
    unbatched when any ``state`` value has < 3 dims, ``np.array`` on every value, the transforms
    read only their keys (resizing frames, casting states); reply ``action.<key>`` (H, D).
    N1.6/N1.7 (``gr00t_policy.py``, strict): nested, batched, video uint8 (B, T, H, W, 3),
    state float32 (B, T, D), language [[str]]; reply ``({key: (B, H, D)}, {})``."""

    def __init__(self, version: str, action_width: int = 3, modality_config: bool = True) -> None:
        self.version, self.width = version, action_width
        self.seen: list = []
        if modality_config:
            self.get_modality_config = lambda: fetch_configs(version)

    def get_action(self, observation: dict, options: Any = None) -> Any:
        self.seen.append(observation)
        if self.version == "n1.5":
            obs = dict(observation)
            batched = all(len(v.shape) >= 3 for k, v in obs.items() if "state" in k)
            if not batched:
                obs = {k: np.asarray(v)[None] for k, v in obs.items()}
            obs = {k: np.array(v) for k, v in obs.items()}
            assert obs["video.front"].dtype == np.uint8
            eef, goal = obs["state.eef_position"], obs["state.goal_position"]
            delta, grip = reach(eef.astype(np.float32), goal.astype(np.float32), self.width)
            action = {"action.eef_delta": delta, "action.gripper": grip}
            return action if batched else {k: v[0] for k, v in action.items()}
        video, state, language = observation["video"], observation["state"], observation["language"]
        assert video["front"].dtype == np.uint8 and video["front"].ndim == 5, video["front"].shape
        for key in ("eef_position", "goal_position"):
            assert state[key].dtype == np.float32 and state[key].ndim == 3, state[key].dtype
        assert isinstance(language[TASK], list) and isinstance(language[TASK][0], list)
        delta, grip = reach(state["eef_position"], state["goal_position"], self.width)
        return {"eef_delta": delta, "gripper": grip}, {}

    def reset(self, options: Any = None) -> dict:
        self.seen.append(("reset", options))
        return {}


class OfficialServer:
    """N1.5 ``RobotInferenceServer`` (``BaseInferenceServer.run``: ``handler(data)``) or
    N1.6/N1.7 ``PolicyServer`` (``handler(**data)``; ``reset``; ``get_modality_config`` falls
    back to ``lambda: {}``). Any exception becomes ``{"error": str(e)}``."""

    def __init__(self, version: str, policy: FetchPolicy, api_token: str | None = None) -> None:
        self.version, self.codec, self.policy = version, CODECS[version], policy
        self.api_token = api_token
        self.context = zmq.Context()
        self.socket = self.context.socket(zmq.REP)
        self.socket.setsockopt(zmq.LINGER, 0)
        self.port = self.socket.bind_to_random_port("tcp://127.0.0.1")
        self.endpoints: dict[str, tuple[Any, bool]] = {
            "ping": (lambda: {"status": "ok", "message": "Server is running"}, False),
            "kill": (self.stop, False),
            "get_action": (policy.get_action, True),
        }
        if version == "n1.5":
            if hasattr(policy, "get_modality_config"):  # RobotInferenceServer
                self.endpoints["get_modality_config"] = (policy.get_modality_config, False)
        else:
            self.endpoints["reset"] = (policy.reset, True)
            config = getattr(policy, "get_modality_config", dict)
            self.endpoints["get_modality_config"] = (config, False)
        self.requests: list[str] = []
        self.running = True
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.running = False

    def run(self) -> None:
        while self.running:
            if not self.socket.poll(50):
                continue
            message = self.socket.recv()
            try:
                request = self.codec.unpack(message)
                if self.api_token is not None and request.get("api_token") != self.api_token:
                    self.socket.send(self.codec.pack({"error": "Unauthorized: Invalid API token"}))
                    continue
                endpoint = request.get("endpoint", "get_action")
                self.requests.append(endpoint)
                if endpoint not in self.endpoints:
                    raise ValueError(f"Unknown endpoint: {endpoint}")
                handler, requires_input = self.endpoints[endpoint]
                if not requires_input:
                    result = handler()
                elif self.version == "n1.5":
                    result = handler(request.get("data", {}))
                else:
                    result = handler(**request.get("data", {}))
                self.socket.send(self.codec.pack(result))
            except Exception as e:  # noqa: BLE001 - as the official servers do
                self.socket.send(self.codec.pack({"error": str(e)}))

    def close(self) -> None:
        self.running = False
        self.thread.join(5)
        self.socket.close()
        self.context.term()


# -- fixtures ----------------------------------------------------------------------------------
@pytest.fixture
def fetch_spec():
    pytest.importorskip("groot_sdk_fetch", reason="the fetch plugin is not installed")
    from groot_sdk.cli._common import embodiment_entry

    return embodiment_entry("fetch").spec


@pytest.fixture
def official_server():
    servers: list[OfficialServer] = []

    def start(version: str, **policy_kw: Any) -> OfficialServer:
        server = OfficialServer(version, FetchPolicy(version, **policy_kw))
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


@pytest.fixture
def groot_server():
    """An in-process ``PolicyServer`` (what ``groot serve`` runs) in a thread."""
    from groot_sdk.cli._common import embodiment_entry
    from groot_sdk.policy.factory import make_backend
    from groot_sdk.remote.server import PolicyServer

    servers: list = []

    def start(embodiment: str, policy: str, dialect: str, **options: Any):
        spec = embodiment_entry(embodiment).spec
        backend = make_backend(policy, spec, options)
        server = PolicyServer(backend, spec, host="127.0.0.1", port=0, dialect=dialect)
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_ms": 20}, daemon=True)
        thread.start()
        servers.append((server, thread, backend))
        return server

    yield start
    for server, thread, backend in servers:
        server.stop()
        thread.join(5)
        backend.close()


def fetch_state(rng: np.random.Generator, dims: dict[str, int]) -> dict[str, np.ndarray]:
    return {f"state.{k}": rng.random((1, d)) for k, d in dims.items()}  # float64, as the example


FETCH_DIMS = {
    "eef_position": 3,
    "gripper_qpos": 2,
    "eef_velocity": 3,
    "gripper_qvel": 2,
    "object_position": 3,
    "goal_position": 3,
}


# -- 1. official N1.5 clients against `groot serve --dialect n1.5` -------------------------------
def test_official_n15_client_reads_modality_config_from_groot_serve(groot_server):
    """Finding 1: ``scripts/inference_service.py --client`` calls ``get_modality_config`` first
    (a map modality -> ModalityConfig from a JSON string, prefixed keys), then ``get_action``."""
    pytest.importorskip("groot_sdk_fetch", reason="the fetch plugin is not installed")
    server = groot_server("fetch", "hold", "n1.5")
    client = OfficialClient("n1.5", server.port)
    try:
        configs = client.get_modality_config()
        assert set(configs) == {"video", "state", "action", "language"}
        assert all(isinstance(c, ModalityConfigN15) for c in configs.values())
        assert configs["state"].modality_keys == [f"state.{k}" for k in FETCH_DIMS]
        assert configs["action"].modality_keys == ["action.eef_delta", "action.gripper"]
        assert configs["action"].delta_indices == list(range(H))
        assert configs["state"].delta_indices == [0]
        assert configs["language"].modality_keys == [TASK]
        assert configs["video"].modality_keys == []  # `hold` reads no camera
        # eval_policy.py then reads a dataset with these configs and sends whole steps:
        rng = np.random.default_rng(0)
        obs = fetch_state(rng, FETCH_DIMS)
        obs["video.front"] = rng.integers(0, 256, (1, 256, 256, 3), dtype=np.uint8)
        obs["action.eef_delta"] = rng.random((H, 3))  # ground truth, ignored by the policy
        obs["action.gripper"] = rng.random((H, 1))
        obs[TASK] = ["reach the goal"]
        action = client.get_action(obs)
        assert {k: v.shape for k, v in action.items()} == {
            "action.eef_delta": (H, 3),
            "action.gripper": (H, 1),
        }
        assert action["action.eef_delta"].dtype == np.float32
        assert client.call_endpoint("ping", requires_input=False)["status"] == "ok"
    finally:
        client.close()


# -- 3. groot serve accepts what the official server accepts ------------------------------------
def so101_obs(rng: np.random.Generator, size: tuple[int, int] = (224, 224)) -> dict:
    return {
        "video.front": rng.integers(0, 256, (1, *size, 3), dtype=np.uint8),
        "video.wrist": rng.integers(0, 256, (1, *size, 3), dtype=np.uint8),
        "state.single_arm": rng.random((1, 5)),  # float64, as np.random.rand in the example
        "state.gripper": rng.random((1, 1)),
        TASK: ["pick up the cube"],
    }


@pytest.mark.parametrize("version", ["n1.5", "n1.6", "n1.7"])
def test_groot_serve_converts_resizes_and_ignores_like_the_official_server(
    groot_server, caplog, version
):
    """Finding 3: float64 states, frames at another resolution and keys the policy does not
    read reach the official N1.5 policy (its transforms cast, resize and pick their keys);
    ``groot serve`` accepts them too, logging each ignored key once."""
    no_camera = groot_server("so101", "hold", version)
    camera = groot_server("so101", "hold", version, video="true")
    rng = np.random.default_rng(1)
    clients = [OfficialClient(version, s.port) for s in (no_camera, camera)]
    try:
        for client, size in zip(clients, [(224, 224), (480, 640)]):
            obs = so101_obs(rng, size)
            obs["action.single_arm"] = rng.random((H, 5))  # eval_policy.py's ground truth
            obs["annotation.human.validity"] = ["valid"]
            if version == "n1.5":
                obs[TASK] = np.array(["pick up the cube"])  # Gr00tPolicy np.array()s it anyway
                with caplog.at_level(logging.INFO, logger="groot_sdk.remote.server"):
                    first = client.get_action(obs)
                    second = client.get_action(obs)
                arm = first["action.single_arm"]
            else:
                nested = {
                    "video": {k[6:]: v[None] for k, v in obs.items() if k.startswith("video.")},
                    "state": {k[6:]: v[None] for k, v in obs.items() if k.startswith("state.")},
                    "language": {
                        TASK: [["pick up the cube"]],
                        "annotation.human.validity": [["v"]],
                    },
                }
                nested["state"]["single_arm"] = nested["state"]["single_arm"].astype(np.float64)
                with caplog.at_level(logging.INFO, logger="groot_sdk.remote.server"):
                    first, _ = client.get_action(nested)
                    second, _ = client.get_action(nested)
                arm = first["single_arm"][0]
            assert arm.shape == (H, 5) and arm.dtype == np.float32
            np.testing.assert_allclose(arm[0], obs["state.single_arm"][0], rtol=1e-6)
            assert second is not None
        ignored = [r.getMessage() for r in caplog.records if "ignor" in r.getMessage()]
        # once per key and server: video.front/wrist (no camera), action.single_arm and
        # the validity annotation (both servers)
        for key in ("front", "wrist"):
            assert sum(key in m for m in ignored) == 1, ignored
        assert sum("validity" in m for m in ignored) == 2, ignored
    finally:
        for client in clients:
            client.close()


@pytest.mark.parametrize("version", ["n1.5", "n1.7"])
def test_groot_serve_still_refuses_what_is_wrong(groot_server, version):
    """What the official policy would choke on is refused with a message naming the key."""
    server = groot_server("so101", "hold", version, video="true")
    client = OfficialClient(version, server.port)
    rng = np.random.default_rng(2)

    def ask(obs: dict) -> str:
        if version != "n1.5":
            obs = {
                "video": {k[6:]: v[None] for k, v in obs.items() if k.startswith("video.")},
                "state": {k[6:]: v[None] for k, v in obs.items() if k.startswith("state.")},
                "language": {TASK: [["pick up the cube"]]},
            }
        with pytest.raises(RuntimeError) as info:
            client.get_action(obs)
        return str(info.value)

    try:
        obs = so101_obs(rng)
        del obs["state.gripper"]
        assert "state.gripper" in ask(obs) or "gripper" in ask(obs)
        obs = so101_obs(rng)
        obs["state.single_arm"] = rng.random((1, 4))
        assert "single_arm" in ask(obs)
        obs = so101_obs(rng)
        obs["state.single_arm"][0, 2] = np.nan
        assert "non-finite" in ask(obs)
        obs = so101_obs(rng)
        obs["state.gripper"] = np.array([[1e300]])  # finite in float64, inf once cast
        assert "state.gripper" in ask(obs) or "gripper" in ask(obs)
        obs = so101_obs(rng)
        obs["video.front"] = obs["video.front"].astype(np.float32)
        assert "video.front" in ask(obs) or "front" in ask(obs)
        obs = so101_obs(rng)
        obs["video.front"] = obs["video.front"][..., :2].copy()  # two channels
        assert "front" in ask(obs)
    finally:
        client.close()


def test_groot_serve_refuses_object_arrays_in_both_encodings(groot_server):
    import pickle

    server = groot_server("so101", "hold", "n1.7")
    ctx = zmq.Context()
    sock = ctx.socket(zmq.REQ)
    sock.setsockopt(zmq.RCVTIMEO, 20000)
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(f"tcp://127.0.0.1:{server.port}")
    forged = {
        b"nd": True,
        b"type": "|O",
        b"kind": b"O",
        b"shape": [1],
        b"data": pickle.dumps(np.array([object()], dtype=object)),
    }
    try:
        for payload in (forged, {**forged, b"kind": b"", b"type": "|O"}):
            sock.send(msgpack.packb({"endpoint": "get_action", "data": {"observation": payload}}))
            reply = msgpack.unpackb(sock.recv())
            assert "object" in reply["error"]
    finally:
        sock.close()
        ctx.term()


# -- 2. the remote backend detects the dialect from what the server sends -----------------------
@pytest.mark.parametrize("version", ["n1.5", "n1.6", "n1.7"])
def test_remote_backend_detects_the_dialect_of_official_servers(
    official_server, fetch_spec, version
):
    """Finding 2 (and N1.7): no dialect option. An N1.5 server's ``as_json`` is a JSON string
    with prefixed keys, N1.6's a map, N1.7's a map under ``__ModalityConfig__`` with
    msgpack-numpy arrays; each is read as what it is."""
    from groot_sdk.policy.factory import make_backend

    server = official_server(version)
    backend = make_backend(f"remote://127.0.0.1:{server.port}", fetch_spec, {"timeout_ms": 10000})
    try:
        assert backend.wire_dialect == version
        layout = backend.layout
        assert [k.key for k in layout.state] == ["eef_position", "goal_position"]
        assert [(k.key, k.dim) for k in layout.action] == [("eef_delta", 3), ("gripper", 1)]
        assert [v.name for v in layout.video] == ["front"]
        assert layout.language_key == TASK and layout.action_horizon == H
        state = np.zeros(16, np.float32)
        state[:3] = [1.0, 0.5, 0.4]  # gripper
        state[13:] = [1.0, 0.5, 0.5]  # goal: 10 cm above
        from groot_sdk.policy.observation import assemble_observation

        obs = assemble_observation(
            fetch_spec, state, {"front": np.zeros((480, 480, 3), np.uint8)}, "reach", layout=layout
        )
        chunk = backend.get_action(obs)
        assert {k: v.shape for k, v in chunk.items()} == {
            "action.eef_delta": (H, 3),
            "action.gripper": (H, 1),
        }
        np.testing.assert_allclose(chunk["action.eef_delta"][0], [0, 0, 1])
        sent = server.policy.seen[-1]
        if version == "n1.5":
            assert sent["state.goal_position"].shape == (1, 3)
            assert sent["video.front"].shape == (1, 224, 224, 3)
        else:
            assert sent["state"]["goal_position"].shape == (1, 1, 3)
            backend.reset()
            assert server.policy.seen[-1] == ("reset", None)
    finally:
        backend.close()


@pytest.mark.parametrize("version", ["n1.5", "n1.6"])
def test_remote_backend_copes_with_a_server_without_modality_config(
    official_server, fetch_spec, version
):
    """An N1.5 ``BaseInferenceServer`` has no ``get_modality_config`` ("Unknown endpoint"); an
    N1.6 ``PolicyServer`` around a policy without one answers ``{}``. The spec's layout is used."""
    from groot_sdk.policy.factory import make_backend

    server = official_server(version, modality_config=False)
    backend = make_backend(f"remote://127.0.0.1:{server.port}", fetch_spec, {"timeout_ms": 10000})
    try:
        assert backend.wire_dialect == version
        assert [k.key for k in backend.layout.state] == list(FETCH_DIMS)
    finally:
        backend.close()


# -- 4. a chunk of the wrong width is refused ---------------------------------------------------
@pytest.mark.parametrize("version", ["n1.5", "n1.6", "n1.7"])
def test_remote_backend_refuses_a_chunk_of_the_wrong_width(official_server, fetch_spec, version):
    """Finding 4: a (16, 4) chunk for the 3-D ``eef_delta`` group names key, got and want."""
    from groot_sdk.errors import BackendError
    from groot_sdk.policy.factory import make_backend
    from groot_sdk.policy.observation import assemble_observation

    server = official_server(version, action_width=4)
    backend = make_backend(f"remote://127.0.0.1:{server.port}", fetch_spec, {"timeout_ms": 10000})
    try:
        obs = assemble_observation(
            fetch_spec,
            np.zeros(16, np.float32),
            {"front": np.zeros((480, 480, 3), np.uint8)},
            "reach",
            layout=backend.layout,
        )
        with pytest.raises(BackendError, match=r"action\.eef_delta.*\(16, 4\).*\(16, 3\)"):
            backend.get_action(obs)
    finally:
        backend.close()


# -- N1.6 / N1.7 official clients against groot serve --------------------------------------------
@pytest.mark.parametrize("version", ["n1.6", "n1.7"])
def test_official_policy_client_against_groot_serve(groot_server, version):
    """``PolicyClient`` decodes the modality config (enums by name), gets ``(action, info)``
    in its own array encoding, and resets."""
    server = groot_server("so101", "hold", version, video="true")
    client = OfficialClient(version, server.port)
    rng = np.random.default_rng(3)
    try:
        configs = client.get_modality_config()
        assert all(isinstance(c, ModalityConfig) for c in configs.values())
        assert configs["state"].modality_keys == ["single_arm", "gripper"]
        assert configs["video"].modality_keys == ["front", "wrist"]
        flat = so101_obs(rng)
        obs = {
            "video": {k[6:]: v[None] for k, v in flat.items() if k.startswith("video.")},
            "state": {k[6:]: v[None].astype(np.float32) for k, v in flat.items() if "state." in k},
            "language": {TASK: [["pick up the cube"]]},
        }
        action, info = client.get_action(obs)
        assert info == {}
        assert action["single_arm"].shape == (1, H, 5) and action["single_arm"].dtype == np.float32
        np.testing.assert_allclose(action["single_arm"][0, 0], obs["state"]["single_arm"][0, 0])
        assert client.reset() == {}
    finally:
        client.close()


def test_groot_serve_cli_speaks_n17(wire):
    """``groot serve --dialect n1.7`` (a subprocess, as users run it) answers an N1.7 client."""
    proc, port = wire.start_serve("-e", "so101", "-p", "hold", "--dialect", "n1.7")
    client = OfficialClient("n1.7", port)
    try:
        configs = client.get_modality_config()
        assert configs["action"].modality_keys == ["single_arm", "gripper"]
        obs = {
            "state": {
                "single_arm": np.zeros((1, 1, 5), np.float32),
                "gripper": np.zeros((1, 1, 1), np.float32),
            },
            "language": {TASK: [["pick up the cube"]]},
        }
        action, _ = client.get_action(obs)
        assert action["gripper"].shape == (1, H, 1)
    finally:
        client.close()
        wire.stop(proc)


def test_n17_stand_in_matches_msgpack_numpy():
    """The N1.7 stand-in's arrays are what msgpack-numpy itself (0.4.8, as N1.7 pins it)
    writes and reads."""
    mnp = pytest.importorskip("msgpack_numpy", reason="msgpack-numpy is not installed")
    arr = np.arange(12, dtype=np.float32).reshape(3, 4)
    assert CodecN17.pack({"a": arr}) == msgpack.packb({"a": arr}, default=mnp.encode)
    out = msgpack.unpackb(CodecN17.pack({"a": arr}), object_hook=mnp.decode, raw=False)
    np.testing.assert_array_equal(out["a"], arr)
    # and the SDK's N1.7 encoding is msgpack-numpy's, byte for byte
    from groot_sdk.remote.codec import encode

    assert encode({"a": arr}, arrays="msgpack_numpy") == msgpack.packb(
        {"a": arr}, default=mnp.encode
    )


def test_sdk_codec_reads_and_writes_msgpack_numpy_arrays():
    """N1.7 arrays: the SDK writes exactly what the stand-in (msgpack-numpy) reads, reads what
    it writes, and refuses forged or oversized ones."""
    from groot_sdk.remote.codec import CodecError, Limits, decode, encode

    arrays = {
        "f": np.linspace(0, 1, 12, dtype=np.float32).reshape(3, 4),
        "u": np.arange(24, dtype=np.uint8).reshape(1, 2, 4, 3),
        "d": np.array([1.5]),
        "t": np.asfortranarray(np.arange(6, dtype=np.int64).reshape(2, 3)),
        "z": np.zeros((0, 3), np.float32),
    }
    back = CodecN17.unpack(encode(arrays, arrays="msgpack_numpy"))
    for key, arr in arrays.items():
        np.testing.assert_array_equal(back[key], arr)
        assert back[key].dtype == arr.dtype and back[key].shape == arr.shape
    back = decode(CodecN17.pack(arrays))
    for key, arr in arrays.items():
        np.testing.assert_array_equal(back[key], arr)
        assert back[key].dtype == arr.dtype
    assert decode(CodecN17.pack({"s": np.float32(2.5)}))["s"] == 2.5
    good = {b"nd": True, b"type": "<f4", b"kind": b"", b"shape": [2, 2], b"data": bytes(16)}
    bad = [
        ({**good, b"data": bytes(12)}, "bytes"),
        ({**good, b"shape": [2, -2]}, "shape"),
        ({**good, b"type": "|O"}, "object"),
        ({**good, b"kind": b"O"}, "object"),
        ({**good, b"type": [["a", "<f4"]], b"kind": b"V"}, "structured"),
        ({**good, b"type": 7}, "type"),
        ({**good, b"shape": [1 << 20, 1 << 20]}, "cap"),
    ]
    for forged, words in bad:
        with pytest.raises(CodecError, match=words):
            decode(msgpack.packb({"x": forged}), Limits(max_array_bytes=1 << 20))


# -- Done means: `groot run -e fetch --sim -p remote://H:P` against each official server ---------
@pytest.mark.parametrize("version", ["n1.5", "n1.6", "n1.7"])
def test_groot_run_fetch_sim_against_official_server(official_server, version, monkeypatch):
    """No options: the run detects the dialect, sends what the server's modality config asks
    for (two state groups and the camera), and moves the arm with the chunks it gets back."""
    pytest.importorskip("gymnasium_robotics", reason="the Fetch simulator needs gymnasium-robotics")
    pytest.importorskip("groot_sdk_fetch", reason="the fetch plugin is not installed")
    from click.testing import CliRunner

    from groot_sdk.cli.main import cli

    monkeypatch.setenv("MUJOCO_GL", "egl")
    server = official_server(version)
    args = ["run", "-e", "fetch", "--sim", "-p", f"remote://127.0.0.1:{server.port}"]
    args += ["--task", "reach", "--episodes", "1", "--seconds", "0.4", "--rate", "0", "--json"]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    report = json.loads(result.output[result.output.index("{") :])
    assert report["episodes"] == 1 and report["steps"] >= 5
    assert report["safety_stops"] == 0 and report["holds"] == 0
    assert server.requests.count("get_action") >= 1
    sent = [o for o in server.policy.seen if not isinstance(o, tuple)]
    assert sent, server.requests
