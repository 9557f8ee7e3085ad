"""Import a GGUF file as a plain safetensors model folder that every verb accepts.

transformers de-quantizes GGUF at load (`gguf_file=`) but refuses to `save_pretrained` the
result (its GGUF quantizer is not serializable). So the import rebuilds a plain model of the
same class from the config transformers derives, copies the de-quantized weights in float32
(exactly the values transformers computes; half precision would round them), and saves it
with the tokenizer, chat template and generation config read from the file.

Before the folder appears, the saved folder is loaded back and its greedy continuation of a
probe prompt must equal, token for token, that of transformers' own GGUF load (`VerifyError`
otherwise, and nothing is written).

Layout (content-addressed by the source file): OUT/<file stem>-<sha256[:12]>/ holds the model
files and `harness_import.json`: the source file's name, size and sha256, the architecture,
the licence (GGUF `general.license`), the parameter count, the versions that converted it and
the sha256 of every other file. Importing the same file under the same OUT again finds the
folder, checks its files against that record and changes nothing.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from harness.errors import EXIT_INTERNAL, HarnessError
from harness.hashing import sha256_file, sha256_model_dir
from harness.modelzoo.umask import apply_umask
from harness.progress import stages
from harness.safeio import check_input_file, read_json_file

RECORD = "harness_import.json"
PROBE = "Name three common symptoms of influenza. 请用一句话回答。"
PROBE_TOKENS = 24


class VerifyError(HarnessError):
    """The saved folder does not generate what the GGUF load generates: a conversion bug."""

    exit_code = EXIT_INTERNAL


@dataclass(frozen=True)
class GgufInfo:
    path: Path
    sha256: str
    size: int
    architecture: str
    license: str | None
    name: str | None
    quantization: str | None


@dataclass
class ImportResult:
    model_dir: str
    source_sha256: str
    parameters: int
    architecture: str
    license: str | None
    model_sha256: str
    imported: bool  # False: the folder was already there (a no-op)
    verify: dict[str, Any] | None  # the probe comparison, for a new import
    seconds: float

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def read_gguf_info(path: str | Path) -> GgufInfo:
    """Check that `path` is a whole GGUF file and read what the import records from its metadata."""
    p = check_input_file(path, "GGUF file")
    with p.open("rb") as f:
        magic = f.read(4)
    if len(magic) < 4:
        raise HarnessError(f"{p}: not a GGUF file (only {len(magic)} bytes: empty or cut short)")
    if magic != b"GGUF":
        raise HarnessError(
            f"{p}: not a GGUF file (it starts with {magic!r}; a GGUF file starts with b'GGUF')"
        )
    try:
        from gguf import GGUFReader, LlamaFileType
    except ImportError as e:
        raise HarnessError("importing GGUF needs the `gguf` package: pip install gguf") from e
    try:
        reader = GGUFReader(p)
    except Exception as e:  # a short or damaged file fails in many ways: bad shapes, enums, reads
        raise HarnessError(
            f"{p}: truncated or damaged GGUF file ({type(e).__name__}: {e}); copy or fetch it again"
        ) from e

    def field(key: str) -> Any:
        f = reader.fields.get(key)
        return None if f is None else f.contents()

    arch = field("general.architecture")
    if not isinstance(arch, str) or not arch:
        raise HarnessError(f"{p}: no general.architecture in the GGUF metadata")
    file_type = field("general.file_type")
    try:
        quant = LlamaFileType(file_type).name.removeprefix("MOSTLY_") if file_type is not None else None
    except ValueError:
        quant = str(file_type)
    lic, name = field("general.license"), field("general.name")
    return GgufInfo(
        path=p,
        sha256=sha256_file(p),
        size=p.stat().st_size,
        architecture=arch,
        license=lic if isinstance(lic, str) else None,
        name=name if isinstance(name, str) else None,
        quantization=quant,
    )


def folder_name(info: GgufInfo) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", info.path.stem).strip("-.") or "model"
    return f"{stem}-{info.sha256[:12]}"


def _prepare_out(out: str | Path) -> Path:
    root = Path(out)
    if root.exists() and not root.is_dir():
        raise HarnessError(f"--out {root}: exists and is not a folder")
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise HarnessError(f"--out {root}: cannot create the folder ({e.strerror or e})") from e
    if not os.access(root, os.W_OK | os.X_OK):
        raise HarnessError(f"--out {root}: folder is not writable")
    return root


def _check_existing(target: Path, info: GgufInfo) -> dict[str, Any]:
    """The record of an earlier import of this file into `target`, after checking its files."""
    redo = "remove the folder and import again"
    if not (target / RECORD).is_file():
        raise HarnessError(
            f"{target}: exists but holds no {RECORD} (not an import of {info.path.name}): {redo}"
        )
    record = read_json_file(target / RECORD, RECORD)
    files = record.get("files") if isinstance(record, dict) else None
    source = record.get("source") if isinstance(record, dict) else None
    if not isinstance(files, dict) or not isinstance(source, dict) or source.get("sha256") != info.sha256:
        raise HarnessError(f"{target / RECORD}: not a record of an import of {info.path.name}: {redo}")
    present = {p.name for p in target.iterdir() if p.name != RECORD}
    if present != set(files):
        odd = sorted(present ^ set(files))
        raise HarnessError(f"{target}: files differ from {RECORD} ({', '.join(odd)}): {redo}")
    for name, digest in sorted(files.items()):
        if sha256_file(target / name) != digest:
            raise HarnessError(f"{target / name}: changed since the import (sha256 differs): {redo}")
    for key, kind in (("parameters", int), ("architecture", str), ("license", (str, type(None)))):
        if key not in record or not isinstance(record[key], kind) or isinstance(record[key], bool):
            raise HarnessError(f"{target / RECORD}: field {key} is missing or of the wrong type: {redo}")
    return record


def import_gguf(path: str | Path, out: str | Path) -> ImportResult:
    """Import the GGUF file at `path` under the folder `out` (see the module docstring)."""
    start = time.perf_counter()
    info = read_gguf_info(path)
    root = _prepare_out(out)
    target = root / folder_name(info)
    verify = None
    if not target.exists():
        try:
            tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=root))
        except OSError as e:
            raise HarnessError(f"--out {root}: cannot write there ({e.strerror or e})") from e
        try:
            # minutes for a real model: de-quantizing, saving, loading back, generating twice
            with stages(f"importing {info.path.name}", 4) as stage:
                verify = _convert(info, tmp, stage)
            apply_umask(tmp)
            try:
                tmp.rename(target)
            except OSError:
                if not target.exists():  # else a concurrent import of the same file won the race
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    record = _check_existing(target, info)
    return ImportResult(
        model_dir=str(target),
        source_sha256=info.sha256,
        parameters=record["parameters"],
        architecture=record["architecture"],
        license=record["license"],
        model_sha256=sha256_model_dir(target),
        imported=verify is not None,
        verify=verify,
        seconds=round(time.perf_counter() - start, 3),
    )


def _convert(info: GgufInfo, out: Path, stage: Callable[[str], None]) -> dict[str, Any]:
    """De-quantize with transformers, save a plain model into `out`, verify it, write the record.

    `stage(name)` is called as each of its 4 stages starts (harness.progress.stages)."""
    import copy

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    src = {"pretrained_model_name_or_path": str(info.path.parent), "gguf_file": info.path.name}
    stage("de-quantizing the GGUF weights")
    try:
        gguf_model = AutoModelForCausalLM.from_pretrained(**src, dtype=torch.float32).eval()
    except ValueError as e:  # an architecture the GGUF loader lacks, or not a causal LM
        raise HarnessError(
            f"{info.path}: unsupported architecture {info.architecture!r}: transformers cannot load it "
            f"from GGUF as a causal LM ({e})"
        ) from e
    except KeyError as e:
        raise HarnessError(f"{info.path}: GGUF metadata incomplete for transformers (no {e})") from e
    try:
        gguf_tok = AutoTokenizer.from_pretrained(**src)
    except (ValueError, KeyError) as e:
        raise HarnessError(f"{info.path}: cannot read the tokenizer from the GGUF file ({e})") from e

    stage("saving safetensors")
    plain_config = copy.deepcopy(gguf_model.config)
    if hasattr(plain_config, "quantization_config"):
        del plain_config.quantization_config  # the weights saved are plain float32
    with torch.device("meta"):  # no random init: every weight is assigned from the GGUF load
        plain = AutoModelForCausalLM.from_config(plain_config, dtype=torch.float32)
    plain.load_state_dict(gguf_model.state_dict(), strict=True, assign=True)
    plain.generation_config = copy.deepcopy(gguf_model.generation_config)
    plain.save_pretrained(out)
    model_class = type(plain).__name__
    del plain
    tok = copy.deepcopy(gguf_tok)
    # GGUF loads leave it unbounded; the model's context is the honest limit.
    tok.model_max_length = getattr(plain_config, "max_position_embeddings", tok.model_max_length)
    tok.save_pretrained(out)

    stage("loading the saved model back")
    saved = AutoModelForCausalLM.from_pretrained(out, dtype=torch.float32).eval()
    stage("checking its greedy output against the GGUF load")
    verify = compare_greedy((gguf_model, gguf_tok), (saved, AutoTokenizer.from_pretrained(out)))
    if not verify["equal"]:
        raise VerifyError(
            f"{info.path}: the imported model's greedy output differs from transformers' GGUF load "
            f"({verify['reason']}); nothing written"
        )
    record = {
        "format": 1,
        "source": {
            "file": info.path.name,
            "sha256": info.sha256,
            "bytes": info.size,
            "name": info.name,
            "quantization": info.quantization,
        },
        "architecture": info.architecture,
        "model_class": model_class,
        "license": info.license,
        "parameters": sum(p.numel() for p in saved.parameters()),
        "dtype": "float32",
        "converted_with": _versions(),
        "files": {p.name: sha256_file(p) for p in sorted(out.iterdir())},
    }
    (out / RECORD).write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return verify


def _versions() -> dict[str, str]:
    from importlib.metadata import version

    return {pkg: version(pkg) for pkg in ("harness", "transformers", "torch", "gguf")}


def greedy_probe(model: Any, tokenizer: Any, max_new_tokens: int = PROBE_TOKENS) -> dict[str, Any]:
    """The probe prompt through the model's chat template: prompt ids, greedy ids, last logits."""
    import torch

    text = tokenizer.apply_chat_template(
        [{"role": "user", "content": PROBE}], tokenize=False, add_generation_prompt=True
    )
    # The template already holds the special tokens (as harness.generation.hf.encode does).
    enc = tokenizer(text, add_special_tokens=False, return_tensors="pt")
    with torch.no_grad():
        logits = model(**enc).logits[0, -1]
        out = model.generate(
            **enc,
            max_new_tokens=max_new_tokens,
            do_sample=False,
            pad_token_id=tokenizer.eos_token_id if tokenizer.pad_token_id is None else tokenizer.pad_token_id,
        )
    prompt = enc["input_ids"][0].tolist()
    return {"prompt_ids": prompt, "new_ids": out[0, len(prompt) :].tolist(), "logits": logits}


def compare_greedy(reference: tuple[Any, Any], candidate: tuple[Any, Any]) -> dict[str, Any]:
    """Greedy probe of (model, tokenizer) `candidate` against `reference`: equal, or why not."""
    ref, got = greedy_probe(*reference), greedy_probe(*candidate)
    if ref["prompt_ids"] != got["prompt_ids"]:
        reason = "the tokenizers render the probe prompt differently"
    elif ref["new_ids"] != got["new_ids"]:
        at = next(
            (i for i, (a, b) in enumerate(zip(ref["new_ids"], got["new_ids"], strict=False)) if a != b),
            min(len(ref["new_ids"]), len(got["new_ids"])),
        )
        reason = f"first different token at position {at}"
    else:
        reason = None
    return {
        "probe": PROBE,
        "prompt_tokens": len(got["prompt_ids"]),
        "new_tokens": len(got["new_ids"]),
        "equal": reason is None,
        "reason": reason,
        "text": candidate[1].decode(got["new_ids"], skip_special_tokens=True),
        "max_abs_logit_diff": float((ref["logits"] - got["logits"]).abs().max()),
    }
