"""Optimizers and schedules: update sequences worked out by hand, PyTorch's semantics,
and a clear ValueError for every bad argument."""

from __future__ import annotations

import math

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu.models import QuadraticRegressor, quadratic_grads
from tinygrad_edu.optim import SGD, Adam, ExponentialLR, StepLR

# schedules stepped without an optimizer step warn, as in PyTorch (tested elsewhere)
pytestmark = pytest.mark.filterwarnings("ignore:.*was called before optimizer.step")


def run(optimizer_class, p0, steps, **settings):
    """Minimise L = ½p² (so dL/dp = p) from p0; return p after each step."""
    p = tg.tensor(p0, requires_grad=True)
    optimizer = optimizer_class([p], **settings)
    values = []
    for _ in range(steps):
        optimizer.zero_grad()
        (0.5 * p * p).sum().backward()
        optimizer.step()
        values.append(p.array.copy())
    return values


# --- SGD: a few steps by hand, with L = ½p², g = p, starting at p = 1 -----------------


def test_plain_sgd_multiplies_p_by_one_minus_lr():
    # p ← p − 0.1·p = 0.9·p
    assert run(SGD, 1.0, 3, lr=0.1) == pytest.approx([0.9, 0.81, 0.729], abs=1e-15)


def test_sgd_momentum_by_hand():
    # v1 = g1 = 1               p1 = 1 − 0.1·1      = 0.9
    # v2 = 0.9·1 + 0.9 = 1.8    p2 = 0.9 − 0.1·1.8  = 0.72
    # v3 = 0.9·1.8 + 0.72 = 2.34  p3 = 0.72 − 0.234 = 0.486
    values = run(SGD, 1.0, 3, lr=0.1, momentum=0.9)
    assert values == pytest.approx([0.9, 0.72, 0.486], abs=1e-15)


def test_sgd_weight_decay_by_hand():
    # g = p + 0.1·p = 1.1·p,  p ← p − 0.1·1.1·p = 0.89·p
    values = run(SGD, 1.0, 3, lr=0.1, weight_decay=0.1)
    assert values == pytest.approx([0.89, 0.7921, 0.704969], abs=1e-15)


def test_sgd_nesterov_by_hand():
    # step 1: g = 1,      v = 1,                     g + 0.9·v = 1.9      p = 0.81
    # step 2: g = 0.81,   v = 0.9 + 0.81 = 1.71,     g + 0.9·v = 2.349    p = 0.5751
    # step 3: g = 0.5751, v = 1.539 + 0.5751 = 2.1141, g + 0.9·v = 2.47779  p = 0.327321
    values = run(SGD, 1.0, 3, lr=0.1, momentum=0.9, nesterov=True)
    assert values == pytest.approx([0.81, 0.5751, 0.327321], abs=1e-15)


def test_sgd_momentum_with_weight_decay_by_hand():
    # g = 1.1·p; v1 = 1.1, p1 = 1 − 0.11 = 0.89; g2 = 0.979, v2 = 0.99 + 0.979 = 1.969,
    # p2 = 0.89 − 0.1969 = 0.6931
    values = run(SGD, 1.0, 2, lr=0.1, momentum=0.9, weight_decay=0.1)
    assert values == pytest.approx([0.89, 0.6931], abs=1e-15)


def test_sgd_updates_every_element_and_every_parameter():
    w = tg.tensor([1.0, -2.0], requires_grad=True)
    b = tg.tensor([[3.0]], requires_grad=True)
    optimizer = SGD([w, b], lr=0.5)
    (w * w).sum().backward()  # dL/dw = 2w; b gets no gradient and is left alone
    optimizer.step()
    assert w.array.tolist() == [0.0, 0.0] and b.array.tolist() == [[3.0]]


# --- Adam ------------------------------------------------------------------------------


def adam_by_hand(p, steps, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    """Adam's formulas for one number, minimising ½p², written out plainly."""
    beta1, beta2 = betas
    m = s = 0.0
    values = []
    for t in range(1, steps + 1):
        g = p + weight_decay * p
        m = beta1 * m + (1 - beta1) * g
        s = beta2 * s + (1 - beta2) * g * g
        m_hat = m / (1 - beta1 ** t)
        s_hat = s / (1 - beta2 ** t)
        p = p - lr * m_hat / (math.sqrt(s_hat) + eps)
        values.append(p)
    return values


def test_adam_first_steps_by_hand():
    # step 1: m̂ = g and ŝ = g², so p moves by lr·g/|g| = lr: 1 → 0.9 (up to eps)
    # step 2: g = 0.9, m = 0.09 + 0.09 = 0.18, s = 0.000999 + 0.00081 = 0.001809,
    #         m̂ = 0.18/0.19, ŝ = 0.001809/0.001999, p = 0.9 − 0.1·m̂/√ŝ
    step2 = 0.9 - 0.1 * (0.18 / 0.19) / math.sqrt(0.001809 / 0.001999)
    values = run(Adam, 1.0, 2, lr=0.1)
    assert values[0] == pytest.approx(0.9, abs=1e-8)
    assert values[1] == pytest.approx(step2, abs=1e-8)
    assert step2 == pytest.approx(0.800412, abs=1e-6)


@pytest.mark.parametrize("settings", [
    {"lr": 0.1},
    {"lr": 0.01, "betas": (0.8, 0.99)},
    {"lr": 0.05, "weight_decay": 0.3},
    {"lr": 0.2, "eps": 1e-3, "betas": (0.5, 0.9), "weight_decay": 0.01},
])
def test_adam_matches_the_formulas_for_many_steps(settings):
    expected = adam_by_hand(2.5, 30, **settings)
    assert run(Adam, 2.5, 30, **settings) == pytest.approx(expected, rel=1e-12, abs=1e-14)


def test_adam_keeps_state_per_parameter_and_per_element():
    a = tg.tensor([1.0, -3.0], requires_grad=True)
    b = tg.tensor(0.5, requires_grad=True)
    optimizer = Adam([a, b], lr=0.1)
    for _ in range(5):
        optimizer.zero_grad()
        (0.5 * (a * a).sum() + 0.5 * b * b).backward()
        optimizer.step()
    assert a.array == pytest.approx([adam_by_hand(1.0, 5, 0.1)[-1],
                                    adam_by_hand(-3.0, 5, 0.1)[-1]], rel=1e-12)
    assert b.item() == pytest.approx(adam_by_hand(0.5, 5, 0.1)[-1], rel=1e-12)
    assert optimizer.state[a]["step"] == 5 and optimizer.state[b]["exp_avg"].shape == ()


# --- the article's momentum and L2, and PyTorch's --------------------------------------


def article_data():
    rng = np.random.RandomState(100)
    x = np.linspace(-1, 1, 100).reshape(100, 1)
    y = 3 * x ** 2 + 2 + 0.2 * rng.rand(100, 1)
    return x, y, rng.rand(1, 1), rng.rand(1, 1)


def test_article_momentum_is_pytorch_momentum_with_lr_times_one_minus_beta():
    """v = βv + (1−β)g, p -= lr·v  ==  v = βv + g, p -= (1−β)·lr·v  (up to rounding)."""
    x, y, w, b = article_data()
    beta, lr = 0.9, 0.001
    model = QuadraticRegressor(w, b)
    optimizer = SGD(model.parameters(), lr=(1 - beta) * lr, momentum=beta)
    history = model.fit(x, y, epochs=60, optimizer=optimizer, log_every=None)
    v_w = v_b = 0.0
    for epoch in range(60):
        grad_w, grad_b = quadratic_grads(x, y, w, b)
        v_w = beta * v_w + (1 - beta) * grad_w
        v_b = beta * v_b + (1 - beta) * grad_b
        w, b = w - lr * v_w, b - lr * v_b
        assert history.w[epoch + 1] == pytest.approx(w, abs=1e-12)
        assert history.b[epoch + 1] == pytest.approx(b, abs=1e-12)


def test_pytorch_momentum_takes_longer_steps_in_steady_state():
    # a constant gradient g: PyTorch's v tends to g/(1 − β), the article's stays g
    p = tg.tensor(0.0, requires_grad=True)
    optimizer = SGD([p], lr=1.0, momentum=0.9)
    for _ in range(200):
        optimizer.zero_grad()
        (2.0 * p).backward()  # g = 2
        optimizer.step()
    assert optimizer.state[p]["momentum_buffer"].item() == pytest.approx(2.0 / (1 - 0.9))


def test_l2_penalty_in_the_loss_equals_weight_decay_on_w_only():
    """The article's loss + ½λw² adds λw to dL/dw: SGD's weight_decay, in a group."""
    x, y, w0, b0 = article_data()
    lam, lr = 0.01, 0.001
    by_loss = QuadraticRegressor(w0, b0)
    by_decay = QuadraticRegressor(w0, b0)
    plain = SGD(by_loss.parameters(), lr=lr)
    decayed = SGD([{"params": [by_decay.w], "weight_decay": lam},
                   {"params": [by_decay.b]}], lr=lr)
    for _ in range(50):
        plain.zero_grad()
        (by_loss.loss(x, y) + 0.5 * lam * (by_loss.w ** 2).sum()).backward()
        plain.step()
        decayed.zero_grad()
        by_decay.loss(x, y).backward()
        decayed.step()
        assert by_decay.w.array == pytest.approx(by_loss.w.array, abs=1e-12)
        assert by_decay.b.array == pytest.approx(by_loss.b.array, abs=1e-12)


# --- in place, on the same leaves ------------------------------------------------------


def test_step_changes_the_parameters_in_place():
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    data, version = w.array, w._version
    optimizer = SGD([w], lr=0.1)
    (w * w).sum().backward()
    optimizer.step()
    assert w.array is data and w.is_leaf and w.requires_grad and w.grad_fn is None
    assert w._version == version + 1


def test_a_graph_built_before_the_step_cannot_be_reused():
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    optimizer = SGD([w], lr=0.1)
    loss = (w * w).sum()
    loss.backward(retain_graph=True)
    optimizer.step()
    with pytest.raises(RuntimeError, match="in-place"):
        loss.backward()  # its saved w is stale: the engine says so instead of lying


def test_zero_grad_sets_none_or_zeros():
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    optimizer = SGD([w], lr=0.1)
    (w * w).sum().backward()
    optimizer.zero_grad(set_to_none=False)
    assert w.grad.array.tolist() == [0.0, 0.0]
    optimizer.zero_grad()
    assert w.grad is None


def test_parameters_may_be_a_generator_and_float32():
    w = tg.tensor([1.0], dtype=tg.float32, requires_grad=True)
    optimizer = SGD((p for p in [w]), lr=0.5)
    (w * w).sum().backward()
    optimizer.step()
    assert w.dtype == np.float32 and w.array.tolist() == [0.0]


def test_param_groups_have_their_own_settings():
    a = tg.tensor(1.0, requires_grad=True)
    b = tg.tensor(1.0, requires_grad=True)
    optimizer = SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1)
    (a + b).backward()
    optimizer.step()
    assert (a.item(), b.item()) == pytest.approx((0.9, 0.5))
    assert [g["lr"] for g in optimizer.param_groups] == [0.1, 0.5]


# --- schedules -------------------------------------------------------------------------


def lrs_over(scheduler, epochs):
    lrs = []
    for _ in range(epochs):
        lrs.append(scheduler.get_last_lr()[0])
        scheduler.step()
    return lrs


def test_step_lr_multiplies_every_step_size_epochs():
    optimizer = SGD([tg.tensor(1.0, requires_grad=True)], lr=1.0)
    lrs = lrs_over(StepLR(optimizer, step_size=2, gamma=0.5), 7)
    assert lrs == pytest.approx([1, 1, 0.5, 0.5, 0.25, 0.25, 0.125])


def test_step_lr_the_articles_schedule():
    # "×0.8 every 200 epochs", from lr 0.001, over the article's 800 epochs
    optimizer = SGD([tg.tensor(1.0, requires_grad=True)], lr=0.001)
    lrs = lrs_over(StepLR(optimizer, step_size=200, gamma=0.8), 800)
    assert sorted(set(lrs), reverse=True) == pytest.approx([0.001, 0.0008, 0.00064,
                                                            0.000512])
    assert lrs[199] == 0.001 and lrs[200] == pytest.approx(0.0008)


def test_exponential_lr_multiplies_every_epoch():
    optimizer = Adam([tg.tensor(1.0, requires_grad=True)], lr=2.0)
    assert lrs_over(ExponentialLR(optimizer, gamma=0.5), 4) == pytest.approx([2, 1, 0.5,
                                                                               0.25])


def test_the_scheduled_lr_is_the_one_the_step_uses():
    p = tg.tensor(0.0, requires_grad=True)
    optimizer = SGD([p], lr=1.0)
    scheduler = StepLR(optimizer, step_size=1, gamma=0.5)
    moves = []
    for _ in range(3):
        optimizer.zero_grad()
        (-p).backward()  # g = −1: p moves up by lr
        before = p.item()
        optimizer.step()
        scheduler.step()
        moves.append(p.item() - before)
    assert moves == [1.0, 0.5, 0.25]
    assert optimizer.param_groups[0]["lr"] == scheduler.get_last_lr()[0] == 0.125


def test_schedules_scale_each_group_from_its_own_lr():
    a, b = tg.tensor(1.0, requires_grad=True), tg.tensor(1.0, requires_grad=True)
    optimizer = SGD([{"params": [a], "lr": 1.0}, {"params": [b], "lr": 0.1}], lr=0.5)
    scheduler = ExponentialLR(optimizer, gamma=0.5)
    scheduler.step()
    assert scheduler.get_last_lr() == pytest.approx([0.5, 0.05])


# --- bad arguments ---------------------------------------------------------------------


def leaf():
    return tg.tensor([1.0], requires_grad=True)


@pytest.mark.parametrize("make, error, message", [
    (lambda: SGD([leaf()], lr=-0.1), ValueError, "SGD: Invalid learning rate: -0.1"),
    (lambda: SGD([leaf()], lr=float("nan")), ValueError, "Invalid learning rate: nan"),
    (lambda: SGD([leaf()], lr="0.1"), TypeError, "SGD: lr must be a number, got '0.1'"),
    (lambda: SGD([leaf()], lr=0.1, momentum=-0.5), ValueError, "Invalid momentum value: -0.5"),
    (lambda: SGD([leaf()], lr=0.1, weight_decay=-1), ValueError,
     "Invalid weight_decay value: -1"),
    (lambda: SGD([leaf()], lr=0.1, nesterov=True), ValueError,
     "Nesterov momentum requires a momentum and zero dampening"),
    (lambda: SGD([leaf()], momentum=0.9, dampening=0.1, nesterov=True), ValueError,
     "Nesterov momentum requires a momentum and zero dampening"),
    (lambda: SGD([], lr=0.1), ValueError, "empty parameter list"),
    (lambda: SGD(leaf(), lr=0.1), TypeError, "single Tensor"),
    (lambda: SGD([leaf() * 2], lr=0.1), ValueError, "can't optimize a non-leaf Tensor"),
    (lambda: SGD([np.ones(2)], lr=0.1), TypeError, "can only optimize Tensors"),
    (lambda: SGD({leaf()}, lr=0.1), TypeError, "ordered collection"),
    (lambda: SGD([{"params": [leaf()], "lr": -1}], lr=0.1), ValueError,
     "Invalid learning rate: -1"),
    (lambda: SGD([{"weights": [leaf()]}], lr=0.1), KeyError, "no 'params' entry"),
    (lambda: SGD([{"params": [leaf()]}, [leaf()]], lr=0.1), TypeError, "must be a dict"),
    (lambda: Adam([leaf()], lr=-1), ValueError, "Adam: Invalid learning rate: -1"),
    (lambda: Adam([leaf()], betas=(1.0, 0.999)), ValueError,
     "Invalid beta parameter at index 0: 1.0"),
    (lambda: Adam([leaf()], betas=(0.9, -0.1)), ValueError,
     "Invalid beta parameter at index 1: -0.1"),
    (lambda: Adam([leaf()], betas=(0.9,)), ValueError, "betas must be a pair"),
    (lambda: Adam([leaf()], eps=-1e-8), ValueError, "Invalid epsilon value: -1e-08"),
    (lambda: Adam([leaf()], weight_decay=-0.1), ValueError, "Invalid weight_decay value"),
])
def test_bad_optimizer_arguments(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_frozen_parameters_and_empty_groups_are_allowed_as_in_pytorch():
    frozen, w = tg.tensor([1.0]), leaf()
    optimizer = SGD([{"params": [frozen, w]}, {"params": []}], lr=0.5)
    (w * 2).sum().backward()
    optimizer.step()  # frozen has no .grad: skipped
    assert frozen.tolist() == [1.0] and w.tolist() == [0.0]
    assert SGD([leaf()], lr=0).param_groups[0]["lr"] == 0  # lr 0 is valid


def test_the_same_parameter_twice_is_an_error():
    w = leaf()
    with pytest.raises(ValueError, match="appears twice"):
        SGD([w, w], lr=0.1)


@pytest.mark.parametrize("make, error, message", [
    (lambda opt: StepLR(opt, step_size=0), ValueError, "step_size must be a positive int"),
    (lambda opt: StepLR(opt, step_size=1.5), ValueError, "step_size must be a positive int"),
    (lambda opt: StepLR(opt, step_size=10, gamma=0), ValueError,
     "gamma must be a positive number"),
    (lambda opt: ExponentialLR(opt, gamma=-0.5), ValueError, "gamma must be a positive number"),
    (lambda opt: ExponentialLR("SGD", gamma=0.5), TypeError, "str is not an Optimizer"),
])
def test_bad_scheduler_arguments(make, error, message):
    optimizer = SGD([leaf()], lr=0.1)
    with pytest.raises(error, match=message):
        make(optimizer)


# --- against PyTorch itself, when it is installed ----------------------------------------


@pytest.mark.parametrize("name, settings", [
    ("SGD", {"lr": 0.05, "momentum": 0.9, "weight_decay": 0.1, "nesterov": True}),
    ("Adam", {"lr": 0.05, "betas": (0.8, 0.95), "weight_decay": 0.1}),
])
def test_same_steps_as_pytorch(name, settings):
    torch = pytest.importorskip("torch")
    start = np.random.default_rng(0).standard_normal((3, 2))
    ours = tg.tensor(start, requires_grad=True)
    theirs = torch.tensor(start, requires_grad=True)
    opt_ours = {"SGD": SGD, "Adam": Adam}[name]([ours], **settings)
    opt_theirs = getattr(torch.optim, name)([theirs], **settings)
    sched_ours = StepLR(opt_ours, step_size=3, gamma=0.5)
    sched_theirs = torch.optim.lr_scheduler.StepLR(opt_theirs, step_size=3, gamma=0.5)
    for _ in range(10):
        for p, opt in ((ours, opt_ours), (theirs, opt_theirs)):
            opt.zero_grad()
            (p ** 4).sum().backward()
            opt.step()
        sched_ours.step()
        sched_theirs.step()
    np.testing.assert_allclose(ours.array, theirs.detach().numpy(), rtol=1e-10, atol=1e-12)
    assert sched_ours.get_last_lr() == pytest.approx(sched_theirs.get_last_lr())


def test_an_optimizer_of_your_own_as_in_pytorch_tutorials():
    class PlainSGD(tg.optim.Optimizer):
        def __init__(self, params, lr=0.1):
            super().__init__(params, {"lr": lr})

        @tg.no_grad()
        def step(self, closure=None):
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is not None:
                        self.state[p]["steps"] = self.state[p].get("steps", 0) + 1
                        p.data.add_(p.grad.data, alpha=-group["lr"])

    w = tg.tensor([1.0, 2.0], requires_grad=True)
    optimizer = PlainSGD([w])
    scheduler = StepLR(optimizer, step_size=1, gamma=0.5)
    for _ in range(3):
        optimizer.zero_grad()
        (w * w).sum().backward()  # g = 2w
        optimizer.step()
        scheduler.step()
    assert w.tolist() == pytest.approx([0.8 * 0.9 * 0.95, 2 * 0.8 * 0.9 * 0.95])
    assert optimizer.state_dict()["state"] == {0: {"steps": 3}}
