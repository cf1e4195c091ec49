"""The case table: every op, its NumPy reference and its input domain.

For every case and hypothesis-drawn shapes and values:
  * forward equals NumPy;
  * backward equals central finite differences in float64, for a random upstream
    gradient (gradcheck);
  * second derivatives equal finite differences of the first (gradgradcheck);
  * the rules give the same gradients on plain arrays (backward) and on Tensors
    (create_graph=True).
A test fails when an op in ``ops.py`` has no case here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tinygrad_edu as tg
from tinygrad_edu import ops
from tinygrad_edu.autograd import grad as autograd_grad
from tinygrad_edu.gradcheck import gradcheck, gradgradcheck

from . import strategies as S


@dataclass
class Case:
    name: str  # a readable id
    op: str  # the ops.py primitive it exercises ("composite" for compositions)
    fn: Callable  # (*Tensors, **params) -> Tensor, the engine
    ref: Callable  # (*ndarrays, **params) -> ndarray, NumPy
    draw_inputs: Callable  # hypothesis draw -> (list of arrays, params dict)
    eps: float = 1e-6
    smooth: bool = True  # run gradgradcheck
    kw: dict = field(default_factory=dict)


# --- input generators (domain of each op) ---------------------------------------------


def unary(lo=-2.0, hi=2.0, avoid=None, min_dims=0):
    def draw_inputs(draw):
        return [S.values(draw, S.shape(draw, min_dims=min_dims), lo, hi, avoid)], {}
    return draw_inputs


def binary(lo_a=-2.0, hi_a=2.0, lo_b=-2.0, hi_b=2.0, avoid_b=None):
    def draw_inputs(draw):
        sa, sb = S.broadcast_shapes(draw)
        return [S.values(draw, sa, lo_a, hi_a), S.values(draw, sb, lo_b, hi_b, avoid_b)], {}
    return draw_inputs


def no_ties(draw):
    sa, sb = S.broadcast_shapes(draw)
    return [S.interleaved(draw, sa, 0), S.interleaved(draw, sb, 1)], {}


def with_condition(draw):
    sc, sa, sb = S.broadcast_shapes(draw, n=3)
    cond = draw(st.lists(st.booleans(), min_size=int(np.prod(sc)), max_size=int(np.prod(sc))))
    return [S.values(draw, sa), S.values(draw, sb)], {"cond": np.array(cond).reshape(sc)}


def reduction(distinct_values=False):
    def draw_inputs(draw):
        shape = S.shape(draw)
        x = S.distinct(draw, shape) if distinct_values else S.values(draw, shape)
        return [x], {"axis": S.axes(draw, len(shape)), "keepdims": draw(st.booleans())}
    return draw_inputs


def matmul_shapes(draw, vector_a=False, vector_b=False):
    batch_a, batch_b = S.broadcast_shapes(draw, max_dims=2)
    n, k, m = (draw(st.integers(1, 3)) for _ in range(3))
    sa = (k,) if vector_a else batch_a + (n, k)
    sb = (k,) if vector_b else batch_b + (k, m)
    return [S.values(draw, sa), S.values(draw, sb)], {}


def matmul_shapes_b_transposed(draw):
    """a and b for a @ b.mT: b is given as (..., m, k), so the matmul sees a transposed
    (column-major) view, as with nn.Linear's weight."""
    (a, b), params = matmul_shapes(draw)
    return [a, np.ascontiguousarray(np.swapaxes(b, -1, -2))], params


def reshaped(draw):
    shape = S.shape(draw)
    size = int(np.prod(shape))
    target = draw(st.sampled_from([(size,), (1, size), (size, 1), shape[::-1], (-1,)]))
    return [S.values(draw, shape)], {"shape": target}


def permuted(draw):
    shape = S.shape(draw, min_dims=1)
    return [S.values(draw, shape)], {"axes": tuple(draw(st.permutations(range(len(shape)))))}


def expandable(draw):
    small, big = S.broadcast_shapes(draw)
    target = np.broadcast_shapes(small, big)
    return [S.values(draw, small)], {"shape": target}


def indexable(draw, written_once=False):
    """a shape and a key; written_once: no element is picked twice (for t[key] = b)."""
    shape = S.shape(draw, min_dims=2, min_side=2)
    n = shape[0]
    keys = [
        (slice(1, None),),
        (slice(None, None, -1), 0),
        (np.array([n - 1, 0]) if written_once else np.array([0, 0, 1, n - 1]),),  # repeats
        (Ellipsis, 1) if written_once else (Ellipsis, None, 1),
        (np.arange(n) % 2 == 0,),  # boolean mask
        (np.array([1, 0]), np.array([0, 1])),  # pairs of coordinates
    ]
    return [S.values(draw, shape)], {"key": draw(st.sampled_from(keys))}


def scatterable(draw):
    (x,), params = indexable(draw)
    shape = x.shape
    return [x[params["key"]]], {"key": params["key"], "shape": shape}


def puttable(draw):
    """a, and b to write into a copy of a at key (places written once each)."""
    (a,), params = indexable(draw, written_once=True)
    return [a, S.values(draw, a[params["key"]].shape)], params


def put_into_copy(a, b, key):
    c = a * 1.0
    c[key] = b
    return c


def np_put(a, b, key):
    c = a.copy()
    c[key] = b
    return c


def concatenable(draw):
    shape = S.shape(draw, min_dims=1)
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    count = draw(st.integers(1, 3))
    arrays = []
    for _ in range(count):
        s = list(shape)
        s[axis] = draw(st.integers(1, 3))
        arrays.append(S.values(draw, tuple(s)))
    return arrays, {"axis": axis}


def stackable(draw):
    shape = S.shape(draw)
    count = draw(st.integers(1, 3))
    return [S.values(draw, shape) for _ in range(count)], {
        "axis": draw(st.integers(-len(shape) - 1, len(shape)))}


def softmax_inputs(draw):
    shape = S.shape(draw, min_dims=1)
    return [S.values(draw, shape, -5, 5)], {"axis": draw(st.integers(-len(shape), len(shape) - 1))}


def np_logsumexp(x, axis=None, keepdims=False):
    m = np.max(x, axis=axis, keepdims=True)
    out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis)


def np_softmax(x, axis):
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def np_scatter(x, key, shape):
    out = np.zeros(shape)
    np.add.at(out, key, x)
    return out


# --- THE CASE TABLE (same order as ops.py) ------------------------------------------------

CASES = [
    Case("add", "add", lambda a, b: a + b, np.add, binary()),
    Case("radd scalar", "add", lambda a: 2.5 + a, lambda a: 2.5 + a, unary()),
    Case("sub", "sub", lambda a, b: a - b, np.subtract, binary()),
    Case("rsub scalar", "sub", lambda a: 1.5 - a, lambda a: 1.5 - a, unary()),
    Case("mul", "mul", lambda a, b: a * b, np.multiply, binary()),
    Case("div", "div", lambda a, b: a / b, np.divide, binary(lo_b=-2, hi_b=2, avoid_b=[0.0], )),
    Case("rdiv scalar", "div", lambda a: 2.0 / a, lambda a: 2.0 / a, unary(0.3, 2.0)),
    # b = 0 is avoided: there the rule for a is 0 outright (PyTorch's convention, see
    # derivatives.md), so its derivative with respect to b is 0, not finite differences'
    Case("pow", "pow", lambda a, b: a ** b, np.power, binary(0.3, 2.0, -2.0, 2.0, avoid_b=[0.0])),
    Case("pow scalar", "pow", lambda a: a ** 3, lambda a: a ** 3, unary()),
    Case("rpow scalar", "pow", lambda a: 2.0 ** a, lambda a: 2.0 ** a, unary()),
    Case("maximum", "maximum", tg.maximum, np.maximum, no_ties),
    Case("minimum", "composite", tg.minimum, np.minimum, no_ties),
    Case("where", "where", lambda a, b, cond: tg.where(cond, a, b),
         lambda a, b, cond: np.where(cond, a, b), with_condition),
    Case("neg", "neg", lambda a: -a, np.negative, unary()),
    Case("exp", "exp", lambda a: a.exp(), np.exp, unary()),
    Case("log", "log", lambda a: a.log(), np.log, unary(0.2, 4.0)),
    Case("sqrt", "sqrt", lambda a: a.sqrt(), np.sqrt, unary(0.2, 4.0)),
    Case("abs", "abs", lambda a: a.abs(), np.abs, unary(avoid=[0.0])),
    Case("tanh", "tanh", lambda a: a.tanh(), np.tanh, unary()),
    Case("relu", "relu", lambda a: a.relu(), lambda a: np.maximum(a, 0), unary(avoid=[0.0])),
    Case("clip", "clip", lambda a: a.clip(-1.0, 1.0), lambda a: np.clip(a, -1, 1),
         unary(avoid=[-1.0, 1.0])),
    Case("clip low only", "clip", lambda a: a.clamp(min=0.5), lambda a: np.maximum(a, 0.5),
         unary(avoid=[0.5])),
    Case("cast", "cast", lambda a: a.astype(np.float32).astype(np.float64),
         lambda a: a.astype(np.float32).astype(np.float64), unary(), eps=1e-2),
    Case("sum", "sum", lambda a, axis, keepdims: a.sum(axis, keepdims),
         lambda a, axis, keepdims: np.sum(a, axis=axis, keepdims=keepdims), reduction()),
    Case("sum dim=", "sum", lambda a, axis, keepdims: a.sum(dim=axis, keepdim=keepdims),
         lambda a, axis, keepdims: np.sum(a, axis=axis, keepdims=keepdims), reduction()),
    Case("max", "max", lambda a, axis, keepdims: a.max(axis, keepdims),
         lambda a, axis, keepdims: np.max(a, axis=axis, keepdims=keepdims), reduction(True)),
    Case("min", "min", lambda a, axis, keepdims: a.min(axis=axis, keepdims=keepdims),
         lambda a, axis, keepdims: np.min(a, axis=axis, keepdims=keepdims), reduction(True)),
    Case("mean", "composite", lambda a, axis, keepdims: a.mean(axis, keepdims),
         lambda a, axis, keepdims: np.mean(a, axis=axis, keepdims=keepdims), reduction()),
    Case("logsumexp", "composite", lambda a, axis, keepdims: a.logsumexp(axis, keepdims),
         np_logsumexp, reduction()),
    Case("matmul", "matmul", lambda a, b: a @ b, np.matmul, matmul_shapes),
    Case("matmul, b transposed", "composite", lambda a, b: a @ b.mT,
         lambda a, b: np.matmul(a, np.swapaxes(b, -1, -2)), matmul_shapes_b_transposed),
    Case("matmul 1-D @ N-D", "composite", lambda a, b: a @ b, np.matmul,
         lambda d: matmul_shapes(d, vector_a=True)),
    Case("matmul N-D @ 1-D", "composite", lambda a, b: a.matmul(b), np.matmul,
         lambda d: matmul_shapes(d, vector_b=True)),
    Case("dot 1-D", "composite", lambda a, b: a @ b, np.matmul,
         lambda d: matmul_shapes(d, vector_a=True, vector_b=True)),
    Case("reshape", "reshape", lambda a, shape: a.reshape(shape),
         lambda a, shape: a.reshape(shape), reshaped),
    Case("permute", "permute", lambda a, axes: a.permute(*axes),
         lambda a, axes: a.transpose(axes), permuted),
    Case("T", "permute", lambda a: a.T, lambda a: a.T, unary()),
    Case("transpose swap", "permute", lambda a: a.transpose(0, -1),
         lambda a: np.swapaxes(a, 0, -1), unary(min_dims=1)),
    Case("unsqueeze/squeeze", "composite", lambda a: a.unsqueeze(0).unsqueeze(-1).squeeze(),
         np.squeeze, unary()),
    Case("expand", "expand", lambda a, shape: a.expand(shape),
         lambda a, shape: np.broadcast_to(a, shape), expandable),
    Case("index", "index", lambda a, key: a[key], lambda a, key: a[key], indexable),
    Case("scatter", "scatter", lambda a, key, shape: a.scatter_into(key, shape),
         np_scatter, scatterable),
    Case("put (t[key] = b)", "put", put_into_copy, np_put, puttable),
    Case("cat", "cat", lambda *xs, axis: tg.cat(xs, axis=axis),
         lambda *xs, axis: np.concatenate(xs, axis=axis), concatenable),
    Case("stack", "composite", lambda *xs, axis: tg.stack(xs, dim=axis),
         lambda *xs, axis: np.stack(xs, axis=axis), stackable),
    Case("sigmoid", "composite", lambda a: a.sigmoid(), lambda a: 1 / (1 + np.exp(-a)),
         unary(-6, 6)),
    Case("softmax", "composite", lambda a, axis: a.softmax(axis), np_softmax, softmax_inputs),
    Case("log_softmax", "composite", lambda a, axis: a.log_softmax(dim=axis),
         lambda a, axis: np.log(np_softmax(a, axis)), softmax_inputs),
]

IDS = [c.name for c in CASES]
SETTINGS = {"deadline": None,
            "suppress_health_check": [HealthCheck.too_slow, HealthCheck.filter_too_much]}


def test_every_primitive_has_a_case():
    """Adding an op to ops.py without a case here fails this test."""
    covered = {c.op for c in CASES}
    missing = [op.name for op in ops.ALL_OPS if op.name not in covered]
    assert not missing, f"ops without a test case: {missing}"
    assert {c.op for c in CASES} - {"composite"} <= {op.name for op in ops.ALL_OPS}


def _tensors(arrays):
    return [tg.tensor(a) for a in arrays]


@pytest.mark.parametrize("case", CASES, ids=IDS)
@settings(max_examples=25, **SETTINGS)
@given(data=st.data())
def test_forward_matches_numpy(case, data):
    arrays, params = case.draw_inputs(data.draw)
    out = case.fn(*_tensors(arrays), **params)
    expected = case.ref(*arrays, **params)
    assert out.shape == np.shape(expected)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", CASES, ids=IDS)
@settings(max_examples=25, **SETTINGS)
@given(data=st.data(), seed=st.integers(0, 2**16))
def test_backward_matches_finite_differences(case, data, seed):
    arrays, params = case.draw_inputs(data.draw)
    gradcheck(lambda *xs: case.fn(*xs, **params), *arrays, eps=case.eps, seed=seed,
              atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("case", CASES, ids=IDS)
@settings(max_examples=10, **SETTINGS)
@given(data=st.data(), seed=st.integers(0, 2**16))
def test_rules_agree_on_arrays_and_on_tensors(case, data, seed):
    """A plain backward runs the rules on NumPy arrays; create_graph=True runs the same
    rules on Tensors (recorded). Both must give the same gradients, for every op."""
    arrays, params = case.draw_inputs(data.draw)
    xs = [tg.tensor(a, requires_grad=True) for a in arrays]
    out = case.fn(*xs, **params)
    v = tg.tensor(np.random.default_rng(seed).standard_normal(out.shape))
    plain = autograd_grad(out, xs, v, retain_graph=True)
    recorded = autograd_grad(out, xs, v, create_graph=True)
    for p, r in zip(plain, recorded):
        assert not p.requires_grad
        assert type(p.data) is np.ndarray and p.shape == r.shape and p.dtype == r.dtype
        np.testing.assert_allclose(p.data, r.data, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", [c for c in CASES if c.smooth], ids=[c.name for c in CASES
                                                                         if c.smooth])
@settings(max_examples=6, **SETTINGS)
@given(data=st.data(), seed=st.integers(0, 2**16))
def test_second_derivatives_match_finite_differences(case, data, seed):
    arrays, params = case.draw_inputs(data.draw)
    gradgradcheck(lambda *xs: case.fn(*xs, **params), *arrays, eps=max(case.eps, 1e-5),
                  seed=seed, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("case", [c for c in CASES if c.name in
                                  ("add", "mul", "div", "exp", "tanh", "sum", "matmul",
                                   "sigmoid", "softmax", "index")], ids=lambda c: c.name)
@settings(max_examples=10, **SETTINGS)
@given(data=st.data())
def test_float32_stays_float32(case, data):
    arrays, params = case.draw_inputs(data.draw)
    xs = [tg.tensor(a.astype(np.float32), requires_grad=True) for a in arrays]
    out = case.fn(*xs, **params)
    assert out.dtype == np.float32
    out.sum().backward()
    for x in xs:
        assert x.grad.dtype == np.float32 and x.grad.shape == x.shape
