"""The everyday ops (sin ... swapdims) against PyTorch: values, gradients and (for the
smooth ones) second derivatives to 1e-10 in float64 over random inputs, the gradients
at PyTorch's special points (norm and std at 0, prod with zeros), and the errors
PyTorch raises (ours must raise too, with a message of our own)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest

import tinygrad_edu as tg

torch = pytest.importorskip("torch")

TOL = 1e-10
SEEDS = range(6)


def idx(M, array):
    """An index argument: an int64 tensor for PyTorch, a list, an integer ndarray or a
    float Tensor of whole numbers here (integer tensors do not exist yet)."""
    array = np.asarray(array, dtype=np.int64)
    if M is torch:
        return torch.as_tensor(array)
    return tg.tensor(array.astype(np.float64)) if array.sum() % 2 else array.tolist()


def mask(M, array):
    return torch.as_tensor(array) if M is torch else tg.tensor(array).eq(1.0)


@dataclass
class Spec:
    name: str
    fn: Callable  # (M, rng, *tensors) -> a tensor or a tuple of tensors
    inputs: Callable  # rng -> list of float64 arrays
    smooth: bool = True  # compare second derivatives too


def U(lo=-2.0, hi=2.0, shape=None):
    def inputs(rng):
        s = shape or tuple(rng.integers(1, 4, rng.integers(0, 4)))
        return [rng.uniform(lo, hi, s)]
    return inputs


def M2(rng):
    return [rng.uniform(-2, 2, (int(rng.integers(1, 4)), int(rng.integers(1, 4))))]


def M3(rng):
    return [rng.uniform(-2, 2, tuple(int(n) for n in rng.integers(1, 4, 3)))]


def VV(same=False):
    def inputs(rng):
        n = int(rng.integers(1, 5))
        m = n if same else int(rng.integers(1, 5))
        return [rng.uniform(-2, 2, n), rng.uniform(-2, 2, m)]
    return inputs


def dim_of(rng, x):
    return int(rng.integers(-x.ndim, x.ndim)) if x.ndim else 0


def _gather(M, rng, x):
    d = dim_of(rng, x)
    shape = [int(rng.integers(1, n + 1)) for n in x.shape]
    shape[d] = int(rng.integers(1, 4))
    return x.gather(d, idx(M, rng.integers(0, x.shape[d], shape)))


def _index_select(M, rng, x):
    d = dim_of(rng, x)
    return x.index_select(d, idx(M, rng.integers(0, x.shape[d], int(rng.integers(1, 5)))))


def _masked_fill(M, rng, x):
    return x.masked_fill(mask(M, rng.random(x.shape[-1:]) < 0.5), float(rng.choice([0, -3.0])))


def _repeat(M, rng, x):
    return x.repeat(*[int(n) for n in rng.integers(1, 4, x.ndim + int(rng.integers(0, 2)))])


def _flatten(M, rng, x):
    start = int(rng.integers(0, x.ndim))
    return x.flatten(start, int(rng.integers(start, x.ndim)))


def _unflatten(M, rng, x):
    d = dim_of(rng, x)
    return x.unflatten(d, (1, -1) if rng.random() < 0.5 else (x.shape[d], 1))


def _split(M, rng, x):
    d = dim_of(rng, x)
    n = x.shape[d]
    if rng.random() < 0.5:
        return x.split(int(rng.integers(1, 4)), d)
    cut = int(rng.integers(0, n + 1))
    return x.split([cut, n - cut], dim=d)


def _chunk(M, rng, x):
    return x.chunk(int(rng.integers(1, 5)), dim_of(rng, x))


def _flip(M, rng, x):
    dims = [int(d) for d in rng.permutation(x.ndim)[:int(rng.integers(1, x.ndim + 1))]]
    return x.flip(dims)


def _norm(p):
    def fn(M, rng, x):
        if rng.random() < 0.5:
            return x.norm(p)
        return x.norm(p, dim=dim_of(rng, x), keepdim=bool(rng.random() < 0.5))
    return fn


def _reduce(name, **kw):
    def fn(M, rng, x):
        method = getattr(x, name)
        if rng.random() < 0.3 or not x.ndim:
            return method(**kw)
        return method(dim_of(rng, x), keepdim=bool(rng.random() < 0.5), **kw)
    return fn


def _einsum(eq, shapes):
    def inputs(rng):
        sizes = dict(zip("ijkb", (int(n) for n in rng.integers(1, 4, 4))))
        return [rng.uniform(-2, 2, tuple(sizes[c] for c in s)) for s in shapes]
    return Spec(f"einsum {eq}", lambda M, rng, *xs: M.einsum(eq, *xs), inputs)


def nd(lo):
    def inputs(rng):
        return [rng.uniform(-2, 2, tuple(int(n) for n in rng.integers(1, 4, rng.integers(
            lo, 4))))]
    return inputs


SPECS = [
    Spec("sin", lambda M, rng, x: x.sin(), U()),
    Spec("cos", lambda M, rng, x: x.cos(), U()),
    Spec("tan", lambda M, rng, x: x.tan(), U(-1.2, 1.2)),
    Spec("log2", lambda M, rng, x: x.log2(), U(0.2, 4)),
    Spec("log10", lambda M, rng, x: x.log10(), U(0.2, 4)),
    Spec("log1p", lambda M, rng, x: x.log1p(), U(-0.7, 3)),
    Spec("expm1", lambda M, rng, x: x.expm1(), U()),
    Spec("square", lambda M, rng, x: x.square(), U()),
    Spec("reciprocal", lambda M, rng, x: x.reciprocal(), U(0.3, 3)),
    Spec("rsqrt", lambda M, rng, x: x.rsqrt(), U(0.2, 4)),
    Spec("sign", lambda M, rng, x: x.sign(), U(), smooth=False),
    Spec("floor", lambda M, rng, x: x.floor(), U(), smooth=False),
    Spec("ceil", lambda M, rng, x: x.ceil(), U(), smooth=False),
    Spec("round", lambda M, rng, x: x.round(), U(), smooth=False),
    Spec("round decimals", lambda M, rng, x: x.round(decimals=1), U(), smooth=False),
    Spec("clamp_min", lambda M, rng, x: x.clamp_min(0.3), U(), smooth=False),
    Spec("clamp_max", lambda M, rng, x: x.clamp_max(-0.3), U(), smooth=False),
    Spec("norm 2", _norm(2), nd(1)),
    Spec("norm fro", lambda M, rng, x: x.norm(), U()),
    Spec("norm fro dims", lambda M, rng, x: x.norm("fro", dim=(0, -1)), nd(2)),
    Spec("norm 1", _norm(1), nd(1), smooth=False),
    Spec("norm inf", _norm(float("inf")), nd(1), smooth=False),
    Spec("norm 3", _norm(3), nd(1)),
    Spec("var", _reduce("var"), nd(1)),
    Spec("var correction=0", _reduce("var", correction=0), nd(1)),
    Spec("var unbiased=False", _reduce("var", unbiased=False), nd(1)),
    Spec("std", _reduce("std"), nd(1)),
    Spec("std correction=0", _reduce("std", correction=0), nd(1)),
    Spec("prod", _reduce("prod"), U()),
    Spec("cumsum", lambda M, rng, x: x.cumsum(dim_of(rng, x)), U()),
    Spec("outer", lambda M, rng, a, b: M.outer(a, b) if M is torch else a.outer(b), VV()),
    Spec("dot", lambda M, rng, a, b: a.dot(b), VV(same=True)),
    _einsum("ij,jk->ik", ["ij", "jk"]),
    _einsum("bij,bjk->bik", ["bij", "bjk"]),
    _einsum("ij->ji", ["ij"]),
    _einsum("ii->", ["ii"]),
    _einsum("ii->i", ["ii"]),
    _einsum("i,j->ij", ["i", "j"]),
    _einsum("ij->j", ["ij"]),
    _einsum("ij,j", ["ij", "j"]),
    _einsum("bi,bj,bk->bijk", ["bi", "bj", "bk"]),
    _einsum("iij,kj->ik", ["iij", "kj"]),
    Spec("einsum ...ij,...jk->...ik", lambda M, rng, a, b: M.einsum("...ij,...jk->...ik", a, b),
         lambda rng: [rng.uniform(-2, 2, (2, 1, 3, 2)), rng.uniform(-2, 2, (4, 2, 3))]),
    Spec("einsum ...ii->...i", lambda M, rng, a: M.einsum("...ii->...i", a),
         lambda rng: [rng.uniform(-2, 2, (2, 3, 3))]),
    Spec("einsum i...", lambda M, rng, a, b: M.einsum("i...,i", a, b),
         lambda rng: [rng.uniform(-2, 2, (3, 2, 2)), rng.uniform(-2, 2, 3)]),
    Spec("gather", _gather, nd(1)),
    Spec("index_select", _index_select, nd(1)),
    Spec("masked_fill", _masked_fill, nd(1)),
    Spec("repeat", _repeat, U()),
    Spec("expand_as", lambda M, rng, x: x.unsqueeze(0).expand_as(M.cat([x.unsqueeze(0)] * 3)),
         U()),
    Spec("view_as", lambda M, rng, x: x.view_as(x.reshape(-1)), U()),
    Spec("reshape_as", lambda M, rng, x: x.reshape_as(x.reshape(-1, 1)), U()),
    Spec("flatten", _flatten, nd(1)),
    Spec("unflatten", _unflatten, nd(1)),
    Spec("split", _split, nd(1)),
    Spec("chunk", _chunk, nd(1)),
    Spec("flip", _flip, nd(1)),
    Spec("tril", lambda M, rng, x: x.tril(int(rng.integers(-2, 3))), nd(2)),
    Spec("triu", lambda M, rng, x: x.triu(diagonal=int(rng.integers(-2, 3))), nd(2)),
    Spec("t", lambda M, rng, x: x.t(), lambda rng: [rng.uniform(-2, 2, tuple(
        int(n) for n in rng.integers(1, 4, rng.integers(0, 2))))]),
    Spec("t 2-D", lambda M, rng, x: x.t(), M2),
    Spec("swapaxes", lambda M, rng, x: x.swapaxes(0, -1), nd(1)),
    Spec("swapdims", lambda M, rng, x: x.swapdims(-1, 0), M3),
]


def _run(M, spec, arrays, seed, order):
    """Values, then the gradients of sum(out * w) (order 1) or of sum(grad * v) (2)."""
    rng = np.random.default_rng(seed)
    xs = [(torch.tensor(a) if M is torch else tg.tensor(a)).requires_grad_() for a in arrays]
    out = spec.fn(M, np.random.default_rng(seed + 1000), *xs)
    outs = out if isinstance(out, tuple) else (out,)
    values = [np.array(o.detach().numpy() if M is torch else o.array) for o in outs]
    loss = sum((o * (torch.tensor if M is torch else tg.tensor)(rng.standard_normal(o.shape))
                ).sum() for o in outs)
    grads = M.autograd.grad(loss, xs, create_graph=order == 2, allow_unused=True)
    if order == 2:
        total = sum((g * (torch.tensor if M is torch else tg.tensor)(rng.standard_normal(
            g.shape))).sum() for g in grads if g is not None and g.requires_grad)
        if not isinstance(total, int):
            grads = M.autograd.grad(total, xs, allow_unused=True)
        else:
            grads = [None] * len(xs)
    return values, [None if g is None else np.array(
        g.detach().numpy() if M is torch else g.array) for g in grads]


def _compare(spec, seed, order):
    arrays = spec.inputs(np.random.default_rng(seed))
    ours_v, ours_g = _run(tg, spec, arrays, seed, order)
    ref_v, ref_g = _run(torch, spec, arrays, seed, order)
    assert len(ours_v) == len(ref_v)
    for a, b in zip(ours_v, ref_v):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=TOL, atol=TOL)
    for a, b, x in zip(ours_g, ref_g, arrays):
        a = np.zeros(x.shape) if a is None else a  # an unused input: None or zeros
        b = np.zeros(x.shape) if b is None else b
        np.testing.assert_allclose(a, b, rtol=TOL, atol=TOL)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])
def test_values_and_gradients_match_pytorch(spec, seed):
    _compare(spec, seed, 1)


@pytest.mark.parametrize("seed", SEEDS[:3])
@pytest.mark.parametrize("spec", [s for s in SPECS if s.smooth],
                         ids=[s.name for s in SPECS if s.smooth])
def test_second_derivatives_match_pytorch(spec, seed):
    _compare(spec, seed, 2)


# --- PyTorch's special points ---------------------------------------------------------

SPECIAL = [
    ("norm of zeros", lambda M, x: x.norm(), [[0.0, 0.0, 0.0]]),
    ("norm with a zero row", lambda M, x: x.norm(dim=1), [[0.0, 0.0], [3.0, 4.0]]),
    ("norm 1 at 0", lambda M, x: x.norm(1), [[0.0, -2.0, 1.0]]),
    ("norm inf with ties", lambda M, x: x.norm(float("inf")), [[2.0, -2.0, 1.0]]),
    ("std of a constant", lambda M, x: x.std(), [[1.5, 1.5, 1.5]]),
    ("std with a constant row", lambda M, x: x.std(dim=1), [[1.0, 1.0], [1.0, 3.0]]),
    ("prod with one zero", lambda M, x: x.prod(), [[2.0, 0.0, 3.0]]),
    ("prod with two zeros", lambda M, x: x.prod(), [[2.0, 0.0, 0.0, 3.0]]),
    ("prod dim with zeros", lambda M, x: x.prod(1), [[2.0, 0.0, 3.0], [0.0, 0.0, 1.0],
                                                     [1.0, 2.0, 3.0]]),
    ("rsqrt at 0", lambda M, x: x.rsqrt(), [[0.0, 4.0]]),
    ("sign and round at their jumps", lambda M, x: x.sign() + x.round() + x.floor(),
     [[0.0, 0.5, 1.5, -2.0]]),
]


@pytest.mark.parametrize("name, fn, data", SPECIAL, ids=[s[0] for s in SPECIAL])
def test_special_points_match_pytorch(name, fn, data):
    results = []
    for M in (tg, torch):
        x = (torch.tensor if M is torch else tg.tensor)(np.array(data), requires_grad=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = fn(M, x)
            (g,) = M.autograd.grad(out.sum(), [x], create_graph=True)
            gg = M.autograd.grad((g * g).sum(), [x], allow_unused=True)[0] \
                if g.requires_grad else None
        results.append([np.array((t.detach() + 0).numpy() if M is torch else t.array)
                        for t in (out, g) + ((gg,) if gg is not None else ())])
    ours, ref = results
    for a, b in zip(ours[:2], ref[:2]):
        np.testing.assert_allclose(a, b, rtol=TOL, atol=TOL)
    if name.startswith("prod") and len(ours) == 3 and len(ref) == 3:  # second derivatives
        np.testing.assert_allclose(ours[2], ref[2], rtol=TOL, atol=TOL)


# --- errors ---------------------------------------------------------------------------

M_ = np.arange(6.0).reshape(2, 3)
ERRORS = [
    ("dot of matrices", lambda M, t: t(M_).dot(t(M_))),
    ("dot of different lengths", lambda M, t: t(np.ones(3)).dot(t(np.ones(4)))),
    ("outer of a matrix", lambda M, t: t(M_).outer(t(np.ones(3)))),
    ("t of 3-D", lambda M, t: t(np.ones((2, 2, 2))).t()),
    ("tril of 1-D", lambda M, t: t(np.ones(3)).tril()),
    ("triu of 0-d", lambda M, t: t(np.array(1.0)).triu()),
    ("gather: index of other ndim", lambda M, t: t(M_).gather(0, idx(M, [0, 1]))),
    ("gather: index out of range", lambda M, t: t(M_).gather(0, idx(M, [[2, 0, 0]]))),
    ("gather: negative index", lambda M, t: t(M_).gather(1, idx(M, [[-1]]))),
    ("gather: index too large", lambda M, t: t(M_).gather(0, idx(M, np.zeros((1, 4))))),
    ("gather: dim out of range", lambda M, t: t(M_).gather(2, idx(M, [[0]]))),
    ("index_select: out of range", lambda M, t: t(M_).index_select(1, idx(M, [3]))),
    ("index_select: negative", lambda M, t: t(M_).index_select(0, idx(M, [-1]))),
    ("index_select: 2-D index", lambda M, t: t(M_).index_select(0, idx(M, [[0]]))),
    ("masked_fill: float mask", lambda M, t: t(M_).masked_fill(t(np.ones(3)), 1.0)),
    ("masked_fill: mask does not broadcast", lambda M, t: t(M_).masked_fill(
        mask(M, np.ones(2, bool)), 1.0)),
    ("masked_fill: value of 1 dim", lambda M, t: t(M_).masked_fill(
        mask(M, np.ones(3, bool)), t(np.ones(1)))),
    ("repeat: too few sizes", lambda M, t: t(M_).repeat(2)),
    ("repeat: negative size", lambda M, t: t(M_).repeat(2, -1)),
    ("expand_as: does not fit", lambda M, t: t(M_).expand_as(t(np.ones((3, 2))))),
    ("view_as: other size", lambda M, t: t(M_).view_as(t(np.ones(5)))),
    ("flatten: start after end", lambda M, t: t(np.ones((2, 2, 2))).flatten(2, 1)),
    ("flatten: dim out of range", lambda M, t: t(M_).flatten(0, 2)),
    ("unflatten: sizes do not multiply", lambda M, t: t(M_).unflatten(1, (2, 2))),
    ("unflatten: dim out of range", lambda M, t: t(M_).unflatten(2, (1, 1))),
    ("split: sizes do not add up", lambda M, t: t(M_).split([1, 1], dim=1)),
    ("split: size 0", lambda M, t: t(M_).split(0)),
    ("chunk: 0 chunks", lambda M, t: t(M_).chunk(0)),
    ("chunk: 0-d", lambda M, t: t(np.array(1.0)).chunk(2)),
    ("flip: repeated dim", lambda M, t: t(M_).flip((0, 0))),
    ("flip: dim out of range", lambda M, t: t(M_).flip(2)),
    ("swapaxes: out of range", lambda M, t: t(M_).swapaxes(0, 2)),
    ("swapdims: out of range", lambda M, t: t(M_).swapdims(-3, 0)),
    ("cumsum: dim out of range", lambda M, t: t(M_).cumsum(2)),
    ("prod: dim out of range", lambda M, t: t(M_).prod(2)),
    ("prod: a tuple dim", lambda M, t: t(M_).prod((0, 1))),
    ("norm: fro over 3 dims", lambda M, t: t(np.ones((2, 2, 2))).norm("fro", dim=(0, 1, 2))),
    ("norm: unknown p", lambda M, t: t(M_).norm("nuc", dim=0)),
    ("var: dim out of range", lambda M, t: t(M_).var(2)),
    ("std: unbiased and correction", lambda M, t: t(M_).std(0, True, correction=1)),
    ("norm of an integer tensor", lambda M, t: M.tensor([1, 2]).norm()),
    ("var of an integer tensor", lambda M, t: M.tensor([1, 2]).var()),
    ("std of an integer tensor", lambda M, t: M.tensor([1, 2]).std()),
    ("einsum: sizes differ", lambda M, t: M.einsum("ij,jk->ik", t(M_), t(M_))),
    ("einsum: too few subscripts", lambda M, t: M.einsum("i,j->ij", t(M_), t(np.ones(2)))),
    ("einsum: too many operands", lambda M, t: M.einsum("ij->i", t(M_), t(M_))),
    ("einsum: output index not in inputs", lambda M, t: M.einsum("ij->k", t(M_))),
    ("einsum: repeated output index", lambda M, t: M.einsum("ij->ii", t(M_))),
    ("einsum: '...' axes do not broadcast", lambda M, t: M.einsum(
        "...ij,...jk", t(np.ones((2, 2, 3))), t(np.ones((3, 3, 2))))),
    ("einsum: two '...'", lambda M, t: M.einsum("......", t(M_))),
    ("einsum: an index not a-z or A-Z", lambda M, t: M.einsum("\u03b1i->i", t(M_))),
]


@pytest.mark.parametrize("name, act", ERRORS, ids=[e[0] for e in ERRORS])
def test_errors_like_pytorch(name, act):
    with pytest.raises(Exception):  # noqa: B017 - PyTorch's types vary
        act(torch, torch.tensor)
    with pytest.raises((ValueError, TypeError, IndexError, RuntimeError)) as info:
        act(tg, tg.tensor)
    assert str(info.value).strip()


def test_flatten_returns_the_tensor_itself_when_nothing_merges():
    for M in (tg, torch):
        v, m = M.ones(3), M.ones(2, 3)
        assert v.flatten() is v and m.flatten(1, 1) is m and m.flatten() is not m
        assert M.ones(()).flatten().shape == (1,)


def test_chunk_and_split_give_pytorch_pieces():
    for n in range(0, 7):
        for chunks in range(1, 5):
            ours = [p.shape for p in tg.zeros(n, 2).chunk(chunks)]
            ref = [tuple(p.shape) for p in torch.zeros(n, 2).chunk(chunks)]
            assert ours == ref, (n, chunks)
        for size in range(1, 4):
            ours = [p.shape for p in tg.zeros(2, n).split(size, dim=1)]
            ref = [tuple(p.shape) for p in torch.zeros(2, n).split(size, dim=1)]
            assert ours == ref, (n, size)


def test_results_are_copies_or_views_as_in_pytorch():
    """A change in place of the result reaches the input exactly when PyTorch's does."""
    ops = [lambda x: x.flip(0), lambda x: x.repeat(1, 1), lambda x: x.t(),
           lambda x: x.split(1)[0], lambda x: x.view_as(x), lambda x: x.tril(),
           lambda x: x.index_select(0, idx(tg, [0]) if isinstance(x, tg.Tensor)
                                    else torch.tensor([0]))]
    for op in ops:
        shared = []
        for M in (tg, torch):
            x = M.zeros(2, 2)
            with M.no_grad():
                op(x).add_(1.0)
            shared.append(float(x.sum()))
        assert shared[0] == shared[1]


FUNCTION_FORMS = [  # (name, extra arguments after the tensor)
    (name, ()) for name in ("sin", "cos", "tan", "expm1", "square", "sign", "floor", "ceil",
                            "round", "prod", "norm", "var", "std", "flatten", "t")
] + [("log2", ()), ("log10", ()), ("log1p", ()), ("rsqrt", ()), ("reciprocal", ()),
     ("clamp_min", (0.2,)), ("clamp_max", (0.2,)), ("cumsum", (0,)), ("flip", ([0],)),
     ("tril", ()), ("triu", (1,)), ("swapaxes", (0, 1)), ("swapdims", (1, 0)),
     ("unflatten", (1, (1, 3))), ("chunk", (2,)), ("split", (1,))]


@pytest.mark.parametrize("name, args", FUNCTION_FORMS, ids=[f[0] for f in FUNCTION_FORMS])
def test_function_forms_match_pytorch(name, args):
    x = np.random.default_rng(0).uniform(0.5, 2.0, (2, 3))
    ours = getattr(tg, name)(tg.tensor(x), *args)
    ref = getattr(torch, name)(torch.tensor(x), *args)
    ours, ref = (ours, ref) if isinstance(ref, tuple) else ((ours,), (ref,))
    for a, b in zip(ours, ref, strict=True):
        np.testing.assert_allclose(a.array, b.numpy(), rtol=TOL, atol=TOL)


def test_function_forms_of_several_tensors():
    a, b = np.arange(3.0), np.arange(1.0, 4.0)
    m = np.arange(6.0).reshape(2, 3)
    np.testing.assert_allclose(tg.outer(tg.tensor(a), b).array, np.outer(a, b))
    assert tg.dot(tg.tensor(a), tg.tensor(b)).item() == torch.dot(torch.tensor(a),
                                                                  torch.tensor(b)).item()
    np.testing.assert_allclose(tg.gather(tg.tensor(m), 1, [[2], [0]]).array, [[2.0], [3.0]])
    np.testing.assert_allclose(tg.index_select(tg.tensor(m), 1, [2, 0]).array, m[:, [2, 0]])
    np.testing.assert_allclose(tg.masked_fill(tg.tensor(m), m > 2, 0.0).array,
                               np.where(m > 2, 0.0, m))
