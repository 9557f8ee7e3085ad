"""The report's provenance as readable tables, from manifest.json and scores.json.

Three tables: the run (suite, code, libraries, machine, step times, generation and scoring
settings), one row per system (what produced its answers: model, adapter, rules or a file,
and what training and generation cost), and the data sources. Every field is optional: a
manifest of an older harness shows what it has; the raw JSON stays in the report, folded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def _short(digest: Any) -> str:
    return str(digest)[:12] if digest else ""


def _name(path: Any, parts: int = 1) -> str:
    """A local folder by its last parts (the content-addressed name), a hub id whole."""
    if not path:
        return ""
    p = Path(str(path))
    return "/".join(p.parts[-parts:]) if p.is_absolute() else str(path)


def _secs(v: Any) -> str:
    return f"{v:.1f} s" if isinstance(v, int | float) and not isinstance(v, bool) else ""


def _num(template: str, value: Any) -> str:
    """`template` filled with a number, or "" when the value is not one (fields are optional)."""
    return template.format(value) if isinstance(value, int | float) and not isinstance(value, bool) else ""


def _join(*parts: str) -> str:
    return " · ".join(p for p in parts if p)


def _dict(v: Any) -> dict[str, Any]:
    return v if isinstance(v, dict) else {}


def run_rows(manifest: dict[str, Any], scores: dict[str, Any]) -> list[tuple[str, str]]:
    """(field, value) rows about the run as a whole; empty fields are left out."""
    git = _dict(manifest.get("git"))
    versions = _dict(manifest.get("versions"))
    platform = _dict(manifest.get("platform"))
    gen = _dict(manifest.get("generation"))
    scoring = _dict(scores.get("scoring"))
    commit = _short(git.get("commit"))
    rows = [
        ("suite", _join(str(manifest.get("suite") or ""), str(manifest.get("suite_path") or ""))),
        ("suite sha256", _short(manifest.get("suite_sha256"))),
        ("run", _join(str(manifest.get("run_id") or ""), str(manifest.get("created") or ""))),
        (
            "code",
            _join(
                f"harness {versions['harness']}" if versions.get("harness") else "",
                f"git {commit}" + (" (uncommitted changes)" if git.get("dirty") else "") if commit else "",
            ),
        ),
        ("libraries", _join(*(f"{k} {v}" for k, v in versions.items() if k != "harness" and v))),
        ("machine", _join(*(str(v) for v in platform.values() if v))),
        (
            "step times",
            _join(*(f"{k} {_secs(v)}" for k, v in _dict(manifest.get("steps")).items() if _secs(v))),
        ),
        (
            "generation",
            _join(
                *(
                    f"{k} {gen[k]}"
                    for k in ("backend", "dtype", "max_new_tokens", "temperature", "seed", "batch_size")
                    if gen.get(k) is not None
                )
            ),
        ),
        (
            "scoring",
            _join(
                *(
                    f"{k} {scoring[k]}"
                    for k in (
                        "parser",
                        "canonicalizer",
                        "aligner",
                        "fuzzy_threshold",
                        "bootstrap_resamples",
                        "seed",
                    )
                    if scoring.get(k) is not None
                )
            ),
        ),
    ]
    return [(k, v) for k, v in rows if v]


def _generation_cost(system: str, header: dict[str, Any]) -> str:
    """The engine call that served this system: its time and speed (shared by the systems in it)."""
    calls = _dict(header.get("generation")).get("calls") or []
    for call in calls:
        if isinstance(call, dict) and system in (call.get("systems") or []):
            own = _dict(_dict(call.get("by_system")).get(system))
            if own.get("generated"):  # this system's share of the call (newer manifests)
                return _join(
                    f"{call.get('backend', '')} {_secs(own.get('seconds'))}".strip(),
                    _num("{} tokens", own.get("new_tokens")),
                    _num("{:.0f} tok/s", own.get("tokens_per_s")),
                    _num("peak RSS {:.0f} MiB", call.get("peak_rss_mib")),
                )
            others = len(call["systems"]) - 1
            return _join(
                f"{call.get('backend', '')} {_secs(call.get('seconds'))}".strip(),
                _num("{:.0f} tok/s", call.get("tokens_per_s")),
                f"shared with {others} other system{'s' if others > 1 else ''}" if others else "",
            )
    return ""


def system_rows(manifest: dict[str, Any], systems: list[str]) -> list[dict[str, str]]:
    """Per system: source (zero-shot, trained adapter, rules, …), model, adapter, costs."""
    base = _dict(_dict(manifest.get("models")).get("base"))
    model = _join(_name(base.get("ref")), _short(base.get("sha256")))
    adapters = _dict(manifest.get("adapters"))
    header = _dict(manifest.get("scores_header"))
    rows = []
    for s in systems:
        info = _dict(adapters.get(s))
        cost = _dict(info.get("cost"))
        if "rules" in info:
            source, used_model, adapter = str(info["rules"]), "none", ""
        elif "file" in info:
            source, used_model, adapter = (
                f"stored predictions {info['file']}",
                "none",
                _short(info.get("sha256")),
            )
        elif "key" in info:
            source, used_model, adapter = (
                "trained LoRA adapter",
                model,
                _join(_name(info.get("dir"), 2), _short(info.get("sha256"))),
            )
        elif "dir" in info:
            source, used_model, adapter = (
                "adapter or checkpoint",
                model,
                _join(str(info["dir"]), _short(info.get("sha256"))),
            )
        else:
            source, used_model, adapter = "base model, zero-shot", model, ""
        training = ""
        if cost:
            resumed = cost.get("resumed_from_step")
            training = _join(
                f"{cost['steps']} steps" if cost.get("steps") is not None else "",
                _secs(cost.get("seconds")),
                _num("{:.0f} tok/s", cost.get("tokens_per_s")),
                _num("peak RSS {:.0f} MiB", cost.get("peak_rss_mib")),
                f"resumed from step {resumed}" if resumed else "",
            )
        rows.append(
            {
                "system": s,
                "source": source,
                "model": used_model,
                "adapter": adapter,
                "training": training,
                "generation": _generation_cost(s, header),
            }
        )
    return rows


def data_rows(manifest: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(source, records, sha256) per data source the run read."""
    out = []
    for name, info in _dict(manifest.get("data")).items():
        info = _dict(info)
        out.append((str(name), str(info.get("records", "")), _short(info.get("sha256"))))
    return out
