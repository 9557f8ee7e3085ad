"""Per-line marks of one answer, read from its scoring trace (harness/scoring/trace.py).

Each line of a prediction is marked by what the scorer made of it: a pair with the gold label
(correct), a pair with another label (wrong), a pair no gold item took (extra: a duplicate when
its entity is already answered or is a gold entity answered elsewhere, else hallucinated), or a
line the parser could not read (unparsable). Gold items that no line answered are listed as
missing. The header and blank lines carry no mark.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness.scoring.parse import BAD_PARTS, EMPTY_ENTITY, EMPTY_LABEL, NO_SEPARATOR, split_lines

CORRECT = "correct"
WRONG = "wrong"
HALLUCINATED = "hallucinated"
DUPLICATE = "duplicate"
UNPARSABLE = "unparsable"
# worst first: a line with several pairs is shown as its worst mark
SEVERITY = (UNPARSABLE, HALLUCINATED, DUPLICATE, WRONG, CORRECT)
UNREADABLE = frozenset({NO_SEPARATOR, BAD_PARTS, EMPTY_ENTITY, EMPTY_LABEL})


@dataclass(frozen=True)
class Mark:
    kind: str  # one of SEVERITY
    note: str  # what the reader needs to act on: the gold label, the repeated entity, the parse error


@dataclass
class AnswerLine:
    number: int  # 1-based, as in the trace
    text: str
    marks: list[Mark] = field(default_factory=list)

    @property
    def kind(self) -> str:
        """The worst mark of the line, or "" for a line without one (header, blank)."""
        kinds = {m.kind for m in self.marks}
        return next((k for k in SEVERITY if k in kinds), "")


@dataclass
class MarkedAnswer:
    lines: list[AnswerLine]
    missing: list[str]  # gold items no line answered, as "entity (label)"

    def counts(self) -> dict[str, int]:
        """Marks by kind, plus "missing": the per-answer summary line."""
        out = {k: 0 for k in SEVERITY}
        for line in self.lines:
            for m in line.marks:
                out[m.kind] += 1
        out["missing"] = len(self.missing)
        return out


def _lines(text: str, trace: dict[str, Any]) -> list[AnswerLine]:
    """The prediction's lines as the scorer numbered them: its parser's per-line diagnostics,
    else the lenient split (traces without diagnostics)."""
    diags = (trace.get("parse") or {}).get("pred")
    if isinstance(diags, list) and diags and all(isinstance(d, dict) and "line" in d for d in diags):
        lines = []
        for d in diags:
            line = AnswerLine(int(d["line"]), str(d.get("text", "")))
            if d.get("status") in UNREADABLE:
                line.marks.append(Mark(UNPARSABLE, str(d.get("note") or d["status"])))
            lines.append(line)
        return lines
    return [AnswerLine(i, t) for i, t in enumerate(split_lines(text), 1)]


def mark_answer(text: str, trace: dict[str, Any]) -> MarkedAnswer:
    """Marks for each line of `text` and the missing gold items, from the sample's trace."""
    lines = _lines(text, trace)
    by_number = {line.number: line for line in lines}
    rows = [r for r in trace.get("alignment") or [] if isinstance(r, dict)]
    gold_names = {r["gold_entity"] for r in rows if r.get("gold_entity") is not None}
    answered = {r["pred_entity"] for r in rows if r.get("gold_entity") is not None and r.get("pred_entity")}
    missing = []
    for r in rows:
        line = by_number.get(r.get("pred_line"))  # None for a gold item nothing answered
        gold, pred = r.get("gold_entity"), r.get("pred_entity")
        if gold is not None and pred is None:
            missing.append(f"{gold} ({r.get('gold_label')})")
            continue
        if line is None:
            continue
        if gold is not None:
            via = "" if r.get("how") in (None, "exact") else f" · = gold {gold} ({r['how']})"
            if r.get("correct"):
                line.marks.append(Mark(CORRECT, f"{r.get('pred_label')}{via}"))
            else:
                line.marks.append(
                    Mark(WRONG, f"gold {r.get('gold_label')}, predicted {r.get('pred_label')}{via}")
                )
        elif pred in answered or pred in gold_names:
            line.marks.append(Mark(DUPLICATE, f"{pred} is answered on another line"))
        else:
            line.marks.append(Mark(HALLUCINATED, f"{pred} is not a gold finding"))
            answered.add(pred)  # a second line naming it is a duplicate
    return MarkedAnswer(lines, missing)
