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

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

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


def window_geometry(draw):
    """A shape (N, C, *S) with 1 or 2 spatial axes and window settings that fit it:
    kernel, stride, dilation and (before, after) padding per axis."""
    k = draw(st.integers(1, 2))
    kernel, stride, dilation, padding, sizes = [], [], [], [], []
    for _ in range(k):
        j, d = draw(st.integers(1, 3)), draw(st.integers(1, 2))
        lo, hi = draw(st.integers(0, 2)), draw(st.integers(0, 2))
        span = d * (j - 1) + 1
        kernel.append(j)
        dilation.append(d)
        stride.append(draw(st.integers(1, 3)))
        padding.append((lo, hi))
        sizes.append(draw(st.integers(max(1, span - lo - hi), max(1, span - lo - hi) + 3)))
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 2)), *sizes)
    return shape, {"kernel_size": tuple(kernel), "stride": tuple(stride),
                   "padding": tuple(padding), "dilation": tuple(dilation)}


def windowable(draw):
    shape, params = window_geometry(draw)
    return [S.values(draw, shape)], params


def foldable(draw):
    """Windows (N, *O, C, *K) and the shape (N, C, *S) they are folded back into."""
    shape, params = window_geometry(draw)
    windows = np_unfold(np.zeros(shape), **params)
    kernel = params.pop("kernel_size")
    assert windows.shape[-len(kernel):] == kernel
    return [S.values(draw, windows.shape)], {**params, "shape": shape}


def np_window_positions(shape, kernel_size, stride, padding, dilation):
    """(window position o, kernel tap j, the padded input's index o*stride + j*dilation)."""
    sizes = [m + lo + hi for m, (lo, hi) in zip(shape[2:], padding)]
    counts = [(m - d * (j - 1) - 1) // s + 1 for m, j, s, d in zip(sizes, kernel_size, stride,
                                                                     dilation)]
    for o in np.ndindex(*counts):
        for j in np.ndindex(*kernel_size):
            yield o, j, tuple(a * s + b * d for a, b, s, d in zip(o, j, stride, dilation))


def np_unfold(a, kernel_size, stride, padding, dilation):
    """The windows, element by element: out[n, *o, c, *j] = padded[n, c, *(o*s + j*d)]."""
    padded = np.pad(a, ((0, 0), (0, 0), *padding))
    positions = list(np_window_positions(a.shape, kernel_size, stride, padding, dilation))
    counts = tuple(np.max([o for o, _, _ in positions], axis=0) + 1)
    out = np.zeros((a.shape[0], *counts, a.shape[1], *kernel_size))
    for o, j, p in positions:
        out[(slice(None), *o, slice(None), *j)] = padded[(slice(None), slice(None), *p)]
    return out


def np_fold(a, shape, stride, padding, dilation):
    """Each window element added back at padded[n, c, *(o*s + j*d)], the padding cropped."""
    k = len(stride)
    kernel = a.shape[2 + k:]
    padded = np.zeros((*shape[:2], *[m + lo + hi for m, (lo, hi) in zip(shape[2:], padding)]))
    for o, j, p in np_window_positions(shape, kernel, stride, padding, dilation):
        padded[(slice(None), slice(None), *p)] += a[(slice(None), *o, slice(None), *j)]
    return padded[(slice(None), slice(None), *[slice(lo, lo + m) for m, (lo, _) in
                                               zip(shape[2:], padding)])]


# --- inputs of the everyday ops -------------------------------------------------------


def one_axis(avoid=None):
    """A tensor, one axis or None (all), and keepdims."""
    def draw_inputs(draw):
        shape = S.shape(draw)
        x = S.values(draw, shape, avoid=avoid)
        axis = draw(st.sampled_from([None] + list(range(-len(shape), len(shape)))))
        return [x], {"axis": axis, "keepdims": draw(st.booleans())}
    return draw_inputs


def with_zeros(draw):
    """Values of which some (often one, sometimes more) are exactly 0."""
    shape = S.shape(draw, min_dims=1)
    x = draw(hnp.arrays(np.float64, shape, elements=st.sampled_from([0.0, 0.5, -1.5, 2.0, 0.0])))
    axis = draw(st.sampled_from([None] + list(range(len(shape)))))
    return [x], {"axis": axis, "keepdims": draw(st.booleans())}


def variance_inputs(draw):
    """Distinct values (std has a kink where all are equal), a reduction and a correction
    that leaves at least one degree of freedom."""
    (x,), params = reduction()(draw)
    x = S.distinct(draw, x.shape)
    axes = x.shape if params["axis"] is None else np.atleast_1d(params["axis"])
    count = int(np.prod(x.shape)) if params["axis"] is None else int(np.prod(
        [x.shape[a] for a in axes]))
    params["correction"] = draw(st.sampled_from([0, 1])) if count > 1 else 0
    return [x], params


def nonzero_reduction(draw):
    (x,), params = reduction()(draw)
    return [S.values(draw, x.shape, avoid=[0.0])], params


def positive_distinct(draw):
    (x,), params = reduction()(draw)
    return [S.distinct(draw, x.shape, offset=10.0)], params  # no |a| = |b| ties


def along_axis(draw):
    shape = S.shape(draw, min_dims=1)
    return [S.values(draw, shape)], {"axis": draw(st.integers(-len(shape), len(shape) - 1))}


def two_vectors(same_length=False):
    def draw_inputs(draw):
        n = draw(st.integers(1, 4))
        m = n if same_length else draw(st.integers(1, 4))
        return [S.values(draw, (n,)), S.values(draw, (m,))], {}
    return draw_inputs


EINSUMS = [  # (equation, shapes from the sizes i, j, k, b)
    ("ij,jk->ik", lambda i, j, k, b: [(i, j), (j, k)]),
    ("bij,bjk->bik", lambda i, j, k, b: [(b, i, j), (b, j, k)]),
    ("ij->ji", lambda i, j, k, b: [(i, j)]),
    ("ii->", lambda i, j, k, b: [(i, i)]),
    ("ii->i", lambda i, j, k, b: [(i, i)]),
    ("i,j->ij", lambda i, j, k, b: [(i,), (j,)]),
    ("ij->j", lambda i, j, k, b: [(i, j)]),
    ("ij,ij->", lambda i, j, k, b: [(i, j), (i, j)]),
    ("ij,j", lambda i, j, k, b: [(i, j), (j,)]),
    ("bi,bj,bk->bijk", lambda i, j, k, b: [(b, i), (b, j), (b, k)]),
    ("ij,jk,kl->il", lambda i, j, k, b: [(i, j), (j, k), (k, b)]),
    ("iij,kj->ik", lambda i, j, k, b: [(i, i, j), (k, j)]),
    ("ijk->kij", lambda i, j, k, b: [(i, j, k)]),
    ("...ij,...jk->...ik", lambda i, j, k, b: [(b, 1, i, j), (k, j, i)]),
    ("...ii->...i", lambda i, j, k, b: [(b, i, i)]),
    ("i...->...", lambda i, j, k, b: [(i, j, k)]),
]


def einsum_inputs(draw):
    eq, shapes = draw(st.sampled_from(EINSUMS))
    sizes = [draw(st.integers(1, 3)) for _ in range(4)]
    return [S.values(draw, s) for s in shapes(*sizes)], {"eq": eq}


def gatherable(draw):
    shape = S.shape(draw, min_dims=1)
    dim = draw(st.integers(-len(shape), len(shape) - 1))
    index_shape = tuple(draw(st.integers(1, 3)) if k == dim % len(shape) else
                        draw(st.integers(1, n)) for k, n in enumerate(shape))
    index = draw(hnp.arrays(np.int64, index_shape, elements=st.integers(0, shape[dim] - 1)))
    return [S.values(draw, shape)], {"dim": dim, "index": index}


def np_gather(a, dim, index):
    dim %= a.ndim
    key = tuple(index if k == dim else np.arange(m).reshape((m,) + (1,) * (a.ndim - k - 1))
                for k, m in enumerate(index.shape))
    return a[key]


def selectable(draw):
    shape = S.shape(draw, min_dims=1)
    dim = draw(st.integers(-len(shape), len(shape) - 1))
    index = draw(st.lists(st.integers(0, shape[dim] - 1), min_size=1, max_size=4))
    form = draw(st.sampled_from(["list", "array", "tensor"]))
    index = {"list": index, "array": np.array(index), "tensor": tg.tensor(index)}[form]
    return [S.values(draw, shape)], {"dim": dim, "index": index}


def np_index_select(a, dim, index):
    return np.take(a, np.asarray(index, dtype=np.intp), axis=dim)


def maskable(draw):
    sa, sm = S.broadcast_shapes(draw)
    mask = draw(hnp.arrays(bool, sm))
    return [S.values(draw, sa)], {"mask": mask, "value": draw(st.sampled_from([0.0, -3.0, 2.5]))}


def repeatable(draw):
    shape = S.shape(draw)
    lead = draw(st.integers(0, 2))
    sizes = tuple(draw(st.integers(1, 3)) for _ in range(lead + len(shape)))
    return [S.values(draw, shape)], {"sizes": sizes}


def like_shape(draw):
    """a, and an array b of a's shape broadcast (expand_as) or of as many elements."""
    small, big = S.broadcast_shapes(draw)
    return [S.values(draw, small)], {"other": np.zeros(np.broadcast_shapes(small, big))}


def flattenable(draw):
    shape = S.shape(draw, min_dims=1)
    n = len(shape)
    start = draw(st.integers(-n, n - 1))
    end = draw(st.integers(start % n, n - 1)) - draw(st.sampled_from([0, n]))
    return [S.values(draw, shape)], {"start": start, "end": end}


def np_flatten(a, start, end):
    start, end = start % a.ndim, end % a.ndim
    return a.reshape(a.shape[:start] + (-1,) + a.shape[end + 1:])


def unflattenable(draw):
    shape = S.shape(draw, min_dims=1)
    dim = draw(st.integers(-len(shape), len(shape) - 1))
    n = shape[dim]
    sizes = draw(st.sampled_from([(n,), (1, n), (n, 1), (-1, 1), (1, -1, 1)]))
    return [S.values(draw, shape)], {"dim": dim, "sizes": sizes}


def np_unflatten(a, dim, sizes):
    dim %= a.ndim
    return a.reshape(a.shape[:dim] + tuple(sizes) + a.shape[dim + 1:])


def splittable(draw):
    shape = S.shape(draw, min_dims=1, max_side=4)
    dim = draw(st.integers(-len(shape), len(shape) - 1))
    n = shape[dim]
    cuts = sorted(draw(st.lists(st.integers(0, n), max_size=2)))
    sections = [b - a for a, b in zip([0] + cuts, cuts + [n])]
    how = draw(st.sampled_from([draw(st.integers(1, 4)), sections]))
    return [S.values(draw, shape)], {"how": how, "dim": dim}


def np_split(a, how, dim):
    n = a.shape[dim]
    sizes = [min(how, n - s) for s in range(0, n, how)] if isinstance(how, int) else how
    return np.split(a, np.cumsum(sizes)[:-1], axis=dim)


def numbered(pieces, join):
    """The pieces joined back, piece k times k + 1 (so each piece's gradient differs)."""
    return join([p * float(k + 1) for k, p in enumerate(pieces)])


def chunkable(draw):
    shape = S.shape(draw, min_dims=1, max_side=4)
    return [S.values(draw, shape)], {"chunks": draw(st.integers(1, 5)),
                                     "dim": draw(st.integers(-len(shape), len(shape) - 1))}


def np_chunk(a, chunks, dim):
    return np_split(a, -(-a.shape[dim] // chunks), dim)


def flippable(draw):
    shape = S.shape(draw)
    dims = draw(st.lists(st.integers(0, max(len(shape) - 1, 0)), unique=True,
                         max_size=len(shape)))
    return [S.values(draw, shape)], {"dims": tuple(dims)}


def triangular(draw):
    shape = S.shape(draw, min_dims=2)
    return [S.values(draw, shape)], {"diagonal": draw(st.integers(-2, 2))}


def np_tri(a, diagonal, upper):
    keep = np.tri(*a.shape[-2:], k=diagonal - 1 if upper else diagonal, dtype=bool)
    return np.where(~keep if upper else keep, a, 0.0)


def like_reversed(draw):
    shape = S.shape(draw)
    return [S.values(draw, shape)], {"other": np.zeros(shape[::-1])}


def two_axes(draw):
    shape = S.shape(draw, min_dims=1)
    n = len(shape)
    return [S.values(draw, shape)], {"i": draw(st.integers(-n, n - 1)),
                                     "j": draw(st.integers(-n, n - 1))}


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
    Case("max", "max", lambda a, axis, keepdims: a.amax(axis, keepdims),
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
    Case("unfold (sliding windows)", "unfold", lambda a, **p: a.sliding_windows(**p),
         np_unfold, windowable),
    Case("fold (windows added back)", "fold", lambda a, **p: a.fold_windows(**p), np_fold,
         foldable),
    Case("stack", "composite", lambda *xs, axis: tg.stack(xs, dim=axis),
         lambda *xs, axis: np.stack(xs, axis=axis), stackable),
    Case("sigmoid", "composite", lambda a: a.sigmoid(), lambda a: 1 / (1 + np.exp(-a)),
         unary(-6, 6)),
    Case("softmax", "composite", lambda a, axis: a.softmax(axis), np_softmax, softmax_inputs),
    Case("log_softmax", "composite", lambda a, axis: a.log_softmax(dim=axis),
         lambda a, axis: np.log(np_softmax(a, axis)), softmax_inputs),
    # the everyday ops (PyTorch's names)
    Case("sin", "sin", lambda a: a.sin(), np.sin, unary()),
    Case("cos", "cos", lambda a: a.cos(), np.cos, unary()),
    Case("tan", "tan", lambda a: a.tan(), np.tan, unary(-1.2, 1.2)),
    Case("log2", "log2", lambda a: a.log2(), np.log2, unary(0.2, 4.0)),
    Case("log10", "log10", lambda a: a.log10(), np.log10, unary(0.2, 4.0)),
    Case("log1p", "log1p", lambda a: a.log1p(), np.log1p, unary(-0.7, 3.0)),
    Case("expm1", "expm1", lambda a: a.expm1(), np.expm1, unary()),
    Case("square", "square", lambda a: a.square(), np.square, unary()),
    Case("rsqrt", "rsqrt", lambda a: a.rsqrt(), lambda a: 1 / np.sqrt(a), unary(0.2, 4.0)),
    Case("reciprocal", "composite", lambda a: a.reciprocal(), lambda a: 1 / a,
         unary(avoid=[0.0])),
    Case("sign", "sign", lambda a: a.sign(), np.sign, unary(avoid=[0.0])),
    Case("floor", "floor", lambda a: a.floor(), np.floor, unary(avoid=[-2, -1, 0, 1, 2])),
    Case("ceil", "ceil", lambda a: a.ceil(), np.ceil, unary(avoid=[-2, -1, 0, 1, 2])),
    Case("round", "round", lambda a: a.round(), np.round, unary(avoid=[-1.5, -0.5, 0.5, 1.5])),
    Case("round decimals=1", "round", lambda a: a.round(decimals=1),
         lambda a: np.round(a, 1), unary(avoid=[k / 10 + 0.05 for k in range(-20, 20)],
                                         ), eps=1e-7),
    Case("erf", "erf", lambda a: a.erf(), np.vectorize(math.erf, otypes=[np.float64]),
         unary(-3.0, 3.0)),
    Case("clamp_min", "composite", lambda a: a.clamp_min(0.5), lambda a: np.maximum(a, 0.5),
         unary(avoid=[0.5])),
    Case("clamp_max", "composite", lambda a: a.clamp_max(-0.5), lambda a: np.minimum(a, -0.5),
         unary(avoid=[-0.5])),
    Case("prod", "prod", lambda a, axis, keepdims: a.prod(axis, keepdims),
         lambda a, axis, keepdims: np.prod(a, axis=axis, keepdims=keepdims), one_axis(avoid=[0.0])),
    Case("prod axis= tuple", "prod", lambda a, axis, keepdims: a.prod(axis=axis, keepdims=keepdims),
         lambda a, axis, keepdims: np.prod(a, axis=axis, keepdims=keepdims),
         nonzero_reduction),
    Case("prod with zeros", "prod", lambda a, axis, keepdims: a.prod(dim=axis, keepdim=keepdims),
         lambda a, axis, keepdims: np.prod(a, axis=axis, keepdims=keepdims), with_zeros),
    Case("cumsum", "cumsum", lambda a, axis: a.cumsum(axis),
         lambda a, axis: np.cumsum(a, axis=axis), along_axis),
    Case("cumsum 0-d", "cumsum", lambda a: a.cumsum(dim=0), lambda a: a,
         lambda d: ([S.values(d, ())], {})),
    Case("norm 2", "composite", lambda a, axis, keepdims: a.norm(2, axis, keepdims),
         lambda a, axis, keepdims: np.sqrt(np.sum(a * a, axis=axis, keepdims=keepdims)),
         nonzero_reduction),
    Case("norm fro", "composite", lambda a: a.norm(), lambda a: np.sqrt(np.sum(a * a)),
         unary(avoid=[0.0])),
    Case("norm 1", "composite", lambda a, axis, keepdims: a.norm(1, dim=axis, keepdim=keepdims),
         lambda a, axis, keepdims: np.sum(np.abs(a), axis=axis, keepdims=keepdims),
         nonzero_reduction),
    Case("norm inf", "composite", lambda a, axis, keepdims: a.norm(np.inf, axis, keepdims),
         lambda a, axis, keepdims: np.max(np.abs(a), axis=axis, keepdims=keepdims),
         positive_distinct),
    Case("norm 3", "composite", lambda a: a.norm(3), lambda a: np.sum(np.abs(a) ** 3) ** (1 / 3),
         unary(avoid=[0.0])),
    Case("var", "var",
         lambda a, axis, keepdims, correction: a.var(axis, correction=correction,
                                                      keepdim=keepdims),
         lambda a, axis, keepdims, correction: np.var(a, axis=axis, ddof=correction,
                                                      keepdims=keepdims), variance_inputs),
    Case("std", "composite",
         lambda a, axis, keepdims, correction: a.std(axis=axis, unbiased=bool(correction),
                                                      keepdims=keepdims),
         lambda a, axis, keepdims, correction: np.std(a, axis=axis, ddof=correction,
                                                      keepdims=keepdims), variance_inputs),
    Case("outer", "composite", lambda a, b: a.outer(b), np.outer, two_vectors()),
    Case("dot", "composite", lambda a, b: a.dot(b), np.dot, two_vectors(same_length=True)),
    Case("einsum", "composite", lambda *xs, eq: tg.einsum(eq, *xs),
         lambda *xs, eq: np.einsum(eq, *xs), einsum_inputs),
    Case("gather", "composite", lambda a, dim, index: a.gather(dim, index), np_gather,
         gatherable),
    Case("gather, index a tensor", "composite",
         lambda a, dim, index: a.gather(dim, tg.tensor(index.astype(np.float64))), np_gather,
         gatherable),
    Case("index_select", "composite", lambda a, dim, index: a.index_select(dim, index),
         np_index_select, selectable),
    Case("masked_fill", "composite", lambda a, mask, value: a.masked_fill(mask, value),
         lambda a, mask, value: np.where(mask, value, a), maskable),
    Case("repeat", "composite", lambda a, sizes: a.repeat(*sizes),
         lambda a, sizes: np.tile(a, sizes), repeatable),
    Case("expand_as", "composite", lambda a, other: a.expand_as(other),
         lambda a, other: np.broadcast_to(a, other.shape), like_shape),
    Case("view_as/reshape_as", "composite",
         lambda a, other: a.view_as(other) + a.reshape_as(other),
         lambda a, other: 2 * a.reshape(other.shape), like_reversed),
    Case("flatten", "composite", lambda a, start, end: a.flatten(start, end), np_flatten,
         flattenable),
    Case("unflatten", "composite", lambda a, dim, sizes: a.unflatten(dim, sizes),
         np_unflatten, unflattenable),
    Case("split", "composite", lambda a, how, dim: numbered(a.split(how, dim),
                                                            lambda ps: tg.cat(ps, dim=dim)),
         lambda a, how, dim: numbered(np_split(a, how, dim),
                                      lambda ps: np.concatenate(ps, axis=dim)), splittable),
    Case("chunk", "composite", lambda a, chunks, dim: numbered(a.chunk(chunks, dim),
                                                               lambda ps: tg.cat(ps, dim=dim)),
         lambda a, chunks, dim: numbered(np_chunk(a, chunks, dim),
                                         lambda ps: np.concatenate(ps, axis=dim)), chunkable),
    Case("flip", "flip", lambda a, dims: a.flip(dims), lambda a, dims: np.flip(a, dims),
         flippable),
    Case("tril", "composite", lambda a, diagonal: a.tril(diagonal),
         lambda a, diagonal: np_tri(a, diagonal, False), triangular),
    Case("triu", "composite", lambda a, diagonal: a.triu(diagonal=diagonal),
         lambda a, diagonal: np_tri(a, diagonal, True), triangular),
    Case("t", "composite", lambda a: a.t(), lambda a: a.T,
         lambda d: ([S.values(d, S.shape(d, max_dims=2))], {})),
    Case("swapaxes", "composite", lambda a, i, j: a.swapaxes(i, j),
         lambda a, i, j: np.swapaxes(a, i, j), two_axes),
    Case("swapdims", "composite", lambda a, i, j: a.swapdims(i, j),
         lambda a, i, j: np.swapaxes(a, i, j), two_axes),
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
    np.testing.assert_allclose(out.array, expected, rtol=1e-12, atol=1e-12)


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
        assert type(p.array) is np.ndarray and p.shape == r.shape and p.dtype == r.dtype
        np.testing.assert_allclose(p.array, r.array, rtol=1e-12, atol=1e-12)


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
