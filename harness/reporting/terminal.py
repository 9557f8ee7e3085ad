"""The terminal report (rich): systems × metrics with 95% CIs and deltas, failures, contamination."""

from __future__ import annotations

from typing import Any

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from harness.reporting.data import HEADLINE, ReportData, metric_ci, metric_value


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


def metrics_table(data: ReportData) -> Table:
    table = Table(title=f"{data.title}: systems × metrics (95% CI; Δ vs {data.base})", title_justify="left")
    table.add_column("system", style="bold")
    table.add_column("n", justify="right")
    for _, label in HEADLINE:
        table.add_column(label, justify="right", no_wrap=True)
        table.add_column("Δ", justify="right", no_wrap=True)
    base = data.summary(data.base) if data.base in data.systems else {}
    for s in data.systems:
        summary = data.summary(s)
        row: list[Any] = [s, str(summary.get("samples", ""))]
        for path, _ in HEADLINE:
            row.append(fmt_metric(summary, path))
            row.append(Text("") if s == data.base else fmt_delta(summary, base, path))
        table.add_row(*row)
    return table


def failures_table(data: ReportData) -> Table | None:
    names: list[str] = []
    for s in data.systems:
        for k in data.summary(s).get("failures") or {}:
            if k not in names:
                names.append(k)
    if not names:
        return None
    table = Table(title="failure modes (samples tagged)", title_justify="left")
    table.add_column("system", style="bold")
    for n in names:
        table.add_column(n, justify="right")
    for s in data.systems:
        fails = data.summary(s).get("failures") or {}
        table.add_row(s, *(str(_count(fails.get(n))) for n in names))
    return table


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


def render_terminal(data: ReportData, console: Console) -> None:
    parts: list[Any] = [metrics_table(data)]
    fails = failures_table(data)
    if fails is not None:
        parts.append(fails)
    if data.traces:
        parts.extend(outcome_lines(data))
    parts.extend(contamination_lines(data))
    parts.extend(skipped_lines(data))
    # Piped output (CI logs, files) has no width to respect: do not squeeze the table into 80 columns.
    if not console.is_terminal and console.width < 200:
        console.width = 200
    console.print(Group(*parts))
