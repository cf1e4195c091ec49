"""tinygrad_edu against PyTorch on randomly generated expressions (skipped without torch).

Hypothesis draws a small program: inputs of broadcastable shapes and a sequence of
ops, each applied to earlier values. The program runs in both engines in float64;
forward values and the inputs' gradients must agree.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tinygrad_edu as tg
from tinygrad_edu.autograd import sum_to

from . import strategies as S
from .test_ops import matmul_shapes

torch = pytest.importorskip("torch")


# (name, engine function, torch function); None means "same code works for both".
UNARY = [
    ("tanh", lambda t: t.tanh(), None),
    ("sigmoid", lambda t: t.sigmoid(), None),
    ("relu", lambda t: t.relu(), None),
    ("abs", lambda t: t.abs(), None),
    ("neg", lambda t: -t, None),
    ("square", lambda t: t ** 2, None),
    ("sqrt(t^2+1)", lambda t: (t * t + 1).sqrt(), None),
    ("log(|t|+1)", lambda t: (t.abs() + 1).log(), None),
    ("exp(tanh t)", lambda t: t.tanh().exp(), None),
    ("clamp", lambda t: t.clamp(-0.5, 0.5), None),
    ("1/(t^2+1)", lambda t: 1.0 / (t * t + 1), None),
    ("2**tanh", lambda t: 2.0 ** t.tanh(), None),
    ("softmax", lambda t: t.softmax(-1) if t.ndim else t, lambda t: t.softmax(-1) if t.ndim else t),
    ("log_softmax", lambda t: t.log_softmax(dim=-1) if t.ndim else t,
     lambda t: t.log_softmax(dim=-1) if t.ndim else t),
    ("sum(-1, keep)", lambda t: t.sum(dim=-1, keepdim=True) if t.ndim else t,
     lambda t: t.sum(dim=-1, keepdim=True) if t.ndim else t),
    ("mean(0)", lambda t: t.mean(dim=0) if t.ndim else t, lambda t: t.mean(dim=0) if t.ndim else t),
    ("amax(-1)", lambda t: t.amax(-1) if t.ndim else t, lambda t: t.amax(-1) if t.ndim else t),
    ("max(-1).values", lambda t: t.max(-1).values if t.ndim else t,
     lambda t: t.max(-1).values if t.ndim else t),
    ("min()", lambda t: t.min(), lambda t: t.min()),
    ("logsumexp(-1)", lambda t: t.logsumexp(dim=-1) if t.ndim else t,
     lambda t: t.logsumexp(-1) if t.ndim else t),
    ("reverse axes", lambda t: t.permute(*reversed(range(t.ndim))) if t.ndim else t, None),
    ("first row", lambda t: t[0] if t.ndim else t, None),
    ("rows [0,0,-1]", lambda t: t[[0, 0, -1]] if t.ndim else t, None),
    ("unsqueeze", lambda t: t.unsqueeze(0), None),
    ("reshape(-1)", lambda t: t.reshape(-1), None),
]

BINARY = [
    ("add", lambda a, b: a + b, None),
    ("sub", lambda a, b: a - b, None),
    ("mul", lambda a, b: a * b, None),
    ("div", lambda a, b: a / (b * b + 1), None),
    ("pow", lambda a, b: (a * a + 1) ** b.tanh(), None),
    ("maximum", tg.maximum, torch.maximum),
    ("where", lambda a, b: tg.where(a > 0, a, b), lambda a, b: torch.where(a > 0, a, b)),
]


@st.composite
def programs(draw):
    shapes = S.broadcast_shapes(draw, n=2)
    inputs = [S.values(draw, s) for s in shapes]
    steps = []
    pool = len(inputs)
    for _ in range(draw(st.integers(1, 6))):
        if draw(st.booleans()):
            steps.append(("unary", draw(st.integers(0, len(UNARY) - 1)),
                          (draw(st.integers(0, pool - 1)),)))
        else:
            steps.append(("binary", draw(st.integers(0, len(BINARY) - 1)),
                          (draw(st.integers(0, pool - 1)), draw(st.integers(0, pool - 1)))))
        pool += 1
    return inputs, steps


def run(program, lib):
    inputs, steps = program
    if lib == "tg":
        leaves = [tg.tensor(x, requires_grad=True) for x in inputs]
    else:
        leaves = [torch.tensor(x, requires_grad=True) for x in inputs]
    pool = list(leaves)
    for kind, index, args in steps:
        name, ours, theirs = (UNARY if kind == "unary" else BINARY)[index]
        fn = ours if lib == "tg" or theirs is None else theirs
        operands = [pool[a] for a in args]
        if kind == "binary":
            try:
                np.broadcast_shapes(tuple(operands[0].shape), tuple(operands[1].shape))
            except ValueError:  # an earlier step changed a shape: pair the first with itself
                operands = [operands[0], operands[0]]
        pool.append(fn(*operands))
    out = pool[-1]
    weights = np.random.default_rng(len(steps)).standard_normal(tuple(out.shape))
    loss = (out * (tg.tensor(weights) if lib == "tg" else torch.tensor(weights))).sum()
    if loss.requires_grad:
        loss.backward()
    grads = [np.zeros(x.shape) if leaf.grad is None else np.asarray(leaf.grad.detach().numpy()
                                                                      if lib == "torch"
                                                                      else leaf.grad.array)
             for leaf, x in zip(leaves, inputs)]
    value = out.detach().numpy() if lib == "torch" else out.array
    return np.asarray(value), grads


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs())
def test_random_expressions_match_pytorch(program):
    value, grads = run(program, "tg")
    value_t, grads_t = run(program, "torch")
    assert value.shape == value_t.shape
    np.testing.assert_allclose(value, value_t, rtol=1e-10, atol=1e-12)
    for g, g_t in zip(grads, grads_t):
        np.testing.assert_allclose(g, g_t, rtol=1e-9, atol=1e-12)


@settings(max_examples=30, deadline=None)
@given(st.data())
def test_batched_matmul_matches_pytorch(data):
    """The upstream gradient is a fixed random array (not tanh's 1 - out^2, which
    cancels when tanh saturates and makes a relative comparison meaningless). Both
    gradients are then sums of products, whose rounding error is bounded by a few
    ulps of the sum of the products' magnitudes: that is the tolerance."""
    (a, b), _ = matmul_shapes(data.draw)
    w = np.random.default_rng(0).standard_normal(np.matmul(a, b).shape)
    ta, tb = tg.tensor(a, requires_grad=True), tg.tensor(b, requires_grad=True)
    pa, pb = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    ((ta @ tb) * w).sum().backward()
    ((pa @ pb) * torch.tensor(w)).sum().backward()
    scale_a = np.abs(w) @ np.swapaxes(np.abs(b), -1, -2)  # magnitudes summed into a.grad
    scale_b = np.swapaxes(np.abs(a), -1, -2) @ np.abs(w)
    tol = 16 * np.finfo(np.float64).eps
    for ours, theirs, scale in ((ta.grad, pa.grad, scale_a), (tb.grad, pb.grad, scale_b)):
        scale = sum_to(scale, ours.shape)  # broadcast batch axes were summed too
        assert np.all(np.abs(ours.numpy() - theirs.numpy()) <= tol * (scale + 1e-300))


def test_second_derivative_matches_pytorch():
    x = np.array([0.3, -1.2, 2.0])
    t = tg.tensor(x, requires_grad=True)
    p = torch.tensor(x, requires_grad=True)
    (g,) = tg.autograd.grad((t.tanh() * t).sum(), t, create_graph=True)
    (gp,) = torch.autograd.grad((p.tanh() * p).sum(), p, create_graph=True)
    g.sum().backward()
    gp.sum().backward()
    np.testing.assert_allclose(t.grad.array, p.grad.numpy(), rtol=1e-12)
