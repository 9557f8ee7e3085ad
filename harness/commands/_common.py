"""Helpers every verb shares: the --json option, JSON on stdout, logs on stderr."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import click
from rich.console import Console

# Logs, progress and tables go to stderr when --json owns stdout; see `console_for`.
stderr_console = Console(stderr=True)
stdout_console = Console()


def json_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--json", "as_json", is_flag=True, help="Print one JSON object on stdout; logs go to stderr."
    )(f)


def console_for(as_json: bool) -> Console:
    """Where human-readable output goes: stderr when stdout is reserved for JSON."""
    return stderr_console if as_json else stdout_console


def emit_json(obj: Any) -> None:
    click.echo(json.dumps(obj, ensure_ascii=False, indent=2, default=str))
