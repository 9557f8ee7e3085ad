"""Failure taggers: one function per failure mode, registered by name with `@tagger`.

A tagger reads one scored sample (`SampleView`) and returns the indices of the offending
lines (an empty list means "not tagged"). Lines of the prediction unless the tagger is
registered with `source="gold"` (missing: the gold lines nobody predicted). The summary
counts samples per tag.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from operator import itemgetter

from harness.records import Record
from harness.scoring.align import Alignment, identity
from harness.scoring.reader import Item, TextRead
from harness.scoring.synonyms import normalize_entity

_KEY = itemgetter(1)  # (normalized, canonical) name -> canonical


class SampleView:
    """Everything a tagger may look at for one sample (the entity list is read on first use)."""

    __slots__ = (
        "_alignment",
        "_listed",
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
        gold_items: list[Item],
        pred: TextRead,
        alignment: Alignment | None,
        name_of: Callable[[str], tuple[str, str]],
    ) -> None:
        self.record, self.pred_text, self.gold, self.pred = record, pred_text, gold, pred
        self.gold_items = gold_items  # gold.dedup()[0]: the scorer has it already
        self._alignment = alignment  # None: the prediction's entities are the gold's, in order
        self.name_of = name_of
        self._listed: frozenset[str] | bool | None = False

    @property
    def alignment(self) -> Alignment:
        if self._alignment is None:
            self._alignment = identity(len(self.gold_items))
        return self._alignment

    @property
    def pred_items(self) -> list[Item]:
        return self.pred.items

    @property
    def listed(self) -> frozenset[str] | None:
        """Canonical keys of the input's entity list; None when the input lists none."""
        if self._listed is False:
            names = listed_entities(self.record.input)
            self._listed = frozenset(map(_KEY, map(self.name_of, names))) if names else None
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
    return s.pred.offformat_lines()


@tagger("hallucination", trigger="extra")
def hallucination(s: SampleView) -> list[int]:
    """A predicted entity that is neither in the input's entity list (nor a synonym of one) nor in gold."""
    gold_keys = {g.key for g in s.gold_items}
    items = s.pred.items
    # most extra predictions repeat a gold entity: the input's list is read only when one does not
    cands = [j for j in s.alignment.extra if items[j].key not in gold_keys and items[j].norm not in gold_keys]
    if not cands:
        return []
    listed = s.listed
    if listed is not None:
        out = [j for j in cands if items[j].key not in listed]
    else:
        input_norm = normalize_entity(s.record.input)
        out = [j for j in cands if items[j].norm not in input_norm]
    lines = s.pred.item_lines
    return [lines[j] for j in out]


@tagger("missing", source="gold", trigger="unmatched")
def missing(s: SampleView) -> list[int]:
    """A gold entity that no prediction covers (its label is `none`)."""
    lines = s.gold.dedup_lines()
    return [lines[i] for i, j in enumerate(s.alignment.pred_of) if j < 0]


@tagger("header", trigger="first_pair")
def header(s: SampleView) -> list[int]:
    """The header line is missing, so the official rule drops the first entity line."""
    return [0] if s.pred.first_pair else []


# the line that lists the entities starts with one of these (the templates join the names
# with full-width commas)
_LIST_PREFIXES = ("临床发现实体：", "候选实体：", "实体列表：", "实体：", "临床发现实体:", "实体:")


def listed_entities(input_text: str) -> list[str]:
    """The entity names an attr_cls input lists (its "临床发现实体：…" line); [] when it lists none.

    The list follows the dialogue, so the last such line wins (lines are searched from the end).
    """
    end = len(input_text)
    while end >= 0:
        start = input_text.rfind("\n", 0, end) + 1
        if input_text.startswith(_LIST_PREFIXES, start, end):
            line = input_text[start:end]
            # every prefix ends at the line's first colon, full- or half-width
            full, half = line.find("："), line.find(":")
            cut = full if half < 0 or 0 <= full < half else half
            return [e for e in map(str.strip, line[cut + 1 :].split("，")) if e]
        end = start - 1
    return []


__all__ = ["TAGGERS", "TRIGGERS", "SampleView", "Tagger", "listed_entities", "tagger"]
