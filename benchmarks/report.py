"""What the benchmark prints and writes: the header with the machine, one table per
workload, the summary of the targets, and the JSON document."""

from __future__ import annotations

import contextlib
import os
import platform
import subprocess
import time

import numpy as np

import tinygrad_edu as tg
from benchmarks import ROOT, THREAD_VARS
from benchmarks.harness import (
    ISSUE_5,
    ISSUES,
    PEER_LABELS,
    Peers,
    Section,
    median,
    ratio_median,
)

OTHERS_WARN = 0.10  # warn when other processes used over 10% of the machine's CPUs


def fmt_time(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}" if seconds / scale < 1000 else \
                f"{seconds / scale:.0f} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def fmt_bytes(n: float | None) -> str:
    return "-" if n is None else f"{n / 1e6:.1f} MB"


def fmt_ratio(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}x"


def fmt_measured(t: dict) -> str:
    """A target's measured value in its unit (a ratio, or e.g. us or s)."""
    if t["measured"] is None:
        return "-"
    return fmt_ratio(t["measured"]) if t["unit"] == "x" else f"{t['measured']:.3g} {t['unit']}"


def target_label(t: dict) -> str:
    """'target:' for the benchmark's own issue (5), 'target (issue N):' for another's."""
    return "target:" if t["issue"] == ISSUE_5 else f"target (issue {t['issue']}):"


def verdict(t: dict, quick: bool) -> str:
    if t["pass"] is None:
        return f"n/a ({t['missing']})"
    word = "PASS" if t["pass"] else "MISS"
    return word + (" (quick sizes: not a verdict)" if quick else "")


def format_section(sec: Section, index: int, quick: bool) -> str:
    load = sec.extra.get("load_average_1min_start_end")
    lines = [f"[{index}] {sec.name}: {sec.title}",
             f"    value = median time of {sec.unit} over {sec.rounds} round(s); "
             "'engine/it' = median of the per-round ratios"]
    machine = []
    if load and load[0] is not None:
        machine.append(f"1-min load average {load[0]:.2f} -> {load[1]:.2f}")
    if sec.extra.get("others_cpu_share") is not None:
        machine.append(f"other processes used {100 * sec.extra['others_cpu_share']:.0f}% of "
                       "the CPU time")
    if machine and "wall_s" in sec.extra:
        lines.append(f"    while it ran ({fmt_time(sec.extra['wall_s'])}): " + "; ".join(machine))
    engines = [n for n in sec.samples if n.startswith("engine")]
    head = f"    {'implementation':<16}{'median':>11}{'min':>11}{'max':>11}"
    head += "".join(f"{e + '/it':>13}" for e in engines)
    parts_text = {}
    if any(sec.parts.values()):
        parts_text = {name: " / ".join(fmt_time(median(v)) for v in sec.parts[name].values())
                      if sec.parts.get(name) else "(not separable)" for name in sec.samples}
        title = " / ".join(next(p for p in sec.parts.values() if p))
        width = max(len(title), *map(len, parts_text.values()))
        head += "   " + title.ljust(width)
    head += "   result vs NumPy"
    lines.append(head)
    for name, xs in sec.samples.items():
        row = f"    {name:<16}{fmt_time(median(xs)):>11}{fmt_time(min(xs)):>11}"
        row += f"{fmt_time(max(xs)):>11}"
        for e in engines:
            row += f"{'' if e == name else fmt_ratio(ratio_median(sec, f'{e}/{name}')):>13}"
        if parts_text:
            row += "   " + parts_text[name].ljust(width)
        if name == "numpy":
            row += "   (reference)"
        elif name in sec.check:
            rel = sec.check[name]
            row += f"   {'same' if rel < 1e-6 else 'DIFFERS'} (max rel diff {rel:.1e})"
        lines.append(row)
    lines.extend(f"    {line}" for line in sec.details)
    if sec.memory:
        lines.append("    peak memory above the baseline:")
        for name, m in sec.memory.items():
            bits = []
            if "tracemalloc_peak_bytes" in m:
                tm = m["tracemalloc_peak_bytes"]
                bits.append(f"tracemalloc {fmt_bytes(tm) if tm is not None else 'n/a':>9}")
            if "graph_rss_bytes" in m:
                g = m["graph_rss_bytes"]
                per_node = "" if g is None else f" ({g / m['nodes']:.0f} B/node)"
                bits.append(f"graph RSS {fmt_bytes(g)}{per_node}")
            bits.append(f"RSS peak {fmt_bytes(m.get('rss_peak_bytes')):>9}")
            if "rss_after_bytes" in m:
                bits.append(f"RSS still held after {fmt_bytes(m['rss_after_bytes']):>9}")
            if m.get("xla_temp_bytes") is not None:
                bits.append(f"XLA temp buffers {fmt_bytes(m['xla_temp_bytes'])}")
            lines.append(f"      {name:<14}" + "   ".join(bits))
        if "rss_peak_ratio_engine_numpy" in sec.extra:
            lines.append("      engine/numpy by RSS: "
                         f"{fmt_ratio(sec.extra['rss_peak_ratio_engine_numpy'])}")
    others = sec.extra.get("others_cpu_share")
    if others is not None and others > OTHERS_WARN:
        lines.append(f"    WARNING: other processes used {100 * others:.0f}% of the machine's "
                     "CPU time while this workload ran: its timings may be inflated, and "
                     "the ratios skewed")
    labels = [target_label(t) for t in sec.targets]
    label_width = max(map(len, labels), default=0)
    for t, label in zip(sec.targets, labels):
        unit = t["unit"]
        limit = f"{t['limit']}{'x' if unit == 'x' else ' ' + unit}"
        lines.append(f"    {label:<{label_width}} {t['target']:<58} measured "
                     f"{fmt_measured(t):>9}  (limit {limit})  {verdict(t, quick)}")
    lines.extend(f"    note: {n}" for n in sec.notes)
    lines.extend(f"    ERROR: {e}" for e in sec.errors)
    return "\n".join(lines)


def section_json(sec: Section) -> dict:
    impls = {}
    for name, xs in sec.samples.items():
        impls[name] = {"median_s": median(xs), "min_s": min(xs), "max_s": max(xs),
                       "samples_s": xs,
                       "parts_median_s": {k: median(v) for k, v in sec.parts.get(name, {}).items()},
                       "max_rel_diff_vs_numpy": sec.check.get(name)}
    return {"title": sec.title, "unit": f"seconds per {sec.unit}", "sizes": sec.sizes,
            "rounds": sec.rounds, "implementations": impls,
            "ratios": {k: {"median": median(v), "per_round": v} for k, v in sec.ratios.items()},
            "targets": sec.targets, "memory": sec.memory, "extra": sec.extra,
            "notes": sec.notes, "errors": sec.errors}


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True,
                             timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def machine_info(peers: Peers) -> dict:
    info = {"date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
            "python": platform.python_version(), "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(), "numpy": np.__version__,
            "tinygrad_edu": getattr(tg, "__version__", "?"),
            "engine_commit": _git("rev-parse", "--short", "HEAD"),
            "peers": {n: PEER_LABELS[n] + " " + v for n, v in peers.versions.items()},
            "peers_skipped": peers.skipped}
    status = _git("status", "--porcelain", "--", "tinygrad_edu")
    info["engine_uncommitted"] = None if status is None else status.splitlines()
    with contextlib.suppress(AttributeError):
        info["cpus_usable"] = len(os.sched_getaffinity(0))
    with contextlib.suppress(OSError, AttributeError):
        info["load_average_start"] = list(os.getloadavg())
    info["threads"] = {v: os.environ.get(v) for v in (*THREAD_VARS, "XLA_FLAGS")}
    if "torch" in peers:
        info["threads"]["torch.get_num_threads()"] = peers["torch"].get_num_threads()
    return info


def format_header(info: dict, quick: bool) -> str:
    load = info.get("load_average_start")
    lines = [
        "tinygrad_edu benchmark (issue 5)" + ("  --quick: tiny sizes, a smoke test; the "
                                             "numbers mean nothing" if quick else ""),
        f"  {info['date']}; Python {info['python']}, NumPy {info['numpy']}, tinygrad_edu "
        f"{info['tinygrad_edu']} at commit {info['engine_commit']}"
        + (" + uncommitted changes in tinygrad_edu/ ("
           + ", ".join(line.strip() for line in info["engine_uncommitted"]) + ")"
           if info.get("engine_uncommitted") else ""),
        f"  {info['platform']}; {info['cpu_count']} CPU(s), {info.get('cpus_usable', '?')} "
        "usable; load average at start "
        + ("?" if load is None else " / ".join(f"{x:.2f}" for x in load)) + " (1/5/15 min)",
        "  the machine is shared with other processes: each workload shows the load average "
        "and the share of the machine's CPU time that other processes used while it ran "
        "(/proc/stat minus this process and its children; contention from outside this "
        "VM beyond reported steal time is invisible); ratios are paired within rounds to "
        "limit the effect of that noise",
        "  peers: " + (", ".join(info["peers"].values()) or "none"),
    ]
    lines.append("  threads per library (TINYGRAD_EDU_BENCH_THREADS, default 1, so that one "
                 "library's idle worker threads do not slow the next one down): "
                 + ", ".join(f"{k}={v}" for k, v in info["threads"].items() if v is not None))
    lines.extend(f"  skipped {PEER_LABELS[n]}: {why}" for n, why in info["peers_skipped"].items())
    lines.append("  all implementations compute in float64; timings: time.perf_counter, "
                 "one warm-up trial each, then round-robin rounds (start rotated); "
                 "gc.collect() before each trial, with the libraries' and the data's "
                 "objects frozen (gc.freeze) so collections do not scan them")
    return "\n".join(lines)


def format_summary(sections: list[Section], quick: bool) -> str:
    """The targets of each issue, one list under a heading per issue."""
    lines = []
    for issue, title in ISSUES.items():
        lines.append(f"targets ({title}):")
        for sec in sections:
            for t in sec.targets:
                if t["issue"] == issue:
                    lines.append(f"  {sec.name:<14} {t['target']:<58} {fmt_measured(t):>9}  "
                                 f"{verdict(t, quick)}")
    return "\n".join(lines)
