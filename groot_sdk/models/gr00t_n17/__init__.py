"""GR00T N1.7 in plain torch + transformers' Qwen3-VL (no Isaac-GR00T, no LeRobot)."""

from groot_sdk.models.gr00t_n17.config import (
    EMBODIMENT_TAG_MAPPING,
    MODEL_TYPE,
    GR00TN17Config,
    projector_index,
)
from groot_sdk.models.gr00t_n17.modeling import GR00TN17

__all__ = ["EMBODIMENT_TAG_MAPPING", "GR00TN17", "MODEL_TYPE", "GR00TN17Config", "projector_index"]
