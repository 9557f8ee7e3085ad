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
    if source is None:
        return []
    if isinstance(source, str | Path):
        return read_records(source).records
    items = list(source)
    if all(isinstance(x, Record) for x in items):
        return list(items)  # type: ignore[arg-type]
    out: list[Record] = []
    for item in items:
        if isinstance(item, Record):
            out.append(item)
        else:
            out.extend(read_records(item).records)
    return out


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


def _require(records: list[Record], what: str) -> list[Record]:
    if not records:
        raise HarnessError(f"recipe found no {what} records in its sources")
    return records


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
    return _require(load_source(train), "training"), load_source(dev)


def round2(
    train: Source, dev: Source = None, *, seed: int = 0, **_: object
) -> tuple[list[Record], list[Record]]:
    """attr_cls CHIP-MDCFNPC train; dev from IMCS-V2-SR (the study's mistake, kept on purpose)."""
    train_pool = load_source(train)
    dev_pool = load_source(dev) or train_pool
    train_out = _require(select(train_pool, ATTR_CLS, CHIP), f"{ATTR_CLS}/{CHIP} training")
    dev_out = select(dev_pool, ATTR_CLS, IMCS_SR) or select(train_pool, ATTR_CLS, IMCS_SR)
    return train_out, _require(dev_out, f"{ATTR_CLS}/{IMCS_SR} dev")


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
    train_out = select(load_source(train), ATTR_CLS, CHIP)
    dev_out = select(load_source(dev), ATTR_CLS, CHIP)
    if not dev_out:
        train_out, dev_out = _split(train_out, dev_fraction, seed)
    banned = load_source(exclude)
    dev_out = without_overlap(dev_out, banned)
    train_out = without_overlap(train_out, [*dev_out, *banned])
    return _require(train_out, f"{ATTR_CLS}/{CHIP} training"), dev_out


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
    train_out = select(load_source(train), task_type, task_dataset, id_prefix)
    dev_out = select(
        load_source(dev),
        dev_task_type if dev_task_type is not None else task_type,
        dev_task_dataset if dev_task_dataset is not None else task_dataset,
    )
    if not dev_out and dev_fraction:
        train_out, dev_out = _split(train_out, dev_fraction, seed)
    banned = load_source(exclude)
    train_out, dev_out = without_overlap(train_out, banned), without_overlap(dev_out, banned)
    return _require(train_out[:max_train], "matching training"), dev_out[:max_dev]


RECIPES: dict[str, Recipe] = {"round1": round1, "round2": round2, "round3": round3, "custom": custom}


def get_recipe(name: str) -> Recipe:
    try:
        return RECIPES[name]
    except KeyError:
        raise HarnessError(f"unknown recipe {name!r}; valid: {', '.join(RECIPES)}") from None
