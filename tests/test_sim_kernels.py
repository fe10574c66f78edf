"""Float32 projection kernels against the float64 reference ops, and fan-out counting."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from snncc.convert.net import ChannelEmbed, Projection
from snncc.ir import layers as L
from snncc.ir._interp import LAYER_FUNCTIONS
from snncc.sim._fanout import fanout
from snncc.sim._kernels import compile_op, gate_maxpool2d, pool_geometry

FAST = settings(max_examples=40, deadline=None)


def _check(layer: L.Layer, in_shape: tuple[int, ...], seed: int, mode: str = "filtered",
           ref: L.Layer | None = None) -> None:
    x = np.random.default_rng(seed).normal(size=(3, *in_shape))
    want = LAYER_FUNCTIONS[type(ref or layer)](ref or layer, [x])
    got = compile_op(layer, in_shape, mode).fn(x.astype(np.float32))
    assert got.dtype == np.float32 and got.shape == want.shape
    scale = max(1.0, float(np.abs(want).max()))
    np.testing.assert_allclose(got, want, atol=2e-5 * scale, rtol=1e-4)


def _out(size: int, k: int, s: int, p0: int, p1: int, d: int = 1, ceil: bool = False) -> int:
    return L.pool_output_size(size, k, s, p0, p1, d, ceil)


@st.composite
def conv_case(draw: st.DrawFn) -> tuple[L.Conv2d, tuple[int, ...], int]:
    groups = draw(st.integers(1, 3))
    cin, cout = groups * draw(st.integers(1, 3)), groups * draw(st.integers(1, 3))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    sh, sw, dh, dw = (draw(st.integers(1, 3)) for _ in range(4))
    pad = tuple(draw(st.integers(0, 2)) for _ in range(4))
    h = draw(st.integers(dh * (kh - 1) + 1, 12))
    w = draw(st.integers(dw * (kw - 1) + 1, 12))
    ho, wo = _out(h, kh, sh, pad[0], pad[2], dh), _out(w, kw, sw, pad[1], pad[3], dw)
    seed = draw(st.integers(0, 2**16))
    weight = np.random.default_rng(seed).normal(size=(cout, cin // groups, kh, kw))
    bias = np.random.default_rng(seed + 1).normal(size=cout) if draw(st.booleans()) else None
    layer = L.Conv2d(name="c", inputs=("x",), shape=(cout, ho, wo), weight=weight, bias=bias,
                     stride=(sh, sw), padding=pad, dilation=(dh, dw),  # type: ignore[arg-type]
                     groups=groups)
    return layer, (cin, h, w), seed


@FAST
@given(conv_case())
def test_conv2d_matches_reference(case: tuple[L.Conv2d, tuple[int, ...], int]) -> None:
    _check(*case)


@st.composite
def pool_case(draw: st.DrawFn) -> tuple[tuple[int, ...], dict, int]:
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    pad = (draw(st.integers(0, kh // 2)), draw(st.integers(0, kw // 2)),
           draw(st.integers(0, kh // 2)), draw(st.integers(0, kw // 2)))
    ceil = draw(st.booleans())
    h, w = draw(st.integers(kh, 11)), draw(st.integers(kw, 11))
    c = draw(st.integers(1, 3))
    shape = (c, _out(h, kh, sh, pad[0], pad[2], 1, ceil), _out(w, kw, sw, pad[1], pad[3], 1, ceil))
    args = dict(name="p", inputs=("x",), shape=shape, kernel=(kh, kw), stride=(sh, sw),
                padding=pad, ceil_mode=ceil)
    return (c, h, w), args, draw(st.integers(0, 2**16))


@FAST
@given(pool_case(), st.booleans())
def test_avgpool_matches_reference(case: tuple, include_pad: bool) -> None:
    in_shape, args, seed = case
    _check(L.AvgPool2d(count_include_pad=include_pad, **args), in_shape, seed)


@FAST
@given(pool_case(), st.integers(1, 2))
def test_maxpool_filtered_and_avg_modes_match_reference(case: tuple, dil: int) -> None:
    in_shape, args, seed = case
    if dil == 1:  # "avg" mode is AvgPool2d with padding not counted (no dilation there)
        _check(L.MaxPool2d(**args), in_shape, seed, "avg", ref=L.AvgPool2d(**args))
    kh, kw = args["kernel"]
    if in_shape[1] < dil * (kh - 1) + 1 or in_shape[2] < dil * (kw - 1) + 1:
        return
    p, s = args["padding"], args["stride"]
    shape = (in_shape[0], _out(in_shape[1], kh, s[0], p[0], p[2], dil, args["ceil_mode"]),
             _out(in_shape[2], kw, s[1], p[1], p[3], dil, args["ceil_mode"]))
    _check(L.MaxPool2d(dilation=(dil, dil), **{**args, "shape": shape}), in_shape, seed)


@FAST
@given(pool_case())
def test_gate_maxpool_with_the_signal_as_key_is_the_max(case: tuple) -> None:
    in_shape, args, seed = case
    layer = L.MaxPool2d(**args)
    x = np.random.default_rng(seed).normal(size=(2, *in_shape)).astype(np.float32)
    got = compile_op(layer, in_shape, "gate").fn(x, x)
    np.testing.assert_array_equal(got, LAYER_FUNCTIONS[L.MaxPool2d](layer, [x]))


def test_gate_maxpool_passes_the_most_active_input_ties_to_first() -> None:
    layer = L.MaxPool2d(name="m", inputs=("x",), shape=(1, 1, 2), kernel=(2, 2), stride=(2, 2))
    g = pool_geometry(layer, (1, 2, 4))
    x = np.array([[[[1.0, 2.0, 5.0, 6.0], [3.0, 4.0, 7.0, 8.0]]]], np.float32)
    key = np.array([[[[0, 9, 1, 1], [9, 2, 1, 1]]]], np.int32)  # window 0: tie 9/9 -> first
    np.testing.assert_array_equal(gate_maxpool2d(x, key, g), [[[[2.0, 5.0]]]])


def test_gate_padding_never_wins() -> None:
    layer = L.MaxPool2d(name="m", inputs=("x",), shape=(1, 2, 2), kernel=(2, 2), stride=(2, 2),
                        padding=(1, 1, 1, 1))
    x = -np.ones((1, 1, 2, 2), np.float32) * np.arange(1, 5, dtype=np.float32).reshape(2, 2)
    out = gate_maxpool2d(x, -np.ones_like(x), pool_geometry(layer, (1, 2, 2)))
    np.testing.assert_array_equal(out, x)


@FAST
@given(st.integers(1, 40), st.integers(1, 30), st.booleans(), st.integers(0, 2**16))
def test_dense_matches_reference(n_in: int, n_out: int, bias: bool, seed: int) -> None:
    rng = np.random.default_rng(seed)
    layer = L.Dense(name="d", inputs=("x",), shape=(n_out,), weight=rng.normal(size=(n_out, n_in)),
                    bias=rng.normal(size=n_out) if bias else None)
    _check(layer, (n_in,), seed)


@pytest.mark.parametrize("shape", [(4,), (4, 3, 2)])
@pytest.mark.parametrize("per_channel", [True, False])
def test_channel_affine_and_reshape_match_reference(shape: tuple[int, ...],
                                                    per_channel: bool) -> None:
    rng = np.random.default_rng(0)
    k = shape[0] if per_channel else 1
    for shift in (np.zeros(k), rng.normal(size=k)):
        _check(L.ChannelAffine(name="a", inputs=("x",), shape=shape, scale=rng.normal(size=k),
                               shift=shift), shape, 1)
    _check(L.Reshape(name="r", inputs=("x",), shape=(math.prod(shape),)), shape, 2)


def test_channel_embed_places_channels_at_offset() -> None:
    layer = ChannelEmbed(name="e", inputs=("x",), shape=(6, 2, 2), offset=3)
    x = np.random.default_rng(0).normal(size=(2, 2, 2, 2)).astype(np.float32)
    out = compile_op(layer, (2, 2, 2)).fn(x)
    assert out.shape == (2, 6, 2, 2)
    np.testing.assert_array_equal(out[:, 3:5], x)
    assert not out[:, :3].any() and not out[:, 5:].any()


def test_unknown_op_is_refused() -> None:
    from snncc.errors import SimulationError
    with pytest.raises(SimulationError, match="op Add cannot run in a projection"):
        compile_op(L.Add(name="s", inputs=("a", "b"), shape=(2,)), (2,))


# ---- fan-out ----------------------------------------------------------------------------------

def _brute_fanout(ops: tuple[L.Layer, ...], pre_shape: tuple[int, ...]) -> np.ndarray:
    """Row non-zeros of the composed structural matrix, with every weight set to 1."""
    n = math.prod(pre_shape)
    x = np.eye(n).reshape(n, *pre_shape)
    for op in ops:
        if isinstance(op, ChannelEmbed):
            out = np.zeros((n, *op.shape))
            out[:, op.offset:op.offset + x.shape[1]] = x
            x = out
            continue
        if isinstance(op, L.Conv2d | L.Dense):
            op = dataclasses.replace(op, weight=np.ones_like(op.weight), bias=None)
        x = LAYER_FUNCTIONS[type(op)](op, [x])
    return (x.reshape(n, -1) > 0).sum(axis=1)


def _proj(ops: tuple[L.Layer, ...], pre_shape: tuple[int, ...]) -> Projection:
    return Projection(name="p", pre="a", post="b", ops=ops, pre_shape=pre_shape,
                      post_shape=ops[-1].shape)


def _refit(conv: L.Conv2d, in_shape: tuple[int, ...]) -> L.Conv2d | None:
    """``conv`` with its output shape recomputed for ``in_shape`` (None if it does not fit)."""
    (kh, kw), (sh, sw), (dh, dw), p = conv.kernel, conv.stride, conv.dilation, conv.padding
    ho = _out(in_shape[1], kh, sh, p[0], p[2], dh)
    wo = _out(in_shape[2], kw, sw, p[1], p[3], dw)
    if ho < 1 or wo < 1:
        return None
    return dataclasses.replace(conv, shape=(conv.shape[0], ho, wo))


@FAST
@given(conv_case(), st.integers(1, 3), st.integers(1, 3),
       st.sampled_from(["none", "embed", "flat"]))
def test_fanout_of_pool_conv_chains_equals_brute_force(case: tuple, pk: int, ps: int,
                                                      tail: str) -> None:
    conv, pre_shape, _ = case
    c, h, w = pre_shape
    ops: list[L.Layer] = []
    shape = pre_shape
    if 1 < pk <= min(h, w):  # a pool first, overlapping when ps < pk
        shape = (c, _out(h, pk, ps, 0, 0), _out(w, pk, ps, 0, 0))
        ops.append(L.AvgPool2d(name="q", inputs=("a",), shape=shape, kernel=(pk, pk),
                               stride=(ps, ps)))
    fitted = _refit(conv, shape)
    if fitted is None:
        return
    ops.append(fitted)
    out = fitted.shape
    if tail == "embed":
        ops.append(ChannelEmbed(name="e", inputs=("c",), shape=(out[0] + 2, *out[1:]), offset=1))
    elif tail == "flat":
        ops.append(L.Reshape(name="f", inputs=("c",), shape=(math.prod(out),)))
        ops.append(L.Dense(name="d", inputs=("f",), shape=(3,),
                           weight=np.ones((3, math.prod(out)))))
    np.testing.assert_array_equal(fanout(_proj(tuple(ops), pre_shape)),
                                  _brute_fanout(tuple(ops), pre_shape))


def test_fanout_hand_counted() -> None:
    # avgpool 2/2 then conv 3x3 (valid) with 2 outputs on 1x6x6: pool 3x3, conv 1x1
    ops = (L.AvgPool2d(name="q", inputs=("a",), shape=(1, 3, 3), kernel=(2, 2), stride=(2, 2)),
           L.Conv2d(name="c", inputs=("q",), shape=(2, 1, 1), weight=np.ones((2, 1, 3, 3))))
    np.testing.assert_array_equal(fanout(_proj(ops, (1, 6, 6))), np.full(36, 2))
    dense = (L.Dense(name="d", inputs=("a",), shape=(3,), weight=np.ones((3, 2))),)
    np.testing.assert_array_equal(fanout(_proj(dense, (2,))), [3, 3])
    flat = (L.Reshape(name="r", inputs=("a",), shape=(2, 2, 2)),
            L.Conv2d(name="c", inputs=("r",), shape=(1, 1, 1), weight=np.ones((1, 2, 2, 2))))
    np.testing.assert_array_equal(fanout(_proj(flat, (8,))), np.ones(8))
