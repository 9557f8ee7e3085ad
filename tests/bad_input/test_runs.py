"""`harness runs` on folders that hold no runs, or a damaged one: a clear message, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bad_input.cases import Case, check
from tests.bad_input.test_rescore import damaged, template_run, write  # noqa: F401  (autouse fixture)

CASES: list[Case] = [
    Case(
        "folder-missing",
        lambda tmp: None,
        ["runs", "{tmp}/nope"],
        2,
        ["reports folder not found: {tmp}/nope"],
    ),
    Case(
        "a-file",
        lambda tmp: (tmp / "f").write_text("x", encoding="utf-8"),
        ["runs", "{tmp}/f"],
        2,
        ["{tmp}/f is a file, expected a reports folder"],
    ),
    Case("empty-folder", lambda tmp: None, ["runs", "{tmp}"], 0, ["no runs under {tmp}"]),
    Case(
        "damaged-run-is-listed-with-its-problem",
        damaged(write("manifest.json", "{")),
        ["runs", "{tmp}", "--json"],
        0,
        ['"run_id": "run"', "manifest.json"],
    ),
    Case(
        "shared-work-folder-is-no-run",
        lambda tmp: (tmp / "_work").mkdir(),
        ["runs", "{tmp}"],
        0,
        ["no runs under"],
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_runs_bad_input(case: Case, tmp_path: Path) -> None:
    check(case, tmp_path)
