"""The shape of every bad-input table: one `Case` per malformed input, checked the same way.

Each verb's test file holds one table (`CASES`) and one parametrized test that calls `check`.
A case writes its files into a temporary folder, runs the CLI in-process, and asserts the
exit code, a phrase of the message, and that no traceback reached the user.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from click.testing import CliRunner

from harness.cli import cli

Setup = Callable[[Path], None]


@dataclass(frozen=True)
class Case:
    id: str
    setup: Setup  # writes the inputs under the folder it is given
    argv: list[str]  # "{tmp}" is replaced by that folder
    exit_code: int
    says: list[str] = field(default_factory=list)  # phrases the output (stdout + stderr) must contain
    check: Callable[[Path, str], None] | None = None  # more assertions on (folder, output)


def run_cli(argv: list[str], tmp: Path) -> tuple[int, str]:
    args = [a.replace("{tmp}", str(tmp)) for a in argv]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    return result.exit_code, result.stdout + result.stderr


def check(case: Case, tmp: Path) -> str:
    case.setup(tmp)
    code, out = run_cli(case.argv, tmp)
    assert "Traceback" not in out, out
    assert code == case.exit_code, f"exit {code}, expected {case.exit_code}:\n{out}"
    for phrase in case.says:
        assert phrase.replace("{tmp}", str(tmp)) in out, f"{phrase!r} not in:\n{out}"
    if case.check is not None:
        case.check(tmp, out)
    return out
