"""Fixtures for the suite runner's tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from suite_fixtures import make_fake_run

from harness.runs import RunDir


@pytest.fixture
def fake_run(tmp_path: Path) -> RunDir:
    return make_fake_run(tmp_path / "reports" / "fake" / "run1")
