"""The ner engine: PromptCBLUE's mention rule, a lenient reading, type alignment, taggers, traces.

A text answers one line per entity type: `{type}实体：mention，mention` (CMeEE-V2). Items are
(mention, type) pairs; a sample's pairs are a set, as in the official evaluation. The engine
fills the same per-sample count columns as attr_cls (metrics.py): official and canonical
TP/FP/FN, and for the classification protocol ITEMS (distinct gold pairs) and CORRECT (gold
pairs predicted with their type). Its classification block is over entity types: a gold
mention found with another type is a confusion between types, one found with none is `none`.
The polarity label columns stay 0: a ner task offers no count-based macro/micro F1 to the
bootstrap (its Task lists the metrics it does).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from harness.records import Record
from harness.scoring import metrics as M
from harness.scoring.parse import BLANK, HEADER, KEPT, NO_SEPARATOR, _strip_bullet, split_lines
from harness.scoring.synonyms import normalize_entity

if TYPE_CHECKING:  # the task modules import this engine
    from harness.scoring.tasks.base import OfficialRule, Task

SUFFIX = "实体"
FULL_COLON = "："
_COLON = re.compile(r"[：:]")
_SPLIT = re.compile(r"[，,、；;]")
# what models write for "no mention of this type": not a mention
_PLACEHOLDERS = frozenset({"无", "没有", "暂无", "无实体", "none", "null", "n/a", "-", "—", "/"})
_HEADER_WORDS = ("如下", "包含", "句子", "答案", "结果", "没有")
OUTSIDE = "outside"  # a line status: its type is not one of the answer choices


def official_mentions(text: str, answer_choices: Iterable[str] | None) -> set[tuple[str, str]]:
    """PromptCBLUE's rule for CMeEE-V2, to the letter (the official rule of harness.scoring.tasks.cmeee).

    For each answer choice, every `\\n`-separated line that starts with `{choice}实体` gives
    mentions: the line with every `{choice}实体：` removed, split on `，`, each stripped, empty
    ones dropped. So a line without the full-width colon yields the whole line as one mention
    (`疾病实体:发热` reads `疾病实体:发热`), and a choice whose name starts with another
    choice's `{name}实体` is read by both.
    """
    lines = text.split("\n")
    pairs: set[tuple[str, str]] = set()
    for choice in answer_choices or ():
        prefix, full = f"{choice}{SUFFIX}", f"{choice}{SUFFIX}{FULL_COLON}"
        for line in lines:
            if line.startswith(prefix):
                pairs.update((m.strip(), choice) for m in line.replace(full, "").split("，") if m.strip())
    return pairs


@dataclass(frozen=True, slots=True)
class Mention:
    norm: str  # normalized mention (harness.scoring.synonyms.normalize_entity)
    type: str  # the type as the line names it (a choice, or what the model wrote)
    text: str  # the mention as written
    line: int  # 0-based line index
    in_choices: bool


@dataclass
class NerRead:
    """The lenient reading of one text: mentions, one diagnostic per line, off-format lines."""

    lines: list[str]
    items: list[Mention] = field(default_factory=list)
    diags: list[tuple[int, str, str]] = field(default_factory=list)
    header_line: int | None = None
    offformat: list[int] = field(default_factory=list)

    def distinct(self) -> list[Mention]:
        """Items with repeated (mention, type) pairs dropped, first occurrence kept."""
        seen: set[tuple[str, str]] = set()
        out = []
        for it in self.items:
            if (it.norm, it.type) not in seen:
                seen.add((it.norm, it.type))
                out.append(it)
        return out

    def diagnostics(self) -> list[dict[str, object]]:
        return [{"line": i + 1, "text": self.lines[i], "status": s, "note": n} for i, s, n in self.diags]


def _type_of(head: str, choices: list[str]) -> str | None:
    """The choice a line's head names: `疾病实体`, `疾病`, `【疾病】实体` (longest choice first)."""
    name = normalize_entity(head)
    if name.endswith(SUFFIX):
        name = name[: -len(SUFFIX)]
    name = name.strip("[]【】()（）<>《》 ")
    for c in sorted(choices, key=len, reverse=True):
        if name == normalize_entity(c):
            return c
    return None


def read_ner(text: str, answer_choices: Iterable[str] | None, official: OfficialRule) -> NerRead:
    """Read what models write for a ner answer (`official`: the task's rule, to flag lines it reads otherwise).

    `\\r\\n`, numbering and bullets, a half-width `:`, `、` `,` `；` between mentions, a type
    written `疾病` or `【疾病】实体`, and placeholders (`无`, `none`) for an empty type are all
    read. The first non-blank line is the header when it names no type. A line whose type is not
    one of the choices keeps its mentions under that type (they can only be wrong) and is off
    format; so is prose after the header, and a line the official rule reads otherwise (a
    half-width colon, a bullet: the official numbers lose or garble its mentions).
    """
    choices = list(answer_choices or ())
    lines = split_lines(text)
    raw = text.split("\n")
    out = NerRead(lines=lines)
    first = True
    for i, line in enumerate(lines):
        body = line.strip()
        if not body:
            out.diags.append((i, BLANK, ""))
            continue
        body = _strip_bullet(body)
        m = _COLON.search(body)
        head, rest = (body[: m.start()], body[m.end() :]) if m else (body, None)
        etype = _type_of(head, choices)
        if etype is None and m is None:
            for c in sorted(choices, key=len, reverse=True):  # `疾病实体 发热`: no colon at all
                if body.startswith(f"{c}{SUFFIX}"):
                    etype, rest = c, body[len(c) + len(SUFFIX) :]
                    break
        was_first, first = first, False
        if etype is None and (
            rest is None or (was_first and (not rest.strip() or any(w in head for w in _HEADER_WORDS)))
        ):
            if was_first:
                out.diags.append((i, HEADER, ""))
                out.header_line = i
            else:
                out.diags.append((i, NO_SEPARATOR, "no type and no colon: prose"))
                out.offformat.append(i)
            continue
        mentions = [x.strip() for x in _SPLIT.split(rest or "")]
        mentions = [x for x in mentions if x and normalize_entity(x) not in _PLACEHOLDERS]
        in_choices = etype is not None
        named = etype or head.strip().removesuffix(SUFFIX)
        out.items.extend(Mention(normalize_entity(x), named, x, i, in_choices) for x in mentions)
        note = "" if in_choices else f"type {head.strip()!r} is not one of the choices"
        status = KEPT if in_choices else OUTSIDE
        if in_choices and i < len(raw) and text.count("\r") == text.count("\r\n"):
            by_rule = official(raw[i], choices)
            if by_rule != {(x, etype) for x in mentions}:
                note = f"the official rule reads this line as {sorted(by_rule)}"
        if note:
            out.offformat.append(i)
        out.diags.append((i, status, note))
    return out


@dataclass
class NerAlignment:
    """gold item g -> index of its predicted item (into pred.distinct()) or -1, and how."""

    pred_of: list[int]
    how: list[str]  # exact (same mention and type), type (same mention, another type), none
    extra: list[int]


def align_mentions(gold: list[Mention], pred: list[Mention]) -> NerAlignment:
    """Same normalized mention and type first; then the same mention under another type."""
    pred_of, how = [-1] * len(gold), ["none"] * len(gold)
    used = [False] * len(pred)
    for kind, key in (("exact", lambda x: (x.norm, x.type)), ("type", lambda x: x.norm)):
        slots: dict[Any, list[int]] = {}
        for j, p in enumerate(pred):
            if not used[j]:
                slots.setdefault(key(p), []).append(j)
        for i, g in enumerate(gold):
            if pred_of[i] < 0 and slots.get(key(g)):
                j = slots[key(g)].pop(0)
                used[j] = True
                pred_of[i], how[i] = j, kind
    return NerAlignment(pred_of, how, [j for j, u in enumerate(used) if not u])


@dataclass
class NerView:
    """What a ner tagger looks at: the record, both readings and the alignment."""

    record: Record
    gold: NerRead
    pred: NerRead
    gold_items: list[Mention]
    pred_items: list[Mention]
    alignment: NerAlignment


NerTaggerFn = Callable[[NerView], list[int]]
# name -> (function, source of its line indices: "pred" or "gold")
NER_TAGGERS: dict[str, tuple[NerTaggerFn, str]] = {}


def ner_tagger(name: str, source: str = "pred") -> Callable[[NerTaggerFn], NerTaggerFn]:
    def register(fn: NerTaggerFn) -> NerTaggerFn:
        NER_TAGGERS[name] = (fn, source)
        return fn

    return register


@ner_tagger("missing", source="gold")
def _missing(v: NerView) -> list[int]:
    """A gold mention predicted under no type at all (a wrong type is `wrong_type`, not this)."""
    return sorted({v.gold_items[i].line for i, h in enumerate(v.alignment.how) if h == "none"})


@ner_tagger("wrong_type")
def _wrong_type(v: NerView) -> list[int]:
    """A gold mention predicted, but only under another type."""
    al = v.alignment
    return sorted({v.pred_items[al.pred_of[i]].line for i, h in enumerate(al.how) if h == "type"})


@ner_tagger("boundary")
def _boundary(v: NerView) -> list[int]:
    """An extra mention that contains, or lies inside, a gold mention nobody predicted: a span cut wrong."""
    missed = [v.gold_items[i].norm for i, h in enumerate(v.alignment.how) if h == "none"]
    out = set()
    for j in v.alignment.extra:
        p = v.pred_items[j].norm
        if any(p != g and (p in g or g in p) for g in missed):
            out.add(v.pred_items[j].line)
    return sorted(out)


@ner_tagger("hallucination")
def _hallucination(v: NerView) -> list[int]:
    """An extra mention that is not in the input text at all."""
    source = normalize_entity(v.record.input)
    return sorted({v.pred_items[j].line for j in v.alignment.extra if v.pred_items[j].norm not in source})


@ner_tagger("duplicate")
def _duplicate(v: NerView) -> list[int]:
    """The same (mention, type) predicted more than once."""
    seen: dict[tuple[str, str], int] = {}
    out: set[int] = set()
    for it in v.pred.items:
        k = (it.norm, it.type)
        if k in seen:
            out.update((seen[k], it.line))
        else:
            seen[k] = it.line
    return sorted(out)


@ner_tagger("drift")
def _drift(v: NerView) -> list[int]:
    """Off format: prose, a type outside the choices, or a line the official rule reads otherwise."""
    return sorted(set(v.pred.offformat))


@dataclass
class NerSample:
    record: Record
    text: str
    gold: NerRead
    pred: NerRead
    gold_items: list[Mention]
    pred_items: list[Mention]
    alignment: NerAlignment
    tags: dict[str, list[int]]
    official: tuple[set[tuple[str, str]], set[tuple[str, str]]]


def score_sample(
    task: Task, record: Record, text: str, taggers: list[str]
) -> tuple[NerSample, list[int], list[tuple[str, str | None]]]:
    """One sample of `task`: its reading, the 6 set counts + items + correct, and (gold type,
    pred type) per gold item."""
    choices = record.answer_choices or []
    g_off, p_off = task.official(record.target, choices), task.official(text, choices)
    g, p = read_ner(record.target, choices, task.official), read_ner(text, choices, task.official)
    g_items, p_items = g.distinct(), p.distinct()
    al = align_mentions(g_items, p_items)
    gs = {(x.norm, x.type) for x in g_items}
    ps = {(x.norm, x.type) for x in p_items}
    tp, ctp = len(g_off & p_off), len(gs & ps)
    pairs = [
        (gi.type, p_items[j].type if j >= 0 else None) for gi, j in zip(g_items, al.pred_of, strict=True)
    ]
    correct = sum(1 for h in al.how if h == "exact")
    row = [tp, len(p_off) - tp, len(g_off) - tp, ctp, len(ps) - ctp, len(gs) - ctp, len(g_items), correct]
    view = NerView(record, g, p, g_items, p_items, al)
    tags = {}
    for name in taggers:
        lines = NER_TAGGERS[name][0](view)
        if lines:
            tags[name] = lines
    return NerSample(record, text, g, p, g_items, p_items, al, tags, (g_off, p_off)), row, pairs


def type_labels(records: list[Record], pairs: list[tuple[str, str | None]]) -> list[str]:
    """The classification labels of a ner task: the choices in first-seen order, then any other
    type a prediction used, then `none`."""
    seen: dict[str, None] = {}
    for r in records:
        seen.update(dict.fromkeys(r.answer_choices or []))
    for gt, pt in pairs:
        seen.update(dict.fromkeys([gt, *([pt] if pt is not None else [])]))
    return [*seen, "none"]


def counts_matrix(rows: list[list[int]]) -> np.ndarray:
    counts = np.zeros((len(rows), M.N_COLUMNS), dtype=np.int64)
    if rows:
        counts[:, : M.LABEL_BASE] = np.asarray(rows, dtype=np.int64)
    return counts


def trace(task: Task, s: NerSample, row: np.ndarray) -> dict[str, Any]:
    """The trace of one ner sample of `task`, in the same shape as an attr_cls trace (trace.py)."""
    al, rows = s.alignment, []
    for i, gi in enumerate(s.gold_items):
        j = al.pred_of[i]
        pi = s.pred_items[j] if j >= 0 else None
        rows.append(
            {
                "gold_entity": gi.text,
                "gold_label": gi.type,
                "pred_entity": pi.text if pi else None,
                "pred_label": pi.type if pi else "none",
                "how": al.how[i],
                "score": 100.0 if pi else 0.0,
                "correct": al.how[i] == "exact",
                "gold_line": gi.line + 1,
                "pred_line": pi.line + 1 if pi else None,
            }
        )
    for j in al.extra:
        pi = s.pred_items[j]
        rows.append(
            {
                "gold_entity": None,
                "gold_label": None,
                "pred_entity": pi.text,
                "pred_label": pi.type,
                "how": "extra",
                "score": 0.0,
                "correct": False,
                "gold_line": None,
                "pred_line": pi.line + 1,
            }
        )
    tag_rows = []
    for name, lines in s.tags.items():
        src = NER_TAGGERS[name][1]
        texts = s.gold.lines if src == "gold" else s.pred.lines
        tag_rows.append({"tag": name, "source": src, "lines": [texts[i] for i in lines if i < len(texts)]})
    c = row.astype(int).tolist()
    return {
        "sample_id": s.record.sample_id,
        "task_dataset": s.record.task_dataset,
        "prediction": s.text,
        "gold_pairs": {
            "official": [list(p) for p in sorted(s.official[0])],
            "canonical": sorted([x.norm, x.type] for x in s.gold_items),
        },
        "pred_pairs": {
            "official": [list(p) for p in sorted(s.official[1])],
            "canonical": sorted([x.norm, x.type] for x in s.pred_items),
        },
        "alignment": rows,
        "tags": tag_rows,
        "parse": {
            "official": _official_diagnostics(s.text, s.record.answer_choices, task.official),
            "pred": s.pred.diagnostics(),
            "gold": s.gold.diagnostics(),
        },
        "official": {"tp": c[M.OFF_TP], "fp": c[M.OFF_FP], "fn": c[M.OFF_FN]},
        "canonical": {"tp": c[M.CAN_TP], "fp": c[M.CAN_FP], "fn": c[M.CAN_FN]},
        "classification": {"items": c[M.ITEMS], "correct": c[M.CORRECT]},
    }


def _official_diagnostics(
    text: str, choices: list[str] | None, official: OfficialRule
) -> list[dict[str, object]]:
    """Per `\\n` line: which choices' rule reads it, or that the official rule reads nothing there."""
    out: list[dict[str, object]] = []
    for i, line in enumerate(text.split("\n")):
        read = sorted(official(line, choices))
        if read:
            status, note = KEPT, f"mentions {read}"
        elif any(line.startswith(f"{c}{SUFFIX}") for c in choices or ()):
            status, note = KEPT, "no mentions"
        else:
            status = BLANK if not line.strip() else NO_SEPARATOR
            note = "" if status == BLANK else "starts with no `{choice}实体`: read nothing"
        out.append({"line": i + 1, "text": line, "status": status, "note": note})
    return out
