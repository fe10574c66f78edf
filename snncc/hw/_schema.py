"""The hardware-file schema: every section and key with its type, range, unit, default and meaning.

This table is the single description of the file format: the validator checks against it, ``snncc
hw show`` prints its units, and ``hwmodels/README.md`` documents the same keys (a test keeps them in
step, and another keeps it in step with the dataclasses of :mod:`snncc.hw.model`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["INT_MAX", "OPTIONAL_SECTIONS", "REQUIRED", "SECTIONS", "Key"]

INT_MAX = 2**31 - 1
"""Largest integer accepted anywhere (counts are stored in int32 arrays downstream)."""


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()
"""The default of a key that must be given."""


@dataclass(frozen=True, slots=True)
class Key:
    """One key of a section.

    Attributes:
        kind: The TOML type: ``int``, ``float`` (ints accepted), ``bool``, ``str`` or ``pair`` (a
            list of two positive integers).
        doc: What the key means (one line).
        unit: The SI unit, or ``""``.
        lo: Lower bound (inclusive unless ``lo_open``), or None.
        hi: Upper bound (inclusive unless ``hi_open``), or None.
        lo_open: Whether ``lo`` itself is excluded.
        hi_open: Whether ``hi`` itself is excluded.
        choices: The allowed strings of an enumeration.
        default: The value when the key is absent, or ``REQUIRED``.
    """

    kind: Literal["int", "float", "bool", "str", "pair"]
    doc: str
    unit: str = ""
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    hi_open: bool = False
    choices: tuple[str, ...] = ()
    default: Any = REQUIRED

    @property
    def required(self) -> bool:
        """Whether the key must be present."""
        return self.default is REQUIRED


def _count(doc: str, default: Any = REQUIRED, unit: str = "") -> Key:
    return Key("int", doc, unit, lo=1, default=default)


def _natural(doc: str, default: Any = REQUIRED, unit: str = "") -> Key:
    return Key("int", doc, unit, lo=0, default=default)


def _bits(doc: str, lo: int = 1, default: Any = REQUIRED) -> Key:
    return Key("int", doc, "bit", lo=lo, hi=64, default=default)


def _amount(doc: str, unit: str, default: Any = REQUIRED) -> Key:
    """A non-negative float (energy, time, power)."""
    return Key("float", doc, unit, lo=0, default=default)


def _positive(doc: str, unit: str, default: Any = REQUIRED) -> Key:
    return Key("float", doc, unit, lo=0, lo_open=True, default=default)


def _choice(doc: str, *choices: str, default: Any = REQUIRED) -> Key:
    return Key("str", doc, choices=choices, default=default)


SECTIONS: dict[str, dict[str, Key]] = {
    "chip": {
        "name": Key("str", "short name of the model"),
        "description": Key("str", "one line shown by `snncc hw list`"),
    },
    "geometry": {
        "chips": Key("pair", "chip grid [x, y]; [1, 1] is a single chip", default=(1, 1)),
        "mesh": Key("pair", "tiles per chip [x, y]; one router per tile"),
        "cores_per_tile": _count("cores (crossbars) sharing one router"),
    },
    "core": {
        "neurons": _count("neurons per core (crossbar columns)"),
        "input_axons": _count("distinct presynaptic sources per core, external inputs included "
                              "(crossbar rows)"),
        "synapses": _count("synapse memory per core, counted in synapses"),
        "weight_bits": _bits("bits per synaptic weight"),
        "fanout": _natural("most distinct destination cores of one neuron; 0 = unlimited",
                           default=0),
        "fanin_per_neuron": _natural("most distinct inputs of one neuron; 0 = only input_axons "
                                     "limits", default=0),
        "fanin_split": Key("bool", "a neuron's fan-in may be split across cores as dendritic "
                                   "partial sums"),
        "kind": _choice("digital (SRAM synapses) or crossbar (memristive, needs [device])",
                        "digital", "crossbar", default="digital"),
    },
    "neuron": {
        "model": _choice("neuron model: lif (leaky) or if (no leak)", "lif", "if"),
        "tick_s": _amount("fixed length of one timestep; 0 = asynchronous", "s", default=0.0),
        "threshold_bits": _bits("bits of the firing threshold; 0 = floating point", lo=0,
                                default=0),
    },
    "timing": {
        "clock_hz": _positive("NoC clock (an assumed equivalent for asynchronous chips)", "Hz"),
        "synop_s": _amount("time per synaptic operation", "s"),
        "neuron_update_active_s": _amount("time to update a neuron with input or a spike", "s"),
        "neuron_update_idle_s": _amount("time to update a neuron without input", "s"),
        "spike_out_s": _amount("time for a core to emit one spike", "s"),
        "packet_out_s": _amount("time for a core to send one packet into the network", "s",
                                default=0.0),
        "router_cycles": _natural("router pipeline cycles per hop", unit="cycles"),
        "link_cycles": _natural("cycles to traverse one on-chip link", unit="cycles"),
        "barrier_s": _amount("time of the barrier that ends a timestep", "s"),
        "interchip_link_cycles": _natural("cycles to traverse one link between chips",
                                          default=0, unit="cycles"),
    },
    "energy": {
        "synop_J": _amount("energy per synaptic operation", "J"),
        "neuron_update_active_J": _amount("energy to update a neuron with input or a spike", "J"),
        "neuron_update_idle_J": _amount("energy to update a neuron without input", "J"),
        "spike_out_J": _amount("energy for a core to emit one spike (once per spike)", "J"),
        "packet_out_J": _amount("energy for a core to send one packet into the network", "J",
                                default=0.0),
        "hop_ew_J": _amount("energy of one east/west hop of a spike packet", "J"),
        "hop_ns_J": _amount("energy of one north/south hop of a spike packet", "J"),
        "intra_tile_J": _amount("energy to deliver a packet to a core of the sender's tile", "J"),
        "interchip_hop_J": _amount("energy of a hop across a chip boundary (instead of an "
                                   "on-chip hop)", "J", default=0.0),
        "static_core_W": _amount("static power per core", "W"),
        "static_router_W": _amount("static power per router (tile)", "W", default=0.0),
    },
    "noc": {
        "topology": _choice("network topology", "mesh", default="mesh"),
        "routing": _choice("routing algorithm: xy = dimension order, x first", "xy",
                           default="xy"),
        "multicast": Key("bool", "routers replicate packets along a tree (else one packet per "
                                 "destination core)"),
        "packet_bits": _count("bits of one spike packet", unit="bit"),
        "flits_per_spike": _count("flits one spike packet occupies", default=1),
        "buffer_depth": _count("flits per router input buffer", unit="flits"),
        "routing_entries": _natural("routing-table entries per router; 0 = unlimited",
                                    default=0),
        "ni_packets_per_cycle": _count("packets a network interface injects per cycle",
                                       default=1),
    },
    "device": {
        "rows": _count("crossbar rows (= core.input_axons)"),
        "cols": _count("crossbar columns (= core.neurons)"),
        "cell_read_J": _amount("energy of one cell read", "J"),
        "read_time_s": _amount("time of one array read", "s"),
        "read_voltage_V": _positive("read voltage on a row", "V"),
        "wire_resistance_ohm": _amount("wire resistance of one cell-to-cell segment", "ohm"),
        "cell_r_on_ohm": _positive("cell resistance, low-resistance state", "ohm"),
        "cell_r_off_ohm": _positive("cell resistance, high-resistance state", "ohm"),
        "adc_J": _amount("energy of one ADC conversion (one column read out)", "J"),
        "write_J": _amount("energy to program one cell", "J"),
        "endurance_cycles": _positive("endurance E_0 at the reference current "
                                      "(E_ij = E_0 (I_ref/I_ij)^k)", "cycles"),
        "endurance_exponent": _amount("exponent k of the endurance model", ""),
        "ambient_K": _positive("ambient temperature", "K", default=300.0),
        "thermal_r_self_K_per_W": _amount("temperature rise of a crossbar per watt it "
                                          "dissipates", "K/W"),
        "thermal_kappa": Key("float", "thermal coupling per grid step to neighbouring "
                                      "crossbars (cut off at 2 steps)", lo=0, hi=1,
                             hi_open=True),
        "thermal_r_cell_K_per_W": _amount("temperature rise of a cell above its crossbar per "
                                          "watt dissipated in it", "K/W", default=0.0),
        "thermal_kappa_cell": Key("float", "thermal coupling per cell step between the cells "
                                           "of one crossbar (cut off at 2 steps)", lo=0, hi=1,
                                  hi_open=True, default=0.0),
        "leakage_W": _amount("leakage power per cell at leakage_T0_K", "W"),
        "leakage_T0_K": _positive("reference temperature of leakage_W", "K", default=300.0),
        "leakage_beta_per_K": _amount("exponential slope of leakage with temperature", "1/K",
                                      default=0.01),
    },
}
"""Every section of a hardware file, in file order, with its keys in file order."""

OPTIONAL_SECTIONS = frozenset({"device"})
"""Sections that may be left out (``device``: crossbar chips only)."""
