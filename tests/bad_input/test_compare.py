"""`harness compare` on bad references, runs without usable counts and bad options: exit 2 with
what is wrong and where, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bad_input.cases import Case, Setup, check
from bad_input.test_gate import GOOD, N, make_run, write_counts

A, B = "{tmp}/run:base", "{tmp}/run:round3"


def a_run(tmp: Path) -> None:
    make_run(tmp / "run")


def then(*steps: Setup) -> Setup:
    def setup(tmp: Path) -> None:
        a_run(tmp)
        for step in steps:
            step(tmp)

    return setup


def other_run(ids: list[str]) -> Setup:
    """A second run, {tmp}/other, whose one system `new` was scored on `ids`."""

    def setup(tmp: Path) -> None:
        run = make_run(tmp / "other", {"new": GOOD[: len(ids)]})
        write_counts(run, "new", GOOD[: len(ids)], ids)

    return setup


def counts_text(text: str) -> Setup:
    def setup(tmp: Path) -> None:
        (tmp / "run" / "counts" / "round3.json").write_text(text)

    return setup


def shared_only(tmp: Path, out: str) -> None:
    result = json.loads(out[out.index("{") :])
    assert result["shared_samples"] == 10 and result["b"]["samples"] == 10


CASES: list[Case] = [
    Case("two-systems-of-one-run", a_run, ["compare", A, B, "--resamples", "200"], 0, ["round3 vs base: paired on 20 shared samples", "broken (1): s0"]),
    Case("partial-overlap-pairs-the-shared", then(other_run([f"s{i}" for i in range(10)])), ["compare", A, "{tmp}/other", "--resamples", "200", "--json"], 0, [], shared_only),
    # references
    Case("run-folder-missing", a_run, ["compare", "{tmp}/nope:base", B], 2, ["'{tmp}/nope:base': run folder not found: {tmp}/nope; expected RUN_DIR:SYSTEM"]),
    Case("bare-ref-missing", a_run, ["compare", "{tmp}/nope", B], 2, ["run folder not found: {tmp}/nope"]),
    Case("ref-is-a-file", a_run, ["compare", "{tmp}/run/scores.json", B], 2, ["{tmp}/run/scores.json is a file, not a run folder"]),
    Case("folder-not-a-run", then(lambda tmp: (tmp / "empty").mkdir()), ["compare", "{tmp}/empty:base", B], 2, ["is not a run folder"]),
    Case("unknown-system", a_run, ["compare", "{tmp}/run:nope", B], 2, ["{tmp}/run has no system 'nope'; systems: base, round3"]),
    Case("no-system-after-colon", a_run, ["compare", "{tmp}/run:", B], 2, ["{tmp}/run has no system named after the ':'; systems: base, round3"]),
    Case("bare-ref-with-two-systems", a_run, ["compare", "{tmp}/run", B], 2, ["{tmp}/run has 2 systems (base, round3); name one as {tmp}/run:SYSTEM"]),
    Case("empty-ref", a_run, ["compare", "", B], 2, ["an empty system reference"]),
    # the runs' files
    Case("run-without-counts", then(lambda tmp: (tmp / "run" / "counts" / "round3.json").unlink()), ["compare", A, B], 2, ["no per-sample counts for system 'round3' (run `harness rescore`)"]),
    Case("counts-null-row", then(counts_text(json.dumps({"sample_ids": [f"s{i}" for i in range(N)], "counts": [[None] * 20] * N}))), ["compare", A, B], 2, ["{tmp}/run/counts/round3.json: counts[0][0]: expected a finite non-negative integer, got null"]),
    Case("counts-negative", then(counts_text(json.dumps({"sample_ids": ["s0"], "counts": [[-1] * 20]}))), ["compare", A, B], 2, ["round3.json: counts[0][0]: expected a finite non-negative integer, got -1"]),
    Case("counts-invalid-json", then(counts_text("{")), ["compare", A, B], 2, ["{tmp}/run/counts/round3.json:1: invalid JSON"]),
    Case("counts-ids-rows-mismatch", then(counts_text(json.dumps({"sample_ids": ["s0", "s1"], "counts": [[0] * 20]}))), ["compare", A, B], 2, ["round3.json: counts: 1 rows for 2 sample_ids"]),
    Case("scores-systems-a-list", then(lambda tmp: (tmp / "run" / "scores.json").write_text('{"version": 2, "systems": []}')), ["compare", A, B], 2, ["{tmp}/run/scores.json: systems: expected an object of score summaries, got an array"]),
    Case("no-shared-samples", then(other_run(["x0", "x1"])), ["compare", A, "{tmp}/other:new"], 2, ["share no sample ids ({tmp}/run:base: 20, e.g. 's0'; {tmp}/other:new: 2, e.g. 'x0')", "different test sets"]),
    # options
    Case("resamples-zero", a_run, ["compare", A, B, "--resamples", "0"], 2, ["Invalid value for '--resamples': 0 is not in the range 100<=x<=100000"]),
    Case("resamples-negative", a_run, ["compare", A, B, "--resamples", "-5"], 2, ["Invalid value for '--resamples'"]),
    Case("resamples-huge", a_run, ["compare", A, B, "--resamples", "1000000000"], 2, ["Invalid value for '--resamples'"]),
    Case("resamples-not-a-number", a_run, ["compare", A, B, "--resamples", "many"], 2, ["'many' is not a valid integer"]),
    Case("seed-negative", a_run, ["compare", A, B, "--seed", "-1"], 2, ["Invalid value for '--seed': -1 is not in the range x>=0"]),
    Case("max-list-negative", a_run, ["compare", A, B, "--max-list", "-1"], 2, ["Invalid value for '--max-list'"]),
    Case("metric-typo", a_run, ["compare", A, B, "--metric", "official.f11"], 2, ["Invalid value for '--metric': 'official.f11' is not one of 'official.f1'"]),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_compare_bad_input(case: Case, tmp_path: Path) -> None:
    check(case, tmp_path)
