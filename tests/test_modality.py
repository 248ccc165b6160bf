import dataclasses
import enum
import json

import pytest

from groot_sdk.errors import ModalityError
from groot_sdk.modality import (
    ModalityLayout,
    check_consistency,
    check_modality_json,
    generate,
    lerobot_features,
    modality_json,
    n15_data_config,
    n16_modality_config,
)
from groot_sdk.plugins import get_registry

ALL = ["bhl", "so101", "g1_inspire", "fetch"]


def test_so101_modality_json(so101_spec):
    doc = json.loads(json.dumps(modality_json(so101_spec)))
    assert {k: (v["start"], v["end"]) for k, v in doc["state"].items()} == {
        "single_arm": (0, 5),
        "gripper": (5, 6),
    }
    assert {k: (v["start"], v["end"]) for k, v in doc["action"].items()} == {
        "single_arm": (0, 5),
        "gripper": (5, 6),
    }
    assert doc["video"]["front"]["original_key"] == "observation.images.front"
    assert doc["annotation"]["human.task_description"]["original_key"] == "task_index"


def test_n15_and_n16_agree_with_modality_json(so101_spec):
    n15 = n15_data_config(so101_spec)
    assert n15["state_keys"] == ["state.single_arm", "state.gripper"]
    assert n15["video_keys"] == ["video.front", "video.wrist"]
    assert n15["observation_indices"] == [0]
    assert n15["action_indices"] == list(range(16))
    n16 = n16_modality_config(so101_spec)
    assert n16["action"]["delta_indices"] == list(range(16))
    assert [c["rep"] for c in n16["action"]["action_configs"]] == ["ABSOLUTE", "ABSOLUTE"]
    assert n16["language"]["modality_keys"] == ["annotation.human.task_description"]


def test_lerobot_features(so101_spec):
    f = lerobot_features(so101_spec)
    assert f["action"] == {"dtype": "float32", "shape": [6], "names": list(so101_spec.joint_names)}
    assert f["observation.images.wrist"]["shape"] == [224, 224, 3]
    assert f["task_index"]["dtype"] == "int64"


@pytest.mark.parametrize("name", ALL)
def test_every_embodiment_consistent(name):
    spec = get_registry().embodiment(name).spec
    check_consistency(spec)
    layout = ModalityLayout.from_spec(spec)
    assert layout.action_dim == spec.action_dim
    assert ModalityLayout.from_json(json.loads(json.dumps(layout.to_json()))) == layout


def test_n15_refuses_53d_action():
    spec = get_registry().embodiment("g1_inspire").spec
    with pytest.raises(ModalityError, match="53-D but GR00T N1.5 takes at most 32"):
        generate(spec, "n1.5")
    assert generate(spec, "n1.6")["action"]["modality_keys"][-1] == "right_hand"


def test_check_modality_json_names_problem():
    doc = {
        "state": {"a": {"start": 0, "end": 3}},
        "action": {"a": {"start": 0, "end": 2}, "b": {"start": 3, "end": 4}},
    }
    with pytest.raises(ModalityError, match="action.b \\[3:4\\] leaves a gap at 2"):
        check_modality_json(doc, {"state": 3, "action": 4})
    with pytest.raises(
        ModalityError, match="state slices end at 3 but the observation.state column has 5"
    ):
        check_modality_json({"state": doc["state"], "action": {}}, {"state": 5, "action": 0})


def test_dofs():
    dims = {n: get_registry().embodiment(n).spec.action_dim for n in ALL}
    assert dims == {"bhl": 22, "so101": 6, "g1_inspire": 53, "fetch": 4}


# -- Isaac-GR00T N1.6 stand-in ------------------------------------------------------------------
# Written from Isaac-GR00T's "GR00T N1.6 Release" (commit 4e62473d, read in the public fork
# arnavinator/Isaac-GR00T; non-commercial licence, so facts only, no code copied):
# ``gr00t/data/types.py`` (ActionRepresentation, ActionType, ActionFormat, ActionConfig,
# ModalityConfig and its __post_init__) and ``gr00t/data/utils.py`` (parse_modality_configs).
# The rules: ``parse_modality_configs`` maps {embodiment_tag: {modality: dict}} and builds
# ``ModalityConfig(**dict)`` (a dataclass: delta_indices and modality_keys required, no unknown
# field); __post_init__ requires one action config per modality key and turns each dict into
# an ActionConfig by member NAME: ``ActionRepresentation[d["rep"]]``, ``ActionType[d["type"]]``,
# ``ActionFormat[d["format"]]``, ``d.get("state_key")``. ``gr00t/data/stats.py`` asserts a
# relative action's state_key (or its own key) is a state modality key.
class ActionRepresentation(enum.Enum):
    RELATIVE = "relative"
    DELTA = "delta"
    ABSOLUTE = "absolute"


class ActionType(enum.Enum):
    EEF = "eef"
    NON_EEF = "non_eef"


class ActionFormat(enum.Enum):
    DEFAULT = "default"
    XYZ_ROT6D = "xyz+rot6d"
    XYZ_ROTVEC = "xyz+rotvec"


@dataclasses.dataclass
class ActionConfig:
    rep: ActionRepresentation
    type: ActionType
    format: ActionFormat
    state_key: str | None = None


@dataclasses.dataclass
class ModalityConfig:
    delta_indices: list
    modality_keys: list
    sin_cos_embedding_keys: list | None = None
    mean_std_embedding_keys: list | None = None
    action_configs: list | None = None

    def __post_init__(self):
        if self.action_configs is None:
            return
        assert len(self.action_configs) == len(self.modality_keys)
        self.action_configs = [
            ActionConfig(
                rep=ActionRepresentation[d["rep"]],
                type=ActionType[d["type"]],
                format=ActionFormat[d["format"]],
                state_key=d.get("state_key", None),
            )
            if isinstance(d, dict)
            else d
            for d in self.action_configs
        ]


def parse_modality_configs(configs):
    return {
        tag: {m: ModalityConfig(**c) if isinstance(c, dict) else c for m, c in by_modality.items()}
        for tag, by_modality in configs.items()
    }


@pytest.mark.parametrize("name", ALL)
def test_n16_config_parses_in_official_n16_rules(name):
    """Issue 11 item 6: the N1.6 config spelled enums by value ("absolute") and the official
    parser looks them up by name (KeyError: 'absolute')."""
    spec = get_registry().embodiment(name).spec
    doc = json.loads(json.dumps(generate(spec, "n1.6")))  # what `groot modality` prints
    parsed = parse_modality_configs({spec.embodiment_tag: doc})[spec.embodiment_tag]
    assert set(parsed) == {"video", "state", "action", "language"}
    assert parsed["video"].modality_keys == [c.name for c in spec.cameras]
    assert parsed["state"].modality_keys == [g.key for g in spec.observed_state_groups]
    assert parsed["language"].modality_keys == [spec.language_key]
    action = parsed["action"]
    assert action.delta_indices == list(range(spec.action_horizon))
    assert action.modality_keys == [g.key for g in spec.action_groups]
    for group, config in zip(spec.action_groups, action.action_configs, strict=True):
        assert config.rep.value == group.representation.value
        assert config.type is (ActionType.EEF if group.kind.value == "eef" else ActionType.NON_EEF)
        assert config.format is ActionFormat.DEFAULT
        if config.rep is ActionRepresentation.RELATIVE:
            assert (config.state_key or group.key) in parsed["state"].modality_keys
    # the official serializer (asdict, enums by name) writes back exactly what was read
    assert _serialize(parsed) == doc


def _serialize(parsed):
    def plain(value):
        if isinstance(value, enum.Enum):
            return value.name
        if isinstance(value, list):
            return [plain(v) for v in value]
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        return value

    return {m: plain(dataclasses.asdict(c)) for m, c in parsed.items()}


@pytest.mark.parametrize("name", ALL)
def test_serve_n16_modality_reply_spells_like_the_generator(name):
    """``groot serve``'s N1.6 get_modality_config reply (built in groot_sdk.remote.forms) reads
    the same through ``ModalityConfig(**as_json)`` as the generated config."""
    from groot_sdk.remote.forms import modality_config

    spec = get_registry().embodiment(name).spec
    reply = modality_config(ModalityLayout.from_spec(spec), spec)
    served = {m: ModalityConfig(**c) for m, c in reply.items()}
    generated = parse_modality_configs({"e": generate(spec, "n1.6")})["e"]
    assert served == {m: c for m, c in generated.items() if m in served}
