"""``tinygrad_edu.func``: function transforms with ``torch.func``'s names.

``grad(f)`` is a new function that returns f's gradient; ``vjp``, ``jvp``,
``linearize``, ``jacrev``, ``jacfwd``, ``hessian`` and ``vmap`` likewise. They take
and return Tensors, or tuples, lists and dicts of them, and they compose:
``grad(grad(f))``, ``jacfwd(jacrev(f))``, ``vmap(grad(f))``.

Everything is built on ``autograd.grad`` and Tensor ops, so there is one table of
derivatives (``ops.py``, reverse mode only). Forward mode comes from it by the
double-vjp trick: ``vjp(u) = uᵀJ`` is linear in the cotangent ``u``, so its own vjp
with respect to ``u``, taken along a tangent ``t``, is ``J t``.

How transforms nest: each call runs ``f`` on fresh variables for the inputs it
differentiates (a leaf, or a recorded copy if the input itself requires grad). The
derivative is recorded (``create_graph``) only when f's result depends on a tensor
from outside the call that requires grad: an enclosing transform's variable, or a
parameter f closes over. Otherwise the results are plain tensors with no graph.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .autograd import grad as _autograd_grad
from .engine import toposort
from .functions import stack
from .grad_mode import enable_grad
from .tensor import Tensor

__all__ = ["grad", "grad_and_value", "hessian", "jacfwd", "jacrev", "jvp", "linearize",
           "vjp", "vmap"]

# --- pytrees: Tensors inside tuples, lists and dicts ---------------------------------
# A spec is LEAF, ("tuple", [specs]), ("list", [specs]) or ("dict", keys, [specs]).
LEAF = "*"


def _flatten(tree: Any) -> tuple[list, Any]:
    """The leaves of a nested tuple/list/dict (anything else is a leaf), and its spec."""
    if isinstance(tree, (tuple, list)):
        leaves, specs = [], []
        for item in tree:
            sub, spec = _flatten(item)
            leaves += sub
            specs.append(spec)
        return leaves, ("tuple" if isinstance(tree, tuple) else "list", specs)
    if isinstance(tree, dict):
        leaves, specs = [], []
        for key in tree:
            sub, spec = _flatten(tree[key])
            leaves += sub
            specs.append(spec)
        return leaves, ("dict", list(tree), specs)
    return [tree], LEAF


def _unflatten(spec: Any, leaves: Sequence) -> Any:
    """The inverse of ``_flatten``: ``leaves`` put back into the structure ``spec``."""
    it = iter(leaves)

    def build(s: Any) -> Any:
        if s == LEAF:
            return next(it)
        if s[0] == "dict":
            return {key: build(sub) for key, sub in zip(s[1], s[2])}
        items = [build(sub) for sub in s[1]]
        return tuple(items) if s[0] == "tuple" else items

    return build(spec)


def _describe(spec: Any) -> str:
    """A structure as a user reads it: (*, [*, *]) or {'a': *}."""
    if spec == LEAF:
        return "*"
    if spec[0] == "dict":
        return "{" + ", ".join(f"{k!r}: {_describe(s)}" for k, s in zip(spec[1], spec[2])) + "}"
    inner = ", ".join(_describe(s) for s in spec[1])
    return f"({inner},)" if spec[0] == "tuple" and len(spec[1]) == 1 else \
        (f"({inner})" if spec[0] == "tuple" else f"[{inner}]")


def _tensors(tree: Any, what: str, where: str,
             error: type[Exception] = ValueError) -> tuple[list[Tensor], Any]:
    """The Tensor leaves of ``tree``, or an error naming what is not a Tensor."""
    leaves, spec = _flatten(tree)
    for leaf in leaves:
        if not isinstance(leaf, Tensor):
            raise error(f"{where}: {what} must be Tensors (or tuples, lists and dicts "
                             f"of Tensors), got {type(leaf).__name__}; wrap numbers with "
                             "tensor(...)")
    return leaves, spec


def _detach(tree: Any) -> Any:
    """The same structure with every Tensor detached (other leaves as they are)."""
    leaves, spec = _flatten(tree)
    return _unflatten(spec, [x.detach() if isinstance(x, Tensor) else x for x in leaves])


def _split_aux(result: Any, has_aux: bool, where: str) -> tuple[Any, Any]:
    if not has_aux:
        return result, None
    if not (isinstance(result, tuple) and len(result) == 2):
        raise RuntimeError(f"{where}: with has_aux=True, f must return a tuple (output, aux); "
                           f"got {type(result).__name__}"
                           + (f" of length {len(result)}" if isinstance(result, tuple) else ""))
    return result


def _reaches_outside(outputs: Sequence[Tensor], mine: Sequence[Tensor]) -> bool:
    """Does any output depend on a tensor that requires grad, other than ``mine``?"""
    own = {id(t) for t in mine}
    roots = []
    for out in outputs:
        if out.grad_fn is not None:
            roots.append(out.grad_fn)
        elif out.requires_grad and id(out) not in own:
            return True
    for node in toposort(roots):
        for parent in node.parents:
            if isinstance(parent, Tensor) and id(parent) not in own:
                return True
    return False


def _zeros_like(t: Tensor) -> Tensor:
    return Tensor._wrap(np.zeros(t.shape, t.dtype), None)


def _check_argnums(argnums: Any, n_args: int, where: str) -> tuple[int, ...]:
    """argnums as a tuple of non-negative positions, checked against the call."""
    several = isinstance(argnums, tuple)
    nums = argnums if several else (argnums,)
    if not nums or not all(isinstance(k, int) and not isinstance(k, bool) for k in nums):
        raise RuntimeError(f"{where}: argnums must be an int or a non-empty tuple of ints, "
                           f"got {argnums!r}")
    for k in nums:
        if not -n_args <= k < n_args:
            raise RuntimeError(f"{where}: got argnums={argnums!r}, but f was called with only "
                               f"{n_args} positional argument(s); argnums counts positions "
                               "from 0")
    positions = tuple(k % n_args for k in nums)
    if len(set(positions)) != len(positions):
        raise RuntimeError(f"{where}: argnums elements must be unique, got {argnums!r}")
    return positions


class _Call:
    """One call of ``f`` on fresh variables for the differentiated inputs; every
    transform starts here.

    ``inputs``: the fresh variables (flat), whose structure is ``spec``; ``out`` (and
    ``out_flat``/``out_spec``), ``aux``; ``record``: are derivatives recorded (``None``:
    only if the output depends on something outside that requires grad)."""

    def __init__(self, func: Callable, args: tuple, kwargs: dict, argnums: Any,
                 has_aux: bool, where: str, record: bool | None = None,
                 out_error: type[Exception] = ValueError) -> None:
        self.where = where
        args = list(args)
        if argnums is None:  # all positional arguments, as one tuple
            positions, chosen = tuple(range(len(args))), tuple(args)
        else:
            positions = _check_argnums(argnums, len(args), where)
            chosen = tuple(args[k] for k in positions) if isinstance(argnums, tuple) \
                else args[positions[0]]
        originals, self.spec = _tensors(chosen, "the inputs to differentiate", where)
        for k, x in enumerate(originals):
            if not x.is_floating_point():
                raise RuntimeError(f"{where}: input {k} has dtype {np.dtype(x.dtype).name}; "
                                   "only floating-point inputs can be differentiated "
                                   "(convert it with .double() or .float())")
        # a leaf for an input that needs no grad; else a recorded copy, so that the
        # outside can still differentiate through this call
        self.inputs = [x.clone() if x.requires_grad else x.detach().requires_grad_(True)
                       for x in originals]
        fresh = _unflatten(self.spec, self.inputs)
        if argnums is not None and not isinstance(argnums, tuple):
            fresh = (fresh,)  # one argument: chosen was the argument itself
        for k, value in zip(positions, fresh):
            args[k] = value
        with enable_grad():  # as torch.func: a surrounding no_grad() does not stop us
            result = func(*args, **kwargs)
        self.out, self.aux = _split_aux(result, has_aux, where)
        self.out_flat, self.out_spec = _tensors(self.out, "the outputs of f", where, out_error)
        self.record = _reaches_outside(self.out_flat, self.inputs) if record is None else record

    def output(self) -> Any:
        """f's output (and aux) as returned to the caller: detached unless recorded."""
        return self.out if self.record else _detach(self.out)

    def aux_output(self) -> Any:
        return self.aux if self.record else _detach(self.aux)

    def vjp(self, cotangents: Sequence[Tensor | None]) -> list[Tensor | None]:
        """uᵀJ for the cotangents u (one per output, None for zero): one gradient per
        input, None where the input was not used."""
        pairs = [(o, u) for o, u in zip(self.out_flat, cotangents)
                 if o.requires_grad and u is not None]
        if not pairs:
            return [None] * len(self.inputs)
        create = self.record or any(u.requires_grad for _, u in pairs)
        with enable_grad():
            grads = _autograd_grad([o for o, _ in pairs], self.inputs, [u for _, u in pairs],
                                   retain_graph=True, create_graph=create, allow_unused=True)
        return list(grads)

    def linearize(self) -> Callable[[Sequence[Tensor]], list[Tensor | None]]:
        """The jvp t -> J t, by the double-vjp trick: with a cotangent u (its value does
        not matter), v(u) = uᵀJ is recorded; it is linear in u, so the vjp of v with
        respect to u along t is d(uᵀJ t)/du = J t."""
        live = [o for o in self.out_flat if o.requires_grad and o.is_floating_point()]
        us = [_zeros_like(o).requires_grad_(True) for o in live]
        with enable_grad():
            vs = _autograd_grad(live, self.inputs, us, retain_graph=True, create_graph=True,
                                allow_unused=True) if live else [None] * len(self.inputs)

        def jvp_fn(tangents: Sequence[Tensor]) -> list[Tensor | None]:
            pairs = [(v, t) for v, t in zip(vs, tangents) if v is not None and v.requires_grad]
            found: dict[int, Tensor | None] = {}
            if pairs:
                create = self.record or any(t.requires_grad for _, t in pairs)
                with enable_grad():
                    jt = _autograd_grad([v for v, _ in pairs], us, [t for _, t in pairs],
                                        retain_graph=True, create_graph=create,
                                        allow_unused=True)
                found = {id(o): g for o, g in zip(live, jt)}
            return [found.get(id(o)) for o in self.out_flat]

        return jvp_fn

    def check_like(self, given: Any, expected_spec: Any, expected: Sequence[Tensor],
                   what: str, against: str) -> list[Tensor]:
        """The leaves of ``given`` (cotangents or tangents), checked to have the
        structure and shapes of ``expected``."""
        leaves, spec = _tensors(given, what, self.where)
        if spec != expected_spec:
            raise RuntimeError(f"{self.where}: {what} must have the same structure as "
                               f"{against}: expected {_describe(expected_spec)}, got "
                               f"{_describe(spec)}")
        for k, (t, e) in enumerate(zip(leaves, expected)):
            if t.shape != e.shape:
                raise RuntimeError(f"{self.where}: {what} {k} has shape {t.shape} but "
                                   f"{against} {k} has shape {e.shape}; they must match")
        return leaves


def _filled(grads: Sequence[Tensor | None], like: Sequence[Tensor]) -> list[Tensor]:
    """None (not used) as zeros of the right shape, as torch.func."""
    return [g if g is not None else _zeros_like(x) for g, x in zip(grads, like)]


# --- the transforms ------------------------------------------------------------------


def vjp(func: Callable, *primals: Any, has_aux: bool = False) -> tuple:
    """``(output, vjp_fn)``: f(*primals) and the function u -> uᵀJ, as ``torch.func.vjp``.

    ``vjp_fn(cotangents)`` takes cotangents shaped like the output and returns a
    tuple with one gradient per primal; it may be called many times. With
    ``has_aux=True`` f returns ``(output, aux)`` and vjp returns ``(output, vjp_fn, aux)``.
    """
    call = _Call(func, primals, {}, None, has_aux, "vjp(f, *primals)")

    def vjp_fn(cotangents: Any) -> Any:
        cts = call.check_like(cotangents, call.out_spec, call.out_flat, "cotangent",
                              "output")
        return _unflatten(call.spec, _filled(call.vjp(cts), call.inputs))

    if has_aux:
        return call.output(), vjp_fn, call.aux_output()
    return call.output(), vjp_fn


def linearize(func: Callable, *primals: Any) -> tuple[Any, Callable]:
    """``(output, jvp_fn)``, as ``torch.func.linearize``: f(*primals) and the function
    ``jvp_fn(*tangents) -> J t``, recorded once and evaluated as often as needed."""
    call = _Call(func, primals, {}, None, False, "linearize(f, *primals)")
    jvp_fn = call.linearize()

    def evaluate(*tangents: Any) -> Any:
        ts = call.check_like(tangents, call.spec, call.inputs, "tangent", "primal")
        return _unflatten(call.out_spec, _filled(jvp_fn(ts), call.out_flat))

    return call.output(), evaluate


def jvp(func: Callable, primals: Any, tangents: Any, *, strict: bool = False,
        has_aux: bool = False) -> tuple:
    """``(output, jvp_out)``: f(*primals) and J·tangents, as ``torch.func.jvp``.

    Forward mode from the reverse-mode table (the double-vjp trick): one forward pass,
    one recorded backward pass and one backward pass through that, about three times
    the forward's cost, whatever the sizes. With ``has_aux=True`` f returns
    ``(output, aux)`` and jvp returns ``(output, jvp_out, aux)``.
    """
    where = "jvp(f, primals, tangents)"
    for name, value in (("primals", primals), ("tangents", tangents)):
        if not isinstance(value, tuple):
            raise RuntimeError(f"{where}: {name} must be a tuple (f is called as f(*primals)), "
                               f"got {type(value).__name__}; write ({name[:-1]},) for one")
    if strict:
        raise RuntimeError(f"{where}: strict=True is not implemented (as in torch.func)")
    call = _Call(func, primals, {}, None, has_aux, where)
    ts = call.check_like(tangents, call.spec, call.inputs, "tangent", "primal")
    out_tangents = _unflatten(call.out_spec, _filled(call.linearize()(ts), call.out_flat))
    if has_aux:
        return call.output(), out_tangents, call.aux_output()
    return call.output(), out_tangents


def grad_and_value(func: Callable, argnums: int | tuple[int, ...] = 0,
                   has_aux: bool = False, *, _where: str = "grad_and_value") -> Callable:
    """A function returning ``(gradient, value)`` of the scalar function f, as
    ``torch.func.grad_and_value``; with ``has_aux``, ``(gradient, (value, aux))``."""
    where = f"{_where}(f)(*args)"

    def wrapper(*args: Any, **kwargs: Any) -> tuple:
        call = _Call(func, args, kwargs, argnums, has_aux, where)
        out = call.out
        if not isinstance(out, Tensor) or out.ndim != 0:
            got = f"shape {out.shape}" if isinstance(out, Tensor) else type(out).__name__
            raise RuntimeError(f"{where}: f must return a scalar (0-d) Tensor, got {got}; "
                               "reduce it (.sum(), .mean()) or use vjp or jacrev for "
                               "non-scalar outputs")
        one = Tensor._wrap(np.ones((), out.dtype), None)
        gradient = _unflatten(call.spec, _filled(call.vjp([one]), call.inputs))
        if has_aux:
            return gradient, (call.output(), call.aux_output())
        return gradient, call.output()

    return wrapper


def grad(func: Callable, argnums: int | tuple[int, ...] = 0, has_aux: bool = False) -> Callable:
    """The gradient of a scalar function, as ``torch.func.grad``: ``grad(f)(x)`` is
    df/dx, shaped like x (a tuple for a tuple ``argnums``); with ``has_aux=True`` f
    returns ``(value, aux)`` and the result is ``(gradient, aux)``."""
    inner = grad_and_value(func, argnums, has_aux, _where="grad")

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        gradient, value = inner(*args, **kwargs)
        return (gradient, value[1]) if has_aux else gradient

    return wrapper


def _basis(t: Tensor) -> list[Tensor]:
    """The one-hot tensors shaped like t, one per element, in row-major order."""
    eye = np.eye(t.numel(), dtype=t.dtype)
    return [Tensor._wrap(row.reshape(t.shape), None) for row in eye]


def _rows(call: _Call) -> list[list[list[Tensor | None]]]:
    """The Jacobian's rows: per output, per element, uᵀJ for its one-hot u (a
    gradient per input, None where unused)."""
    n = len(call.out_flat)
    return [[call.vjp([e if k == i else None for k in range(n)]) for e in _basis(o)]
            if o.is_floating_point() else [] for i, o in enumerate(call.out_flat)]


def _columns(call: _Call) -> list[list[list[Tensor | None]]]:
    """The Jacobian's columns: per input, per element, J t for its one-hot t (a
    tangent per output, None where independent)."""
    jvp_fn = call.linearize()
    return [[jvp_fn([e if k == j else _zeros_like(y) for k, y in enumerate(call.inputs)])
             for e in _basis(x)] for j, x in enumerate(call.inputs)]


def _blocks(call: _Call, parts: list, by_rows: bool) -> list[list[Tensor]]:
    """J[output][input], shaped output.shape + input.shape, assembled from the rows or
    the columns (zeros where a part is None)."""
    blocks = []
    for i, o in enumerate(call.out_flat):
        row = []
        for j, x in enumerate(call.inputs):
            if by_rows:
                got = [r[j] if r[j] is not None else _zeros_like(x) for r in parts[i]]
                block = stack(got) if got else None
            else:
                got = [c[i] if c[i] is not None else _zeros_like(o) for c in parts[j]]
                block = stack(got, dim=-1) if got else None
            row.append(Tensor._wrap(np.zeros(o.shape + x.shape, x.dtype), None)
                       if block is None else block.reshape(o.shape + x.shape))
        blocks.append(row)
    return blocks


def _nested(call: _Call, blocks: list[list[Tensor]]) -> Any:
    """The blocks nested as f's outputs, then as the differentiated inputs."""
    return _unflatten(call.out_spec, [_unflatten(call.spec, row) for row in blocks])


def jacrev(func: Callable, argnums: int | tuple[int, ...] = 0, *, has_aux: bool = False,
           chunk_size: int | None = None) -> Callable:
    """The Jacobian by rows, one vjp per output element, as ``torch.func.jacrev``:
    shaped output.shape + input.shape (nested as outputs, then inputs, for tuples).
    Cheap when there are few outputs. ``chunk_size`` is accepted and ignored."""
    where = "jacrev(f)(*args)"

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        call = _Call(func, args, kwargs, argnums, has_aux, where)
        jac = _nested(call, _blocks(call, _rows(call), by_rows=True))
        return (jac, call.aux_output()) if has_aux else jac

    return wrapper


def jacfwd(func: Callable, argnums: int | tuple[int, ...] = 0, has_aux: bool = False, *,
           randomness: str = "error") -> Callable:
    """The Jacobian by columns, one jvp per input element, as ``torch.func.jacfwd``:
    shaped output.shape + input.shape. Cheap when there are few inputs."""
    where = "jacfwd(f)(*args)"

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        call = _Call(func, args, kwargs, argnums, has_aux, where)
        jac = _nested(call, _blocks(call, _columns(call), by_rows=False))
        return (jac, call.aux_output()) if has_aux else jac

    return wrapper


def hessian(func: Callable, argnums: int | tuple[int, ...] = 0) -> Callable:
    """The Hessian of a scalar function, forward-over-reverse: ``jacfwd(jacrev(f))``,
    as ``torch.func.hessian``; shaped input.shape + input.shape."""
    return jacfwd(jacrev(func, argnums), argnums)


# --- vmap ------------------------------------------------------------------------------


def _dims_per_leaf(dims: Any, tree: Any, where: str, what: str = "in_dims") -> list:
    """``dims`` (an int, None, or a structure like ``tree``) given for every leaf."""
    if dims is None or isinstance(dims, int) and not isinstance(dims, bool):
        return [dims] * len(_flatten(tree)[0])
    dim_leaves, dim_spec = _flatten(dims)
    leaves, spec = _flatten(tree)
    if dim_spec != spec:
        raise ValueError(f"{where}: {what} has structure {_describe(dim_spec)} but the "
                         f"values have structure {_describe(spec)}; give one int or None "
                         "per Tensor (or one int for all)")
    return dim_leaves


def vmap(func: Callable, in_dims: Any = 0, out_dims: Any = 0, randomness: str = "error", *,
         chunk_size: int | None = None) -> Callable:
    """f mapped over a batch dimension, as ``torch.func.vmap``.

    ``in_dims``: the batch dimension of each input (an int for all, or a tuple with an
    int or None per positional argument, nested like the argument); ``out_dims``
    likewise for the outputs. An honest loop: f runs once per example and the results
    are stacked, so it is as fast as writing the loop, not faster (PyTorch's
    batching rules run f once on the whole batch). Randomness inside f therefore
    differs per example (``randomness`` and ``chunk_size`` are accepted and ignored).
    ``vmap(grad(f))`` gives per-example gradients.
    """
    name = getattr(func, "__name__", type(func).__name__)
    where = f"vmap({name}, in_dims={in_dims!r}, ...)(<inputs>)"
    if randomness not in ("error", "different", "same"):
        raise RuntimeError(f"vmap: randomness must be 'error', 'different' or 'same', "
                           f"got {randomness!r}")
    if not (isinstance(in_dims, (int, tuple)) and not isinstance(in_dims, bool)):
        raise ValueError(f"{where}: in_dims must be an int or a tuple with one entry per "
                         f"positional input, got {type(in_dims).__name__}")

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if isinstance(in_dims, tuple) and len(in_dims) != len(args):
            raise ValueError(f"{where}: in_dims has {len(in_dims)} entries but f was called "
                             f"with {len(args)} positional inputs; give one per input")
        per_arg = in_dims if isinstance(in_dims, tuple) else (in_dims,) * len(args)
        leaves, spec = _flatten(tuple(args))
        dims = [d for arg, dim in zip(args, per_arg) for d in _dims_per_leaf(dim, arg, where)]
        sizes, mapped = [], []
        for x, d in zip(leaves, dims):
            if d is None:
                mapped.append(None)
                continue
            if not isinstance(x, Tensor):
                raise ValueError(f"{where}: got in_dim={d} for an input of type "
                                 f"{type(x).__name__}; only Tensors can be mapped over, "
                                 "use None as its in_dim")
            if x.ndim == 0 or not -x.ndim <= d < x.ndim:
                raise ValueError(f"{where}: got in_dim={d} for an input of shape {x.shape}; "
                                 f"in_dim must satisfy {-x.ndim} <= in_dim < {x.ndim}")
            mapped.append(d % x.ndim)
            sizes.append(x.shape[d])
        if not sizes:
            raise ValueError(f"{where}: no input is mapped over (every in_dim is None or "
                             "there are no Tensor inputs); give at least one Tensor an int "
                             "in_dim")
        if len(set(sizes)) != 1:
            raise ValueError(f"vmap: all mapped inputs must have the same size in the mapped "
                             f"dimension, got sizes {sizes}")
        if sizes[0] == 0:
            raise ValueError(f"{where}: the mapped dimension has size 0; there is nothing "
                             "to run f on")
        results = []
        for b in range(sizes[0]):
            example = [x if d is None else x[(slice(None),) * d + (b,)]
                       for x, d in zip(leaves, mapped)]
            results.append(func(*_unflatten(spec, example), **kwargs))
        return _stack_outputs(results, out_dims, name)

    return wrapper


def _stack_outputs(results: list, out_dims: Any, name: str) -> Any:
    """Stack the per-example results along ``out_dims``."""
    first, spec = _flatten(results[0])
    per_example = [_flatten(r)[0] for r in results]
    where = f"vmap({name}, ...)"
    if isinstance(out_dims, tuple):
        if not (isinstance(results[0], tuple) and len(results[0]) == len(out_dims)):
            got = f"{len(results[0])} outputs" if isinstance(results[0], tuple) else \
                f"one {type(results[0]).__name__}"
            raise ValueError(f"{where}: out_dims has {len(out_dims)} entries but f returned "
                             f"{got}; give one out_dim per output (or one int for all)")
        dims = [d for item, dim in zip(results[0], out_dims)
                for d in _dims_per_leaf(dim, item, where, "out_dims")]
    else:
        dims = [out_dims] * len(first)
    stacked = []
    for k, (leaf, d) in enumerate(zip(first, dims)):
        if d is None:
            stacked.append(leaf)
            continue
        if not isinstance(leaf, Tensor):
            raise ValueError(f"vmap({name}, ...): {name} must return only Tensors, got "
                             f"{type(leaf).__name__} for output {k}; use None as its out_dim "
                             "if it is not batched")
        if not -(leaf.ndim + 1) <= d <= leaf.ndim:
            raise IndexError(f"vmap({name}, ...): out_dim={d} is out of range for output {k} "
                             f"of {leaf.ndim} dims per example; it must be in "
                             f"[{-(leaf.ndim + 1)}, {leaf.ndim}]")
        stacked.append(stack([ex[k] for ex in per_example], dim=d))
    return _unflatten(spec, stacked)
