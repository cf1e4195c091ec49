"""Layers and losses as plain functions, as ``torch.nn.functional`` (import it as ``F``).

Each is a composition of Tensor operations, so none needs a backward rule of its own:
autograd differentiates the formula written here. Losses take ``reduction=``:
``'mean'`` (the default) averages over the elements (over the samples for
cross_entropy), ``'sum'`` adds them up, ``'none'`` returns one loss per element.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..functions import as_tensor, maximum
from ..tensor import Tensor

# --- activations and layers -----------------------------------------------------------


def relu(input: Tensor) -> Tensor:
    """max(x, 0)."""
    return as_tensor(input).relu()


def tanh(input: Tensor) -> Tensor:
    return as_tensor(input).tanh()


def sigmoid(input: Tensor) -> Tensor:
    """1 / (1 + exp(-x))."""
    return as_tensor(input).sigmoid()


def softmax(input: Tensor, dim: int = -1) -> Tensor:
    """exp(x_i) / sum_j exp(x_j) along dim."""
    return as_tensor(input).softmax(dim=dim)


def log_softmax(input: Tensor, dim: int = -1) -> Tensor:
    """x_i - log(sum_j exp(x_j)) along dim, without overflow."""
    return as_tensor(input).log_softmax(dim=dim)


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y = x W^T + b, with W shaped (out_features, in_features) as in PyTorch."""
    x = as_tensor(input)
    if x.ndim == 0 or x.shape[-1] != weight.shape[-1]:
        raise ValueError(f"linear: the input has shape {x.shape} but the weight "
                         f"{weight.shape} expects {weight.shape[-1]} features in the last "
                         "dimension")
    out = x @ weight.T
    return out if bias is None else out + bias


# --- losses ---------------------------------------------------------------------------


def _reduce(loss: Tensor, reduction: str, where: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"{where}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _same_shape(input: Tensor, target: Tensor, where: str) -> None:
    # PyTorch broadcasts (with a warning); (N, 1) against (N,) silently builds an N x N
    # loss, a classic bug, so we ask for equal shapes.
    if input.shape != target.shape:
        raise ValueError(f"{where}: input shape {input.shape} and target shape "
                         f"{target.shape} differ; they must be equal (reshape one of them, "
                         "e.g. target.reshape(input.shape))")


def mse_loss(input: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """Mean squared error: (x - y)^2 per element."""
    x, y = as_tensor(input), as_tensor(target)
    _same_shape(x, y, "mse_loss")
    diff = x - y
    return _reduce(diff * diff, reduction, "mse_loss")


def binary_cross_entropy_with_logits(input: Tensor, target: Any,
                                     reduction: str = "mean") -> Tensor:
    """Binary cross-entropy of sigmoid(x) against y in [0, 1], computed from the logit x.

    -[y log s(x) + (1 - y) log(1 - s(x))] simplifies to softplus(x) - x*y, with
    softplus(x) = log(1 + e^x) written so that e^(large) never appears:

        loss = max(x, 0) - x*y + log(1 + exp(-|x|))

    Its derivative is s(x) - y. At x = 0 the pieces have kinks that cancel: maximum()
    gives each side half the gradient at a tie (1/2) and |x|'s derivative there is 0,
    so autograd returns 1/2 - y = s(0) - y, the exact value.
    """
    x, y = as_tensor(input), as_tensor(target)
    _same_shape(x, y, "binary_cross_entropy_with_logits")
    loss = maximum(x, 0.0) - x * y + (1.0 + (-x.abs()).exp()).log()
    return _reduce(loss, reduction, "binary_cross_entropy_with_logits")


def _class_indices(target: Any, logits: Tensor) -> np.ndarray:
    """Check class targets and return them as an integer array.

    Accepted: integers (ndarray, list, Python int) or a Tensor holding whole numbers,
    shaped (N,) for logits (N, C), or a single number for logits (C,), each in [0, C).
    """
    where = "cross_entropy"
    if isinstance(target, Tensor):
        array = target.array
    elif isinstance(target, (list, tuple, int, np.integer, np.ndarray)):
        array = np.asarray(target)
    else:
        raise TypeError(f"{where}: the target must hold class indices (an integer ndarray "
                        f"or a Tensor of whole numbers), got {type(target).__name__}")
    if array.dtype.kind not in "iuf":
        raise TypeError(f"{where}: the target must hold class indices (whole numbers), got "
                        f"values of dtype {array.dtype}")
    if array.dtype.kind == "f":
        whole = np.isfinite(array) & (array == np.round(array))
        if not whole.all():
            raise ValueError(f"{where}: the target must hold class indices (whole numbers); "
                             f"got {array[~whole].ravel()[:5]}. Class probabilities as "
                             "targets are not supported")
        array = array.astype(np.int64)
    expected = logits.shape[:1] if logits.ndim == 2 else ()
    if array.shape != expected:
        raise ValueError(f"{where}: logits of shape {logits.shape} need a target of shape "
                         f"{expected} (one class index per sample), got {array.shape}")
    classes = logits.shape[-1]
    bad = (array < 0) | (array >= classes)
    if bad.any():
        raise IndexError(f"{where}: target class {array[bad].ravel()[:5]} out of range: "
                         f"the logits have {classes} classes, so valid targets are 0 to "
                         f"{classes - 1}")
    return array.astype(np.intp)


def cross_entropy(input: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """Cross-entropy between softmax(logits) and class indices.

    For one sample with logits x and class t:  loss = -log softmax(x)_t
    = log(sum_j e^(x_j)) - x_t, computed with log_softmax so that e^1000 never appears.
    Its gradient is softmax(x) - onehot(t).
    ``input`` is (N, C) (N samples, C classes) or (C,) for one sample.
    """
    logits = as_tensor(input)
    if logits.ndim not in (1, 2):
        raise ValueError(f"cross_entropy: logits must be (N, C) or (C,), got shape "
                         f"{logits.shape}")
    classes = _class_indices(target, logits)
    log_probs = logits.log_softmax(dim=-1)
    if logits.ndim == 1:
        picked = log_probs[int(classes)]
    else:
        picked = log_probs[np.arange(logits.shape[0]), classes]  # log p of each true class
    return _reduce(-picked, reduction, "cross_entropy")

from .conv import avg_pool1d, avg_pool2d, conv1d, conv2d, fold, max_pool1d, max_pool2d, unfold  # noqa: E402, F401
