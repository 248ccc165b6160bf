"""Fuzz the policy server: >= 10,000 malformed messages, then it still answers ping, and
nothing was ever unpickled (pickle.load/loads are booby-trapped for the whole run)."""

from __future__ import annotations

import io
import pickle
import threading

import msgpack
import numpy as np
import pytest
import zmq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from groot_sdk.policy.factory import make_backend
from groot_sdk.remote.codec import Limits
from groot_sdk.remote.server import PolicyServer

TASK = "annotation.human.task_description"
MESSAGES_PER_EXAMPLE = 10
EXAMPLES = 1_050
SENT = {"n": 0}


def _npy(descr: str, shape: str, body: bytes = b"", major: int = 1) -> bytes:
    header = f"{{'descr': {descr}, 'fortran_order': False, 'shape': {shape}, }}".encode()
    header += b" " * (63 - len(header) % 64) + b"\n"
    size = len(header).to_bytes(2 if major == 1 else 4, "little")
    return b"\x93NUMPY" + bytes([major, 0]) + size + header + body


def _pickled_object_array() -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.array([{"boom": 1}, None], dtype=object), allow_pickle=True)
    return buf.getvalue()


NPY_BAD = [
    _pickled_object_array(),  # object dtype with a pickle inside
    _npy("'|O'", "(2,)", pickle.dumps([1, 2])),  # hand-made object header
    _npy("[('a', '|O')]", "(1,)", pickle.dumps(1)),  # object field in a struct
    _npy("'<f4'", "(1000000000000,)", b"\0" * 16),  # huge declared shape
    _npy("'<f4'", "(100000, 100000)", b""),  # huge, no data
    _npy("'|u1'", "(-1,)", b""),  # negative dim
    _npy("'V0'", "(5,)", b""),  # zero-size dtype
    _npy("'<f4'", "(3,)", b"\0" * 11),  # truncated data
    _npy("'<f4'", "(3,", b"\0" * 12),  # broken header
    _npy("__import__('os').system('true')", "(1,)", b"\0"),  # code in the header
    _npy("'<f4'", "(2,)", b"\0" * 8, major=3),  # unsupported version
    _npy("'<f4'", "(2,)", b"\0" * 8, major=2)[:13],  # truncated header
    b"\x93NUMPY",
    b"not npy at all",
]


def _jpeg_4x4() -> bytes:
    try:
        from PIL import Image
    except ImportError:
        return b"\xff\xd8\xff\xd9"
    buf = io.BytesIO()
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(buf, format="JPEG")
    return buf.getvalue()


JPEG_4x4 = _jpeg_4x4()


def _arr(x: np.ndarray) -> dict:
    buf = io.BytesIO()
    np.save(buf, x, allow_pickle=False)
    return {"__ndarray_class__": True, "as_npy": buf.getvalue()}


def _pack(obj) -> bytes:
    return msgpack.packb(obj, default=lambda x: _arr(x) if isinstance(x, np.ndarray) else str(x))


scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats()
    | st.text(max_size=12)
    | st.binary(max_size=24)
)
small_arrays = hnp.arrays(
    st.sampled_from(["u1", "f4", "f8", "i8", "bool", "U3", "c8"]),
    hnp.array_shapes(min_dims=0, max_dims=5, max_side=4),
)
npy_maps = (
    st.sampled_from(NPY_BAD).map(lambda b: {"__ndarray_class__": True, "as_npy": b})
    | small_arrays
    | st.fixed_dictionaries({"__ndarray_class__": scalars, "as_npy": scalars})
    | st.just({"__ModalityConfig_class__": True, "as_json": "{not json"})
    | st.fixed_dictionaries(  # the groot-sdk JPEG extension, with lies about sizes
        {
            "__groot_sdk_jpeg__": st.just(True),
            "shape": st.lists(st.integers(-2, 40), max_size=5) | scalars,
            "frames": st.lists(st.sampled_from([b"\xff\xd8\xff\xe0", JPEG_4x4, b""]), max_size=3)
            | scalars,
        }
    )
)
leaves = scalars | npy_maps
values = st.recursive(
    leaves,
    lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4),
    max_leaves=10,
)
obs_keys = st.sampled_from(
    [
        "video.front",
        "video.wrist",
        "state.single_arm",
        "state.gripper",
        TASK,
        "video",
        "state",
        "language",
        "observation",
        "options",
    ]
)
observations = st.dictionaries(obs_keys, values | npy_maps, max_size=6)
data = (
    values
    | observations
    | st.fixed_dictionaries(
        {"observation": observations | values}, optional={"options": values, "extra": values}
    )
)
requests = st.fixed_dictionaries(
    {},
    optional={
        "endpoint": st.sampled_from(
            ["ping", "get_action", "reset", "get_modality_config", "kill", "groot_sdk.layout"]
        )
        | st.text(max_size=8)
        | scalars,
        "api_token": st.sampled_from(["tok", "tok ", "", "TOK"]) | scalars,
        "data": data,
    },
)


@st.composite
def raw_messages(draw) -> tuple[bool, list[bytes]]:
    """(which server, frames): packed requests, mutated or truncated ones, garbage, multipart."""
    kind = draw(st.integers(0, 9))
    if kind <= 4:
        frames = [_pack(draw(requests))]
    elif kind == 5:
        frames = [_pack(draw(values))]
    elif kind == 6:
        frames = [draw(st.binary(max_size=64))]
    elif kind == 7:
        msg = bytearray(_pack(draw(requests)))
        for _ in range(draw(st.integers(1, 4))):
            if msg:
                msg[draw(st.integers(0, len(msg) - 1))] = draw(st.integers(0, 255))
        frames = [bytes(msg)]
    elif kind == 8:
        msg = _pack(draw(requests))
        frames = [msg[: draw(st.integers(0, max(len(msg) - 1, 0)))]]
    else:
        frames = [_pack({"endpoint": "ping"}), draw(st.binary(max_size=8))]
    return draw(st.booleans()), frames


@pytest.fixture
def servers(so101_spec, monkeypatch):
    unpickled: list = []

    def trap(*args, **kwargs):
        unpickled.append(args)
        raise AssertionError("something tried to unpickle")

    monkeypatch.setattr(pickle, "load", trap)
    monkeypatch.setattr(pickle, "loads", trap)
    limits = Limits.from_mb(1)
    out, threads = [], []
    for dialect in ("n1.6", "n1.5"):
        backend = make_backend("hold", so101_spec, {"video": True})
        srv = PolicyServer(
            backend, so101_spec, port=0, dialect=dialect, api_token="tok", limits=limits
        )
        t = threading.Thread(target=srv.serve_forever, daemon=True)
        t.start()
        out.append(srv)
        threads.append(t)
    yield out, unpickled
    for srv, t in zip(out, threads):
        srv.stop()
        t.join(5)


def _req(ctx, srv) -> zmq.Socket:
    sock = ctx.socket(zmq.REQ)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.RCVTIMEO, 5000)
    sock.connect(srv.address)
    return sock


def test_server_survives_malformed_messages(servers):
    srvs, unpickled = servers
    ctx = zmq.Context()
    socks = [_req(ctx, s) for s in srvs]
    SENT["n"] = 0

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(st.lists(raw_messages(), min_size=MESSAGES_PER_EXAMPLE, max_size=MESSAGES_PER_EXAMPLE))
    def fuzz(batch):
        for second, frames in batch:
            sock = socks[int(second)]
            sock.send_multipart(frames)
            reply = msgpack.unpackb(sock.recv())  # always one well-formed reply
            SENT["n"] += 1
            assert isinstance(reply, (dict, list))

    try:
        fuzz()
        assert SENT["n"] >= 10_000
        assert all(t.requests >= 1000 for t in srvs)
        for sock in socks:
            sock.send(_pack({"endpoint": "ping", "api_token": "tok"}))
            assert msgpack.unpackb(sock.recv()) == {"status": "ok", "message": "Server is running"}
        assert unpickled == []
    finally:
        for sock in socks:
            sock.close()
        ctx.term()


def test_oversized_message_is_dropped_and_server_lives_on(servers):
    """A message over the cap never reaches the decoder (ZeroMQ drops the peer)."""
    srvs, _ = servers
    ctx = zmq.Context()
    try:
        big = _req(ctx, srvs[0])
        big.setsockopt(zmq.RCVTIMEO, 500)
        huge = np.zeros(3 * 1024 * 1024, np.uint8)  # 3 MiB > the 1 MiB cap
        big.send(
            _pack(
                {
                    "endpoint": "get_action",
                    "api_token": "tok",
                    "data": {"observation": {"video.front": huge}},
                }
            )
        )
        with pytest.raises(zmq.Again):
            big.recv()
        big.close()
        ok = _req(ctx, srvs[0])
        ok.send(_pack({"endpoint": "ping", "api_token": "tok"}))
        assert msgpack.unpackb(ok.recv())["status"] == "ok"
        ok.close()
    finally:
        ctx.term()


def test_codec_refuses_what_the_fuzzer_throws(so101_spec):
    from groot_sdk.remote.codec import CodecError, decode, decode_npy

    for payload in NPY_BAD:
        with pytest.raises(CodecError):
            decode_npy(payload)
    bomb = msgpack.packb([[]] * 4000 + [[[]] * 4000] * 3)  # ~16k empty lists in a few KB
    with pytest.raises(CodecError, match="maps/lists"):
        decode(bomb)
    with pytest.raises(CodecError, match="ext"):
        decode(msgpack.packb(msgpack.ExtType(5, b"x")))
