"""`harness run` end to end on a scaled-down demo suite: data, tiny model, train, generate, score, report, gate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness.cli import cli

SMALL_SUITE = """
name: mini
data:
  sources:
    mixed: {kind: synthetic, n: 24, seed: 1, tasks: [attr_cls, imcs_sr, ner]}
    attr: {kind: synthetic, n: 24, seed: 2}
    dev: {kind: synthetic, n: 4, seed: 3}
    test: {kind: synthetic, n: 8, seed: 4}
  train: [attr]
  dev: [dev]
  test: [test]
base_model:
  tiny: {corpus: [mixed, attr], hidden: 64, heads: 2, kv_heads: 1, layers: 1, vocab_size: 1024}
training: {target_modules: all-linear, epochs: 1, max_steps: 3, batch_size: 4, grad_accum: 1, lr: 1.0e-3,
           max_length: 384, eval_steps: 3, save_steps: 3, dtype: fp32}
systems:
  - {name: base, kind: zero_shot}
  - {name: round1, kind: trained, training: {recipe: round1, train: [mixed]}}
  - {name: round3, kind: trained, training: {recipe: round3}}
generation: {backend: hf, max_new_tokens: 12, batch_size: 8, dtype: float32}
scoring: {bootstrap_resamples: 200}
report: {reference: base}
gate: {baseline: baseline.json, systems: [round3], resamples: 200}
"""


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def mini_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict]:
    root = tmp_path_factory.mktemp("mini")
    suite = root / "mini.yaml"
    suite.write_text(SMALL_SUITE, encoding="utf-8")
    res = invoke("run", str(suite), "--out", str(root / "reports"), "--json")
    assert res.exit_code == 0, res.output
    return root, suite, json.loads(res.stdout)


@pytest.mark.slow
def test_run_writes_a_complete_run_folder(mini_run: tuple[Path, Path, dict]) -> None:
    root, _, out = mini_run
    run = Path(out["run_dir"])
    assert run.parent == root / "reports" / "mini"
    assert out["baseline"] == str(root / "baseline.json")
    assert set(out["scores"]) == {"base", "round1", "round3"}
    assert out["scores"]["round3"]["official.f1"]["value"] is not None
    for name in ("manifest.json", "scores.json", "index.html", "suite.yaml", "data/test.jsonl"):
        assert (run / name).is_file(), name
    for system in ("base", "round1", "round3"):
        rows = [json.loads(x) for x in (run / "predictions" / f"{system}.jsonl").read_text().splitlines()]
        assert len(rows) == 8 and {"sample_id", "text", "system", "prompt_sha256"} <= set(rows[0])
        assert (run / "traces" / f"{system}.jsonl").is_file()
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["versions"]["transformers"] and manifest["suite_sha256"]
    assert set(manifest["adapters"]) == {"round1", "round3"}
    assert manifest["models"]["base"]["sha256"]
    scores = json.loads((run / "scores.json").read_text())
    assert set(scores["systems"]["base"]) >= {
        "official",
        "canonical",
        "classification",
        "failures",
        "samples",
        "ci",
    }
    assert (run / "losses" / "round3.json").is_file()
    html = (run / "index.html").read_text()
    assert "round3: loss" in html and "Provenance" in html


@pytest.mark.slow
def test_second_run_skips_every_step(mini_run: tuple[Path, Path, dict]) -> None:
    root, suite, first = mini_run
    res = invoke("run", str(suite), "--out", str(root / "reports"), "--json")
    assert res.exit_code == 0, res.output
    again = json.loads(res.stdout)
    assert again["run_dir"] == first["run_dir"]
    assert again["generated"] == 0  # every generation came from the cache
    assert again["scores"] == first["scores"]
    assert "reused" in res.stderr  # both adapters came from their content address


@pytest.mark.slow
def test_rescore_report_gate_and_compare_on_the_run(mini_run: tuple[Path, Path, dict]) -> None:
    root, _, out = mini_run
    run = out["run_dir"]
    res = invoke("rescore", run, "--json")
    assert res.exit_code == 0, res.output
    rescored = json.loads(res.stdout)
    assert rescored["generated"] == 0 and rescored["scores"] == out["scores"]
    assert invoke("report", run, "--json").exit_code == 0
    baseline = root / "baseline.json"
    assert invoke("gate", run, "--update-baseline").exit_code == 0
    assert set(json.loads(baseline.read_text())["systems"]) == {"round3"}
    assert invoke("gate", run).exit_code == 0
    res = invoke("compare", f"{run}:base", f"{run}:round3", "--json", "--resamples", "200")
    assert res.exit_code == 0
    assert json.loads(res.stdout)["shared_samples"] == 8


@pytest.mark.slow
def test_adapter_and_predictions_systems_reuse_a_finished_run(mini_run: tuple[Path, Path, dict]) -> None:
    root, _, out = mini_run
    run = Path(out["run_dir"])
    manifest = json.loads((run / "manifest.json").read_text())
    adapter = manifest["adapters"]["round3"]["dir"]
    systems = (
        "systems:\n"
        f"  - {{name: again, kind: adapter, path: {adapter}}}\n"
        f"  - {{name: elsewhere, kind: predictions, path: {run / 'predictions' / 'round1.jsonl'}}}\n"
        "  - {name: rules, kind: rules}\n"
    )
    text = (
        SMALL_SUITE.split("systems:")[0]
        + systems
        + SMALL_SUITE.split("generation:")[1].join(["generation:", ""])
    )
    text = text.replace("gate: {baseline: baseline.json, systems: [round3], resamples: 200}", "")
    text = text.replace("report: {reference: base}", "")
    suite = root / "reuse.yaml"
    suite.write_text(text.replace("name: mini", "name: reuse"), encoding="utf-8")
    res = invoke("run", str(suite), "--out", str(root / "reports"), "--json")
    assert res.exit_code == 0, res.output
    again = json.loads(res.stdout)
    assert again["generated"] == 0  # the adapter's generations are in the shared cache
    assert again["scores"]["again"] == out["scores"]["round3"]
    assert again["scores"]["elsewhere"] == out["scores"]["round1"]
    assert again["scores"]["rules"]["official.f1"]["value"] > 0.5
