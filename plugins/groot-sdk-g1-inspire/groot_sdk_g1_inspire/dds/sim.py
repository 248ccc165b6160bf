"""A simulated G1 on loopback DDS: subscribes ``rt/lowcmd``, rejects commands whose CRC is
wrong (as the robot does), runs the motors of :class:`~.plant.G1Plant` and publishes
``rt/lowstate`` with ``mode_machine`` 5 (g1_29dof_rev_1_0). Faults: silence (no LowState),
motor error codes.

Two of them, with one interface (``start``, ``stop``, ``status``, ``set_silent``,
``set_motor_error``):

* :class:`SimulatedG1` runs in this process on the driver's own DDS channel;
* :class:`SimulatedG1Process` runs ``dds/robot.py`` in another interpreter on Unitree's own
  SDK and that interpreter's CycloneDDS: give it one with cyclonedds 0.10.x to face the
  driver with the DDS stack the robot runs.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import tempfile
import threading
import time
from importlib.metadata import version
from pathlib import Path

from attrs import frozen
from typing_extensions import Self

from groot_sdk.errors import HardwareError
from groot_sdk_g1_inspire.dds.channel import LOWCMD_TOPIC, LOWSTATE_TOPIC, Endpoint, state_to_sdk
from groot_sdk_g1_inspire.dds.messages import NUM_MOTORS, LowCmd
from groot_sdk_g1_inspire.dds.plant import G1Plant


@frozen
class SimStatus:
    received: int  #: LowCmd messages received
    bad_crc: int  #: of which dropped for a wrong CRC
    command: LowCmd  #: the last accepted command
    cyclonedds: str  #: the simulated robot's CycloneDDS version


class SimulatedG1:
    def __init__(
        self,
        positions=None,
        *,
        domain_id: int = 1,
        interface: str | None = "lo",
        rate_hz: float = 200.0,
        mode_machine: int = 5,
    ) -> None:
        self.plant = G1Plant(positions, mode_machine=mode_machine)
        self.rate_hz = rate_hz
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._endpoint = Endpoint(
            LOWSTATE_TOPIC, "LowState_", LOWCMD_TOPIC, "LowCmd_", self._on_cmd,
            domain_id=domain_id, interface=interface,
        )  # fmt: skip

    # the plant's view, for tests
    state = property(lambda self: self.plant.state)
    command = property(lambda self: self.plant.command)
    commands = property(lambda self: self.plant.commands)
    bad_crc = property(lambda self: self.plant.bad_crc)
    silent = property(lambda self: self.plant.silent)

    def status(self) -> SimStatus:
        p = self.plant
        with p.lock:
            return SimStatus(p.received, p.bad_crc, p.command, version("cyclonedds"))

    def set_silent(self, on: bool = True) -> None:
        (self.plant.silent.set if on else self.plant.silent.clear)()

    def set_motor_error(self, index: int, code: int) -> None:
        self.plant.set_motor_error(index, code)

    def _on_cmd(self, msg) -> None:
        cmd = LowCmd.from_msg(msg)
        self.plant.accept(cmd, cmd.crc == msg.crc)

    def _run(self) -> None:
        period = 1.0 / self.rate_hz
        last = time.monotonic()
        while not self._stop.wait(period):
            now = time.monotonic()
            msg = state_to_sdk(self.plant.step(now - last))
            last = now
            if not self.plant.silent.is_set():
                self._endpoint.write(msg)

    def start(self) -> Self:
        self._endpoint.open()
        self._thread = threading.Thread(target=self._run, name="sim-g1", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._thread = None
        self._endpoint.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class SimulatedG1Process:
    """``dds/robot.py`` run by ``python`` (an interpreter with cyclonedds, ``unitree_sdk2py``,
    numpy and attrs). Only this package is put on its ``sys.path``, through a link in a
    temporary folder, so none of this environment's packages shadow its own."""

    def __init__(
        self,
        python: str,
        *,
        domain_id: int = 1,
        interface: str | None = "lo",
        rate_hz: float = 200.0,
        mode_machine: int = 5,
        start_timeout_s: float = 30.0,
        reply_timeout_s: float = 5.0,
    ) -> None:
        self.python = python
        self.args = [
            "--domain", str(domain_id), "--interface", interface or "",
            "--rate-hz", str(rate_hz), "--mode-machine", str(mode_machine),
        ]  # fmt: skip
        self.start_timeout_s, self.reply_timeout_s = start_timeout_s, reply_timeout_s
        self.cyclonedds = ""
        self._proc: subprocess.Popen | None = None
        self._lines: queue.Queue[str] = queue.Queue()
        self._tmp: str | None = None
        self._lock = threading.Lock()

    def _fail(self, what: str) -> HardwareError:
        tail = ""
        if self._tmp and os.path.exists(os.path.join(self._tmp, "stderr")):
            text = Path(self._tmp, "stderr").read_text(errors="replace").strip().splitlines()
            tail = (": " + " | ".join(text[-3:])) if text else ""
        self.stop()
        return HardwareError(f"simulated G1 ({self.python}): {what}{tail}")

    def _read_lines(self, stream) -> None:
        for line in stream:
            self._lines.put(line)
        self._lines.put("")  # EOF

    def _next(self, timeout: float) -> dict:
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            raise self._fail(f"no answer within {timeout:g} s") from None
        if not line:
            raise self._fail("exited")
        return json.loads(line)

    def start(self) -> Self:
        import groot_sdk_g1_inspire

        self._tmp = tempfile.mkdtemp(prefix="groot-g1-sim-")
        package = Path(groot_sdk_g1_inspire.__file__).resolve().parent
        os.symlink(package, os.path.join(self._tmp, package.name))
        env = {**os.environ, "PYTHONPATH": self._tmp, "PYTHONNOUSERSITE": "1"}
        env.pop("PYTHONHOME", None)
        stderr = open(os.path.join(self._tmp, "stderr"), "wb")  # noqa: SIM115 - child's
        try:
            self._proc = subprocess.Popen(
                [self.python, "-m", "groot_sdk_g1_inspire.dds.robot", *self.args],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, text=True,
                env=env, cwd=self._tmp,
            )  # fmt: skip
        except OSError as exc:
            raise self._fail(f"cannot start: {exc}") from exc
        finally:
            stderr.close()
        threading.Thread(
            target=self._read_lines, args=(self._proc.stdout,), name="sim-g1-out", daemon=True
        ).start()
        ready = self._next(self.start_timeout_s)
        if not ready.get("ready"):
            raise self._fail(f"did not start: {ready.get('error', ready)}")
        self.cyclonedds = ready["cyclonedds"]
        return self

    def _ask(self, **request) -> dict:
        with self._lock:
            if self._proc is None or self._proc.stdin is None:
                raise HardwareError("the simulated G1 is not running")
            try:
                self._proc.stdin.write(json.dumps(request) + "\n")
                self._proc.stdin.flush()
            except OSError as exc:
                raise self._fail(f"control pipe: {exc}") from exc
            return self._next(self.reply_timeout_s)

    def status(self) -> SimStatus:
        r = self._ask(op="status")
        command, _ = LowCmd.unpack(bytes.fromhex(r["command"]))
        return SimStatus(r["received"], r["bad_crc"], command, self.cyclonedds)

    command = property(lambda self: self.status().command)
    bad_crc = property(lambda self: self.status().bad_crc)

    def set_silent(self, on: bool = True) -> None:
        self._ask(op="silent", on=bool(on))

    def set_motor_error(self, index: int, code: int) -> None:
        if not 0 <= index < NUM_MOTORS:
            raise ValueError(f"motor index {index} is not in 0..{NUM_MOTORS - 1}")
        self._ask(op="motor_error", index=int(index), code=int(code))

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            try:
                if proc.stdin is not None:
                    proc.stdin.write(json.dumps({"op": "stop"}) + "\n")
                    proc.stdin.close()
                proc.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                proc.kill()
                proc.wait(timeout=5)
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


__all__ = ["NUM_MOTORS", "SimStatus", "SimulatedG1", "SimulatedG1Process"]
