"""Seeded synthetic doctor–patient dialogues in PromptCBLUE form, with known labels.

Tasks: `attr_cls` (CHIP-MDCFNPC: positive / negated / uncertain / not-annotated findings, said
in colloquial variants), `imcs_sr` (IMCS-V2-SR: symptoms of one dialogue turn) and `ner`
(CMeEE-V2-style entity lists). One `random.Random(seed)` drives everything, so the output is
byte-identical for a seed; records of several tasks interleave round-robin. Sample ids are
`synth-<seed>-<i>`, unique within one call (pooled sources should use different seeds).
Speed matters (1M records in about a minute): all text is precomputed pieces joined with `+`.
"""

from __future__ import annotations

import json
import os
import random
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from harness.datasets.synth_vocab import (
    CLOSERS,
    HISTORY_FILLERS,
    IMCS_LABEL_TABLE,
    IMCS_PHRASES,
    LABEL_TABLE,
    NER_SENTENCES,
    NER_TYPES,
    NER_VOCAB,
    OPENERS,
    PATTERNS,
    SYNTH_FINDINGS,
)
from harness.datasets.templates import (
    ATTR_CLS_TEMPLATES,
    IMCS_SR_CHOICES,
    IMCS_SR_HEADER,
    IMCS_SR_TEMPLATES,
    NER_EMPTY,
    NER_HEADER,
    NER_TEMPLATES,
    fill_template,
    split_template,
)
from harness.errors import HarnessError
from harness.records import ATTR_CLS_CHOICES, ATTR_CLS_HEADER, LONG_LABELS, Record

__all__ = [
    "MAX_RECORDS",
    "SYNTH_FINDINGS",
    "TASKS",
    "model_like_prediction",
    "synth_predictions",
    "synth_records",
    "synth_rows",
    "write_synth",
]

Row = dict[str, Any]

_NEGATED_FORM = re.compile("[没不无]")
_FINDINGS = list(SYNTH_FINDINGS)
# Every form of a finding, and only the forms without their own negation word (see PATTERNS).
_ALL_FORMS = [[c, *v] for c, v in SYNTH_FINDINGS.items()]
_PLAIN_FORMS = [[f for f in forms if not _NEGATED_FORM.search(f)] for forms in _ALL_FORMS]
# Pattern -> (free form allowed, [text pieces around {x}]).
_PATTERNS = {
    label: [(p.startswith("!"), p.lstrip("!").split("{x}")) for p in pats] for label, pats in PATTERNS.items()
}
_LABELS_TEXT = "，".join(ATTR_CLS_CHOICES)
_ATTR_TEMPLATES = [split_template(t, _LABELS_TEXT) for t in ATTR_CLS_TEMPLATES]
_ATTR_HEADER = ATTR_CLS_HEADER + "\n"
_UMASK = os.umask(0o022)
os.umask(_UMASK)
# The most records one call makes (the same bound as a suite's synthetic source,
# harness.suite.MAX_SYNTHETIC): past it a typo (1e20) would run for days.
MAX_RECORDS = 1_000_000


def _attr_cls(rng: random.Random, sid: str) -> Row:
    rnd = rng.random
    k = 2 + int(rnd() * 4)  # 2-5 findings keeps prompts short for a tiny model
    lines: list[str] = []
    if rnd() < 0.4:
        lines.append(OPENERS[int(rnd() * len(OPENERS))])
    mentions: list[str] = []
    target = [_ATTR_HEADER]
    for idx in rng.sample(range(len(_FINDINGS)), k):
        label = LABEL_TABLE[int(rnd() * 20)]
        pats = _PATTERNS[label]
        free, pieces = pats[int(rnd() * len(pats))]
        forms = _ALL_FORMS[idx] if free else _PLAIN_FORMS[idx]
        x = forms[int(rnd() * len(forms))]
        lines.append(x.join(pieces))
        mentions.append(x)
        target.append(x + "：" + LONG_LABELS[label] + "\n")
    if rnd() < 0.3:
        lines.append(CLOSERS[int(rnd() * len(CLOSERS))])
    head, mid, tail = _ATTR_TEMPLATES[int(rnd() * len(_ATTR_TEMPLATES))]
    return {
        "sample_id": sid,
        "input": head + "\n".join(lines) + mid + "，".join(mentions) + tail,
        "target": "".join(target)[:-1],
        "answer_choices": ATTR_CLS_CHOICES,
        "task_type": "attr_cls",
        "task_dataset": "CHIP-MDCFNPC",
    }


def _imcs_sr(rng: random.Random, sid: str) -> Row:
    rnd = rng.random
    history = [HISTORY_FILLERS[int(rnd() * len(HISTORY_FILLERS))] for _ in range(1 + int(rnd() * 2))]
    clauses: list[str] = []
    target = [IMCS_SR_HEADER]
    for idx in rng.sample(range(len(_FINDINGS)), 1 + int(rnd() * 3)):
        label = IMCS_LABEL_TABLE[int(rnd() * len(IMCS_LABEL_TABLE))]
        forms = _PLAIN_FORMS[idx]
        x = forms[int(rnd() * len(forms))]
        phrases = IMCS_PHRASES[label]
        clauses.append(phrases[int(rnd() * len(phrases))].replace("{x}", x))
        target.append(x + "：" + IMCS_SR_CHOICES[label])
    dialog = "对话历史：\n" + "\n".join(history) + "\n当前对话：\n患者：" + "，".join(clauses)
    template = IMCS_SR_TEMPLATES[int(rnd() * len(IMCS_SR_TEMPLATES))]
    return {
        "sample_id": sid,
        "input": fill_template(template, dialog, labels="，".join(IMCS_SR_CHOICES)),
        "target": "\n".join(target),
        "answer_choices": IMCS_SR_CHOICES,
        "task_type": "attr_cls",
        "task_dataset": "IMCS-V2-SR",
    }


def _ner(rng: random.Random, sid: str) -> Row:
    rnd = rng.random
    sentence = NER_SENTENCES[int(rnd() * len(NER_SENTENCES))]
    found: dict[str, list[str]] = {}
    for etype in NER_TYPES:
        slot = "{" + etype + "}"
        if slot in sentence:
            vocab = _FINDINGS if etype == "临床表现" else NER_VOCAB[etype]
            word = vocab[int(rnd() * len(vocab))]
            sentence = sentence.replace(slot, word)
            found[etype] = [word]
    asked = [t for t in NER_TYPES if rnd() < 0.6] or [NER_TYPES[int(rnd() * 4)]]
    if any(t in found for t in asked):
        target = NER_HEADER + "".join(f"\n{t}实体：{'，'.join(found.get(t, []))}" for t in asked)
    else:
        target = NER_EMPTY
    template = NER_TEMPLATES[int(rnd() * len(NER_TEMPLATES))]
    return {
        "sample_id": sid,
        "input": fill_template(template, sentence, labels="，".join(asked)),
        "target": target,
        "answer_choices": asked,
        "task_type": "ner",
        "task_dataset": "CMeEE-V2",
    }


TASKS: dict[str, Callable[[random.Random, str], Row]] = {
    "attr_cls": _attr_cls,
    "imcs_sr": _imcs_sr,
    "ner": _ner,
}


def _check_tasks(tasks: Iterable[str]) -> list[str]:
    names = [tasks] if isinstance(tasks, str) else list(tasks)
    bad = [t for t in names if t not in TASKS]
    if not names or bad:
        raise HarnessError(f"unknown synthetic task(s) {bad or '(none)'}; valid: {', '.join(TASKS)}")
    return names


def synth_rows(n: int, seed: int, tasks: Iterable[str] = ("attr_cls",)) -> Iterator[Row]:
    """Yield `n` record dicts (the PromptCBLUE JSON form), task i % len(tasks) for record i."""
    if n < 0:
        raise HarnessError(f"--n must be >= 0, got {n}")
    if n > MAX_RECORDS:
        raise HarnessError(f"--n {n} is more than {MAX_RECORDS:,} records, the most one call makes")
    makers = [TASKS[t] for t in _check_tasks(tasks)]
    rng = random.Random(seed)
    m = len(makers)
    prefix = f"synth-{seed}-"
    for i in range(n):
        yield makers[i % m](rng, prefix + str(i))


def synth_records(n: int, seed: int, tasks: Iterable[str] = ("attr_cls",)) -> Iterator[Record]:
    """Yield `n` seeded synthetic Records; the same (n, seed, tasks) always gives the same records."""
    for row in synth_rows(n, seed, tasks):
        yield Record(**row)


_SHORT_LABELS = list(LONG_LABELS)  # 阳性, 阴性, 其他, 不标注


def model_like_prediction(target: str, rng: random.Random) -> str:
    """A prediction from a gold attr_cls target: right about half the time, otherwise with one
    of the quirks models show (a flipped label, a colloquial variant, no header, short labels
    with half-width colons and numbering, a duplicate plus a conflict, a dropped line, shuffled
    lines with trailing prose, a hallucinated entity). Scorer tests and benchmarks use it."""
    lines = target.split("\n")
    head, body = lines[0], lines[1:]
    roll = rng.random()
    if roll < 0.45 or not body:
        return target
    if roll < 0.55:  # one label flipped
        i = rng.randrange(len(body))
        body[i] = f"{body[i].split('：')[0]}：{LONG_LABELS[rng.choice(_SHORT_LABELS)]}"
    elif roll < 0.62:  # colloquial variant of an entity
        i = rng.randrange(len(body))
        ent, _, lab = body[i].partition("：")
        variants = SYNTH_FINDINGS.get(ent)
        if variants:
            body[i] = f"{rng.choice(variants)}：{lab}"
    elif roll < 0.68:  # header missing
        return "\n".join(body)
    elif roll < 0.74:  # short labels, half-width colons, numbering
        body = [f"{k + 1}. {b.split('：')[0]}: {rng.choice(_SHORT_LABELS)}" for k, b in enumerate(body)]
    elif roll < 0.80:  # a duplicate and a conflict
        body.append(body[0])
        body.append(body[-2].split("：")[0] + "：" + LONG_LABELS["其他"])
    elif roll < 0.86:  # a line dropped
        body.pop(rng.randrange(len(body)))
    elif roll < 0.92:  # shuffled, with trailing prose
        rng.shuffle(body)
        body.append("以上判断仅供参考")
    else:  # a hallucinated entity
        body.append(f"头顶发光：{LONG_LABELS['阳性']}")
    return "\n".join([head, *body])


def synth_predictions(records: Iterable[Record], seed: int) -> dict[str, str]:
    """sample_id -> `model_like_prediction` of its target, seeded."""
    rng = random.Random(seed)
    return {r.sample_id: model_like_prediction(r.target, rng) for r in records}


def write_synth(
    path: str | Path, n: int, seed: int, tasks: Iterable[str] = ("attr_cls",), *, progress: Any = None
) -> Path:
    """Stream `n` synthetic records to `path` as JSON lines (atomically: temp file, then rename).

    `progress`, if given, is called with the number of records written so far every 10,000.
    """
    p = Path(path)
    _check_target(p)
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise HarnessError(f"cannot write {p}: a parent of it is a file, not a folder") from None
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=f".{p.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            buf: list[str] = []
            for i, row in enumerate(synth_rows(n, seed, tasks), 1):
                buf.append(dumps(row))
                if i % 10_000 == 0:
                    f.write("\n".join(buf) + "\n")
                    buf.clear()
                    if progress is not None:
                        progress(i)
            if buf:
                f.write("\n".join(buf) + "\n")
            if progress is not None:
                progress(n)
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; give the file normal permissions
        _check_target(p)  # again: the path may have changed while the records were written
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return p


def _check_target(p: Path) -> None:
    """Refuse to rename over anything but a regular file: over /dev/null (as root) or a FIFO the
    rename would replace the device or pipe itself (the same rule as jsonl.atomic_write_text)."""
    if p.is_symlink() or p.exists():
        if p.is_dir():
            raise HarnessError(f"cannot write {p}: it is a folder, expected a file path")
        if not p.is_file():
            raise HarnessError(f"cannot write {p}: it is not a regular file (a device, pipe or socket)")
