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
    type=click.IntRange(min=1),
    default=None,
    help="Keep proposals seen at least this often (default 1; 2 for --chip).",
)
@click.option(
    "--limit",
    type=click.IntRange(min=0),
    default=50,
    show_default=True,
    help="Show at most this many proposals.",
)
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
    if out:
        from harness.safeio import check_output_path
        from harness.scoring.synonyms import default_synonym_dirs

        check_output_path(out, "--out", [gold, pred, chip, *(_dirs(dirs) or default_synonym_dirs())])
    table = load_synonyms(_dirs(dirs))
    proposals: list[S.Proposal] = []
    if gold and pred:
        from harness.predictions import check_ids, read_predictions
        from harness.records import read_gold
        from harness.scoring.pipeline import ScoringConfig, is_scorable, score

        # the scorer's own gold reader: a bad line is an error, not a record mined as empty
        records = [r for r in read_gold(gold, is_scorable) if is_scorable(r)]
        if not records:
            raise HarnessError(f"{gold}: no attr_cls records with answer choices to mine")
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
    from rich.markup import escape
    from rich.table import Table

    console = console_for(False)
    t = Table(title=f"synonym proposals ({len(proposals)}; showing {min(limit, len(proposals))})")
    for col in ("canonical", "variant", "count", "source", "examples", "note"):
        t.add_column(col)
    for p in proposals[:limit]:
        cells = (p.canonical, p.variant, str(p.count), p.source, ", ".join(p.examples), p.note)
        t.add_row(*(escape(c) for c in cells))  # names are data, never rich markup
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
    """Add VARIANTS under CANONICAL (refused when another canonical owns a variant).

    The file is rewritten with a YAML emitter (one block per canonical; the comment block at
    its top is kept) and replaced only once the new text reads back as the intended dictionary.
    """
    from harness.scoring.synonyms import add_synonyms

    r = add_synonyms(canonical, list(variants), file=file, dirs=_dirs(dirs))
    note = (
        f"{r.path} is not among the dictionaries read by default: pass --synonyms {r.path} to score with it"
        if r.outside and r.added
        else None
    )
    result: dict[str, Any] = {
        "file": str(r.path),
        "canonical": r.canonical,
        "added": r.added,
        "skipped": [{"variant": v, "why": why} for v, why in r.skipped],
        "note": note,
    }
    if as_json:
        emit_json(result)
        return
    console = console_for(False)
    for v, why in r.skipped:
        console.print(f"skipped {v!r}: {why}", highlight=False, markup=False)
    msg = f"added {', '.join(r.added)} under {r.canonical} in {r.path}" if r.added else "nothing new to add"
    console.print(msg, highlight=False, markup=False)
    if note:
        console.print(f"note: {note}", highlight=False, markup=False)


@synonyms.command("check")
@_SYN_OPT
@json_option
def check(dirs: tuple[str, ...], as_json: bool) -> None:
    """Validate the dictionaries: files that do not read (encoding, YAML, duplicate keys, shape),
    duplicates, a variant under two canonicals, chains and cycles.

    Exit 1 when problems are found; 2 when a path cannot be read at all (missing, a folder
    without dictionaries, no permission).
    """
    from rich.markup import escape

    from harness.errors import EXIT_FOUND
    from harness.scoring.synonyms import scan_synonyms

    entries, problems = scan_synonyms(_dirs(dirs))
    summary = {
        "ok": not problems,
        "problems": problems,
        "canonicals": len(entries),
        "variants": sum(len(e.variants) for e in entries),
    }
    if as_json:
        emit_json(summary)
    else:
        console = console_for(False)
        for p in problems:
            console.print(f"[red]problem[/red] {escape(p)}", highlight=False, soft_wrap=True)
        console.print(
            f"{summary['canonicals']} canonicals, {summary['variants']} variants, {len(problems)} problem(s)"
        )
        if problems:
            console.print(
                "Fix each file:line above, then run `harness synonyms check` again (`harness score` "
                "refuses a file that does not read; of duplicates it keeps the first read).",
                highlight=False,
                markup=False,
                soft_wrap=True,
            )
    if problems:
        raise SystemExit(EXIT_FOUND)
