"""Curated synonym dictionaries: YAML files of `canonical: [variant, …]`, one file per concept family.

`load_synonyms(dirs)` builds a `SynonymTable` (variant → canonical over normalized names),
cached by the files' content hash; a dictionary that does not read (encoding, YAML, duplicate
key, wrong shape) is an error naming its file and line. `scan_synonyms` lists every problem
(the unreadable files and duplicates, a variant under two canonicals, chains and cycles);
`add_synonyms` adds variants by rewriting the file with a YAML emitter, keeping its top comments.
"""

from __future__ import annotations

import math
import os
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

import yaml

from harness.errors import HarnessError

ENV_VAR = "HARNESS_SYNONYMS"  # os.pathsep-separated dirs overriding the default
SUFFIXES = (".yaml", ".yml")
WHAT = "synonym dictionary"
# Said after a read problem: the scorer refuses the dictionary until it reads.
FIX_HINT = "fix the file; `harness synonyms check` lists every problem"


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


# Control, invisible-format, surrogate and line/paragraph-separator characters: a name holding
# one would never match what a model writes, or would break the file's one-name-per-line layout.
_BAD_CATEGORIES = {"Cc", "Cf", "Cs", "Zl", "Zp"}
_CONTROL_NAMES = {"\t": "tab", "\n": "newline", "\r": "carriage return", "\x00": "NUL"}


def name_problem(name: str) -> str | None:
    """Why `name` (already stripped) cannot be a canonical or variant name; None when it can."""
    if not name:
        return "is blank"
    for ch in name:
        if unicodedata.category(ch) in _BAD_CATEGORIES:
            what = _CONTROL_NAMES.get(ch) or unicodedata.name(ch, "")
            if 0xD800 <= ord(ch) <= 0xDFFF:
                what = "bytes that are not UTF-8 text"
            return f"contains a control or invisible character (U+{ord(ch):04X} {what}".rstrip() + ")"
    if not normalize_entity(name):
        return "has nothing left to match once spaces and edge punctuation are dropped"
    return None


@dataclass(frozen=True)
class Entry:
    """One canonical finding and where it is defined."""

    canonical: str
    variants: tuple[str, ...]
    path: str
    line: int


@dataclass
class SynonymTable:
    """Normalized variant → canonical name, plus the entries and files it came from."""

    to_canonical: dict[str, str] = field(default_factory=dict)
    entries: list[Entry] = field(default_factory=list)
    digest: str = ""
    files: list[str] = field(default_factory=list)  # names relative to their folder, reading order

    def canonical(self, normalized: str) -> str:
        """The canonical (normalized) name of a normalized entity; itself when unknown."""
        return self.to_canonical.get(normalized, normalized)

    def __len__(self) -> int:
        return len(self.entries)

    def protocol(self) -> dict[str, Any]:
        """What was loaded, for a score summary's protocol block."""
        return {
            "files": list(self.files),
            "canonicals": len(self.entries),
            "variants": sum(len(e.variants) for e in self.entries),
            "digest": self.digest,
        }


def _paths(dirs: Sequence[str | Path] | None) -> list[Path]:
    return [Path(d) for d in dirs] if dirs is not None else default_synonym_dirs()


def dictionary_files(paths: Sequence[Path], *, allow_empty: bool = False) -> list[tuple[Path, str]]:
    """(file, name relative to its folder) of every dictionary under `paths`, in reading order.

    A path that does not exist, or a folder without any *.yaml/*.yml (unless `allow_empty`), is
    an error: scoring without the dictionaries one meant would be a silently different protocol.
    """
    if not paths:
        raise HarnessError(f"no {WHAT} folder found: pass --synonyms DIR or set ${ENV_VAR}")
    files: list[tuple[Path, str]] = []
    for d in paths:
        if d.is_dir():
            # a folder named x.yaml is descended into, not read; a pipe or broken link is reported
            found = sorted(p for p in d.rglob("*") if p.suffix in SUFFIXES and not p.is_dir())
            if not found and not allow_empty:
                raise HarnessError(
                    f"{WHAT} folder {d} holds no dictionaries (*.yaml, *.yml): "
                    "pass the folder that holds them with --synonyms"
                )
            files.extend((p, p.relative_to(d).as_posix()) for p in found)
        elif d.exists() or d.is_symlink():
            files.append((d, d.name))
        else:
            raise HarnessError(f"{WHAT} not found: {d} (pass an existing folder or file with --synonyms)")
    return files


def _kind(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    return "empty" if node.tag.endswith(":null") else f"the text {node.value!r}"


def _scalar_name(node: yaml.Node) -> str | None:
    """A name node's text, stripped; None when it is not a plain value (or is YAML null)."""
    if not isinstance(node, yaml.ScalarNode) or node.tag.endswith((":null", ":merge")):
        return None
    return str(node.value).strip()


def parse_dictionary(text: str, source: str) -> tuple[list[Entry], list[str]]:
    """The entries of one dictionary's text and its problems (`source:line: …`).

    Strict: invalid YAML, a duplicate key, a top level that is not a mapping, a value that is
    not a list of names, and a blank or unmatchable name are problems. Names are read as written
    (`yes`, `1.0` stay text). An empty file has no entries and no problems.
    """
    from harness.safeio import loads_yaml

    try:
        loads_yaml(text, source)  # syntax, duplicate keys, alias bombs and nesting, with lines
    except HarnessError as e:
        return [], [str(e)]
    node = yaml.compose(text, Loader=yaml.SafeLoader)
    if node is None:
        return [], []
    if not isinstance(node, yaml.MappingNode):
        return [], [
            f"{source}:{node.start_mark.line + 1}: expected a mapping of canonical name -> list of "
            f"variants, found {_kind(node)}"
        ]
    entries: list[Entry] = []
    problems: list[str] = []
    for key, value in node.value:
        line = key.start_mark.line + 1
        canon = _scalar_name(key)
        if key.tag.endswith(":merge"):
            problems.append(f"{source}:{line}: YAML merge keys (<<) are not supported in a dictionary")
            continue
        if canon is None:
            problems.append(f"{source}:{line}: a canonical name must be plain text, found {_kind(key)}")
            continue
        why = name_problem(canon)
        if why:
            problems.append(f"{source}:{line}: canonical {canon!r} {why}")
            continue
        if isinstance(value, yaml.ScalarNode) and value.tag.endswith(":null"):
            entries.append(Entry(canon, (), source, line))  # `name:` alone: no variants yet
            continue
        if not isinstance(value, yaml.SequenceNode):
            problems.append(
                f"{source}:{line}: {canon}: expected a list of variants (`  - variant` lines), "
                f"found {_kind(value)}"
            )
            continue
        variants: list[str] = []
        for item in value.value:
            v = _scalar_name(item)
            where = f"{source}:{item.start_mark.line + 1}: {canon}:"
            if v is None and isinstance(item, yaml.ScalarNode):
                why = "is empty (a `-` with nothing after it, or a `#` that began a comment: quote it)"
                problems.append(f"{where} a variant {why}")
            elif v is None:
                problems.append(f"{where} a variant must be plain text, found {_kind(item)}")
            elif why := name_problem(v):
                problems.append(f"{where} variant {v!r} {why}")
            else:
                variants.append(v)
        entries.append(Entry(canon, tuple(variants), source, line))
    return entries, problems


def _parse(path: Path, raw: bytes) -> tuple[list[Entry], list[str]]:
    """A dictionary file's entries and content problems, from its bytes."""
    from harness.safeio import encoding_problem

    bad = encoding_problem(raw)
    if bad:
        return [], [f"{path}:{bad[0]}: {bad[1]}"]
    return parse_dictionary(raw.decode("utf-8-sig"), str(path))


def _read(path: Path) -> tuple[list[Entry], list[str]]:
    """A dictionary file's entries and content problems; a path that cannot be read raises."""
    from harness.safeio import check_input_file

    return _parse(path, check_input_file(path, WHAT).read_bytes())


def read_entries(path: Path) -> tuple[list[Entry], list[str]]:
    """Entries of one dictionary file and the problems found while reading it."""
    return _read(Path(path))


_TABLES: dict[tuple[str, ...], SynonymTable] = {}


def load_synonyms(dirs: Sequence[str | Path] | None = None) -> SynonymTable:
    """The synonym table of `dirs` (default: `default_synonym_dirs()`), cached by content hash.

    Any dictionary that does not read is an error naming its file and line. A variant listed
    under two canonicals keeps its first one; `scan_synonyms` reports it.
    """
    from harness.hashing import sha256_bytes, sha256_json
    from harness.safeio import check_input_file

    files = dictionary_files(_paths(dirs))
    raws = [check_input_file(f, WHAT).read_bytes() for f, _ in files]
    hashes = [sha256_bytes(raw) for raw in raws]
    key = tuple(f"{f}:{name}:{h}" for (f, name), h in zip(files, hashes, strict=True))
    table = _TABLES.get(key)
    if table is not None:
        return table
    read = [_parse(f, raw) for (f, _), raw in zip(files, raws, strict=True)]
    problems = [p for _, ps in read for p in ps]
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise HarnessError(f"{WHAT} {problems[0]}{more}: {FIX_HINT}")
    # the digest names the contents in reading order, not where the checkout lies
    table = SynonymTable(digest=sha256_json(hashes), files=[name for _, name in files])
    for entries, _ in read:
        for e in entries:
            table.entries.append(e)
            canon = normalize_entity(e.canonical)
            table.to_canonical.setdefault(canon, canon)
            for v in e.variants:
                table.to_canonical.setdefault(normalize_entity(v), canon)
    if not table.entries:
        where = ", ".join(str(d) for d in _paths(dirs))
        raise HarnessError(f"the {WHAT} files in {where} hold no entries: add `canonical: [variants]` to one")
    _TABLES[key] = table
    return table


def scan_synonyms(dirs: Sequence[str | Path] | None = None) -> tuple[list[Entry], list[str]]:
    """The entries of every readable dictionary and every problem: files that do not read or hold
    nothing, duplicate canonicals or variants, a variant under two canonicals, chains and cycles.

    A path that cannot be read at all (missing, a folder without dictionaries, no permission)
    raises instead: there is nothing to check.
    """
    entries: list[Entry] = []
    problems: list[str] = []
    for f, _ in dictionary_files(_paths(dirs)):
        es, ps = _read(f)
        if not es and not ps:
            ps = [f"{f}: holds no entries: add `canonical: [variants]` or delete the file"]
        entries.extend(es)
        problems.extend(ps)
    return entries, problems + _entry_problems(entries)


def check_synonyms(dirs: Sequence[str | Path] | None = None) -> list[str]:
    """Every problem `scan_synonyms` finds."""
    return scan_synonyms(dirs)[1]


def _entry_problems(entries: list[Entry]) -> list[str]:
    problems: list[str] = []
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


# ---- writing ------------------------------------------------------------------------------
class _Dumper(yaml.SafeDumper):
    """The curated files' layout: list items indented under their canonical (`  - variant`)."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        return super().increase_indent(flow, False)


def dump_dictionary(groups: dict[str, list[str]]) -> str:
    """Groups as dictionary YAML, one `canonical:` block each; any name is quoted as YAML needs."""
    if not groups:
        return ""
    return yaml.dump(
        groups,
        Dumper=_Dumper,
        allow_unicode=True,
        sort_keys=False,
        default_flow_style=False,
        width=math.inf,  # never fold a long name over two lines
    )


def _header(text: str, source: str) -> str:
    """The comment block before the first entry, to be kept verbatim.

    A comment further down (between or after entries) would be lost by a rewrite, so it is an
    error that says where it is.
    """
    tokens = [t for t in yaml.scan(text, Loader=yaml.SafeLoader) if not isinstance(t, yaml.StreamStartToken)]
    if len(tokens) <= 1:  # only the stream end: the file is comments and blank lines
        return text if not text or text.endswith("\n") else text + "\n"
    start = text.rfind("\n", 0, tokens[0].start_mark.index) + 1
    for prev, nxt in pairwise(tokens):
        gap = text[prev.end_mark.index : nxt.start_mark.index]
        if "#" in gap:
            line = text.count("\n", 0, prev.end_mark.index + gap.index("#")) + 1
            raise HarnessError(
                f"{source}:{line}: a comment among the entries would be lost when the file is "
                "rewritten: move it to the comment block at the top of the file, then add again"
            )
    return text[:start]


def display_path(path: str | Path) -> str:
    """A dictionary's path as its user knows it: links resolved (in a checkout the package's
    data/synonyms is a link to synonyms/), relative to the working directory when below it."""
    real = Path(path).resolve()
    try:
        return str(real.relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(real)


def _at(e: Entry) -> str:
    return f"{display_path(e.path)}:{e.line}"


def _group(e: Entry) -> str:
    shown = ", ".join(e.variants[:4]) + (", …" if len(e.variants) > 4 else "")
    return f"{e.canonical!r} ({_at(e)}{'; variants: ' + shown if shown else ''})"


def _elsewhere(v: str, target: str, canon_at: dict[str, Entry], variant_at: dict[str, Entry]) -> str | None:
    """Why variant `v` cannot join canonical `target` because another group holds it, and what to do about it; None when no other group holds it."""
    n = normalize_entity(v)
    mine = normalize_entity(target)
    other, holder = canon_at.get(n), variant_at.get(n)
    merge = (
        "merge the two groups by hand (move one block's names under the other canonical and delete "
        "that block), then run `harness synonyms check`"
    )
    if other is not None and n != mine:
        return (
            f"variant {v!r} is itself a canonical, of the group {_group(other)}: the dictionaries hold "
            f"{v!r} and {target!r} as different findings, so it cannot become a variant of {target!r}. "
            f"If they are one finding, {merge}; otherwise leave them apart"
        )
    if holder is not None and normalize_entity(holder.canonical) != mine:
        return (
            f"variant {v!r} already belongs to canonical {holder.canonical!r} ({_at(holder)}), and a name "
            f"means one finding only. If it was filed under the wrong canonical, remove it there first, "
            f"then add it again; if {holder.canonical!r} and {target!r} are one finding, {merge}"
        )
    return None


@dataclass
class AddResult:
    path: Path
    canonical: str  # the name as the file spells it
    added: list[str]
    skipped: list[tuple[str, str]]  # (variant, why)
    outside: bool  # the file is not among the dictionaries read (the scorer will not see it)


def _term(given: str, role: str) -> str:
    name = given.strip()
    why = name_problem(name)
    if why:
        raise HarnessError(f"{role} {given!r} {why}: give one line of visible text")
    return name


def add_synonyms(
    canonical: str,
    variants: Sequence[str],
    *,
    file: str | Path | None = None,
    dirs: Sequence[str | Path] | None = None,
) -> AddResult:
    """Add `variants` under `canonical`, in the file that defines it (or `file`, or misc.yaml).

    Refused, with nothing written, when a name is blank or holds a control character, when
    `canonical` is already another canonical's variant, or a variant is another canonical or
    its variant. Variants already there are skipped. The file is rewritten with a YAML emitter
    (its top comment block kept verbatim), re-read and compared before an atomic replace.
    """
    from harness.jsonl import atomic_write_text
    from harness.safeio import read_text

    canonical = _term(canonical, "canonical")
    wanted = [_term(v, "variant") for v in variants]
    paths = _paths(dirs)
    if not paths and file is None:
        raise HarnessError(f"no {WHAT} folder found: pass --synonyms DIR or --file F")
    if file is not None and Path(file).suffix not in SUFFIXES:
        raise HarnessError(
            f"--file {file}: a dictionary file must end in .yaml or .yml (only those are read)"
        )
    listed = dictionary_files(paths, allow_empty=True) if paths else []
    entries: list[Entry] = []
    for f, _ in listed:
        es, ps = _read(f)
        if ps:
            raise HarnessError(f"cannot add: {WHAT} {ps[0]}: {FIX_HINT}")
        entries.extend(es)
    read_files = {f.resolve() for f, _ in listed}
    if file is not None and Path(file).exists() and Path(file).resolve() not in read_files:
        es, ps = _read(Path(file))
        if ps:
            raise HarnessError(f"cannot add: {WHAT} {ps[0]}: {FIX_HINT}")
        entries.extend(es)

    canon_at: dict[str, Entry] = {}
    variant_at: dict[str, Entry] = {}
    for e in entries:
        canon_at.setdefault(normalize_entity(e.canonical), e)
        for v in e.variants:
            variant_at.setdefault(normalize_entity(v), e)
    c = normalize_entity(canonical)
    owner = variant_at.get(c)
    if owner is not None and normalize_entity(owner.canonical) != c:
        clash = [_elsewhere(v, owner.canonical, canon_at, variant_at) for v in wanted]
        fine = [v for v, why in zip(wanted, clash, strict=True) if why is None]
        then = f": `harness synonyms add {owner.canonical} {' '.join(fine)}`" if fine else ""
        raise HarnessError(
            f"{canonical!r} is already a variant of {owner.canonical!r} ({_at(owner)}), so its variants "
            f"go under that canonical instead{then}" + "".join(f"; {why}" for why in clash if why)
        )
    skipped: list[tuple[str, str]] = []
    new: list[str] = []
    for v in wanted:
        n = normalize_entity(v)
        holder, why = variant_at.get(n), _elsewhere(v, canonical, canon_at, variant_at)
        if n == c:
            skipped.append((v, "is the canonical itself"))
        elif why:
            raise HarnessError(why)
        elif holder is not None:
            skipped.append((v, "already listed"))
        elif n in {normalize_entity(x) for x in new}:
            skipped.append((v, "given twice"))
        else:
            new.append(v)

    entry = canon_at.get(c)
    if entry and file and Path(file).resolve() != Path(entry.path).resolve():
        raise HarnessError(f"{canonical!r} is defined in {display_path(entry.path)}, not {file}")
    if entry:
        target = Path(entry.path)
    elif file:
        target = Path(file)
    else:
        target = paths[0] if not paths[0].is_dir() else paths[0] / "misc.yaml"
    key = entry.canonical if entry else canonical
    outside = target.resolve() not in read_files and not any(
        d.is_dir() and target.resolve().is_relative_to(d.resolve()) for d in paths
    )
    result = AddResult(target, key, new, skipped, outside)
    if not new:
        return result

    text = read_text(target, WHAT) if target.exists() or target.is_symlink() else ""
    current, problems = parse_dictionary(text, str(target))
    if problems:  # the file changed since it was read above
        raise HarnessError(f"cannot add: {WHAT} {problems[0]}: {FIX_HINT}")
    header = _header(text, str(target))
    groups: dict[str, list[str]] = {}
    for e in current:
        if e.canonical in groups:
            raise HarnessError(
                f"{target}:{e.line}: {e.canonical!r} is listed twice in this file: merge the two "
                "entries first (harness synonyms check)"
            )
        groups[e.canonical] = list(e.variants)
    groups.setdefault(key, []).extend(new)
    body = dump_dictionary(groups)
    out = header + (body.replace("\n", "\r\n") if "\r\n" in text else body)  # keep CRLF files CRLF
    # Write only a text that reads back as exactly the intended dictionary, header intact.
    back, problems = parse_dictionary(out, str(target))
    if (
        problems
        or not out.startswith(header)
        or [(e.canonical, list(e.variants)) for e in back] != list(groups.items())
    ):
        raise RuntimeError(f"refusing to write {target}: the new text does not read back as intended")
    atomic_write_text(target, out)
    return result
