"""The events of the forward and reverse passes that features watch (anomaly checks,
the narrated trace, hooks, names, the step compiler, the stepper), documented once.
The engine and the Tensor core call these methods only while ``state.observers`` (see
engine.py) is not empty; ``with observing(obs):`` adds one."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from .engine import Node
    from .ops import Op, Rule


class Observer:
    """Watches the forward and reverse passes (``with observing(obs):``); each method's
    default does nothing."""

    def forward(self, op: Op, inputs: Sequence, out: np.ndarray, node: Node | None,
                params: dict) -> None:
        """An op ran with these params (node is None if nothing was recorded)."""

    def written(self, t: Any, how: str | None, source: Any) -> None:
        """t's memory was changed in place: ``how`` is "add", "sub", "mul", "div",
        "pow" (with the tensor ``source``), "fill" (a number or tensor), "copy" (a tensor,
        broadcast and cast), "recorded" (a recorded in-place op's result), "grad" (``.grad``
        is about to be assigned ``source``) or None (a write not described here)."""

    def read(self, t: Any) -> None:
        """t's values were read into Python (item(), bool(), numpy() ...)."""

    def reverse_pass(self, sink: Any, wrap: Callable | None) -> None:
        """A reverse pass starts, delivering to sink, with rules on Tensors if wrap."""

    def made(self, t: Any) -> None:
        """The tensor that op returned (right after ``forward``)."""

    def node_gradient(self, node: Node, g: Any) -> Any:
        """The whole gradient of node's output is known; return it (or a replacement)."""
        return g

    def contribution(self, node: Node, i: int, rule: Rule, g: Any, raw: Any, gi: Any) -> None:
        """node's rule for input i turned g into raw, delivered (summed) as gi."""

    def leaf_gradient(self, leaf: Any, g: Any) -> Any:
        """A leaf's gradient (its contributions summed) is about to be delivered; return
        it (or a replacement)."""
        return g
