"""The HF Trainer run behind `train_lora` (heavy imports live here, loaded only when training).

A resumed run must end where an uninterrupted one ends. The Trainer restores the optimizer,
scheduler and RNG states, but its length-grouped sampler draws each epoch's order from the
global torch RNG, which an uninterrupted run has advanced (dropout) and a resumed one has not:
from the second epoch on the two saw the data in different orders. `SeededLengthGroupedSampler`
draws epoch e's order from its own generator seeded with (data seed, e), like the Trainer's
random sampler already does.

Where the time goes (SmolLM2-135M shape, 400–1,400-token examples, ~40% of them trained; see
benchmarks/test_training_bench.py): the LM head and the fp32 cross-entropy over a 49k vocabulary
cost as much as the 30 layers when run on every position, yet the loss needs only the ~40% whose
next token is trained; and on CPU a padded batch makes attention take an explicit mask, which
the causal kernel cannot skip blocks of. `SeededTrainer.compute_loss` therefore asks the model for
logits at trained positions only (`logits_to_keep`, which every transformers causal LM honours,
softcapping and scaling included) and, on CPU, runs the rows of a batch one by one, unpadded.
The loss is the same sum over trained tokens divided by the same count as the HF loss.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from safetensors import SafetensorError
from transformers import Trainer
from transformers.trainer_pt_utils import LengthGroupedSampler, get_length_grouped_indices

from harness.errors import HarnessError
from harness.memory import peak_memory, reset_peak_memory
from harness.modelzoo.identity import resolve_dtype
from harness.records import Record
from harness.training.data import IGNORE_INDEX, PadCollator, encode_records
from harness.training.lora import TrainConfig, _optim

log = logging.getLogger(__name__)


class SeededLengthGroupedSampler(LengthGroupedSampler):
    """Length-grouped order that depends only on the seed and the epoch (resume-safe)."""

    def __init__(self, batch_size: int, lengths: list[int], seed: int) -> None:
        super().__init__(batch_size, lengths=lengths)
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        # The Trainer calls this before every epoch, on a fresh run and on a resumed one alike.
        self.epoch = epoch

    def __iter__(self):  # type: ignore[override]
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        return iter(get_length_grouped_indices(self.lengths, self.batch_size, generator=generator))


class SeededTrainer(Trainer):
    """The HF Trainer with a resume-safe length-grouped sampler and a loss on trained tokens only."""

    def compute_loss(  # type: ignore[override]
        self,
        model: Any,
        inputs: dict[str, torch.Tensor],
        return_outputs: bool = False,
        num_items_in_batch: torch.Tensor | int | None = None,
    ) -> Any:
        ids, labels, mask = inputs["input_ids"], inputs["labels"], inputs["attention_mask"]
        total = trained_loss_sum(model, ids, labels, mask, by_row=ids.device.type == "cpu")
        # As the HF loss: over the whole accumulated batch when the Trainer counted it (it then
        # skips its own division by the accumulation steps), else over this batch.
        if num_items_in_batch is not None and self.model_accepts_loss_kwargs:
            count = num_items_in_batch
        else:
            count = (labels[:, 1:] != IGNORE_INDEX).sum()
        loss = total / count
        return (loss, {"loss": loss}) if return_outputs else loss

    def _get_train_sampler(self, train_dataset: Any = None) -> Any:
        dataset = self.train_dataset if train_dataset is None else train_dataset
        if self.args.train_sampling_strategy != "group_by_length" or dataset is None:
            return super()._get_train_sampler(train_dataset)
        seed = self.args.data_seed if self.args.data_seed is not None else self.args.seed
        return SeededLengthGroupedSampler(
            self.args.train_batch_size * self.args.gradient_accumulation_steps,
            [len(row["input_ids"]) for row in dataset],
            seed,
        )


def trained_loss_sum(
    model: Any, ids: torch.Tensor, labels: torch.Tensor, mask: torch.Tensor, *, by_row: bool
) -> torch.Tensor:
    """Summed cross-entropy of the trained next tokens of a right-padded batch (fp32).

    Logits are computed only where the next token is trained. `by_row`: one unpadded forward
    per row (CPU: attention then runs the causal kernel without a mask) instead of one
    batched forward with the attention mask.
    """
    if by_row:
        lengths = mask.sum(dim=1).tolist()
        parts = [(ids[i : i + 1, :n], labels[i : i + 1, :n], None) for i, n in enumerate(lengths)]
    else:
        parts = [(ids, labels, mask)]
    total = torch.zeros((), dtype=torch.float32, device=ids.device)
    for part_ids, part_labels, part_mask in parts:
        targets = part_labels[:, 1:]
        keep = (targets != IGNORE_INDEX).any(dim=0).nonzero().squeeze(1)  # trained in any row
        logits = model(input_ids=part_ids, attention_mask=part_mask, logits_to_keep=keep).logits
        total = total + F.cross_entropy(
            logits.float().flatten(0, 1),
            targets[:, keep].flatten(),
            ignore_index=IGNORE_INDEX,
            reduction="sum",
        )
    return total


def run_trainer(
    base_model: str,
    train: list[Record],
    dev: list[Record] | None,
    out_dir: Path,
    config: TrainConfig,
    *,
    resume_from: Path | None,
    progress: bool,
) -> dict[str, Any]:
    """Encode, build the peft model, train (resuming when a checkpoint is given), save the adapter."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from peft import LoraConfig, TaskType, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer, TrainingArguments, set_seed
    from transformers.trainer_callback import PrinterCallback
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()  # the progress bar and our JSON say what matters
    hf_logging.disable_progress_bar()
    dtype = resolve_dtype(config.dtype, base_model)
    try:
        tokenizer = AutoTokenizer.from_pretrained(base_model)
    except (OSError, ValueError) as e:
        raise HarnessError(f"cannot load the tokenizer of {base_model}: {e}") from None
    if not tokenizer("患者：发烧。", add_special_tokens=False)["input_ids"]:
        # transformers builds an empty tokenizer from a config.json alone: every text → no tokens.
        raise HarnessError(
            f"the tokenizer of {base_model} turns text into no tokens: the folder lacks its "
            "tokenizer files (tokenizer.json, or vocab.json and merges.txt)"
        )
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    if pad_id is None:
        raise HarnessError(f"the tokenizer of {base_model} has neither a pad nor an eos token to pad with")
    train_rows, train_stats = encode_records(tokenizer, train, config.max_length, config.system_prompt)
    dev_rows, dev_stats = (
        encode_records(tokenizer, dev, config.max_length, config.system_prompt) if dev else ([], None)
    )
    if not train_rows:
        raise HarnessError(
            f"no training example fits: every one of the {len(train)} training answers is longer than "
            f"max_length={config.max_length} tokens (raise --max-length)"
        )
    if train_stats.truncated:
        log.warning(
            "%d of %d training prompts truncated to fit max_length", train_stats.truncated, len(train)
        )

    set_seed(config.seed)  # the LoRA A matrices are random: seed them too
    # bf16: frozen base weights in bf16 (half the memory, native bf16 matmuls); the Trainer
    # autocasts, and peft keeps the adapter weights in fp32 so the optimizer state stays exact.
    try:
        model = AutoModelForCausalLM.from_pretrained(
            base_model, dtype=torch.bfloat16 if dtype == "bfloat16" else torch.float32
        )
    except (OSError, SafetensorError) as e:  # missing or damaged weight files
        raise HarnessError(f"cannot load the model {base_model}: {e}") from None
    model.config.use_cache = False
    lora = LoraConfig(
        r=config.r,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules=config.target_modules,
        bias=config.bias,
        task_type=TaskType.CAUSAL_LM,
    )
    model = get_peft_model(model, lora)

    has_dev = bool(dev_rows)
    args = TrainingArguments(
        output_dir=str(out_dir / "checkpoints"),
        num_train_epochs=config.epochs,
        max_steps=config.max_steps or -1,
        learning_rate=config.lr,
        per_device_train_batch_size=config.batch_size,
        per_device_eval_batch_size=config.batch_size,
        gradient_accumulation_steps=config.grad_accum,
        weight_decay=config.weight_decay,
        warmup_steps=config.warmup_ratio,  # transformers 5: a float < 1 is a ratio
        lr_scheduler_type=config.lr_scheduler,
        optim=_optim(),
        bf16=dtype == "bfloat16",
        seed=config.seed,
        data_seed=config.seed,
        eval_strategy="steps" if has_dev else "no",
        eval_steps=config.eval_steps,
        save_strategy="steps",
        save_steps=config.save_steps,
        save_total_limit=config.save_total_limit,
        logging_steps=config.logging_steps,
        train_sampling_strategy="group_by_length" if config.group_by_length else "random",
        include_num_input_tokens_seen="non_padding",
        prediction_loss_only=True,  # evaluation reports the loss; compute_loss keeps no logits
        report_to="none",
        disable_tqdm=True,
        dataloader_num_workers=0,
        dataloader_pin_memory=torch.cuda.is_available(),
        remove_unused_columns=False,
        use_cpu=not torch.cuda.is_available(),  # bf16 on CPU must be asked for explicitly
    )
    callbacks = []
    if progress:
        from harness.training.progress import RichProgressCallback

        callbacks.append(RichProgressCallback(out_dir.name))
    trainer = SeededTrainer(
        model=model,
        args=args,
        train_dataset=train_rows,
        eval_dataset=dev_rows or None,
        data_collator=PadCollator(pad_id),
        processing_class=tokenizer,
        callbacks=callbacks,
    )
    # With tqdm off the Trainer prints every log dict to stdout, which --json owns.
    trainer.remove_callback(PrinterCallback)
    tokens_before = 0
    if resume_from is not None:
        import json

        state = json.loads((resume_from / "trainer_state.json").read_text(encoding="utf-8"))
        tokens_before = int(state.get("num_input_tokens_seen", 0) or 0)
    reset_peak_memory()  # this round's peak, not an earlier round's in the same process
    start = time.perf_counter()
    trainer.train(resume_from_checkpoint=str(resume_from) if resume_from else None)
    train_seconds = time.perf_counter() - start
    if has_dev:
        last_eval = max((h["step"] for h in trainer.state.log_history if "eval_loss" in h), default=-1)
        if last_eval != trainer.state.global_step:
            trainer.evaluate()  # the eval curve always ends at the final step
    adapter_dir = out_dir / "adapter"
    trainer.save_model(str(adapter_dir))
    tokenizer.save_pretrained(str(adapter_dir))
    tokens = int(trainer.state.num_input_tokens_seen or 0) - tokens_before
    return {
        "log_history": trainer.state.log_history,
        "steps": trainer.state.global_step,
        "dtype": dtype,
        "data": {
            "train": train_stats.to_json(),
            "dev": dev_stats.to_json() if dev_stats else None,
            "train_seconds": round(train_seconds, 3),
        },
        "tokens_per_s": round(tokens / train_seconds, 1) if train_seconds > 0 and tokens > 0 else None,
        **peak_memory(),
    }
