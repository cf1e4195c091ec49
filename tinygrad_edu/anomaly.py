"""``detect_anomaly``: find the first op that turns finite values into NaN or inf.

An observer of both passes (see ``engine.Observer``). Forward, it checks every op's
result and remembers, for each recorded node, the line of user code that created it.
Backward, it checks every gradient a rule sends, and blames that rule, naming the
node's creation site. Nothing of this is in the engine's path when it is not used.
"""

from __future__ import annotations

import functools
import linecache
import os
import sys
import weakref
from collections.abc import Callable
from typing import Any

import numpy as np

from .engine import Node, Observer, Rule, observing, state
from .ops import Op, value

UNKNOWN_SITE = ("<unknown: the graph was built outside detect_anomaly(); build it inside "
                "the block to record where each op was created>")


class AnomalyError(RuntimeError):
    """An op produced NaN or inf from finite inputs (raised under detect_anomaly)."""


def user_code_line() -> str:
    """'file:line in function: source' of the innermost caller outside this package."""
    package = os.path.dirname(os.path.abspath(__file__))
    frame = sys._getframe(1)
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(package):
        frame = frame.f_back
    if frame is None:
        return "<unknown>"
    line = linecache.getline(frame.f_code.co_filename, frame.f_lineno).strip()
    if not line:  # typed at the interactive prompt: there is no source file to read
        return f"{frame.f_code.co_filename} (line {frame.f_lineno}) in {frame.f_code.co_name}"
    return f"{frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name}: {line}"


def _nonfinite(*arrays: np.ndarray) -> bool:
    return not all(np.isfinite(a).all() for a in arrays)


def _count_bad(a: np.ndarray) -> str:
    return f"{int(np.isnan(a).sum())} NaN and {int(np.isinf(a).sum())} inf values"


# where each node recorded inside a detect_anomaly block was created (by its user code)
_created_at: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class AnomalyObserver(Observer):
    """The checks of detect_anomaly, and where each node was created."""

    def forward(self, op: Op, inputs: Any, out: np.ndarray, node: Node | None,
                params: dict) -> None:
        if state.in_backward:
            return  # a rule's own ops (create_graph): its result is checked as a whole
        if node is not None:
            _created_at[node] = user_code_line()
        if _nonfinite(out) and not _nonfinite(*(t.array for t in inputs)):
            shapes = " and ".join(str(t.shape) for t in inputs)
            raise AnomalyError(
                f"{op.name} produced {_count_bad(out)} from finite inputs of shape {shapes} "
                f"(forward pass), at\n  {user_code_line()}\n"
                "Check that the inputs are inside the op's domain.")

    def contribution(self, node: Node, i: int, rule: Rule, g: Any, raw: Any, gi: Any) -> None:
        if _nonfinite(value(gi)) and not _nonfinite(value(g)):
            site = _created_at.get(node, UNKNOWN_SITE)
            raise AnomalyError(
                f"{node.name()} produced {_count_bad(value(gi))} in the gradient of input {i} "
                f"(shape {node.shapes[i]}) from a finite upstream gradient (backward pass), "
                f"by the rule {rule.text!r}. The op was created at\n  {site}")


def _watching() -> bool:
    return any(isinstance(o, AnomalyObserver) for o in state.observers)


class detect_anomaly:
    """Inside this block the first op whose result is NaN or inf while its inputs
    were finite, in the forward or the backward pass, raises an AnomalyError naming
    the op, the shapes, and the line of your code that created it. Slow: for
    debugging. Also a decorator (``@detect_anomaly()``)."""

    def __init__(self) -> None:
        self.blocks: list[observing | None] = []  # None: an outer block already watches

    def __enter__(self) -> None:
        block = None if _watching() else observing(AnomalyObserver())
        if block is not None:
            block.__enter__()
        self.blocks.append(block)

    def __exit__(self, *exc: object) -> None:
        block = self.blocks.pop()
        if block is not None:
            block.__exit__(*exc)

    def __call__(self, fn: Callable) -> Callable:
        @functools.wraps(fn)
        def run(*args: Any, **kwargs: Any) -> Any:
            with detect_anomaly():
                return fn(*args, **kwargs)
        return run


def set_detect_anomaly(mode: bool) -> None:
    """Switch anomaly detection on or off from now on (PyTorch's
    ``torch.autograd.set_detect_anomaly``)."""
    if mode and not _watching():
        state.observers = [*state.observers, AnomalyObserver()]
    elif not mode:
        state.observers = [o for o in state.observers if not isinstance(o, AnomalyObserver)]
