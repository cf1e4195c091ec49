"""Workload 5: the MXNet article's linear regression from scratch.

300 samples of 2 standard-normal features, y = 2 x1 + 51 x2 + 21.2 + 0.01 N(0,1),
minibatches of 10 from a shuffled order, 10 epochs, lr 0.01. As in the article: the
loss is (y_hat - y)^2 / 2 per sample, summed over the batch by backward, and sgd()
divides the gradient by the batch size; after each epoch the loss over all data.
The shuffled orders are drawn before timing (the same for every implementation).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

import tinygrad_edu as tg
from benchmarks.harness import Peers, Section, Trial, perf_counter, run_interleaved, torch_api

LINREG_LR = 0.01


@dataclass
class LinregData:
    features: np.ndarray
    labels: np.ndarray
    w0: np.ndarray
    b0: np.ndarray
    batch: int
    epochs: list  # per epoch, the list of index arrays of its minibatches

    @property
    def steps(self) -> int:
        return sum(len(e) for e in self.epochs)


def linreg_data(n: int, batch: int, epochs: int) -> LinregData:
    rs = np.random.RandomState(1)
    features = rs.normal(0, 1, (n, 2))
    labels = 2 * features[:, 0] + 51 * features[:, 1] + 21.2 + 0.01 * rs.normal(0, 1, n)
    w0 = rs.normal(0, 0.01, (2, 1))
    b0 = np.zeros(1)
    orders = [rs.permutation(n) for _ in range(epochs)]
    batches = [[order[i:i + batch] for i in range(0, n, batch)] for order in orders]
    return LinregData(features, labels, w0, b0, batch, batches)


# The article's model and loss, written with operators and methods that the engine,
# PyTorch and JAX (and, for the loss, MyGrad) all have.
def net(X, w, b):
    return X @ w + b


def squared_loss(y_hat, y):
    return (y_hat - y.reshape(y_hat.shape)) ** 2 / 2


def linreg_numpy(d: LinregData, peers: Peers) -> Trial:
    features, labels, lr, batch_size = d.features, d.labels, LINREG_LR, d.batch

    def trial():
        w, b = d.w0.copy(), d.b0.copy()
        t0 = perf_counter()
        for epoch in d.epochs:
            for j in epoch:
                X, y = features[j], labels[j]
                y_hat = X @ w + b
                err = y_hat - y.reshape(y_hat.shape)
                l = err ** 2 / 2  # noqa: F841 - the article computes the loss each step
                grad_w = X.T @ err  # d(sum l)/dw
                grad_b = err.sum(axis=0)
                w -= lr * grad_w / batch_size
                b -= lr * grad_b / batch_size
            y_hat = features @ w + b
            train_l = ((y_hat - labels.reshape(y_hat.shape)) ** 2 / 2).mean().item()
        loss = train_l
        seconds = perf_counter() - t0
        return seconds / d.steps, np.concatenate([w.ravel(), b.ravel(), [loss]]), None
    return trial


def linreg_pytorch_api(lib: Any) -> Callable[[LinregData, Peers], Trial]:
    """The MXNet article's loop in PyTorch's API: the same code for both libraries."""

    def make(d: LinregData, peers: Peers) -> Trial:
        torch = torch_api(lib, peers)
        features, labels = torch.from_numpy(d.features), torch.from_numpy(d.labels)
        lr, batch_size = LINREG_LR, d.batch

        def trial():
            w = torch.tensor(d.w0, requires_grad=True)
            b = torch.tensor(d.b0, requires_grad=True)
            t0 = perf_counter()
            for epoch in d.epochs:
                for j in epoch:  # an integer ndarray of row indices
                    X, y = features[j], labels[j]
                    l = squared_loss(net(X, w, b), y)
                    l.sum().backward()  # MXNet's l.backward() sums a non-scalar loss
                    with torch.no_grad():
                        w -= lr * w.grad / batch_size
                        b -= lr * b.grad / batch_size
                        w.grad.zero_()
                        b.grad.zero_()
                with torch.no_grad():
                    train_l = squared_loss(net(features, w, b), labels).mean().item()
            loss = train_l
            seconds = perf_counter() - t0
            return seconds / d.steps, np.concatenate([w.detach().numpy().ravel(),
                                                      b.detach().numpy().ravel(), [loss]]), None
        return trial
    return make


def linreg_mygrad(d: LinregData, peers: Peers) -> Trial:
    mg = peers["mygrad"]
    features, labels, lr, batch_size = d.features, d.labels, LINREG_LR, d.batch

    def mg_net(X, w, b):
        return mg.matmul(X, w) + b

    def trial():
        w, b = mg.tensor(d.w0), mg.tensor(d.b0)
        t0 = perf_counter()
        for epoch in d.epochs:
            for j in epoch:
                X, y = features[j], labels[j]
                l = squared_loss(mg_net(X, w, b), y)
                l.sum().backward()
                w.data -= lr * w.grad / batch_size
                b.data -= lr * b.grad / batch_size
            with mg.no_autodiff:
                train_l = squared_loss(mg_net(features, w, b), labels).mean().item()
        loss = train_l
        seconds = perf_counter() - t0
        result = [np.asarray(w.data).ravel(), np.asarray(b.data).ravel(), [loss]]
        return seconds / d.steps, np.concatenate(result), None
    return trial


def linreg_autograd(d: LinregData, peers: Peers) -> Trial:
    anp = peers["autograd"].numpy
    features, labels, lr, batch_size = d.features, d.labels, LINREG_LR, d.batch

    def anp_net(X, w, b):
        return anp.dot(X, w) + b

    def anp_squared_loss(y_hat, y):
        return (y_hat - anp.reshape(y, y_hat.shape)) ** 2 / 2

    def batch_loss(w, b, X, y):
        return anp.sum(anp_squared_loss(anp_net(X, w, b), y))

    value_and_grad = peers["autograd"].value_and_grad(batch_loss, argnum=(0, 1))

    def trial():
        w, b = d.w0.copy(), d.b0.copy()
        t0 = perf_counter()
        for epoch in d.epochs:
            for j in epoch:
                _, (gw, gb) = value_and_grad(w, b, features[j], labels[j])
                w = w - lr * gw / batch_size
                b = b - lr * gb / batch_size
            train_l = anp_squared_loss(anp_net(features, w, b), labels).mean().item()
        loss = train_l
        seconds = perf_counter() - t0
        return seconds / d.steps, np.concatenate([w.ravel(), b.ravel(), [loss]]), None
    return trial


def linreg_jax(d: LinregData, peers: Peers) -> Trial:
    jax = peers["jax"]
    jnp = jax.numpy
    features, labels = jnp.asarray(d.features), jnp.asarray(d.labels)
    epochs = [[jnp.asarray(j) for j in epoch] for epoch in d.epochs]
    lr, batch_size = LINREG_LR, d.batch

    def batch_loss(w, b, X, y):
        return jnp.sum(squared_loss(net(X, w, b), y))

    grad_fn = jax.grad(batch_loss, argnums=(0, 1))

    @jax.jit
    def step(w, b, features, labels, j):
        gw, gb = grad_fn(w, b, features[j], labels[j])
        return w - lr * gw / batch_size, b - lr * gb / batch_size

    @jax.jit
    def full_loss(w, b, features, labels):
        return squared_loss(net(features, w, b), labels).mean()

    def trial():
        w, b = jnp.asarray(d.w0), jnp.asarray(d.b0)
        t0 = perf_counter()
        for epoch in epochs:
            for j in epoch:
                w, b = step(w, b, features, labels, j)
            train_l = float(full_loss(w, b, features, labels))
        loss = train_l
        seconds = perf_counter() - t0
        return seconds / d.steps, np.concatenate([np.asarray(w).ravel(), np.asarray(b).ravel(),
                                                  [loss]]), None
    return trial


LINREG = {"numpy": linreg_numpy, "engine": linreg_pytorch_api(tg),
          "torch": linreg_pytorch_api("torch"),
          "mygrad": linreg_mygrad, "autograd": linreg_autograd, "jax": linreg_jax}


def w_linreg(s: dict, peers: Peers, quick: bool) -> Section:
    d = linreg_data(s["n"], s["batch"], s["epochs"])
    sec = Section("linreg", f"the MXNet article's linear regression: {s['n']} samples x 2 "
                  f"features, batch {s['batch']} shuffled, {s['epochs']} epochs, lr "
                  f"{LINREG_LR}", "one minibatch step", s, s["rounds"])
    sec.notes.append("loss = sum over the batch of (y_hat - y)^2 / 2, gradient divided by the "
                     "batch size in sgd() (as MXNet's article); the full-data loss after each "
                     f"epoch is included; time per step = trial / {d.steps} steps.")
    run_interleaved(sec, LINREG, d, peers, s["rounds"])
    return sec
