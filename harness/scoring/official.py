"""The official PromptCBLUE rule for CHIP-MDCFNPC, to the letter (see DESIGN.md).

Kept in its own small module so that readers, converters and the scorer all use one copy.
"""

from __future__ import annotations

from collections.abc import Iterable

NOT_ANNOTATED_LONG = "不标注"  # what the official rule writes for a label outside the choices


def official_pairs(text: str, answer_choices: Iterable[str] | None) -> set[tuple[str, str]]:
    """Parse `text` by the official rule into a set of (entity, label) pairs.

    Drop the first line (the header); split each other line on the full-width colon; keep it
    only when that gives exactly two parts; entity = first part stripped; label = second part
    as it is, replaced by "不标注" when it is not one of the choices.
    """
    choices = set(answer_choices or ())
    pairs: set[tuple[str, str]] = set()
    for line in text.split("\n")[1:]:
        parts = line.split("：")
        if len(parts) != 2:
            continue
        entity, label = parts[0].strip(), parts[1]
        pairs.add((entity, label if label in choices else NOT_ANNOTATED_LONG))
    return pairs
