"""Prompt templates in the PromptCBLUE form ([INPUT_TEXT], [LIST_MENTIONS], [LIST_LABELS]).

The built-in templates are the project's own wording; a PromptCBLUE `templates.json` can be
loaded instead (it maps task_dataset -> list of templates and writes newlines as a literal
backslash-n, which `load_templates` turns into real newlines).
"""

from __future__ import annotations

import re
from pathlib import Path

from harness.errors import HarnessError
from harness.records import ATTR_CLS_HEADER
from harness.safeio import read_json_file

_PLACEHOLDER_RE = re.compile(r"\[(INPUT_TEXT|LIST_MENTIONS|LIST_LABELS)\]")

# IMCS-V2-SR (symptom recognition in one dialogue turn): header and labels as PromptCBLUE writes them.
IMCS_SR_HEADER = "当前对话中的症状及其阴阳性判断为："
IMCS_SR_CHOICES: list[str] = ["没有患有该症状", "患有该症状", "无法根据上下文确定病人是否患有该症状"]
NER_HEADER = "上述句子中的实体包含："
NER_EMPTY = "上述句子没有指定类型实体"

# Our own wording (never copied from PromptCBLUE); each ends in "答：" like most real inputs.
ATTR_CLS_TEMPLATES: list[str] = [
    "判断下面问诊对话中各临床发现的阴阳性：\n[INPUT_TEXT]\n临床发现实体：[LIST_MENTIONS]\n阴阳性选项：[LIST_LABELS]\n答：",
    "[INPUT_TEXT]\n请给出上面对话里这些临床发现的阴阳性。\n临床发现实体：[LIST_MENTIONS]\n阴阳性选项：[LIST_LABELS]\n答：",
    "阅读医患对话，标注每个临床发现实体的阴阳性：\n[INPUT_TEXT]\n实体：[LIST_MENTIONS]\n可选标签：[LIST_LABELS]\n答：",
]
IMCS_SR_TEMPLATES: list[str] = [
    "判断当前这轮对话提到的症状及其阴阳性：\n[INPUT_TEXT]\n可选：[LIST_LABELS]\n答：",
    "[INPUT_TEXT]\n上面当前对话里有哪些症状？各自阴阳性如何？\n可选：[LIST_LABELS]\n答：",
]
NER_TEMPLATES: list[str] = [
    "找出下面句子里的[LIST_LABELS]实体：\n[INPUT_TEXT]\n答：",
    "[INPUT_TEXT]\n上面句子中有哪些[LIST_LABELS]实体？\n答：",
    "医学实体抽取：\n[INPUT_TEXT]\n实体类型：[LIST_LABELS]\n答：",
]

# Every header a target of a known task_dataset starts with (used by `inspect`).
HEADERS: dict[str, str] = {
    "CHIP-MDCFNPC": ATTR_CLS_HEADER,
    "IMCS-V2-SR": IMCS_SR_HEADER,
    "CMeEE-V2": NER_HEADER,
}


def fill_template(template: str, input_text: str, mentions: str = "", labels: str = "") -> str:
    """Substitute the three placeholders in one pass (so text that looks like one is left alone)."""
    values = {"INPUT_TEXT": input_text, "LIST_MENTIONS": mentions, "LIST_LABELS": labels}
    return _PLACEHOLDER_RE.sub(lambda m: values[m.group(1)], template)


def split_template(template: str, labels: str) -> tuple[str, str, str]:
    """Pre-split an attr_cls template into (before input, between input and mentions, after mentions).

    Labels are constant per task, so they are substituted once; the generator then only
    concatenates strings (fast enough for a million records a minute).
    """
    t = template.replace("[LIST_LABELS]", labels)
    head, _, rest = t.partition("[INPUT_TEXT]")
    mid, _, tail = rest.partition("[LIST_MENTIONS]")
    return head, mid, tail


def load_templates(path: str | Path, task_dataset: str = "CHIP-MDCFNPC") -> list[str]:
    """The templates of one task from a PromptCBLUE templates.json, with `\\n` made real newlines."""
    p = Path(path)
    data = read_json_file(p, "templates file")  # strict: duplicate keys, NaN, deep nesting, encodings
    if not isinstance(data, dict):
        raise HarnessError(
            f"{p}: expected a JSON object task_dataset -> list of templates, got {type(data).__name__}"
        )
    if task_dataset not in data:
        raise HarnessError(
            f"{p}: no templates for {task_dataset!r} (has: {', '.join(sorted(data)) or 'none'})"
        )
    items = data[task_dataset]
    if not isinstance(items, list) or not items or not all(isinstance(t, str) for t in items):
        raise HarnessError(f"{p}: field {task_dataset}: expected a non-empty list of strings")
    templates = [t.replace("\\n", "\n") for t in items]
    for i, t in enumerate(templates):
        if "[INPUT_TEXT]" not in t:
            raise HarnessError(f"{p}: field {task_dataset}[{i}]: template has no [INPUT_TEXT]: {t[:40]!r}")
    return templates
