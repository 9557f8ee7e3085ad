"""The terminal report (rich): systems × metrics with 95% CIs and deltas, failures, contamination.

Every table fits the console's width (80 columns is the norm): columns that do not fit move to a
further table that repeats the row names, and below the width of one column group a table
becomes one line per value. No cell is ever squeezed or cut to '…'.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from harness.reporting.data import ReportData, metric_ci, tagged_count
from harness.scoring.catalogue import metric_value

# Measuring a table at this width gives its natural width (rich clamps a measure to the width given).
_UNBOUNDED = 10_000


def fits(console: Console, renderable: Any) -> bool:
    """Whether a renderable's natural width (no wrapping) fits the console."""
    natural = console.measure(renderable, options=console.options.update_width(_UNBOUNDED)).maximum
    return natural <= console.width


def packed_tables(
    console: Console, blocks: int, make: Callable[[list[int], bool], Table]
) -> list[Table] | None:
    """Column blocks 0..blocks-1 packed greedily, in order, into as few tables as fit the console.

    `make(indices, first)` builds one table of the row-name columns and those blocks. None when a
    single block with the row names is wider than the console (the caller prints lines instead).
    """
    groups: list[list[int]] = [[]]
    for i in range(blocks):
        if groups[-1] and not fits(console, make([*groups[-1], i], len(groups) == 1)):
            groups.append([])
        groups[-1].append(i)
    tables = [make(g, k == 0) for k, g in enumerate(groups)]
    return tables if all(fits(console, t) for t in tables) else None


def fmt_metric(summary: dict[str, Any], path: str) -> str:
    value = metric_value(summary, path)
    if value is None:
        return "–"
    ci = metric_ci(summary, path)
    return f"{value:.3f} [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else f"{value:.3f}"


def fmt_delta(summary: dict[str, Any], base: dict[str, Any], path: str) -> Text:
    a, b = metric_value(summary, path), metric_value(base, path)
    if a is None or b is None:
        return Text("–")
    d = a - b
    return Text(f"{d:+.3f}", style="green" if d > 0 else "red" if d < 0 else "dim")


def metrics_tables(data: ReportData, console: Console) -> list[Any]:
    """Systems × headline metrics, split into as many tables as the width needs."""
    base = data.summary(data.base) if data.base in data.systems else {}
    title = f"{data.title}: systems × metrics (95% CI; Δ vs {data.base})"
    headline = data.headline()

    def make(group: list[int], first: bool) -> Table:
        table = Table(title=title if first else f"{title} (continued)", title_justify="left")
        table.add_column("system", style="bold", no_wrap=True)
        table.add_column("n", justify="right", no_wrap=True)
        for i in group:
            table.add_column(headline[i][1], justify="right", no_wrap=True)
            table.add_column("Δ", justify="right", no_wrap=True)
        for s in data.systems:
            summary = data.summary(s)
            row: list[Any] = [s, str(summary.get("samples", ""))]
            for i in group:
                path = headline[i][0]
                row.append(fmt_metric(summary, path))
                row.append(Text("") if s == data.base else fmt_delta(summary, base, path))
            table.add_row(*row)
        return table

    tables = packed_tables(console, len(headline), make)
    if tables is not None:
        return tables
    lines: list[Any] = [Text(title, style="italic")]
    for s in data.systems:
        summary = data.summary(s)
        for path, label in headline:
            line = Text(f"{s} (n={summary.get('samples', '')}) · {label}: {fmt_metric(summary, path)}")
            if s != data.base:
                line.append(" Δ ").append_text(fmt_delta(summary, base, path))
            lines.append(line)
    return lines


# samples with no line in the answer form at all (summary["no_answer"]), beside the tags
NO_ANSWER = "no answer"


def failures_tables(data: ReportData, console: Console) -> list[Any]:
    """Samples tagged per failure mode: one block per task the run scores (ReportData.blocks)."""
    out: list[Any] = []
    for task, summaries in data.blocks("failures"):
        out += _failure_block(f"{task}: " if task else "", summaries, console)
    return out


def _failure_block(prefix: str, summaries: dict[str, dict[str, Any]], console: Console) -> list[Any]:
    names: list[str] = []
    for summary in summaries.values():
        names += [k for k in summary.get("failures") or {} if k not in names]
    if not names:
        return []
    if any("no_answer" in summary for summary in summaries.values()):
        names.insert(0, NO_ANSWER)
    title = f"{prefix}failure modes (samples tagged)"

    def cell(summary: dict[str, Any], name: str) -> str:
        if name == NO_ANSWER:
            return str(summary.get("no_answer", "–"))
        return str(tagged_count((summary.get("failures") or {}).get(name)))

    def make(group: list[int], first: bool) -> Table:
        table = Table(title=title if first else f"{title} (continued)", title_justify="left")
        table.add_column("system", style="bold", no_wrap=True)
        for i in group:
            table.add_column(names[i], justify="right", no_wrap=True)
        for s, summary in summaries.items():
            table.add_row(s, *(cell(summary, names[i]) for i in group))
        return table

    tables = packed_tables(console, len(names), make)
    if tables is not None:
        return tables
    lines: list[Any] = [Text(title, style="italic")]
    for s, summary in summaries.items():
        fails = summary.get("failures") or {}
        lines.append(Text(f"{s}: " + ", ".join(f"{n} {tagged_count(fails.get(n))}" for n in names)))
    return lines


def contamination_lines(data: ReportData) -> list[Text]:
    lines = []
    for f in data.contamination():
        detail = (
            f.get("message")
            or f.get("detail")
            or ", ".join(f"{k}={v}" for k, v in f.items() if k != "system")
        )
        lines.append(Text(f"⚠ contamination ({f['system']}): {detail}", style="bold yellow"))
    return lines


def skipped_lines(data: ReportData) -> list[Text]:
    """One line with the count of bad source lines dropped by `on_error: skip` (the HTML lists them)."""
    skipped = data.skipped()
    if not skipped:
        return []
    return [
        Text(
            f"⚠ {len(skipped)} bad input line(s) skipped (on_error: skip), first {skipped[0]}; "
            "all are listed in the HTML report and manifest.json",
            style="bold yellow",
        )
    ]


def outcome_lines(data: ReportData) -> list[Text]:
    """One line per system: samples fixed and broken against the reference system."""
    from harness.reporting.html import outcomes

    return [
        Text(f"{o['system']} vs {data.reference}: {o['fixed']} samples fixed, {o['broken']} broken")
        for o in outcomes(data)
    ]


def paired_lines(data: ReportData) -> list[Text]:
    """One line per system: its paired test against the base (Δ, 95% CI, p; McNemar)."""
    paired = data.paired()
    if paired is None:
        return []
    by_system: dict[str, list[dict[str, Any]]] = {}
    for row in paired["rows"]:
        by_system.setdefault(row["system"], []).append(row)
    lines = []
    for system, rows in by_system.items():
        tests = "; ".join(f"{r['metric']} {r['delta']} {r['ci']} p {r['p']}" for r in rows)
        first = rows[0]  # the headline metric decides the one-word verdict
        change = "higher" if first["better"] else "lower" if first["worse"] else "no significant change"
        verdict = f"{first['metric']} {change}" if first["better"] or first["worse"] else change
        lines.append(
            Text(f"{system} vs {paired['base']} (paired): {tests}; McNemar {rows[0]['mcnemar']} → {verdict}")
        )
    return lines


def gate_lines(data: ReportData) -> list[Text]:
    """The last gate verdict stored with the run (`harness run` or `harness gate`), one line per check."""
    verdict = data.gate()
    if verdict is None:
        return []
    head = (
        Text("gate passed", style="bold green")
        if verdict["passed"]
        else Text("gate failed: regression", style="bold red")
    )
    lines = [head.append(f" (baseline {verdict['baseline']})", style="")]
    for r in verdict["rows"]:
        mark = Text("✗ ", style="red") if r["regression"] else Text("✓ ", style="green")
        lines.append(mark.append(r["message"]))
    return lines


def render_terminal(data: ReportData, console: Console) -> None:
    parts: list[Any] = [*metrics_tables(data, console), *failures_tables(data, console)]
    paired = paired_lines(data)
    parts.extend(paired)
    if data.traces and not (paired and data.reference == data.base):  # else McNemar says it
        parts.extend(outcome_lines(data))
    parts.extend(contamination_lines(data))
    parts.extend(skipped_lines(data))
    parts.extend(gate_lines(data))
    console.print(Group(*parts))


def print_comparison(result: dict[str, Any], console: Console, *, max_list: int = 20) -> None:
    from harness.gate import fmt_p

    # before/after a rescore both sides are one system: the labels then name the runs too
    a, b = (result[k].get("label", result[k]["system"]) for k in ("a", "b"))
    # which run each side is from (a long path wraps; it is never cut)
    if result["a"]["run"] == result["b"]["run"]:
        console.print(f"run: {result['a']['run']}", highlight=False)
    else:
        for side in ("a", "b"):
            ref = result[side]
            console.print(f"{side.upper()} = {a if side == 'a' else b}: run {ref['run']}", highlight=False)
    title = f"{b} vs {a}: paired on {result['shared_samples']} shared samples (Δ = {b} − {a})"
    headers = (a, b, "Δ", "95% CI of Δ", "p (paired bootstrap)")
    rows = []
    for t in result["metrics"]:
        style = "green" if t["diff"] > 0 else "red" if t["diff"] < 0 else ""
        diff = f"{t['diff']:+.4f}"
        cells = (
            f"{t['a']:.4f}",
            f"{t['b']:.4f}",
            f"[{style}]{diff}[/]" if style else diff,
            f"[{t['ci'][0]:+.4f}, {t['ci'][1]:+.4f}]",
            fmt_p(t["p_value"], t.get("resamples")),
        )
        rows.append((t["metric"], cells))

    def make(group: list[int], first: bool) -> Table:
        # the metric names every row, so columns that do not fit go to a second table
        table = Table(title=title if first else f"{title} (continued)", title_justify="left")
        table.add_column("metric", no_wrap=True)
        for i in group:
            table.add_column(headers[i], justify="right", no_wrap=True)
        for metric, cells in rows:
            table.add_row(metric, *(cells[i] for i in group))
        return table

    tables = packed_tables(console, len(headers), make)
    if tables is not None:
        for table in tables:
            console.print(table)
    else:
        console.print(title, highlight=False)
        for metric, cells in rows:
            console.print(f"{metric}: " + "; ".join(f"{h} {c}" for h, c in zip(headers, cells, strict=True)))
    mc = result["mcnemar"]
    console.print(
        f"McNemar (per sample): {mc['b01']} fixed, {mc['b10']} broken, p = {mc['p_value']:.4g}"
        f"{' (exact)' if mc.get('exact') else ''}"
    )
    for name in ("fixed", "broken"):
        ids = result[name]
        more = f" and {len(ids) - max_list} more" if len(ids) > max_list else ""
        # wrapped between ids, never inside one
        console.print(f"{name} ({len(ids)}): {', '.join(ids[:max_list]) or '–'}{more}", highlight=False)


# ---- the same table for other tools (`harness report RUN --format md|csv|json`) ----------------
EXPORT_FORMATS = ("md", "csv", "json")


def table_rows(data: ReportData) -> list[dict[str, Any]]:
    """One row per system: its samples and, per headline metric (ReportData.headline), the value,
    95% CI and Δ vs the base."""
    base = data.summary(data.base) if data.base in data.systems else {}
    rows = []
    for s in data.systems:
        summary = data.summary(s)
        metrics = {}
        for path, _ in data.headline():
            value, against, ci = (
                metric_value(summary, path),
                metric_value(base, path),
                metric_ci(summary, path),
            )
            delta = None if s == data.base or value is None or against is None else value - against
            metrics[path] = {"value": value, "ci": list(ci) if ci else None, "delta": delta}
        rows.append({"system": s, "samples": summary.get("samples"), "metrics": metrics})
    return rows


def export_table(data: ReportData, fmt: str) -> str:
    """The systems × metrics table as JSON, CSV (full precision) or else Markdown (EXPORT_FORMATS)."""
    rows, headline = table_rows(data), data.headline()
    if fmt == "json":
        import json

        doc = {
            "run": data.run.root.name,
            "suite": data.scores.get("suite"),
            "title": data.title,
            "base": data.base,
            "metrics": {path: label for path, label in headline},
            "systems": rows,
        }
        return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"
    if fmt == "csv":
        import csv
        import io

        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        suffixes = ("", ".ci_low", ".ci_high", ".delta")
        writer.writerow(["system", "samples", *(p + x for p, _ in headline for x in suffixes)])
        for r in rows:
            cells: list[Any] = [r["system"], r["samples"]]
            for path, _ in headline:
                m = r["metrics"][path]
                ci = m["ci"] or [None, None]
                cells += [m["value"], ci[0], ci[1], m["delta"]]
            writer.writerow(["" if c is None else c for c in cells])
        return out.getvalue()
    head = ["system", "n", *(x for _, label in headline for x in (label, "Δ"))]
    lines = [
        f"**{data.title}**: systems × metrics (95% CI; Δ vs {data.base})",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "|".join([":---", "---:", *["---:"] * (2 * len(headline))]) + "|",
    ]
    for r in rows:
        summary = data.summary(r["system"])
        cells = [r["system"], str(r["samples"] if r["samples"] is not None else "")]
        for path, _ in headline:
            delta = r["metrics"][path]["delta"]
            cells += [fmt_metric(summary, path), "" if delta is None else f"{delta:+.3f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
