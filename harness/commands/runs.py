"""`harness runs`: the runs under a reports folder, newest first, with their headline numbers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from harness.commands._common import console_for, emit_json, json_option


@click.command("runs", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("reports_dir", type=click.Path(path_type=Path), default=Path("reports"), required=False)
@json_option
def runs(reports_dir: Path, as_json: bool) -> None:
    """List the runs under REPORTS_DIR (default reports/), newest first: run id, suite, date,
    systems with their official F1 and accuracy, the gate verdict stored with the run, the run
    it was rescored from (`rescore --as`) and any --limit. A folder that cannot be read is
    listed with its problem.
    """
    from harness.runs import list_runs

    found = list_runs(reports_dir)
    if as_json:
        emit_json({"reports_dir": str(reports_dir), "runs": found})
        return
    console = console_for(False)
    if not found:
        console.print(f"no runs under {reports_dir} (`harness run SUITE --out {reports_dir}` makes one)")
        return
    _print_runs(found, console)


def _numbers(info: dict[str, Any]) -> str:
    """`system F1/accuracy` per system, one per line."""

    def num(v: Any) -> str:
        return "–" if v is None else f"{v:.3f}"

    return "\n".join(
        f"{name} {num(m.get('official.f1'))}/{num(m.get('classification.accuracy'))}"
        for name, m in info.get("systems", {}).items()
    )


def _print_runs(found: list[dict[str, Any]], console: Any) -> None:
    from rich.markup import escape
    from rich.table import Table

    table = Table(title="runs, newest first (official F1 / accuracy per system)", title_justify="left")
    table.add_column("run", no_wrap=True)
    table.add_column("suite")
    table.add_column("date")
    table.add_column("systems")
    table.add_column("gate")
    for info in found:
        notes = []
        if info.get("parent"):
            notes.append(f"from {info['parent'].get('run_id')}")
        if info.get("limit"):
            notes.append(f"--limit {info['limit']}")
        run = info["run_id"] + "".join(f"\n({n})" for n in notes)
        date = str(info.get("created") or "–").replace("T", " ")[:16]
        systems = info["problem"] or _numbers(info)
        table.add_row(
            *(escape(x) for x in (run, str(info.get("suite") or "–"), date, systems, info.get("gate") or "–"))
        )
    console.print(table)
