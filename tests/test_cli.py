import json

from click.testing import CliRunner

from groot_sdk.cli.main import cli


def run(*args):
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_list_json():
    data = json.loads(run("list", "--json"))
    dims = {e["name"]: e["action_dim"] for e in data["embodiments"]}
    assert dims == {"bhl": 22, "so101": 6, "g1_inspire": 53, "fetch": 4}
    assert {"zero", "hold"} <= {b["name"] for b in data["backends"]}
    assert data["failures"] == []


def test_info_table_and_json():
    text = run("info", "bhl")
    assert "leg_left_knee_pitch_joint" in text and "250 Hz" in text
    data = json.loads(run("info", "so101", "--json"))
    assert [j["name"] for j in data["joints"]][-1] == "gripper"
    assert data["action_groups"][0] == {
        "key": "single_arm",
        "start": 0,
        "end": 5,
        "representation": "absolute",
        "kind": "joint",
    }


def test_modality_formats():
    doc = json.loads(run("modality", "so101", "--format", "modality-json"))
    assert doc["action"]["single_arm"]["start"] == 0 and doc["action"]["gripper"]["end"] == 6
    assert json.loads(run("modality", "fetch", "--format", "n1.6"))["action"]["modality_keys"] == [
        "eef_delta",
        "gripper",
    ]
    assert "observation.state" in json.loads(run("modality", "bhl", "--format", "lerobot-features"))


def test_unknown_embodiment_is_a_clean_error():
    result = CliRunner().invoke(cli, ["info", "nope"])
    assert result.exit_code != 0
    assert "unknown embodiment 'nope'" in str(result.exception)
