"""Curated synonym dictionaries: YAML files of `canonical: [variant, …]`, one file per concept family.

`load_synonyms(dirs)` builds a `SynonymTable` (variant → canonical over normalized names),
cached by the files' content hash. `check_synonyms` finds duplicates, a variant under two
canonicals and cycles; `add_synonyms` appends variants to a file without losing its comments.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import HarnessError

ENV_VAR = "HARNESS_SYNONYMS"  # os.pathsep-separated dirs overriding the default


def default_synonym_dirs() -> list[Path]:
    """The project's synonyms/ folder.

    Looked up in order: $HARNESS_SYNONYMS; the package's harness/data/synonyms (in a checkout,
    a link to synonyms/; a wheel ships the files there); a synonyms/ folder beside the package.
    """
    env = os.environ.get(ENV_VAR)
    if env:
        return [Path(p) for p in env.split(os.pathsep) if p]
    pkg = Path(__file__).resolve().parents[1]
    for cand in (pkg / "data" / "synonyms", pkg.parent / "synonyms"):
        if cand.is_dir():
            return [cand]
    return []


_SPACE = re.compile(r"\s+")
_EDGE = re.compile(
    r"^[\"'“”‘’「」『』【】\[\]《》<>。.,，;；!！?？、]+|[\"'“”‘’「」『』【】\[\]《》<>。.,，;；!！?？、]+$"
)


def normalize_entity(name: str) -> str:
    """The matching form of an entity name: NFKC (full→half width), lower case, no white space,
    no quotes or punctuation at either end (inside, "38.1" and "3.81" stay apart)."""
    return _EDGE.sub("", _SPACE.sub("", unicodedata.normalize("NFKC", name))).lower()


@dataclass(frozen=True)
class Entry:
    """One canonical finding and where it is defined."""

    canonical: str
    variants: tuple[str, ...]
    path: str
    line: int


@dataclass
class SynonymTable:
    """Normalized variant → canonical name, plus the entries it came from."""

    to_canonical: dict[str, str] = field(default_factory=dict)
    entries: list[Entry] = field(default_factory=list)
    digest: str = ""

    def canonical(self, normalized: str) -> str:
        """The canonical (normalized) name of a normalized entity; itself when unknown."""
        return self.to_canonical.get(normalized, normalized)

    def __len__(self) -> int:
        return len(self.entries)


def _yaml_files(dirs: Iterable[Path]) -> list[Path]:
    files: list[Path] = []
    for d in dirs:
        d = Path(d)
        if d.is_file():
            files.append(d)
        elif d.is_dir():
            files.extend(sorted(p for p in d.rglob("*") if p.suffix in (".yaml", ".yml")))
        else:
            raise HarnessError(f"synonym dictionary not found: {d}")
    return files


def read_entries(path: Path) -> tuple[list[Entry], list[str]]:
    """Entries of one YAML file and the problems found while reading it (duplicate keys included)."""
    import yaml

    problems: list[str] = []
    entries: list[Entry] = []
    try:
        node = yaml.compose(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
    except yaml.YAMLError as e:
        return [], [f"{path}: invalid YAML: {e}"]
    if node is None:
        return [], []
    if not isinstance(node, yaml.MappingNode):
        return [], [f"{path}: expected a mapping of canonical name -> list of variants"]
    for key, value in node.value:
        line = key.start_mark.line + 1
        canon = str(key.value).strip()
        if isinstance(value, yaml.SequenceNode):
            variants = [str(v.value).strip() for v in value.value if isinstance(v, yaml.ScalarNode)]
            if len(variants) != len(value.value):
                problems.append(f"{path}:{line}: {canon}: variants must be plain strings")
        elif isinstance(value, yaml.ScalarNode) and value.value in ("", "~", "null"):
            variants = []
        else:
            problems.append(f"{path}:{line}: {canon}: expected a list of variants")
            continue
        entries.append(Entry(canon, tuple(v for v in variants if v), str(path), line))
    return entries, problems


_TABLES: dict[tuple[str, ...], SynonymTable] = {}


def load_synonyms(dirs: Sequence[str | Path] | None = None) -> SynonymTable:
    """The synonym table of `dirs` (default: `default_synonym_dirs()`), cached by content hash.

    A variant listed under two canonicals keeps its first one; `check_synonyms` reports it.
    """
    from harness.hashing import sha256_file, sha256_json

    paths = [Path(d) for d in dirs] if dirs is not None else default_synonym_dirs()
    files = _yaml_files(paths)
    hashes = [sha256_file(f) for f in files]
    key = tuple(f"{f}:{h}" for f, h in zip(files, hashes, strict=True))
    table = _TABLES.get(key)
    if table is not None:
        return table
    # the digest names the contents in reading order, not where the checkout lies
    table = SynonymTable(digest=sha256_json(hashes))
    for f in files:
        entries, _ = read_entries(f)
        for e in entries:
            table.entries.append(e)
            canon = normalize_entity(e.canonical)
            table.to_canonical.setdefault(canon, canon)
            for v in e.variants:
                table.to_canonical.setdefault(normalize_entity(v), canon)
    _TABLES[key] = table
    return table


def check_synonyms(dirs: Sequence[str | Path] | None = None) -> list[str]:
    """Problems in the dictionaries: bad YAML, duplicate canonicals or variants, a variant under
    two canonicals, and chains or cycles (a canonical listed as another canonical's variant)."""
    paths = [Path(d) for d in dirs] if dirs is not None else default_synonym_dirs()
    problems: list[str] = []
    entries: list[Entry] = []
    for f in _yaml_files(paths):
        es, ps = read_entries(f)
        entries.extend(es)
        problems.extend(ps)
    canon_at: dict[str, Entry] = {}
    owner: dict[str, Entry] = {}  # normalized variant -> entry listing it
    for e in entries:
        c = normalize_entity(e.canonical)
        if c in canon_at:
            first = canon_at[c]
            problems.append(
                f"{e.path}:{e.line}: duplicate canonical {e.canonical!r} (first at {first.path}:{first.line})"
            )
        else:
            canon_at[c] = e
        seen: set[str] = set()
        for v in e.variants:
            n = normalize_entity(v)
            if n in seen:
                problems.append(f"{e.path}:{e.line}: {e.canonical}: duplicate variant {v!r}")
                continue
            seen.add(n)
            if n == c:
                problems.append(f"{e.path}:{e.line}: {e.canonical}: variant {v!r} is the canonical itself")
                continue
            if n in owner and normalize_entity(owner[n].canonical) != c:
                o = owner[n]
                problems.append(
                    f"{e.path}:{e.line}: variant {v!r} is under two canonicals: "
                    f"{o.canonical!r} ({o.path}:{o.line}) and {e.canonical!r}"
                )
            owner.setdefault(n, e)
    # A canonical that is also a variant of another canonical makes a chain A -> B; following
    # such links either ends (a chain: merge the entries) or returns to the start (a cycle).
    link = {c: normalize_entity(owner[c].canonical) for c in canon_at if c in owner}
    for start in sorted(link):
        path, node = [start], link[start]
        while node in link and node not in path:
            path.append(node)
            node = link[node]
        kind = "cycle" if node in path else "chain"
        e = canon_at[start]
        problems.append(
            f"{e.path}:{e.line}: {kind}: canonical {e.canonical!r} is listed as a variant of "
            f"{owner[start].canonical!r} ({' -> '.join([*path, node])})"
        )
    return problems


def add_synonyms(
    canonical: str,
    variants: Sequence[str],
    *,
    file: str | Path | None = None,
    dirs: Sequence[str | Path] | None = None,
) -> tuple[Path, list[str]]:
    """Add `variants` under `canonical`, in the file that defines it (or `file`, or misc.yaml).

    Returns the file written and the variants actually added (ones already there are skipped).
    Refuses a variant that another canonical already owns. Edits the text, so comments stay.
    """
    paths = [Path(d) for d in dirs] if dirs is not None else default_synonym_dirs()
    if not paths and file is None:
        raise HarnessError("no synonym folder found: pass --synonyms DIR or --file F")
    table = load_synonyms(paths) if paths else SynonymTable()
    c = normalize_entity(canonical)
    for v in variants:
        owner = table.to_canonical.get(normalize_entity(v))
        if owner is not None and owner != c:
            raise HarnessError(f"variant {v!r} already belongs to canonical {owner!r}; remove it there first")
    entry = next((e for e in table.entries if normalize_entity(e.canonical) == c), None)
    if entry and file and Path(file).resolve() != Path(entry.path).resolve():
        raise HarnessError(f"{canonical!r} is defined in {entry.path}, not {file}")
    target = Path(file) if file else Path(entry.path) if entry else paths[0] / "misc.yaml"
    known = {normalize_entity(x) for x in (entry.variants if entry else ())} | {c}
    new = [v for v in dict.fromkeys(variants) if normalize_entity(v) not in known]
    text = target.read_text(encoding="utf-8") if target.exists() else ""
    lines = text.splitlines()
    head = re.compile(rf"^{re.escape(canonical)}\s*:\s*(#.*)?$")
    at = next((i for i, ln in enumerate(lines) if head.match(ln)), None)
    if at is None:
        lines += [f"{canonical}:"] + [f"  - {v}" for v in new]
    else:
        end = at + 1
        while end < len(lines) and (lines[end].startswith((" ", "\t")) or not lines[end].strip()):
            end += 1
        while end > at + 1 and not lines[end - 1].strip():
            end -= 1
        lines[end:end] = [f"  - {v}" for v in new]
    if new:
        from harness.jsonl import atomic_write_text

        atomic_write_text(target, "\n".join(lines) + "\n")
    return target, new
