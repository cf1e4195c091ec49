"""Learning-rate schedules, as ``torch.optim.lr_scheduler``.

Build one on an optimizer, call ``scheduler.step()`` after ``optimizer.step()`` (once
per epoch, or once per batch for ``OneCycleLR``), read the rates with
``get_last_lr()``. Building a scheduler stores each group's starting lr as
``group["initial_lr"]`` (``base_lrs``) and counts ``last_epoch`` from 0.

Most schedules are written as PyTorch writes them, recursively: the next lr is
computed from the group's current lr (``StepLR`` multiplies it by gamma every
``step_size`` epochs), so a change of lr made by hand, or by a second scheduler, is
carried along. ``step(epoch)`` (deprecated in PyTorch too) jumps to an epoch with the
closed form instead: lr = base_lr · gamma^(epoch // step_size) for ``StepLR``.
"""

from __future__ import annotations

import copy
import math
import types
import warnings
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

from .._validate import positive_int, positive_number
from .optimizer import Optimizer, check_non_negative, check_number


def _check_optimizer(optimizer: Any, where: str) -> Optimizer:
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"{where}: {type(optimizer).__name__} is not an Optimizer; pass "
                        "the optimizer (SGD, Adam ...) whose learning rates to schedule")
    return optimizer


def _whole_number(value: Any, name: str, where: str, least: int) -> int:
    """An int >= ``least`` (Python or NumPy, not a bool), or ValueError."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < least:
        raise ValueError(f"{where}: {name} must be an int >= {least}, got {value!r}")
    return int(value)


def _per_group(value: Any, name: str, optimizer: Optimizer, where: str) -> list[Any]:
    """One value for each parameter group: a list of them, or one for all."""
    groups = len(optimizer.param_groups)
    if isinstance(value, (list, tuple)):
        if len(value) != groups:
            raise ValueError(f"{where}: {name} must have the same length as "
                             f"optimizer.param_groups: {name} has {len(value)} values, "
                             f"param_groups has {groups}")
        values = list(value)
    else:
        values = [value] * groups
    for v in values:
        check_number(v, name, where)
    return values


class LRScheduler:
    """The base of the schedules: sets ``group["lr"]`` of each parameter group.

    ``last_epoch`` counts the calls of ``step()`` (building the scheduler is the
    first, which sets epoch 0); ``base_lrs`` holds each group's ``initial_lr``. A
    subclass says in ``get_lr()`` what the rates of epoch ``last_epoch`` are.
    ``last_epoch`` other than -1 resumes a schedule: the groups must then already hold
    ``initial_lr`` (from the optimizer's loaded state dict).
    """

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        where = type(self).__name__
        self.optimizer = _check_optimizer(optimizer, where)
        last_epoch = _whole_number(last_epoch, "last_epoch", where, -1)
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for k, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(f"{where}: param 'initial_lr' is not specified in "
                                   f"param_groups[{k}] when resuming with last_epoch="
                                   f"{last_epoch}; load the optimizer's state dict first, or "
                                   "start a new schedule with last_epoch=-1")
        self.base_lrs: list[float] = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._initial_step()

    def _initial_step(self) -> None:
        """The step made by the constructor (epoch 0, or the epoch after a resumed one)."""
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def get_lr(self) -> list[float]:
        """The rates for epoch ``last_epoch``, computed by ``step()``; to read the
        current rates, use ``get_last_lr()``."""
        raise NotImplementedError

    def _warn_if_outside_step(self) -> None:
        if not getattr(self, "_get_lr_called_within_step", False):
            warnings.warn(f"{type(self).__name__}.get_lr() computes the rates of the next "
                          "step (step() calls it); to get the last learning rate computed "
                          "by the scheduler, use get_last_lr()", UserWarning, stacklevel=3)

    def step(self, epoch: int | None = None) -> None:
        """Move to the next epoch and set the groups' lrs; call it after
        ``optimizer.step()``. ``epoch`` (deprecated, as in PyTorch) jumps to that epoch
        with the closed-form formula where there is one."""
        optimizer = self.optimizer
        if self._step_count == 1 and not getattr(optimizer, "_opt_called", True) \
                and type(optimizer).step is Optimizer.step:
            warnings.warn(f"{type(self).__name__}.step() was called before "
                          "optimizer.step(): call optimizer.step() first, then "
                          "scheduler.step(), or the first learning rate of the schedule is "
                          "skipped", UserWarning, stacklevel=2)
        self._step_count += 1
        self._get_lr_called_within_step = True
        try:
            if epoch is None:
                self.last_epoch += 1
                values = self.get_lr()
            else:
                warnings.warn(f"{type(self).__name__}.step(epoch) is deprecated (as in "
                              "PyTorch): call step() without an epoch once per epoch",
                              UserWarning, stacklevel=2)
                self.last_epoch = _whole_number(epoch, "epoch", type(self).__name__, 0)
                closed_form = getattr(self, "_get_closed_form_lr", self.get_lr)
                values = closed_form()
        finally:
            self._get_lr_called_within_step = False
        for group, lr in zip(optimizer.param_groups, values):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in optimizer.param_groups]

    def get_last_lr(self) -> list[float]:
        """The learning rate of each parameter group, as last set by this scheduler."""
        return list(self._last_lr)

    def state_dict(self) -> dict[str, Any]:
        """Every attribute except the optimizer, as in PyTorch."""
        return {key: value for key, value in self.__dict__.items() if key != "optimizer"}

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Take the attributes saved by ``state_dict()`` (copied). Checked first: a key
        this scheduler does not have is an error, and then nothing has changed."""
        where = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"{where}: expected the dict from scheduler.state_dict(), got "
                            f"{type(state_dict).__name__}")
        unknown = sorted(str(key) for key in state_dict
                         if key not in self.__dict__ or key == "optimizer")
        if unknown:
            raise ValueError(f"{where}: unknown keys {unknown}; is the state dict from "
                             f"another kind of scheduler? (nothing was changed)")
        self.__dict__.update(copy.deepcopy(dict(state_dict)))


class LambdaLR(LRScheduler):
    """lr = base_lr · lr_lambda(epoch): a function of the epoch (or a list of them,
    one per parameter group) gives the factor. ``state_dict`` keeps the attributes of
    callable objects, not functions, as PyTorch."""

    def __init__(self, optimizer: Optimizer, lr_lambda: Callable[[int], float]
                 | list[Callable[[int], float]], last_epoch: int = -1) -> None:
        optimizer = _check_optimizer(optimizer, "LambdaLR")
        groups = len(optimizer.param_groups)
        if isinstance(lr_lambda, (list, tuple)):
            if len(lr_lambda) != groups:
                raise ValueError(f"LambdaLR: Expected {groups} lr_lambdas (one per "
                                 f"parameter group), but got {len(lr_lambda)}")
            self.lr_lambdas = list(lr_lambda)
        else:
            self.lr_lambdas = [lr_lambda] * groups
        for fn in self.lr_lambdas:
            if not callable(fn):
                raise TypeError(f"LambdaLR: lr_lambda must be a function of the epoch, got "
                                f"{type(fn).__name__}")
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        self._warn_if_outside_step()
        return [base_lr * fn(self.last_epoch)
                for fn, base_lr in zip(self.lr_lambdas, self.base_lrs)]

    def state_dict(self) -> dict[str, Any]:
        state = {key: value for key, value in self.__dict__.items()
                 if key not in ("optimizer", "lr_lambdas")}
        state["lr_lambdas"] = [None if isinstance(fn, types.FunctionType)
                               else fn.__dict__.copy() for fn in self.lr_lambdas]
        return state

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        state = dict(state_dict)
        lambdas = state.pop("lr_lambdas", [None] * len(self.lr_lambdas))
        if len(lambdas) != len(self.lr_lambdas):
            raise ValueError(f"LambdaLR.load_state_dict: {len(lambdas)} lr_lambdas saved, "
                             f"this scheduler has {len(self.lr_lambdas)}")
        super().load_state_dict(state)
        for fn, saved in zip(self.lr_lambdas, lambdas):
            if saved is not None:
                fn.__dict__.update(saved)


class StepLR(LRScheduler):
    """Multiplies the lr by gamma every ``step_size`` epochs: lr = base_lr ·
    gamma^(epoch // step_size). The article's "×0.8 every 200 epochs" is
    ``StepLR(opt, 200, gamma=0.8)``."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1,
                 last_epoch: int = -1) -> None:
        self.step_size = positive_int(step_size, "step_size", "StepLR")
        self.gamma = positive_number(gamma, "gamma", "StepLR")
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        self._warn_if_outside_step()
        groups = self.optimizer.param_groups
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return [group["lr"] for group in groups]
        return [group["lr"] * self.gamma for group in groups]

    def _get_closed_form_lr(self) -> list[float]:
        return [base_lr * self.gamma ** (self.last_epoch // self.step_size)
                for base_lr in self.base_lrs]


class MultiStepLR(LRScheduler):
    """Multiplies the lr by gamma at each milestone epoch (a milestone given n times:
    by gamma^n)."""

    def __init__(self, optimizer: Optimizer, milestones: Iterable[int], gamma: float = 0.1,
                 last_epoch: int = -1) -> None:
        if isinstance(milestones, (int, np.integer)):
            raise TypeError(f"MultiStepLR: milestones must be a list of epochs, got "
                            f"{milestones!r}; write [{milestones}]")
        self.milestones = Counter(_whole_number(m, "each milestone", "MultiStepLR", 0)
                                  for m in milestones)
        self.gamma = positive_number(gamma, "gamma", "MultiStepLR")
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        self._warn_if_outside_step()
        groups = self.optimizer.param_groups
        if self.last_epoch not in self.milestones:
            return [group["lr"] for group in groups]
        factor = self.gamma ** self.milestones[self.last_epoch]
        return [group["lr"] * factor for group in groups]

    def _get_closed_form_lr(self) -> list[float]:
        passed = bisect_right(sorted(self.milestones.elements()), self.last_epoch)
        return [base_lr * self.gamma ** passed for base_lr in self.base_lrs]


class ExponentialLR(LRScheduler):
    """Multiplies the lr by gamma every epoch: lr = base_lr · gamma^epoch."""

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1) -> None:
        self.gamma = positive_number(gamma, "gamma", "ExponentialLR")
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        self._warn_if_outside_step()
        groups = self.optimizer.param_groups
        if self._is_initial:  # building (or resuming) keeps the current rates
            return [group["lr"] for group in groups]
        return [group["lr"] * self.gamma for group in groups]

    def _get_closed_form_lr(self) -> list[float]:
        return [base_lr * self.gamma ** self.last_epoch for base_lr in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    """Half a cosine from base_lr down to ``eta_min`` over ``T_max`` epochs:

        lr = eta_min + (base_lr - eta_min) · (1 + cos(π · epoch / T_max)) / 2

    computed recursively, as PyTorch: each step multiplies (lr - eta_min) by the ratio
    of two neighbouring values of 1 + cos. Past T_max it rises again (a period of
    2·T_max), with no restarts."""

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0,
                 last_epoch: int = -1) -> None:
        self.T_max = positive_int(T_max, "T_max", "CosineAnnealingLR")
        check_number(eta_min, "eta_min", "CosineAnnealingLR")
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        self._warn_if_outside_step()
        groups = self.optimizer.param_groups
        epoch, T_max, eta_min = self.last_epoch, self.T_max, self.eta_min
        if self._is_initial:
            return [group["lr"] for group in groups]
        if (epoch - 1 - T_max) % (2 * T_max) == 0:  # at the bottom, 1 + cos = 0: add back
            return [group["lr"] + (base_lr - eta_min) * (1 - math.cos(math.pi / T_max)) / 2
                    for base_lr, group in zip(self.base_lrs, groups)]
        ratio = (1 + math.cos(math.pi * epoch / T_max)) / \
            (1 + math.cos(math.pi * (epoch - 1) / T_max))
        return [ratio * (group["lr"] - eta_min) + eta_min for group in groups]

    def _get_closed_form_lr(self) -> list[float]:
        return [self.eta_min + (base_lr - self.eta_min)
                * (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
                for base_lr in self.base_lrs]


class ReduceLROnPlateau(LRScheduler):
    """Multiplies the lr by ``factor`` once a metric (say the validation loss, given
    to ``step(metrics)``) has not improved for more than ``patience`` epochs.

    ``mode`` "min" (lower is better) or "max". Improving means beating the best value
    by the ``threshold``: relatively (best·(1 ∓ threshold), ``threshold_mode="rel"``)
    or absolutely (best ∓ threshold, "abs"). After a reduction, ``cooldown`` epochs are
    not counted. The lr never goes below ``min_lr`` (one for all groups, or a list),
    and a change smaller than ``eps`` is skipped.
    """

    def __init__(self, optimizer: Optimizer, mode: str = "min", factor: float = 0.1,
                 patience: int = 10, threshold: float = 1e-4, threshold_mode: str = "rel",
                 cooldown: int = 0, min_lr: float | list[float] = 0,
                 eps: float = 1e-8) -> None:
        where = "ReduceLROnPlateau"
        check_number(factor, "factor", where)
        if factor >= 1.0:
            raise ValueError(f"{where}: Factor should be < 1.0 (new lr = lr · factor), got "
                             f"{factor}")
        check_non_negative(factor, "factor", where)
        self.factor = factor
        self.optimizer = _check_optimizer(optimizer, where)
        if isinstance(min_lr, (list, tuple)):
            self.default_min_lr = None
            self.min_lrs = _per_group(min_lr, "min_lr", optimizer, where)
        else:
            check_number(min_lr, "min_lr", where)
            self.default_min_lr = min_lr
            self.min_lrs = [min_lr] * len(optimizer.param_groups)
        self.patience = _whole_number(patience, "patience", where, 0)
        self.cooldown = _whole_number(cooldown, "cooldown", where, 0)
        check_non_negative(eps, "eps", where)
        self.eps = eps
        self.last_epoch = 0
        self._last_lr = [group["lr"] for group in optimizer.param_groups]
        self._init_is_better(mode, threshold, threshold_mode)
        self._reset()

    def _init_is_better(self, mode: str, threshold: float, threshold_mode: str) -> None:
        where = "ReduceLROnPlateau"
        if mode not in ("min", "max"):
            raise ValueError(f"{where}: mode {mode!r} is unknown! Use 'min' or 'max'")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"{where}: threshold mode {threshold_mode!r} is unknown! Use "
                             "'rel' or 'abs'")
        check_number(threshold, "threshold", where)
        self.mode_worse = math.inf if mode == "min" else -math.inf
        self.mode, self.threshold, self.threshold_mode = mode, threshold, threshold_mode

    def _reset(self) -> None:
        self.best = self.mode_worse
        self.cooldown_counter = 0
        self.num_bad_epochs = 0

    @property
    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0

    def _is_better(self, a: float, best: float) -> bool:
        """Does the metric ``a`` improve on ``best`` by more than the threshold?"""
        if self.threshold_mode == "rel":
            if self.mode == "min":
                return a < best * (1.0 - self.threshold)
            return a > best * (1.0 + self.threshold)
        if self.mode == "min":
            return a < best - self.threshold
        return a > best + self.threshold

    def step(self, metrics: Any, epoch: int | None = None) -> None:  # type: ignore[override]
        """Record this epoch's metric (a number or a one-element tensor) and reduce
        the lr if it has stopped improving."""
        try:
            current = float(metrics)
        except (TypeError, ValueError, RuntimeError):
            raise TypeError(f"ReduceLROnPlateau.step: metrics must be a number (e.g. the "
                            f"validation loss) or a one-element tensor, got "
                            f"{type(metrics).__name__}") from None
        if epoch is None:
            epoch = self.last_epoch + 1
        else:
            warnings.warn("ReduceLROnPlateau.step(metrics, epoch) is deprecated (as in "
                          "PyTorch): leave out the epoch", UserWarning, stacklevel=2)
        self.last_epoch = epoch
        if self._is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.in_cooldown:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs during the cooldown do not count
        if self.num_bad_epochs > self.patience:
            self._reduce_lr()
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def _reduce_lr(self) -> None:
        groups = self.optimizer.param_groups
        if len(groups) != len(self.min_lrs):
            if self.default_min_lr is None:
                raise RuntimeError(f"ReduceLROnPlateau: the optimizer has {len(groups)} "
                                   f"parameter groups but min_lr gave {len(self.min_lrs)} "
                                   "(a group was added since); set the scheduler's "
                                   "min_lrs to one value per group")
            self.min_lrs = [self.default_min_lr] * len(groups)
        for group, min_lr in zip(groups, self.min_lrs):
            old_lr = float(group["lr"])
            new_lr = max(old_lr * self.factor, min_lr)
            if old_lr - new_lr > self.eps:
                group["lr"] = new_lr


class OneCycleLR(LRScheduler):
    """The 1cycle policy (Smith): the lr rises from max_lr/div_factor to ``max_lr``
    over the first ``pct_start`` of the steps, then falls to
    max_lr/(div_factor·final_div_factor); call ``step()`` after every batch.

    ``total_steps``, or ``epochs`` and ``steps_per_epoch``, give the length of the
    cycle. ``anneal_strategy`` "cos" or "linear" shapes each phase; ``three_phase``
    comes back down to the starting lr first, then falls. With ``cycle_momentum``
    the momentum (SGD, RMSprop) or beta1 (Adam) moves the opposite way, between
    ``max_momentum`` and ``base_momentum``: this sets the groups' momentum, also on an
    SGD built without any.
    """

    def __init__(self, optimizer: Optimizer, max_lr: float | list[float],
                 total_steps: int | None = None, epochs: int | None = None,
                 steps_per_epoch: int | None = None, pct_start: float = 0.3,
                 anneal_strategy: str = "cos", cycle_momentum: bool = True,
                 base_momentum: float | list[float] = 0.85,
                 max_momentum: float | list[float] = 0.95, div_factor: float = 25.0,
                 final_div_factor: float = 1e4, three_phase: bool = False,
                 last_epoch: int = -1) -> None:
        where = "OneCycleLR"
        optimizer = _check_optimizer(optimizer, where)
        if total_steps is not None:
            self.total_steps = positive_int(total_steps, "total_steps", where)
        elif epochs is not None and steps_per_epoch is not None:
            self.total_steps = positive_int(epochs, "epochs", where) * \
                positive_int(steps_per_epoch, "steps_per_epoch", where)
        else:
            raise ValueError(f"{where}: You must define either total_steps OR (epochs AND "
                             "steps_per_epoch)")
        check_number(pct_start, "pct_start", where)
        if not 0 <= pct_start <= 1:
            raise ValueError(f"{where}: Expected float between 0 and 1 pct_start, but got "
                             f"{pct_start}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"{where}: anneal_strategy must be one of 'cos' or 'linear', "
                             f"instead got {anneal_strategy!r}")
        max_lrs = _per_group(max_lr, "max_lr", optimizer, where)
        div_factor = positive_number(div_factor, "div_factor", where)
        final_div_factor = positive_number(final_div_factor, "final_div_factor", where)
        if cycle_momentum:
            if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
                raise ValueError(f"{where}: optimizer must support momentum or beta1 with "
                                 f"`cycle_momentum` option enabled ({type(optimizer).__name__}"
                                 " has neither); pass cycle_momentum=False")
            max_momentums = _per_group(max_momentum, "max_momentum", optimizer, where)
            base_momentums = _per_group(base_momentum, "base_momentum", optimizer, where)
        # each phase goes from the group's value named start_* to the one named end_*,
        # ending at step end_step
        T, pct = self.total_steps, float(pct_start)
        if three_phase:
            self._schedule_phases = [
                {"end_step": pct * T - 1, "start_lr": "initial_lr", "end_lr": "max_lr",
                 "start_momentum": "max_momentum", "end_momentum": "base_momentum"},
                {"end_step": 2 * pct * T - 2, "start_lr": "max_lr", "end_lr": "initial_lr",
                 "start_momentum": "base_momentum", "end_momentum": "max_momentum"},
                {"end_step": T - 1, "start_lr": "initial_lr", "end_lr": "min_lr",
                 "start_momentum": "max_momentum", "end_momentum": "max_momentum"},
            ]
        else:
            self._schedule_phases = [
                {"end_step": pct * T - 1, "start_lr": "initial_lr", "end_lr": "max_lr",
                 "start_momentum": "max_momentum", "end_momentum": "base_momentum"},
                {"end_step": T - 1, "start_lr": "max_lr", "end_lr": "min_lr",
                 "start_momentum": "base_momentum", "end_momentum": "max_momentum"},
            ]
        self.pct_start = pct
        self.anneal_strategy = anneal_strategy
        self.cycle_momentum = bool(cycle_momentum)
        self.use_beta1 = "betas" in optimizer.defaults
        if last_epoch == -1:
            for k, group in enumerate(optimizer.param_groups):
                group["initial_lr"] = max_lrs[k] / div_factor
                group["max_lr"] = max_lrs[k]
                group["min_lr"] = group["initial_lr"] / final_div_factor
                if self.cycle_momentum:
                    if self.use_beta1:
                        group["betas"] = (max_momentums[k], *group["betas"][1:])
                    else:
                        group["momentum"] = max_momentums[k]
                    group["max_momentum"] = max_momentums[k]
                    group["base_momentum"] = base_momentums[k]
        super().__init__(optimizer, last_epoch)

    def _anneal(self, start: float, end: float, pct: float) -> float:
        """From ``start`` (pct = 0) to ``end`` (pct = 1)."""
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def get_lr(self) -> list[float]:
        self._warn_if_outside_step()
        step = self.last_epoch
        if step > self.total_steps:
            raise ValueError(f"OneCycleLR: Tried to step {step} times. The specified number "
                             f"of total steps is {self.total_steps}; make total_steps (or "
                             "epochs · steps_per_epoch) cover every step")
        lrs = []
        for group in self.optimizer.param_groups:
            start_step = 0.0
            for k, phase in enumerate(self._schedule_phases):
                end_step = phase["end_step"]
                if step <= end_step or k == len(self._schedule_phases) - 1:
                    if end_step == start_step:
                        raise ValueError(f"OneCycleLR: phase {k + 1} of the cycle has no "
                                         f"steps (pct_start={self.pct_start}, total_steps="
                                         f"{self.total_steps}); change pct_start or "
                                         "total_steps")
                    pct = (step - start_step) / (end_step - start_step)
                    lrs.append(self._anneal(group[phase["start_lr"]],
                                            group[phase["end_lr"]], pct))
                    if self.cycle_momentum:
                        momentum = self._anneal(group[phase["start_momentum"]],
                                                group[phase["end_momentum"]], pct)
                        if self.use_beta1:
                            group["betas"] = (momentum, *group["betas"][1:])
                        else:
                            group["momentum"] = momentum
                    break
                start_step = end_step
        return lrs
