"""A stand-in for what Isaac-GR00T N1.5 checks when it loads a fine-tuned checkpoint.

Written from the published source at Isaac-GR00T commit 4af2b622 (the last N1.5 commit,
Apache-2.0; read through public forks): ``gr00t/data/schema.py`` (``DatasetMetadata``,
``DatasetStatistics``, ``DatasetStatisticalValues``, ``DatasetModalities``, ``VideoMetadata``,
``StateActionMetadata``, ``RotationType``), ``gr00t/data/embodiment_tags.py`` (the tag values)
and ``gr00t/model/policy.py`` (``Gr00tPolicy._load_metadata``: ``experiment_cfg/metadata.json``,
the entry of the policy's embodiment tag validated as ``DatasetMetadata``). No code is copied;
these are its rules, restated with pydantic (which upstream uses):

* metadata.json maps an embodiment tag to ``{statistics, modalities, embodiment_tag}``;
* statistics: ``state`` and ``action`` dicts of ``{max, min, mean, std, q01, q99}`` arrays;
* modalities: ``video`` ``{resolution: (int, int), channels: int, fps: float}``; ``state`` /
  ``action`` ``{absolute: bool, rotation_type: RotationType | None, shape: tuple[int, ...],
  continuous: bool}``; ``embodiment_tag`` one of the ``EmbodimentTag`` values;
* the normaliser slices each key's statistics to the key's ``shape`` (every statistic must have
  exactly ``shape[0]`` values).

The ``config.json`` rules are those of ``GR00T_N1_5Config`` / ``FlowmatchingActionHeadConfig``:
``model_type`` ``gr00t_n1_5``, ``backbone_cfg`` and ``action_head_cfg`` dicts, the head keys its
constructor reads, and ``action_horizon`` / ``action_dim`` equal to the head's.
"""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, field_validator

#: ``EmbodimentTag`` values of N1.5 (gr00t/data/embodiment_tags.py)
EMBODIMENT_TAGS = ("gr1", "oxe_droid", "agibot_genie1", "new_embodiment")


class RotationType(Enum):
    AXIS_ANGLE = "axis_angle"
    QUATERNION = "quaternion"
    ROTATION_6D = "rotation_6d"
    MATRIX = "matrix"
    EULER_ANGLES_RPY = "euler_angles_rpy"
    EULER_ANGLES_RYP = "euler_angles_ryp"
    EULER_ANGLES_PRY = "euler_angles_pry"
    EULER_ANGLES_PYR = "euler_angles_pyr"
    EULER_ANGLES_YRP = "euler_angles_yrp"
    EULER_ANGLES_YPR = "euler_angles_ypr"


class StatValues(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True, extra="forbid")
    max: np.ndarray
    min: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    q01: np.ndarray
    q99: np.ndarray

    @field_validator("*", mode="before")
    @classmethod
    def _array(cls, v):
        return np.array(v)


class Statistics(BaseModel):
    state: dict[str, StatValues]
    action: dict[str, StatValues]


class Video(BaseModel):
    resolution: tuple[int, int]
    channels: int
    fps: float


class StateAction(BaseModel):
    absolute: bool
    rotation_type: RotationType | None = None
    shape: tuple[int, ...]
    continuous: bool


class Modalities(BaseModel):
    video: dict[str, Video]
    state: dict[str, StateAction]
    action: dict[str, StateAction]


class Metadata(BaseModel):
    statistics: Statistics
    modalities: Modalities
    embodiment_tag: str

    @field_validator("embodiment_tag")
    @classmethod
    def _tag(cls, v: str) -> str:
        if v not in EMBODIMENT_TAGS:
            raise ValueError(f"{v} is not a valid EmbodimentTag")
        return v


HEAD_KEYS = (
    "action_dim", "action_horizon", "add_pos_embed", "backbone_embedding_dim",
    "diffusion_model_cfg", "hidden_size", "input_embedding_dim", "max_action_dim",
    "max_state_dim", "max_num_embodiments", "noise_beta_alpha", "noise_beta_beta", "noise_s",
    "num_inference_timesteps", "num_target_vision_tokens", "num_timestep_buckets",
    "tune_diffusion_model", "tune_projector", "use_vlln", "vl_self_attention_cfg",
)  # fmt: skip


def load_policy_metadata(checkpoint: Path, tag: str) -> Metadata:
    """``Gr00tPolicy._load_metadata``: the tag's entry, validated, statistics sliced to shape."""
    data = json.loads((checkpoint / "experiment_cfg" / "metadata.json").read_text())
    if tag not in data:
        raise ValueError(f"No metadata found for embodiment tag: {tag}")
    meta = Metadata.model_validate(data[tag])
    for section in ("state", "action"):
        for key, info in getattr(meta.modalities, section).items():
            stats = getattr(meta.statistics, section)[key]
            for name in ("max", "min", "mean", "std", "q01", "q99"):
                arr = getattr(stats, name)
                if arr.shape != (info.shape[0],):
                    raise ValueError(
                        f"{section}.{key}.{name} has shape {arr.shape}, not {info.shape}"
                    )
    return meta


def check_config(checkpoint: Path) -> dict:
    cfg = json.loads((checkpoint / "config.json").read_text())
    assert cfg["model_type"] == "gr00t_n1_5", cfg.get("model_type")
    head = cfg["action_head_cfg"]
    missing = [k for k in HEAD_KEYS if k not in head]
    assert not missing, missing
    assert cfg["action_horizon"] == head["action_horizon"]
    assert cfg["action_dim"] == head["action_dim"]
    assert isinstance(cfg["backbone_cfg"], dict)
    return cfg
