"""Normalisation layers: BatchNorm1d, BatchNorm2d and LayerNorm.

Batch norm normalises each channel with the batch's statistics while training and
keeps running averages of them (buffers, saved in ``state_dict``) for eval mode:

    running_mean = (1 - momentum) * running_mean + momentum * batch mean
    running_var  = (1 - momentum) * running_var  + momentum * unbiased batch variance

``momentum=None`` makes that a cumulative average, momentum = 1 / (batches seen).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .._validate import positive_int
from ..functions import tensor
from ..tensor import Tensor
from . import functional as F
from . import init
from .layers import float_dtype
from .module import Module, Parameter


class _BatchNorm(Module):
    """What BatchNorm1d and BatchNorm2d share; they differ in the input they accept."""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, device: Any = None,
                 dtype: Any = None, *, bias: bool = True) -> None:
        super().__init__()
        where = type(self).__name__
        self.num_features = positive_int(num_features, "num_features", where)
        self.eps, self.momentum = eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        dtype = float_dtype(dtype, device, where)
        self.weight = Parameter(np.ones(num_features, dtype=dtype)) if affine else None
        self.bias = Parameter(np.zeros(num_features, dtype=dtype)) if affine and bias else None
        if track_running_stats:
            self.register_buffer("running_mean", tensor(np.zeros(num_features, dtype=dtype)))
            self.register_buffer("running_var", tensor(np.ones(num_features, dtype=dtype)))
            self.register_buffer("num_batches_tracked", tensor(0))  # int64, as PyTorch
        else:
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                self.register_buffer(name, None)

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            init.zeros_(self.running_mean)
            init.ones_(self.running_var)
            init.zeros_(self.num_batches_tracked)

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def _check_input(self, input: Tensor) -> None:
        raise NotImplementedError

    def forward(self, input: Tensor) -> Tensor:
        self._check_input(input)
        momentum = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked.add_(1)
            if self.momentum is None:  # the cumulative average of all batches so far
                momentum = 1.0 / float(self.num_batches_tracked)
        # the batch's statistics while training, and in eval mode without running ones
        use_batch = self.training or (self.running_mean is None and self.running_var is None)
        update = not self.training or self.track_running_stats
        return F._batch_norm(input, self.running_mean if update else None,
                             self.running_var if update else None, self.weight, self.bias,
                             use_batch, momentum, self.eps, type(self).__name__)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self.bias is not None}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch norm of (N, C) or (N, C, L) input: statistics per channel C over N (and L).
    Weight 1 and bias 0 to start; running mean 0 and variance 1."""

    def _check_input(self, input: Tensor) -> None:
        if input.ndim not in (2, 3):
            raise ValueError(f"BatchNorm1d: expected 2D or 3D input (N, C) or (N, C, L), got "
                             f"{input.ndim}D input of shape {input.shape}")


class BatchNorm2d(_BatchNorm):
    """Batch norm of images (N, C, H, W): statistics per channel over N, H and W."""

    def _check_input(self, input: Tensor) -> None:
        if input.ndim != 4:
            raise ValueError(f"BatchNorm2d: expected 4D input (N, C, H, W), got "
                             f"{input.ndim}D input of shape {input.shape}")


class LayerNorm(Module):
    """Normalises each sample over its last dimensions (those of normalized_shape), then
    scales by weight (1 to start) and shifts by bias (0): the same in training and eval."""

    def __init__(self, normalized_shape: int | Sequence[int], eps: float = 1e-5,
                 elementwise_affine: bool = True, bias: bool = True, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__()
        if isinstance(normalized_shape, (int, np.integer)):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(int(n) for n in normalized_shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        dtype = float_dtype(dtype, device, "LayerNorm")
        shape = self.normalized_shape
        self.weight = Parameter(np.ones(shape, dtype=dtype)) if elementwise_affine else None
        self.bias = Parameter(np.zeros(shape, dtype=dtype)) \
            if elementwise_affine and bias else None

    def reset_parameters(self) -> None:
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def forward(self, input: Tensor) -> Tensor:
        return F._layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps,
                             "LayerNorm")

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}")
