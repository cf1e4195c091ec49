"""The benchmark of tinygrad_edu (issue 5; it checks the targets of issue 11 too).
Run it as ``python benchmarks/bench.py``.

    bench.py      the command line: options, the run over the workloads, the child entry
    harness.py    timing (interleaved rounds, paired ratios), peers, memory meters, children
    workloads/    the workloads: each one's implementations, sizes and targets
    report.py     the table, the summary of targets, the machine description, the JSON

This file sets the threads per library before anything here imports NumPy.
"""

import os
from pathlib import Path

# One thread per library by default, set before NumPy (OpenBLAS), PyTorch (OpenMP, MKL)
# or JAX (XLA) load. They all share this process, and on a small machine the idle worker
# threads of one library (which spin for a while after each call) slow the next
# library's calls down: measured here, PyTorch's MLP step took 2-4x longer right after
# NumPy's BLAS calls than alone. The engine and hand-written NumPy use the same BLAS, so
# their ratio is like-for-like either way. TINYGRAD_EDU_BENCH_THREADS=N changes it; a
# variable the user already set (OMP_NUM_THREADS, ...) is left alone.
THREADS = os.environ.get("TINYGRAD_EDU_BENCH_THREADS", "1")
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
for _var in THREAD_VARS:
    os.environ.setdefault(_var, THREADS)
if THREADS == "1":
    os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false "
                                       "intra_op_parallelism_threads=1")

ROOT = Path(__file__).resolve().parent.parent  # the repository
