"""Reading JSON lines (or a JSON array) with per-line error reports, and atomic writing."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from harness.errors import HarnessError, Problem, require_file
from harness.safeio import UTF16, encoding_problem, json_problem


def iter_json_objects(path: str | Path) -> Iterator[tuple[int, Any | Problem]]:
    """Yield (line number, parsed object) or (line number, Problem) for each non-blank line.

    A file whose first non-blank character is `[` is read as one JSON array, and the
    "line" is then the 1-based item index. A bad line never stops the others; bytes that
    are not UTF-8 are a Problem of their line, not a traceback; a leading BOM is ignored.
    JSON is strict (safeio.json_problem): a key repeated in one object, NaN and deep nesting
    are Problems. A UTF-16 file is one Problem that says so.
    """
    p = require_file(path)
    try:
        yield from _json_objects(p)
    except OSError as e:  # a regular file the machine cannot read (an I/O error, /proc/self/mem)
        raise HarnessError(f"file cannot be read: {p} ({e.strerror or e})") from None


# a JSON lines file this big takes seconds to read and validate: it gets a bar (on a terminal)
BIG_FILE = 32 << 20


def _json_objects(p: Path) -> Iterator[tuple[int, Any | Problem]]:
    with p.open("rb") as f:
        head = f.read(4096)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        yield 1, Problem(str(p), 1, None, UTF16)
        return
    if head.removeprefix(b"\xef\xbb\xbf").lstrip().startswith(b"["):
        raw = p.read_bytes()
        bad = encoding_problem(raw)
        if bad:
            yield bad[0], Problem(str(p), bad[0], None, bad[1])
            return
        items, problem, line = json_problem(raw.decode("utf-8-sig"))
        if problem:
            yield line or 1, Problem(str(p), line or 1, None, f"invalid JSON array: {problem}")
            return
        yield from enumerate(items, 1)
        return
    from harness.progress import bar

    size = p.stat().st_size
    with (
        p.open("rb") as f,
        bar(f"reading {p.name}", size if size >= BIG_FILE else 0, unit="bytes") as advance,
    ):
        for n, raw_line in enumerate(f, 1):
            advance(len(raw_line))
            try:
                line = raw_line.decode("utf-8-sig" if n == 1 else "utf-8")
            except UnicodeDecodeError as e:
                bad = encoding_problem(raw_line)  # (line, why): keep the why's "(it looks like GBK …)"
                hint = bad[1][bad[1].find("(") :] if bad and "(" in bad[1] else ""
                yield (
                    n,
                    Problem(
                        str(p),
                        n,
                        None,
                        f"not UTF-8 text at byte {e.start + 1} of the line: {e.reason} {hint}".rstrip(),
                    ),
                )
                continue
            if not line.strip():
                continue
            obj, problem, _ = json_problem(line)
            yield n, Problem(str(p), n, None, problem) if problem else obj


_UMASK = os.umask(0o022)  # read the process umask once (setting it is the only way to read it)
os.umask(_UMASK)


T = TypeVar("T")


def iter_unique_items(
    path: str | Path,
    parse: Callable[[Any, str, int], T | Problem],
    key: Callable[[T], str],
    key_field: str,
) -> Iterator[tuple[int, T | Problem]]:
    """Yield (line, parsed item) or (line, Problem): every line parsed, a repeated key a problem.

    The one loop behind every validating reader, so "duplicate id … (first on line N)" reads
    the same everywhere.
    """
    seen: dict[str, int] = {}
    for line, obj in iter_json_objects(path):
        item = obj if isinstance(obj, Problem) else parse(obj, str(path), line)
        if not isinstance(item, Problem):
            k = key(item)
            if k in seen:
                item = Problem(str(path), line, key_field, f"duplicate id {k!r} (first on line {seen[k]})")
            else:
                seen[k] = line
        yield line, item


def dumps_line(obj: Any) -> str:
    """One JSON line, UTF-8 text kept readable (no \\u escapes)."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n"


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write `text` to `path` through a temp file and rename, so readers never see half a file.

    Only a regular file (or nothing) is ever replaced: renaming over /dev/null, a FIFO or a
    folder would destroy it (as root, a device node), so those are errors that name the path.
    """
    p = Path(path)
    if p.exists() or p.is_symlink():
        if p.is_dir():
            raise HarnessError(f"cannot write {p}: it is a folder, expected a file path")
        if not p.is_file():
            raise HarnessError(f"cannot write {p}: it is not a regular file (a device, pipe or socket)")
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise HarnessError(f"cannot write {p}: a parent of it is a file, not a folder") from None
    fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=f".{p.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp creates 0600; written files get the usual mode
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
