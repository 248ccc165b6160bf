"""``scripted``: a Cartesian controller that solves Fetch reach and push from the state vector.

It needs no model and no camera: the 16-D state carries the gripper, object and goal
positions. Each call returns a one-step chunk (closed loop at 25 Hz). The controller keeps no
memory, so it recovers from any state (a knocked block, a missed reset):

* reach: move the gripper straight to the goal.
* push: hover behind the block (on the side away from the goal), descend to block height,
  then push through it towards the goal; re-approach whenever the block drifts off-line.
* pick_and_place: hover over the block with open fingers, descend, close, carry to the goal.

The task is ``task=...`` or inferred: reach when the object *is* the gripper (the env's
achieved goal), pick_and_place when the goal is in the air or the block is lifted, push
otherwise (a table-level pick-and-place goal is reached by pushing).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from groot_sdk.errors import ObservationError
from groot_sdk.modality.layout import ModalityLayout
from groot_sdk.policy.backend import ActionChunk, Observation, PolicyBackend
from groot_sdk.spec import EmbodimentSpec

STEP = 0.05  #: metres per unit action (gymnasium-robotics' pos_ctrl scale)
TASKS = ("reach", "push", "pick_and_place")
OBJECT_REST_Z = 0.425  #: m, the block's centre resting on gymnasium's Fetch table


def _clip(v: np.ndarray) -> np.ndarray:
    return np.clip(v, -1.0, 1.0)


class ScriptedFetch(PolicyBackend):
    def __init__(self, spec: EmbodimentSpec, task: str = "", gain: float = 1.0) -> None:
        task = task.strip().lower().replace("-", "_").replace(" ", "_")
        if task and task not in TASKS:
            raise ValueError(f"scripted: unknown task '{task}'; tasks are {list(TASKS)}")
        self.spec = spec
        self.task = task
        self.gain = float(gain)
        base = ModalityLayout.from_spec(spec)
        self._layout = ModalityLayout(
            state=base.state,
            action=base.action,
            video=(),
            language_key=base.language_key,
            action_horizon=1,
            embodiment_tag=base.embodiment_tag,
        )

    @property
    def layout(self) -> ModalityLayout:
        return self._layout

    def reset(self, options: Mapping[str, Any] | None = None) -> None:
        pass  # stateless by design

    def _get(self, obs: Observation, key: str, dim: int) -> np.ndarray:
        full = f"state.{key}"
        if full not in obs:
            raise ObservationError(f"scripted: observation lacks '{full}' ({dim} values)")
        arr = np.asarray(obs[full], np.float64)
        if arr.size < dim or arr.shape[-1] != dim:
            raise ObservationError(
                f"scripted: '{full}' has shape {arr.shape}, expected (..., {dim})"
            )
        if not np.isfinite(arr).all():
            raise ObservationError(f"scripted: '{full}' has non-finite values")
        return arr.reshape(-1, dim)[-1]

    def infer_task(self, grip: np.ndarray, obj: np.ndarray, goal: np.ndarray) -> str:
        if self.task:
            return self.task
        if np.linalg.norm(obj - grip) < 1e-6:
            return "reach"
        lifted = max(goal[2], obj[2]) > OBJECT_REST_Z + 0.01  # goal in the air, or block carried
        return "pick_and_place" if lifted else "push"

    def get_action(self, observation: Observation) -> ActionChunk:
        grip = self._get(observation, "eef_position", 3)
        fingers = self._get(observation, "gripper_qpos", 2)
        obj = self._get(observation, "object_position", 3)
        goal = self._get(observation, "goal_position", 3)
        task = self.infer_task(grip, obj, goal)
        if task == "reach":
            delta, g = self._move(grip, goal), 0.0
        elif task == "push":
            delta, g = self._push(grip, obj, goal), -1.0
        else:
            delta, g = self._pick(grip, fingers, obj, goal)
        return {
            "action.eef_delta": delta[None].astype(np.float32),
            "action.gripper": np.array([[g]], np.float32),
        }

    def _move(self, grip: np.ndarray, target: np.ndarray) -> np.ndarray:
        return _clip(self.gain * (target - grip) / STEP)

    def _push(self, grip: np.ndarray, obj: np.ndarray, goal: np.ndarray) -> np.ndarray:
        d = goal[:2] - obj[:2]
        dist = float(np.linalg.norm(d))
        if dist < 0.01:  # block at the goal: back off upwards, leave it there
            return self._move(grip, np.array([grip[0], grip[1], obj[2] + 0.08]))
        u = d / dist
        behind = obj[:2] - u * 0.055
        lateral = grip[:2] - behind
        # how far the gripper sits off the push line, and how far behind the block it is
        off_line = abs(float(lateral[0] * u[1] - lateral[1] * u[0]))
        along = float(np.dot(obj[:2] - grip[:2], u))
        low = grip[2] < obj[2] + 0.025
        if low and off_line < 0.02 and 0.02 < along < 0.09:
            # in contact position: push so that the block ends on the goal
            target = np.array([*(goal[:2] - u * 0.045), obj[2]])
            return _clip(self._move(grip, target) * 0.6)
        hover = obj[2] + 0.07
        if np.linalg.norm(grip[:2] - behind) > 0.015:
            if grip[2] < hover - 0.02 and np.linalg.norm(grip[:2] - obj[:2]) < 0.1:
                return self._move(grip, np.array([grip[0], grip[1], hover]))  # lift clear first
            return self._move(grip, np.array([*behind, max(hover, grip[2]) if not low else hover]))
        return self._move(grip, np.array([*behind, obj[2]]))  # descend behind the block

    def _pick(
        self, grip: np.ndarray, fingers: np.ndarray, obj: np.ndarray, goal: np.ndarray
    ) -> tuple[np.ndarray, float]:
        width = float(fingers.sum())
        rel = obj - grip
        near_xy = np.linalg.norm(rel[:2]) < 0.012
        at_obj = near_xy and abs(rel[2]) < 0.015
        if at_obj and width < 0.055:  # closed on the block: carry it
            return self._move(grip, goal), -1.0
        if at_obj:
            return np.zeros(3), -1.0  # close the fingers
        hover = obj + np.array([0.0, 0.0, 0.06])
        if not near_xy:
            if grip[2] < obj[2] + 0.04:
                return self._move(grip, np.array([grip[0], grip[1], hover[2]])), 1.0
            return self._move(grip, hover), 1.0
        return self._move(grip, obj), 1.0


def scripted(spec: EmbodimentSpec, task: str = "", gain: float = 1.0, **_: Any) -> ScriptedFetch:
    if spec.name != "fetch":
        raise ValueError(f"scripted: solves Fetch tasks only, not '{spec.name}'")
    return ScriptedFetch(spec, task=task, gain=gain)
