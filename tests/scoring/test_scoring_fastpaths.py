"""The scorer's shortcuts give the same answers as the plain definitions they replace."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.records import ATTR_CLS_CHOICES, ATTR_CLS_HEADER, LONG_LABELS, Record
from harness.scoring.failures import SampleView, hallucination, listed_entities
from harness.scoring.parse import NO_SEPARATOR, parse_lenient
from harness.scoring.pipeline import Scorer, ScoringConfig
from harness.scoring.reader import _official_label_off
from harness.scoring.tasks import TASKS

CHIP = TASKS["CHIP-MDCFNPC"]

H = ATTR_CLS_HEADER
POS, NEG = LONG_LABELS["阳性"], LONG_LABELS["阴性"]
CHOICES = frozenset(ATTR_CLS_CHOICES)


def plain_listed(input_text: str) -> list[str]:
    """The definition: the last line that starts with a list prefix, split on full-width commas."""
    prefixes = ("临床发现实体：", "候选实体：", "实体列表：", "实体：", "临床发现实体:", "实体:")
    for line in reversed(input_text.split("\n")):
        for p in prefixes:
            if line.startswith(p):
                return [e.strip() for e in line[len(p) :].split("，") if e.strip()]
    return []


@pytest.mark.parametrize(
    "text",
    [
        "对话\n实体：发热，咳嗽\n答：",
        "实体：发热",  # the list on the first line
        "对话\n实体：a，b\n对话\n临床发现实体：c，d\n答：",  # the last list wins
        "临床发现实体:c，d",  # half-width colon
        "临床发现实体:a：b，c",  # a full-width colon inside the list
        "实体：x:y",  # a half-width one
        "候选实体：x\n实体列表：y，z，",  # trailing comma
        "说到实体：发热\n答：",  # not at a line start
        "没有列表",
        "",
        "\n实体：\n",
        "实体：a\n",
    ],
)
def test_listed_entities_is_the_last_list_line(text: str) -> None:
    assert listed_entities(text) == plain_listed(text)


def _reference_offformat_lines(text: str, choices: frozenset[str]) -> list[int]:
    """drift's definition, from the lenient parse and the raw lines (what the fast path must equal):
    prose after the header, and pair lines whose label is unknown or outside the choices, as
    written or as the official rule reads the raw line (no lone \r here: lines map one to one)."""
    assert "\r" not in text.replace("\r\n", "")
    parsed = parse_lenient(text, choices, CHIP)
    raw = text.split("\n")
    bad = {i for i, status, _ in parsed.diags if status == NO_SEPARATOR and i != parsed.header_line}
    bad.update(p.line for p in parsed.pairs if not p.known_label or p.raw_label not in choices)
    bad.update(p.line for p in parsed.pairs if _official_label_off(raw[p.line], choices))
    return sorted(bad)


@pytest.mark.parametrize(
    "text",
    [
        f"{H}\n发热：{POS}\n咳嗽：{NEG}",
        f"{H}\n发热：{POS} \n咳嗽：{NEG}",  # a trailing space: the official rule reads 不标注
        f"{H}\r\n发热：{POS}\r\n咳嗽：{NEG}",
        f"{H}\n1. 发热: 阳性\n2. 咳嗽: negative",
        f"{H}\n发热：{POS}\n以上仅供参考",
        f"{H}\n发热：{POS}；咳嗽：很可能",
        f"发热：{POS}\n咳嗽：{NEG}",
        f"{H}\n\n发热：{POS}\n\n",
        f"{H}\n发热：：{POS}",
    ],
)
def test_offformat_lines_fast_path_equals_the_definition(text: str) -> None:
    scorer = Scorer(ScoringConfig(bootstrap_resamples=0))
    read = scorer.reader_for(CHIP).read_once(text, CHOICES)
    assert read.offformat_lines() == _reference_offformat_lines(text, CHOICES)
    assert bool(read.offformat_lines()) == (read.offformat and bool(read.items))


_LINES = [
    H,
    f"发热：{POS}",
    f"咳嗽：{NEG} ",
    "1. 头痛: negative",
    "以上仅供参考",
    "",
    "  ",
    "发热：很可能",
    "：",
    "a：b：c",
]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_LINES), max_size=7))
def test_offformat_lines_fast_path_on_any_mix_of_lines(lines: list[str]) -> None:
    scorer = Scorer(ScoringConfig(bootstrap_resamples=0))
    text = "\n".join(lines)
    assert scorer.reader_for(CHIP).read_once(text, CHOICES).offformat_lines() == _reference_offformat_lines(
        text, CHOICES
    )


def test_hallucination_reads_the_input_list_only_for_entities_outside_gold() -> None:
    scorer = Scorer(ScoringConfig(bootstrap_resamples=0))
    gold = f"{H}\n发热：{POS}"
    record = Record("s", "对话\n实体：发热\n答：", gold, list(ATTR_CLS_CHOICES), "attr_cls", "CHIP-MDCFNPC")

    def view(pred: str) -> SampleView:
        g, p, al, _ = scorer.sample(record, pred)
        return SampleView(record, pred, g, g.dedup()[0], p, al, scorer.name_of)

    repeated = view(f"{H}\n发热：{POS}\n发热：{NEG}")  # the extra item repeats a gold entity
    assert hallucination(repeated) == [] and repeated._listed is False
    invented = view(f"{H}\n发热：{POS}\n头顶发光：{POS}")
    assert hallucination(invented) == [2] and invented._listed == frozenset({"发热"})


def _reference_align(gold: list, pred: list) -> tuple[list[int], list[str]]:
    """The exact and synonym passes written plainly: gold in order takes the earliest unused match."""
    from harness.scoring.align import _PASSES

    used = [False] * len(pred)
    pred_of, how = [-1] * len(gold), ["none"] * len(gold)
    left = list(range(len(gold)))
    for name, key in _PASSES:
        still = []
        for i in left:
            j = next((j for j, p in enumerate(pred) if not used[j] and key(p) == key(gold[i])), None)
            if j is None:
                still.append(i)
            else:
                used[j], pred_of[i], how[i] = True, j, name
        left = still
    return pred_of, how


@pytest.mark.parametrize("seed", range(300))
def test_greedy_alignment_shortcut_equals_the_plain_passes(seed: int) -> None:
    """Repeated predictions, repeated gold items, shared canonical names: same alignment."""
    import random

    from harness.scoring.align import align_greedy
    from harness.scoring.reader import Item

    rng = random.Random(seed)

    def item() -> Item:
        norm = rng.choice("abcd")
        key = {"a": "A", "b": "A", "c": "C", "d": "D"}[norm]  # a and b are synonyms
        return Item(norm, key, rng.randrange(3), norm, True, "")

    gold = [item() for _ in range(rng.randrange(6))]
    if seed % 2:  # the pipeline's gold is deduplicated by (name, label)
        gold = list({(g.norm, g.label): g for g in reversed(gold)}.values())[::-1]
    pred = [item() for _ in range(rng.randrange(7))]
    al = align_greedy(gold, pred, None)
    assert (al.pred_of, al.how) == _reference_align(gold, pred)


def test_gold_reading_without_prediction_features_is_the_same_reading() -> None:
    reader = Scorer(ScoringConfig(bootstrap_resamples=0)).reader_for(CHIP)
    text = f"{H}\n发热：{POS}\n以上仅供参考"
    full, light = reader.read_once(text, CHOICES), reader.read_once(text, CHOICES, features=False)
    assert (light.items, light.norms, light.off, light.header_line) == (
        full.items,
        full.norms,
        full.off,
        full.header_line,
    )
    assert full.offformat is True and light.offformat is None and light.first_pair is None


def test_fuzzy_matrix_scores_like_pairwise_score() -> None:
    """cdist (big leftovers) and single calls share a cache: they must give the same number.

    The pairs have a character ratio above the threshold (80 here) and a higher jieba word
    score, the case where the two paths used to differ.
    """
    from harness.scoring.align import FuzzyMatcher

    golds = [
        "口干口苦食欲不振明显加重",
        "反复咳嗽咳痰两周伴发热",
        "头痛头晕恶心呕吐一周余",
        "肚子很疼",
        "发热三天",
    ]
    preds = [
        "口苦口干食欲不振明显加重",
        "咳痰反复咳嗽两周伴发热",
        "头晕头痛恶心呕吐一周余",
        "肚子很疼啊",
        "发热了三天",
    ]
    by_matrix = FuzzyMatcher(threshold=80.0).matrix(golds, preds)
    pairwise = FuzzyMatcher(threshold=80.0)
    assert by_matrix == [[pairwise.score(g, p) for p in preds] for g in golds]


_NAME_CHARS = "头痛晕发热咳嗽乏力肚子很疼痰口干苦"


@settings(max_examples=300, deadline=None)
@given(
    gold=st.text(alphabet=_NAME_CHARS, min_size=1, max_size=8),
    pred=st.text(alphabet=_NAME_CHARS, min_size=1, max_size=8),
    cuts=st.lists(st.integers(1, 7), max_size=6),
    threshold=st.sampled_from([50.0, 70.0, 85.0, 95.0]),
)
def test_word_score_bound_holds_for_any_segmentation(
    gold: str, pred: str, cuts: list[int], threshold: float
) -> None:
    """A pair the bound rules out scores below the threshold however its names split into words."""
    from rapidfuzz import fuzz

    from harness.scoring.align import FuzzyMatcher

    def split(name: str) -> str:
        at = sorted({c for c in cuts if c < len(name)})
        return " ".join(name[a:b] for a, b in zip([0, *at], [*at, len(name)], strict=True))

    if not FuzzyMatcher(threshold)._words_may_reach(gold, pred):
        assert fuzz.token_sort_ratio(split(gold), split(pred)) < threshold
        assert fuzz.token_sort_ratio(" ".join(gold), " ".join(pred)) < threshold  # one word per character


def test_word_scores_only_where_they_can_align() -> None:
    """Reordered words still align; a pair that cannot reach the threshold is never segmented."""
    from harness.scoring.align import FuzzyMatcher

    m = FuzzyMatcher(85.0)
    assert m.score("头晕乏力", "乏力头晕") == 100.0
    assert m.score("头痛", "头顶发光") < 85.0
    assert set(m._words) == {"头晕乏力", "乏力头晕"}
