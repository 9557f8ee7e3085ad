"""User-facing errors and the exit codes every verb shares (docs/errors.md).

The CLI prints a HarnessError as one line and exits with its code, never with a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

# Exit codes, the same for every verb.
EXIT_OK = 0
EXIT_FOUND = 1  # a regression (gate) or problems found (inspect, synonyms check)
EXIT_BAD_INPUT = 2  # bad input or usage
EXIT_INTERNAL = 3  # a bug in harness: the traceback is saved, --debug shows it


class HarnessError(Exception):
    """An error the user can fix (bad input, bad config, missing file)."""

    exit_code = EXIT_BAD_INPUT


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
    """Return `path` as a Path when it is a readable regular file, else a HarnessError that says why."""
    from harness.safeio import check_input_file

    return check_input_file(path, what)
