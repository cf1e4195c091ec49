"""``autograd.Function``: an op whose forward and backward the user writes, as PyTorch's.

    class Cube(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 3 * x ** 2

    y = Cube.apply(x)

The call becomes one Node of the graph, named ``CubeBackward``. Its one rule (shared
by every tensor input, as ``cat``'s) calls ``backward`` once per pass and hands each
input its part; a ``backward`` written with Tensor ops is itself recorded under
``create_graph=True``. Several outputs are packed into one flat result, of which each
output is a view, so the engine still sees one output per Node.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import ops
from .engine import Version, record, state
from .grad_mode import no_grad
from .inplace import _become, _check_recordable
from .ops import Op, Rule
from .tensor import Tensor, apply


class FunctionCtx:
    """What ``forward`` and ``backward`` share: saved tensors and any attributes."""

    def __init__(self, name: str, needs_input_grad: tuple[bool, ...]) -> None:
        self._name = name
        self.needs_input_grad = needs_input_grad
        self._saved: tuple = ()
        self._non_differentiable: list = []
        self._dirty: list = []
        self.materialize_grads = True
        self._memo: tuple | None = None  # (g, grads) of the current pass
        self._arrived: set[int] = set()  # outputs that received a gradient in this pass

    def save_for_backward(self, *tensors: Tensor | None) -> None:
        """Keep tensors for backward; an in-place change afterwards makes it raise."""
        self._saved = tuple((t, None if t is None else t._vc.n) for t in tensors)

    @property
    def saved_tensors(self) -> tuple:
        for k, (t, n) in enumerate(self._saved):
            if t is not None and t._vc.n != n:
                raise RuntimeError(
                    f"{self._name}Backward: saved tensor {k} (shape {t.shape}) was changed by "
                    f"an in-place operation after save_for_backward (version {n}, now "
                    f"{t._vc.n}); backward would use the new value. Save a .clone().")
        return tuple(t for t, _n in self._saved)

    def mark_non_differentiable(self, *outputs: Tensor) -> None:
        """These outputs get no gradient (they are returned without history)."""
        self._non_differentiable.extend(outputs)

    def mark_dirty(self, *tensors: Tensor) -> None:
        """forward changed these inputs in place and returns them: each takes the
        Function's node as its history (its version counts the change)."""
        self._dirty.extend(tensors)

    def set_materialize_grads(self, value: bool) -> None:
        """With False, backward gets None for an output that received no gradient."""
        self.materialize_grads = bool(value)


def _function_rule(g: Any, i: int, ctx: FunctionCtx, fn: type, spans: tuple, slots: tuple):
    """Input slot i's share of fn.backward(ctx, *output gradients), one call per pass."""
    if ctx._memo is None or ctx._memo[0] is not g:
        grads = []
        for start, stop, shape in spans or ((None, None, None),):
            if spans is None:  # one output: g is its gradient
                grads.append(g if isinstance(g, Tensor) else Tensor._wrap(np.asarray(g), None))
                break
            k = len(grads)
            if not ctx.materialize_grads and k not in ctx._arrived:
                grads.append(None)
                continue
            part = g[start:stop].reshape(shape)
            grads.append(part if isinstance(part, Tensor)
                         else Tensor._wrap(np.asarray(part), None))
        ctx._arrived.clear()
        result = fn.backward(ctx, *grads)
        result = result if isinstance(result, tuple) else (result,)
        if len(result) != len(ctx.needs_input_grad):
            raise RuntimeError(
                f"{fn.__name__}.backward returned {len(result)} gradients, but forward took "
                f"{len(ctx.needs_input_grad)} inputs: return one per input (None for "
                "inputs that need none)")
        ctx._memo = (g, result)
    gi = ctx._memo[1][slots[i][0]]
    shape = slots[i][1]
    if gi is None:
        return np.zeros(shape) if not isinstance(g, Tensor) else Tensor._wrap(np.zeros(shape),
                                                                            None)
    gi = gi if isinstance(gi, Tensor) else Tensor(gi)
    if gi.shape != shape:
        raise RuntimeError(
            f"{fn.__name__}.backward returned a gradient of shape {gi.shape} for input "
            f"{slots[i][0]}, but that input has shape {shape}")
    return gi if isinstance(g, Tensor) else gi.array


def _output_rule(g: Any, ctx: FunctionCtx, k: int, start: int, stop: int, total: int):
    """Output k's gradient, put at its span of the packed result (and noted as arrived,
    for set_materialize_grads(False))."""
    ctx._arrived.add(k)
    return ops.scatter_into(g.reshape(-1), (slice(start, stop),), (total,))


def _ops_of(fn: type) -> tuple[Op, Op]:
    """fn's node, and the node that takes one output out of several (both named fn)."""
    found = fn.__dict__.get("_ops")
    if found is None:
        found = (Op(fn.__name__, None, Rule(f"{fn.__name__}.backward(ctx, g)",
                                            _function_rule), variadic=True),
                 Op(fn.__name__, lambda a, start, stop, shape: a[start:stop].reshape(shape),
                    Rule("output k = packed[start:stop]", _output_rule),
                    rule_params=("ctx", "k", "total")))
        fn._ops = found
    return found


class Function:
    """Subclass it with static ``forward(ctx, *args)`` and ``backward(ctx, *grads)``
    (one gradient, or None, per forward argument), and call ``YourFunction.apply``."""

    @staticmethod
    def forward(ctx: FunctionCtx, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("a Function subclass defines forward(ctx, ...)")

    @staticmethod
    def backward(ctx: FunctionCtx, *grads: Any) -> Any:
        raise NotImplementedError("a Function subclass defines backward(ctx, ...)")

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Any:
        needs = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        ctx = FunctionCtx(cls.__name__, needs)
        with no_grad():
            outputs = cls.forward(ctx, *args, **kwargs)
        single = isinstance(outputs, Tensor)
        outs = (outputs,) if single else tuple(outputs)
        if not all(isinstance(o, Tensor) for o in outs):
            raise TypeError(f"{cls.__name__}.forward must return a Tensor or a tuple of "
                            "Tensors")
        for d in ctx._dirty:
            if not any(d is o for o in outs):
                raise RuntimeError(f"{cls.__name__}.forward marked a tensor of shape "
                                   f"{d.shape} dirty but did not return it: return every "
                                   "tensor given to ctx.mark_dirty")
        if not (state.enabled and any(needs)):
            return outputs
        for d in ctx._dirty:
            _check_recordable(d, f"{cls.__name__}.apply (mark_dirty)")
        inputs = [a for a in args if isinstance(a, Tensor)]
        slots = tuple((k, a.shape) for k, a in enumerate(args) if isinstance(a, Tensor))
        if single:  # the node's output is the output itself: its grad_fn is CubeBackward
            packed, spans = outputs.array, None
        else:
            spans, start = [], 0
            for o in outs:
                spans.append((start, start + o.array.size, o.shape))
                start += o.array.size
            dtype = np.result_type(*[o.array for o in outs])
            packed = np.concatenate([o.array.astype(dtype).ravel() for o in outs])
        params = {"ctx": ctx, "fn": cls, "spans": spans, "slots": slots}
        version = Version()
        node_op, output_op = _ops_of(cls)
        node = record(node_op, inputs, packed, version, params)
        whole = Tensor._wrap(packed, node, version)
        results = []
        for k, o in enumerate(outs):
            if any(o is nd for nd in ctx._non_differentiable):
                result = o.detach()
            elif single:
                result = whole
            else:
                a, b, shape = spans[k]
                result = apply(output_op, whole, ctx=ctx, k=k, start=a, stop=b,
                               shape=shape, total=packed.size)
            if any(o is d for d in ctx._dirty):  # o itself, with the Function's history
                result = _become(o, result, f"{cls.__name__}.apply (mark_dirty)")
            results.append(result)
        # as in PyTorch, what was saved counts as of the end of forward: a later in-place
        # change makes backward raise
        ctx._saved = tuple((t, None if t is None else t._vc.n) for t, _n in ctx._saved)
        return results[0] if single else tuple(results)
