from pathlib import Path

import pytest

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


def test_code_fingerprint_names_the_source_and_the_library_versions() -> None:
    from harness.hashing import code_fingerprint

    one = code_fingerprint(["training.tiny"], ["torch", "no-such-distribution"])
    assert one == code_fingerprint(["training.tiny"], ["no-such-distribution", "torch"])
    assert one["versions"]["no-such-distribution"] is None and one["versions"]["torch"]
    assert one["source"] != code_fingerprint(["training"], ["torch"])["source"]


@pytest.mark.parametrize("where", ["training", "generation"])
def test_content_addresses_change_with_the_code(monkeypatch: pytest.MonkeyPatch, where: str) -> None:
    """A cached adapter or generation made by other code must never be reused as this code's."""
    from harness.generation import identity as gen_identity
    from harness.training import identity as train_identity
    from harness.training.lora import TrainConfig

    def key() -> str:
        if where == "training":
            return train_identity.run_key({"kind": "hub", "id": "m"}, [], None, TrainConfig(), 1)
        gen_identity.generation_code.cache_clear()
        return gen_identity.cache_key("tree:x", None, {}, "prompt", None, "float32")

    module = train_identity if where == "training" else gen_identity
    monkeypatch.setattr(module, "code_fingerprint", lambda *a: {"source": "a", "versions": {}})
    first = key()
    monkeypatch.setattr(module, "code_fingerprint", lambda *a: {"source": "b", "versions": {}})
    assert key() != first
    gen_identity.generation_code.cache_clear()
