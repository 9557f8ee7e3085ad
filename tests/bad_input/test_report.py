"""`harness report` on damaged or unfinished run folders: a clear message and exit 2, never a traceback.

Each case damages its own copy of one real run (the same one test_rescore.py makes).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.bad_input.cases import Case, check
from tests.bad_input.test_rescore import (  # noqa: F401  (template_run: the module's autouse fixture)
    REFUSED,
    damaged,
    edit_manifest,
    keep_lines,
    remove,
    template_run,
    write,
)

REPORT = ["report", "{tmp}/run"]


def summary_field(system: str, **fields: object) -> Callable[[Path], None]:
    """Set fields of one system's score summary in scores.json."""

    def change(run: Path) -> None:
        scores = json.loads((run / "scores.json").read_text(encoding="utf-8"))
        scores["systems"][system].update(fields)
        (run / "scores.json").write_text(json.dumps(scores), encoding="utf-8")

    return change


def summary_report(**fields: object) -> Callable[[Path], None]:
    """Set fields of scores.json's report block (None writes a JSON null)."""

    def change(run: Path) -> None:
        scores = json.loads((run / "scores.json").read_text(encoding="utf-8"))
        scores.setdefault("report", {}).update(fields)
        (run / "scores.json").write_text(json.dumps(scores), encoding="utf-8")

    return change


def edit_scores(change: Callable[[dict], object]) -> Callable[[Path], None]:
    def edit(run: Path) -> None:
        scores = json.loads((run / "scores.json").read_text(encoding="utf-8"))
        change(scores)
        (run / "scores.json").write_text(json.dumps(scores), encoding="utf-8")

    return edit


def edit_first_trace(system: str, change: Callable[[dict], object]) -> Callable[[Path], None]:
    def edit(run: Path) -> None:
        path = run / "traces" / f"{system}.jsonl"
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        first = json.loads(lines[0])
        change(first)
        path.write_text(json.dumps(first, ensure_ascii=False) + "\n" + "".join(lines[1:]), encoding="utf-8")

    return edit


CASES: list[Case] = [
    Case("good-run", damaged(), REPORT, 0, ["HTML report:", "rules"]),
    Case(
        "unscored-run",
        damaged(remove("scores.json")),
        REPORT,
        2,
        ["no scores.json yet (run `harness rescore {tmp}/run`)"],
    ),
    Case(
        "scores-corrupt",
        damaged(write("scores.json", '{"version": 2, "systems": ')),
        REPORT,
        2,
        ["scores.json:1: invalid JSON"],
    ),
    Case(
        "scores-duplicate-key",
        damaged(write("scores.json", '{"version": 2, "systems": {}, "systems": {}}')),
        REPORT,
        2,
        ["scores.json:1: duplicate key 'systems'"],
    ),
    Case(
        "scores-not-an-object",
        damaged(write("scores.json", "[]")),
        REPORT,
        2,
        ["scores.json: expected a JSON object, got list"],
    ),
    Case(
        "scores-systems-wrong-type",
        damaged(write("scores.json", '{"version": 2, "systems": [1, 2]}')),
        REPORT,
        2,
        ["scores.json: field systems: expected an object of score summaries"],
    ),
    Case(
        "scores-system-name-outside-the-run",
        damaged(write("scores.json", '{"version": 2, "systems": {"../../x": {}}}')),
        REPORT,
        2,
        ["field systems: '../../x' is not a system name harness writes"],
    ),
    Case(
        "scores-report-wrong-type",
        damaged(write("scores.json", '{"version": 2, "systems": {}, "report": "base"}')),
        REPORT,
        2,
        ["scores.json: field report: expected an object, got str"],
    ),
    Case(
        "summary-samples-not-a-number",
        damaged(summary_field("rules", samples="five")),
        REPORT,
        2,
        ["scores.json: field systems.rules.samples: expected a whole number, got 'five'", "harness rescore"],
    ),
    Case(
        "summary-block-not-an-object",
        damaged(summary_field("stored", official=[0.5])),
        REPORT,
        2,
        ["field systems.stored.official: expected an object, got list"],
    ),
    Case(
        "summary-confusion-not-square",
        damaged(summary_field("rules", classification={"labels": ["a", "b"], "confusion": [[1, 2], [3]]})),
        REPORT,
        2,
        ["field systems.rules.classification.confusion: expected a square matrix of counts"],
    ),
    Case(
        "summary-per-label-f1-not-a-number",
        damaged(summary_field("rules", classification={"per_label": {"a": {"f1": "high"}}})),
        REPORT,
        2,
        ["field systems.rules.classification.per_label: expected an object of per-label objects"],
    ),
    Case(
        "summary-failure-count-not-a-number",
        damaged(summary_field("rules", failures={"drift": "many"})),
        REPORT,
        2,
        ["field systems.rules.failures.drift: expected a count, got 'many'"],
    ),
    Case(
        "contamination-not-a-list",
        damaged(write("scores.json", '{"version": 2, "systems": {}, "contamination": {"r3": "leak"}}')),
        REPORT,
        2,
        ["field contamination.r3: expected a list of findings"],
    ),
    Case(
        "emptied-predictions",
        damaged(write("predictions/rules.jsonl", "")),
        REPORT,
        2,
        [REFUSED, "predictions/rules.jsonl: changed since the run: expected 5 rows", "found 0 rows"],
    ),
    Case(
        "cut-test-file",
        damaged(keep_lines("data/test.jsonl", 3)),
        REPORT,
        2,
        [REFUSED, "data/test.jsonl: changed since the run", "found 3 rows"],
    ),
    Case("run-dir-is-a-file", lambda tmp: (tmp / "run").write_text("x"), REPORT, 2, ["run folder is a file"]),
    Case("run-dir-missing", lambda tmp: None, REPORT, 2, ["run folder not found"]),
    Case("manifest-missing", damaged(remove("manifest.json")), REPORT, 2, ["no manifest.json"]),
    Case(
        "manifest-without-inputs",
        damaged(edit_manifest(lambda m: m.pop("inputs"))),
        REPORT,
        2,
        ["records no input hashes"],
    ),
    # report settings and traces the report reads: refused, never a traceback or a silently emptier report
    *(
        Case(
            f"scores-max-examples-{name}",
            damaged(summary_report(max_examples=value)),
            REPORT,
            2,
            ["scores.json: field report.max_examples: expected a whole number 0 or more"],
        )
        for name, value in (("null", None), ("string", "zzz"), ("negative", -1), ("float", 1e300))
    ),
    Case(
        "scores-no-systems",
        damaged(write("scores.json", '{"version": 2}')),
        REPORT,
        2,
        ["scores.json: field systems: no scored systems"],
    ),
    Case(
        "traces-missing",
        damaged(remove("traces/stored.jsonl")),
        REPORT,
        2,
        ["traces/stored.jsonl: the traces of system stored are missing", "harness rescore"],
    ),
    Case(
        "traces-short",
        damaged(keep_lines("traces/stored.jsonl", 2)),
        REPORT,
        2,
        ["traces/stored.jsonl: 2 traces for the 5 samples stored was scored on"],
    ),
    # the scores/trace contract is versioned: another version is refused, never read as a guess
    Case(
        "scores-unversioned",
        damaged(edit_scores(lambda s: s.pop("version"))),
        REPORT,
        2,
        [
            "scores.json: field version: missing (a scores file from an older harness); expected version 2",
            "harness rescore",
        ],
    ),
    Case(
        "scores-version-unknown",
        damaged(edit_scores(lambda s: s.update(version=99))),
        REPORT,
        2,
        ["scores.json: field version: expected 2 (what this harness reads), got 99"],
    ),
    Case(
        "summary-ci-not-an-interval",
        damaged(summary_field("rules", ci={"official_f1": {"low": 0.1, "high": 0.2}})),
        REPORT,
        2,
        ["field systems.rules.ci.official_f1: expected [low, high]"],
    ),
    Case(
        "trace-counts-missing",
        damaged(edit_first_trace("stored", lambda t: t.pop("classification"))),
        REPORT,
        2,
        ["traces/stored.jsonl:1: field classification: expected {items, correct} counts", "harness rescore"],
    ),
    Case(
        "trace-tags-as-a-mapping",
        damaged(edit_first_trace("stored", lambda t: t.update(tags={"drift": [1]}))),
        REPORT,
        2,
        ["traces/stored.jsonl:1: field tags: expected a list of {tag, source, lines} objects"],
    ),
    # --- --format, --out, --open -----------------------------------------------------------------
    Case(
        "out-without-format",
        damaged(),
        [*REPORT, "--out", "{tmp}/t.md"],
        2,
        ["--out writes the table of --format: give --format md, csv or json"],
    ),
    Case(
        "json-and-format-both-on-stdout",
        damaged(),
        [*REPORT, "--format", "csv", "--json"],
        2,
        ["--json and --format both print on stdout: use --format json, or --out FILE"],
    ),
    Case(
        "format-unknown",
        damaged(),
        [*REPORT, "--format", "xlsx"],
        2,
        ["'xlsx' is not one of 'md', 'csv', 'json'"],
    ),
    Case(
        "format-out-onto-the-run-scores",
        damaged(),
        [*REPORT, "--format", "md", "--out", "{tmp}/run/scores.json"],
        2,
        ["--out {tmp}/run/scores.json is an input file"],
        check=lambda tmp, out: json.loads((tmp / "run" / "scores.json").read_text(encoding="utf-8")),
    ),
    Case(
        "format-of-damaged-scores",
        damaged(write("scores.json", "[]")),
        [*REPORT, "--format", "csv"],
        2,
        ["scores.json: expected a JSON object"],
    ),
    Case(
        "open-without-html",
        damaged(remove("index.html")),
        [*REPORT, "--format", "md", "--open"],
        2,
        ["index.html: no HTML report yet (render it with `harness report"],
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_report_bad_input(case: Case, tmp_path: Path) -> None:
    check(case, tmp_path)
