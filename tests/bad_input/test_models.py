"""`harness models import` and `fetch` on missing, foreign, truncated and unsupported files and bad folders."""

from __future__ import annotations

import json
import os
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


def imported_record(drop: str) -> Callable[[Path], None]:
    """A valid GGUF and an earlier import of it whose files match but whose record lacks `drop`."""

    def setup(tmp: Path) -> None:
        from harness.hashing import sha256_file

        gguf(tmp / "m.gguf")
        sha = sha256_file(tmp / "m.gguf")
        folder = tmp / "out" / f"m-{sha[:12]}"
        folder.mkdir(parents=True)
        (folder / "config.json").write_text("{}", encoding="utf-8")
        record = {"source": {"sha256": sha}, "files": {"config.json": sha256_file(folder / "config.json")}}
        record |= {"parameters": 1, "architecture": "llama", "license": None}
        del record[drop]
        (folder / "harness_import.json").write_text(json.dumps(record), encoding="utf-8")

    return setup


def corpus(data: bytes | str) -> Callable[[Path], None]:
    return write("c.jsonl", data)


def fifo_at(name: str) -> Callable[[Path], None]:
    def setup(tmp: Path) -> None:
        (tmp / name).parent.mkdir(parents=True, exist_ok=True)
        os.mkfifo(tmp / name)

    return setup


IMPORT = ["models", "import", "{tmp}/m.gguf", "--out", "{tmp}/out"]
TINY = ["models", "tiny", "--corpus", "{tmp}/c.jsonl", "--out", "{tmp}/m", "--hidden", "64", "--layers", "1",
        "--heads", "2", "--kv-heads", "1", "--vocab-size", "300"]  # fmt: skip
RECORD_LINE = '{"input": "患者：发烧", "target": "发烧：阳性"}\n'
SMOLLM2 = "SmolLM2-135M-Instruct.Q4_1.gguf"


def still_a_fifo(path: Path) -> None:
    assert path.is_fifo(), f"{path} was replaced"


def no_model(tmp: Path, _: str) -> None:
    assert not (tmp / "m" / "config.json").exists()


def nothing(tmp: Path) -> None:
    pass


# fmt: off
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
    Case("import-record-without-parameters", imported_record("parameters"), IMPORT, 2,
         ["field parameters is missing or of the wrong type"]),
    Case("import-fifo", fifo_at("m.gguf"), IMPORT, 2, ["GGUF file is not a regular file"]),
    Case("import-no-out", write("m.gguf", b"GGUF"), ["models", "import", "{tmp}/m.gguf"], 2, ["--out"]),
    Case("fetch-unknown-model", nothing, ["models", "fetch", "gpt5"], 2, ["smollm2"]),
    Case(
        "fetch-dest-is-a-file",
        write("d", "x"),
        ["models", "fetch", "smollm2", "--dest", "{tmp}/d"],
        2,
        ["is a file"],
    ),
    Case("fetch-target-is-a-folder", lambda t: (t / "d" / SMOLLM2).mkdir(parents=True),
         ["models", "fetch", "smollm2", "--dest", "{tmp}/d"], 2, [f"{SMOLLM2} is a folder"]),
    Case("fetch-target-is-a-fifo", fifo_at(f"d/{SMOLLM2}"), ["models", "fetch", "smollm2", "--dest", "{tmp}/d"], 2,
         [f"{SMOLLM2} is not a regular file"], check=lambda t, _: still_a_fifo(t / "d" / SMOLLM2)),
    # tiny: the corpus is UTF-8 records or plain text; shapes are positive and bounded
    Case("tiny-utf16", corpus(RECORD_LINE.encode("utf-16")), TINY, 2, ["c.jsonl:1: the file is UTF-16"], no_model),
    Case("tiny-gbk", corpus(RECORD_LINE.encode("gbk")), TINY, 2, ["not UTF-8", "looks like GBK"], no_model),
    Case("tiny-latin1", corpus("café\n".encode("latin-1")), TINY, 2, ["c.jsonl:1: not UTF-8 text at byte 4"], no_model),
    Case("tiny-binary-after-good-lines", corpus(RECORD_LINE.encode() * 3 + b"\x00\xff\xfe\x80\n"), TINY, 2,
         ["c.jsonl:4: not UTF-8 text"], no_model),
    Case("tiny-deep-json", corpus('{"a": ' + "[" * 100_000 + "\n"), TINY, 2, ["c.jsonl:1: JSON nested too deeply"],
         no_model),
    Case("tiny-endless-run", corpus("[" * 100_000 + "\n"), TINY, 2,
         ["c.jsonl:1: a run of 100,000 characters", "at most 30,000 bytes"], no_model),
    Case("tiny-input-not-a-string", corpus('{"input": 5, "target": "x"}\n'), TINY, 2,
         ["c.jsonl:1: field input: expected a string, got int"], no_model),
    Case("tiny-empty-corpus", corpus("\n \n"), TINY, 2, ["corpus is empty"], no_model),
    Case("tiny-corpus-fifo", fifo_at("c.jsonl"), TINY, 2, ["corpus is not a regular file"], no_model),
    Case("tiny-layers-negative", corpus(RECORD_LINE), [*TINY, "--layers", "-1"], 2,
         ["Invalid value for '--layers': -1 is not in the range x>=1"], no_model),
    Case("tiny-heads-0", corpus(RECORD_LINE), [*TINY, "--heads", "0"], 2, ["Invalid value for '--heads'"], no_model),
    Case("tiny-kv-heads-0", corpus(RECORD_LINE), [*TINY, "--kv-heads", "0"], 2, ["Invalid value for '--kv-heads'"],
         no_model),
    Case("tiny-hidden-0", corpus(RECORD_LINE), [*TINY, "--hidden", "0"], 2, ["Invalid value for '--hidden'"], no_model),
    Case("tiny-vocab-huge", corpus(RECORD_LINE), [*TINY, "--vocab-size", "99999999999"], 2,
         ["'--vocab-size': 99999999999 is not in the range 259<=x<=1000000"], no_model),
    Case("tiny-seed-huge", corpus(RECORD_LINE), [*TINY, "--seed", str(2**70)], 2, ["is out of range"], no_model),
    Case("tiny-too-big", corpus(RECORD_LINE), [*TINY, "--hidden", "65536", "--heads", "1024"], 2,
         ["parameters, above the 1,000,000,000 a tiny model may have"], no_model),
    Case("tiny-out-under-a-file", lambda t: (corpus(RECORD_LINE)(t), (t / "f").write_text("x")),
         [*TINY[:4], "--out", "{tmp}/f/m", *TINY[6:]], 2, ["--out {tmp}/f/m: it, or a folder above it, is a file"]),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_models_bad_input(case: Case, tmp_path: Path) -> None:
    check(case, tmp_path)
