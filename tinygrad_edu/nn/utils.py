"""Helpers on the parameters of a model, as ``torch.nn.utils``: gradient clipping and
the parameters as one flat vector.

``clip_grad_norm_(model.parameters(), max_norm)`` goes between ``loss.backward()``
and ``optimizer.step()``: it computes the norm of all the gradients together, as if
they were one long vector, and when that norm is above ``max_norm`` scales every
gradient down by the same factor, max_norm / (norm + 1e-6), so the step keeps its
direction but not its length. ``clip_grad_value_`` clamps each element instead.
"""

from __future__ import annotations

import math
import numbers
import types
import warnings
from collections.abc import Iterable
from typing import Any

from ..functions import cat, stack, tensor
from ..grad_mode import no_grad
from ..tensor import Tensor


def _tensors(parameters: Tensor | Iterable[Tensor], where: str) -> list[Tensor]:
    """A list of the parameters: one Tensor, or an iterable of them."""
    if isinstance(parameters, Tensor):
        return [parameters]
    if isinstance(parameters, types.GeneratorType):
        items = list(parameters)
        if not items:
            warnings.warn(f"{where}: `parameters` is an empty generator, no gradient "
                          "clipping will occur (was it used up already?)", UserWarning,
                          stacklevel=3)
    else:
        try:
            items = list(parameters)
        except TypeError:
            raise TypeError(f"{where}: parameters must be a Tensor or an iterable of "
                            f"Tensors (e.g. model.parameters()), got "
                            f"{type(parameters).__name__}") from None
    for k, p in enumerate(items):
        if not isinstance(p, Tensor):
            raise TypeError(f"{where}: parameter {k} is a {type(p).__name__}, not a Tensor")
    return items


def _number(value: Any, name: str, where: str) -> float:
    if isinstance(value, str):
        try:
            return float(value)  # PyTorch's norm_type='inf'
        except ValueError:
            pass
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{where}: {name} must be a number, got {value!r}")
    return float(value)


def get_total_norm(tensors: Tensor | Iterable[Tensor], norm_type: float = 2.0,
                   error_if_nonfinite: bool = False) -> Tensor:
    """The ``norm_type``-norm of all ``tensors`` together, as if they were one vector
    (computed as the norm of their norms): a 0-d tensor, 0 when there are none.
    ``norm_type`` is a number > 0 or ``inf`` (the largest absolute value)."""
    where = "get_total_norm"
    tensors = _tensors(tensors, where)
    p = _number(norm_type, "norm_type", where)
    if not p > 0:
        raise ValueError(f"{where}: norm_type must be > 0 or inf, got {norm_type!r}")
    if not tensors:
        return tensor(0.0)
    with no_grad():
        total = stack([t.norm(p) for t in tensors]).norm(p)
    if error_if_nonfinite and not math.isfinite(total.item()):
        raise RuntimeError(f"The total norm of order {p} for gradients from `parameters` "
                           "is non-finite, so it cannot be clipped. To disable this error "
                           "and scale the gradients by the non-finite norm anyway, set "
                           "`error_if_nonfinite=False`")
    return total


def clip_grads_with_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float,
                          total_norm: Tensor | float) -> None:
    """Scale the gradients in place by min(1, max_norm / (total_norm + 1e-6))."""
    where = "clip_grads_with_norm_"
    grads = [p.grad for p in _tensors(parameters, where) if p.grad is not None]
    max_norm = _number(max_norm, "max_norm", where)
    if not grads:
        return
    coefficient = max_norm / (float(total_norm) + 1e-6)
    if coefficient > 1.0:  # (a NaN norm stays NaN, as in PyTorch)
        coefficient = 1.0
    with no_grad():
        for g in grads:
            g.mul_(coefficient)


def clip_grad_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float,
                    norm_type: float = 2.0, error_if_nonfinite: bool = False) -> Tensor:
    """Scale all gradients together so that their total norm is at most ``max_norm``
    (in place); returns the total norm before clipping, a 0-d tensor. A non-finite norm
    raises RuntimeError with ``error_if_nonfinite=True``; otherwise the gradients are
    scaled by it anyway (inf gives zeros, NaN gives NaN), as PyTorch."""
    parameters = _tensors(parameters, "clip_grad_norm_")
    grads = [p.grad for p in parameters if p.grad is not None]
    total = get_total_norm(grads, norm_type, error_if_nonfinite)
    clip_grads_with_norm_(parameters, max_norm, total)
    return total


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float) -> None:
    """Clamp every gradient element into [-clip_value, clip_value], in place."""
    where = "clip_grad_value_"
    parameters = _tensors(parameters, where)
    clip_value = _number(clip_value, "clip_value", where)
    with no_grad():
        for p in parameters:
            if p.grad is not None:
                p.grad.clamp_(min=-clip_value, max=clip_value)


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """All parameters flattened and joined into one 1-D tensor (a new tensor that
    gradients flow back through)."""
    tensors = _tensors(parameters, "parameters_to_vector")
    if not tensors:
        raise RuntimeError("parameters_to_vector: got no parameters (an empty list)")
    return cat([p.reshape(-1) for p in tensors])


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Copy consecutive slices of the 1-D ``vec`` into the parameters (their values
    only, as ``p.data = ...``: autograd does not see it); the reverse of
    ``parameters_to_vector``."""
    where = "vector_to_parameters"
    if not isinstance(vec, Tensor):
        raise TypeError(f"{where}: expected a Tensor, but got: {type(vec).__name__}")
    tensors = _tensors(parameters, where)
    needed = sum(p.numel() for p in tensors)
    if vec.ndim != 1 or vec.numel() != needed:
        raise RuntimeError(f"{where}: vec must be 1-D with one element per parameter "
                           f"element: the parameters have {needed} elements, vec has shape "
                           f"{vec.shape}")
    start = 0
    for p in tensors:
        n = p.numel()
        p.data = vec.array[start:start + n].reshape(p.shape).astype(p.dtype)
        start += n


__all__ = [
    "clip_grad_norm_", "clip_grad_value_", "clip_grads_with_norm_", "get_total_norm",
    "parameters_to_vector", "vector_to_parameters",
]
