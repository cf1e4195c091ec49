"""The public gradient-checking API: numerical_grad, gradcheck, gradgradcheck."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_edu as tg


def test_numerical_grad_matches_the_derivative_for_any_memory_layout():
    """d/dx sum(x^3) = 3x^2, also for a transposed (not C-contiguous) or 0-d input."""
    a = np.arange(6.0).reshape(2, 3).T
    assert not a.flags.c_contiguous
    for x in (tg.from_numpy(np.array(a)), tg.tensor(a), tg.tensor(1.5)):
        (g,) = tg.numerical_grad(lambda t: (t ** 3).sum(), x)
        np.testing.assert_allclose(g, 3 * x.array ** 2, rtol=1e-7)


def test_numerical_grad_leaves_the_inputs_as_they_were():
    x = tg.tensor([0.3, -1.2])
    before = x.array.copy()
    tg.numerical_grad(lambda t: t.exp().sum(), x)
    np.testing.assert_array_equal(x.array, before)


def test_numerical_grad_follows_grad_output_and_requires_it_for_tensors():
    """For a tensor-valued fn it is the gradient of sum(fn(x) * v); without v: an error
    raised at once, before any differencing."""
    calls = []

    def fn(t):
        calls.append(1)
        return t * t

    x = tg.tensor([1.0, 2.0])
    (g,) = tg.numerical_grad(fn, x, grad_output=np.array([3.0, -1.0]))
    np.testing.assert_allclose(g, [3.0 * 2 * 1.0, -1.0 * 2 * 2.0], rtol=1e-7)
    calls.clear()
    with pytest.raises(ValueError, match="grad_output"):
        tg.numerical_grad(fn, x)
    assert len(calls) <= 2  # only the shape check ran


def test_gradcheck_passes_a_correct_function_and_reports_a_wrong_one():
    a, b = np.array([0.5, -1.0, 2.0]), np.array([1.5, 0.2, -0.7])
    assert tg.gradcheck(lambda x, y: (x * y).tanh(), a, b)
    # x.detach() * x has derivative 2x but backward sees only x: half the true value
    with pytest.raises(tg.GradcheckError) as info:
        tg.gradcheck(lambda x: x.detach() * x, a)
    message = str(info.value)
    assert "input 0 (shape (3,))" in message and "3 of 3 elements differ" in message
    assert "analytic" in message and "numeric" in message


def test_gradgradcheck_catches_a_wrong_second_derivative():
    """t^2 computed as 2·t_c·t − t_c², t_c a detached copy of t: the value and the
    first derivative (2·t_c = 2t) are right, the second (0 instead of 2) is not.
    gradcheck passes it; gradgradcheck must not."""
    x = np.array([0.1, -0.4])

    def square_with_a_detached_slope(t):
        c = t.detach()
        return 2 * c * t - c * c

    assert tg.gradcheck(square_with_a_detached_slope, x)
    assert tg.gradgradcheck(lambda t: t * t, x)
    with pytest.raises(tg.GradcheckError):
        tg.gradgradcheck(square_with_a_detached_slope, x)
