from pathlib import Path

from harness.hashing import sha256_json, sha256_tree


def test_json_digest_ignores_key_order() -> None:
    assert sha256_json({"a": 1, "b": [1, 2]}) == sha256_json({"b": [1, 2], "a": 1})
    assert sha256_json({"a": 1}) != sha256_json({"a": 2})


def test_tree_digest_sees_names_and_contents(tmp_path: Path) -> None:
    (tmp_path / "x.txt").write_text("1")
    first = sha256_tree(tmp_path)
    (tmp_path / "x.txt").write_text("2")
    assert sha256_tree(tmp_path) != first
    second = sha256_tree(tmp_path)
    assert second != first
    (tmp_path / "x.txt").rename(tmp_path / "y.txt")
    assert sha256_tree(tmp_path) != second
    assert sha256_tree(tmp_path, suffixes=[".json"]) == sha256_tree(tmp_path / "empty", suffixes=[".json"])
