"""`harness data inspect`: what a PromptCBLUE file holds and what is wrong with it.

Counts records per task_dataset / task_type, the label distribution (targets parsed by the
official rule), the templates used, the inputs that end in "答：", and problems: unreadable
lines (FILE:LINE: field X: …) and content findings (a target that does not parse, a missing
header, a label outside the choices, an entity twice, an entity not in the input's list).

Templates are identified without the templates file: the label list is replaced by
[LIST_LABELS]; a short first line that reads like an instruction ("…：" / "…？") names the
template, otherwise the last line before the trailing "key：value" lines does (the templates
that start with [INPUT_TEXT] put their question there); the keys of those trailing lines
("临床发现实体", "阴阳性选项", …) are appended, since some templates share a first line.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.datasets.templates import HEADERS
from harness.errors import DataError, Problem
from harness.jsonl import iter_unique_items
from harness.records import OnError, Record, parse_record
from harness.safeio import UTF16, check_input_file, encoding_problem, json_problem
from harness.scoring.official import official_pairs

_CONTENT = ("患者：", "医生：", "对话历史：", "当前对话：")
_KEY_LINE = re.compile(r"^([^：\n]{1,8})：")
_LIST_LINES = ("临床发现实体：", "实体：")  # lines that list the entities to label (attr_cls inputs)


@dataclass
class InspectReport:
    path: str
    records: int = 0
    by_task_dataset: Counter[str] = field(default_factory=Counter)
    by_task_type: Counter[str] = field(default_factory=Counter)
    labels: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    templates: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    ends_with_answer: Counter[str] = field(default_factory=Counter)
    empty_targets: Counter[str] = field(default_factory=Counter)
    bad_lines: list[Problem] = field(default_factory=list)
    findings: list[tuple[str, Problem]] = field(default_factory=list)  # (kind, problem)

    @property
    def problem_count(self) -> int:
        return len(self.bad_lines) + len(self.findings)

    def to_json(self) -> dict[str, Any]:
        def sort(c: Counter[str]) -> dict[str, int]:
            return dict(c.most_common())

        return {
            "path": self.path,
            "records": self.records,
            "by_task_dataset": sort(self.by_task_dataset),
            "by_task_type": sort(self.by_task_type),
            "labels": {k: sort(v) for k, v in self.labels.items() if v},
            "templates": {k: sort(v) for k, v in self.templates.items()},
            "ends_with_answer": {k: {"yes": self.ends_with_answer[k], "no": n - self.ends_with_answer[k]} for k, n in self.by_task_dataset.items()},
            "empty_targets": sort(self.empty_targets),
            "problem_counts": {"bad_line": len(self.bad_lines), **sort(Counter(k for k, _ in self.findings))},
            "problems": [str(p) for p in self.bad_lines] + [f"{p} [{k}]" for k, p in self.findings],
        }  # fmt: skip


def template_signature(record: Record) -> str:
    """A short name for the template an input was written with (see the module docstring)."""
    text = record.input
    if record.answer_choices:
        text = text.replace("，".join(record.answer_choices), "[LIST_LABELS]")
    lines = [line for line in text.split("\n") if line.strip()]
    if not lines:
        return "(empty input)"
    end = len(lines)
    keys: list[str] = []
    while end > 1:
        m = _KEY_LINE.match(lines[end - 1])
        if not m or lines[end - 1].startswith(_CONTENT) or m.group(1) == "问题":
            break
        if m.group(1) != "答":  # the same template appears with and without the answer cue
            keys.insert(0, m.group(1))
        end -= 1
    tail = " / ".join(keys)
    first = lines[0]
    if (
        not first.startswith(_CONTENT)
        and len(first) <= 60
        and (first.endswith(("：", "？")) or "[LIST_LABELS]" in first)
    ):
        return f"{first} … {tail}".rstrip()
    question = lines[end - 1] if end > 1 and not lines[end - 1].startswith(_CONTENT) else ""
    return f"… {question} {tail}".replace("  ", " ").rstrip()


def _listed_entities(text: str) -> list[str] | None:
    for line in reversed(text.split("\n")):
        if line.startswith(_LIST_LINES):
            return line.split("：", 1)[1].split("，")
    return None


def check_target(record: Record, path: str, line: int) -> list[tuple[str, Problem]]:
    """Content findings of one attr_cls record's target (empty targets are test inputs: no findings)."""
    out: list[tuple[str, Problem]] = []

    def add(kind: str, message: str) -> None:
        out.append((kind, Problem(path, line, "target", message)))

    lines = record.target.split("\n")
    header = HEADERS.get(record.task_dataset)
    if header and lines[0] != header:
        add(
            "header",
            f"first line is not the header {header!r}, got {lines[0][:40]!r} (the official rule drops it)",
        )
    choices = set(record.answer_choices or ())
    seen: Counter[str] = Counter()
    for n, text in enumerate(lines[1:], 2):
        parts = text.split("：")
        if len(parts) != 2:
            add(
                "unparsable",
                f"line {n}: expected 'entity：label', got {text[:40]!r} (the official rule skips it)",
            )
            continue
        entity, label = parts[0].strip(), parts[1]
        seen[entity] += 1
        if label not in choices:
            add("label_outside_choices", f"line {n}: label {label[:40]!r} is not one of answer_choices")
    if len(lines) > 1 and not seen:
        add("no_pairs", "no line reads as 'entity：label'")
    for entity, count in seen.items():
        if count > 1:
            add("duplicate_entity", f"entity {entity!r} appears {count} times")
    listed = _listed_entities(record.input)
    if listed is not None:
        for entity in seen:
            if entity not in listed:
                add("unlisted_entity", f"entity {entity!r} is not in the input's entity list")
    return out


def _labels(record: Record, counter: Counter[str]) -> None:
    if record.task_type == "attr_cls":
        counter.update(label for _, label in official_pairs(record.target, record.answer_choices))
    elif record.task_type == "ner":  # entities per type: lines "<type>实体：a，b"
        for text in record.target.split("\n")[1:]:
            etype, sep, ents = text.partition("实体：")
            if sep:
                counter[etype] += len([e for e in ents.split("，") if e])


def unreadable(path: str | Path) -> str | None:
    """Why the file as a whole cannot be read (not a line of it): UTF-16 or GBK text, or a JSON
    array that does not parse. None when it can be read line by line (or item by item)."""
    p = check_input_file(path)
    raw = p.read_bytes()
    bad = encoding_problem(raw)
    if bad is not None and (bad[1] == UTF16 or _is_gbk(raw)):
        return f"{p}:{bad[0]}: {bad[1]}"
    if bad is None and raw.removeprefix(b"\xef\xbb\xbf").lstrip().startswith(b"["):
        _, problem, line = json_problem(raw.decode("utf-8-sig"))
        if problem:
            return f"{p}:{line or 1}: invalid JSON array: {problem}"
    return None


def _is_gbk(raw: bytes) -> bool:
    try:
        raw.decode("gb18030")
    except UnicodeDecodeError:
        return False
    return True


def inspect_file(path: str | Path, *, on_error: OnError = "skip") -> InspectReport:
    """Inspect one PromptCBLUE file. `on_error="fail"` raises on unreadable lines; content
    findings (real gold files have some) are always reported, never fatal."""
    report = InspectReport(path=str(path))
    for line, rec in iter_unique_items(path, parse_record, lambda r: r.sample_id, "sample_id"):
        if isinstance(rec, Problem):
            report.bad_lines.append(rec)
            continue
        ds = rec.task_dataset
        report.records += 1
        report.by_task_dataset[ds] += 1
        report.by_task_type[rec.task_type] += 1
        report.templates[ds][template_signature(rec)] += 1
        report.ends_with_answer[ds] += rec.input.rstrip().endswith("答：")
        if not rec.target.strip():
            report.empty_targets[ds] += 1
            continue
        _labels(rec, report.labels[ds])
        if rec.task_type == "attr_cls":
            report.findings.extend(check_target(rec, str(path), line))
    if report.bad_lines and on_error == "fail":
        raise DataError(report.bad_lines)
    if not report.records and not report.bad_lines:
        report.findings.append(("empty", Problem(str(path), 1, None, "the file holds no records")))
    return report
