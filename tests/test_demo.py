"""`snncc demo`: the bundled soft-LIF digits model compiled, simulated and reported."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from snncc.cli import main
from tests.test_report_html import check_page

ARGS = ["demo", "--limit", "40", "--backend-inputs", "3"]


def test_demo_prints_the_summary_and_writes_the_report_here(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(ARGS) == 0
    out = capsys.readouterr().out
    for text in ("ANN accuracy", "spiking accuracy", "energy / inference",
                 "latency / inference", "cores (crossbars) used", "spike-hops / inference",
                 "PACMAN-style", "wrote report.html"):
        assert text in out, text
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["hw"] == "pcm-crossbar"
    sim = report["simulation"]
    assert sim["inputs"] == 40 and sim["backend_inputs"] == 3
    assert 0.8 <= sim["accuracy"] <= 1 and 0.8 <= sim["ann_accuracy"] <= 1
    assert sim["energy_per_inference_J"] > 0 and sim["latency_per_inference_s"] > 0
    assert [r["presentation_s"] for r in sim["accuracy_vs_presentation"]] == [
        0.025, 0.05, 0.1, 0.2]
    mp, base = report["mapping"], report["baseline"]
    assert mp["cores_used"] > 10 and mp["spike_hops"] > 0  # the NoC is at work on this chip
    assert (base["partitioner"], base["placer"]) == ("sequential", "sequential")
    assert base["simulation"]["energy_per_inference_J"] > 0
    page = check_page((tmp_path / "report.html").read_text(), report)
    assert {"Summary", "Network", "Mapping", "Energy per inference", "Latency",
            "Accuracy against presentation time"} <= set(page.headings)
    assert page.svgs >= 5  # chip map, link load, energy, latency histogram, accuracy
    keys = {tuple(p) for p, _ in page.cells}
    assert ("baseline", "simulation", "energy_per_inference_J") in keys


def test_demo_json_and_out_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*ARGS, "--hw", "loihi", "--json", "-o", str(tmp_path / "out")]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report == json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["hw"] == "loihi" and (tmp_path / "out" / "report.html").is_file()
