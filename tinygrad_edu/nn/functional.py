"""Layers and losses as plain functions, as ``torch.nn.functional`` (import it as ``F``).

Each is a composition of Tensor operations, so none needs a backward rule of its own:
autograd differentiates the formula written here. Losses take ``reduction=``:
``'mean'`` (the default) averages over the elements (over the samples for nll_loss and
cross_entropy, weighted when class weights are given), ``'sum'`` adds them up,
``'none'`` returns one loss per element. The layers' modules (``nn.Linear``,
``nn.BatchNorm1d``, ``nn.CrossEntropyLoss`` ...) call these functions.

A function here starts with a check of its arguments, so that a wrong shape or class
gives an error naming the function, the shapes and what to do; the private twins
(``_cross_entropy`` ...) take that name as ``where``, so that a module's errors name the
module the user called.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..creation import numpy_rng
from ..functions import as_tensor, cat, maximum, where
from ..grad_mode import no_grad
from ..tensor import Tensor

# --- activations ----------------------------------------------------------------------


def _result(input: Tensor, out: Tensor, inplace: bool) -> Tensor:
    """``out``, or written into ``input`` and returned (PyTorch's ``inplace=True``)."""
    return input.copy_(out) if inplace else out


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """max(x, 0)."""
    x = as_tensor(input)
    return _result(x, x.relu(), inplace)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """x for x > 0, negative_slope * x otherwise (slope negative_slope at 0, as PyTorch)."""
    x = as_tensor(input)
    return _result(x, where(x.array > 0, x, x * negative_slope), inplace)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x for x > 0, alpha * (exp(x) - 1) otherwise. exp is taken of min(x, 0): an
    overflowing exp of a large x would give a NaN gradient even where it is not used."""
    x = as_tensor(input)
    return _result(x, where(x.array > 0, x, x.clip(max=0.0).expm1() * alpha), inplace)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """x * Phi(x), Phi the standard normal CDF: 0.5 * x * (1 + erf(x / sqrt(2))).
    ``approximate='tanh'``: 0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * x^3)))."""
    x = as_tensor(input)
    if approximate == "none":
        return 0.5 * x * (1.0 + (x * (1.0 / math.sqrt(2.0))).erf())
    if approximate == "tanh":
        inner = (x + 0.044715 * x * x * x) * math.sqrt(2.0 / math.pi)
        return 0.5 * x * (1.0 + inner.tanh())
    raise RuntimeError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """x * sigmoid(x) (also called swish)."""
    x = as_tensor(input)
    return _result(x, x * x.sigmoid(), inplace)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + exp(beta * x)) / beta, and x itself where beta * x > threshold (as
    PyTorch). Computed as max(z, 0) + log1p(exp(-|z|)), z = beta * x, so that exp never
    overflows; at z = 0 the kinks of max and |z| cancel to the exact slope 1/2."""
    x = as_tensor(input)
    z = x * beta
    soft = (maximum(z, 0.0) + (-z.abs()).exp().log1p()) * (1.0 / beta)
    return where(z.array > threshold, x, soft)


def tanh(input: Tensor) -> Tensor:
    return as_tensor(input).tanh()


def sigmoid(input: Tensor) -> Tensor:
    """1 / (1 + exp(-x))."""
    return as_tensor(input).sigmoid()


def _implicit_dim(name: str, ndim: int, stacklevel: int) -> int:
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the "
                  "call to include dim=X as an argument.", UserWarning, stacklevel=stacklevel)
    return 0 if ndim in (0, 1, 3) else 1  # PyTorch's old rule


def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3,
            dtype: Any = None) -> Tensor:
    """exp(x_i) / sum_j exp(x_j) along dim. Without dim PyTorch's old rule picks one
    (0 for 0-, 1- and 3-D input, else 1) and warns, as PyTorch."""
    x = as_tensor(input) if dtype is None else as_tensor(input).to(dtype)
    if dim is None:
        dim = _implicit_dim("softmax", x.ndim, _stacklevel)
    return x.softmax(dim=dim)


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3,
                dtype: Any = None) -> Tensor:
    """x_i - log(sum_j exp(x_j)) along dim, without overflow (dim as in softmax)."""
    x = as_tensor(input) if dtype is None else as_tensor(input).to(dtype)
    if dim is None:
        dim = _implicit_dim("log_softmax", x.ndim, _stacklevel)
    return x.log_softmax(dim=dim)


# --- layers ---------------------------------------------------------------------------


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y = x W^T + b, with W shaped (out_features, in_features) as in PyTorch."""
    x = as_tensor(input)
    if x.ndim == 0 or x.shape[-1] != weight.shape[-1]:
        raise ValueError(f"linear: the input has shape {x.shape} but the weight "
                         f"{weight.shape} expects {weight.shape[-1]} features in the last "
                         "dimension")
    out = x @ weight.T
    return out if bias is None else out + bias


def dropout(input: Tensor, p: float = 0.5, training: bool = True,
            inplace: bool = False) -> Tensor:
    """While training, zero each element with probability p (drawn from the global
    generator: ``manual_seed`` repeats them) and scale the others by 1/(1-p), so the
    expected value of each element is unchanged. Not training: the input itself."""
    if not 0.0 <= p <= 1.0:  # also refuses NaN
        raise ValueError(f"dropout: dropout probability has to be between 0 and 1, but got "
                         f"{p}")
    x = as_tensor(input)
    if not training:
        return x
    if x.dtype.kind != "f":
        raise TypeError(f"dropout: needs a floating point tensor, got {x.dtype}")
    keep = numpy_rng(None, "dropout").random(x.shape) >= p  # kept with probability 1 - p
    scale = 0.0 if p == 1.0 else 1.0 / (1.0 - p)
    mask = keep.astype(x.dtype) * x.dtype.type(scale)
    return _result(x, x * mask, inplace)


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12) -> Tensor:
    """x / max(||x||_p, eps) along dim: unit vectors (the eps keeps 0 at 0)."""
    x = as_tensor(input)
    return x / x.norm(p, dim, keepdim=True).clamp_min(eps)


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """An int64 tensor of shape tensor.shape + (num_classes,): 1 at each class index,
    0 elsewhere. num_classes=-1: one more than the largest index."""
    array = tensor.array if isinstance(tensor, Tensor) else np.asarray(tensor)
    if array.dtype.kind not in "iu":
        raise TypeError(f"one_hot: the tensor must hold class indices (integers, e.g. "
                        f"int64), got dtype {array.dtype}")
    if array.size == 0 and num_classes == -1:
        raise RuntimeError("one_hot: cannot infer the number of classes from an empty "
                           "tensor; give num_classes")
    if array.size and array.min() < 0:
        raise RuntimeError(f"one_hot: class values must be non-negative, got {array.min()}")
    if num_classes == -1:
        num_classes = int(array.max()) + 1
    elif array.size and array.max() >= num_classes:
        raise RuntimeError(f"one_hot: class values must be smaller than "
                           f"num_classes={num_classes}, got {array.max()}")
    return as_tensor((array[..., None] == np.arange(num_classes)).astype(np.int64))


_PAD_MODES = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}  # NumPy's names


def pad(input: Tensor, pad: Sequence[int], mode: str = "constant",
        value: float | None = None) -> Tensor:
    """Pad the last dimensions: ``pad = (left, right)`` pads the last one, ``(left,
    right, top, bottom)`` the last two, and so on backwards. ``mode='constant'`` fills
    with ``value`` (0 by default; negative amounts crop); ``'reflect'`` mirrors the
    values without repeating the edge, ``'replicate'`` repeats the edge, ``'circular'``
    wraps around. The gradient flows back to the input's elements (summed where one
    was copied several times)."""
    x = as_tensor(input)
    amounts = [int(n) for n in pad]
    if len(amounts) % 2:
        raise RuntimeError(f"pad: padding length must be divisible by 2, got {len(amounts)} "
                           f"values {tuple(amounts)}")
    if len(amounts) // 2 > x.ndim:
        raise RuntimeError(f"pad: {len(amounts)} padding values pad {len(amounts) // 2} "
                           f"dimensions, but the input of shape {x.shape} has {x.ndim}")
    pairs = {x.ndim - 1 - k: (amounts[2 * k], amounts[2 * k + 1])
             for k in range(len(amounts) // 2)}
    if mode == "constant":
        return _pad_constant(x, pairs, 0.0 if value is None else value)
    if mode not in _PAD_MODES:
        raise NotImplementedError(f"pad: unrecognised padding mode {mode!r}; use 'constant', "
                                  "'reflect', 'replicate' or 'circular'")
    if value is not None and value != 0:
        raise RuntimeError(f"pad: padding mode {mode!r} doesn't take a value argument")
    for d, (before, after) in pairs.items():
        n = x.shape[d]
        if before < 0 or after < 0:
            raise RuntimeError(f"pad: mode {mode!r} cannot crop: negative padding "
                               f"{(before, after)} at dimension {d}")
        too_much = (mode == "reflect" and max(before, after) >= n) or \
            (mode == "circular" and max(before, after) > n) or n == 0
        if too_much:
            raise RuntimeError(f"pad: padding {(before, after)} at dimension {d} of input "
                               f"shape {x.shape} is too large for mode {mode!r} (reflect: "
                               "less than the size, circular: at most the size)")
        if before or after:  # the source element of each output position, as np.pad finds it
            index = np.pad(np.arange(n), (before, after), mode=_PAD_MODES[mode])
            x = x.index_select(d, index)
    return x


def _pad_constant(x: Tensor, pairs: dict[int, tuple[int, int]], value: float) -> Tensor:
    if any(min(p) < 0 for p in pairs.values()):  # negative amounts crop first
        crop = []
        for d, n in enumerate(x.shape):
            before, after = pairs.get(d, (0, 0))
            crop.append(slice(max(-before, 0), n - max(-after, 0)))
            if crop[-1].stop < crop[-1].start:
                raise RuntimeError(f"pad: the negative padding {(before, after)} at dimension "
                                   f"{d} crops more than the input of shape {x.shape} has")
        x = x[tuple(crop)]
    for d, (before, after) in pairs.items():  # one cat per padded dimension
        pieces = [_filled(x, d, before, value), x, _filled(x, d, after, value)]
        pieces = [t for t in pieces if t is not None]
        if len(pieces) > 1:
            x = cat(pieces, dim=d)
    return x


def _filled(x: Tensor, d: int, width: int, value: float) -> Tensor | None:
    """A constant block shaped like x but ``width`` wide along dim d (None if width <= 0)."""
    if width <= 0:
        return None
    return as_tensor(np.full(x.shape[:d] + (width,) + x.shape[d + 1:], value, dtype=x.dtype))


def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None,
              max_norm: float | None = None, norm_type: float = 2.0,
              scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """Rows of ``weight`` picked by the integer indices in ``input``: the result has
    shape input.shape + (embedding_dim,). The row ``padding_idx`` gets no gradient.
    ``max_norm``: rows looked up whose norm exceeds it are first scaled down to it, in
    place (as PyTorch)."""
    return _embedding(input, weight, padding_idx, max_norm, norm_type, scale_grad_by_freq,
                      sparse, "embedding")


def _embedding(input: Any, weight: Tensor, padding_idx: int | None, max_norm: float | None,
               norm_type: float, scale_grad_by_freq: bool, sparse: bool, where_: str) -> Tensor:
    if scale_grad_by_freq or sparse:
        raise NotImplementedError(f"{where_}: scale_grad_by_freq=True and sparse=True are not "
                                  "supported")
    if weight.ndim != 2:
        raise ValueError(f"{where_}: the weight must be 2-D (num_embeddings, embedding_dim), "
                         f"got shape {weight.shape}")
    index = input.array if isinstance(input, Tensor) else np.asarray(input)
    if index.dtype.kind not in "iu":
        raise TypeError(f"{where_}: the indices must be integers (int64 or int32), got dtype "
                        f"{index.dtype}; convert them with .long()")
    rows = weight.shape[0]
    bad = (index < 0) | (index >= rows)
    if bad.any():
        raise IndexError(f"{where_}: index {index[bad].ravel()[0]} is out of range for "
                         f"{rows} embeddings (valid: 0 to {rows - 1})")
    if max_norm is not None:
        _renorm_rows(weight, np.unique(index), max_norm, norm_type)
    out = weight[index]
    if padding_idx is not None:
        padding_idx = padding_idx % rows if padding_idx < 0 else padding_idx
        at_padding = index == padding_idx
        if at_padding.any():  # the row's value, as a constant: no gradient reaches it
            out = where(at_padding[..., None], weight.array[padding_idx].copy(), out)
    return out


def _renorm_rows(weight: Tensor, rows: np.ndarray, max_norm: float, norm_type: float) -> None:
    norms = np.linalg.norm(weight.array[rows], ord=norm_type, axis=1)
    over = norms > max_norm
    if over.any():
        scale = max_norm / (norms[over] + 1e-7)
        with no_grad():
            weight[rows[over]] = weight.array[rows[over]] * scale[:, None]


def layer_norm(input: Tensor, normalized_shape: int | Sequence[int],
               weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    """(x - mean) / sqrt(var + eps) * weight + bias, mean and (biased) var taken over
    the last dimensions, those of normalized_shape, separately for each sample."""
    return _layer_norm(input, normalized_shape, weight, bias, eps, "layer_norm")


def _layer_norm(input: Any, normalized_shape: int | Sequence[int], weight: Tensor | None,
                bias: Tensor | None, eps: float, where_: str) -> Tensor:
    x = as_tensor(input)
    shape = (int(normalized_shape),) if isinstance(normalized_shape, (int, np.integer)) \
        else tuple(int(n) for n in normalized_shape)
    if not shape or x.shape[x.ndim - len(shape):] != shape or len(shape) > x.ndim:
        raise RuntimeError(f"{where_}: normalized_shape={shape} expects an input of shape "
                           f"(*, {', '.join(map(str, shape))}), got {x.shape}")
    axes = tuple(range(x.ndim - len(shape), x.ndim))
    mean = x.mean(dim=axes, keepdim=True)
    var = x.var(dim=axes, correction=0, keepdim=True)
    out = (x - mean) * (var + eps).rsqrt()
    if weight is not None:
        out = out * weight
    return out if bias is None else out + bias


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
               weight: Tensor | None = None, bias: Tensor | None = None,
               training: bool = False, momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """(x - mean) / sqrt(var + eps) * weight + bias per channel (dim 1), mean and var
    over the other dims. Training: the batch's mean and biased variance, and the running
    statistics (if given) move towards them in place, running = (1 - momentum) * running
    + momentum * batch, with the unbiased variance (as PyTorch). Not training: the
    running statistics."""
    return _batch_norm(input, running_mean, running_var, weight, bias, training, momentum,
                       eps, "batch_norm")


def _batch_norm(input: Any, running_mean: Tensor | None, running_var: Tensor | None,
                weight: Tensor | None, bias: Tensor | None, training: bool, momentum: float,
                eps: float, where_: str) -> Tensor:
    x = as_tensor(input)
    if x.ndim < 2:
        raise ValueError(f"{where_}: expected an input of shape (N, C, ...), got {x.shape}")
    channels = x.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        if t is not None and t.shape != (channels,):
            raise RuntimeError(f"{where_}: {name} has shape {t.shape}, but the input of shape "
                               f"{x.shape} has {channels} channels (dim 1)")
    axes = (0,) + tuple(range(2, x.ndim))
    per_channel = (1, channels) + (1,) * (x.ndim - 2)
    if training:
        count = x.numel() // channels
        if count <= 1:
            raise ValueError(f"{where_}: expected more than 1 value per channel when "
                             f"training, got input of shape {x.shape}")
        mean = x.mean(dim=axes, keepdim=True)
        var = x.var(dim=axes, correction=0, keepdim=True)
        with no_grad():
            if running_mean is not None:
                running_mean.copy_(running_mean.array * (1.0 - momentum)
                                   + mean.array.reshape(channels) * momentum)
            if running_var is not None:
                unbiased = var.array.reshape(channels) * (count / (count - 1))
                running_var.copy_(running_var.array * (1.0 - momentum) + unbiased * momentum)
    else:
        if running_mean is None or running_var is None:
            raise ValueError(f"{where_}: running_mean and running_var are needed when "
                             "training=False")
        mean, var = running_mean.reshape(per_channel), running_var.reshape(per_channel)
    out = (x - mean) * (var + eps).rsqrt()
    if weight is not None:
        out = out * weight.reshape(per_channel)
    return out if bias is None else out + bias.reshape(per_channel)


# --- losses ---------------------------------------------------------------------------

_REDUCTIONS = ("mean", "sum", "none")


def _reduction(reduction: str, size_average: bool | None, reduce: bool | None, where_: str,
               allowed: tuple[str, ...] = _REDUCTIONS) -> str:
    """The reduction, checked; PyTorch's legacy size_average= and reduce= still work."""
    if size_average is not None or reduce is not None:
        size_average = True if size_average is None else size_average
        reduce = True if reduce is None else reduce
        reduction = "mean" if size_average and reduce else "sum" if reduce else "none"
        warnings.warn(f"{where_}: size_average and reduce are deprecated, as in PyTorch; use "
                      f"reduction={reduction!r} instead", UserWarning, stacklevel=3)
    if reduction not in allowed:
        names = ", ".join(repr(r) for r in allowed[:-1]) + f" or {allowed[-1]!r}"
        raise ValueError(f"{where_}: reduction must be {names}, got {reduction!r}")
    return reduction


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    return loss.sum() if reduction == "sum" else loss


def _same_shape(input: Tensor, target: Tensor, where_: str) -> None:
    # PyTorch broadcasts (with a warning); (N, 1) against (N,) silently builds an N x N
    # loss, a classic bug, so we ask for equal shapes.
    if input.shape != target.shape:
        raise ValueError(f"{where_}: input shape {input.shape} and target shape "
                         f"{target.shape} differ; they must be equal (reshape one of them, "
                         "e.g. target.reshape(input.shape))")


def _pair(input: Any, target: Any, where_: str) -> tuple[Tensor, Tensor]:
    x, y = as_tensor(input), as_tensor(target)
    _same_shape(x, y, where_)
    return x, y


def _weighted(loss: Tensor, weight: Any, reduction: str, where_: str,
              mean_by_weight: bool) -> Tensor:
    """loss * weight, reduced; PyTorch's weighted mean of mse and l1 divides by the sum
    of the weights (mean_by_weight), that of huber by the number of elements."""
    if weight is None:
        return _reduce(loss, reduction)
    w = as_tensor(weight)
    if w.shape != loss.shape:
        raise ValueError(f"{where_}: the weight has shape {w.shape} but the input {loss.shape}; "
                         "weights and input must have the same size")
    loss = loss * w
    if reduction == "mean" and mean_by_weight:
        return loss.sum() / w.sum()
    return _reduce(loss, reduction)


def mse_loss(input: Tensor, target: Any, size_average: bool | None = None,
             reduce: bool | None = None, reduction: str = "mean",
             weight: Tensor | None = None) -> Tensor:
    """Mean squared error: (x - y)^2 per element."""
    where_ = "mse_loss"
    return _mse_loss(input, target, _reduction(reduction, size_average, reduce, where_),
                     weight, where_)


def _mse_loss(input: Any, target: Any, reduction: str, weight: Any, where_: str) -> Tensor:
    x, y = _pair(input, target, where_)
    diff = x - y
    return _weighted(diff * diff, weight, reduction, where_, mean_by_weight=True)


def l1_loss(input: Tensor, target: Any, size_average: bool | None = None,
            reduce: bool | None = None, reduction: str = "mean",
            weight: Tensor | None = None) -> Tensor:
    """Mean absolute error: |x - y| per element."""
    where_ = "l1_loss"
    return _l1_loss(input, target, _reduction(reduction, size_average, reduce, where_),
                    weight, where_)


def _l1_loss(input: Any, target: Any, reduction: str, weight: Any, where_: str) -> Tensor:
    x, y = _pair(input, target, where_)
    return _weighted((x - y).abs(), weight, reduction, where_, mean_by_weight=True)


def smooth_l1_loss(input: Tensor, target: Any, size_average: bool | None = None,
                   reduce: bool | None = None, reduction: str = "mean",
                   beta: float = 1.0) -> Tensor:
    """0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta (d = x - y): quadratic near
    0, linear far away; beta = 0 is l1_loss."""
    where_ = "smooth_l1_loss"
    return _smooth_l1_loss(input, target, _reduction(reduction, size_average, reduce, where_),
                           beta, where_)


def _smooth_l1_loss(input: Any, target: Any, reduction: str, beta: float,
                    where_: str) -> Tensor:
    if beta < 0:
        raise RuntimeError(f"{where_}: beta must be >= 0 (0 gives l1_loss), got {beta}")
    x, y = _pair(input, target, where_)
    diff = x - y
    size = diff.abs()
    if beta == 0:
        return _reduce(size, reduction)
    loss = where(size.array < beta, diff * diff * (0.5 / beta), size - 0.5 * beta)
    return _reduce(loss, reduction)


def huber_loss(input: Tensor, target: Any, reduction: str = "mean", delta: float = 1.0,
               weight: Tensor | None = None) -> Tensor:
    """0.5 d^2 where |d| <= delta, else delta * (|d| - 0.5 delta): smooth_l1_loss times
    delta, with beta = delta."""
    where_ = "huber_loss"
    return _huber_loss(input, target, _reduction(reduction, None, None, where_), delta,
                       weight, where_)


def _huber_loss(input: Any, target: Any, reduction: str, delta: float, weight: Any,
                where_: str) -> Tensor:
    if not delta > 0:
        raise RuntimeError(f"{where_}: delta must be positive, got {delta}")
    x, y = _pair(input, target, where_)
    diff = x - y
    size = diff.abs()
    loss = where(size.array <= delta, diff * diff * 0.5, (size - 0.5 * delta) * delta)
    return _weighted(loss, weight, reduction, where_, mean_by_weight=False)


def binary_cross_entropy(input: Tensor, target: Any, weight: Tensor | None = None,
                         size_average: bool | None = None, reduce: bool | None = None,
                         reduction: str = "mean") -> Tensor:
    """-w [y log p + (1 - y) log(1 - p)] for probabilities p (after a sigmoid), each log
    clamped at -100 as PyTorch does, so p = 0 or 1 gives a finite loss. From logits,
    binary_cross_entropy_with_logits is exact where this one saturates."""
    where_ = "binary_cross_entropy"
    return _binary_cross_entropy(input, target, weight,
                                 _reduction(reduction, size_average, reduce, where_), where_)


def _log_at_least_minus_100(u: Tensor, ok: np.ndarray, log: Any, safe: float) -> Tensor:
    """max(log(u), -100) where ok, -100 elsewhere (log(0)); the places that are not ok
    are given a harmless value before the log, so no inf or NaN enters the gradient."""
    if ok.all():
        return log(u).clip(min=-100.0)
    return where(ok, log(where(ok, u, safe)).clip(min=-100.0), -100.0)


def _binary_cross_entropy(input: Any, target: Any, weight: Any, reduction: str,
                          where_: str) -> Tensor:
    p, y = _pair(input, target, where_)
    values = p.array
    if not np.all((values >= 0) & (values <= 1)):
        raise RuntimeError(f"{where_}: all elements of input should be between 0 and 1 "
                           f"(probabilities), got values from {np.min(values)} to "
                           f"{np.max(values)}; apply sigmoid first, or give the logits to "
                           "binary_cross_entropy_with_logits (BCEWithLogitsLoss)")
    log_p = _log_at_least_minus_100(p, values > 0, Tensor.log, 1.0)
    log_1mp = _log_at_least_minus_100(-p, values < 1, Tensor.log1p, 0.0)  # log(1 - p)
    loss = -(y * log_p + (1.0 - y) * log_1mp)
    if weight is not None:
        loss = loss * as_tensor(weight)
    return _reduce(loss, reduction)


def binary_cross_entropy_with_logits(input: Tensor, target: Any, weight: Tensor | None = None,
                                     size_average: bool | None = None,
                                     reduce: bool | None = None, reduction: str = "mean",
                                     pos_weight: Tensor | None = None) -> Tensor:
    """Binary cross-entropy of sigmoid(x) against y in [0, 1], computed from the logit x.

    With s = sigmoid(x), log s = -softplus(-x) and log(1 - s) = -x - softplus(-x), so

        -[p y log s + (1 - y) log(1 - s)] = (1 - y) x + (p y + 1 - y) softplus(-x),

    p the pos_weight (1 without it), and softplus(-x) = max(-x, 0) + log(1 + exp(-|x|)),
    written so that e^(large) never appears. At x = 0 the kinks of max and |x| cancel:
    maximum() gives each side half the gradient at a tie and |x|'s derivative there is
    0, so autograd returns the exact slope (1/2 - y without pos_weight).
    """
    where_ = "binary_cross_entropy_with_logits"
    return _binary_cross_entropy_with_logits(
        input, target, weight, _reduction(reduction, size_average, reduce, where_), pos_weight,
        where_)


def _binary_cross_entropy_with_logits(input: Any, target: Any, weight: Any, reduction: str,
                                      pos_weight: Any, where_: str) -> Tensor:
    x, y = _pair(input, target, where_)
    softplus_neg = maximum(-x, 0.0) + (-x.abs()).exp().log1p()  # -log sigmoid(x)
    if pos_weight is None:
        loss = (1.0 - y) * x + softplus_neg
    else:
        loss = (1.0 - y) * x + ((as_tensor(pos_weight) - 1.0) * y + 1.0) * softplus_neg
    if weight is not None:
        loss = loss * as_tensor(weight)
    return _reduce(loss, reduction)


def kl_div(input: Tensor, target: Any, size_average: bool | None = None,
           reduce: bool | None = None, reduction: str = "mean",
           log_target: bool = False) -> Tensor:
    """Kullback-Leibler divergence of the target from the input: the input holds log
    probabilities, the target probabilities (log probabilities if log_target).
    Per element y (log y - x), 0 where y = 0. ``reduction='batchmean'`` divides the sum
    by the batch size (the mathematical KL divergence); 'mean' divides by the number of
    elements and warns, as PyTorch."""
    where_ = "kl_div"
    reduction = _reduction(reduction, size_average, reduce, where_,
                           ("mean", "batchmean", "sum", "none"))
    return _kl_div(input, target, reduction, log_target, where_)


def _kl_div(input: Any, target: Any, reduction: str, log_target: bool, where_: str) -> Tensor:
    if reduction == "mean":
        warnings.warn(f"{where_}: reduction='mean' divides the total loss by both the batch "
                      "size and the support size; 'batchmean' divides only by the batch "
                      "size, and aligns with the KL divergence's definition (as PyTorch "
                      "warns)", UserWarning, stacklevel=3)
    x, y = _pair(input, target, where_)
    if log_target:
        loss = y.exp() * (y - x)
    else:
        zero = y.array == 0  # y log y -> 0 as y -> 0
        with np.errstate(invalid="ignore"):  # a negative target: NaN, as PyTorch
            y_log_y = where(zero, 0.0, y * where(zero, 1.0, y).log()) if zero.any() \
                else y * y.log()
        loss = y_log_y - y * x
    if reduction == "batchmean":
        return loss.sum() / x.shape[0] if x.ndim else loss.sum()
    return _reduce(loss, reduction)


# --- classification: nll_loss and cross_entropy -----------------------------------------


def _check_class_input(x: Tensor, where_: str) -> int:
    """The number of classes of input (C,), (N, C) or (N, C, d1, ...)."""
    if x.ndim == 0:
        raise ValueError(f"{where_}: the input must be (N, C), (C,) or (N, C, d1, ...), got "
                         "a 0-d tensor")
    return x.shape[0] if x.ndim == 1 else x.shape[1]


def _class_indices(target: Any, input: Tensor, ignore_index: int, where_: str) -> np.ndarray:
    """Check class targets and return them as an integer array.

    Accepted: integers (ndarray, list, Python int) or a Tensor holding whole numbers,
    shaped (N,) for input (N, C), (N, d1, ...) for input (N, C, d1, ...), or a single
    number for input (C,); each in [0, C) or equal to ignore_index.
    """
    if isinstance(target, Tensor):
        array = target.array
    elif isinstance(target, (list, tuple, int, np.integer, np.ndarray)):
        array = np.asarray(target)
    else:
        raise TypeError(f"{where_}: the target must hold class indices (an integer ndarray "
                        f"or a Tensor of whole numbers), got {type(target).__name__}")
    if array.dtype.kind not in "iuf":
        raise TypeError(f"{where_}: the target must hold class indices (whole numbers), got "
                        f"values of dtype {array.dtype}")
    if array.dtype.kind == "f":
        whole = np.isfinite(array) & (array == np.round(array))
        if not whole.all():
            raise ValueError(f"{where_}: the target must hold class indices (whole numbers); "
                             f"got {array[~whole].ravel()[:5]}. Class probabilities must "
                             f"have the input's shape {input.shape}")
        array = array.astype(np.int64)
    expected = input.shape[:1] + input.shape[2:] if input.ndim >= 2 else ()
    if array.shape != expected:
        raise ValueError(f"{where_}: input of shape {input.shape} needs a target of shape "
                         f"{expected} (one class index per sample), got {array.shape}")
    classes = input.shape[0] if input.ndim == 1 else input.shape[1]
    bad = ((array < 0) | (array >= classes)) & (array != ignore_index)
    if bad.any():
        raise IndexError(f"{where_}: target class {array[bad].ravel()[:5]} out of range: "
                         f"the input has {classes} classes, so valid targets are 0 to "
                         f"{classes - 1}")
    return array.astype(np.intp)


def _class_weights(weight: Any, classes: int, dtype: np.dtype, where_: str) -> np.ndarray | None:
    if weight is None:
        return None
    w = weight.array if isinstance(weight, Tensor) else np.asarray(weight, dtype=np.float64)
    if w.shape != (classes,):
        raise RuntimeError(f"{where_}: weight should have one entry per class ({classes} "
                           f"classes), got shape {w.shape}")
    return w.astype(dtype)


def _picked(log_probs: Tensor, target: Any, weight: np.ndarray | None, ignore_index: int,
            where_: str) -> tuple[Tensor, np.ndarray, np.ndarray]:
    """(-w_t log p_t for each sample, 0 where the target is ignore_index; the weights
    w_t, 0 where ignored; the mask of kept samples)."""
    index = _class_indices(target, log_probs, ignore_index, where_)
    keep = index != ignore_index
    safe = np.where(keep, index, 0)
    if log_probs.ndim == 1:
        picked = log_probs.gather(0, safe.reshape(1)).reshape(())
    else:
        picked = log_probs.gather(1, np.expand_dims(safe, 1)).squeeze(1)
    dtype = log_probs.dtype
    w = np.ones(index.shape, dtype) if weight is None else weight[safe]
    w = np.where(keep, w, 0).astype(dtype)
    loss = -picked if weight is None else -picked * w
    if not keep.all():
        loss = where(keep, loss, 0.0)
    return loss, w, keep


def _mean_by_weight(total: Tensor, w: np.ndarray) -> Tensor:
    # all targets ignored: 0 / 0 = NaN, as PyTorch
    with np.errstate(invalid="ignore", divide="ignore"):
        return total / w.sum()


def nll_loss(input: Tensor, target: Any, weight: Tensor | None = None,
             size_average: bool | None = None, ignore_index: int = -100,
             reduce: bool | None = None, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood: -weight[t] * input[t] for log probabilities ``input``
    (N, C) (or (C,), or (N, C, d1, ...)) and class indices t. Targets equal to
    ignore_index count for nothing; the mean divides by the sum of the weights of the
    targets that are not ignored (their number, without weight)."""
    where_ = "nll_loss"
    return _nll_loss(input, target, weight, ignore_index,
                     _reduction(reduction, size_average, reduce, where_), where_)


def _nll_loss(input: Any, target: Any, weight: Any, ignore_index: int, reduction: str,
              where_: str) -> Tensor:
    x = as_tensor(input)
    w = _class_weights(weight, _check_class_input(x, where_), x.dtype, where_)
    loss, wt, _ = _picked(x, target, w, ignore_index, where_)
    if reduction == "mean":
        return _mean_by_weight(loss.sum(), wt)
    return _reduce(loss, reduction)


def cross_entropy(input: Tensor, target: Any, weight: Tensor | None = None,
                  size_average: bool | None = None, ignore_index: int = -100,
                  reduce: bool | None = None, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    """Cross-entropy between softmax(logits) and the target, for logits (N, C), (C,) or
    (N, C, d1, ...) (classes along dim 1).

    Class indices t: loss = -log softmax(x)_t = log(sum_j e^(x_j)) - x_t, computed with
    log_softmax so that e^1000 never appears; its gradient is softmax(x) - onehot(t).
    weight, ignore_index and the mean as in nll_loss. Class probabilities (a float
    target of the input's shape): loss = -sum_c weight_c y_c log softmax(x)_c, averaged
    over the samples. label_smoothing = e mixes the target with the uniform
    distribution: (1 - e) * target + e / C.
    """
    where_ = "cross_entropy"
    return _cross_entropy(input, target, weight, ignore_index,
                          _reduction(reduction, size_average, reduce, where_),
                          label_smoothing, where_)


def _probabilities(target: Any, x: Tensor) -> bool:
    """Whether target holds class probabilities: floats of the input's shape."""
    if isinstance(target, Tensor):
        array = target.array
    elif isinstance(target, (np.ndarray, list, tuple)):
        array = np.asarray(target)
    else:
        return False
    return array.dtype.kind == "f" and array.shape == x.shape


def _cross_entropy(input: Any, target: Any, weight: Any, ignore_index: int, reduction: str,
                   label_smoothing: float, where_: str) -> Tensor:
    x = as_tensor(input)
    classes = _check_class_input(x, where_)
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"{where_}: label_smoothing must be between 0.0 and 1.0, got "
                           f"{label_smoothing}")
    w = _class_weights(weight, classes, x.dtype, where_)
    class_dim = 0 if x.ndim == 1 else 1
    log_probs = x.log_softmax(dim=class_dim)
    # the weights along the class dim: (C,) for (C,) input, (C, 1, ...) for (N, C, ...)
    w_along = None if w is None else w.reshape((classes,) + (1,) * (x.ndim - 1 - class_dim))
    if _probabilities(target, x):
        if ignore_index != -100:
            raise RuntimeError(f"{where_}: ignore_index is not supported for class-"
                               "probability targets")
        y = as_tensor(target)
        if label_smoothing > 0:
            y = y * (1.0 - label_smoothing) + label_smoothing / classes
        terms = log_probs * y if w_along is None else log_probs * y * w_along
        return _reduce(-terms.sum(dim=class_dim), reduction)
    loss, wt, keep = _picked(log_probs, target, w, ignore_index, where_)
    if label_smoothing == 0:
        return _mean_by_weight(loss.sum(), wt) if reduction == "mean" \
            else _reduce(loss, reduction)
    # the uniform part of the smoothed target: -sum_c w_c log p_c, 0 where ignored
    uniform = log_probs if w_along is None else log_probs * w_along
    uniform = -uniform.sum(dim=class_dim)
    if not keep.all():
        uniform = where(keep, uniform, 0.0)
    if reduction == "none":
        return loss * (1.0 - label_smoothing) + uniform * (label_smoothing / classes)
    total = loss.sum() * (1.0 - label_smoothing) + uniform.sum() * (label_smoothing / classes)
    return _mean_by_weight(total, wt) if reduction == "mean" else total

from .conv import avg_pool1d, avg_pool2d, conv1d, conv2d, fold, max_pool1d, max_pool2d, unfold  # noqa: E402, F401
