"""Failure taggers: one function per failure mode, registered by name with `@tagger`.

A tagger reads one scored sample (`SampleView`) and returns the indices of the offending
lines (an empty list means "not tagged"). Lines of the prediction unless the tagger is
registered with `source="gold"` (missing: the gold lines nobody predicted). The summary
counts samples per tag.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from harness.records import Record
from harness.scoring.align import Alignment, Item
from harness.scoring.parse import HEADER, KEPT, NO_SEPARATOR, Parsed


@dataclass(slots=True)
class SampleView:
    """Everything a tagger may look at for one sample."""

    record: Record
    pred_text: str
    gold: Parsed
    pred: Parsed
    gold_items: list[Item]
    pred_items: list[Item]
    alignment: Alignment
    listed: frozenset[str] | None  # canonical keys of the input's entity list, when it has one
    input_norm: str  # normalized input text (for inputs that list no entities)


TaggerFn = Callable[[SampleView], list[int]]


@dataclass(frozen=True)
class Tagger:
    name: str
    fn: TaggerFn
    source: str  # "pred" or "gold": which text the returned line indices point into
    doc: str


TAGGERS: dict[str, Tagger] = {}


def tagger(name: str, *, source: str = "pred") -> Callable[[TaggerFn], TaggerFn]:
    """Register a tagger under `name` (a suite's `scoring.taggers` picks them by name)."""

    def register(fn: TaggerFn) -> TaggerFn:
        TAGGERS[name] = Tagger(name, fn, source, (fn.__doc__ or "").strip().split("\n")[0])
        return fn

    return register


@tagger("conflict")
def conflict(s: SampleView) -> list[int]:
    """One entity (after canonicalization) predicted with two or more labels."""
    labels: dict[str, set[str]] = {}
    for p in s.pred_items:
        labels.setdefault(p.key, set()).add(p.label)
    bad = {k for k, v in labels.items() if len(v) > 1}
    return [p.line for p in s.pred_items if p.key in bad] if bad else []


@tagger("duplicate")
def duplicate(s: SampleView) -> list[int]:
    """The same (entity, label) pair predicted more than once."""
    seen: dict[tuple[str, str], int] = {}
    lines: list[int] = []
    for p in s.pred_items:
        k = (p.norm, p.label)
        if k in seen:
            if seen[k] >= 0:
                lines.append(seen[k])
                seen[k] = -1
            lines.append(p.line)
        else:
            seen[k] = p.line
    return sorted(lines)


@tagger("drift")
def drift(s: SampleView) -> list[int]:
    """Off-format output: no parsable pairs, prose lines, or labels outside the record's choices."""
    if not s.pred.pairs:
        return [i for i, line in enumerate(s.pred.lines) if line.strip()] or [0]
    choices = set(s.record.answer_choices or ())
    bad = {p.line for p in s.pred.pairs if not p.known_label or p.raw_label not in choices}
    bad.update(i for i, status, _ in s.pred.diags if status == NO_SEPARATOR)
    return sorted(bad)


@tagger("hallucination")
def hallucination(s: SampleView) -> list[int]:
    """A predicted entity that is neither in the input's entity list (nor a synonym of one) nor in gold."""
    gold_keys = {g.key for g in s.gold_items}
    out = []
    for j in s.alignment.extra:
        p = s.pred_items[j]
        if p.key in gold_keys or p.norm in gold_keys:
            continue
        if s.listed is not None:
            if p.key not in s.listed:
                out.append(p.line)
        elif p.norm not in s.input_norm:
            out.append(p.line)
    return out


@tagger("missing", source="gold")
def missing(s: SampleView) -> list[int]:
    """A gold entity that no prediction covers (its label is `none`)."""
    return [s.gold_items[i].line for i, j in enumerate(s.alignment.pred_of) if j < 0]


@tagger("header")
def header(s: SampleView) -> list[int]:
    """The header line is missing, so the official rule drops the first entity line."""
    first = next((status for i, status, _ in s.pred.diags if i == 0), None)
    if first == KEPT and s.pred.header_line is None:
        return [0]
    return []


_ENTITY_LIST = re.compile(r"^(?:临床发现实体|候选实体|实体列表|实体)[：:]([^\n]*)$", re.MULTILINE)
_LIST_SPLIT = re.compile(r"[，,、；;]")


def listed_entities(input_text: str) -> list[str]:
    """The entity names an attr_cls input lists (its "临床发现实体：…" line); [] when it lists none."""
    found = _ENTITY_LIST.findall(input_text)
    if not found:
        return []
    return [e.strip() for e in _LIST_SPLIT.split(found[-1]) if e.strip()]  # the list follows the dialogue


__all__ = ["HEADER", "TAGGERS", "SampleView", "Tagger", "listed_entities", "tagger"]
