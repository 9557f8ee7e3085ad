"""The example browser's per-line marks (from real scoring traces), its fit at 1280 px, and real
Chinese glyphs in the browser (not tofu)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from suite_fixtures import XSS
from suite_pngcheck import decode_png
from test_suite_report_html import chromium

from harness.records import ATTR_CLS_CHOICES, ATTR_CLS_HEADER, LONG_LABELS, Record
from harness.reporting.data import load_report_data
from harness.reporting.html import render_html, write_html
from harness.reporting.marks import mark_answer
from harness.runs import RunDir, write_rows
from harness.scoring.pipeline import ScoringConfig, score

POS, NEG = LONG_LABELS["阳性"], LONG_LABELS["阴性"]
GOLD = f"{ATTR_CLS_HEADER}\n头痛：{POS}\n发热：{NEG}\n咳嗽：{POS}"


def record(sid: str = "s0") -> Record:
    return Record(sid, "患者：头痛，没发烧，有点咳嗽。", GOLD, ATTR_CLS_CHOICES, "attr_cls", "CHIP-MDCFNPC")


def traces_of(predictions: dict[str, str], records: list[Record]) -> list[dict]:
    return score(records, predictions, ScoringConfig(bootstrap_resamples=0)).traces


def marks(text: str) -> tuple[list[tuple[str, str]], list[str]]:
    """(line text, line mark) per line, and the missing gold items, of one answer to GOLD."""
    marked = mark_answer(text, traces_of({"s0": text}, [record()])[0])
    return [(line.text, line.kind) for line in marked.lines], marked.missing


H = ATTR_CLS_HEADER


@pytest.mark.parametrize(
    "answer,expected_lines,missing",
    [
        (GOLD, [(H, ""), (f"头痛：{POS}", "correct"), (f"发热：{NEG}", "correct"), (f"咳嗽：{POS}", "correct")], []),
        (
            f"{H}\n头痛：{POS}\n发热：{POS}\n咳嗽：{POS}",
            [(H, ""), (f"头痛：{POS}", "correct"), (f"发热：{POS}", "wrong"), (f"咳嗽：{POS}", "correct")],
            [],
        ),
        (f"{H}\n头痛：{POS}\n\n发热：{NEG}", [(H, ""), (f"头痛：{POS}", "correct"), ("", ""), (f"发热：{NEG}", "correct")], ["咳嗽 (positive)"]),
        (
            f"{H}\n头痛：{POS}\n乏力：{POS}\n乏力：{NEG}\n头痛：{NEG}",
            [(H, ""), (f"头痛：{POS}", "correct"), (f"乏力：{POS}", "hallucinated"), (f"乏力：{NEG}", "duplicate"), (f"头痛：{NEG}", "duplicate")],
            ["发热 (negative)", "咳嗽 (positive)"],
        ),
        (f"{H}\n{XSS}", [(H, ""), (XSS, "unparsable")], ["头痛 (positive)", "发热 (negative)", "咳嗽 (positive)"]),
        ("", [("", "")], ["头痛 (positive)", "发热 (negative)", "咳嗽 (positive)"]),
        # two pairs on one line: the line shows its worst mark
        (f"{H}\n头痛：{POS}；发热：{POS}\n咳嗽：{POS}", [(H, ""), (f"头痛：{POS}；发热：{POS}", "wrong"), (f"咳嗽：{POS}", "correct")], []),
    ],
)  # fmt: skip
def test_marks_per_line(answer: str, expected_lines: list[tuple[str, str]], missing: list[str]) -> None:
    assert marks(answer) == (expected_lines, missing)


def test_a_wrong_label_names_the_gold_label() -> None:
    text = f"{H}\n头痛：{POS}\n发热：{POS}\n咳嗽：{POS}"
    line = mark_answer(text, traces_of({"s0": text}, [record()])[0]).lines[2]
    assert [(m.kind, m.note) for m in line.marks] == [("wrong", "gold negative, predicted positive")]


def test_a_trace_without_alignment_shows_plain_lines() -> None:
    # traces written by an older harness: the lines are shown, unmarked
    marked = mark_answer("a\r\nb", {"sample_id": "s0"})
    assert [(line.number, line.text, line.kind) for line in marked.lines] == [(1, "a", ""), (2, "b", "")]
    assert marked.missing == []


IMG = "<img src=x onerror=alert(1)>"
# The three systems' answers by sample (every other sample: the gold answer).
ANSWERS = {
    "base": {0: f"{H}\n头痛：{POS}\n{XSS}\n{IMG}：{POS}", 1: f"{H}\n头痛：{POS}\n发热：{POS}\n咳嗽：{POS}"},
    "round1": {0: f"{H}\n头痛：{POS}\n乏力：{POS}\n头痛：{POS}\n发热：{NEG}\n咳嗽：{POS}"},
    "round3": {1: f"{H}\n头痛：{POS}\n发热：{NEG}"},
}


@pytest.fixture
def marked_run(fake_run: RunDir) -> RunDir:
    """The fake run with attr_cls records, these answers and the real scorer's traces."""
    records = [record(f"s{i}") for i in range(20)]
    write_rows(fake_run.test_records, [r.__dict__ for r in records])
    for system, answers in ANSWERS.items():
        texts = {r.sample_id: answers.get(i, GOLD) for i, r in enumerate(records)}
        write_rows(fake_run.predictions(system), [{"sample_id": k, "text": v} for k, v in texts.items()])
        write_rows(fake_run.traces(system), traces_of(texts, records))
    return fake_run


def _column(html: str, sample: str, system: str) -> str:
    ex = re.search(
        rf'<div class="ex"[^>]*>\s*<div><b>{sample}</b>.*?(?=<div class="ex"|</div>\s*<h2>)', html, re.S
    )
    assert ex, sample
    col = re.search(
        rf'<div class="col [a-z]+" data-system="{system}">.*?(?=<div class="col |\Z)', ex.group(0), re.S
    )
    assert col, (sample, system)
    return col.group(0)


def test_the_html_marks_lines_and_lists_missing_items(marked_run: RunDir) -> None:
    html = render_html(load_report_data(marked_run))
    base_s1 = _column(html, "s1", "base")
    assert f'<li class="m-wrong" data-mark="wrong">发热：{POS}<span class="mark m-wrong">' in base_s1
    assert "gold negative, predicted positive" in base_s1
    round1_s0 = _column(html, "s0", "round1")
    assert f'<li class="m-hallucinated" data-mark="hallucinated">乏力：{POS}' in round1_s0
    assert f'<li class="m-duplicate" data-mark="duplicate">头痛：{POS}' in round1_s0
    round3_s1 = _column(html, "s1", "round3")
    assert '<div class="missing">missing:<ul><li>咳嗽 (positive)</li></ul></div>' in round3_s1
    assert "2 correct · 1 missing" in round3_s1


def test_a_hostile_answer_line_is_escaped(marked_run: RunDir) -> None:
    html = render_html(load_report_data(marked_run))
    base_s0 = _column(html, "s0", "base")
    assert '<li class="m-unparsable" data-mark="unparsable">&lt;script&gt;alert(1)&lt;/script&gt;' in base_s0
    # a hostile entity name: in its line and in its mark's note
    img = "&lt;img src=x onerror=alert(1)&gt;"
    assert f'<li class="m-hallucinated" data-mark="hallucinated">{img}：{POS}' in base_s0
    assert f'<span class="note">{img} is not a gold finding</span>' in base_s0
    assert XSS not in html and IMG not in html and html.count("<script>") == 1


def test_one_sample_count_that_tells_the_truth(marked_run: RunDir) -> None:
    html = render_html(load_report_data(marked_run))
    assert '<span id="count">20 of 20 samples shown</span>' in html
    assert "base base" not in html and "Δ against system <b>base</b>" in html
    scores = json.loads(marked_run.scores.read_text())
    scores["report"]["max_examples"] = 5
    marked_run.scores.write_text(json.dumps(scores))
    html = render_html(load_report_data(marked_run))
    assert '<span id="count">5 of 5 samples shown</span> · the report holds 5 of the 20 test samples' in html


# Measures the page in the browser: its width, the right edge of every example column and mark,
# and the marks shown; written into the DOM for --dump-dom to carry out.
PROBE = """<script>
var right = 0, kinds = {}, spill = 0;
document.querySelectorAll(".ex .col, .mark, table").forEach(function (el) {
  right = Math.max(right, el.getBoundingClientRect().right);
});
document.querySelectorAll(".ex .col .mark").forEach(function (el) {
  if (el.getBoundingClientRect().right > el.closest(".col").getBoundingClientRect().right + 1) spill++;
});
document.querySelectorAll("li[data-mark]").forEach(function (el) {
  var k = el.getAttribute("data-mark"); if (k) kinds[k] = (kinds[k] || 0) + 1;
});
var out = document.createElement("pre"); out.id = "probe";
out.textContent = JSON.stringify({page: document.documentElement.scrollWidth, view: window.innerWidth,
  right: right, spill: spill, kinds: kinds});
document.body.appendChild(out);
</script>"""


@pytest.mark.browser
def test_the_report_fits_1280_px_with_its_marks(marked_run: RunDir, tmp_path: Path) -> None:
    page = tmp_path / "probe.html"
    page.write_text(
        write_html(load_report_data(marked_run)).read_text().replace("</body>", PROBE + "</body>")
    )
    dom = chromium(tmp_path, "--window-size=1280,2000", "--dump-dom", page.as_uri()).stdout
    found = re.search(r'<pre id="probe">(.*?)</pre>', dom)
    assert found, dom[-2000:]
    probe = json.loads(found.group(1).replace("&quot;", '"'))
    assert probe["view"] == 1280
    assert probe["page"] <= 1280, probe  # no page-wide horizontal scroll
    assert probe["right"] <= 1280, probe  # no example column, mark or table cut at the right edge
    assert probe["spill"] == 0, probe  # no mark runs out of its answer's column
    assert {"correct", "wrong", "hallucinated", "duplicate", "unparsable"} <= set(probe["kinds"]), probe


def _glyph_cells(shot: Path, chars: str, rows: int, size: int) -> list[np.ndarray]:
    pixels = decode_png(shot)[..., :3].astype(int)
    return [
        pixels[r * size : (r + 1) * size, c * size : (c + 1) * size].min(axis=2) < 128
        for r in range(rows)
        for c in range(len(chars))
    ]


@pytest.mark.browser
def test_the_example_text_renders_as_chinese_glyphs_not_tofu(marked_run: RunDir, tmp_path: Path) -> None:
    # Two characters of the first example's text, large, in the report's own font stacks (the
    # answers' body font and the gold's <pre> font). With no CJK font both render as the same
    # empty box (tofu); real glyphs differ from each other and fill their cell.
    html = write_html(load_report_data(marked_run)).read_text()
    example = html[html.index('<div class="ex"') :]
    chars = "".join(dict.fromkeys(re.findall(r"[\u4e00-\u9fff]", example)))[:2]
    size = 96
    cells = "".join(
        f'<span style="display:inline-block;width:{size}px;height:{size}px">{c}</span>' for c in chars
    )
    box = f"margin:0;padding:0;font-size:64px;line-height:{size}px;height:{size}px;background:#fff;white-space:nowrap"
    overlay = (
        '<div style="position:fixed;left:0;top:0;z-index:9999;background:#fff">'
        f'<div style="{box}">{cells}</div><pre style="{box}">{cells}</pre></div>'
    )
    page = tmp_path / "glyphs.html"
    page.write_text(html.replace("</body>", overlay + "</body>"))
    shot = tmp_path / "glyphs.png"
    chromium(
        tmp_path,
        "--force-device-scale-factor=1",
        "--window-size=400,400",
        f"--screenshot={shot}",
        page.as_uri(),
    )
    assert shot.is_file(), "chromium wrote no screenshot"
    cells_ink = _glyph_cells(shot, chars, 2, size)
    for ink in cells_ink:
        assert ink.sum() > 100, f"a probe character {chars!r} rendered nearly empty"
    for a, b in (cells_ink[0:2], cells_ink[2:4]):
        differ = int((a != b).sum())
        assert differ > 150, (
            f"{chars[0]} and {chars[1]} render alike ({differ} pixels differ): tofu, no CJK font; "
            "scripts/setup.sh --with-browser installs one"
        )


MODEL = {"ref": "/cache/models/tiny-b95b", "sha256": "e73d77b38b73" + "0" * 52}


@pytest.mark.parametrize(
    "info,source,model,adapter,training",
    [
        (None, "base model, zero-shot", "tiny-b95b · e73d77b38b73", "", ""),
        ({"rules": "harness.rules (keyword rules)"}, "harness.rules (keyword rules)", "none", "", ""),
        ({"file": "preds/gpt.jsonl", "sha256": "ab" * 32}, "stored predictions preds/gpt.jsonl", "none", "abababababab", ""),
        (
            {"dir": "/w/adapters/r3-a364/adapter", "sha256": "bc" * 32, "key": "a364",
             "cost": {"steps": 600, "seconds": 35.04, "tokens_per_s": 2880.1, "peak_rss_mib": 540.7, "resumed_from_step": None}},
            "trained LoRA adapter", "tiny-b95b · e73d77b38b73", "r3-a364/adapter · bcbcbcbcbcbc",
            "600 steps · 35.0 s · 2880 tok/s · peak RSS 541 MiB",
        ),
    ],
)  # fmt: skip
def test_provenance_names_what_made_each_system(
    info: dict | None, source: str, model: str, adapter: str, training: str
) -> None:
    from harness.reporting.provenance import system_rows

    call = {"backend": "hf", "seconds": 12.34, "tokens_per_s": 889.0, "systems": ["s", "other"]}
    manifest = {
        "models": {"base": MODEL},
        "adapters": {"s": info} if info else {},
        "scores_header": {"generation": {"calls": [call]}},
    }
    (row,) = system_rows(manifest, ["s"])
    assert (row["source"], row["model"], row["adapter"], row["training"]) == (
        source,
        model,
        adapter,
        training,
    )
    assert row["generation"] == "hf 12.3 s · 889 tok/s · shared with 1 other system"


def test_provenance_gives_a_system_its_own_share_of_a_generation_call() -> None:
    from harness.reporting.provenance import system_rows

    call = {
        "backend": "vllm",
        "seconds": 300.0,
        "tokens_per_s": 80.0,
        "peak_rss_mib": 2048.4,
        "systems": ["a", "b"],
        "by_system": {
            "a": {"generated": 4, "new_tokens": 900, "seconds": 10.0, "tokens_per_s": 90.0},
            "b": {"generated": 0, "new_tokens": 0, "seconds": 0.0, "tokens_per_s": 0.0},
        },
    }
    manifest = {"models": {"base": MODEL}, "scores_header": {"generation": {"calls": [call]}}}
    a, b = system_rows(manifest, ["a", "b"])
    assert a["generation"] == "vllm 10.0 s · 900 tokens · 90 tok/s · peak RSS 2048 MiB"
    # nothing generated (all cached): the call as a whole, as before
    assert b["generation"] == "vllm 300.0 s · 80 tok/s · shared with 1 other system"


def test_provenance_is_a_table_with_the_raw_json_folded(marked_run: RunDir) -> None:
    html = render_html(load_report_data(marked_run))
    prov = html[html.index("<h2>Provenance</h2>") :]
    assert (
        '<table class="kv prov" id="provenance">' in prov
        and '<td class="name">suite</td><td>fake</td>' in prov
    )
    assert '<table class="prov" id="provenance-systems">' in prov
    assert "<details><summary>manifest.json (raw)</summary><pre" in prov
