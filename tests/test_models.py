"""The regression models: the engine's gradients are the hand-derived ones, fit follows
gradient descent step by step, the closed form is the minimum, and bad input gets a
clear error. Also the mini-batch iterator that fit uses."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_edu as tg
from tinygrad_edu._validate import positive_int, positive_number
from tinygrad_edu.data import BatchIterator
from tinygrad_edu.models import (
    DivergenceError,
    LinearRegressor,
    QuadraticRegressor,
    linear_grads,
    linear_optimum,
    quadratic_grads,
    quadratic_optimum,
)
from tinygrad_edu.optim import SGD, StepLR

# --- the engine's gradients are the hand-derived formulas ------------------------------


def floats(lo, hi):
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


@st.composite
def quadratic_problems(draw):
    n = draw(st.integers(1, 20))
    x = draw(hnp.arrays(np.float64, n, elements=floats(-3, 3)))
    y = draw(hnp.arrays(np.float64, n, elements=floats(-10, 10)))
    return x, y, draw(floats(-5, 5)), draw(floats(-5, 5)), draw(st.sampled_from(["sum",
                                                                                "mean"]))


@st.composite
def linear_problems(draw):
    n, d = draw(st.integers(1, 15)), draw(st.integers(1, 4))
    X = draw(hnp.arrays(np.float64, (n, d), elements=floats(-3, 3)))
    y = draw(hnp.arrays(np.float64, n, elements=floats(-10, 10)))
    w = draw(hnp.arrays(np.float64, d, elements=floats(-5, 5)))
    return X, y, w, draw(floats(-5, 5)), draw(st.sampled_from(["sum", "mean"]))


@settings(max_examples=40, deadline=None)
@given(quadratic_problems())
def test_quadratic_backward_equals_the_hand_formulas_and_finite_differences(problem):
    x, y, w, b, reduction = problem
    model = QuadraticRegressor(w, b, reduction=reduction)
    loss = model.loss(x, y)
    loss.backward()
    engine = (model.w.grad.item(), model.b.grad.item())

    # the articles' formulas: Σ (ŷ − y)·x², Σ (ŷ − y)  (/n for "mean")
    hand = quadratic_grads(x, y, w, b, reduction=reduction)
    scale = 1 + np.sum(np.abs(w * x ** 2 + b - y) * (1 + x ** 2))  # size of the sums' terms
    np.testing.assert_allclose(engine, hand, rtol=1e-12, atol=1e-13 * scale)

    numeric = tg.numerical_grad(lambda w_, b_: QuadraticRegressor(w_, b_, reduction).loss(x, y),
                                np.array(w), np.array(b))
    # central differences are exact for a quadratic loss, up to rounding ε·|L|/h
    np.testing.assert_allclose(engine, [g.item() for g in numeric], rtol=1e-6,
                               atol=1e-8 * (1 + loss.item()))


@settings(max_examples=40, deadline=None)
@given(linear_problems())
def test_linear_backward_equals_the_hand_formulas_and_finite_differences(problem):
    X, y, w, b, reduction = problem
    model = LinearRegressor(X.shape[1], w=w, b=b, reduction=reduction)
    loss = model.loss(X, y)
    loss.backward()

    # Xᵀ(ŷ − y) and Σ (ŷ − y)  (/n for "mean")
    hand_w, hand_b = linear_grads(X, y, w, b, reduction=reduction)
    scale = 1 + np.sum(np.abs(X @ w + b - y)) * (1 + np.abs(X).max())
    np.testing.assert_allclose(model.w.grad.array, hand_w, rtol=1e-12, atol=1e-13 * scale)
    np.testing.assert_allclose(model.b.grad.array, [hand_b], rtol=1e-12, atol=1e-13 * scale)

    numeric_w, numeric_b = tg.numerical_grad(
        lambda w_, b_: LinearRegressor(len(w), w_, b_, reduction).loss(X, y), w, np.array(b))
    np.testing.assert_allclose(model.w.grad.array, numeric_w, rtol=1e-6,
                               atol=1e-8 * (1 + loss.item()))
    np.testing.assert_allclose(model.b.grad.array, [numeric_b], rtol=1e-6,
                               atol=1e-8 * (1 + loss.item()))


def test_hand_gradients_on_a_small_example():
    # x = [1, 2], y = [1, 1], w = 1, b = 0: ŷ = [1, 4], ŷ − y = [0, 3]
    # dL/dw = 0·1 + 3·4 = 12, dL/db = 0 + 3 = 3; "mean" halves both (n = 2)
    assert quadratic_grads([1, 2], [1, 1], 1.0, 0.0) == (12.0, 3.0)
    assert quadratic_grads([1, 2], [1, 1], 1.0, 0.0, reduction="mean") == (6.0, 1.5)
    # X = [[1, 0], [0, 2]], w = [1, 1], b = 1, y = [0, 0]: ŷ − y = [2, 3]
    # Xᵀ(ŷ − y) = [2, 6], Σ = 5
    grad_w, grad_b = linear_grads([[1, 0], [0, 2]], [0, 0], [1, 1], 1)
    assert grad_w.tolist() == [2.0, 6.0] and grad_b == 5.0


# --- predict and loss ------------------------------------------------------------------


def test_quadratic_predict_and_loss():
    model = QuadraticRegressor(w=3.0, b=2.0)
    assert model.predict([0.0, 1.0, -2.0]).array.tolist() == [[2.0], [5.0], [14.0]]
    assert model.w.shape == model.b.shape == (1, 1)
    # residuals [1, -1, 2] → ½(1 + 1 + 4) = 3, mean: 3/3
    assert model.loss([0, 1, -2], [1, 6, 12]).item() == 3.0
    assert QuadraticRegressor(3.0, 2.0, "mean").loss([0, 1, -2], [1, 6, 12]).item() == 1.0


def test_linear_predict_and_loss():
    model = LinearRegressor(2, w=[2.0, 51.0], b=21.2)
    X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    np.testing.assert_allclose(model.predict(X).array, [23.2, 72.2, 74.2])
    assert model.w.shape == (2,) and model.b.shape == (1,)
    assert model.loss(X, [23.2, 72.2, 74.2]).item() == pytest.approx(0.0, abs=1e-20)
    assert LinearRegressor(1, w=[2.0]).predict([1.0, 2.0]).array.tolist() == [2.0, 4.0]


def test_inputs_may_be_tensors_lists_or_columns():
    model = QuadraticRegressor(1.0, 1.0)
    x = np.array([0.5, -1.0])
    expected = model.loss(x, [0.0, 1.0]).item()
    assert model.loss(tg.tensor(x.reshape(2, 1)), tg.tensor([[0.0], [1.0]])).item() == expected
    assert model.loss(x.tolist(), np.array([[0.0], [1.0]])).item() == expected


def test_the_model_copies_its_starting_values():
    w0, b0 = np.array([[0.5]]), np.array([[0.5]])
    model = QuadraticRegressor(w0, b0)
    model.fit([1.0, 2.0], [3.0, 12.0], lr=0.01, epochs=3, log_every=None)
    assert w0.item() == 0.5 and model.w.item() != 0.5


# --- fit: gradient descent, step by step -----------------------------------------------


def article_data():
    rng = np.random.RandomState(100)
    x = np.linspace(-1, 1, 100).reshape(100, 1)
    y = 3 * np.power(x, 2) + 2 + 0.2 * rng.rand(x.size).reshape(100, 1)
    return x, y, rng.rand(1, 1), rng.rand(1, 1)


def test_quadratic_fit_is_the_articles_loop():
    x, y, w, b = article_data()
    model = QuadraticRegressor(w, b)
    history = model.fit(x, y, lr=0.001, epochs=50, log_every=None)
    assert len(history.loss) == 50 and len(history.w) == len(history.b) == 51
    assert history.w[0] == w and history.lr == [0.001] * 50
    for epoch in range(50):
        y_pred = np.power(x, 2) * w + b
        assert history.loss[epoch] == pytest.approx(np.sum(0.5 * (y_pred - y) ** 2),
                                                    rel=1e-14)
        grad_w, grad_b = quadratic_grads(x, y, w, b)
        w, b = w - 0.001 * grad_w, b - 0.001 * grad_b
        assert abs(history.w[epoch + 1] - w) < 1e-12 and abs(history.b[epoch + 1] - b) < 1e-12


def test_linear_fit_with_minibatches_is_sgd_over_the_same_batches():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((23, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 3.0
    w0 = rng.standard_normal(3)
    model = LinearRegressor(3, w=w0, b=0.5)
    history = model.fit(X, y, lr=0.02, epochs=4, batch_size=5, seed=7, log_every=None)
    w, b = w0.copy(), 0.5
    batches = BatchIterator(X, y, batch_size=5, seed=7)  # the same orders
    for epoch in range(4):
        total = 0.0
        for xb, yb in batches:
            total += 0.5 * np.sum((xb @ w + b - yb) ** 2)
            grad_w, grad_b = linear_grads(xb, yb, w, b)
            w, b = w - 0.02 * grad_w, b - 0.02 * grad_b
        np.testing.assert_allclose(history.w[epoch + 1], w, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(history.b[epoch + 1], [b], rtol=1e-12, atol=1e-12)
        assert history.loss[epoch] == pytest.approx(total, rel=1e-12)


def test_mean_reduction_divides_the_steps_by_n():
    # ½·mean = ½·sum / n, so "mean" with lr·n takes the same steps as "sum" with lr
    x, y, w, b = article_data()
    by_sum = QuadraticRegressor(w, b, "sum").fit(x, y, lr=0.001, epochs=30, log_every=None)
    by_mean = QuadraticRegressor(w, b, "mean").fit(x, y, lr=0.1, epochs=30, log_every=None)
    np.testing.assert_allclose(by_mean.w, by_sum.w, rtol=1e-12)
    np.testing.assert_allclose(np.array(by_mean.loss) * 100, by_sum.loss, rtol=1e-12)


def test_mean_reduction_epoch_loss_averages_the_batches():
    X = np.arange(10.0).reshape(10, 1)
    model = LinearRegressor(1, reduction="mean")
    history = model.fit(X, np.zeros(10), lr=1e-9, epochs=1, batch_size=4, log_every=None)
    # the parameters barely move: the epoch's loss is the full-data loss
    assert history.loss[0] == pytest.approx(0.0, abs=1e-12)
    model = LinearRegressor(1, w=[1.0], reduction="mean")
    history = model.fit(X, np.zeros(10), lr=1e-12, epochs=1, batch_size=4, log_every=None)
    assert history.loss[0] == pytest.approx(0.5 * np.mean(X[:, 0] ** 2), rel=1e-9)


def test_fit_with_an_optimizer_and_a_schedule():
    x, y, w, b = article_data()
    model = QuadraticRegressor(w, b)
    optimizer = SGD(model.parameters(), lr=0.001, momentum=0.9)
    scheduler = StepLR(optimizer, step_size=100, gamma=0.5)
    history = model.fit(x, y, epochs=400, optimizer=optimizer, scheduler=scheduler,
                        log_every=None)
    assert history.lr[0] == 0.001 and history.lr[399] == pytest.approx(0.001 / 8)
    best_w, best_b = quadratic_optimum(x, y)
    assert model.w.item() == pytest.approx(best_w, abs=1e-4)
    assert model.b.item() == pytest.approx(best_b, abs=1e-4)
    assert model.parameters()[0] is model.w and model.w.is_leaf


def test_fit_steps_reduce_lr_on_plateau_with_the_epoch_loss():
    from tinygrad_edu.optim.lr_scheduler import ReduceLROnPlateau
    x, y, w, b = article_data()
    model = QuadraticRegressor(w, b)
    optimizer = SGD(model.parameters(), lr=0.001)
    scheduler = ReduceLROnPlateau(optimizer, factor=0.5, patience=2, threshold=0.01)
    history = model.fit(x, y, epochs=400, optimizer=optimizer, scheduler=scheduler,
                        log_every=None)
    # the loss stops falling by 1 % per epoch once it nears its minimum: the rate halves
    assert history.lr[0] == 0.001 and history.lr[-1] < 0.001


def test_fit_prints_the_articles_progress_lines(capsys):
    x, y, w, b = article_data()
    QuadraticRegressor(w, b).fit(x, y, lr=0.001, epochs=201)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines] == ["Epoch 0", "Epoch 100", "Epoch 200"]
    assert lines[0] == "Epoch 0: w=0.8692, b=0.9866, Loss=237.1448"
    pattern = r"Epoch \d+: w=\[-?\d+\.\d{4}, -?\d+\.\d{4}\], b=-?\d+\.\d{4}, Loss=\d+\.\d{4}"
    LinearRegressor(2).fit(np.eye(2), [1.0, 2.0], lr=0.1, epochs=3, log_every=2)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and all(re.fullmatch(pattern, line) for line in lines)


# --- the closed-form optimum -------------------------------------------------------------


def test_quadratic_optimum_zeroes_the_gradient_and_fits_exact_data():
    x, y, _, _ = article_data()
    w, b = quadratic_optimum(x, y)
    grad_w, grad_b = quadratic_grads(x, y, w, b)
    assert abs(grad_w) < 1e-10 and abs(grad_b) < 1e-10
    xs = np.linspace(-1, 1, 7)
    assert quadratic_optimum(xs, 3 * xs ** 2 + 2) == pytest.approx((3.0, 2.0))


def test_linear_optimum_zeroes_the_gradient_and_fits_exact_data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 3))
    y = X @ np.array([2.0, 51.0, -1.0]) + 21.2
    w, b = linear_optimum(X, y)
    np.testing.assert_allclose(w, [2.0, 51.0, -1.0])
    assert b == pytest.approx(21.2)
    noisy = y + rng.standard_normal(40)
    grad_w, grad_b = linear_grads(X, noisy, *linear_optimum(X, noisy))
    assert np.abs(grad_w).max() < 1e-10 and abs(grad_b) < 1e-10


def test_gradient_descent_ends_at_the_closed_form_optimum():
    x, y, w, b = article_data()
    model = QuadraticRegressor(w, b)
    model.fit(x, y, lr=0.015, epochs=400, log_every=None)  # lr·λ_max ≈ 1.7 < 2: stable
    assert (model.w.item(), model.b.item()) == pytest.approx(quadratic_optimum(x, y),
                                                             abs=1e-9)


# --- divergence --------------------------------------------------------------------------


def test_a_too_large_learning_rate_stops_with_a_clear_error():
    x, y, w, b = article_data()
    model = QuadraticRegressor(w, b)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow warnings on the way
        with pytest.raises(DivergenceError, match=r"diverged in epoch \d+.*learning rate "
                                                  r"0\.1 is too large.*smaller one, e\.g\. "
                                                  r"0\.01"):
            model.fit(x, y, lr=0.1, epochs=800, log_every=None)
    # never NaN: the parameters are the last finite ones
    assert np.isfinite(model.w.array).all() and np.isfinite(model.b.array).all()


def test_divergence_with_minibatches_and_an_optimizer():
    X = np.random.default_rng(0).standard_normal((50, 2)) * 10
    model = LinearRegressor(2)
    with pytest.raises(DivergenceError, match="learning rate 5 is too large"):
        model.fit(X, X.sum(axis=1), epochs=100, batch_size=10, log_every=None,
                  optimizer=SGD(model.parameters(), lr=5.0))
    assert np.isfinite(model.w.array).all()


# --- bad input -----------------------------------------------------------------------------


X2 = np.ones((4, 2))
Y4 = np.ones(4)


@pytest.mark.parametrize("call, message", [
    (lambda m: m.fit([1, 2, 3], [1, 2], lr=0.1), "x has 3 examples but y has 2"),
    (lambda m: m.fit(X2, Y4, lr=0.1), r"x must hold one number per example.*\(4, 2\)"),
    (lambda m: m.fit(np.ones((2, 1, 1)), [1, 2], lr=0.1), "x must hold one number"),
    (lambda m: m.fit([1, 2], np.ones((2, 2)), lr=0.1), "y must hold one number"),
    (lambda m: m.fit([], [], lr=0.1), "n >= 1"),
    (lambda m: m.fit([1, np.nan], [1, 2], lr=0.1), r"x contains 1 NaN or inf .*index \(1,\)"),
    (lambda m: m.fit([1, 2], [np.inf, 2], lr=0.1), "y contains 1 NaN or inf"),
    (lambda m: m.fit([1, 2], ["a", "b"], lr=0.1), "y must be numbers"),
    (lambda m: m.fit([1, 2], [1, 2], lr=0), "lr must be a positive number"),
    (lambda m: m.fit([1, 2], [1, 2], lr=-1.0), "lr must be a positive number"),
    (lambda m: m.fit([1, 2], [1, 2], lr=float("nan")), "lr must be a positive number"),
    (lambda m: m.fit([1, 2], [1, 2]), "give a learning rate lr, or an optimizer"),
    (lambda m: m.fit([1, 2], [1, 2], lr=0.1, epochs=0), "epochs must be a positive int"),
    (lambda m: m.fit([1, 2], [1, 2], lr=0.1, epochs=-5), "epochs must be a positive int"),
    (lambda m: m.fit([1, 2], [1, 2], lr=0.1, epochs=2.5), "epochs must be a positive int"),
    (lambda m: m.fit([1, 2], [1, 2], lr=0.1, batch_size=0), "batch_size must be a positive"),
    (lambda m: m.fit([1, 2], [1, 2], lr=0.1, log_every=0), "log_every must be a positive"),
    (lambda m: m.fit([1, 2], [1, 2], lr=0.1, optimizer=SGD(m.parameters(), lr=0.1)),
     "give lr or optimizer, not both"),
    (lambda m: m.fit([1, 2], [1, 2], optimizer=SGD([tg.tensor(1.0, requires_grad=True)],
                                                   lr=0.1)),
     "does not hold this model's parameters"),
    (lambda m: m.fit([1, 2], [1, 2], optimizer="SGD"), "optimizer must be an Optimizer"),
    (lambda m: m.fit([1, 2], [1, 2], lr=0.1, scheduler=StepLR(
        SGD([tg.tensor(1.0, requires_grad=True)], lr=0.1), 10)), "scheduler must be"),
    (lambda m: m.predict(np.ones((3, 3))), "x must hold one number per example"),
    (lambda m: m.loss([1, 2], [1, 2, 3]), "x has 2 examples but y has 3"),
])
def test_quadratic_bad_input_is_a_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call(QuadraticRegressor())


@pytest.mark.parametrize("call, message", [
    (lambda m: m.fit(np.ones((4, 3)), Y4, lr=0.1), r"x must have shape \(n, 2\).*\(4, 3\)"),
    (lambda m: m.fit(np.ones(4), Y4, lr=0.1), r"x must have shape \(n, 2\)"),
    (lambda m: m.fit(X2, np.ones(3), lr=0.1), "x has 4 examples but y has 3"),
    (lambda m: m.fit(X2, np.ones((4, 2)), lr=0.1), "y must hold one number"),
    (lambda m: m.fit(np.full((4, 2), np.nan), Y4, lr=0.1), "x contains 8 NaN or inf"),
    (lambda m: m.predict([[1.0, 2.0, 3.0]]), r"x must have shape \(n, 2\)"),
])
def test_linear_bad_input_is_a_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call(LinearRegressor(2))


@pytest.mark.parametrize("make, message", [
    (lambda: QuadraticRegressor(w=[1.0, 2.0]), "w must be one number"),
    (lambda: QuadraticRegressor(b=np.nan), "b contains 1 NaN"),
    (lambda: QuadraticRegressor(reduction="max"), "reduction must be 'sum' or 'mean'"),
    (lambda: LinearRegressor(0), "n_features must be a positive int"),
    (lambda: LinearRegressor(2, w=[1.0, 2.0, 3.0]), r"w must have shape \(2,\)"),
    (lambda: LinearRegressor(2, b=[1.0, 2.0]), "b must be one number"),
    (lambda: quadratic_grads([1], [1], 1, 1, reduction="avg"), "reduction must be"),
])
def test_bad_model_arguments_are_value_errors(make, message):
    with pytest.raises(ValueError, match=message):
        make()


# --- the shared checks of counts and rates (tinygrad_edu/_validate.py) -------------------


def test_positive_checks_accept_python_and_numpy_numbers():
    assert positive_int(np.int64(3), "epochs", "fit") == 3
    assert type(positive_int(np.int64(3), "epochs", "fit")) is int
    assert positive_number(np.float32(0.5), "lr", "SGD") == 0.5
    assert type(positive_number(2, "lr", "SGD")) is float


@pytest.mark.parametrize("check, value, message", [
    (positive_int, 0, "fit: epochs must be a positive int, got 0$"),
    (positive_int, True, "fit: epochs must be a positive int, got True$"),
    (positive_int, 2.0, "fit: epochs must be a positive int, got 2.0$"),
    (positive_int, np.ones(2, dtype=int), "fit: epochs must be a positive int"),
    (positive_number, -1, "fit: epochs must be a positive number, got -1$"),
    (positive_number, np.float64(-0.5), "got -0.5$"),  # not np.float64(-0.5)
    (positive_number, float("nan"), "must be a positive number, got nan$"),
    (positive_number, float("inf"), "must be a finite positive number, got inf$"),
    (positive_number, False, "must be a positive number, got False$"),
    (positive_number, "1", "must be a positive number, got '1'$"),
])
def test_positive_checks_say_where_what_and_what_they_got(check, value, message):
    with pytest.raises(ValueError, match=message):
        check(value, "epochs", "fit")


def test_positive_checks_without_a_name():
    with pytest.raises(ValueError, match="^must be a positive int, got -3$"):
        positive_int(-3)


# --- the mini-batch iterator (the MXNet article's data_iter) ---------------------------


def test_batches_cover_every_example_once_per_epoch_in_a_new_order():
    x = np.arange(23.0)
    batches = BatchIterator(x, 10 * x, batch_size=10, seed=0)
    assert len(batches) == 3
    orders = []
    for _ in range(2):
        epoch = list(batches)
        assert [len(xb) for xb, _ in epoch] == [10, 10, 3]
        assert all(np.array_equal(yb, 10 * xb) for xb, yb in epoch)  # rows stay paired
        order = np.concatenate([xb for xb, _ in epoch])
        assert sorted(order) == list(x)
        orders.append(order)
    assert not np.array_equal(orders[0], orders[1])


def test_batches_are_reproducible_with_a_seed():
    x = np.arange(30.0).reshape(15, 2)
    first = [xb for xb, _ in BatchIterator(x, np.zeros(15), batch_size=4, seed=3)]
    again = [xb for xb, _ in BatchIterator(x, np.zeros(15), batch_size=4, seed=3)]
    assert all(np.array_equal(a, b) for a, b in zip(first, again))


def test_batches_without_shuffle_and_with_drop_last():
    batches = BatchIterator(np.arange(7), np.arange(7), batch_size=3, shuffle=False,
                            drop_last=True)
    assert len(batches) == 2
    assert [xb.tolist() for xb, _ in batches] == [[0, 1, 2], [3, 4, 5]]


@pytest.mark.parametrize("make, message", [
    (lambda: BatchIterator([1, 2, 3], [1, 2]), "x has 3 rows but y has 2"),
    (lambda: BatchIterator([], []), "no examples"),
    (lambda: BatchIterator(1.0, 2.0), "one row per example"),
    (lambda: BatchIterator([1, 2], [1, 2], batch_size=0), "batch_size must be a positive"),
    (lambda: BatchIterator([1, 2], [1, 2], batch_size=2.0), "batch_size must be a positive"),
    (lambda: BatchIterator([1, 2], [1, 2], batch_size=3, drop_last=True), "leaves no batch"),
])
def test_bad_batch_arguments_are_value_errors(make, message):
    with pytest.raises(ValueError, match=message):
        make()
