"""report.html: produced by compile/simulate --report, well-formed, self-contained, and every
number it shows (data-key cells) equal to report.json."""

from __future__ import annotations

import json
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from snncc.cli import main
from snncc.examples import example_path
from snncc.report.html import fmt_value, render_html, unit_key

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}


class _Page(HTMLParser):
    """Checks tags balance; collects data-key cells, figures, links and the embedded JSON."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.cells: list[tuple[list[str], Any]] = []
        self.svgs = 0
        self.external: list[str] = []
        self.headings: list[str] = []
        self._in: str | None = None
        self.json_text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "svg" and "svg" not in self.stack:
            self.svgs += 1
        for key in ("src", "href"):
            v = a.get(key) or ""
            if v.startswith(("http:", "https:", "//")) and tag not in ("svg", "a"):
                self.external.append(v)
        if tag == "script" and a.get("src"):
            self.external.append(a["src"] or "")
        if "data-key" in a:
            self.cells.append((json.loads(a["data-key"] or "[]"),
                               json.loads(a["data-value"] or "null")))
        if tag == "script" and a.get("id") == "snncc-report":
            self._in = "json"
        if tag == "h2":
            self._in = "h2"
            self.headings.append("")
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        pass  # self-closing (SVG elements, <meta/>)

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else None}>")
            return
        self.stack.pop()
        if tag in ("script", "h2"):
            self._in = None

    def handle_data(self, data: str) -> None:
        if self._in == "json":
            self.json_text += data
        elif self._in == "h2":
            self.headings[-1] += data


def parse(text: str) -> _Page:
    page = _Page()
    page.feed(text)
    page.close()
    return page


def lookup(report: dict[str, Any], path: list[str]) -> Any:
    node: Any = report
    for key in path:
        node = node[int(key)] if isinstance(node, list) else node[key]
    return node


def check_page(text: str, report: dict[str, Any]) -> _Page:
    assert text.startswith("<!DOCTYPE html>")
    page = parse(text)
    assert not page.errors, page.errors[:5]
    assert page.stack == [], f"unclosed tags: {page.stack}"
    assert not page.external, page.external
    assert json.loads(page.json_text.replace("<\\/", "</")) == report
    assert page.cells, "no numbers taken from the report"
    for path, value in page.cells:
        assert lookup(report, path) == value, path
    return page


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("compiled")
    assert main(["compile", str(example_path("digits_softlif")), "--hw", "pcm-crossbar",
                 "--data", "digits", "--limit", "16", "--placer", "greedy",
                 "--endurance", "--report", "-o", str(out)]) == 0
    return out


def test_compile_report_matches_report_json(compiled: Path) -> None:
    report = json.loads((compiled / "report.json").read_text())
    page = check_page((compiled / "report.html").read_text(), report)
    assert {"Summary", "Network", "Mapping", "Endurance (eSpine)"} <= set(page.headings)
    assert page.svgs >= 2  # chip map, link load
    keys = {tuple(p) for p, _ in page.cells}
    assert ("mapping", "cores_used") in keys and ("mapping", "max_link_load") in keys
    assert ("endurance", "min_lifetime_s") in keys
    assert ("endurance", "baseline_min_lifetime_s") in keys  # compared side by side
    layers = report["network"]["layers"]
    i = next(k for k, r in enumerate(layers) if r["name"] == "/4/SoftLIF")
    assert ("network", "layers", str(i), "spikes_per_inference") in keys
    assert ("mapping", "layers", "/4/SoftLIF", "cores") in keys


def test_simulate_report_in_current_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["simulate", str(example_path("digits_softlif")), "--data", "digits",
                 "--limit", "20", "--backend-inputs", "2", "--presentation-ms", "50",
                 "--placer", "greedy", "--report", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    page = check_page((tmp_path / "report.html").read_text(), report)
    assert {"Summary", "Energy per inference", "Latency"} <= set(page.headings)
    keys = {tuple(p) for p, _ in page.cells}
    for key in ("accuracy", "ann_accuracy", "energy_per_inference_J",
                "latency_per_inference_s"):
        assert ("simulation", key) in keys
    cats = [k for k, v in report["simulation"]["energy_breakdown_J"].items() if v]
    assert {("simulation", "energy_breakdown_J", c) for c in cats} <= keys
    assert page.svgs >= 3  # chip map, energy, latency histogram (+ link load when traffic)


def test_functional_only_report_has_no_chip(tmp_path: Path) -> None:
    assert main(["simulate", str(example_path("digits_softlif")), "--data", "digits",
                 "--limit", "10", "--presentation-ms", "30", "--functional-only", "--report",
                 "-o", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "report.json").read_text())
    page = check_page((tmp_path / "report.html").read_text(), report)
    assert "Mapping" not in page.headings and page.svgs == 0


def test_device_sections_render_generically() -> None:
    report = {"model": "m.onnx", "hw": "pcm-crossbar", "seed": 0, "network": {},
              "mapping": {}, "simulation": {},
              "thermal": {"avg_temperature_K": 310.5, "baseline_avg_temperature_K": 321.9,
                          "leakage_W": 0.01, "baseline_leakage_W": 0.02,
                          "new_key_nobody_knows": 3,
                          "nested": {"p1_s": 2.0, "baseline_p1_s": 1.0}},
              "dataflow": {"throughput_guaranteed": 5.0e5, "throughput_simulated": 6.0e5,
                           "guarantee_held": True, "critical_cycle": ["a", "b"]},
              "endurance": {"synapse_lifetime_s": {"p1": 1.0e8},
                            "baseline_synapse_lifetime_s": {"p1": 5.0e7}}}
    page = check_page(render_html(report), report)
    assert {"Thermal (Titirsha & Das)", "Dataflow schedule (DFSynthesizer)",
            "Endurance (eSpine)"} <= set(page.headings)
    keys = {tuple(p) for p, _ in page.cells}
    assert ("thermal", "new_key_nobody_knows") in keys
    assert ("thermal", "nested", "baseline_p1_s") in keys
    assert ("endurance", "baseline_synapse_lifetime_s", "p1") in keys
    assert ("dataflow", "guarantee_held") in keys


def test_values_are_shown_with_units() -> None:
    assert fmt_value("energy_per_inference_J", 5.83e-5) == "58.3 µJ"
    assert fmt_value("latency_per_inference_s", 2.542e-4) == "254.2 µs"
    assert fmt_value("throughput_inferences_per_s", 3934.2) == "3,934.2 /s"
    assert fmt_value("avg_temperature_K", 308.267) == "308.27 K"
    assert fmt_value("min_lifetime_s", 6.4e7).endswith("(2.03 years)")
    assert fmt_value("accuracy", 0.99333) == "99.33%"
    assert unit_key(("endurance", "synapse_lifetime_s", "p10")) == "synapse_lifetime_s"


def _browser() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        if path := shutil.which(name):
            return path
    return None


@pytest.mark.skipif(_browser() is None, reason="no headless Chromium/Chrome on this machine "
                    "(the screenshot check runs where one is installed)")
def test_headless_browser_renders_the_page(compiled: Path, tmp_path: Path) -> None:
    shot = tmp_path / "page.png"
    subprocess.run([str(_browser()), "--headless", "--disable-gpu", "--no-sandbox",
                    "--window-size=1200,2400", f"--screenshot={shot}",
                    (compiled / "report.html").resolve().as_uri()],
                   check=True, capture_output=True, timeout=120)
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000  # more than a blank page
