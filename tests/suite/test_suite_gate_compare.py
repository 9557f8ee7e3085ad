"""The gate and compare verbs on a hand-made run folder (no model, no scorer run needed)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness.cli import cli
from harness.runs import RunDir
from harness.scoring.contract import SCORES_VERSION


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args))


def test_update_baseline_then_gate_passes(fake_run: RunDir, tmp_path: Path) -> None:
    baseline = tmp_path / "baseline.json"
    assert invoke("gate", str(fake_run.root), "--baseline", str(baseline), "--update-baseline").exit_code == 0
    doc = json.loads(baseline.read_text())
    assert set(doc["systems"]) == {"base", "round1", "round3"}
    assert len(doc["systems"]["round3"]["counts"]) == len(doc["systems"]["round3"]["sample_ids"]) == 20
    res = invoke("gate", str(fake_run.root), "--baseline", str(baseline), "--json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["passed"] is True


def _raise_baseline(path: Path, system: str) -> None:
    """Make the baseline's system perfect on every sample (counts and numbers)."""
    doc = json.loads(path.read_text())
    for row in doc["systems"][system]["counts"]:
        from harness.scoring import metrics as M

        row[M.OFF_TP], row[M.OFF_FP], row[M.OFF_FN] = 1, 0, 0
        row[M.CAN_TP], row[M.CAN_FP], row[M.CAN_FN] = 1, 0, 0
        row[M.CORRECT] = row[M.ITEMS]
    doc["systems"][system]["metrics"]["official.f1"] = 1.0
    path.write_text(json.dumps(doc))


def _set_test(run: RunDir, test: str) -> None:
    scores = json.loads(run.scores.read_text())
    scores["gate"]["test"] = test
    run.scores.write_text(json.dumps(scores))


@pytest.mark.parametrize("test", ["paired_bootstrap", "mcnemar"])
def test_raised_baseline_fails_the_gate(fake_run: RunDir, tmp_path: Path, test: str) -> None:
    _set_test(fake_run, test)
    baseline = tmp_path / "baseline.json"
    invoke("gate", str(fake_run.root), "--baseline", str(baseline), "--update-baseline")
    _raise_baseline(baseline, "base")
    junit = tmp_path / "gate.xml"
    res = invoke("gate", str(fake_run.root), "--baseline", str(baseline), "--junit", str(junit), "--json")
    assert res.exit_code == 1, res.output
    out = json.loads(res.stdout)
    assert out["passed"] is False
    (msg,) = out["regressions"]
    assert msg.startswith("base official.f1: 0.2500 vs baseline 1.0000 (-0.7500") and f"{test} p=" in msg
    suite = ET.parse(junit).getroot()
    assert suite.get("failures") == "1" and suite.get("tests") == "3"


def test_small_drop_within_tolerance_or_not_significant_passes(fake_run: RunDir, tmp_path: Path) -> None:
    # round3 misses one sample of 20; a perfect baseline is only 0.05 better: not significant.
    baseline = tmp_path / "baseline.json"
    invoke("gate", str(fake_run.root), "--baseline", str(baseline), "--update-baseline")
    _raise_baseline(baseline, "round3")
    res = invoke("gate", str(fake_run.root), "--baseline", str(baseline), "--json")
    assert res.exit_code == 0, res.output
    check = next(c for c in json.loads(res.stdout)["checks"] if c["system"] == "round3")
    assert check["drop"] == pytest.approx(1.0 - 0.95 / 1.0, abs=0.03) and check["p_value"] >= 0.05


@pytest.mark.parametrize(
    "args",
    [
        ("--baseline", "missing.json"),
        (),  # no --baseline and the run names none
    ],
)
def test_gate_usage_errors_exit_2(fake_run: RunDir, tmp_path: Path, args: tuple[str, ...]) -> None:
    res = invoke("gate", str(fake_run.root), *[str(tmp_path / a) if a.endswith(".json") else a for a in args])
    assert res.exit_code == 2
    assert "error:" in res.output


def test_gate_rejects_a_non_run_folder(tmp_path: Path) -> None:
    res = invoke("gate", str(tmp_path), "--baseline", str(tmp_path / "b.json"))
    assert res.exit_code == 2 and "not a run folder" in res.output


def test_compare_lists_fixed_and_broken(fake_run: RunDir) -> None:
    r = str(fake_run.root)
    res = invoke("compare", f"{r}:base", f"{r}:round3", "--json", "--resamples", "500")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["broken"] == ["s0"]
    assert out["fixed"] == [f"s{i}" for i in range(1, 20) if i % 4 != 0]
    assert out["mcnemar"]["b01"] == 15 and out["mcnemar"]["b10"] == 1
    f1 = next(m for m in out["metrics"] if m["metric"] == "official.f1")
    assert f1["diff"] == pytest.approx(0.7) and f1["p_value"] < 0.05


@pytest.mark.parametrize(
    "a,b,needle",
    [
        ("{r}:nope", "{r}:base", "no system 'nope'"),
        ("{r}", "{r}:base", "name one as"),
        ("/no/such/run:base", "{r}:base", "expected RUN_DIR:SYSTEM"),
    ],
)
def test_compare_bad_refs(fake_run: RunDir, a: str, b: str, needle: str) -> None:
    r = str(fake_run.root)
    res = invoke("compare", a.format(r=r), b.format(r=r))
    assert res.exit_code == 2 and needle in res.output


def test_a_gated_system_missing_from_the_baseline_is_skipped_not_failed(
    fake_run: RunDir, tmp_path: Path
) -> None:
    scores = json.loads(fake_run.scores.read_text())
    scores["gate"]["systems"] = ["round3"]
    fake_run.scores.write_text(json.dumps(scores))
    baseline = tmp_path / "baseline.json"
    invoke("gate", str(fake_run.root), "--baseline", str(baseline), "--update-baseline")
    scores["gate"]["systems"] = ["round3", "round1"]
    fake_run.scores.write_text(json.dumps(scores))
    junit = tmp_path / "gate.xml"
    res = invoke("gate", str(fake_run.root), "--baseline", str(baseline), "--junit", str(junit), "--json")
    assert res.exit_code == 0, res.output
    skipped = [c for c in json.loads(res.stdout)["checks"] if c["system"] == "round1"]
    assert len(skipped) == 1 and "not in the baseline" in skipped[0]["message"]
    assert ET.parse(junit).getroot().find("testcase/skipped") is not None


def test_the_committed_demo_baseline_gates(tmp_path: Path) -> None:
    """baselines/demo.json (written by --update-baseline) passes against its own counts, fails raised."""
    from harness.runs import write_doc

    committed = Path(__file__).resolve().parents[2] / "baselines" / "demo.json"
    doc = json.loads(committed.read_text())
    assert doc["suite"] == "demo" and {"rules", "round3"} <= set(doc["systems"])
    run = RunDir(tmp_path / "run")
    summaries = {}
    for name, entry in doc["systems"].items():
        write_doc(
            run.root / "counts" / f"{name}.json",
            {"sample_ids": entry["sample_ids"], "counts": entry["counts"]},
        )
        summaries[name] = {"official": {"f1": entry["metrics"]["official.f1"]}}
    write_doc(
        run.scores,
        {"version": SCORES_VERSION, "suite": "demo", "systems": summaries, "gate": doc["settings"]},
    )
    assert invoke("gate", str(run.root), "--baseline", str(committed)).exit_code == 0
    raised = tmp_path / "raised.json"
    raised.write_text(committed.read_text())
    _raise_baseline(raised, "rules")
    res = invoke("gate", str(run.root), "--baseline", str(raised))
    assert res.exit_code == 1 and "rules official.f1" in res.output and "REGRESSION" in res.output


SUITE = """
name: t
data:
  sources: {te: {kind: synthetic, n: 10, seed: 2}}
  test: [te]
base_model: {tiny: {corpus: [te]}}
systems: [{name: b, kind: zero_shot}, {name: r, kind: rules}]
gate: {GATE}
"""


@pytest.mark.parametrize(
    ("gate", "says"),
    [
        (
            "{metrics: [{metric: official.f11}]}",
            "gate.metrics[0]: the gate cannot test metric 'official.f11'; valid: official.f1, official.precision",
        ),
        ("{metrics: [{metric: official.tp}]}", "the gate cannot test metric 'official.tp'"),
        ("{metrics: []}", "gate.metrics: List should have at least 1 item"),
        (
            "{metrics: [{metric: official.f1}, {metric: official.f1}]}",
            "metrics lists official.f1 more than once",
        ),
        ("{metrics: [{metric: official.f1, tolerance: .nan}]}", "gate.metrics[0].tolerance"),
        ("{systems: [r, r]}", "systems lists r more than once"),
        ("{resamples: 0}", "gate.resamples: Input should be greater than or equal to 100"),
        ("{resamples: 10000000}", "gate.resamples: Input should be less than or equal to 100000"),
        ("{seed: -1}", "gate.seed: Input should be greater than or equal to 0"),
    ],
)
def test_a_gate_the_suite_cannot_run_is_caught_when_it_loads(tmp_path: Path, gate: str, says: str) -> None:
    from harness.suite import SuiteError, load_suite

    path = tmp_path / "suite.yaml"
    path.write_text(SUITE.replace("{GATE}", gate), encoding="utf-8")
    with pytest.raises(SuiteError) as err:
        load_suite(path)
    assert says in str(err.value)


def test_every_testable_metric_loads(tmp_path: Path) -> None:
    from harness.scoring.catalogue import STAT_METRICS
    from harness.suite import load_suite

    path = tmp_path / "suite.yaml"
    metrics = ", ".join(f"{{metric: {m}}}" for m in STAT_METRICS)
    path.write_text(SUITE.replace("{GATE}", f"{{metrics: [{metrics}]}}"), encoding="utf-8")
    assert [m.metric for m in load_suite(path).gate.metrics] == list(STAT_METRICS)
