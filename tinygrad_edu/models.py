"""The articles' two models, trained by gradient descent on the engine.

    QuadraticRegressor   ŷ = w·x² + b    (the NumPy and PyTorch articles: y = 3x² + 2 + noise)
    LinearRegressor      ŷ = X·w + b     (the MXNet article: w = [2, 51], b = 21.2)

The loss, chosen with ``reduction``:

    "sum"  (the articles'):  L = ½ Σᵢ (ŷᵢ − yᵢ)²
    "mean":                  L = ½ · (1/n) Σᵢ (ŷᵢ − yᵢ)²  = the "sum" loss / n

The ½ is kept in both, so switching to "mean" only divides the gradients by n (and
learning rates that worked for "sum" can be n times larger). PyTorch's
``MSELoss(reduction="mean")`` is (1/n) Σ (ŷ − y)², without the ½: twice our "mean".

The gradients, by hand. The chain rule through ŷᵢ gives dL/dŷᵢ = ŷᵢ − yᵢ, and

    quadratic: dŷᵢ/dw = xᵢ², dŷᵢ/db = 1  →  dL/dw = Σ (ŷᵢ − yᵢ)·xᵢ²    dL/db = Σ (ŷᵢ − yᵢ)
    linear:    dŷᵢ/dw = xᵢ (a row of X)  →  dL/dw = Xᵀ(ŷ − y)          dL/db = Σ (ŷᵢ − yᵢ)

(divided by n for "mean"). ``quadratic_grads`` and ``linear_grads`` write these out
once, in plain NumPy. The models never call them: ``fit`` gets its gradients from the
engine's ``backward()``, and the tests and demos check that the two agree.

The best parameters in closed form. L is a quadratic bowl in the parameters, so its
lowest point is where every derivative above is zero. With the design matrix A
(rows [xᵢ², 1] or [xᵢ, 1]) and θ = (w, b) that is AᵀA·θ = Aᵀy, the normal equations
(``quadratic_optimum``, ``linear_optimum``): where gradient descent should end up.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._validate import positive_int, positive_number
from .data import BatchIterator
from .grad_mode import no_grad
from .optim import SGD, LRScheduler, Optimizer
from .optim.lr_scheduler import ReduceLROnPlateau
from .tensor import Tensor

_REDUCTIONS = ("sum", "mean")

# --- the hand-derived gradients and the closed-form optimum (plain NumPy) -----------


def quadratic_grads(x: Any, y: Any, w: Any, b: Any,
                    reduction: str = "sum") -> tuple[float, float]:
    """dL/dw and dL/db for ŷ = w·x² + b and L = ½ Σ (ŷ − y)², as the articles write
    them: Σ (ŷ − y)·x² and Σ (ŷ − y). Divided by n for reduction="mean"."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    y_pred = np.power(x, 2) * w + b
    grad_w = np.sum((y_pred - y) * np.power(x, 2))
    grad_b = np.sum(y_pred - y)
    if _reduction(reduction, "quadratic_grads") == "mean":
        grad_w, grad_b = grad_w / y_pred.size, grad_b / y_pred.size
    return float(grad_w), float(grad_b)


def linear_grads(X: Any, y: Any, w: Any, b: Any,
                 reduction: str = "sum") -> tuple[np.ndarray, float]:
    """dL/dw and dL/db for ŷ = X·w + b and L = ½ Σ (ŷ − y)²: Xᵀ(ŷ − y) and Σ (ŷ − y).
    X has one row per example; divided by n for reduction="mean"."""
    X, y = np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64)
    residual = X @ np.asarray(w, dtype=np.float64) + b - y  # ŷ − y, one per example
    grad_w = X.T @ residual
    grad_b = np.sum(residual)
    if _reduction(reduction, "linear_grads") == "mean":
        grad_w, grad_b = grad_w / len(residual), grad_b / len(residual)
    return grad_w, float(grad_b)


def _least_squares(A: np.ndarray, y: np.ndarray) -> np.ndarray:
    """θ minimising ½ |Aθ − y|², the solution of AᵀA·θ = Aᵀy. lstsq solves it without
    forming AᵀA (which would square the condition number)."""
    theta, *_ = np.linalg.lstsq(A, y, rcond=None)
    return theta


def quadratic_optimum(x: Any, y: Any) -> tuple[float, float]:
    """The (w, b) with the smallest loss for ŷ = w·x² + b. Its normal equations:

        [Σx⁴  Σx²] [w]   [Σx²y]
        [Σx²   n ] [b] = [Σy  ]
    """
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    w, b = _least_squares(np.column_stack([x ** 2, np.ones_like(x)]), y)
    return float(w), float(b)


def linear_optimum(X: Any, y: Any) -> tuple[np.ndarray, float]:
    """The (w, b) with the smallest loss for ŷ = X·w + b: the normal equations
    [XᵀX  Xᵀ1; 1ᵀX  n]·(w, b) = (Xᵀy, Σy)."""
    X = np.asarray(X, dtype=np.float64)
    X = X.reshape(len(X), -1)
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    theta = _least_squares(np.column_stack([X, np.ones(len(X))]), y)
    return theta[:-1], float(theta[-1])


def _reduction(reduction: str, where: str) -> str:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{where}: reduction must be 'sum' or 'mean', got {reduction!r}")
    return reduction


# --- checking inputs -----------------------------------------------------------------


def _float_array(data: Any, name: str, where: str) -> np.ndarray:
    """User data (numbers, lists, ndarray, Tensor) as a float64 array, all finite."""
    if isinstance(data, Tensor):
        data = data.array
    try:
        array = np.asarray(data, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: {name} must be numbers (a list, an ndarray or a "
                         f"Tensor), got {type(data).__name__}") from None
    bad = ~np.isfinite(array)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"{where}: {name} contains {int(bad.sum())} NaN or inf value(s) "
                         f"(the first at index {first}); remove or fill them first")
    return array


# --- what both models share ----------------------------------------------------------


@dataclass
class History:
    """What ``fit`` recorded.

    ``loss[e]``: the loss of epoch e, added up over its batches as they were trained
    on (one full batch: the loss at the parameters before that epoch's step, the
    number the articles print). ``w[e]``, ``b[e]``: the parameters after epoch e - 1;
    ``w[0]`` is the starting value, so they hold epochs + 1 entries. ``lr[e]``: the
    learning rate epoch e used.
    """

    loss: list[float] = field(default_factory=list)
    w: list[np.ndarray] = field(default_factory=list)
    b: list[np.ndarray] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)


class DivergenceError(FloatingPointError):
    """Training blew up: the loss or a parameter became inf or NaN."""


class _Regressor:
    """Parameters ``w`` and ``b`` (leaf tensors that require grad), the loss, ``fit``."""

    w: Tensor
    b: Tensor

    def __init__(self, reduction: str) -> None:
        self.reduction = _reduction(reduction, type(self).__name__)

    def parameters(self) -> list[Tensor]:
        return [self.w, self.b]

    # subclasses: _check_x (shapes), _forward (ŷ as a Tensor), _describe, and
    # _target_shape: -1 when ŷ is a vector (n,), (-1, 1) when it is a column (n, 1)
    _target_shape: Any = -1

    def _check_x(self, x: np.ndarray, where: str) -> np.ndarray:
        raise NotImplementedError

    def _check_y(self, y: np.ndarray, n: int, where: str) -> np.ndarray:
        if not (y.ndim == 1 or (y.ndim == 2 and y.shape[1] == 1)):
            raise ValueError(f"{where}: y must hold one number per example, shape (n,) or "
                             f"(n, 1); got shape {y.shape}")
        if len(y) != n:
            raise ValueError(f"{where}: x has {n} examples but y has {len(y)}; they must "
                             "match")
        return y.reshape(self._target_shape)

    def _forward(self, x: Tensor) -> Tensor:
        raise NotImplementedError

    def _describe(self) -> str:
        raise NotImplementedError

    def _data(self, x: Any, y: Any, where: str) -> tuple[np.ndarray, np.ndarray]:
        x = self._check_x(_float_array(x, "x", where), where)
        y = _float_array(y, "y", where)
        return x, self._check_y(y, len(x), where)

    def predict(self, x: Any) -> Tensor:
        """ŷ for each row of x (recorded for backward unless under no_grad)."""
        x = self._check_x(_float_array(x, "x", "predict"), "predict")
        return self._forward(Tensor(x))

    def loss(self, x: Any, y: Any) -> Tensor:
        """½ Σ (ŷ − y)², or that divided by n for reduction="mean" (a 0-d Tensor)."""
        x, y = self._data(x, y, "loss")
        return self._loss(x, y)

    def _loss(self, x: np.ndarray, y: np.ndarray) -> Tensor:
        squares = 0.5 * (self._forward(Tensor(x)) - Tensor(y)) ** 2
        return squares.sum() if self.reduction == "sum" else squares.mean()

    def fit(self, x: Any, y: Any, lr: float | None = None, epochs: int = 100,
            batch_size: int | None = None, optimizer: Optimizer | None = None,
            scheduler: LRScheduler | None = None, log_every: int | None = 100,
            seed: int | None = None) -> History:
        """Train by gradient descent and return the History.

        lr: plain SGD with this learning rate, or pass ``optimizer`` instead (one built
        on ``model.parameters()``), optionally with a ``scheduler`` on it, stepped
        once per epoch. batch_size: None for one full batch per epoch (the articles'
        NumPy and PyTorch programs), else shuffled mini-batches (seeded by ``seed``).
        log_every: print "Epoch e: w=..., b=..., Loss=..." every that many epochs (as
        the articles: the loss computed in that epoch, the parameters after its
        update); None prints nothing.

        Raises ValueError for bad arguments or data, and DivergenceError (parameters
        reset to their last finite values) if the loss or a parameter becomes inf/NaN.
        """
        where = f"{type(self).__name__}.fit"
        x, y = self._data(x, y, where)
        epochs = positive_int(epochs, "epochs", where)
        if log_every is not None:
            log_every = positive_int(log_every, "log_every", where)
        optimizer = self._optimizer(lr, optimizer, scheduler, where)
        if batch_size is None:
            batches: Iterable = [(x, y)]
        else:
            batches = BatchIterator(x, y, positive_int(batch_size, "batch_size", where),
                                    seed=seed)

        history = History()
        self._record(history)
        with np.errstate(over="ignore", invalid="ignore"):  # blow-ups are caught below
            for epoch in range(epochs):
                history.lr.append(optimizer.param_groups[0]["lr"])
                total = 0.0
                for xb, yb in batches:
                    loss = self._loss(xb, yb)
                    optimizer.zero_grad()
                    loss.backward()
                    optimizer.step()
                    # "sum": the epoch's loss adds up its batch losses; "mean": averages
                    # them weighted by batch size (both give the full-batch loss if the
                    # parameters stood still)
                    share = 1.0 if self.reduction == "sum" else len(xb) / len(x)
                    total += loss.item() * share
                    self._check_finite(loss.item(), epoch, history, optimizer)
                history.loss.append(total)
                self._record(history)
                if log_every is not None and epoch % log_every == 0:
                    print(f"Epoch {epoch}: {self._describe()}, Loss={total:.4f}")
                if isinstance(scheduler, ReduceLROnPlateau):
                    scheduler.step(total)  # it watches the epoch's loss
                elif scheduler is not None:
                    scheduler.step()
        return history

    def _optimizer(self, lr: Any, optimizer: Optimizer | None, scheduler: Any,
                   where: str) -> Optimizer:
        if optimizer is None:
            if lr is None:
                raise ValueError(f"{where}: give a learning rate lr, or an optimizer")
            optimizer = SGD(self.parameters(), lr=positive_number(lr, "lr", where))
        else:
            if lr is not None:
                raise ValueError(f"{where}: give lr or optimizer, not both; the optimizer "
                                 "already has its learning rate")
            if not isinstance(optimizer, Optimizer):
                raise ValueError(f"{where}: optimizer must be an Optimizer such as SGD or "
                                 f"Adam, got {type(optimizer).__name__}")
            held = {id(p) for group in optimizer.param_groups for p in group["params"]}
            if any(id(p) not in held for p in self.parameters()):
                raise ValueError(f"{where}: the optimizer does not hold this model's "
                                 "parameters; build it with model.parameters()")
        if scheduler is not None and (not isinstance(scheduler, LRScheduler)
                                      or scheduler.optimizer is not optimizer):
            raise ValueError(f"{where}: scheduler must be a scheduler (StepLR, "
                             "ExponentialLR) built on the optimizer passed to fit")
        return optimizer

    def _record(self, history: History) -> None:
        history.w.append(self.w.array.copy())
        history.b.append(self.b.array.copy())

    def _check_finite(self, loss: float, epoch: int, history: History,
                      optimizer: Optimizer) -> None:
        """Stop with a clear message once training has blown up."""
        if math.isfinite(loss) and all(np.isfinite(p.array).all() for p in self.parameters()):
            return
        lr = optimizer.param_groups[0]["lr"]
        with no_grad():  # put back the parameters from the end of the last good epoch
            self.w[...] = history.w[-1]
            self.b[...] = history.b[-1]
        what = "loss" if not math.isfinite(loss) else "parameters"
        raise DivergenceError(
            f"training diverged in epoch {epoch}: the {what} became inf or NaN "
            f"(loss {loss}). Each step overshot the minimum by more than the last, so the "
            f"learning rate {lr:g} is too large for this data; try a smaller one, e.g. "
            f"{lr / 10:g}. The parameters were reset to their values at the start of "
            f"epoch {epoch}.")


# --- the two models ------------------------------------------------------------------


class QuadraticRegressor(_Regressor):
    """ŷ = w·x² + b, with w and b of shape (1, 1) as in the articles.

    x and y: one number per example, shape (n,) or (n, 1). ``predict`` returns shape
    (n, 1).

    >>> model = QuadraticRegressor(w=0.5, b=0.5)
    >>> history = model.fit(x, y, lr=0.001, epochs=800)
    """

    _target_shape = (-1, 1)  # w is (1, 1), so ŷ = x² @ w + b is a column

    def __init__(self, w: Any = 0.0, b: Any = 0.0, reduction: str = "sum") -> None:
        super().__init__(reduction)
        self.w = Tensor(self._scalar(w, "w").reshape(1, 1), requires_grad=True)
        self.b = Tensor(self._scalar(b, "b").reshape(1, 1), requires_grad=True)

    @staticmethod
    def _scalar(value: Any, name: str) -> np.ndarray:
        array = _float_array(value, name, "QuadraticRegressor")
        if array.size != 1:
            raise ValueError(f"QuadraticRegressor: {name} must be one number, got shape "
                             f"{array.shape}")
        return array

    def _check_x(self, x: np.ndarray, where: str) -> np.ndarray:
        if not (x.ndim == 1 or (x.ndim == 2 and x.shape[1] == 1)) or len(x) == 0:
            raise ValueError(f"{where}: x must hold one number per example, shape (n,) or "
                             f"(n, 1) with n >= 1; got shape {x.shape}")
        return x.reshape(-1, 1)

    def _forward(self, x: Tensor) -> Tensor:
        return x.pow(2) * self.w + self.b  # ŷ = w·x² + b

    def _describe(self) -> str:
        return f"w={self.w.item():.4f}, b={self.b.item():.4f}"

    def __repr__(self) -> str:
        return f"QuadraticRegressor({self._describe()}, reduction={self.reduction!r})"


class LinearRegressor(_Regressor):
    """ŷ = X·w + b for X of shape (n, n_features); w has shape (n_features,) and b
    shape (1,), as in the MXNet article. ``predict`` returns shape (n,).

    >>> model = LinearRegressor(2)
    >>> history = model.fit(X, y, lr=0.01, epochs=10, batch_size=10, seed=0)
    """

    def __init__(self, n_features: int, w: Any = None, b: Any = 0.0,
                 reduction: str = "sum") -> None:
        super().__init__(reduction)
        n_features = positive_int(n_features, "n_features", "LinearRegressor")
        if w is None:
            w = np.zeros(n_features)
        w = _float_array(w, "w", "LinearRegressor")
        if w.shape != (n_features,):
            raise ValueError(f"LinearRegressor: w must have shape ({n_features},) for "
                             f"{n_features} features, got shape {w.shape}")
        b = _float_array(b, "b", "LinearRegressor")
        if b.size != 1:
            raise ValueError(f"LinearRegressor: b must be one number, got shape {b.shape}")
        self.n_features = n_features
        self.w = Tensor(w, requires_grad=True)
        self.b = Tensor(b.reshape(1), requires_grad=True)

    def _check_x(self, x: np.ndarray, where: str) -> np.ndarray:
        d = self.n_features
        if x.ndim == 1 and d == 1:
            x = x.reshape(-1, 1)  # one feature: a plain list of numbers is fine
        if x.ndim != 2 or x.shape[1] != d or len(x) == 0:
            raise ValueError(f"{where}: x must have shape (n, {d}), one row of {d} "
                             f"feature(s) per example, n >= 1; got shape {x.shape}")
        return x

    def _forward(self, x: Tensor) -> Tensor:
        return x @ self.w + self.b  # ŷᵢ = Σⱼ Xᵢⱼ·wⱼ + b

    def _describe(self) -> str:
        w = ", ".join(f"{v:.4f}" for v in self.w.array)
        return f"w=[{w}], b={self.b.item():.4f}"

    def __repr__(self) -> str:
        return f"LinearRegressor({self._describe()}, reduction={self.reduction!r})"
