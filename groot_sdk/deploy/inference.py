"""Asynchronous inference: the policy runs in a worker thread while the loop keeps ticking."""

from __future__ import annotations

import logging
import queue
import threading
import time
from typing import Any

from attrs import frozen

from groot_sdk.policy.backend import PolicyBackend

log = logging.getLogger(__name__)


@frozen
class InferenceResult:
    tag: Any  #: what the caller attached to the request (observation time, episode)
    chunk: dict | None
    error: BaseException | None
    latency: float  #: wall seconds spent in ``get_action``


class InferenceWorker:
    """One request in flight at a time; results are collected without blocking."""

    def __init__(self, policy: PolicyBackend) -> None:
        self.policy = policy
        self._requests: queue.Queue = queue.Queue(maxsize=1)
        self._results: queue.Queue = queue.Queue()
        self._busy = threading.Event()
        self._idle = threading.Event()  #: the complement of ``_busy``, for waiting on
        self._idle.set()
        self._thread = threading.Thread(target=self._run, name="groot-inference", daemon=True)
        self._thread.start()

    @property
    def pending(self) -> bool:
        return self._busy.is_set()

    def submit(self, observation: Any, tag: Any) -> None:
        if self._busy.is_set():
            raise RuntimeError("an inference request is already in flight")
        self._idle.clear()
        self._busy.set()
        self._requests.put((observation, tag))

    def poll(self) -> InferenceResult | None:
        if not self._results.queue:  # the common case, every tick: no lock taken (a result
            return None  # put meanwhile is collected at the next poll)
        try:
            return self._results.get_nowait()
        except queue.Empty:
            return None

    def wait_idle(self, timeout: float, abort: threading.Event | None = None) -> bool:
        """Wait up to ``timeout`` for the request in flight; ``abort`` (a stop request) ends
        the wait at once. Returns whether the worker is idle."""
        # woken by the worker as soon as it is done (lock-step simulation waits here at
        # every request: polling with sleeps cost a millisecond each); abort is checked
        # every millisecond meanwhile
        deadline = time.monotonic() + timeout
        idle = self._idle
        while not idle.is_set():
            if abort is not None and abort.is_set():
                break
            left = deadline - time.monotonic()
            if left <= 0 or idle.wait(min(left, 0.001)):
                break
        return not self._busy.is_set()

    def call(self, observation: Any, tag: Any) -> InferenceResult:
        """Inference in the caller's thread. ``observation`` may be a callable that builds
        the observation (so assembly runs here, off the control loop)."""
        start = time.perf_counter()
        try:
            if callable(observation):
                observation = observation()
            chunk = self.policy.get_action(observation)
            return InferenceResult(tag, chunk, None, time.perf_counter() - start)
        except Exception as exc:  # noqa: BLE001 - any policy failure is reported, loop holds
            return InferenceResult(tag, None, exc, time.perf_counter() - start)

    def _run(self) -> None:
        while True:
            item = self._requests.get()
            if item is None:
                return
            obs, tag = item
            result = self.call(obs, tag)
            self._results.put(result)
            self._busy.clear()
            self._idle.set()

    def close(self, timeout: float = 1.0) -> None:
        """End the worker; a request still in ``get_action`` is not waited for (the thread is
        a daemon and exits after it), so stopping never depends on the policy."""
        try:
            self._requests.put_nowait(None)
        except queue.Full:
            pass
        if not self._busy.is_set():
            self._thread.join(timeout)
        if self._thread.is_alive():
            log.warning("inference worker still busy in get_action; leaving it (daemon thread)")
