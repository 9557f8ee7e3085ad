"""PromptCBLUE records: the type, a validating reader, filters, and the study's three-field format."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from harness.errors import DataError, HarnessError, Problem
from harness.jsonl import iter_unique_items, write_jsonl
from harness.safeio import check_input_file

ATTR_CLS_HEADER = "上述对话中临床发现实体以及其阴阳性判别如下："

# CHIP short label -> PromptCBLUE long label (templates_augment.json states this mapping).
LONG_LABELS: dict[str, str] = {
    "阳性": "已有症状疾病或者假设未来可能发生的疾病等",
    "阴性": "未患有症状疾病",
    "其他": "没有回答、不知道、回答不明确或者模棱两可不好推断",
    "不标注": "无实际意义的不标注或者和病人当前的状态独立不标注",
}
SHORT_LABELS: dict[str, str] = {v: k for k, v in LONG_LABELS.items()}
ATTR_CLS_CHOICES: list[str] = list(LONG_LABELS.values())

OnError = Literal["fail", "skip"]


@dataclass(frozen=True)
class Record:
    """One PromptCBLUE record (docs/design.md, "Records")."""

    sample_id: str
    input: str
    target: str
    answer_choices: list[str] | None
    task_type: str
    task_dataset: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Example:
    """The study's three-field training format."""

    instruction: str
    input: str
    output: str


@dataclass
class ReadResult:
    """Records read from one file, and the problems of the lines that were skipped."""

    path: str
    records: list[Record] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


_STR_FIELDS = ("sample_id", "input", "target", "task_type", "task_dataset")


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    text = repr(value)
    return f"{type(value).__name__} {text[:40]}{'…' if len(text) > 40 else ''}"


def parse_record(obj: Any, path: str, line: int) -> Record | Problem:
    """Validate one decoded JSON value as a Record, or say exactly what is wrong with it."""
    if not isinstance(obj, dict):
        return Problem(path, line, None, f"expected a JSON object, got {_describe(obj)}")
    for name in _STR_FIELDS:
        if name not in obj:
            return Problem(path, line, name, "expected a string, got nothing (field missing)")
        value = obj[name]
        if name == "target" and value is None:
            continue  # test files carry null or empty targets
        if not isinstance(value, str):
            return Problem(path, line, name, f"expected a string, got {_describe(value)}")
    if not obj["sample_id"].strip():
        return Problem(path, line, "sample_id", "expected a non-empty string, got ''")
    choices = obj.get("answer_choices")
    if choices is not None and not (isinstance(choices, list) and all(isinstance(c, str) for c in choices)):
        return Problem(
            path, line, "answer_choices", f"expected a list of strings or null, got {_describe(choices)}"
        )
    return Record(
        sample_id=obj["sample_id"],
        input=obj["input"],
        target=obj["target"] or "",
        answer_choices=list(choices) if choices is not None else None,
        task_type=obj["task_type"],
        task_dataset=obj["task_dataset"],
    )


def read_records(
    path: str | Path,
    *,
    on_error: OnError = "fail",
    task_type: str | Iterable[str] | None = None,
    task_dataset: str | Iterable[str] | None = None,
) -> ReadResult:
    """Read PromptCBLUE records (JSON lines or a JSON array), validating every field.

    `on_error="fail"` raises DataError listing every bad line after reading the whole file;
    `"skip"` keeps the good records and returns the problems. Duplicate sample ids are problems.
    """
    types = {task_type} if isinstance(task_type, str) else set(task_type or ())
    datasets = {task_dataset} if isinstance(task_dataset, str) else set(task_dataset or ())
    result = ReadResult(path=str(path))
    for _, rec in iter_unique_items(path, parse_record, lambda r: r.sample_id, "sample_id"):
        if isinstance(rec, Problem):
            result.problems.append(rec)
            continue
        if (types and rec.task_type not in types) or (datasets and rec.task_dataset not in datasets):
            continue
        result.records.append(rec)
    if result.problems and on_error == "fail":
        raise DataError(result.problems)
    return result


class GoldError(DataError):
    """Bad lines in a gold file: the message says it is the gold file (not the predictions)."""

    def __str__(self) -> str:
        return f"bad gold lines: {super().__str__()}"


def _gold_problem(obj: Any, rec: Record | Problem, path: str, line: int) -> Problem | None:
    """What makes a parsed line unusable as gold for scoring, beyond `parse_record`'s checks."""
    if isinstance(rec, Problem):
        if isinstance(obj, dict) and "text" in obj and rec.field in ("input", "target"):
            hint = "; the line looks like a prediction (sample_id + text): were --gold and --pred swapped?"
            return Problem(rec.path, rec.line, rec.field, rec.message + hint)
        return rec
    if not rec.target.strip():
        got = "null" if obj["target"] is None else repr(obj["target"])
        return Problem(
            path,
            line,
            "target",
            f"expected the gold answer text, got {got} (a file of test inputs has no answers: "
            "score against one with gold targets)",
        )
    return None


def read_gold(path: str | Path, scorable: Callable[[Record], bool]) -> list[Record]:
    """The records of a gold file for scoring, every line checked.

    Stricter than `read_records`: a `scorable` record needs a non-empty `target` (a null or
    empty one would score every prediction against nothing). Raises GoldError listing the bad
    lines (its message names the gold file), HarnessError when the file holds no records.
    """
    p = check_input_file(path, "gold file")
    records: list[Record] = []
    problems: list[Problem] = []

    def parse(obj: Any, where: str, line: int) -> Record | Problem:
        rec = parse_record(obj, where, line)
        if isinstance(rec, Record) and rec.task_type == "attr_cls" and not rec.answer_choices:
            # skipping it as "another task" would silently score fewer samples than the file holds
            got = (
                "nothing (field missing)" if "answer_choices" not in obj else _describe(obj["answer_choices"])
            )
            return Problem(
                where,
                line,
                "answer_choices",
                f"an attr_cls record needs its list of answer choices, got {got}",
            )
        if isinstance(rec, Record) and not scorable(rec):
            return rec
        return _gold_problem(obj, rec, where, line) or rec

    for _, rec in iter_unique_items(p, parse, lambda r: r.sample_id, "sample_id"):
        if isinstance(rec, Problem):
            problems.append(rec)
        else:
            records.append(rec)
    if problems:
        raise GoldError(problems)
    if not records:
        raise HarnessError(f"{p}: the gold file holds no records")
    return records


def write_records(path: str | Path, records: Iterable[Record]) -> Path:
    """Write records as PromptCBLUE JSON lines (atomically)."""
    return write_jsonl(path, (r.to_json() for r in records))


def to_example(record: Record) -> Example:
    """The study's instruction / input / output form: the instruction states the task and its labels."""
    choices = record.answer_choices or []
    instruction = (
        f"任务：{record.task_type}（{record.task_dataset}）。"
        "阅读输入并按要求作答；每个实体一行，写成“实体：标签”。"
        + (f"标签选项：{'，'.join(choices)}" if choices else "")
    )
    return Example(instruction=instruction, input=record.input, output=record.target)
