"""The simplest baselines: ``zero`` (zero actions) and ``hold`` (keep the current state)."""

from __future__ import annotations

import attrs
import numpy as np

from groot_sdk.modality.layout import ModalityLayout
from groot_sdk.policy.backend import ActionChunk, Observation, PolicyBackend
from groot_sdk.spec import EmbodimentSpec, Representation


class ZeroPolicy(PolicyBackend):
    """Zeros for every action key: no motion for relative actions and Cartesian deltas."""

    def __init__(self, spec: EmbodimentSpec) -> None:
        self.spec = spec
        # no cameras: these baselines never look, so the loop need not render or resize
        self._layout = attrs.evolve(ModalityLayout.from_spec(spec), video=())

    @property
    def layout(self) -> ModalityLayout:
        return self._layout

    def get_action(self, observation: Observation) -> ActionChunk:
        h = self._layout.action_horizon
        return {f"action.{k.key}": np.zeros((h, k.dim), np.float32) for k in self._layout.action}


class HoldPolicy(ZeroPolicy):
    """Repeat the observed state for absolute joint groups (zero deltas otherwise)."""

    def get_action(self, observation: Observation) -> ActionChunk:
        chunk = super().get_action(observation)
        state_keys = {g.key for g in self.spec.observed_state_groups}
        for g in self.spec.action_groups:
            key = f"state.{g.key}"
            if (
                g.representation is Representation.ABSOLUTE
                and g.key in state_keys
                and key in observation
            ):
                current = np.asarray(observation[key], np.float32).reshape(-1, g.size)[-1]
                chunk[f"action.{g.key}"][:] = current
        return chunk


def zero(spec: EmbodimentSpec, **_: object) -> ZeroPolicy:
    return ZeroPolicy(spec)


def hold(spec: EmbodimentSpec, **_: object) -> HoldPolicy:
    return HoldPolicy(spec)
