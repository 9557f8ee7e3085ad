"""`harness generate` end to end: --json, one file per system, and resume after kill -9."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.records import Record, write_records

pytestmark = pytest.mark.slow

CLI = [sys.executable, "-c", "from harness.cli import main; main()", "generate"]


@pytest.fixture(scope="module")
def data(gen_records: list[Record], tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_records(tmp_path_factory.mktemp("gen-data") / "records.jsonl", gen_records)


def _rows(cache: Path) -> int:
    try:
        with sqlite3.connect(f"file:{cache}?mode=ro", uri=True, timeout=5) as db:
            return db.execute("SELECT COUNT(*) FROM generations").fetchone()[0]
    except sqlite3.OperationalError:  # not created yet
        return 0


def test_kill_9_loses_at_most_the_commit_in_flight(tiny_model_dir: Path, data: Path, tmp_path: Path) -> None:
    cache, out = tmp_path / "gen.sqlite", tmp_path / "pred.jsonl"
    args = [*CLI, "--model", str(tiny_model_dir), "--data", str(data), "--limit", "32", "--backend", "hf",
            "--dtype", "float32", "--max-new-tokens", "24", "--cache", str(cache), "--out", str(out), "--quiet"]  # fmt: skip
    proc = subprocess.Popen(
        [*args, "--batch-size", "2"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 120
    while _rows(cache) < 4 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    kept = _rows(cache)
    assert 4 <= kept < 32 and kept % 8 == 0  # whole commits only: 4 batches of 2
    assert not out.exists()

    # The batch size is not part of the key: the rerun may batch differently.
    rerun = subprocess.run(
        [*args, "--batch-size", "16", "--json"], capture_output=True, text=True, check=True
    )
    stats = json.loads(rerun.stdout)
    assert stats["cache_hits"] == kept and stats["generated"] == 32 - kept
    assert len(out.read_text(encoding="utf-8").splitlines()) == 32

    again = json.loads(subprocess.run([*args, "--json"], capture_output=True, text=True, check=True).stdout)
    assert again["generated"] == 0 and again["cache_hits"] == 32


def test_cli_json_and_one_file_per_system(
    tiny_model_dir: Path, data: Path, adapters: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "pred.jsonl"
    args = [*CLI, "--model", str(tiny_model_dir), "--data", str(data), "--limit", "5", "--adapter", f"r1={adapters['a1']}",
            "--with-base", "--max-new-tokens", "8", "--no-cache", "--out", str(out), "--json"]  # fmt: skip
    done = subprocess.run(args, capture_output=True, text=True, check=True)
    stats = json.loads(done.stdout)  # stdout is exactly one JSON object; progress went to stderr
    assert {"generated", "cache_hits", "tokens_per_s", "seconds", "backend"} <= set(stats)
    assert stats["generated"] == 10 and stats["cache_hits"] == 0 and stats["backend"] == "hf"
    assert stats["cache"] is None
    files = {s: Path(p) for s, p in stats["files"].items()}
    assert files == {"base": tmp_path / "pred.base.jsonl", "r1": tmp_path / "pred.r1.jsonl"}
    lines = [json.loads(x) for x in files["r1"].read_text(encoding="utf-8").splitlines()]
    assert len(lines) == 5 and {x["system"] for x in lines} == {"r1"}
    assert lines[0]["adapter"] == str(adapters["a1"]) and lines[0]["decoding"]["max_new_tokens"] == 8
