"""The closed loop on CPU at a size CI affords: scripted FetchReach demos recorded with
`groot run --record` -> a tiny GR00T N1.5 fine-tuned with `groot finetune` -> `groot eval` on
seeds never recorded, in torch and exported to ONNX (examples/finetune_fetch_closed_loop.py).

CI size: 100 demos, 1500 steps, 20 evaluation episodes per backend (a few minutes on 2 cores;
marked slow). The example's default evaluates 100 episodes; its figures are
in docs/finetune.md. GROOT_FT_LOOP="demos,steps,episodes" overrides the size.
"""

from __future__ import annotations

import importlib.util
import os

import pytest

from .conftest import ROOT


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_record_finetune_eval_closed_loop(tmp_path, monkeypatch):
    pytest.importorskip("onnxruntime", reason="the ONNX half needs the onnx extra")
    pytest.importorskip("onnxscript", reason="torch's ONNX exporter needs onnxscript")
    demos, steps, episodes = (
        int(x) for x in os.environ.get("GROOT_FT_LOOP", "100,1500,20").split(",")
    )
    spec = importlib.util.spec_from_file_location(
        "finetune_fetch_closed_loop", ROOT / "examples" / "finetune_fetch_closed_loop.py"
    )
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    monkeypatch.chdir(ROOT)
    report = example.main(
        ["--workdir", str(tmp_path / "loop"), "--demos", str(demos), "--steps", str(steps),
         "--eval-episodes", str(episodes)]
    )  # fmt: skip
    assert report["demo_success_rate"] == 1.0
    assert report["train"]["steps"] == steps
    assert report["train"]["final_loss"] < report["train"]["first_loss"] / 5
    torch_rate = report["eval_torch"]["success_rate"]
    assert torch_rate >= 0.8, report
    # the same checkpoint through ONNX Runtime, same seeds and noise: the same successes
    assert report["eval_onnx"]["success_rate"] == torch_rate, report
