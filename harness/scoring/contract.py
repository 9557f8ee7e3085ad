"""The scores/trace contract: what a run's scores.json, traces/<system>.jsonl and counts hold.

One version covers the three files: `SCORES_VERSION` is written at the top of scores.json, and
every reader checks it before reading anything else, so a file from another harness is refused
with a message that says what to do (rebuild it with `harness rescore RUN`) instead of being
read as whatever shape it happens to have. The shapes are the TypedDicts below; docs/scoring.md
says what each number means.

Version history: 1 (never written: scores.json had no version); 2: `version`, a summary per
task under `by_task` when a run scores several tasks, counts files list each sample's task.
"""

from __future__ import annotations

from typing import Any, TypedDict

from harness.errors import HarnessError

SCORES_VERSION = 2


class PRF(TypedDict):
    precision: float
    recall: float
    f1: float
    tp: int
    fp: int
    fn: int


class Counts(TypedDict):
    tp: int
    fp: int
    fn: int


class SampleClassification(TypedDict):
    items: int
    correct: int


class TagRow(TypedDict):
    tag: str
    source: str  # "pred" or "gold": which text `lines` come from
    lines: list[str]


class Trace(TypedDict):
    """One row of traces/<system>.jsonl (and of `harness score --trace`)."""

    sample_id: str
    task_dataset: str
    prediction: str
    gold_pairs: dict[str, list[list[str]]]
    pred_pairs: dict[str, list[list[str]]]
    alignment: list[dict[str, Any]]
    tags: list[TagRow]
    parse: dict[str, list[dict[str, Any]]]
    official: Counts
    canonical: Counts
    classification: SampleClassification


def _rebuild(run: str) -> str:
    return f"rebuild it with `harness rescore {run}`"


def check_version(doc: dict[str, Any], where: str, run: str) -> None:
    """Refuse a scores.json of another contract version: `WHERE: field version: expected …`."""
    if "version" not in doc:
        raise HarnessError(
            f"{where}: field version: missing (a scores file from an older harness); expected "
            f"version {SCORES_VERSION}; {_rebuild(run)}"
        )
    v = doc["version"]
    if type(v) is not int or v != SCORES_VERSION:
        raise HarnessError(
            f"{where}: field version: expected {SCORES_VERSION} (what this harness reads), got {v!r}; {_rebuild(run)}"
        )


def _count(v: Any) -> bool:
    return type(v) is int and v >= 0


def trace_problem(row: dict[str, Any]) -> str | None:
    """`field: expected …` for the first part of a trace row that is not the contract's, else None."""
    for key in ("sample_id", "task_dataset"):
        if not isinstance(row.get(key), str):
            return f"{key}: expected a string, got {row.get(key)!r}"
    for block, keys in (
        ("official", Counts),
        ("canonical", Counts),
        ("classification", SampleClassification),
    ):
        value = row.get(block)
        if not isinstance(value, dict) or not all(_count(value.get(k)) for k in keys.__annotations__):
            return f"{block}: expected {{{', '.join(keys.__annotations__)}}} counts, got {value!r}"
    tags = row.get("tags")
    if not isinstance(tags, list) or not all(
        isinstance(t, dict) and isinstance(t.get("tag"), str) for t in tags
    ):
        return "tags: expected a list of {tag, source, lines} objects"
    if not isinstance(row.get("alignment"), list):
        return "alignment: expected a list of rows"
    return None
