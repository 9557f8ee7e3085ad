import json
from pathlib import Path

import pytest

from harness.errors import DataError, HarnessError
from harness.records import (
    ATTR_CLS_CHOICES,
    ATTR_CLS_HEADER,
    GoldError,
    read_gold,
    read_records,
    to_example,
    write_records,
)
from harness.scoring.official import official_pairs

GOOD = {
    "sample_id": "s1",
    "input": "患者：发烧\n答：",
    "target": ATTR_CLS_HEADER + "\n发热：" + ATTR_CLS_CHOICES[0],
    "answer_choices": ATTR_CLS_CHOICES,
    "task_type": "attr_cls",
    "task_dataset": "CHIP-MDCFNPC",
}


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("{not json", ":2: invalid JSON at column 2: Expecting property name enclosed in double quotes"),
        (json.dumps({**GOOD, "sample_id": 7}), ":2: field sample_id: expected a string, got int 7"),
        (
            json.dumps({k: v for k, v in GOOD.items() if k != "input"}),
            ":2: field input: expected a string, got nothing (field missing)",
        ),
        (
            json.dumps({**GOOD, "answer_choices": "x"}),
            ":2: field answer_choices: expected a list of strings or null, got str 'x'",
        ),
        (json.dumps([1, 2]), ":2: expected a JSON object, got list [1, 2]"),
        (json.dumps(GOOD), ":2: field sample_id: duplicate id 's1' (first on line 1)"),
    ],
)
def test_bad_line_is_reported_with_file_line_and_field(tmp_path: Path, line: str, expected: str) -> None:
    path = write_lines(tmp_path / "r.jsonl", [json.dumps(GOOD, ensure_ascii=False), line])
    with pytest.raises(DataError) as err:
        read_records(path)
    assert str(err.value) == f"{path}{expected}"
    skipped = read_records(path, on_error="skip")
    assert [r.sample_id for r in skipped.records] == ["s1"]
    assert len(skipped.problems) == 1


def test_json_array_and_filters_and_round_trip(tmp_path: Path) -> None:
    other = {**GOOD, "sample_id": "s2", "task_type": "ner", "task_dataset": "CMeEE-V2"}
    src = tmp_path / "a.json"
    src.write_text(json.dumps([GOOD, other], ensure_ascii=False), encoding="utf-8")
    assert len(read_records(src).records) == 2
    only = read_records(src, task_type="attr_cls").records
    assert [r.sample_id for r in only] == ["s1"]
    out = write_records(tmp_path / "out.jsonl", only)
    assert read_records(out).records == only


def test_gold_pairs_and_three_field_example() -> None:
    rec = read_records_from(GOOD)
    assert official_pairs(rec.target, rec.answer_choices) == {("发热", ATTR_CLS_CHOICES[0])}
    ex = to_example(rec)
    assert all(choice in ex.instruction for choice in ATTR_CLS_CHOICES)
    assert ex.input == rec.input and ex.output == rec.target


def read_records_from(obj: dict) -> object:
    from harness.records import parse_record

    return parse_record(obj, "mem", 1)


def test_reader_on_promptcblue_toy(shared_data: Path) -> None:
    for name in ("train.json", "dev.json", "test.json"):
        res = read_records(shared_data / "promptcblue-toy" / name)
        assert len(res.records) == 80 and not res.problems
        attr = [r for r in res.records if r.task_dataset == "CHIP-MDCFNPC"]
        assert len(attr) == 5


def _attr_cls(r: object) -> bool:
    return getattr(r, "task_type", None) == "attr_cls"


def test_read_gold_needs_the_answer_of_every_scored_record(tmp_path: Path) -> None:
    inputs_only = {**GOOD, "sample_id": "s2", "target": None}
    other_task = {**inputs_only, "sample_id": "n1", "task_type": "ner", "answer_choices": None}
    path = write_lines(tmp_path / "g.jsonl", [json.dumps(r, ensure_ascii=False) for r in (GOOD, other_task)])
    assert [r.sample_id for r in read_gold(path, _attr_cls)] == ["s1", "n1"]  # an unscored null is fine
    path = write_lines(tmp_path / "g.jsonl", [json.dumps(r, ensure_ascii=False) for r in (GOOD, inputs_only)])
    assert read_records(path).records[1].target == ""  # the lenient reader keeps test inputs
    with pytest.raises(GoldError) as err:
        read_gold(path, _attr_cls)
    assert str(err.value).startswith(
        f"bad gold lines: {path}:2: field target: expected the gold answer text, got null"
    )
    assert [p.line for p in err.value.problems] == [2]
    empty = write_lines(tmp_path / "e.jsonl", [""])
    with pytest.raises(HarnessError, match="the gold file holds no records"):
        read_gold(empty, _attr_cls)
