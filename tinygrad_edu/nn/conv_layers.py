"""Convolution and pooling layers, as ``torch.nn.Conv2d``, ``torch.nn.MaxPool2d`` ...:
each holds its settings (and a convolution its weight and bias) and calls its function
from ``conv.py``.

(The functions live in ``conv.py`` and the layers here because ``functional.py``
imports the functions while the package is still being set up, before ``Module``
exists.)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._validate import ints_per_axis, positive_int
from ..convert import get_default_dtype
from ..functions import as_tensor
from ..tensor import Tensor
from . import Module, Parameter, init
from .conv import (
    Size,
    _same_padding,
    avg_pool1d,
    avg_pool2d,
    conv1d,
    conv2d,
    max_pool1d,
    max_pool2d,
)

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")
_NUMPY_MODES = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


class _ConvNd(Module):
    """What Conv1d and Conv2d share: the settings, the weight, the initialisation."""

    _dims = 0

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Size,
                 stride: Size = 1, padding: Any = 0, dilation: Size = 1, groups: int = 1,
                 bias: bool = True, padding_mode: str = "zeros", dtype: Any = None) -> None:
        super().__init__()
        where, k = type(self).__name__, self._dims
        in_channels = positive_int(in_channels, "in_channels", where)
        out_channels = positive_int(out_channels, "out_channels", where)
        groups = positive_int(groups, "groups", where)
        if in_channels % groups:
            raise ValueError(f"{where}: in_channels must be divisible by groups, got "
                             f"in_channels={in_channels} and groups={groups}")
        if out_channels % groups:
            raise ValueError(f"{where}: out_channels must be divisible by groups, got "
                             f"out_channels={out_channels} and groups={groups}")
        if padding_mode not in PADDING_MODES:
            raise ValueError(f"{where}: padding_mode must be one of {PADDING_MODES}, but got "
                             f"padding_mode={padding_mode!r}")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = ints_per_axis(kernel_size, k, "kernel_size", where, 1)
        self.stride = ints_per_axis(stride, k, "stride", where, 1)
        self.dilation = ints_per_axis(dilation, k, "dilation", where, 1)
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"{where}: invalid padding string {padding!r}, should be "
                                 "one of 'valid', 'same'")
            if padding == "same" and self.stride != (1,) * k:
                raise ValueError(f"{where}: padding='same' is not supported for strided "
                                 f"convolutions (stride={self.stride})")
            self.padding = padding
        else:
            self.padding = ints_per_axis(padding, k, "padding", where, 0)
        self.groups = groups
        self.padding_mode = padding_mode
        dtype = get_default_dtype() if dtype is None else dtype
        shape = (self.out_channels, self.in_channels // self.groups, *self.kernel_size)
        self.weight = Parameter(np.zeros(shape, dtype=dtype))
        self.bias = Parameter(np.zeros(self.out_channels, dtype=dtype)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # as PyTorch (and Linear): bound = 1/sqrt(fan_in), fan_in = in/groups * kernel taps
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.weight.shape[1] * math.prod(self.kernel_size)
            bound = 1.0 / math.sqrt(fan_in)
            init.uniform_(self.bias, -bound, bound)

    def _padded(self, x: Tensor) -> Tensor:
        """x padded by reflection, repetition of the edge or wrapping around (the
        padding modes other than 'zeros'), by indexing each spatial axis."""
        x = as_tensor(x)
        k = self._dims
        if self.padding == "valid" or x.ndim < k:
            return x
        if self.padding == "same":
            pairs = _same_padding(self.kernel_size, self.dilation)
        else:
            pairs = [(p, p) for p in self.padding]
        for axis, (lo, hi) in zip(range(x.ndim - k, x.ndim), pairs):
            size = x.shape[axis]
            limit = {"reflect": size - 1, "circular": size}.get(self.padding_mode, math.inf)
            if max(lo, hi) > limit:
                raise RuntimeError(f"{type(self).__name__}: padding {(lo, hi)} is too large "
                                   f"for padding_mode={self.padding_mode!r} on an axis of size "
                                   f"{size} (input shape {x.shape}): at most {limit}")
            source = np.pad(np.arange(size), (lo, hi), mode=_NUMPY_MODES[self.padding_mode])
            x = x.index_select(axis, source)
        return x

    def _conv(self, x: Tensor, function: Any) -> Tensor:
        if self.padding_mode == "zeros":
            return function(x, self.weight, self.bias, self.stride, self.padding,
                            self.dilation, self.groups)
        return function(self._padded(x), self.weight, self.bias, self.stride, 0,
                        self.dilation, self.groups)

    def extra_repr(self) -> str:
        k = self._dims
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding != (0,) * k:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * k:
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class Conv1d(_ConvNd):
    """A 1-D convolution layer: (N, C_in, L) -> (N, C_out, L_out), weight
    (C_out, C_in/groups, K), bias (C_out,); initialised as PyTorch (see Linear)."""

    _dims = 1

    def forward(self, x: Tensor) -> Tensor:
        return self._conv(x, conv1d)


class Conv2d(_ConvNd):
    """A 2-D convolution layer: (N, C_in, H, W) -> (N, C_out, H_out, W_out), weight
    (C_out, C_in/groups, KH, KW), bias (C_out,); initialised as PyTorch: weight by
    kaiming_uniform_(a=sqrt(5)), bias uniform, both within 1/sqrt(fan_in),
    fan_in = C_in/groups * KH * KW."""

    _dims = 2

    def forward(self, x: Tensor) -> Tensor:
        return self._conv(x, conv2d)


class _MaxPoolNd(Module):
    def __init__(self, kernel_size: Size, stride: Size | None = None, padding: Size = 0,
                 dilation: Size = 1, return_indices: bool = False,
                 ceil_mode: bool = False) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class MaxPool1d(_MaxPoolNd):
    """The largest value of each window along L (see functional.max_pool1d)."""

    def forward(self, x: Tensor) -> Any:
        return max_pool1d(x, self.kernel_size, self.stride, self.padding, self.dilation,
                          self.ceil_mode, self.return_indices)


class MaxPool2d(_MaxPoolNd):
    """The largest value of each KH x KW window (see functional.max_pool2d)."""

    def forward(self, x: Tensor) -> Any:
        return max_pool2d(x, self.kernel_size, self.stride, self.padding, self.dilation,
                          self.ceil_mode, self.return_indices)


class AvgPool1d(Module):
    """The mean of each window along L (see functional.avg_pool1d)."""

    def __init__(self, kernel_size: Size, stride: Size | None = None, padding: Size = 0,
                 ceil_mode: bool = False, count_include_pad: bool = True) -> None:
        super().__init__()
        # as PyTorch, AvgPool1d keeps its sizes as 1-tuples
        self.kernel_size = ints_per_axis(kernel_size, 1, "kernel_size", "AvgPool1d", 1)
        self.stride = self.kernel_size if stride is None else ints_per_axis(stride, 1, "stride",
                                                                     "AvgPool1d", 1)
        self.padding = ints_per_axis(padding, 1, "padding", "AvgPool1d", 0)
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad

    def forward(self, x: Tensor) -> Tensor:
        return avg_pool1d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                          self.count_include_pad)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool2d(Module):
    """The mean of each KH x KW window (see functional.avg_pool2d)."""

    def __init__(self, kernel_size: Size, stride: Size | None = None, padding: Size = 0,
                 ceil_mode: bool = False, count_include_pad: bool = True,
                 divisor_override: int | None = None) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override

    def forward(self, x: Tensor) -> Tensor:
        return avg_pool2d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                          self.count_include_pad, self.divisor_override)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


__all__ = ["AvgPool1d", "AvgPool2d", "Conv1d", "Conv2d", "MaxPool1d", "MaxPool2d"]
