"""Helpers for the remote tests: an independent wire codec (plain msgpack + numpy, written from
the Isaac-GR00T format, no SDK code), free ports, and `groot serve` subprocesses."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import time
import types

import msgpack
import numpy as np
import pytest


def pack(obj) -> bytes:
    def default(x):
        if isinstance(x, np.ndarray):
            buf = io.BytesIO()
            np.save(buf, x, allow_pickle=False)
            return {"__ndarray_class__": True, "as_npy": buf.getvalue()}
        raise TypeError(type(x))

    return msgpack.packb(obj, default=default)


def unpack(data: bytes):
    def hook(obj):
        if "__ndarray_class__" in obj:
            return np.load(io.BytesIO(obj["as_npy"]), allow_pickle=False)
        return obj

    return msgpack.unpackb(data, object_hook=hook)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_serve(*args: str, port: int | None = None) -> tuple[subprocess.Popen, int]:
    """`groot serve ARGS` in a subprocess; returns once it prints its address."""
    cmd = [
        sys.executable,
        "-m",
        "groot_sdk.cli.main",
        "serve",
        *args,
        "--port",
        str(0 if port is None else port),
    ]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env
    )
    deadline = time.monotonic() + 60
    assert proc.stderr is not None
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line and proc.poll() is not None:
            raise RuntimeError(f"groot serve exited with {proc.returncode}")
        if line.startswith("serving "):
            return proc, int(line.split(" on tcp://")[1].split(" ")[0].rsplit(":", 1)[1])
    proc.kill()
    raise RuntimeError("groot serve did not start")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.wait(10)


@pytest.fixture
def wire():
    return types.SimpleNamespace(
        pack=pack, unpack=unpack, free_port=free_port, start_serve=start_serve, stop=stop
    )
