"""The codec's fast paths (issue 18 item 2) keep every check of the slow ones: a header seen
before is still held to the caller's caps and to its payload's length, the reusing encoder
writes the very bytes :func:`encode` writes, and a server without a token, which decodes a
request in one pass, still refuses what the envelope reader refuses."""

from __future__ import annotations

import re

import msgpack
import numpy as np
import pytest

from groot_sdk.policy.backend import PolicyBackend
from groot_sdk.policy.factory import make_backend
from groot_sdk.policy.simple import ZeroPolicy
from groot_sdk.remote.codec import CodecError, Encoder, Limits, decode, decode_npy, encode_npy
from groot_sdk.remote.codec import encode as encode_message
from groot_sdk.remote.server import PolicyServer


def test_a_known_header_is_still_held_to_the_caps_and_the_payload_length():
    data = encode_npy(np.zeros((4, 256), np.float32))  # 4 KiB of data
    assert decode_npy(data).shape == (4, 256)  # its header is now known
    with pytest.raises(CodecError, match="exceeds the 1024-byte cap"):
        decode_npy(data, Limits(max_array_bytes=1024))
    with pytest.raises(CodecError, match="header of .* bytes exceeds 16"):
        decode_npy(data, Limits(max_npy_header_bytes=16))
    with pytest.raises(CodecError, match="needs 4096"):
        decode_npy(data[:-1])
    with pytest.raises(CodecError, match="needs 4096"):
        decode_npy(data + b"\0")
    back = decode_npy(data)
    assert back.flags.writeable and not np.shares_memory(back, np.frombuffer(data, np.uint8))


class Config(dict):
    pass


def _deep(n: int) -> list:
    root: list = [np.ones(2)]
    node = root
    for _ in range(n):
        node.append([np.int64(n)])
        node = node[-1]
    return root


@pytest.mark.parametrize(
    "message",
    [
        {"a": np.ones((2, 2), np.float32), "b": (1, 2.5, None, True, b"x", "s")},
        [np.zeros(0), np.array(3.0), np.arange(6).reshape(2, 3).T, np.float32(0.5)],
        {"structured": np.zeros(2, dtype=[("a", "<f4"), ("b", "<i2")]), "set": {3}},
        {"sub": Config(x=np.ones(3, np.uint8)), "big": np.ones(70_000, np.uint8)},
        _deep(200),
    ],
    ids=["scalars", "odd-arrays", "structured-set", "dict-subclass-bin32", "deep"],
)
def test_the_encoder_writes_what_encode_writes(message):
    encoder = Encoder()
    assert bytes(encoder.encode(message)) == encode_message(message)
    assert bytes(encoder.encode({"x": 1})) == msgpack.packb({"x": 1})  # buffer reused
    assert bytes(encoder.encode(message)) == encode_message(message)


def test_the_encoder_refuses_what_encode_refuses():
    for bad in ({"o": np.array([object()])}, {"o": object()}, _deep(5000)):
        with pytest.raises(CodecError):
            Encoder().encode(bad)
        with pytest.raises(CodecError):
            encode_message(bad)


@pytest.mark.parametrize(
    "request_bytes, why",
    [
        (msgpack.packb({1: 2}), "map key|keys must be strings"),
        (msgpack.packb({b"endpoint": "ping"}), "keys must be strings"),
        (msgpack.packb([1]), "must be a map"),
        (msgpack.packb({"a": 1}) + b"\0", "malformed"),
        (msgpack.packb({"a": msgpack.ExtType(1, b"x")}), "ext"),
        (msgpack.packb({"endpoint": "get_action", "data": [[1]] * 3})[:-1], "malformed"),
    ],
)
def test_a_tokenless_server_refuses_what_the_envelope_reader_refuses(
    so101_spec, request_bytes, why
):
    server = PolicyServer(make_backend("hold", so101_spec, {}), so101_spec, port=0)
    try:
        reply = decode(server.handle([memoryview(request_bytes)]))
        assert re.search(why, reply["error"]) and server.errors == 1
        assert decode(server.handle([memoryview(msgpack.packb({"endpoint": "ping"}))])) == {
            "status": "ok",
            "message": "Server is running",
        }
    finally:
        server._close_socket()


class Recorder(PolicyBackend):
    """Zeros, and keeps the observation it was given."""

    def __init__(self, spec) -> None:
        self._inner = ZeroPolicy(spec, video=True)
        self.seen: dict = {}

    @property
    def layout(self):
        return self._inner.layout

    def get_action(self, observation):
        self.seen = dict(observation)
        return self._inner.get_action(observation)


@pytest.mark.parametrize("token", [None, "tok"])
def test_frames_reach_the_backend_without_a_copy_and_states_writable(so101_spec, token):
    """Zero-copy frames: a frame is a read-only view of the bytes msgpack made for it (one
    copy of the message in all, not two); states are copied, so a backend may write them."""
    backend = Recorder(so101_spec)
    server = PolicyServer(backend, so101_spec, port=0, api_token=token, dialect="n1.5")
    layout = backend.layout
    obs = {f"video.{v.name}": np.full((1, v.height, v.width, 3), 7, np.uint8) for v in layout.video}
    obs |= {f"state.{k.key}": np.zeros((1, k.dim), np.float32) for k in layout.state}
    obs[layout.language_key] = ["pick"]
    request = {"endpoint": "get_action", "data": obs} | ({"api_token": token} if token else {})
    try:
        reply = decode(server.handle([memoryview(encode_message(request))]))
        assert "error" not in reply, reply
        frames = [v for k, v in backend.seen.items() if k.startswith("video.")]
        states = [v for k, v in backend.seen.items() if k.startswith("state.")]
        assert frames and states
        for frame in frames:
            owner = frame
            while isinstance(owner, np.ndarray):
                owner = owner.base
            assert not frame.flags.writeable and isinstance(owner, bytes)
            assert (frame == 7).all()
        for state in states:
            assert state.flags.writeable
    finally:
        server._close_socket()
