"""Optimizers (SGD, Adam) and learning-rate schedules (StepLR, ExponentialLR).

The update formulas are PyTorch's, so ``lr``, ``momentum`` and ``weight_decay`` mean
exactly what they mean there. One step of ``SGD`` for a parameter p with gradient g:

    g = g + weight_decay * p             (L2 penalty ½·wd·p² added to the loss)
    v = momentum * v + g                 (v = g on the first step)
    g = g + momentum * v  if nesterov  else  v
    p = p - lr * g

One step of ``Adam`` (t counts the steps, from 1):

    g = g + weight_decay * p
    m = β1·m + (1 - β1)·g                (running mean of g)
    s = β2·s + (1 - β2)·g²               (running mean of g²)
    p = p - lr · (m / (1 - β1^t)) / (sqrt(s / (1 - β2^t)) + eps)

Two ways to write momentum. The NumPy article writes

    v = β·v + (1 - β)·g,   p = p - lr_article · v          (v starts at 0)

while PyTorch (and this module) writes v = β·v + g, p = p - lr·v. Unrolled, the
article's v is (1 - β)·Σ_k β^k·g_(t-k) and PyTorch's is Σ_k β^k·g_(t-k): the same
direction, but PyTorch's is 1/(1 - β) times longer. For a steady gradient g, PyTorch's
v grows to g/(1 - β) (10·g for β = 0.9) while the article's settles at g. So:

    article's rule with lr_article  ==  PyTorch's rule with lr = (1 - β)·lr_article

step for step (equal up to rounding, since both v start at zero), and the same lr
in PyTorch's form takes 1/(1 - β) times larger steps once the velocity has built up.

Optimizers change the parameters in place under ``no_grad()``: the parameters stay
the very same leaf tensors (a model holding them sees the new values) and their
version counters move, so a graph built before the step cannot be reused by mistake.

Schedulers follow PyTorch too: build one on an optimizer, call ``scheduler.step()``
once per epoch after the epoch's ``optimizer.step()`` calls, read the rates with
``get_last_lr()``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from ._validate import positive_int, positive_number
from .grad_mode import no_grad
from .tensor import Tensor

# --- checking arguments ------------------------------------------------------------


def _number(value: Any, name: str, where: str) -> float:
    """A real, finite Python number (bools and arrays are mistakes)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{where}: {name} must be a number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{where}: {name} must be finite, got {value}")
    return value


def _non_negative(value: Any, name: str, where: str) -> float:
    value = _number(value, name, where)
    if value < 0:
        raise ValueError(f"{where}: {name} must be >= 0, got {value}")
    return value


def _fraction(value: Any, name: str, where: str) -> float:
    """A decay rate in [0, 1)."""
    value = _number(value, name, where)
    if not 0.0 <= value < 1.0:
        raise ValueError(f"{where}: {name} must be in [0, 1), got {value}")
    return value


# --- the common part ---------------------------------------------------------------


class Optimizer:
    """Holds the parameters in ``param_groups`` and the per-parameter ``state``.

    ``params`` is an iterable of leaf tensors that require grad, or (as in PyTorch)
    a list of dicts ``{"params": [...], "lr": ..., ...}``: each dict is a group whose
    settings override the defaults, e.g. weight decay on the weights only.
    """

    def __init__(self, params: Iterable[Any], defaults: dict) -> None:
        name = type(self).__name__
        if isinstance(params, Tensor):
            raise ValueError(f"{name}: params must be an iterable of tensors, got a single "
                             "Tensor; wrap it in a list: [w]")
        self.defaults = defaults
        self.state: dict[Tensor, dict] = {}  # parameter -> its running values
        self.param_groups: list[dict] = []
        groups = list(params)
        if not groups:
            raise ValueError(f"{name} got an empty parameter list; pass the tensors to "
                             "optimize, e.g. [w, b] or model.parameters()")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, group: dict) -> None:
        name = type(self).__name__
        if not isinstance(group, dict) or "params" not in group:
            raise ValueError(f"{name}: a parameter group must be a dict with a 'params' "
                             f"entry, got {group!r}")
        unknown = set(group) - set(self.defaults) - {"params"}
        if unknown:
            raise ValueError(f"{name}: unknown setting(s) {sorted(unknown)} in a parameter "
                             f"group; known: {sorted(self.defaults)}")
        params = group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        if not params:
            raise ValueError(f"{name}: a parameter group has an empty 'params' list")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        for k, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise ValueError(f"{name}: parameter {k} is a {type(p).__name__}, not a "
                                 "Tensor")
            if not p.requires_grad:
                raise ValueError(f"{name}: parameter {k} (shape {p.shape}) does not require "
                                 "grad; create it with requires_grad=True")
            if not p.is_leaf:
                raise ValueError(f"{name}: parameter {k} (shape {p.shape}) is not a leaf "
                                 f"tensor (it was made by {p.grad_fn!r}); an optimizer can "
                                 "only update tensors you created, not results of ops")
            if id(p) in seen:
                raise ValueError(f"{name}: parameter {k} (shape {p.shape}) appears twice; "
                                 "give each tensor once")
            seen.add(id(p))
        settings = {**self.defaults, **{k: v for k, v in group.items() if k != "params"}}
        self.param_groups.append({"params": params, **self._check(settings)})

    def _check(self, settings: dict) -> dict:
        """Validate one group's settings; each optimizer says what is allowed."""
        raise NotImplementedError

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients. As in PyTorch 2, ``.grad`` becomes None (the next
        backward allocates it); ``set_to_none=False`` fills it with zeros instead."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    p.grad.zero_()

    def step(self) -> None:
        """Update every parameter that has a gradient (others are left alone)."""
        with no_grad():
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is not None:
                        # the update is computed on plain arrays, then applied in place
                        step = self._update(p, p.grad.array, group, self.state.setdefault(p, {}))
                        p -= step  # in place: p stays the same leaf tensor

    def _update(self, p: Tensor, g: np.ndarray, group: dict, state: dict) -> np.ndarray:
        """The amount to subtract from p this step."""
        raise NotImplementedError

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for k, group in enumerate(self.param_groups):
            settings = ", ".join(f"{key}={value}" for key, value in group.items()
                                 if key != "params")
            lines.append(f"  group {k}: {len(group['params'])} tensors, {settings}")
        return "\n".join(lines + [")"])


# --- SGD ---------------------------------------------------------------------------


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum, Nesterov momentum and
    weight decay (PyTorch's formulas, see the module docstring; PyTorch's rarely used
    ``dampening`` and ``maximize`` are left out).

    >>> opt = SGD([w, b], lr=0.001, momentum=0.9)
    >>> loss.backward(); opt.step(); opt.zero_grad()
    """

    def __init__(self, params: Iterable[Any], lr: float, momentum: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False) -> None:
        super().__init__(params, {"lr": lr, "momentum": momentum,
                                  "weight_decay": weight_decay, "nesterov": nesterov})

    def _check(self, settings: dict) -> dict:
        settings["lr"] = positive_number(settings["lr"], "lr", "SGD")
        settings["momentum"] = _non_negative(settings["momentum"], "momentum", "SGD")
        settings["weight_decay"] = _non_negative(settings["weight_decay"], "weight_decay",
                                                 "SGD")
        if settings["nesterov"] and settings["momentum"] == 0:
            raise ValueError("SGD: nesterov=True needs a momentum > 0")
        settings["nesterov"] = bool(settings["nesterov"])
        return settings

    def _update(self, p: Tensor, g: np.ndarray, group: dict, state: dict) -> np.ndarray:
        if group["weight_decay"]:
            g = g + group["weight_decay"] * p.array  # d(½·wd·p²)/dp = wd·p
        momentum = group["momentum"]
        if momentum:
            if "velocity" not in state:
                state["velocity"] = np.array(g)  # first step: v = g
            else:
                state["velocity"] = momentum * state["velocity"] + g
            v = state["velocity"]
            g = g + momentum * v if group["nesterov"] else v
        return group["lr"] * g


# --- Adam --------------------------------------------------------------------------


class Adam(Optimizer):
    """Adam: a step along the running mean of the gradient, divided per element by
    the root of the running mean of its square (PyTorch's formulas, including
    ``weight_decay`` added to the gradient, which is not AdamW's decoupled decay)."""

    def __init__(self, params: Iterable[Any], lr: float = 0.001,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0) -> None:
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps,
                                  "weight_decay": weight_decay})

    def _check(self, settings: dict) -> dict:
        settings["lr"] = positive_number(settings["lr"], "lr", "Adam")
        betas = settings["betas"]
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"Adam: betas must be a pair (beta1, beta2), got {betas!r}")
        settings["betas"] = (_fraction(betas[0], "betas[0]", "Adam"),
                             _fraction(betas[1], "betas[1]", "Adam"))
        settings["eps"] = _non_negative(settings["eps"], "eps", "Adam")
        settings["weight_decay"] = _non_negative(settings["weight_decay"], "weight_decay",
                                                 "Adam")
        return settings

    def _update(self, p: Tensor, g: np.ndarray, group: dict, state: dict) -> np.ndarray:
        beta1, beta2 = group["betas"]
        if group["weight_decay"]:
            g = g + group["weight_decay"] * p.array
        if not state:
            state["step"] = 0
            state["mean"] = np.zeros_like(g)  # m
            state["mean_square"] = np.zeros_like(g)  # s
        state["step"] += 1
        t = state["step"]
        state["mean"] = beta1 * state["mean"] + (1 - beta1) * g
        state["mean_square"] = beta2 * state["mean_square"] + (1 - beta2) * g * g
        # both running means start at 0, so early on they are too small by the factor
        # (1 - beta^t); dividing by it removes that bias
        m_hat = state["mean"] / (1 - beta1 ** t)
        s_hat = state["mean_square"] / (1 - beta2 ** t)
        return group["lr"] * m_hat / (np.sqrt(s_hat) + group["eps"])


# --- learning-rate schedules -------------------------------------------------------


class LRScheduler:
    """Sets each group's lr from its starting lr and the epoch count ``last_epoch``.

    Construction sets epoch 0 (the starting rates); each ``step()`` moves one epoch on.
    """

    def __init__(self, optimizer: Optimizer) -> None:
        if not isinstance(optimizer, Optimizer):
            raise ValueError(f"{type(self).__name__}: expected an optimizer such as "
                             f"SGD or Adam, got {type(optimizer).__name__}")
        self.optimizer = optimizer
        self.base_lrs = [group["lr"] for group in optimizer.param_groups]
        self.last_epoch = 0
        self._apply()

    def lr_at(self, base_lr: float, epoch: int) -> float:
        raise NotImplementedError

    def _apply(self) -> None:
        for group, base_lr in zip(self.optimizer.param_groups, self.base_lrs):
            group["lr"] = self.lr_at(base_lr, self.last_epoch)
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def step(self) -> None:
        """Move to the next epoch; call it once per epoch, after optimizer.step()."""
        self.last_epoch += 1
        self._apply()

    def get_last_lr(self) -> list[float]:
        """The learning rate of each parameter group, as last set."""
        return list(self._last_lr)


class StepLR(LRScheduler):
    """lr = base_lr · gamma^(epoch // step_size): multiply by gamma every step_size
    epochs. The article's "×0.8 every 200 epochs" is StepLR(opt, 200, gamma=0.8)."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1) -> None:
        self.step_size = positive_int(step_size, "step_size", "StepLR")
        self.gamma = positive_number(gamma, "gamma", "StepLR")
        super().__init__(optimizer)

    def lr_at(self, base_lr: float, epoch: int) -> float:
        return base_lr * self.gamma ** (epoch // self.step_size)


class ExponentialLR(LRScheduler):
    """lr = base_lr · gamma^epoch: multiply by gamma every epoch."""

    def __init__(self, optimizer: Optimizer, gamma: float) -> None:
        self.gamma = positive_number(gamma, "gamma", "ExponentialLR")
        super().__init__(optimizer)

    def lr_at(self, base_lr: float, epoch: int) -> float:
        return base_lr * self.gamma ** epoch
