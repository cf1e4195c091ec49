"""The workloads, their sizes, and the jobs that run in a child process.

A workload is a function (sizes, peers, quick) -> Section that measures every
implementation of it (tables name -> factory in each module) and declares its targets.
"""

from __future__ import annotations

import gc
import json

from benchmarks.harness import PEER_NAMES, Peers
from benchmarks.workloads.chain import long_chain, w_chain, w_chain_1m
from benchmarks.workloads.cnn import w_cnn
from benchmarks.workloads.compiled import (
    w_compiled_chain,
    w_compiled_linreg,
    w_compiled_mlp,
    w_compiled_quadratic_1m,
    w_compiled_quadratic_100,
)
from benchmarks.workloads.linreg import w_linreg
from benchmarks.workloads.mlp import w_mlp
from benchmarks.workloads.quadratic import quadratic_memory, w_quadratic_1m, w_quadratic_100

SIZES = {
    "full": {"quadratic-100": {"n": 100, "steps": 800, "rounds": 9},
             "quadratic-1m": {"n": 1_000_000, "steps": 10, "rounds": 9},
             "chain": {"links": 2000, "rounds": 9},
             "chain-1m": {"nodes": 1_000_000, "rounds": 3},
             "linreg": {"n": 300, "batch": 10, "epochs": 10, "rounds": 7},
             "mlp": {"batch": 256, "steps": 10, "rounds": 7},
             "cnn": {"batch": 64, "steps": 10, "rounds": 7},
             "compiled-quadratic-100": {"n": 100, "steps": 800, "rounds": 9},
             "compiled-quadratic-1m": {"n": 1_000_000, "steps": 10, "rounds": 9},
             "compiled-chain": {"links": 2000, "rounds": 9},
             "compiled-linreg": {"n": 300, "batch": 10, "epochs": 10, "rounds": 7},
             "compiled-mlp": {"batch": 256, "steps": 10, "rounds": 7}},
    "quick": {"quadratic-100": {"n": 100, "steps": 40, "rounds": 2},
              "quadratic-1m": {"n": 20_000, "steps": 2, "rounds": 2},
              "chain": {"links": 100, "rounds": 2},
              "chain-1m": {"nodes": 3000, "rounds": 1},
              "linreg": {"n": 300, "batch": 10, "epochs": 1, "rounds": 2},
              "mlp": {"batch": 32, "steps": 1, "rounds": 2},
              "cnn": {"batch": 8, "steps": 1, "rounds": 2},
              "compiled-quadratic-100": {"n": 100, "steps": 40, "rounds": 2},
              "compiled-quadratic-1m": {"n": 20_000, "steps": 2, "rounds": 2},
              "compiled-chain": {"links": 100, "rounds": 2},
              "compiled-linreg": {"n": 300, "batch": 10, "epochs": 1, "rounds": 2},
              "compiled-mlp": {"batch": 32, "steps": 1, "rounds": 2}},
}

WORKLOADS = {"quadratic-100": w_quadratic_100, "quadratic-1m": w_quadratic_1m,
             "chain": w_chain, "chain-1m": w_chain_1m, "linreg": w_linreg, "mlp": w_mlp,
             "cnn": w_cnn, "compiled-quadratic-100": w_compiled_quadratic_100,
             "compiled-quadratic-1m": w_compiled_quadratic_1m, "compiled-chain": w_compiled_chain,
             "compiled-linreg": w_compiled_linreg, "compiled-mlp": w_compiled_mlp}


def child_main(spec: dict) -> None:
    """A child process's job (see harness.run_child): print its result as JSON."""
    impl = spec["impl"]
    peers = Peers(False, names=(impl,) if impl in PEER_NAMES else ())
    gc.collect()
    gc.freeze()
    if spec["job"] == "quadratic-memory":
        out = quadratic_memory(impl, spec["n"], spec["steps"], peers)
    elif spec["job"] == "chain-1m":
        out = long_chain(impl, spec["nodes"], peers)
    else:
        raise ValueError(spec["job"])
    print(json.dumps(out))
