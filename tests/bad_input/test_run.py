"""`harness run` on malformed suites, sources and output folders: a clear message and exit 2.

Every suite here scores systems that need no model (keyword rules, stored predictions) on a
tiny synthetic source, so a case takes about a second.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.datasets.synthetic import synth_rows
from tests.bad_input.cases import Case, Setup, check

UNSET = "HARNESS_TEST_SURELY_UNSET_VAR"

SUITE = """\
name: t
data:
  sources:
    te: {kind: synthetic, n: 5, seed: 2}
  test: [te]
base_model: {tiny: {corpus: [te]}}
systems:
  - {name: rules, kind: rules}
"""


def suite(text: str = SUITE, **files: str) -> Setup:
    """A setup writing suite.yaml (and other files by name) into the case folder."""

    def setup(tmp: Path) -> None:
        (tmp / "suite.yaml").write_text(text, encoding="utf-8")
        for name, content in files.items():
            (tmp / name.replace("__", ".")).write_text(content, encoding="utf-8")

    return setup


def edit(old: str, new: str) -> str:
    assert old in SUITE, old
    return SUITE.replace(old, new)


def records_file(bad: str | None = None, n: int = 5) -> str:
    """PromptCBLUE JSON lines (synthetic attr_cls records), with `bad` as line 2 when given."""
    lines = [json.dumps(r, ensure_ascii=False) for r in synth_rows(n, 7, ("attr_cls",))]
    if bad is not None:
        lines.insert(1, bad)
    return "\n".join(lines) + "\n"


def with_field(name: str, value: object) -> str:
    """One more synthetic record, id 'bad', with `name` set to `value`."""
    row = {**next(iter(synth_rows(1, 8, ("attr_cls",)))), "sample_id": "bad", name: value}
    return json.dumps(row, ensure_ascii=False) + "\n"


PCB_SOURCE = edit("te: {kind: synthetic, n: 5, seed: 2}", "te: {kind: promptcblue, path: pcb.jsonl}")
PCB_SKIP = edit(
    "te: {kind: synthetic, n: 5, seed: 2}", "te: {kind: promptcblue, path: pcb.jsonl, on_error: skip}"
)
CHIP_SOURCE = edit("te: {kind: synthetic, n: 5, seed: 2}", "te: {kind: chip2021, path: chip.jsonl}")
DIALOG = json.dumps(
    {
        "dialog_id": 1,
        "dialog_info": [
            {
                "sentence_id": "1",
                "sender": "患者",
                "text": "咳嗽三天",
                "ner": [{"name": "咳嗽", "attr": "阳性", "mention": "咳嗽", "range": [0, 2], "type": "症状"}],
            }
        ],
    },
    ensure_ascii=False,
)


ZERO_SHOT = "  - {name: base, kind: zero_shot}\n"
NO_BASE = edit("base_model: {tiny: {corpus: [te]}}\n", "")


def run_argv(*extra: str) -> list[str]:
    return ["run", "{tmp}/suite.yaml", "--out", "{tmp}/out", *extra]


def manifest_of(tmp: Path) -> dict:
    (path,) = (tmp / "out" / "t").glob("*/manifest.json")
    return json.loads(path.read_text(encoding="utf-8"))


def skipped_listed(tmp: Path, out: str) -> None:
    (entry,) = manifest_of(tmp)["skipped"]
    assert (
        entry["line"] == 2
        and entry["file"].endswith("pcb.jsonl")
        and "expected a JSON object" in entry["message"]
    )
    assert "1 bad input line(s) skipped (on_error: skip)" in out
    (html,) = (tmp / "out" / "t").glob("*/index.html")
    text = html.read_text(encoding="utf-8")
    assert "Skipped input lines" in text and "pcb.jsonl:2: expected a JSON object" in text


def assert_skipped_lines(tmp: Path, lines: list[int]) -> None:
    assert [e["line"] for e in manifest_of(tmp)["skipped"]] == lines


def nothing_written_outside(tmp: Path, out: str) -> None:
    assert [p.name for p in tmp.iterdir()] == ["suite.yaml"], out


def trained(train_source: str) -> str:
    """A suite with one trained round (base model: an empty local folder, never loaded)."""
    return (
        SUITE.replace("base_model: {tiny: {corpus: [te]}}", "base_model: {id: ./model}")
        .replace("  test: [te]", f"    tr: {train_source}\n  train: [tr]\n  test: [te]")
        .replace(
            "  - {name: rules, kind: rules}", "  - {name: r3, kind: trained, training: {recipe: round3}}"
        )
    )


def with_model_dir(text: str) -> Setup:
    def setup(tmp: Path) -> None:
        suite(text)(tmp)
        (tmp / "model").mkdir()

    return setup


CASES: list[Case] = [
    # --- bad source lines: fail by default, listed when skipped ------------------------------
    Case(
        "bad-line-fails-by-default",
        suite(PCB_SOURCE, pcb__jsonl=records_file("[1, 2]")),
        run_argv(),
        2,
        ["data.sources.te: 1 bad line(s)", "pcb.jsonl:2: expected a JSON object", "on_error: skip"],
    ),
    Case(
        "bad-line-skipped-is-listed",
        suite(PCB_SKIP, pcb__jsonl=records_file("[1, 2]")),
        run_argv(),
        0,
        ["skipped 1 bad line(s)"],
        check=skipped_listed,
    ),
    Case(
        "chip2021-bad-line-fails-by-default",
        suite(CHIP_SOURCE, chip__jsonl=DIALOG + "\n" + '{"dialog_id": 2, "dialog_info": 5}\n'),
        run_argv(),
        2,
        ["data.sources.te: 1 bad line(s)", "chip.jsonl:2: field dialog_info: expected a list of turns"],
    ),
    Case(
        "chip2021-on-error-skip",
        suite(
            CHIP_SOURCE.replace("path: chip.jsonl}", "path: chip.jsonl, on_error: skip}"),
            chip__jsonl=DIALOG + "\n" + '{"dialog_id": 2, "dialog_info": 5}\n',
        ),
        run_argv(),
        0,
        ["te: skipped 1 bad line(s)"],
        check=lambda tmp, out: assert_skipped_lines(tmp, [2]),
    ),
    Case(
        "source-file-missing",
        suite(PCB_SOURCE),
        run_argv(),
        2,
        ["data.sources.te: file not found:", "pcb.jsonl"],
    ),
    # --- the YAML itself -----------------------------------------------------------------------
    Case(
        "duplicate-systems-key",
        suite(SUITE + "systems:\n  - {name: other, kind: rules}\n"),
        run_argv(),
        2,
        ["duplicate key 'systems' (lines 7 and 9)"],
    ),
    Case(
        "alias-bomb",
        suite(
            "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
            + "".join(
                f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n" for i in range(8)
            )
            + SUITE
        ),
        run_argv(),
        2,
        ["invalid YAML: its aliases expand to more than 1,000,000 nodes"],
    ),
    Case(
        "systems-not-a-list",
        suite(edit("systems:\n  - {name: rules, kind: rules}", "systems: 5")),
        run_argv(),
        2,
        ["systems: Input should be a valid list"],
    ),
    Case(
        "n-not-a-number",
        suite(edit("n: 5", "n: five")),
        run_argv(),
        2,
        ["data.sources.te.n: Input should be a valid integer"],
    ),
    # --- names that become folders and files under --out --------------------------------------
    *[
        Case(
            f"suite-name-{label}",
            suite(edit("name: t", f"name: {name!r}")),
            run_argv(),
            2,
            [
                "name:",
                "is not a valid name: use 1-64 letters, digits, '_', '.' or '-', starting with a letter",
            ],
            check=nothing_written_outside,
        )
        for label, name in [
            ("dotdot", ".."),
            ("dot", "."),
            ("hidden", ".hidden"),
            ("slash", "a/b"),
            ("abs", "/tmp/x"),
            ("work", "_work"),
        ]
    ],
    Case(
        "system-name-dotdot",
        suite(edit("{name: rules, kind: rules}", "{name: '../x', kind: rules}")),
        run_argv(),
        2,
        ["systems[0].name: '../x' is not a valid name"],
    ),
    Case(
        "system-names-differ-only-in-case",
        suite(SUITE + "  - {name: Rules, kind: rules}\n"),
        run_argv(),
        2,
        ["systems: names ['Rules', 'rules'] differ only in case"],
    ),
    # --- --out ---------------------------------------------------------------------------------
    Case(
        "out-is-a-file",
        suite(SUITE, out="not a folder"),
        run_argv(),
        2,
        ["--out {tmp}/out is a file, expected a folder"],
    ),
    Case(
        "out-below-a-file",
        suite(SUITE, f="not a folder"),
        ["run", "{tmp}/suite.yaml", "--out", "{tmp}/f/reports"],
        2,
        ["--out {tmp}/f/reports is inside {tmp}/f, which is a file"],
    ),
    # --- base model -----------------------------------------------------------------------------
    Case(
        "trust-remote-code",
        suite(
            edit(
                "base_model: {tiny: {corpus: [te]}}",
                "base_model: {tiny: {corpus: [te]}, trust_remote_code: true}",
            )
        ),
        run_argv(),
        2,
        ["base_model.trust_remote_code: harness does not run code shipped with a model"],
    ),
    *[
        Case(
            f"missing-local-model-{label}",
            suite(edit("base_model: {tiny: {corpus: [te]}}", f"base_model: {{id: '{ref}'}}")),
            run_argv(),
            2,
            ["base_model.id: local model folder not found:", shown],
        )
        for label, ref, shown in [
            ("relative", "./models/x", "{tmp}/models/x"),
            ("absolute", "/nonexistent-harness/x", "/nonexistent-harness/x"),
            ("home", "~/nonexistent-harness-model", "nonexistent-harness-model"),
        ]
    ],
    Case(
        "local-model-is-a-file",
        suite(edit("base_model: {tiny: {corpus: [te]}}", "base_model: {id: ./m.bin}"), m__bin="x"),
        run_argv(),
        2,
        ["base_model.id: local model folder is a file, expected a model folder"],
    ),
    *[
        Case(
            f"base-model-{label}",
            suite(edit("base_model: {tiny: {corpus: [te]}}", f"base_model: {block}") + ZERO_SHOT, **files),
            run_argv(),
            2,
            expected,
        )
        for label, block, files, expected in [
            (
                "two-sources",
                "{tiny: {corpus: [te]}, known: smollm2}",
                {},
                ["base_model: give exactly one of `id`", "got tiny, known"],
            ),
            ("unknown-known-model", "{known: llama}", {}, ["base_model.known: Input should be 'smollm2'"]),
            ("gguf-missing", "{gguf: ./m.gguf}", {}, ["GGUF file not found: {tmp}/m.gguf"]),
            (
                "gguf-damaged",
                "{gguf: ./m.gguf}",
                {"m__gguf": "GGUF"},
                ["{tmp}/m.gguf: truncated or damaged GGUF"],
            ),
        ]
    ],
    Case(
        "chip2021-split-shares-over-one",
        suite(
            CHIP_SOURCE.replace(
                "path: chip.jsonl}", "path: chip.jsonl, split: {part: test, test_share: 0.6, dev_share: 0.5}}"
            ),
            chip__jsonl=DIALOG + "\n",
        ),
        run_argv(),
        2,
        ["data.sources.te.split: test_share + dev_share must be under 1"],
    ),
    # --- ${VAR} in every kind of path -------------------------------------------------------------
    *[
        Case(
            f"unset-var-{label}",
            suite(text),
            run_argv(),
            2,
            [f"{where}: environment variable {UNSET} is not set"],
        )
        for label, text, where in [
            ("synonyms", SUITE + f"scoring: {{synonyms: ['${{{UNSET}}}/syn']}}\n", "scoring.synonyms[0]"),
            ("baseline", SUITE + f"gate: {{baseline: '${{{UNSET}}}/b.json'}}\n", "gate.baseline"),
            ("model-id", edit("{tiny: {corpus: [te]}}", f"{{id: '${{{UNSET}}}/m'}}"), "base_model.id"),
            (
                "source",
                edit(
                    "{kind: synthetic, n: 5, seed: 2}", f"{{kind: promptcblue, path: '${{{UNSET}}}/t.json'}}"
                ),
                "data.sources.te.path",
            ),
            (
                "templates",
                edit(
                    "{kind: synthetic, n: 5, seed: 2}",
                    f"{{kind: chip2021, path: c.jsonl, templates: '${{{UNSET}}}/t.json'}}",
                ),
                "data.sources.te.templates",
            ),
            (
                "predictions",
                edit(
                    "{name: rules, kind: rules}",
                    f"{{name: p, kind: predictions, path: '${{{UNSET}}}/p.jsonl'}}",
                ),
                "systems[0].path",
            ),
        ]
    ],
    # --- systems ----------------------------------------------------------------------------------
    Case(
        "predictions-file-missing",
        suite(edit("{name: rules, kind: rules}", "{name: p, kind: predictions, path: p.jsonl}")),
        run_argv(),
        2,
        ["p.jsonl"],
    ),
    Case(
        "no-training-data-for-round3",
        with_model_dir(trained("{kind: synthetic, n: 5, seed: 3, tasks: [ner]}")),
        run_argv(),
        2,
        [
            "systems[r3]: no training data: recipe found no attr_cls/CHIP-MDCFNPC training records",
            "train: source tr (synthetic): 5 records (ner/CMeEE-V2 5)",
            "dev: no sources (data.dev is empty)",
            "recipe round3 keeps attr_cls/CHIP-MDCFNPC records",
            "before the recipe: 5 train records, 0 of them share an id or input with the 5 test records; after it: 0",
        ],
    ),
    Case(
        "training-data-is-the-test-set",
        with_model_dir(trained("{kind: synthetic, n: 5, seed: 2}")),
        run_argv(),
        2,
        [
            "systems[r3]: no training data",
            "5 train records, 5 of them share an id or input with the 5 test records",
        ],
    ),
    Case(
        "no-training-sources",
        with_model_dir(trained("{kind: synthetic, n: 5, seed: 3}").replace("  train: [tr]\n", "")),
        run_argv(),
        2,
        ["systems[r3]: no training data", "train: no sources (data.train is empty)"],
    ),
    # --- test records the scorer cannot score: refused, never skipped or scored against nothing ----
    *[
        Case(
            f"test-record-{name}",
            suite(PCB_SOURCE, pcb__jsonl=records_file(n=4) + with_field(field, value)),
            run_argv(),
            2,
            ["1 test record(s) cannot be scored: data.sources.te: sample 'bad'", why],
        )
        for name, field, value, why in [
            ("choices-null", "answer_choices", None, "no answer_choices"),
            ("choices-empty", "answer_choices", [], "no answer_choices"),
            ("target-null", "target", None, "no gold answer (target is null or empty)"),
            ("target-blank", "target", " ", "no gold answer"),
        ]
    ],
    # --- values that would crash or never finish ------------------------------------------------
    Case(
        "synthetic-n-huge",
        suite(edit("n: 5", "n: 1000000000000")),
        run_argv(),
        2,
        ["data.sources.te.n: Input should be less than or equal to 1000000"],
    ),
    Case(
        "scoring-seed-negative",
        suite(SUITE + "scoring: {seed: -1}\n"),
        run_argv(),
        2,
        ["scoring.seed: Input should be greater than or equal to 0"],
    ),
    Case(
        "source-regular-file-that-cannot-be-read",
        suite(edit("te: {kind: synthetic, n: 5, seed: 2}", "te: {kind: promptcblue, path: /proc/self/mem}")),
        run_argv(),
        2,
        ["data.sources.te: file cannot be read: /proc/self/mem"],
    ),
    # --- base_model is needed only by systems that run on it ----------------------------------
    Case(
        "base-model-missing-for-zero-shot",
        suite(NO_BASE.replace("{name: rules, kind: rules}", "{name: z, kind: zero_shot}")),
        run_argv(),
        2,
        ["base_model: missing, and systems z need it", "or keep only predictions, rules and checkpoint"],
        nothing_written_outside,
    ),
    Case(
        "base-model-optional-for-rules",
        suite(NO_BASE),
        run_argv(),
        0,
        ["HTML report"],
        check=lambda tmp, out: manifest_of(tmp)["models"]["base"] is None or pytest.fail(out),
    ),
    # --- --systems, --limit, --junit -------------------------------------------------------------
    Case(
        "systems-unknown",
        suite(),
        run_argv("--systems", "rules,nope"),
        2,
        ["--systems: no system nope in suite t; systems: rules"],
        nothing_written_outside,
    ),
    Case(
        "systems-only-commas",
        suite(),
        run_argv("--systems", " , "),
        2,
        ["--systems ' , ': expected system names separated by commas"],
        nothing_written_outside,
    ),
    Case("limit-zero", suite(), run_argv("--limit", "0"), 2, ["--limit", "0 is not in the range x>=1"]),
    Case(
        "junit-onto-the-suite-file",
        suite(),
        run_argv("--junit", "{tmp}/suite.yaml"),
        2,
        ["--junit {tmp}/suite.yaml is an input file"],
        nothing_written_outside,
    ),
    Case(
        "junit-into-a-file-as-folder",
        suite(),
        run_argv("--junit", "{tmp}/suite.yaml/j.xml"),
        2,
        ["--junit {tmp}/suite.yaml/j.xml: {tmp}/suite.yaml is a file, not a folder"],
        nothing_written_outside,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_run_bad_input(case: Case, tmp_path: Path) -> None:
    check(case, tmp_path)
