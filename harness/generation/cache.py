"""The generation cache: one SQLite file (WAL mode), a row per finished generation.

Rows are committed a chunk at a time by `generate`, so a process killed with -9 loses at most
the chunk in flight; WAL lets a second process read while one writes. The key is the sha256 of
everything that decides the output (see `identity.cache_key`), so the cache needs no invalidation.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterable
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS generations (
    key TEXT PRIMARY KEY,
    text TEXT NOT NULL,
    n_tokens INTEGER NOT NULL,
    backend TEXT NOT NULL,
    created REAL NOT NULL
)
"""
_LOOKUP_BATCH = 500  # SQLite caps bound parameters per statement


def default_cache_path() -> Path:
    """$HARNESS_CACHE_DIR/generations.sqlite, else ~/.cache/harness/generations.sqlite."""
    root = os.environ.get("HARNESS_CACHE_DIR") or Path.home() / ".cache" / "harness"
    return Path(root) / "generations.sqlite"


class GenerationCache:
    """A key → (text, tokens) store; safe to share between processes."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, timeout=60)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable across process kills
        self._db.execute(_SCHEMA)
        self._db.commit()

    def get_many(self, keys: list[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        unique = list(dict.fromkeys(keys))
        for i in range(0, len(unique), _LOOKUP_BATCH):
            part = unique[i : i + _LOOKUP_BATCH]
            marks = ",".join("?" * len(part))
            for key, text in self._db.execute(
                f"SELECT key, text FROM generations WHERE key IN ({marks})", part
            ):
                found[key] = text
        return found

    def put_many(self, rows: Iterable[tuple[str, str, int, str]]) -> None:
        """Insert (key, text, n_tokens, backend) rows in one transaction."""
        now = time.time()
        with self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO generations (key, text, n_tokens, backend, created) "
                "VALUES (?, ?, ?, ?, ?)",
                [(k, t, n, b, now) for k, t, n, b in rows],
            )

    def __len__(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM generations").fetchone()[0]

    def close(self) -> None:
        self._db.close()
