"""The regression gate: compare a run with an accepted baseline, with significance.

A baseline stores, per gated system, the per-sample count rows the scorer produced
(harness.scoring.metrics columns), so the paired tests of harness.scoring.stats can run
against it, not only against its headline numbers. A metric regresses when it falls below
the baseline by more than its tolerance AND the paired test calls the drop significant.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

from harness.errors import HarnessError
from harness.jsonl import atomic_write_text
from harness.reporting.data import STAT_METRICS, metric_value
from harness.runs import RunDir, read_json, write_doc

BASELINE_VERSION = 1


@dataclass
class Counts:
    """Per-sample count rows of one system (what stats.paired_bootstrap takes)."""

    sample_ids: list[str]
    counts: Any  # numpy array (samples, columns)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Counts:
        import numpy as np

        return cls(
            sample_ids=[str(s) for s in d["sample_ids"]], counts=np.asarray(d["counts"], dtype=np.float64)
        )

    def correct(self) -> Any:
        """Per-sample correctness: every gold entity labelled right and nothing extra predicted."""
        from harness.scoring.metrics import CAN_FP, CORRECT, ITEMS

        c = self.counts
        return (c[:, CORRECT] == c[:, ITEMS]) & (c[:, CAN_FP] == 0)


def counts_path(run: RunDir, system: str) -> Path:
    return run.root / "counts" / f"{system}.json"


def load_counts(run: RunDir, system: str) -> Counts:
    p = counts_path(run, system)
    if not p.is_file():
        raise HarnessError(f"{run.root}: no per-sample counts for system {system!r} (run `harness rescore`)")
    return Counts.from_json(read_json(p))


def fmt_p(p: float, resamples: int | None) -> str:
    """A bootstrap p of 0 only means 'below 1/resamples'."""
    return f"<{1 / resamples:.2g}" if p == 0 and resamples else f"{p:.4g}"


def paired(a: Counts, b: Counts, metric: str, test: str, *, resamples: int, seed: int) -> dict[str, Any]:
    """Compare b against a on shared samples: the metric's values, the difference and a p-value."""
    from harness.scoring.stats import mcnemar, paired_bootstrap

    if metric not in STAT_METRICS:
        raise HarnessError(f"metric {metric!r} cannot be tested; valid: {', '.join(STAT_METRICS)}")
    res = paired_bootstrap(a, b, STAT_METRICS[metric], resamples=resamples, seed=seed)
    out = {
        "metric": metric,
        "a": res["a"],
        "b": res["b"],
        "diff": res["diff"],
        "ci": res["ci"],
        "resamples": resamples,
    }
    out["samples"] = res["samples"]
    if test == "mcnemar":
        pos = {s: i for i, s in enumerate(b.sample_ids)}
        shared = [(i, pos[s]) for i, s in enumerate(a.sample_ids) if s in pos]
        ca, cb = a.correct(), b.correct()
        m = mcnemar([bool(ca[i]) for i, _ in shared], [bool(cb[j]) for _, j in shared])
        out.update(test="mcnemar", p_value=m["p_value"], b01=m["b01"], b10=m["b10"])
    else:
        out.update(test="paired_bootstrap", p_value=res["p_value"])
    return out


@dataclass
class Check:
    system: str
    metric: str
    baseline: float | None
    current: float | None
    drop: float | None
    tolerance: float
    p_value: float | None
    test: str
    regression: bool
    message: str

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class GateResult:
    baseline: str
    checks: list[Check] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not any(c.regression for c in self.checks)

    def to_json(self) -> dict[str, Any]:
        return {
            "baseline": self.baseline,
            "passed": self.passed,
            "regressions": [c.message for c in self.checks if c.regression],
            "checks": [c.to_json() for c in self.checks],
        }


def gate_settings(run: RunDir) -> dict[str, Any]:
    """The run's gate block (from its scores.json), with defaults."""
    cfg = read_json(run.scores).get("gate") or {}
    return {
        "systems": cfg.get("systems"),
        "metrics": cfg.get("metrics") or [{"metric": "official.f1", "tolerance": 0.0}],
        "test": cfg.get("test", "paired_bootstrap"),
        "alpha": float(cfg.get("alpha", 0.05)),
        "resamples": int(cfg.get("resamples", 2000)),
        "seed": int(cfg.get("seed", 0)),
    }


def gated_systems(run: RunDir, settings: dict[str, Any]) -> list[str]:
    systems = run.systems()
    return [s for s in settings["systems"] or systems]


def write_baseline(run: RunDir, path: str | Path) -> dict[str, Any]:
    """Accept the run's scores as the baseline (its numbers and per-sample counts)."""
    settings = gate_settings(run)
    scores = read_json(run.scores)
    systems: dict[str, Any] = {}
    for s in gated_systems(run, settings):
        if s not in scores["systems"]:
            raise HarnessError(f"gate.systems names {s!r}, which the run does not have")
        counts = read_json(counts_path(run, s)) if counts_path(run, s).is_file() else None
        if counts is None:
            raise HarnessError(f"{run.root}: no per-sample counts for {s!r}; rescore the run first")
        summary = scores["systems"][s]
        systems[s] = {
            "metrics": {m: metric_value(summary, m) for m in STAT_METRICS},
            "sample_ids": counts["sample_ids"],
            "counts": counts["counts"],
        }
    doc = {
        "version": BASELINE_VERSION,
        "suite": scores.get("suite"),
        "run": run.root.name,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "settings": settings,
        "systems": systems,
    }
    write_doc(path, doc)
    return doc


def read_baseline(path: str | Path) -> dict[str, Any]:
    p = Path(path)
    if not p.is_file():
        raise HarnessError(
            f"baseline not found: {p} (create it with `harness gate RUN --baseline {p} --update-baseline`)"
        )
    doc = read_json(p)
    if not isinstance(doc, dict) or not isinstance(doc.get("systems"), dict):
        raise HarnessError(f"{p}: not a harness baseline (no `systems` object)")
    if doc.get("version") != BASELINE_VERSION:
        raise HarnessError(
            f"{p}: baseline version {doc.get('version')!r}; this harness reads {BASELINE_VERSION}"
        )
    return doc


def run_gate(run: RunDir, baseline_path: str | Path) -> GateResult:
    """Check every gated (system, metric) of the run against the baseline."""
    settings = gate_settings(run)
    baseline = read_baseline(baseline_path)
    result = GateResult(baseline=str(baseline_path))
    present = set(run.systems())
    for system in settings["systems"] or []:
        if system not in baseline["systems"]:
            msg = f"{system}: gated but not in the baseline yet (accept it with --update-baseline); skipped"
            result.checks.append(
                Check(system, "*", None, None, None, 0.0, None, settings["test"], False, msg)
            )
    for system in baseline["systems"]:
        if settings["systems"] and system not in settings["systems"]:
            continue
        if system not in present:
            result.checks.append(
                Check(
                    system,
                    "*",
                    None,
                    None,
                    None,
                    0.0,
                    None,
                    settings["test"],
                    True,
                    f"{system}: in the baseline but missing from the run",
                )
            )
            continue
        base = Counts.from_json(baseline["systems"][system])
        current = load_counts(run, system)
        for m in settings["metrics"]:
            metric, tol = m["metric"], float(m.get("tolerance", 0.0))
            r = paired(
                base,
                current,
                metric,
                settings["test"],
                resamples=settings["resamples"],
                seed=settings["seed"],
            )
            drop = r["a"] - r["b"]
            regression = drop > tol and r["p_value"] < settings["alpha"]
            verdict = "REGRESSION" if regression else "ok"
            msg = (
                f"{system} {metric}: {r['b']:.4f} vs baseline {r['a']:.4f} "
                f"({r['b'] - r['a']:+.4f}; tolerance {tol:.4f}; {r['test']} p={fmt_p(r['p_value'], r['resamples'] if r['test'] == 'paired_bootstrap' else None)}, "
                f"alpha {settings['alpha']}) {verdict}"
            )
            result.checks.append(
                Check(system, metric, r["a"], r["b"], drop, tol, r["p_value"], r["test"], regression, msg)
            )
    return result


def junit_xml(result: GateResult, suite_name: str = "harness.gate") -> str:
    """The gate as a JUnit report: one test case per (system, metric), a failure per regression."""
    cases = []
    for c in result.checks:
        name = quoteattr(f"{c.system}.{c.metric}")
        if c.regression:
            body = f"<failure message={quoteattr(c.message)}/>"
        elif c.metric == "*":  # gated but not in the baseline yet
            body = f"<skipped message={quoteattr(c.message)}/>"
        else:
            body = ""
        cases.append(f"  <testcase classname={quoteattr(suite_name)} name={name}>{body}</testcase>")
    failures = sum(c.regression for c in result.checks)
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<testsuite name={quoteattr(suite_name)} tests="{len(result.checks)}" failures="{failures}">\n'
        + "\n".join(cases)
        + "\n</testsuite>\n"
    )


def write_junit(result: GateResult, path: str | Path) -> Path:
    return atomic_write_text(path, junit_xml(result))
