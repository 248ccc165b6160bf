"""A teleoperation session: ``groot run``'s deployer with the operator in the policy's seat and
episodes under the operator's keys.

The session is what the deployer knows as the robot's ``episodic`` (an episode ends when the
operator saves, discards or quits), its ``recorder`` (steps go to the dataset only between
*start* and *save*; a discarded take is dropped by the SDK recorder when the next one starts)
and its ``monitor`` (keys are read once per control tick, on the control clock). The robot is
teleoperated the whole time, also between takes, so the operator can reset the scene.
Everything else (the clock, signals, holds, safe stop, telemetry) is the deployer's own.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from groot_sdk.deploy import DeployConfig, RealtimeDeployer, RunReport
from groot_sdk.deploy.base import StepRecorder
from groot_sdk.embodiment import Embodiment
from groot_sdk.policy.backend import PolicyBackend
from groot_sdk.teleop.bindings import PROMPT, TeleopInput

log = logging.getLogger(__name__)

#: deployer episodes are takes; this bounds the takes of one session (saved or not)
MAX_TAKES = 100_000


class TeleopSession:
    """Runs ``policy`` (a teleop policy) on ``robot`` until ``episodes`` takes are saved or
    the operator quits. ``input``: where episode keys come from; ``recorder``: the SDK
    recorder (or any :class:`StepRecorder`), None to teleoperate without recording;
    ``view``: a step/status listener (the live view); ``say``: the prompt printer."""

    #: takes end on the operator's keys, never after a simulator's own episode length
    max_steps = None

    def __init__(
        self,
        robot: Embodiment,
        policy: PolicyBackend,
        input: TeleopInput,
        config: DeployConfig,
        *,
        episodes: int = 1,
        recorder: StepRecorder | None = None,
        task: str = "",
        view: Any = None,
        say: Callable[[str], None] = print,
        auto_start: bool = False,
    ) -> None:
        self.robot, self.policy, self.input = robot, policy, input
        self.episodes = int(episodes)
        self.recorder, self.task, self.view, self.say = recorder, task, view, say
        self.auto_start = auto_start
        self.inner = robot.episodic  #: the simulator's episodes, if any
        self.saved = 0
        self.discarded = 0
        self.takes = 0
        self.decision: str | None = None
        self.recording = False
        self.quit = False
        self.saved_lengths: list[int] = []
        self._steps = 0
        #: session control time: takes restart the deployer's clock at 0, scripted events
        #: and the live view use the time since the session began
        self.clock = 0.0
        self._offset = 0.0
        self._dt = robot.spec.rates.low_level_dt
        config.episodes = MAX_TAKES
        config.seconds = None
        self.config = config
        robot.episodic = self
        self.deployer = RealtimeDeployer(
            robot, policy, config, recorder=self, on_status=self._status, monitor=self
        )

    def run(self) -> RunReport:
        try:
            report = self.deployer.run()
        finally:
            self.robot.episodic = self.inner
        report.extra["teleop"] = {
            "saved": self.saved,
            "discarded": self.discarded,
            "takes": self.takes,
            "saved_lengths": self.saved_lengths,
        }
        return report

    # -- Episodic (the deployer's view of the robot's episodes) --------------------------------
    def __getattr__(self, name: str) -> Any:
        """The simulator's own API (e.g. a humanoid's base position) stays reachable through
        ``robot.episodic`` while the session stands in for it."""
        inner = self.__dict__.get("inner")
        if inner is None or name.startswith("__"):
            raise AttributeError(name)
        return getattr(inner, name)

    def reset(self, seed: int | None = None) -> None:
        if self.inner is not None:
            self.inner.reset(seed=seed)
        self.decision = None
        self.recording = False
        if self.takes:
            self._offset = self.clock + self._dt
        self.takes += 1

    @property
    def instruction(self) -> str:
        return self.task or str(getattr(self.inner, "instruction", "") or "")

    def done(self) -> bool:
        return self.decision is not None

    def success(self) -> bool | None:
        return self.inner.success() if self.inner is not None else None

    def failed(self) -> bool:
        failed = getattr(self.inner, "failed", None)
        return bool(failed()) if failed is not None else False

    # -- EpisodeMonitor ---------------------------------------------------------------------
    def start_episode(self, episode: Any) -> None:
        if isinstance(episode, str):  # StepRecorder.start_episode(task)
            self._task_now = episode
            return
        n = self.saved + 1
        self.say(f"episode {n}/{self.episodes}: {PROMPT}")
        if self.auto_start:
            self._start()

    def tick(self, t: float, mode: str) -> None:
        self.clock = self._offset + t
        for action in self.input.update(self.clock):
            self._act(action, t)

    def _act(self, action: str, t: float) -> None:
        if action == "start" and not self.recording and self.decision is None:
            self._start()
        elif action == "save" and self.recording and self.decision is None:
            self.decision = "save"
        elif action == "discard" and self.decision is None:
            self.decision = "discard"
        elif action == "quit":
            self.decision = "quit"
            self.quit = True

    def _start(self) -> None:
        self.recording = True
        self._steps = 0
        if self.recorder is not None:
            self.recorder.start_episode(getattr(self, "_task_now", "") or self.instruction)
        self.say(f"recording episode {self.saved + 1}/{self.episodes} ...")

    # -- StepRecorder (the deployer hands every policy step here) ---------------------------
    def add_step(
        self,
        frames: Mapping[str, np.ndarray],
        state: np.ndarray,
        action: np.ndarray,
        timestamp: float,
    ) -> None:
        if self.view is not None:
            self.view.step(frames, state, action, self._offset + timestamp, self.policy)
        if self.recording:
            self._steps += 1
            if self.recorder is not None:
                self.recorder.add_step(frames, state, action, timestamp)

    def end_episode(self, success: bool | None = None) -> None:
        # the deployer calls this once per finished take (as StepRecorder and as monitor)
        if getattr(self, "_ended", None) == self.takes:
            return
        self._ended = self.takes
        if self.decision == "save" and self.recording and self._steps > 0:
            if self.recorder is not None:
                self.recorder.end_episode(success)
            self.saved += 1
            self.saved_lengths.append(self._steps)
            self.say(f"saved episode {self.saved}/{self.episodes} ({self._steps} steps)")
        elif self.recording or self.decision == "discard":
            self.discarded += 1
            self.say("discarded; recording it again")
        self.recording = False
        if self.quit:
            self.deployer.stop("quit by the operator")
        elif self.saved >= self.episodes:
            self.deployer.stop(f"recorded {self.saved} episode(s)")

    def close(self) -> None:
        if self.recorder is not None:
            self.recorder.close()

    def _status(self, status: dict[str, Any]) -> None:
        if self.view is not None:
            self.view.status({**status, "t": self._offset + float(status.get("t", 0.0))})


__all__ = ["MAX_TAKES", "TeleopSession"]
