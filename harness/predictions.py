"""Reading prediction files: `sample_id` + `text` lines, or the PromptCBLUE submission form (`target`)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from harness.errors import HarnessError, Problem
from harness.jsonl import iter_json_objects
from harness.safeio import check_input_file

# Fields of a prediction line that never hold the text (named in the hint for a missing text).
_NOT_TEXT = {"sample_id", "system", "source"}


def _names(ids: Iterable[str], limit: int = 5) -> str:
    ids = sorted(ids)
    head = ", ".join(repr(i) for i in ids[:limit])
    return f"{head} (and {len(ids) - limit} more)" if len(ids) > limit else head


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    text = repr(value)
    return f"{type(value).__name__} {text[:40]}{'…' if len(text) > 40 else ''}"


def _text_of(obj: dict[str, Any], path: str, line: int, text_field: str | None) -> str | Problem:
    """The line's prediction text, or a Problem that says which field was expected and what was there."""
    if text_field is not None:
        name = text_field
        if name not in obj:
            return Problem(path, line, name, "expected the prediction text (--text-field), got nothing")
    elif "text" in obj:
        name = "text"
    elif "target" in obj:
        name = "target"  # the PromptCBLUE submission form
    else:
        others = [k for k, v in obj.items() if k not in _NOT_TEXT and isinstance(v, str)]
        hint = f"; this line has {', '.join(others)}: use --text-field NAME to read one" if others else ""
        return Problem(
            path, line, "text", f"expected the prediction text in text (or target, the submission form){hint}"
        )
    value = obj[name]
    if not isinstance(value, str):
        # null is not an empty prediction: a failed or unfinished generation must not score as one
        return Problem(path, line, name, f"expected a string (the prediction text), got {_kind(value)}")
    return value


def read_predictions(
    path: str | Path,
    gold_ids: Iterable[str] | None = None,
    allow_missing: bool = False,
    *,
    system: str | None = None,
    text_field: str | None = None,
) -> dict[str, str]:
    """sample_id → generated text, validated.

    Each line needs `sample_id` and the text: `text` (a harness prediction line), else `target`
    (the PromptCBLUE submission form), or the field `text_field` names. The text must be a
    string ("" is an empty prediction); null, a number, a list or no text at all is an error.
    Files holding several systems' rows need `system` to pick one. Raises HarnessError naming
    the first few offenders (and how many) for: bad lines, duplicate ids, ids not in
    `gold_ids`, and gold ids with no prediction unless `allow_missing` (those are then left
    out: the scorer scores them as empty and counts them in `unpredicted`).
    """
    p = str(check_input_file(path, "prediction file"))
    out: dict[str, str] = {}
    problems: list[str] = []
    dupes: list[str] = []
    systems: set[str] = set()
    for line, obj in iter_json_objects(p):
        if isinstance(obj, Problem):
            problems.append(str(obj))
            continue
        if not isinstance(obj, dict):
            problems.append(f"{p}:{line}: expected a JSON object, got {_kind(obj)}")
            continue
        if obj.get("system") is not None:
            if not isinstance(obj["system"], str):
                problems.append(
                    str(Problem(p, line, "system", f"expected a string, got {_kind(obj['system'])}"))
                )
                continue
            systems.add(obj["system"])
            if system is not None and obj["system"] != system:
                continue
        sid = obj.get("sample_id")
        if not isinstance(sid, str) or not sid:
            problems.append(f"{p}:{line}: field sample_id: expected a non-empty string, got {_kind(sid)}")
            continue
        text = _text_of(obj, p, line, text_field)
        if isinstance(text, Problem):
            problems.append(str(text))
            continue
        if sid in out:
            dupes.append(sid)
            continue
        out[sid] = text
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise HarnessError(f"bad prediction lines: {problems[0]}{more}")
    if system is not None and system not in systems:
        raise HarnessError(f"{p}: no rows of system {system!r}; systems: {_names(systems) or 'none'}")
    if dupes:
        hint = (
            f" (the file holds systems {_names(systems)}: pick one)"
            if len(systems) > 1 and system is None
            else ""
        )
        raise HarnessError(f"{p}: {len(set(dupes))} duplicate sample id(s): {_names(set(dupes))}{hint}")
    if gold_ids is not None:
        check_ids(out, gold_ids, allow_missing, p)
    return out


def check_ids(out: dict[str, str], gold_ids: Iterable[str], allow_missing: bool, path: str | Path) -> None:
    """Reject ids not in `gold_ids`, and gold ids missing from `out` unless `allow_missing`.

    Missing ids stay out of `out`: the scorer scores them as empty predictions and counts them
    (`unpredicted`), which it could not if they were filled in here.
    """
    gold = list(gold_ids)
    gold_set = set(gold)
    unknown = [sid for sid in out if sid not in gold_set]
    if unknown:
        raise HarnessError(f"{path}: {len(unknown)} prediction id(s) not in the gold file: {_names(unknown)}")
    missing = [sid for sid in gold if sid not in out]
    if missing and not allow_missing:
        empty = " (none of the scored samples has one)" if not out else ""
        raise HarnessError(
            f"{path}: {len(missing)} gold id(s) have no prediction{empty}: {_names(missing)} "
            "(--allow-missing scores them as empty predictions)"
        )
