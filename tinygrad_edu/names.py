"""Names for the pictures and traces, in side tables so that the engine's Nodes carry
nothing only the pictures need. Weak: a dropped graph takes its names with it.

* ``label(node, name)``: the tensor made by ``node`` is called ``name``
  (``y_pred.name = "y_pred"``).
* ``constant(node, i)``: the name of a named constant that was input i of ``node``
  (``x = tensor(..., name="x")``; a constant is not a vertex of the graph, so its name
  is written down when an op uses it, by an observer that watches the forward pass
  from the moment the first tensor is named).
* ``called(t, "mean")``: ``t`` is the result of a composite (``mean`` is a sum and a
  mul); ``composite(node)`` tells the pictures what the user called.
"""

from __future__ import annotations

import weakref
from typing import Any

from .engine import Observer, state

_of_node: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_constants: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # node -> {i: name}
_composites: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # node -> "mean"


def label(node, name: str | None) -> None:
    """Remember that the tensor made by ``node`` is called ``name`` (None: forget)."""
    if name is None:
        _of_node.pop(node, None)
    else:
        _of_node[node] = name


def of(node) -> str | None:
    """The name of the tensor ``node`` made, if the user gave it one."""
    return _of_node.get(node)


def constant(node, i: int) -> str | None:
    """The name of input i of ``node`` if it was a named constant."""
    return _constants.get(node, {}).get(i)


def called(t: Any, what: str) -> Any:
    """Mark ``t`` (returned as is) as the result of the composite ``what``."""
    if t.grad_fn is not None:
        _composites[t.grad_fn] = what
    return t


def composite(node) -> str | None:
    """The composite (``mean``, ``softmax`` ...) whose last op ``node`` is, if any."""
    return _composites.get(node)


class _ConstantNames(Observer):
    def forward(self, op, inputs, out, node, params) -> None:
        if node is None:
            return
        for i, t in enumerate(inputs):
            if t._name is not None and node.parents[i] is None:
                _constants.setdefault(node, {})[i] = t._name


_OBSERVER = _ConstantNames()


def watch_constants() -> None:
    """Called when a tensor is named: from now on, ops note the names of their
    constant inputs (one observer for the whole session; it costs a loop per op)."""
    if _OBSERVER not in state.observers:
        state.observers = [*state.observers, _OBSERVER]
