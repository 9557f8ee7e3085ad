"""The `harness` command: a thin click group whose verbs load lazily (heavy backends never load at start-up)."""

from __future__ import annotations

import errno
import importlib
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path

import click

from harness import __version__
from harness.errors import EXIT_BAD_INPUT, EXIT_INTERNAL, HarnessError

# verb -> "module:attribute" of its click command; imported only when the verb runs.
VERBS: dict[str, str] = {
    "data": "harness.commands.data:data",
    "models": "harness.commands.models:models",
    "score": "harness.commands.score:score",
    "synonyms": "harness.commands.synonyms:synonyms",
    "train": "harness.commands.train:train",
    "generate": "harness.commands.generate:generate",
    "run": "harness.commands.run:run",
    "report": "harness.commands.run:report",
    "rescore": "harness.commands.run:rescore",
    "compare": "harness.commands.run:compare",
    "gate": "harness.commands.run:gate",
    "runs": "harness.commands.runs:runs",
}

SHORT_HELP: dict[str, str] = {
    "data": "Read, inspect, convert and synthesize PromptCBLUE records.",
    "models": "Build tiny models, fetch SmolLM2, import GGUF files (no hub).",
    "score": "Score predictions against gold (official + revised protocol).",
    "synonyms": "Suggest, add and check curated synonym dictionaries.",
    "train": "Train a LoRA adapter (the study's recipe by default).",
    "generate": "Generate predictions with vllm, hf or an OpenAI-compatible server.",
    "run": "Run a whole suite: data, train, generate, score, report, gate.",
    "report": "Render the terminal and HTML reports of a run.",
    "rescore": "Re-score a run's stored predictions without generating.",
    "compare": "Paired comparison of two systems (bootstrap, McNemar).",
    "gate": "Regression gate against a baseline; exit 1 on a regression.",
    "runs": "List past runs, newest first, with their headline numbers.",
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(VERBS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = VERBS.get(cmd_name)
        if target is None:
            return None
        module, attr = target.split(":")
        return getattr(importlib.import_module(module), attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Listing verbs must not import them, so the short help lives here.
        with formatter.section("Commands"):
            formatter.write_dl([(name, SHORT_HELP[name]) for name in VERBS])

    def invoke(self, ctx: click.Context):  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except HarnessError as e:
            click.echo(f"error: {e}", err=True)
            ctx.exit(e.exit_code)
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit):
            raise
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(130)
        except OSError as e:
            # The machine said no (permissions, a full disk, a path of the wrong kind): the user's to fix.
            if e.errno in _USER_ERRNOS and not _debug(ctx):
                where = f"{e.filename}: " if e.filename else ""
                click.echo(f"error: {where}{e.strerror or e}", err=True)
                ctx.exit(EXIT_BAD_INPUT)
            _internal_error(ctx, e)
        except Exception as e:  # the one guard: a bug in harness, never a raw traceback
            _internal_error(ctx, e)


# errno values that describe the user's files or machine, not a bug in harness.
_USER_ERRNOS = {
    errno.EACCES,
    errno.EPERM,
    errno.ENOENT,
    errno.ENOTDIR,
    errno.EISDIR,
    errno.ENOSPC,
    errno.EROFS,
    errno.EEXIST,
    errno.ENAMETOOLONG,
    errno.EDQUOT,
    errno.ENXIO,
    errno.ELOOP,
}


def _debug(ctx: click.Context) -> bool:
    return bool(ctx.find_root().params.get("debug")) or os.environ.get("HARNESS_DEBUG") == "1"


def _internal_error(ctx: click.Context, e: BaseException) -> None:
    """Print one line and where the full traceback went; exit 3. With --debug, the traceback itself."""
    text = "".join(traceback.format_exception(e))
    if _debug(ctx):
        click.echo(text, err=True, nl=False)
    else:
        saved = _save_traceback(text)
        where = f"the traceback is in {saved}" if saved else "the traceback could not be saved"
        click.echo(
            f"internal error: {type(e).__name__}: {str(e)[:300]} ({where}; rerun with --debug to see it)",
            err=True,
        )
    ctx.exit(EXIT_INTERNAL)


def _save_traceback(text: str) -> Path | None:
    """Write the traceback under the cache folder (else the temp folder); its path, or None."""
    roots = [os.environ.get("HARNESS_CACHE_DIR"), Path.home() / ".cache" / "harness", tempfile.gettempdir()]
    for root in roots:
        if not root:
            continue
        try:
            folder = Path(root) / "crashes"
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"crash-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.txt"
            path.write_text(f"harness {__version__}: {' '.join(sys.argv)}\n\n{text}", encoding="utf-8")
            return path
        except OSError:
            continue
    return None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="harness")
@click.option("--debug", is_flag=True, help="Show the full traceback of an internal error.")
def cli(debug: bool) -> None:
    """harness: evaluate, train and regression-test small LLMs on Chinese medical tasks.

    `harness run suites/demo.yaml` runs the built-in demo end to end. Exit codes: 0 ok,
    1 a regression or problems found, 2 bad input or usage, 3 internal error (docs/errors.md).
    """


def main() -> None:
    cli()
