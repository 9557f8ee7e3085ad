"""A keyword-rule system for attr_cls: no model, a floor every trained round should beat.

For each listed entity, the dialogue lines that mention it decide its label, in this order:
a third party or the past (家人, 邻居, 以前 …) → 不标注; doubt (不清楚, 可能, 说不好 …) → 其他;
negation (没有, 不, 否认 …) → 阴性; otherwise → 阳性. A doctor's question followed by the
patient's answer counts the answer. It answers in the PromptCBLUE target form.
"""

from __future__ import annotations

from harness.records import ATTR_CLS_HEADER, LONG_LABELS, Record

OTHER_PEOPLE = (
    "家人",
    "家里",
    "邻居",
    "妈",
    "爸",
    "孩子",
    "小孩",
    "老公",
    "老婆",
    "同事",
    "以前",
    "去年",
    "小时候",
)
DOUBT = ("不清楚", "不知道", "可能", "说不好", "不确定", "好像", "不太清楚", "算不算", "记不清")
NEGATION = ("没有", "没", "不", "否认", "无")


def _label(context: str) -> str:
    if any(w in context for w in OTHER_PEOPLE):
        return "不标注"
    if any(w in context for w in DOUBT):
        return "其他"
    if any(w in context for w in NEGATION):
        return "阴性"
    return "阳性"


def rule_answer(record: Record) -> str:
    """The rules' answer for one attr_cls record (header plus one `entity：label` line each)."""
    from harness.scoring.failures import listed_entities

    entities = listed_entities(record.input)
    lines = [ln for ln in record.input.split("\n") if "：" in ln and ln.split("：", 1)[0] in ("患者", "医生")]
    out = [ATTR_CLS_HEADER]
    for entity in entities:
        context = ""
        for i, line in enumerate(lines):
            if entity in line:
                context = line
                # A doctor's question is answered on the next line.
                if line.startswith("医生") and i + 1 < len(lines) and lines[i + 1].startswith("患者"):
                    context = lines[i + 1]
                    if context.startswith("患者：有") or context.startswith("患者：是"):
                        context = "患者：有"
                break
        label = _label(context.split("：", 1)[-1] if context else "")
        out.append(f"{entity}：{LONG_LABELS[label]}")
    return "\n".join(out)


def rule_predictions(records: list[Record], system: str) -> list[dict[str, object]]:
    """Prediction rows (the form docs/design.md describes) for every record: its task's rules floor
    (harness.scoring.tasks; CHIP-MDCFNPC's is `rule_answer`), the empty answer for a task without one."""
    from harness.scoring.tasks import task_of

    def answer(r: Record) -> str:
        task = task_of(r)
        return task.rules(r) if task is not None and task.rules is not None else ""

    return [
        {
            "sample_id": r.sample_id,
            "text": answer(r),
            "system": system,
            "model": "keyword-rules",
            "adapter": None,
            "backend": "rules",
            "decoding": None,
            "prompt_sha256": None,
        }
        for r in records
    ]
