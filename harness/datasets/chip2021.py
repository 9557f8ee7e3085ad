"""Raw CHIP-2021 (CHIP-MDCFNPC) dialogs -> PromptCBLUE attr_cls records.

Policies (each counted in `ConvertResult.stats`):
- Conflicts: when one mention carries different labels in different turns of a record, the
  `conflict_policy` decides: "last" (default: the label of its last occurrence, i.e. the
  latest turn, wins), "first", or "majority" (the most frequent label; ties go to the latest).
- Empty labels (`attr` == ""): the occurrence is ignored; a mention whose every occurrence is
  unlabelled is left out of the record (counted as `mentions_dropped_unlabelled`).
- Mentions are sanitized so the official rule reads them back and the input's entity list
  (joined by "，") stays unambiguous: a full-width colon becomes ":", a full-width comma
  ",", newlines become spaces, surrounding white space is stripped (`mentions_sanitized`
  counts occurrences, `sanitized_by` says why).
  Turn texts keep their words but newlines inside a turn become spaces, so one turn is one
  `患者：…` / `医生：…` line.
- Windows (`max_chars`): turns are packed into windows of at most `max_chars` characters
  of dialogue; a turn longer than that is first cut into pieces that fit, never inside a
  mention (`split_turns`; a mention longer than a window can still overflow it:
  `windows_over_limit`). Each window lists only the mentions it contains and resolves their
  labels from its own turns; windows without mentions are dropped (`windows_without_mentions`).
  Ids: `chip2021-<dialog_id>` or, when a dialog is split, `chip2021-<dialog_id>-w<k>` (k from 1).
- Templates: one per dialog, chosen by `random.Random(f"{seed}:{dialog_id}")`, so a dialog
  keeps its template whatever else is in the file.
- Dialog-level split (`split`): every window of a dialog goes to the same part (train, dev or
  test), decided by the dialog id and seed alone (`dialog_part`), so parts made with the same
  seed and shares never hold windows of one dialog, whatever the file order or window size.
"""

from __future__ import annotations

import hashlib
import itertools
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from harness.datasets.templates import ATTR_CLS_TEMPLATES, fill_template, load_templates
from harness.errors import DataError, HarnessError, Problem
from harness.jsonl import iter_unique_items
from harness.records import ATTR_CLS_CHOICES, ATTR_CLS_HEADER, LONG_LABELS, OnError, Record

ConflictPolicy = Literal["last", "first", "majority"]
CONFLICT_POLICIES: tuple[str, ...] = ("last", "first", "majority")
SPEAKERS = ("患者", "医生")
_LABELS_TEXT = "，".join(ATTR_CLS_CHOICES)


@dataclass(frozen=True)
class Turn:
    speaker: str
    text: str
    # (mention, short label or "", position in the turn) in reading order
    mentions: tuple[tuple[str, str, int], ...]


@dataclass(frozen=True)
class Dialog:
    dialog_id: str
    turns: tuple[Turn, ...]


@dataclass
class ConvertResult:
    records: list[Record] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


def _describe(value: Any) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text[:40]}{'…' if len(text) > 40 else ''}"


_SANITIZE = {
    "colon": ("：", ":"),
    "comma": ("，", ","),
    "newline": ("\n", " "),
    "carriage_return": ("\r", " "),
}


def _sanitize(mention: str, stats: Counter[str]) -> str:
    out = mention
    for kind, (bad, good) in _SANITIZE.items():
        if bad in out:
            stats[f"sanitized_{kind}"] += 1
            out = out.replace(bad, good)
    if out != out.strip():
        stats["sanitized_whitespace"] += 1
        out = out.strip()
    stats["mentions_sanitized"] += out != mention
    return out


def parse_dialog(obj: Any, path: str, line: int) -> Dialog | Problem:
    """Validate one raw CHIP-2021 dialog, or say which field is wrong and how."""

    def bad(where: str, expected: str, got: Any) -> Problem:
        return Problem(path, line, where, f"expected {expected}, got {_describe(got)}")

    if not isinstance(obj, dict):
        return Problem(path, line, None, f"expected a JSON object, got {_describe(obj)}")
    did = obj.get("dialog_id")
    if isinstance(did, bool) or not isinstance(did, int | str) or not str(did).strip():
        return bad("dialog_id", "an integer or a non-empty string", did)
    info = obj.get("dialog_info")
    if not isinstance(info, list):
        return bad("dialog_info", "a list of turns", info)
    turns: list[Turn] = []
    for t, turn in enumerate(info):
        where = f"dialog_info[{t}]"
        if not isinstance(turn, dict):
            return bad(where, "a JSON object", turn)
        speaker, text, ner = turn.get("sender"), turn.get("text"), turn.get("ner", [])
        if speaker not in SPEAKERS:
            return bad(f"{where}.sender", "'患者' or '医生'", speaker)
        if not isinstance(text, str):
            return bad(f"{where}.text", "a string", text)
        if not isinstance(ner, list):
            return bad(f"{where}.ner", "a list", ner)
        mentions: list[tuple[str, str, int]] = []
        for m, item in enumerate(ner):
            w = f"{where}.ner[{m}]"
            if not isinstance(item, dict):
                return bad(w, "a JSON object", item)
            mention, attr, rng = item.get("mention"), item.get("attr", ""), item.get("range")
            if not isinstance(mention, str):
                return bad(f"{w}.mention", "a string", mention)
            if attr is None:
                attr = ""
            if not isinstance(attr, str) or (attr != "" and attr not in LONG_LABELS):
                return bad(f"{w}.attr", f"one of {', '.join(LONG_LABELS)} or ''", attr)
            if (
                isinstance(rng, list)
                and rng
                and isinstance(rng[0], int)
                and not isinstance(rng[0], bool)
                and 0 <= rng[0] <= len(text)  # a start outside the text cannot place the mention
            ):
                pos = rng[0]
            else:
                found = text.find(mention)  # no usable range: order by where it is first said
                pos = found if found >= 0 else len(text)
            mentions.append((mention, attr, pos))
        mentions.sort(key=lambda x: x[2])  # stable: ties keep the file's order
        turns.append(Turn(speaker, text.replace("\r", " ").replace("\n", " "), tuple(mentions)))
    return Dialog(str(did), tuple(turns))


def _split_turn(turn: Turn, max_chars: int) -> list[Turn]:
    """Cut a turn longer than `max_chars` into pieces that fit, never inside a mention."""
    room = max(1, max_chars - len(turn.speaker) - 1)
    text = turn.text
    spans = [(pos, pos + len(m)) for m, _, pos in turn.mentions]
    cuts = [0]
    while len(text) - cuts[-1] > room:
        cut = cuts[-1] + room
        while cut > cuts[-1] and any(a < cut < b for a, b in spans):
            cut -= 1  # back off to just before the mention that straddles the cut
        if cut == cuts[-1]:  # one mention longer than the room: keep it whole
            cut = max(b for a, b in spans if a < cuts[-1] + room < b)
        cuts.append(cut)
    cuts.append(len(text))
    return [
        Turn(turn.speaker, text[a:b], tuple((m, lab, pos - a) for m, lab, pos in turn.mentions if a <= pos < b or (pos >= len(text) and b == len(text))))
        for a, b in itertools.pairwise(cuts)
        if b > a
    ]  # fmt: skip


def _windows(turns: Sequence[Turn], max_chars: int | None, stats: Counter[str]) -> list[list[Turn]]:
    """Pack turns into windows of at most `max_chars` dialogue characters (over-long turns are cut)."""
    if max_chars is None:
        return [list(turns)]
    windows: list[list[Turn]] = [[]]
    size = 0
    for whole in turns:
        pieces = [whole]
        if len(whole.speaker) + 1 + len(whole.text) > max_chars:
            stats["split_turns"] += 1
            pieces = _split_turn(whole, max_chars)
        for turn in pieces:
            n = len(turn.speaker) + 1 + len(turn.text)  # "患者：" + text
            extra = n + (1 if windows[-1] else 0)  # the joining newline
            if windows[-1] and size + extra > max_chars:
                windows.append([])
                size, extra = 0, n
            windows[-1].append(turn)
            size += extra
    stats["windows_over_limit"] += sum(
        len("\n".join(f"{t.speaker}：{t.text}" for t in w)) > max_chars for w in windows
    )
    return windows


def _resolve(labels: list[str], policy: ConflictPolicy) -> str:
    if policy == "first":
        return labels[0]
    if policy == "majority":
        counts = Counter(labels)
        top = max(counts.values())
        return next(lab for lab in reversed(labels) if counts[lab] == top)
    return labels[-1]


def _record(
    sample_id: str, turns: Sequence[Turn], template: str, policy: ConflictPolicy, stats: Counter[str]
) -> Record | None:
    labels: dict[str, list[str]] = {}  # insertion order = order of first appearance
    for turn in turns:
        for raw, attr, _ in turn.mentions:
            mention = _sanitize(raw, stats)
            if not mention:
                stats["mentions_dropped_blank"] += 1
                continue
            stats["empty_labels"] += attr == ""
            got = labels.setdefault(mention, [])
            if attr:
                got.append(attr)
    pairs: list[tuple[str, str]] = []
    for mention, labs in labels.items():
        if not labs:
            stats["mentions_dropped_unlabelled"] += 1
            continue
        label = _resolve(labs, policy)
        if len(set(labs)) > 1:
            stats["conflicts"] += 1
            stats[f"conflicts_resolved_to_{label}"] += 1
        pairs.append((mention, label))
    if not pairs:
        return None
    dialogue = "\n".join(f"{t.speaker}：{t.text}" for t in turns)
    mentions = "，".join(m for m, _ in pairs)
    target = "\n".join([ATTR_CLS_HEADER, *(f"{m}：{LONG_LABELS[lab]}" for m, lab in pairs)])
    stats["mentions"] += len(pairs)
    stats.update(f"label_{lab}" for _, lab in pairs)
    return Record(
        sample_id=sample_id,
        input=fill_template(template, dialogue, mentions, _LABELS_TEXT),
        target=target,
        answer_choices=list(ATTR_CLS_CHOICES),
        task_type="attr_cls",
        task_dataset="CHIP-MDCFNPC",
    )


def convert_chip2021(
    path: str | Path,
    *,
    templates: str | Path | Sequence[str] | None = None,
    seed: int = 0,
    max_chars: int | None = None,
    on_error: OnError = "fail",
    conflict_policy: ConflictPolicy = "last",
    split: DialogSplit | None = None,
) -> ConvertResult:
    """Convert a raw CHIP-2021 dialog file (JSON lines) into PromptCBLUE attr_cls records.

    `templates`: a PromptCBLUE templates.json (its CHIP-MDCFNPC list), a list of template
    strings, or None for the built-in ones. See the module docstring for every policy.
    """
    if conflict_policy not in CONFLICT_POLICIES:
        raise HarnessError(
            f"unknown conflict policy {conflict_policy!r}; valid: {', '.join(CONFLICT_POLICIES)}"
        )
    if max_chars is not None and max_chars < 1:
        raise HarnessError(f"--max-chars must be a positive number of characters, got {max_chars}")
    if templates is None:
        template_list = list(ATTR_CLS_TEMPLATES)
    elif isinstance(templates, str | Path):
        template_list = load_templates(templates, "CHIP-MDCFNPC")
    else:
        template_list = [str(t).replace("\\n", "\n") for t in templates]
        if not template_list:
            raise HarnessError("templates: expected at least one template")
    result = ConvertResult()
    stats: Counter[str] = Counter()
    for _, dialog in iter_unique_items(path, parse_dialog, lambda d: d.dialog_id, "dialog_id"):
        if isinstance(dialog, Problem):
            result.problems.append(dialog)
            continue
        if split is not None and not split.keeps(dialog.dialog_id):
            stats["dialogs_in_other_part"] += 1
            continue
        stats["dialogs"] += 1
        stats["raw_mentions"] += sum(len(t.mentions) for t in dialog.turns)
        pick = random.Random(f"{seed}:{dialog.dialog_id}").randrange(len(template_list))
        template = template_list[pick]
        stats[f"template_{pick}"] += 1
        windows = _windows(dialog.turns, max_chars, stats)
        made = 0
        for k, turns in enumerate(windows, 1):
            sid = f"chip2021-{dialog.dialog_id}" + (f"-w{k}" if len(windows) > 1 else "")
            rec = _record(sid, turns, template, conflict_policy, stats)
            if rec is None:
                stats["windows_without_mentions" if len(windows) > 1 else "dialogs_without_mentions"] += 1
                continue
            result.records.append(rec)
            made += 1
        stats["windowed_dialogs"] += len(windows) > 1
        stats["windows"] += made if len(windows) > 1 else 0
    if result.problems and on_error == "fail":
        raise DataError(result.problems)
    stats["records"] = len(result.records)
    stats["bad_lines"] = len(result.problems)
    result.stats = _ordered_stats(stats, conflict_policy, max_chars, len(template_list))
    return result


PARTS = ("train", "dev", "test")


@dataclass(frozen=True)
class DialogSplit:
    """Keep the dialogs of one part: `test_share` of the dialogs (by id) are "test", the next
    `dev_share` "dev", the rest "train"."""

    part: str
    test_share: float
    dev_share: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.part not in PARTS:
            raise HarnessError(f"split part must be one of {', '.join(PARTS)}, got {self.part!r}")
        if not (
            0 <= self.test_share < 1 and 0 <= self.dev_share < 1 and self.test_share + self.dev_share < 1
        ):
            raise HarnessError(
                f"split shares must be at least 0 and sum to less than 1, got test_share {self.test_share} "
                f"and dev_share {self.dev_share}"
            )

    def keeps(self, dialog_id: str) -> bool:
        return dialog_part(dialog_id, self.test_share, self.dev_share, self.seed) == self.part


def dialog_part(dialog_id: str, test_share: float, dev_share: float = 0.0, seed: int = 0) -> str:
    """The part of a dialog: a uniform draw from sha256(seed:dialog_id), stable across runs and files."""
    digest = hashlib.sha256(f"{seed}:{dialog_id}".encode()).digest()
    draw = int.from_bytes(digest[:8], "big") / 2**64
    return "test" if draw < test_share else "dev" if draw < test_share + dev_share else "train"


def _ordered_stats(
    stats: Counter[str], policy: str, max_chars: int | None, n_templates: int
) -> dict[str, Any]:
    keys = [
        "dialogs", "records", "windowed_dialogs", "windows", "windows_without_mentions",
        "dialogs_without_mentions", "split_turns", "windows_over_limit", "raw_mentions", "mentions", "conflicts",
        "empty_labels", "mentions_dropped_unlabelled", "mentions_sanitized", "mentions_dropped_blank",
        "bad_lines", "dialogs_in_other_part",
    ]  # fmt: skip
    out: dict[str, Any] = {k: stats.get(k, 0) for k in keys}
    out["conflict_policy"] = policy
    out["conflicts_resolved_to"] = {s: stats.get(f"conflicts_resolved_to_{s}", 0) for s in LONG_LABELS}
    out["labels"] = {s: stats.get(f"label_{s}", 0) for s in LONG_LABELS}
    out["sanitized_by"] = {k: stats.get(f"sanitized_{k}", 0) for k in (*_SANITIZE, "whitespace")}
    out["templates"] = [stats.get(f"template_{i}", 0) for i in range(n_templates)]
    out["max_chars"] = max_chars
    return out
