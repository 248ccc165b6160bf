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
    assert [c["rep"] for c in n16["action"]["action_configs"]] == ["absolute", "absolute"]
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
