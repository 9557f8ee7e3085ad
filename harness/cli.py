"""The `harness` command: a thin click group whose verbs load lazily (heavy backends never load at start-up)."""

from __future__ import annotations

import importlib

import click

from harness import __version__
from harness.errors import HarnessError

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
}

SHORT_HELP: dict[str, str] = {
    "data": "Read, inspect, convert and synthesize PromptCBLUE records.",
    "models": "Build tiny Qwen2-architecture models for demos and tests.",
    "score": "Score predictions against gold (official + revised protocol).",
    "synonyms": "Suggest, add and check curated synonym dictionaries.",
    "train": "Train a LoRA adapter (the study's recipe by default).",
    "generate": "Generate predictions with vllm, hf or an OpenAI-compatible server.",
    "run": "Run a whole suite: data, train, generate, score, report, gate.",
    "report": "Render the terminal and HTML reports of a run.",
    "rescore": "Re-score a run's stored predictions without generating.",
    "compare": "Paired comparison of two systems (bootstrap, McNemar).",
    "gate": "Regression gate against a baseline; exit 1 on a regression.",
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


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="harness")
def cli() -> None:
    """harness: evaluate, train and regression-test small LLMs on Chinese medical tasks.

    `harness run suites/demo.yaml` runs the built-in demo end to end.
    """


def main() -> None:
    cli()
