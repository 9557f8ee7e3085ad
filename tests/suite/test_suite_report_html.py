"""The HTML report: self-contained (no external URL), escaped, and really rendered by a browser."""

from __future__ import annotations

import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from suite_fixtures import XSS
from suite_pngcheck import decode_png, non_background_share

from harness.reporting.data import load_report_data
from harness.reporting.html import render_html, write_html
from harness.runs import RunDir

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
URL_ATTRS = {"src", "href", "action", "xlink:href", "poster", "data", "srcset", "background"}
EXTERNAL = re.compile(r"^\s*(https?:|//|ftp:)|^\s*[a-z][a-z0-9+.-]*://", re.I)
CSS_URL = re.compile(r"url\(\s*['\"]?([^'\")]*)|@import\s+['\"]?([^'\";]*)", re.I)


class RefCollector(HTMLParser):
    """Every URL-like reference: URL attributes, url()/@import in <style> and style attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []
        self.tags: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self._in_style = tag == "style"
        for name, value in attrs:
            if value is None:
                continue
            if name in URL_ATTRS:
                self.refs.append(value)
            if name == "style":
                self.refs += [a or b for a, b in CSS_URL.findall(value)]

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False if tag == "style" else self._in_style

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.refs += [a or b for a, b in CSS_URL.findall(data)]


def external_refs(html: str) -> list[str]:
    parser = RefCollector()
    parser.feed(html)
    return [r for r in parser.refs if EXTERNAL.search(r)]


@pytest.mark.parametrize(
    "html,expected",
    [
        ('<img src="https://cdn.example/x.png">', 1),
        ('<link href="//fonts.example/css">', 1),
        ("<style>body{background:url('http://x/y.png')}</style>", 1),
        ('<div style="background: url(https://x)"></div>', 1),
        ("<style>@import 'https://x/a.css';</style>", 1),
        ('<a href="#top">ok</a><img src="data:image/png;base64,AAAA">', 0),
    ],
)
def test_the_url_checker_itself(html: str, expected: int) -> None:
    assert len(external_refs(html)) == expected


def test_report_references_no_external_url(fake_run: RunDir) -> None:
    html = render_html(load_report_data(fake_run))
    assert external_refs(html) == []
    tags = RefCollector()
    tags.feed(html)
    assert "link" not in tags.tags and "iframe" not in tags.tags
    assert not re.search(r"<script[^>]+src=", html)


def test_model_output_script_renders_as_text(fake_run: RunDir) -> None:
    html = render_html(load_report_data(fake_run))
    assert XSS not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert html.count("<script>") == 1  # only the report's own filter script


def test_report_has_every_section(fake_run: RunDir) -> None:
    html = render_html(load_report_data(fake_run))
    for needle in (
        "Comparison",
        "Per-label F1",
        "Confusion matrices",
        "Failure modes",
        "Training and eval loss",
        "Contamination warnings",
        "dev has imcs_sr records",
        'id="flt"',
        "Provenance",
        "<svg",
    ):
        assert needle in html, needle
    # base -> round3: 15 fixed, 1 broken (s0), 4 right in both, 0 wrong in both
    assert (
        '<td class="name">round3</td><td class="pos">15</td><td class="neg">1</td><td>4</td><td>0</td>'
        in html
    )
    # The example browser carries each system's per-sample outcome for the fixed/broken filters.
    assert 'data-c="0,0,1"' in html and 'data-c="1,1,0"' in html


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    if CHROMIUM is None:
        pytest.skip("chromium not installed (scripts/setup.sh --with-browser installs it)")
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    profile.mkdir()
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
    ]
    return subprocess.run([CHROMIUM, *flags, *args], capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.browser
def test_headless_chromium_renders_a_non_blank_page(fake_run: RunDir, tmp_path: Path) -> None:
    page = write_html(load_report_data(fake_run))
    shot = tmp_path / "out.png"
    chromium(tmp_path, f"--screenshot={shot}", "--window-size=1280,2000", page.resolve().as_uri())
    assert shot.is_file(), "chromium wrote no screenshot"
    pixels = decode_png(shot)
    assert pixels.shape[:2] == (2000, 1280)
    assert non_background_share(pixels) > 0.02  # text, tables and charts, not an empty page


@pytest.mark.browser
def test_the_example_filter_script_runs_in_the_browser(fake_run: RunDir, tmp_path: Path) -> None:
    # The script fills the "N shown" counter on load; an error in it would leave it empty.
    page = write_html(load_report_data(fake_run))
    dom = chromium(tmp_path, "--dump-dom", page.resolve().as_uri()).stdout
    assert '<span id="count">20 of 20 samples shown</span>' in dom


@pytest.mark.browser
@pytest.mark.parametrize(
    "view,shown",
    [
        ("ref=base&sys=round3&show=fixed", 15),  # base wrong, round3 right
        ("ref=base&sys=round3&show=broken", 1),  # s0: base right, round3 wrong
    ],
)
def test_fixed_and_broken_filters_in_the_browser(
    fake_run: RunDir, tmp_path: Path, view: str, shown: int
) -> None:
    page = write_html(load_report_data(fake_run))
    dom = chromium(tmp_path, "--dump-dom", page.resolve().as_uri() + "#" + view).stdout
    assert f'<span id="count">{shown} of 20 samples shown</span>' in dom


def test_the_gate_verdict_shows_in_the_html(fake_run: RunDir, tmp_path: Path) -> None:
    import json

    from click.testing import CliRunner

    from harness.cli import cli

    def gate(*args: str) -> int:
        return (
            CliRunner()
            .invoke(cli, ["gate", str(fake_run.root), "--baseline", str(baseline), *args])
            .exit_code
        )

    baseline = tmp_path / "<i>base</i>.json"  # a file name is data too: escaped
    assert gate("--update-baseline") == 0
    assert "Regression gate" not in write_html(load_report_data(fake_run)).read_text()  # never gated yet
    doc = json.loads(baseline.read_text())
    doc["systems"]["round1"] = doc["systems"]["round3"]  # round1 was as good as round3: now it regressed
    baseline.write_text(json.dumps(doc))
    assert gate() == 1
    html = fake_run.html.read_text()
    assert '<div id="gate-verdict" class="verdict failed">gate failed: regression' in html
    assert "&lt;i&gt;base&lt;/i&gt;.json" in html and "<i>base</i>" not in html
    # system, metric, baseline, run, delta, p, test, tolerance, verdict
    assert (
        '<tr class="regression"><td class="name">round1</td><td class="name">official.f1</td>'
        '<td>0.9500</td><td>0.5000</td><td class="neg">-0.4500</td>'
    ) in html
    assert (
        '<td class="name">round3</td><td class="name">official.f1</td><td>0.9500</td><td>0.9500</td>' in html
    )
    assert json.loads(fake_run.scores.read_text())["gate_result"]["passed"] is False
