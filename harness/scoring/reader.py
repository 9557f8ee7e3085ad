"""Reading a text once for every stage: official pairs, parsed items, and the features taggers need.

The scorer reads each distinct line once (a dict keyed by line text: labels and entity names
repeat across samples) and each distinct (text, choices) once (a prediction equal to its gold
reuses the gold's reading). The official pairs come from the task's official rule, called on
each distinct line once (the rule reads every line after the first on its own); tests check
them against the rule on whole texts of every kind.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import chain, islice
from operator import itemgetter
from typing import TYPE_CHECKING, Any, NamedTuple

from harness.scoring.labels import LABEL_INDEX, NOT_ANNOTATED
from harness.scoring.parse import BLANK, NO_SEPARATOR, PARSERS, read_line, split_lines

if TYPE_CHECKING:
    from harness.scoring.tasks.base import Task


class Item(NamedTuple):
    """One parsed (entity, label) with its names: what aligners and taggers work on."""

    norm: str  # normalized entity name
    key: str  # canonical name (synonyms applied)
    label: int  # index into labels.ALL_LABELS
    name: str  # the entity as written
    known: bool  # the label was recognised
    raw_label: str  # the label as written


_NORM, _LABEL, _KNOWN, _RAW = itemgetter(0), itemgetter(2), itemgetter(4), itemgetter(5)
_NORM_LABEL = itemgetter(0, 2)
_ITEMS = itemgetter(1)
_R_OFF, _R_OK = itemgetter(0), itemgetter(4)


class _Memo(dict):
    """A dict that computes a missing value with `fn(key)`: `map(memo.__getitem__, keys)` stays in C."""

    def __init__(self, fn: Callable[[str], Any]) -> None:
        super().__init__()
        self.fn = fn

    def __missing__(self, key: str) -> Any:
        value = self[key] = self.fn(key)
        return value


def _official_label_off(line: str, choices: frozenset[str]) -> bool:
    """The official rule reads a pair on this line whose label is not one of the choices."""
    parts = line.split("：")
    return len(parts) == 2 and parts[1] not in choices


def _one_pair(pairs: set[tuple[str, str]], line: str) -> tuple[str, str] | None:
    """The pair the official rule reads on a line after the first, or None. The attr_cls engine
    keeps one per line (PromptCBLUE's rule never reads more), so a rule that did is refused."""
    if len(pairs) > 1:
        raise ValueError(
            f"the official rule read {len(pairs)} pairs on one line ({line!r}); attr_cls reads one"
        )
    return next(iter(pairs), None)


def _raw_line_index(text: str) -> list[int]:
    """For each line of `split_lines(text)`, the index of the "\n"-separated line it lies in."""
    raw = text.split("\n")
    out: list[int] = []
    for k, line in enumerate(raw):
        if k < len(raw) - 1 and line.endswith("\r"):
            line = line[:-1]  # the "\r" of a "\r\n"
        out.extend([k] * (line.count("\r") + 1))  # a lone "\r" breaks a line too
    return out


class TextRead:
    """Everything the scorer needs from one text (cached per distinct text and choices)."""

    __slots__ = (
        "_dedup",
        "_infos",
        "_item_lines",
        "_off_lines",
        "_pairset",
        "_repeat",
        "choices",
        "first_pair",
        "header_line",
        "items",
        "lines",
        "norms",
        "off",
        "offformat",
        "start",
    )

    def __init__(
        self,
        lines: list[str],
        off: set[tuple[str, str]],
        choices: frozenset[str],
        items: list[Item],
        norms: list[str],
        header_line: int | None,
        start: int,
        offformat: bool | None,
        first_pair: bool | None,
        infos: list[tuple] | None = None,
    ) -> None:
        self.lines = lines
        self.choices = choices  # the record's answer choices the text was read with
        self.off = off  # official pairs (the task's PromptCBLUE rule)
        self.items = items
        self.norms = norms  # items' normalized names
        self.header_line = header_line
        self.start = start  # first line after the header
        self.offformat = offformat  # no pairs, prose lines, or labels unknown or outside the choices
        self.first_pair = first_pair  # line 0 holds a pair: the official rule drops it
        self._infos = infos  # cached line readings (lenient path)
        self._item_lines: list[int] | None = None
        self._off_lines: list[int] | None = None
        self._pairset: set[tuple[str, int]] | None = None
        self._dedup: tuple[list[Item], list[str]] | None = None
        self._repeat: bool | None = None

    @property
    def item_lines(self) -> list[int]:
        """Line index of each item."""
        if self._item_lines is None:
            infos, n = self._infos or [], len(self.lines)
            self._item_lines = [i for i in range(self.start, n) for _ in infos[i][1]]
        return self._item_lines

    @property
    def pairset(self) -> set[tuple[str, int]]:
        if self._pairset is None:
            self._pairset = set(map(_NORM_LABEL, self.items))
        return self._pairset

    @property
    def names_repeat(self) -> bool:
        """Some entity name occurs twice among the items."""
        return len(set(self.norms)) < len(self.norms)

    @property
    def repeat(self) -> bool:
        """Some entity name occurs twice after dropping repeated pairs (cached: asked of gold per sample)."""
        if self._repeat is None:
            self.dedup()
        return self._repeat  # type: ignore[return-value]

    def dedup(self) -> tuple[list[Item], list[str]]:
        """Items with repeated (entity, label) pairs dropped (gold is a set), and their names."""
        if self._dedup is None:
            norms = self.norms
            if len(set(norms)) == len(norms):  # distinct names: nothing to drop, nothing repeats
                self._dedup, self._repeat = (self.items, norms), False
            else:
                items = [self.items[k] for k in self.dedup_index()]
                names = [it.norm for it in items]
                self._dedup, self._repeat = (items, names), len(set(names)) < len(names)
        return self._dedup

    def dedup_index(self) -> list[int]:
        """Indices into `items` of the first occurrence of each (entity, label) pair."""
        seen: set[tuple[str, int]] = set()
        keep = []
        for k, it in enumerate(self.items):
            if (it.norm, it.label) not in seen:
                seen.add((it.norm, it.label))
                keep.append(k)
        return keep

    def offformat_lines(self) -> list[int]:
        """The lines that make the reading off-format: prose after the header, and pair lines with
        a label unknown or outside the choices, as written or as the official rule reads it."""
        if self._infos is not None:
            # lenient reading: each line after the header carries its on-format flag (prose and
            # pair lines with a bad label are off; blank lines and the header line are on)
            infos = self._infos
            return [i for i in range(self.start, len(infos)) if not infos[i][4]]
        return self._off_lines or []  # other readings list them when they read the text

    def dedup_lines(self) -> list[int]:
        """Line index of each deduplicated item."""
        lines = self.item_lines
        if self.dedup()[0] is self.items:
            return lines
        return [lines[k] for k in self.dedup_index()]


class Reader:
    """Reads one task's texts with one parser and one entity canonicalizer, caching lines and texts."""

    def __init__(self, parser: str, name_of: Callable[[str], tuple[str, str]], task: Task) -> None:
        self.parser = parser
        self.name_of = name_of
        self.task = task
        self.unknown_label = task.unknown_label or NOT_ANNOTATED  # set for every attr_cls task
        self._lines = _Memo(self._line)  # line -> (label after a lone colon, items, header if first, status)
        self._by_choices: dict[frozenset[str], _Memo] = {}
        self._texts: dict[tuple[str, frozenset[str]], TextRead] = {}

    def _line(self, line: str) -> tuple:
        parts = line.split("：")
        written = parts[1] if len(parts) == 2 else None  # the label the official rule reads
        first_header, segs, status, _ = read_line(line, self.unknown_label)
        items = tuple(
            Item(*self.name_of(entity), LABEL_INDEX[label], entity, known, raw)
            for entity, label, raw, known in segs
        )
        return written, items, first_header, status

    def _for_choices(self, choices: frozenset[str]) -> _Memo:
        """Per answer-choice set: line -> (the pair the official rule reads on it as a line after
        the first, or None; items; header if first; status; on format: no prose and every label
        known and among the choices)."""
        got = self._by_choices.get(choices)
        if got is None:
            lines, official = self._lines, self.task.official

            def row(line: str) -> tuple:
                written, items, first_header, status = lines[line]
                # on format: no prose, labels known and among the choices, and the official rule
                # reads the same label (a trailing space or \r would put it outside the choices)
                ok = status != NO_SEPARATOR and all(it.known and it.raw_label in choices for it in items)
                ok = ok and (not items or written is None or written in choices)
                return _one_pair(official("\n" + line, choices), line), items, first_header, status, ok

            got = self._by_choices[choices] = _Memo(row)
        return got

    def read(self, text: str, choices: frozenset[str]) -> TextRead:
        """The reading of `text`, cached by (text, choices) (traces and one-off calls use this)."""
        got = self._texts.get((text, choices))
        if got is None:
            got = self._texts[(text, choices)] = self.read_once(text, choices)
        return got

    def read_once(self, text: str, choices: frozenset[str], features: bool = True) -> TextRead:
        """The reading of `text`, not kept: the scoring loop drops each reading after its sample,
        so nothing but reference counting ever has to free them (no cyclic-GC work later).

        `features=False` skips what only a prediction needs (`offformat`, `first_pair` stay None):
        the loop reads gold that way unless the prediction is the gold text itself.
        """
        if self.parser != "lenient" or ("\r" in text and text.count("\r") != text.count("\r\n")):
            return self._read_generic(text, choices)
        # the lenient reading: one memo lookup per line, then itemgetter maps (the work stays in C)
        lines = text.split("\n")
        rows = list(map((self._by_choices.get(choices) or self._for_choices(choices)).__getitem__, lines))
        off = set(map(_R_OFF, islice(rows, 1, None)))  # the official rule drops line 0 whatever it holds
        off.discard(None)
        n = len(rows)
        f = 0
        while f < n and rows[f][3] == BLANK:
            f += 1
        header = f < n and rows[f][2]
        start = f + 1 if header else f
        body = rows[start:] if start else rows
        items = list(chain.from_iterable(map(_ITEMS, body)))
        if features:
            offformat = not items or not all(map(_R_OK, body))
            first_pair = f == 0 and not header and bool(rows[0][1])
        else:
            offformat = first_pair = None
        return TextRead(
            lines,
            off,
            choices,
            items,
            list(map(_NORM, items)),
            f if header else None,
            start,
            offformat,
            first_pair,
            rows,
        )

    def _read_generic(self, text: str, choices: frozenset[str]) -> TextRead:
        off = self.task.official(text, choices)
        parsed = PARSERS[self.parser](text, choices, self.task)
        lines = parsed.lines if self.parser != "lenient" else split_lines(text)
        items = [
            Item(
                *self.name_of(p.entity),
                LABEL_INDEX[p.label],
                p.entity,
                p.known_label,
                p.raw_label,
            )
            for p in parsed.pairs
        ]
        item_lines = [p.line for p in parsed.pairs]
        prose = [i for i, status, _ in parsed.diags if status == NO_SEPARATOR and i != parsed.header_line]
        # the official rule reads the "\n"-separated lines as they are (a trailing "\r" included)
        raw = text.split("\n")
        raw_of = _raw_line_index(text) if self.parser == "lenient" else range(len(raw))
        off_lines = set(prose)
        off_lines.update(
            ln
            for it, ln in zip(items, item_lines, strict=True)
            if not it.known or it.raw_label not in choices
        )
        off_lines.update(ln for ln in set(item_lines) if _official_label_off(raw[raw_of[ln]], choices))
        offformat = not items or bool(off_lines)
        # whether the official rule loses a pair on line 0 is a property of the text, whatever the parser
        first_header, segs, status, _ = read_line(text.split("\n")[0], self.unknown_label)
        first_pair = status != BLANK and not first_header and bool(segs)
        norms = [it.norm for it in items]
        out = TextRead(lines, off, choices, items, norms, parsed.header_line, 0, offformat, first_pair)
        out._item_lines, out._off_lines = item_lines, sorted(off_lines)
        return out
