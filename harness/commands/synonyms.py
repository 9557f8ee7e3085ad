"""`harness synonyms`: suggest, add and check the curated synonym dictionaries."""

from __future__ import annotations

from pathlib import Path
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
@click.argument("run_dir", required=False, type=click.Path(path_type=Path))
@click.option("--system", "systems", multiple=True, help="With RUN_DIR: mine only this system (repeatable).")
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
    run_dir: Path | None,
    systems: tuple[str, ...],
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
    """Propose synonym pairs for a person to approve (nothing is written to synonyms/).

    From a run folder RUN_DIR (every system's stored predictions, scored with the run's scoring
    settings as they are now) or --gold/--pred: a gold entity and a predicted one left unaligned
    in the same sample cost canonical points; each such pair whose names look like one finding
    (an abbreviation such as 眼睛干涩/眼干, a character variant such as 头痛/头疼, the same
    characters reordered, a shared jieba word, most characters shared) is proposed with its
    evidence (samples, count) and the canonical F1 it would gain if accepted, largest first.
    Pairs the fuzzy matcher already aligns follow (they cost nothing). A pair whose names the
    dictionaries hold under two different canonicals is never proposed. From --chip: NER
    mentions whose normalized name differs and that the dictionaries do not map yet.
    """
    from harness.errors import HarnessError
    from harness.scoring import suggest as S

    if not chip and not (gold and pred) and run_dir is None:
        raise HarnessError("give a run folder, --gold and --pred, or --chip FILE")
    if run_dir is not None and (gold or pred):
        raise HarnessError("give a run folder or --gold/--pred, not both")
    if systems and run_dir is None:
        raise HarnessError("--system picks systems of a run folder: give the run folder too")
    if out:
        from harness.safeio import check_output_path
        from harness.scoring.synonyms import default_synonym_dirs

        inputs = [gold, pred, chip, run_dir, *(_dirs(dirs) or default_synonym_dirs())]
        check_output_path(out, "--out", inputs)
    proposals: list[S.Proposal] = []
    if run_dir is not None:
        proposals += _from_run(run_dir, list(systems), _dirs(dirs), min_count or 1)
    elif gold and pred:
        proposals += _from_files(gold, pred, allow_missing, _dirs(dirs), min_count or 1)
    if chip:
        from harness.scoring.synonyms import load_synonyms

        proposals += S.from_chip(chip, load_synonyms(_dirs(dirs)), min_count or 2)
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
    _print_proposals(proposals, limit, run_dir)


def _from_files(
    gold: str, pred: str, allow_missing: bool, dirs: list[str] | None, min_count: int
) -> list[Any]:
    from harness.errors import HarnessError
    from harness.predictions import check_ids, read_predictions
    from harness.records import read_gold
    from harness.scoring import suggest as S
    from harness.scoring.pipeline import ScoringConfig, is_scorable, score

    # the scorer's own gold reader: a bad line is an error, not a record mined as empty
    records = [r for r in read_gold(gold, is_scorable) if is_scorable(r)]
    if not records:
        raise HarnessError(f"{gold}: no attr_cls records with answer choices to mine")
    preds = read_predictions(pred)
    preds = {k: v for k, v in preds.items() if k in {r.sample_id for r in records}}
    check_ids(preds, [r.sample_id for r in records], allow_missing, pred)
    cfg = ScoringConfig(synonyms=dirs, bootstrap_resamples=0)
    result = score(records, preds, cfg)
    return S.from_scores([S.Mined("pred", preds, result)], result._scorer.table, cfg, min_count)


def _from_run(run_dir: Path, systems: list[str], dirs: list[str] | None, min_count: int) -> list[Any]:
    """Every (or each named) system of a run, scored with the run's scoring settings as they are now."""
    from harness.errors import HarnessError
    from harness.records import read_records
    from harness.rescoring import current_scoring
    from harness.runs import open_run, read_manifest
    from harness.scoring import suggest as S
    from harness.scoring.pipeline import Scorer, score
    from harness.steps import load_run_predictions

    run = open_run(run_dir, strict=True)
    manifest = read_manifest(run)
    order = (manifest.get("scores_header") or {}).get("order") or run.systems()
    unknown = [s for s in systems if s not in order]
    if unknown:
        raise HarnessError(
            f"--system: {run_dir} has no system {', '.join(unknown)}; systems: {', '.join(order)}"
        )
    cfg = current_scoring(run, manifest).model_copy(update={"bootstrap_resamples": 0})
    if dirs:
        cfg = cfg.model_copy(update={"synonyms": [Path(d) for d in dirs]})
    scorer = Scorer(cfg)
    test = read_records(run.test_records).records
    mined = []
    for s in systems or order:
        preds = load_run_predictions(run, s)
        mined.append(S.Mined(s, preds, score(test, preds, scorer=scorer)))
    return S.from_scores(mined, scorer.table, cfg, min_count)


def _print_proposals(proposals: list[Any], limit: int, run_dir: Path | None) -> None:
    from rich.markup import escape
    from rich.table import Table

    console = console_for(False)
    t = Table(title=f"synonym proposals ({len(proposals)}; showing {min(limit, len(proposals))})")
    for col in ("canonical", "variant", "why", "samples", "gain", "examples", "note"):
        # ids and names are folded, never cut to '…': they are what a reviewer looks up
        t.add_column(col, justify="right" if col in ("samples", "gain") else "left", overflow="fold")
    for p in proposals[:limit]:
        gain = "" if p.gain is None else f"{p.gain:+.4f}"
        if len(p.gains) > 1:
            gain += f" ({max(p.gains, key=p.gains.get)})"
        why = p.kind or p.source
        if p.source == "fuzzy":
            why += " (aligned by fuzzy score)"
        cells = (p.canonical, p.variant, why, str(p.count), gain, ", ".join(p.examples), p.note)
        t.add_row(*(escape(c) for c in cells))  # names are data, never rich markup
    console.print(t)
    if any(p.gain is not None for p in proposals[:limit]):
        console.print(
            "gain: canonical F1 gained if the pair is accepted (largest over systems)", highlight=False
        )
    then = f", then `harness rescore {run_dir} --as NAME` to score it as a new run" if run_dir else ""
    console.print(f"Review, then add with: harness synonyms add CANONICAL VARIANT …{then}", highlight=False)


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
    from harness.scoring.synonyms import add_synonyms, display_path

    r = add_synonyms(canonical, list(variants), file=file, dirs=_dirs(dirs))
    path = display_path(r.path)
    note = (
        f"{path} is not among the dictionaries read by default: pass --synonyms {path} to score with it"
        if r.outside and r.added
        else None
    )
    result: dict[str, Any] = {
        "file": path,
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
    msg = f"added {', '.join(r.added)} under {r.canonical} in {path}" if r.added else "nothing new to add"
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
