"""Elementwise regions: soft-LIF (or another rate curve) exported as loose standard ops.

A region is a set of elementwise ONNX nodes with scalar constants that reads one tensor X and
produces one tensor Y used elsewhere. The frontend evaluates the region on a probe vector and asks
:func:`snncc.frontend.softlif.fit_softlif` whether it is a soft-LIF curve.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import onnx
from onnx import helper
from onnx.reference import ReferenceEvaluator

__all__ = ["ELEMENTWISE", "NONLINEAR", "Region", "find_regions", "region_function"]

UNARY = {"Softplus", "Log", "Exp", "Reciprocal", "Neg", "Abs", "Sqrt", "Relu", "Sigmoid",
         "Tanh", "Softsign", "Identity", "Clip", "Cast", "Not", "Floor", "Ceil", "Sign"}
BINARY = {"Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Where", "Equal", "Less", "Greater",
          "LessOrEqual", "GreaterOrEqual", "And", "Or"}
ELEMENTWISE = UNARY | BINARY
# Ops that make a region a nonlinear curve (a seed), when they read a non-constant value.
NONLINEAR = {"Softplus", "Log", "Exp", "Reciprocal", "Sqrt", "Pow", "Sigmoid", "Tanh",
             "Softsign", "Where"}


@dataclass(frozen=True)
class Region:
    """An elementwise region: ``nodes`` (topological order) read ``x`` and produce ``y``."""

    nodes: tuple[onnx.NodeProto, ...]
    x: str
    y: str
    seed: onnx.NodeProto


def _is_seed(node: onnx.NodeProto, const: set[str]) -> bool:
    live = [i for i in node.input if i and i not in const]
    if not live or node.domain not in ("", "ai.onnx"):
        return False
    if node.op_type in NONLINEAR:
        return True
    # x / v, v * v: nonlinear when two inputs are live or the divisor is live
    return (node.op_type == "Div" and node.input[1] not in const) or (
        node.op_type == "Mul" and len(live) == 2)


def find_regions(nodes: list[onnx.NodeProto], const: set[str], scalar: set[str],
                 graph_outputs: set[str]) -> tuple[list[Region], list[onnx.NodeProto]]:
    """Find elementwise regions around nonlinear seeds.

    Args:
        nodes: Nodes in topological order.
        const: Names of values that are constants (initializers or constant-foldable).
        scalar: Names of constant values with exactly one element.
        graph_outputs: Names of the graph's outputs.

    Returns:
        The regions, and the seeds that are not in any well-formed region (to report).
    """
    producer = {o: n for n in nodes for o in n.output if o}
    consumers: dict[str, list[onnx.NodeProto]] = {}
    for n in nodes:
        for i in n.input:
            consumers.setdefault(i, []).append(n)

    def eligible(n: onnx.NodeProto) -> bool:
        if n.domain not in ("", "ai.onnx") or n.op_type not in ELEMENTWISE:
            return False
        consts = [i for i in n.input if i and i in const]
        return all(c in scalar for c in consts) and any(i and i not in const for i in n.input)

    regions: list[Region] = []
    bad: list[onnx.NodeProto] = []
    taken: set[int] = set()
    for seed in nodes:
        if id(seed) in taken or not _is_seed(seed, const) or not eligible(seed):
            if id(seed) not in taken and _is_seed(seed, const):
                bad.append(seed)
            continue
        # 1. upstream to the single tensor the region reads
        frontier: set[str] = set()
        ancestors: set[int] = {id(seed)}
        stack = [i for i in seed.input if i and i not in const]
        while stack:
            v = stack.pop()
            p = producer.get(v)
            if p is None or not eligible(p):
                frontier.add(v)
            elif id(p) not in ancestors:
                ancestors.add(id(p))
                stack.extend(i for i in p.input if i and i not in const)
        if len(frontier) != 1:
            bad.append(seed)
            continue
        x = next(iter(frontier))
        # 2. eligible closure from x, kept to ancestors and descendants of the seed
        inside: set[str] = {x}
        member: list[onnx.NodeProto] = []
        desc: set[str] = set(o for o in seed.output if o)
        for n in nodes:
            if not eligible(n) or not all(i in inside for i in n.input if i and i not in const):
                continue
            is_desc = n is seed or any(i in desc for i in n.input)
            if id(n) in ancestors or is_desc:
                member.append(n)
                inside.update(o for o in n.output if o)
                if is_desc:
                    desc.update(o for o in n.output if o)
        ids = {id(n) for n in member}
        escapes = [o for n in member for o in n.output if o and (
            o in graph_outputs or any(id(c) not in ids for c in consumers.get(o, [])))]
        if len(escapes) != 1 or ids & taken:
            bad.append(seed)
            continue
        taken |= ids
        regions.append(Region(tuple(member), x, escapes[0], seed))
    return regions, bad


def region_function(region: Region, constants: dict[str, np.ndarray],
                    opsets: list[onnx.OperatorSetIdProto]) -> Callable[[np.ndarray], np.ndarray]:
    """Build ``f(x) -> y`` evaluating the region on a 1-D float32 probe (onnx reference)."""
    used = {i for n in region.nodes for i in n.input if i and i in constants}
    inits = [onnx.numpy_helper.from_array(np.asarray(constants[c]).reshape(()), c) for c in used]
    graph = helper.make_graph(
        list(region.nodes), "region",
        [helper.make_tensor_value_info(region.x, onnx.TensorProto.FLOAT, None)],
        [helper.make_tensor_value_info(region.y, onnx.TensorProto.UNDEFINED, None)], inits)
    default = [o for o in opsets if o.domain in ("", "ai.onnx")]
    model = helper.make_model(graph, opset_imports=default)
    evaluator = ReferenceEvaluator(model)

    def f(probe: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            outs = list(evaluator.run(None, {region.x: np.asarray(probe, dtype=np.float32)}))
        return np.asarray(outs[0], dtype=np.float64).reshape(-1)

    return f
