import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.datasets.chip2021 import convert_chip2021
from harness.datasets.templates import load_templates
from harness.errors import DataError, HarnessError
from harness.records import ATTR_CLS_CHOICES, ATTR_CLS_HEADER, LONG_LABELS
from harness.scoring.official import official_pairs

POS, NEG, UNC, NA = (LONG_LABELS[k] for k in ("阳性", "阴性", "其他", "不标注"))


def turn(sender: str, text: str, *ner: tuple[str, str]) -> dict[str, Any]:
    """A raw CHIP-2021 turn; each (mention, attr) gets the range of its first occurrence in `text`."""
    items = []
    for mention, attr in ner:
        start = text.find(mention) if mention in text else len(text)
        items.append(
            {
                "name": "x",
                "mention": mention,
                "range": [start, start + len(mention)],
                "type": "clinical_findings",
                "attr": attr,
            }
        )
    return {"sentence_id": "1", "sender": sender, "text": text, "ner": items}


def write_dialogs(path: Path, dialogs: list[Any]) -> Path:
    path.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in dialogs), encoding="utf-8")
    return path


def pairs_of(target: str) -> list[tuple[str, str]]:
    return [tuple(line.split("：")) for line in target.split("\n")[1:]]  # type: ignore[misc]


@pytest.fixture
def small(tmp_path: Path) -> Path:
    return write_dialogs(
        tmp_path / "d.jsonl",
        [
            {
                "dialog_id": 7,
                "dialog_info": [
                    # within a turn, order by range: 咳嗽 comes before 发烧
                    {**turn("患者", "咳嗽两天，也发烧", ("发烧", "阳性"), ("咳嗽", "阳性"))},
                    turn("医生", "还发烧吗？有没有拉肚子", ("发烧", "其他"), ("拉肚子", "阴性")),
                    turn("患者", "不发烧了\n我妈也拉肚子", ("发烧", "阴性"), ("拉肚子", "不标注")),
                    turn("患者", "头痛", ("头痛", "")),
                ],
            },
            {
                "dialog_id": "a8",
                "dialog_info": [
                    turn(
                        "患者",
                        "症状：头晕，腹部，胃部不适",
                        ("症状：头晕", "阳性"),
                        (" 乏力\n", "其他"),
                        ("腹部，胃部不适", "阳性"),
                    )
                ],
            },
        ],
    )


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        ("last", [("咳嗽", POS), ("发烧", NEG), ("拉肚子", NA)]),
        ("first", [("咳嗽", POS), ("发烧", POS), ("拉肚子", NEG)]),
        ("majority", [("咳嗽", POS), ("发烧", NEG), ("拉肚子", NA)]),  # 3-way tie: the latest wins
    ],
)
def test_conflict_policies_order_and_empty_labels(small: Path, policy: str, expected: list) -> None:
    res = convert_chip2021(small, conflict_policy=policy)  # type: ignore[arg-type]
    rec = res.records[0]
    assert rec.sample_id == "chip2021-7"
    assert pairs_of(rec.target) == expected  # 头痛 only has an empty label: left out
    assert official_pairs(rec.target, rec.answer_choices) == set(expected)
    # the mention list is a line of its own, in dialog order (the two templates name it differently)
    assert {"临床发现实体：咳嗽，发烧，拉肚子", "实体：咳嗽，发烧，拉肚子"} & set(rec.input.split("\n"))
    assert "患者：不发烧了 我妈也拉肚子" in rec.input  # a newline in a turn never splits the line
    assert rec.input.endswith("答：")
    assert res.stats["conflicts"] == 2
    assert sum(res.stats["conflicts_resolved_to"].values()) == 2
    assert res.stats["empty_labels"] == 1 and res.stats["mentions_dropped_unlabelled"] == 1


def test_colons_commas_and_newlines_in_mentions_are_sanitized_not_lost(small: Path) -> None:
    res = convert_chip2021(small)
    rec = res.records[1]
    assert rec.sample_id == "chip2021-a8"
    assert official_pairs(rec.target, ATTR_CLS_CHOICES) == {
        ("症状:头晕", POS),
        ("乏力", UNC),
        ("腹部,胃部不适", POS),
    }
    assert "实体：症状:头晕，腹部,胃部不适，乏力\n" in rec.input  # the entity list stays unambiguous
    assert res.stats["mentions_sanitized"] == 3
    assert res.stats["sanitized_by"] == {
        "colon": 1,
        "comma": 1,
        "newline": 1,
        "carriage_return": 0,
        "whitespace": 1,
    }


def test_windows_hold_whole_turns_and_their_own_mentions(tmp_path: Path) -> None:
    turns = [
        turn(
            "患者" if i % 2 == 0 else "医生",
            f"第{i}句" + "啊" * 20 + ("咳嗽" if i in (0, 5) else ""),
            *([("咳嗽", "阳性" if i == 0 else "阴性")] if i in (0, 5) else []),
        )
        for i in range(8)
    ]
    path = write_dialogs(tmp_path / "w.jsonl", [{"dialog_id": 1, "dialog_info": turns}])
    res = convert_chip2021(path, max_chars=60)
    ids = [r.sample_id for r in res.records]
    assert ids == ["chip2021-1-w1", "chip2021-1-w3"]  # w2, w4 have no mentions: dropped and counted
    assert res.stats["windows_without_mentions"] == 2 and res.stats["windowed_dialogs"] == 1
    assert pairs_of(res.records[0].target) == [("咳嗽", POS)]
    assert pairs_of(res.records[1].target) == [("咳嗽", NEG)]  # labels come from the window's own turns
    for rec in res.records:
        dialogue = "\n".join(line for line in rec.input.split("\n") if line.startswith(("患者：", "医生：")))
        assert len(dialogue) <= 60
    assert convert_chip2021(path).records[0].sample_id == "chip2021-1"


def test_an_over_long_turn_is_cut_between_mentions(tmp_path: Path) -> None:
    text = "啊" * 8 + "肚子疼" + "啊" * 8 + "发烧" + "啊" * 3  # 24 characters
    path = write_dialogs(
        tmp_path / "w.jsonl",
        [{"dialog_id": 2, "dialog_info": [turn("患者", text, ("肚子疼", "阳性"), ("发烧", "阴性"))]}],
    )
    res = convert_chip2021(path, max_chars=13)  # 10 characters of text per piece after "患者："
    assert res.stats["split_turns"] == 1 and res.stats["windows_over_limit"] == 0
    pieces = [line for r in res.records for line in r.input.split("\n") if line.startswith("患者：")]
    # cut before 肚子疼 (not inside it); the first piece has no mention, so its window is dropped
    assert res.stats["windows_without_mentions"] == 1
    assert "".join(p.removeprefix("患者：") for p in pieces) == text[8:]
    assert all(len(p) <= 13 for p in pieces)
    assert [pairs_of(r.target) for r in res.records] == [[("肚子疼", POS)], [("发烧", NEG)]]
    assert all(
        m in piece for r, piece in zip(res.records, pieces, strict=True) for m, _ in pairs_of(r.target)
    )


def test_template_choice_is_seeded_per_dialog_and_templates_file_newlines(tmp_path: Path) -> None:
    tfile = tmp_path / "t.json"
    tfile.write_text(
        json.dumps(
            {
                "CHIP-MDCFNPC": [
                    "甲：\\n[INPUT_TEXT]\\n实体：[LIST_MENTIONS]\\n选项：[LIST_LABELS]\\n答：",
                    "乙：\\n[INPUT_TEXT]\\n实体：[LIST_MENTIONS]\\n选项：[LIST_LABELS]\\n答：",
                ]
            }
        )
    )
    dialogs = [{"dialog_id": i, "dialog_info": [turn("患者", "咳嗽", ("咳嗽", "阳性"))]} for i in range(40)]
    path = write_dialogs(tmp_path / "d.jsonl", dialogs)
    a = convert_chip2021(path, templates=tfile, seed=1)
    b = convert_chip2021(write_dialogs(tmp_path / "r.jsonl", dialogs[::-1]), templates=tfile, seed=1)
    assert {r.sample_id: r.input for r in a.records} == {r.sample_id: r.input for r in b.records}
    assert {r.input[0] for r in a.records} == {"甲", "乙"}
    assert "\\n" not in a.records[0].input and a.records[0].input.split("\n")[1] == "患者：咳嗽"
    assert sum(a.stats["templates"]) == 40
    assert [r.input for r in convert_chip2021(path, templates=tfile, seed=2).records] != [
        r.input for r in a.records
    ]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{broken", ":2: invalid JSON"),
        (json.dumps({"dialog_info": []}), ":2: field dialog_id: expected an integer or a non-empty string, got NoneType"),
        (json.dumps({"dialog_id": 2, "dialog_info": {}}), ":2: field dialog_info: expected a list of turns, got dict"),
        (json.dumps({"dialog_id": 2, "dialog_info": [{"sender": "护士", "text": "x", "ner": []}]}), ":2: field dialog_info[0].sender: expected '患者' or '医生', got str '护士'"),
        (json.dumps({"dialog_id": 2, "dialog_info": [{**turn("患者", "咳"), "ner": [{"mention": "咳", "attr": "yes"}]}]}), ":2: field dialog_info[0].ner[0].attr: expected one of 阳性, 阴性, 其他, 不标注 or ''"),
        (json.dumps({"dialog_id": 1, "dialog_info": []}), ":2: field dialog_id: duplicate id '1' (first on line 1)"),
    ],
)  # fmt: skip
def test_bad_lines_say_file_line_field(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(
        json.dumps({"dialog_id": 1, "dialog_info": [turn("患者", "咳嗽", ("咳嗽", "阳性"))]})
        + "\n"
        + line
        + "\n",
        encoding="utf-8",
    )
    with pytest.raises(DataError) as err:
        convert_chip2021(path)
    assert str(err.value).startswith(f"{path}{message}")
    res = convert_chip2021(path, on_error="skip")
    assert [r.sample_id for r in res.records] == ["chip2021-1"] and res.stats["bad_lines"] == 1


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"max_chars": 0}, "max-chars"),
        ({"conflict_policy": "vote"}, "valid: last, first, majority"),
        ({"templates": []}, "at least one template"),
    ],
)
def test_bad_options_are_user_errors(small: Path, kwargs: dict, match: str) -> None:
    with pytest.raises(HarnessError, match=match):
        convert_chip2021(small, **kwargs)


def test_real_fixed_badcases_convert(shared_data: Path) -> None:
    res = convert_chip2021(shared_data / "chip2021-mdcfnpc" / "fix-badcase9.jsonl")
    assert res.stats["dialogs"] == 9 and len(res.records) == 9
    for rec in res.records:
        assert len(official_pairs(rec.target, rec.answer_choices)) == rec.target.count("\n")


@pytest.mark.parametrize("max_chars", [None, 600, 200])
def test_all_600_real_dialogs_convert_and_parse_back_exactly(
    shared_data: Path, max_chars: int | None
) -> None:
    raw = shared_data / "chip2021-mdcfnpc" / "dialogs-val600.jsonl"
    res = convert_chip2021(
        raw, templates=shared_data / "promptcblue-toy" / "templates.json", max_chars=max_chars
    )
    templates = load_templates(shared_data / "promptcblue-toy" / "templates.json")
    assert res.stats["dialogs"] == 600 and res.stats["bad_lines"] == 0
    assert len({r.sample_id for r in res.records}) == len(res.records)
    for rec in res.records:
        lines = rec.target.split("\n")
        assert lines[0] == ATTR_CLS_HEADER
        expected = {tuple(line.split("：")) for line in lines[1:]}
        assert len(expected) == len(lines) - 1  # no entity twice
        assert official_pairs(rec.target, rec.answer_choices) == expected
        assert any(
            rec.input.startswith(t.split("[INPUT_TEXT]")[0]) and rec.input.endswith("答：") for t in templates
        )
    if max_chars is None:
        assert len(res.records) == 600
        # README: 7,174 unique (dialog, mention) pairs, 708 with conflicting labels, 2 empty labels
        assert res.stats["mentions"] + res.stats["mentions_dropped_unlabelled"] == 7174
        assert res.stats["conflicts"] == 708 and res.stats["empty_labels"] == 2
    else:
        assert len(res.records) > 600 and res.stats["windowed_dialogs"] > 0
        assert res.stats["windows_over_limit"] == 0
        for rec in res.records:
            dialogue = [line for line in rec.input.split("\n") if line.startswith(("患者：", "医生："))]
            assert len("\n".join(dialogue)) <= max_chars


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    mentions=st.lists(
        st.tuples(
            st.text(
                alphabet=st.sampled_from(list("咳嗽发烧：:，,\n\r \u3000\t痛ab")), min_size=1, max_size=6
            ),
            st.sampled_from(["阳性", "阴性", "其他", "不标注", ""]),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_any_mention_text_parses_back_exactly(tmp_path: Path, mentions: list[tuple[str, str]]) -> None:
    dialog = {"dialog_id": 1, "dialog_info": [turn("患者", "".join(m for m, _ in mentions), *mentions)]}
    res = convert_chip2021(write_dialogs(tmp_path / "h.jsonl", [dialog]))
    for rec in res.records:
        lines = rec.target.split("\n")[1:]
        expected = {tuple(line.split("：")) for line in lines}
        assert all(len(p) == 2 and p[0] == p[0].strip() and p[0] for p in expected)
        assert len(expected) == len(lines)
        assert official_pairs(rec.target, rec.answer_choices) == expected
        listed = next(line for line in rec.input.split("\n") if line.startswith(("临床发现实体：", "实体：")))
        assert listed.split("：", 1)[1].split("，") == [p.split("：")[0] for p in lines]


def test_a_range_outside_the_text_places_the_mention_where_it_is_said(tmp_path: Path) -> None:
    # a negative start once put the mention in no window at all when a long turn was split
    text = "你好" * 10 + "我发烧了"
    ner = [{"mention": "发烧", "range": [-5, -3], "attr": "阳性"}]
    raw = tmp_path / "raw.jsonl"
    raw.write_text(
        json.dumps({"dialog_id": 1, "dialog_info": [{"sender": "患者", "text": text, "ner": ner}]}) + "\n",
        encoding="utf-8",
    )
    result = convert_chip2021(raw, max_chars=12)
    assert [r.target.split("\n")[1:] for r in result.records] == [[f"发烧：{LONG_LABELS['阳性']}"]]


def test_dialog_split_keeps_every_window_of_a_dialog_in_one_part(tmp_path: Path) -> None:
    from harness.datasets.chip2021 import DialogSplit, dialog_part

    long_turns = [turn("患者", f"第{i}天咳嗽", ("咳嗽", "阳性")) for i in range(6)]
    path = write_dialogs(
        tmp_path / "d.jsonl", [{"dialog_id": i, "dialog_info": long_turns} for i in range(60)]
    )
    parts = {
        part: convert_chip2021(path, max_chars=20, split=DialogSplit(part, 0.2, 0.1, seed=3))
        for part in ("train", "dev", "test")
    }
    dialogs = {p: {r.sample_id.split("-")[1] for r in res.records} for p, res in parts.items()}
    assert all(len(res.records) > len(dialogs[p]) for p, res in parts.items())  # windowed
    assert dialogs["train"].isdisjoint(dialogs["test"]) and dialogs["train"].isdisjoint(dialogs["dev"])
    assert dialogs["dev"].isdisjoint(dialogs["test"])
    assert set().union(*dialogs.values()) == {str(i) for i in range(60)}
    for p, res in parts.items():
        assert res.stats["dialogs"] + res.stats["dialogs_in_other_part"] == 60
        assert all(dialog_part(d, 0.2, 0.1, 3) == p for d in dialogs[p])
    # the part depends on the dialog id and seed only: not on the file's order or the window size
    write_dialogs(
        tmp_path / "r.jsonl", [{"dialog_id": i, "dialog_info": long_turns} for i in reversed(range(60))]
    )
    again = convert_chip2021(tmp_path / "r.jsonl", split=DialogSplit("test", 0.2, 0.1, seed=3))
    assert {r.sample_id.split("-")[1] for r in again.records} == dialogs["test"]
    other_seed = convert_chip2021(path, split=DialogSplit("test", 0.2, 0.1, seed=4))
    assert {r.sample_id.split("-")[1] for r in other_seed.records} != dialogs["test"]


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (("valid", 0.1), "part must be one of train, dev, test"),
        (("test", 1.0), "shares must be at least 0 and sum to less than 1"),
        (("test", 0.6, 0.4), "sum to less than 1"),
        (("dev", -0.1), "at least 0"),
    ],
)
def test_bad_dialog_splits_are_user_errors(args: tuple, match: str) -> None:
    from harness.datasets.chip2021 import DialogSplit

    with pytest.raises(HarnessError, match=match):
        DialogSplit(*args)


def test_real_dialog_split_shares(shared_data: Path) -> None:
    from harness.datasets.chip2021 import DialogSplit

    raw = shared_data / "chip2021-mdcfnpc" / "dialogs-val600.jsonl"
    counts = {
        p: convert_chip2021(raw, split=DialogSplit(p, 0.1, 0.03)).stats["dialogs"]
        for p in ("train", "dev", "test")
    }
    assert sum(counts.values()) == 600
    assert 40 <= counts["test"] <= 80 and 8 <= counts["dev"] <= 30, counts
