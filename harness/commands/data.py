"""`harness data`: synthesize, convert, inspect and filter PromptCBLUE records."""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from harness.commands._common import console_for, emit_json, json_option, stderr_console
from harness.errors import EXIT_FOUND, HarnessError, Problem
from harness.safeio import check_output_path

ON_ERROR = click.Choice(["skip", "fail"])
_SHOW_PROBLEMS = 10


def _report_skipped(problems: list[Problem], what: str = "bad line") -> None:
    """Skipped lines always go to stderr, with a count, so a run never hides them."""
    if not problems:
        return
    stderr_console.print(f"[yellow]skipped {len(problems)} {what}(s)[/yellow]", highlight=False)
    for p in problems[:_SHOW_PROBLEMS]:
        stderr_console.print(f"  {p}", highlight=False, markup=False)
    if len(problems) > _SHOW_PROBLEMS:
        stderr_console.print(f"  … and {len(problems) - _SHOW_PROBLEMS} more", highlight=False)


def _table(title: str, rows: Iterable[tuple[Any, ...]], columns: tuple[str, ...] = ("", "count")) -> Table:
    table = Table(title=title, title_justify="left", show_header=True)
    for i, col in enumerate(columns):
        table.add_column(col, justify="right" if i else "left")
    for row in rows:
        table.add_row(*(str(x) for x in row))
    return table


def _check_output(path: Path) -> None:
    """Refuse an output that is not a file we may replace, before any work is done.

    Outputs are written to a temp file beside them and renamed over them: a FIFO or a device
    (/dev/null) would be replaced, not written to, and a parent that is a file fails late.
    """
    if path.exists() and not path.is_file():
        kind = "a folder" if path.is_dir() else "not a regular file (a pipe, device or socket)"
        raise HarnessError(f"-o {path}: is {kind}; give the path of a file to write")
    parent = path.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise HarnessError(f"-o {path}: cannot be written, {parent} is a file, not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise HarnessError(f"-o {path}: cannot be written, the folder {parent} is not writable")


@click.group("data")
def data() -> None:
    """Read, inspect, convert and synthesize PromptCBLUE records."""


@data.command("synth")
@click.option("--n", "n", type=click.IntRange(min=1), required=True, help="Number of records.")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed (same seed, same bytes).")
@click.option(
    "-o",
    "--out",
    "out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Output JSONL file.",
)
@click.option(
    "--tasks",
    default="attr_cls",
    show_default=True,
    help="Comma-separated tasks, interleaved round-robin: attr_cls (CHIP-MDCFNPC), imcs_sr (IMCS-V2-SR), ner (CMeEE-V2).",
)
@json_option
def synth(n: int, seed: int, out: Path, tasks: str, as_json: bool) -> None:
    """Write N seeded synthetic doctor–patient records (PromptCBLUE JSON lines) to OUT.

    The dialogues carry known labels: positive findings, negations (没有, 不, 否认),
    uncertainty (不清楚, 可能, 说不好), other people's or past findings (不标注), and
    colloquial variants of finding names (拉肚子/腹泻, 发烧/发热, …). Sample ids are
    `synth-<seed>-<i>`: give sources that are pooled together different seeds.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from harness.datasets.synthetic import MAX_RECORDS, write_synth
    from harness.hashing import sha256_file

    if n > MAX_RECORDS:
        raise HarnessError(
            f"--n {n} is more than {MAX_RECORDS:,} records, the most one synth writes; "
            "write several files with different --seed values for more"
        )
    task_list = [t.strip() for t in tasks.split(",") if t.strip()]
    _check_output(out)
    start = time.perf_counter()
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=stderr_console,
        transient=True,
        disable=n < 50_000,
    ) as bar:
        task = bar.add_task("synth", total=n)
        write_synth(out, n, seed, task_list, progress=lambda done: bar.update(task, completed=done))
    seconds = time.perf_counter() - start
    summary = {
        "path": str(out),
        "records": n,
        "seed": seed,
        "tasks": task_list,
        "sha256": sha256_file(out),
        "seconds": round(seconds, 3),
    }
    if as_json:
        emit_json(summary)
    else:
        console_for(as_json).print(
            f"wrote {n} records ({', '.join(task_list)}, seed {seed}) to {out} in {seconds:.1f}s",
            highlight=False,
        )


@data.group("convert")
def convert() -> None:
    """Convert raw datasets into PromptCBLUE records."""


@convert.command("chip2021")
@click.argument("src", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "-o",
    "--out",
    "out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Output JSONL file.",
)
@click.option(
    "--templates",
    type=click.Path(dir_okay=False, path_type=Path),
    help="PromptCBLUE templates.json (its CHIP-MDCFNPC list); default: built-in templates.",
)
@click.option(
    "--seed", type=int, default=0, show_default=True, help="Seed of the per-dialog template choice."
)
@click.option(
    "--max-chars",
    type=click.IntRange(min=1),
    help="Split long dialogs into windows of at most N dialogue characters.",
)
@click.option(
    "--conflict-policy",
    type=click.Choice(["last", "first", "majority"]),
    default="last",
    show_default=True,
    help="Which label a mention keeps when turns disagree.",
)
@click.option(
    "--on-error",
    type=ON_ERROR,
    default="fail",
    show_default=True,
    help="Bad lines: stop, or skip with a count.",
)
@json_option
def chip2021(
    src: Path,
    out: Path,
    templates: Path | None,
    seed: int,
    max_chars: int | None,
    conflict_policy: str,
    on_error: str,
    as_json: bool,
) -> None:
    """Convert raw CHIP-2021 dialogs (SRC, JSON lines) into PromptCBLUE attr_cls records.

    Each dialog becomes `患者：…`/`医生：…` lines, its unique mentions in order of first
    appearance, and a target with the header and one `实体：长标签` line per mention.
    Conflicting labels follow --conflict-policy; an empty label is ignored (a mention with
    only empty labels is left out); `：`, `，` and newlines in mentions are replaced.
    Sample ids are `chip2021-<dialog_id>`, or `chip2021-<dialog_id>-w<k>` for the windows
    of a split dialog. Counts of every policy are printed.
    """
    from harness.datasets.chip2021 import convert_chip2021
    from harness.records import write_records

    _check_output(out)
    check_output_path(out, "-o", [src, templates])
    result = convert_chip2021(
        src,
        templates=templates,
        seed=seed,
        max_chars=max_chars,
        on_error=on_error,  # type: ignore[arg-type]
        conflict_policy=conflict_policy,  # type: ignore[arg-type]
    )
    _report_skipped(result.problems)
    if not result.records:
        s = result.stats
        why = (
            f"{s['dialogs']} dialogs read, none has a labelled mention"
            if s["dialogs"]
            else "no dialog could be read"
            + (f" ({len(result.problems)} bad lines skipped)" if result.problems else "")
        )
        raise HarnessError(f"{src}: nothing to write: {why}; {out} was not written")
    write_records(out, result.records)
    stats = {"path": str(out), **result.stats, "problems": [str(p) for p in result.problems]}
    if as_json:
        emit_json(stats)
        return
    console = console_for(as_json)
    s = result.stats
    console.print(f"wrote {s['records']} records from {s['dialogs']} dialogs to {out}", highlight=False)
    scalar = [
        (k, v) for k, v in s.items() if isinstance(v, int) and k not in ("dialogs", "records", "max_chars")
    ]
    console.print(_table("counts", scalar))
    console.print(
        _table(f"conflicts resolved (policy: {s['conflict_policy']})", s["conflicts_resolved_to"].items())
    )
    console.print(_table("labels", s["labels"].items()))


@data.command("inspect")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--on-error",
    type=ON_ERROR,
    default="skip",
    show_default=True,
    help="Unreadable lines: list them (skip) or stop (fail). Content findings are always listed.",
)
@click.option(
    "--max-problems",
    type=click.IntRange(min=0),
    default=20,
    show_default=True,
    help="Problems to print (all with --json).",
)
@json_option
def inspect(file: Path, on_error: str, max_problems: int, as_json: bool) -> None:
    """Summarize a PromptCBLUE file: records per task_dataset and task_type, label distribution,
    templates used, inputs ending in 答：, and problems (FILE:LINE: field X: …).

    Exits 0 when no problem is found, 1 when some are (like a linter), 2 when the file cannot
    be read at all (missing, not a file, UTF-16 or GBK text, a JSON array that does not parse)
    or, with --on-error fail, when a line cannot be read.
    """
    from harness.datasets.inspection import inspect_file, unreadable

    why = unreadable(file)
    if why is not None:
        raise HarnessError(why)
    report = inspect_file(file, on_error=on_error)  # type: ignore[arg-type]
    summary = report.to_json()
    if as_json:
        emit_json(summary)
    else:
        _print_inspect(console_for(as_json), summary, max_problems)
    if report.problem_count:
        raise SystemExit(EXIT_FOUND)


def _print_inspect(console: Console, s: dict[str, Any], max_problems: int) -> None:
    console.print(f"{s['path']}: {s['records']} records", highlight=False)
    ends = s["ends_with_answer"]
    console.print(
        _table(
            "by task_dataset",
            ((k, n, ends[k]["yes"], s["empty_targets"].get(k, 0)) for k, n in s["by_task_dataset"].items()),
            ("task_dataset", "records", "ends in 答：", "empty targets"),
        )
    )
    console.print(_table("by task_type", s["by_task_type"].items(), ("task_type", "records")))
    for ds, labels in s["labels"].items():
        if labels:
            console.print(_table(f"labels: {ds}", labels.items(), ("label", "count")))
    for ds, templates in s["templates"].items():
        console.print(_table(f"templates: {ds}", templates.items(), ("template", "records")))
    counts = {k: v for k, v in s["problem_counts"].items() if v}
    if not counts:
        console.print("no problems found")
        return
    console.print(_table("problems", counts.items(), ("kind", "count")))
    for line in s["problems"][:max_problems]:
        console.print(f"  {line}", highlight=False, markup=False)
    if len(s["problems"]) > max_problems:
        console.print(f"  … and {len(s['problems']) - max_problems} more (--json lists all)", highlight=False)


@data.command("filter")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "-o",
    "--out",
    "out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Output JSONL file.",
)
@click.option("--task-type", multiple=True, help="Keep these task types (repeatable).")
@click.option("--task-dataset", multiple=True, help="Keep these task datasets (repeatable).")
@click.option(
    "--on-error",
    type=ON_ERROR,
    default="fail",
    show_default=True,
    help="Bad lines: stop, or skip with a count.",
)
@json_option
def filter_(
    file: Path,
    out: Path,
    task_type: tuple[str, ...],
    task_dataset: tuple[str, ...],
    on_error: str,
    as_json: bool,
) -> None:
    """Read a PromptCBLUE file (validating every record) and write the records that match."""
    from harness.records import read_records, write_records

    _check_output(out)
    check_output_path(out, "-o", [file])
    result = read_records(file, on_error=on_error)  # type: ignore[arg-type]
    _report_skipped(result.problems)
    kept = [
        r
        for r in result.records
        if (not task_type or r.task_type in task_type)
        and (not task_dataset or r.task_dataset in task_dataset)
    ]
    if not kept:  # an empty output is never what a filter was run for (as with convert)
        if result.records:
            wanted = [f"--task-type {t}" for t in task_type] + [f"--task-dataset {d}" for d in task_dataset]
            why = f"none of its {len(result.records)} records matches {' '.join(wanted)}"
        else:
            why = "it holds no records" + (
                f" ({len(result.problems)} bad lines skipped)" if result.problems else ""
            )
        raise HarnessError(f"{file}: nothing to write: {why}; {out} was not written")
    write_records(out, kept)
    summary = {"path": str(out), "records": len(kept), "bad_lines": len(result.problems)}
    if as_json:
        emit_json(summary)
    else:
        console_for(as_json).print(f"wrote {len(kept)} records to {out}", highlight=False)
