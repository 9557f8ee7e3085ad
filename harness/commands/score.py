"""`harness score`: score a prediction file against a PromptCBLUE gold file."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from harness.commands._common import console_for, emit_json, json_option

if TYPE_CHECKING:
    from harness.scoring.pipeline import ScoringConfig


def _fmt(x: float) -> str:
    return f"{x:.4f}"


def _ci(summary: dict[str, Any], key: str) -> str:
    ci = summary.get("ci", {}).get(key)
    return f"{ci[0]:.4f}–{ci[1]:.4f}" if ci else "–"


def _config(
    config_path: str | None, synonyms: tuple[str, ...], resamples: int | None, seed: int | None
) -> ScoringConfig:
    """The ScoringConfig from --config (a scoring block, or a suite holding one) and the flags."""
    from pydantic import ValidationError

    from harness.errors import HarnessError
    from harness.safeio import read_yaml_file
    from harness.scoring.pipeline import ScoringConfig

    options: dict[str, Any] = {}
    where = "scoring options"
    if config_path:
        loaded = read_yaml_file(config_path, "scoring config")
        where = config_path
        if isinstance(loaded, dict) and "scoring" in loaded:
            loaded, where = loaded["scoring"], f"{config_path} (scoring:)"
        if loaded is None:  # an empty file or `scoring:` with nothing under it: the defaults
            loaded = {}
        if not isinstance(loaded, dict):
            raise HarnessError(
                f"{where}: expected a mapping of scoring options (or a suite with a scoring: block), "
                f"got {type(loaded).__name__}"
            )
        options = dict(loaded)
    if synonyms:
        options["synonyms"] = list(synonyms)
    if resamples is not None:
        options["bootstrap_resamples"] = resamples
    if seed is not None:
        options["seed"] = seed
    unknown = sorted(str(k) for k in options if k not in ScoringConfig.model_fields)
    if unknown:
        raise HarnessError(
            f"{where}: unknown scoring option(s) {', '.join(unknown)}; valid: {', '.join(ScoringConfig.model_fields)}"
        )
    try:
        cfg = ScoringConfig.model_validate(options)
    except ValidationError as e:  # name each bad option and why, without pydantic's URLs
        detail = "; ".join(f"{'.'.join(map(str, x['loc'])) or 'options'}: {x['msg']}" for x in e.errors())
        raise HarnessError(f"{where}: bad scoring option(s): {detail}") from None
    return cfg


def _check_trace_path(trace: str, synonyms: tuple[str, ...], *inputs: str | None) -> None:
    """Refuse a --trace path that is an input or lies in a dictionary folder: writing it would damage it."""
    from harness.safeio import check_output_path
    from harness.scoring.synonyms import default_synonym_dirs

    dirs = list(synonyms) if synonyms else default_synonym_dirs()
    check_output_path(trace, "--trace", [*inputs, *dirs])


def render_summary(summary: dict[str, Any], console: Any, task: str | None = None) -> None:
    """The rich tables of a score summary: one task's blocks (`task` names it), or the micro
    average of several and then each task's blocks. A task's blocks are the sections its
    `report` lists, as in `harness report`: metrics (the scores table), per_label, failures."""
    if "by_task" in summary:
        _render_micro(summary, console)
        for name, block in summary["by_task"].items():
            _render_task(block, console, f"{name}: ", name)
    else:
        _render_task(summary, console, "", task)
    notes = []
    if summary.get("skipped"):
        notes.append(f"skipped records of other tasks (task_dataset: count): {summary['skipped']}")
    if summary.get("unpredicted"):
        notes.append(f"scored as empty (no prediction): {summary['unpredicted']}")
    for n in notes:
        console.print(f"[dim]{n}[/dim]")


def _render_micro(summary: dict[str, Any], console: Any) -> None:
    from rich.table import Table

    tasks = ", ".join(summary["by_task"])
    t = Table(
        title=f"micro average over {len(summary['by_task'])} tasks ({tasks}; {summary['samples']} samples)"
    )
    for col in ("metric", "P", "R", "F1", "95% CI", "TP", "FP", "FN"):
        t.add_column(col, justify="left" if col == "metric" else "right", no_wrap=True)
    for name, ci in (("official", "official_f1"), ("canonical", "canonical_f1")):
        block = summary[name]
        t.add_row(
            name, _fmt(block["precision"]), _fmt(block["recall"]), _fmt(block["f1"]), _ci(summary, ci),
            str(block["tp"]), str(block["fp"]), str(block["fn"]),
        )  # fmt: skip
    console.print(t)


def _render_task(summary: dict[str, Any], console: Any, prefix: str, task_name: str | None) -> None:
    """The sections of one task's summary that its `report` lists (a task harness does not know: all)."""
    from harness.scoring.tasks import REPORT_SECTIONS, TASKS

    task = TASKS.get(task_name) if task_name else None
    shown = task.report if task is not None else REPORT_SECTIONS
    for section, render in (
        ("metrics", _metrics_table),
        ("per_label", _per_label_table),
        ("failures", _failures_table),
    ):
        if section in shown:
            render(summary, console, prefix)


def _metrics_table(summary: dict[str, Any], console: Any, prefix: str) -> None:
    from rich.table import Table

    off, can, cls = summary["official"], summary["canonical"], summary["classification"]
    t = Table(title=f"{prefix}scores ({summary['samples']} samples, {cls['items']} gold items)")
    for col in ("metric", "P", "R", "F1 / value", "95% CI", "TP", "FP", "FN"):
        t.add_column(col, justify="left" if col == "metric" else "right", no_wrap=True)
    for name, block, ci in (("official", off, "official_f1"), ("canonical", can, "canonical_f1")):
        t.add_row(
            name, _fmt(block["precision"]), _fmt(block["recall"]), _fmt(block["f1"]), _ci(summary, ci),
            str(block["tp"]), str(block["fp"]), str(block["fn"]),
        )  # fmt: skip
    for name in ("accuracy", "macro_f1", "micro_f1"):
        t.add_row(f"cls {name}", "", "", _fmt(cls[name]), _ci(summary, name), "", "", "")
    console.print(t)


def _per_label_table(summary: dict[str, Any], console: Any, prefix: str) -> None:
    from rich.table import Table

    per = Table(title=f"{prefix}per label (revised protocol)")
    for col in ("label", "precision", "recall", "F1", "support"):
        per.add_column(col, justify="left" if col == "label" else "right")
    for label, v in summary["classification"]["per_label"].items():
        per.add_row(label, _fmt(v["precision"]), _fmt(v["recall"]), _fmt(v["f1"]), str(v["support"]))
    console.print(per)


def _failures_table(summary: dict[str, Any], console: Any, prefix: str) -> None:
    from rich.table import Table

    fails = Table(title=f"{prefix}failure tags (samples)")
    fails.add_column("tag")
    fails.add_column("samples", justify="right")
    for tag, n in summary["failures"].items():
        fails.add_row(tag, str(n))
    console.print(fails)


@click.command("score")
@click.option(
    "--gold",
    "gold",
    required=True,
    type=click.Path(dir_okay=False),
    help="PromptCBLUE gold file (JSON lines or array).",
)
@click.option(
    "--pred",
    "pred",
    required=True,
    type=click.Path(dir_okay=False),
    help="Predictions: sample_id + text, or the submission form (target).",
)
@click.option(
    "--synonyms",
    "synonyms",
    multiple=True,
    type=click.Path(),
    help="Synonym dictionary dir or file (repeatable; default: the project's synonyms/).",
)
@click.option(
    "--trace", "trace", type=click.Path(dir_okay=False), help="Write per-sample traces (JSON lines) here."
)
@click.option(
    "--allow-missing", is_flag=True, help="Score gold samples with no prediction as empty predictions."
)
@click.option("--system", default=None, help="Pick one system's rows from a multi-system prediction file.")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    help="YAML file with scoring options (a suite's scoring block).",
)
@click.option(
    "--resamples",
    type=click.IntRange(0, None),
    default=None,
    help="Bootstrap resamples for the CIs (0 = no CIs).",
)
@click.option("--seed", type=click.IntRange(0, None), default=None, help="Bootstrap seed (0 or more).")
@click.option(
    "--text-field",
    "text_field",
    default=None,
    help="Read each prediction's text from this field (default: text, else target).",
)
@json_option
def score(
    gold: str,
    pred: str,
    synonyms: tuple[str, ...],
    trace: str | None,
    allow_missing: bool,
    system: str | None,
    config_path: str | None,
    resamples: int | None,
    seed: int | None,
    text_field: str | None,
    as_json: bool,
) -> None:
    """Score predictions against gold: the official PromptCBLUE rule and the revised protocol.

    Each gold record is scored by its task_dataset's task (CHIP-MDCFNPC, IMCS-V2-SR, CMeEE-V2);
    records of other tasks are skipped and counted, and predictions for them are ignored. A
    gold file of several tasks prints their micro average and then each task's blocks
    (`by_task` in --json).
    Prediction ids must match the scored gold ids exactly: unknown or duplicate ids are
    errors, and so are missing ones unless --allow-missing.
    """
    from harness.errors import HarnessError
    from harness.jsonl import dumps_line
    from harness.predictions import check_ids, read_predictions
    from harness.records import read_gold
    from harness.scoring.pipeline import is_scorable
    from harness.scoring.pipeline import score as run_score

    cfg = _config(config_path, synonyms, resamples, seed)
    if trace:
        _check_trace_path(trace, synonyms, gold, pred, config_path)
    records = read_gold(gold, is_scorable)
    scorable = [r for r in records if is_scorable(r)]
    if not scorable:
        from harness.scoring.tasks import TASKS

        raise HarnessError(
            f"{gold}: no records to score: expected records of a registered task with answer_choices "
            f"(task_dataset one of {', '.join(TASKS)})"
        )
    other = {r.sample_id for r in records} - {r.sample_id for r in scorable}
    preds = read_predictions(pred, system=system, text_field=text_field)
    preds = {k: v for k, v in preds.items() if k not in other}
    check_ids(preds, [r.sample_id for r in scorable], allow_missing, pred)
    result = run_score(records, preds, cfg)
    if trace:
        from harness.jsonl import atomic_write_text

        atomic_write_text(trace, "".join(dumps_line(t) for t in result.traces))
    if as_json:
        emit_json(result.summary)
    else:
        render_summary(result.summary, console_for(False), result.tasks[0])
        if trace:
            console_for(False).print(f"traces: {trace}")
