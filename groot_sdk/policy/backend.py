"""The policy contract: a GR00T observation dict in, an action-chunk dict out."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any

import numpy as np
from typing_extensions import Self

from groot_sdk.modality.layout import ModalityLayout

Observation = Mapping[str, Any]
ActionChunk = dict[str, np.ndarray]


class PolicyBackend(ABC):
    """A policy: GR00T observation -> ``{"action.<key>": array (horizon, dim)}``.

    Observations use the N1.5 flat keys (``video.<cam>`` uint8 (T, H, W, 3), ``state.<key>``
    float32 (T, D), the language key -> list of str). Backends that want the N1.6 nested form
    set ``dialect = "n1.6"``; the observation assembler produces either.
    """

    #: the observation form this backend takes: "n1.5" (flat) or "n1.6" (nested)
    dialect: str = "n1.5"
    #: whether observations carry a leading batch dimension
    batched: bool = False

    @property
    @abstractmethod
    def layout(self) -> ModalityLayout:
        """The modality layout this backend expects and returns."""

    @abstractmethod
    def get_action(self, observation: Observation) -> ActionChunk:
        """Return one action chunk for one observation."""

    def reset(self, options: Mapping[str, Any] | None = None) -> None:
        """Forget any per-episode state (history, cached chunks). Optional."""

    def close(self) -> None:
        """Release resources (models, sockets). Optional."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
