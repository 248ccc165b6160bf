"""Pure functions: an EmbodimentSpec in, the configuration files GR00T and LeRobot read out.

* :func:`modality_json` - GR00T's ``meta/modality.json``
* :func:`n15_data_config` - the keys and indices of an N1.5 ``BaseDataConfig``
* :func:`n16_modality_config` - an N1.6 ``{video,state,action,language: ModalityConfig}`` as JSON
* :func:`lerobot_features` - the ``features`` section of a LeRobot ``meta/info.json``
"""

from __future__ import annotations

from typing import Any

from groot_sdk.errors import ModalityError
from groot_sdk.spec import EmbodimentSpec, GroupKind, Representation

#: (max_state_dim, max_action_dim) of each model version, as released (GR00T-N1.5-3B,
#: GR00T-N1.6-3B; an N1.6 state key with sin/cos encoding counts twice).
MODEL_LIMITS: dict[str, tuple[int, int]] = {"n1.5": (64, 32), "n1.6": (128, 128)}

ANNOTATION_ORIGINAL_KEY = "task_index"


def modality_json(spec: EmbodimentSpec) -> dict[str, Any]:
    """GR00T's ``meta/modality.json``: slices of ``observation.state`` and ``action``."""
    state = {
        g.key: {"start": g.start, "end": g.end, "absolute": True, "dtype": "float32"}
        for g in spec.observed_state_groups
    }
    action = {
        g.key: {
            "start": g.start,
            "end": g.end,
            "absolute": g.representation is Representation.ABSOLUTE,
            "dtype": "float32",
        }
        for g in spec.action_groups
    }
    return {
        "state": state,
        "action": action,
        "video": {c.name: {"original_key": c.original_key} for c in spec.cameras},
        "annotation": {
            spec.language_key.removeprefix("annotation."): {"original_key": ANNOTATION_ORIGINAL_KEY}
        },
    }


def _check_limits(spec: EmbodimentSpec, model: str) -> None:
    if model not in MODEL_LIMITS:
        return
    max_state, max_action = MODEL_LIMITS[model]
    if spec.state_dim > max_state:
        raise ModalityError(
            f"{spec.name}: state is {spec.state_dim}-D but GR00T {model.upper()} takes at most "
            f"{max_state}; reduce the state layout or target a newer model"
        )
    if spec.action_dim > max_action:
        raise ModalityError(
            f"{spec.name}: action is {spec.action_dim}-D but GR00T {model.upper()} takes at "
            f"most {max_action} (max_action_dim); reduce the action layout (e.g. actuated hand "
            "DOF only)" + (" or target N1.6" if model == "n1.5" else "")
        )


def n15_data_config(spec: EmbodimentSpec) -> dict[str, Any]:
    """The keys and indices of an N1.5 data config (``gr00t/experiment/data_config.py``)."""
    _check_limits(spec, "n1.5")
    return {
        "video_keys": [f"video.{c.name}" for c in spec.cameras],
        "state_keys": [f"state.{g.key}" for g in spec.observed_state_groups],
        "action_keys": [f"action.{g.key}" for g in spec.action_groups],
        "language_keys": [spec.language_key],
        "observation_indices": [0],
        "action_indices": list(range(spec.action_horizon)),
        "embodiment_tag": spec.embodiment_tag,
    }


#: Isaac-GR00T N1.6 (``gr00t/data/types.py``) looks ``ActionRepresentation``, ``ActionType`` and
#: ``ActionFormat`` up by member *name* (``ActionRepresentation["ABSOLUTE"]``), and its own
#: serializer writes ``Enum.name``: the values ("absolute") are a KeyError there.
N16_REP = {Representation.ABSOLUTE: "ABSOLUTE", Representation.RELATIVE: "RELATIVE"}
N16_FORMAT = "DEFAULT"


def _n16_type(kind: GroupKind) -> str:
    return "EEF" if kind is GroupKind.EEF else "NON_EEF"


def _n16_modality(
    keys: list[str], delta: list[int], action_configs: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """One ``ModalityConfig`` with every field, as N1.6's ``to_json_serializable`` writes it."""
    return {
        "delta_indices": delta,
        "modality_keys": keys,
        "sin_cos_embedding_keys": None,
        "mean_std_embedding_keys": None,
        "action_configs": action_configs,
    }


def n16_modality_config(spec: EmbodimentSpec) -> dict[str, Any]:
    """An N1.6 modality config: one embodiment's ``{modality: ModalityConfig}`` map, the value
    ``parse_modality_configs`` reads under an embodiment tag (``processor_config.json``'s
    ``modality_configs[tag]``) and ``ModalityConfig(**config)`` reads per modality."""
    _check_limits(spec, "n1.6")
    action_configs = [
        {
            "rep": N16_REP[g.representation],
            "type": _n16_type(g.kind),
            "format": N16_FORMAT,
            "state_key": g.key if g.representation is Representation.RELATIVE else None,
        }
        for g in spec.action_groups
    ]
    return {
        "video": _n16_modality([c.name for c in spec.cameras], [0]),
        "state": _n16_modality([g.key for g in spec.observed_state_groups], [0]),
        "action": _n16_modality(
            [g.key for g in spec.action_groups],
            list(range(spec.action_horizon)),
            action_configs,
        ),
        "language": _n16_modality([spec.language_key], [0]),
    }


def lerobot_features(spec: EmbodimentSpec) -> dict[str, Any]:
    """The ``features`` of a LeRobot v2.1 ``meta/info.json`` for this embodiment."""
    features: dict[str, Any] = {}
    for c in spec.cameras:
        features[c.original_key] = {
            "dtype": "video",
            "shape": [c.model_height, c.model_width, 3],
            "names": ["height", "width", "channels"],
            "info": {
                "video.fps": float(c.fps),
                "video.height": c.model_height,
                "video.width": c.model_width,
                "video.channels": 3,
                "video.codec": "h264",
                "video.pix_fmt": "yuv420p",
                "video.is_depth_map": False,
                "has_audio": False,
            },
        }
    features["observation.state"] = {
        "dtype": "float32",
        "shape": [spec.state_dim],
        "names": list(spec.state_names),
    }
    features["action"] = {
        "dtype": "float32",
        "shape": [spec.action_dim],
        "names": list(spec.joint_names),
    }
    for key, dtype in (
        ("timestamp", "float32"),
        ("frame_index", "int64"),
        ("episode_index", "int64"),
        ("index", "int64"),
        ("task_index", "int64"),
    ):
        features[key] = {"dtype": dtype, "shape": [1], "names": None}
    return features


FORMATS = {
    "modality-json": modality_json,
    "n1.5": n15_data_config,
    "n1.6": n16_modality_config,
    "lerobot-features": lerobot_features,
}


def generate(spec: EmbodimentSpec, fmt: str) -> dict[str, Any]:
    try:
        return FORMATS[fmt](spec)
    except KeyError:
        raise ModalityError(f"unknown format '{fmt}'; choose from {sorted(FORMATS)}") from None
