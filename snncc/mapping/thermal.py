"""Thermal-aware mapping on crossbar chips, after Titirsha & Das (papers.md §3).

The compact model has two levels; every constant is in the chip file's ``[device]`` section.

- Crossbar level (``thermal_r_self_K_per_W``, ``thermal_kappa``): the base temperature of the
  crossbar on core slot ``s`` is ``T_s = ambient_K + R_self sum_s' kappa^d(s, s') P_s'`` over the
  crossbars within ``d <= 2`` tile steps (Manhattan; ``d = 0`` for itself and for cores of the
  same tile), ``P`` a crossbar's total power. Unused crossbars are power-gated (no power).
- Cell level (``thermal_r_cell_K_per_W``, ``thermal_kappa_cell``): cell ``(i, j)`` is hotter than
  its crossbar's base by ``R_cell sum kappa_cell^d P_kl`` over the cells within ``d <= 2`` cell
  steps (its own power at ``d = 0``), ``P_kl`` the cells' power.

Power of a cell: its reads — in each timestep its row is driven with the probability
:attr:`~._crossbar.CellMap.row_prob`, costing ``cell_read_J (I_ij / I_ref)^2`` per read (the read
energy scales with the square of the cell's current, from the electrical model of
:mod:`.endurance`; a cell without a synapse is in its high-resistance state: ``R_on / R_off`` of
that) over a timestep of ``step_s`` — plus its leakage ``leakage_W exp(beta (T_ij - T0))`` at its
own temperature. The periphery (crossbar level only): one ADC conversion (``adc_J``) per column
and timestep in which one of its rows is driven, and ``energy.static_core_W``.

``step_s`` defaults to ``read_time_s``: the crossbars are read back to back, one array read per
timestep (pipelined, as in ISAAC) — the operating point for which ``thermal_r_self_K_per_W`` is
estimated. The steady state is the fixed point temperature -> leakage -> temperature, iterated
from ambient; the iteration is monotone, so it reaches the least fixed point or diverges (thermal
runaway, flagged). :meth:`ThermalModel.transient` integrates ``tau dT/dt = T_ss(P(T)) - T`` at
crossbar level.

Mapping (:func:`thermal_pass`), two hill climbs that accept only moves lowering their objective:

1. within each crossbar, swap two rows or two columns (positions may be empty); objective: the
   crossbar's own rise from its cells' read power, ``sum P_ij (R_self + R_cell c_ij / (rows
   cols))`` with ``c_ij`` the stencil weight of cell ``(i, j)`` inside the array (linear, so a swap
   costs O(rows + cols)); skipped when the endurance pass has placed the cells;
2. move a cluster to another crossbar (swapping with its occupant, or into a free one); objective:
   ``mean T + peak_weight max T`` over used crossbars (``T`` a crossbar's mean cell temperature,
   the full fixed point at crossbar level with the cell-level rises of the last full solution)
   plus ``energy_weight`` Kelvin per 1 % change of the total energy per inference (crossbar
   power times the inference time, plus the NoC energy; a move changes the NoC energy by its
   change of XY pair energy, scaled by the routed-over-unicast ratio of the start).

The result is checked on the full model and falls back to the input mapping if it is not better.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from snncc.errors import MappingError
from snncc.mapping import _heat
from snncc.mapping._crossbar import CellMap, cell_maps
from snncc.mapping.endurance import device_maps, require_device
from snncc.mapping.topology import Topology

__all__ = ["ThermalModel", "ThermalOptions", "ThermalResult", "ThermalState", "device_passes",
           "thermal_pass"]


@dataclass(frozen=True, slots=True)
class ThermalOptions:
    """Options of the thermal model and of :func:`thermal_pass`.

    Attributes:
        step_s: Seconds per timestep; None = ``device.read_time_s`` (see the module docstring).
        beta_per_K: Leakage slope; None = ``device.leakage_beta_per_K`` (for sweeps).
        peak_weight: Weight of the hottest crossbar in the objective.
        energy_weight: Kelvin of objective per 1 % more total energy per inference (0:
            temperature only; then clusters spread over the chip whatever the NoC costs).
        cluster_moves: Cluster moves tried per round; 0 = ``max(40000, 100 k)`` for ``k``
            clusters.
        cell_moves: Row/column swaps tried per crossbar; 0 = ``4 (rows + cols)``.
        rounds: Rounds of cluster moves (the cell-level rises are refreshed between rounds).
        radius: Half of the cluster moves go to a slot within this many tiles (the others
            anywhere on the chip).
        tol_K: Convergence of the fixed point.
        max_iter: Iterations after which the fixed point is declared a runaway.
        max_rise_K: A rise above ambient beyond this is a runaway.
        tau_s: Thermal time constant of a crossbar for :meth:`ThermalModel.transient`
            (estimate: on-chip structures of ~100 µm settle in about a millisecond).
        seed: Seed of the move proposals.
    """

    step_s: float | None = None
    beta_per_K: float | None = None
    peak_weight: float = 0.5
    energy_weight: float = 0.1
    cluster_moves: int = 0
    cell_moves: int = 0
    rounds: int = 1
    radius: int = 4
    tol_K: float = 1e-6
    max_iter: int = 500
    max_rise_K: float = 1000.0
    tau_s: float = 1e-3
    seed: int = 0

    def __post_init__(self) -> None:
        if self.step_s is not None and not (np.isfinite(self.step_s) and self.step_s > 0):
            raise MappingError(f"ThermalOptions: step_s must be positive (got {self.step_s})")
        for name in ("beta_per_K", "peak_weight", "energy_weight", "tol_K", "max_rise_K",
                     "tau_s"):
            v = getattr(self, name)
            if v is not None and not (np.isfinite(v) and v >= 0):
                raise MappingError(f"ThermalOptions: {name} must be finite and >= 0 (got {v})")
        for name in ("cluster_moves", "cell_moves", "rounds", "max_iter", "radius"):
            if getattr(self, name) < 0:
                raise MappingError(f"ThermalOptions: {name} must be >= 0 "
                                   f"(got {getattr(self, name)})")


def stencil_offsets(kappa: float) -> np.ndarray:
    """``(dx, dy, kappa^d)`` of the 13 grid offsets with ``d = |dx| + |dy| <= 2``."""
    return np.array([(dx, dy, kappa ** (abs(dx) + abs(dy))) for dy in range(-2, 3)
                     for dx in range(-2, 3) if abs(dx) + abs(dy) <= 2], np.float64)


# --- the model -------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class ThermalState:
    """A steady state (or the state reached when it ran away).

    Attributes:
        base_K: Crossbar-level temperature of each cluster's crossbar.
        mean_K: Mean cell temperature of each crossbar (its "temperature").
        peak_K: Hottest cell of each crossbar.
        leakage_W: Leakage power of each crossbar.
        dynamic_W: Read, ADC and static power of each crossbar.
        runaway: No fixed point below ``max_rise_K`` within ``max_iter`` iterations.
        iterations: Fixed-point iterations.
    """

    base_K: np.ndarray
    mean_K: np.ndarray
    peak_K: np.ndarray
    leakage_W: np.ndarray
    dynamic_W: np.ndarray
    runaway: bool
    iterations: int

    def objective(self, peak_weight: float) -> float:
        """``mean T + peak_weight max T`` over the crossbars (inf on a runaway)."""
        if self.runaway or not self.mean_K.size:
            return np.inf if self.runaway else 0.0
        return float(self.mean_K.mean() + peak_weight * self.mean_K.max())


class ThermalModel:
    """Power sources of every used crossbar and the chip's geometry (see the module docstring).

    Args:
        hw: The chip; needs ``[device]``.
        maps: Cell maps of the clusters (:func:`~._crossbar.cell_maps`).
        options: Time base, leakage slope and fixed-point settings.
        layouts: ``(rows, cols)`` per cluster (the row of each input, the column of each
            neuron); default the unaware layout.

    Example:
        >>> from snncc.hw import load_hw
        >>> from snncc.mapping._crossbar import CellMap
        >>> busy = CellMap(0, np.ones((128, 128), bool), np.full(128, 100.0), np.zeros(128), 100)
        >>> model = ThermalModel(load_hw("pcm-crossbar"), [busy, busy])
        >>> state = model.steady_state(np.array([0, 1]))  # two neighbouring tiles
        >>> round(float(state.mean_K[0]) - 300, 1), state.runaway  # ~2.4 mW x 5000 K/W x 1.15
        (13.7, False)
    """

    def __init__(self, hw: Any, maps: list[CellMap], options: ThermalOptions | None = None,
                 layouts: tuple[list[np.ndarray], list[np.ndarray]] | None = None) -> None:
        dev = require_device(hw, "thermal", "thermal_r_self_K_per_W")
        self.hw, self.maps = hw, maps
        self.options = options = options or ThermalOptions()
        self.step_s = options.step_s if options.step_s is not None else dev.read_time_s
        if self.step_s <= 0:
            raise MappingError(f"thermal: {hw.name}: device.read_time_s is 0; give a step time")
        self.beta = (options.beta_per_K if options.beta_per_K is not None
                     else dev.leakage_beta_per_K)
        currents, _ = device_maps(dev)
        i_ref = dev.read_voltage_V / dev.cell_r_on_ohm
        self.ecell = dev.cell_read_J * (currents / i_ref) ** 2
        self.ratio = dev.cell_r_on_ohm / dev.cell_r_off_ohm
        self.dev = np.array([dev.ambient_K, dev.thermal_r_self_K_per_W,
                             dev.thermal_r_cell_K_per_W, dev.leakage_W, self.beta,
                             dev.leakage_T0_K])
        self.off_x = stencil_offsets(dev.thermal_kappa)
        self.off_c = stencil_offsets(dev.thermal_kappa_cell)
        self.shape = (dev.rows, dev.cols)
        # the crossbar's own rise per watt of cell power at (i, j): R_self + its mean cell rise
        cover = np.empty(self.shape)
        _heat.stencil(np.ones(self.shape), self.off_c, 1.0, cover)
        self.heat = dev.thermal_r_self_K_per_W + dev.thermal_r_cell_K_per_W * cover / cover.size
        self.topo = Topology.from_hw(hw)
        if layouts is None:
            layouts = ([np.arange(m.shape[0]) for m in maps], [np.arange(m.shape[1])
                                                                 for m in maps])
        self.rows = [np.asarray(r, np.int64) for r in layouts[0]]
        self.cols = [np.asarray(c, np.int64) for c in layouts[1]]
        self.periph = np.array([self._periphery(m) for m in maps])

    @property
    def k(self) -> int:
        """Number of used crossbars (clusters)."""
        return len(self.maps)

    def _periphery(self, cm: CellMap) -> float:
        p = cm.row_prob
        with np.errstate(divide="ignore"):
            logq = np.where(p < 1, np.log1p(-np.minimum(p, 1.0)), -np.inf)
        idle = np.exp(cm.used.T.astype(np.float64) @ np.where(np.isfinite(logq), logq, 0.0))
        idle[(cm.used & (p >= 1)[:, None]).any(axis=0)] = 0.0
        adc = float((1.0 - idle).sum()) * self.hw.device.adc_J / self.step_s
        return adc + self.hw.energy.static_core_W

    def cell_power(self, c: int) -> np.ndarray:
        """Read power of every cell of cluster ``c``'s crossbar under its layout (W)."""
        cm, rows, cols = self.maps[c], self.rows[c], self.cols[c]
        rate = cm.row_prob[:, None] / self.step_s
        out = np.zeros(self.shape)
        out[rows, :] = rate * self.ecell[rows, :] * self.ratio
        sub = np.ix_(rows, cols)
        out[sub] = rate * self.ecell[sub] * np.where(cm.used, 1.0, self.ratio)
        return out

    def _grid(self, core: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        topo = self.topo
        occ3 = np.full((topo.grid[1], topo.grid[0], topo.cores_per_tile), -1, np.int64)
        gx, gy = topo.core_x[core].astype(np.int64), topo.core_y[core].astype(np.int64)
        occ3[gy, gx, core % topo.cores_per_tile] = np.arange(core.size)
        return occ3, gx, gy

    def steady_state(self, core_of_cluster: np.ndarray, fields: bool = False
                     ) -> ThermalState | tuple[ThermalState, np.ndarray]:
        """The steady state with cluster ``c`` on core slot ``core_of_cluster[c]``.

        With ``fields``, also the cell-level rises ``(k, rows, cols)`` (float64).
        """
        core = np.asarray(core_of_cluster, np.int64)
        if core.shape != (self.k,) or np.unique(core).size != self.k:
            raise MappingError(f"thermal: core_of_cluster must give {self.k} distinct cores")
        o = self.options
        pdyn = np.stack([self.cell_power(c) for c in range(self.k)]) if self.k else \
            np.zeros((0, *self.shape))
        occ3, gx, gy = self._grid(core)
        tx, lam = np.empty(self.k), np.empty(self.k)
        dt = np.zeros(pdyn.shape)
        it = _heat.steady(pdyn, self.periph, gx, gy, occ3, self.dev, self.off_x, self.off_c,
                          o.tol_K, o.max_iter, o.max_rise_K, tx, dt, lam)
        with np.errstate(over="ignore", invalid="ignore"):
            leak = lam * np.exp(self.beta * (tx - self.dev[5]))
        state = ThermalState(base_K=tx, mean_K=tx + dt.mean(axis=(1, 2)),
                             peak_K=tx + dt.max(axis=(1, 2), initial=0.0), leakage_W=leak,
                             dynamic_W=pdyn.sum(axis=(1, 2)) + self.periph, runaway=it < 0,
                             iterations=o.max_iter if it < 0 else it)
        return (state, dt) if fields else state

    def transient(self, core_of_cluster: np.ndarray, scale: np.ndarray, dt_s: float
                  ) -> np.ndarray:
        """Crossbar temperatures over time under a varying activity (explicit Euler).

        ``tau dT/dt = T_amb + R_self sum kappa^d P(T) - T`` from ambient, where the cells' read
        and ADC power are multiplied by ``scale[t]`` in step ``t`` of ``dt_s`` seconds (static
        power and leakage are not); cell-level rises are those of the full-activity steady
        state. Returns ``(len(scale) + 1, k)`` mean crossbar temperatures.
        """
        core = np.asarray(core_of_cluster, np.int64)
        state, dts = self.steady_state(core, fields=True)  # type: ignore[misc]
        occ3, gx, gy = self._grid(core)
        static = self.hw.energy.static_core_W
        active = state.dynamic_W - static
        beta, t0 = self.dev[4], self.dev[5]
        lam = self.hw.device.leakage_W * np.exp(beta * dts).sum(axis=(1, 2))
        omean = dts.mean(axis=(1, 2))
        n_sub = max(1, int(np.ceil(2 * dt_s / self.options.tau_s)))
        h = dt_s / n_sub / self.options.tau_s
        tx = np.full(self.k, self.dev[0])
        out = [tx + omean]
        for f in np.asarray(scale, np.float64):
            for _ in range(n_sub):
                power = static + f * active + lam * np.exp(beta * (tx - t0))
                target = self.dev[0] + self.dev[1] * np.array(
                    [_heat.tile_sum(c, power, gx, gy, occ3, self.off_x) for c in range(self.k)])
                tx = tx + h * (target - tx)
            out.append(tx + omean)
        return np.array(out)


# --- the pass --------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class ThermalResult:
    """Outcome of :func:`thermal_pass`.

    Attributes:
        core_of_cluster: Core slot of each cluster after the pass.
        rows: Per cluster, the row of each input.
        cols: Per cluster, the column of each neuron.
        state: Steady state after the pass.
        baseline: Steady state of the input placement, unaware cell layout.
        noc_energy_J: Routed NoC energy per inference after the pass.
        baseline_noc_energy_J: The same before.
        inference_s: Chip time per inference (timesteps x step).
        cluster_history: Objective after each cluster move of the last round.
        cell_history: Per crossbar, its cell objective after each swap tried.
        accepted: Accepted cluster moves and cell swaps.
        fell_back: The climbed mapping was not better on the full model (input kept).
        options: The options used.
        seconds: Wall time.
    """

    core_of_cluster: np.ndarray
    rows: list[np.ndarray]
    cols: list[np.ndarray]
    state: ThermalState
    baseline: ThermalState
    noc_energy_J: float
    baseline_noc_energy_J: float
    inference_s: float
    cluster_history: np.ndarray
    cell_history: list[np.ndarray]
    accepted: dict[str, int]
    fell_back: bool
    options: ThermalOptions
    seconds: float

    def _energy(self, s: ThermalState, noc: float) -> float:
        return float((s.leakage_W.sum() + s.dynamic_W.sum()) * self.inference_s + noc)

    def summary(self) -> dict[str, Any]:
        """The ``thermal`` section of report.json."""
        s, b = self.state, self.baseline

        def side(st: ThermalState, noc: float, pre: str) -> dict[str, Any]:
            def num(x: float) -> float | None:  # a runaway has no finite temperature
                return float(x) if np.isfinite(x) else None

            return {f"{pre}avg_temperature_K": num(st.mean_K.mean()),
                    f"{pre}max_temperature_K": num(st.mean_K.max()),
                    f"{pre}peak_cell_temperature_K": num(st.peak_K.max()),
                    f"{pre}leakage_W": num(st.leakage_W.sum()),
                    f"{pre}dynamic_W": float(st.dynamic_W.sum()),
                    f"{pre}noc_energy_J": noc,
                    f"{pre}total_energy_J": num(self._energy(st, noc)),
                    f"{pre}runaway": st.runaway}

        return {**side(s, self.noc_energy_J, ""), **side(b, self.baseline_noc_energy_J,
                                                          "baseline_"),
                "crossbars": int(s.mean_K.size), "beta_per_K": float(self.options.beta_per_K
                                                                     or 0.0),
                "step_s": self.options.step_s, "inference_s": self.inference_s,
                "accepted_moves": self.accepted, "fell_back": self.fell_back,
                "seconds": self.seconds}


def _noc_problem(mapping: Any, hw: Any) -> Any:
    from snncc.mapping.place import PlaceOptions
    from snncc.mapping.place._cost import Problem

    return Problem(mapping.traffic.matrix, Topology.from_hw(hw), PlaceOptions(region="chip"))


def thermal_pass(net: Any, mapping: Any, hw: Any, options: ThermalOptions | None = None,
                 layouts: tuple[list[np.ndarray], list[np.ndarray]] | None = None,
                 maps: list[CellMap] | None = None) -> ThermalResult:
    """Lower the crossbars' temperature and leakage by hill climbing (Titirsha & Das).

    Args:
        net: The SpikingNet of the mapping.
        mapping: A placed :class:`snncc.mapping.Mapping` on a crossbar chip.
        hw: The chip; needs ``[device]``.
        options: Model and search settings.
        layouts: Cell layouts to keep (from the endurance pass); None: climb them too.
        maps: The cell maps of ``mapping`` if already built.

    Returns:
        The new placement and layouts, with the steady states before and after.

    Raises:
        MappingError: No ``[device]`` section, or the mapping is not placed.
    """
    from snncc.mapping.route import route

    t_start = time.perf_counter()
    require_device(hw, "thermal", "thermal_r_self_K_per_W")
    if mapping.placement is None:
        raise MappingError("thermal: the mapping is not placed — give a placer")
    o = options or ThermalOptions()
    maps = maps if maps is not None else cell_maps(net, mapping.graph, mapping.part)
    core0 = np.asarray(mapping.placement.core_of_cluster, np.int64)
    base_model = ThermalModel(hw, maps, o)
    o = replace(o, beta_per_K=base_model.beta, step_s=base_model.step_s)
    baseline = base_model.steady_state(core0)
    assert isinstance(baseline, ThermalState)
    rng = np.random.default_rng(o.seed)
    model = ThermalModel(hw, maps, o, layouts)
    cell_hist: list[np.ndarray] = []
    accepted = {"cells": 0, "clusters": 0}
    if layouts is None:
        q = model.ecell * model.heat
        for c, cm in enumerate(maps):
            moves = o.cell_moves or 4 * sum(model.shape)
            hist = np.empty(moves)
            accepted["cells"] += int(_heat.cell_climb(
                q, cm.used, cm.row_prob / model.step_s, model.ratio, model.rows[c],
                model.cols[c], moves, rng, hist))
            cell_hist.append(hist)
    t_inf = mapping.graph.timesteps * model.step_s
    noc_base = float(route(mapping.traffic.flows, core0, hw).energy_J)
    e_ref = max(float(baseline.dynamic_W.sum() + baseline.leakage_W.sum()) * t_inf + noc_base,
                1e-300)

    def full(st: ThermalState, noc: float) -> float:
        e = float(st.dynamic_W.sum() + st.leakage_W.sum()) * t_inf + noc
        return st.objective(o.peak_weight) + o.energy_weight * 100 * (e / e_ref - 1)

    prob = _noc_problem(mapping, hw)
    assign = core0.copy()  # region "chip": candidate slot index = core index
    occ = prob.occupancy(assign)
    sx, sy = prob.sx.astype(np.int64), prob.sy.astype(np.int64)
    sk = (np.arange(prob.m) % model.topo.cores_per_tile).astype(np.int64)
    unicast = float(prob.measure(assign)[0])
    scale = noc_base / unicast if unicast > 0 else 1.0
    energy = np.array([o.energy_weight, e_ref, t_inf])
    hist = np.zeros(0)
    noc = noc_base
    for _ in range(o.rounds):
        state, dts = model.steady_state(assign, fields=True)  # type: ignore[misc]
        if state.runaway:
            break
        lam = hw.device.leakage_W * np.exp(model.beta * dts).sum(axis=(1, 2))
        omean = dts.mean(axis=(1, 2))
        occ3, gx, gy = model._grid(assign)
        moves = o.cluster_moves or max(40000, 100 * model.k)
        hist = np.empty(moves)
        accepted["clusters"] += int(_heat.climb(
            assign, occ, occ3, gx, gy, sx, sy, sk, prob.st, state.dynamic_W.copy(), lam, omean,
            model.dev, model.off_x, o.tol_K, o.max_iter, o.max_rise_K, o.peak_weight, energy,
            noc, scale, prob.ptr, prob.nbr, prob.wsym, prob.ep, prob.mx, prob.my, moves,
            o.radius, rng, hist))
        noc = float(route(mapping.traffic.flows, assign, hw).energy_J)
    final = model.steady_state(assign)
    assert isinstance(final, ThermalState)
    fell_back = not full(final, noc) <= full(baseline, noc_base)
    rows, cols = model.rows, model.cols
    if fell_back:
        assign, final, noc = core0, baseline, noc_base
        rows, cols = base_model.rows, base_model.cols
    return ThermalResult(core_of_cluster=assign, rows=rows, cols=cols, state=final,
                         baseline=baseline, noc_energy_J=noc, baseline_noc_energy_J=noc_base,
                         inference_s=t_inf, cluster_history=hist,
                         cell_history=cell_hist, accepted=accepted, fell_back=fell_back,
                         options=o, seconds=time.perf_counter() - t_start)


def device_passes(net: Any, mapping: Any, hw: Any, *, endurance: bool = False,
                  thermal: bool = False, inference_s: float = 0.1, seed: int = 0
                  ) -> tuple[Any, dict[str, Any]]:
    """The device-aware passes the compiler runs: endurance, then thermal (keeping its cells).

    Args:
        net: The SpikingNet.
        mapping: Its :class:`snncc.mapping.Mapping` (placed, for ``thermal``).
        hw: The chip; needs ``[device]``.
        endurance: Run :func:`snncc.mapping.endurance.endurance_pass`.
        thermal: Run :func:`thermal_pass`; the mapping returned carries its placement and
            routing.
        inference_s: Wall-clock time per inference for the endurance wear rates.
        seed: Seed of the thermal hill climbing.

    Returns:
        The (possibly re-placed) mapping and the report sections ``endurance`` / ``thermal``.

    Raises:
        MappingError: The chip has no ``[device]`` section, or ``thermal`` without a placement.
    """
    from dataclasses import replace as _replace

    from snncc.mapping.drc import routing_violations
    from snncc.mapping.endurance import EnduranceOptions, endurance_pass
    from snncc.mapping.place import Placement, PlaceOptions
    from snncc.mapping.place._cost import Problem
    from snncc.mapping.route import route

    for flag, name, key in ((endurance, "endurance", "endurance_cycles"),
                            (thermal, "thermal", "thermal_r_self_K_per_W")):
        if flag:
            require_device(hw, name, key)
    if thermal and mapping.placement is None:
        raise MappingError("thermal: the mapping is not placed — give a placer")
    sections: dict[str, Any] = {}
    seconds = dict(mapping.seconds)
    maps = cell_maps(net, mapping.graph, mapping.part)
    layouts = None
    if endurance:
        res = endurance_pass(net, mapping, hw, EnduranceOptions(inference_s=inference_s),
                             maps=maps)
        layouts = (res.rows, res.cols)
        sections["endurance"] = res.summary()
        seconds["endurance"] = res.seconds
    if thermal:
        th = thermal_pass(net, mapping, hw, ThermalOptions(seed=seed), layouts=layouts,
                          maps=maps)
        sections["thermal"] = th.summary()
        seconds["thermal"] = th.seconds
        old = mapping.placement
        core = np.asarray(th.core_of_cluster, np.int64)
        if not np.array_equal(core, old.core_of_cluster):
            energy, hops, peak, cost = Problem(mapping.traffic.matrix, Topology.from_hw(hw),
                                               PlaceOptions(region="chip")).measure(core)
            core.setflags(write=False)
            placement = Placement(method=f"{old.method}+thermal", core_of_cluster=core,
                                  spike_hops=float(hops), energy_J=float(energy),
                                  max_link_load=float(peak), cost=float(cost),
                                  seconds=old.seconds + th.seconds,
                                  evaluations=old.evaluations, candidates=old.candidates)
            routing = route(mapping.traffic.flows, core, hw)
            if routing_violations(routing.routing_entries, hw):  # keep the placed mapping
                sections["thermal"]["kept_placement"] = "routing tables over the chip's limit"
            else:
                mapping = _replace(mapping, placement=placement, routing=routing)
    return _replace(mapping, seconds=seconds), sections
