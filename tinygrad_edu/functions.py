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
from typing import Any, NamedTuple

import numpy as np

from . import kernels, names, ops
from ._validate import ints_per_axis
from .convert import check_dtype, get_default_dtype, to_array
from .devices import CPU, is_device
from .devices import check as check_device
from .engine import Version, state
from .ops import Op
from .tensor import Tensor, _operand, _shapes, apply

Axis = int | Sequence[int] | None


def _shape_of(size: tuple) -> tuple[int, ...]:
    """Sizes given as ints or as one tuple/list (PyTorch accepts both)."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    return tuple(int(n) for n in size)


class MinMax(NamedTuple):
    """What ``max(dim)`` and ``min(dim)`` return, as PyTorch's ``torch.return_types``."""

    values: Tensor
    indices: Tensor


_TYPE_NAMES = {"float32": "Float", "float64": "Double", "int64": "Long", "int32": "Int",
               "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool"}


class TensorMethods:
    """The methods below join ``Tensor`` (see the end of the file)."""

    def size(self, dim: int | None = None) -> tuple[int, ...] | int:
        """The shape (PyTorch's name), or the length of one dimension."""
        return self.shape if dim is None else self.shape[dim]

    def numel(self) -> int:
        return int(self.array.size)

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __iter__(self) -> Iterator[Tensor]:
        for i in range(len(self)):
            yield self[i]

    def tolist(self) -> Any:
        if state.observers:
            self._read()
        return self.array.tolist()

    def numpy(self) -> np.ndarray:
        """The underlying array (shared, not copied)."""
        if state.observers:
            self._read()
        return self.array

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        if state.observers:
            self._read()
        return self.array if dtype is None else self.array.astype(dtype)

    def item(self) -> float:
        if state.observers:
            self._read()
        if self.array.size != 1:
            raise ValueError(f"item(): only a tensor with one element can be converted to "
                             f"a Python number; this one has shape {self.shape}")
        return self.array.item()

    def __float__(self) -> float:
        return float(self.item())

    def __bool__(self) -> bool:
        if self.array.size != 1:
            raise ValueError(f"the truth value of a tensor of shape {self.shape} is "
                             "ambiguous; use .any() / .all() on .numpy(), or compare .item()")
        if state.observers:
            self._read()
        return bool(self.array.item())

    def __format__(self, spec: str) -> str:
        return format(self.item(), spec) if self.array.size == 1 and spec else str(self)

    def __repr__(self) -> str:
        if state.observers:
            self._read()
        body = np.array2string(self.array, precision=4, separator=", ", prefix="tensor(")
        extras = []
        if self.dtype not in (get_default_dtype(), np.dtype(np.int64), np.dtype(np.bool_)):
            extras.append(f"dtype={self.dtype}")  # as PyTorch: not for the defaults
        if self.grad_fn is not None:
            extras.append(f"grad_fn={self.grad_fn!r}")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        if self.name:
            extras.append(f"name={self.name!r}")
        return "tensor(" + body + "".join(", " + e for e in extras) + ")"

    def clone(self) -> Tensor:
        """A copy with its own memory; gradients flow back through it."""
        return self * 1.0

    # comparisons give boolean tensors (no gradient), usable as masks and in where()
    def _compare(self, ufunc: np.ufunc, other: Any) -> Tensor:
        other = other.array if isinstance(other, Tensor) else other
        try:
            return Tensor._wrap(ufunc(self.array, other), None)
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

    def __eq__(self, other: Any) -> Tensor:  # type: ignore[override]
        """Elementwise ==, a boolean tensor (as PyTorch; hashing stays by identity)."""
        if not isinstance(other, (Tensor, np.ndarray, int, float, bool, np.generic)):
            return NotImplemented  # t == None or t == "a": Python's False
        return self._compare(np.equal, other)

    def __ne__(self, other: Any) -> Tensor:  # type: ignore[override]
        if not isinstance(other, (Tensor, np.ndarray, int, float, bool, np.generic)):
            return NotImplemented
        return self._compare(np.not_equal, other)

    __hash__ = object.__hash__  # defining __eq__ would otherwise remove it

    eq = __eq__
    ne = __ne__
    lt = __lt__
    le = __le__
    gt = __gt__
    ge = __ge__
    greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne

    def _logical(self, ufunc: np.ufunc, other: Any, symbol: str) -> Tensor:
        other = other.array if isinstance(other, Tensor) else other
        try:
            return Tensor._wrap(ufunc(self.array, other), None)
        except TypeError:
            raise TypeError(f"{symbol}: needs boolean or integer tensors, got "
                            f"{self.dtype}{' and ' + str(np.asarray(other).dtype)}; "
                            "compare first (a > 0) or convert (.bool(), .long())") from None
        except ValueError as exc:
            raise ValueError(f"{symbol}: {exc}") from None

    def __and__(self, other: Any) -> Tensor:
        return self._logical(np.bitwise_and, other, "&")

    def __or__(self, other: Any) -> Tensor:
        return self._logical(np.bitwise_or, other, "|")

    def __xor__(self, other: Any) -> Tensor:
        return self._logical(np.bitwise_xor, other, "^")

    __rand__, __ror__, __rxor__ = __and__, __or__, __xor__

    def __invert__(self) -> Tensor:
        """~t: logical not of a boolean tensor, bitwise not of an integer one."""
        if self.dtype.kind == "f":
            raise TypeError(f"~: needs a boolean or integer tensor, got {self.dtype}")
        return Tensor._wrap(np.invert(self.array), None)

    def logical_not(self) -> Tensor:
        return Tensor._wrap(np.logical_not(self.array), None)

    def logical_and(self, other: Any) -> Tensor:
        return self._logical(np.logical_and, other, "logical_and")

    def logical_or(self, other: Any) -> Tensor:
        return self._logical(np.logical_or, other, "logical_or")

    def any(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        """True where any element (over dim, or all) is nonzero: a boolean tensor."""
        axes = None if dim is None else self._axes(dim, None, "any")
        return Tensor._wrap(np.asarray(np.any(self.array, axis=axes, keepdims=keepdim)), None)

    def all(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        axes = None if dim is None else self._axes(dim, None, "all")
        return Tensor._wrap(np.asarray(np.all(self.array, axis=axes, keepdims=keepdim)), None)

    def equal(self, other: Any) -> bool:
        """True if both have the same shape and the same elements (PyTorch's equal)."""
        other = as_tensor(other)
        return self.shape == other.shape and bool(np.array_equal(self.array, other.array))

    def isclose(self, other: Any, rtol: float = 1e-05, atol: float = 1e-08,
                equal_nan: bool = False) -> Tensor:
        other = other.array if isinstance(other, Tensor) else other
        return Tensor._wrap(np.isclose(self.array, other, rtol=rtol, atol=atol,
                                       equal_nan=equal_nan), None)

    def allclose(self, other: Any, rtol: float = 1e-05, atol: float = 1e-08,
                 equal_nan: bool = False) -> bool:
        return bool(self.isclose(other, rtol, atol, equal_nan).array.all())

    # --- arithmetic by name (the operators are in tensor.py) ----------------------------

    def neg(self) -> Tensor:
        return -self

    negative = neg

    def pow(self, exponent: Any) -> Tensor:
        return self ** exponent

    def add(self, other: Any, *, alpha: float = 1) -> Tensor:
        """self + alpha * other (PyTorch's add)."""
        return self + (other if alpha == 1 else other * alpha)

    def sub(self, other: Any, *, alpha: float = 1) -> Tensor:
        return self - (other if alpha == 1 else other * alpha)

    def mul(self, other: Any) -> Tensor:
        return self * other

    def div(self, other: Any) -> Tensor:
        return self / other

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
        return names.called((self * 0.5).tanh() * 0.5 + 0.5, "sigmoid")

    def clip(self, min: float | None = None, max: float | None = None) -> Tensor:
        """Limit values to [min, max] (NumPy's clip, PyTorch's clamp)."""
        if min is None and max is None:
            raise ValueError("clip: give min, max or both")
        return apply(ops.CLIP, self, low=min, high=max)

    clamp = clip

    def astype(self, dtype: Any) -> Tensor:
        """The tensor converted to dtype (itself if it has it already). To a float
        dtype the cast is recorded; an integer or boolean result has no gradient."""
        dt = check_dtype(dtype, "astype")
        if dt == self.dtype:
            return self
        if dt.kind != "f":
            return Tensor._wrap(self.array.astype(dt), None)
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

    def cuda(self, device: Any = None, non_blocking: bool = False) -> Tensor:
        """Always an error naming the device: this engine runs on the CPU only."""
        check_device("cuda" if device is None else device if isinstance(device, str)
                     else f"cuda:{device}" if isinstance(device, int) else device, "cuda")
        return self

    @property
    def is_cuda(self) -> bool:
        return False

    def contiguous(self) -> Tensor:
        """The tensor itself (NumPy copies where a layout needs it, so a PyTorch program's
        .contiguous() before .view() has nothing to do here)."""
        return self

    def is_contiguous(self) -> bool:
        return bool(self.array.flags.c_contiguous)

    def new_zeros(self, *size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
        """zeros of ``size`` with this tensor's dtype (PyTorch's new_zeros; new_ones,
        new_full, new_empty and new_tensor alike)."""
        return self._new(np.zeros(_shape_of(size)), dtype, requires_grad)

    def new_ones(self, *size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
        return self._new(np.ones(_shape_of(size)), dtype, requires_grad)

    def new_empty(self, *size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
        return self.new_zeros(*size, dtype=dtype, requires_grad=requires_grad)

    def new_full(self, size: Any, fill_value: Any, dtype: Any = None,
                 requires_grad: bool = False) -> Tensor:
        return self._new(np.full(_shape_of((size,)), fill_value), dtype, requires_grad)

    def new_tensor(self, data: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
        return self._new(to_array(data.array if isinstance(data, Tensor) else data,
                                  None, "new_tensor"), dtype, requires_grad)

    def _new(self, array: np.ndarray, dtype: Any, requires_grad: bool) -> Tensor:
        dt = self.dtype if dtype is None else check_dtype(dtype, "new_*")
        return Tensor._wrap(array.astype(dt), None).requires_grad_(requires_grad)

    def float(self) -> Tensor:
        return self.astype(np.float32)

    def double(self) -> Tensor:
        return self.astype(np.float64)

    def long(self) -> Tensor:
        return self.astype(np.int64)

    def int(self) -> Tensor:
        return self.astype(np.int32)

    def short(self) -> Tensor:
        return self.astype(np.int16)

    def byte(self) -> Tensor:
        return self.astype(np.uint8)

    def bool(self) -> Tensor:
        return self.astype(np.bool_)

    def type(self, dtype: Any = None) -> Any:
        """With a dtype: ``astype(dtype)``. Without: PyTorch's type name of the tensor
        ('torch.DoubleTensor', 'torch.LongTensor' ...)."""
        if dtype is not None:
            return self.astype(dtype)
        return "torch." + _TYPE_NAMES[self.dtype.name] + "Tensor"

    def is_floating_point(self) -> bool:
        return self.dtype.kind == "f"

    def nelement(self) -> int:
        return int(self.array.size)

    def dim(self) -> int:
        return self.ndim

    def element_size(self) -> int:
        return int(self.array.itemsize)

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        """A 0-d integer tensor used as an index or a size (PyTorch's rule)."""
        if self.dtype.kind not in "iub" or self.array.size != 1:
            raise TypeError(f"only integer Tensors of a single element can be converted to "
                            f"an index; this one is {self.dtype} of shape {self.shape}")
        if state.observers:
            self._read()
        return int(self.array.item())

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
        if self.dtype.kind != "f":
            raise TypeError(f"mean: the input is {self.dtype}, not floating (as PyTorch, "
                            "mean does not choose a float dtype); convert it first: "
                            "x.float().mean() or x.double().mean()")
        axes = self._axes(axis, dim, "mean")
        count = int(np.prod([self.shape[ax] for ax in axes]))
        if count == 0:
            raise ValueError(f"mean: the reduced axes of shape {self.shape} are empty")
        return names.called(self.sum(axes, self._keep(keepdims, keepdim)) * (1.0 / count),
                            "mean")

    def max(self, dim: Any = None, keepdim: bool = False, *, axis: Axis = None,
            keepdims: bool = False) -> Any:
        """PyTorch's forms: ``max()`` the largest value (ties share the gradient
        evenly); ``max(dim, keepdim=False)`` the named tuple (values, indices), the
        gradient going to the returned index; ``max(other)`` the elementwise maximum.
        NumPy's ``max(axis=..., keepdims=...)`` gives the values only (as ``amax``)."""
        return self._extremum(ops.MAX, dim, keepdim, axis, keepdims, np.argmax, maximum)

    def min(self, dim: Any = None, keepdim: bool = False, *, axis: Axis = None,
            keepdims: bool = False) -> Any:
        """As ``max``, for the smallest values."""
        return self._extremum(ops.MIN, dim, keepdim, axis, keepdims, np.argmin, minimum)

    def _extremum(self, op: Op, dim: Any, keepdim: bool, axis: Axis, keepdims: bool,
                  arg: Any, elementwise: Any) -> Any:
        if isinstance(dim, Tensor):
            return elementwise(self, dim)
        if self.array.size == 0:
            raise ValueError(f"{op.name}: the tensor is empty (shape {self.shape})")
        if dim is None:  # over everything, or NumPy's axis=
            return apply(op, self, axis=self._axes(axis, None, op.name),
                         keepdims=bool(keepdims))
        if axis is not None:
            raise TypeError(f"{op.name}: give dim or axis=, not both")
        (d,) = self._axes(dim, None, op.name) or (0,)
        index = arg(self.array, axis=d, keepdims=True) if self.ndim else np.zeros((), int)
        values = self.gather(d, index) if self.ndim else self * 1
        if not keepdim and self.ndim:
            values, index = values.squeeze(d), np.squeeze(index, d)
        return MinMax(values, Tensor._wrap(index.astype(np.int64), None))

    def sort(self, dim: int = -1, descending: bool = False, stable: bool = False) -> Any:
        """(values, indices) sorted along dim, as PyTorch; the gradient goes back to
        where each value came from. Ties keep their order (a stable sort)."""
        return self._take_sorted(dim, descending, None, "sort")

    def topk(self, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> Any:
        """The k largest (or smallest) values along dim and their indices."""
        n = self.shape[self._axes(dim, None, "topk")[0]] if self.ndim else 1
        if not 0 <= k <= n:
            raise ValueError(f"topk: k = {k} is out of range for a dim of size {n}")
        return self._take_sorted(dim, largest, k, "topk")

    def argsort(self, dim: int = -1, descending: bool = False) -> Tensor:
        return self.sort(dim, descending).indices

    def _take_sorted(self, dim: int, descending: bool, k: int | None, name: str) -> Any:
        if self.ndim == 0:
            return MinMax(self * 1, Tensor._wrap(np.zeros((), np.int64), None))
        (d,) = self._axes(dim, None, name)
        keys = self.array if self.dtype.kind in "fi" else self.array.astype(np.int64)
        index = np.argsort(-keys if descending else keys, axis=d, kind="stable")
        if k is not None:
            index = np.take(index, np.arange(k), axis=d)
        return MinMax(self.gather(d, index), Tensor._wrap(index.astype(np.int64), None))

    def amax(self, dim: Axis = None, keepdim: bool = False) -> Tensor:
        """The largest values over dim (all, or a tuple); ties share the gradient."""
        return apply(ops.MAX, self, axis=self._axes(dim, None, "amax"), keepdims=bool(keepdim))

    def amin(self, dim: Axis = None, keepdim: bool = False) -> Tensor:
        return apply(ops.MIN, self, axis=self._axes(dim, None, "amin"), keepdims=bool(keepdim))

    def argmax(self, dim: int | None = None, keepdim: bool = False, *,
               axis: int | None = None) -> Tensor:
        """Positions of the largest values, an int64 tensor (no gradient); over all
        elements (of the flattened tensor) without dim."""
        return self._arg(np.argmax, dim if dim is not None else axis, keepdim, "argmax")

    def argmin(self, dim: int | None = None, keepdim: bool = False, *,
               axis: int | None = None) -> Tensor:
        return self._arg(np.argmin, dim if dim is not None else axis, keepdim, "argmin")

    def _arg(self, arg: Any, dim: int | None, keepdim: bool, name: str) -> Tensor:
        if self.array.size == 0:
            raise ValueError(f"{name}: the tensor is empty (shape {self.shape})")
        if dim is None:
            index = np.asarray(arg(self.array))
            if keepdim:
                index = index.reshape((1,) * self.ndim)
        else:
            (d,) = self._axes(dim, None, name) or (None,)
            index = np.asarray(arg(self.array, axis=d, keepdims=keepdim))
        return Tensor._wrap(index.astype(np.int64), None)

    def logsumexp(self, axis: Axis = None, keepdims: bool = False, *, dim: Axis = None,
                  keepdim: bool | None = None) -> Tensor:
        """log(sum(exp(x))) computed as m + log(sum(exp(x - m))), m = max: no overflow."""
        axes = self._axes(axis, dim, "logsumexp")
        m = np.max(self.array, axis=axes, keepdims=True)
        m = np.where(np.isfinite(m), m, 0.0)  # all -inf: keep log(0) = -inf, not nan
        out = (self - m).exp().sum(axes, keepdims=True).log() + m
        if not self._keep(keepdims, keepdim):
            out = _own(out.reshape(tuple(n for k, n in enumerate(self.shape)
                                         if k not in axes)))
        return names.called(out, "logsumexp")

    def softmax(self, axis: int | None = None, *, dim: int | None = None) -> Tensor:
        axis = self._axes(-1 if axis is None and dim is None else axis, dim, "softmax")
        return names.called(self._log_softmax(axis).exp(), "softmax")

    def log_softmax(self, axis: int | None = None, *, dim: int | None = None) -> Tensor:
        axis = self._axes(-1 if axis is None and dim is None else axis, dim, "log_softmax")
        return names.called(self._log_softmax(axis), "log_softmax")

    def _log_softmax(self, axes: tuple[int, ...]) -> Tensor:
        # (x - m) - log(sum(exp(x - m))), m = max (a constant: no gradient, no overflow).
        # Unlike logsumexp, m is not reset when it is infinite, so that a row holding
        # +inf or only -inf gives NaN everywhere, as PyTorch's softmax does.
        # m is the max op on a detached view (not np.max on the array), so that a
        # compiled step sees how m is computed and replays it instead of a constant
        m = apply(ops.MAX, self.detach(), axis=axes, keepdims=True)
        shifted = self - m
        return shifted - shifted.exp().sum(axes, keepdims=True).log()

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
        return _matmul(a, b)

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
        if self.shape[1] != other_t.shape[0]:
            return self.matmul(other_t)  # raises matmul's error
        return _matmul(self, other_t)

    def dot(self, other: Any) -> Tensor:
        """The dot product of two 1-D tensors of the same length (PyTorch's dot)."""
        other_t = _operand(other, self)
        if other_t is NotImplemented:
            raise TypeError(f"dot: the other operand must be a Tensor or an ndarray, got "
                            f"{type(other).__name__}")
        if self.ndim != 1 or other_t.ndim != 1:
            raise ValueError(f"dot: expects two 1-D tensors, got shapes {self.shape} and "
                             f"{other_t.shape}; use matmul (@) for matrices")
        if self.shape != other_t.shape:
            raise ValueError(f"dot: the tensors must have the same number of elements, got "
                             f"shapes {self.shape} and {other_t.shape}")
        return self.matmul(other_t)

    # --- shapes ------------------------------------------------------------------------

    @staticmethod
    def _shape_args(shape: tuple) -> tuple[int, ...]:
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return tuple(int(n) for n in shape)

    def reshape(self, *shape: int | Sequence[int]) -> Tensor:
        """Same elements, new shape; one dimension may be -1 (inferred)."""
        shape = self._shape_args(shape)
        size = self.array.size
        known = math.prod([n for n in shape if n != -1])
        if shape.count(-1) == 1 and known and size % known == 0:
            shape = tuple(size // known if n == -1 else n for n in shape)
        if any(n < 0 for n in shape) or math.prod(shape) != size:
            raise ValueError(f"reshape: cannot reshape a tensor of shape {self.shape} "
                             f"({size} elements) into {shape}")
        return apply(ops.RESHAPE, self, shape=shape)

    view = reshape

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        """Axes start_dim to end_dim as one (a view). When that is a single axis the
        tensor is returned itself (a 1-D tensor with the defaults), as PyTorch does;
        a 0-d tensor becomes 1-D."""
        if self.ndim == 0:
            self._axes(start_dim, None, "flatten")
            self._axes(end_dim, None, "flatten")
            return self.reshape(1)
        start = self._axes(start_dim, None, "flatten")[0]
        end = self._axes(end_dim, None, "flatten")[0]
        if start > end:
            raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} "
                             f"for shape {self.shape}")
        if start == end:
            return self
        merged = math.prod(self.shape[start:end + 1])
        return self.reshape(self.shape[:start] + (merged,) + self.shape[end + 1:])

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

    def sliding_windows(self, kernel_size: int | Sequence[int], stride: int | Sequence[int] = 1,
                        padding: Any = 0, dilation: int | Sequence[int] = 1, *,
                        pad_value: float = 0.0) -> Tensor:
        """The windows a convolution or a pooling reads (im2col), for a tensor (N, C, *S)
        with one or more spatial axes S: shaped (N, *O, C, *K), one row per window
        position o holding its patch, ``out[n, *o, c, *j] = padded[n, c, *(o*stride +
        j*dilation)]``. ``padding`` is a number per side, one per axis, or one
        (before, after) pair per axis, filled with ``pad_value`` (not differentiated).
        Under backward each window's gradient is added back where it was read."""
        params = _window_params(self.shape, kernel_size, stride, padding, dilation,
                                "sliding_windows")
        kernel, stride, padding, dilation = params
        for m, k, (lo, hi), d in zip(self.shape[2:], kernel, padding, dilation):
            if m + lo + hi < d * (k - 1) + 1:
                raise ValueError(
                    f"sliding_windows: a window of {k} taps with dilation {d} spans "
                    f"{d * (k - 1) + 1} elements, more than the {m + lo + hi} of an axis of "
                    f"size {m} padded by {(lo, hi)} (tensor shape {self.shape}); use a "
                    "smaller kernel or more padding")
        return apply(ops.UNFOLD, self, kernel_size=kernel, stride=stride, padding=padding,
                     dilation=dilation, pad_value=float(pad_value))

    def fold_windows(self, shape: Sequence[int], stride: int | Sequence[int] = 1,
                     padding: Any = 0, dilation: int | Sequence[int] = 1) -> Tensor:
        """The reverse of ``sliding_windows`` (col2im): zeros(shape), shape (N, C, *S),
        with each window of this tensor (N, *O, C, *K) added back where
        ``sliding_windows`` would have read it; overlaps add up, the padding is dropped."""
        shape = tuple(int(n) for n in shape)
        k = len(shape) - 2
        if k < 1 or self.ndim != 2 * k + 2:
            raise ValueError(f"fold_windows: windows of shape {self.shape} do not fit the "
                             f"shape {shape}: they must be (N, *O, C, *K) for (N, C, *S), "
                             f"{2 * k + 2} dimensions")
        kernel = self.shape[2 + k:]
        _, stride, padding, dilation = _window_params(shape, kernel, stride, padding,
                                                      dilation, "fold_windows")
        counts = tuple(kernels.window_count(m + lo + hi, j, s, d) for m, j, (lo, hi), s, d in
                       zip(shape[2:], kernel, padding, stride, dilation))
        expected = (shape[0], *counts, shape[1], *kernel)
        if self.shape != expected:
            raise ValueError(f"fold_windows: windows of shape {self.shape} do not fit the "
                             f"shape {shape} with stride {stride}, padding {padding} and "
                             f"dilation {dilation}: expected windows of shape {expected}")
        return apply(ops.FOLD, self, shape=shape, stride=stride, padding=padding,
                     dilation=dilation)

    # --- everyday ops with PyTorch's names ---------------------------------------------
    # Elementwise: one primitive each (sin, log1p ...); reciprocal is 1/x.

    def sin(self) -> Tensor:
        return apply(ops.SIN, self)

    def cos(self) -> Tensor:
        return apply(ops.COS, self)

    def tan(self) -> Tensor:
        return apply(ops.TAN, self)

    def log2(self) -> Tensor:
        return apply(ops.LOG2, self)

    def log10(self) -> Tensor:
        return apply(ops.LOG10, self)

    def log1p(self) -> Tensor:
        """log(1 + x), accurate for small x."""
        return apply(ops.LOG1P, self)

    def expm1(self) -> Tensor:
        """exp(x) - 1, accurate for small x."""
        return apply(ops.EXPM1, self)

    def square(self) -> Tensor:
        return apply(ops.SQUARE, self)

    def rsqrt(self) -> Tensor:
        """1 / sqrt(x)."""
        return apply(ops.RSQRT, self)

    def reciprocal(self) -> Tensor:
        return 1.0 / self

    def sign(self) -> Tensor:
        """-1, 0 or 1; the gradient is 0 (as PyTorch)."""
        return apply(ops.SIGN, self)

    def floor(self) -> Tensor:
        return apply(ops.FLOOR, self)

    def ceil(self) -> Tensor:
        return apply(ops.CEIL, self)

    def round(self, decimals: int = 0) -> Tensor:
        """Round half to even (as PyTorch and NumPy); the gradient is 0."""
        return apply(ops.ROUND, self, decimals=int(decimals))

    def erf(self) -> Tensor:
        """The error function, 2/sqrt(pi) * integral from 0 to x of exp(-t^2) dt (GELU's
        curve is 0.5 * x * (1 + erf(x / sqrt(2))))."""
        return apply(ops.ERF, self)

    def clamp_min(self, min: float) -> Tensor:
        return self.clip(min=min)

    def clamp_max(self, max: float) -> Tensor:
        return self.clip(max=max)

    # Reductions: prod, var and cumsum are primitives; norm and std are compositions.

    def prod(self, dim: int | None = None, keepdim: bool = False, *, axis: Axis = None,
             keepdims: bool | None = None) -> Tensor:
        """Product of all elements, or along one dim (NumPy's axis= may be a tuple).
        Its gradient is right with zeros in the input: nothing is divided by 0."""
        if isinstance(dim, (tuple, list)):
            raise TypeError(f"prod: dim must be one int (PyTorch's prod reduces one axis or "
                            f"all of them), got {dim!r}; axis= takes a tuple")
        return apply(ops.PROD, self, axis=self._axes(axis, dim, "prod"),
                     keepdims=self._keep(keepdim, keepdims))

    def cumsum(self, dim: int | None = None, *, axis: int | None = None) -> Tensor:
        """Running sums along dim: out[k] = x[0] + ... + x[k]."""
        if dim is None and axis is None:
            raise TypeError("cumsum: give dim, the axis to sum along")
        given = dim if dim is not None else axis
        if isinstance(given, (tuple, list)):
            raise TypeError(f"cumsum: dim must be one int, got {given!r}")
        ax = self._axes(axis, dim, "cumsum")
        if self.ndim == 0:
            return _own(self.reshape(1).cumsum(0).reshape(()))
        return apply(ops.CUMSUM, self, axis=ax[0])

    def norm(self, p: Any = "fro", dim: Axis = None, keepdim: bool = False, *,
             axis: Axis = None, keepdims: bool | None = None) -> Tensor:
        """The p-norm of all elements, or over dim: p = 2 or 'fro' (sqrt of the sum of
        squares), 1 (sum of |x|), inf (max |x|), another number > 0 (sum |x|^p)^(1/p).
        At 0 the gradient is 0 (PyTorch's subgradient)."""
        _need_float(self, "norm")
        axes = self._axes(axis, dim, "norm")
        keep = self._keep(keepdim, keepdims)
        if isinstance(p, str):
            if p != "fro":
                raise ValueError(f"norm: p must be a number or 'fro', got {p!r}")
            if len(axes) > 2 and (dim is not None or axis is not None):
                raise ValueError(f"norm: p='fro' takes at most 2 dims, got {dim or axis!r}; "
                                 "use p=2 for a vector norm over more")
            p = 2
        if isinstance(p, bool) or not isinstance(p, (int, float, np.integer, np.floating)) \
                or not p > 0:
            raise ValueError(f"norm: p must be 1, 2, inf, 'fro' or another number > 0, got {p!r}")
        if p == 1:
            return names.called(self.abs().sum(axes, keep), "norm")
        if p == math.inf:
            if self.array.size == 0:
                raise ValueError(f"norm: p=inf of an empty tensor (shape {self.shape})")
            return names.called(apply(ops.MAX, self.abs(), axis=axes, keepdims=keep), "norm")
        powered = self.square() if p == 2 else self.abs() ** float(p)
        return names.called(_root_with_zero_gradient_at_0(powered.sum(axes, keep), p), "norm")

    def var(self, dim: Axis = None, unbiased: bool | None = None, keepdim: bool = False, *,
            correction: float | None = None, axis: Axis = None,
            keepdims: bool | None = None) -> Tensor:
        """sum((x - mean)^2) / (N - correction); correction=1 (the default, or
        unbiased=True) is the sample variance, 0 (unbiased=False) the population's."""
        return self._variance("var", dim, unbiased, keepdim, correction, axis, keepdims)

    def std(self, dim: Axis = None, unbiased: bool | None = None, keepdim: bool = False, *,
            correction: float | None = None, axis: Axis = None,
            keepdims: bool | None = None) -> Tensor:
        """sqrt(var(...)), same arguments; the gradient is 0 where std is 0, as PyTorch."""
        v = self._variance("std", dim, unbiased, keepdim, correction, axis, keepdims)
        return names.called(_root_with_zero_gradient_at_0(v, 2), "std")

    def _variance(self, name: str, dim: Axis, unbiased: bool | None, keepdim: bool,
                  correction: float | None, axis: Axis, keepdims: bool | None) -> Tensor:
        _need_float(self, name)
        if isinstance(dim, bool):  # x.var(False): PyTorch's var(unbiased)
            dim, unbiased = None, dim if unbiased is None else unbiased
        if unbiased is not None and correction is not None:
            raise TypeError(f"{name}: give unbiased= or correction=, not both")
        if correction is None:
            correction = 1 if unbiased is None or unbiased else 0
        axes = self._axes(axis, dim, name)
        if math.prod(self.shape[ax] for ax in axes) == 0:
            raise ValueError(f"{name}: the reduced axes of shape {self.shape} are empty")
        return apply(ops.VAR, self, axis=axes, keepdims=self._keep(keepdim, keepdims),
                     correction=correction)

    # Linear algebra

    def outer(self, other: Any) -> Tensor:
        """out[i, j] = self[i] * other[j], for two 1-D tensors."""
        other_t = _operand(other, self)
        if other_t is NotImplemented:
            raise TypeError(f"outer: the other operand must be a Tensor or an ndarray, got "
                            f"{type(other).__name__}")
        if self.ndim != 1 or other_t.ndim != 1:
            raise ValueError(f"outer: expects two 1-D tensors, got shapes {self.shape} and "
                             f"{other_t.shape}")
        return self.reshape(-1, 1) * other_t

    # Shapes and indexing

    def gather(self, dim: int, index: Any) -> Tensor:
        """out[i][j][k] = self[index[i][j][k]][j][k] for dim=0 (and so on): index has as
        many dims as self, and picks along dim. Under backward picked elements collect
        their gradients (PyTorch's scatter_add)."""
        index = _int_index(index, "gather")
        if self.ndim == 0:
            if index.ndim != 0:
                raise ValueError(f"gather: index of shape {index.shape} for a 0-d tensor")
            return self.reshape(1).gather(0, index.reshape(1)).reshape(())
        d = self._axes(dim, None, "gather")[0]
        if index.ndim != self.ndim:
            raise ValueError(f"gather: the index must have as many dimensions as the tensor: "
                             f"index shape {index.shape}, tensor shape {self.shape}")
        if any(m > n for k, (m, n) in enumerate(zip(index.shape, self.shape)) if k != d):
            raise ValueError(f"gather: index shape {index.shape} is larger than tensor shape "
                             f"{self.shape} outside dim {d}")
        _check_range(index, self.shape[d], d, "gather")
        key = tuple(index if k == d else np.arange(m).reshape(
            (m,) + (1,) * (self.ndim - k - 1)) for k, m in enumerate(index.shape))
        return apply(ops.INDEX, self, key=key)

    def index_select(self, dim: int, index: Any) -> Tensor:
        """The entries at positions index (0-d or 1-D) along dim."""
        index = _int_index(index, "index_select")
        if index.ndim > 1:
            raise ValueError(f"index_select: the index must be 0-d or 1-D, got shape "
                             f"{index.shape}")
        if self.ndim == 0:
            return self.reshape(1).index_select(0, index).reshape(())
        d = self._axes(dim, None, "index_select")[0]
        _check_range(index, self.shape[d], d, "index_select")
        return apply(ops.INDEX, self, key=(slice(None),) * d + (index.reshape(-1),))

    def masked_fill(self, mask: Any, value: Any) -> Tensor:
        """value where the boolean mask holds (it broadcasts), else self."""
        m = mask.array if isinstance(mask, Tensor) else np.asarray(mask)
        if m.dtype != bool:
            raise TypeError(f"masked_fill: the mask must be boolean (a comparison such as "
                            f"x > 0), got dtype {m.dtype}")
        if isinstance(value, Tensor) and value.ndim != 0:
            raise ValueError(f"masked_fill: value must be a number or a 0-d tensor, got shape "
                             f"{value.shape}")
        return where(m, value, self)

    def repeat(self, *sizes: int | Sequence[int]) -> Tensor:
        """Tile the tensor: sizes[k] copies along axis k (leading new axes allowed), as
        np.tile. An expand (no copy), written out once, then a reshape (a view)."""
        sizes = self._shape_args(sizes)
        if len(sizes) < self.ndim:
            raise ValueError(f"repeat: give at least one size per dimension: {len(sizes)} "
                             f"sizes {sizes} for a tensor of shape {self.shape}")
        if any(n < 0 for n in sizes):
            raise ValueError(f"repeat: sizes must be >= 0, got {sizes}")
        shape = (1,) * (len(sizes) - self.ndim) + self.shape
        spread = tuple(x for n in shape for x in (1, n))
        tiled = tuple(x for r, n in zip(sizes, shape) for x in (r, n))
        copies = self.reshape(spread).expand(tiled) * 1.0  # the one copy, as PyTorch's
        return _own(copies.reshape(tuple(r * n for r, n in zip(sizes, shape))))

    def expand_as(self, other: Any) -> Tensor:
        return self.expand(other.shape)

    def view_as(self, other: Any) -> Tensor:
        return self.view(other.shape)

    def reshape_as(self, other: Any) -> Tensor:
        return self.reshape(other.shape)

    def unflatten(self, dim: int, sizes: Sequence[int]) -> Tensor:
        """Split axis dim into several of the given sizes (one may be -1)."""
        if self.ndim == 0:
            raise ValueError("unflatten: a 0-d tensor has no dimension to unflatten")
        d = self._axes(dim, None, "unflatten")[0]
        sizes = tuple(int(n) for n in sizes)
        n = self.shape[d]
        known = math.prod(s for s in sizes if s != -1)
        if sizes.count(-1) == 1 and known and n % known == 0:
            sizes = tuple(n // known if s == -1 else s for s in sizes)
        if not sizes or any(s < 0 for s in sizes) or math.prod(sizes) != n:
            raise ValueError(f"unflatten: sizes {sizes} do not multiply to {n}, the size of "
                             f"dim {d} of shape {self.shape}")
        return self.reshape(self.shape[:d] + sizes + self.shape[d + 1:])

    def split(self, split_size_or_sections: int | Sequence[int], dim: int = 0
              ) -> tuple[Tensor, ...]:
        """Pieces along dim (views): of split_size each (the last may be smaller), or of
        the given sizes (which must add up to the size of dim)."""
        if self.ndim == 0:
            raise ValueError("split: a 0-d tensor cannot be split")
        d = self._axes(dim, None, "split")[0]
        n = self.shape[d]
        if isinstance(split_size_or_sections, (int, np.integer)):
            size = int(split_size_or_sections)
            if size < 0 or (size == 0 and n > 0):
                raise ValueError(f"split: split_size must be > 0 (got {size}) for dim {d} "
                                 f"of size {n}")
            sizes = [min(size, n - start) for start in range(0, n, size)] if n else [0]
        else:
            sizes = [int(s) for s in split_size_or_sections]
            if any(s < 0 for s in sizes) or sum(sizes) != n:
                raise ValueError(f"split: sizes {sizes} must be >= 0 and add up to {n}, the "
                                 f"size of dim {d} of shape {self.shape}")
        pieces, start = [], 0
        for s in sizes:
            pieces.append(self[(slice(None),) * d + (slice(start, start + s),)])
            start += s
        return tuple(pieces)

    def chunk(self, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
        """At most chunks pieces along dim, of equal size but the last (as PyTorch)."""
        if chunks <= 0:
            raise ValueError(f"chunk: chunks must be > 0, got {chunks}")
        if self.ndim == 0:
            raise ValueError("chunk: needs a tensor of at least 1 dimension, got a 0-d one")
        n = self.shape[self._axes(dim, None, "chunk")[0]]
        if n == 0:
            return self.split([0] * chunks, dim)
        return self.split(-(-n // chunks), dim)

    def flip(self, *dims: int | Sequence[int]) -> Tensor:
        """A copy with the order of the elements along dims reversed."""
        dims = self._shape_args(dims)
        return apply(ops.FLIP, self, axis=self._axes(dims, None, "flip"))

    def tril(self, diagonal: int = 0) -> Tensor:
        """The lower triangle of each matrix (the last two axes), zeros above the
        diagonal; diagonal > 0 keeps more, < 0 less."""
        return self._triangle("tril", np.tri(*self.shape[-2:], k=diagonal, dtype=bool)
                              if self.ndim >= 2 else None)

    def triu(self, diagonal: int = 0) -> Tensor:
        """The upper triangle of each matrix, zeros below the diagonal."""
        return self._triangle("triu", ~np.tri(*self.shape[-2:], k=diagonal - 1, dtype=bool)
                              if self.ndim >= 2 else None)

    def _triangle(self, name: str, keep: np.ndarray | None) -> Tensor:
        if keep is None:
            raise ValueError(f"{name}: needs at least 2 dimensions, got shape {self.shape}")
        return where(keep, self, 0.0)

    def t(self) -> Tensor:
        """The transpose of a matrix; a 0-d or 1-D tensor as it is (a new view)."""
        if self.ndim > 2:
            raise ValueError(f"t: expects a tensor with at most 2 dimensions, got shape "
                             f"{self.shape}; use transpose(dim0, dim1) or mT")
        return self.permute(tuple(range(self.ndim))[::-1])

    def swapaxes(self, axis0: int, axis1: int) -> Tensor:
        return self.transpose(axis0, axis1)

    def swapdims(self, dim0: int, dim1: int) -> Tensor:
        return self.transpose(dim0, dim1)



def _matmul(a: Tensor, b: Tensor) -> Tensor:
    """The primitive matmul of two checked operands of at least 2-D."""
    strides = b.array.strides
    return apply(ops.MATMUL, a, b, b_column_major=strides[-1] > strides[-2])


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
            part = part.array
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


# --- helpers of the everyday ops -------------------------------------------------------


def _root_with_zero_gradient_at_0(s: Tensor, p: float) -> Tensor:
    """s ** (1/p) (s >= 0: a sum of squares or of |x|^p), but where s is 0 the result
    is the constant 0: no gradient flows there, so x gets PyTorch's subgradient 0 (and
    0 for the higher derivatives too, as PyTorch), not 0 * inf = NaN."""
    zero = s.array == 0
    root = (lambda t: t.sqrt()) if p == 2 else (lambda t: t ** (1.0 / p))
    if not zero.any():
        return root(s)
    return where(zero, 0.0, root(where(zero, 1.0, s)))


def _need_float(t: Tensor, name: str) -> None:
    if t.dtype.kind != "f":
        raise TypeError(f"{name}: needs a floating point tensor, got {t.dtype}; convert it "
                        "first (.double() or .float()), as PyTorch asks")


def _int_index(index: Any, name: str) -> np.ndarray:
    """An index argument (a Tensor, list or ndarray of whole numbers) as an intp array."""
    array = index.array if isinstance(index, Tensor) else np.asarray(index)
    if array.dtype.kind == "f" and array.size == 0:
        array = array.astype(np.intp)
    if array.dtype.kind not in "iuf":
        raise TypeError(f"{name}: the index must hold integers, got dtype {array.dtype}")
    if array.dtype.kind == "f" and not (np.all(np.isfinite(array))
                                        and np.all(array == np.round(array))):
        raise TypeError(f"{name}: the index must hold whole numbers, got {array.dtype} "
                            f"values {array.ravel()[:5]}")
    return array.astype(np.intp)


def _check_range(index: np.ndarray, size: int, dim: int, name: str) -> None:
    if index.size and (index.min() < 0 or index.max() >= size):
        bad = index[(index < 0) | (index >= size)].ravel()[0]
        raise IndexError(f"{name}: index {bad} is out of range for dim {dim} of size {size} "
                         f"(valid: 0 to {size - 1})")



def _window_params(shape: tuple[int, ...], kernel_size: Any, stride: Any, padding: Any,
                   dilation: Any, where: str) -> tuple:
    """(kernel, stride, padding, dilation) for windows over the spatial axes of shape
    (N, C, *S): tuples with one int per axis, padding one (before, after) pair per axis."""
    k = len(shape) - 2
    if k < 1:
        raise ValueError(f"{where}: needs a tensor (N, C, *spatial) with at least one "
                         f"spatial axis, got shape {shape}")
    kernel = ints_per_axis(kernel_size, k, "kernel_size", where)
    stride = ints_per_axis(stride, k, "stride", where)
    dilation = ints_per_axis(dilation, k, "dilation", where)
    if isinstance(padding, (tuple, list)) and padding and all(
            isinstance(p, (tuple, list)) for p in padding):
        if len(padding) != k:
            raise ValueError(f"{where}: padding needs {k} (before, after) pairs, one per "
                             f"spatial axis, got {padding!r}")
        pairs = tuple(ints_per_axis(p, 2, "each padding pair", where, 0) for p in padding)
    else:  # the same on both sides (a pair for one axis would be ambiguous: ((lo, hi),))
        pairs = tuple((p, p) for p in ints_per_axis(padding, k, "padding", where, 0))
    return kernel, stride, pairs, dilation

# --- functions of several tensors -----------------------------------------------------


def tensor(data: Any, requires_grad: bool = False, dtype: Any = None,
           name: str | None = None, *, device: Any = None) -> Tensor:
    """Make a Tensor (a copy of data), as ``torch.tensor``."""
    check_device(device, "tensor")
    t = Tensor._wrap(to_array(data.array if isinstance(data, Tensor) else data, dtype,
                              "tensor()"), None)
    t.requires_grad_(requires_grad)  # ints and bools stay so (unlike Tensor(...))
    t.name = name  # after requires_grad: a named constant, not a parameter, is watched
    return t


def as_tensor(x: Any, *, device: Any = None) -> Tensor:
    if device is not None:
        check_device(device, "as_tensor")
    return x if isinstance(x, Tensor) else tensor(x)


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
    cond = condition.array if isinstance(condition, Tensor) else np.asarray(condition)
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


# --- einsum: composed of indexing, sum, permute, reshape and matmul -------------------


def einsum(equation: str, *operands: Any) -> Tensor:
    """Sums of products over named indices, as ``torch.einsum``: ``'ij,jk->ik'`` is a
    matrix product, ``'bij,bjk->bik'`` a batch of them, ``'ii->'`` the trace, ``'ii->i'``
    the diagonal, ``'i,j->ij'`` the outer product, ``'ij->j'`` a sum, ``'...ij,...jk'``
    a product of matrices over any (broadcast) leading axes. Without ``->`` the result
    has the '...' axes and then the indices seen once, in alphabetical order. Built from
    other ops (a
    repeated index takes a diagonal by indexing, operands are contracted two at a time
    with matmul), so it needs no rule of its own."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    tensors = [as_tensor(t) for t in operands]
    eq = equation.replace(" ", "")
    inputs, arrow, output = eq.partition("->")
    subs = inputs.split(",")
    named = (inputs + output).replace("...", "").replace(",", "")
    if not all(c.isascii() and c.isalpha() for c in named):  # a-z, A-Z, as PyTorch
        raise ValueError(f"einsum: indices must be letters a-z, A-Z (and '...'), got "
                         f"{equation!r}")
    if len(subs) != len(tensors):
        raise ValueError(f"einsum: {equation!r} names {len(subs)} operand(s) but "
                         f"{len(tensors)} were given")
    subs, tensors, batch = _einsum_ellipsis(subs, tensors, equation)
    letters = "".join(subs)
    if not arrow:  # the '...' axes first, then the indices seen once, in order
        output = batch + "".join(sorted(c for c in set(letters) if letters.count(c) == 1
                                        and c not in batch))
    output = output.replace("...", batch)
    if len(set(output)) != len(output) or not set(output) <= set(letters):
        raise ValueError(f"einsum: the output {output!r} of {equation!r} must name each index "
                         "once, and only indices of the operands")
    sizes: dict[str, int] = {}
    for k, (s, t) in enumerate(zip(subs, tensors)):
        if len(s) != t.ndim:
            raise ValueError(f"einsum: operand {k} has shape {t.shape} but {s!r} names "
                             f"{len(s)} dimension(s)")
        for c, n in zip(s, t.shape):
            if sizes.setdefault(c, n) != n:
                raise ValueError(f"einsum: index {c!r} has size {sizes[c]} and {n} in "
                                 f"{equation!r} (shapes {_shapes(tensors)})")
    terms = [_einsum_diagonals(t, s) for t, s in zip(tensors, subs)]
    t, s = terms[0]
    for k in range(1, len(terms)):
        u, r = terms[k]
        later = set(output).union(*[set(x) for _, x in terms[k + 1:]])
        t, s = _einsum_sum(t, s, set(r) | later)
        u, r = _einsum_sum(u, r, set(s) | later)
        t, s = _einsum_pair(t, s, u, r, later, sizes)
    t, s = _einsum_sum(t, s, set(output))
    return t.permute(tuple(s.index(c) for c in output))


def _einsum_ellipsis(subs: list[str], tensors: list[Tensor], equation: str
                     ) -> tuple[list[str], list[Tensor], str]:
    """Name the axes each '...' stands for (with Greek letters, aligned from the right as
    in broadcasting) and expand their size-1 axes to the common size. Returns the new
    subscripts and tensors and the names of the '...' axes."""
    counts = []
    for k, (s, t) in enumerate(zip(subs, tensors)):
        n = t.ndim - (len(s) - 3) if "..." in s else 0
        if s.count("...") > 1 or n < 0 or ("." in s.replace("...", "", 1)):
            raise ValueError(f"einsum: operand {k} of shape {t.shape} does not fit {s!r} "
                             f"in {equation!r}")
        counts.append(n)
    width = max(counts, default=0)
    names = "".join(chr(0x3B1 + i) for i in range(width))  # α, β, ...
    spans = [t.shape[s.index("..."):s.index("...") + n] if "..." in s else ()
             for s, t, n in zip(subs, tensors, counts)]
    try:
        common = np.broadcast_shapes(*spans)
    except ValueError:
        raise ValueError(f"einsum: the '...' axes {spans} of {equation!r} do not broadcast "
                         "together") from None
    out_subs, out_tensors = [], []
    for s, t, n in zip(subs, tensors, counts):
        if "..." in s:
            p = s.index("...")
            s = s[:p] + names[width - n:] + s[p + 3:]
            target = t.shape[:p] + tuple(common[width - n:]) + t.shape[p + n:]
            t = t.expand(target) if target != t.shape else t
        out_subs.append(s)
        out_tensors.append(t)
    return out_subs, out_tensors, names


def _einsum_diagonals(t: Tensor, s: str) -> tuple[Tensor, str]:
    """t and its indices with every repeated index taken once: 'ii' -> the diagonal."""
    while len(set(s)) < len(s):
        c = next(c for c in s if s.count(c) > 1)
        p = s.index(c)
        q = s.index(c, p + 1)
        rest = [k for k in range(len(s)) if k not in (p, q)]
        t = t.permute([p, q] + rest)
        diagonal = np.arange(t.shape[0])
        t = t[diagonal, diagonal]
        s = c + "".join(s[k] for k in rest)
    return t, s


def _einsum_sum(t: Tensor, s: str, keep: set) -> tuple[Tensor, str]:
    """Sum over the indices of t that are not in keep."""
    axes = tuple(k for k, c in enumerate(s) if c not in keep)
    if not axes:
        return t, s
    return t.sum(axes), "".join(c for c in s if c in keep)


def _einsum_pair(a: Tensor, sa: str, b: Tensor, sb: str, later: set,
                 sizes: dict) -> tuple[Tensor, str]:
    """Contract a and b over their shared indices that are not needed later: one batched
    matmul of a as (batch, left, shared) with b as (batch, shared, right)."""
    batch = [c for c in sa if c in sb and c in later]
    shared = [c for c in sa if c in sb and c not in later]
    left = [c for c in sa if c not in sb]
    right = [c for c in sb if c not in sa]
    size = lambda cs: math.prod(sizes[c] for c in cs)
    a3 = a.permute([sa.index(c) for c in batch + left + shared]).reshape(
        size(batch), size(left), size(shared))
    b3 = b.permute([sb.index(c) for c in batch + shared + right]).reshape(
        size(batch), size(shared), size(right))
    out = (a3 @ b3).reshape(tuple(sizes[c] for c in batch + left + right))
    return out, "".join(batch + left + right)


# Join the methods to Tensor (dunders too: len(t), iter(t), t < u ... come from here).
for _name, _member in vars(TensorMethods).items():
    if _name not in ("__module__", "__qualname__", "__doc__", "__dict__", "__weakref__"):
        setattr(Tensor, _name, _member)
