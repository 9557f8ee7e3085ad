"""Canonical polarity labels, and the mapping from every label form models and datasets write.

Canonical labels: positive, negative, uncertain, not_annotated; `none` marks a gold entity
that no prediction covers. Sources mapped here: the long PromptCBLUE labels, the short CHIP
labels (阳性/阴性/其他/不标注), the IMCS-V2-SR labels, English words, and any of these
followed by trailing words ("阳性（患者自述）", "positive, because …").
"""

from __future__ import annotations

import re

from harness.records import LONG_LABELS

POSITIVE = "positive"
NEGATIVE = "negative"
UNCERTAIN = "uncertain"
NOT_ANNOTATED = "not_annotated"
NONE = "none"

CANONICAL_LABELS: tuple[str, ...] = (POSITIVE, NEGATIVE, UNCERTAIN, NOT_ANNOTATED)
ALL_LABELS: tuple[str, ...] = (*CANONICAL_LABELS, NONE)
LABEL_INDEX: dict[str, int] = {label: i for i, label in enumerate(ALL_LABELS)}

_SHORT_TO_CANON = {"阳性": POSITIVE, "阴性": NEGATIVE, "其他": UNCERTAIN, "不标注": NOT_ANNOTATED}

# Every known surface form -> canonical label. Matching is by prefix, longest form first,
# so "没有患有该症状" is never read as "患有该症状" and trailing words are tolerated.
_FORMS: dict[str, str] = {
    **_SHORT_TO_CANON,
    **{long: _SHORT_TO_CANON[short] for short, long in LONG_LABELS.items()},
    # IMCS-V2-SR (PromptCBLUE attr_cls, the other dataset of the task type)
    "患有该症状": POSITIVE,
    "没有患有该症状": NEGATIVE,
    "无法根据上下文确定病人是否患有该症状": UNCERTAIN,
    # IMCS-21 numeric codes, as the raw dataset writes them
    "1": POSITIVE,
    "0": NEGATIVE,
    "2": UNCERTAIN,
    # Chinese paraphrases models produce
    "阳": POSITIVE,
    "阴": NEGATIVE,
    "已有症状": POSITIVE,
    "有症状": POSITIVE,
    "有": POSITIVE,
    "是": POSITIVE,
    "未患有": NEGATIVE,
    "没有": NEGATIVE,
    "无": NEGATIVE,
    "否": NEGATIVE,
    "不确定": UNCERTAIN,
    "无法确定": UNCERTAIN,
    "不明确": UNCERTAIN,
    "未知": UNCERTAIN,
    "不知道": UNCERTAIN,
    "模棱两可": UNCERTAIN,
    "没有回答": UNCERTAIN,
    "无实际意义": NOT_ANNOTATED,
    "不标": NOT_ANNOTATED,
    "无关": NOT_ANNOTATED,
    # English
    "positive": POSITIVE,
    "pos": POSITIVE,
    "present": POSITIVE,
    "yes": POSITIVE,
    "negative": NEGATIVE,
    "neg": NEGATIVE,
    "absent": NEGATIVE,
    "no": NEGATIVE,
    "uncertain": UNCERTAIN,
    "unknown": UNCERTAIN,
    "unclear": UNCERTAIN,
    "other": UNCERTAIN,
    "not_annotated": NOT_ANNOTATED,
    "not annotated": NOT_ANNOTATED,
    "not-annotated": NOT_ANNOTATED,
    "unannotated": NOT_ANNOTATED,
    "irrelevant": NOT_ANNOTATED,
    "n/a": NOT_ANNOTATED,
    "none": NOT_ANNOTATED,
}
_BY_LENGTH = sorted(_FORMS, key=len, reverse=True)
_TRIM = re.compile(
    r"^[\s\"'“”‘’「」『』【】\[\]()（）<>《》*_`]+|[\s\"'“”‘’「」『』【】\[\]()（）<>《》*_`。.,，;；!！]+$"
)
_ASCII_WORD = re.compile(r"[a-z0-9_/-]")
_cache: dict[str, str | None] = {}


def canonical_label(raw: str) -> str | None:
    """The canonical label of `raw`, or None when nothing known starts it.

    A short English or digit form only counts when a non-letter follows it, so "no" does not
    read "noisy" and "1" does not read "12".
    """
    hit = _cache.get(raw, ...)
    if hit is not ...:
        return hit  # type: ignore[return-value]
    text = _TRIM.sub("", raw).lower()
    found: str | None = _FORMS.get(text)
    if found is None and text:
        for form in _BY_LENGTH:
            if text.startswith(form):
                rest = text[len(form) : len(form) + 1]
                if rest and _ASCII_WORD.match(form[-1]) and _ASCII_WORD.match(rest):
                    continue  # "no" inside "noisy"
                found = _FORMS[form]
                break
    if len(_cache) < 100_000:
        _cache[raw] = found
    return found
