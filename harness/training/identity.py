"""Content addresses for training runs: what base model, what data, what config."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.hashing import code_fingerprint, sha256_json, sha256_model_dir
from harness.records import Record


def _offline() -> bool:
    return any(
        os.environ.get(v, "").strip().upper() in {"1", "ON", "YES", "TRUE"}
        for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    )


def _looks_like_path(name: str) -> bool:
    """A name no hub id can be: absolute, relative (./ ../ ~), more than one '/', or a '\\'."""
    return name.startswith(("/", ".", "~")) or name.count("/") > 1 or "\\" in name or name.endswith("/")


def check_base_model(base_model: str, what: str = "base model") -> None:
    """A clear error now, not a hub lookup later, for a base model that cannot be loaded.

    A local folder needs a config.json and weights; a name that can only be a path must exist; a hub id
    must be valid, and when HF_HUB_OFFLINE is set it must already be in the local cache.
    """
    p = Path(base_model).expanduser()
    if p.is_dir():
        if not (p / "config.json").is_file():
            raise HarnessError(f"{what} {base_model}: not a model folder (it has no config.json)")
        if not any(p.glob("*.safetensors")) and not any(p.glob("*.bin")):
            raise HarnessError(f"{what} {base_model}: the folder has no weights (*.safetensors or *.bin)")
        return
    if p.exists():
        raise HarnessError(f"{what} {base_model}: is a file; expected a model folder or a hub id")
    if not base_model.strip() or _looks_like_path(base_model):
        raise HarnessError(f"{what} {base_model}: model folder not found")
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    repo, _, revision = base_model.partition("@")
    try:
        validate_repo_id(repo)
    except HFValidationError:
        raise HarnessError(
            f"{what} {base_model}: no such folder here, and not a hub id (expected org/name or org/name@revision)"
        ) from None
    if _offline() and _cached_commit(repo, revision or None) is None:
        raise HarnessError(
            f"{what} {base_model}: no such folder here, and the hub model {repo} is not in the local "
            "cache; HF_HUB_OFFLINE is set, so it cannot be downloaded (download it once online, "
            "or pass a local folder)"
        )


def model_identity(base_model: str) -> dict[str, str]:
    """A local folder → the hash of its files; a hub id (`id` or `id@revision`) → id + revision.

    For a hub id without a revision, the snapshot commit of the local HF cache is used when
    there is one, so two different downloads of "main" never share an address.
    """
    p = Path(base_model)
    if p.is_dir():
        return {"kind": "path", "sha256": sha256_model_dir(p)}
    repo, _, revision = base_model.partition("@")
    if not revision:
        revision = _cached_commit(repo) or "main"
    return {"kind": "hub", "id": repo, "revision": revision}


def _cached_commit(repo: str, revision: str | None = None) -> str | None:
    try:
        from huggingface_hub import snapshot_download

        path = snapshot_download(repo, revision=revision, local_files_only=True)
    except Exception:  # not cached, offline, or not a hub id: fall back to "main"
        return None
    return Path(path).name


def run_key(
    identity: dict[str, str],
    train: list[Record],
    dev: list[Record] | None,
    config: Any,
    format_version: int,
) -> str:
    """sha256 over the base model identity, both data sets, the config (minus `merge`) and the
    training code and libraries (a finished adapter of other code is trained again, not reused)."""
    code = code_fingerprint(
        ["training", "records", "prompts"], ["torch", "transformers", "peft", "accelerate"]
    )
    return sha256_json(
        {
            "base": identity,
            "train": sha256_json([r.to_json() for r in train]),
            "dev": sha256_json([r.to_json() for r in dev]) if dev else None,
            "config": config.model_dump(exclude={"merge"}),
            "format": format_version,
            "code": code,
        }
    )
