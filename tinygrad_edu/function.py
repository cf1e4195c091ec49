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
from .ops import Op, Rule
from .tensor import Tensor, apply


class FunctionCtx:
    """What ``forward`` and ``backward`` share: saved tensors and any attributes."""

    def __init__(self, name: str, needs_input_grad: tuple[bool, ...]) -> None:
        self._name = name
        self.needs_input_grad = needs_input_grad
        self._saved: tuple = ()
        self._non_differentiable: list = []
        self.materialize_grads = True
        self._memo: tuple | None = None  # (g, grads) of the current pass

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
            part = g[start:stop].reshape(shape)
            part = part if isinstance(part, Tensor) else Tensor._wrap(np.asarray(part), None)
            if not ctx.materialize_grads and not np.any(part.array):
                part = None
            grads.append(part)
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


def _op_of(fn: type) -> Op:
    op = fn.__dict__.get("_op")
    if op is None:
        op = Op(fn.__name__, None, Rule(f"{fn.__name__}.backward(ctx, g)", _function_rule),
                variadic=True)
        fn._op = op
    return op


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
        if not (state.enabled and any(needs)):
            return outputs
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
        node = record(_op_of(cls), inputs, packed, version, params)
        whole = Tensor._wrap(packed, node, version)
        if single:
            return outputs.detach() if ctx._non_differentiable else whole
        results = []
        for o, (a, b, shape) in zip(outs, spans):
            if any(o is nd for nd in ctx._non_differentiable):
                results.append(o.detach())
                continue
            part = apply(ops.INDEX, whole, key=(slice(a, b),))
            results.append(apply(ops.RESHAPE, part, shape=shape) if shape != part.shape
                           else part)
        return results[0] if single else tuple(results)
