"""The content address of a training run: what base model, what data, what config, what code.

The base model's identity and the dtype it trains in come from `harness.modelzoo.identity`
(the same rules generation uses).
"""

from __future__ import annotations

from typing import Any

from harness.hashing import code_fingerprint, sha256_json
from harness.records import Record


def run_key(
    identity: str,
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
