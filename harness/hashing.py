"""Content addresses: stable sha256 digests of files, folders and JSON-able values."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

_CHUNK = 1 << 20


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_text(text: str) -> str:
    return sha256_bytes(text.encode("utf-8"))


def sha256_json(value: Any) -> str:
    """Digest of a JSON-able value, independent of dict key order."""
    return sha256_text(
        json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
    )


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with Path(path).open("rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def sha256_tree(root: str | Path, suffixes: Iterable[str] | None = None) -> str:
    """Digest of every file under `root` (relative names and contents), optionally by suffix."""
    root = Path(root)
    wanted = tuple(suffixes) if suffixes else None
    h = hashlib.sha256()
    for p in sorted(q for q in root.rglob("*") if q.is_file()):
        if wanted and not p.name.endswith(wanted):
            continue
        h.update(p.relative_to(root).as_posix().encode() + b"\0" + sha256_file(p).encode() + b"\n")
    return h.hexdigest()


# Files that decide what a model or adapter computes: weights, configs, tokenizer, chat template.
MODEL_FILE_SUFFIXES = (
    ".safetensors",
    ".bin",
    ".gguf",
    ".json",
    ".jinja",
    ".model",
    ".tiktoken",
    ".txt",
    ".py",
)


def sha256_model_dir(root: str | Path) -> str:
    """The content address of a model or adapter folder (every run and cache key uses this one)."""
    return sha256_tree(root, MODEL_FILE_SUFFIXES)


def code_fingerprint(modules: Iterable[str], distributions: Iterable[str]) -> dict[str, Any]:
    """What code computes an artifact: the digest of harness's source files in `modules`
    (dotted, below harness: "training" is a whole package, "training.tiny" one module) and the
    installed versions of `distributions` (e.g. "torch").

    Content addresses that include it name the outcome's cause, not only its inputs: a cached
    tiny model, adapter or generation made by other code is never reused as if it were this
    code's result (a stale cache once made a committed baseline that no clean run reproduced).
    """
    from importlib import metadata

    package_root = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for sub in sorted(modules):
        folder = package_root.joinpath(*sub.split("."))
        files = sorted(folder.rglob("*.py")) if folder.is_dir() else [folder.with_suffix(".py")]
        for p in files:
            h.update(
                p.relative_to(package_root).as_posix().encode() + b"\0" + sha256_file(p).encode() + b"\n"
            )
    versions: dict[str, str | None] = {}
    for name in sorted(distributions):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {"source": h.hexdigest()[:16], "versions": versions}
