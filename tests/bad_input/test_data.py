"""Bad input to `harness data synth/convert/inspect/filter`: a clear error or the right result.

Exit codes: 2 for input that cannot be used (and no output file is written); `data inspect`
is a linter: 0 when clean, 1 when it lists problems, 2 when the file cannot be read at all.
Outputs that are not regular files are tested with a FIFO only: these tests may run as root,
and a broken check must not be able to replace /dev/null.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from harness.records import ATTR_CLS_CHOICES, ATTR_CLS_HEADER, read_records
from tests.bad_input.cases import Case, check

RECORD = {
    "sample_id": "s1",
    "input": "患者：发烧\n临床发现实体：发烧\n答：",
    "target": ATTR_CLS_HEADER + "\n发烧：" + ATTR_CLS_CHOICES[0],
    "answer_choices": ATTR_CLS_CHOICES,
    "task_type": "attr_cls",
    "task_dataset": "CHIP-MDCFNPC",
}
OFF_LABEL = {**RECORD, "sample_id": "s2", "target": ATTR_CLS_HEADER + "\n发烧：有点"}
DIALOG = {
    "dialog_id": 1,
    "dialog_info": [
        {"sender": "患者", "text": "发烧", "ner": [{"mention": "发烧", "range": [0, 2], "attr": "阳性"}]}
    ],
}
UNLABELLED = {"dialog_id": 2, "dialog_info": [{"sender": "医生", "text": "你好", "ner": []}]}


def lines(rows: list[Any]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def files(**contents: str | bytes | list[Any]) -> Callable[[Path], None]:
    """Write each named file under the test folder: rows as JSON lines, text as UTF-8, bytes as given."""

    def setup(tmp: Path) -> None:
        for name, body in contents.items():
            path = tmp / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(body, bytes):
                path.write_bytes(body)
            else:
                path.write_text(body if isinstance(body, str) else lines(body), encoding="utf-8")

    return setup


def fifo(name: str, **contents: str | bytes | list[Any]) -> Callable[[Path], None]:
    def setup(tmp: Path) -> None:
        files(**contents)(tmp)
        os.mkfifo(tmp / name)

    return setup


def folder(name: str, **contents: str | bytes | list[Any]) -> Callable[[Path], None]:
    def setup(tmp: Path) -> None:
        files(**contents)(tmp)
        (tmp / name).mkdir()

    return setup


def not_written(name: str = "out.jsonl") -> Callable[[Path, str], None]:
    def check_out(tmp: Path, out: str) -> None:
        assert not (tmp / name).exists()
        assert not [p for p in tmp.iterdir() if p.name.startswith(".")]  # no temp file left

    return check_out


def records_written(n: int, name: str = "out.jsonl") -> Callable[[Path, str], None]:
    def check_out(tmp: Path, out: str) -> None:
        assert len(read_records(tmp / name).records) == n

    return check_out


def unchanged(name: str, rows: list[Any]) -> Callable[[Path, str], None]:
    def check_out(tmp: Path, out: str) -> None:
        assert (tmp / name).read_text(encoding="utf-8") == lines(rows)

    return check_out


def dialog_with_attr(attr: Any) -> dict[str, Any]:
    mention = {"mention": "发烧", "range": [0, 2], "attr": attr}
    return {"dialog_id": 9, "dialog_info": [{"sender": "患者", "text": "发烧", "ner": [mention]}]}


def still_a_fifo(name: str) -> Callable[[Path, str], None]:
    def check_out(tmp: Path, out: str) -> None:
        assert (tmp / name).is_fifo()

    return check_out


UTF16 = "the file is UTF-16"
GBK = "looks like GBK/GB18030"
DEEP_ARRAY = "[" * 5000 + "]" * 5000
DEEP_LINE = '{"a":' + "[" * 5000 + "]" * 5000 + "}\n"
SYNTH = ["data", "synth", "--n", "3"]
CONVERT = ["data", "convert", "chip2021", "{tmp}/raw.jsonl", "-o", "{tmp}/out.jsonl"]
INSPECT = ["data", "inspect", "{tmp}/in.jsonl"]
LINT = [*INSPECT, "--json"]  # problems as whole lines (the human tables wrap at the terminal width)
FILTER = ["data", "filter", "{tmp}/in.jsonl", "-o", "{tmp}/out.jsonl"]

# fmt: off
CASES: list[Case] = [
    # synth
    Case("synth-ok", files(), [*SYNTH, "-o", "{tmp}/out.jsonl"], 0, ["wrote 3 records"], records_written(3)),
    Case("synth-n-0", files(), ["data", "synth", "--n", "0", "-o", "{tmp}/out.jsonl"], 2,
         ["Invalid value for '--n': 0 is not in the range x>=1"], not_written()),
    Case("synth-n-negative", files(), ["data", "synth", "--n", "-5", "-o", "{tmp}/out.jsonl"], 2,
         ["Invalid value for '--n'"], not_written()),
    Case("synth-out-folder", folder("d"), [*SYNTH, "-o", "{tmp}/d"], 2, ["is a directory"]),
    Case("synth-out-fifo", fifo("p"), [*SYNTH, "-o", "{tmp}/p"], 2,
         ["-o {tmp}/p: is not a regular file (a pipe, device or socket)"], still_a_fifo("p")),
    Case("synth-out-parent-is-a-file", files(f="x"), [*SYNTH, "-o", "{tmp}/f/out.jsonl"], 2,
         ["-o {tmp}/f/out.jsonl: cannot be written, {tmp}/f is a file, not a folder"]),
    Case("synth-out-new-folders", files(), [*SYNTH, "-o", "{tmp}/a/b/out.jsonl"], 0, ["wrote 3 records"],
         records_written(3, "a/b/out.jsonl")),
    Case("synth-n-huge", files(), ["data", "synth", "--n", "99999999999999999999", "-o", "{tmp}/out.jsonl"], 2,
         ["--n 99999999999999999999 is more than 1,000,000 records"], not_written()),
    Case("synth-unknown-task", files(), [*SYNTH, "-o", "{tmp}/out.jsonl", "--tasks", "chat"], 2,
         ["unknown synthetic task"], not_written()),
    # convert chip2021: bad dialogs are FILE:LINE errors
    Case("convert-ok", files(**{"raw.jsonl": [DIALOG]}), CONVERT, 0, ["wrote 1 records from 1 dialogs"], records_written(1)),
    Case("convert-not-an-object", files(**{"raw.jsonl": [DIALOG, [1, 2]]}), CONVERT, 2,
         ["{tmp}/raw.jsonl:2: expected a JSON object, got list"], not_written()),
    Case("convert-no-dialog-id", files(**{"raw.jsonl": [{"dialog_info": []}]}), CONVERT, 2,
         ["{tmp}/raw.jsonl:1: field dialog_id: expected an integer or a non-empty string, got NoneType"], not_written()),
    Case("convert-dialog-info-not-a-list", files(**{"raw.jsonl": [DIALOG, {"dialog_id": 5, "dialog_info": "hi"}]}),
         CONVERT, 2, ["{tmp}/raw.jsonl:2: field dialog_info: expected a list of turns, got str"], not_written()),
    Case("convert-bad-sender", files(**{"raw.jsonl": [{"dialog_id": 3, "dialog_info": [{"sender": "护士", "text": "x"}]}]}),
         CONVERT, 2, ["{tmp}/raw.jsonl:1: field dialog_info[0].sender: expected '患者' or '医生', got str '护士'"]),
    Case("convert-ner-not-a-list", files(**{"raw.jsonl": [{"dialog_id": 3, "dialog_info": [{"sender": "患者", "text": "x", "ner": 7}]}]}),
         CONVERT, 2, ["{tmp}/raw.jsonl:1: field dialog_info[0].ner: expected a list, got int 7"]),
    Case("convert-attr-list", files(**{"raw.jsonl": [dialog_with_attr([1, 2])]}), CONVERT, 2,
         ["{tmp}/raw.jsonl:1: field dialog_info[0].ner[0].attr: expected one of 阳性, 阴性, 其他, 不标注 or '', got list [1, 2]"],
         not_written()),
    Case("convert-attr-dict", files(**{"raw.jsonl": [dialog_with_attr({"k": 1})]}), CONVERT, 2,
         ["{tmp}/raw.jsonl:1: field dialog_info[0].ner[0].attr: expected one of", "got dict"], not_written()),
    Case("convert-attr-number", files(**{"raw.jsonl": [dialog_with_attr(1)]}), CONVERT, 2,
         ["field dialog_info[0].ner[0].attr: expected one of", "got int 1"], not_written()),
    Case("convert-out-is-the-input", files(**{"raw.jsonl": [DIALOG]}), [*CONVERT[:4], "-o", "{tmp}/raw.jsonl"], 2,
         ["-o {tmp}/raw.jsonl is an input file"], unchanged("raw.jsonl", [DIALOG])),
    Case("convert-out-is-the-input-by-another-name", files(**{"raw.jsonl": [DIALOG]}),
         [*CONVERT[:4], "-o", "{tmp}/./raw.jsonl"], 2, ["is an input file"], unchanged("raw.jsonl", [DIALOG])),
    Case("convert-out-is-the-templates", files(**{"raw.jsonl": [DIALOG], "t.json": '{"CHIP-MDCFNPC": ["[INPUT_TEXT]"]}'}),
         [*CONVERT[:4], "-o", "{tmp}/t.json", "--templates", "{tmp}/t.json"], 2, ["-o {tmp}/t.json is an input file"]),
    Case("convert-duplicate-dialog-id", files(**{"raw.jsonl": [DIALOG, DIALOG]}), CONVERT, 2,
         ["{tmp}/raw.jsonl:2: field dialog_id: duplicate id"]),
    Case("convert-broken-json", files(**{"raw.jsonl": lines([DIALOG]) + "{oops\n"}), CONVERT, 2, ["{tmp}/raw.jsonl:2: invalid JSON"]),
    Case("convert-skip-bad-lines", files(**{"raw.jsonl": lines([DIALOG]) + "{oops\n"}), [*CONVERT, "--on-error", "skip"], 0,
         ["skipped 1 bad line(s)", "{tmp}/raw.jsonl:2:"], records_written(1)),
    Case("convert-max-chars-0", files(**{"raw.jsonl": [DIALOG]}), [*CONVERT, "--max-chars", "0"], 2,
         ["Invalid value for '--max-chars': 0 is not in the range x>=1"], not_written()),
    Case("convert-max-chars-negative", files(**{"raw.jsonl": [DIALOG]}), [*CONVERT, "--max-chars", "-3"], 2,
         ["Invalid value for '--max-chars'"], not_written()),
    Case("convert-empty", files(**{"raw.jsonl": ""}), CONVERT, 2,
         ["{tmp}/raw.jsonl: nothing to write: no dialog could be read; {tmp}/out.jsonl was not written"], not_written()),
    Case("convert-all-lines-skipped", files(**{"raw.jsonl": "[1]\n"}), [*CONVERT, "--on-error", "skip"], 2,
         ["nothing to write: no dialog could be read (1 bad lines skipped)"], not_written()),
    Case("convert-no-labelled-mention", files(**{"raw.jsonl": [UNLABELLED]}), CONVERT, 2,
         ["nothing to write: 1 dialogs read, none has a labelled mention"], not_written()),
    Case("convert-utf16", files(**{"raw.jsonl": lines([DIALOG]).encode("utf-16")}), CONVERT, 2, [UTF16], not_written()),
    Case("convert-gbk", files(**{"raw.jsonl": lines([DIALOG]).encode("gbk")}), CONVERT, 2,
         ["{tmp}/raw.jsonl:1: not UTF-8", GBK], not_written()),
    Case("convert-deep-line", files(**{"raw.jsonl": DEEP_LINE}), CONVERT, 2, ["{tmp}/raw.jsonl:1: JSON nested too deeply"]),
    Case("convert-deep-array", files(**{"raw.jsonl": DEEP_ARRAY}), CONVERT, 2, ["invalid JSON array: JSON nested too deeply"]),
    Case("convert-array-non-objects", files(**{"raw.jsonl": json.dumps([DIALOG, "x", 3])}), CONVERT, 2,
         ["{tmp}/raw.jsonl:2: expected a JSON object, got str 'x' (and 1 more)"]),
    Case("convert-fifo", fifo("raw.jsonl"), CONVERT, 2, ["not a regular file: {tmp}/raw.jsonl"]),
    Case("convert-dev-null", files(), ["data", "convert", "chip2021", "/dev/null", "-o", "{tmp}/out.jsonl"], 2,
         ["not a regular file: /dev/null"]),
    Case("convert-folder", folder("raw.jsonl"), CONVERT, 2, ["is a directory"]),
    Case("convert-missing", files(), CONVERT, 2, ["not found: {tmp}/raw.jsonl"]),
    Case("convert-out-folder", folder("out.jsonl", **{"raw.jsonl": [DIALOG]}), CONVERT, 2, ["is a directory"]),
    Case("convert-out-fifo", fifo("p", **{"raw.jsonl": [DIALOG]}), [*CONVERT[:4], "-o", "{tmp}/p"], 2,
         ["-o {tmp}/p: is not a regular file"], still_a_fifo("p")),
    Case("convert-out-parent-is-a-file", files(**{"raw.jsonl": [DIALOG]}), [*CONVERT[:4], "-o", "{tmp}/raw.jsonl/o"], 2,
         ["cannot be written, {tmp}/raw.jsonl is a file, not a folder"]),
    Case("convert-templates-duplicate-key", files(**{"raw.jsonl": [DIALOG], "t.json": '{"CHIP-MDCFNPC": ["[INPUT_TEXT]"], "CHIP-MDCFNPC": []}'}),
         [*CONVERT, "--templates", "{tmp}/t.json"], 2, ["{tmp}/t.json:1: duplicate key 'CHIP-MDCFNPC'"], not_written()),
    Case("convert-templates-utf16", files(**{"raw.jsonl": [DIALOG], "t.json": '{"CHIP-MDCFNPC": ["[INPUT_TEXT]"]}'.encode("utf-16")}),
         [*CONVERT, "--templates", "{tmp}/t.json"], 2, [UTF16], not_written()),
    Case("convert-templates-not-a-mapping", files(**{"raw.jsonl": [DIALOG], "t.json": "[]"}),
         [*CONVERT, "--templates", "{tmp}/t.json"], 2, ["expected a JSON object task_dataset -> list of templates"]),
    # inspect: 0 clean, 1 problems found, 2 unreadable
    Case("inspect-clean", files(**{"in.jsonl": [RECORD]}), INSPECT, 0, ["no problems found"]),
    Case("inspect-clean-json-array", files(**{"in.jsonl": json.dumps([RECORD], ensure_ascii=False)}), INSPECT, 0,
         ["no problems found"]),
    Case("inspect-label-outside-choices", files(**{"in.jsonl": [RECORD, OFF_LABEL]}), LINT, 1,
         ["{tmp}/in.jsonl:2: field target: line 2: label '有点' is not one of answer_choices [label_outside_choices]"]),
    Case("inspect-problems-table", files(**{"in.jsonl": [RECORD, OFF_LABEL]}), INSPECT, 1,
         ["problems", "label_outside_choices"]),
    Case("inspect-bad-line", files(**{"in.jsonl": lines([RECORD]) + '{"sample_id": 3}\n'}), LINT, 1,
         ["{tmp}/in.jsonl:2: field sample_id: expected a string, got int 3"]),
    Case("inspect-bad-line-on-error-fail", files(**{"in.jsonl": lines([RECORD]) + "{oops\n"}), [*INSPECT, "--on-error", "fail"],
         2, ["{tmp}/in.jsonl:2: invalid JSON"]),
    Case("inspect-array-non-objects", files(**{"in.jsonl": "[1, \"x\"]"}), LINT, 1,
         ["{tmp}/in.jsonl:1: expected a JSON object, got int 1", "{tmp}/in.jsonl:2: expected a JSON object, got str 'x'"]),
    Case("inspect-deep-line", files(**{"in.jsonl": lines([RECORD]) + DEEP_LINE}), LINT, 1,
         ["{tmp}/in.jsonl:2: JSON nested too deeply"]),
    Case("inspect-empty", files(**{"in.jsonl": ""}), LINT, 1, ["{tmp}/in.jsonl:1: the file holds no records [empty]"]),
    Case("inspect-blank-lines", files(**{"in.jsonl": "\n \n"}), LINT, 1, ["the file holds no records"]),
    Case("inspect-deep-array", files(**{"in.jsonl": DEEP_ARRAY}), INSPECT, 2,
         ["error: {tmp}/in.jsonl:1: invalid JSON array: JSON nested too deeply"]),
    Case("inspect-broken-array", files(**{"in.jsonl": "[{}, "}), INSPECT, 2, ["error: {tmp}/in.jsonl:1: invalid JSON array"]),
    Case("inspect-utf16", files(**{"in.jsonl": lines([RECORD]).encode("utf-16")}), INSPECT, 2, [f"error: {{tmp}}/in.jsonl:1: {UTF16}"]),
    Case("inspect-utf16-empty", files(**{"in.jsonl": "".encode("utf-16")}), INSPECT, 2, [UTF16]),
    Case("inspect-gbk", files(**{"in.jsonl": lines([RECORD]).encode("gbk")}), INSPECT, 2, ["error: {tmp}/in.jsonl:1: not UTF-8", GBK]),
    Case("inspect-fifo", fifo("in.jsonl"), INSPECT, 2, ["not a regular file: {tmp}/in.jsonl"]),
    Case("inspect-dev-null", files(), ["data", "inspect", "/dev/null"], 2, ["not a regular file: /dev/null"]),
    Case("inspect-folder", folder("in.jsonl"), INSPECT, 2, ["is a directory"]),
    Case("inspect-missing", files(), INSPECT, 2, ["not found: {tmp}/in.jsonl"]),
    # filter: the same output checks
    Case("filter-ok", files(**{"in.jsonl": [RECORD]}), FILTER, 0, ["wrote 1 records"], records_written(1)),
    Case("filter-empty", files(**{"in.jsonl": ""}), FILTER, 2,
         ["{tmp}/in.jsonl: nothing to write: it holds no records; {tmp}/out.jsonl was not written"], not_written()),
    Case("filter-blank-lines", files(**{"in.jsonl": "\n  \n\t\n"}), FILTER, 2,
         ["nothing to write: it holds no records"], not_written()),
    Case("filter-all-lines-skipped", files(**{"in.jsonl": "[1]\n"}), [*FILTER, "--on-error", "skip"], 2,
         ["nothing to write: it holds no records (1 bad lines skipped)"], not_written()),
    Case("filter-nothing-matches", files(**{"in.jsonl": [RECORD]}), [*FILTER, "--task-type", "ner"], 2,
         ["nothing to write: none of its 1 records matches --task-type ner"], not_written()),
    Case("filter-keeps-matches", files(**{"in.jsonl": [RECORD]}), [*FILTER, "--task-dataset", "CHIP-MDCFNPC"], 0,
         ["wrote 1 records"], records_written(1)),
    Case("filter-out-is-the-input", files(**{"in.jsonl": [RECORD]}), [*FILTER[:3], "-o", "{tmp}/in.jsonl"], 2,
         ["-o {tmp}/in.jsonl is an input file"], unchanged("in.jsonl", [RECORD])),
    Case("filter-out-fifo", fifo("p", **{"in.jsonl": [RECORD]}), [*FILTER[:3], "-o", "{tmp}/p"], 2,
         ["-o {tmp}/p: is not a regular file"], still_a_fifo("p")),
    Case("filter-utf16", files(**{"in.jsonl": lines([RECORD]).encode("utf-16")}), FILTER, 2, [UTF16], not_written()),
    Case("filter-bad-line", files(**{"in.jsonl": lines([RECORD]) + "[]\n"}), FILTER, 2,
         ["{tmp}/in.jsonl:2: expected a JSON object, got list"], not_written()),
]
# fmt: on


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_data_bad_input(case: Case, tmp_path: Path) -> None:
    out = check(case, tmp_path)
    assert "internal error" not in out
