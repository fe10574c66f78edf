"""A projection, compiled for the simulator: its op kernels, gate state and fan-out."""

from __future__ import annotations

import math

import numpy as np

from snncc.convert.net import Projection
from snncc.errors import SimulationError
from snncc.sim._events import EventPlan, is_linear
from snncc.sim._fanout import fanout
from snncc.sim._kernels import Kernel, compile_op

__all__ = ["Chain"]


class Chain:
    """Runs ``proj.ops`` on a (B, pre size) signal; returns (B, post size) float32.

    Spiking max pooling, ``maxpool="gate"`` (Rueckauer et al. 2017, "Conversion of
    continuous-valued deep networks to efficient event-driven networks for image
    classification"): each window passes the signal of the one input that has been most active
    so far in this presentation, and blocks the others. Activity is the op input's cumulative
    spike count when the op reads a population's spike train directly (the op is the head of
    the chain; the caller passes the population's counts, which include the current step), and
    its cumulative signal otherwise (the analog input, or a MaxPool2d behind another op: the
    key is then kept here and cleared by :meth:`reset`). Ties go to the first index of the
    window (row-major); padding never wins. ``filtered`` takes the max of the filtered signals
    (biased upwards by their ripple); ``avg`` the window average (padding not counted).

    A :attr:`linear` chain (no max pooling but under ``avg``, no bias, no affine shift) commutes
    with the synapse filter, so the simulator may apply it to raw spike trains, densely or on
    events (:meth:`event_plan`); :attr:`dense_macs` is its dense cost per batch row.

    Args:
        proj: The projection.
        maxpool: The net's spiking max-pooling method.
        pre_shape: The shape of the pre-synaptic source, checked against the projection.
        post_shape: The shape of the post-synaptic node, checked likewise.
    """

    def __init__(self, proj: Projection, maxpool: str, pre_shape: tuple[int, ...],
                 post_shape: tuple[int, ...]) -> None:
        where = f"projection {proj.name!r} ({proj.pre} -> {proj.post})"
        if tuple(proj.pre_shape) != tuple(pre_shape):
            raise SimulationError(f"{where}: pre_shape {proj.pre_shape} does not match "
                                  f"{proj.pre!r} {pre_shape}")
        shape = tuple(pre_shape)
        self.kernels: list[Kernel] = []
        for op in proj.ops:
            self.kernels.append(compile_op(op, shape, maxpool))
            shape = tuple(op.shape)
        if math.prod(shape) != math.prod(post_shape):
            raise SimulationError(f"{where}: its ops end in shape {shape}, {proj.post!r} has "
                                  f"{tuple(post_shape)}")
        self.proj = proj
        self.pre_shape = tuple(pre_shape)
        self.fanout = fanout(proj)
        self.linear = is_linear(proj.ops, maxpool)
        macs, shape = 0, self.pre_shape
        for op in proj.ops:
            macs += max(op.synapses([shape]), op.size)
            shape = tuple(op.shape)
        self.dense_macs = max(macs, math.prod(self.pre_shape))
        self._plan: EventPlan | None = None
        self._cum: dict[int, np.ndarray] = {}

    def event_plan(self) -> EventPlan:
        """The chain compiled for sparse events (built on first use; linear chains only)."""
        if not self.linear:
            raise SimulationError(f"projection {self.proj.name!r} is not linear; it cannot run "
                                  f"on events")
        if self._plan is None:
            self._plan = EventPlan(self.proj.ops, self.kernels, self.pre_shape)
        return self._plan

    @property
    def gated_head(self) -> bool:
        """Whether the first op needs the caller's key (a gate max-pool at the head)."""
        return bool(self.kernels) and self.kernels[0].needs_key

    def reset(self) -> None:
        """Forget the cumulative keys of gate ops inside the chain (a new presentation)."""
        self._cum.clear()

    def __call__(self, signal: np.ndarray, key: np.ndarray | None = None) -> np.ndarray:
        """Apply the ops to ``signal`` (B, pre size); ``key`` (B, pre size) for a gated head."""
        batch = signal.shape[0]
        x = signal.reshape(batch, *self.pre_shape)
        for k, kern in enumerate(self.kernels):
            if not kern.needs_key:
                x = kern.fn(x)
                continue
            if k == 0 and key is not None:
                op_key = key.reshape(x.shape)
            else:
                if k not in self._cum:
                    self._cum[k] = np.zeros(x.shape, dtype=np.float32)
                op_key = self._cum[k]
                op_key += x
            x = kern.fn(x, op_key)
        return np.ascontiguousarray(x.reshape(batch, -1), dtype=np.float32)
