"""Reliability soak: issue 12's campaigns against ``groot serve`` on loopback, fixed seeds.

* ``fuzz``: hostile messages (the hypothesis fuzzer of ``groot_sdk.testing.hostile``, the
  same one tests/remote/test_fuzz.py runs) to an N1.6 and an N1.5 server with a token and
  1 MiB messages;
* ``floods``: 30 MiB requests of short strings (under every size cap) without a token, with
  the right token, and pipelined by one client (ZeroMQ DEALER, zero-copy) to a server with
  the default caps;
* ``garbage``: bursts of 50 garbage TCP connections while a connected client's request is
  in flight, and SIGTERM right after a burst (the server must exit cleanly);
* ``concurrency``: client threads each making valid ``get_action`` calls, every reply checked;
* ``faults``: the server is killed (SIGKILL) and restarted on the same port under a running
  ``remote`` backend, which must time out, then recover on the next call.

Each server is its own process, so its RSS (``/proc``) is the server's alone. A crash is a
server that exited; a hang, a live server that did not answer within the timeout. Targets
(issue 12): 0 crashes, 0 hangs, RSS growth < 50 MB over the hostile-message campaigns, no
connected client losing a reply to garbage. Prints the figures and writes
``out/bench/soak.json``; exits 1 when a target is missed. Never a timed assertion.
"""

from __future__ import annotations

import argparse
import io
import json
import platform
import random
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import msgpack
import numpy as np
import zmq

from groot_sdk.testing.hostile import (
    TASK,
    garbage_burst,
    pack,
    raw_messages,
    req_socket,
    rss_mb,
    serve_process,
    string_flood,
)

TOKEN = "soak-token"
SERVE = ("--embodiment", "so101", "--policy", "hold", "--policy-opt", "video=true")
REPLY_TIMEOUT_MS = 10_000


class Server:
    """One ``groot serve`` process and a REQ client to it (rebuilt after a missed reply)."""

    def __init__(self, ctx: zmq.Context, *args: str) -> None:
        self.ctx, self.args = ctx, args
        self.proc, self.port = serve_process(*SERVE, *args)
        self.address = f"tcp://127.0.0.1:{self.port}"
        self.sock = req_socket(ctx, self.address, REPLY_TIMEOUT_MS)
        self.crashes = self.hangs = self.messages = 0

    def call(self, frames: list[bytes]) -> Any:
        """Send one request; None (and a crash or hang counted) when no reply came."""
        self.messages += 1
        self.sock.send_multipart(frames)
        try:
            return msgpack.unpackb(self.sock.recv(), strict_map_key=False)
        except zmq.Again:
            self.sock.close()
            self.sock = req_socket(self.ctx, self.address, REPLY_TIMEOUT_MS)
            if self.proc.poll() is not None:
                self.crashes += 1
                self.proc, _ = serve_process(*SERVE, *self.args, port=self.port)
            else:
                self.hangs += 1
            return None

    def ping(self) -> bool:
        reply = self.call([pack({"endpoint": "ping", "api_token": TOKEN})])
        return isinstance(reply, dict) and reply.get("status") == "ok"

    def rss(self) -> tuple[float, float]:
        """(RSS, peak RSS) in MiB once the last request is done with (a ping answered after
        it, so its buffers are freed, not caught in flight)."""
        self.ping()
        return rss_mb(self.proc.pid)

    def close(self) -> None:
        self.sock.close()
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)


def _obs(batch: int | None = None) -> dict[str, Any]:
    lead = () if batch is None else (batch,)
    return {
        "video.front": np.zeros((*lead, 1, 224, 224, 3), np.uint8),
        "video.wrist": np.zeros((*lead, 1, 224, 224, 3), np.uint8),
        "state.single_arm": np.full((*lead, 1, 5), 0.25, np.float32),
        "state.gripper": np.zeros((*lead, 1, 1), np.float32),
        TASK: ["pick"] * (batch or 1),
    }


def _warm(server: Server) -> None:
    """Valid traffic first, so lazy imports and caches are not counted as growth."""
    for _ in range(20):
        server.call([pack({"endpoint": "get_action", "api_token": TOKEN, "data": _obs()})])


def fuzz(ctx: zmq.Context, examples: int, seed: int) -> dict[str, Any]:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import seed as fixed_seed
    from hypothesis import strategies as st

    servers = [
        Server(ctx, "--dialect", d, "--api-token", TOKEN, "--max-message-mb", "1")
        for d in ("n1.6", "n1.5")
    ]
    try:
        for s in servers:
            _warm(s)
        before = [s.rss() for s in servers]

        @fixed_seed(seed)
        @settings(
            max_examples=examples,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(st.lists(raw_messages(TOKEN), min_size=10, max_size=10))
        def campaign(batch):
            for second, frames in batch:
                servers[int(second)].call(frames)

        start = time.perf_counter()
        campaign()
        seconds = time.perf_counter() - start
        after = [s.rss() for s in servers]
        alive = all(s.ping() for s in servers)
        return {
            "messages": sum(s.messages for s in servers),
            "crashes": sum(s.crashes for s in servers),
            "hangs": sum(s.hangs for s in servers) + (not alive),
            "rss_growth_mb": round(max(a[0] - b[0] for a, b in zip(after, before)), 1),
            "seconds": round(seconds, 1),
        }
    finally:
        for s in servers:
            s.close()


def floods(ctx: zmq.Context, count: int, pipelined: int) -> dict[str, Any]:
    server = Server(ctx, "--api-token", TOKEN)  # default caps: 32 MiB messages
    try:
        _warm(server)
        rss0, peak0 = server.rss()
        anonymous, wrong_way = string_flood(30), 0
        start = time.perf_counter()
        for _ in range(count):
            reply = server.call([anonymous])
            wrong_way += reply != {"error": "Unauthorized: Invalid API token"}
        authed = string_flood(30, token=TOKEN)
        for _ in range(max(1, count // 4)):
            reply = server.call([authed])
            wrong_way += not (isinstance(reply, dict) and "elements" in str(reply.get("error")))
        unauth_s = time.perf_counter() - start
        rss1, _ = server.rss()
        # one client pipelining big requests (zero-copy: the same buffer each time)
        dealer = ctx.socket(zmq.DEALER)
        dealer.setsockopt(zmq.LINGER, 0)
        dealer.setsockopt(zmq.RCVTIMEO, REPLY_TIMEOUT_MS)
        dealer.connect(server.address)
        for _ in range(pipelined):
            dealer.send_multipart([b"", anonymous], copy=False)
        rss_mid, _ = rss_mb(server.proc.pid)  # while requests are queued
        answered = 0
        try:
            for _ in range(pipelined):
                dealer.recv_multipart()
                answered += 1
        except zmq.Again:
            pass
        dealer.close()
        rss2, peak2 = server.rss()
        alive = server.ping()
        return {
            "messages": server.messages + pipelined,
            "crashes": server.crashes + (server.proc.poll() is not None),
            "hangs": server.hangs + (pipelined - answered) + (not alive),
            "wrong_replies": wrong_way,
            "rss_growth_mb": round(rss1 - rss0, 1),
            "rss_growth_pipelined_mb": round(rss2 - rss0, 1),
            "queued_pipelined_mb": round(rss_mid - rss0, 1),
            "peak_growth_mb": round(peak2 - peak0, 1),
            "ms_per_flood": round(unauth_s / (count + max(1, count // 4)) * 1e3, 1),
        }
    finally:
        server.close()


def garbage(ctx: zmq.Context, bursts: int, stops: int, seed: int) -> dict[str, Any]:
    server = Server(ctx, "--api-token", TOKEN)
    rng = random.Random(seed)
    lost = 0
    try:
        for _ in range(bursts):
            server.sock.send(pack({"endpoint": "ping", "api_token": TOKEN}))
            garbage_burst(server.port, rng, 50)
            try:
                ok = msgpack.unpackb(server.sock.recv()).get("status") == "ok"
            except zmq.Again:
                ok = False
                server.sock.close()
                server.sock = req_socket(ctx, server.address, REPLY_TIMEOUT_MS)
            lost += not ok
        crashes = int(server.proc.poll() is not None)
    finally:
        server.close()
    unclean = 0
    for _ in range(stops):  # SIGTERM right after a burst: a clean exit, not an abort
        proc, port = serve_process(*SERVE)
        garbage_burst(port, rng, 50)
        proc.send_signal(signal.SIGTERM)
        try:
            unclean += proc.wait(30) != 0
        except subprocess.TimeoutExpired:
            unclean += 1
            proc.kill()
            proc.wait(10)
    return {
        "bursts": bursts,
        "connections": (bursts + stops) * 50,
        "lost_replies": lost,
        "stops": stops,
        "crashes": crashes + unclean,
    }


def concurrency(ctx: zmq.Context, clients: int, calls: int) -> dict[str, Any]:
    server = Server(ctx, "--dialect", "n1.5", "--api-token", TOKEN)
    results = {"replies": 0, "errors": 0, "lost": 0}
    lock = threading.Lock()

    def client(i: int) -> None:
        sock = req_socket(ctx, server.address, REPLY_TIMEOUT_MS)
        act = pack({"endpoint": "get_action", "api_token": TOKEN, "data": _obs()})
        counts = {"replies": 0, "errors": 0, "lost": 0}
        try:
            for n in range(calls):
                # every other call names itself: the server's "Unknown endpoint: <name>" must
                # come back to this client and no other
                name = f"client-{i}-call-{n}"
                sock.send(pack({"endpoint": name, "api_token": TOKEN}) if n % 2 else act)
                try:
                    reply = msgpack.unpackb(sock.recv())
                except zmq.Again:
                    counts["lost"] += 1
                    sock.close()
                    sock = req_socket(ctx, server.address, REPLY_TIMEOUT_MS)
                    continue
                if n % 2:
                    good = reply == {"error": f"Unknown endpoint: {name}"}
                else:
                    arm = reply.get("action.single_arm") if isinstance(reply, dict) else None
                    good = isinstance(arm, dict) and np.load(
                        io.BytesIO(arm["as_npy"]), allow_pickle=False
                    ).shape == (16, 5)
                counts["replies" if good else "errors"] += 1
        finally:
            sock.close()
            with lock:
                for k, v in counts.items():
                    results[k] += v

    try:
        start = time.perf_counter()
        threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        seconds = time.perf_counter() - start
        return {
            **results,
            "crashes": int(server.proc.poll() is not None),
            "calls_per_s": round(results["replies"] / seconds, 1),
        }
    finally:
        server.close()


def faults(kills: int) -> dict[str, Any]:
    from groot_sdk.plugins import get_registry
    from groot_sdk.policy.factory import make_backend
    from groot_sdk.remote.client import PolicyTimeoutError

    spec = get_registry().embodiment("so101").spec
    proc, port = serve_process(*SERVE)
    backend = make_backend(f"remote://127.0.0.1:{port}", spec, {"timeout_ms": 500})
    obs = _obs()
    timed_out = recovered = 0
    failures: list[str] = []
    try:
        for _ in range(kills):
            backend.get_action(obs)
            proc.kill()
            proc.wait(10)
            try:
                backend.get_action(obs)
            except PolicyTimeoutError:
                timed_out += 1
            proc, _ = serve_process(*SERVE, port=port)
            try:
                backend.get_action(obs)
                recovered += 1
            except Exception as exc:  # noqa: BLE001 - counted, reported
                failures.append(f"{type(exc).__name__}: {exc}"[:200])
    finally:
        backend.close()
        proc.kill()
        proc.wait(10)
    return {"kills": kills, "timed_out": timed_out, "recovered": recovered, "failures": failures}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--examples", type=int, default=1000, help="fuzz examples (10 messages)")
    parser.add_argument("--floods", type=int, default=20)
    parser.add_argument("--pipelined", type=int, default=150)
    parser.add_argument("--bursts", type=int, default=20)
    parser.add_argument("--stops", type=int, default=5, help="SIGTERMs right after a burst")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--kills", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="a tenth of everything")
    parser.add_argument("--out", default="out/bench/soak.json")
    args = parser.parse_args()
    if args.quick:
        for name in ("examples", "floods", "pipelined", "calls"):
            setattr(args, name, max(1, getattr(args, name) // 10))
    ctx = zmq.Context()
    start = time.perf_counter()
    report: dict[str, Any] = {"platform": platform.platform(), "seed": args.seed}
    try:
        report["fuzz"] = fuzz(ctx, args.examples, args.seed)
        report["floods"] = floods(ctx, args.floods, args.pipelined)
        report["garbage"] = garbage(ctx, args.bursts, args.stops, args.seed)
        report["concurrency"] = concurrency(ctx, args.clients, args.calls)
        report["faults"] = faults(args.kills)
    finally:
        ctx.term()
    report["seconds"] = round(time.perf_counter() - start, 1)
    hostile = ("fuzz", "floods")
    report["targets"] = {
        "crashes == 0": sum(report[k]["crashes"] for k in (*hostile, "garbage", "concurrency"))
        == 0,
        "hangs == 0": sum(report[k]["hangs"] for k in hostile) == 0,
        "rss growth < 50 MB": all(
            report[k][m] < 50 for k in hostile for m in report[k] if m.startswith("rss_growth")
        ),
        "no lost replies": report["garbage"]["lost_replies"] == 0
        and report["concurrency"]["lost"] == 0
        and report["concurrency"]["errors"] == 0,
        "faults recovered": report["faults"]["recovered"] == args.kills
        and report["faults"]["timed_out"] == args.kills,
    }
    print(f"{'campaign':<12} figures")
    for name in ("fuzz", "floods", "garbage", "concurrency", "faults"):
        print(f"{name:<12} " + ", ".join(f"{k} {v}" for k, v in report[name].items()))
    for target, met in report["targets"].items():
        print(f"{'met' if met else 'MISSED':<7} {target}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    return 0 if all(report["targets"].values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
