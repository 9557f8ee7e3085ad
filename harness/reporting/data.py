"""What a report shows, read from a run folder: summaries, CIs, per-sample outcomes, losses."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness.errors import HarnessError
from harness.jsonl import iter_json_objects
from harness.runs import RunDir, read_json, read_jsonl, read_scores
from harness.scoring.catalogue import HEADLINE, STAT_METRICS
from harness.scoring.contract import trace_problem
from harness.scoring.tasks import TASKS, Task


def metric_ci(summary: dict[str, Any], path: str) -> tuple[float, float] | None:
    """The interval of a metric: the summary's `ci` block maps the scorer's metric name to [lo, hi]
    (`by_task.TASK.…` reads that task's summary)."""
    if path.startswith("by_task."):
        task, _, path = path.removeprefix("by_task.").partition(".")  # task names hold no dot
        summary = (summary.get("by_task") or {}).get(task) or {}
    v = (summary.get("ci") or {}).get(STAT_METRICS.get(path, ""))
    return (float(v[0]), float(v[1])) if v else None


def per_label_f1(classification: dict[str, Any]) -> dict[str, float]:
    """F1 per label, from the summary's per_label block."""
    return {k: float(v["f1"]) for k, v in (classification.get("per_label") or {}).items()}


def tagged_count(count: Any) -> int | str:
    """Samples tagged, from a summary's failure count (a number, or {"samples": n, …})."""
    if isinstance(count, dict):
        return count.get("samples", count.get("count", "?"))
    return count if count is not None else 0


def trace_correct(trace: dict[str, Any]) -> bool:
    """A sample counts as correct when every gold entity got its gold label and nothing extra was predicted."""
    cls = trace["classification"]
    return cls["correct"] == cls["items"] and trace["canonical"]["fp"] == 0


def trace_tags(trace: dict[str, Any]) -> list[str]:
    return sorted({t["tag"] for t in trace["tags"]})


def loss_series(losses: Any) -> dict[str, list[tuple[float, float]]]:
    """Train and eval loss as (step, loss) lists from a losses.json in any of its plausible shapes."""
    out: dict[str, list[tuple[float, float]]] = {}
    if not isinstance(losses, dict):
        return out
    for key, name in (("train", "train"), ("train_loss", "train"), ("eval", "eval"), ("eval_loss", "eval")):
        rows = losses.get(key)
        if not isinstance(rows, list) or name in out:
            continue
        pts: list[tuple[float, float]] = []
        for i, r in enumerate(rows, 1):
            if isinstance(r, dict):
                y = r.get("loss", r.get("eval_loss", r.get("train_loss")))
                x = r.get("step", r.get("epoch", i))
            elif isinstance(r, list | tuple) and len(r) == 2:
                x, y = r
            else:
                x, y = i, r
            if isinstance(y, int | float) and isinstance(x, int | float):
                pts.append((float(x), float(y)))
        if pts:
            out[name] = pts
    return out


@dataclass
class ReportData:
    """Everything the terminal and HTML reports render."""

    run: RunDir
    scores: dict[str, Any]
    manifest: dict[str, Any]
    systems: list[str]
    base: str
    reference: str
    traces: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)  # system -> id -> trace
    predictions: dict[str, dict[str, str]] = field(default_factory=dict)  # system -> id -> text
    records: list[dict[str, Any]] = field(default_factory=list)
    losses: dict[str, dict[str, list[tuple[float, float]]]] = field(default_factory=dict)
    max_examples: int = 300
    title: str = ""

    def summary(self, system: str) -> dict[str, Any]:
        return self.scores["systems"][system]

    def several_tasks(self) -> list[str]:
        """The tasks of a run of several (their summaries are under `by_task`), in order; else []."""
        tasks: list[str] = []
        for s in self.systems:
            tasks += [t for t in self.summary(s).get("by_task") or {} if t not in tasks]
        return tasks

    def one_task(self) -> Task | None:
        """The registered task of a run of one, known from its test records (None when they are
        not loaded, or when the run scores several tasks)."""
        if self.several_tasks():
            return None
        names = {str(r.get("task_dataset")) for r in self.records} & set(TASKS)
        return TASKS[names.pop()] if len(names) == 1 else None

    def shows(self, task: str | Task | None, section: str) -> bool:
        """Whether a task's numbers appear in a report section (REPORT_SECTIONS): as its `report`
        says; a task the report does not know shows everywhere."""
        task = TASKS.get(task) if isinstance(task, str) else task
        return task is None or section in task.report

    def blocks(self, section: str) -> list[tuple[str, dict[str, dict[str, Any]]]]:
        """The blocks of a per-task section (per_label, confusion, failures) as (title, system ->
        summary): for a run of one task, one untitled block of the systems' summaries; for a run of
        several, one per task that shows the section, titled with the task's name."""
        tasks = self.several_tasks()
        if not tasks:
            if not self.shows(self.one_task(), section):
                return []
            return [("", {s: self.summary(s) for s in self.systems})]
        out = []
        for t in tasks:
            if self.shows(t, section):
                by_task = {s: (self.summary(s).get("by_task") or {}).get(t) for s in self.systems}
                out.append((t, {s: block for s, block in by_task.items() if isinstance(block, dict)}))
        return out

    def headline(self) -> list[tuple[str, str]]:
        """The metrics every table shows. A run of one task: that task's headline (HEADLINE when
        its task is not known); a run of several: the micro average's official and canonical F1,
        then the headline of each task that shows its metrics (`by_task.TASK.…`)."""
        tasks = self.several_tasks()
        if not tasks:
            task = self.one_task()
            if task is None:
                return HEADLINE
            return task.headline if self.shows(task, "metrics") else []
        out = [("official.f1", "official F1 (micro)"), ("canonical.f1", "canonical F1 (micro)")]
        for t in tasks:
            if self.shows(t, "metrics"):
                pairs = TASKS[t].headline if t in TASKS else HEADLINE
                out += [(f"by_task.{t}.{p}", f"{t} {label}") for p, label in pairs]
        return out

    def correct(self, system: str) -> dict[str, bool]:
        return {sid: trace_correct(t) for sid, t in self.traces.get(system, {}).items()}

    def skipped(self) -> list[str]:
        """`FILE:LINE: field X: message (source S)` for each bad line an `on_error: skip` source dropped."""
        out = []
        for p in self.manifest.get("skipped") or []:
            if isinstance(p, dict):
                field_ = f"field {p.get('field')}: " if p.get("field") else ""
                out.append(
                    f"{p.get('file')}:{p.get('line')}: {field_}{p.get('message')} (source {p.get('source')})"
                )
        return out

    def paired(self) -> dict[str, Any] | None:
        """Each system against the base on the same samples (scores.json `paired`), as display
        strings: one row per system and metric with Δ, its 95% CI and p, plus McNemar."""
        from harness.gate import fmt_p

        block = self.scores.get("paired")
        if not isinstance(block, dict) or not isinstance(block.get("systems"), dict):
            return None
        resamples = block.get("resamples")
        rows = []
        for system, res in block["systems"].items():
            mc = res.get("mcnemar") or {}
            for t in res.get("metrics") or []:
                rows.append(
                    {
                        "system": system,
                        "metric": t["metric"],
                        "base": f"{t['a']:.3f}",
                        "value": f"{t['b']:.3f}",
                        "delta": f"{t['diff']:+.3f}",
                        "ci": f"[{t['ci'][0]:+.3f}, {t['ci'][1]:+.3f}]",
                        "p": fmt_p(t["p_value"], resamples),
                        "better": t["diff"] > 0 and t["p_value"] < 0.05,
                        "worse": t["diff"] < 0 and t["p_value"] < 0.05,
                        "mcnemar": f"{mc.get('b01', 0)} fixed / {mc.get('b10', 0)} broken, p = {mc.get('p_value', 1):.3g}",
                    }
                )
        return {"base": block.get("base"), "resamples": resamples, "rows": rows}

    def gate(self) -> dict[str, Any] | None:
        """The last gate verdict on this run (scores.json `gate_result`, written by `harness run` and
        `harness gate`), as display strings: passed, baseline, and one row per gated check."""
        verdict = self.scores.get("gate_result")
        if not isinstance(verdict, dict) or not isinstance(verdict.get("checks"), list):
            return None
        resamples = verdict.get("resamples")
        rows = []
        for c in verdict["checks"]:
            if not isinstance(c, dict):
                continue
            base, cur, p = c.get("baseline"), c.get("current"), c.get("p_value")
            delta = cur - base if _is_num(cur) and _is_num(base) else None
            bootstrap = c.get("test") == "paired_bootstrap" and isinstance(resamples, int) and resamples > 0
            rows.append(
                {
                    "system": str(c.get("system", "?")),
                    "metric": str(c.get("metric", "?")),
                    "baseline": _fmt(base, ".4f"),
                    "current": _fmt(cur, ".4f"),
                    "delta": _fmt(delta, "+.4f"),
                    "delta_class": "" if not delta else ("pos" if delta > 0 else "neg"),
                    # a bootstrap p of 0 only means below 1/resamples
                    "p": f"<{1 / resamples:.2g}" if bootstrap and p == 0 else _fmt(p, ".4g"),
                    "test": str(c.get("test", "")),
                    "tolerance": _fmt(c.get("tolerance"), ".4f"),
                    "regression": c.get("regression") is True,
                    "verdict": _verdict(c),
                    "message": str(c.get("message", "")),
                }
            )
        return {
            "passed": verdict.get("passed") is True,
            "baseline": str(verdict.get("baseline", "")),
            "alpha": _fmt(verdict.get("alpha"), "g"),
            "rows": rows,
        }

    def contamination(self) -> list[dict[str, Any]]:
        found = self.scores.get("contamination") or {}
        rows = []
        for system, findings in found.items():
            for f in findings or []:
                rows.append({"system": system, **(f if isinstance(f, dict) else {"detail": str(f)})})
        return rows


def _is_num(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _fmt(v: Any, spec: str) -> str:
    return format(v, spec) if _is_num(v) else "–"


def _verdict(check: dict[str, Any]) -> str:
    if check.get("regression") is True:
        return "REGRESSION"
    return "skipped" if check.get("metric") == "*" else "ok"


def _traces(run: RunDir, system: str, samples: Any) -> dict[str, dict[str, Any]]:
    """One system's traces by sample id; missing or short ones are an error (fixed/broken come from them)."""
    path = run.traces(system)
    rebuild = f"rebuild them with `harness rescore {run.root}`"
    if not path.is_file():
        raise HarnessError(f"{path}: the traces of system {system} are missing; {rebuild}")
    traces = {}
    for line, row in iter_json_objects(path):
        problem = trace_problem(row) if isinstance(row, dict) else "expected a JSON object"
        if problem:
            raise HarnessError(f"{path}:{line}: field {problem}; {rebuild}")
        traces[row["sample_id"]] = row
    if isinstance(samples, int) and len(traces) != samples:
        raise HarnessError(
            f"{path}: {len(traces)} traces for the {samples} samples {system} was scored on; {rebuild}"
        )
    return traces


def load_report_data(run: RunDir, *, with_examples: bool = True) -> ReportData:
    scores = read_scores(run)
    manifest = read_json(run.manifest) if run.manifest.is_file() else {}
    if not isinstance(manifest, dict):
        raise HarnessError(f"{run.manifest}: expected a JSON object, got {type(manifest).__name__}")
    systems = list(scores.get("systems", {}))
    report_cfg = scores.get("report") or {}
    base = report_cfg.get("base") or (systems[0] if systems else "")
    data = ReportData(
        run=run,
        scores=scores,
        manifest=manifest,
        systems=systems,
        base=base,
        reference=report_cfg.get("reference") or base,
        max_examples=int(report_cfg.get("max_examples", 300)),
        title=report_cfg.get("title") or f"{scores.get('suite', run.root.parent.name)} · {run.root.name}",
    )
    for s in systems:
        if run.losses(s).is_file():
            series = loss_series(read_json(run.losses(s)))
            if series:
                data.losses[s] = series
    if not with_examples:
        return data
    for s in systems:
        data.traces[s] = _traces(run, s, scores["systems"][s].get("samples"))
        if run.predictions(s).is_file():
            data.predictions[s] = {
                str(r.get("sample_id")): str(r.get("text", r.get("target", "")))
                for r in read_jsonl(run.predictions(s))
            }
    if run.test_records.is_file():
        data.records = read_jsonl(run.test_records)
    return data
