"""Tensor's core: a NumPy array plus what autograd needs (grad, requires_grad, grad_fn).

``apply`` runs an op of ``ops.py`` forward and records a Node when a gradient will be
needed; every operator is one ``apply`` call; ``backward`` starts the engine's reverse
pass through ``run_backward``. The other methods (``sum``, ``reshape``, ``matmul``,
``item``, ``repr`` ...) are in ``functions.py``, the in-place ones in ``inplace.py``;
both join the class. What a view remembers for in-place changes is in ``views.py``.
"""

from __future__ import annotations

import gc
import numbers
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import advice, names, ops
from .convert import FLOAT_DTYPES, get_default_dtype, to_array
from .engine import FROZEN, Node, Version, record, reverse_pass, state
from .ops import Op
from .views import remember_view

# --- turning user data into arrays -----------------------------------------------------


def _operand(x: Any, like: Tensor) -> Tensor:
    """The other side of a binary op as a Tensor. A Python number takes ``like``'s
    dtype when it fits it (so float32 stays float32, int32 stays int32), else the
    default: a float next to an integer tensor gives the default float dtype, as
    PyTorch. Integer and boolean arrays take ``like``'s dtype."""
    if isinstance(x, Tensor):
        return x
    if type(x) is float or type(x) is int:  # the common case, first
        dt = like.array.dtype
        if dt.kind != "f" and (type(x) is float or dt.kind == "b"):
            dt = get_default_dtype() if type(x) is float else np.dtype(np.int64)
        return _constant(x, dt)
    if isinstance(x, (bool, np.bool_)):  # True + int tensor is int, as PyTorch
        return _constant(bool(x), like.array.dtype)
    if isinstance(x, numbers.Real) and not isinstance(x, np.ndarray):
        return _operand(x.item() if isinstance(x, np.generic) else float(x), like)
    if isinstance(x, np.ndarray):
        if x.dtype in FLOAT_DTYPES:
            return Tensor._wrap(x, None)
        if x.dtype.kind in "biuf":
            return Tensor._wrap(x.astype(like.array.dtype), None)
    return NotImplemented


def _operands(a: Tensor, other: Any) -> tuple[Tensor, Any]:
    """(a, other as a Tensor) for a binary operator, or (a, NotImplemented). An integer
    or boolean tensor meeting a floating one is cast to its dtype first, as PyTorch
    does (NumPy would make int64 with float32 a float64)."""
    b = other if isinstance(other, Tensor) else _operand(other, a)
    if b is NotImplemented or b.array.dtype is a.array.dtype:
        return a, b
    ka, kb = a.array.dtype.kind, b.array.dtype.kind
    if ka == "f" and kb != "f":
        b = Tensor._wrap(b.array.astype(a.array.dtype), None)
    elif kb == "f" and ka != "f":
        a = Tensor._wrap(a.array.astype(b.array.dtype), None)
    return a, b


_CONSTANTS: dict = {}  # (number, dtype) -> a read-only 0-d Tensor, made once


def _constant(x: float, dtype: np.dtype) -> Tensor:
    """A Python number as a 0-d constant of ``dtype``. NumPy converts a Python float
    on every call (0.35 instead of 0.24 us a multiply), so each is made once and kept;
    read-only, it needs no version stamp when a Node saves it."""
    key = (x, dtype)
    t = _CONSTANTS.get(key)
    if t is None:
        if len(_CONSTANTS) >= 1024:
            _CONSTANTS.clear()
        array = np.array(x, dtype=dtype)
        array.flags.writeable = False
        t = _CONSTANTS[key] = Tensor._wrap(array, None, FROZEN)
    return t


def _shapes(inputs: Sequence[Tensor]) -> str:
    return " and ".join(str(t.shape) for t in inputs)


def apply(op: Op, *inputs: Tensor, **params: Any) -> Tensor:
    """Run ``op`` forward on the inputs' arrays; record a Node if a gradient is needed."""
    forward_params = params
    if op.rule_params:  # params only the rules read are not for the forward
        forward_params = params.copy()
        for name in op.rule_params:
            del forward_params[name]
    try:  # one or two inputs spelled out: a list to unpack costs as much as a multiply
        if len(inputs) == 1:
            out = op.forward(inputs[0].array, **forward_params)
        elif len(inputs) == 2:
            out = op.forward(inputs[0].array, inputs[1].array, **forward_params)
        else:
            out = op.forward(*[t.array for t in inputs], **forward_params)
    except ValueError as exc:
        raise ValueError(f"{op.name}: {exc} (input shapes {_shapes(inputs)})") from None
    except IndexError as exc:
        raise IndexError(f"{op.name}: {exc} (tensor shape {_shapes(inputs)})") from None
    if type(out) is not np.ndarray:
        out = np.asarray(out)  # full reductions return NumPy scalars
    view = op.view and np.may_share_memory(out, inputs[0].array)
    version = inputs[0]._vc if view else Version()  # a view changes with its base
    grad_fn = None
    if state.enabled:
        for t in inputs:
            if t.requires_grad:
                grad_fn = record(op, inputs, out, version, params)
                break
    result = Tensor._wrap(out, grad_fn, version)
    if view:
        remember_view(result, inputs[0], op, params)  # for in-place changes through it
    if state.observers:
        for o in state.observers:
            o.forward(op, inputs, out, result.grad_fn, params)
            o.made(result)
    return result


# --- the one way into a reverse pass --------------------------------------------------


def _seed(out: Tensor, gradient: Any, where: str) -> Tensor:
    """The starting gradient dL/d(out): 1 for a one-element output."""
    if gradient is None:
        if out.array.size != 1:
            raise RuntimeError(
                f"{where}: the output has shape {out.shape}, not one element, so the "
                "gradient to start from is ambiguous. Reduce it to a scalar first "
                "(e.g. loss.sum() or loss.mean()), or pass gradient= (a tensor of "
                f"shape {out.shape}) giving dL/d(output).")
        # a one from a 0-d array: np.ones' Python wrapper takes four times as long
        return Tensor._wrap(np.array(1, out.dtype).reshape(out.shape), None)
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
    roots = [(out.grad_fn or out, seed if create_graph else seed.array)
             for out, seed in zip(outputs, seeds)]
    if retain_graph is None:
        retain_graph = create_graph  # as PyTorch: a recorded backward keeps the graph
    collecting = gc.isenabled()
    gc.disable()  # the graph has no reference cycles: nothing for the collector to find,
    # and its repeated scans of millions of live nodes would cost more than the pass
    recording, state.enabled = state.enabled, create_graph  # the rules' own ops are
    try:  # recorded only under create_graph
        reverse_pass(roots, sink, retain_graph, Tensor._wrap if create_graph else None)
    finally:
        state.enabled = recording
        if collecting:
            gc.enable()


class Accumulate:
    """Where ``backward()`` sends gradients: added into each leaf's ``.grad``."""

    keep = None  # every node is visited

    def __init__(self, create_graph: bool) -> None:
        self.create_graph = create_graph

    def leaf(self, leaf: Tensor, g: Any) -> None:
        """leaf.grad += g, as PyTorch: in place into the existing .grad when possible."""
        grad = leaf._grad
        if grad is None:
            # a fresh array the leaf owns: g may be shared with other leaves or be a view
            leaf._grad = g * 1.0 if self.create_graph else Tensor._wrap(np.array(g), None)
        elif self.create_graph or grad.requires_grad:
            leaf._grad = grad + g
        else:
            np.add(grad.array, g, out=grad.array)
            grad._vc.n += 1


def _binary(op: Op) -> tuple[Callable, Callable]:
    """The two operator methods of a binary op: ``a * b`` is ``apply(MUL, a, b)`` and
    ``2 * a`` (the reflected one) is ``apply(MUL, 2, a)``, the number made a Tensor."""

    def method(self: Tensor, other: Any) -> Tensor:
        a, b = _operands(self, other)
        return NotImplemented if b is NotImplemented else apply(op, a, b)

    def reflected(self: Tensor, other: Any) -> Tensor:
        a, b = _operands(self, other)
        return NotImplemented if b is NotImplemented else apply(op, b, a)

    return method, reflected


class Tensor:
    """An n-dimensional array that records the operations applied to it.

    >>> w = Tensor([2.0, 3.0], requires_grad=True)
    >>> loss = (w * w).sum()
    >>> loss.backward()
    >>> w.grad
    tensor([4., 6.])
    """

    __slots__ = ("array", "_grad", "_retains", "requires_grad", "grad_fn", "_name", "_vc", "_view",
                 "__weakref__")
    __array_ufunc__ = None  # ndarray (op) Tensor defers to Tensor's reflected operator

    def __init__(self, *data: Any, requires_grad: bool = False, dtype: Any = None,
                 name: str | None = None) -> None:
        """``Tensor(data)``, or PyTorch's legacy ``Tensor(*sizes)`` (zeros here, where
        PyTorch leaves the memory uninitialized). A float tensor (the default dtype)
        unless ``dtype`` is given, as ``torch.Tensor``; ``tensor(data)`` keeps ints."""
        if all(type(n) is int or isinstance(n, np.integer) for n in data):
            array = np.zeros(data or (0,), dtype=dtype or get_default_dtype())  # sizes
        elif len(data) == 1:
            source = data[0].array if isinstance(data[0], Tensor) else data[0]
            array = to_array(source, dtype, "Tensor()")
        else:
            raise TypeError(f"Tensor(): give one data argument (a list, an array ...) or "
                            f"integer sizes, got {len(data)} arguments")
        if dtype is None and array.dtype.kind != "f":
            array = array.astype(get_default_dtype())  # torch.Tensor(...) is always float
        self.array: np.ndarray = array  # the values (what .numpy() returns)
        self._grad: Tensor | None = None
        self.requires_grad = False
        self.grad_fn: Node | None = None
        self._name = None
        self._vc = Version()
        self._view = None  # for a view: (base, view ops from it, made while recording)
        self.requires_grad_(requires_grad)
        self.name = name  # after requires_grad (naming a constant starts a watch)

    @classmethod
    def _wrap(cls, data: np.ndarray, grad_fn: Node | None,
              version: Version | None = None) -> Tensor:
        """Fast internal constructor: ``data`` is already a proper array."""
        t = object.__new__(cls)
        t.array = data
        t._grad = None
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
        elif name is not None and not self.requires_grad:
            names.watch_constants()  # a named constant: the ops using it note its name

    @property
    def grad(self) -> Tensor | None:
        """The gradient that backward() accumulated (None until then). Read on a
        non-leaf that does not retain it, it warns as PyTorch does: backward fills only
        leaves, unless ``retain_grad()`` was called."""
        if self._grad is None and self.grad_fn is not None and \
                not getattr(self, "_retains", False):
            warnings.warn(advice.non_leaf_grad(self), UserWarning, stacklevel=2)
        return self._grad

    @grad.setter
    def grad(self, value: Tensor | None) -> None:
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(f"assigned grad must be a Tensor or None, got "
                                f"{type(value).__name__}")
            if value.shape != self.shape:
                raise RuntimeError(f"assigned grad has shape {value.shape}, but the tensor "
                                   f"has shape {self.shape}")
        for o in state.observers:
            o.written(self, "grad", value)
        self._grad = value

    @property
    def data(self) -> Tensor:
        """The same values as a Tensor that records nothing (PyTorch's ``.data``): it
        shares the memory, so ``p.data -= lr * p.grad`` updates ``p``, but not the
        version counter, so autograd does not see such changes; ``detach()`` is the
        safe form. ``t.data = other`` replaces the values (any shape)."""
        return Tensor._wrap(self.array, None)

    @data.setter
    def data(self, value: Any) -> None:
        self.array = value.array if isinstance(value, Tensor) else to_array(value)

    @property
    def shape(self) -> tuple[int, ...]:
        return self.array.shape

    @property
    def ndim(self) -> int:
        return self.array.ndim

    @property
    def dtype(self) -> np.dtype:
        return self.array.dtype

    @property
    def is_leaf(self) -> bool:
        """True for tensors made by the user, not by an op that recorded a graph."""
        return self.grad_fn is None

    @property
    def _version(self) -> int:
        """How many times this tensor's memory was changed in place."""
        return self._vc.n

    def _read(self) -> None:
        """Tell the observers that this tensor's values go out to Python."""
        for o in state.observers:
            o.read(self)

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
        t = Tensor._wrap(self.array, None)
        t._vc = self._vc
        return t

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        if not self.is_leaf and not requires_grad:
            raise RuntimeError(
                f"requires_grad_(False) on a non-leaf tensor (made by {self.grad_fn!r}); "
                "use .detach() to get a tensor without history")
        if requires_grad and self.array.dtype.kind != "f":
            raise RuntimeError(
                f"only Tensors of floating point dtype can require gradients (this one is "
                f"{self.array.dtype}); convert it first, e.g. x.float() or x.double()")
        self.requires_grad = bool(requires_grad)
        return self

    # --- arithmetic: one apply() each ---------------------------------------------------

    __add__, __radd__ = _binary(ops.ADD)
    __sub__, __rsub__ = _binary(ops.SUB)
    __mul__, __rmul__ = _binary(ops.MUL)
    __truediv__, __rtruediv__ = _binary(ops.DIV)
    __pow__, __rpow__ = _binary(ops.POW)

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

    __hash__ = object.__hash__

