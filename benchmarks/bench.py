#!/usr/bin/env python3
"""Benchmark of tinygrad_edu against hand-written NumPy and other autodiff libraries (issue 5).

    python benchmarks/bench.py                      # the full run (a few minutes)
    python benchmarks/bench.py --quick              # every workload at tiny sizes (seconds)
    python benchmarks/bench.py --only chain --json out.json
    python benchmarks/bench.py --list               # the workload names

This file is the command line. How the benchmark measures is told in harness.py; the
workloads (their implementations, sizes and targets) are in workloads/; what it prints
and writes is made in report.py.

Standard library and NumPy only; the peers are optional.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, Python puts this folder first on sys.path. The repository goes first
# instead: the modules beside this file are then imported as the package ``benchmarks``
# (also by the child processes, from any working directory), and tinygrad_edu from this
# checkout.
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(HERE.parent))

# benchmarks/__init__.py sets the threads per library before NumPy loads.
import argparse  # noqa: E402
import contextlib  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402

from benchmarks.harness import (  # noqa: E402
    NO_PEERS_ENV,
    Peers,
    Section,
    cpu_seconds,
    others_share,
    perf_counter,
)
from benchmarks.report import (  # noqa: E402
    fmt_time,
    format_header,
    format_section,
    format_summary,
    machine_info,
    section_json,
)
from benchmarks.workloads import SIZES, WORKLOADS, child_main  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="all workloads at tiny sizes, 1-2 rounds: a smoke test")
    parser.add_argument("--only", action="append", default=[], metavar="NAME",
                        help="run only this workload (repeatable or comma-separated); "
                             "names: " + ", ".join(WORKLOADS))
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON here")
    parser.add_argument("--rounds", type=int, help="override the number of rounds")
    parser.add_argument("--no-peers", action="store_true",
                        help=f"skip PyTorch, MyGrad, autograd, JAX (also: {NO_PEERS_ENV}=1)")
    parser.add_argument("--list", action="store_true", help="list the workloads and exit")
    parser.add_argument("--_child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args._child:
        child_main(json.loads(args._child))
        return 0
    if args.list:
        for name in WORKLOADS:
            print(name)
        return 0
    only = [n.strip() for arg in args.only for n in arg.split(",") if n.strip()]
    unknown = [n for n in only if n not in WORKLOADS]
    if unknown:
        parser.error(f"unknown workload {', '.join(unknown)}; choose from {', '.join(WORKLOADS)}")
    selected = [n for n in WORKLOADS if not only or n in only]
    disabled = args.no_peers or os.environ.get(NO_PEERS_ENV, "") not in ("", "0")
    peers = Peers(disabled)
    gc.collect()
    gc.freeze()  # so that a collection inside a trial does not scan torch's or jax's objects
    info = machine_info(peers)
    print(format_header(info, args.quick), flush=True)
    sizes = SIZES["quick" if args.quick else "full"]
    sections = []
    t_start = perf_counter()
    for index, name in enumerate(WORKLOADS, 1):
        if name not in selected:
            continue
        s = dict(sizes[name])
        if args.rounds:
            s["rounds"] = args.rounds
        print(f"\nrunning {name} ...", file=sys.stderr, flush=True)
        t0 = perf_counter()
        load_start = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
        cpu_start = cpu_seconds()
        try:
            sec = WORKLOADS[name](s, peers, args.quick)
        except Exception as exc:
            sec = Section(name, "failed", "-", s, s["rounds"],
                          errors=[f"{type(exc).__name__}: {exc}"])
        sec.extra["wall_s"] = perf_counter() - t0
        sec.extra["others_cpu_share"] = others_share(cpu_start, cpu_seconds(),
                                                     sec.extra["wall_s"])
        with contextlib.suppress(OSError, AttributeError):
            sec.extra["load_average_1min_start_end"] = [load_start, os.getloadavg()[0]]
        sections.append(sec)
        print("\n" + format_section(sec, index, args.quick), flush=True)
    with contextlib.suppress(OSError, AttributeError):
        info["load_average_end"] = list(os.getloadavg())
    info["wall_s"] = perf_counter() - t_start
    print("\n" + format_summary(sections, args.quick))
    print(f"\nwall time {fmt_time(info['wall_s'])}; load average at end "
          + " / ".join(f"{x:.2f}" for x in info.get("load_average_end", [])))
    errors = [f"{sec.name}: {e}" for sec in sections for e in sec.errors]
    if args.json:
        doc = {"meta": dict(info, quick=args.quick, argv=sys.argv[1:] if argv is None else argv),
               "workloads": {sec.name: section_json(sec) for sec in sections},
               "errors": errors}
        Path(args.json).write_text(json.dumps(doc, indent=1, default=float) + "\n")
    if errors:
        print(f"\n{len(errors)} error(s): see ERROR lines above", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
