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
from harness.scoring.align import Alignment
from harness.scoring.reader import Item, TextRead, _official_label_off
from harness.scoring.synonyms import normalize_entity


class SampleView:
    """Everything a tagger may look at for one sample (the entity list is read on first use)."""

    __slots__ = (
        "_listed",
        "alignment",
        "gold",
        "gold_items",
        "name_of",
        "pred",
        "pred_text",
        "record",
    )

    def __init__(
        self,
        record: Record,
        pred_text: str,
        gold: TextRead,
        pred: TextRead,
        alignment: Alignment,
        name_of: Callable[[str], tuple[str, str]],
    ) -> None:
        self.record, self.pred_text, self.gold, self.pred = record, pred_text, gold, pred
        self.gold_items = gold.dedup()[0]
        self.alignment = alignment
        self.name_of = name_of
        self._listed: frozenset[str] | bool | None = False

    @property
    def pred_items(self) -> list[Item]:
        return self.pred.items

    @property
    def listed(self) -> frozenset[str] | None:
        """Canonical keys of the input's entity list; None when the input lists none."""
        if self._listed is False:
            names = listed_entities(self.record.input)
            self._listed = frozenset(self.name_of(e)[1] for e in names) if names else None
        return self._listed  # type: ignore[return-value]


TaggerFn = Callable[[SampleView], list[int]]

# Cheap per-sample features the scorer computes anyway; a tagger with a trigger only runs on
# samples where it holds (a tagger without one runs on every sample).
TRIGGERS = ("repeats", "offformat", "extra", "unmatched", "first_pair")


@dataclass(frozen=True)
class Tagger:
    name: str
    fn: TaggerFn
    source: str  # "pred" or "gold": which text the returned line indices point into
    trigger: str | None
    doc: str


TAGGERS: dict[str, Tagger] = {}


def tagger(name: str, *, source: str = "pred", trigger: str | None = None) -> Callable[[TaggerFn], TaggerFn]:
    """Register a tagger under `name` (a suite's `scoring.taggers` picks them by name).

    `trigger` (one of TRIGGERS) is a promise that the tagger never fires on a sample where
    that feature is false, so the scorer can skip it there.
    """
    if trigger is not None and trigger not in TRIGGERS:
        raise ValueError(f"unknown trigger {trigger!r}; valid: {', '.join(TRIGGERS)}")

    def register(fn: TaggerFn) -> TaggerFn:
        TAGGERS[name] = Tagger(name, fn, source, trigger, (fn.__doc__ or "").strip().split("\n")[0])
        return fn

    return register


@tagger("conflict", trigger="repeats")
def conflict(s: SampleView) -> list[int]:
    """One entity (same normalized name) predicted with two or more labels.

    By name, not canonical name: gold itself labels 拉肚子 and 腹泻 apart when the dialogue does.
    """
    labels: dict[str, set[int]] = {}
    for p in s.pred.items:
        labels.setdefault(p.norm, set()).add(p.label)
    bad = {k for k, v in labels.items() if len(v) > 1}
    lines = s.pred.item_lines
    return [lines[j] for j, p in enumerate(s.pred.items) if p.norm in bad] if bad else []


@tagger("duplicate", trigger="repeats")
def duplicate(s: SampleView) -> list[int]:
    """The same (entity, label) pair predicted more than once."""
    seen: dict[tuple[str, int], int] = {}
    out: set[int] = set()
    for p, line in zip(s.pred.items, s.pred.item_lines, strict=True):
        k = (p.norm, p.label)
        if k in seen:
            out.update((seen[k], line))
        else:
            seen[k] = line
    return sorted(out)


@tagger("drift", trigger="offformat")
def drift(s: SampleView) -> list[int]:
    """Off-format output: no parsable pairs, prose lines, or labels outside the record's choices
    (as written, or as the official rule reads them: a trailing space makes 不标注)."""
    if not s.pred.items:
        return [i for i, line in enumerate(s.pred.lines) if line.strip()] or [0]
    choices = frozenset(s.record.answer_choices or ())
    bad = set(s.pred.prose)
    lines = s.pred.item_lines
    bad.update(
        ln for p, ln in zip(s.pred.items, lines, strict=True) if not p.known or p.raw_label not in choices
    )
    bad.update(
        ln for ln in set(lines) if ln < len(s.pred.lines) and _official_label_off(s.pred.lines[ln], choices)
    )
    return sorted(bad)


@tagger("hallucination", trigger="extra")
def hallucination(s: SampleView) -> list[int]:
    """A predicted entity that is neither in the input's entity list (nor a synonym of one) nor in gold."""
    gold_keys = {g.key for g in s.gold_items}
    listed = s.listed
    input_norm = normalize_entity(s.record.input) if listed is None else ""
    out = []
    for j in s.alignment.extra:
        p = s.pred.items[j]
        if p.key in gold_keys or p.norm in gold_keys:
            continue
        if (listed is not None and p.key not in listed) or (listed is None and p.norm not in input_norm):
            out.append(s.pred.item_lines[j])
    return out


@tagger("missing", source="gold", trigger="unmatched")
def missing(s: SampleView) -> list[int]:
    """A gold entity that no prediction covers (its label is `none`)."""
    lines = s.gold.dedup_lines()
    return [lines[i] for i, j in enumerate(s.alignment.pred_of) if j < 0]


@tagger("header", trigger="first_pair")
def header(s: SampleView) -> list[int]:
    """The header line is missing, so the official rule drops the first entity line."""
    return [0] if s.pred.first_pair else []


_LIST_PREFIXES = (
    "\n临床发现实体：",
    "\n候选实体：",
    "\n实体列表：",
    "\n实体：",
    "\n临床发现实体:",
    "\n实体:",
)
_LIST_SPLIT = re.compile(r"，")  # the templates join the list with full-width commas


def listed_entities(input_text: str) -> list[str]:
    """The entity names an attr_cls input lists (its "临床发现实体：…" line); [] when it lists none.

    The list follows the dialogue, so the last such line wins.
    """
    text = "\n" + input_text
    best, at = -1, ""
    for prefix in _LIST_PREFIXES:
        i = text.rfind(prefix)
        if i > best:
            best, at = i, prefix
    if best < 0:
        return []
    start = best + len(at)
    end = text.find("\n", start)
    body = text[start:] if end < 0 else text[start:end]
    return [e.strip() for e in _LIST_SPLIT.split(body) if e.strip()]


__all__ = ["TAGGERS", "TRIGGERS", "SampleView", "Tagger", "listed_entities", "tagger"]
