"""Hostile peers for a policy server: malformed messages, garbage TCP connections, floods.

Shared by the remote tests (``tests/remote``) and the reliability soak
(``benchmarks/bench_soak.py``), so both attack the server the same way. Loopback only.
The message fuzzer needs ``hypothesis`` (a test dependency); nothing here imports it
until :func:`raw_messages` is called.
"""

from __future__ import annotations

import io
import pickle
import random
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import msgpack
import numpy as np

TASK = "annotation.human.task_description"
HOST = "127.0.0.1"


# -- an independent encoder (plain msgpack + numpy, as Isaac-GR00T writes it) ---------------
def npy_map(x: np.ndarray) -> dict[str, Any]:
    buf = io.BytesIO()
    np.save(buf, x, allow_pickle=False)
    return {"__ndarray_class__": True, "as_npy": buf.getvalue()}


def pack(obj: Any) -> bytes:
    """msgpack with arrays as ``.npy`` maps; anything else unknown becomes its ``str``."""
    return msgpack.packb(obj, default=lambda x: npy_map(x) if isinstance(x, np.ndarray) else str(x))


# -- hostile .npy payloads -----------------------------------------------------------------
def npy(descr: str, shape: str, body: bytes = b"", major: int = 1) -> bytes:
    """Hand-made ``.npy`` bytes: any header text, any version, any body."""
    header = f"{{'descr': {descr}, 'fortran_order': False, 'shape': {shape}, }}".encode()
    header += b" " * (63 - len(header) % 64) + b"\n"
    size = len(header).to_bytes(2 if major == 1 else 4, "little")
    return b"\x93NUMPY" + bytes([major, 0]) + size + header + body


def _pickled_object_array() -> bytes:
    """What ``np.save`` writes for an object array: an ``|O`` header, then a pickle."""
    return npy("'|O'", "(2,)", pickle.dumps([{"boom": 1}, None], protocol=3))


NPY_BAD = [
    _pickled_object_array(),  # object dtype with a pickle inside
    npy("'|O'", "(2,)", pickle.dumps([1, 2])),  # hand-made object header
    npy("[('a', '|O')]", "(1,)", pickle.dumps(1)),  # object field in a struct
    npy("'<f4'", "(1000000000000,)", b"\0" * 16),  # huge declared shape
    npy("'<f4'", "(100000, 100000)", b""),  # huge, no data
    npy("'|u1'", "(-1,)", b""),  # negative dim
    npy("'V0'", "(5,)", b""),  # zero-size dtype
    npy("'<f4'", "(3,)", b"\0" * 11),  # truncated data
    npy("'<f4'", "(3,", b"\0" * 12),  # broken header
    npy("__import__('os').system('true')", "(1,)", b"\0"),  # code in the header
    npy("'<f4'", "(2,)", b"\0" * 8, major=3),  # unsupported version
    npy("'<f4'", "(2,)", b"\0" * 8, major=2)[:13],  # truncated header
    npy("'<f4'", "(2,)", b"\0" * 8, major=2)[:10],  # v2 preamble cut inside its length
    npy("'<f4'", "(2,)", b"\0" * 8, major=2)[:11],
    b"\x93NUMPY",
    b"not npy at all",
]


def string_flood(megabytes: float, token: str | None = None) -> bytes:
    """A request whose data is lists of 4,096 two-letter strings: under every per-container
    and size cap, yet ~25x its size once decoded into Python objects."""
    rows = max(1, int(megabytes * (1 << 20) / (3 * 4096)))
    request: dict[str, Any] = {"endpoint": "get_action", "data": [["ab"] * 4096] * rows}
    if token is not None:
        request["api_token"] = token  # after the data, where Isaac-GR00T clients put it
    return msgpack.packb(request)


# -- garbage on the TCP port -----------------------------------------------------------------
def zmtp10_garbage(rng: random.Random) -> bytes:
    """What a ZMTP 1.0 peer would send: an identity, then a message with no REQ envelope.

    libzmq takes any first byte but 0xFF as ZMTP 1.0, so random bytes often parse this way;
    a REP socket that reads such a message after its sender left lost the next reply."""
    identity = bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 16))) or b"x"
    body = bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 200)))
    return bytes([len(identity) + 1, 0]) + identity + bytes([len(body) + 1, 0]) + body


def random_garbage(rng: random.Random) -> bytes:
    return bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 512)))


def garbage_burst(port: int, rng: random.Random, count: int = 50) -> None:
    """``count`` TCP connections that each send garbage (half ZMTP 1.0 framed) and leave."""
    for i in range(count):
        payload = zmtp10_garbage(rng) if i % 2 else random_garbage(rng)
        with socket.create_connection((HOST, port), timeout=5) as conn:
            try:
                conn.sendall(payload)
            except OSError:
                pass  # the server may drop a bad peer before it is done talking


# -- the hypothesis message fuzzer -----------------------------------------------------------
def _jpeg_4x4() -> bytes:
    try:
        from PIL import Image
    except ImportError:
        return b"\xff\xd8\xff\xd9"
    buf = io.BytesIO()
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(buf, format="JPEG")
    return buf.getvalue()


def raw_messages(token: str = "tok") -> Any:
    """A hypothesis strategy of ``(which server: bool, frames)``: packed requests (valid,
    nonsense, with hostile arrays), mutated and truncated ones, garbage, multipart."""
    from hypothesis import strategies as st
    from hypothesis.extra import numpy as hnp

    jpeg = _jpeg_4x4()
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
                "frames": st.lists(st.sampled_from([b"\xff\xd8\xff\xe0", jpeg, b""]), max_size=3)
                | scalars,
            }
        )
    )
    values = st.recursive(
        scalars | npy_maps,
        lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4),
        max_leaves=10,
    )
    obs_keys = st.sampled_from(
        ["video.front", "video.wrist", "state.single_arm", "state.gripper", TASK]
        + ["video", "state", "language", "observation", "options"]
    )
    observations = st.dictionaries(obs_keys, values | npy_maps, max_size=6)
    data = (
        values
        | observations
        | st.fixed_dictionaries(
            {"observation": observations | values}, optional={"options": values, "extra": values}
        )
    )
    endpoints = ["ping", "get_action", "reset", "get_modality_config", "kill", "groot_sdk.layout"]
    requests = st.fixed_dictionaries(
        {},
        optional={
            "endpoint": st.sampled_from(endpoints) | st.text(max_size=8) | scalars,
            "api_token": st.sampled_from([token, token + " ", "", token.upper()]) | scalars,
            "data": data,
        },
    )

    @st.composite
    def messages(draw) -> tuple[bool, list[bytes]]:
        kind = draw(st.integers(0, 9))
        if kind <= 4:
            frames = [pack(draw(requests))]
        elif kind == 5:
            frames = [pack(draw(values))]
        elif kind == 6:
            frames = [draw(st.binary(max_size=64))]
        elif kind == 7:  # flipped bytes
            flipped = bytearray(pack(draw(requests)))
            for _ in range(draw(st.integers(1, 4))):
                if flipped:
                    flipped[draw(st.integers(0, len(flipped) - 1))] = draw(st.integers(0, 255))
            frames = [bytes(flipped)]
        elif kind == 8:  # truncated
            msg = pack(draw(requests))
            frames = [msg[: draw(st.integers(0, max(len(msg) - 1, 0)))]]
        else:  # multipart
            frames = [pack({"endpoint": "ping"}), draw(st.binary(max_size=8))]
        return draw(st.booleans()), frames

    return messages()


# -- servers and clients ---------------------------------------------------------------------
@contextmanager
def serving(server: Any) -> Iterator[Any]:
    """Run ``server.serve_forever`` in a thread for the duration of the block."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stop()
        thread.join(5)


def req_socket(ctx: Any, address: str, timeout_ms: int = 5000) -> Any:
    """A REQ socket as Isaac-GR00T's clients use, with a receive timeout."""
    import zmq

    sock = ctx.socket(zmq.REQ)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.RCVTIMEO, timeout_ms)
    sock.connect(address)
    return sock


def serve_process(*args: str, port: int = 0, timeout_s: float = 60) -> tuple[Any, int]:
    """``groot serve ARGS`` in a subprocess; returns (process, port) once it is listening."""
    import os
    import subprocess
    import sys
    import time

    cmd = [sys.executable, "-m", "groot_sdk.cli.main", "serve", *args, "--port", str(port)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env
    )
    assert proc.stderr is not None
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line and proc.poll() is not None:
            raise RuntimeError(f"groot serve exited with {proc.returncode}")
        if line.startswith("serving "):
            address = line.split(" on tcp://")[1].split(" ")[0]
            threading.Thread(target=proc.stderr.read, daemon=True).start()  # keep it drained
            return proc, int(address.rsplit(":", 1)[1])
    proc.kill()
    proc.wait(10)
    raise RuntimeError("groot serve did not start")


def rss_mb(pid: int | str = "self") -> tuple[float, float]:
    """(resident, peak resident) memory of a Linux process, in MiB."""
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            fields[key] = value
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


__all__ = [
    "NPY_BAD",
    "garbage_burst",
    "npy",
    "npy_map",
    "pack",
    "random_garbage",
    "raw_messages",
    "req_socket",
    "rss_mb",
    "serve_process",
    "serving",
    "string_flood",
    "zmtp10_garbage",
]
