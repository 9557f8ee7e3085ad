"""`harness rescore` on damaged run folders: refused with what changed (exit 2), or rebuilt honestly.

One real run (keyword rules and stored predictions on five synthetic records, no model) is
made per module; each case damages its own copy.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from harness.datasets.synthetic import synth_rows
from tests.bad_input.cases import Case, Setup, check, run_cli

SUITE = """\
name: t
data:
  sources:
    te: {kind: synthetic, n: 5, seed: 2}
  test: [te]
base_model: {tiny: {corpus: [te]}}
systems:
  - {name: rules, kind: rules}
  - {name: stored, kind: predictions, path: stored.jsonl}
scoring: {bootstrap_resamples: 100}
"""

_TEMPLATE: dict[str, Path] = {}


@pytest.fixture(scope="module", autouse=True)
def template_run(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The pristine run every case copies (made once per test module)."""
    root = tmp_path_factory.mktemp("template")
    (root / "suite.yaml").write_text(SUITE, encoding="utf-8")
    rows = [{"sample_id": r["sample_id"], "text": r["target"]} for r in synth_rows(5, 2, ("attr_cls",))]
    (root / "stored.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    code, out = run_cli(["run", str(root / "suite.yaml"), "--out", str(root / "out")], root)
    assert code == 0, out
    (run,) = (root / "out" / "t").iterdir()
    _TEMPLATE["run"] = run
    _TEMPLATE["suite"] = root / "suite.yaml"


def damaged(*changes: Callable[[Path], None]) -> Setup:
    """A setup copying the template run to {tmp}/run, then applying each change to that copy."""

    def setup(tmp: Path) -> None:
        shutil.copytree(_TEMPLATE["run"], tmp / "run")
        for change in changes:
            change(tmp / "run")

    return setup


def write(rel: str, text: str) -> Callable[[Path], None]:
    return lambda run: (run / rel).write_text(text, encoding="utf-8")


def remove(rel: str) -> Callable[[Path], None]:
    return lambda run: (run / rel).unlink()


def keep_lines(rel: str, n: int) -> Callable[[Path], None]:
    def change(run: Path) -> None:
        lines = (run / rel).read_text(encoding="utf-8").splitlines(keepends=True)
        (run / rel).write_text("".join(lines[:n]), encoding="utf-8")

    return change


def edit_manifest(fn: Callable[[dict], object]) -> Callable[[Path], None]:
    def change(run: Path) -> None:
        manifest = json.loads((run / "manifest.json").read_text(encoding="utf-8"))
        fn(manifest)
        (run / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")

    return change


def swap_prediction_text(run: Path) -> None:
    path = run / "predictions" / "stored.jsonl"
    rows = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]
    rows[0]["text"] = "疾病：阴性"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def bad_scoring_suite(run: Path) -> None:
    suite = run.parent / "now.yaml"
    suite.write_text(SUITE.replace("bootstrap_resamples: 100", "fuzzy_threshold: 300"), encoding="utf-8")
    edit_manifest(lambda m: m.update(suite_path=str(suite)))(run)


def scores_rebuilt(tmp: Path, out: str) -> None:
    scores = json.loads((tmp / "run" / "scores.json").read_text(encoding="utf-8"))
    assert list(scores["systems"]) == ["rules", "stored"] and scores["report"]["base"] == "rules"


RESCORE = ["rescore", "{tmp}/run"]
REFUSED = "no longer matches its manifest.json"

CASES: list[Case] = [
    # --- inputs that changed since the run --------------------------------------------------------
    Case(
        "emptied-predictions",
        damaged(write("predictions/rules.jsonl", "")),
        RESCORE,
        2,
        [REFUSED, "predictions/rules.jsonl: changed since the run: expected 5 rows", "found 0 rows"],
    ),
    Case(
        "cut-test-file",
        damaged(keep_lines("data/test.jsonl", 2)),
        RESCORE,
        2,
        [REFUSED, "data/test.jsonl: changed since the run: expected 5 rows", "found 2 rows"],
    ),
    Case(
        "edited-prediction-same-rows",
        damaged(swap_prediction_text),
        RESCORE,
        2,
        ["predictions/stored.jsonl: changed since the run: expected 5 rows", "found 5 rows"],
    ),
    Case(
        "deleted-predictions",
        damaged(remove("predictions/stored.jsonl")),
        RESCORE,
        2,
        ["predictions/stored.jsonl: missing (the run wrote 5 rows"],
    ),
    Case(
        "predictions-replaced-by-a-folder",
        damaged(remove("predictions/rules.jsonl"), lambda run: (run / "predictions" / "rules.jsonl").mkdir()),
        RESCORE,
        2,
        ["predictions/rules.jsonl: not a regular file any more"],
    ),
    Case(
        "every-change-is-listed",
        damaged(write("predictions/rules.jsonl", ""), keep_lines("data/test.jsonl", 1)),
        RESCORE,
        2,
        ["data/test.jsonl: changed", "predictions/rules.jsonl: changed"],
    ),
    # --- scores.json is derived: rebuilt from the manifest, never trusted -------------------------
    Case(
        "deleted-scores",
        damaged(remove("scores.json")),
        RESCORE,
        0,
        ["scores.json is missing: rebuilding it from manifest.json and the stored predictions"],
        check=scores_rebuilt,
    ),
    Case("corrupt-scores", damaged(write("scores.json", "{")), RESCORE, 0, check=scores_rebuilt),
    Case(
        "scores-dropping-a-system",
        damaged(write("scores.json", '{"order": ["rules"], "systems": {}}')),
        RESCORE,
        0,
        check=scores_rebuilt,
    ),
    # --- the folder and its manifest ----------------------------------------------------------------
    Case("run-dir-missing", lambda tmp: None, RESCORE, 2, ["run folder not found: {tmp}/run"]),
    Case(
        "run-dir-is-a-file",
        lambda tmp: (tmp / "run").write_text("x"),
        RESCORE,
        2,
        ["run folder is a file, expected a folder: {tmp}/run"],
    ),
    Case(
        "not-a-run-folder",
        lambda tmp: (tmp / "run").mkdir(),
        RESCORE,
        2,
        ["is not a run folder (no manifest.json, scores.json or predictions/)"],
    ),
    Case(
        "manifest-missing",
        damaged(remove("manifest.json")),
        RESCORE,
        2,
        ["no manifest.json, so its files cannot be checked"],
    ),
    Case(
        "manifest-corrupt",
        damaged(write("manifest.json", '{"inputs": ')),
        RESCORE,
        2,
        ["manifest.json:1: invalid JSON"],
    ),
    Case(
        "manifest-not-an-object",
        damaged(write("manifest.json", "[]")),
        RESCORE,
        2,
        ["manifest.json: expected a JSON object, got list"],
    ),
    Case(
        "manifest-without-inputs",
        damaged(edit_manifest(lambda m: m.pop("inputs"))),
        RESCORE,
        2,
        ["records no input hashes", "rerun the suite"],
    ),
    Case(
        "manifest-input-outside-the-run",
        damaged(
            edit_manifest(lambda m: m["inputs"].update({"../../etc/passwd": {"sha256": "0", "rows": 1}}))
        ),
        RESCORE,
        2,
        ["inputs.../../etc/passwd: not an entry harness writes"],
    ),
    Case(
        "manifest-without-scores-header",
        damaged(edit_manifest(lambda m: m.pop("scores_header"))),
        RESCORE,
        2,
        ["records no scores header"],
    ),
    # --- the scoring settings ---------------------------------------------------------------------
    Case(
        "suite-scoring-now-invalid",
        damaged(bad_scoring_suite),
        RESCORE,
        2,
        [
            "cannot read the run's scoring settings",
            "scoring.fuzzy_threshold: Input should be less than or equal to 100",
        ],
    ),
    Case(
        "suite-file-and-copy-gone",
        damaged(edit_manifest(lambda m: m.update(suite_path="/nonexistent/s.yaml")), remove("suite.yaml")),
        RESCORE,
        2,
        ["neither the suite file (/nonexistent/s.yaml) nor the run's suite.yaml is there"],
    ),
    Case(
        "synonyms-folder-missing",
        damaged(),
        [*RESCORE, "--synonyms", "{tmp}/nope"],
        2,
        ["'{tmp}/nope' does not exist"],
    ),
    # --- --as NAME: a new run beside the old one, never over anything -------------------------------
    Case(
        "as-the-run-itself",
        damaged(),
        [*RESCORE, "--as", "run"],
        2,
        ["--as run: {tmp}/run already exists; choose another name or remove that folder"],
    ),
    Case(
        "as-a-path",
        damaged(),
        [*RESCORE, "--as", "../x"],
        2,
        ["--as '../x': expected a run name of 1-64 letters"],
        check=lambda tmp, out: not (tmp.parent / "x").exists() or pytest.fail("written outside"),
    ),
    Case(
        "as-from-a-changed-run",
        damaged(write("predictions/rules.jsonl", "")),
        [*RESCORE, "--as", "new"],
        2,
        [REFUSED],
        check=lambda tmp, out: sorted(p.name for p in tmp.iterdir()) == ["run"] or pytest.fail(out),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_rescore_bad_input(case: Case, tmp_path: Path) -> None:
    check(case, tmp_path)
