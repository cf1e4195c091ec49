"""Names the user gave to tensors made by ops (``y_pred.name = "y_pred"``), for the
pictures and traces: a side table from the Node that made a tensor to its name, so
that the engine's Nodes carry nothing only the pictures need. Weak: a dropped graph
takes its names with it."""

from __future__ import annotations

import weakref

_of_node: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def label(node, name: str | None) -> None:
    """Remember that the tensor made by ``node`` is called ``name`` (None: forget)."""
    if name is None:
        _of_node.pop(node, None)
    else:
        _of_node[node] = name


def of(node) -> str | None:
    """The name of the tensor ``node`` made, if the user gave it one."""
    return _of_node.get(node)
