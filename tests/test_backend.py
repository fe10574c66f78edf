"""The cycle-level backend: trace replay on a compiled Program, energy, latency, conservation."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import snncc
from snncc.backend import cluster_counts, core_costs, run
from snncc.backend import replay as replay_mod
from snncc.cli import main
from snncc.data import load_data
from snncc.errors import SimulationError
from snncc.examples import example_path
from snncc.hw import HardwareModel
from snncc.mapping.topology import Topology
from snncc.pipeline import CompileSettings, build_program, compile_model
from snncc.program import Program
from snncc.sim import simulate

MODEL = example_path("digits_softlif")


def _compile(hw: HardwareModel, partitioner: str = "spinemap") -> tuple[Program, Any]:
    shape = snncc.load_onnx(MODEL).inputs[0].shape
    data = load_data("digits", shape, limit=16)
    report, mapping, net = compile_model(MODEL, hw, data, CompileSettings(
        partitioner=partitioner, placer="sa", activity_inputs=16))
    program = build_program(net, hw, mapping, report)
    result = simulate(net, data.x[:4], data.y[:4], trace_inputs=4)
    return program, result


def _variant(name: str, **sections: dict[str, Any]) -> HardwareModel:
    """A validated variant of a bundled chip with some keys changed."""
    d = snncc.load_hw(name).to_dict()
    for section, keys in sections.items():
        d[section] = {**d[section], **keys}
    return HardwareModel.from_dict(d, path=f"{name}-variant")


@pytest.fixture(scope="module")
def loihi() -> tuple[Program, Any]:
    return _compile(snncc.load_hw("loihi"))


@pytest.fixture(scope="module")
def pcm() -> tuple[Program, Any]:
    return _compile(snncc.load_hw("pcm-crossbar"))


@pytest.fixture(scope="module")
def loihi_run(loihi: tuple[Program, Any]) -> Any:
    program, result = loihi
    return run(program, result.trace)


@pytest.fixture(scope="module")
def pcm_run(pcm: tuple[Program, Any]) -> Any:
    program, result = pcm
    return run(program, result.trace)


@pytest.mark.parametrize("which", ["loihi_run", "pcm_run"])
def test_conservation_and_report_keys(which: str, request: pytest.FixtureRequest) -> None:
    res = request.getfixturevalue(which)
    s = res.summary()
    assert s["packets_delivered"] == s["deliveries_expected"] > 0
    assert s["packets_injected"] > 0 and s["spikes_emitted"] > 0
    for key in ("energy_per_inference_J", "energy_breakdown_J", "latency_per_inference_s",
                "spike_latency_cycles", "packets_injected", "packets_delivered",
                "deliveries_expected"):
        assert key in s
    assert sum(s["energy_breakdown_J"].values()) == pytest.approx(s["energy_per_inference_J"],
                                                                  rel=1e-12)
    lat = s["spike_latency_cycles"]
    assert 0 < lat["mean"] <= lat["p99"] <= lat["max"]
    json.dumps(s, allow_nan=False)


@pytest.mark.parametrize("which, chip", [("loihi", "loihi"), ("pcm", "pcm-crossbar")])
def test_energy_is_counts_times_costs(which: str, chip: str,
                                      request: pytest.FixtureRequest) -> None:
    """Every category recomputed from the event counts and the chip file's numbers."""
    program, result = request.getfixturevalue(which)
    res = request.getfixturevalue(f"{which}_run")
    hw = snncc.load_hw(chip)
    ev, e, n = res.events, hw.energy, res.inputs
    cell = hw.device.adc_J if hw.device is not None else 0.0
    flits = hw.noc.flits_per_spike
    expect = {
        "synaptic_J": ev["synops"] * e.synop_J,
        "adc_J": ev["adc_conversions"] * cell,
        "neuron_active_J": ev["neuron_updates_active"] * e.neuron_update_active_J,
        "neuron_idle_J": ev["neuron_updates_idle"] * e.neuron_update_idle_J,
        "spike_out_J": ev["spikes"] * e.spike_out_J,
        "packet_out_J": ev["packets"] * e.packet_out_J,
        "noc_hops_J": float((res.link_flits / flits * Topology.from_hw(hw).link_energy()).sum()),
        "intra_tile_J": ev["intra_tile_deliveries"] * e.intra_tile_J,
        "static_core_J": e.static_core_W * ev["cores_used"] * ev["run_s"],
        "static_router_J": e.static_router_W * ev["routers_powered"] * ev["run_s"],
    }
    for key, joules in expect.items():
        assert res.energy_breakdown_J[key] == pytest.approx(joules / n, rel=1e-9, abs=1e-30), key
    # the counts themselves agree with the trace
    assert ev["spikes"] == sum(len(s) for s in result.trace.steps)
    assert ev["cores_used"] == len(np.unique(program.mapping["cluster_core"]))
    # per-layer rows add up to the total
    layer_total = sum(sum(row.values()) for row in res.energy_per_layer_J.values())
    assert layer_total == pytest.approx(res.energy_per_inference_J, rel=1e-6)


def test_synaptic_events_match_functional_simulation(loihi: tuple[Program, Any],
                                                     loihi_run: Any) -> None:
    """Backend events (mean fan-out per unit) against the simulator's exact count.

    The backend drops the events of last-step spikes (consumed after the inference ends), and
    uses each unit's mean fan-out per input; both are small effects.
    """
    _, result = loihi
    functional = float(result.synaptic_events[:4].sum())
    assert loihi_run.events["synops"] == pytest.approx(functional, rel=0.1)


def test_timing_bounds(loihi: tuple[Program, Any], loihi_run: Any) -> None:
    program, _ = loihi
    hw = snncc.load_hw("loihi")
    res = loihi_run
    barrier = int(np.ceil(hw.timing.barrier_s * hw.timing.clock_hz - 1e-9))
    assert (res.step_cycles >= np.maximum(res.busy_cycles, res.noc_cycles) + barrier).all()
    assert (res.step_cycles == np.maximum(res.busy_cycles, res.noc_cycles) + barrier).all()
    assert res.latency_per_inference_s == pytest.approx(
        res.step_cycles.sum() / hw.timing.clock_hz / res.inputs)
    # a spike cannot arrive faster than the router pipeline (same-tile delivery)
    assert res.spike_latency_cycles["mean"] >= hw.timing.router_cycles
    # busy time of a core is the sum of its clusters' segments
    c = res.counts
    cyc = core_costs(hw).cycles(c.synops, c.reads, c.active, c.idle, c.spikes, c.packets)
    core_of = program.mapping["cluster_core"]
    per_core = np.zeros((*cyc.shape[:2], int(core_of.max()) + 1), np.int64)
    np.add.at(per_core, (slice(None), slice(None), core_of), cyc)
    assert (res.busy_cycles == per_core.max(axis=2)).all()


def test_deterministic(loihi: tuple[Program, Any], loihi_run: Any) -> None:
    program, result = loihi
    again = run(program, result.trace)
    assert (again.step_cycles == loihi_run.step_cycles).all()
    assert again.energy_breakdown_J == loihi_run.energy_breakdown_J
    assert (again.link_flits == loihi_run.link_flits).all()


def test_multicast_sends_fewer_packets_for_same_deliveries(pcm: tuple[Program, Any],
                                                           pcm_run: Any) -> None:
    """pcm-crossbar multicasts; the same program with unicast copies delivers the same."""
    program, result = pcm
    hw = dataclasses.replace(program, hw=_variant("pcm-crossbar", noc={"multicast": False})
                             .to_dict())
    uni = run(hw, result.trace)
    assert pcm_run.packets_injected < uni.packets_injected
    assert uni.packets_injected == uni.packets_delivered == pcm_run.packets_delivered
    assert uni.link_flits.sum() >= pcm_run.link_flits.sum()


def test_binding_everything_on_one_core_is_local(loihi: tuple[Program, Any]) -> None:
    program, result = loihi
    k = int(program.mapping["unit_cluster"].max()) + 1
    res = run(program, result.trace, binding=np.zeros(k, np.int64))
    assert res.packets_injected == res.packets_delivered == 0
    cc = cluster_counts(program, result.trace)
    hw = snncc.load_hw("loihi")
    cyc = core_costs(hw).cycles(cc.synops, cc.reads, cc.active, cc.idle, cc.spikes,
                                np.zeros_like(cc.packets))
    assert (res.busy_cycles == cyc.sum(axis=2)).all()


def test_clocked_chip_reports_tick_overruns(loihi: tuple[Program, Any]) -> None:
    program, result = loihi
    fast = dataclasses.replace(program, hw=_variant("loihi", neuron={"tick_s": 1e-9}).to_dict())
    res = run(fast, result.trace)
    assert res.tick_overruns == res.step_cycles.size
    slow = dataclasses.replace(program, hw=_variant("loihi", neuron={"tick_s": 1e-3}).to_dict())
    res = run(slow, result.trace)
    assert res.tick_overruns == 0
    assert (res.step_cycles == 1_000_000).all()


def test_lost_delivery_is_an_error(loihi: tuple[Program, Any],
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from snncc.backend import noc

    program, result = loihi
    real = noc.simulate_noc

    def lossy(*args: Any, **kwargs: Any) -> Any:
        res = real(*args, **kwargs)
        deliver = res.deliver.copy()
        if deliver.size:
            deliver[0] = -1
        return dataclasses.replace(res, deliver=deliver)

    monkeypatch.setattr(noc, "simulate_noc", lossy)
    with pytest.raises(SimulationError, match="conservation"):
        run(program, result.trace)
    assert replay_mod  # imported for the module path


def test_trace_of_another_net_is_refused(loihi: tuple[Program, Any],
                                         pcm: tuple[Program, Any]) -> None:
    program, result = loihi
    other = simulate(snncc.convert(snncc.load_onnx(example_path("digits_cnn")),
                                   calibration=np.random.default_rng(0).random(
                                       (8, *snncc.load_onnx(example_path("digits_cnn"))
                                        .inputs[0].shape)).astype(np.float32)),
                     np.zeros((1, *snncc.load_onnx(example_path("digits_cnn")).inputs[0].shape),
                              np.float32), trace_inputs=1)
    with pytest.raises(SimulationError, match="trace"):
        run(program, other.trace)
    with pytest.raises(SimulationError, match="binding"):
        run(program, result.trace, binding=np.zeros(3, np.int64))


def test_cli_simulate_runs_backend(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["simulate", str(MODEL), "--data", "digits", "--limit", "8", "--backend-inputs", "3",
            "--hw", "loihi", "--partitioner", "spinemap", "--json"]
    assert main(args) == 0
    report = json.loads(capsys.readouterr().out)
    sim = report["simulation"]
    assert report["hw"] == "loihi" and sim["backend_inputs"] == 3
    assert sim["packets_delivered"] == sim["deliveries_expected"]
    assert set(sim["energy_breakdown_J"]) >= {"synaptic_J", "noc_hops_J", "static_core_J"}
    assert report["mapping"]["cores_used"] >= 1
    # the rich table for people
    assert main(args[:-1]) == 0
    out = capsys.readouterr().out
    assert "energy / inference" in out and "spike latency" in out


def test_cli_functional_only(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", str(MODEL), "--data", "digits", "--limit", "4",
                 "--functional-only", "--json"]) == 0
    sim = json.loads(capsys.readouterr().out)["simulation"]
    assert "energy_per_inference_J" not in sim and sim["accuracy"] is not None


def test_cli_simulate_program(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert main(["compile", str(MODEL), "--hw", "pcm-crossbar", "--data", "digits", "--limit",
                 "8", "--partitioner", "spinemap", "-o", str(out)]) == 0
    capsys.readouterr()
    assert main(["simulate", str(out / "program"), "--data", "digits", "--limit", "4",
                 "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["hw"] == "pcm-crossbar"
    assert report["simulation"]["packets_delivered"] == report["simulation"][
        "deliveries_expected"]
    assert main(["simulate", str(out / "program"), "--hw", "loihi", "--data", "digits"]) == 2
    assert "compiled for pcm-crossbar" in capsys.readouterr().err
