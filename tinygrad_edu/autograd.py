"""The engine: grad modes, graph nodes, and the reverse pass (``backward``, ``grad``).

It knows no calculus: every derivative comes from a ``Rule`` in ``ops.py``. Its jobs:

1. ``record``: when an op runs on inputs that require grad, keep a ``Node`` holding
   the op, where each input's gradient must go (``parents``), and exactly the values
   the op's rules read, each stamped with its tensor's version.
2. ``backward``: visit the nodes from the output back to the leaves in topological
   order (iterative, so a million-deep chain is fine), call each needed rule, undo
   broadcasting once (``sum_to``), add up gradients that meet (reuse, diamonds), and
   accumulate into the leaves' ``.grad``.
3. free each node's saved values after use unless ``retain_graph=True``.

Nodes point only to older nodes and to leaf tensors, never to the tensor they
produced, so dropping the last reference to an output frees its graph at once.
"""

from __future__ import annotations

import contextlib
import gc
import linecache
import os
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .ops import Op, value

if TYPE_CHECKING:
    from .tensor import Tensor


# --- grad modes ----------------------------------------------------------------------


class _GradMode(threading.local):
    def __init__(self) -> None:
        self.enabled = True
        self.anomaly = False  # True inside detect_anomaly(); "backward" during its pass


_mode = _GradMode()


def is_grad_enabled() -> bool:
    """True when ops are being recorded for backward (per thread)."""
    return _mode.enabled


class _GradModeBlock(contextlib.ContextDecorator):
    """A block (or a decorated function) that runs with recording set to ``mode``."""

    mode = True

    def __new__(cls, func=None):
        self = super().__new__(cls)
        # bare decorator, as PyTorch allows: @no_grad instead of @no_grad()
        return self.__call__(func) if callable(func) else self

    def __init__(self, func=None) -> None:
        self.previous: list[bool] = []

    def __enter__(self) -> None:
        self.previous.append(_mode.enabled)
        _mode.enabled = self.mode

    def __exit__(self, *exc: object) -> None:
        _mode.enabled = self.previous.pop()

    def _recreate_cm(self) -> _GradModeBlock:
        return type(self)()


class no_grad(_GradModeBlock):
    """``with no_grad():`` ops run without building a graph; in-place updates of
    parameters (``w -= lr * w.grad``) belong here. Also a decorator."""

    mode = False


class enable_grad(_GradModeBlock):
    """Turns recording back on inside a ``no_grad`` block (or as a decorator)."""

    mode = True


class set_grad_enabled(contextlib.ContextDecorator):
    """``set_grad_enabled(False)`` switches recording off at once (a plain call);
    as ``with set_grad_enabled(mode):`` the previous mode returns after the block."""

    def __init__(self, mode: bool) -> None:
        self.previous = _mode.enabled
        self.mode = bool(mode)
        _mode.enabled = self.mode

    def __call__(self, func):
        _mode.enabled = self.previous  # used as a decorator: apply per call only
        return super().__call__(func)

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc: object) -> None:
        _mode.enabled = self.previous

    def _recreate_cm(self) -> set_grad_enabled:
        return type(self)(self.mode)


class detect_anomaly(contextlib.ContextDecorator):
    """Inside this block the first op whose result is NaN or inf while its inputs
    were finite, in the forward or the backward pass, raises an AnomalyError naming
    the op, the shapes, and the line of your code that created it. Slow: for debugging.
    """

    def __init__(self) -> None:
        self.previous: list = []

    def __enter__(self) -> None:
        self.previous.append(_mode.anomaly)
        _mode.anomaly = True

    def __exit__(self, *exc: object) -> None:
        _mode.anomaly = self.previous.pop()

    def _recreate_cm(self) -> detect_anomaly:
        return type(self)()


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
    return f"{frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name}: {line}"


def _nonfinite(*arrays: np.ndarray) -> bool:
    return not all(np.isfinite(a).all() for a in arrays)


def check_forward(op: Op, inputs: Sequence[Tensor], out: np.ndarray) -> None:
    """detect_anomaly's forward check, called by apply()."""
    if _nonfinite(out) and not _nonfinite(*(t.data for t in inputs)):
        raise AnomalyError(
            f"{op.name} produced {_count_bad(out)} from finite inputs of shape "
            f"{' and '.join(str(t.shape) for t in inputs)} (forward pass), at\n  "
            f"{user_code_line()}\nCheck that the inputs are inside the op's domain.")


def _count_bad(a: np.ndarray) -> str:
    return f"{int(np.isnan(a).sum())} NaN and {int(np.isinf(a).sum())} inf values"


# --- version counters ----------------------------------------------------------------


class Version:
    """Counts in-place changes of one block of memory. A tensor and its views
    (reshape, transpose, slices, detach) share one counter. ``views`` holds weak
    references to the views made while recording, so that a recorded in-place change
    of the memory can give each of them its new history."""

    __slots__ = ("n", "views")

    def __init__(self) -> None:
        self.n = 0
        self.views: list | None = None


# --- graph nodes ---------------------------------------------------------------------


class Node:
    """One recorded op application: the backward half of the graph.

    parents[i] is where input i's gradient goes: the input's own Node, the input
    itself if it is a leaf that requires grad, or None if it needs no gradient.
    """

    __slots__ = ("op", "parents", "params", "shapes", "dtypes", "out_shape", "out_name",
                 "saved", "versions", "created_at", "__weakref__")

    def __init__(self, op: Op, parents: tuple, params: dict, shapes: tuple, dtypes: tuple,
                 out_shape: tuple, saved: dict, versions: tuple) -> None:
        self.op = op
        self.parents = parents
        self.params = params
        self.shapes = shapes  # input shapes: where sum_to reduces each gradient to
        self.dtypes = dtypes
        self.out_shape = out_shape
        self.out_name = None  # the name given to the output tensor, for pictures
        self.saved = saved  # name -> ndarray, exactly what the needed rules read
        self.versions = versions  # (name, Version, n at save time) per saved array
        self.created_at = user_code_line() if _mode.anomaly else None

    @property
    def freed(self) -> bool:
        """True once a backward (without retain_graph) dropped the saved values."""
        return self.saved is None

    @property
    def name(self) -> str:
        return "".join(part.capitalize() for part in self.op.name.split("_")) + "Backward"

    def __repr__(self) -> str:
        return f"<{self.name}>"

    def keep_own_copy(self, array: np.ndarray) -> None:
        """Replace saved references to ``array`` by a private copy: a recorded in-place
        op is about to overwrite it, and this node's rules need the old value."""
        for k, (name, _counter, _n) in enumerate(self.versions):
            if self.saved[name] is array:
                self.saved[name] = array.copy()
                self.versions = self.versions[:k] + ((name, Version(), 0),) + \
                    self.versions[k + 1:]

    def release(self) -> None:
        """Drop the saved values (after a backward without retain_graph)."""
        self.saved = None
        self.versions = ()


_SAVES: dict = {}  # (op, bitmask of inputs that need grad) -> names of values to keep


def _saves(op: Op, needs: int) -> tuple[str, ...]:
    """The inputs ("a", "b") and/or "out" that the rules of the needed inputs read."""
    try:
        return _SAVES[op, needs]
    except KeyError:
        reads = set()
        for i in range(needs.bit_length()):
            if needs >> i & 1:
                reads.update(op.rule(i).reads)
        _SAVES[op, needs] = names = tuple(sorted(reads & {"a", "b", "out"}))
        return names


def record(op: Op, inputs: Sequence[Tensor], out_data: np.ndarray, out_version: Version,
           params: dict) -> Node:
    """Build the Node for ``out = op(*inputs)``, saving only what needed rules read."""
    parents, shapes, dtypes, needs, bit = [], [], [], 0, 1
    for t in inputs:
        data = t.data
        shapes.append(data.shape)
        dtypes.append(data.dtype)
        if t.requires_grad:
            parents.append(t.grad_fn or t)  # its own node, or the leaf itself
            needs |= bit
        else:
            parents.append(None)
        bit <<= 1
    saved, versions = {}, []
    for name in _saves(op, needs):
        if name == "out":
            array, counter = out_data, out_version
        else:
            t = inputs[0 if name == "a" else 1]
            array, counter = t.data, t._vc
        saved[name] = array
        versions.append((name, counter, counter.n))
    return Node(op, tuple(parents), params, tuple(shapes), tuple(dtypes), out_data.shape,
                saved, tuple(versions))


# --- the reverse pass ----------------------------------------------------------------


def toposort(roots: Sequence[Node]) -> list[Node]:
    """Nodes reachable from ``roots``, every node after all of its parents.

    Depth-first with an explicit stack (no recursion), parents in input order,
    so the order is deterministic and any depth works.
    """
    order: list[Node] = []
    visited: set[Node] = set()
    for root in roots:
        if root in visited:
            continue
        visited.add(root)
        stack = [(root, iter(root.parents))]
        while stack:
            node, pending = stack[-1]
            for parent in pending:
                if type(parent) is Node and parent not in visited:
                    visited.add(parent)
                    stack.append((parent, iter(parent.parents)))
                    break
            else:
                stack.pop()
                order.append(node)
    return order


def broadcast_axes(grad_shape: tuple[int, ...], shape: tuple[int, ...]) -> tuple[int, ...]:
    """The axes of grad_shape that broadcasting added (leading) or stretched (from 1)."""
    lead = len(grad_shape) - len(shape)
    return tuple(range(lead)) + tuple(
        lead + k for k, n in enumerate(shape) if n == 1 and grad_shape[lead + k] != 1)


def sum_to(g, shape: tuple[int, ...]):
    """Undo broadcasting: sum g (an array or a Tensor) over the axes that
    broadcasting added or stretched."""
    if g.shape == shape:
        return g
    axes = broadcast_axes(g.shape, shape)
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    return g.reshape(shape) if g.shape != shape else g


def _check_versions(node: Node) -> None:
    for name, counter, n in node.versions:
        if counter.n != n:
            what = "its result" if name == "out" else f"its input {name!r}"
            raise RuntimeError(
                f"{node.name}: {what} (shape {node.saved[name].shape}) was changed by an "
                f"in-place operation after it was used (version {n}, now {counter.n}); "
                "backward needs the old value and would give a wrong gradient. Use an "
                "out-of-place form (x = x + 1 instead of x += 1), or modify a .clone() instead.")


def _rule_inputs(node: Node, rule_reads: tuple[str, ...], i: int, wrap) -> dict:
    """The keyword arguments a rule asks for: plain arrays (``wrap=None``), or, to
    record the backward pass, Tensors connected to the graph."""
    kwargs = {}
    saved = node.saved
    for name in rule_reads:
        if name in saved:
            if wrap is None:
                kwargs[name] = saved[name]
            elif name == "out":
                kwargs["out"] = wrap(saved["out"], node)
            else:
                parent = node.parents["ab".index(name)]
                if parent is not None and type(parent) is not Node:
                    kwargs[name] = parent  # a leaf: itself, so 2nd derivatives reach it
                else:
                    kwargs[name] = wrap(saved[name], parent)
        elif name == "i":
            kwargs["i"] = i
        else:
            kwargs[name] = node.params[name]
    return kwargs


def run_backward(roots: Sequence[Tensor], seeds: Sequence[Tensor], retain_graph: bool,
                 create_graph: bool, capture: dict | None = None,
                 trace: list | None = None) -> dict:
    """The reverse pass shared by ``Tensor.backward`` and ``grad``.

    With ``capture=None`` gradients accumulate into leaves' ``.grad``. Otherwise
    ``capture`` maps each wanted leaf tensor or Node to its position; their
    gradients are returned in a dict (as Tensors) and no ``.grad`` is touched. If
    ``trace`` is a list, one ``TraceStep`` per node is appended to it (see
    explain_backward).

    The rules run on plain NumPy arrays, unless ``create_graph=True``: then they run
    on Tensors, so that the backward pass itself is recorded.
    """
    from .tensor import Tensor

    if not create_graph:
        seeds = [seed.data for seed in seeds]
    collecting = gc.isenabled()
    gc.disable()  # the graph has no reference cycles: nothing for the collector to find,
    # and its repeated scans of millions of live nodes would cost more than the pass
    try:
        captured = _reverse_pass(roots, seeds, retain_graph, create_graph, capture, trace,
                                 Tensor._wrap)
    finally:
        if collecting:
            gc.enable()
    if create_graph:
        return captured
    return {edge: Tensor._wrap(np.array(g), None) for edge, g in captured.items()}


def _reverse_pass(roots, seeds, retain_graph, create_graph, capture, trace, wrap) -> dict:
    """run_backward's work: order the nodes, then call the rules from output to leaves."""
    grads: dict = {}  # Node or leaf -> gradient of its output so far
    root_nodes = []
    for root, seed in zip(roots, seeds):
        edge = root.grad_fn if root.grad_fn is not None else root
        grads[edge] = grads[edge] + seed if edge in grads else seed
        if type(edge) is Node:
            root_nodes.append(edge)
    order = toposort(root_nodes)
    runs = None  # with capture: the nodes whose rules lead to a wanted tensor
    if capture is not None:
        runs = set()
        for node in order:  # parents come first in this order
            if any(p is not None and (p in capture or p in runs) for p in node.parents):
                runs.add(node)
    captured: dict = {}
    rule_wrap = wrap if create_graph else None  # rules get Tensors, or plain arrays

    def deliver(edge, gi) -> None:
        if type(edge) is Node:
            grads[edge] = grads[edge] + gi if edge in grads else gi
        elif capture is not None:
            if edge in capture:
                captured[edge] = captured[edge] + gi if edge in captured else gi
        else:
            _accumulate_leaf(edge, gi, create_graph, wrap)

    anomaly = _mode.anomaly
    with set_grad_enabled(create_graph):
        for edge, g in list(grads.items()):  # roots that are leaves
            if type(edge) is not Node:
                del grads[edge]
                deliver(edge, g)
        if anomaly:
            _mode.anomaly = "backward"  # rules are checked as a whole, below
        try:
            for node in reversed(order):
                g = grads.pop(node, None)
                if g is None:
                    continue
                if capture is not None:
                    if node in capture:
                        captured[node] = g
                    if node not in runs:
                        continue
                if node.saved is None:  # freed by an earlier backward
                    raise RuntimeError(
                        f"{node.name}: trying to backward through the graph a second time, "
                        "but its saved values were freed after the first backward. Pass "
                        "retain_graph=True to the first .backward() (or grad()) call if "
                        "you need to go through the same graph again.")
                _check_versions(node)
                step = TraceStep(node, value(g), []) if trace is not None else None
                for i, parent in enumerate(node.parents):
                    if parent is None or (runs is not None and parent not in capture
                                          and parent not in runs):
                        continue
                    rule = node.op.rule(i)
                    raw = rule.fn(g, **_rule_inputs(node, rule.reads, i, rule_wrap))
                    shape = node.shapes[i]
                    gi = sum_to(raw, shape)
                    if gi.dtype != node.dtypes[i]:
                        gi = gi.astype(node.dtypes[i])
                    if anomaly and _nonfinite(value(gi)) and not _nonfinite(value(g)):
                        raise AnomalyError(
                            f"{node.name} produced {_count_bad(value(gi))} in the gradient "
                            f"of input {i} (shape {shape}) from a finite upstream "
                            f"gradient (backward pass), by the rule {rule.text!r}. The op "
                            f"was created at\n  {node.created_at or UNKNOWN_SITE}")
                    if step is not None:
                        step.contributions.append(Contribution(
                            i, rule.text, parent, value(raw), value(gi),
                            broadcast_axes(raw.shape, shape)))
                    deliver(parent, gi)
                if step is not None:
                    trace.append(step)
                if not retain_graph:
                    node.release()
        finally:
            _mode.anomaly = anomaly
    return captured


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


def _accumulate_leaf(leaf: Tensor, g, create_graph: bool, wrap) -> None:
    """leaf.grad += g, as PyTorch: in place into the existing .grad when possible."""
    if leaf.grad is None:
        # a fresh array the leaf owns: g may be shared with other leaves or be a view
        leaf.grad = g * 1.0 if create_graph else wrap(np.array(g), None)
    elif create_graph or leaf.grad.requires_grad:
        leaf.grad = leaf.grad + g
    else:
        np.add(leaf.grad.data, g, out=leaf.grad.data)
        leaf.grad._vc.n += 1


def grad(outputs: Tensor | Sequence[Tensor], inputs: Tensor | Sequence[Tensor],
         grad_outputs: Tensor | Sequence[Tensor | None] | None = None,
         retain_graph: bool | None = None, create_graph: bool = False,
         allow_unused: bool = False) -> tuple[Tensor | None, ...]:
    """Gradients of ``outputs`` with respect to ``inputs``, returned as a tuple.

    Like ``torch.autograd.grad``: ``.grad`` of no tensor is touched. With
    ``create_graph=True`` the results are themselves differentiable (Hessian-vector
    products, Newton steps). ``retain_graph`` defaults to ``create_graph``.
    """
    from .tensor import Tensor

    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if grad_outputs is None or isinstance(grad_outputs, Tensor):
        grad_outputs = [grad_outputs] * len(outputs)
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"grad: got {len(outputs)} outputs but {len(grad_outputs)} "
                         "grad_outputs; give one per output (None for a scalar output)")
    for t in outputs + inputs:
        if not isinstance(t, Tensor):
            raise TypeError(f"grad: outputs and inputs must be Tensors, got {type(t).__name__}")
    for k, t in enumerate(inputs):
        if not t.requires_grad:
            raise RuntimeError(f"grad: input {k} (shape {t.shape}) does not require grad; "
                               "create it with requires_grad=True")
    seeds = [Tensor._seed(out, go, "grad") for out, go in zip(outputs, grad_outputs)]
    capture = {}
    for k, t in enumerate(inputs):
        capture.setdefault(t.grad_fn if t.grad_fn is not None else t, k)
    if retain_graph is None:
        retain_graph = create_graph
    captured = run_backward(outputs, seeds, retain_graph, create_graph, capture)
    results = []
    for k, t in enumerate(inputs):
        g = captured.get(t.grad_fn if t.grad_fn is not None else t)
        if g is None and not allow_unused:
            raise RuntimeError(
                f"grad: input {k} (shape {t.shape}) was not used to compute the outputs; "
                "pass allow_unused=True to get None for it")
        results.append(g)  # without create_graph: fresh tensors, not in any graph
    return tuple(results)
