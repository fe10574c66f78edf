"""Weight quantisation to a chip's weight bit width, with a per-layer error report."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from snncc.convert.net import Projection, SpikingNet
from snncc.errors import ConversionError
from snncc.ir import layers as L

__all__ = ["QuantRow", "quantize"]


@dataclass(frozen=True, slots=True)
class QuantRow:
    """Quantisation of one weighted op.

    Attributes:
        projection: Projection name.
        layer: The op's layer name (the ONNX node it came from).
        bits: Weight bits (sign included).
        scale: Value of one weight step.
        rel_rms_error: RMS(w_q - w) / RMS(w).
        max_abs_error: max |w_q - w|.
        zeroed: Fraction of non-zero weights that became zero.
    """

    projection: str
    layer: str
    bits: int
    scale: float
    rel_rms_error: float
    max_abs_error: float
    zeroed: float


def _quantize_array(w: np.ndarray, bits: int) -> tuple[np.ndarray, float]:
    levels = 2 ** (bits - 1) - 1
    peak = float(np.max(np.abs(w))) if w.size else 0.0
    if peak == 0.0:
        return w.copy(), 0.0
    scale = peak / levels
    return (np.clip(np.round(w / scale), -levels, levels) * scale).astype(w.dtype), scale


def quantize(net: SpikingNet, bits: int) -> tuple[SpikingNet, list[QuantRow]]:
    """Round every projection weight to ``bits`` signed bits with a per-layer scale.

    Each weighted op (Conv2d, Dense, ChannelAffine scale) gets its own symmetric scale
    ``max|w| / (2**(bits-1) - 1)``; weights are rounded to the nearest step. Biases (constant
    currents) are left in floating point.

    Args:
        net: The converted network.
        bits: Signed weight bits, 2..32.

    Returns:
        The quantised net and one :class:`QuantRow` per weighted op.

    Raises:
        ConversionError: For a bit width outside 2..32.
    """
    if not isinstance(bits, (int, np.integer)) or not 2 <= bits <= 32:
        raise ConversionError(f"weight bits must be an integer in 2..32, got {bits!r}")
    rows: list[QuantRow] = []
    projections: list[Projection] = []
    for proj in net.projections:
        ops = []
        for op in proj.ops:
            key = "weight" if isinstance(op, (L.Conv2d, L.Dense)) else (
                "scale" if isinstance(op, L.ChannelAffine) else None)
            if key is None:
                ops.append(op)
                continue
            w = getattr(op, key)
            wq, scale = _quantize_array(w, int(bits))
            err = (wq - w).astype(np.float64)
            rms = float(np.sqrt(np.mean(w.astype(np.float64) ** 2))) or 1.0
            nz = np.count_nonzero(w)
            rows.append(QuantRow(
                projection=proj.name, layer=op.name, bits=int(bits), scale=scale,
                rel_rms_error=float(np.sqrt(np.mean(err**2))) / rms,
                max_abs_error=float(np.max(np.abs(err))) if err.size else 0.0,
                zeroed=float(np.count_nonzero((wq == 0) & (w != 0)) / nz) if nz else 0.0))
            change: dict[str, Any] = {key: wq}
            ops.append(dataclasses.replace(op, **change))
        projections.append(dataclasses.replace(proj, ops=tuple(ops)))
    meta = {**net.metadata, "weight_bits": int(bits)}
    return dataclasses.replace(net, projections=tuple(projections), metadata=meta), rows
