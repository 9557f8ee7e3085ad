"""`harness score`: score a prediction file against a PromptCBLUE gold file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from harness.commands._common import console_for, emit_json, json_option


def _fmt(x: float) -> str:
    return f"{x:.4f}"


def _ci(summary: dict[str, Any], key: str) -> str:
    ci = summary.get("ci", {}).get(key)
    return f"{ci[0]:.4f}–{ci[1]:.4f}" if ci else "–"


def render_summary(summary: dict[str, Any], console: Any) -> None:
    """The rich tables of a score summary (headline metrics, per label, failures)."""
    from rich.table import Table

    off, can, cls = summary["official"], summary["canonical"], summary["classification"]
    t = Table(title=f"scores ({summary['samples']} samples, {cls['items']} gold entities)")
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
    per = Table(title="per label (revised protocol)")
    for col in ("label", "precision", "recall", "F1", "support"):
        per.add_column(col, justify="left" if col == "label" else "right")
    for label, v in cls["per_label"].items():
        per.add_row(label, _fmt(v["precision"]), _fmt(v["recall"]), _fmt(v["f1"]), str(v["support"]))
    console.print(per)
    fails = Table(title="failure tags (samples)")
    fails.add_column("tag")
    fails.add_column("samples", justify="right")
    for tag, n in summary["failures"].items():
        fails.add_row(tag, str(n))
    console.print(fails)
    notes = []
    if summary.get("skipped"):
        notes.append(f"skipped non-attr_cls records: {summary['skipped']}")
    if summary.get("unpredicted"):
        notes.append(f"scored as empty (no prediction): {summary['unpredicted']}")
    for n in notes:
        console.print(f"[dim]{n}[/dim]")


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
@click.option("--resamples", type=int, default=None, help="Bootstrap resamples for the CIs (0 = no CIs).")
@click.option("--seed", type=int, default=None, help="Bootstrap seed.")
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
    as_json: bool,
) -> None:
    """Score predictions against gold: the official PromptCBLUE rule and the revised protocol.

    Only attr_cls records with answer choices are scored (CHIP-MDCFNPC and IMCS-V2-SR);
    records of other tasks are skipped and counted, and predictions for them are ignored.
    Prediction ids must match the scored gold ids exactly: unknown or duplicate ids are
    errors, and so are missing ones unless --allow-missing.
    """
    from harness.errors import HarnessError
    from harness.jsonl import dumps_line
    from harness.predictions import check_ids, read_predictions
    from harness.records import read_records
    from harness.scoring.pipeline import ScoringConfig, is_scorable
    from harness.scoring.pipeline import score as run_score

    options: dict[str, Any] = {}
    if config_path:
        import yaml

        loaded = yaml.safe_load(Path(config_path).read_text(encoding="utf-8")) or {}
        if not isinstance(loaded, dict):
            raise HarnessError(f"{config_path}: expected a mapping of scoring options")
        options = loaded.get("scoring", loaded)
    if synonyms:
        options["synonyms"] = list(synonyms)
    if resamples is not None:
        options["bootstrap_resamples"] = resamples
    if seed is not None:
        options["seed"] = seed
    unknown = sorted(set(options) - set(ScoringConfig.model_fields))
    if unknown:
        raise HarnessError(
            f"{config_path}: unknown scoring option(s) {', '.join(unknown)}; valid: {', '.join(ScoringConfig.model_fields)}"
        )
    try:
        cfg = ScoringConfig.model_validate(options)
    except Exception as e:  # pydantic's message lists the bad key and the valid ones
        raise HarnessError(f"bad scoring options: {e}") from e

    records = read_records(gold).records
    scorable = [r for r in records if is_scorable(r)]
    if not scorable:
        raise HarnessError(f"{gold}: no attr_cls records with answer choices to score")
    other = {r.sample_id for r in records} - {r.sample_id for r in scorable}
    preds = {k: v for k, v in read_predictions(pred, system=system).items() if k not in other}
    check_ids(preds, [r.sample_id for r in scorable], allow_missing, pred)
    result = run_score(records, preds, cfg)
    if trace:
        from harness.jsonl import atomic_write_text

        atomic_write_text(trace, "".join(dumps_line(t) for t in result.traces))
    if as_json:
        emit_json(result.summary)
    else:
        render_summary(result.summary, console_for(False))
        if trace:
            console_for(False).print(f"traces: {trace}")
