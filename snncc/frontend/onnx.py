"""ONNX import: a model file becomes a verified LayerGraph, or a FrontendError naming the place.

Steps: parse safely (``_load``), check the graph's structure (empty, undefined inputs, cycles),
inline model-local functions other than ``snncc:SoftLIF``, find soft-LIF curves written as loose
ops (``_patterns``), walk the nodes in topological order emitting layers (``_ops``), then fold
BatchNorm/bias/normalisation layers into their neighbours (``_fold``).
"""

from __future__ import annotations

import os
import warnings
from collections import deque
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto

from snncc.errors import FrontendError
from snncc.frontend import _patterns, softlif
from snncc.frontend._fold import fold_affines
from snncc.frontend._load import (
    DEFAULT_MAX_TENSOR_BYTES,
    DEFAULT_MAX_TOTAL_BYTES,
    Limits,
    check_sizes,
    read_model,
    tensor_to_array,
)
from snncc.frontend._ops import SUPPORTED_OPS, Importer, Val, node_label
from snncc.ir import LayerGraph
from snncc.ir import layers as L

__all__ = ["MIN_OPSET", "SUPPORTED_OPS", "TESTED_MAX_OPSET", "load_onnx"]

MIN_OPSET = 11
TESTED_MAX_OPSET = 21
_FLOAT_TYPES = {TensorProto.FLOAT, TensorProto.DOUBLE, TensorProto.FLOAT16, TensorProto.BFLOAT16}


def load_onnx(model: str | os.PathLike[str] | bytes | onnx.ModelProto, *,
              max_tensor_bytes: int = DEFAULT_MAX_TENSOR_BYTES,
              max_total_bytes: int = DEFAULT_MAX_TOTAL_BYTES) -> LayerGraph:
    """Import an ONNX model into a LayerGraph.

    Args:
        model: Path to a ``.onnx`` file (external data is read from its folder), the file's
            bytes, or a loaded ``onnx.ModelProto``.
        max_tensor_bytes: Refuse any tensor declaring more bytes than this, before allocating.
        max_total_bytes: Refuse models whose tensors (or file) exceed this in all.

    Returns:
        The verified LayerGraph; ``graph.run(x)`` is the reference interpreter.

    Raises:
        FrontendError: The file is missing or malformed, or an op, attribute or weight is not
            supported; the message names the ONNX node and op.

    Example:
        >>> import snncc
        >>> from snncc.examples import example_path
        >>> g = snncc.load_onnx(example_path())
        >>> g.inputs[0].shape
        (1, 8, 8)
    """
    limits = Limits(max_tensor_bytes, max_total_bytes)
    proto, folder, label = read_model(model, limits)
    try:
        return _import(proto, folder, label, limits)
    except FrontendError as exc:
        msg = str(exc)
        raise FrontendError(msg if msg.startswith(label) else f"{label}: {msg}") from None
    except RecursionError:
        raise FrontendError(f"{label}: model is nested too deeply to import") from None


def _opset(model: onnx.ModelProto) -> int:
    versions = [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")]
    if not versions:
        raise FrontendError("model imports no version of the default ONNX opset")
    v = int(versions[0])
    if v < MIN_OPSET:
        raise FrontendError(f"opset {v} is older than the supported {MIN_OPSET}-"
                            f"{TESTED_MAX_OPSET}; upgrade it with onnx.version_converter")
    if v > onnx.defs.onnx_opset_version():
        raise FrontendError(f"opset {v} is newer than this onnx package knows "
                            f"({onnx.defs.onnx_opset_version()})")
    if v > TESTED_MAX_OPSET:
        warnings.warn(f"opset {v} is newer than the tested {MIN_OPSET}-{TESTED_MAX_OPSET}",
                      stacklevel=3)
    return v


def _inline_functions(model: onnx.ModelProto) -> onnx.ModelProto:
    others = [(f.domain, f.name) for f in model.functions
              if (f.domain, f.name) != (softlif.SOFTLIF_DOMAIN, softlif.SOFTLIF_OP)]
    if not others:
        return model
    try:
        from onnx import inliner
        return inliner.inline_selected_functions(model, others, exclude=False)
    except Exception as exc:  # the C++ inliner raises plain exceptions on malformed functions
        raise FrontendError(f"cannot inline model-local functions {others}: "
                            f"{str(exc).splitlines()[0][:160] if str(exc) else exc!r}") from None


def _toposort(nodes: list[onnx.NodeProto], defined: set[str]) -> list[onnx.NodeProto]:
    """Kahn's algorithm; raises on undefined inputs, duplicate outputs and cycles."""
    producer: dict[str, int] = {}
    for k, n in enumerate(nodes):
        for o in n.output:
            if not o:
                continue
            if o in producer or o in defined:
                raise FrontendError(f"node {node_label(n, k)!r} ({n.op_type}): output {o!r} is "
                                    "already defined by another node, initializer or input")
            producer[o] = k
    indeg = [0] * len(nodes)
    users: dict[int, list[int]] = {}
    for k, n in enumerate(nodes):
        for i in n.input:
            if not i or i in defined:
                continue
            if i not in producer:
                raise FrontendError(
                    f"node {node_label(n, k)!r} ({n.op_type}): input {i!r} is not produced by any "
                    "node, initializer or graph input (missing initializer?)")
            indeg[k] += 1
            users.setdefault(producer[i], []).append(k)
    queue = deque(k for k in range(len(nodes)) if indeg[k] == 0)
    order = []
    while queue:
        k = queue.popleft()
        order.append(k)
        for u in users.get(k, []):
            indeg[u] -= 1
            if indeg[u] == 0:
                queue.append(u)
    if len(order) != len(nodes):
        stuck = [node_label(nodes[k], k) for k in range(len(nodes)) if indeg[k] > 0]
        raise FrontendError(f"the graph has a cycle through nodes {stuck[:6]}"
                            f"{' ...' if len(stuck) > 6 else ''}")
    return [nodes[k] for k in order]


def _input_shape(vi: onnx.ValueInfoProto) -> tuple[int, ...]:
    t = vi.type.tensor_type
    if not vi.type.HasField("tensor_type") or t.elem_type not in _FLOAT_TYPES:
        raise FrontendError(f"input {vi.name!r} must be a float tensor")
    if not t.HasField("shape") or len(t.shape.dim) < 2:
        raise FrontendError(f"input {vi.name!r} must have a known shape (batch, ...) of rank >= 2")
    dims = []
    for d in t.shape.dim[1:]:
        if not d.HasField("dim_value") or d.dim_value <= 0:
            raise FrontendError(f"input {vi.name!r} has an unknown dimension "
                                f"{d.dim_param or '?'!r} beyond the batch; snncc needs fixed "
                                "sizes (re-export with a fixed input shape)")
        dims.append(int(d.dim_value))
    return tuple(dims)


def _check_arity(nodes: list[onnx.NodeProto], opset: int) -> None:
    """Input/output counts and required attributes against the ONNX schema of each node."""
    for k, n in enumerate(nodes):
        if n.domain not in ("", "ai.onnx"):
            continue
        try:
            schema = onnx.defs.get_schema(n.op_type, opset, "")
        except (onnx.defs.SchemaError, TypeError):
            continue  # not an ONNX op: reported as unsupported when reached
        where = f"node {node_label(n, k)!r} ({n.op_type})"
        if not schema.min_input <= len(n.input) <= schema.max_input:
            raise FrontendError(f"{where}: has {len(n.input)} inputs; opset {opset} allows "
                                f"{schema.min_input}..{schema.max_input}")
        if not schema.min_output <= len(n.output) <= schema.max_output or not n.output[0]:
            raise FrontendError(f"{where}: has {len(n.output)} outputs; opset {opset} allows "
                                f"{schema.min_output}..{schema.max_output}")
        names = {a.name for a in n.attribute}
        for a in schema.attributes.values():
            if a.required and a.name not in names:
                raise FrontendError(f"{where}: required attribute {a.name!r} is missing")


def _constness(nodes: list[onnx.NodeProto], const: set[str]) -> set[str]:
    """Names of values computable from constants alone (Shape of a tensor is constant too)."""
    const = set(const)
    for n in nodes:
        live = [i for i in n.input if i and i not in const]
        if n.domain in ("", "ai.onnx") and (not live or n.op_type in ("Shape", "Size") or (
                n.op_type == "CastLike" and n.input[0] in const)):
            const.update(o for o in n.output if o)
    return const


def _import(model: onnx.ModelProto, folder: Path | None, label: str,
            limits: Limits) -> LayerGraph:
    g = model.graph
    if not g.node:
        raise FrontendError("the graph is empty (no nodes)")
    if not g.output:
        raise FrontendError("the graph declares no outputs")
    opset = _opset(model)
    tensors = [(f"initializer {t.name!r}", t) for t in g.initializer]
    tensors += [(f"node {n.name or n.op_type!r} attribute {a.name!r}", a.t)
                for n in g.node for a in n.attribute if a.type == onnx.AttributeProto.TENSOR]
    check_sizes(tensors, limits, label)
    if any(a.type == onnx.AttributeProto.GRAPH or a.type == onnx.AttributeProto.GRAPHS
           for n in g.node for a in n.attribute):
        bad = next(n for n in g.node for a in n.attribute if a.type in (5, 10))
        raise FrontendError(f"node {bad.name or bad.op_type!r} ({bad.op_type}): control flow "
                            "with subgraphs is not supported")
    model = _inline_functions(model)
    g = model.graph

    imp = Importer(list(model.opset_import), opset, limits.max_tensor_bytes)
    inits = {t.name for t in g.initializer}
    for t in g.initializer:
        imp.values[t.name] = tensor_to_array(t, folder, f"initializer {t.name!r}", label)
    inputs = [vi for vi in g.input if vi.name not in inits]
    if not inputs:
        raise FrontendError("the graph has no (non-initializer) input")
    for vi in inputs:
        shape = _input_shape(vi)
        layer = L.Input(name=imp.unique(vi.name), shape=shape, onnx_nodes=(vi.name,))
        imp.layers.append(layer)
        imp.values[vi.name] = Val(layer.name, shape)
    imp.graph_outputs = {o.name for o in g.output}

    nodes = _toposort(list(g.node), set(imp.values))
    _check_arity(nodes, opset)
    const = _constness(nodes, inits)
    scalar = {t.name for t in g.initializer if int(np.prod(t.dims)) == 1}
    scalar |= {n.output[0] for n in nodes if n.op_type == "Constant" and n.output and any(
        a.type == onnx.AttributeProto.FLOAT or a.type == onnx.AttributeProto.INT
        or (a.type == onnx.AttributeProto.TENSOR and int(np.prod(a.t.dims)) == 1)
        for a in n.attribute)}
    for n in nodes:  # elementwise ops of scalars (and casts, e.g. CastLike) give scalars
        if n.op_type in ("Cast", "CastLike", "Identity") and n.input and n.input[0] in scalar:
            scalar.add(n.output[0])
        elif n.op_type in _patterns.ELEMENTWISE and n.input and all(
                i in scalar for i in n.input if i):
            scalar.update(o for o in n.output if o)
    regions, _unmatched = _patterns.find_regions(nodes, const, scalar, imp.graph_outputs)
    last_of = {id(r.nodes[-1]): r for r in regions}
    in_region = {id(n) for r in regions for n in r.nodes}
    consumers: dict[str, int] = {}
    for n in nodes:
        for i in n.input:
            consumers[i] = consumers.get(i, 0) + 1
    index = {id(n): k for k, n in enumerate(g.node)}

    for node in nodes:
        imp.node, imp.label = node, node_label(node, index[id(node)])
        if id(node) in in_region:
            if id(node) in last_of:
                _region(imp, last_of[id(node)], model)
            continue
        for i in node.input:
            if i and i not in imp.values:
                raise imp.err(f"input {i!r} is not defined")
        _dispatch(imp, node, consumers)

    imp.node = None
    for o in g.output:
        v = imp.values.get(o.name)
        if not isinstance(v, Val):
            raise FrontendError(f"output {o.name!r} is a constant, not computed from the input")
        imp.layers.append(L.Output(name=imp.unique(o.name), inputs=(v.layer,), shape=v.shape,
                                   decoding=imp.decodings.get(o.name, "none"),
                                   onnx_nodes=(o.name,)))
    layers = fold_affines(imp.layers)
    meta = {"opset": opset, "producer": f"{model.producer_name} {model.producer_version}".strip(),
            "source": label}
    return LayerGraph(tuple(layers), name=g.name, metadata=meta)


def _dispatch(imp: Importer, node: onnx.NodeProto, consumers: dict[str, int]) -> None:
    if node.domain == softlif.SOFTLIF_DOMAIN and node.op_type == softlif.SOFTLIF_OP:
        imp.activation(node, "softlif", softlif.softlif_params(node))
        return
    if node.domain not in ("", "ai.onnx"):
        raise imp.err(f"op {node.op_type!r} of domain {node.domain!r} is not supported; "
                      f"supported ops: {', '.join(SUPPORTED_OPS)}")
    ins = [i for i in node.input if i]
    if node.op_type == "CastLike" and len(ins) == 2:
        c, like = imp.get(node.input[0]), imp.get(node.input[1])
        if not isinstance(c, Val):  # a constant cast to the type of a computed (float32) tensor
            dtype = np.float32 if isinstance(like, Val) else like.dtype
            imp.values[node.output[0]] = np.asarray(c).astype(dtype)
            return
    if node.op_type == "Shape":
        x = imp.get(node.input[0])
        full = np.array((1, *x.shape) if isinstance(x, Val) else np.shape(x), dtype=np.int64)
        a = imp.attrs(node)
        start, end = a.get("start", 0), a.get("end", len(full))
        if not isinstance(start, int) or not isinstance(end, int):
            raise imp.err("start and end must be integers")
        imp.values[node.output[0]] = full[start:end]
        return
    if all(not isinstance(imp.values[i], Val) for i in ins):
        imp.fold(node)
        return
    handler = imp.handlers.get(node.op_type)
    if handler is None:
        raise imp.err(f"op {node.op_type!r} of domain 'ai.onnx' is not supported; supported "
                      f"ops: {', '.join(SUPPORTED_OPS)}")
    imp.only_first_output(node, consumers)
    handler(node)


def _region(imp: Importer, region: _patterns.Region, model: onnx.ModelProto) -> None:
    """Replace an elementwise region by the activation it computes, or fail naming it."""
    consts = {i: v for n in region.nodes for i in n.input
              if i and isinstance(v := imp.values.get(i), np.ndarray)}
    f = _patterns.region_function(region, consts, list(model.opset_import))
    scalars = [float(np.asarray(v).reshape(-1)[0]) for v in consts.values()]
    x = imp.get(region.x)
    names = [n.name or n.op_type for n in region.nodes]
    if not isinstance(x, Val):
        raise imp.err(f"elementwise ops {names} read a constant")
    params = softlif.fit_softlif(f, scalars)
    if params is None:
        raise imp.err(f"elementwise ops {names} from {region.x!r} to {region.y!r} compute a "
                      "function that is neither ReLU nor soft-LIF; not supported")
    layer = L.Activation(name=imp.unique(imp.label), inputs=(x.layer,), shape=x.shape,
                         onnx_nodes=tuple(names), kind="softlif", params=params)
    imp.layers.append(layer)
    imp.values[region.y] = Val(layer.name, x.shape)
