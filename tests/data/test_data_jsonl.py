"""Bad bytes and odd encodings in input files are reported per line, never as a traceback."""

import json
import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness.cli import cli
from harness.datasets.synthetic import write_synth
from harness.errors import DataError
from harness.jsonl import write_jsonl
from harness.records import ATTR_CLS_CHOICES, ATTR_CLS_HEADER, read_records

GOOD = {
    "sample_id": "s1",
    "input": "患者：发烧\n答：",
    "target": ATTR_CLS_HEADER + "\n发烧：" + ATTR_CLS_CHOICES[0],
    "answer_choices": ATTR_CLS_CHOICES,
    "task_type": "attr_cls",
    "task_dataset": "CHIP-MDCFNPC",
}


def test_non_utf8_line_is_a_problem_of_that_line(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_bytes(json.dumps(GOOD, ensure_ascii=False).encode() + b"\n\xff\xfe{}\n")
    with pytest.raises(DataError, match=r"r\.jsonl:2: not UTF-8 text at byte 1 of the line"):
        read_records(path)
    assert [r.sample_id for r in read_records(path, on_error="skip").records] == ["s1"]
    res = CliRunner().invoke(cli, ["data", "filter", str(path), "-o", str(tmp_path / "o.jsonl")])
    assert (
        res.exit_code == 2
        and res.stderr.startswith(f"error: {path}:2: not UTF-8")
        and "Traceback" not in res.output
    )


def test_non_utf8_json_array_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    path.write_bytes(b"[" + json.dumps(GOOD).encode() + b',\n"\xff"]')
    with pytest.raises(DataError, match=r"r\.json:2: not UTF-8 text"):
        read_records(path)


@pytest.mark.parametrize("array", [False, True])
def test_utf8_bom_is_ignored(tmp_path: Path, array: bool) -> None:
    path = tmp_path / "r.jsonl"
    body = json.dumps([GOOD] if array else GOOD, ensure_ascii=False)
    path.write_bytes(b"\xef\xbb\xbf" + body.encode())
    assert [r.sample_id for r in read_records(path).records] == ["s1"]


def test_written_files_get_the_usual_permissions(tmp_path: Path) -> None:
    """Not mkstemp's 0600: the mode the process umask gives any new file (0644 under umask 022)."""
    umask = os.umask(0)
    os.umask(umask)
    probe = tmp_path / "probe"
    probe.touch()
    for path in (write_jsonl(tmp_path / "a.jsonl", [GOOD]), write_synth(tmp_path / "s.jsonl", 3, 0)):
        assert stat.S_IMODE(path.stat().st_mode) == stat.S_IMODE(probe.stat().st_mode) == 0o666 & ~umask


@pytest.mark.parametrize(
    ("target", "says"),
    [
        ("/dev/null", "not a regular file"),
        ("{tmp}", "it is a folder"),
        ("{tmp}/f.txt/x.json", "a parent of it is a file"),
    ],
    ids=["device", "folder", "under-a-file"],
)
def test_atomic_write_never_replaces_what_is_not_a_regular_file(
    tmp_path: Path, target: str, says: str
) -> None:
    from harness.errors import HarnessError
    from harness.jsonl import atomic_write_text

    (tmp_path / "f.txt").write_text("keep")
    with pytest.raises(HarnessError, match=says):
        atomic_write_text(target.replace("{tmp}", str(tmp_path)), "x")
    assert Path("/dev/null").is_char_device()
    assert (tmp_path / "f.txt").read_text() == "keep"
