"""LayerGraph IR: typed layers with numpy weights, verification, reference interpreter."""

from snncc.ir._interp import lif_rate, softlif_rate
from snncc.ir.graph import LayerGraph, LayerSummary, verify
from snncc.ir.layers import (
    Activation,
    Add,
    AvgPool2d,
    ChannelAffine,
    Concat,
    Conv2d,
    Dense,
    Input,
    Layer,
    MaxPool2d,
    Output,
    Reshape,
    pool_output_size,
)

__all__ = [
    "Activation",
    "Add",
    "AvgPool2d",
    "ChannelAffine",
    "Concat",
    "Conv2d",
    "Dense",
    "Input",
    "Layer",
    "LayerGraph",
    "LayerSummary",
    "MaxPool2d",
    "Output",
    "Reshape",
    "lif_rate",
    "pool_output_size",
    "softlif_rate",
    "verify",
]
