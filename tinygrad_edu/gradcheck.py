"""Checking gradients against central finite differences.

The derivative of f at x is approximated by the symmetric difference

    df/dx  ~  (f(x + eps) - f(x - eps)) / (2 * eps)

whose truncation error shrinks like eps^2 while rounding error grows like 1/eps,
so in float64 eps = 1e-6 leaves about 1e-9 of either. For a tensor-valued f we check
a vector-Jacobian product: the gradient of sum(f(x) * v) for a random v, which is
exactly what backward computes when it is handed v.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .autograd import grad
from .functions import cat
from .tensor import Tensor


class GradcheckError(AssertionError):
    """Analytic and numeric gradients disagree."""


def _as_float64_leaves(inputs: Sequence[Any]) -> list[Tensor]:
    return [Tensor(np.array(x.array if isinstance(x, Tensor) else x, dtype=np.float64),
                   requires_grad=True) for x in inputs]


def _scalar(out: Tensor, grad_output: np.ndarray | None) -> float:
    data = out.array.astype(np.float64)
    return float(data.sum() if grad_output is None else (data * grad_output).sum())


def numerical_grad(fn: Callable[..., Tensor], *inputs: Any, eps: float = 1e-6,
                   grad_output: np.ndarray | None = None) -> list[np.ndarray]:
    """Central-difference gradient of ``sum(fn(*inputs) * grad_output)`` with respect
    to each input (``grad_output`` may be omitted when fn returns one number)."""
    leaves = [x if isinstance(x, Tensor) else Tensor(x) for x in inputs]
    if grad_output is None and fn(*leaves).array.size != 1:
        raise ValueError(f"numerical_grad: fn returned shape {fn(*leaves).shape}; pass "
                         "grad_output (an array of that shape) to pick a direction")
    results = []
    for x in leaves:
        g = np.zeros(x.shape)
        for idx in np.ndindex(x.shape):  # element by element, whatever the memory layout
            old = x.array[idx]
            x.array[idx] = old + eps
            up = _scalar(fn(*leaves), grad_output)
            x.array[idx] = old - eps
            down = _scalar(fn(*leaves), grad_output)
            x.array[idx] = old
            g[idx] = (up - down) / (2 * eps)
        results.append(g)
    return results


def _table(name: str, analytic: np.ndarray, numeric: np.ndarray, bad: np.ndarray) -> str:
    lines = [f"  {name}: {int(bad.sum())} of {bad.size} elements differ",
             f"  {'index':>12} {'analytic':>16} {'numeric':>16} {'difference':>12}"]
    for idx in np.argwhere(bad)[:20]:
        idx = tuple(int(i) for i in idx)
        a, n = analytic[idx], numeric[idx]
        lines.append(f"  {str(idx):>12} {a:16.8g} {n:16.8g} {a - n:12.3g}")
    return "\n".join(lines)


def gradcheck(fn: Callable[..., Tensor], *inputs: Any, eps: float = 1e-6, atol: float = 1e-5,
              rtol: float = 1e-3, grad_output: np.ndarray | None = None,
              seed: int = 0) -> bool:
    """Compare backward's gradients of ``fn`` with central differences, in float64.

    Every input becomes a float64 leaf that requires grad. For a non-scalar output a
    random upstream gradient (seeded) is used unless ``grad_output`` is given.
    Returns True, or raises GradcheckError with a table of the elements that differ.
    """
    leaves = _as_float64_leaves(inputs)
    out = fn(*leaves)
    if not isinstance(out, Tensor):
        raise TypeError(f"gradcheck: fn must return a Tensor, got {type(out).__name__}")
    if grad_output is None:
        grad_output = np.random.default_rng(seed).standard_normal(out.shape)
    grad_output = np.asarray(grad_output, dtype=np.float64)
    if out.requires_grad:
        analytic = grad(out, leaves, grad_outputs=Tensor(grad_output), allow_unused=True)
    else:
        analytic = [None] * len(leaves)
    analytic = [np.zeros(x.shape) if g is None else g.array for g, x in zip(analytic, leaves)]
    numeric = numerical_grad(fn, *[x.detach() for x in leaves], eps=eps, grad_output=grad_output)
    reports = []
    for k, (a, n) in enumerate(zip(analytic, numeric)):
        bad = ~np.isclose(a, n, rtol=rtol, atol=atol, equal_nan=True)
        if bad.any():
            reports.append(_table(f"input {k} (shape {a.shape})", a, n, bad))
    if reports:
        raise GradcheckError("gradcheck: backward disagrees with finite differences "
                             f"(eps={eps}, atol={atol}, rtol={rtol})\n" + "\n".join(reports))
    return True


def gradgradcheck(fn: Callable[..., Tensor], *inputs: Any, eps: float = 1e-6,
                  atol: float = 1e-5, rtol: float = 1e-3, seed: int = 0) -> bool:
    """Check second derivatives: gradcheck applied to the function that maps the
    inputs to backward's gradients (computed with create_graph=True)."""
    leaves = _as_float64_leaves(inputs)
    out_shape = fn(*leaves).shape
    v = Tensor(np.random.default_rng(seed + 1).standard_normal(out_shape))

    def first_grads(*xs: Tensor) -> Tensor:
        # numerical_grad passes plain tensors: make them leaves so grad() can run
        xs = [x if x.requires_grad else x.detach().requires_grad_() for x in xs]
        out = fn(*xs)
        if not out.requires_grad:
            return Tensor(np.zeros(sum(x.array.size for x in xs)))
        gs = grad(out, xs, grad_outputs=v, create_graph=True, allow_unused=True)
        return cat([(x * 0.0 if g is None else g).reshape(-1) for g, x in zip(gs, xs)])

    return gradcheck(first_grads, *leaves, eps=eps, atol=atol, rtol=rtol, seed=seed + 2)
