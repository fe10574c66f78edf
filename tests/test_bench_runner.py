"""`snncc bench`: suites, the runner (here and on a Dask LocalCluster), results and claims."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from snncc.bench import SUITES, Suite, run_tasks
from snncc.bench.claims import build_claims, find_results
from snncc.bench.results import summarise, write_results
from snncc.bench.runner import TIMING_COLUMNS
from snncc.bench.suites import BASELINE, SPINEMAP
from snncc.cli import main

TINY = Suite(name="tiny", workloads=("digits_softlif",), chips=("loihi",),
             partitioners=("sequential", "spinemap"), placers=("sequential",), seeds=(0,),
             inputs=4, backend_inputs=2, presentation_s=0.02)
META = {"command": "snncc bench --suite tiny", "date": "2026-01-01", "snncc_version": "0",
        "wall_seconds": 1.0, "where": "test"}


def _stable(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if k not in TIMING_COLUMNS} for r in rows]


@pytest.fixture(scope="module")
def tiny_rows() -> list[dict[str, Any]]:
    return run_tasks(TINY.tasks())


def test_suites_are_cross_products_with_the_baseline() -> None:
    for suite in SUITES.values():
        tasks = suite.tasks()
        assert len(tasks) == (len(suite.workloads) * len(suite.chips) * len(suite.partitioners)
                              * len(suite.placers) * len(suite.seeds))
        assert BASELINE[0] in suite.partitioners and BASELINE[1] in suite.placers
        assert SPINEMAP[0] in suite.partitioners and SPINEMAP[1] in suite.placers
        device = [t for t in tasks if t.device]
        assert len(device) == len(suite.workloads) * len(suite.chips)
        assert all((t.partitioner, t.placer, t.seed) == (*SPINEMAP, suite.seeds[0])
                   for t in device)
    quick = SUITES["quick"]
    assert all(not w.startswith("mnist") for w in quick.workloads)  # runs from a wheel


def test_rows_in_task_order_with_figures(tiny_rows: list[dict[str, Any]]) -> None:
    assert [(r["partitioner"], r["seed"]) for r in tiny_rows] == [("sequential", 0),
                                                                   ("spinemap", 0)]
    for r in tiny_rows:
        assert "error" not in r, r.get("error")
        assert r["cores_used"] >= 1 and r["energy_per_inference_J"] > 0
        assert r["packets_delivered"] == r["packets_injected"]  # loihi: unicast, conserved
    again = run_tasks(TINY.tasks())
    assert _stable(again) == _stable(tiny_rows)


def test_failed_run_is_a_row_and_the_suite_goes_on() -> None:
    suite = Suite(name="t", workloads=("digits_softlif",), chips=("truenorth", "loihi"),
                  partitioners=("sequential",), placers=("sequential",), seeds=(0,),
                  inputs=2, backend_inputs=1, presentation_s=0.02)
    rows = run_tasks(suite.tasks())
    assert "error" in rows[0] and "truenorth" in rows[0]["error"]
    assert "error" not in rows[1]


def test_dask_local_cluster_gives_the_same_rows(tiny_rows: list[dict[str, Any]]) -> None:
    pytest.importorskip("distributed")
    seen: list[str] = []
    rows = run_tasks(TINY.tasks(), scheduler="local:1",
                     on_done=lambda task, row: seen.append(task.partitioner))
    assert _stable(rows) == _stable(tiny_rows)
    assert sorted(seen) == ["sequential", "spinemap"]


def test_results_files_and_summary(tmp_path: Path, tiny_rows: list[dict[str, Any]]) -> None:
    summary, paths = write_results(tmp_path, TINY, tiny_rows, META)
    names = {p.name for p in paths}
    assert {"bench.csv", "bench.json", "bench.md", "bench_energy.png"} <= names
    data = json.loads((tmp_path / "bench.json").read_text())
    assert data["rows"] == tiny_rows and data["summary"] == summary
    with (tmp_path / "bench.csv").open() as f:
        table = list(csv.DictReader(f))
    assert len(table) == 2 and float(table[1]["energy_per_inference_J"]) == pytest.approx(
        tiny_rows[1]["energy_per_inference_J"])
    change = summary["mappings"]["spinemap + sequential"]["energy_per_inference_J"]["mean"]
    assert change == pytest.approx(tiny_rows[1]["energy_per_inference_J"]
                                   / tiny_rows[0]["energy_per_inference_J"] - 1)
    assert "| spinemap + sequential | 1 |" in (tmp_path / "bench.md").read_text()


def _fake_rows() -> list[dict[str, Any]]:
    rows = []
    for part, placer, energy, lat in (("sequential", "sequential", 2.0, 40.0),
                                      ("spinemap", "pso", 1.0, 30.0)):
        rows.append({"workload": "w", "chip": "c", "partitioner": part, "placer": placer,
                     "seed": 0, "energy_per_inference_J": energy,
                     "spike_latency_mean_cycles": lat, "cores_used": 4})
    rows[1].update(endurance_min_lifetime_s=30.0, endurance_baseline_min_lifetime_s=10.0,
                   thermal_avg_temperature_K=300.0, thermal_baseline_avg_temperature_K=302.0,
                   dataflow_throughput_guaranteed=90.0, dataflow_throughput_simulated=100.0,
                   dataflow_guarantee_held=True)
    return rows


def test_claims_from_the_run_and_from_benchmark_results(tmp_path: Path) -> None:
    rows = _fake_rows()
    claims = build_claims(rows, summarise(rows), {})
    by = {c["claim"].split(":")[0]: c for c in claims}
    energy, latency = claims[0], claims[1]
    assert "-50.0% mean over 1 runs" in energy["measured"] and "−45 %" in energy["paper"]
    assert "-25.0%" in latency["measured"] and "−21 %" in latency["paper"]
    assert "×3.00" in by["eSpine"]["measured"]
    assert "-2.00 K" in by["Thermal-aware mapping (Titirsha & Das)"]["measured"]
    assert "90%" in by["DFSynthesizer"]["measured"] and "1/1" in by["DFSynthesizer"]["measured"]
    hunsberger = [c for c in claims if c["claim"].startswith("Hunsberger")]
    assert len(hunsberger) == 2
    assert all(c["measured"].startswith("not measured yet") for c in hunsberger)
    assert "5.9×" in hunsberger[1]["paper"]

    (tmp_path / "accuracy.json").write_text(json.dumps({"rows": [
        {"model": "mnist_softlif", "presentation_ms": ms, "weight_bits": None, "maxpool": "gate",
         "accuracy": 0.9895, "ann_accuracy": 0.9893, "inputs": 10000, "efficiency": eff}
        for ms, eff in ((200.0, 1.24), (60.0, 3.65))]}))
    (tmp_path / "device.json").write_text(json.dumps({"rows": [  # python -m benchmarks device
        {"workload": "lenet", "endurance": {"min_lifetime_s": 8.0, "baseline_min_lifetime_s": 2.0},
         "thermal": [{"variant": "temperature-only", "beta": 0.01, "avg_temperature_K": 1.0,
                      "baseline_avg_temperature_K": 100.0},
                     {"variant": "default", "beta": 0.064, "avg_temperature_K": 1.0,
                      "baseline_avg_temperature_K": 100.0},
                     {"variant": "default", "beta": 0.01, "avg_temperature_K": 310.0,
                      "baseline_avg_temperature_K": 313.0}]}]}))
    found = find_results([tmp_path])
    claims = build_claims(rows, summarise(rows), found)
    by = {c["claim"].split(":")[0]: c for c in claims}
    hunsberger = [c for c in claims if c["claim"].startswith("Hunsberger")]
    assert "spiking error 1.05%" in hunsberger[0]["measured"]
    assert "1.24× (200 ms), 3.65× (60 ms)" == hunsberger[1]["measured"]
    assert "×3.00 mean over 1 workloads" in by["eSpine"]["measured"]  # this run
    assert "×4.00 mean over 1 workloads" in by["eSpine"]["measured"]  # device.json
    assert "lenet (device benchmark)" in by["eSpine"]["workloads"]
    thermal = by["Thermal-aware mapping (Titirsha & Das)"]["measured"]
    assert "-2.00 K" in thermal and "-3.00 K" in thermal  # the default pass at the chip's beta


def test_cli_bench_writes_everything(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(SUITES, "quick", TINY)
    assert main(["bench", "--suite", "quick", "--out", str(tmp_path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert "spinemap + sequential" in out["summary"]["mappings"]
    assert len(out["claims"]) == 7
    for name in ("bench.csv", "bench.json", "bench.md", "claims.md", "claims.json"):
        assert (tmp_path / name).is_file(), name
    assert "| claim | paper | snncc measured |" in (tmp_path / "claims.md").read_text()
    (tmp_path / "claims.md").unlink()
    assert main(["bench", "--out", str(tmp_path), "--reuse", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["claims"] == out["claims"]
    assert (tmp_path / "claims.md").is_file()
    assert main(["bench", "--suite", "quick", "--workloads", "nope", "--out",
                 str(tmp_path)]) == 2
