"""The regression gate: compare a run with an accepted baseline, with significance.

A baseline stores, per gated system, the per-sample count rows the scorer produced
(harness.scoring.metrics columns), so the paired tests of harness.scoring.stats can run
against it, not only against its headline numbers. A metric regresses when it falls below
the baseline by more than its tolerance AND the paired test calls the drop significant.
"""

from __future__ import annotations

import itertools
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

from harness.errors import HarnessError
from harness.jsonl import atomic_write_text
from harness.runs import RunDir, write_doc
from harness.safeio import json_problem, read_json_file, read_text
from harness.scoring.catalogue import STAT_METRICS, metric_value
from harness.scoring.contract import check_version

BASELINE_VERSION = 1
# Bootstrap resamples the gate and `harness compare` accept: fewer cannot resolve p < 0.05,
# more costs memory (one row of column sums per resample) for no better answer.
MIN_RESAMPLES, MAX_RESAMPLES = 100, 100_000
# Count sums stay exact in float64 (the bootstrap's matmuls) up to here.
MAX_COUNT = 2**53

# The top-level keys of a baseline, of one system in it, and of a run's counts file.
BASELINE_KEYS = ("version", "suite", "run", "created", "settings", "systems")
SYSTEM_KEYS = ("metrics", "sample_ids", "counts")
COUNTS_KEYS = ("sample_ids", "counts", "tasks")


@dataclass
class Counts:
    """Per-sample count rows of one system (what stats.paired_bootstrap takes)."""

    sample_ids: list[str]
    counts: Any  # numpy array (samples, columns)
    tasks: list[str] | None = None  # each sample's task (a run's counts file; a baseline has none)

    @classmethod
    def from_json(cls, d: Any, where: str = "counts", path: str = "") -> Counts:
        """Validated rows: unique string ids, one row of N_COLUMNS finite non-negative integers each.

        Every problem is a HarnessError `WHERE: PATH: what`, so a NaN, a short row or a
        negative count can never reach the bootstrap (where NaN silently reads as 0).
        """
        from harness.scoring.metrics import N_COLUMNS

        at = f"{path}." if path else ""
        if not isinstance(d, dict):
            raise HarnessError(f"{where}: {path or 'top level'}: expected an object, got {_kind(d)}")
        ids, rows = d.get("sample_ids"), d.get("counts")
        for key, value in (("sample_ids", ids), ("counts", rows)):
            if not isinstance(value, list):
                got = "nothing (missing)" if key not in d else _kind(value)
                raise HarnessError(f"{where}: {at}{key}: expected an array, got {got}")
        if not ids:
            raise HarnessError(f"{where}: {at}sample_ids: empty; there is nothing to compare")
        seen: dict[str, int] = {}
        for i, sid in enumerate(ids):
            if not isinstance(sid, str) or not sid:
                raise HarnessError(
                    f"{where}: {at}sample_ids[{i}]: expected a non-empty string, got {_show(sid)}"
                )
            if sid in seen:
                raise HarnessError(f"{where}: {at}sample_ids[{i}]: {sid!r} repeats sample_ids[{seen[sid]}]")
            seen[sid] = i
        if len(rows) != len(ids):
            raise HarnessError(
                f"{where}: {at}counts: {len(rows)} rows for {len(ids)} sample_ids; expected one row per sample"
            )
        for i, row in enumerate(rows):
            if not isinstance(row, list) or len(row) != N_COLUMNS:
                got = f"{len(row)} values" if isinstance(row, list) else _kind(row)
                raise HarnessError(
                    f"{where}: {at}counts[{i}]: expected a row of {N_COLUMNS} counts "
                    f"(harness.scoring.metrics columns), got {got}"
                )
        matrix = _count_matrix(rows)
        if matrix is None:  # the slow check, value by value, names the first that is not a count
            for i, row in enumerate(rows):
                for j, v in enumerate(row):
                    if not _is_count(v):
                        raise HarnessError(
                            f"{where}: {at}counts[{i}][{j}]: expected a finite non-negative integer, got {_show(v)}"
                        )
            matrix = _count_matrix(rows, checked=True)
        tasks = d.get("tasks")
        if tasks is not None and not (
            isinstance(tasks, list)
            and len(tasks) == len(ids)
            and all(isinstance(t, str) and t for t in tasks)
        ):
            raise HarnessError(f"{where}: {at}tasks: expected one task name (a string) per sample_id")
        return cls(sample_ids=list(ids), counts=matrix, tasks=tasks)

    def task_names(self) -> list[str]:
        """The tasks of the samples, in first-seen order ([] when the file does not say)."""
        return list(dict.fromkeys(self.tasks or ()))

    def only(self, ids: set[str]) -> Counts:
        """The rows of these sample ids."""
        keep = [i for i, s in enumerate(self.sample_ids) if s in ids]
        return Counts([self.sample_ids[i] for i in keep], self.counts[keep], None)

    def of_task(self, task: str) -> set[str]:
        return {s for s, t in zip(self.sample_ids, self.tasks or (), strict=False) if t == task}

    def correct(self) -> Any:
        """Per-sample correctness: every gold entity labelled right and nothing extra predicted."""
        from harness.scoring.metrics import CAN_FP, CORRECT, ITEMS

        c = self.counts
        return (c[:, CORRECT] == c[:, ITEMS]) & (c[:, CAN_FP] == 0)


def _count_matrix(rows: list[list[Any]], checked: bool = False) -> Any:
    """The rows as a float64 matrix when every value is a count (the common case, checked at C
    speed); None when some value may not be. `checked`: every value already passed `_is_count`."""
    import numpy as np

    if checked:
        return np.asarray(rows, dtype=np.float64).reshape(len(rows), -1)
    types = set(map(type, itertools.chain.from_iterable(rows)))
    if not types <= {int, float}:
        return None
    try:
        m = np.asarray(rows, dtype=np.float64).reshape(len(rows), -1)
    except OverflowError:
        return None
    ok = np.isfinite(m).all() and (m >= 0).all() and (m <= MAX_COUNT).all() and (m == np.floor(m)).all()
    return m if ok else None


def _is_finite_number(v: Any) -> bool:
    """A JSON number that is a finite float: not a bool, not inf, not a 400-digit int (it overflows float)."""
    if isinstance(v, bool) or not isinstance(v, int | float):
        return False
    try:
        return math.isfinite(float(v))
    except OverflowError:
        return False


def _is_count(v: Any) -> bool:
    return _is_finite_number(v) and 0 <= v <= MAX_COUNT and float(v).is_integer()


def _kind(v: Any) -> str:
    """The JSON type of a value, as a reader of the file would call it."""
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "a boolean"
    if isinstance(v, int | float):
        return "a number"
    return {str: "a string", list: "an array", dict: "an object"}.get(type(v), type(v).__name__)


def _show(v: Any) -> str:
    """A value as it reads in JSON (NaN and Infinity as Python's json writes them), shortened."""
    if isinstance(v, float) and not math.isfinite(v):
        return "NaN" if math.isnan(v) else ("Infinity" if v > 0 else "-Infinity")
    if isinstance(v, list | dict):
        return _kind(v)
    text = json.dumps(v, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


def _unknown_keys(d: dict[str, Any], valid: tuple[str, ...], where: str, path: str) -> None:
    extra = [k for k in d if k not in valid]
    if extra:
        at = f"{path}." if path else ""
        raise HarnessError(f"{where}: {at}{extra[0]}: unknown key; valid: {', '.join(valid)}")


def counts_path(run: RunDir, system: str) -> Path:
    return run.root / "counts" / f"{system}.json"


def load_counts(run: RunDir, system: str) -> Counts:
    """A run's counts/<system>.json, read and checked as strictly as a baseline."""
    p = counts_path(run, system)
    if not p.exists():
        raise HarnessError(f"{run.root}: no per-sample counts for system {system!r} (run `harness rescore`)")
    doc = read_json_file(p, "counts file")
    if isinstance(doc, dict):
        _unknown_keys(doc, COUNTS_KEYS, str(p), "")
    return Counts.from_json(doc, str(p))


def read_scores(run: RunDir) -> dict[str, Any]:
    """The run's scores.json with the parts the gate and compare read checked (exit 2 when not)."""
    doc = read_json_file(run.scores, "scores file")
    where = str(run.scores)
    if not isinstance(doc, dict):
        raise HarnessError(f"{where}: expected a JSON object, got {_kind(doc)}")
    check_version(doc, where, str(run.root))
    systems = doc.get("systems")
    if not isinstance(systems, dict):
        raise HarnessError(f"{where}: systems: expected an object of score summaries, got {_kind(systems)}")
    for name, summary in systems.items():
        if not isinstance(summary, dict):
            raise HarnessError(
                f"{where}: systems.{name}: expected a score summary object, got {_kind(summary)}"
            )
    if not isinstance(doc.get("suite"), str | None):
        raise HarnessError(f"{where}: suite: expected a string, got {_kind(doc['suite'])}")
    return doc


def run_systems(run: RunDir) -> list[str]:
    """The run's systems: scores.json's (checked) when scored, else its predictions'."""
    return list(read_scores(run)["systems"]) if run.scores.is_file() else run.systems()


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


def _gate_block(run: RunDir, scores: dict[str, Any]) -> Any:
    """The run's gate block (scores.json `gate`, the suite's as it was run), validated as in a suite."""
    from pydantic import ValidationError

    from harness.suite import GateBlock, format_errors

    cfg = scores.get("gate")
    if cfg is None:
        cfg = {}
    if not isinstance(cfg, dict):
        raise HarnessError(f"{run.scores}: gate: expected an object, got {_kind(cfg)}")
    if cfg.get("metrics") in (None, []):
        cfg = {**cfg, "metrics": [{"metric": "official.f1", "tolerance": 0.0}]}
    try:
        return GateBlock.model_validate(cfg)
    except ValidationError as e:
        lines = format_errors(e, prefix="gate", root=GateBlock)
        raise HarnessError(f"{run.scores}: invalid gate settings\n  " + "\n  ".join(lines)) from None


def gate_settings(run: RunDir, scores: dict[str, Any] | None = None) -> dict[str, Any]:
    """The run's gate block (from its scores.json), with defaults."""
    block = _gate_block(run, scores if scores is not None else read_scores(run))
    return {
        "systems": block.systems,
        "metrics": [{"metric": m.metric, "tolerance": m.tolerance} for m in block.metrics],
        "test": block.test,
        "alpha": block.alpha,
        "resamples": block.resamples,
        "seed": block.seed,
    }


def default_baseline(run: RunDir) -> Path | None:
    """The baseline the run's suite names (gate.baseline), if any."""
    return _gate_block(run, read_scores(run)).baseline


def write_baseline(run: RunDir, path: str | Path) -> dict[str, Any]:
    """Accept the run's scores as the baseline (its numbers and per-sample counts)."""
    import numpy as np

    scores = read_scores(run)
    settings = gate_settings(run, scores)
    gated = settings["systems"] or list(scores["systems"])
    if not gated:
        raise HarnessError(f"{run.scores}: the run has no systems; there is nothing to accept as a baseline")
    systems: dict[str, Any] = {}
    for s in gated:
        if s not in scores["systems"]:
            raise HarnessError(f"{run.scores}: gate.systems names {s!r}, which the run does not have")
        counts = load_counts(run, s)
        metrics = {m: metric_value(scores["systems"][s], m) for m in STAT_METRICS}
        for m, value in metrics.items():
            if value is not None and not math.isfinite(value):  # 1e999 is valid JSON: inf
                raise HarnessError(
                    f"{run.scores}: systems.{s}.{m}: expected a finite number, got {_show(value)}"
                )
        systems[s] = {
            "metrics": metrics,
            "sample_ids": counts.sample_ids,
            "counts": counts.counts.astype(np.int64).tolist(),
        }
    doc = {
        "version": BASELINE_VERSION,
        "suite": scores.get("suite"),
        "run": run.root.name,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "settings": settings,
        "systems": systems,
    }
    try:
        write_doc(path, doc)
    except OSError as e:
        raise cannot_write("the baseline", path, e) from None
    return doc


def cannot_write(what: str, path: str | Path, e: OSError) -> HarnessError:
    """Why `path` could not be written, in the user's terms (not the temp file's errno)."""
    parent = next((q for q in Path(path).parents if q.exists()), None)
    if parent is not None and not parent.is_dir():
        why = f"{parent} is a file, not a folder"
    else:
        why = e.strerror or str(e)
    return HarnessError(f"cannot write {what} {path}: {why}")


def _create_hint(p: Path) -> str:
    return f"create it with `harness gate RUN --baseline {p} --update-baseline`"


def read_baseline(path: str | Path) -> dict[str, Any]:
    """A baseline file, checked in full: every problem names the file and the field (exit 2)."""
    p = Path(path)
    if not p.exists():
        raise HarnessError(f"baseline not found: {p} ({_create_hint(p)})")
    text = read_text(p, "baseline")
    if not text.strip():
        raise HarnessError(f"{p}: empty file, not a harness baseline ({_create_hint(p)})")
    doc, problem, line = json_problem(text)
    if problem:
        lenient = _lenient_json(text)
        if lenient is not None:  # only NaN/Infinity were wrong: name the field they are in
            check_baseline(lenient, str(p))
        raise HarnessError(f"{p}:{line}: {problem}" if line else f"{p}: {problem}")
    check_baseline(doc, str(p))
    return doc


def _lenient_json(text: str) -> Any:
    """The document with NaN and Infinity read as floats; None when anything else is wrong with it."""

    def unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        if len({k for k, _ in pairs}) < len(pairs):
            raise ValueError("duplicate key")
        return dict(pairs)

    try:
        return json.loads(text, object_pairs_hook=unique)
    except (ValueError, RecursionError):
        return None


def check_baseline(doc: Any, where: str) -> None:
    """Raise a HarnessError `WHERE: FIELD: what` at the first thing wrong with a baseline document."""
    if not isinstance(doc, dict):
        raise HarnessError(
            f"{where}: expected a harness baseline (a JSON object with version and systems), got {_kind(doc)}"
        )
    for key in ("version", "systems"):
        if key not in doc:
            raise HarnessError(
                f"{where}: {key}: missing; is this a harness baseline? ({_create_hint(Path(where))})"
            )
    version = doc["version"]
    if type(version) is not int or version != BASELINE_VERSION:
        raise HarnessError(
            f"{where}: version: this harness reads baseline version {BASELINE_VERSION}, got {_show(version)}; "
            f"is this a harness baseline? ({_create_hint(Path(where))})"
        )
    _unknown_keys(doc, BASELINE_KEYS, where, "")
    for key in ("suite", "run", "created"):
        if not isinstance(doc.get(key), str | None):
            raise HarnessError(f"{where}: {key}: expected a string, got {_kind(doc[key])}")
    if not isinstance(doc.get("settings"), dict | None):
        raise HarnessError(f"{where}: settings: expected an object, got {_kind(doc['settings'])}")
    systems = doc["systems"]
    if not isinstance(systems, dict):
        raise HarnessError(
            f"{where}: systems: expected an object (system name -> its counts), got {_kind(systems)}"
        )
    if not systems:
        raise HarnessError(
            f"{where}: systems: empty, so the baseline gates nothing ({_create_hint(Path(where))})"
        )
    for name, entry in systems.items():
        at = f"systems.{name}"
        if not isinstance(entry, dict):
            raise HarnessError(
                f"{where}: {at}: expected an object with {', '.join(SYSTEM_KEYS)}, got {_kind(entry)}"
            )
        _unknown_keys(entry, SYSTEM_KEYS, where, at)
        metrics = entry.get("metrics")
        if not isinstance(metrics, dict):
            got = "nothing (missing)" if "metrics" not in entry else _kind(metrics)
            raise HarnessError(f"{where}: {at}.metrics: expected an object (metric -> value), got {got}")
        for metric, value in metrics.items():
            if metric not in STAT_METRICS:
                raise HarnessError(
                    f"{where}: {at}.metrics.{metric}: unknown metric; valid: {', '.join(STAT_METRICS)}"
                )
            if value is not None and not _is_finite_number(value):
                raise HarnessError(
                    f"{where}: {at}.metrics.{metric}: expected a finite number or null, got {_show(value)}"
                )
        Counts.from_json(entry, where, at)


def _examples(ids: list[str], n: int = 3) -> str:
    return (", e.g. " + ", ".join(repr(s) for s in ids[:n])) if ids else ""


def same_samples(system: str, base: Counts, current: Counts, run: RunDir, baseline_path: str | Path) -> None:
    """The gate compares a system on exactly the baseline's samples; anything else is an error.

    Gating on the shared subset would let a run that lost (or gained) samples pass unnoticed:
    a dropped hard sample raises the score. A changed test set means a new baseline.
    """
    in_base, in_run = set(base.sample_ids), set(current.sample_ids)
    if in_base == in_run:
        return
    only_base = [s for s in base.sample_ids if s not in in_run]
    only_run = [s for s in current.sample_ids if s not in in_base]
    if in_base & in_run:
        what = (
            f"the run's samples differ from the baseline's: {len(only_base)} only in the baseline"
            f"{_examples(only_base)}; {len(only_run)} only in the run{_examples(only_run)}"
        )
    else:
        what = (
            f"the run and the baseline share no sample ids (baseline: {len(only_base)}"
            f"{_examples(only_base)}; run: {len(only_run)}{_examples(only_run)})"
        )
    raise HarnessError(
        f"{system}: {what} ({counts_path(run, system)} vs {baseline_path}). The gate compares a system "
        "on the same samples only, since a subset can hide a regression; if the test set changed on purpose, "
        f"accept this run as the new baseline: `harness gate {run.root} --baseline {baseline_path} --update-baseline`"
    )


def run_gate(run: RunDir, baseline_path: str | Path) -> GateResult:
    """Check every gated (system, metric) of the run against the baseline."""
    scores = read_scores(run)
    settings = gate_settings(run, scores)
    baseline = read_baseline(baseline_path)
    base_suite, run_suite = baseline.get("suite"), scores.get("suite")
    if base_suite and run_suite and base_suite != run_suite:
        raise HarnessError(
            f"{baseline_path}: suite: the baseline is of suite {base_suite!r}, this run of suite {run_suite!r}; "
            f"give --baseline the baseline of suite {run_suite!r}, or accept this run into a new file with "
            f"`harness gate {run.root} --baseline NEW.json --update-baseline`"
        )
    result = GateResult(baseline=str(baseline_path))
    present, accepted = list(scores["systems"]), baseline["systems"]
    # Default: every system of the run and of the baseline (one the run lost is a regression).
    gated = settings["systems"] or present + [s for s in accepted if s not in present]
    for system in gated:
        if system not in accepted and system not in present:
            raise HarnessError(
                f"{run.scores}: gate.systems names {system!r}, which neither the run nor the baseline has"
            )
        if system not in accepted:
            msg = f"{system}: gated but not in the baseline yet (accept it with --update-baseline); skipped"
            result.checks.append(
                Check(system, "*", None, None, None, 0.0, None, settings["test"], False, msg)
            )
            continue
        if system not in present:
            msg = f"{system}: in the baseline but missing from the run"
            result.checks.append(Check(system, "*", None, None, None, 0.0, None, settings["test"], True, msg))
            continue
        base = Counts.from_json(accepted[system], str(baseline_path), f"systems.{system}")
        current = load_counts(run, system)
        same_samples(system, base, current, run, baseline_path)
        for metric, stat, tol, a, b in per_task_rows(settings["metrics"], base, current):
            r = paired(a, b, stat, settings["test"], resamples=settings["resamples"], seed=settings["seed"])
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


# the metrics every task's counts define alike: a run of several tasks tests them on all samples
MICRO_METRICS = ("official.f1", "official.precision", "official.recall", "canonical.f1")


def per_task_rows(
    metrics: list[dict[str, Any]], base: Counts, current: Counts
) -> list[tuple[str, str, float, Counts, Counts]]:
    """(name, metric, tolerance, baseline rows, run rows) to test: every metric on every sample for
    a run of one task; for a run of several, the micro metrics on every sample, then each metric
    on each task's samples where the task reports it (named `by_task.TASK.metric`)."""
    from harness.scoring.tasks import TASKS

    tasks = current.task_names()
    if len(tasks) < 2:
        return [(m["metric"], m["metric"], m["tolerance"], base, current) for m in metrics]
    out = [
        (m["metric"], m["metric"], m["tolerance"], base, current)
        for m in metrics
        if m["metric"] in MICRO_METRICS
    ]
    for task in tasks:
        ids = current.of_task(task)
        offered = TASKS[task].stat_metrics if task in TASKS else STAT_METRICS
        out += [
            (f"by_task.{task}.{m['metric']}", m["metric"], m["tolerance"], base.only(ids), current.only(ids))
            for m in metrics
            if m["metric"] in offered
        ]
    return out


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
    try:
        return atomic_write_text(path, junit_xml(result))
    except OSError as e:
        raise cannot_write("the JUnit report", path, e) from None
