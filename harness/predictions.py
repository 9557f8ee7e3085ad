"""Reading prediction files: `sample_id` + `text` lines, or the PromptCBLUE submission form (`target`)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from harness.errors import HarnessError, Problem
from harness.jsonl import iter_json_objects


def _names(ids: Iterable[str], limit: int = 5) -> str:
    ids = sorted(ids)
    head = ", ".join(repr(i) for i in ids[:limit])
    return f"{head} (and {len(ids) - limit} more)" if len(ids) > limit else head


def read_predictions(
    path: str | Path,
    gold_ids: Iterable[str] | None = None,
    allow_missing: bool = False,
    *,
    system: str | None = None,
) -> dict[str, str]:
    """sample_id → generated text, validated.

    Each line needs `sample_id` and `text` (a harness prediction line) or `target` (the
    PromptCBLUE submission form). Files holding several systems' rows need `system` to pick
    one. Raises HarnessError naming the first few offenders (and how many) for: bad lines,
    duplicate ids, ids not in `gold_ids`, and gold ids with no prediction unless
    `allow_missing` (those are then returned as empty texts, scored as empty predictions).
    """
    out: dict[str, str] = {}
    problems: list[str] = []
    dupes: list[str] = []
    systems: set[str] = set()
    for line, obj in iter_json_objects(path):
        if isinstance(obj, Problem):
            problems.append(str(obj))
            continue
        if not isinstance(obj, dict):
            problems.append(f"{path}:{line}: expected a JSON object")
            continue
        if "system" in obj and obj["system"] is not None:
            systems.add(str(obj["system"]))
            if system is not None and obj["system"] != system:
                continue
        sid = obj.get("sample_id")
        text = obj["text"] if "text" in obj else obj.get("target")
        if not isinstance(sid, str) or not sid:
            problems.append(f"{path}:{line}: field sample_id: expected a non-empty string")
            continue
        if text is None:
            text = ""
        if not isinstance(text, str):
            problems.append(f"{path}:{line}: field text/target: expected a string, got {type(text).__name__}")
            continue
        if sid in out:
            dupes.append(sid)
            continue
        out[sid] = text
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise HarnessError(f"bad prediction lines: {problems[0]}{more}")
    if system is not None and system not in systems:
        raise HarnessError(f"{path}: no rows of system {system!r}; systems: {_names(systems) or 'none'}")
    if dupes:
        hint = (
            f" (the file holds systems {_names(systems)}: pick one)"
            if len(systems) > 1 and system is None
            else ""
        )
        raise HarnessError(f"{path}: {len(set(dupes))} duplicate sample id(s): {_names(set(dupes))}{hint}")
    if gold_ids is not None:
        check_ids(out, gold_ids, allow_missing, path)
    return out


def check_ids(out: dict[str, str], gold_ids: Iterable[str], allow_missing: bool, path: str | Path) -> None:
    """Reject ids not in `gold_ids`; reject gold ids missing from `out`, or fill them with "" when allowed."""
    gold = list(gold_ids)
    gold_set = set(gold)
    unknown = [sid for sid in out if sid not in gold_set]
    if unknown:
        raise HarnessError(f"{path}: {len(unknown)} prediction id(s) not in the gold file: {_names(unknown)}")
    missing = [sid for sid in gold if sid not in out]
    if missing and not allow_missing:
        raise HarnessError(
            f"{path}: {len(missing)} gold id(s) have no prediction: {_names(missing)} "
            "(--allow-missing scores them as empty predictions)"
        )
    for sid in missing:
        out[sid] = ""
