"""The steps `harness run` chains: data sources, the base model, training rounds, generation, scoring.

Each is callable alone; content addresses (tiny-model key, train_lora's key, the generation
cache) make a repeated call cheap.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console

from harness.errors import DataError, HarnessError, Problem
from harness.hashing import code_fingerprint, sha256_file, sha256_json, sha256_model_dir
from harness.records import Record, read_records, write_records
from harness.runs import RunDir, new_manifest, record_inputs, write_doc, write_rows
from harness.suite import Suite, TrainedSystem

# Bad lines a failing source lists in its message (all of them go to the manifest when skipped).
MAX_LISTED = 20


class SourceError(DataError):
    """Bad lines in a suite source with `on_error: fail`: every FILE:LINE, and how to skip them."""

    def __init__(self, name: str, problems: list[Problem]):
        self.problems = problems
        listed = "\n  ".join(str(p) for p in problems[:MAX_LISTED])
        more = f"\n  … and {len(problems) - MAX_LISTED} more" if len(problems) > MAX_LISTED else ""
        HarnessError.__init__(
            self,
            f"data.sources.{name}: {len(problems)} bad line(s):\n  {listed}{more}\n"
            "fix them, or set `on_error: skip` on the source to drop them (each skipped line is "
            "then listed in the run's manifest.json and its report)",
        )


def load_source(src: Any) -> tuple[list[Record], list[Problem]]:
    """A source's records and its bad lines (`Data.source` fails on them unless `on_error: skip`)."""
    kind = src.kind
    if kind == "synthetic":
        from harness.datasets.synthetic import synth_records

        return list(synth_records(src.n, src.seed, tuple(src.tasks or ("attr_cls",)))), []
    if kind == "promptcblue":
        res = read_records(src.path, on_error="skip", task_type=src.task_type, task_dataset=src.task_dataset)
        records, problems = res.records, res.problems
    elif kind == "chip2021":
        from harness.datasets.chip2021 import DialogSplit, convert_chip2021

        split = DialogSplit(**src.split.model_dump()) if src.split else None
        conv = convert_chip2021(
            src.path,
            templates=src.templates,
            seed=src.seed,
            max_chars=src.max_chars,
            on_error="skip",
            split=split,
        )
        records, problems = conv.records, conv.problems
    else:
        raise HarnessError(f"unknown source kind {kind!r}")
    return (records[: src.limit] if src.limit else records), problems


def _unscorable(record: Record) -> str | None:
    """Why a test record of a registered task cannot be scored (no answer choices, no gold answer), or None."""
    from harness.scoring.tasks import TASKS

    if record.task_dataset not in TASKS:
        return None
    if not record.answer_choices:
        return "no answer_choices (the labels it may take)"
    if not record.target.strip():
        return "no gold answer (target is null or empty)"
    return None


class Data:
    """Every source's records, loaded once, with their content hashes for the manifest."""

    def __init__(self, suite: Suite):
        self.suite = suite
        self._cache: dict[str, list[Record]] = {}
        self.skipped: dict[str, list[Problem]] = {}  # source -> bad lines dropped by `on_error: skip`

    def source(self, name: str) -> list[Record]:
        if name not in self._cache:
            src = self.suite.data.sources[name]
            try:
                records, problems = load_source(src)
            except HarnessError as e:
                raise HarnessError(f"data.sources.{name}: {e}") from None
            if problems and src.on_error == "fail":
                raise SourceError(name, problems)
            if problems:
                self.skipped[name] = problems
            self._cache[name] = records
        return self._cache[name]

    def skipped_json(self) -> list[dict[str, Any]]:
        """Every skipped bad line, for the manifest: source, file, line, field, message."""
        return [
            {"source": name, "file": p.path, "line": p.line, "field": p.field, "message": p.message}
            for name, problems in self.skipped.items()
            for p in problems
        ]

    def pool(self, names: list[str]) -> list[Record]:
        out: list[Record] = []
        for n in names:
            out += self.source(n)
        return out

    def test(self) -> list[Record]:
        tt, td = self.suite.data.test_task_type, self.suite.data.test_task_dataset
        tds = self.suite.data.test_tasks
        recs: list[Record] = []
        bad: list[str] = []
        for name in self.suite.data.test:
            for r in self.source(name):
                if (tt is None or r.task_type == tt) and (tds is None or r.task_dataset in tds):
                    why = _unscorable(r)
                    if why:
                        bad.append(f"data.sources.{name}: sample {r.sample_id!r}: {why}")
                    recs.append(r)
        if bad:
            # the scorer would skip them, or score them against nothing: fewer or wrong numbers
            more = f" (and {len(bad) - 3} more)" if len(bad) > 3 else ""
            raise HarnessError(
                f"{len(bad)} test record(s) cannot be scored: {'; '.join(bad[:3])}{more}; "
                "fix those records or leave them out of data.test"
            )
        if not recs:
            raise HarnessError(f"the test split has no {tt}/{td} records (data.test: {self.suite.data.test})")
        return recs

    def hashes(self) -> dict[str, Any]:
        return {
            name: {"records": len(recs), "sha256": sha256_json([r.to_json() for r in recs])}
            for name, recs in self._cache.items()
        }


# ---- steps --------------------------------------------------------------------------------
def base_model_path(suite: Suite, data: Data, work: Path, console: Console) -> str:
    block = suite.base_model
    if block.id:
        return block.id
    if block.gguf is not None or block.known is not None:
        return _imported_model(block.gguf, block.known, work, console)
    tiny = block.tiny
    assert tiny is not None
    corpus = data.pool(tiny.corpus)
    code = code_fingerprint(
        ["training.tiny", "training.tiny_pretrain", "training.data"], ["torch", "transformers", "tokenizers"]
    )
    key = sha256_json({"corpus": [r.to_json() for r in corpus], "cfg": tiny.model_dump(), "code": code})[:16]
    out = work / "models" / f"tiny-{key}"
    if (out / "config.json").is_file():
        console.print(f"  tiny model: reusing {out}")
        return str(out)
    from harness.training.tiny import build_tiny_model

    corpus_path = write_records(work / "data" / f"corpus-{key}.jsonl", corpus)
    console.print(f"  tiny model: building from {len(corpus)} records → {out}")
    # every field but the corpus is a keyword of build_tiny_model (TinyModelBlock mirrors it)
    build_tiny_model(corpus_path, out, **tiny.model_dump(exclude={"corpus"}))
    return str(out)


def _imported_model(gguf: Path | None, known: str | None, work: Path, console: Console) -> str:
    """The folder of a GGUF file imported under work/models (content-addressed: reused when there)."""
    from harness.modelzoo.gguf_import import import_gguf

    if known is not None:
        from harness.modelzoo.fetch import fetch

        fetched = fetch(known)
        if fetched["downloaded"]:
            console.print(f"  base model: fetched {known} ({fetched['source']}) → {fetched['path']}")
        gguf = Path(fetched["path"])
    assert gguf is not None
    console.print(f"  base model: importing {gguf.name} (reused when already imported)")
    result = import_gguf(gguf, work / "models")
    verify = result.verify or {}
    what = "imported" if result.imported else "reusing"
    checked = f", greedy check vs transformers' GGUF load: {verify.get('equal')}" if result.imported else ""
    console.print(f"  base model: {what} {result.model_dir} ({result.parameters:,} parameters{checked})")
    return result.model_dir


def train_system(
    suite: Suite,
    system: TrainedSystem,
    data: Data,
    base: str,
    test: list[Record],
    work: Path,
    console: Console,
) -> tuple[Any, list[Any]]:
    """Train one round (or reuse it); returns (TrainResult, contamination findings)."""
    from harness.training.lora import train_lora

    train, dev = recipe_splits(suite, system, data, test)
    tasks = suite.data.test_tasks
    # the detector checks one task; a suite of several tasks checks overlaps across all of them
    one = tasks[0] if tasks and len(tasks) == 1 else None
    findings = contamination(train, dev, test, suite.data.test_task_type, one)
    config = suite.train_config(system)
    console.print(
        f"  {system.name}: recipe {system.training.recipe}, {len(train)} train / {len(dev or [])} dev"
    )
    result = train_lora(base, train, dev or None, work / "adapters", config, name=system.name)
    how = "reused" if result.skipped else f"trained {result.steps} steps in {result.seconds:.0f}s"
    console.print(f"  {system.name}: {how} → {result.adapter_dir}")
    return result, findings


def recipe_splits(
    suite: Suite, system: TrainedSystem, data: Data, test: list[Record]
) -> tuple[list[Record], list[Record]]:
    """Train and dev records of a round: the recipe applied to the system's (or the suite's) sources."""
    from harness.training.recipes import RECIPES

    recipe = RECIPES.get(system.training.recipe)
    if recipe is None:
        raise HarnessError(
            f"systems[{system.name}]: unknown recipe {system.training.recipe!r}; valid: {', '.join(RECIPES)}"
        )
    train_names = system.training.train if system.training.train is not None else suite.data.train
    dev_names = system.training.dev if system.training.dev is not None else suite.data.dev
    train = data.pool(train_names)
    dev = data.pool(dev_names)
    # The test set goes in as `exclude`: round3 drops training records that overlap it.
    try:
        out = recipe(train, dev, exclude=test, **system.training.options)
        if not out[0]:
            raise HarnessError("the recipe returned no training records")
    except HarnessError as e:
        raise HarnessError(
            f"systems[{system.name}]: no training data: {e}\n"
            + "\n".join(f"  {line}" for line in _training_story(system, data, train_names, dev_names, test))
        ) from None
    return list(out[0]), list(out[1] or [])


_RECIPE_FILTERS = {
    "round1": "keeps every record",
    "round2": "keeps attr_cls/CHIP-MDCFNPC train records; dev: attr_cls/IMCS-V2-SR",
    "round3": "keeps attr_cls/CHIP-MDCFNPC records, then drops train records that overlap dev or the "
    "test set (same id, same or near-duplicate input)",
    "custom": "keeps the records matching its options, drops those overlapping the test set, then "
    "applies max_train",
}


def _training_story(
    system: TrainedSystem, data: Data, train_names: list[str], dev_names: list[str], test: list[Record]
) -> list[str]:
    """What a round read and what its recipe filtered, source by source, for an empty-training error."""
    from collections import Counter

    from harness.datasets.contamination import normalize_text

    def describe(names: list[str], split: str, field: str) -> list[str]:
        if not names:
            return [f"{split}: no sources ({field} is empty)"]
        lines = []
        for n in names:
            recs = data.source(n)
            kinds = Counter(f"{r.task_type}/{r.task_dataset}" for r in recs)
            mix = ", ".join(f"{k} {v}" for k, v in kinds.most_common()) or "none"
            src = data.suite.data.sources[n]
            where = getattr(src, "path", None) or src.kind
            skipped = f", {len(data.skipped[n])} bad lines skipped" if n in data.skipped else ""
            lines.append(f"{split}: source {n} ({where}): {len(recs)} records ({mix}){skipped}")
        return lines

    own = system.training
    lines = describe(
        train_names,
        "train",
        f"systems[{system.name}].training.train" if own.train is not None else "data.train",
    )
    lines += describe(
        dev_names, "dev", f"systems[{system.name}].training.dev" if own.dev is not None else "data.dev"
    )
    pool = data.pool(train_names)
    ids = {r.sample_id for r in test}
    texts = {normalize_text(r.input) for r in test}
    overlap = sum(r.sample_id in ids or normalize_text(r.input) in texts for r in pool)
    lines.append(
        f"recipe {own.recipe} {_RECIPE_FILTERS.get(own.recipe, '')}"
        + (f"; options {own.options}" if own.options else "")
    )
    lines.append(
        f"before the recipe: {len(pool)} train records, {overlap} of them share an id or input "
        f"with the {len(test)} test records; after it: 0"
    )
    return lines


def contamination(
    train: list[Record],
    dev: list[Record],
    test: list[Record],
    task_type: str | None,
    task_dataset: str | None,
) -> list[dict[str, Any]]:
    from dataclasses import asdict, is_dataclass

    from harness.datasets.contamination import detect_contamination

    found = detect_contamination(train, dev, test, task_type, task_dataset)
    return [
        f.to_json()
        if hasattr(f, "to_json")
        else asdict(f)
        if is_dataclass(f)
        else dict(f)
        if isinstance(f, dict)
        else {"message": str(f)}
        for f in found
    ]


def generate_all(
    suite: Suite,
    base: str,
    adapters: dict[str, Path | None],
    merged: dict[str, Path],
    test: list[Record],
    work: Path,
    console: Console,
) -> tuple[dict[str, list[dict[str, Any]]], dict[str, Any]]:
    """One engine for the base model and every adapter; one more per merged checkpoint.

    stats["dtype"] maps each model generated with to the dtype it ran in (after "auto").
    """
    from harness.generation import generate

    rows: dict[str, list[dict[str, Any]]] = {}
    stats: dict[str, Any] = {"generated": 0, "cache_hits": 0, "seconds": 0.0, "dtype": {}, "calls": []}
    groups: list[tuple[str, dict[str, str | None]]] = []
    if adapters:
        groups.append((base, {k: (str(v) if v else None) for k, v in adapters.items()}))
    groups += [(str(path), {name: None}) for name, path in merged.items()]
    for model, systems in groups:
        console.print(f"  {suite.generation.backend}: {model} for {', '.join(systems)}")
        res = generate(model, test, systems, suite.generation, cache_path=work / "generation.sqlite")
        rows.update(res.rows)
        for w in res.warnings:
            console.print(f"  [bold yellow]warning:[/] {w}")
        for k in ("generated", "cache_hits"):
            stats[k] += int(res.stats.get(k, 0))
        stats["seconds"] += float(res.stats.get("seconds", 0.0))
        stats["dtype"][model] = res.stats.get("dtype")
        stats["calls"].append(res.stats)
    return rows, stats


def score_system(
    run: RunDir, scorer: Any, test: list[Record], system: str, preds: dict[str, str]
) -> dict[str, Any]:
    """Score one system's predictions; writes its traces and per-sample counts; returns its summary.

    `scorer` is one `harness.scoring.pipeline.Scorer` shared by every system of a run, so its
    synonym, name and fuzzy caches serve them all.
    """
    from harness.scoring.pipeline import score

    result = score(test, preds, scorer=scorer)
    write_rows(run.traces(system), list(result.traces))
    write_doc(
        run.root / "counts" / f"{system}.json",
        {
            "sample_ids": list(result.sample_ids),
            "counts": [[int(x) for x in row] for row in result.counts],
            "tasks": list(result.tasks),  # each sample's task: the gate and compare test per task
        },
    )
    return result.summary


def hash_model(path: str) -> str | None:
    p = Path(path)
    if not p.is_dir():
        return None  # a hub id: its revision is the identity
    return sha256_model_dir(p)


def write_manifest(
    run: RunDir,
    suite: Suite,
    data: Data,
    base: str | None,
    adapters: dict[str, Any],
    steps: dict,
    scores_header: dict[str, Any],
) -> None:
    """Provenance, plus what `rescore` checks and rebuilds from: each input file's sha256 and rows
    (test records, every system's predictions) and scores.json's header (order, settings, findings)."""
    suite_sha = sha256_file(suite.path) if suite.path else sha256_json(suite.model_dump(mode="json"))
    manifest = new_manifest(suite.name, suite.path, suite_sha)
    manifest["run_id"] = run.root.name
    manifest["data"] = {**data.hashes(), "test": {"sha256": sha256_file(run.test_records)}}
    manifest["skipped"] = data.skipped_json()
    manifest["models"] = {"base": {"ref": base, "sha256": hash_model(base)} if base else None}
    manifest["adapters"] = adapters
    manifest["steps"] = steps
    manifest["generation"] = suite.generation.model_dump(mode="json")
    manifest["inputs"] = record_inputs(run, scores_header["order"])
    manifest["scores_header"] = scores_header
    write_doc(run.manifest, manifest)


def load_run_predictions(run: RunDir, system: str) -> dict[str, str]:
    from harness.runs import read_jsonl

    return {
        str(r["sample_id"]): str(r.get("text", r.get("target", "")))
        for r in read_jsonl(run.predictions(system))
    }
