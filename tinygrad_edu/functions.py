"""What a Tensor can do besides its core (``tensor.py``): each method is one
``apply(OP, ...)`` call on an op of the table, or a composition of other methods, so no
derivative is written here. Read by topic: comparisons, elementwise functions,
reductions, linear algebra, shapes and indexing; then the functions of several tensors.

The methods are written in the class ``TensorMethods`` and joined to ``Tensor`` at the
end of this file (``tensor.py`` cannot import this file: it is imported by it).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from . import ops
from .convert import check_dtype
from .devices import CPU, is_device
from .devices import check as check_device
from .engine import Version
from .ops import Op
from .tensor import Tensor, _operand, _shapes, apply

Axis = int | Sequence[int] | None


class TensorMethods:
    """The methods below join ``Tensor`` (see the end of the file)."""

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

    def tolist(self) -> Any:
        return self.data.tolist()

    def clone(self) -> Tensor:
        """A copy with its own memory; gradients flow back through it."""
        return self * 1.0

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
        dt = check_dtype(dtype, "astype")
        if dt == self.dtype:
            return self
        return apply(ops.CAST, self, dtype=dt)

    def to(self, *args: Any, device: Any = None, dtype: Any = None,
           non_blocking: bool = False, copy: bool = False) -> Tensor:
        """PyTorch's forms: ``to(dtype)``, ``to(device)``, ``to(device, dtype)``,
        ``to(other)`` (other's device and dtype), or keywords. The tensor itself when
        nothing changes (unless ``copy=True``); a dtype change is a recorded cast.
        ``non_blocking`` changes nothing here."""
        if len(args) > 2:
            raise TypeError(f"to: takes a device, a dtype or a tensor, got {len(args)} "
                            "arguments")
        for arg in args:
            if isinstance(arg, Tensor):
                device, dtype = arg.device, arg.dtype
            elif is_device(arg):
                device = arg
            else:
                dtype = arg
        check_device(device, "to")
        out = self if dtype is None else self.astype(check_dtype(dtype, "to"))
        return out.clone() if copy and out is self else out

    @property
    def device(self) -> Any:
        """Where the data is: always ``device(type='cpu')`` (NumPy)."""
        return CPU

    def cpu(self) -> Tensor:
        """The tensor itself: it is on the CPU already."""
        return self

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
           name: str | None = None, *, device: Any = None) -> Tensor:
    """Make a Tensor (a copy of data), as ``torch.tensor``."""
    check_device(device, "tensor")
    return Tensor(data, requires_grad=requires_grad, dtype=dtype, name=name)


def as_tensor(x: Any, *, device: Any = None) -> Tensor:
    if device is not None:
        check_device(device, "as_tensor")
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


# Join the methods to Tensor (dunders too: len(t), iter(t), t < u ... come from here).
for _name, _member in vars(TensorMethods).items():
    if _name not in ("__module__", "__qualname__", "__doc__", "__dict__", "__weakref__"):
        setattr(Tensor, _name, _member)
