"""Convolution and pooling as functions, as in ``torch.nn.functional`` (the layers that
hold their weights are in ``conv_layers.py``).

All of them are compositions of one primitive of the derivative table: the sliding
windows of the input (``Tensor.sliding_windows``, the op ``unfold``, also called im2col),

    windows[n, *o, c, *j] = padded input[n, c, *(o*stride + j*dilation)]

shaped (N, *O, C, *K): one row per output position o holding the patch it sees. Then

    conv:      out[n, f, *o] = sum over (c, *j) of windows[n, *o, c, *j] * weight[f, c, *j]
               (one matrix product: (N*L, C*K) @ (C*K, F))
    max pool:  out[n, c, *o] = max over j of windows[n, *o, c, *j]
    avg pool:  out[n, c, *o] = sum over j of windows[n, *o, c, *j] / (taps counted)

and autograd differentiates those: the matmul's and the max's rules give the gradient
of each window, and unfold's rule (fold, col2im) adds it back where the window was read.
Shapes follow PyTorch: inputs (N, C, L) or (N, C, H, W), or unbatched (C, L), (C, H, W).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .._validate import ints_per_axis
from ..functions import as_tensor, tensor
from ..tensor import Tensor

Size = int | Sequence[int]

_AXES = {1: "L", 2: "H, W"}


def _tuple(value: Any, k: int, name: str, where: str, low: int) -> tuple[int, ...]:
    """One whole number, or k of them, as a tuple of k ints >= low (RuntimeError
    otherwise, as PyTorch's functions; TypeError for what is not whole numbers)."""
    return ints_per_axis(value, k, name, where, low, error=RuntimeError)


def _batched(input: Any, k: int, where: str) -> tuple[Tensor, bool]:
    """(the input as (N, C, *S), whether it came unbatched as (C, *S))."""
    x = as_tensor(input)
    if x.ndim not in (k + 1, k + 2):
        raise RuntimeError(f"{where}: expected a {k + 1}-D (C, {_AXES[k]}) unbatched or "
                           f"{k + 2}-D (N, C, {_AXES[k]}) batched input, but got shape "
                           f"{x.shape}")
    unbatched = x.ndim == k + 1
    if 0 in (x.shape if unbatched else x.shape[1:]):  # (a batch of 0 is fine)
        raise RuntimeError(f"{where}: the input of shape {x.shape} is empty")
    return (x.unsqueeze(0), True) if unbatched else (x, False)


def _given(x: Tensor, unbatched: bool) -> tuple[int, ...]:
    """The shape the caller passed."""
    return x.shape[1:] if unbatched else x.shape


def _to_channels(out: Tensor, k: int, unbatched: bool) -> Tensor:
    """(N, *O, C) -> (N, C, *O), or (C, *O) for an unbatched input."""
    out = out.permute(0, k + 1, *range(1, k + 1))
    return out.squeeze(0) if unbatched else out


# --- convolution ---------------------------------------------------------------------------


def _same_padding(kernel: tuple[int, ...], dilation: tuple[int, ...]) -> tuple:
    """padding='same': d*(k-1) in all per axis, the odd one after (as PyTorch)."""
    total = [d * (j - 1) for j, d in zip(kernel, dilation)]
    return tuple((t // 2, t - t // 2) for t in total)


def _conv(input: Any, weight: Any, bias: Any, stride: Size, padding: Any, dilation: Size,
          groups: int, k: int) -> Tensor:
    where = f"conv{k}d"
    x, unbatched = _batched(input, k, where)
    weight = as_tensor(weight)
    if weight.ndim != k + 2:
        raise RuntimeError(f"{where}: the weight must be {k + 2}-D (out_channels, "
                           f"in_channels/groups, {', '.join('k' * k)}), got shape "
                           f"{weight.shape}")
    if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or groups < 1:
        raise RuntimeError(f"{where}: groups must be a positive int, got {groups!r}")
    out_channels, group_channels, *kernel = weight.shape
    kernel = tuple(kernel)
    n, channels, *sizes = x.shape
    if out_channels % groups:
        raise RuntimeError(f"{where}: with groups={groups} the weight's out_channels must be "
                           f"divisible by {groups}, got weight of shape {weight.shape}")
    if channels != group_channels * groups:
        raise RuntimeError(f"{where}: the weight of shape {weight.shape} with groups={groups} "
                           f"expects {group_channels * groups} input channels, but the input "
                           f"of shape {_given(x, unbatched)} has {channels} (dim 1 of (N, C, "
                           f"{_AXES[k]})); check in_channels")
    if bias is not None:
        bias = as_tensor(bias)
        if bias.shape != (out_channels,):
            raise RuntimeError(f"{where}: the bias must have shape ({out_channels},), one "
                               f"value per output channel of the weight {weight.shape}, got "
                               f"{bias.shape}")
    stride = _tuple(stride, k, "stride", where, 1)
    dilation = _tuple(dilation, k, "dilation", where, 1)
    if isinstance(padding, str):
        if padding not in ("same", "valid"):
            raise RuntimeError(f"{where}: invalid padding string {padding!r}: use 'same', "
                               "'valid' or numbers")
        if padding == "same" and stride != (1,) * k:
            raise RuntimeError(f"{where}: padding='same' is not supported for strided "
                               f"convolutions (stride={stride}); give the padding as numbers")
        pairs = _same_padding(kernel, dilation) if padding == "same" else ((0, 0),) * k
    else:
        pairs = tuple((p, p) for p in _tuple(padding, k, "padding", where, 0))
    for m, j, (lo, hi), d in zip(sizes, kernel, pairs, dilation):
        if m + lo + hi < d * (j - 1) + 1:
            raise RuntimeError(f"{where}: the input of shape {_given(x, unbatched)} padded by "
                               f"{padding!r} is smaller than the kernel {kernel} with "
                               f"dilation {dilation}; use a smaller kernel or more padding")

    windows = x.sliding_windows(kernel, stride, pairs, dilation)  # (N, *O, C, *K)
    counts = windows.shape[1:1 + k]
    rows, patch = n * math.prod(counts), group_channels * math.prod(kernel)
    if groups == 1:  # one matrix product: (N*L, C*K) @ (C*K, F)
        out = windows.reshape(rows, patch) @ weight.reshape(out_channels, patch).T
    else:  # one product per group g: channels g*C/G .. and filters g*F/G ..
        per_group = windows.reshape(rows, groups, patch).permute(1, 0, 2)
        filters = weight.reshape(groups, out_channels // groups, patch)
        out = (per_group @ filters.mT).permute(1, 0, 2).reshape(rows, out_channels)
    if bias is not None:
        out = out + bias
    return _to_channels(out.reshape(n, *counts, out_channels), k, unbatched)


def conv1d(input: Any, weight: Any, bias: Any = None, stride: Size = 1, padding: Any = 0,
           dilation: Size = 1, groups: int = 1) -> Tensor:
    """1-D convolution (cross-correlation, as PyTorch): input (N, C, L), weight
    (F, C/groups, K), bias (F,) -> (N, F, L_out). padding: a number, 'valid' (0) or
    'same' (the output as long as the input; stride 1 only)."""
    return _conv(input, weight, bias, stride, padding, dilation, groups, 1)


def conv2d(input: Any, weight: Any, bias: Any = None, stride: Size = 1, padding: Any = 0,
           dilation: Size = 1, groups: int = 1) -> Tensor:
    """2-D convolution (cross-correlation, as PyTorch): input (N, C, H, W), weight
    (F, C/groups, KH, KW), bias (F,) -> (N, F, H_out, W_out), where
    H_out = (H + 2*padding - dilation*(KH - 1) - 1) // stride + 1.
    padding: a number or a pair, 'valid' (0) or 'same' (stride 1 only)."""
    return _conv(input, weight, bias, stride, padding, dilation, groups, 2)


# --- pooling ---------------------------------------------------------------------------------


def _pool_geometry(sizes: Sequence[int], kernel_size: Size, stride: Size | None, padding: Size,
                   dilation: Size, ceil_mode: bool, k: int, where: str) -> tuple:
    """(kernel, stride, padding, dilation, output sizes, padding pairs) as PyTorch's
    pooling: with ceil_mode the last window may run past the end (by extra padding after
    it) but must start inside the input or its padding before."""
    kernel = _tuple(kernel_size, k, "kernel_size", where, 1)
    stride = kernel if stride is None or stride == [] else _tuple(stride, k, "stride", where, 1)
    padding = _tuple(padding, k, "padding", where, 0)
    dilation = _tuple(dilation, k, "dilation", where, 1)
    counts, pairs = [], []
    for m, j, s, p, d in zip(sizes, kernel, stride, padding, dilation):
        if p > j // 2:
            raise RuntimeError(f"{where}: padding should be at most half of kernel_size, but "
                               f"got padding={padding} and kernel_size={kernel}")
        span = d * (j - 1) + 1  # the elements a window covers
        room = m + 2 * p - span
        count = (-(-room // s) if ceil_mode else room // s) + 1
        if ceil_mode and (count - 1) * s >= m + p:
            count -= 1  # a window starting past the input and its padding is dropped
        if count < 1:
            raise RuntimeError(f"{where}: an input of size {tuple(sizes)} is too small for "
                               f"kernel_size={kernel} with padding={padding} and "
                               f"dilation={dilation}: the output would be empty")
        counts.append(count)
        pairs.append((p, p + max(0, (count - 1) * s + span - (m + 2 * p))))
    return kernel, stride, padding, dilation, tuple(counts), tuple(pairs)


def _max_pool(input: Any, kernel_size: Size, stride: Size | None, padding: Size,
              dilation: Size, ceil_mode: bool, return_indices: bool, k: int) -> Any:
    where = f"max_pool{k}d"
    x, unbatched = _batched(input, k, where)
    n, channels, *sizes = x.shape
    kernel, stride, padding, dilation, counts, pairs = _pool_geometry(
        sizes, kernel_size, stride, padding, dilation, ceil_mode, k, where)
    low = -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min  # padding never wins
    windows = x.sliding_windows(kernel, stride, pairs, dilation, pad_value=low)
    # the largest of each window; its gradient goes to that element (the first, if tied)
    values, taps = windows.reshape(n, *counts, channels, math.prod(kernel)).max(dim=-1)
    out = _to_channels(values, k, unbatched)
    if not return_indices:
        return out
    # where each maximum sits in its channel's input, flattened (as PyTorch)
    offsets = np.unravel_index(taps.numpy(), kernel)
    flat = np.zeros(taps.shape, dtype=np.int64)
    for axis in range(k):
        start = np.arange(counts[axis]) * stride[axis] - padding[axis]
        place = start.reshape((1,) * (axis + 1) + (-1,) + (1,) * (k - axis)) + \
            offsets[axis] * dilation[axis]
        flat = flat * sizes[axis] + place
    return out, _to_channels(tensor(flat), k, unbatched)


def max_pool1d(input: Any, kernel_size: Size, stride: Size | None = None, padding: Size = 0,
               dilation: Size = 1, ceil_mode: bool = False, return_indices: bool = False) -> Any:
    """The largest value of each window along L: input (N, C, L) -> (N, C, L_out). The
    gradient goes to the element that was the maximum (the first one, if tied). stride
    defaults to kernel_size; return_indices also gives where each maximum was."""
    return _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, 1)


def max_pool2d(input: Any, kernel_size: Size, stride: Size | None = None, padding: Size = 0,
               dilation: Size = 1, ceil_mode: bool = False, return_indices: bool = False) -> Any:
    """The largest value of each KH x KW window: input (N, C, H, W) -> (N, C, H_out, W_out).
    The gradient goes to the element that was the maximum (the first one, if tied), as
    PyTorch. stride defaults to kernel_size; padding (at most half the kernel) never wins;
    return_indices also gives each maximum's position in its H*W plane."""
    return _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, 2)


def _window_taps(sizes, kernel, stride, padding, counts, count_include_pad) -> np.ndarray:
    """How many taps avg pooling divides each window's sum by, as PyTorch: the window
    clipped to the padded input (count_include_pad) or to the input itself."""
    divisor = np.ones(counts)
    for axis, (m, j, s, p, c) in enumerate(zip(sizes, kernel, stride, padding, counts)):
        start = np.arange(c) * s - p
        if count_include_pad:
            taps = np.minimum(start + j, m + p) - start
        else:
            taps = np.minimum(start + j, m) - np.maximum(start, 0)
        divisor = divisor * taps.reshape((-1,) + (1,) * (len(counts) - axis - 1))
    return divisor


def _avg_pool(input: Any, kernel_size: Size, stride: Size | None, padding: Size,
              ceil_mode: bool, count_include_pad: bool, divisor_override: int | None,
              k: int) -> Tensor:
    where = f"avg_pool{k}d"
    x, unbatched = _batched(input, k, where)
    n, channels, *sizes = x.shape
    kernel, stride, padding, _, counts, pairs = _pool_geometry(
        sizes, kernel_size, stride, padding, 1, ceil_mode, k, where)
    windows = x.sliding_windows(kernel, stride, pairs)  # zeros in the padding
    sums = windows.sum(tuple(range(k + 2, 2 * k + 2)))  # (N, *O, C)
    if divisor_override is not None:
        if isinstance(divisor_override, bool) or not isinstance(divisor_override,
                                                                (int, np.integer)) \
                or divisor_override == 0:
            raise RuntimeError(f"{where}: divisor_override must be a nonzero int, got "
                               f"{divisor_override!r}")
        out = sums / float(divisor_override)
    else:
        divisor = _window_taps(sizes, kernel, stride, padding, counts, count_include_pad)
        if (divisor == divisor.flat[0]).all():  # every window counts as many taps
            out = sums / float(divisor.flat[0])
        else:
            out = sums / tensor(divisor.reshape(*counts, 1).astype(sums.dtype))
    return _to_channels(out, k, unbatched)


def avg_pool1d(input: Any, kernel_size: Size, stride: Size | None = None, padding: Size = 0,
               ceil_mode: bool = False, count_include_pad: bool = True) -> Tensor:
    """The mean of each window along L: input (N, C, L) -> (N, C, L_out); stride defaults
    to kernel_size; count_include_pad: the zero padding counts in the mean."""
    return _avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad, None, 1)


def avg_pool2d(input: Any, kernel_size: Size, stride: Size | None = None, padding: Size = 0,
               ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override: int | None = None) -> Tensor:
    """The mean of each KH x KW window: input (N, C, H, W) -> (N, C, H_out, W_out); stride
    defaults to kernel_size; count_include_pad: the zero padding counts in the mean;
    divisor_override: divide every window's sum by this number instead."""
    return _avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override, 2)


# --- the windows themselves, as PyTorch lays them out ------------------------------------------


def unfold(input: Any, kernel_size: Size, dilation: Size = 1, padding: Size = 0,
           stride: Size = 1) -> Tensor:
    """PyTorch's im2col: the KH x KW patches of input (N, C, H, W) as columns,
    (N, C*KH*KW, L) with L the number of window positions (row by row)."""
    x, unbatched = _batched(input, 2, "unfold")
    windows = x.sliding_windows(_tuple(kernel_size, 2, "kernel_size", "unfold", 1),
                                _tuple(stride, 2, "stride", "unfold", 1),
                                _tuple(padding, 2, "padding", "unfold", 0),
                                _tuple(dilation, 2, "dilation", "unfold", 1))
    n, oh, ow, *patch = windows.shape
    out = windows.reshape(n, oh * ow, math.prod(patch)).permute(0, 2, 1)
    return out.squeeze(0) if unbatched else out


def fold(input: Any, output_size: Size, kernel_size: Size, dilation: Size = 1,
         padding: Size = 0, stride: Size = 1) -> Tensor:
    """PyTorch's col2im, the reverse of ``unfold``: columns (N, C*KH*KW, L) summed back
    into an image (N, C, *output_size); where patches overlap their values add up."""
    x = as_tensor(input)
    given = x.shape
    unbatched = x.ndim == 2
    if unbatched:
        x = x.unsqueeze(0)
    kernel = _tuple(kernel_size, 2, "kernel_size", "fold", 1)
    size = _tuple(output_size, 2, "output_size", "fold", 1)
    stride = _tuple(stride, 2, "stride", "fold", 1)
    padding = _tuple(padding, 2, "padding", "fold", 0)
    dilation = _tuple(dilation, 2, "dilation", "fold", 1)
    counts = tuple((m + 2 * p - d * (j - 1) - 1) // s + 1
                   for m, j, s, p, d in zip(size, kernel, stride, padding, dilation))
    patch = math.prod(kernel)
    if x.ndim != 3 or x.shape[1] % patch or x.shape[2] != math.prod(counts) or min(counts) < 1:
        raise RuntimeError(f"fold: expected columns (N, C*{kernel[0]}*{kernel[1]}, "
                           f"{math.prod(counts)}) for output_size {size}, kernel_size "
                           f"{kernel}, stride {stride}, padding {padding} and dilation "
                           f"{dilation}, got shape {given}")
    n, rows, _ = x.shape
    channels = rows // patch
    windows = x.permute(0, 2, 1).reshape(n, *counts, channels, *kernel)
    out = windows.fold_windows((n, channels, *size), stride, padding, dilation)
    return out.squeeze(0) if unbatched else out


__all__ = ["avg_pool1d", "avg_pool2d", "conv1d", "conv2d", "fold", "max_pool1d",
           "max_pool2d", "unfold"]
