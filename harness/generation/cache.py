"""The generation cache: one SQLite file (WAL mode), a row per finished generation.

Rows are committed a chunk at a time by `generate`, so a process killed with -9 loses at most
the chunk in flight; WAL lets a second process read while one writes. The key is the sha256 of
everything that decides the output (see `identity.cache_key`), so the cache needs no invalidation.

A damaged file (what a crash or a full disk can leave: truncated, overwritten, not SQLite) is
checked on open (`PRAGMA quick_check`). It is moved aside as `<name>.damaged-<time>` and the rows
that can still be read are copied into a fresh cache; `notice` says so, and the rest is generated
again. A cache that cannot be opened or written (a folder, no permission) is a HarnessError.
"""

from __future__ import annotations

import os
import re
import sqlite3
import time
from collections.abc import Iterable
from pathlib import Path

from harness.errors import HarnessError

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
_KEY = re.compile(r"[0-9a-f]{64}")
_FIX = "pass another --cache FILE, or --no-cache"


def default_cache_path() -> Path:
    """$HARNESS_CACHE_DIR/generations.sqlite, else ~/.cache/harness/generations.sqlite."""
    root = os.environ.get("HARNESS_CACHE_DIR") or Path.home() / ".cache" / "harness"
    return Path(root) / "generations.sqlite"


def _companions(path: Path) -> list[Path]:
    return [path.with_name(path.name + s) for s in ("-wal", "-shm")]


def _connect(path: Path) -> sqlite3.Connection:
    """Open, create the table and verify every page; sqlite3.DatabaseError when damaged."""
    db = sqlite3.connect(path, timeout=60)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable across process kills
        db.execute(_SCHEMA)
        db.commit()
        problems = [row[0] for row in db.execute("PRAGMA quick_check")]
        if problems != ["ok"]:
            raise sqlite3.DatabaseError("; ".join(problems[:3]))
        columns = [row[1] for row in db.execute("PRAGMA table_info(generations)")]
        if columns != ["key", "text", "n_tokens", "backend", "created"]:
            raise sqlite3.DatabaseError(f"table generations has columns {columns}, not a harness cache")
    except BaseException:
        db.close()
        raise
    return db


def _readable_rows(path: Path) -> list[tuple[str, str, int, str, float]]:
    """The well-formed rows of a damaged cache, up to the first unreadable page."""
    rows: list[tuple[str, str, int, str, float]] = []
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error:
        return rows
    try:
        for row in db.execute("SELECT key, text, n_tokens, backend, created FROM generations"):
            key, text, n, backend, created = row
            if (
                isinstance(key, str)
                and _KEY.fullmatch(key)
                and isinstance(text, str)
                and isinstance(n, int)
                and isinstance(backend, str)
                and isinstance(created, float | int)
            ):
                rows.append((key, text, n, backend, float(created)))
    except sqlite3.Error:
        pass  # a damaged page ends the scan: keep what came before it
    finally:
        db.close()
    return rows


class GenerationCache:
    """A key → (text, tokens) store; safe to share between processes."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.notice: str | None = None  # set when a damaged file was replaced
        if self.path.is_dir():
            raise HarnessError(f"generation cache {self.path} is a folder, expected an SQLite file; {_FIX}")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise HarnessError(
                f"cannot create the generation cache's folder {self.path.parent}: {e.strerror or e}; {_FIX}"
            ) from None
        try:
            self._db = _connect(self.path)
        except sqlite3.OperationalError as e:  # cannot open or write: permissions, a read-only disk
            raise HarnessError(f"cannot open the generation cache {self.path}: {e}; {_FIX}") from None
        except sqlite3.DatabaseError as e:  # not SQLite, truncated, malformed
            self._db = self._replace_damaged(str(e))

    def _replace_damaged(self, why: str) -> sqlite3.Connection:
        aside = self.path.with_name(f"{self.path.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
        try:
            for src, dst in zip(
                [self.path, *_companions(self.path)], [aside, *_companions(aside)], strict=True
            ):
                if src.exists():
                    src.rename(dst)
            rows = _readable_rows(aside)
            db = _connect(self.path)
            with db:
                db.executemany("INSERT OR IGNORE INTO generations VALUES (?, ?, ?, ?, ?)", rows)
        except (OSError, sqlite3.Error) as e:
            raise HarnessError(
                f"the generation cache {self.path} is damaged ({why}) and could not be replaced ({e}); "
                f"move it aside (mv {self.path} {aside}) or {_FIX}"
            ) from None
        self.notice = (
            f"the generation cache {self.path} was damaged ({why}): moved it to {aside} and kept its "
            f"{len(rows)} readable generation(s) in a fresh cache; the rest will be generated again"
        )
        return db

    def _fail(self, doing: str, e: sqlite3.Error) -> HarnessError:
        return HarnessError(
            f"generation cache {self.path}: {doing} failed ({e}); if the disk is full, free space; if "
            f"the file is damaged, move it aside (harness keeps its readable rows next time), or {_FIX}"
        )

    def get_many(self, keys: list[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        unique = list(dict.fromkeys(keys))
        try:
            for i in range(0, len(unique), _LOOKUP_BATCH):
                part = unique[i : i + _LOOKUP_BATCH]
                marks = ",".join("?" * len(part))
                for key, text in self._db.execute(
                    f"SELECT key, text FROM generations WHERE key IN ({marks})", part
                ):
                    found[key] = text
        except sqlite3.Error as e:
            raise self._fail("reading", e) from None
        return found

    def put_many(self, rows: Iterable[tuple[str, str, int, str]]) -> None:
        """Insert (key, text, n_tokens, backend) rows in one transaction."""
        now = time.time()
        try:
            with self._db:
                self._db.executemany(
                    "INSERT OR REPLACE INTO generations (key, text, n_tokens, backend, created) "
                    "VALUES (?, ?, ?, ?, ?)",
                    [(k, t, n, b, now) for k, t, n, b in rows],
                )
        except sqlite3.Error as e:
            raise self._fail("writing", e) from None

    def __len__(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM generations").fetchone()[0]

    def close(self) -> None:
        self._db.close()
