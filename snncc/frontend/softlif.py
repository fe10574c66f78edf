"""The soft-LIF rate as the ONNX function ``snncc:SoftLIF``, and its recognition in loose ops.

Soft-LIF (Hunsberger & Eliasmith 2016) with the input ``x`` taken as ``j - 1``::

    p = gamma * softplus(x / gamma)
    y = amplitude / (tau_ref + tau_rc * log(1 + 1 / p))

In ONNX it is the model-local function ``SoftLIF`` of domain ``snncc`` with float attributes
tau_rc, tau_ref, gamma and amplitude; its body uses standard ops only, so any ONNX runtime runs
it, while snncc recognises it by domain and name. The body is stable in float32 from
``x / gamma = -1e4`` to ``+1e4`` and beyond (relative error ~1e-7 against the float64 reference
:func:`snncc.ir.softlif_rate`):

- ``log1p`` is not an ONNX op; it is Kahan's ``u = 1 + z; z if u == 1 else log(u) * z / (u - 1)``;
- ``softplus(y) = relu(y) + log1p(exp(-|y|))``;
- below ``y = -20``, where ``softplus(y) == exp(y)`` in float32 and ``exp`` would underflow, the
  asymptote ``log1p(1 / p) = -y - log(gamma)`` is selected with ``Where``. The rate there is not
  ~0: it decays only like ``1 / |y|``.

Example:
    >>> import onnx
    >>> g = onnx.helper.make_graph([], "g",
    ...     [onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [4])],
    ...     [onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [4])])
    >>> m = add_softlif(onnx.helper.make_model(g), "x", "y", gamma=0.02)
    >>> softlif_params(m.graph.node[0])["gamma"]
    0.02
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType

import numpy as np
import onnx
from onnx import helper

from snncc.errors import FrontendError
from snncc.ir import softlif_rate

__all__ = ["SOFTLIF_ATTRS", "SOFTLIF_DEFAULTS", "SOFTLIF_DOMAIN", "SOFTLIF_OP", "add_softlif",
           "fit_softlif", "softlif_function", "softlif_params"]

SOFTLIF_DOMAIN = "snncc"
SOFTLIF_OP = "SoftLIF"
SOFTLIF_ATTRS = ("tau_rc", "tau_ref", "gamma", "amplitude")
#: The MNIST/SVHN parameters of Hunsberger & Eliasmith (reference/papers.md §1).
SOFTLIF_DEFAULTS: Mapping[str, float] = MappingProxyType(
    {"tau_rc": 0.022, "tau_ref": 0.002, "gamma": 0.02, "amplitude": 0.063}
)
_DOMAIN_VERSION = 1
_CUT = -20.0  # x/gamma below which the very-negative asymptote is used


def softlif_function(opset: int = 17) -> onnx.FunctionProto:
    """The ONNX function ``snncc:SoftLIF(X) -> Y`` (see the module docstring for the body).

    Args:
        opset: Version of the default ONNX domain the body uses; must equal the model's. From
            15 on the body casts its constants to the input's type (float16/32/64 all work);
            below 15 it is float32 only.

    Returns:
        A FunctionProto whose attributes default to :data:`SOFTLIF_DEFAULTS`.

    Raises:
        ValueError: ``opset`` is below 13.
    """
    if opset < 13:
        raise ValueError(f"snncc:SoftLIF needs ONNX opset >= 13, got {opset}")
    nodes: list[onnx.NodeProto] = []

    def op(op_type: str, *inputs: str, out: str | None = None) -> str:
        out = out or f"_{len(nodes)}_{op_type.lower()}"
        nodes.append(helper.make_node(op_type, list(inputs), [out]))
        return out

    def const(value: float | str) -> str:
        if isinstance(value, str):  # a reference to the function's attribute of that name
            attr = onnx.AttributeProto(name="value_float", ref_attr_name=value,
                                       type=onnx.AttributeProto.FLOAT)
        else:
            attr = helper.make_attribute("value_float", float(value))
        node = helper.make_node("Constant", [], [f"_{len(nodes)}_c"])
        node.attribute.append(attr)
        nodes.append(node)
        # CastLike makes the body work for float16/float64 inputs too (opset >= 15).
        return op("CastLike", node.output[0], "X") if opset >= 15 else node.output[0]

    one, zero = const(1.0), const(0.0)

    def log1p(z: str) -> str:  # Kahan: exact where 1 + z rounds to 1, else log(u) * z / (u - 1)
        u = op("Add", one, z)
        d = op("Sub", u, one)
        tiny = op("Equal", d, zero)
        ratio = op("Div", z, op("Where", tiny, one, d))
        return op("Where", tiny, z, op("Mul", op("Log", u), ratio))

    tau_rc, tau_ref, gamma, amp = (const(a) for a in SOFTLIF_ATTRS)
    cut = const(_CUT)
    y = op("Div", "X", gamma)
    yc = op("Max", y, cut)  # the general branch never sees exp underflow
    e = op("Exp", op("Neg", op("Abs", yc)))
    p = op("Mul", gamma, op("Add", op("Relu", yc), log1p(e)))
    q_general = log1p(op("Reciprocal", p))
    q_asymptote = op("Sub", op("Neg", y), op("Log", gamma))
    q = op("Where", op("Less", y, cut), q_asymptote, q_general)
    op("Div", amp, op("Add", tau_ref, op("Mul", tau_rc, q)), out="Y")
    return helper.make_function(
        SOFTLIF_DOMAIN, SOFTLIF_OP, ["X"], ["Y"], nodes,
        [helper.make_opsetid("", opset)],
        attribute_protos=[helper.make_attribute(k, SOFTLIF_DEFAULTS[k]) for k in SOFTLIF_ATTRS],
        doc_string="Soft-LIF rate of x = j - 1 (Hunsberger & Eliasmith 2016); see snncc docs.",
    )


def _checked(params: Mapping[str, object], where: str, error: type[Exception]) -> dict[str, float]:
    """Defaults filled in; every value a positive finite float, every name known."""
    out = dict(SOFTLIF_DEFAULTS)
    for key, value in params.items():
        if key not in SOFTLIF_ATTRS:
            raise error(f"{where}: unknown attribute {key!r}; known: {', '.join(SOFTLIF_ATTRS)}")
        if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)):
            raise error(f"{where}: {key} must be a number, got {value!r}")
        if not (math.isfinite(value) and value > 0):
            raise error(f"{where}: {key} must be positive and finite, got {value}")
        out[key] = float(value)
    return out


def add_softlif(model: onnx.ModelProto, input_name: str, output_name: str, *,
                node_name: str | None = None, **params: float) -> onnx.ModelProto:
    """Append a ``snncc:SoftLIF`` node ``input_name -> output_name`` to ``model``'s graph.

    The model is changed in place (and returned): the node is appended to the graph, the function
    is added to ``model.functions`` if absent (raising the IR version to 8 if lower), and the
    ``snncc`` opset import (version 1) if absent.
    The node carries all four attributes (defaults: :data:`SOFTLIF_DEFAULTS`). The caller keeps the
    graph topologically sorted, e.g. by naming a graph output as ``output_name``.

    Args:
        model: The model to extend; its default-domain opset must be >= 13.
        input_name: The tensor to read.
        output_name: The tensor to produce.
        node_name: The new node's name (default: ``SoftLIF_<n>``, unique in the graph).
        **params: tau_rc, tau_ref, gamma, amplitude.

    Returns:
        ``model`` itself.

    Raises:
        ValueError: Unknown, non-positive or non-finite parameter, or an opset below 13.
    """
    name = node_name
    if name is None:
        taken = {n.name for n in model.graph.node}
        name = next(f"SoftLIF_{i}" for i in range(len(taken) + 1) if f"SoftLIF_{i}" not in taken)
    values = _checked(params, f"node {name!r} ({SOFTLIF_DOMAIN}:{SOFTLIF_OP})", ValueError)
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), None)
    if opset is None:
        raise ValueError("model has no opset import for the default ONNX domain")
    if not any(f.domain == SOFTLIF_DOMAIN and f.name == SOFTLIF_OP for f in model.functions):
        model.functions.append(softlif_function(opset))
        model.ir_version = max(model.ir_version, 8)  # model-local functions need IR >= 8
    if not any(o.domain == SOFTLIF_DOMAIN for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid(SOFTLIF_DOMAIN, _DOMAIN_VERSION))
    node = helper.make_node(SOFTLIF_OP, [input_name], [output_name], name=name,
                            domain=SOFTLIF_DOMAIN)
    node.attribute.extend(helper.make_attribute(k, v) for k, v in values.items())
    model.graph.node.append(node)
    return model


def softlif_params(node: onnx.NodeProto) -> dict[str, float]:
    """The parameters of a ``snncc:SoftLIF`` node, with defaults for missing attributes.

    Raises:
        FrontendError: An unknown attribute, or a value that is not a positive finite number;
            the message names the node, e.g. ``node 'act1' (snncc:SoftLIF): gamma must be ...``.
    """
    where = f"node {node.name!r} ({node.domain}:{node.op_type})"
    values: dict[str, object] = {}
    for attr in node.attribute:
        if attr.ref_attr_name:
            raise FrontendError(f"{where}: attribute {attr.name!r} refers to an outer attribute")
        value = helper.get_attribute_value(attr)
        if attr.type == onnx.AttributeProto.FLOAT:  # float32: its shortest decimal (0.02, not
            value = float(str(np.float32(value)))  # 0.019999999552965164)
        values[attr.name] = value
    return _checked(values, where, FrontendError)


# --- recognising soft-LIF in a chain of loose ops -------------------------------------------

_WINDOW = (-6.0, 80.0)  # probe x/gamma here: float32 chains are accurate, the curve conditioned
_RTOL = 1e-4  # accept a fit if it matches f this closely (relative) on the probe grid
_STEPS = 12  # gamma grid points per decade in the grid search
_MATCH = 1e-3  # a literal constant "is" a fitted parameter within this relative distance


def _inv_q(x: np.ndarray, gamma: float) -> np.ndarray:
    """``1 / log1p(1/p)``, the rate with tau_rc = amplitude = 1, tau_ref = 0."""
    return softlif_rate(x, 1.0, 0.0, gamma, 1.0)


def _call(f: Callable[[np.ndarray], np.ndarray], x: np.ndarray) -> np.ndarray | None:
    """``f`` on float32 ``x`` as float64, or None if it does not return one value per input."""
    with np.errstate(all="ignore"):  # probing the extremes may overflow inside f, harmlessly
        y = np.asarray(f(x.astype(np.float32)), dtype=np.float64)
    return y.reshape(x.shape) if y.size == x.size else None


def _probe(f: Callable[[np.ndarray], np.ndarray], x: np.ndarray) -> np.ndarray | None:
    """``f`` at ``x`` if every value is finite and positive (as a rate must be), else None."""
    y = _call(f, x)
    return y if y is not None and bool(np.all(np.isfinite(y) & (y > 0))) else None


def _fit_ab(x: np.ndarray, fx: np.ndarray, gamma: float) -> tuple[float, float, float, float]:
    """Least squares ``f * (a + b*q) = 1``: a, b and the relative error's maximum and RMS."""
    design = np.stack([fx, fx / _inv_q(x, gamma)], axis=1)
    (a, b), *_ = np.linalg.lstsq(design, np.ones_like(fx), rcond=None)
    err = design @ (a, b) - 1.0
    return float(a), float(b), float(np.max(np.abs(err))), float(np.sqrt(np.mean(err**2)))


def _max_err(f: Callable[[np.ndarray], np.ndarray], p: Mapping[str, float]) -> float:
    y = np.concatenate([np.linspace(-6.0, 6.0, 241), np.geomspace(6.0, _WINDOW[1], 60)[1:]])
    x = (y * p["gamma"]).astype(np.float32).astype(np.float64)
    fx = _probe(f, x)
    if fx is None:
        return math.inf
    ref = softlif_rate(x, p["tau_rc"], p["tau_ref"], p["gamma"], p["amplitude"])
    return float(np.max(np.abs(fx - ref) / ref))


def _snap(value: float, pool: np.ndarray) -> tuple[float, bool]:
    """The literal in ``pool`` nearest to ``value`` if within _MATCH, as its shortest decimal."""
    if pool.size:
        best = pool[np.argmin(np.abs(pool / value - 1.0))]
        if abs(best / value - 1.0) <= _MATCH:
            return float(str(np.float32(best))), True
    return value, False


def fit_softlif(f: Callable[[np.ndarray], np.ndarray],
                constants: Sequence[float]) -> dict[str, float] | None:
    """Recognise a soft-LIF curve computed by an elementwise chain of loose ONNX ops.

    The curve fixes gamma and the ratios ``tau_ref/amplitude`` and ``tau_rc/amplitude`` only
    (scaling all three by k gives the same curve). Fit: a grid search on gamma, then a bounded 1-D
    refinement, with ``1/r = a + b*log1p(1/p)`` solved by linear least squares for each gamma.
    The scale is then pinned by the chain's literal constants: the amplitude is chosen so that
    most of {amplitude, tau_ref, tau_rc} equal a literal, at least two (ties: the amplitude nearest
    to 0.063 on a log scale). Otherwise amplitude = 0.063, the value of every published parameter
    set. Gamma, and each parameter, is snapped to a literal equal to it (gamma also to an inverse,
    for ``x * (1/gamma)``); other values are rounded to 6 significant digits. The chain must take
    ``x = j - 1`` directly (an input gain must be folded into the previous layer).

    The curve is probed only where ``x/gamma`` is in [-6, 80]: there a float32 chain, even one
    written naively (``log(1 + exp(y))``), is accurate to better than 1e-5, so a correct chain is
    not rejected for float32 rounding; and there the curve's shape pins all three quantities.

    Args:
        f: Evaluates the chain on a float32 1-D array, elementwise.
        constants: The scalar literals of the chain (signs and order are ignored).

    Returns:
        The parameters (keys :data:`SOFTLIF_ATTRS`) if ``f`` matches the soft-LIF curve within
        1e-4 relative on a dense grid of ``x/gamma`` in [-6, 80], else None.
    """
    from scipy.optimize import minimize_scalar

    lits = np.abs(np.asarray([c for c in constants if math.isfinite(c) and c != 0], float))
    # 1. Grid search: for each candidate gamma, fit where x/gamma lies in the window.
    side = np.geomspace(1e-7, 1e4, 1200)
    x1 = np.concatenate([-side[::-1], [0.0], side]).astype(np.float32).astype(np.float64)
    f1 = _call(f, x1)
    if f1 is None:
        return None
    best: tuple[float, float] = (math.inf, math.nan)
    for gamma in np.geomspace(1e-5, 1e2, _STEPS * 7 + 1):
        sel = (x1 >= _WINDOW[0] * gamma) & (x1 <= _WINDOW[1] * gamma)
        if np.count_nonzero(sel) < 30 or not np.all(np.isfinite(f1[sel]) & (f1[sel] > 0)):
            continue
        spread = math.log(float(f1[sel].max() / f1[sel].min()))  # a flat stretch fits anything:
        if spread > 1e-2:  # score the error against how much the curve varies in the window
            best = min(best, (_fit_ab(x1[sel], f1[sel], gamma)[2] / spread, float(gamma)))
    if not best[0] < 0.5:  # nothing soft-LIF-like anywhere; step 4 is the real test
        return None
    # 2. Refine gamma on a dense grid fixed around the grid-search estimate.
    g0 = best[1]
    x2 = (g0 * np.concatenate([np.linspace(-5.0, 5.0, 201), np.geomspace(5.0, 60.0, 60)[1:]]))
    x2 = x2.astype(np.float32).astype(np.float64)
    f2 = _probe(f, x2)
    if f2 is None:
        return None
    step = math.log(10.0) / _STEPS
    res = minimize_scalar(lambda lg: _fit_ab(x2, f2, math.exp(lg))[3], method="bounded",
                          bounds=(math.log(g0) - step, math.log(g0) + step),
                          options={"xatol": 1e-10})
    gamma, _ = _snap(math.exp(float(res.x)), np.concatenate([lits, 1.0 / lits]))
    a, b, *_ = _fit_ab(x2, f2, gamma)
    if not (a > 0 and b > 0):
        return None
    # 3. Pin the scale: the amplitude under which most of {amplitude, tau_ref, tau_rc} are
    #    literals, at least two so that one coincidence cannot decide; ties: nearest to 0.063.
    default = SOFTLIF_DEFAULTS["amplitude"]

    def rank(amp: float) -> tuple[int, float]:
        hits = sum(_snap(v, lits)[1] for v in (amp, a * amp, b * amp))
        return hits, -abs(math.log(amp / default))

    amp = max({float(c * k) for c in lits for k in (1.0, 1.0 / a, 1.0 / b)}, key=rank,
              default=default)
    if rank(amp)[0] < 2:
        amp = default
    # 4. Check: the literals (or the fit rounded to 6 digits, or the raw fit) against f.
    fitted = {"tau_rc": b * amp, "tau_ref": a * amp, "gamma": gamma, "amplitude": amp}
    tidy = {}
    for key, value in fitted.items():
        value, hit = _snap(value, lits)
        tidy[key] = value if hit else float(f"{value:.6g}")
    for params in (tidy, fitted):
        if _max_err(f, params) <= _RTOL:
            return params
    return None
