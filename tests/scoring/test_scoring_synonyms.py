"""Synonym dictionaries: the curated files, loading, check, add."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from harness.errors import HarnessError
from harness.scoring import synonyms as syn
from harness.scoring.synonyms import (
    add_synonyms,
    check_synonyms,
    default_synonym_dirs,
    dump_dictionary,
    load_synonyms,
    normalize_entity,
    parse_dictionary,
)


def test_curated_dictionaries_are_clean_and_big_enough() -> None:
    dirs = default_synonym_dirs()
    assert dirs, "the project's synonyms/ folder is found"
    assert check_synonyms() == []
    table = load_synonyms()
    assert len(table) >= 150
    assert len({Path(e.path).name for e in table.entries}) >= 7  # grouped by concept family
    for variant, canon in [
        ("发烧", "发热"),
        ("高烧", "发热"),
        ("拉肚子", "腹泻"),
        ("没胃口", "食欲减退"),
        ("嗓子疼", "咽痛"),
    ]:
        assert table.canonical(normalize_entity(variant)) == canon


def test_every_synthetic_variant_canonicalizes() -> None:
    synthetic = pytest.importorskip("harness.datasets.synthetic")
    table = load_synonyms()
    for canon, variants in synthetic.SYNTH_FINDINGS.items():
        for v in variants:
            assert table.canonical(normalize_entity(v)) == normalize_entity(canon), (canon, v)


@pytest.mark.parametrize(
    ("files", "problem"),
    [
        ({"a.yaml": "发热:\n  - 发烧\n  - 发烧\n"}, "duplicate variant"),
        ({"a.yaml": "发热:\n  - 发烧\n", "b.yaml": "高热:\n  - 发烧\n"}, "under two canonicals"),
        ({"a.yaml": "发热:\n  - 发烧\n", "b.yaml": "发热:\n  - 高烧\n"}, "duplicate canonical"),
        ({"a.yaml": "发热:\n  - 发烧\n发热:\n  - 高烧\n"}, "duplicate key '发热' (lines 1 and 3)"),
        ({"a.yaml": "发热:\n  - 发烧\n发烧:\n  - 发热\n"}, "cycle"),
        ({"a.yaml": "发热:\n  - 高热\n高热:\n  - 高烧\n"}, "chain"),
        ({"a.yaml": "发热:\n  - 发热\n"}, "the canonical itself"),
        ({"a.yaml": "- 发热\n"}, "expected a mapping"),
        ({"a.yaml": "发热: 发烧\n"}, "expected a list"),
    ],
)
def test_check_finds_problems(tmp_path: Path, files: dict[str, str], problem: str) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    problems = check_synonyms([tmp_path])
    assert any(problem in p for p in problems), problems


def test_add_keeps_the_header_and_refuses_owned_variants(tmp_path: Path) -> None:
    f = tmp_path / "general.yaml"
    f.write_text("# fever family\n发热:\n  - 发烧\n\n咳嗽:\n  - 咳\n", encoding="utf-8")
    r = add_synonyms("发热", ["高烧", "发烧"], dirs=[tmp_path])
    assert r.path == f and r.added == ["高烧"] and r.skipped == [("发烧", "already listed")]
    assert f.read_text(encoding="utf-8") == "# fever family\n发热:\n  - 发烧\n  - 高烧\n咳嗽:\n  - 咳\n"
    assert load_synonyms([tmp_path]).canonical("高烧") == "发热"
    r = add_synonyms("头痛", ["头疼"], dirs=[tmp_path])
    assert r.path == tmp_path / "misc.yaml" and r.added == ["头疼"]
    with pytest.raises(HarnessError, match="already belongs"):
        add_synonyms("咳嗽", ["发烧"], dirs=[tmp_path])
    assert check_synonyms([tmp_path]) == []


def test_missing_dictionary_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(HarnessError, match="not found"):
        load_synonyms([tmp_path / "nope"])


def test_env_var_overrides_the_default_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "x.yaml").write_text("腹泻:\n  - 闹肚子了\n", encoding="utf-8")
    monkeypatch.setenv("HARNESS_SYNONYMS", str(tmp_path))
    assert default_synonym_dirs() == [tmp_path]
    assert load_synonyms().canonical("闹肚子了") == "腹泻"
    assert len(load_synonyms()) == 1


def test_digest_names_the_contents_not_the_folder(tmp_path: Path) -> None:
    from harness.scoring.synonyms import default_synonym_dirs, load_synonyms

    (src,) = default_synonym_dirs()
    copy = shutil.copytree(src, tmp_path / "copy")
    assert load_synonyms([copy]).digest == load_synonyms([src]).digest
    first = sorted(copy.glob("*.yaml"))[0]
    first.write_text(first.read_text(encoding="utf-8") + "新症状:\n  - 新说法\n", encoding="utf-8")
    assert load_synonyms([copy]).digest != load_synonyms([src]).digest


def test_curated_files_keep_their_layout_when_rewritten() -> None:
    # add rewrites a whole file: on the curated layout only the added lines may differ
    (src,) = default_synonym_dirs()
    for f in sorted(src.glob("*.yaml")):
        text = f.read_text(encoding="utf-8")
        entries, problems = parse_dictionary(text, str(f))
        header = "".join(line for line in text.splitlines(keepends=True) if line.startswith("#"))
        assert not problems and header
        assert header + dump_dictionary({e.canonical: list(e.variants) for e in entries}) == text, f


def test_a_rewrite_that_does_not_read_back_is_never_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    f = tmp_path / "a.yaml"
    f.write_text("# head\n发热:\n  - 发烧\n咳嗽:\n  - 咳\n", encoding="utf-8")
    before = f.read_bytes()
    monkeypatch.setattr(syn, "dump_dictionary", lambda groups: "发热:\n  - 发烧\n  - 高烧\n")
    with pytest.raises(RuntimeError, match="does not read back"):
        add_synonyms("发热", ["高烧"], dirs=[tmp_path])
    assert f.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["a.yaml"]


GOOD = "发热:\n  - 发烧\n"


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"a.yaml": GOOD, "b.yaml": "咳嗽: [\n"}, "b.yaml:2: invalid YAML"),
        ({"a.yaml": GOOD, "b.yaml": "- 咳嗽\n"}, "b.yaml:1: expected a mapping"),
        ({"a.yaml": GOOD, "b.yaml": "咳嗽: 咳\n"}, "b.yaml:1: 咳嗽: expected a list of variants"),
        (
            {"a.yaml": GOOD, "b.yaml": "咳嗽:\n  - 咳\n咳嗽:\n  - 干咳\n"},
            "duplicate key '咳嗽' (lines 1 and 3)",
        ),
        ({"a.yaml": GOOD, "b.yaml": "咳嗽:\n  - #咳\n"}, "b.yaml:2: 咳嗽: a variant is empty"),
        ({"a.yaml": GOOD, "b.yaml": "咳嗽:\n  - 咳\n".encode("gb18030")}, "b.yaml:1: not UTF-8 text"),
        ({"a.yaml": GOOD, "b.yaml": b"\xff\xfe" + "咳嗽: []\n".encode("utf-16-le")}, "UTF-16"),
        ({}, "holds no dictionaries"),
        ({"a.yaml": "", "b.yml": "# only a comment\n"}, "hold no entries"),
    ],
)
def test_a_dictionary_that_does_not_read_is_an_error(
    tmp_path: Path, files: dict[str, str | bytes], message: str
) -> None:
    for name, body in files.items():
        (tmp_path / name).write_bytes(body if isinstance(body, bytes) else body.encode("utf-8"))
    with pytest.raises(HarnessError, match="synonym") as e:
        load_synonyms([tmp_path])
    assert message in str(e.value)


def test_score_refuses_a_broken_dictionary(tmp_path: Path, synth_path: Path) -> None:
    from click.testing import CliRunner

    from harness.cli import cli

    shutil.copytree(default_synonym_dirs()[0], tmp_path / "syn")
    (tmp_path / "syn" / "general.yaml").write_text("发热: [\n", encoding="utf-8")  # the 31 lost canonicals
    args = ["score", "--gold", str(synth_path), "--pred", str(synth_path), "--resamples", "0"]
    result = CliRunner().invoke(cli, [*args, "--synonyms", str(tmp_path / "syn")])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "general.yaml:2: invalid YAML" in result.stderr and "synonyms check" in result.stderr


def test_protocol_records_what_was_loaded(tmp_path: Path) -> None:
    from harness.records import ATTR_CLS_CHOICES, ATTR_CLS_HEADER, LONG_LABELS, Record
    from harness.scoring.pipeline import ScoringConfig, score

    (tmp_path / "sub").mkdir()
    (tmp_path / "a.yaml").write_text("发热:\n  - 发烧\n  - 高烧\n", encoding="utf-8")
    (tmp_path / "sub" / "b.yml").write_text("咳嗽:\n  - 咳\n头痛:\n", encoding="utf-8")
    target = f"{ATTR_CLS_HEADER}\n发热：{LONG_LABELS['阳性']}"
    rec = Record("s0", "对话", target, list(ATTR_CLS_CHOICES), "attr_cls", "CHIP-MDCFNPC")
    cfg = ScoringConfig(synonyms=[tmp_path], bootstrap_resamples=0)
    protocol = score([rec], {"s0": target}, cfg).summary["protocol"]["synonyms"]
    assert protocol == {
        "files": ["a.yaml", "sub/b.yml"],
        "canonicals": 3,
        "variants": 3,
        "digest": load_synonyms([tmp_path]).digest,
    }


def test_suggest_snippet_reads_back_whatever_the_names() -> None:
    from harness.scoring.suggest import Proposal, as_yaml

    names = ["a: b", "#c", "[d", "- e", "yes", "x\ny", "'q", "发 烧"]
    proposals = [Proposal("发热: 高", n, 2, "chip", note="already under 'x #y'") for n in names]
    assert yaml.safe_load(as_yaml(proposals)) == {"发热: 高": names}
