"""The core's own plugin: the backends that ship with ``groot-sdk`` itself."""

from __future__ import annotations

from groot_sdk.plugins.entries import BackendEntry
from groot_sdk.plugins.hookspecs import hookimpl

GROOT_PLUGIN_API = 1

BACKENDS = [
    BackendEntry("zero", "groot_sdk.policy.simple:zero", "zero actions (no motion)"),
    BackendEntry("hold", "groot_sdk.policy.simple:hold", "hold the current joint positions"),
    BackendEntry(
        "sinusoid", "groot_sdk.policy.baselines:sinusoid", "test signal: joints swing in limits"
    ),
    BackendEntry(
        "replay", "groot_sdk.policy.baselines:replay", "play back a trajectory (.npz / .json)"
    ),
    BackendEntry(
        "remote",
        "groot_sdk.remote.client:make_remote",
        "a policy server over Isaac-GR00T's ZeroMQ protocol (remote://host:port)",
    ),
    BackendEntry(
        "torch",
        "groot_sdk.policy.torch_backend:create",
        "GR00T N1.5/N1.6/N1.7 in native torch (checkpoint=DIR|REPO, device, dtype)",
        extra="torch",
    ),
    BackendEntry(
        "onnx",
        "groot_sdk.policy.onnx_backend:create",
        "GR00T N1.5/N1.6/N1.7 exported by `groot export-onnx`, on ONNX Runtime",
        extra="onnx",
    ),
    BackendEntry(
        "tensorrt",
        "groot_sdk.policy.tensorrt_backend:create",
        "GR00T N1.5/N1.6/N1.7 TensorRT engines from `groot build-engine` (CUDA)",
        extra="tensorrt",
    ),
    BackendEntry(
        "residual",
        "groot_sdk.rl.backend:residual",
        "a base policy + its trained PPO residual (path=`groot train-residual` output)",
        extra="rl",
    ),
]


@hookimpl
def groot_register_backends(register) -> None:
    for entry in BACKENDS:
        register(entry)
