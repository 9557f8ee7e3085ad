"""The official PromptCBLUE rule for attr_cls (CHIP-MDCFNPC, IMCS-V2-SR), to the letter (docs/scoring.md).

Kept in its own small module so that readers, converters and the scorer all use one copy.
"""

from __future__ import annotations

from collections.abc import Iterable

NOT_ANNOTATED_LONG = "不标注"  # what the CHIP-MDCFNPC rule writes for a label outside the choices
IMCS_UNCERTAIN = "无法根据上下文确定病人是否患有该症状"  # what the IMCS-V2-SR rule writes instead


def official_pairs(
    text: str, answer_choices: Iterable[str] | None, fallback: str = NOT_ANNOTATED_LONG
) -> set[tuple[str, str]]:
    """Parse `text` by the official rule into a set of (entity, label) pairs.

    Drop the first line (the header); split each other line on the full-width colon; keep it
    only when that gives exactly two parts; entity = first part stripped; label = second part
    as it is, replaced by `fallback` when it is not one of the choices (CHIP-MDCFNPC: "不标注";
    IMCS-V2-SR: "无法根据上下文确定病人是否患有该症状", itself a choice there).
    """
    choices = set(answer_choices or ())
    pairs: set[tuple[str, str]] = set()
    for line in text.split("\n")[1:]:
        parts = line.split("：")
        if len(parts) != 2:
            continue
        entity, label = parts[0].strip(), parts[1]
        pairs.add((entity, label if label in choices else fallback))
    return pairs
