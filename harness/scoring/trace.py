"""Per-sample traces: the JSON rows behind traces.jsonl and the HTML example browser."""

from __future__ import annotations

from typing import Any

import numpy as np

from harness.scoring import metrics as M
from harness.scoring.align import identity
from harness.scoring.labels import ALL_LABELS, NONE
from harness.scoring.parse import PARSERS, parse_strict


def _pairs(pairs: Any) -> list[list[str]]:
    return [list(p) for p in sorted(pairs)]


def build_trace(scorer: Any, task: Any, kept: tuple, row: np.ndarray) -> dict[str, Any]:
    """The trace of one scored attr_cls sample of `task`: pairs, alignment rows, tags with their
    lines, diagnostics, counts."""
    rec, text, al, tags = kept
    cs = scorer.choices(rec)
    reader = scorer.reader_for(task)
    g = reader.read(rec.target, cs)
    p = reader.read(text, cs)
    g_items, g_lines = g.dedup()[0], g.dedup_lines()
    if al is None:
        al = identity(len(g_items))
    rows = []
    for i, gi in enumerate(g_items):
        j = al.pred_of[i]
        pi = p.items[j] if j >= 0 else None
        rows.append(
            {
                "gold_entity": gi.name,
                "gold_label": ALL_LABELS[gi.label],
                "pred_entity": pi.name if pi else None,
                "pred_label": ALL_LABELS[pi.label] if pi else NONE,
                "how": al.how[i],
                "score": al.score[i],
                "correct": bool(pi is not None and pi.label == gi.label),
                "gold_line": g_lines[i] + 1,
                "pred_line": p.item_lines[j] + 1 if pi else None,
            }
        )
    for j in al.extra:
        pi = p.items[j]
        rows.append(
            {
                "gold_entity": None,
                "gold_label": None,
                "pred_entity": pi.name,
                "pred_label": ALL_LABELS[pi.label],
                "how": "extra",
                "score": 0.0,
                "correct": False,
                "gold_line": None,
                "pred_line": p.item_lines[j] + 1,
            }
        )
    sources = {t.name: t.source for t in scorer.taggers}
    tag_rows = []
    for name, lines in (tags or {}).items():
        src = sources.get(name, "pred")
        texts = g.lines if src == "gold" else p.lines
        tag_rows.append({"tag": name, "source": src, "lines": [texts[i] for i in lines if i < len(texts)]})
    parse = PARSERS[scorer.config.parser]
    c = row.astype(int).tolist()
    return {
        "sample_id": rec.sample_id,
        "task_dataset": rec.task_dataset,
        "prediction": text,
        "gold_pairs": {
            "official": _pairs(g.off),
            "canonical": _pairs({(x.key, ALL_LABELS[x.label]) for x in g_items}),
        },
        "pred_pairs": {
            "official": _pairs(p.off),
            "canonical": _pairs({(x.key, ALL_LABELS[x.label]) for x in p.items}),
        },
        "alignment": rows,
        "tags": tag_rows,
        "parse": {
            "official": parse_strict(text, rec.answer_choices, task).diagnostics(),
            "pred": parse(text, rec.answer_choices, task).diagnostics(),
            "gold": parse(rec.target, rec.answer_choices, task).diagnostics(),
        },
        "official": {"tp": c[M.OFF_TP], "fp": c[M.OFF_FP], "fn": c[M.OFF_FN]},
        "canonical": {"tp": c[M.CAN_TP], "fp": c[M.CAN_FP], "fn": c[M.CAN_FN]},
        "classification": {"items": c[M.ITEMS], "correct": c[M.CORRECT]},
    }
