"""The simplest baselines: ``zero`` (zero actions) and ``hold`` (keep the current state)."""

from __future__ import annotations

import attrs
import numpy as np

from groot_sdk.modality.layout import ModalityLayout
from groot_sdk.policy.backend import ActionChunk, Observation, PolicyBackend
from groot_sdk.spec import EmbodimentSpec, Representation


class ZeroPolicy(PolicyBackend):
    """Zeros for every action key: no motion for relative actions and Cartesian deltas."""

    def __init__(self, spec: EmbodimentSpec, video: bool = False) -> None:
        self.spec = spec
        # no cameras by default: these baselines never look, so the loop need not render;
        # ``video=True`` asks for them anyway (to exercise camera and wire paths in tests)
        layout = ModalityLayout.from_spec(spec)
        self._layout = layout if video else attrs.evolve(layout, video=())

    @property
    def layout(self) -> ModalityLayout:
        return self._layout

    def get_action(self, observation: Observation) -> ActionChunk:
        h = self._layout.action_horizon
        return {f"action.{k.key}": np.zeros((h, k.dim), np.float32) for k in self._layout.action}


class HoldPolicy(ZeroPolicy):
    """Hold the pose observed at the start of the episode (zero deltas for other groups).

    The pose is latched on the first call after :meth:`reset`: re-reading the measured pose
    at every replan would let a joint that carries weight sag a little further each time.
    """

    def __init__(self, spec: EmbodimentSpec, video: bool = False) -> None:
        super().__init__(spec, video)
        self._pose: dict[str, np.ndarray] = {}
        observed = {g.key for g in spec.observed_state_groups}
        #: (group, state key, action key, size) of the absolute groups the state observes
        self._held = [
            (g.key, f"state.{g.key}", f"action.{g.key}", g.size)
            for g in spec.action_groups
            if g.representation is Representation.ABSOLUTE and g.key in observed
        ]

    def reset(self, options=None) -> None:
        self._pose = {}

    def get_action(self, observation: Observation) -> ActionChunk:
        chunk = super().get_action(observation)
        pose = self._pose
        for group, state_key, action_key, size in self._held:
            if group not in pose and state_key in observation:
                current = np.asarray(observation[state_key], np.float32).reshape(-1, size)[-1]
                pose[group] = current.copy()
            if group in pose:
                chunk[action_key][:] = pose[group]
        return chunk


def zero(spec: EmbodimentSpec, video: bool = False, **_: object) -> ZeroPolicy:
    return ZeroPolicy(spec, video)


def hold(spec: EmbodimentSpec, video: bool = False, **_: object) -> HoldPolicy:
    return HoldPolicy(spec, video)
