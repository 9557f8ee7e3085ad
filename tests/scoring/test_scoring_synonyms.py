"""Synonym dictionaries: the curated files, loading, check, add."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from harness.errors import HarnessError
from harness.scoring.synonyms import (
    add_synonyms,
    check_synonyms,
    default_synonym_dirs,
    load_synonyms,
    normalize_entity,
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
        ({"a.yaml": "发热:\n  - 发烧\n发热:\n  - 高烧\n"}, "duplicate canonical"),
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


def test_add_keeps_comments_and_refuses_owned_variants(tmp_path: Path) -> None:
    f = tmp_path / "general.yaml"
    f.write_text("# fever family\n发热:\n  - 发烧\n\n咳嗽:\n  - 咳\n", encoding="utf-8")
    path, added = add_synonyms("发热", ["高烧", "发烧"], dirs=[tmp_path])
    assert path == f and added == ["高烧"]
    text = f.read_text(encoding="utf-8")
    assert text.startswith("# fever family\n发热:\n  - 发烧\n  - 高烧\n")
    assert load_synonyms([tmp_path]).canonical("高烧") == "发热"
    path, added = add_synonyms("头痛", ["头疼"], dirs=[tmp_path])
    assert path == tmp_path / "misc.yaml" and added == ["头疼"]
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
