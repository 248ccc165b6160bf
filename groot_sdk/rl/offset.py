"""A deliberately biased base policy: another backend plus a constant action offset.

A stand-in for a base policy with a systematic domain gap (a miscalibrated camera, a shifted
workspace), so residual RL can be shown to close a gap of known size.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from groot_sdk.errors import ActionError
from groot_sdk.modality.layout import ModalityLayout
from groot_sdk.policy.backend import ActionChunk, Observation, PolicyBackend


class OffsetBackend(PolicyBackend):
    """``base`` with ``offset`` added to every action row.

    ``offset``: a joint-order vector of the layout's full action width, or ``{key: values}``.
    """

    def __init__(
        self, base: PolicyBackend, offset: Sequence[float] | Mapping[str, Sequence[float]]
    ) -> None:
        self.base = base
        self.dialect, self.batched = base.dialect, base.batched
        layout = base.layout
        if isinstance(offset, Mapping):
            known = {k.key for k in layout.action}
            unknown = sorted(set(offset) - known)
            if unknown:
                raise ActionError(f"offset names unknown action keys {unknown}; have {known}")
            self.offset = {
                f"action.{k.key}": np.asarray(offset.get(k.key, np.zeros(k.dim)), np.float32)
                for k in layout.action
            }
        else:
            vec = np.asarray(offset, np.float32).reshape(-1)
            if vec.shape != (layout.action_dim,):
                raise ActionError(
                    f"offset has {vec.shape[0]} values; the action is {layout.describe_action()}"
                )
            self.offset, start = {}, 0
            for k in layout.action:
                self.offset[f"action.{k.key}"] = vec[start : start + k.dim]
                start += k.dim
        for key, value in self.offset.items():
            dim = next(k.dim for k in layout.action if f"action.{k.key}" == key)
            if value.shape != (dim,):
                raise ActionError(f"offset for {key} has shape {value.shape}, expected ({dim},)")

    @property
    def layout(self) -> ModalityLayout:
        return self.base.layout

    def get_action(self, observation: Observation) -> ActionChunk:
        chunk = self.base.get_action(observation)
        return {
            k: (np.asarray(v, np.float32) + self.offset[k]) if k in self.offset else v
            for k, v in chunk.items()
        }

    def reset(self, options: Mapping[str, Any] | None = None) -> None:
        self.base.reset(options)

    def close(self) -> None:
        self.base.close()
