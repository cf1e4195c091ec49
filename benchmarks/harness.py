"""How the benchmark measures: peers, interleaved timing, memory meters, child processes.

- One process runs every implementation of a workload, interleaved: one warm-up trial
  each, then ``rounds`` rounds, each running one trial of every implementation
  (round-robin; the starting implementation rotates from round to round). Timings are
  ``time.perf_counter`` around the timed loop only (set-up, data creation and the
  conversion of results are outside it).
- Reported: the median over rounds. Ratios (engine / other) are computed pair by pair
  within each round and the median of those per-round ratios is reported, so a
  slow-down of the whole machine during one round affects both sides of its ratio.
- Peak memory is measured in a fresh subprocess per implementation (``run_child``), with
  tracemalloc and with the RSS high-water mark (``RssMeter``).
- Every implementation's result (final parameters, gradients) is compared with the
  hand-written NumPy one, so the table only compares programs that compute the same thing.
- Hand-written NumPy is the articles' own code with gradients derived by hand: the floor.
  Peers (PyTorch, MyGrad, HIPS autograd, JAX with jit) run when importable and are
  skipped with a note otherwise; ``--no-peers`` or the environment variable
  TINYGRAD_EDU_BENCH_NO_PEERS=1 skips them all. Everything runs in float64, the
  engine's default (JAX with jax_enable_x64).
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import importlib.metadata
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

perf_counter = time.perf_counter
BENCH = Path(__file__).resolve().with_name("bench.py")  # the script a child process runs
NO_PEERS_ENV = "TINYGRAD_EDU_BENCH_NO_PEERS"
PEER_NAMES = ("torch", "mygrad", "autograd", "jax")
PEER_LABELS = {"torch": "PyTorch", "mygrad": "MyGrad", "autograd": "HIPS autograd",
               "jax": "JAX (jit)"}

# The issues whose targets the benchmark checks (a target names its issue): issue 5 asked
# for the benchmark; issue 11, on the shape of the engine, set targets of its own.
ISSUE_5, ISSUE_11, ISSUE_16 = 5, 11, 16
ISSUES = {ISSUE_5: "issue 5", ISSUE_11: "issue 11, engine shape",
          ISSUE_16: "issue 16, compiled step"}

# A trial runs a workload once and returns (seconds per unit, result for the
# cross-check, optional dict of extra per-unit timings such as forward/backward).
Trial = Callable[[], tuple[float, np.ndarray, dict | None]]


# --- optional peers -------------------------------------------------------------------


class Peers:
    """The peer libraries that could be imported, and why the others were skipped."""

    def __init__(self, disabled: bool, names: tuple[str, ...] = PEER_NAMES) -> None:
        self.mods: dict[str, Any] = {}
        self.skipped: dict[str, str] = {}
        self.versions: dict[str, str] = {}
        for name in names:
            if disabled:
                self.skipped[name] = "peers disabled (--no-peers or " + NO_PEERS_ENV + ")"
                continue
            try:
                self.mods[name] = _import_peer(name)
            except Exception as exc:  # ImportError, or a library failing to initialise
                self.skipped[name] = f"not importable ({type(exc).__name__}: {exc})"
                continue
            try:
                self.versions[name] = importlib.metadata.version(name)
            except importlib.metadata.PackageNotFoundError:
                self.versions[name] = str(getattr(self.mods[name], "__version__", "?"))

    def __contains__(self, name: str) -> bool:
        return name in self.mods

    def __getitem__(self, name: str) -> Any:
        return self.mods[name]


def _import_peer(name: str) -> Any:
    if name == "torch":
        import torch
        torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
        return torch
    if name == "mygrad":
        import mygrad
        return mygrad
    if name == "autograd":
        import autograd
        import autograd.numpy  # noqa: F401
        return autograd
    if name == "jax":
        import jax
        jax.config.update("jax_enable_x64", True)  # float64, like everyone else here
        import jax.numpy  # noqa: F401
        return jax
    raise ValueError(name)


def torch_api(lib: Any, peers: Peers) -> Any:
    """The module a PyTorch-API implementation runs on: the engine's module itself
    (``import tinygrad_edu as torch``), or PyTorch when ``lib`` is the name "torch"."""
    return peers["torch"] if lib == "torch" else lib


# --- the machine -----------------------------------------------------------------------


def cpu_seconds() -> tuple[float, float] | None:
    """(CPU seconds used by the whole machine, by this process with its threads and
    finished child processes) so far. Over an interval, the difference is what *other*
    processes used (plus time the hypervisor stole): a busy neighbour inflates timings.
    Linux only; None elsewhere."""
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    # user nice system idle iowait irq softirq steal (guest time is inside user)
    busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7]
    t = os.times()
    return (busy / os.sysconf("SC_CLK_TCK"),
            t.user + t.system + t.children_user + t.children_system)


def others_share(start: tuple | None, end: tuple | None, wall: float) -> float | None:
    """Share of the machine's CPU capacity that other processes used in an interval."""
    if start is None or end is None or wall <= 0:
        return None
    others = (end[0] - start[0]) - (end[1] - start[1])
    return max(others, 0.0) / (wall * (os.cpu_count() or 1))


def timed(loop: Callable[[], Any]) -> tuple[float, Any]:
    """(seconds, result) of one call of ``loop``."""
    t0 = perf_counter()
    out = loop()
    return perf_counter() - t0, out


# --- peak memory -------------------------------------------------------------------------


def _status_bytes(key: str) -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def _malloc_trim() -> None:
    """Hand memory that glibc's malloc keeps after free() back to the OS, so the
    baseline RSS holds only live memory."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


class RssMeter:
    """Resident memory above a baseline: VmRSS now, and VmHWM (the high-water mark,
    reset through /proc/self/clear_refs) for the peak. Linux only; None elsewhere."""

    def __init__(self) -> None:
        gc.collect()
        _malloc_trim()
        self.base = _status_bytes("VmRSS")
        try:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")  # reset the peak RSS to the current RSS
        except OSError:
            self.base = None

    def current(self) -> int | None:
        now = _status_bytes("VmRSS")
        return None if self.base is None or now is None else now - self.base

    def peak(self) -> int | None:
        hwm = _status_bytes("VmHWM")
        return None if self.base is None or hwm is None else hwm - self.base


def run_child(spec: dict, timeout: float = 900) -> dict:
    """Run one job (quadratic memory, the long chain) in a fresh Python process: bench.py
    with ``--_child`` and the job as JSON, found by its path, so that it works from any
    working directory. The child prints its result as JSON on its last line."""
    proc = subprocess.run([sys.executable, str(BENCH), "--_child", json.dumps(spec)],
                          capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        tail = " | ".join(proc.stderr.strip().splitlines()[-3:])
        raise RuntimeError(f"child {spec} exited with {proc.returncode}: {tail}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --- one workload's measurements ---------------------------------------------------------


@dataclass
class Section:
    """The measurements of one workload, as printed and as written to JSON."""

    name: str
    title: str
    unit: str  # what one measured value is the time of
    sizes: dict
    rounds: int
    samples: dict = field(default_factory=dict)  # impl -> [seconds per unit, per round]
    parts: dict = field(default_factory=dict)  # impl -> {part: [seconds per unit]}
    check: dict = field(default_factory=dict)  # impl -> max relative difference to NumPy
    ratios: dict = field(default_factory=dict)  # "engine/numpy" -> [per-round ratios]
    targets: list = field(default_factory=list)
    memory: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)
    errors: list = field(default_factory=list)
    details: list = field(default_factory=list)  # printed under the table, not in the JSON


def median(xs):
    return statistics.median(xs) if xs else None


def per_round_ratios(xs: list, ys: list) -> list:
    """x / y for each round: both sides of a ratio come from the same round."""
    return [x / y for x, y in zip(xs, ys)]


def paired_ratio(section: Section, a: str, b: str) -> float:
    """Median over rounds of a's time / b's time in the same round."""
    return median(per_round_ratios(section.samples[a], section.samples[b]))


def ratio_median(section: Section, key: str) -> float | None:
    return median(section.ratios.get(key, []))


def rotated(names: list, round_index: int) -> list:
    """The round-robin order of one round: the starting name rotates from round to round."""
    k = round_index % len(names) if names else 0
    return names[k:] + names[:k]


def max_rel_diff(result, reference) -> float:
    """Largest absolute difference, relative to the reference's largest magnitude."""
    diff = np.max(np.abs(np.subtract(result, reference)))
    return float(diff / max(np.max(np.abs(reference)), 1e-300))


def run_interleaved(section: Section, table: dict, data: Any, peers: Peers, rounds: int,
                    skip: dict | None = None, optional: frozenset = frozenset()) -> None:
    """Set up each implementation of ``table`` (name -> factory(data, peers) -> Trial)
    that can run, warm each up, then run ``rounds`` round-robin rounds. ``skip`` maps
    names to the note that says why they do not run; the failure of a name in
    ``optional`` is reported as a note, not an error."""
    trials = _set_up(section, table, data, peers, skip, optional)
    results = {}
    for name in list(trials):
        try:
            _, results[name], _ = trials[name]()
        except Exception as exc:
            report = section.notes if name in optional else section.errors
            report.append(f"{name}: the warm-up trial failed: {type(exc).__name__}: {exc}")
            del trials[name]
    names = list(trials)
    for name in names:
        section.samples[name] = []
    gc.collect()
    gc.freeze()  # what exists now (libraries, data) is never scanned by the collector again
    for r in range(rounds):
        for name in rotated(names, r):
            gc.collect()
            seconds, _, parts = trials[name]()
            section.samples[name].append(seconds)
            for part, value in (parts or {}).items():
                section.parts.setdefault(name, {}).setdefault(part, []).append(value)
    ref = results.get("numpy")
    if ref is not None:
        for name, res in results.items():
            section.check[name] = max_rel_diff(res, ref)
    for eng in (n for n in names if n.startswith("engine")):
        for other in names:
            if other != eng:
                section.ratios[f"{eng}/{other}"] = per_round_ratios(section.samples[eng],
                                                                    section.samples[other])


def _set_up(section: Section, table: dict, data: Any, peers: Peers, skip: dict | None,
            optional: frozenset) -> dict[str, Trial]:
    trials = {}
    for name, factory in table.items():
        if name in PEER_NAMES and name not in peers:
            section.notes.append(f"{PEER_LABELS[name]} skipped: {peers.skipped.get(name)}")
            continue
        if skip and name in skip:
            section.notes.append(skip[name])
            continue
        try:
            trials[name] = factory(data, peers)
        except Exception as exc:
            report = section.notes if name in optional else section.errors
            report.append(f"{name}: set-up failed: {type(exc).__name__}: {exc}")
    return trials


def add_target(section: Section, text: str, measured: float | None, limit: float,
               unit: str = "x", missing: str = "not measured", issue: int = ISSUE_5) -> None:
    """A target of an issue (a key of ISSUES): met when ``measured`` <= ``limit``;
    ``missing`` says why when it could not be measured."""
    section.targets.append({"target": text, "measured": measured, "limit": limit,
                            "unit": unit,
                            "pass": None if measured is None else bool(measured <= limit),
                            "missing": None if measured is not None else missing,
                            "issue": issue})


def add_ratio_target(section: Section, text: str, key: str, limit: float,
                     issue: int = ISSUE_5) -> None:
    """A target on the median per-round ratio ``key``, e.g. "engine/torch"; when that
    could not be measured, the reason says whether the peer was not available."""
    other = key.split("/")[1]
    missing = "not measured"
    if other in PEER_LABELS:
        missing = f"{PEER_LABELS[other]} not available" if other not in section.samples \
            else "failed"
    add_target(section, text, ratio_median(section, key), limit, missing=missing, issue=issue)
