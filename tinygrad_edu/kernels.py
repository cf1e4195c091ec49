"""The NumPy forwards of ``ops.py`` that take more than one NumPy call: how each op
computes its result on plain arrays (the table in ops.py says what each one means and
holds its derivative; nothing here is differentiated)."""

from __future__ import annotations

import math

import numpy as np


def var_forward(a, axis, keepdims, correction):
    with np.errstate(divide="ignore", invalid="ignore"):  # N - correction <= 0: inf or nan
        return np.var(a, axis=axis, ddof=correction, keepdims=keepdims)


def erf_forward(a: np.ndarray) -> np.ndarray:
    """erf(a) = 2/sqrt(pi) * integral from 0 to a of exp(-t^2) dt, elementwise. NumPy has
    no erf, so each element goes through Python's math.erf (correctly rounded, but a
    Python loop: about 0.15 us per element)."""
    dtype = a.dtype if a.dtype.kind == "f" else np.dtype(np.float64)
    values = np.fromiter(map(math.erf, a.ravel().tolist()), dtype=np.float64, count=a.size)
    return values.reshape(a.shape).astype(dtype, copy=False)


def matmul_forward(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a @ b. With an inner dimension of 1 every entry is one product a_i1 * b_1j (an
    outer product), which NumPy's broadcast multiply computes several times faster
    than its matmul does for that shape; the numbers are the same."""
    if a.shape[-1] == 1:
        return np.multiply(a, b)
    return np.matmul(a, b)


def scatter_forward(a: np.ndarray, key, shape) -> np.ndarray:
    """zeros(shape) with a added at [key]; repeated indices accumulate."""
    out = np.zeros(shape, dtype=a.dtype)
    np.add.at(out, key, a)
    return out


def clip_forward(a, low, high):
    return np.clip(a, low, high)


def expand_forward(a: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """a broadcast to shape. When only size-1 axes are added, no element repeats and
    the result is an ordinary (writable) view, as in PyTorch."""
    if math.prod(shape) == a.size:
        return a.reshape(shape)
    return np.broadcast_to(a, shape)


def put_forward(a: np.ndarray, b: np.ndarray, index: np.ndarray) -> np.ndarray:
    """A copy of a with b written at the flat positions ``index`` (in C order)."""
    out = np.array(a, order="C")
    out.reshape(-1)[index] = b
    return out


def written(index: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """True at the flat positions in index, as an array of ``shape``."""
    mask = np.zeros(math.prod(shape), dtype=bool)
    mask[index] = True
    return mask.reshape(shape)


def window_count(size: int, kernel: int, stride: int, dilation: int) -> int:
    """How many windows of ``kernel`` taps, ``dilation`` apart, fit along an axis of
    ``size`` (padding included) when they start every ``stride`` elements."""
    return (size - dilation * (kernel - 1) - 1) // stride + 1


def unfold_forward(a: np.ndarray, kernel_size, stride, padding, dilation,
                    pad_value: float = 0.0) -> np.ndarray:
    """The windows of a (N, C, *S) with k = len(kernel_size) spatial axes, padded by
    ``padding`` ((before, after) per spatial axis) with ``pad_value``:

        out[n, *o, c, *j] = padded[n, c, *(o*stride + j*dilation)]

    shaped (N, *O, C, *K): one row per window position o, holding its patch (c, *j),
    so that a convolution is one matrix product. The padded copy is laid out channels
    last (N, *S, C), the windows are read from it through a strided view (no loop) and
    copied, so the result owns its memory."""
    n, c, *sizes = a.shape
    padded = np.full((n, *[m + lo + hi for m, (lo, hi) in zip(sizes, padding)], c), pad_value,
                     dtype=a.dtype)
    inside = tuple(slice(lo, lo + m) for m, (lo, hi) in zip(sizes, padding))
    padded[(slice(None), *inside)] = np.moveaxis(a, 1, -1)
    counts = [window_count(m + lo + hi, k, s, d)
              for m, (lo, hi), k, s, d in zip(sizes, padding, kernel_size, stride, dilation)]
    step_n, *steps, step_c = padded.strides
    shape = (n, *counts, c, *kernel_size)
    strides = (step_n, *(t * s for t, s in zip(steps, stride)), step_c,
               *(t * d for t, d in zip(steps, dilation)))
    return np.lib.stride_tricks.as_strided(padded, shape, strides, writeable=False).copy()


def fold_forward(a: np.ndarray, shape, stride, padding, dilation) -> np.ndarray:
    """The adjoint of unfold: zeros(shape) (N, C, *S) with each window of a
    (N, *O, C, *K) added back where unfold read it; overlapping windows add up and
    what fell on the padding is dropped. One strided slice per kernel tap j:

        padded[n, c, *(j*dilation + o*stride)] += a[n, *o, c, *j]   for all o at once

    (summed channels last, (N, *S, C), where each tap's slice of a is a plain block)."""
    k = len(stride)
    counts, kernel = a.shape[1:1 + k], a.shape[2 + k:]
    n, c, *sizes = shape
    out = np.zeros((n, *[m + lo + hi for m, (lo, hi) in zip(sizes, padding)], c), dtype=a.dtype)
    taps = np.moveaxis(a, tuple(range(2 + k, 2 + 2 * k)), tuple(range(k)))  # (*K, N, *O, C)
    for tap in np.ndindex(*kernel):
        where = tuple(slice(j * d, j * d + (o - 1) * s + 1, s)
                      for j, o, s, d in zip(tap, counts, stride, dilation))
        out[(slice(None), *where)] += taps[tap]
    inside = tuple(slice(lo, lo + m) for m, (lo, hi) in zip(sizes, padding))
    return np.moveaxis(out[(slice(None), *inside)], -1, 1)
