"""Programs written the way PyTorch teaching material writes them, run with
``import tinygrad_edu as torch`` and nothing else changed. Each program is a function
of the module it gets as ``torch``; where PyTorch is installed the same function runs
on it too and both results must agree.

The programs are ours, in the style of the official tutorials (fitting sin(x) with a
cubic by hand-written gradient descent), d2l's from-scratch chapters (linear regression
with a hand-made data iterator, accuracy of a classifier), micrograd's tests, and the
device boilerplate of most notebooks.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import tinygrad_edu


def fit_sin_with_a_cubic(torch):
    """The tutorials' 'tensors and autograd' program: y = a + b x + c x^2 + d x^3."""
    dtype = torch.float
    device = torch.device("cpu")
    x = torch.linspace(-math.pi, math.pi, 2000, device=device, dtype=dtype)
    y = torch.sin(x)
    torch.manual_seed(0)
    a = torch.tensor(0.1, device=device, dtype=dtype, requires_grad=True)
    b = torch.tensor(0.2, device=device, dtype=dtype, requires_grad=True)
    c = torch.tensor(-0.1, device=device, dtype=dtype, requires_grad=True)
    d = torch.tensor(0.05, device=device, dtype=dtype, requires_grad=True)
    learning_rate = 1e-6
    for t in range(500):
        y_pred = a + b * x + c * x ** 2 + d * x ** 3
        loss = (y_pred - y).pow(2).sum()
        if t % 100 == 99:
            _ = (t, loss.item())
        loss.backward()
        with torch.no_grad():
            a -= learning_rate * a.grad
            b -= learning_rate * b.grad
            c -= learning_rate * c.grad
            d -= learning_rate * d.grad
            a.grad = None
            b.grad = None
            c.grad = None
            d.grad = None
    return [a.item(), b.item(), c.item(), d.item(), loss.item()]


def linear_regression_from_scratch(torch):
    """d2l's chapter: synthetic data, a shuffling iterator, squared loss, minibatch SGD."""
    def synthetic_data(w, b, num_examples):
        X = torch.normal(0, 1, (num_examples, len(w)))
        y = torch.matmul(X, w) + b
        y += torch.normal(0, 0.01, y.shape)
        return X, y.reshape((-1, 1))

    def data_iter(batch_size, features, labels):
        num_examples = len(features)
        indices = list(range(num_examples))
        for i in range(0, num_examples, batch_size):  # in order: both libraries alike
            batch_indices = torch.tensor(indices[i: min(i + batch_size, num_examples)])
            yield features[batch_indices], labels[batch_indices]

    def linreg(X, w, b):
        return torch.matmul(X, w) + b

    def squared_loss(y_hat, y):
        return (y_hat - y.reshape(y_hat.shape)) ** 2 / 2

    def sgd(params, lr, batch_size):
        with torch.no_grad():
            for param in params:
                param -= lr * param.grad / batch_size
                param.grad.zero_()

    torch.manual_seed(1)
    true_w = torch.tensor([2, -3.4])
    true_b = 4.2
    features, labels = synthetic_data(true_w, true_b, 1000)
    w = torch.zeros((2, 1), requires_grad=True)
    b = torch.zeros(1, requires_grad=True)
    lr, num_epochs, batch_size = 0.03, 3, 10
    for _epoch in range(num_epochs):
        for X, y in data_iter(batch_size, features, labels):
            loss = squared_loss(linreg(X, w, b), y)
            loss.sum().backward()
            sgd([w, b], lr, batch_size)
        with torch.no_grad():
            train_l = squared_loss(linreg(features, w, b), labels)
    error_w = true_w - w.reshape(true_w.shape)
    return {"mean loss": float(train_l.mean()), "w error": error_w.abs().max().item(),
            "b error": abs(true_b - b.item())}


def accuracy_of_a_classifier(torch):
    """d2l's accuracy(): argmax over classes, compare with the labels, count."""
    y_hat = torch.tensor([[0.1, 0.3, 0.6], [0.3, 0.2, 0.5], [0.8, 0.1, 0.1]])
    y = torch.tensor([2, 0, 0])
    if len(y_hat.shape) > 1 and y_hat.shape[1] > 1:
        y_hat = y_hat.argmax(axis=1)
    cmp = y_hat.type(y.dtype) == y
    correct = float(cmp.type(y.dtype).sum())
    _, predicted = torch.max(torch.tensor([[0.1, 0.9], [0.7, 0.3]]), 1)
    total_correct = (predicted == torch.tensor([1, 1])).sum().item()
    return [correct / len(y), total_correct, (predicted == 1).float().mean().item()]


def micrograd_sanity_check(torch):
    """micrograd's comparison with PyTorch, written the PyTorch way."""
    x = torch.Tensor([-4.0]).double()
    x.requires_grad = True
    z = 2 * x + 2 + x
    q = z.relu() + z * x
    h = (z * z).relu()
    y = h + q + q * x
    y.backward()
    return [y.data.item(), x.grad.item()]


def device_boilerplate(torch):
    """The first lines of most notebooks, then a tensor moved to the device."""
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    t = torch.ones(2, 3).to(device)
    return [str(device), str(t.device), t.sum().item(), torch.is_tensor(t)]


PROGRAMS = [fit_sin_with_a_cubic, linear_regression_from_scratch, accuracy_of_a_classifier,
            micrograd_sanity_check, device_boilerplate]


@pytest.mark.parametrize("program", PROGRAMS, ids=[p.__name__ for p in PROGRAMS])
def test_runs_with_only_the_import_changed(program):
    result = program(tinygrad_edu)
    assert result is not None


def test_the_programs_learn_what_they_should():
    a, b, c, d, loss = fit_sin_with_a_cubic(tinygrad_edu)
    assert loss < 100 and 0.5 < b < 1.0 and -0.2 < d < -0.05  # sin x ~ x - x^3/6
    lin = linear_regression_from_scratch(tinygrad_edu)
    assert lin["mean loss"] < 1e-3 and lin["w error"] < 0.01 and lin["b error"] < 0.01
    assert accuracy_of_a_classifier(tinygrad_edu) == [2 / 3, 1, 0.5]
    assert micrograd_sanity_check(tinygrad_edu) == [-20.0, 46.0]  # micrograd's numbers
    assert device_boilerplate(tinygrad_edu) == ["cpu", "cpu", 6.0, True]


@pytest.mark.parametrize("program", [fit_sin_with_a_cubic, accuracy_of_a_classifier,
                                     micrograd_sanity_check, device_boilerplate],
                         ids=lambda p: p.__name__)
def test_same_results_as_pytorch(program):
    torch = pytest.importorskip("torch")
    ours, theirs = program(tinygrad_edu), program(torch)
    for a, b in zip(ours, theirs):
        if isinstance(a, float):
            assert np.isclose(a, b, rtol=1e-4, atol=1e-6), (a, b)  # float32 in both
        else:
            assert a == b
