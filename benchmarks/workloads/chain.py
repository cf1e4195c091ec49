"""Workloads 3 and 4: a chain of h = tanh(h*a + c), short and timed per op, then a
million primitive ops long, built, run backward and freed in a fresh process.

a, c are 1x1 leaves that need grad; each link is 3 primitive ops (mul, add, tanh).
The output is the final h (one element); the results are dL/da, dL/dc and h.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from typing import Any

import numpy as np

import tinygrad_edu as tg
from benchmarks.harness import (
    ISSUE_11,
    Peers,
    RssMeter,
    Section,
    Trial,
    add_ratio_target,
    add_target,
    max_rel_diff,
    median,
    per_round_ratios,
    perf_counter,
    ratio_median,
    rotated,
    run_child,
    run_interleaved,
    timed,
    torch_api,
)
from benchmarks.report import fmt_ratio, fmt_time

CHAIN_A, CHAIN_C, CHAIN_H0 = 0.9, 0.1, 0.5
OPS_PER_LINK = 3


def chain_leaves(torch: Any) -> tuple:
    """a and c (need grad) and the first h, as 1x1 float64 tensors of a PyTorch-API
    library (the engine or PyTorch)."""
    a = torch.tensor([[CHAIN_A]], dtype=torch.float64, requires_grad=True)
    c = torch.tensor([[CHAIN_C]], dtype=torch.float64, requires_grad=True)
    h = torch.tensor([[CHAIN_H0]], dtype=torch.float64)
    return a, c, h


def eager_chain(lib: Any, links: int, a, c, h) -> tuple[float, dict, Any]:
    """The timed part of the chain in a library that records as it runs (the engine,
    PyTorch, MyGrad): ``links`` links of h = lib.tanh(h*a + c), then h.backward().
    Returns (seconds per link, forward and backward seconds per link, the final h)."""
    t0 = perf_counter()
    for _ in range(links):
        h = lib.tanh(h * a + c)
    t1 = perf_counter()
    h.backward()
    t2 = perf_counter()
    return (*per_link(t0, t1, t2, links), h)


def per_link(t0: float, t1: float, t2: float, links: int) -> tuple[float, dict]:
    """Seconds per link of forward (t0 to t1) + backward (t1 to t2), and of each part."""
    return (t2 - t0) / links, {"forward": (t1 - t0) / links, "backward": (t2 - t1) / links}


def chain_numpy(links: int, peers: Peers) -> Trial:
    a, c, h0 = np.full((1, 1), CHAIN_A), np.full((1, 1), CHAIN_C), np.full((1, 1), CHAIN_H0)

    def trial():
        t0 = perf_counter()
        h = h0
        hs = [h]
        for _ in range(links):
            h = np.tanh(h * a + c)
            hs.append(h)
        t1 = perf_counter()
        g = np.ones_like(h)  # dL/dh for L = h
        ga, gc_ = np.zeros_like(a), np.zeros_like(c)
        for k in range(links, 0, -1):
            dz = g * (1.0 - hs[k] * hs[k])  # tanh' = 1 - tanh^2
            ga += dz * hs[k - 1]
            gc_ += dz
            g = dz * a
        seconds, parts = per_link(t0, t1, perf_counter(), links)
        return seconds, np.concatenate([ga.ravel(), gc_.ravel(), h.ravel()]), parts
    return trial


def chain_pytorch_api(lib: Any) -> Callable[[int, Peers], Trial]:
    """The chain in PyTorch's API: the same code for the engine and for PyTorch."""

    def make(links: int, peers: Peers) -> Trial:
        torch = torch_api(lib, peers)

        def trial():
            a, c, h = chain_leaves(torch)
            seconds, parts, h = eager_chain(torch, links, a, c, h)
            return seconds, np.concatenate([
                a.grad.numpy().ravel(), c.grad.numpy().ravel(), h.detach().numpy().ravel()]), parts
        return trial
    return make


def chain_mygrad(links: int, peers: Peers) -> Trial:
    mg = peers["mygrad"]

    def trial():
        a, c = mg.tensor([[CHAIN_A]]), mg.tensor([[CHAIN_C]])
        h = mg.tensor([[CHAIN_H0]], constant=True)
        seconds, parts, h = eager_chain(mg, links, a, c, h)
        return seconds, np.concatenate([a.grad.ravel(), c.grad.ravel(), h.data.ravel()]), parts
    return trial


def chain_autograd(links: int, peers: Peers) -> Trial:
    anp = peers["autograd"].numpy
    a, c, h0 = np.full((1, 1), CHAIN_A), np.full((1, 1), CHAIN_C), np.full((1, 1), CHAIN_H0)

    def f(a, c):
        h = h0
        for _ in range(links):
            h = anp.tanh(h * a + c)
        return anp.sum(h)

    value_and_grad = peers["autograd"].value_and_grad(f, argnum=(0, 1))

    def trial():
        seconds, (h, (ga, gc_)) = timed(lambda: value_and_grad(a, c))
        return seconds / links, np.concatenate([ga.ravel(), gc_.ravel(), [h]]), None
    return trial


def chain_jax(links: int, peers: Peers) -> Trial:
    jax = peers["jax"]
    jnp = jax.numpy
    a, c = jnp.full((1, 1), CHAIN_A), jnp.full((1, 1), CHAIN_C)
    h0 = jnp.full((1, 1), CHAIN_H0)

    def f(a, c, h0):
        def link(h, _):
            return jnp.tanh(h * a + c), None
        h, _ = jax.lax.scan(link, h0, None, length=links)
        return jnp.sum(h)

    fwd_bwd = jax.jit(jax.value_and_grad(f, argnums=(0, 1)))

    def trial():
        seconds, (h, (ga, gc_)) = timed(lambda: jax.block_until_ready(fwd_bwd(a, c, h0)))
        return seconds / links, np.concatenate([np.asarray(ga).ravel(), np.asarray(gc_).ravel(),
                                                [float(h)]]), None
    return trial


CHAIN = {"numpy": chain_numpy, "engine": chain_pytorch_api(tg),
         "torch": chain_pytorch_api("torch"),
         "mygrad": chain_mygrad, "autograd": chain_autograd, "jax": chain_jax}


def long_chain(impl: str, nodes: int, peers: Peers) -> dict:
    """Workload 4, run in its own process: build a chain of ``nodes`` primitive ops
    (nodes/3 links of tanh(h*a + c)), run backward, then free it."""
    links = -(-nodes // OPS_PER_LINK)
    if impl == "engine":
        a, c, h = chain_leaves(tg)
        link = lambda h: (h * a + c).tanh()  # noqa: E731
    elif impl == "torch":
        torch = peers["torch"]
        a, c, h = chain_leaves(torch)
        link = lambda h: torch.tanh(h * a + c)  # noqa: E731
    else:
        raise ValueError(f"chain-1m: no implementation {impl!r}")
    mem = RssMeter()
    t0 = perf_counter()
    for _ in range(links):
        h = link(h)
    t1 = perf_counter()
    graph_bytes = mem.current()
    h.backward()
    t2 = perf_counter()
    peak = mem.peak()
    result = (a.grad.item(), c.grad.item())
    del h
    gc.collect()
    t3 = perf_counter()
    return {"links": links, "nodes": links * OPS_PER_LINK, "build_s": t1 - t0,
            "backward_s": t2 - t1, "free_s": t3 - t2, "graph_rss_bytes": graph_bytes,
            "rss_peak_bytes": peak, "result": list(result)}


def w_chain(s: dict, peers: Peers, quick: bool) -> Section:
    sec = Section("chain", f"{s['links']:,} links of h = tanh(h*a + c) on 1x1 tensors, "
                  "forward + backward (dL/da, dL/dc)", "one link (3 primitive ops)", s,
                  s["rounds"])
    run_interleaved(sec, CHAIN, s["links"], peers, s["rounds"])
    sec.details.append("per primitive op (time per link / 3): " + ", ".join(
        f"{n} {fmt_time(median(xs) / OPS_PER_LINK)}" for n, xs in sec.samples.items()))
    sec.notes.append(f"'op' = one primitive op (mul, add, tanh: {OPS_PER_LINK} per link); "
                     "time per op = time per link / 3, forward and backward together.")
    if "jax" in sec.samples:
        sec.notes.append("JAX: the chain is a lax.scan compiled with jit (value_and_grad), "
                         "so its per-op time is not eager dispatch like the others'.")
    link_s = median(sec.samples.get("engine", []))
    per_op_us = None if link_s is None else link_s / OPS_PER_LINK * 1e6
    add_target(sec, "engine <= 5 us per op, forward + backward", per_op_us, 5.0, "us")
    add_ratio_target(sec, "engine per-op time <= half of PyTorch's", "engine/torch", 0.5)
    add_target(sec, "engine <= 4.5 us per op, forward + backward", per_op_us, 4.5, "us",
               issue=ISSUE_11)
    add_ratio_target(sec, "engine per-op time <= 0.9x PyTorch's", "engine/torch", 0.9,
                     ISSUE_11)
    return sec


def w_chain_1m(s: dict, peers: Peers, quick: bool) -> Section:
    nodes = s["nodes"]
    links = -(-nodes // OPS_PER_LINK)
    sec = Section("chain-1m", f"a chain of {links * OPS_PER_LINK:,} primitive ops ({links:,} "
                  "links of tanh(h*a + c)): build, backward, free; each run in a fresh "
                  "process", "the whole chain (build + backward)", s, s["rounds"])
    names = ["engine"] + (["torch"] if "torch" in peers else [])
    if "torch" not in peers:
        sec.notes.append(f"PyTorch skipped: {peers.skipped.get('torch')}")
    runs: dict[str, list[dict]] = {n: [] for n in names}
    for r in range(s["rounds"]):
        for name in rotated(names, r):
            try:
                runs[name].append(run_child({"job": "chain-1m", "impl": name, "nodes": nodes}))
            except Exception as exc:
                sec.errors.append(f"{name}: {exc}")
    for name, rs in runs.items():
        if not rs:
            continue
        sec.samples[name] = [r["build_s"] + r["backward_s"] for r in rs]
        sec.parts[name] = {k: [r[k + "_s"] for r in rs] for k in ("build", "backward", "free")}
        sec.memory[name] = {"nodes": rs[0]["nodes"]}
        for key in ("graph_rss_bytes", "rss_peak_bytes"):
            sec.memory[name][key] = median([r[key] for r in rs if r[key] is not None])
        sec.extra[name] = rs
    if "engine" in sec.samples and "torch" in sec.samples:
        for part in ("build", "backward"):
            sec.ratios[f"engine/torch {part}"] = per_round_ratios(sec.parts["engine"][part],
                                                                  sec.parts["torch"][part])
            sec.details.append(f"engine/torch {part}: "
                               f"{fmt_ratio(ratio_median(sec, f'engine/torch {part}'))}")
        sec.ratios["engine/torch"] = per_round_ratios(sec.samples["engine"],
                                                      sec.samples["torch"])
        sec.check["torch"] = max_rel_diff(sec.extra["engine"][0]["result"],
                                          sec.extra["torch"][0]["result"])
    sec.notes.append("memory: RSS of the child process above its RSS before the chain was "
                     "built ('graph' = right after building, 'peak' = high-water mark "
                     "through backward). The result check here compares the engine with "
                     "PyTorch (no NumPy version of this workload).")
    backward = median(sec.parts.get("engine", {}).get("backward", []))
    add_target(sec, f"engine backward of the {nodes:,}-node chain completes in < 10 s",
               backward, 10.0, "s")
    add_target(sec, f"engine backward of the {nodes:,}-node chain completes in <= 6 s",
               backward, 6.0, "s", issue=ISSUE_11)
    return sec
