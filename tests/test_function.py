"""autograd.Function: user-written forward and backward, as PyTorch's (compared with it
where installed; the numbers are written out too)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import tinygrad_edu as tg

try:
    import torch
except ImportError:
    torch = None

LIBS = [tg] + ([torch] if torch is not None else [])


def cube_class(M):
    class Cube(M.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 3 * x ** 2
    return Cube


def scale_and_split_class(M):
    """Two outputs and a non-Tensor argument (its gradient is None)."""
    class ScaleSplit(M.autograd.Function):
        @staticmethod
        def forward(ctx, x, factor):
            ctx.factor = factor
            return x * factor, x.sum() * 1.0

        @staticmethod
        def backward(ctx, g_scaled, g_sum):
            return g_scaled * ctx.factor + g_sum, None
    return ScaleSplit


def test_a_cubic_fitted_through_a_function():
    """A third-degree polynomial P3 as a Function, fitted to sin by gradient descent
    (the shape of the official tutorial's program)."""
    def program(M):
        class P3(M.autograd.Function):
            @staticmethod
            def forward(ctx, t):
                ctx.save_for_backward(t)
                return 0.5 * (5 * t ** 3 - 3 * t)

            @staticmethod
            def backward(ctx, g):
                (t,) = ctx.saved_tensors
                return g * 1.5 * (5 * t ** 2 - 1)

        x = M.linspace(-math.pi, math.pi, 200, dtype=M.float64)
        y = M.sin(x)
        a, b, c, d = (M.full((), v, dtype=M.float64, requires_grad=True)
                      for v in (0.0, -1.0, 0.0, 0.3))
        for _ in range(300):
            loss = (a + b * P3.apply(c + d * x) - y).pow(2).sum()
            loss.backward()
            with M.no_grad():
                for p in (a, b, c, d):
                    p -= 5e-5 * p.grad
                    p.grad = None
        return [p.item() for p in (a, b, c, d)] + [loss.item()], P3.apply(c + d * x).grad_fn
    ours, node = program(tg)
    assert node.name() == "P3Backward"
    assert ours[-1] < 11.0  # from about 47 at the start
    if torch is not None:
        theirs, _ = program(torch)
        np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("M", LIBS, ids=lambda M: M.__name__)
def test_one_output_and_double_backward(M):
    Cube = cube_class(M)
    x = M.tensor([2.0, -1.0], dtype=M.float64, requires_grad=True)
    y = Cube.apply(x)
    (g,) = M.autograd.grad(y.sum(), [x], create_graph=True)
    (gg,) = M.autograd.grad(g.sum(), [x])
    assert y.tolist() == [8.0, -1.0] and g.tolist() == [12.0, 3.0] and gg.tolist() == [12.0, -6.0]


@pytest.mark.parametrize("M", LIBS, ids=lambda M: M.__name__)
def test_several_outputs_and_a_non_tensor_argument(M):
    ScaleSplit = scale_and_split_class(M)
    x = M.tensor([1.0, 2.0], dtype=M.float64, requires_grad=True)
    scaled, total = ScaleSplit.apply(x, 3.0)
    (scaled.sum() * 2 + total).backward()
    assert scaled.tolist() == [3.0, 6.0] and total.item() == 3.0
    assert x.grad.tolist() == [7.0, 7.0]


def test_errors_name_the_function():
    class WrongCount(tg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g, g

    class WrongShape(tg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g.sum()

    x = tg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="WrongCount.backward returned 2 gradients"):
        WrongCount.apply(x).sum().backward()
    with pytest.raises(RuntimeError, match="WrongShape.backward returned a gradient of shape"):
        WrongShape.apply(x).sum().backward()


def test_saved_tensors_are_version_checked():
    Cube = cube_class(tg)
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    h = x * 1
    y = Cube.apply(h)
    h += 1  # changes what forward saved
    with pytest.raises(RuntimeError, match="CubeBackward: saved tensor 0"):
        y.sum().backward()


def test_non_differentiable_outputs_and_needs_input_grad():
    class ArgSort(tg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            assert ctx.needs_input_grad == (True,)
            order = tg.tensor(np.argsort(x.numpy()))
            ctx.mark_non_differentiable(order)
            return x * 1, order

        @staticmethod
        def backward(ctx, g, g_order):
            return g

    values, order = ArgSort.apply(tg.tensor([3.0, 1.0], requires_grad=True))
    assert values.requires_grad and not order.requires_grad and order.tolist() == [1, 0]


def in_place_classes(M):
    class AddOneInPlace(M.autograd.Function):
        """y = x + 1 written into x (mark_dirty); backward reads the saved output."""
        @staticmethod
        def forward(ctx, x):
            ctx.mark_dirty(x)
            x.add_(1)
            ctx.save_for_backward(x)
            return x

        @staticmethod
        def backward(ctx, g):
            (y,) = ctx.saved_tensors
            return g * y

    class Forgets(M.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.mark_dirty(x)
            x.mul_(2)
            return x * 1

        @staticmethod
        def backward(ctx, g):
            return g * 2
    return AddOneInPlace, Forgets


@pytest.mark.parametrize("M", LIBS, ids=lambda M: M.__name__)
def test_dirty_inputs_take_the_functions_history(M):
    AddOneInPlace, _ = in_place_classes(M)
    w = M.tensor([1.0, 2.0, 3.0], dtype=M.float64, requires_grad=True)
    h = w * 2
    out = AddOneInPlace.apply(h)
    assert out is h and h.grad_fn.name() == "AddOneInPlaceBackward"
    assert h.tolist() == [3.0, 5.0, 7.0]
    (out ** 2).sum().backward()  # d/dw of backward's g*y chain: 2y * y * 2
    assert w.grad.tolist() == [36.0, 100.0, 196.0]


@pytest.mark.parametrize("M", LIBS, ids=lambda M: M.__name__)
def test_a_dirty_view_updates_its_base(M):
    AddOneInPlace, _ = in_place_classes(M)
    w = M.tensor([1.0, 2.0, 3.0, 4.0], dtype=M.float64, requires_grad=True)
    h = w * 1
    AddOneInPlace.apply(h[1:3])
    assert h.tolist() == [1.0, 3.0, 4.0, 4.0]
    (h * M.tensor([1.0, 2.0, 3.0, 4.0], dtype=M.float64)).sum().backward()
    assert w.grad.tolist() == [1.0, 6.0, 12.0, 4.0]  # g * y inside the window


@pytest.mark.parametrize("M", LIBS, ids=lambda M: M.__name__)
def test_dirty_errors(M):
    AddOneInPlace, Forgets = in_place_classes(M)
    with pytest.raises(RuntimeError, match="leaf"):
        AddOneInPlace.apply(M.tensor([1.0], requires_grad=True))
    with pytest.raises(RuntimeError, match="dirty"):
        Forgets.apply(M.tensor([1.0], requires_grad=True) * 1)


@pytest.mark.parametrize("M", LIBS, ids=lambda M: M.__name__)
def test_materialize_off_gives_none_only_where_no_gradient_arrived(M):
    seen = []

    class Two(M.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.set_materialize_grads(False)
            return x * 2, x * 3

        @staticmethod
        def backward(ctx, a, b):
            seen.append((a is None, b is None))
            result = 0
            if a is not None:
                result = result + a * 2
            if b is not None:
                result = result + b * 3
            return result

    x = M.tensor([1.0, 2.0], dtype=M.float64, requires_grad=True)
    a, _b = Two.apply(x)
    assert a.grad_fn.name() == "TwoBackward"
    (a * 0).sum().backward()  # a zero gradient did arrive: a tensor, not None
    _a, b = Two.apply(x)
    b.sum().backward()
    assert seen == [(False, True), (True, False)]
    assert x.grad.tolist() == [3.0, 3.0]
