"""A hand-made run folder for the suite runner's tests (no model, no scorer run needed)."""

from __future__ import annotations

import random
from pathlib import Path

from harness.records import ATTR_CLS_HEADER
from harness.runs import RunDir, new_manifest, write_doc, write_rows
from harness.scoring.contract import SCORES_VERSION

LABELS = ["positive", "negative", "uncertain", "not_annotated", "none"]
XSS = "<script>alert(1)</script>"


def _summary(rng: random.Random, f1: float, n: int) -> dict:
    m = [[rng.randint(0, 9) for _ in LABELS] for _ in LABELS]
    return {
        "official": {"precision": f1, "recall": f1, "f1": f1, "tp": 10, "fp": 3, "fn": 3},
        "canonical": {"precision": f1 + 0.05, "recall": f1, "f1": f1 + 0.02, "tp": 11, "fp": 2, "fn": 2},
        "classification": {
            "accuracy": f1,
            "macro_f1": f1 - 0.1,
            "micro_f1": f1,
            "labels": LABELS,
            "confusion": m,
        },
        "failures": {"conflict": rng.randint(0, 3), "drift": rng.randint(0, 5), "missing": 2},
        "samples": n,
        "ci": {"official.f1": [f1 - 0.1, f1 + 0.1], "classification.accuracy": [f1 - 0.08, f1 + 0.08]},
    }


def _counts(ok: list[bool]) -> dict:
    """Per-sample count rows in the scorer's column layout: one gold entity per sample."""
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
    return {"sample_ids": [f"s{i}" for i in range(len(ok))], "counts": rows}


def make_fake_run(root: Path, n: int = 20, seed: int = 0) -> RunDir:
    """A run folder with three systems whose per-sample outcomes differ in known ways."""
    rng = random.Random(seed)
    run = RunDir(root)
    records = [
        {
            "sample_id": f"s{i}",
            "input": f"患者：我头痛{i}天了。\n医生：发烧吗？",
            "target": f"{ATTR_CLS_HEADER}\n头痛：阳性",
            "answer_choices": None,
            "task_type": "attr_cls",
            "task_dataset": "CHIP-MDCFNPC",
        }
        for i in range(n)
    ]
    write_rows(run.test_records, records)
    outcomes = {
        "base": [i % 4 == 0 for i in range(n)],
        "round1": [i % 2 == 0 for i in range(n)],
        "round3": [i != 0 for i in range(n)],  # fixes most of base, breaks s0
    }
    systems = {}
    for k, (name, ok) in enumerate(outcomes.items()):
        preds = []
        traces = []
        for i, good in enumerate(ok):
            text = f"{ATTR_CLS_HEADER}\n头痛：{'阳性' if good else '阴性'}"
            if name == "base" and i == 1:
                text = XSS
            preds.append({"sample_id": f"s{i}", "text": text, "system": name})
            traces.append(
                {
                    "sample_id": f"s{i}",
                    "task_dataset": "CHIP-MDCFNPC",
                    "alignment": [],
                    "official": {"tp": int(good), "fp": int(not good), "fn": int(not good)},
                    "gold": [["头痛", "阳性"]],
                    "predicted": [["头痛", "阳性" if good else "阴性"]],
                    "classification": {"items": 1, "correct": int(good)},
                    "canonical": {"tp": int(good), "fp": int(not good), "fn": int(not good)},
                    "tags": [{"tag": "drift", "source": "pred", "lines": ["x"]}]
                    if not good and i % 3 == 0
                    else [],
                }
            )
        write_doc(run.root / "counts" / f"{name}.json", _counts(ok))
        write_rows(run.predictions(name), preds)
        write_rows(run.traces(name), traces)
        systems[name] = _summary(rng, round(sum(ok) / n, 3), n)
        if name != "base":
            write_doc(
                run.losses(name),
                {
                    "train": [{"step": s, "loss": 3.0 / (s + k)} for s in range(1, 11)],
                    "eval": [{"step": s, "loss": 3.2 / (s + k)} for s in (5, 10)],
                },
            )
    write_doc(
        run.scores,
        {
            "version": SCORES_VERSION,
            "suite": "fake",
            "systems": systems,
            "report": {"base": "base", "reference": "base", "max_examples": 50},
            "order": list(systems),
            "gate": {"metrics": [{"metric": "official.f1", "tolerance": 0.0}], "test": "paired_bootstrap"},
            "contamination": {"round1": [{"kind": "task_mismatch", "message": "dev has imcs_sr records"}]},
        },
    )
    write_doc(run.manifest, new_manifest("fake", None, "0" * 64))
    return run
