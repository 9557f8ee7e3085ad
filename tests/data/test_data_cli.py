import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness.cli import cli
from harness.records import ATTR_CLS_CHOICES, ATTR_CLS_HEADER, read_records

GOOD_RECORD = {
    "sample_id": "s1",
    "input": "患者：发烧\n临床发现实体：发烧\n答：",
    "target": ATTR_CLS_HEADER + "\n发烧：" + ATTR_CLS_CHOICES[0],
    "answer_choices": ATTR_CLS_CHOICES,
    "task_type": "attr_cls",
    "task_dataset": "CHIP-MDCFNPC",
}
GOOD_DIALOG = {
    "dialog_id": 1,
    "dialog_info": [
        {"sender": "患者", "text": "发烧", "ner": [{"mention": "发烧", "range": [0, 2], "attr": "阳性"}]}
    ],
}


def invoke(*args: str | Path):
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_synth_is_deterministic_and_seeds_differ(tmp_path: Path) -> None:
    outs = []
    for name, seed in (("a", 7), ("b", 7), ("c", 8)):
        res = invoke("data", "synth", "--n", 120, "--seed", seed, "-o", tmp_path / f"{name}.jsonl", "--json")
        assert res.exit_code == 0, res.output
        outs.append(json.loads(res.stdout))
    a, b, c = ((tmp_path / f"{n}.jsonl").read_bytes() for n in "abc")
    assert a == b and a != c
    assert outs[0]["sha256"] == outs[1]["sha256"] != outs[2]["sha256"]
    assert outs[0]["records"] == 120 and len(read_records(tmp_path / "a.jsonl").records) == 120


def test_synth_tasks_and_bad_task(tmp_path: Path) -> None:
    res = invoke("data", "synth", "--n", 6, "-o", tmp_path / "m.jsonl", "--tasks", "attr_cls,imcs_sr,ner")
    assert res.exit_code == 0 and "wrote 6 records" in res.stdout
    datasets = [r.task_dataset for r in read_records(tmp_path / "m.jsonl").records]
    assert datasets == ["CHIP-MDCFNPC", "IMCS-V2-SR", "CMeEE-V2"] * 2
    bad = invoke("data", "synth", "--n", 6, "-o", tmp_path / "x.jsonl", "--tasks", "chat")
    assert (
        bad.exit_code == 2 and "error: unknown synthetic task" in bad.stderr and "Traceback" not in bad.output
    )
    assert not (tmp_path / "x.jsonl").exists()


@pytest.mark.parametrize(
    ("verb", "content", "where"),
    [
        (("data", "inspect", "--on-error", "fail"), json.dumps(GOOD_RECORD, ensure_ascii=False) + "\n{broken\n", ":2: invalid JSON"),
        (("data", "convert", "chip2021"), json.dumps(GOOD_DIALOG, ensure_ascii=False) + "\n{broken\n", ":2: invalid JSON"),
        (("data", "filter"), json.dumps(GOOD_RECORD, ensure_ascii=False) + '\n{"sample_id": 3}\n', ":2: field sample_id: expected a string, got int 3"),
    ],
)  # fmt: skip
def test_broken_line_is_file_line_without_traceback(
    tmp_path: Path, verb: tuple[str, ...], content: str, where: str
) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text(content, encoding="utf-8")
    extra = () if verb[1] == "inspect" else ("-o", tmp_path / "out.jsonl")
    res = invoke(*verb, src, *extra)
    assert res.exit_code == 2, res.output
    assert res.stderr.startswith(f"error: {src}{where}")
    assert "Traceback" not in res.output
    if verb[1] == "inspect":
        return
    skipped = invoke(*verb, src, *extra, "--on-error", "skip", "--json")
    assert skipped.exit_code == 0, skipped.output
    assert "skipped 1 bad line(s)" in skipped.stderr and f"{src}:2:" in skipped.stderr
    assert json.loads(skipped.stdout)["records"] == 1


def test_inspect_skips_bad_lines_and_lists_them(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps(GOOD_RECORD, ensure_ascii=False) + "\n{broken\n", encoding="utf-8")
    res = invoke("data", "inspect", src, "--json")
    assert res.exit_code == 1  # problems found, like a linter
    out = json.loads(res.stdout)
    assert out["records"] == 1 and out["problems"] == [
        f"{src}:2: invalid JSON at column 2: Expecting property name enclosed in double quotes"
    ]
    human = invoke("data", "inspect", src)
    assert human.exit_code == 1 and "CHIP-MDCFNPC" in human.stdout and f"{src}:2:" in human.stdout


def test_convert_json_counts_and_output(tmp_path: Path) -> None:
    src = tmp_path / "d.jsonl"
    src.write_text(json.dumps(GOOD_DIALOG, ensure_ascii=False) + "\n", encoding="utf-8")
    res = invoke("data", "convert", "chip2021", src, "-o", tmp_path / "o.jsonl", "--json", "--seed", 3)
    assert res.exit_code == 0, res.output
    stats = json.loads(res.stdout)
    assert stats["dialogs"] == 1 and stats["records"] == 1 and stats["conflict_policy"] == "last"
    [record] = read_records(tmp_path / "o.jsonl").records
    assert record.sample_id == "chip2021-1" and record.target == GOOD_RECORD["target"]
    human = invoke("data", "convert", "chip2021", src, "-o", tmp_path / "o.jsonl")
    assert (
        human.exit_code == 0
        and "wrote 1 records from 1 dialogs" in human.stdout
        and "conflicts" in human.stdout
    )


def test_missing_input_and_templates_are_user_errors(tmp_path: Path) -> None:
    res = invoke("data", "inspect", tmp_path / "nope.jsonl")
    assert res.exit_code == 2 and "error: file not found" in res.stderr
    src = tmp_path / "d.jsonl"
    src.write_text(json.dumps(GOOD_DIALOG) + "\n", encoding="utf-8")
    (tmp_path / "t.json").write_text('{"CMeEE-V2": ["[INPUT_TEXT]"]}', encoding="utf-8")
    res = invoke(
        "data", "convert", "chip2021", src, "-o", tmp_path / "o.jsonl", "--templates", tmp_path / "t.json"
    )
    assert res.exit_code == 2 and "no templates for 'CHIP-MDCFNPC'" in res.stderr


@pytest.mark.parametrize(
    "verb",
    [("data",), ("data", "synth"), ("data", "convert", "chip2021"), ("data", "inspect"), ("data", "filter")],
)
def test_every_verb_has_help(verb: tuple[str, ...]) -> None:
    res = invoke(*verb, "--help")
    assert res.exit_code == 0 and "Usage:" in res.stdout
    if len(verb) > 1 and verb[-1] != "convert":
        assert "--json" in res.stdout


def test_convert_real_dialogs_via_cli(shared_data: Path, tmp_path: Path) -> None:
    src = shared_data / "chip2021-mdcfnpc" / "dialogs-val600.jsonl"
    tpl = shared_data / "promptcblue-toy" / "templates.json"
    res = invoke(
        "data",
        "convert",
        "chip2021",
        src,
        "-o",
        tmp_path / "o.jsonl",
        "--templates",
        tpl,
        "--max-chars",
        600,
        "--json",
    )
    assert res.exit_code == 0, res.output
    stats = json.loads(res.stdout)
    assert stats["dialogs"] == 600 and stats["records"] == len(read_records(tmp_path / "o.jsonl").records)
    inspected = json.loads(invoke("data", "inspect", tmp_path / "o.jsonl", "--json").stdout)
    assert inspected["problem_counts"] == {"bad_line": 0}, inspected["problems"][:5]
    assert len(inspected["templates"]["CHIP-MDCFNPC"]) == 4
