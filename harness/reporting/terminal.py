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

from harness.reporting.data import HEADLINE, ReportData, metric_ci, metric_value

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

    def make(group: list[int], first: bool) -> Table:
        table = Table(title=title if first else f"{title} (continued)", title_justify="left")
        table.add_column("system", style="bold", no_wrap=True)
        table.add_column("n", justify="right", no_wrap=True)
        for i in group:
            table.add_column(HEADLINE[i][1], justify="right", no_wrap=True)
            table.add_column("Δ", justify="right", no_wrap=True)
        for s in data.systems:
            summary = data.summary(s)
            row: list[Any] = [s, str(summary.get("samples", ""))]
            for i in group:
                path = HEADLINE[i][0]
                row.append(fmt_metric(summary, path))
                row.append(Text("") if s == data.base else fmt_delta(summary, base, path))
            table.add_row(*row)
        return table

    tables = packed_tables(console, len(HEADLINE), make)
    if tables is not None:
        return tables
    lines: list[Any] = [Text(title, style="italic")]
    for s in data.systems:
        summary = data.summary(s)
        for path, label in HEADLINE:
            line = Text(f"{s} (n={summary.get('samples', '')}) · {label}: {fmt_metric(summary, path)}")
            if s != data.base:
                line.append(" Δ ").append_text(fmt_delta(summary, base, path))
            lines.append(line)
    return lines


def failures_tables(data: ReportData, console: Console) -> list[Any]:
    names: list[str] = []
    for s in data.systems:
        for k in data.summary(s).get("failures") or {}:
            if k not in names:
                names.append(k)
    if not names:
        return []
    title = "failure modes (samples tagged)"

    def make(group: list[int], first: bool) -> Table:
        table = Table(title=title if first else f"{title} (continued)", title_justify="left")
        table.add_column("system", style="bold", no_wrap=True)
        for i in group:
            table.add_column(names[i], justify="right", no_wrap=True)
        for s in data.systems:
            fails = data.summary(s).get("failures") or {}
            table.add_row(s, *(str(_count(fails.get(names[i]))) for i in group))
        return table

    tables = packed_tables(console, len(names), make)
    if tables is not None:
        return tables
    lines: list[Any] = [Text(title, style="italic")]
    for s in data.systems:
        fails = data.summary(s).get("failures") or {}
        lines.append(Text(f"{s}: " + ", ".join(f"{n} {_count(fails.get(n))}" for n in names)))
    return lines


def _count(v: Any) -> int | str:
    if isinstance(v, dict):
        return v.get("samples", v.get("count", "?"))
    return v if v is not None else 0


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
    if data.traces:
        parts.extend(outcome_lines(data))
    parts.extend(contamination_lines(data))
    parts.extend(skipped_lines(data))
    parts.extend(gate_lines(data))
    console.print(Group(*parts))
