"""Route float32 ``nn.Linear`` on CPU through oneDNN instead of torch's default BLAS (MKL).

GR00T N1.5 at real widths spends over 90 % of its CPU time in Linear layers. torch's fp32
GEMM goes to MKL, which on AMD CPUs runs a generic code path: on an AMD EPYC (AVX-512) a
280x2048 @ 2048x6144 GEMM ran at 92 GFLOP/s through MKL and 220 GFLOP/s through oneDNN (also
bundled with torch) and ONNX Runtime's MLAS. See docs/backends.md. Inference only: the switch
is taken when autograd is off, for float32 CPU inputs of products large enough to pay
oneDNN's per-call cost; anything else keeps ``F.linear``.
"""

from __future__ import annotations

import types

import torch
from torch import nn
from torch.nn import functional as F

#: the attribute that marks a Linear whose forward goes to oneDNN
MARK = "_groot_onednn"

#: multiply-adds below which MKL stays: oneDNN costs ~11 us more per call, which small
#: products (the tiny test model, single-row layers) do not earn back (measured crossover
#: about 1M multiply-adds on the machine in docs/backends.md)
MIN_MACS = 1 << 21


def available() -> bool:
    """oneDNN is built into this torch and exposes its fused linear op."""
    return bool(
        torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, "_linear_pointwise")
    )


def _forward(self: nn.Linear, x: torch.Tensor) -> torch.Tensor:
    if (
        x.dtype == torch.float32
        and x.device.type == "cpu"
        and x.dim() >= 2
        and self.weight.dtype == torch.float32
        and not torch.is_grad_enabled()
        and x.numel() * self.out_features >= MIN_MACS
    ):
        return torch.ops.mkldnn._linear_pointwise(
            x.contiguous(), self.weight, self.bias, "none", [], ""
        )
    return F.linear(x, self.weight, self.bias)


def use_onednn_linear(model: nn.Module) -> int:
    """Switch every ``nn.Linear`` of ``model`` to oneDNN (in place); returns how many."""
    if not available():
        return 0
    count = 0
    for module in model.modules():
        if isinstance(module, nn.Linear) and not getattr(module, MARK, False):
            module.forward = types.MethodType(_forward, module)  # type: ignore[method-assign, unused-ignore]
            setattr(module, MARK, True)
            count += 1
    return count
