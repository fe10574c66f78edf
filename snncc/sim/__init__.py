"""Stage: functional spiking simulation of a SpikingNet (accuracy and activity profile).

``simulate(net, x, labels)`` runs the net time-stepped and batched over inputs, and returns a
:class:`SimResult`: decoded outputs, predictions, accuracy, spike and synaptic-event counts per
input, per-neuron mean spike counts, and optionally per-input counts and a :class:`SpikeTrace`.
"""

from snncc.sim.encode import ENCODERS
from snncc.sim.functional import SimResult, simulate
from snncc.sim.trace import SpikeTrace

__all__ = ["ENCODERS", "SimResult", "SpikeTrace", "simulate"]
