"""In-place updates: ``+= -= *= /=``, ``add_`` ..., ``zero_()``, ``t[key] = v``, as PyTorch.

Without recording (under no_grad, or when nothing requires grad) they write the memory
and count a new version. While recording they are the out-of-place op, whose result
is written into the memory and whose history the tensor takes over. When the memory
belongs to a base tensor (the tensor is a view), the base's new value is recorded as
``put(base, result)`` (PyTorch's CopySlices), and every view of the base is given a
history that starts from the base's new one.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import names, ops
from .creation import numpy_rng
from .engine import SLOT, Node, Version, state
from .functions import _index_key
from .grad_mode import GradMode
from .ops import Op
from .tensor import Tensor, _operand, _shapes, apply


def _inplace(self, op: Op, ufunc: np.ufunc, other: Any, symbol: str) -> Tensor:
    other_t = _operand(other, self)
    if other_t is NotImplemented:
        raise TypeError(f"unsupported operand for {symbol}: Tensor and "
                        f"{type(other).__name__}")
    _check_writeable(self, symbol)
    if state.enabled and (self.requires_grad or other_t.requires_grad):
        _check_recordable(self, symbol)
        return _become(self, apply(op, self, other_t), symbol)
    try:
        ufunc(self.array, other_t.array, out=self.array)
    except ValueError as exc:
        raise ValueError(f"in-place {symbol}: cannot write a result of shapes "
                         f"{_shapes((self, other_t))} into the tensor of shape "
                         f"{self.shape} ({exc}); an in-place op cannot change the "
                         "shape") from None
    _changed(self, _HOW[symbol], other_t)
    return self


_HOW = {"+=": "add", "-=": "sub", "*=": "mul", "/=": "div", "pow_": "pow"}


def _check_writeable(self, symbol: str) -> None:
    if not self.array.flags.writeable:
        raise ValueError(f"in-place {symbol}: this tensor (shape {self.shape}) is a "
                         "read-only broadcast view made by expand(); clone() it first")

def _check_recordable(self, symbol: str) -> None:
    """Can an in-place op on this tensor be recorded? (checked before computing it)"""
    base = self._view[0] if self._view else self
    if base.is_leaf and base.requires_grad:
        what = "a leaf tensor" if base is self else "a view of a leaf tensor"
        raise RuntimeError(
            f"in-place {symbol} on {what} that requires grad (shape {base.shape}) "
            "while gradients are being recorded: it would erase the tensor's own "
            "value from the graph. Update parameters inside "
            "`with tinygrad_edu.no_grad():` (e.g. w -= lr * w.grad).")
    if self._view and not self._view[2]:
        raise RuntimeError(
            f"in-place {symbol}: this tensor (shape {self.shape}) is a view made "
            "inside no_grad(), and is being changed in place while gradients are "
            "recorded, so its base's history cannot be updated. Make the view outside "
            "no_grad(), or change a .clone() of it instead.")

def _keep_own_copy(node: Node, array: np.ndarray) -> None:
    """Replace node's saved references to ``array`` by a private copy: a recorded
    in-place op is about to overwrite it, and node's rules need the old value."""
    for k, (name, _counter, _n) in enumerate(node.versions):
        if node.saved[SLOT[name]] is array:
            saved = list(node.saved)
            saved[SLOT[name]] = array.copy()
            node.saved = tuple(saved)
            node.versions = node.versions[:k] + ((name, Version(), 0),) + node.versions[k + 1:]


def _become(self, result: Tensor, symbol: str) -> Tensor:
    """Recorded in-place update: store ``result`` in this tensor's memory and take
    over its history, as PyTorch does for ``c += x`` on a non-leaf tensor.

    If this tensor is a view, the memory belongs to its base: the base's new value
    is ``put(base, result)`` (the base with the view's elements replaced, PyTorch's
    CopySlices). Either way every view of the base is then given a history that
    starts from the base's new one, by replaying its view ops."""
    if result.shape != self.shape:
        raise ValueError(f"in-place {symbol}: the result has shape {result.shape} but "
                         f"the tensor has shape {self.shape}; an in-place op cannot "
                         "change the shape")
    if result.grad_fn is not None:
        _keep_own_copy(result.grad_fn, self.array)  # e.g. c *= x needs the old c
    base = self
    if self._view:
        base, steps, _ = self._view
        result = apply(ops.PUT, base, result, index=_positions(base, steps))
    base.array[...] = result.array
    base._vc.n += 1
    for o in state.observers:
        o.written(base, "recorded", result)
    base.grad_fn = result.grad_fn
    base.requires_grad = result.requires_grad
    if base._name is not None:
        names.label(base.grad_fn, base._name)  # the new op made the named tensor
    _refresh_views(base._vc, self, recorded=True)
    return self

def add_(self, other: Any, *, alpha: float = 1) -> Tensor:
    """self += alpha * other (PyTorch's add_)."""
    return _inplace(self, ops.ADD, np.add, other if alpha == 1 else other * alpha, "+=")


def sub_(self, other: Any, *, alpha: float = 1) -> Tensor:
    return _inplace(self, ops.SUB, np.subtract, other if alpha == 1 else other * alpha, "-=")


def pow_(self, exponent: Any) -> Tensor:
    return _inplace(self, ops.POW, np.power, exponent, "pow_")


def mul_(self, other: Any) -> Tensor:
    return _inplace(self, ops.MUL, np.multiply, other, "*=")


def div_(self, other: Any) -> Tensor:
    return _inplace(self, ops.DIV, np.divide, other, "/=")


def _update(self, symbol: str, recorded: Any, plain: Any, *others: Any,
            how: str | None = None) -> Tensor:
    """The pattern of the methods below: while recording (self or one of ``others``
    requires grad) self takes over ``recorded()``, the new value as an out-of-place
    result; otherwise ``plain()`` writes the memory directly."""
    _check_writeable(self, symbol)
    if state.enabled and (self.requires_grad or
                          any(getattr(o, "requires_grad", False) for o in others)):
        _check_recordable(self, symbol)
        return _become(self, recorded(), symbol)
    plain()
    _changed(self, how, others[0] if others else None)
    return self


def _nowhere(self) -> np.ndarray:
    return np.zeros(self.shape, dtype=bool)  # where(_nowhere, self, v): v everywhere


def fill_(self, value: Any) -> Tensor:
    """Every element set to value (a number or a one-element tensor); in a recorded
    graph the old values get gradient 0 and a tensor value the sum of g."""
    def plain() -> None:
        self.array[...] = value.array if isinstance(value, Tensor) else value
    return _update(self, "fill_", lambda: self.where(_nowhere(self), value), plain, value,
                   how="fill")


def zero_(self) -> Tensor:
    """Set every element to 0 in place (``w.grad.zero_()``)."""
    def plain() -> None:
        self.array.fill(0)
    return _update(self, "zero_()", lambda: self.where(_nowhere(self), 0.0), plain, 0.0,
                   how="fill")


def copy_(self, src: Any, non_blocking: bool = False) -> Tensor:
    """src's values (broadcast to this shape, cast to this dtype) written into self."""
    src_t = src if isinstance(src, Tensor) else _operand(np.asarray(src), self)
    try:
        np.broadcast_to(src_t.array, self.shape)
    except ValueError:
        raise ValueError(f"copy_: a source of shape {src_t.shape} does not broadcast to "
                         f"the tensor's shape {self.shape}") from None

    def recorded() -> Tensor:
        return self.where(_nowhere(self), src_t.astype(self.dtype)
                          if self.dtype.kind == "f" else src_t)

    def plain() -> None:
        np.copyto(self.array, src_t.array, casting="unsafe")
    return _update(self, "copy_", recorded, plain, src_t, how="copy")


def masked_fill_(self, mask: Any, value: Any) -> Tensor:
    """value where mask (a boolean tensor or array, broadcast) is True."""
    cond = np.asarray(mask.array if isinstance(mask, Tensor) else mask, dtype=bool)

    def plain() -> None:
        np.copyto(self.array, value.array if isinstance(value, Tensor) else value, where=cond,
                  casting="unsafe")
    return _update(self, "masked_fill_", lambda: self.where(~cond, value), plain, value)


def clamp_(self, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002
    def plain() -> None:
        np.clip(self.array, min, max, out=self.array)
    return _update(self, "clamp_", lambda: self.clamp(min, max), plain)


def _random_(self, draw: Any, symbol: str) -> Tensor:
    values = draw(self.shape).astype(self.dtype)

    def plain() -> None:
        self.array[...] = values
    return _update(self, symbol, lambda: self.where(_nowhere(self), values), plain)


def normal_(self, mean: float = 0.0, std: float = 1.0, *, generator: Any = None) -> Tensor:
    """Normal random numbers written in place (nn.init uses these under no_grad)."""
    rng = numpy_rng(generator, "normal_")
    return _random_(self, lambda shape: rng.normal(mean, std, shape), "normal_")


def uniform_(self, a: float = 0.0, b: float = 1.0, *, generator: Any = None) -> Tensor:
    rng = numpy_rng(generator, "uniform_")
    return _random_(self, lambda shape: rng.uniform(a, b, shape), "uniform_")


def setitem(self, key: Any, value: Any) -> None:
    """``t[key] = value``, in place. While recording, on a tensor or value that
    requires grad, it is the op ``put`` (PyTorch's index_put / CopySlices): the
    gradient of the overwritten elements is 0, the value's is g at those places."""
    _check_writeable(self, "item assignment")
    key = _index_key(key)
    if state.enabled and (self.requires_grad or getattr(value, "requires_grad", False)):
        value_t = _operand(value, self)
        if value_t is NotImplemented:
            raise TypeError(f"item assignment: cannot assign a {type(value).__name__}")
        _check_recordable(self, "item assignment")
        index = np.arange(self.array.size).reshape(self.shape)[key]
        extra = value_t.ndim - index.ndim  # leading 1s may be dropped, as NumPy
        if extra > 0 and all(n == 1 for n in value_t.shape[:extra]):
            value_t = value_t.reshape(value_t.shape[extra:])
        try:
            np.broadcast_to(value_t.array, index.shape)
        except ValueError:
            raise ValueError(f"item assignment: a value of shape {value_t.shape} does "
                             f"not fit the {index.shape} elements selected from shape "
                             f"{self.shape}") from None
        _become(self, apply(ops.PUT, self, value_t, index=index), "item assignment")
        return
    value = value.array if isinstance(value, Tensor) else value
    try:
        self.array[key] = value
    except ValueError as exc:
        raise ValueError(f"item assignment into shape {self.shape}: {exc}") from None
    _changed(self)



def _positions(base: Tensor, steps: tuple) -> np.ndarray:
    """Where a view's elements sit in its base: the view ops replayed on the flat
    positions 0, 1, ... of the base (C order)."""
    index = np.arange(base.array.size).reshape(base.shape)
    for op, params in steps:
        index = op.forward(index, **params)
    return index


def _changed(t: Tensor, how: str | None = None, source: Any = None) -> None:
    """t's memory was changed in place without recording (under no_grad, or nothing
    required grad): a new version, and, as PyTorch, new histories for its views that
    have one, so that earlier uses of a view do not count for its later ones. The
    observers hear how (see ``engine.Observer.written``)."""
    for o in state.observers:
        o.written(t, how, source)
    t._vc.n += 1
    if t._vc.views:
        _refresh_views(t._vc, t, recorded=False)


def _refresh_views(version: Version, changed: Tensor, recorded: bool) -> None:
    """After an in-place change of the memory counted by ``version``: its views (and
    ``changed`` itself, if it is a view) take histories that start from their base's
    current one, by replaying their view ops. Their values are already right: they
    share the memory. Unrecorded changes renew only views that have a history."""
    views = [ref() for ref in version.views or ()]
    if changed._view and all(view is not changed for view in views):
        views.append(changed)
    with GradMode(True):
        for view in views:
            if view is None or view._view is None or not (recorded or view.grad_fn):
                continue
            t = view._view[0]
            for op, params in view._view[1]:
                t = apply(op, t, **params)
            view.grad_fn = t.grad_fn
            view.requires_grad = t.requires_grad


# Tensor's in-place methods live in this file; here they join the class.
for _name, _method in {"add_": add_, "sub_": sub_, "mul_": mul_, "div_": div_,
                       "pow_": pow_, "__iadd__": add_, "__isub__": sub_, "__imul__": mul_,
                       "__itruediv__": div_, "__ipow__": pow_, "zero_": zero_,
                       "fill_": fill_, "copy_": copy_, "masked_fill_": masked_fill_,
                       "clamp_": clamp_, "clip_": clamp_, "normal_": normal_,
                       "uniform_": uniform_, "__setitem__": setitem}.items():
    setattr(Tensor, _name, _method)
