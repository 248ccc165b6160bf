"""Hook implementations: registers the 'fetch' embodiment."""

from groot_sdk.plugins import BackendEntry, EmbodimentEntry, hookimpl
from groot_sdk_fetch.spec import SPEC

GROOT_PLUGIN_API = 1


@hookimpl
def groot_register_embodiments(register):
    register(
        EmbodimentEntry(
            spec=SPEC,
            sim="groot_sdk_fetch.sim:make_sim",  # simulation only: no driver ships (yet)
            backend_defaults={"embodiment_tag": SPEC.embodiment_tag},
            summary=SPEC.description,
        )
    )


@hookimpl
def groot_register_backends(register):
    register(
        BackendEntry(
            "scripted",
            "groot_sdk_fetch.scripted:scripted",
            "Cartesian controller solving Fetch reach/push/pick_and_place from the state",
            embodiments=("fetch",),
        )
    )
