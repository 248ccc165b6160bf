"""GR00T N1.6 in plain torch + transformers (no Isaac-GR00T, no flash-attn, no remote code)."""

from groot_sdk.models.gr00t_n16.config import (
    EMBODIMENT_TAG_MAPPING,
    MODEL_TYPE,
    Gr00tN1d6Config,
    projector_index,
)
from groot_sdk.models.gr00t_n16.modeling import Gr00tN1d6

__all__ = [
    "EMBODIMENT_TAG_MAPPING",
    "MODEL_TYPE",
    "Gr00tN1d6",
    "Gr00tN1d6Config",
    "projector_index",
]
