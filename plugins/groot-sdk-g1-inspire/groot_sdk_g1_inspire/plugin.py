"""Hook implementations: registers the 'g1_inspire' embodiment."""

from groot_sdk.plugins import EmbodimentEntry, hookimpl
from groot_sdk_g1_inspire.spec import SPEC

GROOT_PLUGIN_API = 1

#: The GR00T generation this robot's policies are: its full 53-D state and action fit N1.6
#: (128 + 128, ``groot_sdk.modality.MODEL_LIMITS``), not N1.5 (64 + 32). Fine-tunes and
#: checkpoints for it are N1.6 ones (``groot finetune-config --model n1.6``); the torch/onnx/
#: tensorrt backends read the version from the checkpoint and run it natively.
GROOT_MODEL = "n1.6"


@hookimpl
def groot_register_embodiments(register):
    register(
        EmbodimentEntry(
            spec=SPEC,
            sim="groot_sdk_g1_inspire.sim:make_sim",
            hardware="groot_sdk_g1_inspire.driver:make_hardware",
            backend_defaults={"embodiment_tag": SPEC.embodiment_tag},
            summary=SPEC.description,
        )
    )
