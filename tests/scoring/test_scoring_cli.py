"""`harness score`, `read_predictions` and `harness synonyms` from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness.cli import cli
from harness.errors import HarnessError
from harness.jsonl import write_jsonl
from harness.predictions import read_predictions
from harness.records import ATTR_CLS_CHOICES, ATTR_CLS_HEADER, LONG_LABELS, Record, write_records

POS, NEG = LONG_LABELS["阳性"], LONG_LABELS["阴性"]


@pytest.fixture()
def gold(tmp_path: Path) -> Path:
    records = [
        Record(
            f"s{i}",
            "对话\n临床发现实体：腹泻，发热",
            f"{ATTR_CLS_HEADER}\n腹泻：{POS}\n发热：{NEG}",
            list(ATTR_CLS_CHOICES),
            "attr_cls",
            "CHIP-MDCFNPC",
        )
        for i in range(5)
    ]
    records.append(Record("n1", "句子", "实体", None, "ner", "CMeEE-V2"))
    return write_records(tmp_path / "gold.jsonl", records)


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_score_json_has_exactly_the_design_keys(gold: Path, tmp_path: Path) -> None:
    pred = write_jsonl(
        tmp_path / "p.jsonl",
        [{"sample_id": f"s{i}", "text": f"{ATTR_CLS_HEADER}\n拉肚子：阳性\n发热：{NEG}"} for i in range(5)],
    )
    trace = tmp_path / "trace.jsonl"
    code, out, _ = run(
        "score",
        "--gold",
        str(gold),
        "--pred",
        str(pred),
        "--json",
        "--trace",
        str(trace),
        "--resamples",
        "200",
    )
    assert code == 0
    summary = json.loads(out)
    assert {"official", "canonical", "classification", "failures", "samples", "ci"} <= set(summary)
    assert summary["samples"] == 5 and summary["skipped"] == {"CMeEE-V2": 1}
    assert summary["official"]["tp"] == 5 and summary["canonical"]["f1"] == 1.0
    assert set(summary["ci"]) >= {"official_f1", "canonical_f1", "accuracy", "macro_f1"}
    rows = [json.loads(line) for line in trace.read_text(encoding="utf-8").splitlines()]
    assert [r["sample_id"] for r in rows] == [f"s{i}" for i in range(5)]
    assert rows[0]["alignment"][0]["how"] == "synonym"


def test_score_table_and_submission_form(gold: Path, tmp_path: Path) -> None:
    pred = write_jsonl(
        tmp_path / "sub.jsonl",
        [{"sample_id": f"s{i}", "target": f"{ATTR_CLS_HEADER}\n腹泻：{POS}"} for i in range(5)]
        + [{"sample_id": "n1", "target": "x"}],
    )
    code, out, _ = run("score", "--gold", str(gold), "--pred", str(pred))
    assert code == 0
    assert "official" in out and "missing" in out


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([{"sample_id": f"s{i}", "text": ""} for i in range(4)], "1 gold id(s) have no prediction: 's4'"),
        (
            [{"sample_id": f"s{i}", "text": ""} for i in range(5)] + [{"sample_id": "zz", "text": ""}],
            "not in the gold file: 'zz'",
        ),
        (
            [{"sample_id": f"s{i}", "text": ""} for i in range(5)] + [{"sample_id": "s1", "text": ""}],
            "duplicate sample id(s): 's1'",
        ),
        ([{"sample_id": 3, "text": ""}], "field sample_id"),
        ([{"sample_id": "s0", "text": 5}], "expected a string"),
    ],
)
def test_prediction_id_errors(gold: Path, tmp_path: Path, rows: list[dict], message: str) -> None:
    pred = write_jsonl(tmp_path / "p.jsonl", rows)
    code, _, err = run("score", "--gold", str(gold), "--pred", str(pred), "--json")
    assert code == 2
    assert err.startswith("error: ") and message in err and "Traceback" not in err


def test_allow_missing_scores_them_empty(gold: Path, tmp_path: Path) -> None:
    pred = write_jsonl(
        tmp_path / "p.jsonl", [{"sample_id": "s0", "text": f"{ATTR_CLS_HEADER}\n腹泻：{POS}\n发热：{NEG}"}]
    )
    code, out, _ = run(
        "score", "--gold", str(gold), "--pred", str(pred), "--json", "--allow-missing", "--resamples", "0"
    )
    assert code == 0
    summary = json.loads(out)
    assert summary["official"]["tp"] == 2 and summary["official"]["fn"] == 8
    assert summary["failures"]["missing"] == 4
    assert summary["unpredicted"] == 4  # the four samples without a prediction, counted


def test_read_predictions_names_the_first_few(tmp_path: Path) -> None:
    pred = write_jsonl(tmp_path / "p.jsonl", [{"sample_id": f"x{i}", "text": ""} for i in range(9)])
    with pytest.raises(
        HarnessError, match=r"9 prediction id\(s\) not in the gold file: 'x0', .* \(and 4 more\)"
    ):
        read_predictions(pred, gold_ids=["a"])
    multi = write_jsonl(
        tmp_path / "m.jsonl",
        [{"sample_id": "a", "text": "1", "system": "base"}, {"sample_id": "a", "text": "2", "system": "r1"}],
    )
    with pytest.raises(HarnessError, match="pick one"):
        read_predictions(multi)
    assert read_predictions(multi, system="r1") == {"a": "2"}


def test_scoring_config_file_errors_list_valid_keys(gold: Path, tmp_path: Path) -> None:
    cfg = tmp_path / "scoring.yaml"
    cfg.write_text("scoring:\n  fuzzy_threshold: 90\n  fuzy: 1\n", encoding="utf-8")
    code, _, err = run("score", "--gold", str(gold), "--pred", str(gold), "--config", str(cfg))
    assert code == 2 and "unknown scoring option(s) fuzy; valid: synonyms, fuzzy_threshold" in err


def test_synonyms_check_add_suggest(tmp_path: Path, gold: Path) -> None:
    d = tmp_path / "syn"
    d.mkdir()
    (d / "a.yaml").write_text("发热:\n  - 发烧\n", encoding="utf-8")
    code, out, _ = run("synonyms", "check", "--synonyms", str(d), "--json")
    assert code == 0 and json.loads(out)["ok"] is True
    code, out, _ = run("synonyms", "add", "发热", "高烧", "--synonyms", str(d), "--json")
    assert code == 0 and json.loads(out)["added"] == ["高烧"]
    (d / "b.yaml").write_text("高热:\n  - 发烧\n", encoding="utf-8")
    code, out, _ = run("synonyms", "check", "--synonyms", str(d))
    assert code == 1 and "two canonicals" in out
    pred = write_jsonl(
        tmp_path / "p.jsonl",
        [{"sample_id": f"s{i}", "text": f"{ATTR_CLS_HEADER}\n腹泻：{POS}\n发热了：{NEG}"} for i in range(5)],
    )
    code, out, _ = run(
        "synonyms",
        "suggest",
        "--gold",
        str(gold),
        "--pred",
        str(pred),
        "--synonyms",
        str(d / "a.yaml"),
        "--json",
    )
    assert code == 0
    proposals = json.loads(out)["proposals"]
    assert (
        proposals[0]["canonical"] == "发热"
        and proposals[0]["variant"] == "发热了"
        and proposals[0]["count"] == 5
    )


def test_synonyms_suggest_from_chip(shared_data: Path) -> None:
    code, out, _ = run(
        "synonyms",
        "suggest",
        "--chip",
        str(shared_data / "chip2021-mdcfnpc" / "dialogs-val600.jsonl"),
        "--json",
    )
    assert code == 0
    proposals = json.loads(out)["proposals"]
    assert proposals and all(p["source"] == "chip" and p["count"] >= 2 for p in proposals)
    # pairs the curated dictionaries already hold are not proposed again
    assert not any(p["canonical"] == "食欲减退" and p["variant"] == "没胃口" for p in proposals)


def test_help_is_real() -> None:
    for verb in (
        ["score"],
        ["synonyms"],
        ["synonyms", "suggest"],
        ["synonyms", "add"],
        ["synonyms", "check"],
    ):
        code, out, _ = run(*verb, "--help")
        assert code == 0 and "Usage" in out and len(out) > 200
