"""User-facing errors: the CLI prints them as one line and exits 2, never with a traceback."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class HarnessError(Exception):
    """An error the user can fix (bad input, bad config, missing file)."""

    exit_code = 2


@dataclass(frozen=True)
class Problem:
    """One bad record: where it is and what was wrong with it."""

    path: str
    line: int  # 1-based line (JSON lines) or 1-based item index (JSON array)
    field: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}"
        return f"{where}: field {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


class DataError(HarnessError):
    """Bad records in an input file; carries every problem found so far."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        head = str(problems[0]) if problems else "bad data"
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(head + more)


def require_file(path: str | Path, what: str = "file") -> Path:
    """Return `path` as a Path, or raise a HarnessError that names it."""
    p = Path(path)
    if not p.is_file():
        raise HarnessError(f"{what} not found: {p}")
    return p
