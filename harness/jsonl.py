"""Reading JSON lines (or a JSON array) with per-line error reports, and atomic writing."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from harness.errors import Problem, require_file


def iter_json_objects(path: str | Path) -> Iterator[tuple[int, Any | Problem]]:
    """Yield (line number, parsed object) or (line number, Problem) for each non-blank line.

    A file whose first non-blank character is `[` is read as one JSON array, and the
    "line" is then the 1-based item index. A bad line never stops the others.
    """
    p = require_file(path)
    with p.open(encoding="utf-8") as f:
        head = f.read(4096).lstrip()
    if head.startswith("["):
        try:
            items = json.loads(p.read_text(encoding="utf-8"))
        except json.JSONDecodeError as e:
            yield e.lineno, Problem(str(p), e.lineno, None, f"invalid JSON array: {e.msg}")
            return
        yield from enumerate(items, 1)
        return
    with p.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                yield n, json.loads(line)
            except json.JSONDecodeError as e:
                yield n, Problem(str(p), n, None, f"invalid JSON at column {e.colno}: {e.msg}")


def dumps_line(obj: Any) -> str:
    """One JSON line, UTF-8 text kept readable (no \\u escapes)."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n"


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write `text` to `path` through a temp file and rename, so readers never see half a file."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=f".{p.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return p


def write_jsonl(path: str | Path, rows: Iterable[Any]) -> Path:
    """Atomically write rows as JSON lines."""
    return atomic_write_text(path, "".join(dumps_line(r) for r in rows))


def write_json(path: str | Path, obj: Any) -> Path:
    """Atomically write one pretty JSON document."""
    return atomic_write_text(path, json.dumps(obj, ensure_ascii=False, indent=2) + "\n")
