"""GR00T N1.5 in plain torch + transformers (no Isaac-GR00T, no flash-attn)."""

from groot_sdk.models.gr00t_n15.config import (
    EMBODIMENT_TAG_MAPPING,
    MODEL_TYPE,
    GR00TN15Config,
    projector_index,
)
from groot_sdk.models.gr00t_n15.modeling import GR00TN15

__all__ = ["EMBODIMENT_TAG_MAPPING", "GR00TN15", "MODEL_TYPE", "GR00TN15Config", "projector_index"]
