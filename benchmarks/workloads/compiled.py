"""Workloads 8-12: the same programs as a step compiled with ``tinygrad_edu.compile``
(issue 16), against hand-written NumPy, the eager engine, PyTorch and JAX (jit).

The compiled step is the PyTorch-API code of the eager rows, wrapped in ``tg.compile``;
its first three calls (eager, then two recordings) run in the set-up, outside the
timed loop. ``engine`` is the compiled step, ``eager`` the same code run eagerly.
"""

from __future__ import annotations

import tracemalloc

import numpy as np

import tinygrad_edu as tg
from benchmarks.harness import (
    ISSUE_16,
    Peers,
    Section,
    Trial,
    add_ratio_target,
    add_target,
    perf_counter,
    run_interleaved,
)
from benchmarks.workloads import chain, linreg, mlp, quadratic
from benchmarks.workloads.chain import CHAIN_A, CHAIN_C, CHAIN_H0, OPS_PER_LINK
from benchmarks.workloads.quadratic import QUAD_LR, quadratic_data

WARM = 4  # calls before timing: eager, two recordings, one replay


def _quad_step(d) -> tuple:
    x, y = tg.from_numpy(d.x), tg.from_numpy(d.y)
    w = tg.tensor(d.w0, requires_grad=True)
    b = tg.tensor(d.b0, requires_grad=True)

    def step():
        y_pred = x.pow(2).mm(w) + b
        loss = (0.5 * (y_pred - y) ** 2).sum()
        loss.backward()
        with tg.no_grad():
            w.sub_(QUAD_LR * w.grad)
            b.sub_(QUAD_LR * b.grad)
            w.grad.zero_()
            b.grad.zero_()
        return loss
    return tg.compile(step), w, b


def quad_compiled(d, peers: Peers) -> Trial:
    step, w, b = _quad_step(d)
    for _ in range(WARM):
        step()

    def trial():
        w.array[...], b.array[...] = d.w0, d.b0  # the same start as the others
        t0 = perf_counter()
        for _ in range(d.steps):
            loss = step()
        seconds = perf_counter() - t0
        return seconds / d.steps, np.concatenate([w.array.ravel(), b.array.ravel(),
                                                  [loss.item()]]), None
    return trial


def compile_seconds(d) -> float:
    """Wall time of the call that records the step the second time and builds the
    program (so: one eager step, watched, plus the compiling itself)."""
    step, _, _ = _quad_step(d)
    step()
    step()
    t0 = perf_counter()
    step()
    seconds = perf_counter() - t0
    assert step.source is not None
    return seconds


def _table(module_table: dict, compiled) -> dict:
    table = {"numpy": module_table["numpy"], "engine": compiled,
             "eager": module_table["engine"]}
    for peer in ("torch", "jax"):
        if peer in module_table:
            table[peer] = module_table[peer]
    return table


def w_compiled_quadratic_100(s: dict, peers: Peers, quick: bool) -> Section:
    d = quadratic_data(s["n"], s["steps"])
    sec = Section("compiled-quadratic-100", f"issue 16: the quadratic article's step "
                  f"compiled ({s['n']} points, {s['steps']} steps, loss returned)",
                  "one step", s, s["rounds"])
    run_interleaved(sec, _table(quadratic.QUADRATIC, quad_compiled), d, peers, s["rounds"])
    add_ratio_target(sec, "compiled <= 1.3x hand-written NumPy per step (with loss)",
                     "engine/numpy", 1.3, issue=ISSUE_16)
    times = sorted(compile_seconds(d) for _ in range(5))
    sec.extra["compile_s"] = times
    add_target(sec, "compiling the step (its recording call) <= 10 ms", times[2] * 1e3,
               10.0, unit="ms", issue=ISSUE_16)
    sec.notes.append("compile time: median of 5 of the call that records the second "
                     "time and builds the program (an eager step watched by the recorder, "
                     "then simplifying, emitting and exec'ing the source)")
    return sec


def _memory(impl: str, d) -> int:
    """tracemalloc peak of ``d.steps`` steps, plus (compiled) the arrays the program
    holds for good: its preallocated buffers and folded constants."""
    if impl == "numpy":
        trial = quadratic.quad_numpy(d, None)
        held = 0
    else:
        step, w, b = _quad_step(d)
        for _ in range(WARM):
            step()
        held = sum(v.nbytes for v in step.program.namespace.values()
                   if isinstance(v, np.ndarray))

        def trial():
            for _ in range(d.steps):
                step()
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    trial()
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    return peak + held


def w_compiled_quadratic_1m(s: dict, peers: Peers, quick: bool) -> Section:
    d = quadratic_data(s["n"], s["steps"])
    sec = Section("compiled-quadratic-1m", f"issue 16: the quadratic step compiled at "
                  f"{s['n']:,} points, {s['steps']} steps per trial", "one step", s,
                  s["rounds"])
    run_interleaved(sec, _table(quadratic.QUADRATIC, quad_compiled), d, peers, s["rounds"])
    add_ratio_target(sec, "compiled <= 1.0x hand-written NumPy per step", "engine/numpy",
                     1.0, issue=ISSUE_16)
    mem = {impl: _memory(impl, d) for impl in ("numpy", "engine")}
    sec.memory = {k: {"tracemalloc_peak_bytes": v} for k, v in mem.items()}
    add_target(sec, "compiled peak memory <= 2x hand-written NumPy's (tracemalloc)",
               mem["engine"] / mem["numpy"], 2.0, issue=ISSUE_16)
    sec.notes.append("memory: tracemalloc peak over the steps, in this process; for the "
                     "compiled step plus the buffers and constants its program keeps")
    return sec


def chain_compiled(links: int, peers: Peers) -> Trial:
    a = tg.tensor([[CHAIN_A]], dtype=tg.float64, requires_grad=True)
    c = tg.tensor([[CHAIN_C]], dtype=tg.float64, requires_grad=True)
    h0 = tg.tensor([[CHAIN_H0]], dtype=tg.float64)

    def step():
        a.grad = None
        c.grad = None
        h = h0
        for _ in range(links):
            h = tg.tanh(h * a + c)
        h.backward()
        return h
    step = tg.compile(step)
    for _ in range(WARM):
        step()

    def trial():
        t0 = perf_counter()
        h = step()
        seconds = (perf_counter() - t0) / links
        return seconds, np.concatenate([a.grad.array.ravel(), c.grad.array.ravel(),
                                        h.array.ravel()]), None
    return trial


def w_compiled_chain(s: dict, peers: Peers, quick: bool) -> Section:
    sec = Section("compiled-chain", f"issue 16: {s['links']:,} links of h = tanh(h*a + c) "
                  "on 1x1 tensors, compiled (forward + backward)", "one link (3 ops)", s,
                  s["rounds"])
    table = {"numpy": chain.chain_numpy, "engine": chain_compiled,
             "eager": chain.CHAIN["engine"]}
    if "torch" in chain.CHAIN:
        table["torch"] = chain.CHAIN["torch"]
    run_interleaved(sec, table, s["links"], peers, s["rounds"])
    per_op = None
    if sec.samples.get("engine"):
        per_op = float(np.median(sec.samples["engine"])) / OPS_PER_LINK * 1e6
    add_target(sec, "compiled <= 1.5 us per op, forward + backward", per_op, 1.5, unit="us",
               issue=ISSUE_16)
    add_ratio_target(sec, "compiled per-op time <= 0.3x PyTorch's", "engine/torch", 0.3,
                     issue=ISSUE_16)
    return sec


def linreg_compiled(d, peers: Peers) -> Trial:
    features, labels = tg.from_numpy(d.features), tg.from_numpy(d.labels)
    lr, batch_size = linreg.LINREG_LR, d.batch
    w = tg.tensor(d.w0, requires_grad=True)
    b = tg.tensor(d.b0, requires_grad=True)

    def step(X, y):
        loss = linreg.squared_loss(linreg.net(X, w, b), y)
        loss.sum().backward()
        with tg.no_grad():
            w.sub_(lr * w.grad / batch_size)
            b.sub_(lr * b.grad / batch_size)
            w.grad.zero_()
            b.grad.zero_()
    step = tg.compile(step)
    j = d.epochs[0][0]
    for _ in range(WARM):
        step(features[j], labels[j])

    def trial():
        w.array[...], b.array[...] = d.w0, d.b0
        t0 = perf_counter()
        for epoch in d.epochs:
            for j in epoch:
                step(features[j], labels[j])
            with tg.no_grad():
                train_l = linreg.squared_loss(linreg.net(features, w, b), labels).mean().item()
        seconds = perf_counter() - t0
        return seconds / d.steps, np.concatenate([w.array.ravel(), b.array.ravel(),
                                                  [train_l]]), None
    return trial


def w_compiled_linreg(s: dict, peers: Peers, quick: bool) -> Section:
    d = linreg.linreg_data(s["n"], s["batch"], s["epochs"])
    sec = Section("compiled-linreg", f"issue 16: the MXNet article's linear regression "
                  f"compiled ({s['n']} samples, batch {s['batch']}, {s['epochs']} epochs; "
                  "the minibatch is the step's argument)", "one minibatch step", s,
                  s["rounds"])
    run_interleaved(sec, _table(linreg.LINREG, linreg_compiled), d, peers, s["rounds"])
    sec.notes.append("the minibatch (features[j], labels[j]) is indexed eagerly outside "
                     "the step and passed in; the epoch's full-data loss runs eagerly")
    return sec


def mlp_compiled(d, peers: Peers) -> Trial:
    x = tg.from_numpy(d.x)
    rows, labels = np.arange(len(d.labels)), d.labels
    params = [tg.tensor(p, requires_grad=True) for p in d.params]
    W1, b1, W2, b2 = params

    def step():
        h = (x @ W1 + b1).relu()
        logp = (h @ W2 + b2).log_softmax(dim=1)
        loss = -logp[rows, labels].mean()
        loss.backward()
        with tg.no_grad():
            for p in params:
                p.sub_(mlp.MLP_LR * p.grad)
                p.grad.zero_()
        return loss
    step = tg.compile(step)
    for _ in range(WARM):
        step()

    def trial():
        for p, p0 in zip(params, d.params):
            p.array[...] = p0
        t0 = perf_counter()
        for _ in range(d.steps):
            loss = step()
        seconds = perf_counter() - t0
        return seconds / d.steps, mlp._flat([p.array for p in params] + [[loss.item()]]), None
    return trial


def w_compiled_mlp(s: dict, peers: Peers, quick: bool) -> Section:
    d = mlp.mlp_data(s["batch"], s["steps"])
    sec = Section("compiled-mlp", f"issue 16: MLP {'-'.join(map(str, mlp.MLP_SIZES))}, "
                  f"batch {s['batch']}, one training step compiled", "one step", s,
                  s["rounds"])
    run_interleaved(sec, _table(mlp.MLP, mlp_compiled), d, peers, s["rounds"])
    add_ratio_target(sec, "compiled <= 1.05x hand-written NumPy per step", "engine/numpy",
                     1.05, issue=ISSUE_16)
    return sec

