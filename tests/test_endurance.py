"""Endurance-aware cell placement (eSpine): electrical model, endurance, lifetime, the pass, CLI."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import onnx
import pytest

from snncc.cli import main
from snncc.convert import convert
from snncc.errors import MappingError
from snncc.examples import example_path
from snncc.frontend import load_onnx
from snncc.hw import load_hw
from snncc.mapping import map_network
from snncc.mapping._crossbar import CellMap, _Builder, cell_maps
from snncc.mapping.endurance import (
    EnduranceOptions,
    cell_currents,
    endurance_map,
    endurance_pass,
    lifetimes,
    place_cells,
    wear_rates,
)
from tests.conftest import small_cnn

PCM = load_hw("pcm-crossbar")
DEV = PCM.device


def _dev(**kw: float) -> object:
    return dataclasses.replace(DEV, **kw)


# --- the electrical model ---------------------------------------------------------------------


@pytest.mark.parametrize(("rw", "r_on"), [(1.0, 1e6), (0.5, 1e6), (1.0, 2e5)])
def test_network_solve_agrees_with_first_order_approximation(rw: float, r_on: float) -> None:
    """128 x 128, all rows driven: the closed form is first order in eps = r_w n^2 / (2 R), so
    its relative error per cell must stay below 5 eps^2 (measured: 3.7 eps^2)."""
    dev = _dev(wire_resistance_ohm=rw, cell_r_on_ohm=r_on)
    exact = cell_currents(dev)
    approx = cell_currents(dev, method="approx")
    eps = rw * 128**2 / (2 * r_on)
    assert np.max(np.abs(approx - exact) / exact) < 5 * eps**2
    assert np.max(np.abs(approx - exact) / exact) > 0.5 * eps**2  # it is an approximation


def test_one_and_two_cell_crossbars_by_hand() -> None:
    """1 x 1: driver - r_w - cell R - r_w - sense: I = V / (R + 2 r_w). 1 x 2: a ladder."""
    v, rw, r = 0.2, 2.5, 1e4
    one = _dev(rows=1, cols=1, read_voltage_V=v, wire_resistance_ohm=rw, cell_r_on_ohm=r)
    assert cell_currents(one)[0, 0] == pytest.approx(v / (r + 2 * rw), rel=1e-12)
    two = _dev(rows=1, cols=2, read_voltage_V=v, wire_resistance_ohm=rw, cell_r_on_ohm=r)
    far = r + rw                       # cell 1 to ground
    near_node = 1 / (1 / (r + rw) + 1 / (rw + far))  # seen from row node 0
    v0 = v * near_node / (rw + near_node)
    i0 = v0 / (r + rw)
    i1 = v0 / (rw + far)
    assert cell_currents(two)[0] == pytest.approx([i0, i1], rel=1e-12)


def test_currents_fall_with_distance_from_driver_and_sense_amplifier() -> None:
    i = cell_currents(DEV)
    assert (np.diff(i, axis=1) < 0).all()  # along a row, away from the driver (column 0)
    assert (np.diff(i, axis=0) > 0).all()  # down a column, towards the sense amp (last row)
    assert np.unravel_index(i.argmax(), i.shape) == (127, 0)
    assert np.unravel_index(i.argmin(), i.shape) == (0, 127)
    assert i.max() < DEV.read_voltage_V / DEV.cell_r_on_ohm
    assert np.array_equal(cell_currents(_dev(wire_resistance_ohm=0.0)),
                          np.full((128, 128), DEV.read_voltage_V / DEV.cell_r_on_ohm))


def test_bad_electrical_arguments() -> None:
    with pytest.raises(MappingError, match=r"cell_currents: conductance must be \(128, 128\)"):
        cell_currents(DEV, conductance=np.ones((2, 2)))
    with pytest.raises(MappingError, match="method must be one of solve, approx"):
        cell_currents(DEV, method="spice")


# --- endurance, wear and lifetime on hand-computed cases -----------------------------------------


def test_endurance_formula() -> None:
    dev = _dev(endurance_cycles=1e8, endurance_exponent=2.0)
    i_ref = dev.read_voltage_V / dev.cell_r_on_ohm
    e = endurance_map(dev, np.array([[i_ref, i_ref / 2], [i_ref / 10, 0.0]]))
    assert e[0, 0] == pytest.approx(1e8) and e[0, 1] == pytest.approx(4e8)
    assert e[1, 0] == pytest.approx(1e10) and e[1, 1] == np.inf


def test_wear_and_lifetime_by_hand() -> None:
    cm = CellMap(cluster=0, used=np.array([[True, False], [True, True]]),
                 row_reads=np.array([10.0, 5.0]), col_spikes=np.array([1.0, 3.0]), timesteps=20)
    w = wear_rates(cm, inference_s=0.5)
    assert np.array_equal(w, [[20.0, 0.0], [10.0, 10.0]])  # reads / s on used cells only
    w_learn = wear_rates(cm, inference_s=0.5, learning=True, write_cycles=2.0)
    # + 2 cycles x (one write per pre read + one per post spike) per second
    assert np.array_equal(w_learn, [[20 + 2 * 22, 0.0], [10 + 2 * 12, 10 + 2 * 16]])
    e = np.array([[100.0, 200.0, 300.0], [400.0, 500.0, 600.0]])
    lt = lifetimes(e, w, np.array([1, 0]), np.array([2, 0]))  # input 0 on row 1, neuron 0 col 2
    assert lt[0, 0] == 600 / 20 and lt[0, 1] == np.inf
    assert lt[1, 0] == 300 / 10 and lt[1, 1] == 100 / 10


def test_place_cells_tiny_optimum() -> None:
    e = np.array([[1.0, 2.0], [3.0, 4.0]])
    rows, cols = place_cells(e, np.array([[1.0, 0.0], [0.0, 0.0]]))
    assert (rows[0], cols[0]) == (1, 1)  # the only worn synapse on the best cell


def test_place_cells_never_lowers_min_lifetime_and_keeps_every_synapse() -> None:
    rng = np.random.default_rng(0)
    e_full = np.asarray(endurance_map(DEV, cell_currents(DEV)))
    for trial in range(25):
        m, n = (12, 10) if trial % 2 else (128, 128)
        a, b = int(rng.integers(1, m + 1)), int(rng.integers(1, n + 1))
        e = e_full[:m, :n] * rng.uniform(0.5, 2.0, (m, n)) if m < 128 else e_full
        used = rng.random((a, b)) < rng.uniform(0.05, 0.9)
        wear = np.where(used, rng.gamma(0.5, 10.0, (a, 1)) * rng.uniform(1, 2, (a, b)), 0.0)
        rows, cols = place_cells(e, wear)
        assert np.unique(rows).size == a and rows.min() >= 0 and rows.max() < m
        assert np.unique(cols).size == b and cols.min() >= 0 and cols.max() < n
        r, c = np.nonzero(used)  # every synapse on its own cell: the same synapse set
        assert len(set(zip(rows[r].tolist(), cols[c].tolist(), strict=True))) == used.sum()
        before = lifetimes(e, wear, np.arange(a), np.arange(b)).min()
        after = lifetimes(e, wear, rows, cols).min()
        assert after >= before


def test_place_cells_refuses_an_oversized_block() -> None:
    with pytest.raises(MappingError, match="3 inputs x 1 neurons do not fit a 2 x 2 crossbar"):
        place_cells(np.ones((2, 2)), np.ones((3, 1)))


# --- the pass on a small mapped network --------------------------------------------------------


@pytest.fixture(scope="module")
def small_mapping() -> tuple[object, object]:
    rng = np.random.default_rng(0)
    net = convert(load_onnx(small_cnn()), calibration=rng.random((8, 1, 6, 6), np.float32))
    counts = {p.name: rng.gamma(1.0, 2.0, p.shape) for p in net.populations}
    m = map_network(net, PCM, counts=counts, timesteps=20, partitioner="sequential",
                    placer="sequential")
    return net, m


def test_cell_maps_hold_every_synapse_of_their_units(small_mapping: tuple) -> None:
    net, m = small_mapping
    b = _Builder(net, m.graph)
    for u in range(m.graph.n_units):
        assert sum(int(c.sum()) for _, _, c in b.unit_cells(u)) == m.graph.synapses[u]
    maps = cell_maps(net, m.graph, m.part)
    assert len(maps) == m.cores_used
    for cm in maps:
        units = np.flatnonzero(m.part == cm.cluster)
        assert cm.used.sum() == m.graph.synapses[units].sum()
        assert cm.shape[1] == m.graph.neurons[units].sum() and cm.shape[0] <= 128
    # the host input drives its rows in every timestep; a population's rows by its spikes
    assert np.array_equal(b.reads(net.inputs[0].name, np.arange(3)), [20.0, 20.0, 20.0])
    pop = net.populations[0].name
    assert np.array_equal(b.reads(pop, np.arange(4)), m.graph.counts[pop].ravel()[:4])


def test_endurance_pass_improves_and_reports(small_mapping: tuple) -> None:
    net, m = small_mapping
    r = endurance_pass(net, m, PCM, EnduranceOptions(inference_s=0.2))
    assert r.min_lifetime_s >= r.baseline_min_lifetime_s > 0
    assert (r.lifetime_s >= r.baseline_lifetime_s).all()
    s = r.summary()
    assert s["min_lifetime_s"] == pytest.approx(r.min_lifetime_s)
    assert s["improvement"] >= 1 and s["inference_s"] == 0.2 and s["crossbars"] == m.cores_used
    json.dumps(s)  # plain JSON
    again = endurance_pass(net, m, PCM, EnduranceOptions(inference_s=0.2))
    assert all(np.array_equal(x, y) for x, y in zip(r.rows, again.rows, strict=True))


def test_endurance_needs_a_device_section(small_mapping: tuple) -> None:
    net, m = small_mapping
    with pytest.raises(MappingError) as info:
        endurance_pass(net, m, load_hw("loihi"))
    assert str(info.value) == ("endurance: loihi has no device.endurance_cycles (no [device] "
                               "section: core.kind is 'digital') — use a crossbar chip such as "
                               "pcm-crossbar")


def test_endurance_options_are_checked() -> None:
    with pytest.raises(MappingError, match="inference_s must be positive"):
        EnduranceOptions(inference_s=0)
    with pytest.raises(MappingError, match="method must be one of solve, approx"):
        EnduranceOptions(method="x")


# --- the CLI ------------------------------------------------------------------------------------


def test_cli_compile_endurance_thermal_report(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    args = ["compile", str(example_path("digits_softlif")), "--hw", "pcm-crossbar", "--data",
            "digits", "--limit", "4", "--partitioner", "spinemap", "--placer", "greedy",
            "--endurance", "--thermal", "--json"]
    assert main(args) == 0
    report = json.loads(capsys.readouterr().out)
    e, t = report["endurance"], report["thermal"]
    assert {"min_lifetime_s", "baseline_min_lifetime_s", "improvement",
            "synapse_lifetime_s"} <= set(e)
    assert e["min_lifetime_s"] >= e["baseline_min_lifetime_s"] > 0
    assert {"avg_temperature_K", "max_temperature_K", "leakage_W", "total_energy_J",
            "baseline_avg_temperature_K", "baseline_leakage_W",
            "baseline_total_energy_J"} <= set(t)
    assert t["avg_temperature_K"] > 300 and not t["runaway"]
    assert {"endurance", "thermal"} <= set(report["mapping"]["compile_seconds"])


@pytest.mark.parametrize(("flag", "key"), [("--endurance", "endurance_cycles"),
                                           ("--thermal", "thermal_r_self_K_per_W")])
def test_cli_device_pass_on_a_digital_chip_is_one_line(flag: str, key: str,
                                                       capsys: pytest.CaptureFixture[str]
                                                       ) -> None:
    assert main(["compile", str(example_path("digits_softlif")), "--hw", "loihi", flag]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert f"{flag}: loihi has no device.{key}" in err


def test_cli_thermal_needs_a_placer(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compile", str(example_path("digits_softlif")), "--hw", "pcm-crossbar",
                 "--thermal", "--placer", "none"]) == 2
    assert "--thermal moves placed clusters" in capsys.readouterr().err


def test_onnx_fixture_is_valid() -> None:
    onnx.checker.check_model(small_cnn())
