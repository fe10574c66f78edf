"""Input encoders: how the analog input sample drives the network over a presentation.

``current``: the input source's signal is the sample itself at every step (a constant current,
not filtered); it emits no spikes, so the first layer's synaptic operations are counted as MACs
once per input.

``poisson``: every input value ``x`` emits spikes at the rate ``|x| * max_rate`` (a Bernoulli
draw per step with probability ``min(|x| * max_rate * dt, 1)``), each carrying ``sign(x)``; the
signal is ``sign * spikes / (dt * max_rate)``, whose mean is ``x`` for
``|x| <= 1 / (max_rate * dt)`` (for ``x`` in [-1, 1] at the default 1000 Hz and 1 ms). The
signal is then synapse-filtered like any spike train. Input ``i`` (its index in the whole run)
draws from ``numpy.random.default_rng(SeedSequence(seed, spawn_key=(i,)))``, the ``i``-th child
of ``default_rng(seed)``'s seed sequence, so results do not depend on the batch size.
"""

from __future__ import annotations

import numpy as np

__all__ = ["ENCODERS", "CurrentEncoder", "PoissonEncoder"]

ENCODERS = ("current", "poisson")


class CurrentEncoder:
    """The constant-current encoder: :meth:`step` returns the sample, never spikes."""

    constant = True

    def __init__(self) -> None:
        self._x = np.empty((0, 0), dtype=np.float32)

    def start(self, x: np.ndarray, first_index: int) -> None:
        """Begin presenting ``x`` (B, n) float32 (``first_index`` unused)."""
        self._x = x

    def step(self) -> tuple[np.ndarray, np.ndarray | None]:
        """The step's signal (B, n) and spikes (None: this encoder does not spike)."""
        return self._x, None


class PoissonEncoder:
    """Signed Bernoulli spike trains at ``|x| * max_rate``; see the module docstring.

    Args:
        dt: Timestep in seconds.
        max_rate: Rate in Hz of an input value of magnitude 1.
        seed: Seed of the run.
    """

    constant = False

    def __init__(self, dt: float, max_rate: float, seed: int) -> None:
        self.dt, self.max_rate, self.seed = float(dt), float(max_rate), int(seed)
        self._p = self._value = self._draw = np.empty((0, 0), dtype=np.float32)
        self._rngs: list[np.random.Generator] = []

    def start(self, x: np.ndarray, first_index: int) -> None:
        """Begin presenting ``x`` (B, n); row ``k`` is input number ``first_index + k``."""
        self._p = np.minimum(np.abs(x) * (self.max_rate * self.dt), 1.0).astype(np.float32)
        self._value = (np.sign(x) / (self.dt * self.max_rate)).astype(np.float32)
        self._draw = np.empty(x.shape, dtype=np.float32)
        self._rngs = [np.random.default_rng(np.random.SeedSequence(self.seed,
                                                                    spawn_key=(first_index + k,)))
                      for k in range(x.shape[0])]

    def step(self) -> tuple[np.ndarray, np.ndarray | None]:
        """The step's signal ``sign * spikes / (dt * max_rate)`` (B, n) and spikes (bool)."""
        for k, rng in enumerate(self._rngs):
            rng.random(out=self._draw[k], dtype=np.float32)
        spikes = self._draw < self._p
        return np.where(spikes, self._value, np.float32(0.0)), spikes
