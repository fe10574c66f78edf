"""Frontends: ONNX import into the LayerGraph, and the snncc:SoftLIF ONNX function."""

from snncc.frontend.onnx import SUPPORTED_OPS, load_onnx

__all__ = ["SUPPORTED_OPS", "load_onnx"]
