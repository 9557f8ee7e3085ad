"""Mining synonym proposals for a person to approve (never written to synonyms/ by themselves).

Two sources. Scored predictions (a run folder, or a gold and a prediction file): a gold entity
and a predicted one left unaligned in the same sample cost canonical points, so each such pair
whose names look like one finding (an abbreviation, a character variant such as 痛/疼, the same
characters reordered, a shared jieba word or most characters shared) is a candidate, ranked by
the canonical F1 it would gain if accepted (recomputed on the samples it touches). Pairs the
fuzzy matcher already aligns are listed after them (they cost nothing; a dictionary entry makes
them independent of the threshold). A pair whose names are both in the dictionaries under
different canonicals is never proposed. CHIP-2021 raw dialogs: each NER `mention` with its
normalized `name`.
"""

from __future__ import annotations

import math
import tempfile
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from harness.errors import Problem
from harness.scoring.synonyms import SynonymTable, normalize_entity

# Characters written for one another in finding names (疼/痛 pain, 昏/晕 dizzy, 涨/胀 bloated,
# 燥/干 dry, 冷/凉 cold).
CHAR_VARIANTS = tuple(map(frozenset, ("痛疼", "晕昏", "胀涨", "干燥", "凉冷")))
# The kinds of variant that say two names are one finding; others only say they look alike.
KNOWN_KINDS = ("reordered", "character variant", "abbreviation", "longer form")


@dataclass
class Proposal:
    canonical: str
    variant: str
    count: int  # samples (of every system mined) where the pair was seen
    source: str  # "unaligned", "fuzzy" or "chip"
    examples: list[str] = field(default_factory=list)  # sample or dialog ids
    note: str = ""  # e.g. the variant already belongs to another canonical
    kind: str = ""  # why the names look like one finding (see `variant_kind`)
    gain: float | None = None  # canonical F1 gained if accepted (the largest over systems)
    gains: dict[str, float] = field(default_factory=dict)  # per system

    def to_json(self) -> dict[str, Any]:
        return {
            "canonical": self.canonical,
            "variant": self.variant,
            "count": self.count,
            "source": self.source,
            "examples": self.examples,
            "note": self.note,
            "kind": self.kind,
            "gain": self.gain,
            "gains": self.gains,
        }


def _subsequence(short: str, long: str) -> bool:
    it = iter(long)
    return all(ch in it for ch in short)


def _words(name: str) -> set[str]:
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)  # its start-up chatter is not ours to print
    return {w for w in jieba.lcut(name) if len(w) > 1}


def variant_kind(a: str, b: str) -> str | None:
    """Why two normalized names look like one finding, or None when nothing says so.

    Known kinds (KNOWN_KINDS): the same characters reordered (头晕乏力/乏力头晕), a character
    variant (头痛/头疼), one name inside the other (发热/发热了) or its characters in order
    (眼睛干涩/眼干: an abbreviation). Weaker: a shared jieba word of two or more characters, or
    at least half of the shorter name's characters shared. Pairs like 消瘦/反胃 share nothing.
    """
    if a == b or not a or not b:
        return None
    if sorted(a) == sorted(b):
        return "reordered"
    if len(a) == len(b):
        diff = [(x, y) for x, y in zip(a, b, strict=True) if x != y]
        if all(any({x, y} <= v for v in CHAR_VARIANTS) for x, y in diff):
            return "character variant " + ", ".join(f"{x}/{y}" for x, y in diff)
    short, long = sorted((a, b), key=len)
    if short in long:
        return "longer form"
    if _subsequence(short, long):
        return "abbreviation"
    shared_words = _words(a) & _words(b)
    if shared_words:
        return "shared word " + "/".join(sorted(shared_words))
    shared = sum((Counter(a) & Counter(b)).values())
    if 2 * shared >= len(short):
        return f"{shared} of {len(short)} characters shared"
    return None


def is_known_kind(kind: str) -> bool:
    return kind.startswith(KNOWN_KINDS)


def _known(table: SynonymTable, canonical: str, variant: str) -> tuple[bool, str]:
    """Whether the pair is already in the table, and a note when the variant belongs elsewhere."""
    c, v = table.canonical(normalize_entity(canonical)), normalize_entity(variant)
    owner = table.to_canonical.get(v)
    if owner == c or v == c:
        return True, ""
    return False, f"already under {owner!r}" if owner is not None else ""


def _collect(
    hits: dict[tuple[str, str, str], list[str]], table: SynonymTable, min_count: int
) -> list[Proposal]:
    out = []
    for (canon, variant, source), ids in hits.items():
        known, note = _known(table, canon, variant)
        if known or len(ids) < min_count:
            continue
        out.append(Proposal(canon, variant, len(ids), source, ids[:3], note))
    out.sort(key=lambda p: (-p.count, p.canonical, p.variant))
    return out


@dataclass
class Mined:
    """One system's scored predictions: what `from_scores` mines pairs from."""

    system: str
    predictions: dict[str, str]
    result: Any  # its ScoreResult under `config`


def _orient(table: SynonymTable, spelled: dict[str, str], gold: str, pred: str) -> tuple[str, str] | None:
    """(canonical, variant) for a gold/predicted name pair, or None when the dictionaries say
    they are different findings (or already one). A name the dictionaries know keeps its group:
    the unknown name joins it; two unknown names make a new group under the gold name."""
    g, p = normalize_entity(gold), normalize_entity(pred)
    cg, cp = table.to_canonical.get(g), table.to_canonical.get(p)
    if cg is not None and cp is not None:
        return None
    if cg is not None:
        return spelled.get(cg, cg), pred
    if cp is not None:
        return spelled.get(cp, cp), gold
    return gold, pred


def from_scores(mined: list[Mined], table: SynonymTable, config: Any, min_count: int = 1) -> list[Proposal]:
    """Proposals from scored predictions: unaligned gold/predicted pairs of one sample that look
    like one finding, ranked by canonical F1 gained if accepted; then fuzzy-aligned pairs."""
    from harness.scoring.align import identity
    from harness.scoring.tasks import task_of

    hits: dict[tuple[str, str, str], list[tuple[str, str]]] = defaultdict(list)
    kinds: dict[tuple[str, str], str] = {}
    touched: dict[str, dict[str, list[int]]] = {}  # system -> normalized name -> sample indices
    spelled = {normalize_entity(e.canonical): e.canonical for e in table.entries}
    for m in mined:
        sc = m.result._scorer
        names = touched[m.system] = defaultdict(list)
        for k, (rec, text, al, _) in enumerate(m.result.kept):
            task = task_of(rec)
            if task is None or task.engine != "attr_cls":
                continue  # synonyms name findings; a ner mention is a span, never renamed
            cs = sc.choices(rec)
            reader = sc.reader_for(task)
            gold_items = reader.read(rec.target, cs).dedup()[0]
            pred_items = reader.read(text, cs).items
            for it in {*gold_items, *pred_items}:
                names[it.norm].append(k)
            if al is None:
                continue  # every entity matched exactly
            al = al or identity(len(gold_items))
            pairs = [
                (gold_items[i].name, pred_items[j].name, "fuzzy")
                for i, j in enumerate(al.pred_of)
                if j >= 0 and al.how[i] == "fuzzy"
            ]
            lost = [i for i, j in enumerate(al.pred_of) if j < 0]
            pairs += [(gold_items[i].name, pred_items[j].name, "unaligned") for i in lost for j in al.extra]
            for gold, pred, source in pairs:
                oriented = _orient(table, spelled, gold, pred)
                if oriented is None:
                    continue
                kind = kinds.get(oriented)
                if kind is None:
                    kind = kinds[oriented] = variant_kind(*map(normalize_entity, oriented)) or ""
                if kind:
                    hits[(*oriented, source)].append((m.system, rec.sample_id))
    out = []
    several = len(mined) > 1
    for (canon, variant, source), where in hits.items():
        known, note = _known(table, canon, variant)
        samples = list(dict.fromkeys(where))
        if known or len(samples) < min_count:
            continue
        examples = [f"{s}:{sid}" if several else sid for s, sid in samples[:3]]
        out.append(Proposal(canon, variant, len(samples), source, examples, note, kinds[(canon, variant)]))
    # one entry per pair: unaligned somewhere outranks fuzzy-aligned elsewhere
    seen: set[tuple[str, str]] = set()
    out.sort(key=lambda p: p.source != "unaligned")
    out = [p for p in out if (p.canonical, p.variant) not in seen and not seen.add((p.canonical, p.variant))]
    _gains(out, mined, touched, config)
    out.sort(key=_rank)
    return out


def _rank(p: Proposal) -> tuple[Any, ...]:
    """Pairs that cost points first, those of a known variant kind before the merely alike,
    then by the F1 they would gain and how often they were seen."""
    gain = p.gain or 0.0
    return (gain <= 0, not is_known_kind(p.kind), -gain, -p.count, p.canonical, p.variant)


def _gains(
    proposals: list[Proposal], mined: list[Mined], touched: dict[str, dict[str, list[int]]], config: Any
) -> None:
    """Each proposal's canonical F1 gain per system: the samples naming the variant scored again
    with the pair added to the dictionaries (no other sample's counts can change)."""
    from harness.scoring import metrics as M
    from harness.scoring.pipeline import score
    from harness.scoring.synonyms import default_synonym_dirs, dump_dictionary

    base_dirs = list(config.synonyms) if config.synonyms is not None else default_synonym_dirs()
    cols = [M.CAN_TP, M.CAN_FP, M.CAN_FN]
    kept = {m.system: [k[0] for k in m.result.kept] for m in mined}
    with tempfile.TemporaryDirectory(prefix="harness-suggest-") as tmp:
        for n, p in enumerate(proposals):
            extra = Path(tmp) / f"p{n}.yaml"
            extra.write_text(dump_dictionary({p.canonical: [p.variant]}), encoding="utf-8")
            cfg = config.model_copy(update={"synonyms": [*base_dirs, extra], "bootstrap_resamples": 0})
            for m in mined:
                idx = sorted(set(touched[m.system].get(normalize_entity(p.variant), ())))
                if not idx:
                    continue
                before = m.result.counts[:, cols].sum(axis=0)
                sub = [kept[m.system][k] for k in idx]
                after = score(sub, {r.sample_id: m.predictions.get(r.sample_id, "") for r in sub}, cfg)
                totals = (
                    before - m.result.counts[idx][:, cols].sum(axis=0) + after.counts[:, cols].sum(axis=0)
                )
                gain = float(M.f1_from(*totals) - M.f1_from(*before))
                p.gains[m.system] = round(gain, 6)
            p.gain = max(p.gains.values(), default=None)


def _chip_pairs(obj: Any, path: str, line: int) -> list[tuple[str, str]] | Problem:
    """(name, mention) of every NER span in one CHIP-2021 dialog, or why the dialog is malformed."""
    if not isinstance(obj, dict):
        return Problem(path, line, None, f"expected a dialog object, found {type(obj).__name__}")
    turns = obj.get("dialog_info")
    if not isinstance(turns, list):
        found = "nothing" if turns is None else type(turns).__name__
        return Problem(path, line, "dialog_info", f"expected a list of turns, found {found}")
    pairs = []
    for t, turn in enumerate(turns):
        ners = turn.get("ner") or [] if isinstance(turn, dict) else None
        if not isinstance(ners, list):
            what = "a turn object" if ners is None else "a list of NER spans under ner"
            return Problem(path, line, f"dialog_info[{t}]", f"expected {what}")
        for ner in ners:
            if not isinstance(ner, dict) or not all(
                isinstance(ner.get(k, ""), str) for k in ("name", "mention")
            ):
                return Problem(
                    path, line, f"dialog_info[{t}].ner", "expected objects with text name and mention"
                )
            pairs.append((ner.get("name", ""), ner.get("mention", "")))
    return pairs


def from_chip(path: str | Path, table: SynonymTable, min_count: int = 2) -> list[Proposal]:
    """Proposals from CHIP-2021 raw dialogs: every NER mention whose normalized name differs.

    A line that is not a well-formed dialog is an error (every such line listed), not a skip.
    """
    from harness.errors import DataError, HarnessError
    from harness.jsonl import iter_json_objects

    hits: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    problems: list[Problem] = []
    dialogs = 0
    for line, obj in iter_json_objects(path):
        dialogs += 1
        pairs = obj if isinstance(obj, Problem) else _chip_pairs(obj, str(path), line)
        if isinstance(pairs, Problem):
            problems.append(pairs)
            continue
        did = str(obj.get("dialog_id", ""))
        for name, mention in pairs:
            name, mention = name.strip(), mention.strip()
            if not name or not mention or name == "undefined" or name == mention:
                continue
            hits[(name, mention, "chip")].append(did)
    if problems:
        raise DataError(problems)
    if not dialogs:
        raise HarnessError(f"{path}: no dialogs to mine (the file holds no JSON objects)")
    # one dialog repeating a mention counts once
    deduped = {k: list(dict.fromkeys(v)) for k, v in hits.items()}
    return _collect(deduped, table, min_count)


def _scalar(text: str) -> str:
    """`text` as one YAML scalar (quoted when YAML needs it: `: `, `#`, `[`, a leading `-`, …)."""
    return yaml.safe_dump([text], default_flow_style=True, allow_unicode=True, width=math.inf)[1:-2]


def as_yaml(proposals: list[Proposal]) -> str:
    """The proposals as a YAML snippet (canonical → variants) for a person to review and paste."""
    groups: dict[str, list[Proposal]] = defaultdict(list)
    for p in proposals:
        groups[p.canonical].append(p)
    lines = ["# Proposed synonyms: review each line before adding it (harness synonyms add)."]
    for canon in sorted(groups, key=lambda c: -sum(p.count for p in groups[c])):
        lines.append(f"{_scalar(canon)}:")
        for p in groups[canon]:
            note = f"; {p.note}" if p.note else ""
            comment = f"{p.source} ×{p.count}{note}".replace("\n", " ")
            lines.append(f"  - {_scalar(p.variant)}  # {comment}")
    return "\n".join(lines) + "\n"


def counts_by_source(proposals: list[Proposal]) -> dict[str, int]:
    return dict(Counter(p.source for p in proposals))
