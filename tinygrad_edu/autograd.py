"""``tinygrad_edu.autograd``: PyTorch's ``torch.autograd`` names on top of the engine.

``grad`` returns gradients instead of filling ``.grad``; the grad modes and anomaly
detection are re-exported here as PyTorch has them. The engine itself (Node, the
reverse pass) is ``engine.py``; this module only chooses where gradients go.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .anomaly import AnomalyError, detect_anomaly, set_detect_anomaly
from .engine import Node, broadcast_axes, sum_to, toposort
from .function import Function, FunctionCtx
from .grad_mode import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from .hooks import AccumulateGrad
from .tensor import Accumulate, Tensor, run_backward

__all__ = ["AccumulateGrad", "AnomalyError", "Collect", "Function", "FunctionCtx", "Node",
           "Variable", "backward",
           "broadcast_axes", "detect_anomaly", "enable_grad", "grad", "inference_mode",
           "is_grad_enabled", "no_grad", "set_detect_anomaly", "set_grad_enabled", "sum_to",
           "toposort"]


def Variable(data: Any, requires_grad: bool = False,  # noqa: N802 - PyTorch's name
             volatile: bool = False) -> Tensor:
    """PyTorch's deprecated ``Variable(t, requires_grad=...)``: the tensor itself (with
    requires_grad set), as PyTorch has returned Tensors since 0.4."""
    t = data if isinstance(data, Tensor) else Tensor(data)
    if requires_grad:
        t.requires_grad_(True)
    return t


def backward(tensors: Tensor | Sequence[Tensor], grad_tensors: Any = None,
             retain_graph: bool | None = None, create_graph: bool = False) -> None:
    """``torch.autograd.backward``: ``backward()`` of several outputs at once."""
    tensors = [tensors] if isinstance(tensors, Tensor) else list(tensors)
    if grad_tensors is None or isinstance(grad_tensors, Tensor):
        grad_tensors = [grad_tensors] * len(tensors)
    run_backward(tensors, list(grad_tensors), retain_graph, create_graph,
                 Accumulate(create_graph), "autograd.backward")


class Collect:
    """Where ``grad()`` sends gradients: only the wanted tensors' are kept. The pass
    runs the rules only of the nodes that lead to a wanted one (``runs``; not of a
    wanted node itself, unless it leads to another) and delivers only to ``keep``."""

    def __init__(self, wanted: Sequence[Tensor], outputs: Sequence[Tensor]) -> None:
        self.wanted = {t.grad_fn or t for t in wanted}  # their nodes, or the leaves
        self.grads: dict = {}
        self.runs: set = set()
        roots = [t.grad_fn for t in outputs if t.grad_fn is not None]
        for node in toposort(roots):  # parents come first in this order
            if any(p is not None and (p in self.wanted or p in self.runs)
                   for p in node.parents):
                self.runs.add(node)
        self.keep = self.wanted | self.runs

    def node(self, node: Node, g: Any) -> None:
        self.grads[node] = g

    def leaf(self, leaf: Tensor, g: Any) -> None:
        if leaf in self.wanted:
            self.grads[leaf] = self.grads[leaf] + g if leaf in self.grads else g


def grad(outputs: Tensor | Sequence[Tensor], inputs: Tensor | Sequence[Tensor],
         grad_outputs: Tensor | Sequence[Tensor | None] | None = None,
         retain_graph: bool | None = None, create_graph: bool = False,
         allow_unused: bool = False) -> tuple[Tensor | None, ...]:
    """Gradients of ``outputs`` with respect to ``inputs``, returned as a tuple.

    Like ``torch.autograd.grad``: ``.grad`` of no tensor is touched. With
    ``create_graph=True`` the results are themselves differentiable (Hessian-vector
    products, Newton steps). ``retain_graph`` defaults to ``create_graph``.
    """
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
    sink = Collect(inputs, outputs)
    run_backward(outputs, grad_outputs, retain_graph, create_graph, sink, "grad")
    results = []
    for k, t in enumerate(inputs):
        g = sink.grads.get(t.grad_fn or t)
        if g is None and not allow_unused:
            raise RuntimeError(
                f"grad: input {k} (shape {t.shape}) was not used to compute the outputs; "
                "pass allow_unused=True to get None for it")
        if g is not None and not create_graph:
            g = Tensor._wrap(np.array(g), None)  # a fresh array, in no graph
        results.append(g)
    return tuple(results)
