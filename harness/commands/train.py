"""`harness train`: train one LoRA adapter from PromptCBLUE files through a data recipe."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from harness.commands._common import console_for, emit_json, json_option

# CLI flag -> TrainConfig field (only the flags the user actually gave override the config).
_FLAGS = {
    "target_modules": "target_modules",
    "epochs": "epochs",
    "max_steps": "max_steps",
    "lr": "lr",
    "batch_size": "batch_size",
    "grad_accum": "grad_accum",
    "max_length": "max_length",
    "rank": "r",
    "alpha": "lora_alpha",
    "dropout": "lora_dropout",
    "dtype": "dtype",
    "eval_steps": "eval_steps",
    "save_steps": "save_steps",
    "seed": "seed",
    "system_prompt": "system_prompt",
}


def _load_config(path: str | None, overrides: dict[str, Any]) -> Any:
    """TrainConfig from the --config file and the flags; an error names the flag or file key."""
    from pydantic import ValidationError

    from harness.errors import HarnessError
    from harness.safeio import read_yaml_file
    from harness.training.lora import TrainConfig

    base: dict[str, Any] = {}
    if path:
        data = read_yaml_file(path, "training config")
        if data is None:
            data = {}  # an empty file: every default
        if not isinstance(data, dict):
            raise HarnessError(
                f"{path}: expected a mapping of TrainConfig fields (key: value), got {type(data).__name__}"
            )
        base = data
    flag_of = {field: "--" + flag.replace("_", "-") for flag, field in _FLAGS.items()}
    flag_of["merge"] = "--merge"
    try:
        return TrainConfig(**{**{str(k): v for k, v in base.items()}, **overrides})
    except ValidationError as e:
        msgs = []
        for err in e.errors():
            name = str(err["loc"][0]) if err["loc"] else ""
            where = flag_of[name] if name in overrides else f"{path}: {name}" if path else name
            if err["type"] == "extra_forbidden":
                msgs.append(f"{where}: unknown key (valid keys: {', '.join(TrainConfig.model_fields)})")
            else:
                msgs.append(f"{where}: {err['msg']}, got {err['input']!r}")
        raise HarnessError("bad training config: " + "; ".join(msgs)) from None


@click.command("train")
@click.option("--model", required=True, help="Base model: a local folder or a hub id (id@revision).")
@click.option(
    "--data",
    "data",
    required=True,
    multiple=True,
    type=click.Path(dir_okay=False),
    help="Training source file(s), PromptCBLUE JSON lines (repeatable).",
)
@click.option(
    "--dev", "dev", multiple=True, type=click.Path(dir_okay=False), help="Dev source file(s) (repeatable)."
)
@click.option(
    "--test",
    "test",
    multiple=True,
    type=click.Path(dir_okay=False),
    help="Test file(s): only checked for contamination, never trained on.",
)
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(file_okay=False),
    help="Root folder; the run lands in a content-addressed sub-folder.",
)
@click.option(
    "--recipe",
    default="round1",
    show_default=True,
    type=click.Choice(["round1", "round2", "round3", "custom"]),
    help="How train/dev records are chosen from the sources.",
)
@click.option("--task-type", default=None, help="custom recipe: keep only this task_type.")
@click.option("--task-dataset", default=None, help="custom recipe: keep only this task_dataset.")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    help="YAML/JSON file of TrainConfig fields (flags override it).",
)
@click.option(
    "--target-modules",
    default=None,
    help="Comma-separated module names, or all-linear. [default: q_proj,k_proj,v_proj,o_proj]",
)
@click.option("--epochs", type=float, default=None, help="Epochs. [default: 3]")
@click.option("--max-steps", type=int, default=None, help="Stop after this many optimizer steps.")
@click.option("--lr", type=float, default=None, help="Learning rate. [default: 2e-4]")
@click.option("--batch-size", type=int, default=None, help="Per-device batch size. [default: 2]")
@click.option("--grad-accum", type=int, default=None, help="Gradient accumulation steps. [default: 8]")
@click.option(
    "--max-length",
    type=int,
    default=None,
    help="Max tokens per example; prompts are cut, answers never. [default: 1024]",
)
@click.option("--rank", type=int, default=None, help="LoRA r. [default: 8]")
@click.option("--alpha", type=int, default=None, help="LoRA alpha. [default: 16]")
@click.option("--dropout", type=float, default=None, help="LoRA dropout. [default: 0.05]")
@click.option(
    "--dtype",
    type=click.Choice(["auto", "bf16", "fp32"]),
    default=None,
    help="auto: bf16 on GPUs that support it; on CPU bf16 from 50M parameters up (faster there), else fp32. [default: auto]",
)
@click.option("--eval-steps", type=int, default=None, help="Evaluate on dev every N steps. [default: 50]")
@click.option(
    "--save-steps", type=int, default=None, help="Checkpoint every M steps (resume point). [default: 50]"
)
@click.option(
    "--seed", type=int, default=None, help="Seed for data order, dropout and LoRA init. [default: 0]"
)
@click.option("--system-prompt", default=None, help="System turn for every prompt (must match generation).")
@click.option(
    "--merge", is_flag=True, help="Also write merged/ (merge_and_unload); reload it from disk before use."
)
@click.option("--no-progress", is_flag=True, help="No progress bar.")
@json_option
def train(
    model: str,
    data: tuple[str, ...],
    dev: tuple[str, ...],
    test: tuple[str, ...],
    out: str,
    recipe: str,
    task_type: str | None,
    task_dataset: str | None,
    config_path: str | None,
    merge: bool,
    no_progress: bool,
    as_json: bool,
    **flags: Any,
) -> None:
    """Train a LoRA adapter on MODEL (the study's recipe by default) and report losses.

    A finished run with the same model, data and config is not trained again; a killed one
    resumes from its last checkpoint. Contamination between train, dev and test is reported.
    """
    from harness.datasets.contamination import detect_contamination
    from harness.errors import HarnessError
    from harness.modelzoo.identity import check_base_model
    from harness.training.lora import train_lora
    from harness.training.recipes import get_recipe, load_source

    console = console_for(as_json)
    overrides = {_FLAGS[k]: v for k, v in flags.items() if v is not None}
    if merge:
        overrides["merge"] = True
    config = _load_config(config_path, overrides)
    options: dict[str, Any] = {"seed": config.seed}
    if recipe == "custom":
        options.update(task_type=task_type, task_dataset=task_dataset)
    elif task_type or task_dataset:
        raise HarnessError("--task-type/--task-dataset only apply to --recipe custom")
    check_base_model(model, "--model")  # before reading data: a wrong --model fails in a second
    test_records = load_source(list(test))
    if recipe == "round3":
        options["exclude"] = test_records
    train_records, dev_records = get_recipe(recipe)(list(data), list(dev) or None, **options)
    findings = detect_contamination(train_records, dev_records, test_records, task_type, task_dataset)
    for f in findings:
        console.print(
            f"[yellow]contamination ({f.severity}): {f.kind} {f.splits[0]}→{f.splits[1]}: {f.detail}[/yellow]"
        )
    console.print(f"recipe {recipe}: {len(train_records)} train, {len(dev_records)} dev records")
    result = train_lora(
        model, train_records, dev_records or None, Path(out), config, progress=not no_progress
    )
    payload = {
        **result.to_json(),
        "recipe": recipe,
        "n_train": len(train_records),
        "n_dev": len(dev_records),
        "contamination": [f.to_json() for f in findings],
    }
    if as_json:
        emit_json(payload)
        return
    state = "already trained (skipped)" if result.skipped else f"trained in {result.seconds:.1f}s"
    if result.resumed_from:
        state += f", resumed from step {result.resumed_from_step} ({result.resumed_from})"
    console.print(f"adapter: {result.adapter_dir} ({state}, {result.steps} steps, {result.dtype})")
    if result.merged_dir:
        console.print(f"merged: {result.merged_dir}")
    if result.train_losses:
        console.print(f"train loss {result.train_loss_first:.4f} → {result.train_loss_last:.4f}")
    if result.eval_losses:
        console.print("eval loss: " + ", ".join(f"{e['step']}:{e['loss']:.4f}" for e in result.eval_losses))
