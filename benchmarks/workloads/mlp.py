"""Workload 6: MLP 784-256-10, one training step.

relu hidden layer, log_softmax + mean negative log-likelihood over the batch, plain SGD
(lr 0.1). Random inputs and labels (the step's cost does not depend on the values).
A trial is `steps` steps from the same initial parameters.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

import tinygrad_edu as tg
from benchmarks.harness import (
    Peers,
    Section,
    Trial,
    add_ratio_target,
    perf_counter,
    run_interleaved,
    torch_api,
)

MLP_LR = 0.1
MLP_SIZES = (784, 256, 10)


@dataclass
class MlpData:
    x: np.ndarray
    labels: np.ndarray
    params: list  # W1, b1, W2, b2
    steps: int


def mlp_data(batch: int, steps: int) -> MlpData:
    rs = np.random.RandomState(0)
    n_in, n_hidden, n_out = MLP_SIZES
    x = rs.standard_normal((batch, n_in))
    labels = rs.randint(0, n_out, batch)
    params = [rs.standard_normal((n_in, n_hidden)) * np.sqrt(2 / n_in), np.zeros(n_hidden),
              rs.standard_normal((n_hidden, n_out)) * np.sqrt(2 / n_hidden), np.zeros(n_out)]
    return MlpData(x, labels, params, steps)


def _flat(arrays) -> np.ndarray:
    return np.concatenate([np.asarray(a, dtype=np.float64).ravel() for a in arrays])


def mlp_numpy(d: MlpData, peers: Peers) -> Trial:
    x, labels, lr = d.x, d.labels, MLP_LR
    rows = np.arange(len(labels))
    batch = len(labels)

    def trial():
        W1, b1, W2, b2 = (p.copy() for p in d.params)
        t0 = perf_counter()
        for _ in range(d.steps):
            z1 = x @ W1 + b1
            h = np.maximum(z1, 0)
            logits = h @ W2 + b2
            shifted = logits - logits.max(axis=1, keepdims=True)
            logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
            loss = -logp[rows, labels].mean()
            # backward, by hand: d loss / d logits = (softmax - onehot) / batch
            d_logits = np.exp(logp)
            d_logits[rows, labels] -= 1
            d_logits /= batch
            d_W2 = h.T @ d_logits
            d_b2 = d_logits.sum(axis=0)
            d_z1 = (d_logits @ W2.T) * (z1 > 0)
            d_W1 = x.T @ d_z1
            d_b1 = d_z1.sum(axis=0)
            W1 -= lr * d_W1
            b1 -= lr * d_b1
            W2 -= lr * d_W2
            b2 -= lr * d_b2
        seconds = perf_counter() - t0
        return seconds / d.steps, _flat([W1, b1, W2, b2, [loss]]), None
    return trial


def sgd_steps(torch: Any, forward: Callable, params: list, x, rows, labels,
              steps: int) -> tuple[float, float]:
    """The timed loop of the PyTorch-API variants: ``steps`` steps of plain SGD on the
    mean negative log-likelihood of log_softmax(forward(x)). Returns (seconds per step,
    the last loss)."""
    lr = MLP_LR
    t0 = perf_counter()
    for _ in range(steps):
        logp = forward(x).log_softmax(dim=1)
        loss = -logp[rows, labels].mean()
        loss.backward()
        with torch.no_grad():
            for p in params:
                p -= lr * p.grad
                p.grad.zero_()
    loss = loss.item()
    seconds = perf_counter() - t0
    return seconds / steps, loss


def mlp_pytorch_api(lib: Any) -> Callable[[MlpData, Peers], Trial]:
    """The MLP step in PyTorch's API: the same code for the engine and for PyTorch."""

    def make(d: MlpData, peers: Peers) -> Trial:
        torch = torch_api(lib, peers)
        x = torch.from_numpy(d.x)
        rows, labels = np.arange(len(d.labels)), d.labels  # integer index arrays
        if lib == "torch":  # PyTorch indexes fastest with its own integer tensors
            rows, labels = torch.from_numpy(rows), torch.from_numpy(labels)

        def trial():
            W1, b1, W2, b2 = params = [torch.tensor(p, requires_grad=True) for p in d.params]

            def forward(x):
                h = (x @ W1 + b1).relu()
                return h @ W2 + b2

            per_step, loss = sgd_steps(torch, forward, params, x, rows, labels, d.steps)
            return per_step, _flat([p.detach().numpy() for p in params] + [[loss]]), None
        return trial
    return make


def mlp_engine_nn(d: MlpData, peers: Peers) -> Trial:
    """The same step with tinygrad_edu.nn.Linear layers (when that module exists)."""
    from tinygrad_edu import nn

    x = tg.tensor(d.x)
    rows, labels = np.arange(len(d.labels)), d.labels
    n_in, n_hidden, n_out = MLP_SIZES

    def layer(n_from, n_to, W, b):
        lin = nn.Linear(n_from, n_to)
        # the same initial values as the others; weight is (out, in) as in PyTorch
        # or (in, out); either way copy in place, under no_grad
        with tg.no_grad():
            lin.weight.data[...] = W.T if lin.weight.shape == W.T.shape else W
            lin.bias.data[...] = b
        return lin

    def trial():
        fc1 = layer(n_in, n_hidden, d.params[0], d.params[1])
        fc2 = layer(n_hidden, n_out, d.params[2], d.params[3])
        params = list(fc1.parameters()) + list(fc2.parameters())
        per_step, loss = sgd_steps(tg, lambda inputs: fc2(fc1(inputs).relu()), params, x, rows,
                                   labels, d.steps)
        out = [fc1.weight.data, fc1.bias.data, fc2.weight.data, fc2.bias.data]
        out = [W.T if W.shape != ref.shape else W for W, ref in zip(out, d.params)]
        return per_step, _flat(out + [[loss]]), None
    return trial


def mlp_mygrad(d: MlpData, peers: Peers) -> Trial:
    mg = peers["mygrad"]
    x, lr = mg.tensor(d.x, constant=True), MLP_LR
    rows, labels = np.arange(len(d.labels)), d.labels

    def trial():
        W1, b1, W2, b2 = params = [mg.tensor(p.copy()) for p in d.params]
        t0 = perf_counter()
        for _ in range(d.steps):
            h = mg.nnet.relu(mg.matmul(x, W1) + b1)
            logits = mg.matmul(h, W2) + b2
            logp = mg.nnet.logsoftmax(logits, axis=1)
            loss = -mg.mean(logp[rows, labels])
            loss.backward()
            for p in params:
                p.data -= lr * p.grad
        loss = loss.item()
        seconds = perf_counter() - t0
        return seconds / d.steps, _flat([p.data for p in params] + [[loss]]), None
    return trial


def mlp_autograd(d: MlpData, peers: Peers) -> Trial:
    anp = peers["autograd"].numpy
    x, labels, lr = d.x, d.labels, MLP_LR
    rows = np.arange(len(labels))

    def loss_fn(params):
        W1, b1, W2, b2 = params
        h = anp.maximum(anp.dot(x, W1) + b1, 0)
        logits = anp.dot(h, W2) + b2
        m = anp.max(logits, axis=1, keepdims=True)
        logp = logits - m - anp.log(anp.sum(anp.exp(logits - m), axis=1, keepdims=True))
        return -anp.mean(logp[rows, labels])

    value_and_grad = peers["autograd"].value_and_grad(loss_fn)

    def trial():
        params = [p.copy() for p in d.params]
        t0 = perf_counter()
        for _ in range(d.steps):
            loss, grads = value_and_grad(params)
            params = [p - lr * g for p, g in zip(params, grads)]
        seconds = perf_counter() - t0
        return seconds / d.steps, _flat(params + [[loss]]), None
    return trial


def mlp_jax(d: MlpData, peers: Peers) -> Trial:
    jax = peers["jax"]
    jnp = jax.numpy
    x, labels, lr = jnp.asarray(d.x), jnp.asarray(d.labels), MLP_LR
    rows = jnp.arange(len(d.labels))

    def loss_fn(params, x, labels):
        W1, b1, W2, b2 = params
        h = jax.nn.relu(x @ W1 + b1)
        logp = jax.nn.log_softmax(h @ W2 + b2, axis=1)
        return -jnp.mean(logp[rows, labels])

    @jax.jit
    def step(params, x, labels):
        loss, grads = jax.value_and_grad(loss_fn)(params, x, labels)
        return [p - lr * g for p, g in zip(params, grads)], loss

    def trial():
        params = [jnp.asarray(p) for p in d.params]
        t0 = perf_counter()
        for _ in range(d.steps):
            params, loss = step(params, x, labels)
        loss = jax.block_until_ready(loss)
        seconds = perf_counter() - t0
        return seconds / d.steps, _flat([np.asarray(p) for p in params] + [[float(loss)]]), None
    return trial


# Variants whose failure is reported as a note, not an error: engine-nn assumes the
# PyTorch-like API Linear(in_features, out_features) with .weight, .bias, .parameters().
OPTIONAL = frozenset({"engine-nn"})
MLP = {"numpy": mlp_numpy, "engine": mlp_pytorch_api(tg), "engine-nn": mlp_engine_nn,
       "torch": mlp_pytorch_api("torch"), "mygrad": mlp_mygrad, "autograd": mlp_autograd,
       "jax": mlp_jax}


def w_mlp(s: dict, peers: Peers, quick: bool) -> Section:
    sec = Section("mlp", f"MLP {'-'.join(map(str, MLP_SIZES))}, batch {s['batch']}: one "
                  "training step (forward, log_softmax NLL, backward, SGD)", "one step", s,
                  s["rounds"])
    skip = None
    if importlib.util.find_spec("tinygrad_edu.nn") is None:
        skip = {"engine-nn": "engine-nn (nn.Linear) skipped: tinygrad_edu.nn does not exist "
                             "yet"}
    run_interleaved(sec, MLP, mlp_data(s["batch"], s["steps"]), peers, s["rounds"], skip,
                    OPTIONAL)
    add_ratio_target(sec, "engine <= 1.3x hand-written NumPy per step", "engine/numpy", 1.3)
    if "engine-nn" in sec.samples:
        add_ratio_target(sec, "engine with nn.Linear <= 1.3x hand-written NumPy per step",
                         "engine-nn/numpy", 1.3)
    return sec
