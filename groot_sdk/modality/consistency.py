"""Cross-checks that every generated configuration describes the same layout."""

from __future__ import annotations

from typing import Any

from groot_sdk.errors import ModalityError
from groot_sdk.modality.generators import (
    MODEL_LIMITS,
    lerobot_features,
    modality_json,
    n15_data_config,
    n16_modality_config,
)
from groot_sdk.spec import EmbodimentSpec


def slices_from_modality_json(section: dict[str, Any]) -> list[tuple[str, int, int]]:
    return sorted(
        ((k, int(v["start"]), int(v["end"])) for k, v in section.items()), key=lambda t: t[1]
    )


def check_modality_json(doc: dict[str, Any], width: dict[str, int], where: str = "") -> None:
    """Slices of each section are contiguous and cover exactly ``width[section]`` columns."""
    for section in ("state", "action"):
        cursor = 0
        for key, start, end in slices_from_modality_json(doc.get(section, {})):
            if start != cursor:
                what = (
                    "overlaps the previous key" if start < cursor else f"leaves a gap at {cursor}"
                )
                raise ModalityError(f"{where}modality.json {section}.{key} [{start}:{end}] {what}")
            if end <= start:
                raise ModalityError(f"{where}modality.json {section}.{key} is empty")
            cursor = end
        if cursor != width[section]:
            raise ModalityError(
                f"{where}modality.json {section} slices end at {cursor} but the "
                f"{'observation.state' if section == 'state' else 'action'} column has "
                f"{width[section]} values"
            )


def check_consistency(spec: EmbodimentSpec) -> None:
    """Raise :class:`ModalityError` if the generated configs disagree with each other."""
    mj = modality_json(spec)
    feats = lerobot_features(spec)
    widths = {
        "state": feats["observation.state"]["shape"][0],
        "action": feats["action"]["shape"][0],
    }
    check_modality_json(mj, widths, f"{spec.name}: ")
    for section, feature in (("state", "observation.state"), ("action", "action")):
        names = feats[feature]["names"]
        if len(names) != widths[section]:
            raise ModalityError(f"{spec.name}: {feature} names and shape disagree")
    for cam, entry in mj["video"].items():
        if entry["original_key"] not in feats:
            raise ModalityError(f"{spec.name}: video.{cam} has no LeRobot feature")
    n16 = n16_modality_config(spec)
    if n16["state"]["modality_keys"] != list(mj["state"]):
        raise ModalityError(f"{spec.name}: N1.6 state keys differ from modality.json")
    if n16["action"]["modality_keys"] != list(mj["action"]):
        raise ModalityError(f"{spec.name}: N1.6 action keys differ from modality.json")
    if n16["video"]["modality_keys"] != list(mj["video"]):
        raise ModalityError(f"{spec.name}: N1.6 video keys differ from modality.json")
    if len(n16["action"]["action_configs"]) != len(n16["action"]["modality_keys"]):
        raise ModalityError(f"{spec.name}: N1.6 needs one action config per action key")
    max_state, max_action = MODEL_LIMITS["n1.5"]
    if spec.state_dim <= max_state and spec.action_dim <= max_action:
        n15 = n15_data_config(spec)
        if [k.removeprefix("state.") for k in n15["state_keys"]] != list(mj["state"]):
            raise ModalityError(f"{spec.name}: N1.5 state keys differ from modality.json")
        if [k.removeprefix("action.") for k in n15["action_keys"]] != list(mj["action"]):
            raise ModalityError(f"{spec.name}: N1.5 action keys differ from modality.json")
        if [k.removeprefix("video.") for k in n15["video_keys"]] != list(mj["video"]):
            raise ModalityError(f"{spec.name}: N1.5 video keys differ from modality.json")
