"""Mining synonym proposals for a person to approve (never written to synonyms/ by themselves).

Two sources: a scored prediction file (pairs aligned only by fuzzy score, and a gold entity
left unmatched beside exactly one unmatched prediction with the same label), and CHIP-2021
raw dialogs (each NER `mention` with its normalized `name`).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from harness.errors import Problem
from harness.scoring.synonyms import SynonymTable, normalize_entity


@dataclass
class Proposal:
    canonical: str
    variant: str
    count: int
    source: str  # "fuzzy", "leftover" or "chip"
    examples: list[str] = field(default_factory=list)  # sample or dialog ids
    note: str = ""  # e.g. the variant already belongs to another canonical

    def to_json(self) -> dict[str, Any]:
        return {
            "canonical": self.canonical,
            "variant": self.variant,
            "count": self.count,
            "source": self.source,
            "examples": self.examples,
            "note": self.note,
        }


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


def from_scores(result: Any, table: SynonymTable, min_count: int = 1) -> list[Proposal]:
    """Proposals from a ScoreResult's alignments (the gold name is taken as the canonical)."""
    from harness.scoring.align import identity

    sc = result._scorer
    hits: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    for rec, text, al, _ in result.kept:
        if al is None:
            continue  # every entity matched exactly
        cs = sc.choices(rec)
        gold_items = sc.reader.read(rec.target, cs).dedup()[0]
        pred_items = sc.reader.read(text, cs).items
        al = al or identity(len(gold_items))
        for i, j in enumerate(al.pred_of):
            if j >= 0 and al.how[i] == "fuzzy":
                hits[(gold_items[i].name, pred_items[j].name, "fuzzy")].append(rec.sample_id)
        lost = [i for i, j in enumerate(al.pred_of) if j < 0]
        if len(lost) == 1:
            g = gold_items[lost[0]]
            same = [j for j in al.extra if pred_items[j].label == g.label]
            if len(same) == 1:
                hits[(g.name, pred_items[same[0]].name, "leftover")].append(rec.sample_id)
    return _collect(hits, table, min_count)


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
