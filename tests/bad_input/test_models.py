"""`harness models import` and `fetch` on missing, foreign, truncated and unsupported files and bad folders."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.bad_input.cases import Case, check


def gguf(path: Path, arch: str = "llama") -> bytes:
    """A small well-formed GGUF file (one f32 tensor) of architecture `arch`; returns its bytes."""
    import numpy as np
    from gguf import GGUFWriter

    w = GGUFWriter(path, arch)
    w.add_tensor("token_embd.weight", np.arange(8 * 64, dtype=np.float32).reshape(8, 64))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path.read_bytes()


def write(name: str, data: bytes | str) -> Callable[[Path], None]:
    def setup(tmp: Path) -> None:
        (tmp / name).write_bytes(data.encode() if isinstance(data, str) else data)

    return setup


def truncated(keep: Callable[[int], int]) -> Callable[[Path], None]:
    def setup(tmp: Path) -> None:
        data = gguf(tmp / "m.gguf")
        (tmp / "m.gguf").write_bytes(data[: keep(len(data))])

    return setup


def existing_folder(record: bool) -> Callable[[Path], None]:
    """A valid GGUF and, where its import would land, a folder that is not (or no longer) that import."""

    def setup(tmp: Path) -> None:
        from harness.hashing import sha256_file

        gguf(tmp / "m.gguf")
        sha = sha256_file(tmp / "m.gguf")
        folder = tmp / "out" / f"m-{sha[:12]}"
        folder.mkdir(parents=True)
        (folder / "config.json").write_text("{}", encoding="utf-8")
        if record:
            files = {"config.json": "0" * 64}
            (folder / "harness_import.json").write_text(
                json.dumps({"source": {"sha256": sha}, "files": files}), encoding="utf-8"
            )

    return setup


def no_leftovers(out: Path) -> None:
    assert not list(out.iterdir()), "a failed import left files behind"


IMPORT = ["models", "import", "{tmp}/m.gguf", "--out", "{tmp}/out"]


def nothing(tmp: Path) -> None:
    pass


CASES: list[Case] = [
    Case("import-missing-file", nothing, IMPORT, 2, ["GGUF file not found", "m.gguf"]),
    Case("import-a-folder", lambda t: (t / "m.gguf").mkdir(), IMPORT, 2, ["m.gguf"]),
    Case("import-not-gguf", write("m.gguf", '{"not": "gguf"}\n'), IMPORT, 2, ["not a GGUF file"]),
    Case("import-empty-file", write("m.gguf", b""), IMPORT, 2, ["only 0 bytes"]),
    Case("import-truncated-tensors", truncated(lambda n: n - 100), IMPORT, 2, ["truncated or damaged"]),
    Case("import-truncated-header", truncated(lambda n: 40), IMPORT, 2, ["truncated or damaged"]),
    Case(
        "import-unsupported-architecture",
        lambda t: gguf(t / "m.gguf", arch="bert"),
        IMPORT,
        2,
        ["unsupported architecture 'bert'"],
        check=lambda t, _: no_leftovers(t / "out"),
    ),
    Case(
        "import-out-is-a-file",
        lambda t: (gguf(t / "m.gguf"), (t / "out").write_text("x")),
        IMPORT,
        2,
        ["is a file"],
    ),
    Case(
        "import-out-under-a-file",
        lambda t: (gguf(t / "m.gguf"), (t / "f").write_text("x")),
        ["models", "import", "{tmp}/m.gguf", "--out", "{tmp}/f/out"],
        2,
        ["cannot create the folder"],
    ),
    Case(
        "import-foreign-folder-in-the-way",
        existing_folder(record=False),
        IMPORT,
        2,
        ["holds no harness_import.json"],
    ),
    Case(
        "import-damaged-earlier-import", existing_folder(record=True), IMPORT, 2, ["changed since the import"]
    ),
    Case("import-no-out", write("m.gguf", b"GGUF"), ["models", "import", "{tmp}/m.gguf"], 2, ["--out"]),
    Case("fetch-unknown-model", nothing, ["models", "fetch", "gpt5"], 2, ["smollm2"]),
    Case(
        "fetch-dest-is-a-file",
        write("d", "x"),
        ["models", "fetch", "smollm2", "--dest", "{tmp}/d"],
        2,
        ["is a file"],
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_models_bad_input(case: Case, tmp_path: Path) -> None:
    check(case, tmp_path)
