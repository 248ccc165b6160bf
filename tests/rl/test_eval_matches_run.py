"""Issue 13 finding 6: `groot eval` and `groot run --sim --rate 0` drive the robot through the
same path (the deployer's controller: chunk execution, decoding, safety filter, and each
episode's own instruction), so on the same seeds they report the same successes.

Before, eval went through the residual wrapper with the first episode's instruction for every
episode: `eval -e so101 --sim -p ik -n 10` succeeded 1/10 where `run` succeeded 10/10."""

import json

import pytest
from click.testing import CliRunner

from groot_sdk.cli.main import cli

pytest.importorskip("mujoco")
pytest.importorskip("gymnasium")


def _json(*args: str) -> dict:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.output[result.output.index("{") :])


@pytest.mark.parametrize(
    ("embodiment", "policy", "episodes", "seed"),
    [("so101", "ik", 10, 0), ("so101", "ik", 4, 123), ("so101", "hold", 3, 7)],
)
def test_eval_and_run_agree_on_the_same_seeds(embodiment, policy, episodes, seed):
    n, s = str(episodes), str(seed)
    ran = _json(
        "run", "-e", embodiment, "--sim", "-p", policy, "--episodes", n, "--seed", s,
        "--rate", "0", "--json",
    )  # fmt: skip
    evaluated = _json(
        "eval", "-e", embodiment, "--sim", "-p", policy, "-n", n, "--seed", s, "--no-video",
        "--json",
    )  # fmt: skip
    assert ran["episodes"] == evaluated["episodes"] == episodes
    run_successes = sum(bool(x) for x in ran["episode_success"])
    assert evaluated["successes"] == run_successes
    if policy == "ik":  # the reach works: both say so
        assert run_successes == episodes
