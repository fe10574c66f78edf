"""Thermal model and thermal-aware mapping (Titirsha & Das): fixed point, runaway, transient,
hill climbing, and the chip-file keys of the cell-level model."""

from __future__ import annotations

import copy
import dataclasses
import json
import sys
from typing import Any

import numpy as np
import pytest
import scipy.optimize

from snncc.convert import convert
from snncc.errors import HardwareModelError, MappingError
from snncc.examples import example_path
from snncc.frontend import load_onnx
from snncc.hw import HardwareModel, load_hw
from snncc.hw._load import _bundled_dir
from snncc.mapping import map_network
from snncc.mapping._crossbar import CellMap
from snncc.mapping.endurance import cell_currents
from snncc.mapping.thermal import ThermalModel, ThermalOptions, ThermalState, thermal_pass

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def _raw() -> dict[str, Any]:
    return tomllib.loads((_bundled_dir() / "pcm-crossbar.toml").read_text())


def _error(data: dict[str, Any]) -> str:
    with pytest.raises(HardwareModelError) as info:
        HardwareModel.from_dict(data, path="x.toml")
    return str(info.value)


# --- the chip-file keys of the cell-level model --------------------------------------------------


def test_cell_level_keys_are_validated_and_default_to_zero() -> None:
    pcm = load_hw("pcm-crossbar").device
    assert pcm.thermal_r_cell_K_per_W == 2.0e6 and pcm.thermal_kappa_cell == 0.2
    data = _raw()
    data["device"]["thermal_kappa_cell"] = 1.0
    assert _error(data) == "x.toml: device.thermal_kappa_cell: must be in [0, 1) (got 1.0)"
    data = _raw()
    data["device"]["thermal_r_cell_K_per_W"] = -1
    assert _error(data) == "x.toml: device.thermal_r_cell_K_per_W: must be >= 0 (got -1)"
    data = _raw()
    del data["device"]["thermal_r_cell_K_per_W"], data["device"]["thermal_kappa_cell"]
    dev = HardwareModel.from_dict(data).device
    assert dev.thermal_r_cell_K_per_W == 0.0 and dev.thermal_kappa_cell == 0.0


# --- a tiny chip: 3 x 3 crossbars on a 3 x 2 mesh -------------------------------------------------


def _tiny(beta: float, r_cell: float = 1e6) -> HardwareModel:
    data = copy.deepcopy(_raw())
    data["geometry"]["mesh"] = [3, 2]
    data["core"].update(input_axons=3, neurons=3, synapses=9)
    data["device"].update(rows=3, cols=3, leakage_W=2e-7, leakage_beta_per_K=beta,
                          thermal_r_cell_K_per_W=r_cell, thermal_kappa_cell=0.3,
                          thermal_r_self_K_per_W=4000.0, thermal_kappa=0.2, cell_read_J=2e-12)
    return HardwareModel.from_dict(data)


MAPS = [CellMap(0, np.array([[1, 1, 0], [0, 1, 1]], bool), np.array([5.0, 2.0]),
                np.array([1.0, 0.0, 3.0]), timesteps=10),
        CellMap(1, np.array([[1], [1], [0]], bool), np.array([10.0, 1.0, 4.0]),
                np.array([2.0]), timesteps=10),
        CellMap(2, np.array([[1, 1, 1]], bool), np.array([7.0]), np.array([1.0, 1.0, 1.0]),
                timesteps=10)]
CORES = np.array([0, 1, 4])  # tiles (0, 0), (1, 0), (1, 1): distances 1, 2 and 1


def _direct(hw: HardwareModel) -> np.ndarray:
    """Every cell's temperature from the model's equations, written out and solved by fsolve."""
    d = hw.device
    step = d.read_time_s
    i = cell_currents(d)
    e = d.cell_read_J * (i / (d.read_voltage_V / d.cell_r_on_ohm)) ** 2
    k = len(MAPS)
    pdyn = np.zeros((k, 3, 3))
    periph = np.zeros(k)
    for c, cm in enumerate(MAPS):
        p = cm.row_reads / cm.timesteps
        a, b = cm.shape
        for r in range(a):
            for j in range(3):
                on = j < b and cm.used[r, j]
                off = d.cell_r_on_ohm / d.cell_r_off_ohm
                pdyn[c, r, j] = p[r] * e[r, j] * (1 if on else off) / step
        q = 1 - np.prod(np.where(cm.used, 1 - p[:, None], 1.0), axis=0)
        periph[c] = q.sum() * d.adc_J / step + hw.energy.static_core_W
    xy = np.array([[0, 0], [1, 0], [1, 1]])
    cross = np.zeros((k, k))
    for a in range(k):
        for b in range(k):
            dist = np.abs(xy[a] - xy[b]).sum()
            cross[a, b] = d.thermal_r_self_K_per_W * d.thermal_kappa ** dist if dist <= 2 else 0
    cells = np.zeros((9, 9))
    for u in range(9):
        for v in range(9):
            dist = abs(u // 3 - v // 3) + abs(u % 3 - v % 3)
            if dist <= 2:
                cells[u, v] = d.thermal_r_cell_K_per_W * d.thermal_kappa_cell ** dist

    def residual(rise: np.ndarray) -> np.ndarray:
        t = d.ambient_K + rise.reshape(k, 9)
        p = pdyn.reshape(k, 9) + d.leakage_W * np.exp(d.leakage_beta_per_K
                                                      * (t - d.leakage_T0_K))
        base = d.ambient_K + cross @ (p.sum(axis=1) + periph)
        return (t - base[:, None] - p @ cells.T).ravel()

    sol = scipy.optimize.root(residual, np.zeros(k * 9), tol=1e-12)
    assert np.abs(residual(sol.x)).max() < 1e-10  # solved to 1e-10 K
    return d.ambient_K + sol.x.reshape(k, 3, 3)


@pytest.mark.parametrize("beta", [0.0, 0.02, 0.064])
def test_fixed_point_matches_a_direct_solve(beta: float) -> None:
    hw = _tiny(beta)
    model = ThermalModel(hw, MAPS, ThermalOptions(tol_K=1e-11))
    state, rise = model.steady_state(CORES, fields=True)
    t = _direct(hw)
    assert not state.runaway
    assert state.mean_K == pytest.approx(t.mean(axis=(1, 2)), abs=1e-8)
    assert state.peak_K == pytest.approx(t.max(axis=(1, 2)), abs=1e-8)
    assert state.base_K + rise.mean(axis=(1, 2)) == pytest.approx(state.mean_K, abs=1e-5)
    d = hw.device
    leak = d.leakage_W * np.exp(beta * (t - d.leakage_T0_K)).sum(axis=(1, 2))
    assert state.leakage_W == pytest.approx(leak, rel=1e-9)
    assert (state.mean_K > d.ambient_K).all()


def test_runaway_is_flagged_when_beta_is_huge() -> None:
    model = ThermalModel(_tiny(5.0), MAPS)
    state = model.steady_state(CORES)
    assert isinstance(state, ThermalState) and state.runaway
    assert state.objective(0.5) == np.inf
    ok = ThermalModel(_tiny(0.064), MAPS).steady_state(CORES)
    assert isinstance(ok, ThermalState) and not ok.runaway


def test_transient_settles_on_the_steady_state_and_cools() -> None:
    hw = _tiny(0.02)
    model = ThermalModel(hw, MAPS, ThermalOptions(tol_K=1e-11, tau_s=1e-3))
    steady = model.steady_state(CORES)
    assert isinstance(steady, ThermalState)
    heat = model.transient(CORES, np.ones(60), dt_s=1e-3)
    assert heat.shape == (61, 3)
    assert (np.diff(heat, axis=0) >= -1e-12).all()  # heating from ambient is monotone
    assert heat[-1] == pytest.approx(steady.mean_K, abs=1e-7)
    cool = model.transient(CORES, np.r_[np.ones(60), np.zeros(60)], dt_s=1e-3)
    assert (cool[-1] < heat[-1]).all()


def test_cell_power_is_reads_times_current_squared() -> None:
    hw = _tiny(0.0)
    model = ThermalModel(hw, MAPS)
    d = hw.device
    i = cell_currents(d)
    e = d.cell_read_J * (i / (d.read_voltage_V / d.cell_r_on_ohm)) ** 2
    p = model.cell_power(1)  # input rows 0..2, one neuron on column 0
    assert p[0, 0] == pytest.approx(1.0 * e[0, 0] / d.read_time_s)  # 10 reads / 10 steps
    assert p[2, 0] == pytest.approx(0.4 * e[2, 0] * d.cell_r_on_ohm / d.cell_r_off_ohm
                                    / d.read_time_s)  # no synapse: off state


# --- hill climbing on a mapped network ---------------------------------------------------------


@pytest.fixture(scope="module")
def digits() -> tuple[Any, Any, Any]:
    rng = np.random.default_rng(1)
    net = convert(load_onnx(example_path("digits_softlif")),
                  calibration=rng.random((8, 1, 8, 8), np.float32))
    counts = {p.name: rng.gamma(0.7, 8.0, p.shape) for p in net.populations}
    hw = load_hw("pcm-crossbar")
    m = map_network(net, hw, counts=counts, timesteps=50, partitioner="spinemap",
                    placer="greedy")
    return net, m, hw


@pytest.mark.parametrize("energy_weight", [0.0, 1.0])
def test_hill_climbing_never_increases_its_objective(digits: tuple, energy_weight: float
                                                     ) -> None:
    net, m, hw = digits
    o = ThermalOptions(cluster_moves=3000, cell_moves=400, rounds=2, seed=3,
                       energy_weight=energy_weight, beta_per_K=0.064)
    r = thermal_pass(net, m, hw, o)
    assert (np.diff(r.cluster_history) <= 1e-12).all()
    assert all((np.diff(h) <= 1e-15 * abs(h[0])).all() for h in r.cell_history)
    assert r.accepted["clusters"] > 0 and r.accepted["cells"] > 0
    s = r.summary()
    full = r.state.objective(o.peak_weight) + energy_weight * 100 * (
        s["total_energy_J"] / s["baseline_total_energy_J"] - 1)
    assert full <= r.baseline.objective(o.peak_weight) + 1e-9  # checked on the full model
    core = r.core_of_cluster
    assert np.unique(core).size == core.size and core.max() < hw.n_cores
    for rows, cols in zip(r.rows, r.cols, strict=True):
        assert np.unique(rows).size == rows.size and np.unique(cols).size == cols.size
    json.dumps(s)
    if energy_weight == 0.0:  # temperature only: cooler on average and at the hottest
        assert s["avg_temperature_K"] < s["baseline_avg_temperature_K"]
        assert s["max_temperature_K"] < s["baseline_max_temperature_K"]
        assert s["leakage_W"] < s["baseline_leakage_W"]
    again = thermal_pass(net, m, hw, o)
    assert np.array_equal(again.core_of_cluster, r.core_of_cluster)  # deterministic


def test_thermal_needs_a_placement_and_a_device(digits: tuple) -> None:
    net, m, hw = digits
    with pytest.raises(MappingError, match="thermal: the mapping is not placed"):
        thermal_pass(net, dataclasses.replace(m, placement=None), hw)
    with pytest.raises(MappingError, match=r"thermal: loihi has no device\.thermal_r_self_K_per_W"):
        thermal_pass(net, m, load_hw("loihi"))
    with pytest.raises(MappingError, match="ThermalOptions: peak_weight must be finite"):
        ThermalOptions(peak_weight=-1)


def test_a_runaway_pass_reports_plain_json(digits: tuple) -> None:
    net, m, hw = digits
    r = thermal_pass(net, m, hw, ThermalOptions(beta_per_K=50.0, cluster_moves=100))
    s = r.summary()
    assert s["runaway"] and s["baseline_runaway"] and s["avg_temperature_K"] is None
    json.dumps(s, allow_nan=False)
