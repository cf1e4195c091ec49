"""Tensor hooks and ``retain_grad``, as PyTorch has them: observers of the reverse pass.

``t.register_hook(fn)`` calls ``fn(grad)`` when the gradient with respect to ``t`` has
been computed (for a leaf: before it is added to ``.grad``); a returned tensor replaces
the gradient. ``t.retain_grad()`` makes a non-leaf keep its gradient in ``.grad``,
accumulating over passes; inside ``with retain_grads():`` every non-leaf made does.
Both work under ``backward()`` and ``autograd.grad`` alike,
and under ``create_graph=True`` the gradient handed to a hook is differentiable.

One observer serves them all; it joins the passes only while some hook or retained
gradient exists, so without them the engine's loop pays nothing.
"""

from __future__ import annotations

import itertools
import weakref
from typing import Any

import numpy as np

from .engine import Node, Observer, observing, state
from .tensor import Tensor

_ids = itertools.count()
_node_hooks: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # Node -> {id: fn}
_leaf_hooks: dict[int, tuple[weakref.ref, dict]] = {}  # id(leaf) -> (ref, {id: fn})
_retained: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # Node -> ref(tensor)


class AccumulateGrad:
    """What ``next_functions`` shows for a leaf: the step that adds into its .grad."""

    next_functions: tuple = ()

    def __init__(self, variable: Any) -> None:
        self.variable = variable

    def name(self) -> str:
        return "AccumulateGrad"

    def __repr__(self) -> str:
        return "<AccumulateGrad>"


def _next_functions(node: Node) -> tuple:
    """PyTorch's shape of the graph: one (node, 0) per input, where node is the input's
    Node, an AccumulateGrad for a leaf that requires grad, or None."""
    return tuple((p if type(p) is Node else None if p is None else AccumulateGrad(p), 0)
                 for p in node.parents)


Node.next_functions = property(_next_functions)  # grad_fn.next_functions, as PyTorch


class RemovableHandle:
    """What ``register_hook`` returns: ``handle.remove()`` takes the hook away."""

    def __init__(self, table: dict, hook_id: int) -> None:
        self._table, self.id = table, hook_id

    def remove(self) -> None:
        self._table.pop(self.id, None)
        _update_observer()


def _as_tensor(g: Any) -> Tensor:
    return g if isinstance(g, Tensor) else Tensor._wrap(np.asarray(g), None)


def _run(hooks: dict, g: Any, who: str) -> Any:
    """Call each hook on g (as a Tensor); a returned tensor replaces g."""
    for fn in list(hooks.values()):
        result = fn(_as_tensor(g))
        if result is None:
            continue
        if not isinstance(result, Tensor) or result.shape != np.shape(g):
            raise ValueError(f"hook {getattr(fn, '__name__', fn)!r} on {who} returned "
                             f"{type(result).__name__} of shape {np.shape(result)}, but the "
                             f"gradient has shape {np.shape(g)}: return None or a tensor "
                             "of the gradient's shape")
        g = result if isinstance(g, Tensor) else result.array
    return g


class HookObserver(Observer):
    """Runs tensor hooks and fills retained gradients."""

    def node_gradient(self, node: Node, g: Any) -> Any:
        hooks = _node_hooks.get(node)
        if hooks:
            g = _run(hooks, g, node.name() + "'s output")
        ref = _retained.get(node)
        t = ref() if ref is not None else None
        if t is not None:
            if t._grad is None:
                t._grad = g * 1.0 if isinstance(g, Tensor) else Tensor._wrap(np.array(g), None)
            else:
                t._grad = t._grad + g  # a new tensor: the old .grad may be in use elsewhere
        return g

    def leaf_gradient(self, leaf: Any, g: Any) -> Any:
        entry = _leaf_hooks.get(id(leaf))
        if entry is not None and entry[0]() is leaf and entry[1]:
            g = _run(entry[1], g, "a leaf")
        return g


_OBSERVER = HookObserver()


def _update_observer() -> None:
    """The observer watches only while a hook or a retained gradient exists."""
    active = bool(_retained) or any(_node_hooks.values()) or any(
        hooks for ref, hooks in _leaf_hooks.values() if ref() is not None)
    watching = _OBSERVER in state.observers
    if active and not watching:
        state.observers = [*state.observers, _OBSERVER]
    elif watching and not active:
        state.observers = [o for o in state.observers if o is not _OBSERVER]


def register_hook(self: Tensor, hook: Any) -> RemovableHandle:
    """Call ``hook(grad)`` when the gradient with respect to this tensor is computed;
    if it returns a tensor, that replaces the gradient. Returns a handle with
    ``remove()``."""
    if not self.requires_grad:
        raise RuntimeError("register_hook: cannot register a hook on a tensor that does not "
                           "require grad")
    if self.grad_fn is not None:
        table = _node_hooks.setdefault(self.grad_fn, {})
    else:
        key = id(self)
        if key not in _leaf_hooks or _leaf_hooks[key][0]() is not self:
            _leaf_hooks[key] = (weakref.ref(self, lambda _ref, k=key: _leaf_hooks.pop(k, None)),
                                {})
        table = _leaf_hooks[key][1]
    hook_id = next(_ids)
    table[hook_id] = hook
    _update_observer()
    return RemovableHandle(table, hook_id)


def retain_grad(self: Tensor) -> None:
    """Keep this non-leaf tensor's gradient in ``.grad`` after backward (accumulating,
    as a leaf's). On a leaf it changes nothing."""
    if not self.requires_grad:
        raise RuntimeError("retain_grad: cannot retain the gradient of a tensor that does not "
                           "require grad")
    if self.grad_fn is not None:
        _retained[self.grad_fn] = weakref.ref(self)
        self._retains = True
        _update_observer()


def retains_grad(self: Tensor) -> bool:
    """True for a non-leaf on which ``retain_grad()`` was called."""
    ref = _retained.get(self.grad_fn) if self.grad_fn is not None else None
    return ref is not None and ref() is self


Tensor.register_hook = register_hook
Tensor.retain_grad = retain_grad
Tensor.retains_grad = property(retains_grad)


class _RetainAll(Observer):
    """Watches the forward pass inside ``retain_grads``: each non-leaf an op makes
    (outside a reverse pass) retains its gradient."""

    def made(self, t: Tensor) -> None:
        if t.grad_fn is not None and not state.in_backward:
            retain_grad(t)


class retain_grads:
    """``with retain_grads():`` every non-leaf tensor created inside the block keeps its
    ``.grad`` after backward, as if ``retain_grad()`` had been called on each."""

    def __init__(self) -> None:
        self.blocks: list[observing] = []  # a stack: the same block may be entered twice

    def __enter__(self) -> retain_grads:
        block = observing(_RetainAll())
        block.__enter__()
        self.blocks.append(block)
        return self

    def __exit__(self, *exc: object) -> None:
        self.blocks.pop().__exit__(*exc)

