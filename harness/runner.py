"""`harness run`: data → train → generate → score → report → gate, one content-addressed step at a time.

The run folder is named by the suite's content (every setting, resolved paths included), so
running the same suite again reuses it: training skips finished adapters (train_lora's own
content address), generation reads the SQLite cache, scoring is cheap and always redone.
A crash anywhere resumes from the last finished step (and, inside training, the last checkpoint).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from harness.errors import HarnessError
from harness.hashing import sha256_file, sha256_json, sha256_tree
from harness.records import Record, read_records, write_records
from harness.runs import RunDir, new_manifest, read_json, write_doc, write_rows
from harness.suite import (
    AdapterSystem,
    CheckpointSystem,
    PredictionsSystem,
    Suite,
    TrainedSystem,
    ZeroShotSystem,
)


@dataclass
class RunOutcome:
    run: RunDir
    scores: dict[str, Any]
    gate: dict[str, Any] | None
    generated: int = 0
    seconds: dict[str, float] = field(default_factory=dict)


def run_id(suite: Suite) -> str:
    return sha256_json(suite.model_dump(mode="json"))[:12]


def work_dir(out_root: Path, suite: Suite) -> Path:
    """Artifacts shared by every run of a suite: tiny models, adapters, the generation cache."""
    return out_root / suite.name / "_work"


# ---- data ---------------------------------------------------------------------------------
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
    build_tiny_model(
        corpus_path,
        out,
        seed=tiny.seed,
        hidden=tiny.hidden,
        layers=tiny.layers,
        vocab_size=tiny.vocab_size,
        heads=tiny.heads,
        kv_heads=tiny.kv_heads,
    )
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
    run: RunDir, suite_scoring: Any, test: list[Record], system: str, preds: dict[str, str]
) -> dict[str, Any]:
    """Score one system's predictions; writes its traces and per-sample counts; returns its summary."""
    from harness.scoring.pipeline import score

    result = score(test, preds, suite_scoring)
    write_rows(run.traces(system), list(result.traces))
    write_doc(
        run.root / "counts" / f"{system}.json",
        {"sample_ids": list(result.sample_ids), "counts": [[int(x) for x in row] for row in result.counts]},
    )
    return result.summary


def _hash_model(path: str) -> str | None:
    p = Path(path)
    if not p.is_dir():
        return None  # a hub id: its revision is the identity
    return sha256_tree(p, suffixes=(".json", ".safetensors", ".txt", ".model"))


def write_manifest(
    run: RunDir, suite: Suite, data: Data, base: str, adapters: dict[str, Any], steps: dict
) -> None:
    suite_sha = sha256_file(suite.path) if suite.path else sha256_json(suite.model_dump(mode="json"))
    manifest = new_manifest(suite.name, suite.path, suite_sha)
    manifest["run_id"] = run.root.name
    manifest["data"] = {**data.hashes(), "test": {"sha256": sha256_file(run.test_records)}}
    manifest["models"] = {"base": {"ref": base, "sha256": _hash_model(base)}}
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


def rel(path: str | Path) -> str:
    """A path relative to the working directory when it is below it (shorter logs), else absolute."""
    p = Path(path).resolve()
    try:
        return str(p.relative_to(Path.cwd()))
    except ValueError:
        return str(p)


def elapsed(t0: float) -> float:
    return round(time.perf_counter() - t0, 3)


def previous_scores(run: RunDir) -> dict[str, Any] | None:
    return read_json(run.scores) if run.scores.is_file() else None


def score_and_report(
    run: RunDir, scores: dict[str, Any], scoring: Any, test: list[Record], console: Console | None
) -> dict[str, Any]:
    """Score every system's stored predictions, write scores.json and index.html, print the table."""
    scores["systems"] = {
        s: score_system(run, scoring, test, s, load_run_predictions(run, s)) for s in scores["order"]
    }
    scores["scoring"] = scoring.model_dump(mode="json")
    write_doc(run.scores, scores)
    render_reports(run, console)
    return scores


def render_reports(run: RunDir, console: Console | None) -> None:
    from harness.reporting.data import load_report_data
    from harness.reporting.html import write_html
    from harness.reporting.terminal import render_terminal

    data = load_report_data(run)
    write_html(data)
    if console is not None:
        render_terminal(data, console)


def run_suite(suite: Suite, out_root: Path, console: Console) -> RunOutcome:
    """Every step of a suite; see the module docstring."""
    started = time.perf_counter()
    run = RunDir(out_root / suite.name / run_id(suite))
    work = work_dir(out_root, suite)
    run.root.mkdir(parents=True, exist_ok=True)
    if suite.path:
        (run.suite_copy).write_text(Path(suite.path).read_text(encoding="utf-8"), encoding="utf-8")
    steps: dict[str, float] = {}

    console.rule(f"[bold]{suite.name}[/] → {run.root}")
    console.print("[bold]1/5 data[/]")
    t0 = time.perf_counter()
    data = Data(suite)
    test = data.test()
    write_records(run.test_records, test)
    console.print(f"  test: {len(test)} records from {', '.join(suite.data.test)}")
    base = base_model_path(suite, data, work, console)
    steps["data"] = elapsed(t0)

    console.print("[bold]2/5 train[/]")
    t0 = time.perf_counter()
    adapters: dict[str, Path | None] = {}
    merged: dict[str, Path] = {}
    contamination_found: dict[str, list[Any]] = {}
    provenance: dict[str, Any] = {}
    for s in suite.systems:
        if isinstance(s, ZeroShotSystem):
            adapters[s.name] = None
        elif isinstance(s, TrainedSystem):
            result, findings = train_system(suite, s, data, base, test, work, console)
            contamination_found[s.name] = findings
            losses = result.adapter_dir / "losses.json"
            if losses.is_file():
                write_doc(run.losses(s.name), read_json(losses))
            provenance[s.name] = {
                "dir": str(result.adapter_dir),
                "sha256": sha256_tree(result.adapter_dir),
                "key": result.key,
            }
            if s.merged:
                if result.merged_dir is None:
                    raise HarnessError(f"systems[{s.name}]: merged: true needs training.lora.merge: true")
                merged[s.name] = result.merged_dir
            else:
                adapters[s.name] = result.adapter_dir
        elif isinstance(s, AdapterSystem):
            adapters[s.name] = Path(s.path)
            provenance[s.name] = {"dir": str(s.path), "sha256": sha256_tree(s.path)}
        elif isinstance(s, CheckpointSystem):
            merged[s.name] = Path(s.path)
            provenance[s.name] = {"dir": str(s.path), "sha256": _hash_model(str(s.path))}
    if not any(isinstance(s, TrainedSystem) for s in suite.systems):
        console.print("  nothing to train")
    steps["train"] = elapsed(t0)

    console.print("[bold]3/5 generate[/]")
    t0 = time.perf_counter()
    gen_stats: dict[str, Any] = {"generated": 0, "cache_hits": 0}
    if adapters or merged:
        rows, gen_stats = generate_all(suite, base, adapters, merged, test, work, console)
        for name, sys_rows in rows.items():
            write_rows(run.predictions(name), sys_rows)
        console.print(f"  generated {gen_stats['generated']}, cache hits {gen_stats['cache_hits']}")
    for s in suite.systems:
        if isinstance(s, PredictionsSystem):
            from harness.predictions import read_predictions

            preds = read_predictions(s.path, gold_ids=[r.sample_id for r in test])
            write_rows(
                run.predictions(s.name),
                [
                    {"sample_id": k, "text": v, "system": s.name, "source": str(s.path)}
                    for k, v in preds.items()
                ],
            )
            provenance[s.name] = {"file": str(s.path), "sha256": sha256_file(s.path)}
    steps["generate"] = elapsed(t0)

    console.print("[bold]4/5 score and report[/]")
    t0 = time.perf_counter()
    write_manifest(run, suite, data, base, provenance, steps)
    scores = {
        "suite": suite.name,
        "run_id": run.root.name,
        "order": [s.name for s in suite.systems],
        "contamination": contamination_found,
        "report": {
            **suite.report.model_dump(mode="json"),
            "base": suite.base_system,
            "reference": suite.reference_system,
        },
        "gate": {**suite.gate.model_dump(mode="json")},
        "generation": {k: v for k, v in gen_stats.items() if k != "calls"},
    }
    scores = score_and_report(run, scores, suite.scoring, test, console)
    steps["score_report"] = elapsed(t0)

    console.print("[bold]5/5 gate[/]")
    gate = None
    baseline = suite.gate.baseline
    if baseline and Path(baseline).is_file():
        from harness.gate import run_gate

        result = run_gate(run, baseline)
        gate = result.to_json()
        for c in result.checks:
            console.print(
                ("  [red]✗[/] " if c.regression else "  [green]✓[/] ") + c.message,
                highlight=False,
                soft_wrap=True,
            )
    elif baseline:
        console.print(
            f"  no baseline at {rel(baseline)}; accept this run with "
            f"`harness gate {rel(run.root)} --update-baseline`"
        )
    else:
        console.print("  the suite names no gate.baseline: nothing to gate")
    steps["total"] = elapsed(started)
    write_manifest(run, suite, data, base, provenance, steps)
    return RunOutcome(
        run=run, scores=scores, gate=gate, generated=int(gen_stats.get("generated", 0)), seconds=steps
    )


__all__ = [
    "AdapterSystem",
    "CheckpointSystem",
    "Data",
    "PredictionsSystem",
    "RunOutcome",
    "ZeroShotSystem",
    "base_model_path",
    "generate_all",
    "run_id",
    "score_system",
    "train_system",
    "work_dir",
    "write_manifest",
]
