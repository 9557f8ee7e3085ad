"""Parsers: the strict official rule with per-line diagnostics, and a lenient parser for real outputs.

Both return a `Parsed`: the pairs they keep (entity, canonical label, line index) and one
diagnostic per line (kept, or why it was skipped). The official *numbers* always come from
the task's official rule (`Task.official`); `parse_strict` explains them line by line and
feeds the canonical metric when a suite asks for the strict parser there.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from harness.scoring.labels import NOT_ANNOTATED, canonical_label

if TYPE_CHECKING:  # tasks/ imports the ner engine, which imports this module
    from harness.scoring.tasks.base import Task

# line statuses (diagnostic codes; the trace shows them with a note)
KEPT = "kept"
HEADER = "header"
BLANK = "blank"
NO_SEPARATOR = "no_separator"
BAD_PARTS = "bad_parts"
EMPTY_ENTITY = "empty_entity"
EMPTY_LABEL = "empty_label"


@dataclass(slots=True)
class Pair:
    """One kept (entity, label) reading of a line."""

    entity: str  # as written, stripped
    label: str  # canonical label
    raw_label: str  # the label text as written
    line: int  # 0-based index into Parsed.lines
    known_label: bool = True  # False: not recognised (read as the task's unknown or official label)


@dataclass(slots=True)
class Parsed:
    """Pairs and per-line diagnostics of one text."""

    lines: list[str]
    pairs: list[Pair] = field(default_factory=list)
    diags: list[tuple[int, str, str]] = field(default_factory=list)  # (line, status, note)
    header_line: int | None = None  # index of the line read as the header, if any

    def diagnostics(self) -> list[dict[str, object]]:
        """JSON-able diagnostics, one per line, with the line text."""
        return [
            {"line": i + 1, "text": self.lines[i], "status": status, "note": note}
            for i, status, note in self.diags
        ]


def split_lines(text: str) -> list[str]:
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def parse_strict(text: str, answer_choices: Iterable[str] | None, task: Task) -> Parsed:
    """The task's official rule, line by line, with why each line was kept or skipped.

    The kept pairs are exactly `task.official(text, answer_choices)` (as a list, before the set
    collapses duplicates): each line after the first is read by the rule on its own. Labels are
    canonicalized afterwards; one outside the choices gets the canonical label of what the rule
    reads it as (not_annotated for CHIP-MDCFNPC's 不标注), flagged unknown.
    """
    choices = set(answer_choices or ())
    lines = text.split("\n")  # the official rule splits on \n only: a \r stays in the label
    out = Parsed(lines=lines)
    if lines:
        out.diags.append((0, HEADER, "first line dropped by the official rule"))
        out.header_line = 0
    for i in range(1, len(lines)):
        parts = lines[i].split("：")
        read = task.official("\n" + lines[i], answer_choices)
        if not read:
            status = BLANK if not lines[i].strip() else (NO_SEPARATOR if len(parts) == 1 else BAD_PARTS)
            out.diags.append((i, status, f"{len(parts)} part(s) after splitting on the full-width colon"))
            continue
        for entity, label in read:
            canon = canonical_label(label) or NOT_ANNOTATED
            if parts[1] in choices:
                out.diags.append((i, KEPT, ""))
                out.pairs.append(Pair(entity, canon, label, i))
            else:
                out.diags.append((i, KEPT, f"label {parts[1]!r} not in the choices: read as {label}"))
                out.pairs.append(Pair(entity, canon, parts[1], i, known_label=False))
    return out


# numbering and bullets a model puts before a line: "1.", "2、", "(3)", "4)", "-", "*", "•"
_BULLET = re.compile(r"^(?:\d{1,3}(?:[.](?!\d)|[、)）])\s*|[（(]\d{1,3}[)）]\s*|[-*•·●○▪◦+]\s*)")
_COLON = re.compile(r"[：:]")
_PAIR_SPLIT = re.compile(r"[；;，,]")
_HEADER_WORDS = ("如下", "判别", "判断", "阴阳性", "实体", "结果", "答案", "症状及其")

# (entity, canonical label, label as written, label recognised)
Segment = tuple[str, str, str, bool]
# lenient reading of one line: (header if it is the first non-blank line, kept segments,
# status, note); status/note describe the line when it is not read as the header
LineReading = tuple[bool, tuple[Segment, ...], str, str]


def _strip_bullet(line: str) -> str:
    c = line[0]
    if c.isdigit() or c in "(（-*•·●○▪◦+":
        return _BULLET.sub("", line, count=1)
    return line


def _looks_like_header(entity: str, label: str) -> bool:
    return not label or any(w in entity for w in _HEADER_WORDS)


def read_line(raw: str, unknown: str) -> LineReading:
    """The lenient reading of one line, giving a label it does not know the canonical label
    `unknown` (the task's `unknown_label`). Pure: the scorer caches it by line text."""
    line = raw.strip()
    if not line:
        return False, (), BLANK, ""
    body = _strip_bullet(line)
    seps = body.count("：") + body.count(":")
    if seps == 0:
        return True, (), NO_SEPARATOR, "no colon: prose"
    segs: list[Segment] = []
    notes: list[str] = []
    status = KEPT
    first_header = False
    for n, seg in enumerate(_PAIR_SPLIT.split(body) if seps > 1 else [body]):
        m = _COLON.search(seg)
        if m is None:
            continue
        entity, label = seg[: m.start()].strip(), seg[m.end() :].strip()
        canon = canonical_label(label)
        if n == 0 and canon is None and _looks_like_header(entity, label):
            first_header = True
        if not entity:
            notes.append(f"empty entity in {seg!r}")
            continue
        if not label:
            notes.append(f"empty label in {seg!r}")
            continue
        if canon is None:
            segs.append((entity, unknown, label, False))
            notes.append(f"unknown label {label!r}: read as {unknown}")
        else:
            segs.append((entity, canon, label, True))
    if not segs:
        status = EMPTY_LABEL if any(n.startswith("empty label") for n in notes) else EMPTY_ENTITY
    return first_header, tuple(segs), status, "; ".join(notes)


def parse_lenient(text: str, answer_choices: Iterable[str] | None, task: Task) -> Parsed:
    """Read what models really write.

    Accepts `\\r\\n`, a missing header, numbering and bullets, half-width `:`, extra spaces,
    several `entity：label` pairs on one line (split on ；/;/，/,), and every label form
    `canonical_label` knows. The first non-blank line is the header when it has no colon, or
    its label is empty or unknown and it reads like a header ("…如下："). An unknown label is
    kept as the task's `unknown_label` (what its official rule makes of a label outside the
    choices: not_annotated for CHIP-MDCFNPC, uncertain for IMCS-V2-SR) and flagged, so drift
    shows in the tags.
    """
    del answer_choices  # the lenient reading depends on no record's choices
    lines = split_lines(text)
    out = Parsed(lines=lines)
    first = True
    for i, raw in enumerate(lines):
        first_header, segs, status, note = read_line(raw, task.unknown_label or NOT_ANNOTATED)
        if status == BLANK:
            out.diags.append((i, BLANK, ""))
            continue
        if first and first_header:
            out.diags.append((i, HEADER, note if status == NO_SEPARATOR else ""))
            out.header_line = i
        else:
            out.diags.append((i, status, note))
            out.pairs.extend(Pair(e, lab, raw_lab, i, known) for e, lab, raw_lab, known in segs)
        first = False
    return out


# (text, answer choices, the task it is read for) -> Parsed
Parser = Callable[[str, "Iterable[str] | None", "Task"], Parsed]
PARSERS: dict[str, Parser] = {"lenient": parse_lenient, "strict": parse_strict}
