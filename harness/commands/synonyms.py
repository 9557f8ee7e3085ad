"""`harness synonyms`: suggest, add and check the curated synonym dictionaries."""

from __future__ import annotations

from typing import Any

import click

from harness.commands._common import console_for, emit_json, json_option

_SYN_OPT = click.option(
    "--synonyms",
    "dirs",
    multiple=True,
    type=click.Path(),
    help="Dictionary dir or file (repeatable; default: the project's synonyms/).",
)


def _dirs(dirs: tuple[str, ...]) -> list[str] | None:
    return list(dirs) if dirs else None


@click.group("synonyms", context_settings={"help_option_names": ["-h", "--help"]})
def synonyms() -> None:
    """Suggest, add and check the curated synonym dictionaries (YAML: canonical → variants)."""


@synonyms.command("suggest")
@click.option("--gold", type=click.Path(dir_okay=False), help="PromptCBLUE gold file (with --pred).")
@click.option("--pred", type=click.Path(dir_okay=False), help="Predictions to mine mismatched pairs from.")
@click.option(
    "--chip", type=click.Path(dir_okay=False), help="CHIP-2021 raw dialogs: mine NER mention/name pairs."
)
@click.option("--allow-missing", is_flag=True, help="Score gold samples without predictions as empty.")
@click.option(
    "--min-count",
    type=int,
    default=None,
    help="Keep proposals seen at least this often (default 1; 2 for --chip).",
)
@click.option("--limit", type=int, default=50, show_default=True, help="Show at most this many proposals.")
@click.option(
    "--out", type=click.Path(dir_okay=False), help="Also write the proposals as a YAML snippet here."
)
@_SYN_OPT
@json_option
def suggest(
    gold: str | None,
    pred: str | None,
    chip: str | None,
    allow_missing: bool,
    min_count: int | None,
    limit: int,
    out: str | None,
    dirs: tuple[str, ...],
    as_json: bool,
) -> None:
    """Propose new variant groups for a person to approve (nothing is written to synonyms/).

    From --gold/--pred: pairs aligned only by fuzzy score, and a lone unmatched gold entity
    beside a lone unmatched prediction with the same label. From --chip: NER mentions whose
    normalized name differs and that the dictionaries do not map yet.
    """
    from harness.errors import HarnessError
    from harness.scoring import suggest as S
    from harness.scoring.synonyms import load_synonyms

    if not chip and not (gold and pred):
        raise HarnessError("give --gold and --pred, or --chip FILE (or both)")
    table = load_synonyms(_dirs(dirs))
    proposals: list[S.Proposal] = []
    if gold and pred:
        from harness.predictions import check_ids, read_predictions
        from harness.records import read_records
        from harness.scoring.pipeline import ScoringConfig, is_scorable, score

        records = [r for r in read_records(gold).records if is_scorable(r)]
        preds = read_predictions(pred)
        preds = {k: v for k, v in preds.items() if k in {r.sample_id for r in records}}
        check_ids(preds, [r.sample_id for r in records], allow_missing, pred)
        cfg = ScoringConfig(synonyms=_dirs(dirs), bootstrap_resamples=0)
        proposals += S.from_scores(score(records, preds, cfg), table, min_count or 1)
    if chip:
        proposals += S.from_chip(chip, table, min_count or 2)
    if out:
        from harness.jsonl import atomic_write_text

        atomic_write_text(out, S.as_yaml(proposals))
    if as_json:
        emit_json(
            {
                "proposals": [p.to_json() for p in proposals],
                "by_source": S.counts_by_source(proposals),
                "out": out,
            }
        )
        return
    from rich.table import Table

    console = console_for(False)
    t = Table(title=f"synonym proposals ({len(proposals)}; showing {min(limit, len(proposals))})")
    for col in ("canonical", "variant", "count", "source", "examples", "note"):
        t.add_column(col)
    for p in proposals[:limit]:
        t.add_row(p.canonical, p.variant, str(p.count), p.source, ", ".join(p.examples), p.note)
    console.print(t)
    console.print("Review, then add with: harness synonyms add CANONICAL VARIANT …")


@synonyms.command("add")
@click.argument("canonical")
@click.argument("variants", nargs=-1, required=True)
@click.option(
    "--file",
    "file",
    type=click.Path(dir_okay=False),
    help="YAML file for a new canonical (default: the file defining it, else misc.yaml).",
)
@_SYN_OPT
@json_option
def add(
    canonical: str, variants: tuple[str, ...], file: str | None, dirs: tuple[str, ...], as_json: bool
) -> None:
    """Add VARIANTS under CANONICAL (refused when another canonical owns a variant)."""
    from harness.scoring.synonyms import add_synonyms

    path, added = add_synonyms(canonical, list(variants), file=file, dirs=_dirs(dirs))
    result: dict[str, Any] = {"file": str(path), "canonical": canonical, "added": added}
    if as_json:
        emit_json(result)
    else:
        msg = f"added {', '.join(added)} under {canonical} in {path}" if added else "nothing new to add"
        console_for(False).print(msg)


@synonyms.command("check")
@_SYN_OPT
@json_option
def check(dirs: tuple[str, ...], as_json: bool) -> None:
    """Validate the dictionaries: duplicates, a variant under two canonicals, chains and cycles. Exit 1 on problems."""
    from harness.scoring.synonyms import check_synonyms, load_synonyms

    problems = check_synonyms(_dirs(dirs))
    table = load_synonyms(_dirs(dirs))
    summary = {
        "ok": not problems,
        "problems": problems,
        "canonicals": len(table),
        "variants": sum(len(e.variants) for e in table.entries),
    }
    if as_json:
        emit_json(summary)
    else:
        console = console_for(False)
        for p in problems:
            console.print(f"[red]problem[/red] {p}", highlight=False)
        console.print(
            f"{summary['canonicals']} canonicals, {summary['variants']} variants, {len(problems)} problem(s)"
        )
    if problems:
        raise SystemExit(1)
