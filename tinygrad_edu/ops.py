"""THE TABLE: every primitive op, its forward pass (NumPy) and its backward rules.

How to read an entry::

    MUL = Op("mul", np.multiply,
             Rule("d(a*b)/da = b", lambda g, b: g * b),
             Rule("d(a*b)/db = a", lambda g, a: g * a))

* ``forward(*arrays, **params)`` computes the op on plain NumPy arrays.
* One ``Rule`` per input (inputs are named ``a``, ``b``): given ``g = dL/d(out)`` it
  returns ``dL/d(input)`` as ``g * (local derivative)``, possibly shaped like ``out``:
  the engine undoes broadcasting (``sum_to``) and casts back to the input's dtype.
* A rule's parameter names say what it reads: ``g``; the inputs ``a``, ``b``; the
  result ``out``; the op's params (``axis``, ``key`` ...); ``i`` (which input, for ops
  with many), ``in_shape`` / ``in_shapes`` (its input's / all inputs' shapes). The
  engine saves exactly those values and checks they were not changed in place.
* The same rule runs on NumPy arrays (a plain ``backward()``) and on Tensors (under
  ``create_graph=True``, recorded), so rules use only what both understand: the
  operators, ``.reshape``, ``.sum``, ``.astype``, ``.shape``, ``.dtype`` and the
  helpers of rule_helpers.py. Masks are constants made from ``value(x)`` and have no derivative.

Composite ops (``sigmoid``, ``softmax``, ``mean``, 1-D ``matmul`` ...) are built from
these in ``functions.py`` and need no rule. docs/derivatives.md goes through the table.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

# NumPy forwards longer than one call (kernels.py), and what rules call besides the
# operators: each works on an array and on a Tensor (rule_helpers.py)
from . import kernels
from .rule_helpers import (
    _is_array,
    _none,
    cos,
    cumsum,
    exp,
    expand,
    flip,
    fold,
    log,
    mT,
    permute,
    prod,
    scatter_into,
    sin,
    unfold,
    value,
    where,
)


@dataclass(frozen=True)
class Rule:
    """One input's backward rule: ``text`` is the math, ``fn`` computes it."""

    text: str
    fn: Callable
    reads: tuple[str, ...] = field(init=False)  # fn's parameter names after g
    plain: bool = field(init=False)  # reads only saved arrays (a, b, out)

    def __post_init__(self) -> None:
        names = tuple(inspect.signature(self.fn).parameters)
        if names[:1] != ("g",):
            raise TypeError(f"rule {self.text!r}: first parameter must be g")
        object.__setattr__(self, "reads", names[1:])
        object.__setattr__(self, "plain", set(names[1:]) <= {"a", "b", "out"})


class Op:
    """A primitive: a name, a NumPy forward, and one Rule per input. ``variadic``: any
    number of inputs, all sharing rules[0]. ``view``: the result may share memory with
    input a. ``rule_params``: params only the rules read (not passed to the forward)."""

    def __init__(self, name: str, forward: Callable[..., np.ndarray], *rules: Rule,
                 variadic: bool = False, view: bool = False,
                 rule_params: tuple[str, ...] = ()) -> None:
        self.name = name
        self.forward = forward
        self.rules = rules
        self.variadic = variadic
        self.view = view
        self.rule_params = rule_params

    def rule(self, i: int) -> Rule:
        return self.rules[0] if self.variadic else self.rules[i]

    def input_name(self, i: int) -> str:
        """How rules and pictures call input i: a, b, or x0, x1, ... for cat."""
        return f"x{i}" if self.variadic else "ab"[i]

    def __repr__(self) -> str:
        return f"Op({self.name})"


# --- the longer rules (the one-line ones are in the table below) ----------------------


def _keep_reduced_dims(t, axis: tuple[int, ...], keepdims: bool):
    """Re-insert the size-1 axes that a reduction with keepdims=False dropped."""
    if keepdims or axis == tuple(range(len(axis))):
        return t  # reduced axes were leading: broadcasting restores them by itself
    shape = list(t.shape)
    for ax in sorted(axis):
        shape.insert(ax, 1)
    return t.reshape(tuple(shape))


def _sum_grad(g, axis, keepdims, in_shape):
    # d(sum a)/da_j = 1: every summed element receives g (a broadcast view, no copy)
    return expand(_keep_reduced_dims(g, axis, keepdims), in_shape)


def _extremum_grad(g, a, out, axis, keepdims):
    # d(max a)/da_j = 1/k for each of the k elements that equal the max, 0 elsewhere
    out_kept = value(out) if keepdims else np.expand_dims(value(out), axis)
    hits = value(a) == out_kept
    share = 1.0 / hits.sum(axis=axis, keepdims=True).astype(a.dtype)
    return where(hits, _keep_reduced_dims(g, axis, keepdims) * share, 0.0)


def _maximum_grad(g, a, b):
    # d max(a,b)/da = 1 where a > b, 1/2 where a == b (ties split evenly), 0 elsewhere
    a, b = value(a), value(b)
    return where(a >= b, where(a == b, g * 0.5, g), 0.0)


def _pow_grad_a(g, a, b):
    # d(a^b)/da = b*a^(b-1), and 0 where b == 0 (a^0 = 1 is constant, as PyTorch,
    # whatever a and g are). There a^(b-1) is computed as a^1, so no 0^-1 = inf enters
    # the graph and the higher derivatives stay finite (d^3/dx^3 x^2 = 0 at x = 0).
    c = b.item() if _is_array(b) and b.ndim == 0 else 0
    if c != 0:  # one exponent (x ** 2): the same numbers, with Python's arithmetic on
        return g * (c * a ** (c - 1))  # it (NumPy's on a 0-d array costs 0.6 us an op)
    zero = value(b) == 0
    if _none(zero):
        return g * (b * a ** (b - 1))
    return where(zero, 0.0, g * (b * a ** where(zero, 1.0, b - 1)))


def _pow_grad_b(g, a, b, out):
    # d(a^b)/db = a^b*log(a), and 0 where a == 0 and b >= 0 (0^b is flat in b there;
    # multiplied by g, as PyTorch). log(0) is taken as log(1) there, so no -inf enters
    # the graph.
    flat = (value(a) == 0) & (value(b) >= 0)
    if _none(flat):
        return g * (out * log(a))
    return g * where(flat, 0.0, out * log(where(flat, 1.0, a)))


def _zero_grad(g):
    # a step function (floor, sign ...) is flat wherever it has a derivative: 0, as PyTorch
    # (selected, not g * 0, so an inf or NaN in g does not come out as NaN)
    if _is_array(g):
        return expand(np.zeros((), g.dtype), g.shape)
    return where(np.zeros((), dtype=bool), g, 0.0)


def _prod_grad(g, a, out, axis, keepdims):
    # d(prod a)/da_j = prod of the a_k, k != j: out/a_j when no element is 0. With zeros
    # nothing is divided by 0 (as PyTorch): the product of the nonzero others times the
    # product of the other zeros, which is 1 (no other zero), that zero (one other: kept
    # as a value, so second derivatives are right too) or 0 (more)
    g = _keep_reduced_dims(g, axis, keepdims)
    zero = value(a) == 0
    if _none(zero):
        return g * (_keep_reduced_dims(out, axis, keepdims) / a)
    nonzero = where(zero, 1.0, a)
    zeros = where(zero, a, 0.0)
    others = zero.sum(axis=axis, keepdims=True) - zero.astype(int)  # other zeros per element
    other_zero = zeros.sum(axis=axis, keepdims=True) - zeros  # the other zero, if just one
    rest = where(others == 0, 1.0, where(others == 1, other_zero, 0.0))
    return g * (prod(nonzero, axis) / nonzero * rest)


def _var_grad(g, a, axis, keepdims, correction):
    # d var(a)/da_j = 2*(a_j - mean)/(N - correction); the mean is computed from a here,
    # so on Tensors its own derivative is recorded (second derivatives are right)
    count = math.prod(a.shape[ax] for ax in axis)
    dof = count - correction
    centered = a - a.sum(axis=axis, keepdims=True) * (1.0 / count)
    return _keep_reduced_dims(g, axis, keepdims) * (centered * (2.0 / dof if dof > 0 else math.inf))


def _cumsum_grad(g, axis):
    # d cumsum(a)_k/da_j = [j <= k]: a_j receives the sum of g from j to the end
    return flip(cumsum(flip(g, (axis,)), axis), (axis,))


def _matmul_grad_a(g, b):
    # d(a@b)/da: g @ b^T (batch dims that were broadcast are summed by the engine)
    return g @ mT(b)


def _matmul_grad_b(g, a, b_column_major):
    # d(a@b)/db: a^T @ g. If b is stored column by column (a transposed view, like
    # nn.Linear's W.T), the same numbers are computed as (g^T @ a)^T, which comes out
    # laid out like b: b's gradient then needs no slow strided copy (as in PyTorch).
    return mT(mT(g) @ a) if b_column_major else mT(a) @ g


def _cat_grad(g, i, axis, in_shapes):
    # d cat(x_0, x_1, ...)/dx_i: the slice of g where x_i was placed
    start = sum(shape[axis] for shape in in_shapes[:i])
    index = [slice(None)] * g.ndim
    index[axis] = slice(start, start + in_shapes[i][axis])
    return g[tuple(index)]


def _clip_grad(g, a, low, high):
    # d clip(a, lo, hi)/da = 1 where lo <= a <= hi (ends included, as PyTorch), else 0
    inside = np.ones(a.shape, dtype=bool)
    if low is not None:
        inside &= value(a) >= low
    if high is not None:
        inside &= value(a) <= high
    return where(inside, g, 0.0)


# --- THE TABLE -----------------------------------------------------------------------
# Elementwise, two inputs (broadcasting)

ADD = Op("add", np.add,
         Rule("d(a+b)/da = 1", lambda g: g),
         Rule("d(a+b)/db = 1", lambda g: g))

SUB = Op("sub", np.subtract,
         Rule("d(a-b)/da = 1", lambda g: g),
         Rule("d(a-b)/db = -1", lambda g: -g))

MUL = Op("mul", np.multiply,
         Rule("d(a*b)/da = b", lambda g, b: g * b),
         Rule("d(a*b)/db = a", lambda g, a: g * a))

DIV = Op("div", np.divide,
         Rule("d(a/b)/da = 1/b", lambda g, b: g / b),
         Rule("d(a/b)/db = -a/b^2", lambda g, a, b: g * (-(a / b) / b)))

POW = Op("pow", np.power,
         Rule("d(a^b)/da = b*a^(b-1)", _pow_grad_a),
         Rule("d(a^b)/db = a^b*log(a)", _pow_grad_b))

MAXIMUM = Op("maximum", np.maximum,
             Rule("d max(a,b)/da = [a>b] + [a==b]/2", _maximum_grad),
             Rule("d max(a,b)/db = [b>a] + [a==b]/2",
                  lambda g, a, b: _maximum_grad(g, b, a)))

WHERE = Op("where", lambda a, b, cond: np.where(cond, a, b),
           Rule("d where(c,a,b)/da = [c]", lambda g, cond: where(cond, g, 0.0)),
           Rule("d where(c,a,b)/db = [not c]", lambda g, cond: where(~cond, g, 0.0)))

# Elementwise, one input

NEG = Op("neg", np.negative,
         Rule("d(-a)/da = -1", lambda g: -g))

EXP = Op("exp", np.exp,
         Rule("d exp(a)/da = exp(a) = out", lambda g, out: g * out))

LOG = Op("log", np.log,
         Rule("d log(a)/da = 1/a", lambda g, a: g / a))

SQRT = Op("sqrt", np.sqrt,
          Rule("d sqrt(a)/da = 1/(2*sqrt(a)) = 0.5/out  (+inf at a=0)",
               lambda g, out: g * 0.5 / out))

ABS = Op("abs", np.abs,
         Rule("d|a|/da = sign(a)  (0 at a=0)", lambda g, a: g * np.sign(value(a))))

TANH = Op("tanh", np.tanh,
          Rule("d tanh(a)/da = 1 - tanh(a)^2 = 1 - out^2", lambda g, out: g * (1 - out * out)))

RELU = Op("relu", lambda a: np.maximum(a, 0),
          Rule("d relu(a)/da = [a > 0]  (0 at a=0)",
               lambda g, out: where(value(out) <= 0, 0.0, g)))

CLIP = Op("clip", kernels.clip_forward,
          Rule("d clip(a,lo,hi)/da = [lo <= a <= hi]", _clip_grad))

CAST = Op("cast", lambda a, dtype: a.astype(dtype),
          Rule("d cast(a)/da = 1  (the engine casts g back)", lambda g: g))

SIN = Op("sin", np.sin,
         Rule("d sin(a)/da = cos(a)", lambda g, a: g * cos(a)))

COS = Op("cos", np.cos,
         Rule("d cos(a)/da = -sin(a)", lambda g, a: g * -sin(a)))

TAN = Op("tan", np.tan,
         Rule("d tan(a)/da = 1 + tan(a)^2 = 1 + out^2", lambda g, out: g * (1 + out * out)))

LOG2 = Op("log2", np.log2,
          Rule("d log2(a)/da = 1/(a*ln 2)", lambda g, a: g / (a * math.log(2))))

LOG10 = Op("log10", np.log10,
           Rule("d log10(a)/da = 1/(a*ln 10)", lambda g, a: g / (a * math.log(10))))

LOG1P = Op("log1p", np.log1p,
           Rule("d log1p(a)/da = 1/(1+a)", lambda g, a: g / (1 + a)))

EXPM1 = Op("expm1", np.expm1,
           Rule("d expm1(a)/da = exp(a) = out + 1", lambda g, out: g * (out + 1)))

SQUARE = Op("square", np.square,
            Rule("d a^2/da = 2*a", lambda g, a: g * (2 * a)))

RSQRT = Op("rsqrt", lambda a: 1 / np.sqrt(a),
           Rule("d a^(-1/2)/da = -0.5*a^(-3/2) = -0.5*out/a", lambda g, a, out: g * (-0.5 * out / a)))

SIGN = Op("sign", np.sign,
          Rule("d sign(a)/da = 0", _zero_grad))

FLOOR = Op("floor", np.floor,
           Rule("d floor(a)/da = 0", _zero_grad))

CEIL = Op("ceil", np.ceil,
          Rule("d ceil(a)/da = 0", _zero_grad))

ROUND = Op("round", lambda a, decimals: np.round(a, decimals),
           Rule("d round(a)/da = 0", _zero_grad))

ERF = Op("erf", kernels.erf_forward,
         Rule("d erf(a)/da = 2/sqrt(pi)*exp(-a^2)",
              lambda g, a: g * (2 / math.sqrt(math.pi) * exp(-(a * a)))))

# Reductions (axis is a tuple of non-negative axes)

SUM = Op("sum", lambda a, axis, keepdims: a.sum(axis=axis, keepdims=keepdims),
         Rule("d(sum a)/da = 1, broadcast back", _sum_grad))

MAX = Op("max", lambda a, axis, keepdims: a.max(axis=axis, keepdims=keepdims),
         Rule("d(max a)/da = [a == max]/count  (ties split evenly)", _extremum_grad))

MIN = Op("min", lambda a, axis, keepdims: a.min(axis=axis, keepdims=keepdims),
         Rule("d(min a)/da = [a == min]/count  (ties split evenly)", _extremum_grad))

PROD = Op("prod", lambda a, axis, keepdims: a.prod(axis=axis, keepdims=keepdims),
          Rule("d(prod a)/da_j = product of the others (no division by 0)", _prod_grad))

VAR = Op("var", kernels.var_forward,
         Rule("d var(a)/da = 2*(a - mean)/(N - correction)", _var_grad))

CUMSUM = Op("cumsum", lambda a, axis: np.cumsum(a, axis=axis),
            Rule("d cumsum(a)/da: cumsum of g from the end", _cumsum_grad))

# Linear algebra (both inputs at least 2-D; 1-D cases are composed in tensor.py)

MATMUL = Op("matmul", kernels.matmul_forward,
            Rule("d(a@b)/da = g @ b^T", _matmul_grad_a),
            Rule("d(a@b)/db = a^T @ g", _matmul_grad_b),
            rule_params=("b_column_major",))

# Shape and indexing: the result moves elements around, the gradient moves them back

RESHAPE = Op("reshape", lambda a, shape: a.reshape(shape),
             Rule("d reshape(a)/da: reshape g back", lambda g, in_shape: g.reshape(in_shape)),
             view=True)

PERMUTE = Op("permute", lambda a, axes: a.transpose(axes),
             Rule("d permute(a)/da: permute g back",
                  lambda g, axes: permute(g, tuple(np.argsort(axes)))),
             view=True)

FLIP = Op("flip", lambda a, axis: np.flip(a, axis).copy(),
          Rule("d flip(a)/da: flip g back", lambda g, axis: flip(g, axis)))

EXPAND = Op("expand", kernels.expand_forward,
            Rule("d expand(a)/da = 1  (the engine sums the copies)", lambda g: g),
            view=True)

INDEX = Op("index", lambda a, key: a[key],
           Rule("d a[key]/da: g added into zeros at [key]",
                lambda g, key, in_shape: scatter_into(g, key, in_shape)),
           view=True)

SCATTER = Op("scatter", kernels.scatter_forward,
             Rule("d scatter(a, key)/da = g[key]", lambda g, key: g[key]))

PUT = Op("put", kernels.put_forward,
         Rule("d put(a,b)/da = 1, 0 where b was written", lambda g, index: where(kernels.written(index, g.shape), 0.0, g)),
         Rule("d put(a,b)/db = g at the written places", lambda g, index: g.reshape(-1)[index]))

CAT = Op("cat", lambda *xs, axis: np.concatenate(xs, axis=axis),
         Rule("d cat(x_0..x_n)/dx_i: slice i of g", _cat_grad),
         variadic=True)

# Sliding windows: convolution and pooling are compositions of these and a matmul or a
# reduction. Each is the other's rule, so second derivatives through them work.

UNFOLD = Op("unfold", kernels.unfold_forward,
            Rule("d unfold(a)/da = fold(g): each window's gradient added back where it was read",
                 lambda g, in_shape, stride, padding, dilation: fold(g, in_shape, stride, padding,
                                                                     dilation)))

FOLD = Op("fold", kernels.fold_forward,
          Rule("d fold(a)/da = unfold(g): each window reads g where it was added",
               lambda g, in_shape, stride, padding, dilation: unfold(
                   g, in_shape[2 + len(stride):], stride, padding, dilation)))


# Every primitive, in the order above (docs and tests walk this list).
ALL_OPS: tuple[Op, ...] = (
    ADD, SUB, MUL, DIV, POW, MAXIMUM, WHERE,
    NEG, EXP, LOG, SQRT, ABS, TANH, RELU, CLIP, CAST,
    SIN, COS, TAN, LOG2, LOG10, LOG1P, EXPM1, SQUARE, RSQRT, SIGN, FLOOR, CEIL, ROUND, ERF,
    SUM, MAX, MIN, PROD, VAR, CUMSUM,
    MATMUL,
    RESHAPE, PERMUTE, FLIP, EXPAND, INDEX, SCATTER, PUT, CAT,
    UNFOLD, FOLD,
)
