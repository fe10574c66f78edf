"""The hardware model: a chip (or a system of chips) as frozen dataclasses, all in SI units.

A :class:`HardwareModel` is read from a TOML file by :func:`snncc.hw.load_hw`, which validates
every key (see ``hwmodels/README.md`` for the meaning and unit of each). The dataclasses are
frozen: ``dataclasses.replace`` makes a variant but skips validation, so build checked variants
with ``HardwareModel.from_dict(dict_with_changes)``.

Tiles are numbered row-major over the global tile grid of the whole system (``tile = y * grid_x +
x``); cores are numbered tile by tile (``core = tile * cores_per_tile + k``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, Literal

__all__ = [
    "CoreSpec",
    "DeviceSpec",
    "EnergySpec",
    "HardwareModel",
    "NeuronSpec",
    "NocSpec",
    "TimingSpec",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class CoreSpec:
    """One neuromorphic core (a digital core or one crossbar).

    Attributes:
        neurons: Neurons per core (crossbar columns).
        input_axons: Distinct presynaptic sources a core can receive, external inputs included
            (crossbar rows).
        synapses: Synapse memory of the core, counted in synapses.
        weight_bits: Bits per synaptic weight.
        fanout: Most distinct destination cores of one neuron; 0 means unlimited.
        fanin_per_neuron: Most distinct inputs of one neuron; 0 means only ``input_axons`` limits.
        fanin_split: Whether a neuron's fan-in may be split across cores as dendritic partial sums.
        kind: ``"digital"`` (SRAM synapses) or ``"crossbar"`` (an analogue memristive crossbar,
            described further by the model's ``device``).
    """

    neurons: int
    input_axons: int
    synapses: int
    weight_bits: int
    fanout: int = 0
    fanin_per_neuron: int = 0
    fanin_split: bool
    kind: Literal["digital", "crossbar"] = "digital"


@dataclass(frozen=True, slots=True, kw_only=True)
class NeuronSpec:
    """The neuron model the chip implements.

    ``"lif"``: ``tau dv/dt = -v + R I``, spike and reset when ``v`` reaches the threshold;
    ``"if"``: the same without the leak term (``C dv/dt = I``).

    Attributes:
        model: ``"lif"`` or ``"if"``.
        tick_s: Fixed wall-clock length of one algorithmic timestep; 0 means asynchronous (a
            timestep lasts as long as its work and the barrier).
        threshold_bits: Bits of the firing threshold; 0 means floating point.
    """

    model: Literal["lif", "if"]
    tick_s: float = 0.0
    threshold_bits: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class TimingSpec:
    """Time per operation (seconds) and network-on-chip latency (cycles of ``clock_hz``).

    Attributes:
        clock_hz: Clock of the NoC (an assumed equivalent clock for asynchronous chips).
        synop_s: Time per synaptic operation.
        neuron_update_active_s: Time to update a neuron that received input or spiked.
        neuron_update_idle_s: Time to update a neuron without input.
        spike_out_s: Time for a core to emit one spike.
        packet_out_s: Time for a core to send one packet into the network.
        router_cycles: Router pipeline cycles per hop.
        link_cycles: Cycles to traverse one on-chip link.
        barrier_s: Time of the barrier that ends a timestep.
        interchip_link_cycles: Cycles to traverse one link between chips.
    """

    clock_hz: float
    synop_s: float
    neuron_update_active_s: float
    neuron_update_idle_s: float
    spike_out_s: float
    packet_out_s: float = 0.0
    router_cycles: int
    link_cycles: int
    barrier_s: float
    interchip_link_cycles: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class EnergySpec:
    """Energy per operation (joules) and static power (watts).

    Attributes:
        synop_J: Energy per synaptic operation.
        neuron_update_active_J: Energy to update a neuron that received input or spiked.
        neuron_update_idle_J: Energy to update a neuron without input.
        spike_out_J: Energy for a core to emit one spike (once per spike).
        packet_out_J: Energy for a core to send one packet into the network.
        hop_ew_J: Energy of one east/west router hop of a spike packet.
        hop_ns_J: Energy of one north/south router hop of a spike packet.
        intra_tile_J: Energy to deliver a packet to a core of the sender's own tile.
        interchip_hop_J: Energy of a hop across a chip boundary (instead of the on-chip hop).
        static_core_W: Static power per core.
        static_router_W: Static power per router (one per tile).
    """

    synop_J: float
    neuron_update_active_J: float
    neuron_update_idle_J: float
    spike_out_J: float
    packet_out_J: float = 0.0
    hop_ew_J: float
    hop_ns_J: float
    intra_tile_J: float
    interchip_hop_J: float = 0.0
    static_core_W: float
    static_router_W: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class NocSpec:
    """The network-on-chip.

    Attributes:
        topology: ``"mesh"`` (a 2D mesh of tiles, one router per tile).
        routing: ``"xy"`` (dimension order: x first, then y).
        multicast: Whether routers replicate packets along a tree (else one packet per
            destination core).
        packet_bits: Bits of one spike packet.
        flits_per_spike: Flits one spike packet occupies.
        buffer_depth: Flits per router input buffer.
        routing_entries: Routing-table entries per router; 0 means unlimited.
        ni_packets_per_cycle: Packets a network interface can inject per cycle.
    """

    topology: Literal["mesh"] = "mesh"
    routing: Literal["xy"] = "xy"
    multicast: bool
    packet_bits: int
    flits_per_spike: int = 1
    buffer_depth: int
    routing_entries: int = 0
    ni_packets_per_cycle: int = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceSpec:
    """The memristive crossbar of a ``kind = "crossbar"`` core.

    Endurance of a cell carrying current ``I_ij``: ``E_ij = E_0 (I_ref / I_ij) ** k`` with
    ``E_0 = endurance_cycles`` and ``k = endurance_exponent``. Temperature of crossbar ``i``:
    ``T_i = ambient_K + r_self (P_i + sum_j kappa ** d_ij P_j)`` over neighbours ``j`` at grid
    distance ``d_ij <= 2`` (tiles). A cell is hotter than its crossbar by ``r_cell (P_c +
    sum_k kappa_cell ** d_ck P_k)`` over the cells ``k`` of the same crossbar within ``d_ck <= 2``
    cell steps. Leakage per cell: ``leakage_W * exp(beta (T - leakage_T0_K))``.

    Attributes:
        rows: Crossbar rows (must equal the core's ``input_axons``).
        cols: Crossbar columns (must equal the core's ``neurons``).
        cell_read_J: Energy of one cell read.
        read_time_s: Time of one array read.
        read_voltage_V: Read voltage on a row.
        wire_resistance_ohm: Wire resistance of one cell-to-cell segment.
        cell_r_on_ohm: Cell resistance in the low-resistance state.
        cell_r_off_ohm: Cell resistance in the high-resistance state.
        adc_J: Energy of one ADC conversion (one column read out).
        write_J: Energy to program one cell.
        endurance_cycles: Endurance ``E_0`` at the reference current.
        endurance_exponent: Exponent ``k`` of the endurance model.
        ambient_K: Ambient temperature.
        thermal_r_self_K_per_W: Temperature rise of a crossbar per watt it dissipates.
        thermal_kappa: Coupling factor per grid step to neighbouring crossbars (cut off at 2).
        thermal_r_cell_K_per_W: Temperature rise of a cell above its crossbar per watt
            dissipated in the cell.
        thermal_kappa_cell: Coupling factor per cell step between the cells of one crossbar
            (cut off at 2).
        leakage_W: Leakage power per cell at ``leakage_T0_K``.
        leakage_T0_K: Reference temperature of ``leakage_W``.
        leakage_beta_per_K: Exponential slope of leakage with temperature.
    """

    rows: int
    cols: int
    cell_read_J: float
    read_time_s: float
    read_voltage_V: float
    wire_resistance_ohm: float
    cell_r_on_ohm: float
    cell_r_off_ohm: float
    adc_J: float
    write_J: float
    endurance_cycles: float
    endurance_exponent: float
    ambient_K: float = 300.0
    thermal_r_self_K_per_W: float
    thermal_kappa: float
    thermal_r_cell_K_per_W: float = 0.0
    thermal_kappa_cell: float = 0.0
    leakage_W: float
    leakage_T0_K: float = 300.0
    leakage_beta_per_K: float = 0.01


def _section(spec: Any) -> dict[str, Any]:
    return {f.name: getattr(spec, f.name) for f in fields(spec)}


@dataclass(frozen=True, slots=True, kw_only=True)
class HardwareModel:
    """A neuromorphic chip, or a grid of identical chips, as the compiler sees it.

    Attributes:
        name: Short name (``"loihi"``).
        description: One line for tables.
        path: The file the model was read from (for messages only).
        chips: Chip grid ``(x, y)``; ``(1, 1)`` is a single chip.
        mesh: Tiles per chip ``(x, y)``.
        cores_per_tile: Cores (crossbars) sharing one router.
        core: Per-core resources.
        neuron: The neuron model.
        timing: Time per operation and NoC latency.
        energy: Energy per operation and static power.
        noc: The network-on-chip.
        device: The memristive crossbar, for ``core.kind == "crossbar"`` chips only.

    Example:
        >>> from snncc.hw import load_hw
        >>> hw = load_hw("loihi")
        >>> hw.grid, hw.n_cores, hw.tile_xy(9)
        ((8, 4), 128, (1, 1))
    """

    name: str
    description: str
    path: str
    chips: tuple[int, int]
    mesh: tuple[int, int]
    cores_per_tile: int
    core: CoreSpec
    neuron: NeuronSpec
    timing: TimingSpec
    energy: EnergySpec
    noc: NocSpec
    device: DeviceSpec | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], path: str = "<dict>") -> HardwareModel:
        """Validate a dict laid out like the TOML file (or :meth:`to_dict`) and build a model.

        Args:
            data: Sections ``chip``, ``geometry``, ``core``, ``neuron``, ``timing``, ``energy``,
                ``noc`` and optionally ``device``, each a mapping of keys to values.
            path: The name used in error messages.

        Returns:
            The validated model.

        Raises:
            HardwareModelError: A section or key is unknown, missing, mistyped or out of range.
        """
        from snncc.hw._validate import build

        return build(data, path)

    @property
    def grid(self) -> tuple[int, int]:
        """The global tile grid ``(x, y)`` of the whole system."""
        return (self.chips[0] * self.mesh[0], self.chips[1] * self.mesh[1])

    @property
    def n_chips(self) -> int:
        """The number of chips."""
        return self.chips[0] * self.chips[1]

    @property
    def n_tiles(self) -> int:
        """The number of tiles (routers) in the system."""
        gx, gy = self.grid
        return gx * gy

    @property
    def n_cores(self) -> int:
        """The number of cores (crossbars) in the system."""
        return self.n_tiles * self.cores_per_tile

    def tile_of_core(self, core: int) -> int:
        """The tile that holds ``core``."""
        return core // self.cores_per_tile

    def tile_xy(self, tile: int) -> tuple[int, int]:
        """The ``(x, y)`` position of ``tile`` on the global grid (row-major numbering)."""
        gx = self.grid[0]
        return (tile % gx, tile // gx)

    def chip_of_tile(self, tile: int) -> int:
        """The chip that holds ``tile``; chips are numbered row-major over the chip grid."""
        x, y = self.tile_xy(tile)
        return (y // self.mesh[1]) * self.chips[0] + x // self.mesh[0]

    def to_dict(self) -> dict[str, Any]:
        """A plain JSON-able dict laid out like the TOML file (``from_dict`` reads it back)."""
        out: dict[str, Any] = {
            "chip": {"name": self.name, "description": self.description},
            "geometry": {"chips": list(self.chips), "mesh": list(self.mesh),
                         "cores_per_tile": self.cores_per_tile},
            "core": _section(self.core),
            "neuron": _section(self.neuron),
            "timing": _section(self.timing),
            "energy": _section(self.energy),
            "noc": _section(self.noc),
        }
        if self.device is not None:
            out["device"] = _section(self.device)
        return out
