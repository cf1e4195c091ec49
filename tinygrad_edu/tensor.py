"""Tensor: a NumPy array plus what autograd needs (grad, requires_grad, grad_fn).

Every differentiable method is one ``apply(OP, ...)`` call on an op from ``ops.py``,
or a composition of such methods (no derivative is written here).
"""

from __future__ import annotations

import gc
import math
import numbers
import weakref
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from . import names, ops
from .engine import Node, Version, record, reverse_pass, state
from .grad_mode import GradMode
from .ops import Op

_FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
Axis = int | Sequence[int] | None


# --- turning user data into arrays -----------------------------------------------------


def _check_dtype(dtype: Any, where: str) -> np.dtype:
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{where}: {dtype!r} is not a dtype; use float32 or float64") from None
    if dt not in _FLOAT_DTYPES:
        raise TypeError(f"{where}: dtype {dt} is not supported; tensors hold float32 or float64")
    return dt


def _to_array(data: Any, dtype: Any = None, where: str = "tensor()") -> np.ndarray:
    """Copy user data into a float array: float32 stays float32, the rest is float64."""
    if isinstance(data, Tensor):
        array = np.array(data.data)
    elif isinstance(data, (str, bytes)) or data is None:
        raise TypeError(f"{where}: cannot make a tensor from {type(data).__name__} "
                        f"{data!r}; give numbers, nested lists of numbers or an ndarray")
    else:
        try:
            array = np.array(data)
        except ValueError as exc:
            raise ValueError(f"{where}: the nested lists are ragged (rows of different "
                             f"lengths) or not numbers ({exc}); every row must have the "
                             "same length") from None
    kind = array.dtype.kind
    if kind in "OUSVMm":
        raise TypeError(f"{where}: cannot make a tensor from values of type "
                        f"{array.dtype} (got {type(data).__name__}); give real numbers")
    if kind == "c":
        raise TypeError(f"{where}: complex numbers are not supported")
    if dtype is not None:
        return array.astype(_check_dtype(dtype, where), copy=False)
    if array.dtype in _FLOAT_DTYPES:
        return array
    return array.astype(np.float32 if array.dtype == np.float16 else np.float64)


def _operand(x: Any, like: Tensor) -> Tensor:
    """The other side of a binary op as a Tensor; Python numbers and integer or
    boolean arrays take ``like``'s dtype (so float32 stays float32)."""
    if isinstance(x, Tensor):
        return x
    if type(x) is float or type(x) is int:  # the common case, first
        return Tensor._wrap(np.array(x, dtype=like.data.dtype), None)
    if isinstance(x, (numbers.Real, np.bool_)) and not isinstance(x, np.ndarray):
        return Tensor._wrap(np.asarray(x, dtype=like.data.dtype), None)
    if isinstance(x, np.ndarray):
        if x.dtype in _FLOAT_DTYPES:
            return Tensor._wrap(x, None)
        if x.dtype.kind in "biuf":
            return Tensor._wrap(x.astype(like.data.dtype), None)
    return NotImplemented


def _shapes(inputs: Sequence[Tensor]) -> str:
    return " and ".join(str(t.shape) for t in inputs)


def apply(op: Op, *inputs: Tensor, **params: Any) -> Tensor:
    """Run ``op`` forward on the inputs' arrays; record a Node if a gradient is needed."""
    forward_params = params
    if op.rule_params:  # params only the rules read are not for the forward
        forward_params = {k: v for k, v in params.items() if k not in op.rule_params}
    try:
        out = op.forward(*[t.data for t in inputs], **forward_params)
    except ValueError as exc:
        raise ValueError(f"{op.name}: {exc} (input shapes {_shapes(inputs)})") from None
    except IndexError as exc:
        raise IndexError(f"{op.name}: {exc} (tensor shape {_shapes(inputs)})") from None
    if type(out) is not np.ndarray:
        out = np.asarray(out)  # full reductions return NumPy scalars
    if op.view and np.may_share_memory(out, inputs[0].data):
        result = _make_view(op, inputs[0], out, params)
    else:
        version = Version()
        grad_fn = None
        if state.enabled:
            for t in inputs:
                if t.requires_grad:
                    grad_fn = record(op, inputs, out, version, params)
                    break
        result = Tensor._wrap(out, grad_fn, version)
    if state.observers:
        for o in state.observers:
            o.forward(op, inputs, out, result.grad_fn)
    return result


def _make_view(op: Op, source: Tensor, out: np.ndarray, params: dict) -> Tensor:
    """The result of a view op (reshape, permute, basic slicing ...) that shares memory
    with ``source``. It shares the version counter, and remembers its base (the tensor
    that owns the memory) and the view ops that lead from it, so that an in-place change
    through either side can be recorded as PyTorch does (see ``_record_inplace``)."""
    version = source._vc  # a view changes when its base changes, and back
    grad_fn = None
    if state.enabled:
        if source.requires_grad:
            grad_fn = record(op, (source,), out, version, params)
        views = version.views
        if views is None:
            version.views = views = []
        elif len(views) >= 16 and len(views) & (len(views) - 1) == 0:
            views[:] = [ref for ref in views if ref() is not None]  # drop dead views
    t = Tensor._wrap(out, grad_fn, version)
    if not state.enabled:
        t.requires_grad = source.requires_grad  # as PyTorch: a no-grad view still "requires"
    base, steps, recording = source._view or (source, (), True)
    t._view = (base, steps + ((op, params),), recording and state.enabled)
    if state.enabled:
        views.append(weakref.ref(t))
    return t


# --- the one way into a reverse pass --------------------------------------------------


def _seed(out: Tensor, gradient: Any, where: str) -> Tensor:
    """The starting gradient dL/d(out): 1 for a one-element output."""
    if gradient is None:
        if out.data.size != 1:
            raise RuntimeError(
                f"{where}: the output has shape {out.shape}, not one element, so the "
                "gradient to start from is ambiguous. Reduce it to a scalar first "
                "(e.g. loss.sum() or loss.mean()), or pass gradient= (a tensor of "
                f"shape {out.shape}) giving dL/d(output).")
        return Tensor._wrap(np.ones(out.shape, out.dtype), None)
    seed = gradient if isinstance(gradient, Tensor) else Tensor(gradient, dtype=out.dtype)
    if seed.shape != out.shape:
        raise ValueError(f"{where}: the gradient has shape {seed.shape} but the output "
                         f"has shape {out.shape}; they must match")
    return seed


def run_backward(outputs: Sequence[Tensor], gradients: Sequence[Any],
                 retain_graph: bool | None, create_graph: bool, sink: Any, where: str) -> None:
    """Start a reverse pass (``backward``, ``autograd.grad`` and ``explain_backward``
    all come here): check the outputs, make the seed gradients, then run the engine's
    loop with rules on arrays, or on Tensors when ``create_graph`` (recorded)."""
    for k, out in enumerate(outputs):
        if not out.requires_grad:
            which = "this tensor" if len(outputs) == 1 else f"output {k}"
            raise RuntimeError(
                f"{where}: {which} (shape {out.shape}) does not require grad and has no "
                "grad_fn, so there is nothing to differentiate. Create the parameters with "
                "requires_grad=True, and do not compute the loss under no_grad().")
    seeds = [_seed(out, g, where) for out, g in zip(outputs, gradients)]
    roots = [(out.grad_fn or out, seed if create_graph else seed.data)
             for out, seed in zip(outputs, seeds)]
    if retain_graph is None:
        retain_graph = create_graph  # as PyTorch: a recorded backward keeps the graph
    collecting = gc.isenabled()
    gc.disable()  # the graph has no reference cycles: nothing for the collector to find,
    # and its repeated scans of millions of live nodes would cost more than the pass
    try:
        with GradMode(create_graph):  # the rules' own ops are recorded only then
            reverse_pass(roots, sink, retain_graph, Tensor._wrap if create_graph else None)
    finally:
        if collecting:
            gc.enable()


class Accumulate:
    """Where ``backward()`` sends gradients: added into each leaf's ``.grad``."""

    keep = None  # every node is visited

    def __init__(self, create_graph: bool) -> None:
        self.create_graph = create_graph

    def leaf(self, leaf: Tensor, g: Any) -> None:
        """leaf.grad += g, as PyTorch: in place into the existing .grad when possible."""
        if leaf.grad is None:
            # a fresh array the leaf owns: g may be shared with other leaves or be a view
            leaf.grad = g * 1.0 if self.create_graph else Tensor._wrap(np.array(g), None)
        elif self.create_graph or leaf.grad.requires_grad:
            leaf.grad = leaf.grad + g
        else:
            np.add(leaf.grad.data, g, out=leaf.grad.data)
            leaf.grad._vc.n += 1


class Tensor:
    """An n-dimensional array that records the operations applied to it.

    >>> w = Tensor([2.0, 3.0], requires_grad=True)
    >>> loss = (w * w).sum()
    >>> loss.backward()
    >>> w.grad
    tensor([4., 6.])
    """

    __slots__ = ("data", "grad", "requires_grad", "grad_fn", "_name", "_vc", "_view",
                 "__weakref__")
    __array_ufunc__ = None  # ndarray (op) Tensor defers to Tensor's reflected operator

    def __init__(self, data: Any, requires_grad: bool = False, dtype: Any = None,
                 name: str | None = None) -> None:
        self.data: np.ndarray = _to_array(data, dtype, "Tensor()")
        self.grad: Tensor | None = None
        self.requires_grad = bool(requires_grad)
        self.grad_fn: Node | None = None
        self.name = name
        self._vc = Version()
        self._view = None  # for a view: (base, view ops from it, made while recording)

    @classmethod
    def _wrap(cls, data: np.ndarray, grad_fn: Node | None,
              version: Version | None = None) -> Tensor:
        """Fast internal constructor: ``data`` is already a proper array."""
        t = object.__new__(cls)
        t.data = data
        t.grad = None
        t.grad_fn = grad_fn
        t.requires_grad = grad_fn is not None
        t._name = None
        t._vc = Version() if version is None else version
        t._view = None
        return t

    # --- what it is ------------------------------------------------------------------

    @property
    def name(self) -> str | None:
        """A label for pictures and traces (``Tensor(..., name="w")``, or set later:
        ``y_pred.name = "y_pred"`` also labels the op that made it)."""
        return self._name

    @name.setter
    def name(self, name: str | None) -> None:
        self._name = name
        if self.grad_fn is not None:
            names.label(self.grad_fn, name)

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def is_leaf(self) -> bool:
        """True for tensors made by the user, not by an op that recorded a graph."""
        return self.grad_fn is None

    @property
    def _version(self) -> int:
        """How many times this tensor's memory was changed in place."""
        return self._vc.n

    def size(self, dim: int | None = None) -> tuple[int, ...] | int:
        """The shape (PyTorch's name), or the length of one dimension."""
        return self.shape if dim is None else self.shape[dim]

    def numel(self) -> int:
        return int(self.data.size)

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __iter__(self) -> Iterator[Tensor]:
        for i in range(len(self)):
            yield self[i]

    def numpy(self) -> np.ndarray:
        """The underlying array (shared, not copied)."""
        return self.data

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        return self.data if dtype is None else self.data.astype(dtype)

    def item(self) -> float:
        if self.data.size != 1:
            raise ValueError(f"item(): only a tensor with one element can be converted to "
                             f"a Python number; this one has shape {self.shape}")
        return self.data.item()

    def tolist(self) -> Any:
        return self.data.tolist()

    def __float__(self) -> float:
        return float(self.item())

    def __bool__(self) -> bool:
        if self.data.size != 1:
            raise ValueError(f"the truth value of a tensor of shape {self.shape} is "
                             "ambiguous; use .any() / .all() on .numpy(), or compare .item()")
        return bool(self.data.item())

    def __format__(self, spec: str) -> str:
        return format(self.item(), spec) if self.data.size == 1 and spec else str(self)

    def __repr__(self) -> str:
        body = np.array2string(self.data, precision=4, separator=", ", prefix="tensor(")
        extras = []
        if self.dtype != np.float64:
            extras.append(f"dtype={self.dtype}")
        if self.grad_fn is not None:
            extras.append(f"grad_fn={self.grad_fn!r}")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        if self.name:
            extras.append(f"name={self.name!r}")
        return "tensor(" + body + "".join(", " + e for e in extras) + ")"

    # --- autograd ----------------------------------------------------------------------

    def backward(self, gradient: Any = None, retain_graph: bool | None = None,
                 create_graph: bool = False) -> None:
        """Fill ``.grad`` of every leaf this tensor depends on with d(self)/d(leaf).

        ``gradient`` is dL/d(self) for a non-scalar tensor. The graph's saved values
        are freed afterwards unless ``retain_graph=True`` (which defaults to
        ``create_graph``); ``create_graph=True`` records the backward pass so the
        gradients can be differentiated again.
        """
        run_backward([self], [gradient], retain_graph, create_graph, Accumulate(create_graph),
                     "backward()")

    def detach(self) -> Tensor:
        """The same data (shared) cut off from the graph: a leaf with no grad."""
        t = Tensor._wrap(self.data, None)
        t._vc = self._vc
        return t

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        if not self.is_leaf and not requires_grad:
            raise RuntimeError(
                f"requires_grad_(False) on a non-leaf tensor (made by {self.grad_fn!r}); "
                "use .detach() to get a tensor without history")
        self.requires_grad = bool(requires_grad)
        return self

    def clone(self) -> Tensor:
        """A copy with its own memory; gradients flow back through it."""
        return self * 1.0

    # --- in-place updates --------------------------------------------------------------

    def _inplace(self, op: Op, ufunc: np.ufunc, other: Any, symbol: str) -> Tensor:
        other_t = _operand(other, self)
        if other_t is NotImplemented:
            raise TypeError(f"unsupported operand for {symbol}: Tensor and "
                            f"{type(other).__name__}")
        self._check_writeable(symbol)
        if state.enabled and (self.requires_grad or other_t.requires_grad):
            self._check_recordable(symbol)
            return self._become(apply(op, self, other_t), symbol)
        try:
            ufunc(self.data, other_t.data, out=self.data)
        except ValueError as exc:
            raise ValueError(f"in-place {symbol}: cannot write a result of shapes "
                             f"{_shapes((self, other_t))} into the tensor of shape "
                             f"{self.shape} ({exc}); an in-place op cannot change the "
                             "shape") from None
        _changed(self)
        return self

    def _check_writeable(self, symbol: str) -> None:
        if not self.data.flags.writeable:
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
            result.grad_fn.keep_own_copy(self.data)  # e.g. c *= x needs the old c
        base = self
        if self._view:
            base, steps, _ = self._view
            result = apply(ops.PUT, base, result, index=_positions(base, steps))
        base.data[...] = result.data
        base._vc.n += 1
        base.grad_fn = result.grad_fn
        base.requires_grad = result.requires_grad
        if base._name is not None:
            names.label(base.grad_fn, base._name)  # the new op made the named tensor
        _refresh_views(base._vc, self, recorded=True)
        return self

    def __iadd__(self, other: Any) -> Tensor:
        return self._inplace(ops.ADD, np.add, other, "+=")

    def __isub__(self, other: Any) -> Tensor:
        return self._inplace(ops.SUB, np.subtract, other, "-=")

    def __imul__(self, other: Any) -> Tensor:
        return self._inplace(ops.MUL, np.multiply, other, "*=")

    def __itruediv__(self, other: Any) -> Tensor:
        return self._inplace(ops.DIV, np.divide, other, "/=")

    add_ = __iadd__
    sub_ = __isub__
    mul_ = __imul__
    div_ = __itruediv__

    def zero_(self) -> Tensor:
        """Set every element to 0 in place (``w.grad.zero_()``)."""
        self._check_writeable("zero_()")
        if state.enabled and self.requires_grad:
            self._check_recordable("zero_()")
            return self._become(self.where(np.zeros(self.shape, dtype=bool), 0.0), "zero_()")
        self.data[...] = 0
        _changed(self)
        return self

    def __setitem__(self, key: Any, value: Any) -> None:
        """``t[key] = value``, in place. While recording, on a tensor or value that
        requires grad, it is the op ``put`` (PyTorch's index_put / CopySlices): the
        gradient of the overwritten elements is 0, the value's is g at those places."""
        self._check_writeable("item assignment")
        key = _index_key(key)
        if state.enabled and (self.requires_grad or getattr(value, "requires_grad", False)):
            value_t = _operand(value, self)
            if value_t is NotImplemented:
                raise TypeError(f"item assignment: cannot assign a {type(value).__name__}")
            self._check_recordable("item assignment")
            index = np.arange(self.data.size).reshape(self.shape)[key]
            extra = value_t.ndim - index.ndim  # leading 1s may be dropped, as NumPy
            if extra > 0 and all(n == 1 for n in value_t.shape[:extra]):
                value_t = value_t.reshape(value_t.shape[extra:])
            try:
                np.broadcast_to(value_t.data, index.shape)
            except ValueError:
                raise ValueError(f"item assignment: a value of shape {value_t.shape} does "
                                 f"not fit the {index.shape} elements selected from shape "
                                 f"{self.shape}") from None
            self._become(apply(ops.PUT, self, value_t, index=index), "item assignment")
            return
        value = value.data if isinstance(value, Tensor) else value
        try:
            self.data[key] = value
        except ValueError as exc:
            raise ValueError(f"item assignment into shape {self.shape}: {exc}") from None
        _changed(self)

    # --- arithmetic: one apply() each ---------------------------------------------------

    def _binary(self, op: Op, other: Any, reflected: bool = False) -> Tensor:
        other = _operand(other, self)
        if other is NotImplemented:
            return NotImplemented
        return apply(op, other, self) if reflected else apply(op, self, other)

    def __add__(self, other: Any) -> Tensor:
        return self._binary(ops.ADD, other)

    def __radd__(self, other: Any) -> Tensor:
        return self._binary(ops.ADD, other, reflected=True)

    def __sub__(self, other: Any) -> Tensor:
        return self._binary(ops.SUB, other)

    def __rsub__(self, other: Any) -> Tensor:
        return self._binary(ops.SUB, other, reflected=True)

    def __mul__(self, other: Any) -> Tensor:
        return self._binary(ops.MUL, other)

    def __rmul__(self, other: Any) -> Tensor:
        return self._binary(ops.MUL, other, reflected=True)

    def __truediv__(self, other: Any) -> Tensor:
        return self._binary(ops.DIV, other)

    def __rtruediv__(self, other: Any) -> Tensor:
        return self._binary(ops.DIV, other, reflected=True)

    def __pow__(self, other: Any) -> Tensor:
        return self._binary(ops.POW, other)

    def __rpow__(self, other: Any) -> Tensor:
        return self._binary(ops.POW, other, reflected=True)

    def __matmul__(self, other: Any) -> Tensor:
        other = _operand(other, self)
        return NotImplemented if other is NotImplemented else self.matmul(other)

    def __rmatmul__(self, other: Any) -> Tensor:
        other = _operand(other, self)
        return NotImplemented if other is NotImplemented else other.matmul(self)

    def __neg__(self) -> Tensor:
        return apply(ops.NEG, self)

    def __pos__(self) -> Tensor:
        return self

    def pow(self, exponent: Any) -> Tensor:
        return self ** exponent

    def add(self, other: Any) -> Tensor:
        return self + other

    def sub(self, other: Any) -> Tensor:
        return self - other

    def mul(self, other: Any) -> Tensor:
        return self * other

    def div(self, other: Any) -> Tensor:
        return self / other

    # comparisons give boolean tensors (no gradient), usable as masks and in where()
    def _compare(self, ufunc: np.ufunc, other: Any) -> Tensor:
        other = other.data if isinstance(other, Tensor) else other
        try:
            return Tensor._wrap(ufunc(self.data, other), None)
        except ValueError as exc:
            raise ValueError(f"{ufunc.__name__}: {exc}") from None

    def __lt__(self, other: Any) -> Tensor:
        return self._compare(np.less, other)

    def __le__(self, other: Any) -> Tensor:
        return self._compare(np.less_equal, other)

    def __gt__(self, other: Any) -> Tensor:
        return self._compare(np.greater, other)

    def __ge__(self, other: Any) -> Tensor:
        return self._compare(np.greater_equal, other)

    def eq(self, other: Any) -> Tensor:
        """Elementwise ==  (the operator == keeps Python's identity meaning)."""
        return self._compare(np.equal, other)

    def ne(self, other: Any) -> Tensor:
        return self._compare(np.not_equal, other)

    __hash__ = object.__hash__

    # --- elementwise functions ---------------------------------------------------------

    def exp(self) -> Tensor:
        return apply(ops.EXP, self)

    def log(self) -> Tensor:
        return apply(ops.LOG, self)

    def sqrt(self) -> Tensor:
        return apply(ops.SQRT, self)

    def abs(self) -> Tensor:
        return apply(ops.ABS, self)

    def tanh(self) -> Tensor:
        return apply(ops.TANH, self)

    def relu(self) -> Tensor:
        return apply(ops.RELU, self)

    def sigmoid(self) -> Tensor:
        # 1/(1+e^-x) == (tanh(x/2) + 1)/2, which never overflows
        return (self * 0.5).tanh() * 0.5 + 0.5

    def clip(self, min: float | None = None, max: float | None = None) -> Tensor:
        """Limit values to [min, max] (NumPy's clip, PyTorch's clamp)."""
        if min is None and max is None:
            raise ValueError("clip: give min, max or both")
        return apply(ops.CLIP, self, low=min, high=max)

    clamp = clip

    def astype(self, dtype: Any) -> Tensor:
        dt = _check_dtype(dtype, "astype")
        if dt == self.dtype:
            return self
        return apply(ops.CAST, self, dtype=dt)

    to = astype

    def float(self) -> Tensor:
        return self.astype(np.float32)

    def double(self) -> Tensor:
        return self.astype(np.float64)

    def where(self, condition: Any, other: Any) -> Tensor:
        """``self`` where condition holds, else ``other`` (PyTorch's Tensor.where)."""
        return where(condition, self, other)

    # --- reductions --------------------------------------------------------------------

    def _axes(self, axis: Axis, dim: Axis, name: str) -> tuple[int, ...]:
        """Normalise NumPy's axis= or PyTorch's dim= into sorted non-negative axes."""
        if dim is not None:
            if axis is not None:
                raise TypeError(f"{name}: give axis= or dim=, not both")
            axis = dim
        if axis is None:
            return tuple(range(self.ndim))
        if isinstance(axis, (int, np.integer)):
            axes = (axis,)
        elif isinstance(axis, (tuple, list)):
            axes = tuple(axis)
        else:
            raise TypeError(f"{name}: axis must be an int or a tuple of ints, got {axis!r}")
        ndim = self.ndim
        span = max(ndim, 1)  # a 0-d tensor accepts axis 0 / -1, as in PyTorch
        normal = []
        for ax in axes:
            if not isinstance(ax, (int, np.integer)):
                raise TypeError(f"{name}: axis must be an int or a tuple of ints, got {ax!r}")
            if not -span <= ax < span:
                raise np.exceptions.AxisError(
                    f"{name}: axis {ax} is out of range for a tensor of shape {self.shape} "
                    f"(valid: {-span} to {span - 1})")
            normal.append(int(ax) % span)
        if len(set(normal)) != len(normal):
            raise ValueError(f"{name}: repeated axis in {axis!r}")
        return tuple(sorted(normal)) if ndim else ()

    @staticmethod
    def _keep(keepdims: bool, keepdim: bool | None) -> bool:
        return bool(keepdims if keepdim is None else keepdim)

    def sum(self, axis: Axis = None, keepdims: bool = False, *, dim: Axis = None,
            keepdim: bool | None = None) -> Tensor:
        return apply(ops.SUM, self, axis=self._axes(axis, dim, "sum"),
                     keepdims=self._keep(keepdims, keepdim))

    def mean(self, axis: Axis = None, keepdims: bool = False, *, dim: Axis = None,
             keepdim: bool | None = None) -> Tensor:
        axes = self._axes(axis, dim, "mean")
        count = int(np.prod([self.shape[ax] for ax in axes]))
        if count == 0:
            raise ValueError(f"mean: the reduced axes of shape {self.shape} are empty")
        return self.sum(axes, self._keep(keepdims, keepdim)) * (1.0 / count)

    def _extremum(self, op: Op, axis: Axis, keepdims: bool, dim: Axis,
                  keepdim: bool | None) -> Tensor:
        if self.data.size == 0:
            raise ValueError(f"{op.name}: the tensor is empty (shape {self.shape})")
        return apply(op, self, axis=self._axes(axis, dim, op.name),
                     keepdims=self._keep(keepdims, keepdim))

    def max(self, axis: Axis = None, keepdims: bool = False, *, dim: Axis = None,
            keepdim: bool | None = None) -> Tensor:
        """Largest value (NumPy-style: values only; see argmax for positions).
        Ties share the gradient evenly."""
        return self._extremum(ops.MAX, axis, keepdims, dim, keepdim)

    def min(self, axis: Axis = None, keepdims: bool = False, *, dim: Axis = None,
            keepdim: bool | None = None) -> Tensor:
        return self._extremum(ops.MIN, axis, keepdims, dim, keepdim)

    def argmax(self, axis: int | None = None, *, dim: int | None = None) -> np.ndarray:
        """Positions of the largest values, as an integer ndarray (no gradient)."""
        return np.argmax(self.data, axis=dim if dim is not None else axis)

    def argmin(self, axis: int | None = None, *, dim: int | None = None) -> np.ndarray:
        return np.argmin(self.data, axis=dim if dim is not None else axis)

    def logsumexp(self, axis: Axis = None, keepdims: bool = False, *, dim: Axis = None,
                  keepdim: bool | None = None) -> Tensor:
        """log(sum(exp(x))) computed as m + log(sum(exp(x - m))), m = max: no overflow."""
        axes = self._axes(axis, dim, "logsumexp")
        m = np.max(self.data, axis=axes, keepdims=True)
        m = np.where(np.isfinite(m), m, 0.0)  # all -inf: keep log(0) = -inf, not nan
        out = (self - m).exp().sum(axes, keepdims=True).log() + m
        if self._keep(keepdims, keepdim):
            return out
        return _own(out.reshape(tuple(n for k, n in enumerate(self.shape) if k not in axes)))

    def softmax(self, axis: int | None = None, *, dim: int | None = None) -> Tensor:
        axis = self._axes(-1 if axis is None and dim is None else axis, dim, "softmax")
        return (self - self.logsumexp(axis, keepdims=True)).exp()

    def log_softmax(self, axis: int | None = None, *, dim: int | None = None) -> Tensor:
        axis = self._axes(-1 if axis is None and dim is None else axis, dim, "log_softmax")
        return self - self.logsumexp(axis, keepdims=True)

    # --- linear algebra ----------------------------------------------------------------

    def matmul(self, other: Any) -> Tensor:
        """Matrix product with NumPy's rules: 1-D operands are promoted to a matrix
        and the added axis removed again; leading (batch) axes broadcast."""
        other = _operand(other, self)
        if other is NotImplemented:
            raise TypeError(f"matmul: the other operand must be a Tensor or an ndarray, got "
                            f"{type(other).__name__}")
        a, b = self, other
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError(f"matmul: operands must have at least 1 dimension, got shapes "
                             f"{a.shape} and {b.shape}; use * to multiply by a scalar")
        if a.shape[-1] != b.shape[-2 if b.ndim > 1 else 0]:
            raise ValueError(f"matmul: shapes {a.shape} and {b.shape} do not line up: "
                             f"a has {a.shape[-1]} columns but b has "
                             f"{b.shape[-2 if b.ndim > 1 else 0]} rows")
        if a.ndim == 1 or b.ndim == 1:  # (k,) acts as a (1,k) row or a (k,1) column
            out = (a.unsqueeze(0) if a.ndim == 1 else a).matmul(
                b.unsqueeze(-1) if b.ndim == 1 else b)
            rows = (out.shape[-2],) if a.ndim > 1 else ()
            cols = (out.shape[-1],) if b.ndim > 1 else ()
            return _own(out.reshape(out.shape[:-2] + rows + cols))
        if a.ndim > 2 or b.ndim > 2:
            try:
                np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
            except ValueError:
                raise ValueError(f"matmul: batch dimensions of shapes {a.shape} and "
                                 f"{b.shape} do not broadcast") from None
        strides = b.data.strides
        return apply(ops.MATMUL, a, b, b_column_major=strides[-1] > strides[-2])

    def mm(self, other: Any) -> Tensor:
        """Product of two 2-D matrices (PyTorch's mm; no broadcasting)."""
        other_t = _operand(other, self)
        if other_t is NotImplemented:
            raise TypeError(f"mm: the other operand must be a Tensor or an ndarray, got "
                            f"{type(other).__name__}")
        if self.ndim != 2 or other_t.ndim != 2:
            raise ValueError(f"mm: both operands must be 2-D matrices, got shapes "
                             f"{self.shape} and {other_t.shape}; use matmul (@) for other "
                             "shapes")
        return self.matmul(other_t)

    def dot(self, other: Any) -> Tensor:
        return self.matmul(other)

    # --- shapes ------------------------------------------------------------------------

    @staticmethod
    def _shape_args(shape: tuple) -> tuple[int, ...]:
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return tuple(int(n) for n in shape)

    def reshape(self, *shape: int | Sequence[int]) -> Tensor:
        """Same elements, new shape; one dimension may be -1 (inferred)."""
        shape = self._shape_args(shape)
        size = self.data.size
        known = math.prod([n for n in shape if n != -1])
        if shape.count(-1) == 1 and known and size % known == 0:
            shape = tuple(size // known if n == -1 else n for n in shape)
        if any(n < 0 for n in shape) or math.prod(shape) != size:
            raise ValueError(f"reshape: cannot reshape a tensor of shape {self.shape} "
                             f"({size} elements) into {shape}")
        return apply(ops.RESHAPE, self, shape=shape)

    view = reshape

    def flatten(self) -> Tensor:
        """All axes as one (a view). A 1-D tensor is returned itself, as PyTorch does
        when no axes are merged."""
        return self if self.ndim == 1 else self.reshape(-1)

    def permute(self, *axes: int | Sequence[int]) -> Tensor:
        """Reorder the axes: result axis k is input axis axes[k]."""
        axes = self._shape_args(axes)
        ndim = self.ndim
        if len(axes) != ndim or any(not -ndim <= a < ndim for a in axes) or \
                len({a % ndim for a in axes}) != ndim:
            raise ValueError(f"permute: {axes} is not an ordering of the {ndim} axes of "
                             f"a tensor of shape {self.shape}")
        return apply(ops.PERMUTE, self, axes=tuple(a % ndim for a in axes))

    def transpose(self, *axes: int | Sequence[int]) -> Tensor:
        """No arguments: reverse the axes (NumPy). Two axes: swap them (PyTorch).
        A full ordering of three or more axes: permute (NumPy)."""
        axes = self._shape_args(axes)
        if not axes:
            return self.permute(tuple(range(self.ndim))[::-1])
        if len(axes) != 2:
            return self.permute(axes)
        i, j = self._axes(axes[0], None, "transpose")[0], self._axes(axes[1], None, "transpose")[0]
        order = list(range(self.ndim))
        order[i], order[j] = order[j], order[i]
        return self.permute(order)

    @property
    def T(self) -> Tensor:
        """The tensor with its axes reversed (the transpose of a matrix)."""
        return self.transpose()

    @property
    def mT(self) -> Tensor:
        """The last two axes swapped (a batch of transposed matrices)."""
        n = self.ndim
        if n < 2:
            raise ValueError(f"mT: needs at least 2 dimensions, got shape {self.shape}")
        return apply(ops.PERMUTE, self, axes=tuple(range(n - 2)) + (n - 1, n - 2))

    def unsqueeze(self, dim: int) -> Tensor:
        """Insert an axis of size 1 at position dim (like np.expand_dims)."""
        if not -self.ndim - 1 <= dim <= self.ndim:
            raise np.exceptions.AxisError(
                f"unsqueeze: dim {dim} is out of range for shape {self.shape} "
                f"(valid: {-self.ndim - 1} to {self.ndim})")
        dim = dim % (self.ndim + 1)
        return self.reshape(self.shape[:dim] + (1,) + self.shape[dim:])

    def squeeze(self, dim: Axis = None) -> Tensor:
        """Remove axes of size 1: all of them, or those of dim (an int or a tuple) that
        have size 1 (others are kept, as in PyTorch). Always a new tensor (a view)."""
        axes = self._axes(dim, None, "squeeze")
        return self.reshape(tuple(n for k, n in enumerate(self.shape)
                                  if n != 1 or k not in axes))

    def expand(self, *shape: int | Sequence[int]) -> Tensor:
        """Broadcast to a larger shape without copying (-1 keeps a dimension)."""
        shape = self._shape_args(shape)
        lead = len(shape) - self.ndim
        shape = tuple(self.shape[k - lead] if n == -1 and k >= lead else n
                      for k, n in enumerate(shape))
        if lead < 0 or any(n != m and n != 1 for n, m in zip(self.shape, shape[lead:])):
            raise ValueError(f"expand: cannot expand a tensor of shape {self.shape} to "
                             f"{shape}; only size-1 axes can grow")
        return apply(ops.EXPAND, self, shape=shape)

    def __getitem__(self, key: Any) -> Tensor:
        """NumPy indexing: ints, slices, None, ..., integer and boolean arrays.
        Under backward, elements picked several times collect all their gradients."""
        return apply(ops.INDEX, self, key=_index_key(key))

    def scatter_into(self, key: Any, shape: tuple[int, ...]) -> Tensor:
        """zeros(shape) with this tensor added at [key] (the adjoint of indexing)."""
        return apply(ops.SCATTER, self, key=key, shape=shape)


def _own(t: Tensor) -> Tensor:
    """t, no longer a view. For compositions that end with a reshape of an intermediate
    that nobody else can see and whose memory no rule saved (matmul of a 1-D operand,
    logsumexp): PyTorch's result is not a view, so an in-place change of it has no base
    to update here either."""
    t._view = None
    t._vc = Version()
    return t


def _positions(base: Tensor, steps: tuple) -> np.ndarray:
    """Where a view's elements sit in its base: the view ops replayed on the flat
    positions 0, 1, ... of the base (C order)."""
    index = np.arange(base.data.size).reshape(base.shape)
    for op, params in steps:
        index = op.forward(index, **params)
    return index


def _changed(t: Tensor) -> None:
    """t's memory was changed in place without recording (under no_grad, or nothing
    required grad): a new version, and, as PyTorch, new histories for its views that
    have one, so that earlier uses of a view do not count for its later ones."""
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


def _index_key(key: Any) -> tuple:
    """Indices as NumPy accepts them; Tensors holding whole numbers act as ints."""
    parts = key if isinstance(key, tuple) else (key,)
    normal = []
    for part in parts:
        if isinstance(part, Tensor):
            part = part.data
        elif isinstance(part, list):
            part = np.asarray(part)
        if isinstance(part, np.ndarray) and part.dtype.kind == "f":
            if not np.all(np.isfinite(part)) or not np.all(part == np.round(part)):
                raise IndexError("index: an index array must hold whole numbers (or "
                                 f"booleans); got {part.dtype} values {part.ravel()[:5]}")
            part = part.astype(np.intp)
        normal.append(part)
    if not any(part is Ellipsis for part in normal):
        normal.append(Ellipsis)  # so t[0] of a 1-D t is a 0-d view, not a copy (PyTorch)
    return tuple(normal)


# --- functions of several tensors -----------------------------------------------------


def tensor(data: Any, requires_grad: bool = False, dtype: Any = None,
           name: str | None = None) -> Tensor:
    """Make a Tensor (a copy of data), as ``torch.tensor``."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype, name=name)


def as_tensor(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


def cat(tensors: Sequence[Tensor], axis: int = 0, *, dim: int | None = None) -> Tensor:
    """Join tensors along an existing axis (np.concatenate, torch.cat)."""
    tensors = [as_tensor(t) for t in tensors]
    if not tensors:
        raise ValueError("cat: needs at least one tensor")
    first = tensors[0]
    axis = first._axes(dim if dim is not None else axis, None, "cat")
    if first.ndim == 0:
        raise ValueError("cat: zero-dimensional tensors cannot be concatenated; use stack")
    axis = axis[0]
    for t in tensors[1:]:
        if t.ndim != first.ndim or any(
                n != m for k, (n, m) in enumerate(zip(t.shape, first.shape)) if k != axis):
            raise ValueError(f"cat: shapes {_shapes(tensors)} differ outside axis {axis}")
    return apply(ops.CAT, *tensors, axis=axis)


def stack(tensors: Sequence[Tensor], axis: int = 0, *, dim: int | None = None) -> Tensor:
    """Join same-shaped tensors along a new axis (np.stack, torch.stack)."""
    tensors = [as_tensor(t) for t in tensors]
    if not tensors:
        raise ValueError("stack: needs at least one tensor")
    if any(t.shape != tensors[0].shape for t in tensors):
        raise ValueError(f"stack: all tensors must have the same shape, got {_shapes(tensors)}")
    axis = dim if dim is not None else axis
    ndim = tensors[0].ndim
    if not isinstance(axis, (int, np.integer)) or not -ndim - 1 <= axis <= ndim:
        raise np.exceptions.AxisError(f"stack: dim {axis} is out of range for tensors of "
                                      f"shape {tensors[0].shape} (valid: {-ndim - 1} to {ndim})")
    return cat([t.unsqueeze(axis) for t in tensors], axis=axis % (ndim + 1))


def where(condition: Any, a: Any, b: Any) -> Tensor:
    """Elementwise ``a if condition else b``; the gradient goes to the chosen side."""
    cond = condition.data if isinstance(condition, Tensor) else np.asarray(condition)
    cond = cond.astype(bool)
    like = a if isinstance(a, Tensor) else b if isinstance(b, Tensor) else None
    if like is None:
        like = Tensor(a)
    a, b = _operand(a, like), _operand(b, like)
    if a is NotImplemented or b is NotImplemented:
        raise TypeError("where: a and b must be Tensors, ndarrays or numbers")
    try:
        np.broadcast_shapes(cond.shape, a.shape, b.shape)
    except ValueError:
        raise ValueError(f"where: condition {cond.shape}, a {a.shape} and b {b.shape} do "
                         "not broadcast together") from None
    return apply(ops.WHERE, a, b, cond=cond)


def _pair(a: Any, b: Any, name: str) -> tuple[Tensor, Tensor]:
    """Both operands of ``name`` as Tensors, checked to broadcast together."""
    like = a if isinstance(a, Tensor) else as_tensor(b)
    a, b = _operand(a, like), _operand(b, like)
    if a is NotImplemented or b is NotImplemented:
        raise TypeError(f"{name}: operands must be Tensors, ndarrays or numbers")
    try:
        np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise ValueError(f"{name}: shapes {a.shape} and {b.shape} do not broadcast "
                         "together") from None
    return a, b


def maximum(a: Any, b: Any) -> Tensor:
    """Elementwise larger of a and b; at ties each side gets half the gradient."""
    return apply(ops.MAXIMUM, *_pair(a, b, "maximum"))


def minimum(a: Any, b: Any) -> Tensor:
    """Elementwise smaller of a and b: min(a, b) = -max(-a, -b)."""
    a, b = _pair(a, b, "minimum")
    return -apply(ops.MAXIMUM, -a, -b)
