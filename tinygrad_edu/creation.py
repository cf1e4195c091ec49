"""Making tensors the PyTorch way: ``manual_seed``, ``rand``, ``zeros``, ``linspace`` ...

All of them take ``dtype=`` (float64 by default, NumPy's default) and
``requires_grad=``. Random numbers come from one global NumPy Generator, so the same
seed always gives the same numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .convert import check_dtype as _check_dtype
from .tensor import Tensor

_rng = np.random.default_rng()


def manual_seed(seed: int) -> np.random.Generator:
    """Seed the global generator used by rand, randn and nn.init."""
    global _rng
    _rng = np.random.default_rng(seed)
    return _rng


def generator() -> np.random.Generator:
    """The global random generator (seeded by manual_seed)."""
    return _rng


def _size(size: tuple, where: str) -> tuple[int, ...]:
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    if not all(isinstance(n, (int, np.integer)) and n >= 0 for n in size):
        raise ValueError(f"{where}: sizes must be non-negative ints, got {size}")
    return tuple(int(n) for n in size)


def _make(array: np.ndarray, dtype: Any, requires_grad: bool, where: str) -> Tensor:
    dt = np.dtype(np.float64) if dtype is None else _check_dtype(dtype, where)
    return Tensor._wrap(array.astype(dt, copy=False), None).requires_grad_(requires_grad)


def rand(*size: int | Sequence[int], dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Uniform numbers in [0, 1)."""
    return _make(_rng.random(_size(size, "rand")), dtype, requires_grad, "rand")


def randn(*size: int | Sequence[int], dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Standard normal numbers."""
    return _make(_rng.standard_normal(_size(size, "randn")), dtype, requires_grad, "randn")


def zeros(*size: int | Sequence[int], dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return _make(np.zeros(_size(size, "zeros")), dtype, requires_grad, "zeros")


def ones(*size: int | Sequence[int], dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return _make(np.ones(_size(size, "ones")), dtype, requires_grad, "ones")


def full(size: Sequence[int] | int, fill_value: float, dtype: Any = None,
         requires_grad: bool = False) -> Tensor:
    size = _size((size,) if isinstance(size, int) else tuple(size), "full")
    return _make(np.full(size, float(fill_value)), dtype, requires_grad, "full")


def zeros_like(t: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return zeros(t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad)


def ones_like(t: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return ones(t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad)


def arange(start: float, end: float | None = None, step: float = 1, dtype: Any = None,
           requires_grad: bool = False) -> Tensor:
    """start, start+step, ... below end (one argument: 0 .. start-1)."""
    if end is None:
        start, end = 0, start
    if step == 0:
        raise ValueError("arange: step must not be zero")
    return _make(np.arange(start, end, step, dtype=np.float64), dtype, requires_grad, "arange")


def linspace(start: float, end: float, steps: int, dtype: Any = None,
             requires_grad: bool = False) -> Tensor:
    """``steps`` evenly spaced numbers from start to end, both included."""
    if not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"linspace: steps must be a non-negative int, got {steps!r}")
    return _make(np.linspace(start, end, int(steps)), dtype, requires_grad, "linspace")


def eye(n: int, m: int | None = None, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """The identity matrix (n rows, m columns)."""
    return _make(np.eye(n, m), dtype, requires_grad, "eye")


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing memory with a float32/float64 array (no copy)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected an ndarray, got {type(array).__name__}")
    _check_dtype(array.dtype, "from_numpy")
    return Tensor._wrap(array, None)
