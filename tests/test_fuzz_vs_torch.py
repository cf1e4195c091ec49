"""Differential fuzzer: seeded random programs run on tinygrad_edu and on PyTorch.

A program is a list of leaves (arrays, with or without requires_grad) and 6-15 steps,
each an entry of TABLE applied to earlier values (so intermediates are reused, and
diamonds appear). The generator builds a program while running it on PyTorch, so every
step is one PyTorch accepts (shapes line up, domains hold, values stay bounded). The
program is then run on both engines and compared: after every step the value,
``is_leaf`` and ``requires_grad`` of every value so far (in-place ops and views change
earlier values) and which earlier value a result *is*; then ``autograd.grad`` of a
weighted sum of every unused result (the loss) with respect to a few values, and every
leaf's ``.grad`` after ``loss.backward()`` (None against None too).

Families: float64 programs (rtol = atol = 1e-8, NaN and inf at the same places; some
with an inf or NaN coming down from the loss, and ops at the edge of their domain),
float32 programs (a tolerance scaled by PyTorch's own float32 error), smooth programs
with second and third derivatives (``create_graph=True``), and invalid programs that
PyTorch rejects, which must raise here too with a message of our own.

Deliberate differences from PyTorch (README) that are not reported: mixing float32 and
float64 (NumPy's promotion: a program has one dtype); ``transpose()`` without arguments
(NumPy's: never drawn); ``max/min(dim=)`` (compared with ``amax/amin``, which split ties
evenly as we do, with their gradient selected instead of multiplied by the mask: see
_Amax); which in-place changes make backward refuse (see _stale).

A failure prints the program and its seed. Re-run one program with
``python -m tests.test_fuzz_vs_torch SEED [f64|f32|smooth|invalid]``.
To add an op: add one ``E(...)`` line to TABLE.
"""

from __future__ import annotations

import contextlib
import inspect
import os
import re
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import ops

torch = pytest.importorskip("torch")

RTOL = ATOL = 1e-8
BOUND = 1e3  # generated values stay within +-BOUND (so products cannot overflow)
EPS32 = float(np.finfo(np.float32).eps)
NUMPY_DIR = os.path.dirname(np.__file__)


# --- parameters that become tensors or indices ----------------------------------------


@dataclass(frozen=True)
class Const:
    """A constant tensor (no grad), made in the program's dtype."""

    array: np.ndarray

    def __repr__(self) -> str:
        return f"const{self.array.shape}"


@dataclass(frozen=True)
class Param:
    """A new leaf tensor that requires grad (its .grad is compared too)."""

    array: np.ndarray

    def __repr__(self) -> str:
        return f"param{self.array.shape}"


@dataclass(frozen=True)
class Index:
    """An integer or boolean index array."""

    array: np.ndarray

    def __repr__(self) -> str:
        return f"{'mask' if self.array.dtype == bool else 'idx'}{self.array.tolist()}"


# --- shapes ---------------------------------------------------------------------------


def _bc(*shapes):
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        return None


def _np_key(key):
    """The key with Index unwrapped, for NumPy."""
    if isinstance(key, tuple):
        return tuple(_np_key(k) for k in key)
    return key.array if isinstance(key, Index) else key


def _indexed_shape(shape, key):
    try:
        return np.empty(shape)[_np_key(key)].shape
    except (IndexError, ValueError):
        return None


def _values(rng, shape):
    x = rng.uniform(-2.0, 2.0, shape)
    if rng.random() < 0.4:
        x = np.round(x * 2) / 2  # halves: ties (max, maximum, a > b) and zeros
    if rng.random() < 0.2:
        x = np.where(rng.random(shape) < 0.3, 0.0, x)  # kinks: relu, abs, sqrt, pow at 0
    return np.asarray(x, dtype=np.float64) + 0.0  # no negative zeros


def _partner(rng, s):
    """A shape that broadcasts with s (leading axes added, size-1 axes on either side)."""
    s = list(s)
    out = [n if rng.random() < 0.6 else 1 for n in s]
    out = [int(rng.integers(2, 4)) if n == 1 and rng.random() < 0.4 else m
           for n, m in zip(s, out)]
    lead = [int(rng.integers(1, 4)) for _ in range(int(rng.integers(0, 2)))]
    return tuple(lead + out) if len(lead + out) <= 4 else tuple(out)


def _dim(rng, n):
    d = int(rng.integers(0, n))
    return d - n if rng.random() < 0.3 else d


def _dims_tuple(rng, n):
    k = int(rng.integers(1, n + 1))
    return tuple(d - n if rng.random() < 0.3 else int(d)
                 for d in rng.choice(n, size=k, replace=False))


def _new_shape(rng, s):
    """Another shape with as many elements (sometimes the same one, sometimes with -1)."""
    if rng.random() < 0.15:
        return tuple(s)
    n, dims = int(np.prod(s)), []
    rest = n
    while rest > 1 and len(dims) < 3:
        divisors = [d for d in range(2, rest + 1) if rest % d == 0]
        d = int(rng.choice(divisors))
        dims.append(d)
        rest //= d
    if rest > 1:
        dims[-1] *= rest
    if n == 1 and rng.random() < 0.3:
        return ()
    if rng.random() < 0.3 or not dims:
        dims.insert(int(rng.integers(0, len(dims) + 1)), 1)
    dims = [int(d) for d in rng.permutation(dims)]
    if rng.random() < 0.3:
        dims[int(rng.integers(0, len(dims)))] = -1
    return tuple(dims)


def _basic_key(rng, s, allow_none=True):
    """Ints, slices with steps and negative bounds, None and ...: a view."""
    if not s:
        return None
    key = []
    for n in s[:int(rng.integers(1, len(s) + 1))]:
        r = rng.random()
        if r < 0.3:
            key.append(int(rng.integers(-n, n)))
        elif r < 0.4:
            key.append(slice(None))
        else:
            start = int(rng.integers(-n, n)) if rng.random() < 0.6 else None
            stop = int(rng.integers(-n, n + 1)) if rng.random() < 0.5 else None
            key.append(slice(start, stop, int(rng.choice([1, 1, 2, 3]))))
    if allow_none and rng.random() < 0.15:
        key.insert(int(rng.integers(0, len(key) + 1)), None)
    if rng.random() < 0.15 and len(key) < len(s):
        key = [Ellipsis] + key
    key = tuple(key)
    shape = _indexed_shape(s, key)
    return key if shape is not None and 0 not in shape else None


def _mask(rng, shape):
    m = rng.random(shape) < 0.6
    m.flat[int(rng.integers(0, m.size))] = True
    return Index(m)


# --- draws: given the input shapes, parameters for one step, or None if it cannot apply


def ANY(rng, *shapes):
    return {}


def BC(rng, *shapes):
    return {} if _bc(*shapes) is not None else None


def INTO(rng, a, b):  # b broadcasts into a (in-place a op= b)
    return {} if _bc(a, b) == tuple(a) else None


def ND(lo, hi=9):
    return lambda rng, a, *rest: {} if lo <= len(a) <= hi else None


def with_(*draws):
    """All the draws' parameters together (None if any is None)."""
    def draw(rng, *shapes):
        out = {}
        for d in draws:
            p = d(rng, *shapes)
            if p is None:
                return None
            out.update(p)
        return out
    return draw


def scalar(values, name="c"):
    return lambda rng, *shapes: {name: float(rng.choice(values))}


SC = (-2.5, -1.0, -0.5, 0.5, 1.0, 1.5, 3.0)  # nonzero
SC0 = SC + (0.0,)
POWS = (-1.5, -1.0, 0.0, 0.5, 1.0, 2.0, 2.5, 3.0)


def CONST(rng, a):
    return {"k": Const(_values(rng, _partner(rng, a)))}


def PARAM(rng, a):
    return {"w": Param(_values(rng, _partner(rng, a)))}


def DIMS(rng, a):  # dim (int or tuple) and keepdim
    if not a:
        return None
    d = _dim(rng, len(a)) if rng.random() < 0.6 else _dims_tuple(rng, len(a))
    return {"dim": d, "keepdim": bool(rng.random() < 0.5)}


def DIM(rng, a):
    return {"dim": _dim(rng, len(a))} if a else None


def CLAMP(rng, a):
    lo = float(rng.choice([-1.5, -1.0, -0.5, 0.0, 0.5]))
    return {"lo": lo, "hi": lo + float(rng.choice([0.0, 0.5, 1.0, 2.0]))}


def MATMUL(rng, a, b):
    if not a or not b or a[-1] != b[-2 if len(b) > 1 else 0]:
        return None
    return {} if len(a) <= 2 and len(b) <= 2 or _bc(a[:-2], b[:-2]) is not None else None


def RIGHT_W(rng, a):  # a @ w
    if not a:
        return None
    k, r = a[-1], rng.random()
    shape = (k,) if r < 0.3 else (k, int(rng.integers(1, 4)))
    if r > 0.8 and len(a) >= 2 and _bc(a[:-2], (2,)) is not None:
        shape = (2,) + shape
    return {"w": Param(_values(rng, shape))}


def LEFT_W(rng, a):  # w @ a
    if not a:
        return None
    k = a[0] if len(a) == 1 else a[-2]
    shape = (k,) if rng.random() < 0.3 else (int(rng.integers(1, 4)), k)
    return {"w": Param(_values(rng, shape))}


def MM_W(rng, a):
    return {"w": Param(_values(rng, (a[1], int(rng.integers(1, 4)))))} if len(a) == 2 else None


def RESHAPE(rng, a):
    return {"shape": _new_shape(rng, a)}


def PERM(rng, a):
    if not a:
        return None
    n = len(a)
    dims = range(n) if rng.random() < 0.3 else rng.permutation(n)
    return {"dims": tuple(int(d) - n if rng.random() < 0.3 else int(d) for d in dims)}


def TWO_DIMS(rng, a):
    if not a:
        return None
    i = _dim(rng, len(a))
    return {"i": i, "j": i if rng.random() < 0.25 else _dim(rng, len(a))}


def UNSQUEEZE(rng, a):
    return {"d": int(rng.integers(-len(a) - 1, len(a) + 1))}


def SQUEEZE_DIMS(rng, a):
    return {"dims": _dims_tuple(rng, len(a))} if a else None


def EXPAND(rng, a):
    if rng.random() < 0.15:
        return {"shape": tuple(a)}
    shape = [int(rng.integers(1, 4)) if n == 1 else (-1 if rng.random() < 0.3 else n)
             for n in a]
    lead = [int(rng.integers(1, 4)) for _ in range(int(rng.integers(0, 3 - min(len(a), 2))))]
    return {"shape": tuple(lead + shape)}


def KEY(rng, a):
    key = _basic_key(rng, a)
    return None if key is None else {"key": key}


def TAKE(rng, a):  # integer arrays, with repeats
    if not a:
        return None
    r = rng.random()
    if r < 0.25 and len(a) >= 2:
        m = int(rng.integers(1, 5))
        return {"key": (Index(rng.integers(-a[0], a[0], m)), Index(rng.integers(-a[1], a[1], m)))}
    d = 0 if r < 0.6 else int(rng.integers(0, len(a)))
    idx = rng.integers(-a[d], a[d], int(rng.integers(1, 5)))
    idx = np.append(idx, idx[0])  # a repeat
    return {"key": (slice(None),) * d + (Index(idx),)}


def MASK(rng, a):
    return {"key": _mask(rng, a[:int(rng.integers(1, len(a) + 1))])} if a else None


def CAT(rng, a, b):
    if not a or len(a) != len(b):
        return None
    differ = [k for k in range(len(a)) if a[k] != b[k]]
    if len(differ) > 1:
        return None
    d = differ[0] if differ else int(rng.integers(0, len(a)))
    return {"dim": d - len(a) if rng.random() < 0.3 else d}


def CAT_W(rng, a):
    if not a:
        return None
    d = int(rng.integers(0, len(a)))
    shape = list(a)
    shape[d] = int(rng.integers(1, 4))
    return {"w": Param(_values(rng, tuple(shape))), "dim": d}


def STACK(rng, a, b):
    return {"dim": int(rng.integers(-len(a) - 1, len(a) + 1))} if a == b else None


def SET_KEY(rng, a):  # where t[key] op= ... may write: a view, or a mask (no repeats)
    if not a:
        return None
    key = _basic_key(rng, a, allow_none=False) if rng.random() < 0.75 else _mask(rng, a)
    return None if key is None else {"key": key}


def ROW_INTO(rng, a, b):  # v = a[i]; v += b
    if not a or _bc(a[1:], b) != tuple(a[1:]):
        return None
    return {"i": int(rng.integers(-a[0], a[0]))}


def SET_FROM(rng, a, b):  # a[key] = b
    p = SET_KEY(rng, a)
    if p is None or _bc(_indexed_shape(a, p["key"]), b) != _indexed_shape(a, p["key"]):
        return None
    return p


def TRANSPOSED_INTO(rng, a, b):
    if len(a) < 2:
        return None
    i, j = _dim(rng, len(a)), _dim(rng, len(a))
    t = list(a)
    t[i], t[j] = t[j], t[i]
    return {"i": i, "j": j} if _bc(t, b) == tuple(t) else None


# draws of the everyday ops (sin ... swapdims)


def DIM_KEEP(rng, a):
    return {"dim": _dim(rng, len(a)), "keepdim": bool(rng.random() < 0.5)} if a else None


def VAR_DIMS(rng, a):  # at least two elements per slice (no division by 0 dof)
    p = DIMS(rng, a)
    if p is None:
        return None
    dims = p["dim"] if isinstance(p["dim"], tuple) else (p["dim"],)
    return p if np.prod([a[d] for d in dims]) > 1 else None


def VECTORS(rng, a, b):
    return {} if len(a) == 1 and len(b) == 1 else None


def SAME_VECTORS(rng, a, b):
    return {} if len(a) == 1 and a == b else None


def EINSUM1(rng, a):
    n = len(a)
    options = {0: [], 1: ["i->", "i->i"], 2: ["ij->ji", "ij->j", "ij->i", "ij->"],
               3: ["ijk->kij", "ijk->j", "ijk->ik"]}.get(n, [])
    if n == 2 and a[0] == a[1]:
        options += ["ii->"]  # not "ii->i": PyTorch's diagonal is a view, ours a copy
    return {"eq": str(rng.choice(options))} if options else None


def EINSUM2(rng, a, b):
    options = []
    if len(a) == 2 and len(b) == 2 and a[1] == b[0]:
        options.append("ij,jk->ik")
    if len(a) == 3 and len(b) == 3 and a[0] == b[0] and a[2] == b[1]:
        options.append("bij,bjk->bik")
    if len(a) == 1 and len(b) == 1:
        options.append("i,j->ij")
    if len(a) == 2 and a == b:
        options.append("ij,ij->i")
    if len(a) == 2 and len(b) == 1 and a[1] == b[0]:
        options.append("ij,j")
    return {"eq": str(rng.choice(options))} if options else None


def GATHER(rng, a):
    if not a:
        return None
    d = int(rng.integers(0, len(a)))
    shape = [int(rng.integers(1, n + 1)) for n in a]
    shape[d] = int(rng.integers(1, 4))
    return {"dim": d - len(a) if rng.random() < 0.3 else d,
            "index": Index(rng.integers(0, a[d], shape))}


def SELECT(rng, a):
    if not a:
        return None
    d = int(rng.integers(0, len(a)))
    return {"dim": d, "index": Index(rng.integers(0, a[d], int(rng.integers(1, 5))))}


def FILL(rng, a):
    return {"mask": _mask(rng, a[len(a) - int(rng.integers(0, len(a) + 1)):]),
            "c": float(rng.choice(SC0))}


def REPEAT(rng, a):
    return {"sizes": tuple(int(n) for n in rng.integers(1, 3, len(a) + int(rng.integers(0, 2))))}


def SAME_SIZE(rng, a, b):
    return {} if int(np.prod(a)) == int(np.prod(b)) else None


def EXPAND_TO(rng, a, b):
    return {} if _bc(a, b) == tuple(b) else None


def START_END(rng, a):
    if not a:
        return None
    start = int(rng.integers(0, len(a)))
    return {"start": start, "end": int(rng.integers(start, len(a))) - len(a) * int(
        rng.random() < 0.3)}


def UNFLATTEN(rng, a):
    if not a:
        return None
    d = _dim(rng, len(a))
    n = a[d]
    return {"dim": d, "sizes": (n,) if rng.random() < 0.3 else (1, -1) if rng.random() < 0.5
            else (n, 1)}


def SPLIT(rng, a):
    if not a:
        return None
    d = _dim(rng, len(a))
    n = a[d]
    how = int(rng.integers(1, 4))
    if rng.random() < 0.4:
        cut = int(rng.integers(0, n + 1))
        how = [cut, n - cut]
    pieces = len(how) if isinstance(how, list) else -(-n // how)
    return {"how": how, "dim": d, "k": int(rng.integers(0, pieces))}


def CHUNK(rng, a):
    if not a:
        return None
    d = _dim(rng, len(a))
    chunks = int(rng.integers(1, 5))
    return {"chunks": chunks, "dim": d, "k": int(rng.integers(0, -(-a[d] // -(-a[d] // chunks))))}


def FLIP(rng, a):
    return {"dims": _dims_tuple(rng, len(a))} if a else None


def DIAGONAL(rng, a):
    return {"diagonal": int(rng.integers(-2, 3))} if len(a) >= 2 else None


def NEAR_INT(x, p):  # floor and ceil
    return np.abs(x[0] - np.round(x[0])).ravel()


def NEAR_HALF(x, p):  # round
    return np.abs(np.abs(x[0] - np.floor(x[0])) - 0.5).ravel()


def ABS_TIES(x, p):  # max |x|: ties of |x| and zeros
    m = np.abs(x[0]).ravel()
    return np.concatenate([np.diff(np.sort(m)), m])


# --- domains: which input values a step accepts (float64 arrays, the step's params) ----


def POS(x, p):
    return bool((x[0] > 0.05).all())


def NONNEG(x, p):
    return bool((x[0] >= 0).all())


def SMALL(x, p):
    return bool((np.abs(x[0]) < 10).all())


def B_NONZERO(x, p):
    return bool((np.abs(x[1]) > 0.25).all())


def A_NONZERO(x, p):
    return bool((np.abs(x[0]) > 0.25).all())


# --- PyTorch's amax, selecting ----------------------------------------------------------


class _Amax(torch.autograd.Function):
    """torch.amax / amin with PyTorch's gradient (split evenly between ties), selected
    with torch.where instead of multiplied by the 0/1 mask of the maxima: the same
    numbers, except that an inf or NaN upstream stays on the maxima instead of turning
    the rest of the row into NaN. The engine selects there on purpose (README's
    deliberate differences)."""

    @staticmethod
    def forward(ctx, a, dim, keepdim, smallest):
        out = torch.amin(a, dim, keepdim) if smallest else torch.amax(a, dim, keepdim)
        ctx.save_for_backward(a, out)
        ctx.dims = tuple(sorted(d % a.ndim for d in (dim if isinstance(dim, tuple) else (dim,))))
        ctx.keepdim = keepdim
        return out

    @staticmethod
    def backward(ctx, g):
        a, out = ctx.saved_tensors
        if not ctx.keepdim:
            for d in ctx.dims:
                g, out = g.unsqueeze(d), out.unsqueeze(d)
        hits = a == out
        count = hits.sum(ctx.dims, keepdim=True)
        return torch.where(hits, g / count, torch.zeros_like(g)), None, None, None


def amax(a, dim, keepdim, smallest=False):
    return _Amax.apply(a, dim, keepdim, smallest)


# --- jumps: how far the input values are from where a step is discontinuous -----------
# (in value or derivative). Ties and kinks are wanted, but only exact ones: see _fragile.


def AT0(x, p):  # relu, abs, sqrt, log and pow at 0
    return np.concatenate([np.abs(v).ravel() for v in x])


def AT_0_1(x, p):
    return np.minimum(np.abs(x[0]), np.abs(x[0] - 1)).ravel()


def AT_BOUNDS(x, p):  # clamp
    return np.minimum(np.abs(x[0] - p["lo"]), np.abs(x[0] - p["hi"])).ravel()


def APART(x, p):  # a against b: maximum, where(a > b, ...)
    return np.abs(x[0] - x[1]).ravel()


def FROM_C(x, p):  # a against the scalar c
    return np.abs(x[0] - p["c"]).ravel()


def TIES(x, p):  # max and min: gaps between the values
    return np.diff(np.sort(x[0].ravel()))


# --- THE TABLE ------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One op of the vocabulary.

    ours(M, *tensors, **params) applies it with M = tinygrad_edu; theirs is the PyTorch
    spelling when it differs (None: ours also runs with M = torch). draw(rng, *shapes)
    gives the params, or None when the input shapes do not fit; domain(arrays, params)
    says whether the input values are acceptable; jump(arrays, params) gives how far
    they are from where the op is discontinuous (in value or derivative). smooth: usable
    for higher derivatives; inplace: changes its first input; kink: reaches a domain
    edge (inf, log 0, 0**0), float64 only; vshape: the result's shape depends on the
    values (not in float32 runs).
    """

    name: str
    arity: int
    ours: Callable
    theirs: Callable | None = None
    draw: Callable = ANY
    domain: Callable | None = None
    jump: Callable | None = None
    smooth: bool = False
    inplace: bool = False
    kink: bool = False
    vshape: bool = False


E = Entry


def _iadd(M, a, b):
    a += b
    return a


def _isub(M, a, b):
    a -= b
    return a


def _imul(M, a, b):
    a *= b
    return a


def _idiv(M, a, b):
    a /= b * b + 0.5
    return a


def _iadd_s(M, a, c):
    a += c
    return a


def _isub_s(M, a, c):
    a -= c
    return a


def _imul_s(M, a, c):
    a *= c
    return a


def _idiv_s(M, a, c):
    a /= c
    return a


def _row_iadd(M, a, b, i):  # v = t[i]; v += x
    v = a[i]
    v += b
    return a


def _slice_imul(M, a, key, c):  # t[key] *= c: getitem, in-place mul, setitem
    a[key] *= c
    return a


def _slice_iadd(M, a, b, key):  # t[key] += x
    a[key] += b
    return a


def _view_mul_(M, a, shape, c):  # v = t.view(shape); v.mul_(c); t is used later
    v = a.view(shape)
    v.mul_(c)
    return a


def _transpose_add_(M, a, b, i, j):
    a.transpose(i, j).add_(b)
    return a


def _setitem_s(M, a, key, c):
    a[key] = c
    return a


def _setitem_t(M, a, b, key):
    a[key] = b
    return a


def _no_grad_update(M, a, b):  # an optimizer-style step inside the graph
    with M.no_grad():
        a -= 0.5 * b
    return a


TABLE: list[Entry] = [
    # arithmetic, tensor and Python-scalar operands on both sides
    E("add", 2, lambda M, a, b: a + b, draw=BC, smooth=True),
    E("sub", 2, lambda M, a, b: a - b, draw=BC, smooth=True),
    E("mul", 2, lambda M, a, b: a * b, draw=BC, smooth=True),
    E("div", 2, lambda M, a, b: a / (b * b + 0.5), draw=BC, smooth=True),
    E("div_raw", 2, lambda M, a, b: a / b, draw=BC, domain=B_NONZERO, smooth=True),
    E("methods", 2, lambda M, a, b: a.add(b).mul(a).sub(b).div(2.0), draw=BC, smooth=True),
    E("add_const", 1, lambda M, a, k: a + k, draw=CONST, smooth=True),
    E("const_sub", 1, lambda M, a, k: k - a, draw=CONST, smooth=True),
    E("mul_param", 1, lambda M, a, w: a * w, draw=PARAM, smooth=True),
    E("add_s", 1, lambda M, a, c: a + c, draw=scalar(SC0), smooth=True),
    E("s_add", 1, lambda M, a, c: c + a, draw=scalar(SC0), smooth=True),
    E("sub_s", 1, lambda M, a, c: a - c, draw=scalar(SC0), smooth=True),
    E("s_sub", 1, lambda M, a, c: c - a, draw=scalar(SC0), smooth=True),
    E("s_mul", 1, lambda M, a, c: c * a, draw=scalar(SC0), smooth=True),
    E("mul_s", 1, lambda M, a, c: a * c, draw=scalar(SC0), smooth=True),
    E("div_s", 1, lambda M, a, c: a / c, draw=scalar(SC), smooth=True),
    E("s_div", 1, lambda M, a, c: c / (a * a + 0.5), draw=scalar(SC), smooth=True),
    E("s_div_raw", 1, lambda M, a, c: c / a, draw=scalar(SC), domain=A_NONZERO, smooth=True),
    E("neg", 1, lambda M, a: -a, smooth=True),
    E("square", 1, lambda M, a: a * a, smooth=True),
    E("diamond", 1, lambda M, a: (a * 2.0) * a.tanh() - a, smooth=True),
    # pow on positive bases, tensor and scalar exponents
    E("pow_s", 1, lambda M, a, c: (a.abs() + 0.5) ** c, draw=scalar(POWS), jump=AT0),
    E("pow_s_smooth", 1, lambda M, a, c: (a * a + 0.5).pow(c), draw=scalar(POWS), smooth=True),
    E("pow_t", 2, lambda M, a, b: (a * a + 0.5) ** b, draw=BC, domain=lambda x, p: bool(
        (np.abs(x[1]) < 4).all()), smooth=True),
    E("pow_pos", 2, lambda M, a, b: a ** b, draw=BC, domain=lambda x, p: POS(x, p) and bool(
        (np.abs(x[1]) < 4).all()), smooth=True),
    E("s_pow", 1, lambda M, a, c: c ** a, draw=scalar((0.5, 2.0, 3.0)), domain=SMALL,
      smooth=True),
    E("pow_nonneg_s", 1, lambda M, a, c: a ** c, draw=scalar((0.0, 0.5, 1.0, 2.0, 3.0)),
      domain=NONNEG, kink=True, jump=AT0),
    E("pow_nonneg_t", 2, lambda M, a, b: a ** b, draw=BC, domain=lambda x, p: NONNEG(x, p)
      and bool(((x[1] >= 0) & (x[1] < 4)).all()), kink=True, jump=AT0),
    # exp, log, sqrt on safe domains (and at the edge of theirs)
    E("exp", 1, lambda M, a: a.exp(), domain=lambda x, p: bool(x[0].max() < 6), smooth=True),
    E("exp_fn", 1, lambda M, a: M.exp(a), domain=lambda x, p: bool(x[0].max() < 6)),
    E("log", 1, lambda M, a: (a.abs() + 0.5).log(), jump=AT0),
    E("log_smooth", 1, lambda M, a: (a * a + 0.5).log(), smooth=True),
    E("log_pos", 1, lambda M, a: a.log(), domain=POS, smooth=True),
    E("log_nonneg", 1, lambda M, a: M.log(a), domain=NONNEG, kink=True, jump=AT0),
    E("sqrt", 1, lambda M, a: (a.abs() + 0.5).sqrt(), jump=AT0),
    E("sqrt_smooth", 1, lambda M, a: M.sqrt(a * a + 0.5), smooth=True),
    E("sqrt_nonneg", 1, lambda M, a: a.sqrt(), domain=NONNEG, kink=True, jump=AT0),
    # gates (relu, clamp, maximum, pow at 0) below an infinite gradient
    E("relu_sqrt", 1, lambda M, a: a.relu().sqrt(), kink=True, jump=AT0),
    E("relu_log", 1, lambda M, a: a.relu().log(), kink=True, jump=AT0),
    E("clamp_sqrt", 1, lambda M, a: a.clamp(0.0, 1.0).sqrt(), kink=True, jump=AT_0_1),
    E("maximum_sqrt", 1, lambda M, a, k: M.maximum(a, k).sqrt(), draw=lambda rng, a: {
        "k": Const(np.zeros(_partner(rng, a)))}, kink=True, jump=AT0),
    E("relu_pow_s", 1, lambda M, a, c: a.relu() ** c, draw=scalar((0.0, 0.5, 1.0, 2.0)),
      kink=True, jump=AT0),
    E("square_pow_s", 1, lambda M, a, c: (a * a) ** c, draw=scalar((0.0, 0.0, 0.5, 1.0, 2.0)),
      kink=True, jump=AT0),
    E("square_pow_t", 2, lambda M, a, b: (a * a) ** (b * b + 1.0), draw=BC, domain=lambda x, p:
      bool((np.abs(x[1]) < 1.5).all()), kink=True, jump=AT0),
    E("relu_pow_t", 2, lambda M, a, b: a.relu() ** (b * b), draw=BC, domain=lambda x, p: bool(
        (np.abs(x[1]) < 2).all()), kink=True, jump=AT0),
    # elementwise
    E("abs", 1, lambda M, a: a.abs(), jump=AT0),
    E("tanh", 1, lambda M, a: a.tanh(), smooth=True),
    E("sigmoid", 1, lambda M, a: a.sigmoid(), smooth=True),
    E("sigmoid_fn", 1, lambda M, a: M.sigmoid(a), smooth=True),
    E("relu", 1, lambda M, a: a.relu(), jump=AT0),
    E("relu_fn", 1, lambda M, a: M.relu(a), jump=AT0),
    E("clamp", 1, lambda M, a, lo, hi: a.clamp(lo, hi), draw=CLAMP, jump=AT_BOUNDS),
    E("clamp_min", 1, lambda M, a, lo, hi: a.clamp(min=lo), draw=CLAMP, jump=AT_BOUNDS),
    E("clamp_max", 1, lambda M, a, lo, hi: a.clamp(max=hi), draw=CLAMP, jump=AT_BOUNDS),
    E("maximum", 2, lambda M, a, b: M.maximum(a, b), draw=BC, jump=APART),
    E("minimum", 2, lambda M, a, b: M.minimum(a, b), draw=BC, jump=APART),
    E("where_gt", 2, lambda M, a, b: M.where(a > b, a, b), draw=BC, smooth=True, jump=APART),
    # integer and boolean tensors in the middle of a float program (the data model)
    E("bool_mul", 1, lambda M, a: a * (a > 0), jump=AT0),
    E("bool_to", 1, lambda M, a: (a > 0).to(a.dtype) * a + (a < 0).long(), jump=AT0),
    E("eq_select", 2, lambda M, a, b: M.where(a == b, a, b * 2.0), draw=BC, jump=APART),
    E("long_add", 1, lambda M, a: a + (a * 3.0).long(), jump=lambda x, p: bool(
        np.abs(3.0 * x[0] - np.round(3.0 * x[0])).min() > 1e-3) if x[0].size else True),
    E("argmax_pick", 1, lambda M, a: a.flatten()[a.flatten().argmax()] * 1.0,
      draw=ND(1), jump=TIES),
    E("count_true", 1, lambda M, a: a * (a > 0).sum().to(a.dtype), jump=AT0),
    E("where_lt3", 3, lambda M, a, b, c: M.where(a < b, c, a * 2.0), draw=BC, smooth=True,
      jump=APART),
    E("where_s", 2, lambda M, a, b, c: M.where(a >= c, b, c), draw=with_(BC, scalar(SC0)),
      jump=FROM_C),
    # reductions
    E("sum", 1, lambda M, a: a.sum(), smooth=True),
    E("sum_dim", 1, lambda M, a, dim, keepdim: a.sum(dim=dim, keepdim=keepdim), draw=DIMS,
      smooth=True),
    E("mean", 1, lambda M, a: a.mean(), smooth=True),
    E("mean_dim", 1, lambda M, a, dim, keepdim: a.mean(dim=dim, keepdim=keepdim), draw=DIMS,
      smooth=True),
    E("max", 1, lambda M, a: a.max(), jump=TIES),
    E("min", 1, lambda M, a: a.min(), jump=TIES),
    E("max_dim", 1, lambda M, a, dim, keepdim: a.amax(dim=dim, keepdim=keepdim),
      lambda M, a, dim, keepdim: amax(a, dim, keepdim), draw=DIMS, jump=TIES),
    E("min_dim", 1, lambda M, a, dim, keepdim: a.amin(dim=dim, keepdim=keepdim),
      lambda M, a, dim, keepdim: amax(a, dim, keepdim, smallest=True), draw=DIMS, jump=TIES),
    # max(dim) / min(dim): (values, indices), the gradient to the index (first of ties)
    E("max_values", 1, lambda M, a, dim: a.max(dim=dim).values, draw=DIM),
    E("min_values_keep", 1, lambda M, a, dim: a.min(dim, keepdim=True).values, draw=DIM),
    # every maximum tied (a next to itself): the gradient must be split
    E("max_ties", 1, lambda M, a, dim: M.cat([a, a], dim=dim).amax(dim=dim),
      lambda M, a, dim: amax(M.cat([a, a], dim=dim), dim, False), draw=DIM, jump=TIES),
    E("min_ties", 1, lambda M, a: M.stack([a, a * 1.0]).min(), jump=TIES),
    E("softmax", 1, lambda M, a, dim: a.softmax(dim=dim), draw=DIM, smooth=True),
    E("softmax_fn", 1, lambda M, a, dim: M.softmax(a, dim), draw=DIM, smooth=True),
    E("log_softmax", 1, lambda M, a, dim: a.log_softmax(dim=dim), draw=DIM, smooth=True),
    E("logsumexp", 1, lambda M, a, dim, keepdim: a.logsumexp(dim=dim, keepdim=keepdim),
      draw=DIMS, smooth=True),
    # matrix products: 1-D, 2-D, batched
    E("matmul", 2, lambda M, a, b: a @ b, draw=MATMUL, smooth=True),
    E("matmul_fn", 2, lambda M, a, b: M.matmul(a, b), draw=MATMUL, smooth=True),
    E("matmul_param", 1, lambda M, a, w: a @ w, draw=RIGHT_W, smooth=True),
    E("param_matmul", 1, lambda M, a, w: w @ a, draw=LEFT_W, smooth=True),
    E("gram", 1, lambda M, a: a @ a.transpose(-1, -2), draw=ND(2), smooth=True),
    E("mm_param", 1, lambda M, a, w: a.mm(w), draw=MM_W, smooth=True),
    # shapes and views (identity ones included: they must still make new tensors)
    E("reshape", 1, lambda M, a, shape: a.reshape(shape), draw=RESHAPE, smooth=True),
    E("view", 1, lambda M, a, shape: a.view(shape), draw=RESHAPE, smooth=True),
    E("reshape_same", 1, lambda M, a: a.reshape(tuple(a.shape)), smooth=True),
    E("view_same", 1, lambda M, a: a.view(tuple(a.shape)), smooth=True),
    E("flatten", 1, lambda M, a: a.flatten(), draw=ND(1), smooth=True),
    E("permute", 1, lambda M, a, dims: a.permute(*dims), draw=PERM, smooth=True),
    E("permute_id", 1, lambda M, a: a.permute(0, 1), draw=ND(2, 2), smooth=True),
    E("transpose", 1, lambda M, a, i, j: a.transpose(i, j), draw=TWO_DIMS, smooth=True),
    E("mT", 1, lambda M, a: a.mT, draw=ND(2), smooth=True),
    E("squeeze", 1, lambda M, a: a.squeeze(), smooth=True),
    E("squeeze_d", 1, lambda M, a, dim: a.squeeze(dim), draw=DIM, smooth=True),
    E("squeeze_dims", 1, lambda M, a, dims: a.squeeze(dims), draw=SQUEEZE_DIMS, smooth=True),
    E("unsqueeze", 1, lambda M, a, d: a.unsqueeze(d), draw=UNSQUEEZE, smooth=True),
    E("expand", 1, lambda M, a, shape: a.expand(*shape), draw=EXPAND, smooth=True),
    E("clone", 1, lambda M, a: a.clone(), smooth=True),
    # indexing
    E("slice", 1, lambda M, a, key: a[key], draw=KEY, smooth=True),
    E("take", 1, lambda M, a, key: a[key], draw=TAKE, smooth=True),
    E("mask", 1, lambda M, a, key: a[key], draw=MASK, smooth=True),
    E("mask_gt", 1, lambda M, a, c: a[a > c], draw=scalar(SC0),
      domain=lambda x, p: bool((x[0] > p["c"]).any()), vshape=True, jump=FROM_C),
    # joining
    E("cat", 2, lambda M, a, b, dim: M.cat([a, b], dim=dim), draw=CAT, smooth=True),
    E("cat_self", 1, lambda M, a, dim: M.cat([a, a.tanh(), a], dim=dim), draw=DIM,
      smooth=True),
    E("cat_param", 1, lambda M, a, w, dim: M.cat([w, a], dim=dim), draw=CAT_W, smooth=True),
    E("stack", 2, lambda M, a, b, dim: M.stack([a, b], dim=dim), draw=STACK, smooth=True),
    E("stack_self", 1, lambda M, a, d: M.stack([a, -a], d), draw=UNSQUEEZE, smooth=True),
    # in-place on non-leaves (the result is input 0, changed)
    E("iadd", 2, _iadd, draw=INTO, inplace=True),
    E("isub", 2, _isub, draw=INTO, inplace=True),
    E("imul", 2, _imul, draw=INTO, inplace=True),
    E("idiv", 2, _idiv, draw=INTO, inplace=True),
    E("iadd_s", 1, _iadd_s, draw=scalar(SC), inplace=True),
    E("isub_s", 1, _isub_s, draw=scalar(SC), inplace=True),
    E("imul_s", 1, _imul_s, draw=scalar(SC0), inplace=True),
    E("idiv_s", 1, _idiv_s, draw=scalar(SC), inplace=True),
    E("add_", 2, lambda M, a, b: a.add_(b), draw=INTO, inplace=True),
    E("mul_", 2, lambda M, a, b: a.mul_(b), draw=INTO, inplace=True),
    E("sub_", 2, lambda M, a, b: a.sub_(b), draw=INTO, inplace=True),
    E("add_s_", 1, lambda M, a, c: a.add_(c), draw=scalar(SC), inplace=True),
    E("mul_s_", 1, lambda M, a, c: a.mul_(c), draw=scalar(SC0), inplace=True),
    E("div_s_", 1, lambda M, a, c: a.div_(c), draw=scalar(SC), inplace=True),
    E("zero_", 1, lambda M, a: a.zero_(), inplace=True),
    E("no_grad_update", 2, _no_grad_update, draw=INTO, inplace=True),
    # in-place through views (the result is the base, input 0)
    E("row_iadd", 2, _row_iadd, draw=ROW_INTO, inplace=True),
    E("slice_imul", 1, _slice_imul, draw=with_(SET_KEY, scalar(SC0)), inplace=True),
    E("slice_iadd", 2, _slice_iadd, draw=lambda rng, a, b: SET_FROM(rng, a, b), inplace=True),
    E("view_mul_", 1, _view_mul_, draw=with_(RESHAPE, scalar(SC)), inplace=True),
    E("transpose_add_", 2, _transpose_add_, draw=TRANSPOSED_INTO, inplace=True),
    E("setitem_s", 1, _setitem_s, draw=with_(SET_KEY, scalar(SC0)), inplace=True),
    E("setitem_t", 2, _setitem_t, draw=SET_FROM, inplace=True),
    # leaving the graph
    E("detach", 1, lambda M, a: a.detach()),
    E("detach_leaf", 1, lambda M, a: a.detach().requires_grad_()),
    # the everyday ops (sin ... swapdims)
    E("sin", 1, lambda M, a: a.sin(), smooth=True),
    E("cos", 1, lambda M, a: a.cos(), smooth=True),
    E("tan", 1, lambda M, a: a.tan(), domain=lambda x, p: bool((np.abs(x[0]) < 1.2).all()),
      smooth=True),
    E("log2", 1, lambda M, a: a.log2(), domain=POS, smooth=True),
    E("log10", 1, lambda M, a: a.log10(), domain=POS, smooth=True),
    E("log1p", 1, lambda M, a: a.log1p(), domain=lambda x, p: bool((x[0] > -0.9).all()),
      smooth=True),
    E("expm1", 1, lambda M, a: a.expm1(), domain=lambda x, p: bool(x[0].max() < 6),
      smooth=True),
    E("square_fn", 1, lambda M, a: a.square(), smooth=True),
    E("rsqrt", 1, lambda M, a: a.rsqrt(), domain=POS, smooth=True),
    E("reciprocal", 1, lambda M, a: a.reciprocal(), domain=A_NONZERO, smooth=True),
    E("sign", 1, lambda M, a: a.sign(), jump=AT0),
    E("floor", 1, lambda M, a: a.floor(), jump=NEAR_INT),
    E("ceil", 1, lambda M, a: a.ceil(), jump=NEAR_INT),
    E("round", 1, lambda M, a: a.round(), jump=NEAR_HALF),
    E("clamp_min_fn", 1, lambda M, a, lo, hi: a.clamp_min(lo), draw=CLAMP, jump=AT_BOUNDS),
    E("clamp_max_fn", 1, lambda M, a, lo, hi: a.clamp_max(hi), draw=CLAMP, jump=AT_BOUNDS),
    E("norm", 1, lambda M, a: a.norm(), jump=AT0),
    E("norm_dim", 1, lambda M, a, dim, keepdim: a.norm(2, dim, keepdim), draw=DIMS, jump=AT0),
    E("norm_1", 1, lambda M, a, dim, keepdim: a.norm(1, dim=dim, keepdim=keepdim), draw=DIMS,
      jump=AT0),
    E("norm_inf", 1, lambda M, a, dim, keepdim: a.norm(float("inf"), dim, keepdim),
      lambda M, a, dim, keepdim: amax(a.abs(), dim, keepdim), draw=DIMS, jump=ABS_TIES),
    E("var", 1, lambda M, a, dim, keepdim: a.var(dim=dim, keepdim=keepdim), draw=VAR_DIMS,
      smooth=True),
    E("var_biased", 1, lambda M, a, dim, keepdim: a.var(dim, unbiased=False, keepdim=keepdim),
      draw=VAR_DIMS, smooth=True),
    E("std", 1, lambda M, a, dim, keepdim: a.std(dim=dim, correction=0, keepdim=keepdim),
      draw=VAR_DIMS, jump=TIES),
    E("prod", 1, lambda M, a: a.prod(), smooth=True),
    E("prod_dim", 1, lambda M, a, dim, keepdim: a.prod(dim, keepdim=keepdim), draw=DIM_KEEP,
      smooth=True),
    E("cumsum", 1, lambda M, a, dim: a.cumsum(dim), draw=DIM, smooth=True),
    E("outer", 2, lambda M, a, b: a.outer(b), draw=VECTORS, smooth=True),
    E("dot", 2, lambda M, a, b: a.dot(b), draw=SAME_VECTORS, smooth=True),
    E("einsum", 1, lambda M, a, eq: M.einsum(eq, a), draw=EINSUM1, smooth=True),
    E("einsum2", 2, lambda M, a, b, eq: M.einsum(eq, a, b), draw=EINSUM2, smooth=True),
    E("gather", 1, lambda M, a, dim, index: a.gather(dim, index), draw=GATHER, smooth=True),
    E("index_select", 1, lambda M, a, dim, index: a.index_select(dim, index), draw=SELECT,
      smooth=True),
    E("masked_fill", 1, lambda M, a, mask, c: a.masked_fill(mask, c), draw=FILL, smooth=True),
    E("repeat", 1, lambda M, a, sizes: a.repeat(*sizes), draw=REPEAT, smooth=True),
    E("expand_as", 2, lambda M, a, b: a.expand_as(b), draw=EXPAND_TO, smooth=True),
    E("view_as", 2, lambda M, a, b: a.view_as(b), draw=SAME_SIZE, smooth=True),
    E("reshape_as", 2, lambda M, a, b: a.reshape_as(b), draw=SAME_SIZE, smooth=True),
    E("flatten_dims", 1, lambda M, a, start, end: a.flatten(start, end), draw=START_END,
      smooth=True),
    E("unflatten", 1, lambda M, a, dim, sizes: a.unflatten(dim, sizes), draw=UNFLATTEN,
      smooth=True),
    E("split", 1, lambda M, a, how, dim, k: a.split(how, dim)[k], draw=SPLIT, smooth=True),
    E("chunk", 1, lambda M, a, chunks, dim, k: a.chunk(chunks, dim)[k], draw=CHUNK,
      smooth=True),
    E("flip", 1, lambda M, a, dims: a.flip(dims), draw=FLIP, smooth=True),
    E("tril", 1, lambda M, a, diagonal: a.tril(diagonal), draw=DIAGONAL, smooth=True),
    E("triu", 1, lambda M, a, diagonal: a.triu(diagonal=diagonal), draw=DIAGONAL, smooth=True),
    E("t", 1, lambda M, a: a.t(), draw=ND(0, 2), smooth=True),
    E("swapaxes", 1, lambda M, a, i, j: a.swapaxes(i, j), draw=TWO_DIMS, smooth=True),
    E("swapdims", 1, lambda M, a, i, j: a.swapdims(i, j), draw=TWO_DIMS, smooth=True),
]
ENTRY = {e.name: e for e in TABLE}
assert len(ENTRY) == len(TABLE), "entry names must be unique"


# --- programs -------------------------------------------------------------------------


@dataclass
class Step:
    entry: str
    args: tuple[int, ...]
    params: dict
    no_grad: bool = False


@dataclass
class Program:
    seed: int
    kind: str  # f64, f32, smooth, invalid
    leaves: list[tuple[np.ndarray, bool]]
    steps: list[Step]
    outputs: list[int] = field(default_factory=list)  # summed (weighted) into the loss
    weights: list[np.ndarray] = field(default_factory=list)
    wrt: list[int] = field(default_factory=list)  # autograd.grad(loss, these)
    higher: list[list[np.ndarray]] = field(default_factory=list)  # smooth: weights per order
    bad: tuple | None = None  # invalid: (BAD entry name, params)

    def describe(self) -> str:
        lines = [f"program seed={self.seed} kind={self.kind}; reproduce with: "
                 f"python -m tests.test_fuzz_vs_torch {self.seed} {self.kind}"]
        for j, (x, rg) in enumerate(self.leaves):
            lines.append(f"  x{j} = tensor(shape {x.shape}, requires_grad={rg})  "
                         f"{np.array2string(x.ravel()[:6], precision=3)}")
        n = len(self.leaves)
        for k, s in enumerate(self.steps):
            params = ", ".join(f"{name}={_fmt_param(v)}" for name, v in s.params.items())
            args = ", ".join(f"x{i}" for i in s.args)
            prefix = "with no_grad(): " if s.no_grad else ""
            note = f"   # in place: changes x{s.args[0]}" if ENTRY[s.entry].inplace else ""
            lines.append(f"  x{n + k} = {prefix}{s.entry}({args}{'; ' if params else ''}"
                         f"{params}){note}")
        if self.outputs:
            lines.append("  loss = " + " + ".join(f"(x{i} * w{i}).sum()" for i in self.outputs))
        if self.wrt:
            lines.append("  autograd.grad(loss, [" + ", ".join(f"x{i}" for i in self.wrt)
                         + "], retain_graph=True, allow_unused=True); loss.backward()")
        if self.higher:
            lines.append(f"  derivatives of orders 1-{len(self.higher) + 1} w.r.t. the leaves")
        if self.bad:
            lines.append(f"  then the invalid action {self.bad[0]}({_fmt_params(self.bad[1])})")
        lines.append("  where:")
        for name in dict.fromkeys(s.entry for s in self.steps):
            e = ENTRY[name]
            fns = [e.ours] + ([e.theirs] if e.theirs else [])
            for fn in fns:
                lines.append(f"    {name}: {_source(fn)}")
        return "\n".join(lines)


def _fmt_param(v) -> str:
    if isinstance(v, slice):
        return ":".join("" if x is None else str(x) for x in (v.start, v.stop, v.step))
    if isinstance(v, tuple):
        return "[" + ", ".join("..." if x is Ellipsis else _fmt_param(x) for x in v) + "]"
    return repr(v)


def _fmt_params(p: dict) -> str:
    return ", ".join(f"{k}={_fmt_param(v)}" for k, v in p.items())


def _source(fn) -> str:
    """The code of a TABLE function, short: a lambda's text, or a def's statements."""
    try:
        text = inspect.getsource(fn)
    except (OSError, TypeError):
        return repr(fn)
    if fn.__name__ != "<lambda>":
        lines = [line.split("#")[0].strip() for line in text.splitlines()]
        return lines[0].removeprefix("def ") + " " + "; ".join(x for x in lines[1:] if x)
    text = " ".join(text.split())
    text = text[text.index("lambda"):]
    depth, end = 0, len(text)
    for k in range(text.index(":") + 1, len(text)):  # the body ends at a ',' or ')' of depth 0
        if text[k] in "([{":
            depth += 1
        elif text[k] in ")]}," and depth == 0:
            end = k
            break
        elif text[k] in ")]}":
            depth -= 1
    return text[:end]


# --- running a program on one engine --------------------------------------------------


class Backend:
    """tinygrad_edu or PyTorch, in float64 or float32."""

    def __init__(self, lib: str, dtype=np.float64):
        self.is_torch = lib == "torch"
        self.M = torch if self.is_torch else tg
        self.dtype = np.dtype(dtype)
        self.name = f"{lib}/{self.dtype}"

    def tensor(self, x: np.ndarray, requires_grad: bool = False):
        x = np.array(x, dtype=self.dtype)
        if self.is_torch:
            return torch.tensor(x, requires_grad=requires_grad)
        return tg.tensor(x, requires_grad=requires_grad)

    def value(self, t) -> np.ndarray:
        if self.is_torch:
            return np.array(t.detach().numpy())
        return np.array(t.array)

    def convert(self, v, new_leaves: list):
        if isinstance(v, Const):
            return self.tensor(v.array)
        if isinstance(v, Param):
            t = self.tensor(v.array, requires_grad=True)
            new_leaves.append(t)
            return t
        if isinstance(v, Index):
            return torch.as_tensor(v.array) if self.is_torch else v.array
        if isinstance(v, tuple):
            return tuple(self.convert(x, new_leaves) for x in v)
        return v


def apply_step(B: Backend, step: Step, pool: list, new_leaves: list):
    e = ENTRY[step.entry]
    fn = e.theirs if B.is_torch and e.theirs is not None else e.ours
    params = {k: B.convert(v, new_leaves) for k, v in step.params.items()}
    block = B.M.no_grad() if step.no_grad else contextlib.nullcontext()
    with block:
        return fn(B.M, *[pool[i] for i in step.args], **params)


class Record:
    """What one run produced: labelled values in order, the stage each belongs to, and
    the exception of each stage that raised (the steps stop at the first one)."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self.stage: dict[str, str] = {}
        self.errors: dict[str, BaseException] = {}

    def add(self, label: str, value: Any, stage: str = "steps") -> None:
        self.values[label] = value
        self.stage[label] = stage


def _grad_or_none(B: Backend, g):
    return None if g is None else B.value(g)


def run(prog: Program, B: Backend) -> Record:
    rec = Record()
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pool = [B.tensor(x, rg) for x, rg in prog.leaves]
        new_leaves: list = []
        n = len(pool)
        for k, step in enumerate(prog.steps):
            where = f"step {k} (x{n + k} = {step.entry})"
            try:
                out = apply_step(B, step, pool, new_leaves)
            except Exception as exc:
                rec.errors[where] = exc
                return rec
            pool.append(out)
            rec.add(f"{where}: the result is the same object as",
                    next(i for i, t in enumerate(pool) if t is out))
            try:
                for j, t in enumerate(pool):
                    rec.add(f"after {where}: x{j}.is_leaf", t.is_leaf)
                    rec.add(f"after {where}: x{j}.requires_grad", t.requires_grad)
                    rec.add(f"after {where}: x{j} value", B.value(t))
            except Exception as exc:  # PyTorch refuses to look at some stale views
                rec.errors[f"reading the values after {where}"] = exc
                return rec
        if prog.bad is not None:
            _run_bad(prog, B, pool, rec)
        elif prog.higher:
            _run_higher(prog, B, pool, rec)
        elif prog.outputs:
            _run_grads(prog, B, pool, new_leaves, rec)
    return rec


LOSS, GRAD, BACKWARD = "the loss", "autograd.grad(loss, ...)", "loss.backward()"
HIGHER = "derivatives"


def _loss(prog: Program, B: Backend, pool: list):
    loss = None
    for i, w in zip(prog.outputs, prog.weights):
        term = (pool[i] * B.tensor(w)).sum()
        loss = term if loss is None else loss + term
    return loss


def _run_grads(prog, B, pool, new_leaves, rec) -> None:
    try:
        loss = _loss(prog, B, pool)
    except Exception as exc:  # e.g. an output of the wrong shape
        rec.errors[LOSS] = exc
        return
    rec.add("loss value", B.value(loss))
    rec.add("loss.requires_grad", loss.requires_grad)
    if not loss.requires_grad:
        return
    wanted = [pool[i] for i in prog.wrt]
    try:
        got = B.M.autograd.grad(loss, wanted, retain_graph=True, allow_unused=True)
        for i, g in zip(prog.wrt, got):
            rec.add(f"autograd.grad(loss, x{i})", _grad_or_none(B, g), GRAD)
    except Exception as exc:
        rec.errors[GRAD] = exc
    try:
        loss.backward()
    except Exception as exc:
        rec.errors[BACKWARD] = exc
        return
    for j, t in enumerate(pool):
        if not B.is_torch or t.is_leaf:  # PyTorch warns on .grad of a non-leaf
            rec.add(f"x{j}.grad", _grad_or_none(B, t.grad), BACKWARD)
    for j, t in enumerate(new_leaves):
        rec.add(f"param {j}.grad", _grad_or_none(B, t.grad), BACKWARD)


def _run_higher(prog, B, pool, rec) -> None:
    """First to third derivatives w.r.t. the leaves, each order a weighted sum of the
    previous one (create_graph=True). For orders above 1 a None counts as zero."""
    leaves = pool[:len(prog.leaves)]
    try:
        target = _loss(prog, B, pool)
    except Exception as exc:
        rec.errors[LOSS] = exc
        return
    for order in range(1, len(prog.higher) + 2):
        last = order == len(prog.higher) + 1
        if target is None or not target.requires_grad:
            grads = [None] * len(leaves)
        else:
            try:
                grads = B.M.autograd.grad(target, leaves, create_graph=not last,
                                          allow_unused=True)
            except Exception as exc:
                rec.errors[HIGHER] = exc
                return
        for j, g in enumerate(grads):
            value = _grad_or_none(B, g)
            if value is None and order > 1:
                value = np.zeros(leaves[j].shape, dtype=B.dtype)
            rec.add(f"order-{order} derivative w.r.t. x{j}", value, HIGHER)
        if not last:
            target = None
            for g, w in zip(grads, prog.higher[order - 1]):
                if g is not None and g.requires_grad:
                    term = (g * B.tensor(w)).sum()
                    target = term if target is None else target + term


# --- comparing two runs ---------------------------------------------------------------


NUMPY_PHRASES = ("operands could not be broadcast", "could not broadcast",
                 "non-broadcastable output", "cannot reshape array", "matmul: Input operand",
                 "all the input array dimensions", "all the input arrays must have",
                 "index ", "axis ", "too many indices", "shape mismatch")


def _bare_numpy(exc: BaseException) -> bool:
    """True if the exception came straight out of NumPy, not re-raised by the engine:
    raised inside NumPy's Python code, or worded as NumPy words it with nothing added."""
    tb = exc.__traceback__
    last = None
    while tb is not None:
        last = tb.tb_frame.f_code.co_filename
        tb = tb.tb_next
    if last is not None and os.path.abspath(last).startswith(NUMPY_DIR):
        return True
    return str(exc).startswith(NUMPY_PHRASES)


def _short(x: np.ndarray) -> str:
    return np.array2string(np.asarray(x), precision=6, threshold=12, max_line_width=90)


def _array_mismatch(a: np.ndarray, b: np.ndarray, b64: np.ndarray | None) -> str | None:
    """None if a (ours) matches b (PyTorch, same dtype); with b64 (PyTorch in float64)
    the tolerance scales with b's own float32 error."""
    if a.shape != b.shape:
        return f"shape {a.shape} vs PyTorch's {b.shape}"
    if a.dtype != b.dtype:
        return f"dtype {a.dtype} vs PyTorch's {b.dtype}"
    for what, test in (("NaN", np.isnan), ("+inf", np.isposinf), ("-inf", np.isneginf)):
        if not np.array_equal(test(a), test(b)):
            return f"{what} at different places:\n  ours  {_short(a)}\n  torch {_short(b)}"
    finite = np.isfinite(b)
    if b64 is None:
        try:
            np.testing.assert_allclose(a[finite], b[finite], rtol=RTOL, atol=ATOL,
                                       equal_nan=True)
        except AssertionError as exc:
            return f"values differ:\n  ours  {_short(a)}\n  torch {_short(b)}\n{exc}"
        return None
    if b64.shape != b.shape:
        return None  # not comparable with float64 (cannot happen without vshape entries)
    finite &= np.isfinite(b64)
    ref, a32, b32 = b64[finite], a[finite].astype(np.float64), b[finite].astype(np.float64)
    if ref.size == 0:
        return None
    scale = float(np.abs(ref).max())
    tol = 4 * float(np.abs(b32 - ref).max()) + 32 * EPS32 * max(scale, 1.0)
    err = float(np.abs(a32 - ref).max())
    if err > tol:
        return (f"float32 values differ by {err:.3g} from PyTorch float64, allowed {tol:.3g} "
                f"(PyTorch float32 is off by {float(np.abs(b32 - ref).max()):.3g}):\n"
                f"  ours     {_short(a)}\n  torch32  {_short(b)}\n  torch64  {_short(b64)}")
    return None


def compare(ours: Record, ref: Record, ref64: Record | None = None, limit: int = 4) -> list:
    """Mismatches between our run and PyTorch's, as readable lines (empty: they agree)."""
    found, skip = [], set()
    for stage in list(dict.fromkeys([*ref.errors, *ours.errors])):
        mine, theirs = ours.errors.get(stage), ref.errors.get(stage)
        if (mine is None) != (theirs is None) and _stale(mine or theirs):
            skip.add(stage)  # a deliberate difference (README): see _stale
        elif theirs is not None and mine is None:
            found.append(f"{stage}: PyTorch raised {type(theirs).__name__}: {theirs} "
                         "but we did not")
        elif mine is not None and theirs is None:
            found.append(f"{stage}: we raised {type(mine).__name__}: {mine} "
                         "but PyTorch did not")
        elif mine is not None:
            found.extend(_message_problems(stage, mine))
    if found:
        return found
    for label, b in ref.values.items():
        if ref.stage[label] in skip:
            continue
        if label not in ours.values:
            found.append(f"{label}: missing in our run")
        else:
            a = ours.values[label]
            b64 = ref64.values.get(label) if ref64 is not None else None
            if isinstance(b, np.ndarray) and isinstance(a, np.ndarray):
                problem = _array_mismatch(a, b, b64 if isinstance(b64, np.ndarray) else None)
            elif a is None or b is None or isinstance(a, np.ndarray) or isinstance(
                    b, np.ndarray):
                problem = None if a is None and b is None else \
                    f"{'None' if a is None else 'a tensor'} vs PyTorch's " \
                    f"{'None' if b is None else 'a tensor'}"
            else:
                problem = None if a == b else f"{a!r} vs PyTorch's {b!r}"
            if problem:
                found.append(f"{label}: {problem}")
        if len(found) >= limit:
            break
    return found


STALE = re.compile(r"(modified|changed) by an in-?place operation")


def _stale(exc: BaseException) -> bool:
    """Is this backward's refusal because a value it saved was changed in place? Which
    values an op saves differs (our composites sigmoid, log_softmax ... save other values
    than PyTorch's fused ops; PyTorch saves some that no needed gradient reads), so when
    only one side refuses for that reason it is a deliberate difference (README), and
    the gradients of that stage are not compared. Programs built to test the refusal
    itself (BAD) use ops that save the same values in both."""
    return isinstance(exc, RuntimeError) and STALE.search(str(exc)) is not None


def _message_problems(stage: str, exc: BaseException, numpy_message: str | None = None):
    text = str(exc)
    if not text.strip():
        return [f"{stage}: we raised {type(exc).__name__} with an empty message"]
    if _bare_numpy(exc) or (numpy_message is not None and text == numpy_message):
        return [f"{stage}: we raised a bare NumPy error: {type(exc).__name__}: {text}"]
    return []


# --- generating programs --------------------------------------------------------------

KINDS = {"f64": 0, "f32": 1, "smooth": 2, "invalid": 3}


def _leaf_shapes(rng) -> list[tuple[int, ...]]:
    """Shapes that broadcast together: parts of one full shape, some axes set to 1,
    like (3,1,4), (2,1), (4,) and () for (3,2,4)."""
    full = [int(rng.integers(1, 5)) for _ in range(int(rng.choice([0, 1, 2, 2, 3, 3, 3])))]
    shapes = []
    for _ in range(int(rng.integers(2, 5))):
        tail = full[len(full) - int(rng.integers(0, len(full) + 1)):] if rng.random() < 0.8 \
            else full
        shapes.append(tuple(1 if rng.random() < 0.25 else n for n in tail))
    return shapes


def _acceptable(value: np.ndarray, finite: bool) -> bool:
    if value.size == 0:
        return False
    ok = np.isfinite(value)
    if finite and not ok.all():
        return False
    return bool((np.abs(value[ok]) <= BOUND).all())


def _entries(kind: str) -> list[Entry]:
    if kind == "smooth":
        return [e for e in TABLE if e.smooth]
    if kind == "f32":
        return [e for e in TABLE if not e.kink and not e.vshape]
    return TABLE + [e for e in TABLE if e.kink] * 2  # edges of domains: drawn more often


def _pick(rng, n: int, k: int) -> tuple[int, ...]:
    """k pool positions, often among the newest (so steps build on each other)."""
    return tuple(int(rng.integers(max(0, n - 3), n)) if rng.random() < 0.5
                 else int(rng.integers(0, n)) for _ in range(k))


def _writes_broadcast_memory(target, pool) -> bool:
    """Would an in-place step write memory that an expand() result repeats? PyTorch
    refuses most such writes but lets some through (t[mask] *= c); we refuse them all
    (expand() results are read-only), so the generator leaves them out."""
    ptr = target.untyped_storage().data_ptr()
    return any(t.untyped_storage().data_ptr() == ptr and any(
        st == 0 and n > 1 for st, n in zip(t.stride(), t.shape)) for t in pool)


def _try_step(shadow: Backend, step: Step, pool: list, new_leaves: list, finite: bool):
    """Apply the step to the PyTorch shadow run if PyTorch accepts it and the values
    stay acceptable; an in-place step is first tried on copies."""
    e = ENTRY[step.entry]
    if e.domain is not None:
        x = [shadow.value(pool[i]) for i in step.args]
        with np.errstate(all="ignore"):
            if not e.domain(x, step.params):
                return None
    if e.inplace and _writes_broadcast_memory(pool[step.args[0]], pool):
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if e.inplace:
            copies = [t.detach().clone() for t in pool]
            try:
                with torch.no_grad():
                    trial = apply_step(shadow, step, copies, [])
            except Exception:
                return None
            if not _acceptable(shadow.value(trial), finite):
                return None
        try:
            out = apply_step(shadow, step, pool, new_leaves)
        except Exception:
            return None
    if not e.inplace and not _acceptable(shadow.value(out), finite):
        return None
    return out


def _replay(B: Backend, leaves, steps) -> tuple[list | None, list]:
    """A run of the steps so far, from the start (for the shadow after a step that had to
    be taken back; for the mirror). None if it raises."""
    pool = [B.tensor(x, rg) for x, rg in leaves]
    new_leaves: list = []
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for step in steps:
                pool.append(apply_step(B, step, pool, new_leaves))
    except Exception:
        return None, new_leaves
    return pool, new_leaves


def _extend(B: Backend, pool: list | None, step: Step) -> list | None:
    if pool is not None:
        try:
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                pool.append(apply_step(B, step, pool, []))
        except Exception:
            return None
    return pool


def _fragile(e: Entry, step: Step, pool: list, mirror: list | None) -> bool:
    """Would this discontinuous step decide on a tie or kink that holds only up to
    rounding? Exact ties and kinks are wanted (ties split, relu'(0) = 0 ...), but where
    the two engines' inputs differ by rounding (softmax, mean and sigmoid are computed
    differently) a tie in one may be a near-tie in the other. So the generator also runs
    the program on this engine (the mirror) and leaves such steps out; it also leaves
    out negative zeros, whose sign the two may give differently (sqrt'(-0.0) = -inf)."""
    xs = [np.asarray(t.detach().numpy()) for t in (pool[i] for i in step.args)]
    if any(np.signbit(x[x == 0]).any() for x in xs):
        return True
    if mirror is None:
        return False
    ys = [np.asarray(mirror[i].array) for i in step.args]
    if all(x.shape == y.shape and np.array_equal(x, y, equal_nan=True) for x, y in zip(xs, ys)):
        return False
    with np.errstate(all="ignore"):
        gaps = np.asarray(e.jump(xs, step.params), dtype=np.float64)
        scale = max([1.0] + [float(np.abs(x[np.isfinite(x)]).max(initial=0)) for x in xs])
    gaps = gaps[np.isfinite(gaps)]
    return bool((gaps <= 1e-6 * scale).any())


def generate(seed: int, kind: str, n_steps: tuple[int, int] = (6, 16)) -> Program:
    rng = np.random.default_rng([seed, KINDS[kind]])
    smooth = kind == "smooth"
    finite = kind != "f64" or rng.random() < 0.6
    leaves = []
    for s in _leaf_shapes(rng):
        x = rng.uniform(-1.5, 1.5, s) if smooth else _values(rng, s)
        leaves.append((x, smooth or bool(rng.random() < 0.8)))
    if not any(rg for _, rg in leaves):
        leaves[0] = (leaves[0][0], True)
    shadow = Backend("torch")
    pool, new_leaves = _replay(shadow, leaves, [])
    mirror = _replay(Backend("tg"), leaves, [])[0]
    entries = _entries(kind)
    steps: list[Step] = []
    target = int(rng.integers(*n_steps))
    for _ in range(60 * target):
        if len(steps) >= target:
            break
        e = entries[int(rng.integers(0, len(entries)))]
        args = _pick(rng, len(pool), e.arity)
        params = e.draw(rng, *[tuple(pool[i].shape) for i in args])
        if params is None:
            continue
        step = Step(e.name, args, params, no_grad=not smooth and kind != "invalid"
                    and bool(rng.random() < 0.07))
        if e.jump is not None and _fragile(e, step, pool, mirror):
            continue
        out = _try_step(shadow, step, pool, new_leaves, finite)
        if out is None:
            continue
        try:
            for t in pool + [out]:
                t.is_leaf, t.grad_fn  # PyTorch raises here for some stale views
        except RuntimeError:
            pool, new_leaves = _replay(shadow, leaves, steps)
            continue
        pool.append(out)
        steps.append(step)
        mirror = _extend(Backend("tg"), mirror, step)
    prog = Program(seed, kind, leaves, steps)
    live = [i for i, t in enumerate(pool) if t.requires_grad]
    if live and kind != "invalid":
        used = {i for s in steps for i in s.args}
        prog.outputs = [i for i in live if i not in used] or live[-1:]  # every sink
        prog.weights = [rng.standard_normal(tuple(pool[i].shape)) for i in prog.outputs]
        if not finite and rng.random() < 0.6:  # an inf or NaN coming down from the loss
            w = prog.weights[int(rng.integers(0, len(prog.weights)))].reshape(-1)
            w[int(rng.integers(0, w.size))] = rng.choice([np.inf, -np.inf, np.nan])
        distinct = list({id(pool[i]): i for i in live}.values())
        k = min(len(distinct), int(rng.integers(1, 4)))
        prog.wrt = sorted(int(i) for i in rng.choice(distinct, size=k, replace=False))
    if smooth:
        prog.higher = [[rng.standard_normal(x.shape) for x, _ in leaves] for _ in range(2)]
    return prog


# --- invalid programs ------------------------------------------------------------------


@dataclass(frozen=True)
class Bad:
    """An action PyTorch rejects. choose(rng, shapes, flags) picks operands from the pool
    (flags: (is_leaf, requires_grad) per value) or returns None; act(M, pool, p, final)
    performs it and calls final() right before the operation that must raise;
    numpy(arrays, p), if given, does the same on NumPy arrays (for the message check)."""

    name: str
    choose: Callable
    act: Callable
    numpy: Callable | None = None


def _one(rng, shapes, flags, ok):
    picks = [i for i, (s, f) in enumerate(zip(shapes, flags)) if ok(s, f)]
    return int(rng.choice(picks)) if picks else None


def _choose(ok, extra=lambda rng, s: {}):
    def choose(rng, shapes, flags):
        i = _one(rng, shapes, flags, ok)
        if i is None:
            return None
        p = extra(rng, shapes[i])
        return None if p is None else {"i": i, **p}
    return choose


def _bad_shape(rng, s):
    return {"k": Const(_values(rng, s[:-1] + (s[-1] + 1,)))}


def _act_leaf_inplace(M, pool, p, final):
    x = pool[p["i"]]
    final()
    if p["how"] == "+=":
        x += 1.0
    elif p["how"] == "mul_":
        x.mul_(2.0)
    elif p["how"] == "zero_":
        x.zero_()
    elif p["how"] == "setitem":
        x[0] = 1.0
    else:  # a view of the leaf, changed in place
        v = x[0]
        v += 1.0


def _act_backward_twice(M, pool, p, final):
    a = pool[p["i"]]
    loss = (a.tanh() * a).sum()
    loss.backward()
    final()
    loss.backward()


def _act_grad_twice(M, pool, p, final):
    a = pool[p["i"]]
    loss = (a.exp() * a).sum()
    M.autograd.grad(loss, [a])
    final()
    M.autograd.grad(loss, [a])


def _act_saved_out(M, pool, p, final):
    y = pool[p["i"]].exp()
    if p["how"] == "mul_":
        y.mul_(2.0)
    elif p["how"] == "+=":
        y += 1.0
    else:  # through a view
        y[0] *= 2.0
    final()
    y.sum().backward()


def _act_saved_input(M, pool, p, final):
    b = pool[p["i"]] * 1.0
    y = b * b
    b.add_(1.0)
    final()
    y.sum().backward()


def _act_saved_leaf(M, pool, p, final):
    x = pool[p["i"]]
    y = (x * x).sum()
    with M.no_grad():
        x.mul_(2.0)
    final()
    y.backward()


def _act_nonscalar(M, pool, p, final):
    out = pool[p["i"]] * 2.0
    final()
    out.backward()


def _act_grad_unused(M, pool, p, final):
    loss = (pool[p["i"]] * 2.0).sum()
    w = M.ones(2, dtype=M.float64, requires_grad=True)
    final()
    M.autograd.grad(loss, [w])


def _act_grad_no_requires(M, pool, p, final):
    loss = (pool[p["i"]] * 2.0).sum()
    t = pool[p["i"]].detach()
    final()
    M.autograd.grad(loss, [t])


def _act_expand_inplace(M, pool, p, final):
    with M.no_grad():
        e = pool[p["i"]].expand(2, *pool[p["i"]].shape)
        final()
        e.add_(1.0)


def _simple(fn):
    def act(M, pool, p, final):
        args = [pool[p["i"]]]
        final()
        fn(M, *args, **{k: v for k, v in p.items() if k != "i"})
    return act


def _requires_grad(s, f):
    return f[1]


def _leaf_rg(s, f):
    return f[0] and f[1]


BAD: list[Bad] = [
    Bad("add_mismatch", _choose(lambda s, f: len(s) >= 1, _bad_shape),
        _simple(lambda M, a, k: a + k), lambda x, p: np.add(x, p["k"].array)),
    Bad("matmul_mismatch", _choose(lambda s, f: len(s) >= 1,
                                   lambda rng, s: {"k": Const(np.ones((s[-1] + 1, 2)))}),
        _simple(lambda M, a, k: a @ k), lambda x, p: np.matmul(x, p["k"].array)),
    Bad("cat_mismatch", _choose(lambda s, f: len(s) >= 2, _bad_shape),
        _simple(lambda M, a, k: M.cat([a, k], dim=0)),
        lambda x, p: np.concatenate([x, p["k"].array], axis=0)),
    Bad("reshape_bad", _choose(lambda s, f: True), _simple(
        lambda M, a: a.reshape(int(np.prod(a.shape)) + 1)),
        lambda x, p: np.reshape(x, x.size + 1)),
    Bad("expand_bad", _choose(lambda s, f: any(n > 1 for n in s)), _simple(
        lambda M, a: a.expand(*[n + 1 if n > 1 else n for n in a.shape])),
        lambda x, p: np.broadcast_to(x, [n + 1 if n > 1 else n for n in x.shape])),
    Bad("index_out_of_range", _choose(lambda s, f: len(s) >= 1),
        _simple(lambda M, a: a[a.shape[0]]), lambda x, p: x[x.shape[0]]),
    Bad("dim_out_of_range", _choose(lambda s, f: True),
        _simple(lambda M, a: a.sum(dim=max(a.ndim, 1))),
        lambda x, p: x.sum(axis=max(x.ndim, 1))),
    Bad("inplace_broadcast", _choose(lambda s, f: not f[1],
                                     lambda rng, s: {"k": Const(np.ones((2,) + s))}),
        _simple(lambda M, a, k: a.add_(k)), lambda x, p: np.add(x, p["k"].array, out=x.copy())),
    Bad("inplace_leaf", _choose(_leaf_rg, lambda rng, s: {"how": str(rng.choice(
        ["+=", "mul_", "zero_"] + (["setitem", "view"] if s else [])))}), _act_leaf_inplace),
    Bad("backward_twice", _choose(_requires_grad), _act_backward_twice),
    Bad("grad_twice", _choose(_requires_grad), _act_grad_twice),
    Bad("inplace_saved_result", _choose(_requires_grad, lambda rng, s: {"how": str(rng.choice(
        ["mul_", "+="] + (["view"] if s else [])))}), _act_saved_out),
    Bad("inplace_saved_input", _choose(_requires_grad), _act_saved_input),
    Bad("no_grad_change_of_saved_leaf", _choose(_leaf_rg), _act_saved_leaf),
    Bad("backward_non_scalar", _choose(lambda s, f: f[1] and int(np.prod(s)) > 1),
        _act_nonscalar),
    Bad("grad_unused", _choose(_requires_grad), _act_grad_unused),
    Bad("grad_of_detached", _choose(_requires_grad), _act_grad_no_requires),
    Bad("expand_inplace", _choose(lambda s, f: True), _act_expand_inplace),
]
BAD_BY_NAME = {b.name: b for b in BAD}


def _run_bad(prog: Program, B: Backend, pool: list, rec: Record) -> None:
    bad = BAD_BY_NAME[prog.bad[0]]
    params = {k: B.convert(v, []) for k, v in prog.bad[1].items()}
    reached = []
    try:
        bad.act(B.M, pool, params, lambda: reached.append(True))
    except Exception as exc:
        rec.errors["the invalid action" if reached else "before the invalid action"] = exc
    rec.add("reached the invalid action", bool(reached))


def generate_invalid(seed: int) -> Program:
    rng = np.random.default_rng([seed, KINDS["invalid"]])
    for _attempt in range(20):
        prog = generate(int(rng.integers(0, 2**31)), "invalid", n_steps=(2, 6))
        prog.seed, prog.kind = seed, "invalid"
        bad = BAD[int(rng.integers(0, len(BAD)))]
        shadow = Backend("torch")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pool = [shadow.tensor(x, rg) for x, rg in prog.leaves]
            for step in prog.steps:
                pool.append(apply_step(shadow, step, pool, []))
        params = bad.choose(rng, [tuple(t.shape) for t in pool],
                            [(t.is_leaf, t.requires_grad) for t in pool])
        if params is None:
            continue
        prog.bad = (bad.name, params)
        rec = run(prog, Backend("torch"))
        if set(rec.errors) == {"the invalid action"}:
            return prog
    raise AssertionError(f"seed {seed}: no invalid program found")


def check_invalid(prog: Program) -> list:
    ref = run(prog, Backend("torch"))
    ours = run(prog, Backend("tg"))
    bad = BAD_BY_NAME[prog.bad[0]]
    theirs = ref.errors["the invalid action"]
    mine = ours.errors.get("the invalid action")
    for stage, exc in ours.errors.items():
        if stage != "the invalid action":
            return [f"{stage}: we raised {type(exc).__name__}: {exc}; PyTorch accepted the "
                    f"steps before the invalid action {bad.name} and raised there: {theirs}"]
    if mine is None:
        return [f"{bad.name}: PyTorch raised {type(theirs).__name__}: {theirs} "
                "but we did not"]
    numpy_message = None
    if bad.numpy is not None:
        x = np.array(run_values(prog)[prog.bad[1]["i"]])
        try:
            with np.errstate(all="ignore"):
                bad.numpy(x, prog.bad[1])
        except Exception as exc:
            numpy_message = str(exc)
    return _message_problems(bad.name, mine, numpy_message)


def run_values(prog: Program) -> list[np.ndarray]:
    """The pool's values at the end of the steps (PyTorch, float64)."""
    B = Backend("torch")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pool = [B.tensor(x, rg) for x, rg in prog.leaves]
        for step in prog.steps:
            pool.append(apply_step(B, step, pool, []))
    return [B.value(t) for t in pool]


# --- checking one program -------------------------------------------------------------


def check(seed: int, kind: str) -> tuple[Program, list]:
    """Generate the program for (seed, kind), run it on both engines, compare."""
    if kind == "invalid":
        prog = generate_invalid(seed)
        return prog, check_invalid(prog)
    prog = generate(seed, kind)
    if kind == "f32":
        ours = run(prog, Backend("tg", np.float32))
        ref = run(prog, Backend("torch", np.float32))
        ref64 = run(prog, Backend("torch", np.float64))
        return prog, compare(ours, ref, ref64)
    return prog, compare(run(prog, Backend("tg")), run(prog, Backend("torch")))


def report(failures: list) -> str:
    """The failing seeds with their first mismatch; the first few programs in full."""
    lines = [f"{len(failures)} program(s) disagree with PyTorch:"]
    for n, (prog, found) in enumerate(failures):
        lines.append(f"\n--- seed {prog.seed} ({prog.kind}): {found[0].splitlines()[0]}")
        if n < 3:
            lines.append(prog.describe())
            lines.append("mismatches:")
            lines.extend("  " + line for m in found for line in m.splitlines())
    return "\n".join(lines)


def check_chunk(kind: str, seeds) -> None:
    failures = []
    for seed in seeds:
        prog, found = check(seed, kind)
        if found:
            failures.append((prog, found))
    if failures:
        pytest.fail(report(failures), pytrace=False)


CHUNK = 20  # programs per test; the seeds of chunk c are c*CHUNK ... (c+1)*CHUNK - 1
CHUNKS = {"f64": 40, "f32": 10, "smooth": 10, "invalid": 10}


@pytest.mark.parametrize("chunk", range(CHUNKS["f64"]))
def test_float64_programs(chunk):
    check_chunk("f64", range(chunk * CHUNK, (chunk + 1) * CHUNK))


@pytest.mark.parametrize("chunk", range(CHUNKS["f32"]))
def test_float32_programs(chunk):
    check_chunk("f32", range(chunk * CHUNK, (chunk + 1) * CHUNK))


@pytest.mark.parametrize("chunk", range(CHUNKS["smooth"]))
def test_higher_derivatives_of_smooth_programs(chunk):
    check_chunk("smooth", range(chunk * CHUNK, (chunk + 1) * CHUNK))


@pytest.mark.parametrize("chunk", range(CHUNKS["invalid"]))
def test_invalid_programs_raise(chunk):
    check_chunk("invalid", range(chunk * CHUNK, (chunk + 1) * CHUNK))


def test_generated_programs_cover_the_table():
    """Every entry of TABLE and BAD is drawn by some seed the tests run."""
    used = {s.entry for seed in range(CHUNKS["f64"] * CHUNK)
            for s in generate(seed, "f64").steps}
    assert set(ENTRY) - used == set()
    bad = {generate_invalid(seed).bad[0] for seed in range(CHUNKS["invalid"] * CHUNK)}
    assert set(BAD_BY_NAME) - bad == set()


def test_comparison_catches_a_wrong_rule():
    """The fuzzer can fail: with tanh's backward rule broken, a program through tanh
    disagrees with PyTorch in the gradients only; with the rule restored it agrees."""
    prog = Program(0, "f64", [(np.array([0.3, -1.2, 2.0]), True)],
                   [Step("tanh", (0,), {}), Step("mul", (1, 0), {})],
                   outputs=[2], weights=[np.array([1.0, -0.5, 2.0])], wrt=[1])
    assert compare(run(prog, Backend("tg")), run(prog, Backend("torch"))) == []
    right = ops.TANH.rules
    wrong = ops.Rule("wrong: 1 - out", lambda g, out: g * (1 - out))
    object.__setattr__(ops.TANH, "rules", (wrong,))
    try:
        found = compare(run(prog, Backend("tg")), run(prog, Backend("torch")))
    finally:
        object.__setattr__(ops.TANH, "rules", right)
    assert found and all("grad" in line.split(":")[0] for line in found), found


if __name__ == "__main__":  # python -m tests.test_fuzz_vs_torch SEED [KIND]
    seed_arg = int(sys.argv[1])
    kind_arg = sys.argv[2] if len(sys.argv) > 2 else "f64"
    program, mismatches = check(seed_arg, kind_arg)
    print(program.describe())
    print("\n".join(mismatches) if mismatches else "agrees with PyTorch")
