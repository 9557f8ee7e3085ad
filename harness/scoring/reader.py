"""Reading a text once for every stage: official pairs, parsed items, and the features taggers need.

The scorer reads each distinct line once (a dict keyed by line text: labels and entity names
repeat across samples) and each distinct (text, choices) once (a prediction equal to its gold
reuses the gold's reading). The official pairs are computed by the official rule, line by
line, inside the same loop; tests check them against `official_pairs` on every kind of input.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import itemgetter
from typing import NamedTuple

from harness.scoring.labels import LABEL_INDEX
from harness.scoring.official import NOT_ANNOTATED_LONG
from harness.scoring.parse import BLANK, NO_SEPARATOR, PARSERS, read_line, split_lines


class Item(NamedTuple):
    """One parsed (entity, label) with its names: what aligners and taggers work on."""

    norm: str  # normalized entity name
    key: str  # canonical name (synonyms applied)
    label: int  # index into labels.ALL_LABELS
    name: str  # the entity as written
    known: bool  # the label was recognised
    raw_label: str  # the label as written


_NORM, _KNOWN, _RAW = itemgetter(0), itemgetter(4), itemgetter(5)
_NORM_LABEL = itemgetter(0, 2)


class TextRead:
    """Everything the scorer needs from one text (cached per distinct text and choices)."""

    __slots__ = (
        "_dedup",
        "first_pair",
        "header_line",
        "item_lines",
        "items",
        "lines",
        "names_repeat",
        "norms",
        "off",
        "offformat",
        "pairset",
        "prose",
    )

    def __init__(self, lines: list[str], off: set[tuple[str, str]]) -> None:
        self.lines = lines
        self.off = off  # official pairs (the PromptCBLUE rule)
        self.items: list[Item] = []
        self.item_lines: list[int] = []  # line index of each item
        self.prose: list[int] = []  # non-blank lines after the header without a separator
        self.header_line: int | None = None
        self.first_pair = False  # line 0 holds a pair: the official rule drops it
        self._dedup: tuple[list[Item], list[int], list[str]] | None = None

    def finish(self, choices: frozenset[str]) -> TextRead:
        items = self.items  # map(itemgetter) keeps these passes in C
        self.norms = list(map(_NORM, items))
        self.names_repeat = len(set(self.norms)) < len(items)
        self.pairset = set(map(_NORM_LABEL, items))
        self.offformat = (
            not items
            or bool(self.prose)
            or not all(map(_KNOWN, items))
            or not choices.issuperset(map(_RAW, items))
        )
        return self

    def dedup(self) -> tuple[list[Item], list[int], list[str]]:
        """Items with repeated (entity, label) pairs dropped (gold is a set), their lines and names."""
        if self._dedup is None:
            if len(self.pairset) == len(self.items):
                self._dedup = (self.items, self.item_lines, self.norms)
            else:
                seen: set[tuple[str, int]] = set()
                items, lines = [], []
                for it, ln in zip(self.items, self.item_lines, strict=True):
                    if (it.norm, it.label) not in seen:
                        seen.add((it.norm, it.label))
                        items.append(it)
                        lines.append(ln)
                self._dedup = (items, lines, [it.norm for it in items])
        return self._dedup


class Reader:
    """Reads texts with one parser and one entity canonicalizer, caching lines and texts."""

    def __init__(self, parser: str, name_of: Callable[[str], tuple[str, str]]) -> None:
        self.parser = parser
        self.name_of = name_of
        self._lines: dict[str, tuple] = {}
        self._texts: dict[tuple[str, frozenset[str]], TextRead] = {}

    def _line(self, line: str) -> tuple:
        parts = line.split("：")
        off = (parts[0].strip(), parts[1]) if len(parts) == 2 else None
        first_header, segs, status, _ = read_line(line)
        items = tuple(
            Item(*self.name_of(entity), LABEL_INDEX[label], entity, known, raw)
            for entity, label, raw, known in segs
        )
        info = (off, items, first_header, status)
        self._lines[line] = info
        return info

    def read(self, text: str, choices: frozenset[str]) -> TextRead:
        got = self._texts.get((text, choices))
        if got is not None:
            return got
        if self.parser != "lenient" or ("\r" in text and text.count("\r") != text.count("\r\n")):
            out = self._read_generic(text, choices)
        else:
            out = self._read_lenient(text, choices)
        self._texts[(text, choices)] = out.finish(choices)
        return out

    def _read_lenient(self, text: str, choices: frozenset[str]) -> TextRead:
        # comprehensions over cached line readings: this is the scorer's innermost loop
        lines = text.split("\n")
        infos = list(map(self._lines.get, lines))
        if None in infos:
            infos = [info or self._line(line) for info, line in zip(infos, lines, strict=True)]
        na = NOT_ANNOTATED_LONG
        off = {
            (p[0], p[1] if p[1] in choices else na) for p in [info[0] for info in infos[1:]] if p is not None
        }
        out = TextRead(lines, off)
        n = len(infos)
        f = 0
        while f < n and infos[f][3] == BLANK:
            f += 1
        header = f < n and infos[f][2]
        if header:
            out.header_line = f
        start = f + 1 if header else f
        out.items = [it for info in infos[start:] for it in info[1]]
        out.item_lines = [i for i in range(start, n) for _ in infos[i][1]]
        out.prose = [i for i in range(f + 1, n) if infos[i][3] == NO_SEPARATOR]
        out.first_pair = f == 0 and not header and bool(infos[0][1])
        return out

    def _read_generic(self, text: str, choices: frozenset[str]) -> TextRead:
        off: set[tuple[str, str]] = set()
        for line in text.split("\n")[1:]:
            parts = line.split("：")
            if len(parts) == 2:
                off.add((parts[0].strip(), parts[1] if parts[1] in choices else NOT_ANNOTATED_LONG))
        parsed = PARSERS[self.parser](text, choices)
        out = TextRead(parsed.lines if self.parser != "lenient" else split_lines(text), off)
        out.header_line = parsed.header_line
        for p in parsed.pairs:
            out.items.append(
                Item(*self.name_of(p.entity), LABEL_INDEX[p.label], p.entity, p.known_label, p.raw_label)
            )
            out.item_lines.append(p.line)
        out.prose = [i for i, status, _ in parsed.diags if status == NO_SEPARATOR and i != parsed.header_line]
        # whether the official rule loses a pair on line 0 is a property of the text, whatever the parser
        first_header, segs, status, _ = read_line(text.split("\n")[0])
        out.first_pair = status != BLANK and not first_header and bool(segs)
        return out
