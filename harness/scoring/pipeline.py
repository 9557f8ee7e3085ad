"""The pluggable scorer: parsers → canonicalizer → aligner → metrics → taggers → bootstrap CIs.

`score(records, predictions, config)` returns a `ScoreResult`: `.summary` (docs/scoring.md),
`.traces` (per-sample dicts, built on first access), and the per-sample count matrix and
per-item correctness that the paired tests (stats.py) use. Each gold record is scored by the
task registered under its `task_dataset` (harness.scoring.tasks): one task gives that task's
summary; several give their micro average with one summary per task under `by_task`.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from harness.records import Record
from harness.scoring import metrics as M
from harness.scoring.align import ALIGNERS, Alignment, FuzzyMatcher, identity
from harness.scoring.failures import TAGGERS, TRIGGERS, SampleView, Tagger
from harness.scoring.labels import ALL_LABELS, CANONICAL_LABELS, LABEL_INDEX, NONE
from harness.scoring.parse import PARSERS
from harness.scoring.reader import _LABEL, Reader, TextRead
from harness.scoring.synonyms import SynonymTable, load_synonyms, normalize_entity
from harness.scoring.tasks import TASKS, Task, task_of

NONE_INDEX = LABEL_INDEX[NONE]

CANONICALIZERS: dict[str, Callable[[SynonymTable], Callable[[str], str]]] = {
    "synonyms": lambda table: table.canonical,
    "identity": lambda table: lambda name: name,
}


def _one_of(kind: str, valid: Iterable[str], value: str) -> str:
    valid = list(valid)
    if value not in valid:
        raise ValueError(f"unknown {kind} {value!r}; valid: {', '.join(valid)}")
    return value


MAX_RESAMPLES = 1_000_000


class ScoringConfig(BaseModel):
    """A suite's `scoring:` block. Every stage is picked by name from its registry."""

    model_config = ConfigDict(extra="forbid")

    synonyms: list[Path] | None = Field(
        default=None, description="synonym dictionary dirs or files; None = the project's synonyms/"
    )
    fuzzy_threshold: float = Field(default=85.0, ge=0, le=100, description="rapidfuzz score (0-100) to align")
    use_jieba: bool = Field(default=True, description="also compare jieba word sequences when fuzzy matching")
    fuzzy: bool = Field(default=True, description="fuzzy alignment at all (after exact and synonym)")
    parser: str = Field(default="lenient", description="parser for the canonical/classification numbers")
    canonicalizer: str = Field(default="synonyms", description="entity canonicalizer")
    aligner: str = Field(default="greedy", description="gold/prediction aligner")
    taggers: list[str] | None = Field(default=None, description="failure taggers; None = all")
    # above MAX_RESAMPLES the bootstrap's arrays outgrow memory on a real gold file
    bootstrap_resamples: int = Field(default=1000, ge=0, le=MAX_RESAMPLES, description="0 turns the CIs off")
    ci_level: float = Field(default=0.95, gt=0, lt=1)
    ci_metrics: list[str] = Field(
        default_factory=lambda: ["official_f1", "canonical_f1", "accuracy", "macro_f1", "micro_f1"]
    )
    seed: int = Field(default=0, ge=0, description="bootstrap seed (numpy takes no negative seed)")

    @field_validator("parser")
    @classmethod
    def _parser(cls, v: str) -> str:
        return _one_of("parser", PARSERS, v)

    @field_validator("canonicalizer")
    @classmethod
    def _canon(cls, v: str) -> str:
        return _one_of("canonicalizer", CANONICALIZERS, v)

    @field_validator("aligner")
    @classmethod
    def _aligner(cls, v: str) -> str:
        return _one_of("aligner", ALIGNERS, v)

    @field_validator("taggers")
    @classmethod
    def _taggers(cls, v: list[str] | None) -> list[str] | None:
        from harness.scoring.ner import NER_TAGGERS

        valid = {**TAGGERS, **NER_TAGGERS}  # a task runs the ones that apply to it
        return [_one_of("tagger", valid, t) for t in v] if v is not None else None

    @field_validator("ci_metrics")
    @classmethod
    def _ci_metrics(cls, v: list[str]) -> list[str]:
        return [_one_of("CI metric", M.METRICS, m) for m in v]


@dataclass
class ScoreResult:
    """The scores of one system: summary, per-sample traces and the inputs of the paired tests."""

    summary: dict[str, Any]
    sample_ids: list[str]
    counts: np.ndarray  # (samples, metrics.N_COLUMNS) per-sample counts; see metrics.py
    item_correct: np.ndarray  # bool per gold item (samples in order, items in gold order)
    item_sample: np.ndarray  # sample index of each item
    tasks: list[str] = field(default_factory=list)  # the task of each sample
    _scorer: Any = field(default=None, repr=False)
    _task: Task | None = field(default=None, repr=False)
    # a result of several tasks: the results it joins (its traces are theirs, in order)
    _parts: list[ScoreResult] = field(default_factory=list, repr=False)
    # a ner task's scored samples (ner.NerSample), which its traces are built from
    _ner: list[Any] = field(default_factory=list, repr=False)
    # per scored sample: record, prediction text, alignment (None: identity) and tags (None: none).
    # Four flat lists, not one tuple per sample: fewer objects for the cyclic GC to walk.
    _records: list[Record] = field(default_factory=list, repr=False)
    _texts: list[str] = field(default_factory=list, repr=False)
    _alignments: list[Alignment | None] = field(default_factory=list, repr=False)
    _tags: list[dict[str, list[int]] | None] = field(default_factory=list, repr=False)

    @property
    def kept(self) -> list[tuple[Record, str, Alignment | None, dict[str, list[int]] | None]]:
        """(record, text, alignment or None, tags or None) per scored sample (a ner sample's: None, None)."""
        if self._parts:
            return [k for part in self._parts for k in part.kept]
        return list(zip(self._records, self._texts, self._alignments, self._tags, strict=True))

    @cached_property
    def traces(self) -> list[dict[str, Any]]:
        """Per-sample JSON-able traces (built on first access)."""
        if self._parts:
            return [t for part in self._parts for t in part.traces]
        if self._ner:
            from harness.scoring.ner import trace

            return [trace(self._task, s, self.counts[i]) for i, s in enumerate(self._ner)]
        from harness.scoring.trace import build_trace

        return [build_trace(self._scorer, self._task, k, self.counts[i]) for i, k in enumerate(self.kept)]

    def correct_by_sample(self) -> dict[str, list[bool]]:
        """sample_id → per-gold-item correctness, for pairing items across two results."""
        out: dict[str, list[bool]] = {sid: [] for sid in self.sample_ids}
        for s, ok in zip(self.item_sample.tolist(), self.item_correct.tolist(), strict=True):
            out[self.sample_ids[s]].append(ok)
        return out


def is_scorable(record: Record) -> bool:
    """Records of a registered task, with the answer choices its rule reads, are scored; others
    are skipped and counted."""
    return task_of(record) is not None


class Scorer:
    """The configured stages, plus the caches they share across samples (and re-scorings)."""

    def __init__(self, config: ScoringConfig | None = None) -> None:
        self.config = cfg = config or ScoringConfig()
        self.table = load_synonyms(cfg.synonyms)
        canon = CANONICALIZERS[cfg.canonicalizer](self.table)
        names: dict[str, tuple[str, str]] = {}

        def name_of(raw: str) -> tuple[str, str]:
            hit = names.get(raw)
            if hit is None:
                norm = normalize_entity(raw)
                hit = names[raw] = (norm, canon(norm))
            return hit

        self.name_of = name_of
        self._readers: dict[str, Reader] = {}
        self.align = ALIGNERS[cfg.aligner]
        self.fuzzy = FuzzyMatcher(cfg.fuzzy_threshold, cfg.use_jieba) if cfg.fuzzy else None
        self.taggers = [TAGGERS[n] for n in (cfg.taggers if cfg.taggers is not None else TAGGERS)]
        self._choices: dict[tuple[str, ...], frozenset[str]] = {}

    def reader_for(self, task: Task) -> Reader:
        """The attr_cls reader of a task (its caches shared across systems)."""
        got = self._readers.get(task.name)
        if got is None:
            got = self._readers[task.name] = Reader(self.config.parser, self.name_of, task)
        return got

    def taggers_for(self, task: Task) -> list[str]:
        """A ner task's taggers: the task's own, narrowed to the configured ones."""
        wanted = self.config.taggers
        return [t for t in task.taggers if wanted is None or t in wanted]

    def choices(self, record: Record) -> frozenset[str]:
        key = tuple(record.answer_choices or ())
        got = self._choices.get(key)
        if got is None:
            got = self._choices[key] = frozenset(key)
        return got

    def sample(self, record: Record, text: str) -> tuple[TextRead, TextRead, Alignment, dict[str, list[int]]]:
        """One attr_cls sample, scored on its own (the reference path; `score` inlines the same steps)."""
        cs = self.choices(record)
        reader = self.reader_for(_task_or_error(record))
        g = reader.read(record.target, cs)
        p = reader.read(text, cs)
        g_items, g_norms = g.dedup()
        same = p.norms == g_norms and not p.names_repeat
        al = identity(len(g_items)) if same else self.align(g_items, p.items, self.fuzzy)
        view = SampleView(record, text, g, g_items, p, al, self.name_of)
        tags = {}
        for t in self.taggers:
            lines = t.fn(view)
            if lines:
                tags[t.name] = lines
        return g, p, al, tags


def score(
    records: list[Record],
    predictions: dict[str, str],
    config: ScoringConfig | None = None,
    *,
    scorer: Scorer | None = None,
) -> ScoreResult:
    """Score `predictions` (sample_id → generated text) against the gold `records`.

    Each record is scored by its task (harness.scoring.tasks); records of no registered task are
    skipped (counted in `summary["skipped"]`); a record with no prediction is scored as an
    empty prediction (counted in `summary["unpredicted"]`). `summary["no_answer"]` counts the
    samples whose prediction has no line in the task's answer form (format drift at its worst).
    Prediction ids without a record are ignored here (`read_predictions` rejects them).
    Pass a `scorer` to reuse its caches across calls (re-scoring after a synonym edit needs
    a new one).
    """
    sc = scorer or Scorer(config)
    # The cyclic GC would rescan the growing heap of readings again and again (they hold no
    # cycles; reference counting frees them): off for the loop, restored after.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        groups: dict[str, list[Record]] = {}
        skipped: dict[str, int] = {}
        for rec in records:
            task = task_of(rec)
            if task is None:
                skipped[rec.task_dataset] = skipped.get(rec.task_dataset, 0) + 1
            else:
                groups.setdefault(task.name, []).append(rec)
        if not groups:  # nothing to score: an empty result of the first task's shape
            groups[next(iter(TASKS))] = []
        parts = []
        for name, recs in groups.items():
            task = TASKS[name]
            score_task = _score if task.engine == "attr_cls" else _score_ner
            parts.append(score_task(sc, task, recs, predictions, skipped))
        return parts[0] if len(parts) == 1 else _join(sc, parts, skipped)
    finally:
        if was_enabled:
            gc.enable()


# the order of the feature flags the scoring loop looks its tagger plan up with
_PLAN_FEATURES = ("repeats", "offformat", "extra", "unmatched", "first_pair")
assert sorted(_PLAN_FEATURES) == sorted(TRIGGERS), "the loop must look up every trigger"


class _Plans(dict):
    """Flags of _PLAN_FEATURES -> the taggers that may fire, in the configured order."""

    def __init__(self, taggers: list[Tagger]) -> None:
        super().__init__()
        self.taggers = taggers

    def __missing__(self, features: tuple[bool, ...]) -> list[Tagger]:
        on = {trig for trig, flag in zip(_PLAN_FEATURES, features, strict=True) if flag}
        plan = self[features] = [t for t in self.taggers if t.trigger is None or t.trigger in on]
        return plan


def _task_or_error(record: Record) -> Task:
    task = task_of(record)
    if task is None:
        raise ValueError(f"sample {record.sample_id!r}: no registered task scores {record.task_dataset!r}")
    return task


def _score(
    sc: Scorer, task: Task, records: list[Record], predictions: dict[str, str], skipped: dict[str, int]
) -> ScoreResult:
    """The attr_cls loop over one task's records."""
    read, align, fuzzy, name_of = sc.reader_for(task).read_once, sc.align, sc.fuzzy, sc.name_of
    # the taggers that can fire, in the configured order, for each combination of the trigger
    # features (_PLAN_FEATURES): one lookup per sample
    plans = _Plans(sc.taggers)
    n_all = len(ALL_LABELS)
    diagonal = frozenset(i * (n_all + 1) for i in range(n_all))  # codes of correct items
    self_code = tuple(range(0, n_all * n_all, n_all + 1))  # label -> code of a correct item
    choice_sets = sc._choices
    tag_counts = {t.name: 0 for t in sc.taggers}
    sets: list[int] = []  # 6 ints per sample: official tp/fp/fn, canonical tp/fp/fn
    codes: list[int] = []  # true * n_all + predicted label, per gold item
    n_items: list[int] = []
    kept_texts: list[str] = []
    alignments: list[Alignment | None] = []
    all_tags: list[dict[str, list[int]] | None] = []
    # bound methods: the loop runs once per sample
    add_items, add_text, add_alignment, add_tags = (
        n_items.append,
        kept_texts.append,
        alignments.append,
        all_tags.append,
    )
    unpredicted = extra_items = no_answer = 0
    last_choices: list[str] | None = None  # records of one task share their choices: look up once
    cs = frozenset()
    for rec in records:
        text = predictions.get(rec.sample_id)
        if text is None:
            unpredicted += 1
            text = ""
        if rec.answer_choices != last_choices:
            last_choices = rec.answer_choices
            cs = choice_sets.get(tuple(last_choices)) or sc.choices(rec)
        same = text == rec.target
        g = read(rec.target, cs, same)  # the prediction-only features only when gold is predicted
        p = g if same else read(text, cs)
        g_items, g_norms = g.dedup()
        p_items = p.items
        ng = len(g_items)
        no_answer += not p_items
        if p is g and ng == len(p_items) and not g.repeat:  # the gold text, no line repeated
            al = None
            codes += map(self_code.__getitem__, map(_LABEL, g_items))
            sets += (len(g.off), 0, 0, ng, 0, 0)
            repeats = extra = unmatched = False
        elif p.norms == g_norms and not g.repeat:  # the same distinct entities in the same order
            al = None
            tp = len(g.off & p.off)
            new = [a.label * n_all + b.label for a, b in zip(g_items, p_items, strict=True)]
            codes += new
            ctp = sum(map(diagonal.__contains__, new))
            sets += (tp, len(p.off) - tp, len(g.off) - tp, ctp, ng - ctp, ng - ctp)
            repeats = extra = unmatched = False
        else:
            al = align(g_items, p_items, fuzzy)
            tp = len(g.off & p.off)
            extra_items += len(al.extra)
            # synonyms and fuzzy scores decide the alignment; the sets then name every aligned
            # prediction by its gold item's name (so two gold entities that share a canonical
            # name stay two), and an unaligned one by the gold name its first aligned namesake
            # got (so a repeated line stays one pair), else by its own name
            renamed: dict[int, str] = {}
            alias: dict[str, str] = {}
            for gi, j in enumerate(al.pred_of):
                if j >= 0:
                    renamed[j] = g_items[gi].norm
                    alias.setdefault(p_items[j].norm, g_items[gi].norm)
                    codes.append(g_items[gi].label * n_all + p_items[j].label)
                else:
                    codes.append(g_items[gi].label * n_all + NONE_INDEX)
            p_set = {
                (renamed.get(j) or alias.get(it.norm, it.norm), it.label) for j, it in enumerate(p_items)
            }
            ctp = len(g.pairset & p_set)
            sets += (tp, len(p.off) - tp, len(g.off) - tp, ctp, len(p_set) - ctp, ng - ctp)
            repeats, extra, unmatched = p.names_repeat, bool(al.extra), -1 in al.pred_of
        add_items(ng)
        tags = None
        fired = plans[repeats, p.offformat, extra, unmatched, p.first_pair]
        if fired:
            view = SampleView(rec, text, g, g_items, p, al, name_of)
            for t in fired:
                lines = t.fn(view)
                if lines:
                    if tags is None:
                        tags = {}
                    tags[t.name] = lines
                    tag_counts[t.name] += 1
        add_text(text)
        add_alignment(al)
        add_tags(tags)
    kept = (list(records), kept_texts, alignments, all_tags)
    result = _finish(sc, kept, sets, codes, n_items, tag_counts, skipped, unpredicted, extra_items, no_answer)
    result._task, result.tasks = task, [task.name] * len(records)
    return result


def _finish(
    sc: Scorer,
    kept: tuple[list, list, list, list],
    sets: list[int],
    codes_list: list[int],
    n_items: list[int],
    tag_counts: dict[str, int],
    skipped: dict[str, int],
    unpredicted: int,
    extra_items: int,
    no_answer: int,
) -> ScoreResult:
    """Per-sample count matrix (vectorized from the item codes), metrics, CIs, the summary."""
    cfg = sc.config
    n, n_all, n_lab = len(kept[0]), len(ALL_LABELS), len(CANONICAL_LABELS)
    counts = np.zeros((n, M.N_COLUMNS), dtype=np.int64)
    # np.fromiter reads a list of ints about twice as fast as np.asarray
    counts[:, : M.ITEMS] = np.fromiter(sets, dtype=np.int64, count=len(sets)).reshape(n, 6)
    items = np.fromiter(n_items, dtype=np.int64, count=len(n_items))
    counts[:, M.ITEMS] = items
    codes = np.fromiter(codes_list, dtype=np.int64, count=len(codes_list))
    y_true, y_pred = codes // n_all, codes % n_all
    item_sample = np.repeat(np.arange(n), items)
    ok = y_true == y_pred
    size = n * n_lab
    tp = np.bincount((item_sample * n_lab + y_true)[ok], minlength=size).reshape(n, n_lab)
    fn = np.bincount((item_sample * n_lab + y_true)[~ok], minlength=size).reshape(n, n_lab)
    wrong = ~ok & (y_pred != NONE_INDEX)
    fp = np.bincount((item_sample * n_lab + y_pred)[wrong], minlength=size).reshape(n, n_lab)
    counts[:, M.CORRECT] = tp.sum(axis=1)
    counts[:, M.LABEL_BASE :] = np.stack([tp, fp, fn], axis=2).reshape(n, 3 * n_lab)
    totals = counts.sum(axis=0)
    cls = M.classification_from_codes(np.bincount(codes, minlength=n_all * n_all))
    cls["extra"] = extra_items
    from harness.scoring.stats import bootstrap_ci

    summary: dict[str, Any] = {
        "official": M.prf(totals[M.OFF_TP], totals[M.OFF_FP], totals[M.OFF_FN]),
        "canonical": M.prf(totals[M.CAN_TP], totals[M.CAN_FP], totals[M.CAN_FN]),
        "classification": cls,
        "failures": tag_counts,
        "samples": n,
        "ci": bootstrap_ci(
            counts,
            cfg.ci_metrics,
            resamples=cfg.bootstrap_resamples,
            seed=cfg.seed,
            level=cfg.ci_level,
        ),
        "skipped": skipped,
        "unpredicted": unpredicted,
        "no_answer": no_answer,
        "protocol": {
            "parser": cfg.parser,
            "canonicalizer": cfg.canonicalizer,
            "aligner": cfg.aligner,
            "fuzzy_threshold": cfg.fuzzy_threshold if cfg.fuzzy else None,
            "use_jieba": cfg.use_jieba,
            "taggers": [t.name for t in sc.taggers],
            "synonyms": sc.table.protocol(),  # files, canonicals, variants, digest
            "bootstrap_resamples": cfg.bootstrap_resamples,
            "bootstrap_method": "exact",  # kept for readers of older summaries (keys are stable)
            "ci_level": cfg.ci_level,
            "seed": cfg.seed,
        },
    }
    return ScoreResult(
        summary=summary,
        sample_ids=[r.sample_id for r in kept[0]],
        counts=counts,
        item_correct=ok,
        item_sample=item_sample,
        _scorer=sc,
        _records=kept[0],
        _texts=kept[1],
        _alignments=kept[2],
        _tags=kept[3],
    )


def _ci(sc: Scorer, counts: np.ndarray, task: Task | None) -> dict[str, list[float]]:
    """Bootstrap CIs of the configured metrics a task's counts can give (all of them for attr_cls)."""
    from harness.scoring.stats import bootstrap_ci

    cfg = sc.config
    names = cfg.ci_metrics
    if task is None or task.engine != "attr_cls":
        offered = (
            set(task.stat_metrics.values())
            if task
            else {"official_f1", "official_precision", "official_recall", "canonical_f1"}
        )
        names = [m for m in names if m in offered]
    return bootstrap_ci(counts, names, resamples=cfg.bootstrap_resamples, seed=cfg.seed, level=cfg.ci_level)


def _score_ner(
    sc: Scorer, task: Task, records: list[Record], predictions: dict[str, str], skipped: dict[str, int]
) -> ScoreResult:
    """The ner loop over one task's records (harness.scoring.ner)."""
    from harness.scoring import ner

    cfg = sc.config
    taggers = sc.taggers_for(task)
    samples, rows, pairs, n_items = [], [], [], []
    tag_counts = dict.fromkeys(taggers, 0)
    unpredicted = extra = no_answer = 0
    for rec in records:
        text = predictions.get(rec.sample_id)
        if text is None:
            unpredicted += 1
            text = ""
        sample, row, sample_pairs = ner.score_sample(task, rec, text, taggers)
        no_answer += not sample.pred_items
        samples.append(sample)
        rows.append(row)
        pairs += sample_pairs
        n_items.append(len(sample_pairs))
        extra += len(sample.alignment.extra)
        for name in sample.tags:
            tag_counts[name] += 1
    counts = ner.counts_matrix(rows)
    labels = ner.type_labels(records, pairs)
    index = {name: i for i, name in enumerate(labels)}
    none = len(labels) - 1
    codes = np.asarray(
        [index[g] * len(labels) + (index[p] if p is not None else none) for g, p in pairs], dtype=np.int64
    )
    cls = M.classification_from_codes(np.bincount(codes, minlength=len(labels) ** 2), tuple(labels))
    cls["extra"] = extra
    totals = counts.sum(axis=0)
    summary: dict[str, Any] = {
        "official": M.prf(totals[M.OFF_TP], totals[M.OFF_FP], totals[M.OFF_FN]),
        "canonical": M.prf(totals[M.CAN_TP], totals[M.CAN_FP], totals[M.CAN_FN]),
        "classification": cls,
        "failures": tag_counts,
        "samples": len(records),
        "ci": _ci(sc, counts, task),
        "skipped": skipped,
        "unpredicted": unpredicted,
        "no_answer": no_answer,
        "protocol": {
            "parser": task.lenient,
            "canonicalizer": "identity",  # mentions are spans: normalized, never replaced by synonyms
            "aligner": task.aligner,
            "fuzzy_threshold": None,
            "use_jieba": False,
            "taggers": taggers,
            "synonyms": None,
            "bootstrap_resamples": cfg.bootstrap_resamples,
            "bootstrap_method": "exact",
            "ci_level": cfg.ci_level,
            "seed": cfg.seed,
        },
    }
    item_sample = np.repeat(np.arange(len(records)), np.asarray(n_items, dtype=np.int64))
    item_correct = np.asarray([p == g for g, p in pairs], dtype=bool)
    return ScoreResult(
        summary=summary,
        sample_ids=[r.sample_id for r in records],
        counts=counts,
        item_correct=item_correct,
        item_sample=item_sample,
        tasks=[task.name] * len(records),
        _scorer=sc,
        _task=task,
        _records=list(records),
        _texts=[s.text for s in samples],
        _alignments=[None] * len(samples),  # kept's shape; a ner trace reads _ner
        _tags=[None] * len(samples),
        _ner=samples,
    )


def _join(sc: Scorer, parts: list[ScoreResult], skipped: dict[str, int]) -> ScoreResult:
    """Several tasks' results as one: the micro average of the official and canonical counts
    (the only numbers every task defines alike), and each task's own summary under `by_task`."""
    counts = np.concatenate([p.counts for p in parts])
    totals = counts.sum(axis=0)
    offsets = np.cumsum([0] + [len(p.sample_ids) for p in parts[:-1]])
    summary = {
        "official": M.prf(totals[M.OFF_TP], totals[M.OFF_FP], totals[M.OFF_FN]),
        "canonical": M.prf(totals[M.CAN_TP], totals[M.CAN_FP], totals[M.CAN_FN]),
        "samples": len(counts),
        "ci": _ci(sc, counts, None),
        "skipped": skipped,
        "unpredicted": sum(p.summary["unpredicted"] for p in parts),
        "no_answer": sum(p.summary["no_answer"] for p in parts),
        "by_task": {p.tasks[0]: p.summary for p in parts},
    }
    return ScoreResult(
        summary=summary,
        sample_ids=[sid for p in parts for sid in p.sample_ids],
        counts=counts,
        item_correct=np.concatenate([p.item_correct for p in parts]),
        item_sample=np.concatenate([p.item_sample + off for p, off in zip(parts, offsets, strict=True)]),
        tasks=[t for p in parts for t in p.tasks],
        _scorer=sc,
        _parts=parts,
    )
