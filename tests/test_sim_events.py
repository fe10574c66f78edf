"""The event-driven and post-side-filtered simulator paths against the dense pre-side path."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from snncc.convert.net import ChannelEmbed, InputSource, Population, Projection, Readout, SpikingNet
from snncc.ir import layers as L
from snncc.sim import simulate
from snncc.sim._chain import Chain
from snncc.sim._engine import Engine
from snncc.sim._events import is_linear, nonzero_rows

RNG = np.random.default_rng


def _out(size: int, k: int, s: int, p0: int, p1: int, d: int = 1, ceil: bool = False) -> int:
    return L.pool_output_size(size, k, s, p0, p1, d, ceil)


def conv(name: str, in_shape: tuple[int, ...], out_c: int, k: tuple[int, int], seed: int,
         stride: tuple[int, int] = (1, 1), pad: tuple[int, int, int, int] = (0, 0, 0, 0),
         dil: tuple[int, int] = (1, 1), groups: int = 1) -> L.Conv2d:
    c, h, w = in_shape
    shape = (out_c, _out(h, k[0], stride[0], pad[0], pad[2], dil[0]),
             _out(w, k[1], stride[1], pad[1], pad[3], dil[1]))
    weight = RNG(seed).normal(size=(out_c, c // groups, *k))
    return L.Conv2d(name=name, inputs=("x",), shape=shape, weight=weight, stride=stride,
                    padding=pad, dilation=dil, groups=groups)


def avgpool(name: str, in_shape: tuple[int, ...], k: int, s: int, pad: int = 0,
            ceil: bool = False, include_pad: bool = False, cls: type = L.AvgPool2d) -> L.Layer:
    c, h, w = in_shape
    shape = (c, _out(h, k, s, pad, pad, 1, ceil), _out(w, k, s, pad, pad, 1, ceil))
    extra = {"count_include_pad": include_pad} if cls is L.AvgPool2d else {}
    return cls(name=name, inputs=("x",), shape=shape, kernel=(k, k), stride=(s, s),
               padding=(pad,) * 4, ceil_mode=ceil, **extra)


def dense(name: str, n_in: int, n_out: int, seed: int) -> L.Dense:
    return L.Dense(name=name, inputs=("x",), shape=(n_out,),
                   weight=RNG(seed).normal(size=(n_out, n_in)))


def affine(name: str, shape: tuple[int, ...], seed: int, per_channel: bool = True
           ) -> L.ChannelAffine:
    k = shape[0] if per_channel else 1
    return L.ChannelAffine(name=name, inputs=("x",), shape=shape,
                           scale=RNG(seed).normal(size=k), shift=np.zeros(k))


def reshape(name: str, shape: tuple[int, ...]) -> L.Reshape:
    return L.Reshape(name=name, inputs=("x",), shape=shape)


def embed(name: str, in_shape: tuple[int, ...], extra: int, offset: int) -> ChannelEmbed:
    return ChannelEmbed(name=name, inputs=("x",), shape=(in_shape[0] + extra, *in_shape[1:]),
                        offset=offset)


def chains() -> dict[str, tuple[tuple[int, ...], list[L.Layer]]]:
    """Chains of every linear op type, each (pre shape, ops)."""
    cases: dict[str, tuple[tuple[int, ...], list[L.Layer]]] = {}
    s0 = (3, 9, 8)
    c = conv("c", s0, 4, (3, 3), 1)
    cases["conv"] = (s0, [c])
    c = conv("c", s0, 4, (3, 2), 2, stride=(2, 1), pad=(1, 0, 2, 1), dil=(1, 2))
    cases["conv_stride_pad_dil"] = (s0, [c])
    c = conv("c", (4, 7, 9), 6, (2, 3), 3, stride=(1, 2), pad=(1, 1, 1, 1), dil=(2, 1), groups=2)
    cases["conv_groups"] = ((4, 7, 9), [c])
    p = avgpool("p", s0, 2, 2)
    cases["pool_conv"] = (s0, [p, conv("c", p.shape, 5, (2, 2), 4)])
    p = avgpool("p", s0, 3, 2, pad=1, ceil=True)
    cases["pool_ceil_conv"] = (s0, [p, conv("c", p.shape, 2, (3, 3), 5, pad=(1, 1, 1, 1))])
    p = avgpool("p", s0, 3, 1, pad=1, include_pad=True)
    cases["pool_overlap_incl_pad"] = (s0, [p, reshape("f", (p.size,)), dense("d", p.size, 7, 6)])
    p = avgpool("p", s0, 2, 2, ceil=True)
    cases["pool_ceil_flat_dense"] = (s0, [p, reshape("f", (p.size,)), dense("d", p.size, 5, 7)])
    p = avgpool("p", s0, 3, 3, pad=1, ceil=True, include_pad=True)
    cases["pool_only"] = (s0, [p])
    p = avgpool("p", s0, 2, 1, pad=1, cls=L.MaxPool2d)  # under maxpool="avg"
    cases["maxpool_as_avg_conv"] = (s0, [p, conv("c", p.shape, 3, (2, 2), 8)])
    cases["dense"] = ((11,), [dense("d", 11, 6, 9)])
    cases["affine_dense_embed"] = ((11,), [affine("a", (11,), 10), dense("d", 11, 6, 11),
                                           affine("b", (6,), 12), embed("e", (6,), 3, 2)])
    c = conv("c", s0, 4, (3, 3), 13, pad=(1, 1, 1, 1))
    cases["affine_conv_affine_embed"] = (s0, [affine("a", s0, 14), c, affine("b", c.shape, 15),
                                              embed("e", c.shape, 2, 1)])
    c = conv("c", s0, 4, (2, 2), 16)
    cases["conv_flat_embed"] = (s0, [c, reshape("f", (c.size,)), embed("e", (c.size,), 5, 5)])
    cases["embed_conv"] = (s0, [embed("e", s0, 2, 1), conv("c", (5, 9, 8), 3, (3, 3), 17)])
    cases["reshape_only"] = ((24,), [reshape("r", (2, 3, 4))])
    cases["embed_only"] = (s0, [embed("e", s0, 1, 1)])
    cases["affine_scalar"] = (s0, [affine("a", s0, 18, per_channel=False)])
    c = conv("c", s0, 4, (3, 3), 19)
    cases["conv_pool_rest"] = (s0, [c, avgpool("q", c.shape, 2, 2)])
    cases["dense_dense_rest"] = ((11,), [dense("d", 11, 6, 20), dense("e", 6, 4, 21)])
    c = conv("c", s0, 2, (3, 3), 22)
    flat = reshape("f", (c.size // 2, 2))  # an affine along the new first axis: not per channel
    cases["conv_reshape_affine_rest"] = (s0, [c, flat, affine("a", flat.shape, 23)])
    cases["flat_dense_to_image"] = ((12,), [dense("d", 12, 18, 24), reshape("r", (2, 3, 3)),
                                            affine("a", (2, 3, 3), 25)])
    return cases


CHAINS = chains()


def _events(shape: tuple[int, ...], batch: int, density: float, seed: int
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = RNG(seed)
    n = math.prod(shape)
    u = np.where(rng.random((batch, n)) < density, rng.normal(size=(batch, n)), 0.0)
    u = u.astype(np.float32)
    u[0] = 0.0  # a row without events
    sidx, scnt = np.zeros((batch, n), np.int32), np.zeros(batch, np.int64)
    nonzero_rows(u, sidx, scnt)
    return u, sidx, scnt


@pytest.mark.parametrize("name", list(CHAINS))
@pytest.mark.parametrize("density", [0.05, 0.5, 1.0])
def test_event_plan_equals_the_dense_chain(name: str, density: float) -> None:
    pre_shape, ops = CHAINS[name]
    proj = Projection(name=name, pre="a", post="b", ops=tuple(ops), pre_shape=pre_shape,
                      post_shape=ops[-1].shape)
    chain = Chain(proj, "avg", pre_shape, ops[-1].shape)
    assert chain.linear
    plan = chain.event_plan()
    u, sidx, scnt = _events(pre_shape, 5, density, hash(name) % 1000)
    want = chain(u)
    got = np.full_like(want, 0.5)  # the plan adds into the buffer
    plan.apply(u, sidx, scnt, np.arange(1, 5), got, plan.scratch())
    got[1:] -= 0.5
    np.testing.assert_allclose(got[1:], want[1:], rtol=1e-5, atol=1e-5 * np.abs(want).max())
    assert np.all(got[0] == 0.5)  # row 0 not selected: untouched
    # the scratch is left clean: the same call again gives the same result
    again = np.zeros_like(want)
    bufs = plan.scratch()
    plan.apply(u, sidx, scnt, np.arange(5), again, bufs)
    plan.apply(u, sidx, scnt, np.arange(5), again, bufs)
    np.testing.assert_allclose(again / 2, want, rtol=1e-5, atol=1e-5 * np.abs(want).max())
