"""Suite files: every shipped suite validates; errors carry YAML paths; paths and ${ENV} resolve."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.suite import SuiteError, TrainedSystem, load_suite

SUITES = sorted((Path(__file__).resolve().parents[2] / "suites").glob("*.yaml"))

MINIMAL = """
name: t
data:
  sources:
    tr: {kind: synthetic, n: 10, seed: 1}
    te: {kind: synthetic, n: 10, seed: 2}
  train: [tr]
  test: [te]
base_model: {tiny: {corpus: [tr]}}
systems:
  - {name: base, kind: zero_shot}
  - {name: r3, kind: trained, training: {recipe: round3, lora: {r: 4}}}
"""


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "suite.yaml"
    p.write_text(text, encoding="utf-8")
    return p


def test_the_project_ships_both_suites() -> None:
    assert {p.name for p in SUITES} >= {"demo.yaml", "attr_cls.yaml"}


@pytest.mark.parametrize("path", SUITES, ids=lambda p: p.name)
def test_every_shipped_suite_validates(path: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PROMPTCBLUE_DIR", str(tmp_path))
    monkeypatch.setenv("CHIP2021_DIALOGS", str(tmp_path / "dialogs.jsonl"))
    suite = load_suite(path)
    # real.yaml takes ~30 minutes on a CPU: no CI job runs it, so it keeps no baseline yet
    assert suite.systems and (suite.gate.baseline or path.name == "real.yaml")
    for s in suite.systems:
        if isinstance(s, TrainedSystem):
            suite.train_config(s)  # the merged training block is a valid TrainConfig


def test_demo_suite_has_base_and_two_rounds() -> None:
    suite = load_suite(SUITES[0].parent / "demo.yaml")
    kinds = [s.kind for s in suite.systems]
    assert kinds.count("zero_shot") == 1 and kinds.count("trained") >= 2
    recipes = {s.training.recipe for s in suite.systems if isinstance(s, TrainedSystem)}
    assert "round3" in recipes and recipes & {"round1", "round2"}
    assert suite.base_model.tiny is not None and suite.generation.backend in {"hf", "vllm"}


def test_attr_cls_is_the_study(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROMPTCBLUE_DIR", "/data/pcb")
    suite = load_suite(SUITES[0].parent / "attr_cls.yaml")
    assert suite.base_model.id == "Qwen/Qwen2.5-0.5B-Instruct"
    assert suite.data.sources["pcb_train"].path == Path("/data/pcb/train.json")
    cfg = suite.train_config(next(s for s in suite.systems if s.name == "round3"))
    assert (cfg.r, cfg.lora_alpha, cfg.lora_dropout, cfg.epochs, cfg.lr) == (8, 16, 0.05, 3, 2e-4)
    assert (cfg.batch_size, cfg.grad_accum, cfg.dtype) == (2, 8, "bfloat16")
    assert sorted(cfg.target_modules) == ["k_proj", "o_proj", "q_proj", "v_proj"]
    assert suite.generation.backend == "vllm"
    assert [s.name for s in suite.systems] == ["base", "round1", "round2", "round3"]


def test_minimal_suite_resolves_paths_against_its_folder(tmp_path: Path) -> None:
    text = MINIMAL + "gate: {baseline: ../b/base.json}\nscoring: {synonyms: [syn]}\n"
    suite = load_suite(write(tmp_path, text))
    assert suite.gate.baseline == tmp_path.parent / "b" / "base.json"
    assert suite.scoring.synonyms == [tmp_path / "syn"]
    assert suite.train_config(suite.systems[1]).r == 4


@pytest.mark.parametrize(
    "edit,needle",
    [
        (
            (
                "  - {name: r3, kind: trained, training: {recipe: round3, lora: {r: 4}}}",
                "  - {name: r3, kind: trained, training: {recipe: round3, lora: {rank: 4}}}",
            ),
            "systems[1].training.lora.rank: unknown key; valid: r, lora_alpha",
        ),
        (
            ("recipe: round3,", "recipe: round3, bogus: 1,"),
            "systems[1].training.bogus: unknown key; valid: recipe, train, dev, options, lora",
        ),
        (
            ("te: {kind: synthetic, n: 10, seed: 2}", "te: {kind: synthetic, n: 10, seeds: 2}"),
            "data.sources.te.seeds: unknown key; valid: kind, n, seed, tasks",
        ),
        (
            ("base_model: {tiny: {corpus: [tr]}}", "base_model: {tiny: {corpus: [tr], hiden: 3}}"),
            "base_model.tiny.hiden: unknown key; valid: corpus, seed, hidden",
        ),
        (("te: {kind: synthetic, n: 10, seed: 2}", "te: {kind: nope}"), "data.sources.te: Input tag 'nope'"),
        (("  test: [te]", "  test: [zz]"), "test: unknown source 'zz'"),
        (
            ("name: t", "name: t\ncolour: red"),
            "colour: unknown key; valid: name, description, data, base_model",
        ),
        (("  - {name: base, kind: zero_shot}", "  - {name: r3, kind: zero_shot}"), "duplicate names ['r3']"),
    ],
)
def test_errors_name_the_yaml_path(tmp_path: Path, edit: tuple[str, str], needle: str) -> None:
    old, new = edit
    assert old in MINIMAL
    with pytest.raises(SuiteError) as err:
        load_suite(write(tmp_path, MINIMAL.replace(old, new)))
    assert needle in str(err.value)


def test_generation_and_scoring_blocks_are_the_real_configs(tmp_path: Path) -> None:
    with pytest.raises(SuiteError) as err:
        load_suite(write(tmp_path, MINIMAL + "generation: {backend: hf, beams: 4}\nscoring: {fuzzy: 3x}\n"))
    text = str(err.value)
    assert "generation.beams: unknown key; valid: backend, max_new_tokens" in text
    assert "scoring.fuzzy:" in text


def test_unset_environment_variable_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_SUCH_DIR_XYZ", raising=False)
    text = MINIMAL.replace(
        "tr: {kind: synthetic, n: 10, seed: 1}", 'tr: {kind: promptcblue, path: "${NO_SUCH_DIR_XYZ}/t.json"}'
    )
    with pytest.raises(SuiteError) as err:
        load_suite(write(tmp_path, text))
    assert "data.sources.tr.path: environment variable NO_SUCH_DIR_XYZ is not set" in str(err.value)


@pytest.mark.parametrize(
    "text,needle",
    [("", "expected a mapping"), ("name: [unclosed", "invalid YAML"), (None, "suite file not found")],
)
def test_unreadable_suites(tmp_path: Path, text: str | None, needle: str) -> None:
    path = write(tmp_path, text) if text is not None else tmp_path / "missing.yaml"
    with pytest.raises(SuiteError, match=needle):
        load_suite(path)


def test_run_cli_reports_suite_errors_without_traceback(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from harness.cli import cli

    res = CliRunner().invoke(
        cli, ["run", str(write(tmp_path, MINIMAL.replace("n: 10, seed: 1", "n: 0, seed: 1")))]
    )
    assert res.exit_code == 2
    assert "data.sources.tr.n: Input should be greater than or equal to 1" in res.output
    assert "Traceback" not in res.output


def test_a_repeated_top_level_key_names_both_lines(tmp_path: Path) -> None:
    with pytest.raises(SuiteError) as err:
        load_suite(write(tmp_path, MINIMAL + "systems:\n  - {name: other, kind: rules}\n"))
    assert "duplicate key 'systems' (lines 10 and 13)" in str(err.value)


def test_a_billion_laughs_suite_fails_fast_in_bounded_memory(tmp_path: Path) -> None:
    import time
    import tracemalloc

    # Nine levels of ten aliases each: 10**9 nodes once expanded.
    levels = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    levels += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 10)]
    path = write(tmp_path, "\n".join(levels) + "\n" + MINIMAL)
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(SuiteError, match="aliases expand to more than 1,000,000 nodes"):
            load_suite(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - started < 5 and peak < 20 * 2**20


def test_paths_fill_variables_and_home_the_same_way_everywhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SYN_ROOT_XYZ", str(tmp_path / "s"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    text = MINIMAL + "scoring: {synonyms: ['${SYN_ROOT_XYZ}/a', '~/b', c/../d]}\n"
    suite = load_suite(write(tmp_path, text))
    assert suite.scoring.synonyms == [tmp_path / "s" / "a", tmp_path / "home" / "b", tmp_path / "d"]


def test_an_unset_variable_outside_a_path_is_named_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NO_SUCH_VAR_XYZ", raising=False)
    with pytest.raises(SuiteError) as err:
        load_suite(write(tmp_path, MINIMAL.replace("name: t", "name: t\ndescription: ${NO_SUCH_VAR_XYZ}")))
    assert "description: environment variable NO_SUCH_VAR_XYZ is not set" in str(err.value)


def test_a_local_model_folder_resolves_and_a_hub_id_stays(tmp_path: Path) -> None:
    (tmp_path / "m").mkdir()
    local = load_suite(write(tmp_path, MINIMAL.replace("{tiny: {corpus: [tr]}}", "{id: ./m}")))
    assert local.base_model.id == str(tmp_path / "m")
    hub = load_suite(write(tmp_path, MINIMAL.replace("{tiny: {corpus: [tr]}}", "{id: Qwen/Qwen2.5-0.5B}")))
    assert hub.base_model.id == "Qwen/Qwen2.5-0.5B"


def test_sources_fail_on_bad_lines_unless_told_to_skip(tmp_path: Path) -> None:
    text = MINIMAL.replace(
        "tr: {kind: synthetic, n: 10, seed: 1}",
        "tr: {kind: promptcblue, path: a.jsonl}\n    ch: {kind: chip2021, path: b.jsonl}",
    )
    suite = load_suite(write(tmp_path, text))
    assert suite.data.sources["tr"].on_error == "fail" and suite.data.sources["ch"].on_error == "fail"


def test_known_model_names_are_the_ones_harness_can_fetch() -> None:
    import typing

    from harness.modelzoo.fetch import KNOWN
    from harness.suite import KnownModelName

    assert set(typing.get_args(KnownModelName)) == set(KNOWN)


def test_the_real_suite_loads(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from harness.suite import load_suite

    monkeypatch.setenv("CHIP2021_DIALOGS", str(tmp_path / "dialogs.jsonl"))
    suite = load_suite(Path(__file__).parents[2] / "suites" / "real.yaml")
    assert suite.base_model.known == "smollm2"
    splits = {suite.data.sources[n].split.part for n in ("train", "dev", "test")}
    assert splits == {"train", "dev", "test"}
