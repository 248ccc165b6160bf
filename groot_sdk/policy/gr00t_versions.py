"""Which GR00T generation a checkpoint or export directory holds, read from its JSON alone.

The torch/onnx/tensorrt backends and ``groot export-onnx`` / ``build-engine`` pick the model
implementation from this, so a user passes a directory and never names the version. Torch-free:
only ``config.json`` (checkpoints) or ``groot_onnx.json`` (exports) is read.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from types import ModuleType

from groot_sdk.errors import GrootError

#: ``config.json`` ``model_type`` -> version.
MODEL_TYPES = {"gr00t_n1_5": "n1.5", "Gr00tN1d6": "n1.6", "Gr00tN1d7": "n1.7"}
#: ``groot_onnx.json`` ``format`` -> version.
EXPORT_FORMATS = {f"groot-{v}-onnx": v for v in ("n1.5", "n1.6", "n1.7")}
#: Version -> module implementing it (``create(kind, spec, checkpoint, **options)``,
#: ``export_onnx(...)``, ``build_engines(...)``). N1.5 keeps its historical entry points.
MODULES = {
    "n1.6": "groot_sdk.models.gr00t_n16.backends",
    "n1.7": "groot_sdk.models.gr00t_n17.backends",
}
MANIFEST = "groot_onnx.json"


class UnknownModelError(GrootError, ValueError):
    """A directory is not a GR00T checkpoint or export this SDK can run."""


def _read(file: Path) -> dict:
    try:
        data = json.loads(file.read_text())
    except (OSError, ValueError) as exc:
        raise UnknownModelError(f"{file}: cannot read it as JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise UnknownModelError(f"{file}: expected a JSON object, found {type(data).__name__}")
    return data


def detect(directory: str | Path) -> str:
    """``"n1.5"``, ``"n1.6"`` or ``"n1.7"`` for a checkpoint or ``groot export-onnx`` directory."""
    directory = Path(directory)
    manifest = directory / MANIFEST
    if manifest.is_file():
        fmt = _read(manifest).get("format")
        if fmt not in EXPORT_FORMATS:
            raise UnknownModelError(
                f"{manifest}: format is {fmt!r}, expected one of {sorted(EXPORT_FORMATS)}"
            )
        return EXPORT_FORMATS[fmt]
    config = directory / "config.json"
    if not config.is_file():
        raise UnknownModelError(f"{directory} has neither config.json nor {MANIFEST}")
    found = _read(config).get("model_type")
    if found not in MODEL_TYPES:
        raise UnknownModelError(
            f"{config}: model_type is {found!r}; this SDK runs "
            + ", ".join(f"{t!r} (GR00T {v.upper()})" for t, v in MODEL_TYPES.items())
        )
    return MODEL_TYPES[found]


def implementation(version: str) -> ModuleType:
    """The module implementing ``version`` (N1.6/N1.7); it imports torch."""
    if version not in MODULES:
        raise UnknownModelError(f"no separate implementation module for GR00T {version}")
    return importlib.import_module(MODULES[version])
