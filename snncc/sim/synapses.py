"""Synapse filters, applied once per source on the pre-synaptic side.

A source's spike output ``u`` (spikes/dt times the amplitude, piecewise constant over a step) is
filtered once; every projection from the source reads the filtered signal. Filtering before the
linear projection ops is the same as filtering after them (the filter is linear and
time-invariant), and cheaper when a source has several projections.

``none``: the signal is ``u``.

``lowpass`` (``tau * dy/dt = u - y``), exact for ``u`` constant over the step::

    y <- y + (1 - exp(-dt/tau)) * (u - y)

``alpha``: two such lowpasses in series (impulse response ``t/tau^2 * exp(-t/tau)``),
discretised exactly for piecewise-constant ``u`` (zero-order hold, as nengo's ``Alpha``), so the
step response at the step ends is exactly ``1 - (1 + t/tau) * exp(-t/tau)``. With
``r = exp(-dt/tau)`` and ``h = dt/tau``::

    y2 <- r*y2 + h*r*y1 + (1 - r*(1 + h)) * u
    y1 <- r*y1 + (1 - r) * u

Both filters have unit DC gain and no delay: the step's input shows in the step's output.
``tau = 0`` means no filter.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from snncc.convert.net import SYNAPSES
from snncc.errors import SimulationError

__all__ = ["SynapseFilter"]


@numba.njit(cache=True, nogil=True)
def _lowpass(u, y, a):
    for b in range(y.shape[0]):
        for i in range(y.shape[1]):
            y[b, i] += a * (u[b, i] - y[b, i])


@numba.njit(cache=True, nogil=True)
def _alpha(u, y1, y2, r, hr, c2):
    for b in range(y1.shape[0]):
        for i in range(y1.shape[1]):
            x1 = y1[b, i]
            y1[b, i] = r * x1 + (1.0 - r) * u[b, i]
            y2[b, i] = r * y2[b, i] + hr * x1 + c2 * u[b, i]


class SynapseFilter:
    """A synapse filter over a (B, n) signal; see the module docstring.

    Args:
        kind: ``none``, ``lowpass`` or ``alpha``.
        tau: Time constant in seconds (0: no filtering).
        dt: Timestep in seconds.
    """

    def __init__(self, kind: str, tau: float, dt: float) -> None:
        if kind not in SYNAPSES:
            raise SimulationError(f"unknown synapse {kind!r}; known: {SYNAPSES}")
        self.kind = "none" if tau <= 0 else kind
        h = dt / tau if tau > 0 else math.inf
        self.r = math.exp(-h)
        self.hr = h * self.r if tau > 0 else 0.0
        self.c2 = 1.0 - self.r * (1.0 + h) if tau > 0 else 1.0
        self._y1 = self._y2 = np.empty((0, 0), dtype=np.float32)

    def reset(self, batch: int, n: int) -> None:
        """Zero state for ``batch`` rows of ``n`` values."""
        self._y1 = np.zeros((batch, n), dtype=np.float32)
        self._y2 = np.zeros((batch, n), dtype=np.float32) if self.kind == "alpha" else self._y1

    def step(self, u: np.ndarray) -> np.ndarray:
        """Filter one step of ``u`` (B, n); the returned array is overwritten by the next step."""
        if self.kind == "none":
            return u
        if self.kind == "lowpass":
            _lowpass(u, self._y1, 1.0 - self.r)
        else:
            _alpha(u, self._y1, self._y2, self.r, self.hr, self.c2)
        return self._y2
