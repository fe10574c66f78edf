"""The LayerGraph: an ordered, verified collection of layers, and its reference interpreter."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from snncc.errors import FrontendError
from snncc.ir import layers as L
from snncc.ir._interp import LAYER_FUNCTIONS

__all__ = ["LayerGraph", "LayerSummary", "verify"]


@dataclass(frozen=True, slots=True)
class LayerSummary:
    """One row of :meth:`LayerGraph.summary`."""

    name: str
    op: str
    onnx_nodes: tuple[str, ...]
    shape: tuple[int, ...]
    neurons: int
    parameters: int
    synapses: int


@dataclass(frozen=True, eq=False)
class LayerGraph:
    """A network as typed layers in topological order.

    Attributes:
        layers: The layers; every layer's inputs come before it.
        name: The model's name (the ONNX graph name).
        metadata: Free-form facts about where the graph came from (opset, producer, file).
    """

    layers: tuple[L.Layer, ...]
    name: str = ""
    metadata: Mapping[str, Any] = field(default_factory=dict)
    _index: dict[str, L.Layer] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "layers", tuple(self.layers))
        object.__setattr__(self, "_index", {lay.name: lay for lay in self.layers})
        verify(self)

    # -- structure ---------------------------------------------------------------------------
    def __iter__(self) -> Iterator[L.Layer]:
        return iter(self.layers)

    def __len__(self) -> int:
        return len(self.layers)

    def __getitem__(self, name: str) -> L.Layer:
        try:
            return self._index[name]
        except KeyError:
            raise KeyError(f"no layer named {name!r}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._index

    @property
    def inputs(self) -> tuple[L.Input, ...]:
        """The Input layers, in model order."""
        return tuple(lay for lay in self.layers if isinstance(lay, L.Input))

    @property
    def outputs(self) -> tuple[L.Output, ...]:
        """The Output layers, in model order."""
        return tuple(lay for lay in self.layers if isinstance(lay, L.Output))

    def consumers(self, name: str) -> list[L.Layer]:
        """Layers that read ``name``."""
        return [lay for lay in self.layers if name in lay.inputs]

    def input_shapes(self, layer: L.Layer) -> list[tuple[int, ...]]:
        """Shapes of the layer's inputs."""
        return [self._index[i].shape for i in layer.inputs]

    def summary(self) -> list[LayerSummary]:
        """Per-layer size figures: neurons (output values), parameters, synapses (= MACs)."""
        rows = []
        for lay in self.layers:
            rows.append(LayerSummary(
                name=lay.name, op=lay.op, onnx_nodes=lay.onnx_nodes, shape=lay.shape,
                neurons=lay.size if isinstance(lay, L.Activation) else 0,
                parameters=lay.parameters, synapses=lay.synapses(self.input_shapes(lay)),
            ))
        return rows

    @property
    def parameters(self) -> int:
        """Total weights and biases."""
        return sum(lay.parameters for lay in self.layers)

    @property
    def synapses(self) -> int:
        """Total connections (multiply-accumulates per sample)."""
        return sum(lay.synapses(self.input_shapes(lay)) for lay in self.layers)

    # -- reference interpreter ---------------------------------------------------------------
    def run(self, x: np.ndarray | Mapping[str, np.ndarray], *,
            return_all: bool = False) -> np.ndarray | dict[str, np.ndarray]:
        """Run the reference interpreter on a batch.

        Args:
            x: The batch, shaped ``(N, *input.shape)``, or a mapping from input name to batch for
                graphs with several inputs. A single sample without the batch axis is accepted.
            return_all: Return every layer's output (a dict by layer name).

        Returns:
            The output batch as float32 (a dict by output name when there are several outputs).

        Raises:
            FrontendError: When the input's shape does not match the graph's inputs.
        """
        feeds = self._feeds(x)
        values: dict[str, np.ndarray] = {}
        for lay in self.layers:
            if isinstance(lay, L.Input):
                args = [feeds[lay.name]]
            else:
                args = [values[i] for i in lay.inputs]
            values[lay.name] = LAYER_FUNCTIONS[type(lay)](lay, args)
        if return_all:
            return {k: v.astype(np.float32) for k, v in values.items()}
        outs = {o.name: values[o.name].astype(np.float32) for o in self.outputs}
        return next(iter(outs.values())) if len(outs) == 1 else outs

    def _feeds(self, x: np.ndarray | Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        ins = self.inputs
        if not isinstance(x, Mapping):
            if len(ins) != 1:
                names = [i.name for i in ins]
                raise FrontendError(f"graph has {len(ins)} inputs {names}; pass a dict by name")
            x = {ins[0].name: x}
        feeds = {}
        for inp in ins:
            if inp.name not in x:
                raise FrontendError(f"no value given for input {inp.name!r}")
            arr = np.asarray(x[inp.name], dtype=np.float64)
            if arr.shape == inp.shape:
                arr = arr[None]
            if arr.shape[1:] != inp.shape:
                raise FrontendError(
                    f"input {inp.name!r} expects shape (N, {', '.join(map(str, inp.shape))}), "
                    f"got {arr.shape}")
            feeds[inp.name] = arr
        return feeds


def verify(graph: LayerGraph) -> None:
    """Check names, topological order, arities and shapes.

    Raises:
        FrontendError: Naming the first layer that is wrong.
    """
    seen: dict[str, L.Layer] = {}
    for lay in graph.layers:
        if lay.name in seen:
            raise FrontendError(f"two layers are named {lay.name!r}")
        for i in lay.inputs:
            if i not in seen:
                raise FrontendError(
                    f"layer {lay.name!r} reads {i!r}, which is not an earlier layer")
        _check_shape(lay, [seen[i].shape for i in lay.inputs])
        seen[lay.name] = lay
    if not graph.inputs or not graph.outputs:
        raise FrontendError("graph needs at least one Input and one Output layer")


def _check_shape(lay: L.Layer, ins: list[tuple[int, ...]]) -> None:
    def bad(expected: Any) -> FrontendError:
        return FrontendError(f"layer {lay.name!r} ({lay.op}): output shape {lay.shape} does not "
                             f"follow from inputs {ins} (expected {expected})")

    if isinstance(lay, L.Dense):
        if len(ins[0]) != 1 or ins[0][0] != lay.weight.shape[1]:
            raise bad(f"a vector of {lay.weight.shape[1]}")
    elif isinstance(lay, L.Conv2d):
        if len(ins[0]) != 3 or ins[0][0] != lay.weight.shape[1] * lay.groups:
            raise bad(f"{lay.weight.shape[1] * lay.groups} input channels")
        expect = _window_shape(lay, ins[0], lay.kernel, lay.dilation, ceil=False)
        if lay.shape != expect:
            raise bad(expect)
    elif isinstance(lay, (L.AvgPool2d, L.MaxPool2d)):
        dil = lay.dilation if isinstance(lay, L.MaxPool2d) else (1, 1)
        expect = _window_shape(lay, ins[0], lay.kernel, dil, lay.ceil_mode)
        if lay.shape != expect:
            raise bad(expect)
    elif isinstance(lay, L.Add):
        if any(s != lay.shape for s in ins):
            raise bad("all inputs of the output's shape")
    elif isinstance(lay, L.Concat):
        if any(s[1:] != lay.shape[1:] for s in ins) or sum(s[0] for s in ins) != lay.shape[0]:
            raise bad("inputs that differ only in channels")
    elif isinstance(lay, L.Reshape):
        if math.prod(ins[0]) != lay.size:
            raise bad(f"{math.prod(ins[0])} values")
    elif not isinstance(lay, L.Input) and lay.shape != ins[0]:
        raise bad(ins[0])


def _window_shape(lay: Any, in_shape: tuple[int, ...], kernel: tuple[int, int],
                  dilation: tuple[int, int], ceil: bool) -> tuple[int, ...]:
    if len(in_shape) != 3:
        return ("C", "H", "W")  # type: ignore[return-value]
    c = lay.weight.shape[0] if isinstance(lay, L.Conv2d) else in_shape[0]
    pt, pl, pb, pr = lay.padding
    ho = L.pool_output_size(in_shape[1], kernel[0], lay.stride[0], pt, pb, dilation[0], ceil)
    wo = L.pool_output_size(in_shape[2], kernel[1], lay.stride[1], pl, pr, dilation[1], ceil)
    return (c, ho, wo)
