"""The HTML report: one self-contained index.html (Jinja2, autoescape on, inline CSS/JS/SVG).

Nothing in it points outside the file, so it opens offline; every model output is escaped.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness import __version__
from harness.jsonl import atomic_write_text
from harness.reporting.charts import bar_chart, line_chart
from harness.reporting.data import ReportData, metric_ci, per_label_f1, tagged_count, trace_tags
from harness.reporting.marks import CORRECT, DUPLICATE, HALLUCINATED, SEVERITY, UNPARSABLE, WRONG, mark_answer
from harness.reporting.provenance import data_rows, run_rows, system_rows
from harness.scoring.catalogue import metric_value

TEMPLATES = Path(__file__).parent / "templates"


def _env() -> Any:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,  # every model output and every data string is escaped
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _table(data: ReportData) -> list[dict[str, Any]]:
    base = data.summary(data.base) if data.base in data.systems else {}
    rows = []
    for s in data.systems:
        summary = data.summary(s)
        cells = []
        for path, _ in data.headline():
            v, b, ci = metric_value(summary, path), metric_value(base, path), metric_ci(summary, path)
            d = None if v is None or b is None or s == data.base else v - b
            cells.append(
                {
                    "value": "–" if v is None else f"{v:.3f}",
                    "ci": f"{ci[0]:.3f}, {ci[1]:.3f}" if ci else "",
                    "delta": "" if d is None else f"{d:+.3f}",
                    "delta_class": "" if not d else ("pos" if d > 0 else "neg"),
                }
            )
        rows.append({"system": s, "n": summary.get("samples", ""), "cells": cells})
    return rows


def _confusions(summaries: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """One confusion matrix per system (system -> summary of one task, or of a run of one)."""
    out = []
    for s, summary in summaries.items():
        cls = summary.get("classification") or {}
        labels, matrix = cls.get("labels") or [], cls.get("confusion") or []
        if not labels or len(matrix) != len(labels):
            continue
        top = max((n for row in matrix for n in row), default=0) or 1
        rows = [
            {
                "label": label,
                "cells": [{"n": n, "alpha": f"{0.08 + 0.7 * n / top:.2f}" if n else "0"} for n in row],
            }
            for label, row in zip(labels, matrix, strict=True)
        ]
        out.append({"system": s, "labels": labels, "rows": rows})
    return out


def _per_label(summaries: dict[str, dict[str, Any]]) -> dict[str, Any]:
    tables = {s: per_label_f1(summary.get("classification") or {}) for s, summary in summaries.items()}
    names: list[str] = []
    for t in tables.values():
        names += [k for k in t if k not in names]
    return {
        "names": names,
        "rows": [(s, [f"{t[n]:.3f}" if n in t else "–" for n in names]) for s, t in tables.items()],
    }


def _failures(summaries: dict[str, dict[str, Any]]) -> dict[str, Any]:
    names: list[str] = []
    for summary in summaries.values():
        names += [k for k in summary.get("failures") or {} if k not in names]
    # samples with no line in the answer form (scores written before it was counted have none)
    no_answer = any("no_answer" in summary for summary in summaries.values())
    rows = [
        (
            s,
            [summary.get("no_answer", "–")] * no_answer
            + [tagged_count((summary.get("failures") or {}).get(n)) for n in names],
        )
        for s, summary in summaries.items()
    ]
    return {"names": ["no answer"] * no_answer + names, "rows": rows}


def _sections(data: ReportData) -> dict[str, list[dict[str, Any]]]:
    """Per-label F1, confusion matrices and failure modes: one block per task the run scores
    (one untitled block for a run of one task), for the tasks whose `report` lists the section."""
    build = {
        "per_label": _per_label,
        "failures": _failures,
        "confusion": lambda s: {"matrices": _confusions(s)},
    }
    return {
        section: [{"task": title, **make(summaries)} for title, summaries in data.blocks(section)]
        for section, make in build.items()
    }


def outcomes(data: ReportData) -> list[dict[str, Any]]:
    """Per system, against the reference: samples fixed, broken, right in both, wrong in both."""
    ref = data.correct(data.reference)
    rows = []
    for s in data.systems:
        if s == data.reference or not ref:
            continue
        mine = data.correct(s)
        shared = [sid for sid in ref if sid in mine]
        count = {"fixed": 0, "broken": 0, "both_right": 0, "both_wrong": 0}
        for sid in shared:
            key = {(False, True): "fixed", (True, False): "broken", (True, True): "both_right"}.get(
                (ref[sid], mine[sid]), "both_wrong"
            )
            count[key] += 1
        rows.append({"system": s, **count})
    return rows


# what each mark reads as beside its line (the note follows it)
MARK_LABELS = {
    CORRECT: "✓",
    WRONG: "✗ wrong label",
    HALLUCINATED: "extra: hallucinated",
    DUPLICATE: "extra: duplicate",
    UNPARSABLE: "unparsable",
}


def _output(system: str, text: str, trace: dict[str, Any], tags: list[str], correct: bool) -> dict[str, Any]:
    """One system's answer to one sample: its lines with their marks, and the gold items it missed."""
    marked = mark_answer(text, trace)
    counts = marked.counts()
    summary = [f"{counts[k]} {MARK_LABELS[k] if k != CORRECT else 'correct'}" for k in SEVERITY if counts[k]]
    return {
        "system": system,
        "tags": tags,
        "correct": correct,
        "lines": [
            {
                "text": line.text,
                "kind": line.kind,
                "marks": [{"kind": m.kind, "label": MARK_LABELS[m.kind], "note": m.note} for m in line.marks],
            }
            for line in marked.lines
        ],
        "missing": marked.missing,
        "summary": " · ".join(summary + ([f"{counts['missing']} missing"] if counts["missing"] else [])),
    }


def _example_records(data: ReportData) -> list[dict[str, Any]]:
    """The test records of the tasks whose `report` shows examples."""
    return [r for r in data.records if data.shows(str(r.get("task_dataset")), "examples")]


def _examples(data: ReportData) -> list[dict[str, Any]]:
    correct = {s: data.correct(s) for s in data.systems}
    items = []
    for i, rec in enumerate(_example_records(data)):
        sid = str(rec.get("sample_id"))
        flags = [correct[s].get(sid, False) for s in data.systems]
        outputs, tags_all = [], []
        for s, ok in zip(data.systems, flags, strict=True):
            trace = data.traces.get(s, {}).get(sid, {})
            tags = trace_tags(trace)
            tags_all += [f"{s}:{t}" for t in tags]
            outputs.append(_output(s, data.predictions.get(s, {}).get(sid, ""), trace, tags, ok))
        items.append(
            (
                0 if len(set(flags)) > 1 else 1,  # samples where systems disagree come first
                i,
                {
                    "sample_id": sid,
                    "input": rec.get("input", ""),
                    "gold": rec.get("target", ""),
                    "outputs": outputs,
                    "all_tags": tags_all,
                    "correct": ",".join("1" if f else "0" for f in flags),
                },
            )
        )
    items.sort(key=lambda t: (t[0], t[1]))
    return [t[2] for t in items[: data.max_examples]]


def _contamination(data: ReportData) -> list[dict[str, str]]:
    out = []
    for f in data.contamination():
        text = (
            f.get("message")
            or f.get("detail")
            or ", ".join(f"{k}={v}" for k, v in f.items() if k != "system")
        )
        out.append({"system": f["system"], "text": str(text)})
    return out


def render_html(data: ReportData) -> str:
    bars = []
    for path, label in data.headline()[:3]:
        values = {s: v for s in data.systems if (v := metric_value(data.summary(s), path)) is not None}
        if values:
            bars.append(bar_chart(values, title=label, height=40 + 24 * len(values)))
    loss_charts = [line_chart(series, title=f"{s}: loss") for s, series in data.losses.items()]
    return (
        _env()
        .get_template("report.html.j2")
        .render(
            title=data.title,
            run_id=data.run.root.name,
            suite=data.scores.get("suite", ""),
            version=__version__,
            samples=max((data.summary(s).get("samples") or 0 for s in data.systems), default=0),
            base=data.base,
            reference=data.reference,
            systems=data.systems,
            metrics=[{"path": p, "label": label} for p, label in data.headline()],
            table=_table(data),
            bar_charts=bars,
            **_sections(data),
            loss_charts=[c for c in loss_charts if c],
            contamination=_contamination(data),
            skipped=data.skipped(),
            examples=_examples(data),
            example_pool=len(_example_records(data)),
            examples_hidden=len(data.records) - len(_example_records(data)),
            outcomes=outcomes(data),
            paired=data.paired(),
            gate=data.gate(),
            provenance={
                "run": run_rows(data.manifest, data.scores),
                "systems": system_rows(data.manifest, data.systems),
                "data": data_rows(data.manifest),
            },
            manifest=json.dumps(data.manifest, ensure_ascii=False, indent=2),
        )
    )


def write_html(data: ReportData, path: Path | None = None) -> Path:
    return atomic_write_text(path or data.run.html, render_html(data))
