"""Shared builders for the dataset tests: record real episodes through the Python API."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from groot_sdk.data.recorder import LeRobotRecorder
from groot_sdk.embodiment import mock_embodiment
from groot_sdk.policy.observation import prepare_frame
from groot_sdk.spec import EmbodimentSpec


def so101_spec() -> EmbodimentSpec:
    from groot_sdk.plugins import get_registry

    return get_registry().embodiment("so101").spec


def record_mock(
    root: Path, spec: EmbodimentSpec, episodes: int = 3, steps: int = 12, task: str = "pick"
) -> LeRobotRecorder:
    """Drive a mock embodiment (mirrored joints, synthetic cameras) along a sine trajectory
    and record it, as the deployer would: model-resolution frames, state, command."""
    robot = mock_embodiment(spec)
    robot.connect()
    robot.enable()
    rec = LeRobotRecorder(root, spec, fps=spec.rates.policy_hz, task=task)
    lower, upper = np.array(spec.lower), np.array(spec.upper)
    mid, amp = (lower + upper) / 2, (upper - lower) / 4
    for ep in range(episodes):
        rec.start_episode(f"{task} {ep % 2}")
        for k in range(steps):
            command = (mid + amp * np.sin(0.3 * k + ep)).astype(np.float32)
            state = robot.read_state()
            frames = {
                name: prepare_frame(f, cam.model_height, cam.model_width, name)
                for name, f in robot.read_cameras().items()
                for cam in [spec.camera(name)]
            }
            rec.add_step(frames, state, command, k / spec.rates.policy_hz)
            robot.write(command)
        rec.end_episode(success=bool(ep % 2))
    rec.close()
    robot.close()
    return rec
