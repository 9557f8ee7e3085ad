"""`harness rescore`: stored predictions scored again with new synonym files, no model loaded."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from harness.cli import cli
from harness.records import ATTR_CLS_CHOICES, ATTR_CLS_HEADER, LONG_LABELS
from harness.runs import RunDir, new_manifest, record_inputs, write_doc, write_rows

POS = LONG_LABELS["阳性"]


def make_run(root: Path) -> RunDir:
    """One system that writes a made-up colloquial variant (蛤蟆嗽) of a made-up finding (青蛙咳)."""
    run = RunDir(root)
    records, preds = [], []
    for i in range(6):
        records.append(
            {
                "sample_id": f"r{i}",
                "input": f"患者：我青蛙咳{i}天了\n临床发现实体：青蛙咳\n答：",
                "target": f"{ATTR_CLS_HEADER}\n青蛙咳：{POS}",
                "answer_choices": ATTR_CLS_CHOICES,
                "task_type": "attr_cls",
                "task_dataset": "CHIP-MDCFNPC",
            }
        )
        entity = "蛤蟆嗽" if i % 2 else "青蛙咳"
        preds.append({"sample_id": f"r{i}", "text": f"{ATTR_CLS_HEADER}\n{entity}：{POS}", "system": "sys"})
    write_rows(run.test_records, records)
    write_rows(run.predictions("sys"), preds)
    # What `harness run` leaves: the suite's copy (its scoring block), the inputs' fingerprints
    # and scores.json's header in the manifest.
    run.suite_copy.write_text("scoring: {bootstrap_resamples: 100}\n", encoding="utf-8")
    manifest = new_manifest("x", None, "0" * 64)
    manifest["inputs"] = record_inputs(run, ["sys"])
    manifest["scores_header"] = {"suite": "x", "order": ["sys"]}
    write_doc(run.manifest, manifest)
    return run


def rescore(run: RunDir, *extra: str) -> dict:
    res = CliRunner().invoke(cli, ["rescore", str(run.root), "--json", *extra])
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


def test_rescore_picks_up_a_new_synonym_file(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run")
    before = rescore(run)
    assert before["generated"] == 0
    assert before["scores"]["sys"]["canonical.f1"]["value"] == 0.5
    syn = tmp_path / "syn"
    syn.mkdir()
    (syn / "made_up.yaml").write_text("青蛙咳:\n  - 蛤蟆嗽\n", encoding="utf-8")
    after = rescore(run, "--synonyms", str(syn))
    assert after["scores"]["sys"]["canonical.f1"]["value"] == 1.0
    # The official number is the strict rule: synonyms never change it.
    assert after["scores"]["sys"]["official.f1"] == before["scores"]["sys"]["official.f1"]
    scores = json.loads(run.scores.read_text())
    assert scores["systems"]["sys"]["canonical"]["f1"] == 1.0
    assert (run.root / "counts" / "sys.json").is_file() and run.html.is_file()
    traces = [json.loads(x) for x in run.traces("sys").read_text().splitlines()]
    assert [t["sample_id"] for t in traces] == [f"r{i}" for i in range(6)]


def test_rescore_loads_no_model(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run")
    code = (
        "import sys; from harness.cli import cli\n"
        f"cli(['rescore', {str(run.root)!r}, '--json'], standalone_mode=False)\n"
        "print([m for m in ('torch', 'transformers', 'vllm', 'peft') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().endswith("[]")


def test_rescore_without_stored_predictions_is_a_usage_error(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run")
    run.predictions("sys").unlink()
    res = CliRunner().invoke(cli, ["rescore", str(run.root)])
    assert res.exit_code == 2 and "predictions/sys.jsonl: missing (the run wrote 6 rows" in res.output


def test_rescore_rebuilds_a_deleted_scores_file_from_the_manifest(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run")
    first = rescore(run)
    run.scores.unlink()
    res = CliRunner().invoke(cli, ["rescore", str(run.root), "--json"])
    assert res.exit_code == 0, res.output
    assert "scores.json is missing: rebuilding it from manifest.json" in res.stderr
    assert json.loads(res.stdout)["scores"] == first["scores"]
    assert list(json.loads(run.scores.read_text())["systems"]) == ["sys"]


def test_rescore_ignores_a_scores_file_that_drops_a_system(tmp_path: Path) -> None:
    """The systems scored come from the manifest, never from the scores.json being replaced."""
    run = make_run(tmp_path / "run")
    run.scores.write_text(json.dumps({"suite": "x", "order": [], "systems": {}}), encoding="utf-8")
    assert list(rescore(run)["scores"]) == ["sys"]
