"""Generators from an EmbodimentSpec to GR00T / LeRobot configuration, and their cross-checks."""

from groot_sdk.modality.consistency import check_consistency, check_modality_json
from groot_sdk.modality.generators import (
    FORMATS,
    MODEL_LIMITS,
    generate,
    lerobot_features,
    modality_json,
    n15_data_config,
    n16_modality_config,
)
from groot_sdk.modality.layout import KeyDim, ModalityLayout, VideoKey

__all__ = [
    "FORMATS",
    "MODEL_LIMITS",
    "KeyDim",
    "ModalityLayout",
    "VideoKey",
    "check_consistency",
    "check_modality_json",
    "generate",
    "lerobot_features",
    "modality_json",
    "n15_data_config",
    "n16_modality_config",
]
