"""Progress displays: drawn on a terminal only, and on every long step (tiny model, big files, bootstrap)."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

import harness.progress as progress


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> io.StringIO:
    """Progress drawn on a fake terminal; returns what it wrote."""
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=120)
    monkeypatch.setattr(progress, "stderr_console", lambda: console)
    return out


def test_nothing_is_drawn_off_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    with progress.bar("reading", 10) as advance:
        advance(10)
    with progress.stages("building", 2) as stage:
        stage("one")
        stage("two")
    assert capsys.readouterr() == ("", "")


@pytest.mark.parametrize("steps,size", [(1000, 1), (7, 3), (3, 1000)])
def test_a_bar_ends_at_its_total_whatever_the_step(terminal: io.StringIO, steps: int, size: int) -> None:
    with progress.bar("reading data.jsonl", steps * size) as advance:
        for _ in range(steps):
            advance(size)
    shown = terminal.getvalue()
    assert "reading data.jsonl" in shown and f"{steps * size}/{steps * size}" in shown


def test_stages_end_complete(terminal: io.StringIO) -> None:
    with progress.stages("tiny model", 2) as stage:
        stage("training the tokenizer")
        stage("saving")
    assert "tiny model" in terminal.getvalue() and "2/2" in terminal.getvalue()


class Recorder:
    """Stands in for harness.progress.bar / stages and keeps what each was told."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, float, list]] = []

    @contextmanager
    def __call__(self, label: str, total: float, **_: object) -> Iterator[Callable]:
        seen: list = []
        self.calls.append((label, total, seen))
        yield seen.append


def test_the_tiny_model_build_names_each_stage(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from harness.training.tiny import build_tiny_model

    corpus = tmp_path / "corpus.txt"
    corpus.write_text("患者：头痛三天了。\n医生：发烧吗？\n" * 20, encoding="utf-8")
    record = Recorder()
    monkeypatch.setattr(progress, "stages", record)
    build_tiny_model(corpus, tmp_path / "tiny", hidden=64, heads=2, kv_heads=1, layers=1, vocab_size=300)
    assert record.calls == [
        (
            "tiny model",
            4,
            ["reading the corpus", "training the tokenizer", "initialising the model", "saving"],
        )
    ]


def test_a_big_json_lines_file_gets_a_bar_of_its_bytes(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import harness.jsonl as jsonl

    path = tmp_path / "big.jsonl"
    path.write_text("".join(json.dumps({"i": i}) + "\n" for i in range(50)), encoding="utf-8")
    record = Recorder()
    monkeypatch.setattr(progress, "bar", record)
    monkeypatch.setattr(jsonl, "BIG_FILE", 100)
    assert len(list(jsonl.iter_json_objects(path))) == 50
    ((label, total, advances),) = record.calls
    assert (label, total, sum(advances)) == ("reading big.jsonl", path.stat().st_size, path.stat().st_size)
    monkeypatch.setattr(jsonl, "BIG_FILE", path.stat().st_size + 1)  # a small file: total 0, no bar
    list(jsonl.iter_json_objects(path))
    assert record.calls[1][1] == 0


def test_the_bootstrap_bar_leaves_the_intervals_unchanged(monkeypatch: pytest.MonkeyPatch) -> None:
    from harness.scoring import metrics as M
    from harness.scoring import stats

    counts = np.random.default_rng(3).integers(0, 3, size=(3000, M.N_COLUMNS))
    plain = stats.bootstrap_ci(counts, resamples=300, seed=1)
    record = Recorder()
    monkeypatch.setattr(progress, "bar", record)
    monkeypatch.setattr(stats, "_BAR_CELLS", 1)
    assert stats.bootstrap_ci(counts, resamples=300, seed=1) == plain
    ((label, total, advances),) = record.calls
    assert label == "bootstrap" and total == len(advances) > 1
