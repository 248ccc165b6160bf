"""Hook implementations: registers the 'bhl' embodiment."""

from groot_sdk.plugins import BackendEntry, EmbodimentEntry, hookimpl
from groot_sdk_bhl.spec import SPEC

GROOT_PLUGIN_API = 1


@hookimpl
def groot_register_embodiments(register):
    register(
        EmbodimentEntry(
            spec=SPEC,
            sim="groot_sdk_bhl.sim:make_sim",
            hardware="groot_sdk_bhl.driver:make_hardware",
            backend_defaults={"embodiment_tag": SPEC.embodiment_tag},
            summary=SPEC.description,
        )
    )


@hookimpl
def groot_register_backends(register):
    register(
        BackendEntry(
            "onnx-rl",
            "groot_sdk_bhl.locomotion:onnx_rl",
            "BHL RL locomotion policy (ONNX, 25 Hz; command, gyro, gravity, joints)",
            extra="onnx",
            embodiments=("bhl",),
        )
    )
    register(
        BackendEntry(
            "hybrid",
            "groot_sdk_bhl.hybrid:hybrid",
            "RL legs (onnx-rl, 25 Hz) + any arm backend (10 Hz), switched by mode or language",
            extra="onnx",
            embodiments=("bhl",),
        )
    )
