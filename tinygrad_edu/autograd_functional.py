"""``torch.autograd.functional``'s names (``tinygrad_edu.autograd.functional``):
``jacobian``, ``hessian``, ``vjp``, ``jvp``, ``hvp``, ``vhp``, with PyTorch's signatures.

They are the same code as ``tinygrad_edu.func`` with PyTorch's older conventions:
``inputs`` is a Tensor or a tuple of Tensors, ``v`` is a vector (or tuple) shaped like
the outputs or inputs, and the results are detached unless ``create_graph=True``.
``vectorize`` is accepted and ignored (nothing here is vectorized).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .autograd import grad as autograd_grad
from .func import _blocks, _Call, _columns, _filled, _rows
from .tensor import Tensor

__all__ = ["hessian", "hvp", "jacobian", "jvp", "vhp", "vjp"]


def _as_tuple(value: Any, what: str, where: str) -> tuple[tuple[Tensor, ...], bool]:
    """(the tensors as a tuple, was it a tuple); a TypeError for anything else."""
    if isinstance(value, Tensor):
        return (value,), False
    if isinstance(value, tuple) and all(isinstance(t, Tensor) for t in value):
        return value, True
    raise TypeError(f"{where}: {what} must be a Tensor or a tuple of Tensors, got "
                    f"{type(value).__name__}" + (" (use a tuple)" if isinstance(value, list)
                                                  else ""))


def _call(func: Callable, inputs: Any, create_graph: bool,
          where: str) -> tuple[_Call, bool, bool]:
    """func called on fresh copies of the inputs: (the call, were the inputs a tuple,
    were the outputs a tuple)."""
    inputs, is_tuple = _as_tuple(inputs, "the inputs", where)
    call = _Call(func, inputs, {}, None, False, where, record=create_graph,
                 out_error=TypeError)
    _, out_tuple = _as_tuple(call.out, "the outputs of the function", where)
    return call, is_tuple, out_tuple


def _vector(v: Any, like: list[Tensor], what: str, where: str) -> list[Tensor]:
    """v (shaped like ``like``, the function's inputs or outputs: ``what`` is "input" or
    "output"), or ones if None and ``like`` is a single element."""
    if v is None:
        if len(like) != 1 or like[0].numel() != 1:
            raise RuntimeError(f"{where}: v can only be None if the function's {what} is a "
                               f"single Tensor with a single element; pass v shaped like "
                               f"the {what}")
        return [Tensor._wrap(np.ones(like[0].shape, like[0].dtype), None)]
    vs, _ = _as_tuple(v, "v", where)
    if len(vs) != len(like):
        raise RuntimeError(f"{where}: v has {len(vs)} tensors but the function has "
                           f"{len(like)} {what}s; give one per {what}")
    for k, (t, x) in enumerate(zip(vs, like)):
        if t.shape != x.shape:
            raise RuntimeError(f"{where}: v {k} has shape {t.shape} but {what} {k} has "
                               f"shape {x.shape}; they must match")
    return list(vs)


def _strict(grads: list, where: str, what: str) -> None:
    for k, g in enumerate(grads):
        if g is None:
            raise RuntimeError(f"{where}: {what} is independent of input {k}; this is not "
                               "allowed with strict=True")


def _shaped(values: list[Tensor], is_tuple: bool, create_graph: bool) -> Any:
    values = values if create_graph else [t.detach() for t in values]
    return tuple(values) if is_tuple else values[0]


def vjp(func: Callable, inputs: Any, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple[Any, Any]:
    """``(func(inputs), vᵀJ)``, as ``torch.autograd.functional.vjp``."""
    where = "autograd.functional.vjp"
    call, is_tuple, out_tuple = _call(func, inputs, create_graph, where)
    grads = call.vjp(_vector(v, call.out_flat, "output", where))
    if strict:
        _strict(grads, where, "the output")
    return (_shaped(call.out_flat, out_tuple, create_graph),
            _shaped(_filled(grads, call.inputs), is_tuple, create_graph))


def jvp(func: Callable, inputs: Any, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple[Any, Any]:
    """``(func(inputs), J v)``, as ``torch.autograd.functional.jvp`` (forward mode by
    the double-vjp trick, see ``tinygrad_edu.func.jvp``)."""
    where = "autograd.functional.jvp"
    call, _, out_tuple = _call(func, inputs, create_graph, where)
    tangents = _vector(v, call.inputs, "input", where)
    out_tangents = call.linearize()(tangents)
    if strict:
        for k, t in enumerate(out_tangents):
            if t is None:
                raise RuntimeError(f"{where}: output {k} is independent of the inputs; "
                                   "this is not allowed with strict=True")
    return (_shaped(call.out_flat, out_tuple, create_graph),
            _shaped(_filled(out_tangents, call.out_flat), out_tuple, create_graph))


def jacobian(func: Callable, inputs: Any, create_graph: bool = False, strict: bool = False,
             vectorize: bool = False, strategy: str = "reverse-mode") -> Any:
    """The Jacobian, as ``torch.autograd.functional.jacobian``: a Tensor shaped
    output.shape + input.shape, or tuples (per output, then per input) when the
    inputs or outputs are tuples. ``strategy`` is "reverse-mode" (one vjp per output
    element) or "forward-mode" (one jvp per input element; PyTorch requires
    ``vectorize=True`` for it, here it works either way)."""
    where = "autograd.functional.jacobian"
    if strategy not in ("reverse-mode", "forward-mode"):
        raise ValueError(f"{where}: strategy must be 'forward-mode' or 'reverse-mode', got "
                         f"{strategy!r}; forward mode is cheaper when there are more "
                         "outputs than inputs")
    call, in_tuple, out_tuple = _call(func, inputs, create_graph, where)
    if strategy == "reverse-mode":
        parts = _rows(call)
        blocks = _blocks(call, parts, by_rows=True)
        unused = [(i, j) for i, rows in enumerate(parts) for r in rows
                  for j, g in enumerate(r) if g is None]
    else:
        parts = _columns(call)
        blocks = _blocks(call, parts, by_rows=False)
        unused = [(i, j) for j, cols in enumerate(parts) for c in cols
                  for i, t in enumerate(c) if t is None]
    if strict and unused:
        i, j = unused[0]
        raise RuntimeError(f"{where}: output {i} of the function is independent of input "
                           f"{j}; this is not allowed with strict=True")
    if not create_graph:
        blocks = [[b.detach() for b in row] for row in blocks]
    per_output = [tuple(row) if in_tuple else row[0] for row in blocks]
    return tuple(per_output) if out_tuple else per_output[0]


def hessian(func: Callable, inputs: Any, create_graph: bool = False, strict: bool = False,
            vectorize: bool = False, outer_jacobian_strategy: str = "reverse-mode") -> Any:
    """The Hessian of a scalar function, as ``torch.autograd.functional.hessian``:
    shaped input.shape + input.shape, or a tuple of tuples for a tuple of inputs."""
    where = "autograd.functional.hessian"
    inputs_t, is_tuple = _as_tuple(inputs, "the inputs", where)

    def gradient(*xs: Tensor) -> tuple[Tensor, ...]:
        call = _Call(func, xs, {}, None, False, where)
        out = call.out
        if not isinstance(out, Tensor) or out.numel() != 1:
            got = f"shape {out.shape}" if isinstance(out, Tensor) else type(out).__name__
            raise RuntimeError(f"{where}: the function must return a Tensor with a single "
                               f"element, got {got}")
        grads = call.vjp([Tensor._wrap(np.ones(out.shape, out.dtype), None)])
        if strict:
            _strict(grads, where, "the output")
        return tuple(_filled(grads, call.inputs))

    result = jacobian(gradient, inputs_t, create_graph=create_graph, strict=strict,
                      strategy=outer_jacobian_strategy)
    return result if is_tuple else result[0][0]


def _hessian_product(func: Callable, inputs: Any, v: Any, create_graph: bool, strict: bool,
                     where: str) -> tuple[Any, Any]:
    """(func(inputs), H v): the vjp of the recorded gradient along v (H is symmetric,
    so this is also vᵀH)."""
    call, is_tuple, _ = _call(func, inputs, True, where)
    out = call.out
    if not isinstance(out, Tensor) or out.numel() != 1:
        got = f"shape {out.shape}" if isinstance(out, Tensor) else type(out).__name__
        raise RuntimeError(f"{where}: the function must return a Tensor with a single "
                           f"element, got {got}")
    vs = _vector(v, call.inputs, "input", where)
    grads = call.vjp([Tensor._wrap(np.ones(out.shape, out.dtype), None)])
    if strict:
        _strict(grads, where, "the output")
    pairs = [(g, u, k) for k, (g, u) in enumerate(zip(grads, vs))
             if g is not None and g.requires_grad]
    result: list[Tensor | None] = [None] * len(call.inputs)
    if pairs:
        second = autograd_grad([g for g, _, _ in pairs], call.inputs, [u for _, u, _ in pairs],
                               retain_graph=True, create_graph=create_graph, allow_unused=True)
        result = list(second)
    if strict:
        _strict(result, where, "the gradient")
    value = out if create_graph else out.detach()
    return value, _shaped(_filled(result, call.inputs), is_tuple, create_graph)


def hvp(func: Callable, inputs: Any, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple[Any, Any]:
    """``(func(inputs), H v)``, as ``torch.autograd.functional.hvp``."""
    return _hessian_product(func, inputs, v, create_graph, strict, "autograd.functional.hvp")


def vhp(func: Callable, inputs: Any, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple[Any, Any]:
    """``(func(inputs), vᵀH)``, as ``torch.autograd.functional.vhp`` (equal to hvp's
    result, H being symmetric)."""
    return _hessian_product(func, inputs, v, create_graph, strict, "autograd.functional.vhp")

