"""Loss modules: each holds its settings (``reduction`` and the loss's own) and calls
its function in ``functional``; errors name the module. Class weights and pos_weight
are buffers, as in PyTorch (so they are in ``state_dict`` and follow ``to()``). As in
PyTorch, a loss prints without its settings: ``MSELoss()``."""

from __future__ import annotations

from typing import Any

from ..functions import as_tensor
from ..tensor import Tensor
from . import functional as F
from .module import Module

_REDUCTIONS = ("mean", "sum", "none")


class _Loss(Module):
    """A loss module: holds ``reduction`` (checked here, at construction)."""

    _allowed: tuple[str, ...] = _REDUCTIONS

    def __init__(self, size_average: bool | None = None, reduce: bool | None = None,
                 reduction: str = "mean") -> None:
        super().__init__()
        self.reduction = F._reduction(reduction, size_average, reduce, type(self).__name__,
                                      self._allowed)


class _WeightedLoss(_Loss):
    """A loss with a ``weight`` buffer (None without weights)."""

    def __init__(self, weight: Any = None, size_average: bool | None = None,
                 reduce: bool | None = None, reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", None if weight is None else _as_float(weight))


def _as_float(t: Any) -> Tensor:
    t = as_tensor(t)
    return t if t.dtype.kind == "f" else t.double()


class MSELoss(_Loss):
    """(input - target)^2 per element, averaged (see functional.mse_loss)."""

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F._mse_loss(input, target, self.reduction, None, "MSELoss")


class L1Loss(_Loss):
    """|input - target| per element, averaged (see functional.l1_loss)."""

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F._l1_loss(input, target, self.reduction, None, "L1Loss")


class SmoothL1Loss(_Loss):
    """Quadratic for |input - target| < beta, linear beyond (functional.smooth_l1_loss)."""

    def __init__(self, size_average: bool | None = None, reduce: bool | None = None,
                 reduction: str = "mean", beta: float = 1.0) -> None:
        super().__init__(size_average, reduce, reduction)
        self.beta = beta

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F._smooth_l1_loss(input, target, self.reduction, self.beta, "SmoothL1Loss")


class HuberLoss(_Loss):
    """Quadratic for |input - target| <= delta, linear beyond (functional.huber_loss)."""

    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:
        super().__init__(reduction=reduction)
        self.delta = delta

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F._huber_loss(input, target, self.reduction, self.delta, None, "HuberLoss")


class NLLLoss(_WeightedLoss):
    """-weight[t] * input[t] from log probabilities (N, C) and class indices (N,)
    (see functional.nll_loss)."""

    def __init__(self, weight: Any = None, size_average: bool | None = None,
                 ignore_index: int = -100, reduce: bool | None = None,
                 reduction: str = "mean") -> None:
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F._nll_loss(input, target, self.weight, self.ignore_index, self.reduction,
                           "NLLLoss")


class CrossEntropyLoss(_WeightedLoss):
    """-log softmax(logits)[target] from logits (N, C) and class indices (N,), or
    class probabilities of the logits' shape (see functional.cross_entropy)."""

    def __init__(self, weight: Any = None, size_average: bool | None = None,
                 ignore_index: int = -100, reduce: bool | None = None,
                 reduction: str = "mean", label_smoothing: float = 0.0) -> None:
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index, self.label_smoothing = ignore_index, label_smoothing

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F._cross_entropy(input, target, self.weight, self.ignore_index, self.reduction,
                                self.label_smoothing, "CrossEntropyLoss")


class BCELoss(_WeightedLoss):
    """Binary cross-entropy of probabilities against targets in [0, 1] (see
    functional.binary_cross_entropy)."""

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F._binary_cross_entropy(input, target, self.weight, self.reduction, "BCELoss")


class BCEWithLogitsLoss(_Loss):
    """Binary cross-entropy of sigmoid(logits) against targets in [0, 1], computed
    stably from the logits (see functional.binary_cross_entropy_with_logits)."""

    def __init__(self, weight: Any = None, size_average: bool | None = None,
                 reduce: bool | None = None, reduction: str = "mean",
                 pos_weight: Any = None) -> None:
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", None if weight is None else _as_float(weight))
        self.register_buffer("pos_weight",
                             None if pos_weight is None else _as_float(pos_weight))

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F._binary_cross_entropy_with_logits(input, target, self.weight, self.reduction,
                                                   self.pos_weight, "BCEWithLogitsLoss")


class KLDivLoss(_Loss):
    """KL divergence of the target from the input (log probabilities); use
    reduction='batchmean' for the mathematical definition (see functional.kl_div)."""

    _allowed = ("mean", "batchmean", "sum", "none")

    def __init__(self, size_average: bool | None = None, reduce: bool | None = None,
                 reduction: str = "mean", log_target: bool = False) -> None:
        super().__init__(size_average, reduce, reduction)
        self.log_target = log_target

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F._kl_div(input, target, self.reduction, self.log_target, "KLDivLoss")
