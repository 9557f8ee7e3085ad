"""Data recipes: the study's three training rounds (and a custom filter) as functions to (train, dev).

Every recipe takes the pooled train source and dev source (records, a file, or several files)
and returns `(train, dev)` lists of Records:

- `round1`: every record of every task in the given PromptCBLUE files (the study's first try).
- `round2`: CHIP-MDCFNPC attr_cls training data, but dev records from IMCS-V2-SR — another
  attr_cls task with a similar prompt and different labels. This reproduces the study's
  mistake on purpose; the contamination detector flags it (task_mismatch).
- `round3`: clean CHIP-MDCFNPC attr_cls train and dev; the dev set is the dev source's
  CHIP-MDCFNPC records (or a seeded split of train), and train keeps nothing that shares an
  id, a normalized input or a near-duplicate input with dev (or with `exclude`, e.g. the test set).
- `custom`: filters by task_type / task_dataset / sample-id prefix, with limits.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from harness.errors import HarnessError
from harness.records import Record, read_records

Source = str | Path | Sequence[Record] | Sequence[str | Path] | None
Recipe = Callable[..., tuple[list[Record], list[Record]]]

ATTR_CLS = "attr_cls"
CHIP = "CHIP-MDCFNPC"
IMCS_SR = "IMCS-V2-SR"


def load_source(source: Source) -> list[Record]:
    """Records from a list of Records, one file, or several files (pooled in order)."""
    return _pool(source)[0]


def _pool(source: Source) -> tuple[list[Record], str]:
    """The records of a source and what was read, for messages: "a.jsonl (40 records), …"."""
    if source is None:
        return [], "no source"
    items: list[Record | str | Path] = [source] if isinstance(source, str | Path) else list(source)
    out: list[Record] = []
    read: list[str] = []
    given = 0
    for item in items:
        if isinstance(item, Record):
            out.append(item)
            given += 1
        else:
            records = read_records(item).records
            out.extend(records)
            read.append(f"{item} ({len(records)} records)")
    if given:
        read.append(f"{given} given records")
    return out, ", ".join(read) or "no source"


def _nothing_left(recipe: str, what: str, sources: str, pool: list[Record], kept_by: str) -> HarnessError:
    """Why a recipe has no records: what it read, and what the filtering left of it."""
    if not pool:
        return HarnessError(f"recipe found no {what} records: read {sources}, and they hold no records")
    kinds = Counter(f"{r.task_type}/{r.task_dataset}" for r in pool).most_common(5)
    found = ", ".join(f"{k} ×{n}" for k, n in kinds) + (" …" if len(kinds) == 5 else "")
    return HarnessError(
        f"recipe found no {what} records: read {sources}: {found}; {recipe}'s {kept_by} left none of them"
    )


def _as_set(value: str | Iterable[str] | None) -> set[str] | None:
    if value is None:
        return None
    return {value} if isinstance(value, str) else set(value)


def select(
    records: Iterable[Record],
    task_type: str | Iterable[str] | None = None,
    task_dataset: str | Iterable[str] | None = None,
    id_prefix: str | None = None,
) -> list[Record]:
    """Records matching every given filter."""
    types, datasets = _as_set(task_type), _as_set(task_dataset)
    return [
        r
        for r in records
        if (types is None or r.task_type in types)
        and (datasets is None or r.task_dataset in datasets)
        and (id_prefix is None or r.sample_id.startswith(id_prefix))
    ]


def _split(records: list[Record], fraction: float, seed: int) -> tuple[list[Record], list[Record]]:
    """A seeded (train, dev) split with at least one dev record when there are two or more."""
    if len(records) < 2:
        return records, []
    order = list(range(len(records)))
    random.Random(seed).shuffle(order)
    n_dev = min(len(records) - 1, max(1, round(len(records) * fraction)))
    dev_idx = set(order[:n_dev])
    return (
        [r for i, r in enumerate(records) if i not in dev_idx],
        [r for i, r in enumerate(records) if i in dev_idx],
    )


def without_overlap(records: list[Record], others: Sequence[Record]) -> list[Record]:
    """`records` minus any that shares an id, a normalized input or a near-duplicate input with `others`."""
    if not others:
        return records
    from harness.datasets.contamination import near_duplicate_pairs, normalize_text

    ids = {r.sample_id for r in others}
    texts = {normalize_text(r.input) for r in others}
    kept = [r for r in records if r.sample_id not in ids and normalize_text(r.input) not in texts]
    near = {p for p, _, _ in near_duplicate_pairs(kept, list(others))}
    return [r for r in kept if r.sample_id not in near]


def round1(
    train: Source, dev: Source = None, *, seed: int = 0, **_: object
) -> tuple[list[Record], list[Record]]:
    """Every task in the sources: the study's Round 1 (multi-task PromptCBLUE)."""
    pool, sources = _pool(train)
    if not pool:
        raise _nothing_left("round1", "training", sources, pool, "")
    return pool, load_source(dev)


def round2(
    train: Source, dev: Source = None, *, seed: int = 0, **_: object
) -> tuple[list[Record], list[Record]]:
    """attr_cls CHIP-MDCFNPC train; dev from IMCS-V2-SR (the study's mistake, kept on purpose)."""
    train_pool, train_sources = _pool(train)
    dev_pool, dev_sources = _pool(dev)
    train_out = select(train_pool, ATTR_CLS, CHIP)
    if not train_out:
        raise _nothing_left(
            "round2",
            f"{ATTR_CLS}/{CHIP} training",
            train_sources,
            train_pool,
            f"filter task_type={ATTR_CLS}, task_dataset={CHIP}",
        )
    dev_out = select(dev_pool, ATTR_CLS, IMCS_SR) or select(train_pool, ATTR_CLS, IMCS_SR)
    if not dev_out:
        raise _nothing_left(
            "round2",
            f"{ATTR_CLS}/{IMCS_SR} dev",
            f"{dev_sources} and then the training sources" if dev_pool else train_sources,
            dev_pool + train_pool,
            f"filter task_type={ATTR_CLS}, task_dataset={IMCS_SR}",
        )
    return train_out, dev_out


def round3(
    train: Source,
    dev: Source = None,
    *,
    seed: int = 0,
    dev_fraction: float = 0.1,
    exclude: Source = None,
    **_: object,
) -> tuple[list[Record], list[Record]]:
    """Clean attr_cls CHIP-MDCFNPC train and dev, disjoint from each other and from `exclude`."""
    pool, sources = _pool(train)
    train_out = select(pool, ATTR_CLS, CHIP)
    dev_out = select(load_source(dev), ATTR_CLS, CHIP)
    if not dev_out:
        train_out, dev_out = _split(train_out, dev_fraction, seed)
    banned = load_source(exclude)
    dev_out = without_overlap(dev_out, banned)
    kept = without_overlap(train_out, [*dev_out, *banned])
    if not kept:
        raise _nothing_left(
            "round3",
            f"{ATTR_CLS}/{CHIP} training",
            sources,
            pool,
            f"filter task_type={ATTR_CLS}, task_dataset={CHIP} (kept {len(train_out)}), then dropping "
            "records that overlap dev or test,",
        )
    return kept, dev_out


def custom(
    train: Source,
    dev: Source = None,
    *,
    seed: int = 0,
    task_type: str | list[str] | None = None,
    task_dataset: str | list[str] | None = None,
    id_prefix: str | None = None,
    dev_task_type: str | list[str] | None = None,
    dev_task_dataset: str | list[str] | None = None,
    max_train: int | None = None,
    max_dev: int | None = None,
    dev_fraction: float | None = None,
    exclude: Source = None,
    **unknown: object,
) -> tuple[list[Record], list[Record]]:
    """Filters from a suite; dev filters default to the train filters; limits keep the first N.

    Records overlapping `exclude` (e.g. the test set) are dropped from train and dev.
    """
    if unknown:
        raise HarnessError(
            f"custom recipe: unknown option(s) {sorted(unknown)}; valid: task_type, task_dataset, id_prefix, "
            "dev_task_type, dev_task_dataset, max_train, max_dev, dev_fraction, exclude, seed"
        )
    for name, value, low in (("max_train", max_train, 1), ("max_dev", max_dev, 0)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < low):
            raise HarnessError(f"custom recipe: {name} must be an integer ≥ {low}, got {value!r}")
    if dev_fraction is not None and (
        isinstance(dev_fraction, bool)
        or not isinstance(dev_fraction, int | float)
        or not 0 <= dev_fraction < 1
    ):
        raise HarnessError(f"custom recipe: dev_fraction must be in [0, 1), got {dev_fraction!r}")
    pool, sources = _pool(train)
    train_out = select(pool, task_type, task_dataset, id_prefix)
    dev_out = select(
        load_source(dev),
        dev_task_type if dev_task_type is not None else task_type,
        dev_task_dataset if dev_task_dataset is not None else task_dataset,
    )
    if not dev_out and dev_fraction:
        train_out, dev_out = _split(train_out, dev_fraction, seed)
    banned = load_source(exclude)
    selected = len(train_out)
    train_out, dev_out = without_overlap(train_out, banned), without_overlap(dev_out, banned)
    if not train_out[:max_train]:
        filters = [f"{k}={v}" for k, v in (("task_type", task_type), ("task_dataset", task_dataset),
                   ("id_prefix", id_prefix), ("max_train", max_train)) if v is not None]  # fmt: skip
        kept_by = f"filter {', '.join(filters)}" if filters else "filter"
        if banned and selected:
            kept_by += f" (kept {selected}), then dropping records that overlap the test set,"
        raise _nothing_left("custom", "matching training", sources, pool, kept_by)
    return train_out[:max_train], dev_out[:max_dev]


RECIPES: dict[str, Recipe] = {"round1": round1, "round2": round2, "round3": round3, "custom": custom}


def get_recipe(name: str) -> Recipe:
    try:
        return RECIPES[name]
    except KeyError:
        raise HarnessError(f"unknown recipe {name!r}; valid: {', '.join(RECIPES)}") from None
