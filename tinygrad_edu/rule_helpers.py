"""What the rules of ``ops.py`` may call besides the operators. Each works on a NumPy
array (a plain ``backward()``) and on a Tensor (under ``create_graph=True``, where the
rule's own ops are recorded), so one line of math serves both."""

from __future__ import annotations

import numpy as np

from .kernels import fold_forward, scatter_forward, unfold_forward


def _is_array(x) -> bool:
    return isinstance(x, (np.ndarray, np.generic))


def value(x) -> np.ndarray:
    """The plain array of x (for masks and other constants: no derivative flows)."""
    return x if _is_array(x) else x.array


def log(x):
    return np.log(x) if _is_array(x) else x.log()


def where(condition: np.ndarray, x, y):
    """x where condition holds, else y (a number, or the same kind of value as x).
    Rules that gate a gradient select with it instead of multiplying by a 0/1 mask, so
    an inf or NaN in g stays where the op passed it through, as in PyTorch."""
    if _is_array(x) or _is_array(y):
        return np.where(condition, x, y)
    if isinstance(x, (int, float)):
        return y.where(~condition, x)
    return x.where(condition, y)


def expand(x, shape: tuple[int, ...]):
    """Broadcast x to shape (a view: nothing is copied)."""
    if not _is_array(x):
        return x.expand(shape)
    if x.size == 1:  # one number everywhere: a zero-stride view, 6x cheaper to make
        out = np.ndarray(shape, x.dtype, np.asarray(x), 0, (0,) * len(shape))
        out.flags.writeable = False
        return out
    return np.broadcast_to(x, shape)


def permute(x, axes: tuple[int, ...]):
    return x.transpose(axes) if _is_array(x) else x.permute(axes)


def mT(x):
    """x with its last two axes swapped (the transpose of each matrix)."""
    return x.swapaxes(-1, -2) if _is_array(x) else x.mT


def scatter_into(x, key, shape: tuple[int, ...]):
    """zeros(shape) with x added at [key]; repeated indices accumulate."""
    return scatter_forward(x, key, shape) if _is_array(x) else x.scatter_into(key, shape)


def sin(x):
    return np.sin(x) if _is_array(x) else x.sin()


def cos(x):
    return np.cos(x) if _is_array(x) else x.cos()


def exp(x):
    return np.exp(x) if _is_array(x) else x.exp()


def flip(x, axis: tuple[int, ...]):
    """x with the order of the elements along each axis in ``axis`` reversed."""
    return np.flip(x, axis) if _is_array(x) else x.flip(axis)


def cumsum(x, axis: int):
    return np.cumsum(x, axis=axis) if _is_array(x) else x.cumsum(axis)


def unfold(x, kernel_size: tuple[int, ...], stride: tuple[int, ...], padding: tuple,
           dilation: tuple[int, ...]):
    """The sliding windows of x (N, C, *S), zero-padded: see ``UNFOLD``."""
    if _is_array(x):
        return unfold_forward(x, kernel_size, stride, padding, dilation)
    return x.sliding_windows(kernel_size, stride, padding, dilation)


def fold(x, shape: tuple[int, ...], stride: tuple[int, ...], padding: tuple,
         dilation: tuple[int, ...]):
    """Windows x (N, *O, C, *K) added back into zeros(shape): see ``FOLD``."""
    if _is_array(x):
        return fold_forward(x, shape, stride, padding, dilation)
    return x.fold_windows(shape, stride, padding, dilation)


def prod(x, axis: tuple[int, ...]):
    """The product over ``axis``, keeping the reduced axes as size 1."""
    return np.prod(x, axis=axis, keepdims=True) if _is_array(x) else x.prod(axis=axis,
                                                                             keepdims=True)


def _none(mask: np.ndarray) -> bool:
    """No element of mask is set (NumPy's .any() takes 1 us on a small array)."""
    return not mask if mask.size == 1 else np.count_nonzero(mask) == 0
