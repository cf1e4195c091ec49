"""The part every optimizer shares: parameter groups, per-parameter state, saving.

As in PyTorch, ``optimizer.param_groups`` is a list of dicts, one per group: its
``"params"`` (the tensors) and its settings (``lr``, ``momentum`` ...), the
optimizer's defaults filled in where the group gives none. ``optimizer.state`` maps
each parameter to a dict of its running values (``"momentum_buffer"``, ``"exp_avg"``
...), made at its first step. ``state_dict()`` gives both with the tensors replaced
by their position (0, 1, ... in group order), which ``load_state_dict`` maps back.

A step updates the parameters in place under ``no_grad()``: they stay the very same
leaf tensors (a model holding them sees the new values) and their version counters
move, so a graph built before the step cannot be reused by mistake. A parameter whose
``.grad`` is None (no gradient reached it) is skipped, as in PyTorch.
"""

from __future__ import annotations

import numbers
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ..grad_mode import enable_grad, no_grad
from ..tensor import Tensor

# PyTorch's wording of "Invalid ...: value" for the settings that must be >= 0
_WHAT = {
    "lr": "learning rate", "eps": "epsilon value", "momentum": "momentum value",
    "weight_decay": "weight_decay value", "alpha": "alpha value",
    "lr_decay": "lr_decay value",
    "initial_accumulator_value": "initial_accumulator_value value",
}


def check_number(value: Any, name: str, where: str) -> None:
    """A real number (not a bool, an array or a string), or TypeError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{where}: {name} must be a number, got {value!r}")


def check_non_negative(value: Any, name: str, where: str) -> None:
    """A number >= 0 (NaN is not), or PyTorch's "Invalid learning rate: -1"."""
    check_number(value, name, where)
    if not value >= 0.0:  # also true for NaN
        raise ValueError(f"{where}: Invalid {_WHAT.get(name, name)}: {value} "
                         f"({name} must be >= 0)")


class Optimizer:
    """Holds ``param_groups`` and ``state``; a subclass says how one parameter moves.

    ``params`` is an iterable of tensors (e.g. ``model.parameters()``), of
    ``(name, tensor)`` pairs (``model.named_parameters()``), or of dicts
    ``{"params": [...], "lr": ..., ...}``: each dict is a group whose settings override
    the defaults, e.g. weight decay on the weights only.

    A subclass passes its ``defaults``, checks a group's settings in ``_check`` and
    moves one parameter in ``_update(p, grad, group)``, reading and writing
    ``self.state[p]``.
    """

    def __init__(self, params: Iterable[Any], defaults: dict[str, Any]) -> None:
        where = type(self).__name__
        if isinstance(params, Tensor):
            raise TypeError(f"{where}: params must be an iterable of Tensors or dicts, got "
                            "a single Tensor; wrap it in a list: [w]")
        if isinstance(params, (set, frozenset)):
            raise TypeError(f"{where}: params must be an ordered collection such as a list; "
                            "the order of a set changes between runs")
        if isinstance(params, Mapping):
            raise TypeError(f"{where}: params must be an iterable of Tensors or dicts, got "
                            "one dict; wrap the group in a list: [{'params': ...}]")
        self._check(defaults, where)
        self.defaults = defaults
        self.state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        self._opt_called = False  # has step() run? (schedulers warn when it has not)
        groups = list(params)
        if not groups:
            raise ValueError(f"{where}: optimizer got an empty parameter list; pass the "
                             "tensors to optimize, e.g. [w, b] or model.parameters()")
        if not isinstance(groups[0], Mapping):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    # --- groups ------------------------------------------------------------------------

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters with its own settings (the defaults fill the rest),
        e.g. layers unfrozen while fine-tuning. The dict itself becomes the group."""
        where = type(self).__name__
        if not isinstance(param_group, dict):
            raise TypeError(f"{where}: a parameter group must be a dict such as "
                            f"{{'params': [w], 'lr': 0.1}}, got {type(param_group).__name__}")
        if "params" not in param_group:
            raise KeyError(f"{where}: the group has no 'params' entry (the tensors to "
                           f"optimize); its keys are {sorted(map(str, param_group))}")
        params = param_group["params"]
        if isinstance(params, (set, frozenset)):
            raise TypeError(f"{where}: params must be an ordered collection such as a list; "
                            "the order of a set changes between runs")
        params = [params] if isinstance(params, Tensor) else list(params)
        named = [isinstance(p, tuple) for p in params]
        if any(named) and not all(named):
            raise ValueError(f"{where}: give all parameters with names, as (name, tensor) "
                             "pairs, or none")
        names = [p[0] for p in params] if any(named) else None
        tensors = [p[1] for p in params] if any(named) else params
        for k, p in enumerate(tensors):
            if not isinstance(p, Tensor):
                raise TypeError(f"{where}: optimizer can only optimize Tensors, but "
                                f"parameter {k} is a {type(p).__name__}")
            if not (p.is_leaf or p.retains_grad):
                raise ValueError(f"{where}: can't optimize a non-leaf Tensor: parameter {k} "
                                 f"(shape {p.shape}) was made by {p.grad_fn!r}; an "
                                 "optimizer updates tensors you created, not results of ops")
        if len({id(p) for p in tensors}) != len(tensors):
            raise ValueError(f"{where}: a parameter appears twice in one group; give each "
                             "tensor once")
        held = {id(p) for group in self.param_groups for p in group["params"]}
        if any(id(p) in held for p in tensors):
            raise ValueError(f"{where}: some parameters appear in more than one parameter "
                             "group; give each tensor to one group only")
        if self.param_groups and (names is None) != ("param_names" not in self.param_groups[0]):
            raise ValueError(f"{where}: all parameter groups should be with names or all "
                             "without")
        settings = {**self.defaults, **param_group}
        self._check(settings, where)
        # all checked: now the group is changed and added
        param_group["params"] = tensors
        if names is not None:
            param_group["param_names"] = names
        for key, value in self.defaults.items():
            param_group.setdefault(key, value)
        self.param_groups.append(param_group)

    def _check(self, settings: dict[str, Any], where: str) -> None:
        """Raise for a bad setting in ``settings`` (a group's, or the defaults)."""

    # --- the step ----------------------------------------------------------------------

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
                    if p.grad.requires_grad:  # made by backward(create_graph=True)
                        p.grad = p.grad.detach()
                    with no_grad():
                        p.grad.zero_()

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Move every parameter that has a gradient; returns ``closure()``'s loss.

        ``closure`` (optional) re-evaluates the model and returns the loss; it is
        called first, with gradients enabled."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        with no_grad():
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is not None:
                        grad = -p.grad if group.get("maximize") else p.grad
                        self._update(p, grad, group)
        self._opt_called = True
        return loss

    def _update(self, p: Tensor, grad: Tensor, group: dict[str, Any]) -> None:
        """Move ``p`` in place, given its gradient (negated for ``maximize``)."""
        raise NotImplementedError

    # --- saving and loading ------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """``{'state': {index: {...}}, 'param_groups': [{..., 'params': [indices]}]}``,
        the parameters numbered 0, 1, ... in group order. As in PyTorch, the state's
        tensors are the optimizer's own (they change as training goes on)."""
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {key: value for key, value in group.items() if key != "params"}
            for p in group["params"]:
                index.setdefault(id(p), len(index))
            packed["params"] = [index[id(p)] for p in group["params"]]
            groups.append(packed)
        state = {index[id(p)]: values for p, values in self.state.items() if id(p) in index}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Take the settings and state from ``state_dict`` (from ``state_dict()`` of an
        optimizer of the same kind over parameters of the same shapes, in the same
        groups). Everything is checked first: on an error nothing has changed. The
        state's tensors are copied."""
        where = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"{where}: expected the dict from optimizer.state_dict(), got "
                            f"{type(state_dict).__name__}")
        for key in ("state", "param_groups"):
            if key not in state_dict:
                raise KeyError(f"{where}: the state dict has no {key!r} entry; it should "
                               "come from optimizer.state_dict()")
        saved_groups = list(state_dict["param_groups"])
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"{where}: loaded state dict has a different number of "
                             f"parameter groups ({len(saved_groups)}, this optimizer has "
                             f"{len(self.param_groups)})")
        position: dict[Any, Tensor] = {}  # saved index -> this optimizer's parameter
        new_groups = []
        for k, (group, saved) in enumerate(zip(self.param_groups, saved_groups)):
            if not isinstance(saved, Mapping) or "params" not in saved:
                raise ValueError(f"{where}: group {k} of the state dict is not a dict with "
                                 "'params'")
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(f"{where}: loaded state dict contains a parameter group "
                                 "that doesn't match the size of optimizer's group (group "
                                 f"{k}: {len(saved['params'])} parameters saved, "
                                 f"{len(group['params'])} here)")
            position.update(zip(saved["params"], group["params"]))
            new_group = {key: value for key, value in saved.items() if key != "params"}
            self._check({**self.defaults, **new_group}, f"{where}: group {k}")
            if "param_names" in group and "param_names" not in new_group:
                new_group["param_names"] = group["param_names"]
            new_groups.append({**new_group, "params": group["params"]})
        new_state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        for index, values in state_dict["state"].items():
            if index not in position:
                raise ValueError(f"{where}: the state dict has state for parameter "
                                 f"{index!r}, which none of its groups lists")
            p = position[index]
            new_state[p] = {key: _copied(p, key, value, f"{where}: state[{index!r}]")
                            for key, value in values.items()}
        self.param_groups[:] = new_groups
        self.state = new_state

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for k, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {k}")
            lines += [f"    {key}: {group[key]}" for key in sorted(group) if key != "params"]
        return "\n".join(lines + [")"])


def _copied(p: Tensor, key: str, value: Any, where: str) -> Any:
    """A loaded state value: a tensor is copied, as the parameter's dtype (the step
    count keeps its own), and must have the parameter's shape unless it is 0-d."""
    if isinstance(value, Tensor):
        if value.ndim and value.shape != p.shape:
            raise ValueError(f"{where}[{key!r}] has shape {value.shape}, but the parameter "
                             f"has shape {p.shape}")
        if key != "step" and value.dtype != p.dtype:
            value = value.to(p.dtype)
        return value.detach().clone()
    if isinstance(value, numbers.Real):
        return value
    raise TypeError(f"{where}[{key!r}] is a {type(value).__name__}; expected a Tensor or "
                    "a number")
