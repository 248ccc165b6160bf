"""Which robot model a simulator loads, and saying so.

A humanoid plugin (BHL, G1) ships its robot's published MuJoCo model as package data and
loads it by default, so that a fresh ``pip install groot-sdk-<robot>[sim]`` simulates the
real robot. The capsule model generated from the joint map is a stand-in with the same joints
and limits but not the real dynamics: it is loaded only when asked for by name
(``model="generated"`` or the plugin's environment variable), never as a silent fallback.
Every choice is logged and kept on the simulator (``episodic.model_info``) so that a run can
report which model it used.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from attrs import frozen

from groot_sdk.errors import SpecError

log = logging.getLogger(__name__)

PUBLISHED = "published"  #: the model shipped in the plugin package
GENERATED = "generated"  #: the capsule stand-in built from the joint map
FILE = "file"  #: an MJCF file given by path


@frozen
class ModelChoice:
    """The model a simulator loaded: ``kind`` (published, generated or file) and its file."""

    robot: str
    kind: str
    path: str | None = None
    source: str = ""  #: where the published model comes from (repository, licence)

    def describe(self) -> str:
        if self.kind == GENERATED:
            return (
                f"{self.robot}: generated stand-in model (capsules from the joint map, "
                "not the real robot's dynamics)"
            )
        what = f"published model ({self.source})" if self.kind == PUBLISHED else "model file"
        return f"{self.robot}: {what} {self.path}"

    def to_json(self) -> dict[str, str | None]:
        return {"model": self.kind, "path": self.path, "source": self.source or None}


def choose_model(
    robot: str,
    model: str | os.PathLike[str] | None,
    env: str,
    packaged: Path,
    source: str = "",
) -> ModelChoice:
    """Resolve ``model`` (else ``$env``, else ``published``): ``published`` is ``packaged``
    (an error naming the package when the file is missing: never the generated model in
    its place), ``generated`` the stand-in, anything else a path to an MJCF file."""
    value = os.fspath(model) if model else (os.environ.get(env) or PUBLISHED)
    value = value.strip()
    if value == GENERATED:
        choice = ModelChoice(robot, GENERATED)
        log.warning("%s", choice.describe())
        return choice
    if value == PUBLISHED:
        if not packaged.is_file():
            raise SpecError(
                f"{robot}: the published model is missing from the installed package "
                f"({packaged}); reinstall the plugin, or ask for model=generated"
            )
        choice = ModelChoice(robot, PUBLISHED, str(packaged), source)
    else:
        if not os.path.isfile(value):
            raise SpecError(
                f"{robot}: model file '{value}' does not exist (give an MJCF file, "
                f"'{PUBLISHED}' or '{GENERATED}')"
            )
        choice = ModelChoice(robot, FILE, value)
    log.info("%s", choice.describe())
    return choice
