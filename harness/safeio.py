"""Reading untrusted input files: the right kind of path, UTF-8 text, strict JSON and bounded YAML.

Every reader in harness goes through these, so a FIFO, a UTF-16 file, a duplicate key, a YAML
alias bomb or a 10,000-deep JSON nest is one clear `HarnessError` naming the file (and line),
never a traceback, a hang or a silent "last key wins".
"""

from __future__ import annotations

import json
import math
import re
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from harness.errors import HarnessError

# A YAML document may expand (aliases followed) to at most this many nodes: real suites and
# dictionaries have a few thousand; an alias bomb has billions.
MAX_YAML_NODES = 1_000_000
# Containers nested deeper than this are refused (json and yaml recurse once per level).
MAX_DEPTH = 200


def check_input_file(path: str | Path, what: str = "file") -> Path:
    """`path` as a Path when it is a readable regular file; else an error that says what it is."""
    p = Path(path)
    try:
        st = p.stat()
    except FileNotFoundError:
        raise HarnessError(f"{what} not found: {p}") from None
    except NotADirectoryError:
        raise HarnessError(f"{what} not found: {p} (a parent of it is not a folder)") from None
    except PermissionError:
        raise HarnessError(f"{what} cannot be read: {p} (permission denied)") from None
    except OSError as e:
        raise HarnessError(f"{what} cannot be read: {p} ({e.strerror or e})") from None
    if stat.S_ISDIR(st.st_mode):
        raise HarnessError(f"{what} is a folder, expected a file: {p}")
    if not stat.S_ISREG(st.st_mode):
        raise HarnessError(f"{what} is not a regular file: {p} (a pipe, device or socket)")
    try:
        with p.open("rb"):
            pass
    except PermissionError:
        raise HarnessError(f"{what} cannot be read: {p} (permission denied)") from None
    return p


def check_output_path(out: str | Path, flag: str, inputs: Iterable[str | Path | None]) -> Path:
    """`out` as a Path when writing it destroys no input: it is none of `inputs` and in no input folder.

    A folder among `inputs` (a synonym dictionary folder) is read whole, so a file written into it
    would change what the next run reads.
    """
    target = Path(out).resolve()
    for given in inputs:
        if given is None or str(given) == "":
            continue
        src = Path(given).resolve()
        if target == src:
            raise HarnessError(f"{flag} {out} is an input file ({given}): writing there would overwrite it")
        if src.is_dir() and src in target.parents:
            raise HarnessError(
                f"{flag} {out} is inside the input folder {given}: writing there would change what it holds; "
                "choose a path outside it"
            )
    return Path(out)


UTF16 = "the file is UTF-16 text; convert it to UTF-8 (iconv -f UTF-16 -t UTF-8)"


def encoding_problem(raw: bytes) -> tuple[int, str] | None:
    """(1-based line, why) when `raw` is not UTF-8 text, saying what it looks like; else None."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return 1, UTF16
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as e:
        hint = ""
        try:
            raw.decode("gb18030")
            hint = " (it looks like GBK/GB18030: convert it with iconv -f GB18030 -t UTF-8)"
        except UnicodeDecodeError:
            pass
        return raw.count(b"\n", 0, e.start) + 1, f"not UTF-8 text at byte {e.start + 1} of the file{hint}"
    return None


def read_text(path: str | Path, what: str = "file") -> str:
    """A UTF-8 text file's content (a leading BOM dropped); other encodings are errors that say which."""
    p = check_input_file(path, what)
    try:
        raw = p.read_bytes()
    except OSError as e:  # a regular file the machine cannot read (an I/O error, /proc/self/mem)
        raise HarnessError(f"{what} cannot be read: {p} ({e.strerror or e})") from None
    problem = encoding_problem(raw)
    if problem:
        raise HarnessError(f"{p}:{problem[0]}: {problem[1]}")
    return raw.decode("utf-8-sig")


# ---- JSON ---------------------------------------------------------------------------------
class DuplicateKeyError(ValueError):
    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


class _OutOfRange(ValueError):
    def __init__(self, literal: str):
        super().__init__(literal)
        self.literal = literal


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise DuplicateKeyError(k)
        out[k] = v
    return out


def _key_lines(text: str, key: str) -> list[int]:
    """1-based lines where `"key":` appears in JSON text (to name both places of a duplicate)."""
    pattern = re.compile(re.escape(json.dumps(key, ensure_ascii=False)) + r"\s*:")
    return [text.count("\n", 0, m.start()) + 1 for m in pattern.finditer(text)]


def json_problem(text: str) -> tuple[Any, str | None, int | None]:
    """(value, None, None) for valid strict JSON; else (None, message, 1-based line or None).

    Strict: a key repeated in one object, NaN/Infinity and nesting deeper than MAX_DEPTH are errors.
    """

    def no_constants(name: str) -> Any:
        raise ValueError(f"{name} is not valid JSON")

    def finite(literal: str) -> float:
        value = float(literal)
        if not math.isfinite(value):  # 1e999 reads as infinity: as bad as a literal Infinity
            raise _OutOfRange(literal)
        return value

    try:
        value = json.loads(
            text, object_pairs_hook=_no_duplicates, parse_constant=no_constants, parse_float=finite
        )
    except _OutOfRange as e:
        line = text.count("\n", 0, max(text.find(e.literal), 0)) + 1
        return None, f"number {e.literal[:40]} is out of range (not a finite number)", line
    except DuplicateKeyError as e:
        lines = _key_lines(text, e.key)
        where = f" (lines {lines[0]} and {lines[1]})" if len(lines) >= 2 and lines[0] != lines[1] else ""
        return None, f"duplicate key {e.key!r} in one object{where}", lines[1] if len(lines) >= 2 else None
    except json.JSONDecodeError as e:
        return None, f"invalid JSON at column {e.colno}: {e.msg}", e.lineno
    except RecursionError:
        return None, f"JSON nested too deeply (more than {MAX_DEPTH} levels)", None
    except ValueError as e:
        return None, str(e), None
    if _depth_exceeds(value, MAX_DEPTH):
        return None, f"JSON nested too deeply (more than {MAX_DEPTH} levels)", None
    return value, None, None


def _depth_exceeds(value: Any, limit: int) -> bool:
    stack = [(value, 1)]
    while stack:
        v, d = stack.pop()
        if isinstance(v, dict | list):
            if d > limit:
                return True
            stack.extend((c, d + 1) for c in (v.values() if isinstance(v, dict) else v))
    return False


def read_json_file(path: str | Path, what: str = "file") -> Any:
    """One strict JSON document (see `json_problem`); errors name the file and line."""
    p = check_input_file(path, what)
    text = read_text(p, what)
    value, problem, line = json_problem(text)
    if problem:
        raise HarnessError(f"{p}:{line}: {problem}" if line else f"{p}: {problem}")
    return value


# ---- YAML ---------------------------------------------------------------------------------
class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys (naming both lines)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.get(key)
            except TypeError:
                raise yaml.constructor.ConstructorError(
                    None, None, "a mapping key must be a plain value", key_node.start_mark
                ) from None
            if first is not None:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"duplicate key {key!r} (lines {first} and {key_node.start_mark.line + 1})",
                    key_node.start_mark,
                )
            seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


def _expanded_size(root: yaml.Node) -> int:
    """Nodes the document has once every alias is followed, memoized per node (no expansion)."""
    sizes: dict[int, int] = {}
    order: list[yaml.Node] = []
    stack: list[tuple[yaml.Node, int]] = [(root, 1)]
    state: dict[int, int] = {}  # 1 = on stack, 2 = ordered
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise HarnessError(f"nested more than {MAX_DEPTH} levels deep")
        if state.get(id(node)) == 2:
            continue
        if state.get(id(node)) == 1:
            state[id(node)] = 2
            order.append(node)
            continue
        state[id(node)] = 1
        stack.append((node, depth))
        for child in _children(node):
            if state.get(id(child)) == 1:
                raise HarnessError("a recursive alias (an anchor used inside itself)")
            if state.get(id(child)) is None:
                stack.append((child, depth + 1))
    for node in order:
        sizes[id(node)] = min(1 + sum(sizes[id(c)] for c in _children(node)), MAX_YAML_NODES + 1)
    return sizes[id(root)]


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def loads_yaml(text: str, source: str) -> Any:
    """Parse YAML text safely: duplicate keys, alias bombs and deep nesting are errors naming `source`."""
    try:
        node = yaml.compose(text, Loader=_StrictLoader)
        if node is None:
            return None
        try:
            size = _expanded_size(node)
        except HarnessError as e:
            raise HarnessError(f"{source}: invalid YAML: {e}") from None
        if size > MAX_YAML_NODES:
            raise HarnessError(
                f"{source}: invalid YAML: its aliases expand to more than {MAX_YAML_NODES:,} nodes"
            )
        loader = _StrictLoader("")
        try:
            return loader.construct_document(node)
        finally:
            loader.dispose()
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        what = getattr(e, "problem", None) or str(e)
        raise HarnessError(f"{source}{where}: invalid YAML: {what}") from None
    except RecursionError:
        raise HarnessError(f"{source}: invalid YAML: nested too deeply") from None


def read_yaml_file(path: str | Path, what: str = "file") -> Any:
    """A YAML file read with `loads_yaml` after the path and encoding checks."""
    p = check_input_file(path, what)
    return loads_yaml(read_text(p, what), str(p))
