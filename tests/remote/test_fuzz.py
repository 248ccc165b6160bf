"""Fuzz the policy server: >= 10,000 malformed messages, then it still answers ping, and
nothing was ever unpickled (pickle.load/loads are booby-trapped for the whole run)."""

from __future__ import annotations

import pickle
import threading

import msgpack
import numpy as np
import pytest
import zmq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from groot_sdk.policy.factory import make_backend
from groot_sdk.remote.codec import Limits
from groot_sdk.remote.server import PolicyServer
from groot_sdk.testing.hostile import NPY_BAD, raw_messages, req_socket
from groot_sdk.testing.hostile import pack as _pack

MESSAGES_PER_EXAMPLE = 10
EXAMPLES = 1_050
SENT = {"n": 0}


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
    return req_socket(ctx, srv.address)


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
    @given(
        st.lists(raw_messages("tok"), min_size=MESSAGES_PER_EXAMPLE, max_size=MESSAGES_PER_EXAMPLE)
    )
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
