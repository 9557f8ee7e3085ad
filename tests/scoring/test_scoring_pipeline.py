"""The scorer end to end: official parity, the revised protocol, taggers, properties (hypothesis)."""

from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.records import ATTR_CLS_CHOICES, ATTR_CLS_HEADER, LONG_LABELS, Record
from harness.scoring.official import official_pairs
from harness.scoring.pipeline import Scorer, ScoringConfig, score

H = ATTR_CLS_HEADER
POS, NEG, UNC, NA = (LONG_LABELS[k] for k in ("阳性", "阴性", "其他", "不标注"))
FAST = ScoringConfig(bootstrap_resamples=0)


def rec(sid: str, entities: list[tuple[str, str]], listed: list[str] | None = None) -> Record:
    names = listed if listed is not None else [e for e, _ in entities]
    return Record(
        sample_id=sid,
        input="患者：……\n临床发现实体：" + "，".join(names) + "\n阴阳性选项：…\n答：",
        target="\n".join([H, *(f"{e}：{lab}" for e, lab in entities)]),
        answer_choices=list(ATTR_CLS_CHOICES),
        task_type="attr_cls",
        task_dataset="CHIP-MDCFNPC",
    )


def plain_prf(records: list[Record], preds: dict[str, str]) -> tuple[int, int, int]:
    tp = fp = fn = 0
    for r in records:
        g = official_pairs(r.target, r.answer_choices)
        p = official_pairs(preds.get(r.sample_id, ""), r.answer_choices)
        tp, fp, fn = tp + len(g & p), fp + len(p - g), fn + len(g - p)
    return tp, fp, fn


GOLD = rec("s1", [("腹泻", POS), ("发热", NEG), ("咳嗽", UNC), ("鼻塞", NA)])


def one(pred: str, gold: Record = GOLD, **cfg: object) -> tuple[dict, dict]:
    result = score([gold], {gold.sample_id: pred}, ScoringConfig(bootstrap_resamples=0, **cfg))
    return result.summary, result.traces[0]


def test_summary_has_the_design_keys() -> None:
    summary, _ = one(GOLD.target)
    assert {"official", "canonical", "classification", "failures", "samples", "ci"} <= set(summary)
    for block in ("official", "canonical"):
        assert set(summary[block]) == {"precision", "recall", "f1", "tp", "fp", "fn"}
    assert {"accuracy", "macro_f1", "micro_f1", "labels", "confusion", "per_label"} <= set(
        summary["classification"]
    )
    assert set(summary["failures"]) == {
        "conflict",
        "duplicate",
        "drift",
        "hallucination",
        "missing",
        "header",
    }


def test_synonyms_and_short_labels_count_in_canonical_not_official() -> None:
    pred = f"{H}\n拉肚子：阳性\n发烧：阴性\n咳嗽：{UNC}\n鼻塞：{NA}"
    summary, trace = one(pred)
    assert summary["official"]["tp"] == 2  # short labels become 不标注; 拉肚子 is not 腹泻
    assert summary["canonical"]["f1"] == 1.0
    assert summary["classification"]["accuracy"] == 1.0
    hows = {row["gold_entity"]: row["how"] for row in trace["alignment"]}
    assert hows == {"腹泻": "synonym", "发热": "synonym", "咳嗽": "exact", "鼻塞": "exact"}
    assert [t["tag"] for t in trace["tags"]] == ["drift"]  # labels outside the choices


def test_fuzzy_alignment_and_none() -> None:
    gold = rec("s1", [("肚子疼得厉害", POS), ("发热", NEG)])
    summary, trace = one(f"{H}\n肚子疼的厉害：{POS}", gold)
    rows = {r["gold_entity"]: r for r in trace["alignment"]}
    assert rows["肚子疼得厉害"]["how"] == "fuzzy"
    assert rows["发热"]["pred_label"] == "none" and rows["发热"]["how"] == "none"
    assert summary["classification"]["confusion"][1][4] == 1  # negative -> none
    assert summary["failures"]["missing"] == 1
    off, _ = one(f"{H}\n肚子疼的厉害：{POS}", gold, fuzzy=False)
    assert off["classification"]["accuracy"] == 0.0


@pytest.mark.parametrize(
    ("pred", "tags"),
    [
        (f"{H}\n腹泻：{POS}\n腹泻：{NEG}\n发热：{NEG}\n咳嗽：{UNC}\n鼻塞：{NA}", {"conflict"}),
        (f"{H}\n腹泻：{POS}\n腹泻：{POS}\n发热：{NEG}\n咳嗽：{UNC}\n鼻塞：{NA}", {"duplicate"}),
        ("患者应该是腹泻，没有发热。", {"drift", "missing"}),
        (f"{H}\n腹泻：{POS}\n发热：{NEG}\n咳嗽：{UNC}\n鼻塞：{NA}\n头顶发光：{POS}", {"hallucination"}),
        (f"{H}\n腹泻：{POS}\n发热：{NEG}", {"missing"}),
        (f"腹泻：{POS}\n发热：{NEG}\n咳嗽：{UNC}\n鼻塞：{NA}", {"header"}),
        (f"{H}\n腹泻：{POS}\n发热：{NEG}\n咳嗽：{UNC}\n鼻塞：{NA}\n以上仅供参考", {"drift"}),
        ("", {"drift", "missing"}),
        (f"{H}\n腹泻：{POS} \n发热：{NEG}\n咳嗽：{UNC}\n鼻塞：{NA}", {"drift"}),
    ],
    ids=[
        "conflict",
        "duplicate",
        "drift-prose",
        "hallucination",
        "missing",
        "header",
        "drift-trailing",
        "empty",
        "trailing-space",
    ],
)
def test_taggers(pred: str, tags: set[str]) -> None:
    summary, trace = one(pred)
    assert {t["tag"] for t in trace["tags"]} == tags
    assert {k for k, v in summary["failures"].items() if v} == tags
    for t in trace["tags"]:
        assert t["lines"], t  # every tag carries the lines that caused it


def test_tag_lines_point_at_the_offending_lines() -> None:
    _, trace = one(f"{H}\n腹泻：{POS}\n腹泻：{NEG}\n发热：{NEG}")
    by = {t["tag"]: t for t in trace["tags"]}
    assert by["conflict"]["lines"] == [f"腹泻：{POS}", f"腹泻：{NEG}"]
    assert by["missing"]["source"] == "gold"
    assert by["missing"]["lines"] == [f"咳嗽：{UNC}", f"鼻塞：{NA}"]


def test_hallucination_respects_the_input_list_and_synonyms() -> None:
    gold = rec("s1", [("腹泻", POS)], listed=["腹泻", "发热"])
    pred = f"{H}\n腹泻：{POS}\n发烧：{NEG}\n头顶发光：{POS}"
    _, trace = one(pred, gold)
    (tag,) = [t for t in trace["tags"] if t["tag"] == "hallucination"]
    assert tag["lines"] == [f"头顶发光：{POS}"]  # 发烧 is a synonym of the listed 发热


def test_taggers_and_stages_are_picked_by_name() -> None:
    summary, _ = one("", taggers=["missing"])
    assert summary["failures"] == {"missing": 1}
    with pytest.raises(ValueError, match="valid: conflict"):
        ScoringConfig(taggers=["nope"])
    with pytest.raises(ValueError, match="valid: lenient, strict"):
        ScoringConfig(parser="regex")
    with pytest.raises(ValueError, match="extra"):
        ScoringConfig(bootstrap=3)  # type: ignore[call-arg]
    strict, _ = one(f"{H}\n腹泻：阳性\n发热：{NEG}\n咳嗽：{UNC}\n鼻塞：{NA}", parser="strict")
    assert strict["classification"]["accuracy"] == 0.75  # strict reads 阳性 as not_annotated


def test_other_tasks_are_skipped_and_missing_predictions_scored_empty() -> None:
    other = Record("x", "问题", "答案", None, "ner", "CMeEE-V2")
    result = score([GOLD, other, rec("s2", [("腹泻", POS)])], {"s1": GOLD.target}, FAST)
    assert result.summary["samples"] == 2
    assert result.summary["skipped"] == {"CMeEE-V2": 1}
    assert result.summary["unpredicted"] == 1
    assert result.summary["official"]["fn"] == 1


def test_classification_matches_sklearn_on_items() -> None:
    from sklearn.metrics import accuracy_score, f1_score

    rng = random.Random(0)
    ents = ["腹泻", "发热", "咳嗽", "鼻塞", "头痛", "乏力"]
    labels = [POS, NEG, UNC, NA]
    records, preds = [], {}
    for i in range(60):
        gold = [(e, rng.choice(labels)) for e in rng.sample(ents, 4)]
        records.append(rec(f"s{i}", gold))
        kept = [
            (e, lab if rng.random() < 0.7 else rng.choice(labels)) for e, lab in gold if rng.random() < 0.9
        ]
        preds[f"s{i}"] = "\n".join([H, *(f"{e}：{lab}" for e, lab in kept)])
    result = score(records, preds, FAST)
    y_true, y_pred = [], []
    for t in result.traces:
        for row in t["alignment"]:
            if row["gold_entity"] is not None:
                y_true.append(row["gold_label"])
                y_pred.append(row["pred_label"])
    cls = result.summary["classification"]
    canon = ["positive", "negative", "uncertain", "not_annotated"]
    present = [lab for lab in canon if lab in y_true or lab in y_pred]
    assert cls["accuracy"] == pytest.approx(accuracy_score(y_true, y_pred))
    assert cls["macro_f1"] == pytest.approx(
        f1_score(y_true, y_pred, labels=present, average="macro", zero_division=0)
    )
    assert cls["micro_f1"] == pytest.approx(
        f1_score(y_true, y_pred, labels=canon, average="micro", zero_division=0)
    )
    assert sum(map(sum, cls["confusion"])) == len(y_true)
    assert result.item_correct.sum() == sum(a == b for a, b in zip(y_true, y_pred, strict=True))


# ---- properties ---------------------------------------------------------------------------

ENTITY = st.sampled_from(["腹泻", "拉肚子", "发热", "发烧", "咳嗽", "鼻塞", "头痛", "38.5", "乏力 ", " 恶心"])
LABEL = st.sampled_from([POS, NEG, UNC, NA, "阳性", "positive", f"{POS} ", "乱写"])
LINE = st.one_of(
    st.builds(lambda e, lab: f"{e}：{lab}", ENTITY, LABEL),
    st.builds(lambda e, lab: f"{e}:{lab}", ENTITY, LABEL),
    st.sampled_from(["", "以上仅供参考", "a：b：c", "\r", "1. 咳嗽：阴性"]),
)
TEXT = st.builds(
    lambda head, lines: "\n".join(([H] if head else []) + lines), st.booleans(), st.lists(LINE, max_size=8)
)
SAMPLES = st.lists(st.tuples(TEXT, TEXT), min_size=1, max_size=6)


def _records(samples: list[tuple[str, str]]) -> tuple[list[Record], dict[str, str]]:
    records = [
        Record(
            f"s{i}", "对话\n临床发现实体：腹泻，发热", g, list(ATTR_CLS_CHOICES), "attr_cls", "CHIP-MDCFNPC"
        )
        for i, (g, _) in enumerate(samples)
    ]
    return records, {f"s{i}": p for i, (_, p) in enumerate(samples)}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(SAMPLES)
def test_official_numbers_equal_the_plain_rule(samples: list[tuple[str, str]]) -> None:
    records, preds = _records(samples)
    off = score(records, preds, FAST).summary["official"]
    assert (off["tp"], off["fp"], off["fn"]) == plain_prf(records, preds)


@settings(max_examples=100, deadline=None)
@given(SAMPLES, st.randoms(use_true_random=False))
def test_shuffling_lines_after_the_header_keeps_official(
    samples: list[tuple[str, str]], rnd: random.Random
) -> None:
    records, preds = _records(samples)
    shuffled = {}
    for sid, text in preds.items():
        head, *rest = text.split("\n")
        rnd.shuffle(rest)
        shuffled[sid] = "\n".join([head, *rest])
    assert (
        score(records, preds, FAST).summary["official"] == score(records, shuffled, FAST).summary["official"]
    )


@settings(max_examples=100, deadline=None)
@given(SAMPLES, st.randoms(use_true_random=False))
def test_duplicates_never_change_official_but_are_tagged(
    samples: list[tuple[str, str]], rnd: random.Random
) -> None:
    from harness.scoring.labels import NOT_ANNOTATED
    from harness.scoring.parse import BLANK, read_line

    records, preds = _records(samples)
    base = score(records, preds, FAST)
    duped, expect_tag = {}, set()
    for sid, text in preds.items():
        lines = text.split("\n")
        first = next(
            (i for i, ln in enumerate(lines) if read_line(ln, NOT_ANNOTATED)[2] != BLANK), len(lines)
        )
        # lines after the first non-blank one that the lenient reading keeps as pairs
        kept = [ln for i, ln in enumerate(lines) if i > max(first, 0) and read_line(ln, NOT_ANNOTATED)[1]]
        if kept:
            lines.append(rnd.choice(kept))
            expect_tag.add(sid)
        duped[sid] = "\n".join(lines)
    after = score(records, duped, FAST)
    assert after.summary["official"] == base.summary["official"]
    tagged = {t["sample_id"] for t in after.traces if any(x["tag"] == "duplicate" for x in t["tags"])}
    assert expect_tag <= tagged


@settings(max_examples=100, deadline=None)
@given(st.lists(TEXT, min_size=1, max_size=6))
def test_gold_against_itself_is_perfect(golds: list[str]) -> None:
    records, _ = _records([(g, g) for g in golds])
    result = score(records, {r.sample_id: r.target for r in records}, ScoringConfig(bootstrap_resamples=50))
    s = result.summary
    for block in ("official", "canonical"):
        assert s[block]["fp"] == s[block]["fn"] == 0
        assert s[block]["f1"] == (1.0 if s[block]["tp"] else 0.0)
    cls = s["classification"]
    assert cls["accuracy"] == (1.0 if cls["items"] else 0.0)
    assert s["failures"]["missing"] == s["failures"]["hallucination"] == 0


def test_fast_path_and_reference_path_agree() -> None:
    """score() inlines the per-sample steps; Scorer.sample is the plain reference: same tags."""
    from harness.datasets.synthetic import synth_predictions, synth_records

    records = list(synth_records(400, seed=3))
    preds = synth_predictions(records, seed=3)
    result = score(records, preds, FAST)
    ref = Scorer(FAST)
    for r, (_, _, _, tags) in zip(records, result.kept, strict=True):
        assert ref.sample(r, preds[r.sample_id])[3] == (tags or {}), r.sample_id
    assert np.array_equal(
        result.counts[:, 0],
        [
            len(
                official_pairs(r.target, r.answer_choices)
                & official_pairs(preds[r.sample_id], r.answer_choices)
            )
            for r in records
        ],
    )


def test_nothing_to_score_gives_zeros_not_errors() -> None:
    empty = score([], {})
    assert empty.summary["samples"] == 0 and empty.summary["official"]["f1"] == 0.0 and empty.traces == []
    only_other = score([Record("x", "问", "答", None, "ner", "CMeEE-V2")], {})
    assert (
        only_other.summary["skipped"] == {"CMeEE-V2": 1}
        and only_other.summary["classification"]["items"] == 0
    )


# Cases found by review: (gold entities, prediction, canonical tp/fp/fn, extra, tags). The
# pipeline's inlined loop must also give the reference path's tags (Scorer.sample).
REVIEW_CASES = [
    # two gold entities share a canonical name; the prediction names both 发热: each aligned
    # prediction takes its own gold item's name
    ([("发热", POS), ("发烧", NEG)], f"{H}\n发热：{POS}\n发热：{NEG}", (2, 0, 0), 0, {"conflict"}),
    ([("发热", POS), ("发烧", POS)], f"{H}\n发热：{POS}\n发热：{POS}", (2, 0, 0), 0, {"duplicate"}),
    # a repeated line of a synonym stays one pair
    ([("腹泻", POS)], f"{H}\n拉肚子：{POS}\n拉肚子：{POS}", (1, 0, 0), 1, {"duplicate"}),
    # the prediction is the gold text, and that text repeats a line
    ([("发热", POS), ("发热", POS), ("咳嗽", NEG)], None, (2, 0, 0), 1, {"duplicate"}),
]


@pytest.mark.parametrize(
    ("entities", "pred", "canonical", "extra", "tags"),
    REVIEW_CASES,
    ids=[
        "shared-canonical-two-labels",
        "shared-canonical-one-label",
        "repeated-synonym",
        "gold-text-repeats-a-line",
    ],
)
def test_review_cases(
    entities: list[tuple[str, str]], pred: str | None, canonical: tuple, extra: int, tags: set[str]
) -> None:
    gold = rec("s1", entities)
    pred = gold.target if pred is None else pred
    summary, trace = one(pred, gold)
    c = summary["canonical"]
    assert (c["tp"], c["fp"], c["fn"]) == canonical
    assert summary["classification"]["extra"] == extra
    assert {t["tag"] for t in trace["tags"]} == tags == set(Scorer(FAST).sample(gold, pred)[3])
    assert all(row["correct"] for row in trace["alignment"] if row["gold_entity"] is not None)


def test_drift_sees_labels_a_trailing_cr_flips_whatever_the_line_breaks() -> None:
    """The official rule reads a "\\r\\n" line's label with its "\\r" (so as 不标注); a lone "\\r"
    elsewhere in the text must not hide that."""
    gold = rec("s1", [("发热", POS), ("咳嗽", NEG)])
    crlf = f"{H}\r\n发热：{POS}\r\n咳嗽：{NEG}"
    for pred in (crlf, crlf + "\r", crlf.replace(H, H + "\r")):
        assert one(pred, gold)[0]["failures"]["drift"] == 1, repr(pred)


_ENTITIES = ["发热", "发烧", "咳嗽", "腹泻", "拉肚子", " 头晕", "1. 发热", ""]
_LABEL_TEXTS = [POS, NEG, UNC, NA, "阳性", "negative", POS + " ", POS + "\r", "不知道", ""]
_LINE = st.one_of(
    st.builds(
        lambda e, sep, lab: f"{e}{sep}{lab}",
        st.sampled_from(_ENTITIES),
        st.sampled_from("：：:"),
        st.sampled_from(_LABEL_TEXTS),
    ),
    st.sampled_from(["", "  ", "以上仅供参考", H, "发热：阳性：阴性", f"发热：{POS}；咳嗽：{NEG}"]),
)


@st.composite
def _gold_and_prediction(draw: st.DrawFn) -> tuple[str, str]:
    names = draw(st.lists(st.sampled_from(["发热", "发烧", "咳嗽", "腹泻", "拉肚子"]), max_size=4))
    gold_lines = [f"{n}：{draw(st.sampled_from([POS, NEG, UNC, NA]))}" for n in names]
    gold_lines += draw(st.lists(st.sampled_from(gold_lines), max_size=2)) if gold_lines else []  # repeats
    gold = "\n".join([H, *gold_lines])
    kind = draw(st.sampled_from(["same", "extra lines", "random"]))
    if kind == "same":
        return gold, gold
    lines = (
        [*gold.split("\n"), *draw(st.lists(_LINE, max_size=3))]
        if kind == "extra lines"
        else draw(st.lists(_LINE, max_size=6))
    )
    breaks = draw(
        st.lists(st.sampled_from(["\n", "\n", "\r\n", "\r"]), min_size=len(lines), max_size=len(lines))
    )
    return gold, "".join(b + line for b, line in zip(breaks, lines, strict=True))[1:] if lines else ""


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_gold_and_prediction(), min_size=1, max_size=5))
def test_pipeline_equals_the_reference_on_random_texts(samples: list[tuple[str, str]]) -> None:
    """The inlined loop against the plain definitions: official pairs, Scorer.sample's tags and
    alignment, and the canonical sets as docs/scoring.md defines them."""
    from harness.scoring import metrics as M

    records, preds = _records(samples)
    result = score(records, preds, FAST)
    reference = Scorer(FAST)
    for i, (r, text, al, tags) in enumerate(result.kept):
        g_off, p_off = official_pairs(r.target, r.answer_choices), official_pairs(text, r.answer_choices)
        row = result.counts[i]
        assert tuple(row[[M.OFF_TP, M.OFF_FP, M.OFF_FN]]) == (
            len(g_off & p_off),
            len(p_off - g_off),
            len(g_off - p_off),
        )
        g, p, ref_al, ref_tags = reference.sample(r, text)
        assert (tags or {}) == ref_tags
        if al is not None:
            assert al.pred_of == ref_al.pred_of
        g_items = g.dedup()[0]
        gold_set = {(it.norm, it.label) for it in g_items}
        renamed = {j: g_items[gi].norm for gi, j in enumerate(ref_al.pred_of) if j >= 0}
        first_alias: dict[str, str] = {}
        for gi, j in enumerate(ref_al.pred_of):
            if j >= 0:
                first_alias.setdefault(p.items[j].norm, g_items[gi].norm)
        pred_set = {
            (renamed.get(j, first_alias.get(it.norm, it.norm)), it.label) for j, it in enumerate(p.items)
        }
        tp = len(gold_set & pred_set)
        assert tuple(row[[M.CAN_TP, M.CAN_FP, M.CAN_FN]]) == (tp, len(pred_set) - tp, len(gold_set) - tp)
