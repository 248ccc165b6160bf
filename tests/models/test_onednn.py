"""The torch backend's float32 CPU Linear layers go through oneDNN (issue 18.4's cheap win)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")


def _onednn():
    from groot_sdk.models.gr00t_n15 import onednn

    if not onednn.available():
        pytest.skip("this torch has no oneDNN linear op")
    return onednn


def test_linear_matches_f_linear_at_real_widths():
    onednn = _onednn()
    layer = torch.nn.Linear(2048, 1536)
    x = torch.randn(1, 280, 2048)
    with torch.inference_mode():
        ref = layer(x)
        assert onednn.use_onednn_linear(layer) == 1
        out = layer(x)
    torch.testing.assert_close(out, ref, rtol=1e-4, atol=1e-4)
    assert onednn.use_onednn_linear(layer) == 0  # idempotent
    out = layer(x)  # with autograd on it falls back to F.linear
    assert out.requires_grad


def test_torch_backend_uses_onednn_on_cpu_float32(tiny_checkpoint):
    onednn = _onednn()
    from groot_sdk.models.gr00t_n15.runtime import synthetic_observation
    from groot_sdk.policy import torch_backend

    fast = torch_backend.create(None, checkpoint=str(tiny_checkpoint), seed=3)
    plain = torch_backend.create(None, checkpoint=str(tiny_checkpoint), seed=3, onednn="false")
    bf16 = torch_backend.create(None, checkpoint=str(tiny_checkpoint), seed=3, dtype="bfloat16")
    linears = [m for m in fast.model.modules() if isinstance(m, torch.nn.Linear)]
    assert fast.onednn_layers == len(linears) > 0
    assert all(getattr(m, onednn.MARK, False) for m in linears)
    assert plain.onednn_layers == 0 and bf16.onednn_layers == 0
    obs = synthetic_observation(fast.processor)
    a, b = fast.get_action(obs), plain.get_action(obs)
    for key in a:
        np.testing.assert_allclose(a[key], b[key], rtol=1e-4, atol=1e-4)


def _ops(layer, x):
    from torch.profiler import profile

    with torch.inference_mode(), profile() as prof:
        layer(x)
    return {e.key for e in prof.key_averages()}


def test_small_products_stay_on_the_default_blas():
    """oneDNN's fixed per-call cost loses on tiny layers: those keep F.linear."""
    onednn = _onednn()
    small, large = torch.nn.Linear(32, 32), torch.nn.Linear(512, 512)
    onednn.use_onednn_linear(small)
    onednn.use_onednn_linear(large)
    assert "mkldnn::_linear_pointwise" not in _ops(small, torch.randn(1, 16, 32))
    assert "mkldnn::_linear_pointwise" in _ops(large, torch.randn(1, 280, 512))
