"""Making tensors the PyTorch way: ``manual_seed``, ``rand``, ``zeros``, ``linspace`` ...

All of them take ``dtype=`` (the default float dtype unless given: float64, NumPy's,
unless ``set_default_dtype`` changed it; ints where PyTorch gives ints: ``arange`` of
ints, ``full`` with an int, ``randint``, ``randperm``), ``device=`` (the CPU is the only
one: see ``devices.py``) and ``requires_grad=``; the sizes can be given as arguments,
as one tuple or as ``size=``.

Random numbers come from a ``Generator``, a NumPy PCG64 generator with PyTorch's
methods. Every random function takes ``generator=``; without it the global one,
``default_generator``, is used, which ``manual_seed`` seeds: the same seed always gives
the same numbers. (The numbers are NumPy's, not PyTorch's: the same seed gives other
numbers there.)
"""

from __future__ import annotations

import numbers
import operator
import secrets
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from .convert import check_dtype as _check_dtype
from .convert import get_default_dtype
from .devices import check as _check_device
from .tensor import Tensor

Size = int | Sequence[int]

# --- random generators ------------------------------------------------------------------

DEFAULT_SEED = 67280421310721  # the seed of a new torch.Generator


def _seed_value(seed: Any, where: str) -> int:
    """An int seed in PyTorch's range, negative ones wrapped to 2**64 + seed."""
    if isinstance(seed, bool):
        raise TypeError(f"{where}: the seed must be an int, got a bool")
    try:
        seed = operator.index(seed)
    except TypeError:
        raise TypeError(f"{where}: the seed must be an int, got {type(seed).__name__} "
                        f"{seed!r}") from None
    if not -(2**63) <= seed < 2**64:
        raise ValueError(f"{where}: the seed must be in [-2**63, 2**64), got {seed}")
    return seed % 2**64


class Generator:
    """A source of random numbers, as ``torch.Generator``: a NumPy PCG64 generator that
    remembers its seed. A new one starts from PyTorch's default seed (the same numbers in
    every run) until ``manual_seed`` or ``seed`` is called."""

    def __init__(self, device: Any = "cpu") -> None:
        self.device = _check_device(device, "Generator")
        self.manual_seed(DEFAULT_SEED)

    def manual_seed(self, seed: int) -> Generator:
        """Start over from ``seed``; returns the generator itself."""
        self._seed = _seed_value(seed, "manual_seed")
        self._rng = np.random.default_rng(self._seed)
        return self

    def initial_seed(self) -> int:
        """The seed the generator was last started from."""
        return self._seed

    def seed(self) -> int:
        """Start over from a fresh unpredictable seed; returns it."""
        seed = secrets.randbits(64)
        self.manual_seed(seed)
        return seed

    def get_state(self) -> dict:
        """Where the generator is (NumPy's state dict; PyTorch gives a byte tensor)."""
        return self._rng.bit_generator.state

    def set_state(self, state: dict) -> Generator:
        """Go back to a state from ``get_state``."""
        self._rng.bit_generator.state = state
        return self

    def __repr__(self) -> str:
        return f"Generator(device='cpu', initial_seed={self._seed})"


default_generator = Generator()
default_generator.seed()  # as PyTorch: unpredictable until manual_seed is called


def manual_seed(seed: int) -> Generator:
    """Seed the global generator used by rand, randn, normal ... and nn.init; returns it."""
    return default_generator.manual_seed(seed)


def initial_seed() -> int:
    """The seed the global generator was last started from."""
    return default_generator.initial_seed()


def seed() -> int:
    """Seed the global generator unpredictably; returns the seed."""
    return default_generator.seed()


def generator() -> np.random.Generator:
    """The global NumPy generator (seeded by manual_seed)."""
    return default_generator._rng


def numpy_rng(gen: Generator | None, where: str) -> np.random.Generator:
    """The NumPy generator behind ``gen``, or the global one when it is None."""
    if gen is None:
        return default_generator._rng
    if not isinstance(gen, Generator):
        raise TypeError(f"{where}: generator must be a tinygrad_edu.Generator, got "
                        f"{type(gen).__name__}")
    return gen._rng


# --- sizes, dtypes, devices -------------------------------------------------------------


def _size(size: tuple, where: str, keyword: Any = None) -> tuple[int, ...]:
    """The shape from ``f(2, 3)``, ``f((2, 3))`` or ``f(size=(2, 3))``."""
    if keyword is not None:
        if size:
            raise TypeError(f"{where}: give the sizes as arguments or as size=, not both")
        size = (keyword,)
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    if not all(isinstance(n, (int, np.integer)) and n >= 0 for n in size):
        raise ValueError(f"{where}: sizes must be non-negative ints, got {size}")
    return tuple(int(n) for n in size)


def _dtype(dtype: Any, device: Any, where: str, random: bool = False) -> np.dtype:
    """Check device and dtype before anything is made (or drawn from a generator)."""
    _check_device(device, where)
    dt = get_default_dtype() if dtype is None else _check_dtype(dtype, where)
    if random and dt.kind != "f":
        raise TypeError(f"{where}: random numbers need a floating dtype (float32 or "
                        f"float64), got {dt}")
    return dt


def _new(array: np.ndarray, dt: np.dtype, requires_grad: bool) -> Tensor:
    return Tensor._wrap(array.astype(dt, copy=False), None).requires_grad_(requires_grad)


def _like(t: Any, device: Any = None, where: str = "") -> Tensor:
    """``t`` as a Tensor; the device checked first, so that errors name ``where``."""
    if device is not None:
        _check_device(device, where)
    return t if isinstance(t, Tensor) else Tensor(t)


# --- filled with numbers ----------------------------------------------------------------


def zeros(*sizes: Size, size: Size | None = None, dtype: Any = None, device: Any = None,
          requires_grad: bool = False) -> Tensor:
    dt = _dtype(dtype, device, "zeros")
    return _new(np.zeros(_size(sizes, "zeros", size)), dt, requires_grad)


def ones(*sizes: Size, size: Size | None = None, dtype: Any = None, device: Any = None,
         requires_grad: bool = False) -> Tensor:
    dt = _dtype(dtype, device, "ones")
    return _new(np.ones(_size(sizes, "ones", size)), dt, requires_grad)


def empty(*sizes: Size, size: Size | None = None, dtype: Any = None, device: Any = None,
          requires_grad: bool = False) -> Tensor:
    """PyTorch leaves the memory unset; here it holds zeros (NumPy's empty would hand out
    whatever was there before, which makes bugs hard to reproduce)."""
    dt = _dtype(dtype, device, "empty")
    return _new(np.zeros(_size(sizes, "empty", size)), dt, requires_grad)


def full(size: Size, fill_value: float, dtype: Any = None, requires_grad: bool = False, *,
         device: Any = None) -> Tensor:
    """Filled with ``fill_value``; without dtype=, its type decides as in PyTorch: a bool
    gives a bool tensor, an int an int64 one, a float the default float dtype."""
    dt = _dtype(dtype, device, "full")
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    if not isinstance(fill_value, (numbers.Real, np.bool_)):
        raise TypeError(f"full: fill_value must be a number, got "
                        f"{type(fill_value).__name__} {fill_value!r}")
    if dtype is None and isinstance(fill_value, (bool, np.bool_)):
        dt = np.dtype(np.bool_)
    elif dtype is None and isinstance(fill_value, (int, np.integer)):
        dt = np.dtype(np.int64)
    size = _size((size,) if isinstance(size, (int, np.integer)) else tuple(size), "full")
    return _new(np.full(size, fill_value), dt, requires_grad)


def zeros_like(t: Tensor, dtype: Any = None, requires_grad: bool = False, *,
               device: Any = None) -> Tensor:
    t = _like(t, device, "zeros_like")
    return zeros(t.shape, dtype=t.dtype if dtype is None else dtype, device=device,
                 requires_grad=requires_grad)


def ones_like(t: Tensor, dtype: Any = None, requires_grad: bool = False, *,
              device: Any = None) -> Tensor:
    t = _like(t, device, "ones_like")
    return ones(t.shape, dtype=t.dtype if dtype is None else dtype, device=device,
                requires_grad=requires_grad)


def empty_like(t: Tensor, dtype: Any = None, requires_grad: bool = False, *,
               device: Any = None) -> Tensor:
    """Zeros of ``t``'s shape and dtype (see ``empty``)."""
    t = _like(t, device, "empty_like")
    return empty(t.shape, dtype=t.dtype if dtype is None else dtype, device=device,
                 requires_grad=requires_grad)


def full_like(t: Tensor, fill_value: float, dtype: Any = None, requires_grad: bool = False,
              *, device: Any = None) -> Tensor:
    t = _like(t, device, "full_like")
    return full(t.shape, fill_value, dtype=t.dtype if dtype is None else dtype,
                device=device, requires_grad=requires_grad)


def arange(start: float, end: float | None = None, step: float = 1, dtype: Any = None,
           requires_grad: bool = False, *, device: Any = None) -> Tensor:
    """start, start+step, ... below end (one argument: 0 .. start-1). All ints and no
    dtype: an int64 tensor, as PyTorch; else the default float dtype."""
    dt = _dtype(dtype, device, "arange")
    if end is None:
        start, end = 0, start
    if step == 0:
        raise ValueError("arange: step must not be zero")
    if dtype is None and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                             for v in (start, end, step)):
        dt = np.dtype(np.int64)
    return _new(np.arange(start, end, step, dtype=np.float64), dt, requires_grad)


def linspace(start: float, end: float, steps: int, dtype: Any = None,
             requires_grad: bool = False, *, device: Any = None) -> Tensor:
    """``steps`` evenly spaced numbers from start to end, both included."""
    dt = _dtype(dtype, device, "linspace")
    if not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"linspace: steps must be a non-negative int, got {steps!r}")
    return _new(np.linspace(start, end, int(steps)), dt, requires_grad)


def eye(n: int, m: int | None = None, dtype: Any = None, requires_grad: bool = False, *,
        device: Any = None) -> Tensor:
    """The identity matrix (n rows, m columns)."""
    dt = _dtype(dtype, device, "eye")
    return _new(np.eye(n, m), dt, requires_grad)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing memory with a float32/float64 array (no copy)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected an ndarray, got {type(array).__name__}")
    _check_dtype(array.dtype, "from_numpy")
    return Tensor._wrap(array, None)


def meshgrid(*tensors: Tensor | Sequence[Tensor], indexing: str | None = None
             ) -> tuple[Tensor, ...]:
    """Coordinate grids from 1-D tensors: with ``indexing='ij'`` (PyTorch's default)
    output k varies along axis k; with ``'xy'`` (NumPy's default) the first two axes are
    swapped, as for images (rows are y). Each output is ``reshape`` + ``expand`` of its
    input, so gradients flow back (summed over the grid)."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing is None:
        warnings.warn("meshgrid: pass indexing='ij' (the default, as PyTorch's) or 'xy' "
                      "(NumPy's default); PyTorch will require it", UserWarning, stacklevel=2)
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise ValueError(f"meshgrid: indexing must be 'ij' or 'xy', got {indexing!r}")
    if not tensors:
        raise ValueError("meshgrid: needs at least one tensor")
    tensors = [_like(t) for t in tensors]
    for t in tensors:
        if t.ndim > 1:
            raise ValueError(f"meshgrid: expects 0-D or 1-D tensors, got shape {t.shape}")
        if t.dtype != tensors[0].dtype:
            raise TypeError(f"meshgrid: all tensors must have the same dtype, got "
                            f"{', '.join(str(u.dtype) for u in tensors)}")
    axes = list(range(len(tensors)))
    if indexing == "xy" and len(tensors) >= 2:
        axes[0], axes[1] = 1, 0
    shape = [0] * len(tensors)
    for t, axis in zip(tensors, axes):
        shape[axis] = t.numel()
    grids = []
    for t, axis in zip(tensors, axes):
        view = [1] * len(tensors)
        view[axis] = t.numel()
        grids.append(t.reshape(*view).expand(*shape))
    return tuple(grids)


# --- random numbers ---------------------------------------------------------------------


def rand(*sizes: Size, size: Size | None = None, generator: Generator | None = None,
         dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """Uniform numbers in [0, 1)."""
    dt = _dtype(dtype, device, "rand", random=True)
    shape = _size(sizes, "rand", size)
    return _new(numpy_rng(generator, "rand").random(shape), dt, requires_grad)


def randn(*sizes: Size, size: Size | None = None, generator: Generator | None = None,
          dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """Standard normal numbers."""
    dt = _dtype(dtype, device, "randn", random=True)
    shape = _size(sizes, "randn", size)
    return _new(numpy_rng(generator, "randn").standard_normal(shape), dt, requires_grad)


def rand_like(t: Tensor, *, generator: Generator | None = None, dtype: Any = None,
              device: Any = None, requires_grad: bool = False) -> Tensor:
    t = _like(t, device, "rand_like")
    return rand(t.shape, generator=generator, dtype=t.dtype if dtype is None else dtype,
                device=device, requires_grad=requires_grad)


def randn_like(t: Tensor, *, generator: Generator | None = None, dtype: Any = None,
               device: Any = None, requires_grad: bool = False) -> Tensor:
    t = _like(t, device, "randn_like")
    return randn(t.shape, generator=generator, dtype=t.dtype if dtype is None else dtype,
                 device=device, requires_grad=requires_grad)


def normal(mean: Tensor | float, std: Tensor | float = 1.0, size: Size | None = None, *,
           generator: Generator | None = None, dtype: Any = None, device: Any = None,
           requires_grad: bool = False) -> Tensor:
    """Normal numbers N(mean, std^2), in PyTorch's forms: ``normal(mean, std)`` with a
    tensor mean or std (or both: they broadcast, and give the shape and dtype), or
    ``normal(0.0, 1.0, size=(2, 3))`` with numbers. The result is a new leaf: no
    gradient flows back to mean and std (PyTorch's are zeros; for a gradient, write
    ``mean + std * randn(...)``)."""
    tensors = [x for x in (mean, std) if isinstance(x, Tensor)]
    if tensors:
        if size is not None:
            raise TypeError("normal: size= is for a number mean and std; a tensor mean or "
                            "std gives the shape itself")
        dt = _dtype(np.result_type(*[t.dtype for t in tensors]) if dtype is None else dtype,
                    device, "normal", random=True)
        m = mean.array if isinstance(mean, Tensor) else float(mean)
        s = std.array if isinstance(std, Tensor) else float(std)
        try:
            shape = np.broadcast_shapes(np.shape(m), np.shape(s))
        except ValueError:
            raise ValueError(f"normal: mean {np.shape(m)} and std {np.shape(s)} do not "
                             "broadcast together") from None
    else:
        if size is None:
            raise TypeError("normal: with a number mean and std give the size, as "
                            "normal(0.0, 1.0, size=(2, 3)); or make mean or std a tensor")
        dt = _dtype(dtype, device, "normal", random=True)
        m, s = float(mean), float(std)
        shape = _size((size,), "normal")
    if np.any(np.isnan(s) | (np.asarray(s) < 0)):
        raise ValueError(f"normal: std must be >= 0, got {np.min(s)}")
    return _new(numpy_rng(generator, "normal").normal(m, s, shape), dt, requires_grad)


def bernoulli(input: Tensor, p: float | None = None, *,  # noqa: A002 - PyTorch's name
              generator: Generator | None = None) -> Tensor:
    """1 with probability ``input`` (elementwise; or with probability ``p`` for every
    element), else 0, in ``input``'s shape and dtype. No gradient flows back."""
    t = _like(input)
    probs = t.array if p is None else np.full(t.shape, float(p))
    if np.any(np.isnan(probs) | (probs < 0) | (probs > 1)):
        raise ValueError(f"bernoulli: probabilities must be in [0, 1], got values from "
                         f"{np.min(probs)} to {np.max(probs)}")
    draws = numpy_rng(generator, "bernoulli").random(t.shape) < probs
    return Tensor._wrap(draws.astype(t.dtype), None)


# --- random integers (integer tensors: int64 unless dtype= says otherwise) ---------------


def randint(*args: Any, size: Size | None = None, generator: Generator | None = None,
            dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """Integers drawn uniformly from [low, high): ``randint(high, size)`` or
    ``randint(low, high, size)`` (size as the last argument or as ``size=``)."""
    _check_device(device, "randint")
    dt = np.dtype(np.int64) if dtype is None else _check_dtype(dtype, "randint")
    if size is None:
        if len(args) < 2:
            raise TypeError("randint: give high and size, as randint(10, (2, 3)), or "
                            "low, high and size")
        args, size = args[:-1], args[-1]
    if len(args) not in (1, 2):
        raise TypeError(f"randint: expected (high, size) or (low, high, size), got "
                        f"{len(args)} numbers before the size")
    low, high = (0, args[0]) if len(args) == 1 else args
    if not all(isinstance(n, (int, np.integer)) for n in (low, high)):
        raise TypeError(f"randint: low and high must be ints, got {low!r} and {high!r}")
    if low >= high:
        raise ValueError(f"randint: low must be less than high, got low={low}, high={high}")
    shape = _size((size,), "randint")
    values = numpy_rng(generator, "randint").integers(low, high, shape)
    return _new(values, dt, requires_grad)


def randperm(n: int, *, generator: Generator | None = None, dtype: Any = None,
             device: Any = None, requires_grad: bool = False) -> Tensor:
    """0, 1, ..., n-1 in a random order (int64 unless dtype= says otherwise)."""
    _check_device(device, "randperm")
    dt = np.dtype(np.int64) if dtype is None else _check_dtype(dtype, "randperm")
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 0:
        raise ValueError(f"randperm: n must be a non-negative int, got {n!r}")
    return _new(numpy_rng(generator, "randperm").permutation(int(n)), dt, requires_grad)


def multinomial(input: Tensor, num_samples: int, replacement: bool = False, *,  # noqa: A002
                generator: Generator | None = None) -> Tensor:
    """Indices of categories drawn with probability proportional to the weights in
    ``input`` (1-D: one distribution; 2-D: one per row), as int64. Without replacement
    each index comes at most once: the draws are the ``num_samples`` largest of
    ``weight / E`` with E exponential (the "exponential race", exact for drawing one
    after another without putting back; zero weights come last)."""
    t = _like(input)
    w = t.array.astype(np.float64)
    if w.ndim not in (1, 2):
        raise ValueError(f"multinomial: input must be 1-D or 2-D, got shape {t.shape}")
    if not isinstance(num_samples, (int, np.integer)) or num_samples <= 0:
        raise ValueError(f"multinomial: num_samples must be a positive int, got "
                         f"{num_samples!r}")
    rows = w.reshape(-1, w.shape[-1])
    if not np.all(np.isfinite(rows)) or np.any(rows < 0):
        raise ValueError("multinomial: weights must be finite and >= 0")
    if np.any(rows.sum(axis=1) <= 0):
        raise ValueError("multinomial: every distribution needs a positive weight "
                         "(a row sums to 0)")
    if not replacement and num_samples > rows.shape[1]:
        raise ValueError(f"multinomial: cannot draw {num_samples} samples from "
                         f"{rows.shape[1]} categories without replacement")
    rng = numpy_rng(generator, "multinomial")
    if replacement:
        cumulative = np.cumsum(rows, axis=1)
        u = rng.random((rows.shape[0], num_samples)) * cumulative[:, -1:]
        picks = np.stack([np.searchsorted(c, r, side="right") for c, r in zip(cumulative, u)])
        picks = np.minimum(picks, rows.shape[1] - 1)
    else:
        with np.errstate(divide="ignore"):
            keys = rows / rng.exponential(size=rows.shape)
        picks = np.argsort(-keys, axis=1, kind="stable")[:, :num_samples]
    picks = picks.reshape(w.shape[:-1] + (num_samples,))
    return Tensor._wrap(picks.astype(np.int64), None)
