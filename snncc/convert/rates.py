"""Rate-model evaluation of a SpikingNet: every population replaced by its steady-state rate.

This is what the spiking network computes in the limit of long presentations; with
``smooth=True`` LIF populations use the soft-LIF curve they were trained with, which makes the
rate model equal to the original ANN — the check that conversion kept every weight and bias.
"""

from __future__ import annotations

import numpy as np

from snncc.convert.net import SpikingNet
from snncc.ir._interp import softlif_rate

__all__ = ["rate_run"]


def rate_run(net: SpikingNet, x: np.ndarray, *, smooth: bool = False,
             gamma: float = 0.02) -> dict[str, np.ndarray]:
    """Evaluate the net as a rate model.

    Args:
        net: The converted network.
        x: Input batch (N, *input shape).
        smooth: Use the soft-LIF curve (smoothing ``gamma``) for LIF populations instead of the
            hard LIF rate; IF populations are the clipped-linear ``clip(J, 0, 1/dt)`` either way.
        gamma: Soft-LIF smoothing, used when ``smooth`` (the value from training).

    Returns:
        Output value per readout and population name, each (N, *shape), float64.
    """
    src = net.inputs[0]
    sig = np.asarray(x, dtype=np.float64)
    if src.scale is not None:
        sig = sig * src.scale
    if src.shift is not None:
        sig = sig + src.shift
    values: dict[str, np.ndarray] = {src.name: sig}
    for pop in net.populations:
        xin = np.sum([p.apply(values[p.pre]) for p in net.into(pop.name)], axis=0)
        if pop.model == "lif" and smooth:
            j_minus_1 = pop.gain * xin + pop.bias - 1.0
            out = softlif_rate(j_minus_1, pop.tau_rc, pop.tau_ref, gamma, pop.amplitude)
        else:
            out = pop.amplitude * pop.rate(xin, net.dt)
        values[pop.name] = out
    for r in net.readouts:
        values[r.name] = np.sum([p.apply(values[p.pre]) for p in net.into(r.name)],
                                axis=0) + r.bias
    return values
