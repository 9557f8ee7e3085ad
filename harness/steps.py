"""The steps `harness run` chains: data sources, the base model, training rounds, generation, scoring.

Each is callable alone; content addresses (tiny-model key, train_lora's key, the generation
cache) make a repeated call cheap.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console

from harness.errors import HarnessError
from harness.hashing import sha256_file, sha256_json, sha256_model_dir
from harness.records import Record, read_records, write_records
from harness.runs import RunDir, new_manifest, write_doc, write_rows
from harness.suite import Suite, TrainedSystem


def load_source(src: Any) -> list[Record]:
    kind = src.kind
    if kind == "synthetic":
        from harness.datasets.synthetic import synth_records

        return list(synth_records(src.n, src.seed, tuple(src.tasks or ("attr_cls",))))
    if kind == "promptcblue":
        res = read_records(
            src.path, on_error=src.on_error, task_type=src.task_type, task_dataset=src.task_dataset
        )
        return res.records[: src.limit] if src.limit else res.records
    if kind == "chip2021":
        from harness.datasets.chip2021 import convert_chip2021

        res = convert_chip2021(
            src.path, templates=src.templates, seed=src.seed, max_chars=src.max_chars, on_error="skip"
        )
        return res.records[: src.limit] if src.limit else res.records
    raise HarnessError(f"unknown source kind {kind!r}")


class Data:
    """Every source's records, loaded once, with their content hashes for the manifest."""

    def __init__(self, suite: Suite):
        self.suite = suite
        self._cache: dict[str, list[Record]] = {}

    def source(self, name: str) -> list[Record]:
        if name not in self._cache:
            self._cache[name] = load_source(self.suite.data.sources[name])
        return self._cache[name]

    def pool(self, names: list[str]) -> list[Record]:
        out: list[Record] = []
        for n in names:
            out += self.source(n)
        return out

    def test(self) -> list[Record]:
        recs = self.pool(self.suite.data.test)
        tt, td = self.suite.data.test_task_type, self.suite.data.test_task_dataset
        recs = [r for r in recs if (tt is None or r.task_type == tt) and (td is None or r.task_dataset == td)]
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
    if suite.base_model.id:
        return suite.base_model.id
    tiny = suite.base_model.tiny
    assert tiny is not None
    corpus = data.pool(tiny.corpus)
    key = sha256_json({"corpus": [r.to_json() for r in corpus], "cfg": tiny.model_dump()})[:16]
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
    findings = contamination(train, dev, test, suite.data.test_task_type, suite.data.test_task_dataset)
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
    train = data.pool(system.training.train if system.training.train is not None else suite.data.train)
    dev = data.pool(system.training.dev if system.training.dev is not None else suite.data.dev)
    # The test set goes in as `exclude`: round3 drops training records that overlap it.
    out = recipe(train, dev, exclude=test, **system.training.options)
    return list(out[0]), list(out[1] or [])


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
    """One engine for the base model and every adapter; one more per merged checkpoint."""
    from harness.generation import generate

    rows: dict[str, list[dict[str, Any]]] = {}
    stats = {"generated": 0, "cache_hits": 0, "seconds": 0.0, "calls": []}
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
        {"sample_ids": list(result.sample_ids), "counts": [[int(x) for x in row] for row in result.counts]},
    )
    return result.summary


def hash_model(path: str) -> str | None:
    p = Path(path)
    if not p.is_dir():
        return None  # a hub id: its revision is the identity
    return sha256_model_dir(p)


def write_manifest(
    run: RunDir, suite: Suite, data: Data, base: str, adapters: dict[str, Any], steps: dict
) -> None:
    suite_sha = sha256_file(suite.path) if suite.path else sha256_json(suite.model_dump(mode="json"))
    manifest = new_manifest(suite.name, suite.path, suite_sha)
    manifest["run_id"] = run.root.name
    manifest["data"] = {**data.hashes(), "test": {"sha256": sha256_file(run.test_records)}}
    manifest["models"] = {"base": {"ref": base, "sha256": hash_model(base)}}
    manifest["adapters"] = adapters
    manifest["steps"] = steps
    manifest["generation"] = suite.generation.model_dump(mode="json")
    write_doc(run.manifest, manifest)


def load_run_predictions(run: RunDir, system: str) -> dict[str, str]:
    from harness.runs import read_jsonl

    return {
        str(r["sample_id"]): str(r.get("text", r.get("target", "")))
        for r in read_jsonl(run.predictions(system))
    }
