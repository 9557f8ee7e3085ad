"""Bad input to `harness synonyms add/check/suggest`: a clear error or the right result, never a
traceback, and never a dictionary damaged or left half-written."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from harness.scoring.synonyms import parse_dictionary
from tests.bad_input.cases import Case, Setup, check

HEADER = "# Fever family.\n# Curated by hand.\n"
GOOD = HEADER + "发热:\n  - 发烧\n  - 高烧\n咳嗽:\n  - 咳\n  - 干咳\n"
GOOD_GROUPS = {"发热": ["发烧", "高烧"], "咳嗽": ["咳", "干咳"]}
ODD_TERMS = [
    "a: b",
    "#c",
    "[d",
    "- e",
    "yes",
    "*f",
    "&g",
    "!h",
    "%i",
    "@j",
    "`k",
    "|l",
    ">m",
    "'n",
    '"o',
    "p #q",
]


def files(contents: dict[str, str | bytes]) -> Setup:
    """Write each file under {tmp}/syn (bytes as given, text as UTF-8)."""

    def setup(tmp: Path) -> None:
        d = tmp / "syn"
        d.mkdir()
        for name, body in contents.items():
            data = body if isinstance(body, bytes) else body.encode("utf-8")
            (d / name).write_bytes(data)

    return setup


def good() -> Setup:
    return files({"a.yaml": GOOD})


def groups_of(path: Path) -> dict[str, list[str]]:
    entries, problems = parse_dictionary(path.read_text(encoding="utf-8"), str(path))
    assert problems == []
    return {e.canonical: list(e.variants) for e in entries}


Check = Callable[[Path, str], None]


def unchanged(name: str = "a.yaml", body: str | bytes = GOOD) -> Check:
    want = body if isinstance(body, bytes) else body.encode("utf-8")

    def check_file(tmp: Path, out: str) -> None:
        assert (tmp / "syn" / name).read_bytes() == want
        assert [p.name for p in (tmp / "syn").iterdir() if p.name.startswith(".")] == []  # no temp left

    return check_file


def written(body: str) -> Check:
    """The file holds exactly `body` (and no temp file is left)."""
    return unchanged(body=body)


def grew_to(want: dict[str, list[str]], name: str = "a.yaml", header: str = HEADER) -> Check:
    def check_file(tmp: Path, out: str) -> None:
        path = tmp / "syn" / name
        assert path.read_text(encoding="utf-8").startswith(header)
        assert groups_of(path) == want

    return check_file


def add(*terms: str, extra: tuple[str, ...] = ()) -> list[str]:
    # `--` so that a term starting with "-" is a term, as a user would write it
    return ["synonyms", "add", "--synonyms", "{tmp}/syn", *extra, "--", *terms]


CHECK = ["synonyms", "check", "--synonyms", "{tmp}/syn"]


def chip(lines: list[object]) -> Setup:
    def setup(tmp: Path) -> None:
        files({"a.yaml": GOOD})(tmp)
        text = "".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines)
        (tmp / "chip.jsonl").write_text(text, encoding="utf-8")

    return setup


def dialog(did: str, name: str, mention: str) -> dict[str, object]:
    return {"dialog_id": did, "dialog_info": [{"ner": [{"name": name, "mention": mention}]}]}


SUGGEST = ["synonyms", "suggest", "--chip", "{tmp}/chip.jsonl", "--synonyms", "{tmp}/syn"]


def both(*checks: Check) -> Check:
    def check_all(tmp: Path, out: str) -> None:
        for c in checks:
            c(tmp, out)

    return check_all


def no_file(name: str) -> Check:
    def check_file(tmp: Path, out: str) -> None:
        assert not (tmp / "syn" / name).exists()

    return check_file


def snippet_reads_back(tmp: Path, out: str) -> None:
    assert yaml.safe_load((tmp / "out.yaml").read_text(encoding="utf-8")) == {"发热": ["a: b #c"]}


SUGGEST_GOLD = [
    "synonyms",
    "suggest",
    "--gold",
    "{tmp}/gold.jsonl",
    "--pred",
    "{tmp}/pred.jsonl",
    "--synonyms",
    "{tmp}/syn",
]


def both_files(gold: str, pred: str) -> Setup:
    """The good dictionary, and gold/pred files with the given text."""

    def setup(tmp: Path) -> None:
        good()(tmp)
        (tmp / "gold.jsonl").write_text(gold, encoding="utf-8")
        (tmp / "pred.jsonl").write_text(pred, encoding="utf-8")

    return setup


CASES: list[Case] = [
    # ---- add: names that are not one line of visible text are refused, the file untouched
    Case("add_blank_variant", good(), add("发热", ""), 2, ["variant '' is blank"], unchanged()),
    Case("add_blank_canonical", good(), add("  ", "x"), 2, ["canonical '  ' is blank"], unchanged()),
    Case("add_fullwidth_space_only", good(), add("发热", "\u3000"), 2, ["is blank"], unchanged()),
    Case("add_newline_in_variant", good(), add("发热", "a\nb"), 2, ["U+000A newline"], unchanged()),
    Case("add_tab_in_canonical", good(), add("a\tb", "x"), 2, ["U+0009 tab"], unchanged()),
    Case("add_zero_width_space", good(), add("发热", "发\u200b烧了"), 2, ["ZERO WIDTH SPACE"], unchanged()),
    Case("add_undecodable_argv", good(), add("发热", "\udcff"), 2, ["not UTF-8 text"], unchanged()),
    Case("add_punctuation_only", good(), add("发热", "。。"), 2, ["nothing left to match"], unchanged()),
    # ---- add: names that would tangle the dictionary
    Case(
        "add_canonical_is_a_variant",
        good(),
        add("发烧", "烧了"),
        2,
        ["'发烧' is already a variant of '发热'", "a.yaml:3"],
        unchanged(),
    ),
    Case("add_variant_is_a_canonical", good(), add("发热", "咳嗽"), 2, ["itself a canonical"], unchanged()),
    Case("add_variant_owned_elsewhere", good(), add("咳嗽", "高烧"), 2, ["already belongs"], unchanged()),
    Case(
        "add_variant_equal_to_canonical",
        good(),
        add("发热", "发热"),
        0,
        ["skipped '发热': is the canonical itself", "nothing new"],
        unchanged(),
    ),
    Case(
        "add_fullwidth_spelling_of_listed_variant",
        good(),
        add("发热", "\u3000发烧\u3000"),
        0,
        ["already listed", "nothing new"],
        unchanged(),
    ),
    Case(
        "add_variant_given_twice",
        good(),
        add("发热", "烧起来", "烧起来 "),
        0,
        ["given twice"],
        grew_to({"发热": ["发烧", "高烧", "烧起来"], "咳嗽": ["咳", "干咳"]}),
    ),
    Case(
        "add_canonical_spelled_with_a_space",
        good(),
        add(" 发热 ", "烧起来"),
        0,
        ["under 发热"],
        grew_to({"发热": ["发烧", "高烧", "烧起来"], "咳嗽": ["咳", "干咳"]}),
    ),
    # ---- add: YAML-special terms are written quoted and read back intact
    Case(
        "add_yaml_special_variants",
        good(),
        add("发热", *ODD_TERMS),
        0,
        ["added"],
        grew_to({"发热": ["发烧", "高烧", *ODD_TERMS], "咳嗽": ["咳", "干咳"]}),
    ),
    Case(
        "add_canonical_with_colon_and_hash",
        good(),
        add("x: y #z", "[v"),
        0,
        ["misc.yaml"],
        both(grew_to({"x: y #z": ["[v"]}, "misc.yaml", ""), grew_to(GOOD_GROUPS)),
    ),
    Case(
        "add_keeps_a_crlf_file_crlf",
        files({"a.yaml": "# h\r\n发热:\r\n  - 发烧\r\n"}),
        add("发热", "a: b"),
        0,
        ["added"],
        written("# h\r\n发热:\r\n  - 发烧\r\n  - 'a: b'\r\n"),
    ),
    # ---- add: a dictionary that does not read is never rewritten
    Case(
        "add_into_list_dictionary",
        files({"a.yaml": "- 发热\n"}),
        add("发热", "发烧"),
        2,
        ["a.yaml:1: expected a mapping", "synonyms check"],
        unchanged(body="- 发热\n"),
    ),
    Case(
        "add_into_invalid_yaml",
        files({"a.yaml": "发热:\n  - [y\n"}),
        add("发热", "发烧"),
        2,
        ["invalid YAML"],
        unchanged(body="发热:\n  - [y\n"),
    ),
    Case(
        "add_into_duplicate_key",
        files({"a.yaml": GOOD + "发热:\n  - 热\n"}),
        add("发热", "烧起来"),
        2,
        ["duplicate key '发热' (lines 3 and 9)"],
        unchanged(body=GOOD + "发热:\n  - 热\n"),
    ),
    Case(
        "add_into_gbk_file",
        files({"a.yaml": GOOD.encode("gb18030")}),
        add("发热", "烧起来"),
        2,
        ["GB18030"],
        unchanged(body=GOOD.encode("gb18030")),
    ),
    Case(
        "add_with_comment_among_entries",
        files({"a.yaml": "发热:\n  - 发烧  # colloquial\n"}),
        add("发热", "烧起来"),
        2,
        ["a.yaml:2: a comment among the entries", "move it"],
        unchanged(body="发热:\n  - 发烧  # colloquial\n"),
    ),
    Case(
        "add_to_file_not_yaml",
        good(),
        add("新症状", "新说法", extra=("--file", "{tmp}/syn/new.txt")),
        2,
        [".yaml or .yml"],
        both(unchanged(), no_file("new.txt")),
    ),
    Case(
        "add_new_canonical_into_empty_file",
        files({"a.yaml": GOOD, "b.yaml": ""}),
        add("新症状", "新说法", extra=("--file", "{tmp}/syn/b.yaml")),
        0,
        ["b.yaml"],
        both(grew_to({"新症状": ["新说法"]}, "b.yaml", ""), unchanged()),
    ),
    Case(
        "add_into_empty_folder",
        files({}),
        add("发热", "发烧"),
        0,
        ["misc.yaml"],
        grew_to({"发热": ["发烧"]}, "misc.yaml", ""),
    ),
    Case("add_to_missing_folder", lambda tmp: None, add("发热", "发烧"), 2, ["not found"]),
    # ---- check: content problems are found (exit 1), unreadable paths are errors (exit 2)
    Case("check_clean", good(), CHECK, 0, ["2 canonicals, 4 variants, 0 problem(s)"]),
    Case(
        "check_list_dictionary",
        files({"a.yaml": GOOD, "b.yaml": "- 发热\n- 咳嗽\n"}),
        CHECK,
        1,
        ["b.yaml:1: expected a mapping", "found a list", "2 canonicals"],
    ),
    Case(
        "check_invalid_yaml",
        files({"a.yaml": GOOD, "b.yaml": "头痛:\n  - [头疼\n"}),
        CHECK,
        1,
        ["b.yaml:3: invalid YAML", "Fix each file:line"],
    ),
    Case(
        "check_duplicate_key",
        files({"a.yaml": "发热:\n  - 发烧\n发热:\n  - 高烧\n"}),
        CHECK,
        1,
        ["duplicate key '发热' (lines 1 and 3)"],
    ),
    Case(
        "check_variant_lost_to_a_comment",
        files({"a.yaml": "发热:\n  - #发烧\n"}),
        CHECK,
        1,
        ["a.yaml:2: 发热: a variant is empty", "quote it"],
    ),
    Case(
        "check_mapping_as_variant",
        files({"a.yaml": "发热:\n  - a: b\n"}),
        CHECK,
        1,
        ["a variant must be plain text, found a mapping"],
    ),
    Case("check_scalar_value", files({"a.yaml": "发热: 发烧\n"}), CHECK, 1, ["expected a list of variants"]),
    Case("check_empty_file", files({"a.yaml": GOOD, "b.yaml": ""}), CHECK, 1, ["b.yaml: holds no entries"]),
    Case(
        "check_gbk_file",
        files({"a.yaml": GOOD.encode("gb18030")}),
        CHECK,
        1,
        ["not UTF-8 text", "iconv -f GB18030"],
    ),
    Case(
        "check_zero_width_in_variant",
        files({"a.yaml": '发热:\n  - "发\\u200b烧"\n'}),
        CHECK,
        1,
        ["a.yaml:2: 发热: variant", "ZERO WIDTH SPACE"],
    ),
    Case("check_missing_folder", lambda tmp: None, CHECK, 2, ["not found"]),
    Case("check_folder_without_dictionaries", files({"notes.txt": "x"}), CHECK, 2, ["holds no dictionaries"]),
    Case(
        "check_pipe_named_yaml",
        lambda tmp: (files({"a.yaml": GOOD})(tmp), os.mkfifo(tmp / "syn" / "b.yaml")),
        CHECK,
        2,
        ["not a regular file"],
    ),
    # ---- suggest
    Case(
        "suggest_chip_dialog_info_not_a_list",
        chip([{"dialog_id": "d1", "dialog_info": "x"}]),
        SUGGEST,
        2,
        ["chip.jsonl:1: field dialog_info: expected a list of turns"],
    ),
    Case(
        "suggest_chip_ner_not_objects",
        chip([dialog("d1", "发热", "烧"), {"dialog_id": "d2", "dialog_info": [{"ner": ["发热"]}]}]),
        SUGGEST,
        2,
        ["chip.jsonl:2: field dialog_info[0].ner"],
    ),
    Case(
        "suggest_out_quotes_yaml_special_names",
        chip([dialog("d1", "发热", "a: b #c"), dialog("d2", "发热", "a: b #c")]),
        [*SUGGEST, "--out", "{tmp}/out.yaml"],
        0,
        ["a: b #c"],
        snippet_reads_back,
    ),
    Case(
        "suggest_names_are_not_markup",
        chip([dialog("d1", "发热", "[bold]x[/red]"), dialog("d2", "发热", "[bold]x[/red]")]),
        SUGGEST,
        0,
        ["[bold]x[/red]"],
    ),
    Case("suggest_negative_limit", chip([]), [*SUGGEST, "--limit", "-1"], 2, ["-1"]),
    # --out never lands on an input: the dictionary, the mined file, or a file in a dictionary folder
    Case(
        "suggest_out_is_the_dictionary",
        chip([dialog("d1", "发热", "烧"), dialog("d2", "发热", "烧")]),
        [*SUGGEST, "--out", "{tmp}/syn/a.yaml"],
        2,
        ["--out {tmp}/syn/a.yaml is inside the input folder {tmp}/syn"],
        unchanged(),
    ),
    Case(
        "suggest_out_new_file_in_dictionary_folder",
        chip([dialog("d1", "发热", "烧")]),
        [*SUGGEST, "--out", "{tmp}/syn/new.yaml"],
        2,
        ["is inside the input folder"],
        no_file("new.yaml"),
    ),
    Case(
        "suggest_out_is_the_chip_file",
        chip([dialog("d1", "发热", "烧")]),
        [*SUGGEST, "--out", "{tmp}/chip.jsonl"],
        2,
        ["--out {tmp}/chip.jsonl is an input file"],
        lambda tmp, out: json.loads((tmp / "chip.jsonl").read_text(encoding="utf-8"))["dialog_id"] == "d1",
    ),
    # a line that is no dialog, or a file without any, is an error, not zero proposals
    Case(
        "suggest_chip_without_dialog_info",
        chip([dialog("d1", "发热", "烧"), {"dialog_id": "d2"}]),
        SUGGEST,
        2,
        ["chip.jsonl:2: field dialog_info: expected a list of turns, found nothing"],
    ),
    Case("suggest_chip_no_dialogs", chip([]), SUGGEST, 2, ["chip.jsonl: no dialogs to mine"]),
    Case(
        "suggest_gold_without_records",
        both_files("[]", ""),
        SUGGEST_GOLD,
        2,
        ["gold.jsonl: the gold file holds no records"],
    ),
    Case(
        "suggest_gold_bad_line",
        both_files('{"sample_id": "s0"}\n', ""),
        SUGGEST_GOLD,
        2,
        ["bad gold lines: {tmp}/gold.jsonl:1: field input"],
    ),
    Case(
        "suggest_system_without_a_run",
        chip([dialog("d1", "发热", "烧")]),
        [*SUGGEST, "--system", "stored"],
        2,
        ["--system picks systems of a run folder: give the run folder too"],
    ),
    Case(
        "suggest_run_and_gold_together",
        both_files("", ""),
        ["synonyms", "suggest", "{tmp}", "--gold", "{tmp}/gold.jsonl", "--pred", "{tmp}/pred.jsonl"],
        2,
        ["give a run folder or --gold/--pred, not both"],
    ),
    Case(
        "suggest_folder_that_is_no_run",
        good(),
        ["synonyms", "suggest", "{tmp}/syn"],
        2,
        ["{tmp}/syn is not a run folder"],
    ),
    # ---- add: a refusal says what the dictionaries hold and what to do (issue 13: 反胃 ← 消瘦)
    Case(
        "add_under_a_variant_a_canonical_of_another_group",
        files({"a.yaml": "恶心:\n  - 反胃\n消瘦:\n  - 瘦了\n"}),
        add("反胃", "消瘦"),
        2,
        [
            "'反胃' is already a variant of '恶心'",
            "variant '消瘦' is itself a canonical, of the group '消瘦'",
            "variants: 瘦了",
            "merge the two groups by hand",
        ],
        unchanged(body="恶心:\n  - 反胃\n消瘦:\n  - 瘦了\n"),
    ),
    Case(
        "add_under_a_variant_names_the_command_to_run",
        files({"a.yaml": "恶心:\n  - 反胃\n"}),
        add("反胃", "想吐"),
        2,
        ["go under that canonical instead: `harness synonyms add 恶心 想吐`"],
        unchanged(body="恶心:\n  - 反胃\n"),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_synonyms_bad_input(case: Case, tmp_path: Path) -> None:
    check(case, tmp_path)
