"""Content addresses for training runs: what base model, what data, what config."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.hashing import sha256_json, sha256_model_dir
from harness.records import Record


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


def _cached_commit(repo: str) -> str | None:
    try:
        from huggingface_hub import snapshot_download

        path = snapshot_download(repo, local_files_only=True)
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
    """sha256 over the base model identity, both data sets and the config (minus `merge`)."""
    return sha256_json(
        {
            "base": identity,
            "train": sha256_json([r.to_json() for r in train]),
            "dev": sha256_json([r.to_json() for r in dev]) if dev else None,
            "config": config.model_dump(exclude={"merge"}),
            "format": format_version,
        }
    )
