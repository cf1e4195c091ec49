"""Workload 7: a small CNN on 8x8 images (the network of demos/cnn_digits.py), one
training step.

conv 3x3 (1 -> 16, padding 1), relu, max pool 2 -> conv 3x3 (16 -> 32, padding 1),
relu, max pool 2 -> flatten 128 -> linear 10; log_softmax + mean negative log-likelihood,
plain SGD (lr 0.1). Random images and labels (the step's cost does not depend on the
values). A trial is `steps` steps from the same initial parameters.

Hand-written NumPy lays the images out channels-last (N, H, W, C) and computes each
convolution as one matrix product of im2col windows, with the backward pass derived by
hand (col2im with one strided slice per kernel tap, the max pool's gradient to each
window's first maximum, as PyTorch's).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

import tinygrad_edu as tg
from benchmarks.harness import Peers, Section, Trial, perf_counter, run_interleaved, torch_api
from benchmarks.workloads.mlp import MLP_LR, _flat, sgd_steps

CNN_LR = MLP_LR  # 0.1, the rate sgd_steps uses
SIDE, CHANNELS, CLASSES = 8, (1, 16, 32), 10


@dataclass
class CnnData:
    x: np.ndarray  # (N, 1, 8, 8)
    labels: np.ndarray
    params: list  # W1 (16, 1, 3, 3), b1, W2 (32, 16, 3, 3), b2, W3 (10, 128), b3
    steps: int


def cnn_data(batch: int, steps: int) -> CnnData:
    rs = np.random.RandomState(0)
    x = rs.rand(batch, 1, SIDE, SIDE)
    labels = rs.randint(0, CLASSES, batch)
    c0, c1, c2 = CHANNELS
    flat = c2 * (SIDE // 4) ** 2
    params = [rs.standard_normal((c1, c0, 3, 3)) * np.sqrt(2 / (9 * c0)), np.zeros(c1),
              rs.standard_normal((c2, c1, 3, 3)) * np.sqrt(2 / (9 * c1)), np.zeros(c2),
              rs.standard_normal((CLASSES, flat)) * np.sqrt(2 / flat), np.zeros(CLASSES)]
    return CnnData(x, labels, params, steps)


# --- hand-written NumPy ------------------------------------------------------------------------


def _im2col(h: np.ndarray) -> np.ndarray:
    """(N, H, W, C) -> the 3x3 windows of h padded by 1, (N*H*W, 3*3*C) (taps, then C)."""
    n, side, _, c = h.shape
    padded = np.pad(h, ((0, 0), (1, 1), (1, 1), (0, 0)))
    windows = np.lib.stride_tricks.sliding_window_view(padded, (3, 3), axis=(1, 2))
    return windows.transpose(0, 1, 2, 4, 5, 3).reshape(n * side * side, 9 * c)


def _col2im(cols: np.ndarray, shape: tuple) -> np.ndarray:
    """The adjoint of _im2col: each window's values added back where they were read."""
    n, side, _, c = shape
    taps = cols.reshape(n, side, side, 3, 3, c)
    padded = np.zeros((n, side + 2, side + 2, c))
    for i in range(3):
        for j in range(3):
            padded[:, i:i + side, j:j + side] += taps[:, :, :, i, j]
    return padded[:, 1:-1, 1:-1]


def _pool(h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """2x2 max pool of (N, H, W, C): (the maxima, which of the 4 was the first maximum)."""
    n, side, _, c = h.shape
    blocks = h.reshape(n, side // 2, 2, side // 2, 2, c).transpose(0, 1, 3, 5, 2, 4)
    blocks = blocks.reshape(n, side // 2, side // 2, c, 4)
    first = blocks.argmax(axis=-1)
    return np.take_along_axis(blocks, first[..., None], -1)[..., 0], first


def _unpool(g: np.ndarray, first: np.ndarray) -> np.ndarray:
    """The max pool's gradient: each g to the first maximum of its 2x2 block."""
    n, half, _, c = g.shape
    blocks = np.zeros((n, half, half, c, 4))
    np.put_along_axis(blocks, first[..., None], g[..., None], -1)
    return blocks.reshape(n, half, half, c, 2, 2).transpose(0, 1, 4, 2, 5, 3).reshape(
        n, 2 * half, 2 * half, c)


def cnn_numpy(d: CnnData, peers: Peers) -> Trial:
    x = d.x.transpose(0, 2, 3, 1)  # channels last
    labels, lr, batch = d.labels, CNN_LR, len(d.labels)
    rows = np.arange(batch)
    c0, c1, c2 = CHANNELS

    def trial():
        W1, b1, W2, b2, W3, b3 = (p.copy() for p in d.params)
        t0 = perf_counter()
        for _ in range(d.steps):
            # the weights as (filters, taps * channels), the order of _im2col's rows
            K1 = W1.transpose(0, 2, 3, 1).reshape(c1, -1)
            K2 = W2.transpose(0, 2, 3, 1).reshape(c2, -1)
            cols1 = _im2col(x)
            z1 = (cols1 @ K1.T + b1).reshape(batch, SIDE, SIDE, c1)
            p1, first1 = _pool(np.maximum(z1, 0))
            cols2 = _im2col(p1)
            z2 = (cols2 @ K2.T + b2).reshape(batch, SIDE // 2, SIDE // 2, c2)
            p2, first2 = _pool(np.maximum(z2, 0))
            f = p2.transpose(0, 3, 1, 2).reshape(batch, -1)  # flattened as (C, H, W)
            logits = f @ W3.T + b3
            shifted = logits - logits.max(axis=1, keepdims=True)
            logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
            loss = -logp[rows, labels].mean()
            # backward, by hand
            d_logits = np.exp(logp)
            d_logits[rows, labels] -= 1
            d_logits /= batch
            d_W3, d_b3 = d_logits.T @ f, d_logits.sum(axis=0)
            d_p2 = (d_logits @ W3).reshape(p2.shape[0], c2, *p2.shape[1:3]).transpose(0, 2, 3, 1)
            d_z2 = np.where(z2 > 0, _unpool(d_p2, first2), 0.0).reshape(-1, c2)
            d_K2, d_b2 = d_z2.T @ cols2, d_z2.sum(axis=0)
            d_p1 = _col2im(d_z2 @ K2, p1.shape)
            d_z1 = np.where(z1 > 0, _unpool(d_p1, first1), 0.0).reshape(-1, c1)
            d_K1, d_b1 = d_z1.T @ cols1, d_z1.sum(axis=0)
            W1 -= lr * d_K1.reshape(c1, 3, 3, c0).transpose(0, 3, 1, 2)
            b1 -= lr * d_b1
            W2 -= lr * d_K2.reshape(c2, 3, 3, c1).transpose(0, 3, 1, 2)
            b2 -= lr * d_b2
            W3 -= lr * d_W3
            b3 -= lr * d_b3
        seconds = perf_counter() - t0
        return seconds / d.steps, _flat([W1, b1, W2, b2, W3, b3, [loss]]), None
    return trial


# --- the same step in PyTorch's API: the engine and PyTorch -----------------------------------


def cnn_pytorch_api(lib: Any):
    """The CNN step written once with torch.nn.functional's conv2d, max_pool2d and linear."""

    def make(d: CnnData, peers: Peers) -> Trial:
        torch = torch_api(lib, peers)
        F = torch.nn.functional
        x = torch.from_numpy(d.x)
        rows, labels = np.arange(len(d.labels)), d.labels
        if lib == "torch":
            rows, labels = torch.from_numpy(rows), torch.from_numpy(labels)

        def trial():
            W1, b1, W2, b2, W3, b3 = params = [torch.tensor(p, requires_grad=True)
                                               for p in d.params]

            def forward(x):
                h = F.max_pool2d(F.conv2d(x, W1, b1, padding=1).relu(), 2)
                h = F.max_pool2d(F.conv2d(h, W2, b2, padding=1).relu(), 2)
                return F.linear(h.flatten(1), W3, b3)

            per_step, loss = sgd_steps(torch, forward, params, x, rows, labels, d.steps)
            return per_step, _flat([p.detach().numpy() for p in params] + [[loss]]), None
        return trial
    return make


CNN = {"numpy": cnn_numpy, "engine": cnn_pytorch_api(tg), "torch": cnn_pytorch_api("torch")}


def w_cnn(s: dict, peers: Peers, quick: bool) -> Section:
    sec = Section("cnn", f"CNN on {SIDE}x{SIDE} images (conv 3x3 16, pool, conv 3x3 32, pool, "
                  f"linear 10), batch {s['batch']}: one training step (forward, log_softmax "
                  "NLL, backward, SGD)", "one step", s, s["rounds"])
    run_interleaved(sec, CNN, cnn_data(s["batch"], s["steps"]), peers, s["rounds"])
    return sec
