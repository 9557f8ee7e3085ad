"""Tiny Qwen2-architecture models (a byte-level BPE tokenizer + random Qwen2ForCausalLM) for demos and tests.

Nothing can be downloaded in CI, so the demo and the tests build their own model from a corpus.
The chat template has the structure of Qwen2.5's (<|im_start|>role\\n…<|im_end|>\\n) but, unlike
Qwen2.5, adds NO default system prompt when the conversation has none: a tiny model's context is
precious and the default prompt would be ~20 tokens of noise in every training example.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from harness.errors import HarnessError, require_file

ENDOFTEXT = "<|endoftext|>"
IM_START = "<|im_start|>"
IM_END = "<|im_end|>"
SPECIAL_TOKENS = [ENDOFTEXT, IM_START, IM_END]

# Qwen2.5's template without tools and without the default system prompt (see the module doc).
CHAT_TEMPLATE = (
    "{%- for message in messages %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)


def iter_corpus(path: str | Path) -> Iterator[str]:
    """Texts of a corpus: input and target of each PromptCBLUE JSON line, or each line of plain text."""
    p = require_file(path, "corpus")
    with p.open(encoding="utf-8") as f:
        for line in f:
            stripped = line.strip()
            if not stripped:
                continue
            if stripped.startswith("{"):
                try:
                    obj = json.loads(stripped)
                except json.JSONDecodeError:
                    obj = None
                if isinstance(obj, dict) and ("input" in obj or "target" in obj):
                    for key in ("input", "target"):
                        if isinstance(obj.get(key), str) and obj[key]:
                            yield obj[key]
                    continue
            yield line.rstrip("\n")


def _train_tokenizer(
    texts: list[str], vocab_size: int, words: list[str] | None = None
):  # -> PreTrainedTokenizerFast
    import re

    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    if words:
        # Each entity word is its own pre-token, so BPE never glues it to its neighbours
        # ("有乏力吗" → 有 | 乏力 | 吗): the dialogue, the entity list and the answer then spell a
        # finding with the same token, which is what copying and reading polarity rely on.
        split = pre_tokenizers.Split(Regex("|".join(re.escape(w) for w in words)), behavior="isolated")
        tok.pre_tokenizer = pre_tokenizers.Sequence([split, byte_level])
    else:
        tok.pre_tokenizer = byte_level
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),  # every byte is encodable
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token=IM_END,
        pad_token=ENDOFTEXT,
        unk_token=None,
        bos_token=None,
        chat_template=CHAT_TEMPLATE,
        model_max_length=2048,
        padding_side="right",
        clean_up_tokenization_spaces=False,
    )


def build_tiny_model(
    corpus_path: str | Path,
    out_dir: str | Path,
    *,
    seed: int = 0,
    hidden: int = 128,
    layers: int = 2,
    vocab_size: int = 4096,
    heads: int = 4,
    kv_heads: int = 2,
    intermediate: int | None = None,
    max_positions: int = 2048,
    init_std: float | None = None,
    entity_tokens: bool = False,
    copy_steps: int = 0,
) -> Path:
    """Train a BPE tokenizer on the corpus and save it with a random Qwen2ForCausalLM to `out_dir`.

    `entity_tokens`: the entity names of the corpus's answers (see `tiny_pretrain.entity_words`)
    become whole pre-tokens. `copy_steps`: then train the whole model that many steps on copy
    drills over those words (`tiny_pretrain`), so it starts with the skill of copying names from
    its prompt, as an instruct model does (about 1 min for 1,500 steps on 2 CPU cores).
    Same corpus and seed → the same bytes on disk (on one machine and torch build). head_dim = hidden / heads must be a multiple
    of 16 and ≥ 32 so vLLM's CPU attention kernels accept the model.
    """
    if hidden % heads or heads % kv_heads:
        raise HarnessError(
            f"hidden ({hidden}) must divide by heads ({heads}), heads by kv_heads ({kv_heads})"
        )
    head_dim = hidden // heads
    if head_dim < 32 or head_dim % 16:
        raise HarnessError(f"head_dim = hidden/heads = {head_dim}: use a multiple of 16, at least 32 (vLLM)")
    texts = list(iter_corpus(corpus_path))
    if not texts:
        raise HarnessError(f"corpus is empty: {corpus_path}")
    if vocab_size < 256 + len(SPECIAL_TOKENS):
        raise HarnessError(f"vocab_size {vocab_size} is below the 259 byte and special tokens")

    import torch
    from transformers import GenerationConfig, Qwen2Config, Qwen2ForCausalLM
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # a "writing shards" bar for one 2 MB file is noise

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    from harness.training.tiny_pretrain import entity_words, pretrain_copy

    words = entity_words(texts) if entity_tokens or copy_steps else []
    tokenizer = _train_tokenizer(texts, vocab_size, words if entity_tokens else None)
    eos_id = tokenizer.convert_tokens_to_ids(IM_END)
    pad_id = tokenizer.convert_tokens_to_ids(ENDOFTEXT)
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        intermediate_size=intermediate or 4 * hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=kv_heads,
        max_position_embeddings=max_positions,
        rope_theta=10000.0,
        tie_word_embeddings=True,
        # Variance-preserving init (1/sqrt(hidden)) instead of Qwen's 0.02: LoRA never touches
        # the tied embeddings, and with 0.02 they cap every logit near 2.5, so a LoRA-only
        # model could never get confident (the loss stalls near ln(vocab) - 2).
        initializer_range=init_std if init_std is not None else hidden**-0.5,
        bos_token_id=pad_id,
        eos_token_id=eos_id,
        pad_token_id=pad_id,
        torch_dtype="float32",
    )
    torch.manual_seed(seed)
    model = Qwen2ForCausalLM(config)
    model.generation_config = GenerationConfig(
        bos_token_id=pad_id, eos_token_id=[eos_id, pad_id], pad_token_id=pad_id, do_sample=False
    )
    if copy_steps:
        pretrain_copy(model, tokenizer, words, copy_steps, seed=seed)
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    return out


def count_parameters(model_dir: str | Path) -> int:
    """Parameters of a saved model (for reports), read from its safetensors headers only."""
    from safetensors import safe_open

    total = 0
    for f in sorted(Path(model_dir).glob("*.safetensors")):
        with safe_open(f, framework="pt") as st:
            for name in st.keys():  # noqa: SIM118 (safe_open is not a dict)
                total += _numel(st.get_slice(name).get_shape())
    return total


def _numel(shape: list[int]) -> int:
    n = 1
    for d in shape:
        n *= d
    return n
