"""A narrated backward pass: every step of the chain rule, as a table.

``explain_backward(loss)`` does what ``loss.backward()`` does (it fills ``.grad``)
and returns a record of each step the engine took:

* the node it visited (``MulBackward``) and its op (``mul``);
* the upstream gradient ``g = dL/d(out)`` that arrived there;
* for each input, the local rule from ``ops.py`` (``d(a*b)/da = b``) and the
  contribution it sent, ``g * b`` for that rule;
* where broadcasting was undone, the axes that were summed (``sum_to``).

Read it from top to bottom: it is the chain rule, one multiplication at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from . import names
from .engine import Node, Observer, Rule, broadcast_axes, observing
from .ops import value
from .tensor import Accumulate, Tensor, run_backward
from .viz import _count, _short

__all__ = ["BackwardRecord", "Contribution", "Row", "Trace", "TraceStep", "explain_backward"]

_MAX_ELEMENTS = 4  # arrays with more elements are summarised by shape and range


@dataclass
class Contribution:
    """What one rule sent to one input during backward."""

    index: int  # which input of the node
    rule: str  # the rule's text from ops.py
    to: Node | Tensor  # the input's node, or the leaf tensor itself
    raw: np.ndarray  # the rule's result, before broadcasting was undone
    grad: np.ndarray  # what was delivered (summed to the input's shape)
    summed_axes: tuple[int, ...]  # axes of raw summed away by sum_to (empty: none)


@dataclass
class TraceStep:
    """One node of the reverse pass: its upstream gradient and its contributions."""

    node: Node
    upstream: np.ndarray
    contributions: list[Contribution]


class Trace(Observer):
    """An observer of the reverse pass that writes down every step: ``steps``."""

    def __init__(self) -> None:
        self.steps: list[TraceStep] = []

    def node_gradient(self, node: Node, g: Any) -> Any:
        self.steps.append(TraceStep(node, value(g), []))
        return g

    def contribution(self, node: Node, i: int, rule: Rule, g: Any, raw: Any, gi: Any) -> None:
        self.steps[-1].contributions.append(Contribution(
            i, rule.text, node.parents[i], value(raw), value(gi),
            broadcast_axes(raw.shape, node.shapes[i])))


@dataclass
class Row:
    """One line of the table: what one rule of one node sent to one input."""

    step: int  # 1, 2, ...: the order in which backward visited the nodes
    node: Node
    upstream: np.ndarray  # g = dL/d(out) at this node
    index: int  # which input of the node
    input: str  # its name in the rules: "a", "b" (x0, x1 ... for cat)
    to: str  # where the gradient went: a leaf's name, "#3 SubBackward", or "constant"
    rule: str  # the rule's text from ops.py ("" for a constant: no rule ran)
    sent: np.ndarray | None  # the delivered gradient (None: constant input, not computed)
    raw_shape: tuple[int, ...] | None  # the rule's result shape, before sum_to
    summed_axes: tuple[int, ...]  # axes that sum_to summed away (empty: no broadcast)


def _node_title(node: Node, step: int) -> str:
    """'SubBackward (sub)', or 'SubBackward (sub → err)' when the result was named
    (the loss at step 1 is named in the table's first line already)."""
    name, what = names.of(node), names.composite(node)
    op = f"{node.op.name}, last op of {what}" if what else node.op.name
    if name and step != 1:
        return f"{node.name()} ({op} → {name})"
    return f"{node.name()} ({op})"


class BackwardRecord:
    """What ``explain_backward`` saw. ``print(record)`` shows the table.

    ``steps`` are the engine's TraceSteps (node, upstream, contributions), ``rows``
    the table's lines, ``leaves`` the leaf tensors that received a gradient.
    """

    def __init__(self, loss: Tensor, steps: list[TraceStep]) -> None:
        self.loss = loss
        self.steps = steps
        self.rows: list[Row] = []
        self.leaves: list[Tensor] = []
        self._leaf_labels: dict = {}
        step_of = {step.node: n for n, step in enumerate(steps, start=1)}
        for n, step in enumerate(steps, start=1):
            node = step.node
            sent_by_input = {c.index: c for c in step.contributions}
            for i, parent in enumerate(node.parents):
                c = sent_by_input.get(i)
                if c is None:  # a constant (parent None): backward ran no rule for it
                    self.rows.append(Row(n, node, step.upstream, i, node.op.input_name(i),
                                         "constant " + (f"{names.constant(node, i)} "
                                                        if names.constant(node, i) else "")
                                         + f"{node.shapes[i]}", "", None, None, ()))
                    continue
                if type(parent) is Node:
                    to = parent.name()
                    if parent in step_of:
                        to = f"#{step_of[parent]} {to}"
                    if names.of(parent):
                        to += f" ({names.of(parent)})"
                else:
                    to = self._label(parent)
                self.rows.append(Row(n, node, step.upstream, i, node.op.input_name(i), to,
                                     c.rule, c.grad, c.raw.shape, c.summed_axes))

    def _label(self, leaf: Tensor) -> str:
        """A leaf's name, or "leaf1", "leaf2" ... for leaves without one."""
        if leaf not in self._leaf_labels:
            self.leaves.append(leaf)
            unnamed = sum(1 for t in self._leaf_labels if not t.name)
            self._leaf_labels[leaf] = leaf.name or f"leaf{unnamed + 1}"
        return self._leaf_labels[leaf]

    def label(self, leaf: Tensor) -> str:
        """How the table calls a leaf that received a gradient."""
        return self._leaf_labels[leaf]

    def total(self, leaf: Tensor) -> np.ndarray:
        """The sum of every contribution sent to ``leaf``: its gradient from this pass."""
        parts = [c.grad for step in self.steps for c in step.contributions
                 if c.to is leaf]
        if not parts:
            raise KeyError(f"no gradient was sent to this tensor (shape {leaf.shape}) "
                           "in this backward pass")
        return np.sum(parts, axis=0)

    def table(self, max_elements: int = _MAX_ELEMENTS) -> str:
        """The steps as a text table, then each leaf's total gradient."""

        def short(a: Any) -> str:
            return _short(a, max_elements)

        headers = ("step", "node", "upstream g", "input", "rule (ops.py)", "sends",
                   "broadcast undone")
        lines = []
        previous = None
        for row in self.rows:
            first = row.step != previous
            previous = row.step
            upstream = short(row.upstream) + (" (seed)" if row.step == 1 else "")
            sends = "nothing: needs no gradient" if row.sent is None else short(row.sent)
            undone = ""
            if row.summed_axes:
                axes = ", ".join(str(a) for a in row.summed_axes)
                word = "axis" if len(row.summed_axes) == 1 else "axes"
                undone = f"summed {word} {axes}: {row.raw_shape} → {row.node.shapes[row.index]}"
            lines.append((
                str(row.step) if first else "",
                _node_title(row.node, row.step) if first else "",
                upstream if first else "",
                f"{row.input} → {row.to}",
                row.rule,
                sends,
                undone,
            ))
        widths = [max(len(h), *(len(line[k]) for line in lines)) if lines else len(h)
                  for k, h in enumerate(headers)]

        def fmt(cells: tuple[str, ...]) -> str:
            return "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()

        loss_name = self.loss.name or "the output"
        calls = sum(len(s.contributions) for s in self.steps)
        out = [f"backward of {loss_name} = {short(self.loss.array)}: "
               f"{_count(len(self.steps), 'step')}, {_count(calls, 'rule call')}"]
        if not self.steps:
            out.append("the output is a leaf: there is no rule to run; its .grad "
                       "received the seed gradient itself")
            return "\n".join(out) + "\n"
        out += [fmt(headers), fmt(tuple("-" * w for w in widths))]
        previous = None
        for row, line in zip(self.rows, lines):
            if previous is not None and row.step != previous:
                out.append("")
            previous = row.step
            out.append(fmt(line))
        out.append("")
        for leaf in self.leaves:
            n = sum(1 for s in self.steps for c in s.contributions if c.to is leaf)
            parts = "1 contribution" if n == 1 else f"sum of {n} contributions"
            out.append(f"{self.label(leaf)}.grad += {short(self.total(leaf))}  ({parts})")
        return "\n".join(out) + "\n"

    def __str__(self) -> str:
        return self.table()

    def __repr__(self) -> str:
        calls = sum(len(s.contributions) for s in self.steps)
        return (f"<BackwardRecord: {_count(len(self.steps), 'step')}, "
                f"{_count(calls, 'rule call')}>")


def explain_backward(loss: Tensor, gradient: Any = None,
                     retain_graph: bool = False) -> BackwardRecord:
    """Run ``loss.backward(gradient, retain_graph)`` and return what happened, step by step.

    The leaves' ``.grad`` are filled (accumulated) exactly as by ``backward()``.
    ``print(explain_backward(loss))`` shows the table.
    """
    return traced_backward(loss, gradient, retain_graph, "explain_backward")


def traced_backward(loss: Tensor, gradient: Any, retain_graph: bool,
                    where: str) -> BackwardRecord:
    """``loss.backward(gradient, retain_graph)`` watched by a Trace: the one way in for
    ``explain_backward`` and the stepper page (``where`` names the caller in errors)."""
    if not isinstance(loss, Tensor):
        raise TypeError(f"{where}: expected a Tensor, got {type(loss).__name__}")
    with observing(Trace()) as trace:
        run_backward([loss], [gradient], retain_graph, False, Accumulate(False),
                     f"{where}()")
    return BackwardRecord(loss, trace.steps)
