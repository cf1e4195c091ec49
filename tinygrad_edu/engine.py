"""The engine: graph nodes and the reverse pass. It knows no calculus and no Tensor.

``record`` keeps a ``Node`` per op that needs a gradient: where each input's gradient
goes and exactly what the op's rules (``ops.py``) read, stamped with its version.
``reverse_pass`` visits the nodes from the outputs back in topological order, calls
each needed rule, undoes broadcasting once (``sum_to``), sums gradients that meet and
hands each leaf's to a *sink* (where gradients go: ``.grad``, or ``grad()``'s results).
Rules receive plain arrays, or Tensors under ``create_graph`` (``wrap``); observers
(anomaly, the narrated trace, hooks) watch from ``state.observers``.
docs/how-the-engine-works.md walks through it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .observers import Observer  # noqa: F401 - the events observers receive
from .ops import Op, Rule


class _State(threading.local):
    """Per-thread switches: is the forward pass recorded, who observes the passes,
    and is a reverse pass running (its rules' own ops are not user code)."""

    def __init__(self) -> None:
        self.enabled = True
        self.observers: list[Observer] = []
        self.in_backward = False


state = _State()


class observing:
    """``with observing(obs):`` obs watches the passes run inside the block."""

    def __init__(self, observer: Observer) -> None:
        self.observer = observer

    def __enter__(self) -> Observer:
        state.observers = [*state.observers, self.observer]
        return self.observer

    def __exit__(self, *exc: object) -> None:
        state.observers = [o for o in state.observers if o is not self.observer]


class Version:
    """Counts in-place changes of one block of memory. A tensor and its views
    (reshape, transpose, slices, detach) share one counter. ``views`` holds weak
    references to the views made while recording, so that a recorded in-place change
    of the memory can give each of them its new history."""

    __slots__ = ("n", "views")

    def __init__(self) -> None:
        self.n = 0
        self.views: list | None = None


FROZEN = Version()  # the counter of read-only constants: never changes, never stamped


class Node:
    """One recorded op application: the backward half of the graph.

    parents[i] is where input i's gradient goes: the input's own Node, the input
    itself if it is a leaf that requires grad, or None if it needs no gradient.
    """

    __slots__ = ("op", "parents", "shapes", "dtypes", "params", "saved", "versions",
                 "__weakref__")

    def __init__(self, op: Op, parents: tuple, shapes: tuple, dtypes: tuple,
                 params: dict | None, saved: tuple, versions: tuple) -> None:
        self.op = op
        self.parents = parents
        self.shapes = shapes  # input shapes: where sum_to reduces each gradient to
        self.dtypes = dtypes  # input dtypes: each gradient is cast back to its input's
        self.params = params  # the op's params (axis, key ...), None if it has none
        self.saved = saved  # (a, b, out): the arrays the needed rules read, else None
        self.versions = versions  # (name, Version, n at save time) per saved array

    @property
    def freed(self) -> bool:
        """True once a backward (without retain_graph) dropped the saved values."""
        return self.saved is None

    def name(self) -> str:
        """'MulBackward' for the op mul (PyTorch's grad_fn.name())."""
        return "".join(part[:1].upper() + part[1:] for part in self.op.name.split("_")) + "Backward"

    def __repr__(self) -> str:
        return f"<{self.name()}>"


SLOT = {"a": 0, "b": 1, "out": 2}  # where each array a rule may read sits in Node.saved
_SAVES: dict = {}  # (op, bitmask of inputs that need grad) -> what to save


def _saves(op: Op, needs: int) -> tuple[tuple[str, int], ...]:
    """(name, slot) of each array ("a", "b", "out") that the rules of the needed inputs
    (bit i of ``needs``: input i) read; the slot of a and b is also their input index."""
    reads = set()
    for i in range(needs.bit_length()):
        if needs >> i & 1:
            reads.update(op.rule(i).reads)
    _SAVES[op, needs] = plan = tuple((name, SLOT[name]) for name in sorted(reads & SLOT.keys()))
    return plan


_SHARED: dict = {}  # (input shapes, input dtypes) -> that same pair, one object for all


def record(op: Op, inputs: Sequence, out: np.ndarray, out_version: Version,
           params: dict) -> Node:
    """Build the Node for ``out = op(*inputs)``, saving only what needed rules read."""
    parents, shapes, dtypes = [], [], []
    needs = 0  # bit i: input i needs a gradient
    for i, t in enumerate(inputs):
        array = t.array
        shapes.append(array.shape)
        dtypes.append(array.dtype)
        if t.requires_grad:
            # its own node, or the leaf itself; a view made under no_grad "requires
            # grad" but leads nowhere (PyTorch's rule): None
            edge = t.grad_fn
            if edge is None and not (t._view and not t._view[2]):
                edge = t
            parents.append(edge)
            needs |= 1 << i
        else:
            parents.append(None)
    plan = _SAVES.get((op, needs))
    if plan is None:
        plan = _saves(op, needs)
    saved = (None, None, None)  # a, b, out
    versions = []
    if plan:
        saved = [None, None, None]
        for name, k in plan:
            if k == 2:
                array, counter = out, out_version
            else:
                t = inputs[k]
                array, counter = t.array, t._vc
            saved[k] = array
            if counter is not FROZEN:
                versions.append((name, counter, counter.n))
        saved = tuple(saved)
    # equal (shapes, dtypes) pairs are one object: each object a node keeps is one more
    # for the cyclic garbage collector to track (NumPy makes a new tuple per .shape)
    meta = (tuple(shapes), tuple(dtypes))
    shared = _SHARED.get(meta)
    if shared is None:
        if len(_SHARED) >= 4096:
            _SHARED.clear()
        shared = _SHARED[meta] = meta
    return Node(op, tuple(parents), shared[0], shared[1], params or None, saved,
                tuple(versions))


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
        nodes, pending = [root], [iter(root.parents)]  # the path, and what is left of
        while nodes:  # each node's parents to visit
            for parent in pending[-1]:
                if type(parent) is Node and parent not in visited:
                    visited.add(parent)
                    nodes.append(parent)
                    pending.append(iter(parent.parents))
                    break
            else:
                pending.pop()
                order.append(nodes.pop())
    return order


def broadcast_axes(grad_shape: tuple[int, ...], shape: tuple[int, ...]) -> tuple[int, ...]:
    """The axes of grad_shape that broadcasting added (leading) or stretched (from 1)."""
    lead = len(grad_shape) - len(shape)
    return tuple(range(lead)) + tuple(
        lead + k for k, n in enumerate(shape) if n == 1 and grad_shape[lead + k] != 1)


_AXES: dict = {}  # (gradient's shape, input's shape) -> broadcast_axes of them


def sum_to(g, shape: tuple[int, ...]):
    """Undo broadcasting: sum g (an array or a Tensor) over the axes that
    broadcasting added or stretched."""
    if g.shape == shape:
        return g
    axes = _AXES.get((g.shape, shape))
    if axes is None:
        if len(_AXES) >= 4096:
            _AXES.clear()
        axes = _AXES[g.shape, shape] = broadcast_axes(g.shape, shape)
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    return g.reshape(shape) if g.shape != shape else g


def check_usable(node: Node) -> None:
    """Raise if node's saved values were freed, or changed in place since saved."""
    if node.saved is None:
        raise RuntimeError(
            f"{node.name()}: trying to backward through the graph a second time, but its "
            "saved values were freed after the first backward. Pass retain_graph=True to "
            "the first .backward() (or grad()) call if you need to go through the same "
            "graph again.")
    for name, counter, n in node.versions:
        if counter.n != n:
            what = "its result" if name == "out" else f"its input {name!r}"
            raise RuntimeError(
                f"{node.name()}: {what} (shape {node.saved[SLOT[name]].shape}) was changed by an "
                f"in-place operation after it was used (version {n}, now {counter.n}); "
                "backward needs the old value and would give a wrong gradient. Use an "
                "out-of-place form (x = x + 1 instead of x += 1), or modify a .clone() instead.")


def rule_inputs(node: Node, rule: Rule, i: int, wrap: Callable | None) -> list:
    """The values a rule reads, in its parameter order: plain arrays (``wrap=None``),
    or, to record the backward pass, Tensors connected to the graph."""
    values = []
    for name in rule.reads:
        if name == "i":
            values.append(i)
        elif name == "in_shape":
            values.append(node.shapes[i])
        elif name == "in_shapes":
            values.append(node.shapes)
        elif name not in SLOT:
            values.append(node.params[name])
        elif wrap is None:
            values.append(node.saved[SLOT[name]])
        elif name == "out":
            values.append(wrap(node.saved[2], node))
        else:
            parent = node.parents[SLOT[name]]
            leaf = parent is not None and type(parent) is not Node
            values.append(parent if leaf else wrap(node.saved[SLOT[name]], parent))  # a leaf
    return values


def reverse_pass(roots: Sequence[tuple[Any, Any]], sink: Any, retain_graph: bool,
                 wrap: Callable | None) -> None:
    """The chain rule from the outputs back to the leaves.

    ``roots`` are (Node or leaf, seed gradient) pairs. ``sink.leaf(t, g)`` receives each
    leaf's gradient, summed over the pass, once at its end (as PyTorch's AccumulateGrad).
    If ``sink.keep`` is a set, gradients go only to the nodes and leaves in it, only the
    rules of nodes in ``sink.runs`` are called, and ``sink.node(node, g)`` receives the
    gradient of each node in ``sink.wanted``. ``wrap`` is None (rules get arrays) or
    ``(array, node) -> Tensor``.
    """
    grads: dict = {}  # Node or leaf -> the gradient of its output, summed so far
    observers = state.observers
    keep = sink.keep
    for edge, seed in roots:
        grads[edge] = grads[edge] + seed if edge in grads else seed
    for o in observers:
        o.reverse_pass(sink, wrap)
    outer, state.in_backward = state.in_backward, True
    try:
        for node in reversed(toposort([e for e in grads if type(e) is Node])):
            g = grads.pop(node, None)
            if g is None:
                continue
            if observers:
                for o in observers:
                    g = o.node_gradient(node, g)
            if keep is not None:
                if node in sink.wanted:
                    sink.node(node, g)
                if node not in sink.runs:
                    continue
            if node.saved is None:
                check_usable(node)  # raises: freed by an earlier backward
            for _name, counter, n in node.versions:
                if counter.n != n:
                    check_usable(node)  # raises: changed in place since it was saved
            rules, variadic, saved = node.op.rules, node.op.variadic, node.saved
            for i, parent in enumerate(node.parents):
                if parent is None or (keep is not None and parent not in keep):
                    continue
                rule = rules[0] if variadic else rules[i]
                reads = rule.reads  # (the common cases first: none, or one saved array)
                if not reads:
                    raw = rule.fn(g)
                elif wrap is not None or not rule.plain:
                    raw = rule.fn(g, *rule_inputs(node, rule, i, wrap))
                elif len(reads) == 1:
                    raw = rule.fn(g, saved[SLOT[reads[0]]])
                else:
                    raw = rule.fn(g, *[saved[SLOT[name]] for name in reads])
                shape, dtype = node.shapes[i], node.dtypes[i]
                gi = raw if raw.shape == shape else sum_to(raw, shape)
                if gi.dtype is not dtype and gi.dtype != dtype:
                    gi = gi.astype(dtype)
                if observers:
                    for o in observers:
                        o.contribution(node, i, rule, g, raw, gi)
                grads[parent] = grads[parent] + gi if parent in grads else gi
            if not retain_graph:
                node.saved, node.params, node.versions = None, None, ()  # release them
        # what is left are the leaves: each gets the sum of its contributions, once
        for leaf, g in grads.items():
            if observers:
                for o in observers:
                    g = o.leaf_gradient(leaf, g)
            sink.leaf(leaf, g)
    finally:
        state.in_backward = outer
