"""The per-core cost model: time and energy of one core's work in one timestep.

One definition, used by the cycle-level backend and by the dataflow analysis (``mapping.sdf``),
so that an actor's execution time in the analysis is exactly the core time the backend charges.

Per core and timestep the backend counts:

- ``synops``: synaptic events (delivered spikes times the synapses each one reaches on the core);
- ``reads``: crossbar array reads (1 when a memristive crossbar received any input that step;
  the analogue read integrates all active rows at once) — 0 on digital cores;
- ``active`` / ``idle``: neuron updates of neurons whose unit received input that step / did not;
- ``spikes``: spikes emitted by the core's neurons;
- ``packets``: packets the core's network interface sends (multicast packets, unicast copies,
  partial sums).

Time: ``synops·synop_s + reads·read_time_s + active·active_s + idle·idle_s + spikes·spike_out_s
+ packets·packet_out_s``. Energy: the same counts times the per-event joules, plus one ADC
conversion per column (neuron) on the core per array read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["CoreCosts", "core_costs"]


@dataclass(frozen=True, slots=True)
class CoreCosts:
    """Per-event time (seconds) and energy (joules) of one core, from the chip file."""

    synop_s: float
    read_s: float
    active_s: float
    idle_s: float
    spike_s: float
    packet_s: float
    synop_J: float
    adc_J: float
    active_J: float
    idle_J: float
    spike_J: float
    packet_J: float
    clock_hz: float

    def seconds(self, synops: Any, reads: Any, active: Any, idle: Any, spikes: Any,
                packets: Any) -> Any:
        """Busy time of a core for the given counts (scalars or equal-shape arrays)."""
        return (np.multiply(synops, self.synop_s) + np.multiply(reads, self.read_s)
                + np.multiply(active, self.active_s) + np.multiply(idle, self.idle_s)
                + np.multiply(spikes, self.spike_s) + np.multiply(packets, self.packet_s))

    def cycles(self, synops: Any, reads: Any, active: Any, idle: Any, spikes: Any,
               packets: Any) -> Any:
        """:meth:`seconds` in NoC clock cycles, rounded up (int64)."""
        s = self.seconds(synops, reads, active, idle, spikes, packets)
        return np.ceil(np.asarray(s, np.float64) * self.clock_hz - 1e-9).astype(np.int64)

    def joules(self, synops: Any, reads: Any, columns: Any, active: Any, idle: Any,
               spikes: Any, packets: Any) -> dict[str, Any]:
        """Energy by category for the given counts; ``columns`` = neurons on the core."""
        return {"synaptic_J": np.multiply(synops, self.synop_J),
                "adc_J": np.multiply(np.multiply(reads, columns), self.adc_J),
                "neuron_active_J": np.multiply(active, self.active_J),
                "neuron_idle_J": np.multiply(idle, self.idle_J),
                "spike_out_J": np.multiply(spikes, self.spike_J),
                "packet_out_J": np.multiply(packets, self.packet_J)}


def core_costs(hw: Any) -> CoreCosts:
    """The :class:`CoreCosts` of a :class:`~snncc.hw.HardwareModel`."""
    t, e, dev = hw.timing, hw.energy, hw.device
    return CoreCosts(
        synop_s=t.synop_s, read_s=dev.read_time_s if dev is not None else 0.0,
        active_s=t.neuron_update_active_s, idle_s=t.neuron_update_idle_s,
        spike_s=t.spike_out_s, packet_s=t.packet_out_s,
        synop_J=e.synop_J, adc_J=dev.adc_J if dev is not None else 0.0,
        active_J=e.neuron_update_active_J, idle_J=e.neuron_update_idle_J,
        spike_J=e.spike_out_J, packet_J=e.packet_out_J, clock_hz=t.clock_hz)
