"""``LeRobotRecorder``: the deployer's :class:`~groot_sdk.deploy.base.StepRecorder` that writes a
LeRobot v2.1 or v3.0 dataset.

The control loop only copies the step and appends it to a queue; a worker encodes video and
writes files. When the worker falls ``max_pending`` steps behind, new steps are dropped
(counted in :attr:`dropped`) rather than slowing the loop. The ``timestamp`` column is
``frame_index / fps`` (the time of the step's video frame), as LeRobot and GR00T expect.

Two workers: ``backend="thread"`` (a thread of this process) and ``backend="process"`` (a
child process fed through shared memory). A worker thread shares the GIL with the control
loop: each time it runs Python or GIL-holding numpy code (statistics, parquet, the commit), the
control thread can wait up to the interpreter's switch interval (5 ms) for the GIL, which
``benchmarks/bench_recording.py`` measures as the p99 of ``add_step`` in a 100 Hz loop. The
process worker has its own GIL: ``add_step`` is a memcpy into a shared-memory slot and a small
pipe message. ``groot run --record`` uses the process worker.

``format="v3.0"``: episodes are written as v2.1 (crash-safe, one file each) under
``<root>/.staging-v2.1`` and packed into the v3.0 files by :meth:`close` (stream copy, no
re-encoding); a recording cut short is packed by the next recorder that opens ``root``.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import queue
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from typing_extensions import Self

from groot_sdk.data.writer import DatasetWriter, PendingEpisode
from groot_sdk.errors import GrootError, ObservationError, require
from groot_sdk.spec import EmbodimentSpec

log = logging.getLogger(__name__)


class RecorderError(GrootError, RuntimeError):
    """The recording worker failed; the message says why."""


class _RecorderBase:
    """What both workers report and how they close as context managers."""

    root: Path
    episodes_written: int
    frames_written: int
    dropped: int

    def close(self) -> None:
        raise NotImplementedError

    def summary(self) -> dict[str, Any]:
        return {
            "dataset": str(self.root),
            "episodes_recorded": self.episodes_written,
            "frames_recorded": self.frames_written,
            "dropped_steps": self.dropped,
        }

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class LeRobotRecorder(_RecorderBase):
    """Records the steps a deployer sees into ``root`` (created, or appended to).

    ``max_pending``: steps the worker may lag behind before new ones are dropped;
    ``progress``: show a tqdm counter of recorded episodes; ``format``: ``"v2.1"`` or
    ``"v3.0"``; ``backend``: ``"thread"`` or ``"process"`` (see the module docstring; a
    :class:`ProcessRecorder` is returned for the latter).
    """

    def __new__(cls, *args: Any, backend: str = "thread", **kw: Any) -> Any:
        if backend == "process":
            return ProcessRecorder(*args, **kw)
        if backend != "thread":
            raise RecorderError(f"backend must be 'thread' or 'process', got {backend!r}")
        return super().__new__(cls)

    def __init__(
        self,
        root: str | Path,
        spec: EmbodimentSpec,
        fps: float | None = None,
        task: str = "",
        *,
        max_pending: int = 256,
        video_options: Mapping[str, str] | None = None,
        progress: bool = False,
        format: str = "v2.1",
        backend: str = "thread",
    ) -> None:
        from groot_sdk.data import v30

        self.spec = spec
        self.task = task
        self.fps = float(fps or spec.rates.policy_hz)
        self.format = v30.check_format(format)
        target = Path(root)
        if self.format == "v3.0":
            have = v30.version_of(root)
            if have and not have.startswith("v3"):
                raise RecorderError(f"{root}: holds a {have} dataset; record with --format {have}")
            v30.finish_staging(root)
            target = v30.staging_dir(root)
        elif v30.version_of(root).startswith("v3"):
            raise RecorderError(f"{root}: holds a v3.0 dataset; record with --format v3.0")
        self.writer = DatasetWriter.for_spec(target, spec, self.fps, video_options=video_options)
        self.root = Path(root)
        self.max_pending = max_pending
        self.dropped = 0  #: steps dropped because the worker was behind (all episodes)
        self.episodes_written = 0
        self.frames_written = 0
        self._cameras = [(c.name, c.original_key, c.model_shape) for c in spec.cameras]
        self._queue: queue.Queue[tuple[str, Any]] = queue.Queue()
        self._pending = 0  # steps queued, not yet consumed
        self._lock = threading.Lock()
        self._in_episode = False
        self._episode_dropped = 0
        self._error: BaseException | None = None
        self._closed = False
        self._bar: Any = None
        if progress:  # a counter of committed episodes on stderr (tqdm, when it is a TTY)
            tqdm = require("tqdm", "data", "progress bars").tqdm
            self._bar = tqdm(desc=f"recording {self.root.name}", unit="ep", disable=None)
        self._thread = threading.Thread(target=self._run, name="groot-recorder", daemon=True)
        self._thread.start()

    # -- the StepRecorder protocol (called from the control loop; never blocks) --------------
    def start_episode(self, task: str = "") -> None:
        self._check()
        if self._in_episode:
            log.warning("start_episode without end_episode: the unfinished episode is dropped")
        self._in_episode = True
        self._episode_dropped = 0
        self._queue.put(("start", task or self.task))

    def add_step(
        self,
        frames: Mapping[str, np.ndarray],
        state: np.ndarray,
        action: np.ndarray,
        timestamp: float,
    ) -> None:
        self._check()
        if not self._in_episode:
            raise RecorderError("add_step before start_episode")
        with self._lock:
            if self._pending >= self.max_pending:
                self.dropped += 1
                self._episode_dropped += 1
                return
            self._pending += 1
        try:
            step = self._copy(frames, state, action)
        except BaseException:
            with self._lock:
                self._pending -= 1
            raise
        self._queue.put(("step", step))

    def end_episode(self, success: bool | None = None) -> None:
        """Never raises: deployers call it from ``finally`` blocks; a failed recording is
        reported by :meth:`add_step` and :meth:`close`."""
        if not self._in_episode or self._closed:
            return
        self._in_episode = False
        if self._episode_dropped:
            log.warning(
                "recorder: %d steps of this episode were dropped (the writer fell behind)",
                self._episode_dropped,
            )
        self._queue.put(("end", (success, self._episode_dropped)))

    def close(self) -> None:
        """Finish the queued work, discard an episode that was never ended, stop the worker."""
        if self._closed:
            return
        self._closed = True
        if self._in_episode:
            log.warning("recorder closed mid-episode: that episode is not kept")
            self._in_episode = False
        self._queue.put(("close", None))
        self._thread.join()
        if self._error is not None:
            raise RecorderError(f"recording to {self.root} failed: {self._error}") from self._error

    # -- extras -----------------------------------------------------------------------------
    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every queued item is written; False on timeout."""
        done = threading.Event()
        self._queue.put(("flush", done))
        return done.wait(timeout)

    def _check(self) -> None:
        if self._error is not None:
            raise RecorderError(f"recording to {self.root} failed: {self._error}") from self._error
        if self._closed:
            raise RecorderError("the recorder is closed")

    def _copy(self, frames, state, action) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
        state = np.array(state, np.float32, copy=True).reshape(-1)
        action = np.array(action, np.float32, copy=True).reshape(-1)
        if state.shape != (self.spec.state_dim,):
            raise ObservationError(
                f"recorder: state has {state.size} values, {self.spec.name} has "
                f"{self.spec.state_dim} ({', '.join(self.spec.state_names[:4])}, ...)"
            )
        if action.shape != (self.spec.action_dim,):
            raise ObservationError(
                f"recorder: action has {action.size} values, {self.spec.name} has "
                f"{self.spec.action_dim} joints"
            )
        images = {}
        for name, key, shape in self._cameras:
            img = frames.get(name)
            if img is None:
                img = frames.get(key)
            if img is None:
                raise ObservationError(f"recorder: no frame for camera '{name}'")
            if img.shape != shape or img.dtype != np.uint8:
                raise ObservationError(
                    f"recorder: camera '{name}' frame is {img.dtype} {img.shape}, expected "
                    f"uint8 {shape} (the model resolution)"
                )
            images[key] = np.array(img, copy=True)
        return images, state, action

    # -- the worker -------------------------------------------------------------------------
    def _run(self) -> None:
        pending: PendingEpisode | None = None
        task = ""
        states: list[np.ndarray] = []
        actions: list[np.ndarray] = []
        failed = False
        while True:
            kind, payload = self._queue.get()
            if kind == "step":
                with self._lock:
                    self._pending -= 1
            if kind == "flush":
                payload.set()
                continue
            if kind == "close":
                if pending is not None:
                    self.writer.discard(pending)
                if self._bar is not None:
                    self._bar.close()
                try:
                    self.writer.close()
                    if self.format == "v3.0" and self._error is None:
                        from groot_sdk.data.v30 import pack_staging

                        pack_staging(self.root)
                except Exception as exc:  # reported by close()
                    log.exception("finishing the dataset failed")
                    self._error = self._error or exc
                return
            if failed:
                continue
            try:
                if kind == "start":
                    if pending is not None:
                        self.writer.discard(pending)
                    pending, task, states, actions = self.writer.new_episode(), payload, [], []
                elif kind == "step" and pending is not None:
                    images, state, action = payload
                    for key, img in images.items():
                        pending.add_frame(key, img)
                    states.append(state)
                    actions.append(action)
                elif kind == "end" and pending is not None:
                    success, dropped = payload
                    if states:
                        extra: dict[str, Any] = {}
                        if success is not None:
                            extra["success"] = bool(success)
                        if dropped:
                            extra["dropped_steps"] = int(dropped)
                        columns = {
                            "observation.state": np.stack(states),
                            "action": np.stack(actions),
                        }
                        row = self.writer.commit(pending, columns, task, extra=extra)
                        self.episodes_written += 1
                        self.frames_written += int(row["length"])
                        if self._bar is not None:
                            self._bar.update(1)
                            self._bar.set_postfix(frames=self.frames_written, dropped=self.dropped)
                        log.info(
                            "recorded episode %d (%d frames)", row["episode_index"], row["length"]
                        )
                    else:
                        self.writer.discard(pending)
                    pending = None
            except BaseException as exc:  # keep draining so the loop never blocks on us
                log.exception("recorder worker failed")
                self._error = exc
                failed = True
                if pending is not None:
                    self.writer.discard(pending)
                    pending = None


# -- the process worker ---------------------------------------------------------------------------
#: shared memory for frames in flight is capped at this many bytes (fewer slots for big cameras)
SHM_MAX_BYTES = 512 * 1024 * 1024
_HEADER = 64  #: bytes before the ring: [0] = steps the child has taken out of the ring


class ProcessRecorder(_RecorderBase):
    """:class:`LeRobotRecorder` run in a child process (``backend="process"``): the control
    loop copies frames into a shared-memory ring slot and sends a small message; the child
    feeds a thread-backend recorder. Steps are dropped when every slot is in flight."""

    def __init__(
        self,
        root: str | Path,
        spec: EmbodimentSpec,
        fps: float | None = None,
        task: str = "",
        *,
        max_pending: int = 256,
        video_options: Mapping[str, str] | None = None,
        progress: bool = False,
        format: str = "v2.1",
        start_timeout: float = 120.0,
    ) -> None:
        from multiprocessing import shared_memory

        self.spec, self.task = spec, task
        self.fps = float(fps or spec.rates.policy_hz)
        self.root = Path(root)
        self.format = format
        self.max_pending = max_pending
        self.dropped = 0
        self.episodes_written = 0
        self.frames_written = 0
        self._cameras = [(c.name, c.original_key, c.model_shape) for c in spec.cameras]
        self._sizes = [int(np.prod(shape)) for _, _, shape in self._cameras]
        extra = 4 * (spec.state_dim + spec.action_dim) + 8  # state, action, timestamp
        step = sum(self._sizes) + extra
        self._slots = max(2, min(max_pending, SHM_MAX_BYTES // step))
        self._shm = shared_memory.SharedMemory(create=True, size=_HEADER + self._slots * step)
        #: [0] steps the child has taken out of the ring, [1] steps put in (written last)
        self._counters = np.ndarray((2,), np.int64, buffer=self._shm.buf)
        self._counters[:] = 0
        self._ring = np.ndarray((self._slots, step), np.uint8, buffer=self._shm.buf, offset=_HEADER)
        self._ring.fill(0)  # fault the pages in now, not one slot at a time in the control loop
        self._produced = 0
        self._in_episode = False
        self._episode_dropped = 0
        self._closed = False
        self._error: str | None = None
        ctx = mp.get_context("spawn")  # fork is unsafe once threads (and CUDA) exist
        cmd_r, self._cmd = ctx.Pipe(duplex=False)
        self._res, res_w = ctx.Pipe(duplex=False)
        self._proc = ctx.Process(
            target=_child_main,
            args=(str(self.root), spec, self.fps, task, dict(video_options or {}) or None,
                  format, progress, self._shm.name, self._slots, step, cmd_r, res_w),
            name="groot-recorder", daemon=True,
        )  # fmt: skip
        self._proc.start()
        cmd_r.close()
        res_w.close()
        if not self._res.poll(start_timeout):
            self._shutdown()
            raise RecorderError(f"recording to {self.root}: the worker process did not start")
        msg = self._res.recv()
        if msg[0] != "ready":
            self._shutdown()
            raise msg[1] if isinstance(msg[1], BaseException) else RecorderError(str(msg[1]))

    # -- the StepRecorder protocol ----------------------------------------------------------
    def start_episode(self, task: str = "") -> None:
        self._check()
        if self._in_episode:
            log.warning("start_episode without end_episode: the unfinished episode is dropped")
        self._in_episode = True
        self._episode_dropped = 0
        self._cmd.send(("start", self._produced, task or self.task))

    def add_step(
        self,
        frames: Mapping[str, np.ndarray],
        state: np.ndarray,
        action: np.ndarray,
        timestamp: float,
    ) -> None:
        self._check()
        if not self._in_episode:
            raise RecorderError("add_step before start_episode")
        state = np.array(state, np.float32, copy=True).reshape(-1)
        action = np.array(action, np.float32, copy=True).reshape(-1)
        if state.shape != (self.spec.state_dim,):
            raise ObservationError(
                f"recorder: state has {state.size} values, {self.spec.name} has "
                f"{self.spec.state_dim} ({', '.join(self.spec.state_names[:4])}, ...)"
            )
        if action.shape != (self.spec.action_dim,):
            raise ObservationError(
                f"recorder: action has {action.size} values, {self.spec.name} has "
                f"{self.spec.action_dim} joints"
            )
        images = []
        for name, key, shape in self._cameras:
            img = frames.get(name)
            if img is None:
                img = frames.get(key)
            if img is None:
                raise ObservationError(f"recorder: no frame for camera '{name}'")
            if img.shape != shape or img.dtype != np.uint8:
                raise ObservationError(
                    f"recorder: camera '{name}' frame is {img.dtype} {img.shape}, expected "
                    f"uint8 {shape} (the model resolution)"
                )
            images.append(img)
        if self._produced - int(self._counters[0]) >= self._slots:
            self.dropped += 1
            self._episode_dropped += 1
            return
        # no system call, no pickling, no wake-up: copies into the slot, then the counter
        row, off = self._ring[self._produced % self._slots], 0
        for img, n in zip(images, self._sizes, strict=True):
            row[off : off + n] = img.reshape(-1)
            off += n
        tail = row[off:].view(np.float32)
        tail[: state.size] = state
        tail[state.size : state.size + action.size] = action
        row[-8:].view(np.float64)[0] = timestamp
        self._produced += 1
        self._counters[1] = self._produced

    def end_episode(self, success: bool | None = None) -> None:
        if not self._in_episode or self._closed:
            return
        self._in_episode = False
        if self._episode_dropped:
            log.warning(
                "recorder: %d steps of this episode were dropped (the writer fell behind)",
                self._episode_dropped,
            )
        try:
            self._cmd.send(("end", self._produced, success, self._episode_dropped))
        except OSError as exc:  # never raise from a deployer's finally block
            log.error("recorder: the worker process is gone (%s)", exc)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._in_episode:
            log.warning("recorder closed mid-episode: that episode is not kept")
            self._in_episode = False
        try:
            self._cmd.send(("close", self._produced))
            while True:  # committing the last episodes (and packing v3.0) can take a while
                msg = self._res.recv()
                self._handle(msg)
                if msg[0] == "closed":
                    break
        except (EOFError, OSError) as exc:
            self._error = self._error or f"the worker process died ({exc})"
        finally:
            self._shutdown()
        if self._error is not None:
            raise RecorderError(f"recording to {self.root} failed: {self._error}")

    # -- extras -----------------------------------------------------------------------------
    def flush(self, timeout: float | None = None) -> bool:
        self._cmd.send(("flush", self._produced))
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not self._res.poll(left):
                return False
            msg = self._res.recv()
            self._handle(msg)
            if msg[0] == "flushed":
                return True

    def summary(self) -> dict[str, Any]:
        self._poll()
        return super().summary()

    def _handle(self, msg: tuple[Any, ...]) -> None:
        if msg[0] in ("flushed", "closed", "progress"):
            self.episodes_written, self.frames_written = msg[1], msg[2]
            if msg[0] == "closed" and msg[3]:
                self._error = self._error or str(msg[3])
        elif msg[0] == "error":
            self._error = self._error or str(msg[1])

    def _poll(self) -> None:
        try:
            while self._res.poll(0):
                self._handle(self._res.recv())
        except (EOFError, OSError):
            if not self._closed:
                self._error = self._error or "the worker process died"

    def _check(self) -> None:
        if self._closed:
            raise RecorderError("the recorder is closed")
        self._poll()
        if self._error is not None:
            raise RecorderError(f"recording to {self.root} failed: {self._error}")

    def _shutdown(self) -> None:
        for conn in (self._cmd, self._res):
            conn.close()
        self._proc.join(30)
        if self._proc.is_alive():
            self._proc.terminate()
            self._proc.join(5)
        del self._counters, self._ring
        self._shm.close()
        self._shm.unlink()


def _child_main(root, spec, fps, task, video_options, fmt, progress, shm_name, slots, step, cmd,
                res) -> None:  # fmt: skip
    """The worker process: a thread-backend recorder fed from the ring and the pipe.

    Steps come through the ring alone (the parent bumps ``counters[1]``); control messages
    carry the step count at which they were sent, so steps before a message are handled
    before it. The ring is polled every 2 ms: the control loop never wakes this process."""
    from multiprocessing import shared_memory

    shm = shared_memory.SharedMemory(name=shm_name)
    counters = np.ndarray((2,), np.int64, buffer=shm.buf)
    ring = np.ndarray((slots, step), np.uint8, buffer=shm.buf, offset=_HEADER)
    try:
        rec = LeRobotRecorder(
            root, spec, fps, task, max_pending=slots, video_options=video_options,
            progress=progress, format=fmt,
        )  # fmt: skip
    except BaseException as exc:  # noqa: BLE001 - handed to the parent
        try:
            res.send(("error", exc))
        except Exception:  # noqa: BLE001 - an exception that does not pickle
            res.send(("error", RecorderError(f"{type(exc).__name__}: {exc}")))
        return
    res.send(("ready",))
    cams = [(key, shape, int(np.prod(shape))) for _, key, shape in rec._cameras]
    s_dim, a_dim = spec.state_dim, spec.action_dim
    reported: list[BaseException] = []
    done = 0

    def take(upto: int) -> None:
        nonlocal done
        while done < upto:
            while rec._pending >= rec.max_pending and rec._error is None:
                time.sleep(0.001)  # the ring holds the backlog; the parent drops
            row, off, frames = ring[done % slots], 0, {}
            for key, shape, n in cams:
                frames[key] = row[off : off + n].reshape(shape)
                off += n
            tail = row[off:].view(np.float32)
            try:
                if rec._in_episode:
                    rec.add_step(
                        frames, tail[:s_dim], tail[s_dim : s_dim + a_dim],
                        float(row[-8:].view(np.float64)[0]),
                    )  # fmt: skip
            except BaseException as exc:  # noqa: BLE001 - reported once
                _report(exc)
            finally:
                done += 1
                counters[0] = done

    def _report(exc: BaseException) -> None:
        if not reported:
            reported.append(exc)
            try:
                res.send(("error", f"{type(exc).__name__}: {exc}"))
            except (OSError, EOFError):
                pass

    while True:
        produced = int(counters[1])  # read before the pipe: see the docstring
        try:
            msg = cmd.recv() if cmd.poll(0.002) else None
        except (EOFError, OSError):
            msg = ("close", produced)  # the parent died: keep what was finished
        if msg is None:
            take(produced)
            continue
        kind, at = msg[0], int(msg[1])
        take(at)
        try:
            if kind == "start":
                rec.start_episode(msg[2])
            elif kind == "end":
                rec._episode_dropped += int(msg[3])
                rec.end_episode(msg[2])
            elif kind == "flush":
                rec.flush()
                res.send(("flushed", rec.episodes_written, rec.frames_written))
            elif kind == "close":
                error = ""
                try:
                    rec.close()
                except BaseException as exc:  # noqa: BLE001 - handed to the parent
                    error = str(exc)
                try:
                    res.send(("closed", rec.episodes_written, rec.frames_written, error))
                except (OSError, EOFError):
                    pass
                break
        except BaseException as exc:  # noqa: BLE001 - reported once; keep draining
            _report(exc)
    try:
        shm.close()
    except BufferError:  # the views above still hold it; the process exits right after
        pass
