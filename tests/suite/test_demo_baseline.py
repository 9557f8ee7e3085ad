"""The committed demo baseline is what a clean run of the code on main gives, to the last digit.

A rerun that hits caches proves nothing (content addresses name the inputs, not the outcome),
so this runs `harness run suites/demo.yaml` from nothing: a fresh --out, a fresh cache folder,
a fresh process with its own PYTHONHASHSEED. It fails when a change moves the demo's numbers
without a new baseline (`harness gate RUN --update-baseline` from such a clean run).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HARNESS = [sys.executable, "-c", "from harness.cli import main; main()"]


@pytest.mark.slow
def test_a_clean_demo_run_reproduces_the_committed_baseline(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PYTHONHASHSEED": "4242",
        "HARNESS_CACHE_DIR": str(tmp_path / "cache"),
        "HF_HUB_OFFLINE": "1",
    }
    proc = subprocess.run(
        [*HARNESS, "run", "suites/demo.yaml", "--out", str(tmp_path / "reports"), "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=3600,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    out = json.loads(proc.stdout)
    assert out["generated"] > 0  # nothing came from a cache
    run = Path(out["run_dir"])
    baseline = json.loads((ROOT / "baselines" / "demo.json").read_text(encoding="utf-8"))
    scores = json.loads((run / "scores.json").read_text(encoding="utf-8"))
    for system, accepted in baseline["systems"].items():
        counts = json.loads((run / "counts" / f"{system}.json").read_text(encoding="utf-8"))
        assert counts["sample_ids"] == accepted["sample_ids"], system
        assert counts["counts"] == accepted["counts"], f"{system}: per-sample counts moved"
        summary = scores["systems"][system]
        assert summary["official"]["f1"] == accepted["metrics"]["official.f1"], system
        assert summary["classification"]["accuracy"] == accepted["metrics"]["classification.accuracy"]
