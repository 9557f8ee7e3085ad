import os
from collections import Counter
from pathlib import Path

import pytest

from harness.datasets.synthetic import MAX_RECORDS, SYNTH_FINDINGS, synth_records, write_synth
from harness.datasets.templates import IMCS_SR_CHOICES, IMCS_SR_HEADER, NER_EMPTY, NER_HEADER
from harness.errors import HarnessError
from harness.records import ATTR_CLS_CHOICES, ATTR_CLS_HEADER, LONG_LABELS, read_records
from harness.scoring.official import official_pairs


def test_same_seed_is_byte_identical_and_seeds_differ(tmp_path: Path) -> None:
    a = write_synth(tmp_path / "a.jsonl", n=500, seed=3).read_bytes()
    b = write_synth(tmp_path / "b.jsonl", n=500, seed=3).read_bytes()
    c = write_synth(tmp_path / "c.jsonl", n=500, seed=4).read_bytes()
    assert a == b
    assert a != c


def test_written_file_reads_back_as_the_generated_records(tmp_path: Path) -> None:
    path = write_synth(tmp_path / "s.jsonl", n=200, seed=1, tasks=("attr_cls", "imcs_sr", "ner"))
    assert read_records(path).records == list(synth_records(200, 1, tasks=("attr_cls", "imcs_sr", "ner")))


def test_positional_signature_used_by_conftest(synth_path: Path) -> None:
    records = read_records(synth_path).records
    assert len(records) == 300
    assert [r.sample_id for r in records[:2]] == ["synth-0-0", "synth-0-1"]


def test_attr_cls_records_have_all_labels_and_parse_back_exactly() -> None:
    labels: Counter[str] = Counter()
    for rec in synth_records(400, seed=0):
        assert rec.task_type == "attr_cls" and rec.task_dataset == "CHIP-MDCFNPC"
        assert rec.answer_choices == ATTR_CLS_CHOICES
        assert rec.input.endswith("答：")
        assert len(rec.input) <= 320, rec.input
        lines = rec.target.split("\n")
        assert lines[0] == ATTR_CLS_HEADER
        entities = [line.split("：")[0] for line in lines[1:]]
        assert 2 <= len(entities) <= 5 and len(set(entities)) == len(entities)
        pairs = official_pairs(rec.target, rec.answer_choices)
        assert len(pairs) == len(entities)  # every line survives the official rule
        listed = rec.input.split("\n")[-3].split("：", 1)[1].split("，")
        assert listed == entities  # the entity list in the prompt, in target order
        dialogue = "\n".join(line for line in rec.input.split("\n") if line.startswith(("患者：", "医生：")))
        for entity in entities:
            assert entity in dialogue, (entity, rec.input)  # said in a turn, not only listed
        labels.update(label for _, label in pairs)
    assert set(labels) == set(LONG_LABELS.values())


@pytest.mark.parametrize(
    ("label", "cue"),
    [
        ("阴性", ("没有", "不", "否认")),
        ("其他", ("不清楚", "可能", "说不好", "不知道")),
        ("不标注", ("以前", "去年", "他爸", "邻居", "一般")),
    ],
)
def test_labels_come_with_their_cues(label: str, cue: tuple[str, ...]) -> None:
    """Every finding with a negative/uncertain/not-annotated label is said with a matching cue word."""
    long = LONG_LABELS[label]
    seen = 0
    for rec in synth_records(300, seed=2):
        dialogue = [line for line in rec.input.split("\n") if line.startswith(("患者：", "医生："))]
        for entity, lab in official_pairs(rec.target, rec.answer_choices):
            if lab != long:
                continue
            seen += 1
            at = next(i for i, line in enumerate(dialogue) if entity in line)
            window = "\n".join(dialogue[at : at + 2])
            assert any(c in window for c in cue), (entity, window)
    assert seen > 20


def test_vocabulary_is_large_and_unambiguous() -> None:
    assert len(SYNTH_FINDINGS) >= 40
    forms = [c for c in SYNTH_FINDINGS] + [v for vs in SYNTH_FINDINGS.values() for v in vs]
    assert len(forms) == len(set(forms)), "a colloquial form must name one finding only"
    assert all(vs and all(v != c for v in vs) for c, vs in SYNTH_FINDINGS.items())
    used = Counter(e for r in synth_records(500, 0) for e, _ in official_pairs(r.target, r.answer_choices))
    colloquial = {v for vs in SYNTH_FINDINGS.values() for v in vs}
    assert sum(n for e, n in used.items() if e in colloquial) > 100  # synonyms get real work


def test_other_tasks_have_their_own_shape() -> None:
    recs = list(synth_records(90, 5, tasks=("attr_cls", "imcs_sr", "ner")))
    assert [r.task_dataset for r in recs[:3]] == ["CHIP-MDCFNPC", "IMCS-V2-SR", "CMeEE-V2"]
    for r in recs[1::3]:
        assert r.task_type == "attr_cls" and r.answer_choices == IMCS_SR_CHOICES
        assert r.target.startswith(IMCS_SR_HEADER + "\n") and "当前对话：" in r.input
        assert official_pairs(r.target, r.answer_choices)
    for r in recs[2::3]:
        assert r.task_type == "ner" and r.answer_choices
        assert r.target == NER_EMPTY or r.target.startswith(NER_HEADER)
    assert len({r.sample_id for r in recs}) == 90


@pytest.mark.parametrize("tasks", [("nope",), ()])
def test_unknown_task_is_a_user_error(tasks: tuple[str, ...]) -> None:
    with pytest.raises(HarnessError, match="valid: attr_cls, imcs_sr, ner"):
        next(synth_records(1, 0, tasks=tasks))


@pytest.mark.parametrize("kind", ["fifo", "folder"])
def test_write_synth_never_replaces_what_is_not_a_regular_file(tmp_path: Path, kind: str) -> None:
    target = tmp_path / "out"
    if kind == "fifo":
        os.mkfifo(target)
    else:
        target.mkdir()
    with pytest.raises(HarnessError, match="cannot write"):
        write_synth(target, n=3, seed=0)
    assert target.is_fifo() if kind == "fifo" else target.is_dir()
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no temp file left


def test_record_bound_is_the_suites() -> None:
    from harness.suite import MAX_SYNTHETIC

    assert MAX_RECORDS == MAX_SYNTHETIC
    with pytest.raises(HarnessError, match="more than 1,000,000 records"):
        next(synth_records(MAX_RECORDS + 1, seed=0))
