import subprocess
import sys

from click.testing import CliRunner

from harness.cli import VERBS, cli


def test_help_lists_every_verb() -> None:
    out = CliRunner().invoke(cli, ["--help"]).output
    for verb in (
        "data",
        "models",
        "score",
        "synonyms",
        "train",
        "generate",
        "run",
        "report",
        "rescore",
        "compare",
        "gate",
    ):
        assert verb in VERBS and f"  {verb} " in out


def test_help_imports_no_heavy_backend() -> None:
    code = (
        "import sys; from harness.cli import cli; cli(['--help'], standalone_mode=False); "
        "bad = [m for m in ('torch', 'transformers', 'vllm', 'sklearn') if m in sys.modules]; print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().endswith("[]")


def test_importing_harness_and_every_verb_loads_no_heavy_library() -> None:
    """`import harness.cli` and each verb's module (what `harness VERB --help` loads) stay light:
    torch, transformers, vllm and httpx load only when a backend or training runs."""
    code = (
        "import importlib, sys; import harness.cli; "
        "[importlib.import_module(t.split(':')[0]) for t in harness.cli.VERBS.values()]; "
        "import harness.runner, harness.generation; "
        "print([m for m in ('torch', 'transformers', 'vllm', 'httpx', 'peft') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
