"""Filling weight tensors with starting values, as ``torch.nn.init``.

Every function fills its tensor in place (under ``no_grad``, so it works on parameters
that require grad) and returns it. Random values come from the global generator, so
``tinygrad_edu.manual_seed(s)`` makes them repeatable, or from ``generator=`` (a
``tinygrad_edu.Generator``) when one is given.

Why the scales: a layer computes ``y_i = sum_j w_ij x_j`` over ``fan_in`` inputs. With
independent zero-mean weights of variance ``s^2`` and inputs of variance ``v``,

    Var(y_i) = fan_in * s^2 * v

so ``s = gain / sqrt(fan_in)`` keeps the signal's size from layer to layer (Kaiming/He),
the ``gain`` making up for what the nonlinearity removes (ReLU zeroes half of its inputs:
gain sqrt(2)). Xavier/Glorot compromises between the forward pass (fan_in) and the
backward pass (fan_out): ``s = gain * sqrt(2 / (fan_in + fan_out))``. A uniform
distribution on ``[-bound, bound]`` has variance ``bound^2 / 3``, so ``bound = sqrt(3) * s``.
"""

from __future__ import annotations

import math

import numpy as np

from ..creation import Generator, numpy_rng
from ..grad_mode import no_grad
from ..tensor import Tensor


def _fill(tensor: Tensor, values: np.ndarray | float, where: str) -> Tensor:
    """Write ``values`` into ``tensor``'s memory (no graph is recorded)."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{where}: expected a Tensor, got {type(tensor).__name__}")
    with no_grad():
        tensor[...] = values
    return tensor


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The factor by which a nonlinearity's output scale must be boosted."""
    if nonlinearity in ("linear", "identity", "sigmoid", "conv1d", "conv2d", "conv3d"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3.0
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        # a leaky ReLU with slope a keeps (1 + a^2)/2 of the variance
        slope = 0.01 if param is None else float(param)
        return math.sqrt(2.0 / (1.0 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4.0
    raise ValueError(f"calculate_gain: unknown nonlinearity {nonlinearity!r}; use one of "
                     "linear, sigmoid, tanh, relu, leaky_relu, selu")


def fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    """(inputs, outputs) of each unit of a weight shaped (out, in, *kernel):
    fan_in = in * kernel size, fan_out = out * kernel size."""
    if tensor.ndim < 2:
        raise ValueError(f"fan in and fan out need a tensor with at least 2 dimensions "
                         f"(out_features, in_features, ...), got shape {tensor.shape}")
    receptive = math.prod(tensor.shape[2:])
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def _fan(tensor: Tensor, mode: str) -> int:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = fan_in_and_fan_out(tensor)
    fan = fan_in if mode == "fan_in" else fan_out
    if fan == 0:
        raise ValueError(f"cannot initialise a tensor of shape {tensor.shape}: {mode} is 0")
    return fan


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0,
             generator: Generator | None = None) -> Tensor:
    """Values drawn uniformly from [a, b)."""
    rng = numpy_rng(generator, "uniform_")
    return _fill(tensor, rng.uniform(a, b, tensor.shape), "uniform_")


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0,
            generator: Generator | None = None) -> Tensor:
    """Values drawn from a normal distribution N(mean, std^2)."""
    rng = numpy_rng(generator, "normal_")
    return _fill(tensor, rng.normal(mean, std, tensor.shape), "normal_")


def constant_(tensor: Tensor, val: float) -> Tensor:
    return _fill(tensor, float(val), "constant_")


def zeros_(tensor: Tensor) -> Tensor:
    return _fill(tensor, 0.0, "zeros_")


def ones_(tensor: Tensor) -> Tensor:
    return _fill(tensor, 1.0, "ones_")


def kaiming_uniform_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu",
                     generator: Generator | None = None) -> Tensor:
    """U(-bound, bound) with bound = gain * sqrt(3 / fan) (He et al., 2015).

    ``a`` is the negative slope of a leaky ReLU. Linear layers use a = sqrt(5):
    gain = sqrt(2 / (1 + 5)) = sqrt(1/3), hence bound = 1 / sqrt(fan_in).
    """
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode))
    return uniform_(tensor, -math.sqrt(3.0) * std, math.sqrt(3.0) * std, generator)


def kaiming_normal_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu",
                    generator: Generator | None = None) -> Tensor:
    """N(0, std^2) with std = gain / sqrt(fan)."""
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode))
    return normal_(tensor, 0.0, std, generator)


def xavier_uniform_(tensor: Tensor, gain: float = 1.0,
                    generator: Generator | None = None) -> Tensor:
    """U(-bound, bound) with bound = gain * sqrt(6 / (fan_in + fan_out)) (Glorot, 2010)."""
    fan_in, fan_out = fan_in_and_fan_out(tensor)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound, generator)


def xavier_normal_(tensor: Tensor, gain: float = 1.0,
                   generator: Generator | None = None) -> Tensor:
    """N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), generator)
