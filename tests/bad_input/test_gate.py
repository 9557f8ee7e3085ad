"""`harness gate` on malformed baselines, corrupted runs and bad settings: exit 2 naming the file
and the field, never a traceback and never a gate that silently passes on numbers it cannot trust.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bad_input.cases import Case, Setup, check
from harness.gate import write_baseline
from harness.runs import RunDir, write_doc
from harness.scoring.contract import SCORES_VERSION

RUN, BASE = "{tmp}/run", "{tmp}/baseline.json"
N = 20
# Per-sample correctness of each system: round3 misses one sample, base gets a quarter right.
GOOD = [i != 0 for i in range(N)]
WEAK = [i % 4 == 0 for i in range(N)]


def count_rows(ok: list[bool]) -> list[list[int]]:
    """One gold entity per sample, in the scorer's column layout."""
    from harness.scoring import metrics as M

    rows = []
    for good in ok:
        row = [0] * M.N_COLUMNS
        row[M.OFF_TP if good else M.OFF_FP] = 1
        row[M.OFF_FN] = int(not good)
        row[M.CAN_TP if good else M.CAN_FP] = 1
        row[M.CAN_FN] = int(not good)
        row[M.ITEMS], row[M.CORRECT] = 1, int(good)
        rows.append(row)
    return rows


def make_run(root: Path, outcomes: dict[str, list[bool]] | None = None, suite: str = "fake") -> RunDir:
    """A scored run folder (scores.json and counts/, no model): base and round3 by default."""
    run = RunDir(root)
    outcomes = outcomes or {"base": WEAK, "round3": GOOD}
    for name, ok in outcomes.items():
        write_counts(run, name, ok)
    write_doc(
        run.scores,
        {
            "version": SCORES_VERSION,
            "suite": suite,
            "systems": {name: {"official": {"f1": sum(ok) / len(ok)}} for name, ok in outcomes.items()},
            "gate": {"metrics": [{"metric": "official.f1", "tolerance": 0.0}], "resamples": 200},
        },
    )
    return run


def write_counts(run: RunDir, system: str, ok: list[bool], ids: list[str] | None = None) -> None:
    ids = ids or [f"s{i}" for i in range(len(ok))]
    write_doc(run.root / "counts" / f"{system}.json", {"sample_ids": ids, "counts": count_rows(ok)})


def accepted(
    edit: Callable[[dict[str, Any]], object] | None = None, after: Callable[[RunDir], None] | None = None
) -> Setup:
    """A run and its accepted baseline; `edit` changes the baseline's JSON, `after` the run."""

    def setup(tmp: Path) -> None:
        run = make_run(tmp / "run")
        write_baseline(run, tmp / "baseline.json")
        if edit is not None:
            doc = json.loads((tmp / "baseline.json").read_text())
            edit(doc)
            # json.dumps writes float('nan') as NaN, as a careless tool would
            (tmp / "baseline.json").write_text(json.dumps(doc))
        if after is not None:
            after(run)

    return setup


def scores_kept(tmp: Path, out: str) -> None:
    doc = json.loads((tmp / "run" / "scores.json").read_text(encoding="utf-8"))
    assert set(doc["systems"]) == {"base", "round3"}, out


def baseline_text(text: str) -> Setup:
    def setup(tmp: Path) -> None:
        make_run(tmp / "run")
        (tmp / "baseline.json").write_text(text)

    return setup


def edit_scores(change: Callable[[dict[str, Any]], None]) -> Callable[[RunDir], None]:
    def after(run: RunDir) -> None:
        doc = json.loads(run.scores.read_text())
        change(doc)
        run.scores.write_text(json.dumps(doc))

    return after


def regressed(run: RunDir) -> None:
    """round3 now gets only a quarter right (it had 19 of 20 when the baseline was accepted)."""
    write_counts(run, "round3", WEAK)


def round3(field: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(doc: dict[str, Any]) -> None:
        doc["systems"]["round3"][field] = value

    return edit


def cell(i: int, j: int, value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(doc: dict[str, Any]) -> None:
        doc["systems"]["round3"]["counts"][i][j] = value

    return edit


def null_row(doc: dict[str, Any]) -> None:
    doc["systems"]["round3"]["counts"][4] = [None] * len(doc["systems"]["round3"]["counts"][4])


def run_counts(text: str) -> Callable[[RunDir], None]:
    def after(run: RunDir) -> None:
        (run.root / "counts" / "round3.json").write_text(text)

    return after


def as_a_list(tmp: Path) -> None:
    accepted()(tmp)
    doc = json.loads((tmp / "baseline.json").read_text())
    (tmp / "baseline.json").write_text(json.dumps([doc]))


def replace_in(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new))


def fifo(tmp: Path) -> None:
    make_run(tmp / "run")
    os.mkfifo(tmp / "baseline.json")


def a_file_as_parent(tmp: Path) -> None:
    accepted()(tmp)
    (tmp / "file").write_text("x")


def baseline_in_suite(where: str) -> Callable[[RunDir], None]:
    """The run's suite names `where` ({tmp} filled in) as its gate.baseline."""

    def after(run: RunDir) -> None:
        tmp = str(run.root.parent)
        edit_scores(lambda s: s["gate"].update(baseline=where.replace("{tmp}", tmp)))(run)

    return after


def gate_ok(tmp: Path, out: str) -> None:
    assert "gate passed" in out and "✗" not in out


def wrote_nothing(tmp: Path, out: str) -> None:
    assert not (tmp / "new.json").exists()


GATE = ["gate", RUN, "--baseline", BASE]
ROW = "expected a finite non-negative integer, got"

CASES: list[Case] = [
    # the happy path and the regression the NaN row used to hide
    Case("accepted-passes", accepted(), GATE, 0, ["round3 official.f1: 0.9500 vs baseline 0.9500"], gate_ok),
    Case("regression-found", accepted(after=regressed), GATE, 1, ["round3 official.f1: 0.2500 vs baseline 0.9500", "REGRESSION"]),
    Case("nan-row-no-longer-hides-regression", accepted(null_row, after=regressed), GATE, 2, [f"{{tmp}}/baseline.json: systems.round3.counts[4][0]: {ROW} null"]),
    Case("nan-literal", accepted(cell(4, 2, float("nan")), after=regressed), GATE, 2, [f"systems.round3.counts[4][2]: {ROW} NaN"]),
    Case("infinity", accepted(cell(0, 1, float("inf"))), GATE, 2, [f"systems.round3.counts[0][1]: {ROW} Infinity"]),
    Case("negative-count", accepted(cell(3, 0, -1)), GATE, 2, [f"systems.round3.counts[3][0]: {ROW} -1"]),
    Case("fractional-count", accepted(cell(3, 0, 0.5)), GATE, 2, [f"counts[3][0]: {ROW} 0.5"]),
    Case("string-count", accepted(cell(3, 0, "1")), GATE, 2, [f'counts[3][0]: {ROW} "1"']),
    Case("boolean-count", accepted(cell(3, 0, True)), GATE, 2, [f"counts[3][0]: {ROW} true"]),
    Case("huge-count", accepted(cell(3, 0, 10**30)), GATE, 2, [f"counts[3][0]: {ROW} 1000000000000000000000000000000"]),
    # shapes
    Case("short-row", accepted(lambda d: d["systems"]["round3"]["counts"][2].pop()), GATE, 2, ["systems.round3.counts[2]: expected a row of 20 counts", "got 19 values"]),
    Case("row-not-array", accepted(lambda d: d["systems"]["round3"]["counts"].__setitem__(2, 7)), GATE, 2, ["systems.round3.counts[2]: expected a row of 20 counts", "got a number"]),
    Case("more-rows-than-ids", accepted(lambda d: d["systems"]["round3"]["sample_ids"].pop()), GATE, 2, ["systems.round3.counts: 20 rows for 19 sample_ids"]),
    Case("duplicate-sample-id", accepted(lambda d: d["systems"]["round3"]["sample_ids"].__setitem__(5, "s0")), GATE, 2, ["systems.round3.sample_ids[5]: 's0' repeats sample_ids[0]"]),
    Case("numeric-sample-id", accepted(lambda d: d["systems"]["round3"]["sample_ids"].__setitem__(5, 5)), GATE, 2, ["systems.round3.sample_ids[5]: expected a non-empty string, got 5"]),
    Case("no-samples", accepted(lambda d: d["systems"]["round3"].update(sample_ids=[], counts=[])), GATE, 2, ["systems.round3.sample_ids: empty"]),
    Case("counts-missing", accepted(lambda d: d["systems"]["round3"].pop("counts")), GATE, 2, ["systems.round3.counts: expected an array, got nothing (missing)"]),
    Case("counts-not-array", accepted(round3("counts", {"s0": [0]})), GATE, 2, ["systems.round3.counts: expected an array, got an object"]),
    Case("system-not-object", accepted(lambda d: d["systems"].__setitem__("round3", [1])), GATE, 2, ["systems.round3: expected an object with metrics, sample_ids, counts, got an array"]),
    Case("system-unknown-key", accepted(round3("weights", [])), GATE, 2, ["systems.round3.weights: unknown key; valid: metrics, sample_ids, counts"]),
    Case("metric-nan", accepted(lambda d: d["systems"]["round3"]["metrics"].__setitem__("official.f1", float("nan"))), GATE, 2, ["systems.round3.metrics.official.f1: expected a finite number or null, got NaN"]),
    Case("metric-string", accepted(lambda d: d["systems"]["round3"]["metrics"].__setitem__("official.f1", "0.9")), GATE, 2, ['metrics.official.f1: expected a finite number or null, got "0.9"']),
    Case("metric-1e999", accepted(after=lambda run: replace_in(run.root.parent / "baseline.json", '"official.f1": 0.95,', '"official.f1": 1e999,')), GATE, 2, ["systems.round3.metrics.official.f1: expected a finite number or null, got Infinity"]),
    Case("metric-unknown", accepted(lambda d: d["systems"]["round3"]["metrics"].__setitem__("official.f11", 0.9)), GATE, 2, ["systems.round3.metrics.official.f11: unknown metric; valid: official.f1,"]),
    Case("metrics-missing", accepted(lambda d: d["systems"]["round3"].pop("metrics")), GATE, 2, ["systems.round3.metrics: expected an object (metric -> value), got nothing (missing)"]),
    # the document as a whole
    Case("version-2", accepted(lambda d: d.update(version=2)), GATE, 2, ["version: this harness reads baseline version 1, got 2"]),
    Case("version-true", accepted(lambda d: d.update(version=True)), GATE, 2, ["version: this harness reads baseline version 1, got true"]),
    Case("version-missing", accepted(lambda d: d.pop("version")), GATE, 2, ["version: missing; is this a harness baseline?"]),
    Case("unknown-top-level-key", accepted(lambda d: d.update(extra={})), GATE, 2, ["{tmp}/baseline.json: extra: unknown key; valid: version, suite"]),
    Case("systems-empty", accepted(lambda d: d.update(systems={})), GATE, 2, ["systems: empty, so the baseline gates nothing"]),
    Case("systems-a-list", accepted(lambda d: d.update(systems=[])), GATE, 2, ["systems: expected an object (system name -> its counts), got an array"]),
    Case("settings-a-string", accepted(lambda d: d.update(settings="x")), GATE, 2, ["settings: expected an object, got a string"]),
    Case("baseline-a-list", as_a_list, GATE, 2, ["expected a harness baseline (a JSON object with version and systems), got an array"]),
    Case("scores-given-as-baseline", accepted(), ["gate", RUN, "--baseline", f"{RUN}/scores.json"], 2, ["scores.json: version: this harness reads baseline version 1, got 2; is this a harness baseline?"]),
    Case("empty-file", baseline_text(""), GATE, 2, ["{tmp}/baseline.json: empty file, not a harness baseline", "--update-baseline"]),
    Case("malformed-json", baseline_text('{"version": 1,'), GATE, 2, ["{tmp}/baseline.json:1: invalid JSON"]),
    Case("duplicate-key", baseline_text('{"version": 1,\n"version": 1, "systems": {}}'), GATE, 2, ["duplicate key 'version'"]),
    Case("utf16", lambda tmp: (make_run(tmp / "run"), (tmp / "baseline.json").write_text("{}", encoding="utf-16")), GATE, 2, ["UTF-16"]),
    Case("missing", lambda tmp: make_run(tmp / "run"), GATE, 2, ["baseline not found: {tmp}/baseline.json", "--update-baseline"]),
    Case("fifo", fifo, GATE, 2, ["baseline is not a regular file"]),
    Case("folder-option", accepted(), ["gate", RUN, "--baseline", "{tmp}"], 2, ["is a directory"]),
    Case("folder-from-suite", accepted(after=baseline_in_suite("{tmp}")), ["gate", RUN], 2, ["baseline is a folder, expected a file: {tmp}"]),
    # the baseline against this run
    Case("other-suite", accepted(lambda d: d.update(suite="demo")), GATE, 2, ["suite: the baseline is of suite 'demo', this run of suite 'fake'"]),
    Case("samples-differ", accepted(after=lambda run: write_counts(run, "round3", GOOD[:-1])), GATE, 2, ["round3: the run's samples differ from the baseline's: 1 only in the baseline, e.g. 's19'; 0 only in the run", "a subset can hide a regression", "--update-baseline"]),
    Case("no-shared-samples", accepted(after=lambda run: write_counts(run, "round3", GOOD, [f"x{i}" for i in range(N)])), GATE, 2, ["round3: the run and the baseline share no sample ids (baseline: 20, e.g. 's0'"]),
    Case("system-lost-is-a-regression", accepted(after=edit_scores(lambda s: s["systems"].pop("round3"))), GATE, 1, ["round3: in the baseline but missing from the run"]),
    Case("new-system-skipped", accepted(lambda d: d["systems"].pop("base")), GATE, 0, ["base: gated but not in the baseline yet"]),
    Case("gated-system-nowhere", accepted(after=edit_scores(lambda s: s["gate"].update(systems=["ghost"]))), GATE, 2, ["gate.systems names 'ghost', which neither the run nor the baseline has"]),
    # the run's own files
    Case("run-counts-null-row", accepted(after=run_counts(json.dumps({"sample_ids": [f"s{i}" for i in range(N)], "counts": [[None] * 20] * N}))), GATE, 2, [f"{{tmp}}/run/counts/round3.json: counts[0][0]: {ROW} null"]),
    Case("run-counts-nan", accepted(after=run_counts('{"sample_ids": ["s0"], "counts": [[NaN]]}')), GATE, 2, ["{tmp}/run/counts/round3.json: NaN is not valid JSON"]),
    Case("run-counts-a-list", accepted(after=run_counts("[]")), GATE, 2, ["{tmp}/run/counts/round3.json: top level: expected an object, got an array"]),
    Case("run-counts-unknown-key", accepted(after=run_counts('{"sample_ids": [], "counts": [], "x": 1}')), GATE, 2, ["round3.json: x: unknown key; valid: sample_ids, counts"]),
    Case("run-counts-missing", accepted(after=lambda run: (run.root / "counts" / "round3.json").unlink()), GATE, 2, ["no per-sample counts for system 'round3'", "harness rescore"]),
    Case("run-counts-folder", accepted(after=lambda run: ((run.root / "counts" / "round3.json").unlink(), (run.root / "counts" / "round3.json").mkdir())), GATE, 2, ["counts file is a folder, expected a file"]),
    Case("run-scores-a-list", accepted(after=lambda run: run.scores.write_text("[]")), GATE, 2, ["{tmp}/run/scores.json: expected a JSON object, got an array"]),
    Case("run-scores-systems-a-list", accepted(after=edit_scores(lambda s: s.update(systems=[]))), GATE, 2, ["scores.json: systems: expected an object of score summaries, got an array"]),
    Case("run-scores-gate-a-list", accepted(after=edit_scores(lambda s: s.update(gate=[]))), GATE, 2, ["scores.json: gate: expected an object, got an array"]),
    Case("gate-metric-typo", accepted(after=edit_scores(lambda s: s["gate"].update(metrics=[{"metric": "official.f11"}]))), GATE, 2, ["scores.json: invalid gate settings", "gate.metrics[0]: the gate cannot test metric 'official.f11'; valid: official.f1, official.precision"]),
    Case("gate-resamples-zero", accepted(after=edit_scores(lambda s: s["gate"].update(resamples=0))), GATE, 2, ["gate.resamples: Input should be greater than or equal to 100"]),
    Case("gate-seed-negative", accepted(after=edit_scores(lambda s: s["gate"].update(seed=-1))), GATE, 2, ["gate.seed: Input should be greater than or equal to 0"]),
    Case("gate-alpha-string", accepted(after=edit_scores(lambda s: s["gate"].update(alpha="x"))), GATE, 2, ["gate.alpha: Input should be a valid number"]),
    Case("gate-unknown-test", accepted(after=edit_scores(lambda s: s["gate"].update(test="t"))), GATE, 2, ["gate.test: Input should be 'paired_bootstrap' or 'mcnemar'"]),
    Case("gate-tolerance-negative", accepted(after=edit_scores(lambda s: s["gate"].update(metrics=[{"metric": "official.f1", "tolerance": -1}]))), GATE, 2, ["gate.metrics[0].tolerance"]),
    Case("gate-baseline-a-number", accepted(after=edit_scores(lambda s: s["gate"].update(baseline=3))), ["gate", RUN], 2, ["gate.baseline: expected a path, got int"]),
    Case("no-baseline-anywhere", accepted(), ["gate", RUN], 2, ["no --baseline given and the run's suite names no gate.baseline"]),
    # what the gate writes
    Case("junit-folder", accepted(), [*GATE, "--junit", "{tmp}"], 2, ["Invalid value for '--junit'", "is a directory"]),
    Case("junit-under-a-file", a_file_as_parent, [*GATE, "--junit", "{tmp}/file/gate.xml"], 2, ["gate passed", "cannot write {tmp}/file/gate.xml: a parent of it is a file, not a folder"]),
    Case("update-under-a-file", a_file_as_parent, ["gate", RUN, "--baseline", "{tmp}/file/b.json", "--update-baseline"], 2, ["cannot write {tmp}/file/b.json: a parent of it is a file, not a folder"]),
    Case("update-to-a-folder", accepted(), ["gate", RUN, "--baseline", "{tmp}", "--update-baseline"], 2, ["is a directory"]),
    Case("update-from-infinite-score", accepted(after=lambda run: replace_in(run.scores, '"f1": 0.95', '"f1": 1e999')), ["gate", RUN, "--baseline", "{tmp}/new.json", "--update-baseline"], 2, ["scores.json:12: number 1e999 is out of range (not a finite number)"], wrote_nothing),
    # never over the run's own files, nor the JUnit report over the baseline
    Case("update-over-run-scores", accepted(), ["gate", RUN, "--baseline", "{tmp}/run/scores.json", "--update-baseline"], 2, ["--baseline {tmp}/run/scores.json is an input file"], scores_kept),
    Case("update-into-run-counts", accepted(), ["gate", RUN, "--baseline", "{tmp}/run/counts/base.json", "--update-baseline"], 2, ["is inside the input folder {tmp}/run/counts"], scores_kept),
    Case("junit-over-run-scores", accepted(), [*GATE, "--junit", "{tmp}/run/scores.json"], 2, ["--junit {tmp}/run/scores.json is an input file"], scores_kept),
    Case("junit-over-baseline", accepted(), [*GATE, "--junit", BASE], 2, ["--junit {tmp}/baseline.json is an input file"]),
    Case("baseline-metric-huge-int", accepted(lambda b: b["systems"]["round3"]["metrics"].update({"official.f1": 10**400})), GATE, 2, ["systems.round3.metrics.official.f1: expected a finite number or null"]),
    Case("update-from-corrupt-counts", accepted(after=run_counts('{"sample_ids": ["s0"], "counts": [[-1]]}')), ["gate", RUN, "--baseline", "{tmp}/new.json", "--update-baseline"], 2, ["round3.json: counts[0]: expected a row of 20 counts"], wrote_nothing),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_gate_bad_input(case: Case, tmp_path: Path) -> None:
    check(case, tmp_path)


def test_the_baseline_it_writes_it_reads(tmp_path: Path) -> None:
    """--update-baseline output passes read_baseline's checks (integers, not floats, for counts)."""
    from harness.gate import read_baseline

    run = make_run(tmp_path / "run")
    write_baseline(run, tmp_path / "b.json")
    doc = read_baseline(tmp_path / "b.json")
    assert all(type(v) is int for row in doc["systems"]["round3"]["counts"] for v in row)
