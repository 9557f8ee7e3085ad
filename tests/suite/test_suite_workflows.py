"""The CLI workflows of issue 13: run a subset (--systems, --limit) with a JUnit report, export and
open a report, list runs, mine and accept a synonym, rescore into a new run and compare it.

Every run here scores a `predictions` and a `rules` system on six hand-written records, with a
small dictionary of its own (no model, no training), so a run takes about a second.
"""

from __future__ import annotations

import csv
import io
import json
import os
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from harness.records import ATTR_CLS_CHOICES, ATTR_CLS_HEADER, LONG_LABELS
from tests.bad_input.cases import run_cli

# sample id -> its findings and labels; the stored predictions are these, except as PREDICTED says
GOLD: dict[str, list[tuple[str, str]]] = {
    "s0": [("头痛", "阳性"), ("咳嗽", "阴性")],
    "s1": [("眼睛干涩", "阳性"), ("发热", "阴性")],
    "s2": [("恶心", "阳性")],
    "s3": [("消瘦", "阴性"), ("咳嗽", "阳性")],
    "s4": [("头痛", "其他")],
    "s5": [("发热", "阳性")],
}
# what the stored system writes instead of a gold name: a character variant (痛/疼) in two samples,
# a name that merely looks alike (眼部干燥), and a finding of another group (反胃 is 恶心's variant)
PREDICTED = {
    ("s0", "头痛"): "头疼",
    ("s4", "头痛"): "头疼",
    ("s1", "眼睛干涩"): "眼部干燥",
    ("s3", "消瘦"): "反胃",
}
DICTIONARY = (
    "头痛:\n  - 脑袋疼\n恶心:\n  - 反胃\n消瘦:\n  - 瘦了\n发热:\n  - 发烧\n咳嗽:\n  - 咳\n眼睛干涩:\n"
)

SUITE = """\
name: w
data:
  sources:
    te: {kind: promptcblue, path: test.jsonl}
  test: [te]
systems:
  - {name: rules, kind: rules}
  - {name: stored, kind: predictions, path: PREDICTIONS}
scoring: {bootstrap_resamples: 100, synonyms: [syn]}
gate: {baseline: base.json, resamples: 200}
"""


def answer(findings: list[tuple[str, str]]) -> str:
    return "\n".join([ATTR_CLS_HEADER, *(f"{name}：{LONG_LABELS[label]}" for name, label in findings)])


def record(sid: str, findings: list[tuple[str, str]]) -> dict:
    names = "，".join(n for n, _ in findings)
    return {
        "sample_id": sid,
        "input": f"患者：最近{names}\n临床发现实体：{names}\n阴阳性选项：{'，'.join(ATTR_CLS_CHOICES)}\n答：",
        "target": answer(findings),
        "answer_choices": ATTR_CLS_CHOICES,
        "task_type": "attr_cls",
        "task_dataset": "CHIP-MDCFNPC",
    }


def jsonl(rows: list[dict]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def workspace(root: Path) -> Path:
    """Suites (good and flipped predictions), records, predictions and a dictionary under root."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "test.jsonl").write_text(jsonl([record(s, f) for s, f in GOLD.items()]), encoding="utf-8")
    good = [
        {"sample_id": s, "text": answer([(PREDICTED.get((s, n), n), lab) for n, lab in f])}
        for s, f in GOLD.items()
    ]
    flip = {"阳性": "阴性", "阴性": "阳性", "其他": "阳性"}
    bad = [{"sample_id": s, "text": answer([(n, flip[lab]) for n, lab in f])} for s, f in GOLD.items()]
    (root / "good.jsonl").write_text(jsonl(good), encoding="utf-8")
    (root / "bad.jsonl").write_text(jsonl(bad), encoding="utf-8")
    (root / "suite.yaml").write_text(SUITE.replace("PREDICTIONS", "good.jsonl"), encoding="utf-8")
    (root / "worse.yaml").write_text(SUITE.replace("PREDICTIONS", "bad.jsonl"), encoding="utf-8")
    (root / "syn").mkdir(exist_ok=True)
    (root / "syn" / "a.yaml").write_text(DICTIONARY, encoding="utf-8")
    return root


def cli(*argv: str | Path, cwd: Path) -> tuple[int, str]:
    code, out = run_cli([str(a) for a in argv], cwd)
    assert "Traceback" not in out, out
    return code, out


def run_json(*argv: str | Path, cwd: Path) -> dict:
    """The JSON object a verb prints on stdout with --json (its logs go to stderr)."""
    from click.testing import CliRunner

    from harness.cli import cli as harness

    result = CliRunner().invoke(harness, [*map(str, argv), "--json"], catch_exceptions=False)
    assert result.exit_code in (0, 1), result.stdout + result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def accepted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A full run of the good suite, accepted as the baseline."""
    root = workspace(tmp_path_factory.mktemp("wf"))
    doc = run_json("run", root / "suite.yaml", "--out", root / "out", cwd=root)
    run = Path(doc["run_dir"])
    code, out = cli("gate", run, "--update-baseline", cwd=root)
    assert code == 0, out
    return {"root": root, "run": run}


def scores_of(run: Path) -> dict:
    return json.loads((run / "scores.json").read_text(encoding="utf-8"))


def junit_cases(path: Path) -> dict[str, str | None]:
    """testcase name -> the message of its failure or skip (None when it passed)."""
    out = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        child = next(iter(case), None)
        out[case.get("name")] = None if child is None else f"{child.tag}: {child.get('message')}"
    return out


# ---- run --systems / --limit / --junit ------------------------------------------------------
RUN_CASES = [
    # (id, suite, extra argv, exit code, systems scored, samples, {junit case: verdict prefix or None})
    (
        "full-run-gated",
        "suite.yaml",
        [],
        0,
        ["rules", "stored"],
        6,
        {f"{s}.{m}": None for s in ("rules", "stored") for m in ("official.f1", "classification.accuracy")},
    ),
    (
        "regression-fails-with-message",
        "worse.yaml",
        ["--systems", "stored"],
        1,
        ["stored"],
        6,
        {"stored.official.f1": "failure: stored official.f1", "stored.classification.accuracy": "failure"},
    ),
    (
        "systems-subset-gates-only-them",
        "suite.yaml",
        ["--systems", " rules , rules"],
        0,
        ["rules"],
        6,
        {"rules.official.f1": None, "rules.classification.accuracy": None},
    ),
    (
        "limit-is-not-gated-against-a-full-baseline",
        "suite.yaml",
        ["--limit", "2"],
        0,
        ["rules", "stored"],
        2,
        {"gate.*": "skipped: not gated: --limit 2 scored 2 test samples"},
    ),
]


@pytest.mark.parametrize(
    ("suite", "extra", "code", "systems", "samples", "junit"),
    [c[1:] for c in RUN_CASES],
    ids=[c[0] for c in RUN_CASES],
)
def test_run_subset_and_junit(
    accepted: dict[str, Path],
    tmp_path: Path,
    suite: str,
    extra: list[str],
    code: int,
    systems: list[str],
    samples: int,
    junit: dict[str, str | None],
) -> None:
    root = accepted["root"]
    report = tmp_path / "junit.xml"
    got, out = cli("run", root / suite, "--out", tmp_path / "out", "--junit", report, *extra, cwd=root)
    assert got == code, out
    (run,) = (tmp_path / "out" / "w").iterdir()
    scores = scores_of(run)
    assert list(scores["systems"]) == systems
    assert all(s["samples"] == samples for s in scores["systems"].values())
    # the same suite run in full gets the same run id; a subset never lands in the full run's folder
    assert (run.name == accepted["run"].name) == (suite == "suite.yaml" and not extra)
    cases = junit_cases(report)
    assert cases.keys() == junit.keys(), cases
    for name, verdict in junit.items():
        assert (cases[name] is None) if verdict is None else (cases[name] or "").startswith(verdict), cases
    if "--limit" in extra:
        assert scores["limit"] == 2 and "gate_result" not in scores and "not gated: --limit 2" in out


# ---- report --format / --out / --open ------------------------------------------------------------
def check_md(text: str, scores: dict) -> None:
    lines = [x for x in text.splitlines() if x.startswith("| ")]
    assert lines[0].startswith("| system | n | official F1 | Δ |")
    stored = next(x for x in lines if x.startswith("| stored |"))
    assert f"{scores['systems']['stored']['official']['f1']:.3f}" in stored


def check_csv(text: str, scores: dict) -> None:
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["system"] for r in rows] == ["rules", "stored"]
    for r in rows:
        summary = scores["systems"][r["system"]]
        assert float(r["official.f1"]) == summary["official"]["f1"]
        assert float(r["classification.accuracy"]) == summary["classification"]["accuracy"]
        assert int(r["samples"]) == summary["samples"]
    assert rows[0]["official.f1.delta"] == ""  # the base system has no Δ
    delta = float(rows[1]["official.f1.delta"])
    assert delta == pytest.approx(
        scores["systems"]["stored"]["official"]["f1"] - float(rows[0]["official.f1"])
    )


def check_json(text: str, scores: dict) -> None:
    doc = json.loads(text)
    assert doc["base"] == "rules" and [r["system"] for r in doc["systems"]] == ["rules", "stored"]
    stored = doc["systems"][1]["metrics"]["canonical.f1"]
    assert stored["value"] == scores["systems"]["stored"]["canonical"]["f1"] and len(stored["ci"]) == 2


@pytest.mark.parametrize(("fmt", "check"), [("md", check_md), ("csv", check_csv), ("json", check_json)])
@pytest.mark.parametrize("to_file", [False, True], ids=["stdout", "out-file"])
def test_report_formats(accepted: dict[str, Path], tmp_path: Path, fmt: str, check, to_file: bool) -> None:
    run = accepted["run"]
    html = (run / "index.html").read_bytes()
    target = tmp_path / f"table.{fmt}"
    code, out = cli("report", run, "--format", fmt, *(["--out", target] if to_file else []), cwd=tmp_path)
    assert code == 0, out
    check(target.read_text(encoding="utf-8") if to_file else out, scores_of(run))
    if to_file:
        assert "| system |" not in out and "system,samples" not in out and f"written to {target}" in out
    assert (run / "index.html").read_bytes() == html  # an export re-renders nothing


def fake_opener(folder: Path) -> Path:
    """An `xdg-open` that records what it was asked to open."""
    folder.mkdir()
    script = folder / "xdg-open"
    script.write_text(f'#!/bin/sh\necho "$1" > {folder}/opened\n', encoding="utf-8")
    script.chmod(0o755)
    return folder / "opened"


OPEN_CASES = [
    # (id, environment, opened)
    ("ci-never-opens", {"CI": "1", "DISPLAY": ":0"}, False),
    ("no-display-prints-the-url", {"CI": None, "DISPLAY": None, "WAYLAND_DISPLAY": None}, False),
    ("display-hands-it-to-the-opener", {"CI": None, "DISPLAY": ":0"}, True),
]


@pytest.mark.skipif(os.name != "posix" or os.uname().sysname != "Linux", reason="xdg-open is Linux's opener")
@pytest.mark.parametrize(("env", "opened"), [c[1:] for c in OPEN_CASES], ids=[c[0] for c in OPEN_CASES])
def test_report_open(
    accepted: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, env: dict, opened: bool
) -> None:
    marker = fake_opener(tmp_path / "bin")
    monkeypatch.setenv("PATH", f"{marker.parent}{os.pathsep}{os.environ['PATH']}")
    for key, value in env.items():
        if value is None:
            monkeypatch.delenv(key, raising=False)
        else:
            monkeypatch.setenv(key, value)
    run = accepted["run"]
    doc = run_json("report", run, "--open", cwd=tmp_path)
    url = (run / "index.html").resolve().as_uri()
    assert doc["url"] == url and doc["opened"] is opened
    if opened:
        deadline = time.monotonic() + 10
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marker.read_text(encoding="utf-8").strip() == str((run / "index.html").resolve())
    else:
        code, out = cli("report", run, "--open", cwd=tmp_path)
        assert code == 0 and url in out and "no display" in out and not marker.exists()


# ---- the synonym loop: suggest → add → rescore --as → compare → runs ------------------------------
def test_suggest_accept_rescore_as_compare(tmp_path: Path) -> None:
    root = workspace(tmp_path / "ws")
    out = root / "out"
    run = Path(run_json("run", root / "suite.yaml", "--out", out, cwd=root)["run_dir"])
    before = (run / "scores.json").read_bytes()

    proposals = run_json("synonyms", "suggest", run, cwd=root)["proposals"]
    first = proposals[0]
    # the pair that costs points and differs by a known kind of variant comes first, with evidence
    assert (first["canonical"], first["variant"]) == ("头痛", "头疼")
    assert first["kind"] == "character variant 痛/疼" and first["source"] == "unaligned"
    assert first["count"] == 2 and first["examples"] == ["stored:s0", "stored:s4"]
    assert first["gain"] > 0 and first["gains"] == {"stored": first["gain"]}
    # a look-alike comes after it; two findings of different groups never come at all
    assert [(p["canonical"], p["variant"]) for p in proposals[1:]] == [("眼睛干涩", "眼部干燥")]
    assert not any("反胃" in (p["canonical"], p["variant"]) for p in proposals)

    code, said = cli("synonyms", "add", "头痛", "头疼", "--synonyms", root / "syn", cwd=root)
    assert code == 0 and "added 头疼 under 头痛 in" in said and "ws/syn/a.yaml" in said

    doc = run_json("rescore", run, "--as", "accepted", cwd=root)
    new = Path(doc["run_dir"])
    assert new == (out / "w" / "accepted").resolve() and doc["parent"] == str(run.resolve())
    assert (run / "scores.json").read_bytes() == before  # the old run is left as it was
    change = next(c for c in doc["changes"] if c["system"] == "stored" and c["metric"] == "canonical.f1")
    assert change["diff"] == pytest.approx(first["gain"], abs=1e-6) and change["p_value"] <= 1
    manifest = json.loads((new / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["parent"]["run_id"] == run.name and scores_of(new)["parent"]["run_id"] == run.name

    # the old → new table, in the text output too
    code, said = cli("rescore", run, "--as", "accepted2", cwd=root)
    assert code == 0 and f"{run.name} → accepted2" in said and "canonical.f1" in said

    # compare labels each side by its run when both are the same system
    result = run_json("compare", f"{run}:stored", f"{new}:stored", cwd=root)
    assert (result["a"]["label"], result["b"]["label"]) == (f"{run.name}:stored", "accepted:stored")
    code, said = cli("compare", f"{run}:stored", f"{new}:stored", cwd=root)
    flat = "".join(said.split())  # a long path wraps over lines
    assert code == 0 and f"A={run.name}:stored:run{run}" in flat and f"B=accepted:stored:run{new}" in flat

    listed = run_json("runs", out, cwd=root)["runs"]
    assert [r["run_id"] for r in listed] == ["accepted2", "accepted", run.name]
    assert listed[1]["parent"]["run_id"] == run.name
    gain = listed[1]["systems"]["stored"]["canonical.f1"] - listed[2]["systems"]["stored"]["canonical.f1"]
    assert gain == pytest.approx(first["gain"], abs=1e-6)


def test_runs_lists_newest_first_with_numbers_and_verdicts(accepted: dict[str, Path], tmp_path: Path) -> None:
    root = accepted["root"]
    out = tmp_path / "out"
    for limit in ([], ["--limit", "3"]):  # the full run is gated against the baseline, the other not
        code, said = cli("run", root / "suite.yaml", "--out", out, *limit, cwd=root)
        assert code == 0, said
    (out / "w" / "broken").mkdir()
    (out / "w" / "broken" / "manifest.json").write_text("{", encoding="utf-8")
    listed = run_json("runs", out, cwd=root)["runs"]
    limited = next(r for r in listed if r.get("limit") == 3)
    full = next(r for r in listed if r["run_id"] == accepted["run"].name)
    assert listed.index(limited) < listed.index(full)  # newest first
    assert full["gate"] == "passed" and limited["gate"] is None
    assert (
        full["systems"]["stored"]["official.f1"]
        == scores_of(accepted["run"])["systems"]["stored"]["official"]["f1"]
    )
    assert "manifest.json" in next(r for r in listed if r["run_id"] == "broken")["problem"]
    code, said = run_cli(["runs", str(out)], tmp_path)
    assert code == 0 and accepted["run"].name in said and "passed" in said and "(--limit 3)" in said


# ---- small pieces --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("a", "b", "kind"),
    [
        ("眼睛干涩", "眼干", "abbreviation"),
        ("头痛", "头疼", "character variant 痛/疼"),
        ("头晕乏力", "乏力头晕", "reordered"),
        ("发热", "发热了", "longer form"),
        ("眼睛干涩", "眼部干燥", "2 of 4 characters shared"),
        ("消瘦", "反胃", None),
        ("咳", "眼干", None),
    ],
)
def test_variant_kind(a: str, b: str, kind: str | None) -> None:
    from harness.scoring.suggest import variant_kind

    assert variant_kind(a, b) == kind


def test_add_reports_dictionary_paths_through_no_link(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A dictionary folder reached through a link (the package's data/synonyms) is named by its real path."""
    (tmp_path / "synonyms").mkdir()
    (tmp_path / "synonyms" / "a.yaml").write_text(DICTIONARY, encoding="utf-8")
    (tmp_path / "link").symlink_to(tmp_path / "synonyms")
    monkeypatch.chdir(tmp_path)
    code, said = cli("synonyms", "add", "反胃", "消瘦", "--synonyms", tmp_path / "link", cwd=tmp_path)
    assert code == 2 and "(synonyms/a.yaml:3)" in said and "link/" not in said
    code, said = cli("synonyms", "add", "头痛", "头疼", "--synonyms", tmp_path / "link", cwd=tmp_path)
    assert code == 0 and "in synonyms/a.yaml" in said


def test_readme_lists_every_verb() -> None:
    from harness.cli import VERBS

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    missing = [verb for verb in VERBS if f"`harness {verb}" not in readme]
    assert not missing, f"README.md's verb table lacks {missing}"


def test_every_system_is_paired_against_the_base(accepted: dict[str, Path], tmp_path: Path) -> None:
    from harness.comparing import compare_systems

    run = accepted["run"]
    paired = scores_of(run)["paired"]
    assert paired["base"] == "rules" and set(paired["systems"]) == {"stored"}
    stored = paired["systems"]["stored"]
    assert [t["metric"] for t in stored["metrics"]] == ["official.f1", "classification.accuracy"]
    # the same numbers `harness compare` gives for the pair
    direct = compare_systems(
        f"{run}:rules", f"{run}:stored", metrics=["official.f1", "classification.accuracy"], resamples=100
    )
    assert stored["metrics"] == direct["metrics"] and stored["mcnemar"] == direct["mcnemar"]
    code, out = cli("report", run, cwd=tmp_path)
    assert code == 0 and "stored vs rules (paired): official.f1" in " ".join(out.split())
    html = (run / "index.html").read_text(encoding="utf-8")
    section = html[html.index('<table id="paired">') :]
    section = section[: section.index("</table>")]
    assert section.count('<td class="name">stored</td>') == 2 and "official.f1" in section
