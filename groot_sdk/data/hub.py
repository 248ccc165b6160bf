"""Share datasets on the Hugging Face Hub: ``push`` a local dataset (either format, with
``meta/modality.json``) to a dataset repository, ``pull`` one into a folder.

Everything network-related is ``huggingface_hub``'s own (``HfApi.upload_folder``,
``snapshot_download``), so its usual settings apply unchanged:

* the token: the ``token`` argument, else ``HF_TOKEN``, else the file ``huggingface-cli login``
  / ``hf auth login`` wrote (``$HF_HOME/token``), else anonymous;
* the endpoint: ``HF_ENDPOINT`` (a mirror, or a local stand-in in the tests);
* the cache: ``HF_HUB_CACHE`` / ``HF_HOME``; with ``HF_HUB_OFFLINE=1`` (or ``offline=True``)
  ``pull`` copies the snapshot already in the cache and touches no network, and when the Hub
  cannot be reached it falls back to the cache the same way.

A v3.0 push is also tagged ``v3.0`` (LeRobot >= 0.4 loads the revision tagged with its
codebase version); a v2.1 push is tagged ``v2.1``.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path
from typing import Any

from groot_sdk.data import layout as L
from groot_sdk.data.layout import DatasetError
from groot_sdk.errors import require

log = logging.getLogger(__name__)

#: never uploaded: work folders of the recorder and of repairs
IGNORE = [
    f"{L.INCOMPLETE}/**", ".staging-v2.1/**", f"{L.QUARANTINE}/**", f"{L.META_NEW}/**",
    f"{L.META_OLD}/**", L.REPAIR_PLAN, ".copy-*/**", "**/.*.tmp", "**/.*.tmp.mp4",
]  # fmt: skip
#: a push replaces these in the repository (files the local dataset no longer has go away)
MIRRORED = ["meta/**", "data/**", "videos/**"]


def _hub() -> Any:
    return require("huggingface_hub", "hub", "pushing and pulling datasets")


def _version(root: Path) -> str:
    from groot_sdk.data.v30 import version_of

    version = version_of(root)
    if not version:
        raise DatasetError(f"{root}: no meta/info.json (not a LeRobot dataset?)")
    return version


def push(
    root: str | Path,
    repo_id: str,
    *,
    token: str | None = None,
    private: bool = False,
    revision: str | None = None,
    message: str | None = None,
    allow_invalid: bool = False,
) -> str:
    """Upload the dataset at ``root`` to the dataset repo ``repo_id`` (created if missing);
    returns the commit's URL. An invalid dataset is refused unless ``allow_invalid``."""
    from groot_sdk.data.validate import validate

    hub = _hub()
    root = Path(root)
    version = _version(root)
    report = validate(root)
    if not report.ok and not allow_invalid:
        first = "; ".join(str(p) for p in report.errors[:3])
        raise DatasetError(f"{root}: not pushed, it does not validate ({first})")
    api = hub.HfApi(token=token)
    api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
    if revision is not None:
        api.create_branch(repo_id, repo_type="dataset", branch=revision, exist_ok=True)
    info = api.upload_folder(
        repo_id=repo_id,
        repo_type="dataset",
        folder_path=str(root),
        revision=revision,
        commit_message=message or f"groot-sdk: {report.episodes} episodes, {report.frames} frames",
        ignore_patterns=IGNORE,
        delete_patterns=MIRRORED,
    )
    try:
        api.create_tag(repo_id, repo_type="dataset", tag=version, revision=revision, exist_ok=True)
    except Exception as exc:  # the upload is done; an old tag of that name is moved
        if "exist" not in str(exc).lower():
            raise
        api.delete_tag(repo_id, repo_type="dataset", tag=version)
        api.create_tag(repo_id, repo_type="dataset", tag=version, revision=revision)
    return str(getattr(info, "commit_url", info))


def pull(
    repo_id: str,
    dst: str | Path,
    *,
    revision: str | None = None,
    token: str | None = None,
    cache_dir: str | Path | None = None,
    offline: bool | None = None,
    overwrite: bool = False,
) -> Path:
    """Download the dataset repo ``repo_id`` (through the Hub cache) into ``dst``.

    ``offline`` (default: ``HF_HUB_OFFLINE``): use only the cached snapshot. Files are
    hard-linked from the cache where possible, else copied; ``dst`` holds plain files."""
    hub = _hub()
    dst = Path(dst)
    if (dst / L.INFO).exists() and not overwrite:
        raise DatasetError(
            f"{dst} already holds a dataset; choose another directory or --overwrite"
        )
    if offline is None:
        offline = os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")
    try:
        snapshot = Path(
            hub.snapshot_download(
                repo_id,
                repo_type="dataset",
                revision=revision,
                token=token,
                cache_dir=str(cache_dir) if cache_dir is not None else None,
                local_files_only=bool(offline),
            )
        )
    except Exception as exc:  # noqa: BLE001 - the client's: not cached, not found, no access
        name = type(exc).__name__
        where = "in the local Hub cache (offline)" if offline else "on the Hub or in its cache"
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else name
        raise DatasetError(f"dataset {repo_id!r}: not found {where}: {name}: {first}") from None
    if not (snapshot / L.INFO).is_file():
        raise DatasetError(f"dataset {repo_id!r}: has no meta/info.json (not a LeRobot dataset)")
    if dst.exists() and overwrite:
        for sub in ("meta", "data", "videos"):
            shutil.rmtree(dst / sub, ignore_errors=True)
    for src in sorted(snapshot.rglob("*")):
        if src.is_dir():
            continue
        out = dst / src.relative_to(snapshot)
        out.parent.mkdir(parents=True, exist_ok=True)
        real = src.resolve()  # the cache's snapshots/ are symlinks into blobs/
        try:
            os.link(real, out)
        except OSError:
            shutil.copyfile(real, out)
    _version(dst)
    return dst
