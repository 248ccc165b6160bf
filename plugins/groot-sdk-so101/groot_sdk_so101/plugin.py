"""Hook implementations: registers the 'so101' embodiment."""

from groot_sdk.plugins import BackendEntry, EmbodimentEntry, hookimpl
from groot_sdk_so101.spec import SPEC

GROOT_PLUGIN_API = 1


@hookimpl
def groot_register_embodiments(register):
    register(
        EmbodimentEntry(
            spec=SPEC,
            sim="groot_sdk_so101.sim:make_sim",
            hardware="groot_sdk_so101.driver:make_hardware",
            backend_defaults={"embodiment_tag": SPEC.embodiment_tag},
            summary=SPEC.description,
        )
    )


@hookimpl
def groot_register_backends(register):
    register(
        BackendEntry(
            "ik",
            "groot_sdk_so101.ik:ik",
            "Jacobian-IK reaching to a target point (MuJoCo kinematics of the SO-101 model)",
            extra="sim",
            embodiments=("so101",),
        )
    )
