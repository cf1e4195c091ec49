"""Optimizers (SGD, Adam, AdamW, RMSprop, Adagrad); schedules in ``optim.lr_scheduler``.

The arguments, defaults, update formulas and error messages are PyTorch's, so ``lr``,
``momentum`` or ``weight_decay`` mean exactly what they mean there. Each step starts
from the gradient g of a parameter p (``-g`` with ``maximize=True``). ``SGD``:

    g = g + weight_decay · p             (L2 penalty ½·wd·p² added to the loss)
    v = momentum · v + (1 - dampening) · g   (v = g on the first step)
    g = g + momentum · v  if nesterov  else  v
    p = p - lr · g

``Adam`` (t counts the steps, from 1):

    g = g + weight_decay · p             (AdamW instead: p = p - lr · wd · p)
    m = β1·m + (1 - β1)·g                (running mean of g)
    s = β2·s + (1 - β2)·g²               (running mean of g²; amsgrad: its maximum so far)
    p = p - lr · (m / (1 - β1^t)) / (sqrt(s / (1 - β2^t)) + eps)

``RMSprop``: s = α·s + (1 - α)·g², p = p - lr · g / (sqrt(s) + eps) (centered: s minus
the square of the running mean of g; momentum: a velocity of those steps). ``Adagrad``:
s = s + g² (all the squares so far), p = p - lr_t · g / (sqrt(s) + eps), with
lr_t = lr / (1 + (t - 1)·lr_decay).

Two ways to write momentum. The NumPy article writes

    v = β·v + (1 - β)·g,   p = p - lr_article · v          (v starts at 0)

while PyTorch (and this module) writes v = β·v + g, p = p - lr·v. Unrolled, the
article's v is (1 - β)·Σ_k β^k·g_(t-k) and PyTorch's is Σ_k β^k·g_(t-k): the same
direction, but PyTorch's is 1/(1 - β) times longer. For a steady gradient g, PyTorch's
v grows to g/(1 - β) (10·g for β = 0.9) while the article's settles at g. So:

    article's rule with lr_article  ==  PyTorch's rule with lr = (1 - β)·lr_article

step for step (equal up to rounding, since both v start at zero), and the same lr
in PyTorch's form takes 1/(1 - β) times larger steps once the velocity has built up.
(``dampening=β`` gives the article's v from the second step on; its first step is
v = g, as always in PyTorch.)

The updates are Tensor operations under ``no_grad()``, in place on the parameters and
on the state's tensors (see ``optimizer.py`` for the groups, state and state dicts).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from ..creation import full_like, zeros_like
from ..functions import maximum, tensor
from ..tensor import Tensor
from . import lr_scheduler
from .lr_scheduler import (
    CosineAnnealingLR,
    ExponentialLR,
    LambdaLR,
    LRScheduler,
    MultiStepLR,
    OneCycleLR,
    ReduceLROnPlateau,
    StepLR,
)
from .optimizer import Optimizer, check_non_negative, check_number


def _next_step(state: dict[str, Any]) -> float:
    """Count one more step in ``state["step"]`` (a 0-d tensor, as PyTorch's) and
    return the new count."""
    state["step"] += 1
    return float(state["step"])


# --- SGD -----------------------------------------------------------------------------


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with momentum (heavy-ball or Nesterov),
    dampening and weight decay (the formulas are in the module docstring).

    >>> opt = SGD([w, b], lr=0.001, momentum=0.9)
    >>> loss.backward(); opt.step(); opt.zero_grad()

    State: ``"momentum_buffer"`` (only with momentum).
    """

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, momentum: float = 0,
                 dampening: float = 0, weight_decay: float = 0, nesterov: bool = False, *,
                 maximize: bool = False) -> None:
        super().__init__(params, {"lr": lr, "momentum": momentum, "dampening": dampening,
                                  "weight_decay": weight_decay, "nesterov": nesterov,
                                  "maximize": maximize})

    def _check(self, settings: dict[str, Any], where: str) -> None:
        for name in ("lr", "momentum", "weight_decay"):
            check_non_negative(settings[name], name, where)
        check_number(settings["dampening"], "dampening", where)
        if settings["nesterov"] and (settings["momentum"] <= 0 or settings["dampening"] != 0):
            raise ValueError(f"{where}: Nesterov momentum requires a momentum and zero "
                             f"dampening (got momentum={settings['momentum']}, "
                             f"dampening={settings['dampening']})")

    def _update(self, p: Tensor, grad: Tensor, group: dict[str, Any]) -> None:
        momentum = group["momentum"]
        if group["weight_decay"] != 0:
            grad = grad.add(p, alpha=group["weight_decay"])  # d(½·wd·p²)/dp = wd·p
        if momentum != 0:
            state = self.state[p]
            v = state.get("momentum_buffer")
            if v is None:
                v = state["momentum_buffer"] = grad.clone()  # first step: v = g
            else:
                v.mul_(momentum).add_(grad, alpha=1 - group["dampening"])
            grad = grad.add(v, alpha=momentum) if group["nesterov"] else v
        p.add_(grad, alpha=-group["lr"])


# --- Adam and AdamW ------------------------------------------------------------------


class Adam(Optimizer):
    """Adam: a step along the running mean of the gradient, divided per element by
    the root of the running mean of its square, both corrected for starting at zero.
    ``weight_decay`` is added to the gradient (an L2 penalty) unless
    ``decoupled_weight_decay=True``, which is AdamW. ``amsgrad`` divides by the
    largest running mean of the square so far.

    State: ``"step"``, ``"exp_avg"``, ``"exp_avg_sq"`` (and ``"max_exp_avg_sq"``).
    """

    def __init__(self, params: Iterable[Any], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False, *, maximize: bool = False,
                 decoupled_weight_decay: bool = False) -> None:
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps,
                                  "weight_decay": weight_decay, "amsgrad": amsgrad,
                                  "maximize": maximize,
                                  "decoupled_weight_decay": decoupled_weight_decay})

    def _check(self, settings: dict[str, Any], where: str) -> None:
        for name in ("lr", "eps", "weight_decay"):
            check_non_negative(settings[name], name, where)
        betas = settings["betas"]
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"{where}: betas must be a pair (beta1, beta2), got {betas!r}")
        for k, beta in enumerate(betas):
            check_number(beta, f"betas[{k}]", where)
            if not 0.0 <= beta < 1.0:
                raise ValueError(f"{where}: Invalid beta parameter at index {k}: {beta} "
                                 "(each beta must be in [0, 1))")

    def _update(self, p: Tensor, grad: Tensor, group: dict[str, Any]) -> None:
        beta1, beta2 = group["betas"]
        lr, weight_decay = group["lr"], group["weight_decay"]
        state = self.state[p]
        if not state:
            state["step"] = tensor(0.0)
            state["exp_avg"] = zeros_like(p)  # m
            state["exp_avg_sq"] = zeros_like(p)  # s
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = zeros_like(p)
        t = _next_step(state)
        if weight_decay != 0:
            if group["decoupled_weight_decay"]:
                p.mul_(1 - lr * weight_decay)  # AdamW: shrink p itself
            else:
                grad = grad.add(p, alpha=weight_decay)
        m, s = state["exp_avg"], state["exp_avg_sq"]
        m.mul_(beta1).add_(grad, alpha=1 - beta1)
        s.mul_(beta2).add_(grad * grad, alpha=1 - beta2)
        if group["amsgrad"]:
            if "max_exp_avg_sq" not in state:
                state["max_exp_avg_sq"] = zeros_like(p)
            state["max_exp_avg_sq"].copy_(maximum(state["max_exp_avg_sq"], s))
            s = state["max_exp_avg_sq"]
        # both running means start at 0, so early on they are too small by the factor
        # (1 - beta^t); dividing by it removes that bias
        bias_correction1 = 1 - beta1 ** t
        bias_correction2 = 1 - beta2 ** t
        denominator = s.sqrt() / math.sqrt(bias_correction2) + group["eps"]
        p.add_(m / denominator, alpha=-lr / bias_correction1)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter): each step first shrinks
    p by the factor (1 - lr·weight_decay), instead of adding weight_decay·p to the
    gradient. The default weight decay is 1e-2, as in PyTorch."""

    def __init__(self, params: Iterable[Any], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize,
                         decoupled_weight_decay=True)


# --- RMSprop and Adagrad -------------------------------------------------------------


class RMSprop(Optimizer):
    """Divides the gradient by the root of a running mean of its square (``alpha``
    is that mean's decay). ``centered`` subtracts the square of the running mean of the
    gradient (an estimate of its variance); ``momentum`` keeps a velocity of the steps.

    State: ``"step"``, ``"square_avg"`` (and ``"momentum_buffer"``, ``"grad_avg"``).
    """

    def __init__(self, params: Iterable[Any], lr: float = 1e-2, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0, momentum: float = 0,
                 centered: bool = False, *, maximize: bool = False) -> None:
        super().__init__(params, {"lr": lr, "momentum": momentum, "alpha": alpha,
                                  "eps": eps, "centered": centered,
                                  "weight_decay": weight_decay, "maximize": maximize})

    def _check(self, settings: dict[str, Any], where: str) -> None:
        for name in ("lr", "eps", "momentum", "weight_decay", "alpha"):
            check_non_negative(settings[name], name, where)

    def _update(self, p: Tensor, grad: Tensor, group: dict[str, Any]) -> None:
        alpha, eps, momentum = group["alpha"], group["eps"], group["momentum"]
        state = self.state[p]
        if not state:
            state["step"] = tensor(0.0)
            state["square_avg"] = zeros_like(p)
        _next_step(state)
        if group["weight_decay"] != 0:
            grad = grad.add(p, alpha=group["weight_decay"])
        square_avg = state["square_avg"]
        square_avg.mul_(alpha).add_(grad * grad, alpha=1 - alpha)
        if group["centered"]:
            grad_avg = state.setdefault("grad_avg", zeros_like(p))
            grad_avg.mul_(alpha).add_(grad, alpha=1 - alpha)
            avg = (square_avg - grad_avg * grad_avg).sqrt() + eps
        else:
            avg = square_avg.sqrt() + eps
        if momentum > 0:
            v = state.setdefault("momentum_buffer", zeros_like(p))
            v.mul_(momentum).add_(grad / avg)
            p.add_(v, alpha=-group["lr"])
        else:
            p.add_(grad / avg, alpha=-group["lr"])


class Adagrad(Optimizer):
    """Divides the gradient by the root of the sum of all its squares so far, so each
    element's steps shrink as it keeps receiving gradient; ``lr_decay`` also shrinks
    lr itself: lr / (1 + (t - 1)·lr_decay).

    State: ``"step"`` and ``"sum"`` (starting at ``initial_accumulator_value``), made
    for every parameter when the optimizer is built, as in PyTorch.
    """

    def __init__(self, params: Iterable[Any], lr: float = 1e-2, lr_decay: float = 0,
                 weight_decay: float = 0, initial_accumulator_value: float = 0,
                 eps: float = 1e-10, *, maximize: bool = False) -> None:
        super().__init__(params, {"lr": lr, "lr_decay": lr_decay, "eps": eps,
                                  "weight_decay": weight_decay,
                                  "initial_accumulator_value": initial_accumulator_value,
                                  "maximize": maximize})
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(p, group)

    def _init_state(self, p: Tensor, group: dict[str, Any]) -> None:
        state = self.state[p]
        state["step"] = tensor(0.0)
        state["sum"] = full_like(p, group["initial_accumulator_value"])

    def _check(self, settings: dict[str, Any], where: str) -> None:
        for name in ("lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps"):
            check_non_negative(settings[name], name, where)

    def _update(self, p: Tensor, grad: Tensor, group: dict[str, Any]) -> None:
        if not self.state[p]:  # a parameter added later with add_param_group
            self._init_state(p, group)
        state = self.state[p]
        t = _next_step(state)
        if group["weight_decay"] != 0:
            grad = grad.add(p, alpha=group["weight_decay"])
        lr = group["lr"] / (1 + (t - 1) * group["lr_decay"])
        state["sum"].add_(grad * grad)
        p.add_(grad / (state["sum"].sqrt() + group["eps"]), alpha=-lr)


__all__ = [
    "SGD", "Adagrad", "Adam", "AdamW", "CosineAnnealingLR", "ExponentialLR", "LRScheduler",
    "LambdaLR", "MultiStepLR", "OneCycleLR", "Optimizer", "RMSprop", "ReduceLROnPlateau",
    "StepLR", "lr_scheduler",
]
