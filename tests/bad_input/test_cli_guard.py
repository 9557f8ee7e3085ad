"""The CLI's one guard: an unexpected exception is one line, a saved traceback and exit 3."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from harness import cli as cli_module
from harness.cli import cli


@click.command("boom")
@click.option("--kind", default="bug")
def boom(kind: str) -> None:
    """A verb that fails the way a bug, the machine or the user would."""
    if kind == "bug":
        raise ZeroDivisionError("a bug")
    if kind == "denied":
        raise PermissionError(13, "Permission denied", "/root/x")
    raise KeyboardInterrupt


@pytest.fixture()
def broken_verb(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(cli_module.VERBS, "boom", f"{__name__}:boom")
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(tmp_path))


@pytest.mark.parametrize(
    ("argv", "exit_code", "says"),
    [
        (["boom"], 3, "internal error: ZeroDivisionError: a bug (the traceback is in"),
        (["--debug", "boom"], 3, "Traceback (most recent call last)"),
        (["boom", "--kind", "denied"], 2, "error: /root/x: Permission denied"),
        (["boom", "--kind", "interrupt"], 130, "interrupted"),
    ],
    ids=["bug", "debug", "oserror", "interrupt"],
)
def test_guard(broken_verb: None, tmp_path: Path, argv: list[str], exit_code: int, says: str) -> None:
    result = CliRunner().invoke(cli, argv, catch_exceptions=False)
    out = result.stdout + result.stderr
    assert result.exit_code == exit_code, out
    assert says in out
    if argv == ["boom"]:
        saved = list((tmp_path / "crashes").glob("crash-*.txt"))
        assert len(saved) == 1 and "ZeroDivisionError" in saved[0].read_text()
        assert "Traceback" not in out
