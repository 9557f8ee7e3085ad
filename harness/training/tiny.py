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
from harness.safeio import encoding_problem

ENDOFTEXT = "<|endoftext|>"
IM_START = "<|im_start|>"
IM_END = "<|im_end|>"
SPECIAL_TOKENS = [ENDOFTEXT, IM_START, IM_END]
MIN_VOCAB = 256 + len(SPECIAL_TOKENS)
MAX_VOCAB = 1_000_000  # far above any tiny model; 1e11 aborts the whole process inside tokenizers
MAX_PARAMETERS = 1_000_000_000  # 4 GB of float32: past this "tiny" is a typo that would exhaust memory

# Qwen2.5's template without tools and without the default system prompt (see the module doc).
CHAT_TEMPLATE = (
    "{%- for message in messages %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)


def iter_corpus(path: str | Path) -> Iterator[str]:
    """Texts of a corpus: input and target of each PromptCBLUE JSON line, or each line of plain text."""
    for _, text in _corpus_lines(path):
        yield text


def _corpus_lines(path: str | Path) -> Iterator[tuple[int, str]]:
    """(1-based line, text) of each corpus text; a corpus that is not UTF-8, or a line the
    tokenizer trainer cannot take, is an error naming the file and line."""
    p = require_file(path, "corpus")
    try:
        with p.open(encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                for text in _line_texts(p, n, line):
                    _check_runs(p, n, text)
                    yield n, text
    except UnicodeDecodeError:
        bad = encoding_problem(p.read_bytes())
        where, why = bad if bad else (1, "not UTF-8 text")
        raise HarnessError(f"{p}:{where}: {why}") from None
    except OSError as e:  # a regular file the machine cannot read (an I/O error)
        raise HarnessError(f"corpus cannot be read: {p} ({e.strerror or e})") from None


def _line_texts(p: Path, n: int, line: str) -> list[str]:
    stripped = line.strip()
    if not stripped:
        return []
    if stripped.startswith("{"):
        try:
            obj = json.loads(stripped)
        except json.JSONDecodeError:
            obj = None  # plain text that starts with "{"
        except RecursionError:
            raise HarnessError(
                f"{p}:{n}: JSON nested too deeply (more than Python's recursion limit); "
                "a corpus line is a PromptCBLUE record or plain text"
            ) from None
        if isinstance(obj, dict) and ("input" in obj or "target" in obj):
            for key in ("input", "target"):
                if obj.get(key) is not None and not isinstance(obj[key], str):
                    got = type(obj[key]).__name__
                    raise HarnessError(f"{p}:{n}: field {key}: expected a string, got {got}")
            return [obj[key] for key in ("input", "target") if isinstance(obj.get(key), str) and obj[key]]
    return [line.rstrip("\n")]


# The BPE trainer's time grows with the square of a pre-token's length (one run of 100,000 "["
# takes minutes, a longer one hours): a run longer than this is refused, not trained on.
MAX_RUN_BYTES = 30_000


def _check_runs(p: Path, n: int, text: str) -> None:
    if len(text.encode("utf-8")) <= MAX_RUN_BYTES:  # no run can be longer than its text
        return
    from tokenizers import pre_tokenizers

    pieces = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True).pre_tokenize_str(text)
    longest = max(pieces, key=lambda piece: len(piece[0]))
    if len(longest[0]) > MAX_RUN_BYTES:
        start, end = longest[1]
        raise HarnessError(
            f"{p}:{n}: a run of {end - start:,} characters without a space or punctuation break "
            f"({text[start : start + 20]!r}…): the tokenizer trainer would take hours on it; "
            f"break it up or drop the line (at most {MAX_RUN_BYTES:,} bytes a run)"
        )


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
    _check_settings(
        seed=seed, hidden=hidden, layers=layers, heads=heads, kv_heads=kv_heads, vocab_size=vocab_size
    )
    if hidden % heads or heads % kv_heads:
        raise HarnessError(
            f"hidden ({hidden}) must divide by heads ({heads}), heads by kv_heads ({kv_heads})"
        )
    head_dim = hidden // heads
    if head_dim < 32 or head_dim % 16:
        raise HarnessError(f"head_dim = hidden/heads = {head_dim}: use a multiple of 16, at least 32 (vLLM)")
    if vocab_size < MIN_VOCAB:
        raise HarnessError(f"vocab_size {vocab_size} is below the {MIN_VOCAB} byte and special tokens")
    _check_size(MIN_VOCAB, hidden, layers, intermediate or 4 * hidden)  # before any work
    from harness.progress import stages

    out = Path(out_dir)
    # a big corpus takes minutes to read and to train a tokenizer on: show the stage running
    with stages("tiny model", 5 if copy_steps else 4) as stage:
        stage("reading the corpus")
        texts = list(iter_corpus(corpus_path))
        if not texts:
            raise HarnessError(f"corpus is empty: {corpus_path}")

        import torch
        from transformers import GenerationConfig, Qwen2Config, Qwen2ForCausalLM
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # a "writing shards" bar for one 2 MB file is noise

        try:
            out.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise HarnessError(
                f"--out {out}: it, or a folder above it, is a file; give a folder path"
            ) from None
        except OSError as e:
            raise HarnessError(f"--out {out}: cannot create the folder ({e.strerror or e})") from None
        from harness.training.tiny_pretrain import entity_words, pretrain_copy

        words = entity_words(texts) if entity_tokens or copy_steps else []
        stage("training the tokenizer")
        tokenizer = _train_tokenizer(texts, vocab_size, words if entity_tokens else None)
        eos_id = tokenizer.convert_tokens_to_ids(IM_END)
        pad_id = tokenizer.convert_tokens_to_ids(ENDOFTEXT)
        _check_size(len(tokenizer), hidden, layers, intermediate or 4 * hidden)
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
        stage("initialising the model")
        torch.manual_seed(seed)
        model = Qwen2ForCausalLM(config)
        model.generation_config = GenerationConfig(
            bos_token_id=pad_id, eos_token_id=[eos_id, pad_id], pad_token_id=pad_id, do_sample=False
        )
        if copy_steps:
            stage(f"{copy_steps} steps of copy drills")
            pretrain_copy(model, tokenizer, words, copy_steps, seed=seed)
        stage("saving")
        model.save_pretrained(out, safe_serialization=True)
        tokenizer.save_pretrained(out)
        return out


def _check_settings(**settings: int) -> None:
    """Shape settings that would crash, hang or silently build a broken model, as clear errors."""
    for name in ("hidden", "layers", "heads", "kv_heads"):
        if settings[name] < 1:
            raise HarnessError(f"{name} must be at least 1, got {settings[name]}")
    if settings["vocab_size"] > MAX_VOCAB:
        raise HarnessError(f"vocab_size {settings['vocab_size']} is above {MAX_VOCAB:,}")
    if not -(2**63) <= settings["seed"] < 2**64:  # what torch.manual_seed accepts
        raise HarnessError(f"seed {settings['seed']} is out of range: use 0 … {2**64 - 1}")


def _check_size(vocab: int, hidden: int, layers: int, intermediate: int) -> None:
    # embeddings (tied) + per layer at most 4 attention and 3 MLP matrices
    estimate = vocab * hidden + layers * (4 * hidden * hidden + 3 * hidden * intermediate)
    if estimate > MAX_PARAMETERS:
        raise HarnessError(
            f"hidden {hidden}, layers {layers} and a vocabulary of {vocab} make about {estimate:,} "
            f"parameters, above the {MAX_PARAMETERS:,} a tiny model may have"
        )


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
