"""ONNX export and the onnx backend against torch; TensorRT where a GPU exists; benchmark CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest


def test_export_layout(onnx_export):
    manifest = json.loads((onnx_export / "groot_onnx.json").read_text())
    assert manifest["graphs"] == {"backbone": "backbone.onnx", "action_head": "action_head.onnx"}
    assert manifest["action_head"] == "full-loop"
    assert manifest["timestep_buckets"] == [0, 250, 500, 750]
    import onnx

    for graph in manifest["graphs"].values():
        onnx.checker.check_model(str(onnx_export / graph))


def test_onnx_matches_torch(tiny_checkpoint, onnx_export):
    import onnxruntime as ort
    import torch

    from groot_sdk.models.gr00t_n15.runtime import synthetic_observation
    from groot_sdk.plugins import get_registry

    reg = get_registry()
    tb = reg.backend("torch").create(None, checkpoint=str(tiny_checkpoint), seed=11)
    ob = reg.backend("onnx").create(None, checkpoint=str(onnx_export), seed=11)
    assert ob.layout == tb.layout
    first = synthetic_observation(tb.processor, 0)
    second = synthetic_observation(tb.processor, 1)
    second["annotation.human.task_description"] = ["place it in the box"]  # left-padded
    inputs = tb.processor.collate([first, second])
    noise = tb.noise(2)
    ref = tb.infer(inputs, noise)
    got = ob.infer(inputs, noise)
    assert np.abs(ref - got).max() < 1e-4  # raw (normalised) model output, float32
    # the action head alone, one graph for the whole loop
    sess = ort.InferenceSession(str(onnx_export / "action_head.onnx"))
    with torch.no_grad():
        feats = tb.model.backbone(
            *(
                torch.from_numpy(x)
                for x in (inputs.pixel_values, inputs.input_ids, inputs.attention_mask)
            )
        )
        head = tb.model.action_head(
            feats,
            torch.from_numpy(inputs.state),
            torch.from_numpy(inputs.embodiment_id),
            torch.from_numpy(noise),
        ).numpy()
    (onnx_head,) = sess.run(
        None,
        {
            "backbone_features": feats.numpy(),
            "state": inputs.state,
            "embodiment_id": inputs.embodiment_id,
            "noise": noise,
        },
    )
    assert np.abs(head - onnx_head).max() < 1e-4
    a, b = tb.get_action(first), ob.get_action(first)
    for key in a:
        assert np.abs(a[key] - b[key]).max() < 1e-4


def test_onnx_backend_needs_export(tiny_checkpoint):
    from groot_sdk.errors import BackendError
    from groot_sdk.policy.onnx_backend import create

    with pytest.raises(BackendError, match="groot export-onnx"):
        create(None, checkpoint=str(tiny_checkpoint))


def _gpu_reason() -> str | None:
    try:
        import tensorrt  # noqa: F401
    except ImportError:
        return "TensorRT is not installed (pip install 'groot-sdk[tensorrt]' on a CUDA machine)"
    import torch

    if not torch.cuda.is_available():
        return "no CUDA GPU: TensorRT engines can only be built and run on one"
    return None


@pytest.mark.gpu
@pytest.mark.skipif(_gpu_reason() is not None, reason=str(_gpu_reason()))
def test_tensorrt_engine_matches_torch(tiny_checkpoint, onnx_export):
    from click.testing import CliRunner

    from groot_sdk.cli.main import cli
    from groot_sdk.models.gr00t_n15.runtime import synthetic_observation
    from groot_sdk.plugins import get_registry

    result = CliRunner().invoke(cli, ["build-engine", str(onnx_export), "--max-batch", "2"])
    assert result.exit_code == 0, result.output
    reg = get_registry()
    tb = reg.backend("torch").create(None, checkpoint=str(tiny_checkpoint), seed=3)
    rb = reg.backend("tensorrt").create(None, checkpoint=str(onnx_export), seed=3)
    obs = synthetic_observation(tb.processor)
    a, b = tb.get_action(obs), rb.get_action(obs)
    for key in a:
        assert np.abs(a[key] - b[key]).max() < 5e-2  # fp16 engine


def test_tensorrt_backend_reports_missing_dependency(onnx_export):
    if _gpu_reason() is None:
        pytest.skip("TensorRT and a GPU are present; the GPU test covers the backend")
    from groot_sdk.errors import BackendError, MissingExtraError
    from groot_sdk.policy.tensorrt_backend import create

    with pytest.raises((MissingExtraError, BackendError), match="tensorrt|CUDA|engines"):
        create(None, checkpoint=str(onnx_export))


def test_benchmark_cli(tiny_checkpoint, tmp_path):
    from click.testing import CliRunner

    from groot_sdk.cli.main import cli

    out = tmp_path / "bench"
    result = CliRunner().invoke(
        cli,
        [
            "benchmark",
            "--policy",
            "torch",
            "--policy-opt",
            f"checkpoint={tiny_checkpoint}",
            "--policy-opt",
            "seed=0",
            "--calls",
            "5",
            "--warmup",
            "1",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output + repr(result.exception)
    report = json.loads((out / "torch.json").read_text())
    lat = report["latency_ms"]
    assert report["calls"] == 5 and len(report["samples_ms"]) == 5
    assert 0 < lat["min"] <= lat["p50"] <= lat["p99"] <= lat["max"]
    assert (out / "torch.png").stat().st_size > 1000
