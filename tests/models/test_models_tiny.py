"""`harness models tiny` writes its folder with the modes the process umask gives."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from click.testing import CliRunner

from harness.cli import cli


def test_tiny_follows_the_umask(synth_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "tiny"
    old = os.umask(0o027)
    try:
        result = CliRunner().invoke(
            cli,
            [
                "models",
                "tiny",
                "--corpus",
                str(synth_path),
                "--out",
                str(out),
                "--vocab-size",
                "400",
                "--layers",
                "1",
            ],
            catch_exceptions=False,
        )
    finally:
        os.umask(old)
    assert result.exit_code == 0, result.stdout + result.stderr
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in out.iterdir()}
    assert "model.safetensors" in modes and set(modes.values()) == {0o640}, modes
    assert stat.S_IMODE(out.stat().st_mode) == 0o750
