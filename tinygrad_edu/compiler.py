"""``compile(step)``: record a training step once, as a flat NumPy program, and replay it.

An eager step pays a few microseconds of Python per op (checks, a Node, version stamps)
around a NumPy call that may take a fraction of that. A compiled step runs only the NumPy
calls. How:

1. The first call runs eagerly (it creates ``.grad`` and the optimizer's state).
2. The next two calls run eagerly too, while a ``Recorder`` (an observer of the forward
   and reverse passes, see ``engine.Observer``) writes down every op, every rule, every
   gradient delivered to a leaf and every in-place write, as instructions over numbered
   values. Arrays are followed by identity: each array an op reads is the result of an
   earlier instruction, an argument, or a tensor from outside the step (a parameter, its
   ``.grad``, optimizer state, data in a closure).
3. If both recordings agree, the program is simplified (constants folded, identities
   and dead code dropped, results written into preallocated buffers reused by liveness)
   and emitted as Python source (``.source``), which later calls run.

Every call first checks what the recording assumed (the guards: arguments' count, shapes
and dtypes, grad mode, the same outside tensors with the same shapes, the optimizers'
settings and the numbers the step's closure reads); a mismatch records again. A step the
program cannot stand for (it reads a value into Python, makes new tensors from outside
data or random numbers, ...) runs eagerly from then on, after one warning saying why.
"""

from __future__ import annotations

import builtins
import contextlib
import functools
import types
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import hooks, names, ops
from .convert import get_default_dtype
from .engine import FROZEN, Node, Observer, broadcast_axes, observing, rule_inputs, state
from .inplace import _changed
from .optim.optimizer import Optimizer
from .tensor import Accumulate, Tensor

__all__ = ["CompiledStep", "compile"]

# ops whose forward is one NumPy ufunc: the line is ``out = np.<ufunc>(a, b, out=buffer)``
_UFUNC_OPS = {op: op.forward for op in ops.ALL_OPS if isinstance(op.forward, np.ufunc)}
# a.sum(axis) is np.add.reduce(a, axis) (what ndarray.sum calls), without np.sum's wrapper
_REDUCTIONS = {ops.SUM: np.add, ops.MAX: np.maximum, ops.MIN: np.minimum, ops.PROD: np.multiply}
_UFUNC_OF_WRITE = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide,
                   "pow": np.power}
_PASSIVE = (names._OBSERVER,)  # observers that only watch (they may stay during replay)


class NotCompilable(Exception):
    """The step cannot be replayed (the message says why)."""


class _Stop(Exception):
    """Ends one event of the recorder after a failure; never leaves the recorder."""


def _event(method: Callable) -> Callable:
    """An observer event of the Recorder: after a failure it does nothing, and a failure
    inside it stops the recording, never the user's step."""
    @functools.wraps(method)
    def run(self: Recorder, *args: Any) -> Any:
        passed = args[1] if method.__name__ in ("node_gradient", "leaf_gradient") else None
        if self.failure is not None:
            return passed
        try:
            self._flush()
            method(self, *args)
        except _Stop:
            pass
        return passed
    return run


# --- the program: values and instructions ----------------------------------------------


@dataclass(eq=False)
class Value:
    """One array of the program. kind: "arg" (positional argument ``index``), "tensor"
    (``obj.array`` of a tensor from outside the step), "grad" (``obj._grad.array`` as the
    step starts), "const" (``array``, fixed), or "op" (the result of an instruction)."""

    kind: str
    name: str
    obj: Any = None
    index: int = 0
    array: Any = None  # a const's array; for others, the array seen while recording
    storage: Value | None = None  # the value whose memory this one is a view of
    written: bool = False  # an instruction writes this memory in place
    requires: bool = False  # an outside tensor's requires_grad when recorded
    var: str = ""  # the variable name in the source

    def root(self) -> Value:
        v = self
        while v.storage is not None:
            v = v.storage
        return v


@dataclass(eq=False)
class Instr:
    """``out = fn(*args, **kwargs)``: fn names a function of the namespace (``np.add``),
    args are Values or plain Python values; ``effect``: it changes something outside
    (a write, a ``.grad``), so it is never dropped."""

    out: Value | None
    fn: str
    call: Callable
    args: list
    kwargs: dict = field(default_factory=dict)
    origin: str = ""
    effect: bool = False
    out_able: bool = False  # accepts ``out=``: its result can go into a reused buffer
    view: bool = False  # its result may share memory with args[0]
    comment: str = ""
    stmt: str = ""  # a statement instead of a call; {0} is the tensor args[0] stands for


def _accumulate(leaf: Tensor, g: np.ndarray) -> np.ndarray:
    """leaf.grad += g exactly as backward() does it (a copy the first time); returns the
    array of leaf.grad."""
    _SINK.leaf(leaf, g)
    return leaf._grad.array


def _set_grad_none(leaf: Tensor) -> None:
    leaf._grad = None


def _bump(t: Tensor) -> None:
    """t was changed in place: a new version, as eager (so old graphs refuse backward)."""
    vc = t._vc
    if vc.views or t._view is not None or state.observers:
        _changed(t)  # views to renew, or observers to tell: the whole eager path
    else:
        vc.n += 1


def _bump_grad(leaf: Tensor) -> None:
    _bump(leaf._grad)


def _out(array: np.ndarray) -> Tensor:
    """A returned tensor: a copy, as the array lives in a buffer the next call reuses."""
    return Tensor._wrap(np.array(array), None)


_SINK = Accumulate(False)
_HELPERS = {"accumulate": _accumulate, "set_grad_none": _set_grad_none, "bump": _bump,
            "bump_grad": _bump_grad, "tensor_out": _out, "np": np}


def _same(a: Any, b: Any) -> bool:
    """Equal as recorded constants: same type, and for arrays same dtype, shape, values."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.dtype == b.dtype
                and a.shape == b.shape and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return type(a) is type(b) and len(a) == len(b) and all(map(_same, a, b))
    if isinstance(a, Value) or isinstance(b, Value):
        return a is b
    return type(a) is type(b) and (a == b or (a != a and b != b))


def _values_in(items: Any) -> list[Value]:
    """The Values among items, also those inside tuples and lists (an index key)."""
    found = []
    for a in items:
        if isinstance(a, Value):
            found.append(a)
        elif isinstance(a, (tuple, list)):
            found.extend(_values_in(a))
    return found


def _map_values(a: Any, fn: Callable) -> Any:
    """a with each Value v in it (also inside tuples and lists) replaced by fn(v)."""
    if isinstance(a, Value):
        return fn(a)
    if isinstance(a, (tuple, list)):
        return type(a)(_map_values(x, fn) for x in a)
    return a


def _ins_values(ins: Instr) -> list[Value]:
    return _values_in([*ins.args, *ins.kwargs.values()])


# --- recording ---------------------------------------------------------------------------


class Recorder(Observer):
    """Watches one eager call of the step and writes it down as instructions."""

    def __init__(self, args: tuple) -> None:
        self.instrs: list[Instr] = []
        self.values: list[Value] = []
        self.by_array: dict[int, Value] = {}  # id(array) -> the value it holds
        self.keep: list = []  # every array seen, so that no id is reused while recording
        self.tensors: dict[int, Value] = {}  # id(outside tensor) -> its value
        self.leaves: dict[int, Tensor] = {}  # tensors whose .grad the step touches
        self.grad_start: dict[int, tuple | None] = {}  # id(leaf) -> .grad's (shape, dtype)
        self.versions: dict[int, Tensor] = {}  # id(Version) -> the outside tensor it counts
        self.node_values: list[tuple[Node, Value]] = []
        self.node_grads: list[tuple[Node, Value]] = []
        self.pending: list[tuple[Tensor, Value]] = []  # leaves whose new .grad array to learn
        self.pass_grads: dict = {}
        self.numbers: dict[tuple, Value] = {}  # Python numbers as 0-d constants
        self.seeded = False
        self.failure: str | None = None
        # tensors (or leaves' .grad) whose version the program counts with a plain += 1:
        # they had no views, which the guard checks on every call
        self.plain_bumps: list[tuple[Tensor, bool]] = []
        for k, a in enumerate(args):
            if isinstance(a, Tensor):
                v = self._new("arg", a._name or f"x{k}", obj=a, index=k, array=a.array)
                self.by_array[id(a.array)] = v
                self.keep.append(a.array)
                self.tensors[id(a)] = v
                self.versions[id(a._vc)] = a

    # bookkeeping

    def _new(self, kind: str, name: str, **kw: Any) -> Value:
        v = Value(kind, name, **kw)
        self.values.append(v)
        return v

    def fail(self, reason: str) -> None:
        if self.failure is None:
            self.failure = reason
        raise _Stop

    def _learn(self, array: Any, v: Value) -> None:
        self.by_array[id(array)] = v
        self.keep.append(array)

    def _flush(self) -> None:
        """Learn the arrays of the .grad tensors that accumulation made or filled."""
        for leaf, v in self.pending:
            if leaf._grad is not None:
                self._learn(leaf._grad.array, v)
        self.pending.clear()

    def _leaf(self, t: Tensor) -> None:
        if id(t) not in self.leaves:
            self.leaves[id(t)] = t
            self.keep.append(t)
            g = t._grad
            self.grad_start[id(t)] = None if g is None else (g.shape, g.dtype, g.requires_grad)

    def value_of(self, t: Tensor) -> Value:
        """The value a tensor's array holds: known by identity, else from outside."""
        v = self.by_array.get(id(t.array))
        if v is not None:
            return v
        if t._vc is FROZEN:  # a Python number as a read-only constant
            v = self._new("const", "c", array=t.array)
        else:
            owner = next((p for p in self.leaves.values() if p._grad is t), None)
            if owner is not None:  # a .grad as the step found it
                v = self._new("grad", (owner._name or "p") + "_grad", obj=owner,
                              array=t.array)
            else:
                if t.grad_fn is not None:
                    self.fail("it uses a tensor computed before the call (a graph made "
                              "outside the step); compute it inside, or pass it detached")
                v = self._new("tensor", t._name or "t", obj=t, array=t.array,
                              requires=t.requires_grad)
                self.tensors[id(t)] = v
                self.versions[id(t._vc)] = t
                self.keep.append(t)
                if t.requires_grad:
                    self._leaf(t)
        self._learn(t.array, v)
        return v

    def emit(self, instr: Instr) -> Instr:
        self.instrs.append(instr)
        return instr

    def number(self, value: Any, arrays: list) -> Any:
        """A Python number that meets float arrays in a ufunc, as a 0-d array of the
        dtype NumPy would give it there (np.subtract(1, x) then skips converting the
        1 on every call, ~0.4 us); the same result, bit for bit. Else the number."""
        arrays = [x for x in arrays if isinstance(x, np.ndarray)]
        if type(value) not in (int, float) or not arrays:
            return value
        dtype = np.result_type(value, *arrays)
        if dtype.kind != "f" or dtype.type(value) != value:
            return value
        key = (type(value), value, dtype.str)
        v = self.numbers.get(key)
        if v is None:
            v = self.numbers[key] = self._new("const", "c", array=np.array(value, dtype))
        return v

    def bind(self, a: Any) -> Any:
        """An op parameter with each array in it that the program knows (an argument's,
        a parameter's, a result's: an index tensor passed in) replaced by its Value, so
        that the replay reads the array of this call, not the recorded one. Other arrays
        (made in Python, e.g. np.arange(n)) stay constants, compared by value between
        the two recordings."""
        if isinstance(a, np.ndarray):
            return self.by_array.get(id(a), a)
        if isinstance(a, (tuple, list)):
            return type(a)(self.bind(x) for x in a)
        return a

    def _result(self, array: Any, name: str) -> Value:
        v = self._new("op", name, array=array)
        self._learn(array, v)
        return v

    # forward

    @_event
    def forward(self, op: ops.Op, inputs: Any, out: np.ndarray, node: Node | None,
                params: dict) -> None:
        if op not in _KNOWN_OPS:
            self.fail(f"it uses the custom op {op.name!r} (an autograd.Function), whose "
                      "forward may do anything in Python")
        if state.in_backward:
            self.fail("ops run inside the backward pass (create_graph=True, or a custom "
                      "autograd.Function's backward)")
        args = [self.value_of(t) for t in inputs]
        fwd = dict(params)
        for k in op.rule_params:
            fwd.pop(k, None)
        fn, call, out_able = _forward_call(op, fwd, [t.array for t in inputs])
        if op is ops.RELU:
            args.append(self.number(0, [inputs[0].array]))
        v = self._result(out, "t")
        if op.view and np.may_share_memory(out, inputs[0].array):
            v.storage = args[0]
        kwargs = {} if out_able and (op in _UFUNC_OPS or op is ops.MATMUL) else \
            {k: self.bind(a) for k, a in fwd.items()}
        if op in _REDUCTIONS:
            kwargs = {"axis": fwd["axis"], "keepdims": fwd["keepdims"]}
        self.emit(Instr(v, fn, call, args, kwargs, f"{op.name} (forward)",
                        out_able=out_able, view=op.view))
        if node is not None:
            self.node_values.append((node, v))

    # in-place writes and .grad assignments

    @_event
    def written(self, t: Tensor, how: str | None, source: Any) -> None:
        if how == "grad":
            self._leaf(t)
            if source is not None:
                self.fail("it assigns a tensor to .grad; only .grad = None is replayed")
            self.emit(Instr(None, "set_grad_none", _set_grad_none, [self._ref(t)],
                            origin=".grad = None (zero_grad)", effect=True))
            return
        if how == "recorded":
            self.fail("it changes a tensor that is part of the graph in place while "
                      "recording (e.g. h += 1 on an intermediate that requires grad)")
        if how is None:
            self.fail("it writes into a tensor in place in a way that is not replayed "
                      "(masked_fill_, clamp_, normal_, item assignment ...)")
        if t._view is not None:
            self.fail("it writes in place into a view of another tensor")
        target = self.value_of(t)
        target.root().written = True
        if how in _UFUNC_OF_WRITE:
            ufunc = _UFUNC_OF_WRITE[how]
            src = self.value_of(source)
            self.emit(Instr(None, f"np.{ufunc.__name__}", ufunc, [target, src],
                            {"out": target}, f"in place: {how}_ (as x {_SYMBOL[how]}= ...)",
                            effect=True))
        elif how == "fill" and type(source) in (int, float, bool):  # zero_(), fill_(0.5)
            self.emit(Instr(None, "", None, [target, source], origin=f"in place: {how}_",
                            effect=True, stmt="{v}.fill({a1})"))
        else:  # fill or copy: np.copyto(target, source)
            src = self.value_of(source) if isinstance(source, Tensor) else source
            self.emit(Instr(None, "np.copyto", np.copyto, [target, src],
                            {"casting": "unsafe"}, f"in place: {how}_", effect=True))
        self._bump(t)

    def _ref(self, t: Tensor) -> Value:
        """The value standing for the tensor *object* t (for helpers that need it)."""
        v = self.tensors.get(id(t))
        if v is None:
            v = self.value_of(t)
            if v.obj is not t:
                self.fail("it uses a tensor made inside the step as a parameter")
        return v

    def _bump(self, t: Tensor) -> None:
        """Count the write on the version counter of the tensor that owns it, as eager."""
        owner = self.versions.get(id(t._vc))
        if owner is not None and owner._vc.views is None and owner._view is None:
            self.plain_bumps.append((owner, False))  # the guard checks that it stays so
            self.emit(Instr(None, "", None, [self._ref(owner)], effect=True,
                            origin="version counter + 1 (as eager)", stmt="{t}._vc.n += 1"))
            return
        if owner is not None:
            self.emit(Instr(None, "bump", _bump, [self._ref(owner)],
                            origin="version counter + 1 (as eager)", effect=True))
            return
        leaf = next((p for p in self.leaves.values()
                     if p._grad is not None and p._grad._vc is t._vc), None)
        if leaf is not None and leaf._grad._vc.views is None and leaf._grad._view is None:
            self.plain_bumps.append((leaf, True))
            self.emit(Instr(None, "", None, [self._ref(leaf)], effect=True,
                            origin="version counter of .grad + 1 (as eager)",
                            stmt="{t}._grad._vc.n += 1"))
        elif leaf is not None:
            self.emit(Instr(None, "bump_grad", _bump_grad, [self._ref(leaf)],
                            origin="version counter of .grad + 1 (as eager)", effect=True))
        # otherwise the tensor was made in this step: its counter is never seen again

    @_event
    def read(self, t: Tensor) -> None:
        self.fail(f"it reads a tensor's value into Python (item(), bool(), float(), "
                      f"numpy(), print ...; a tensor of shape {t.shape}), so what it does "
                      "next may depend on the numbers")

    # backward

    @_event
    def reverse_pass(self, sink: Any, wrap: Any) -> None:
        if wrap is not None:
            self.fail("it calls backward(create_graph=True)")
        if type(sink) is not Accumulate:
            self.fail("it calls autograd.grad (only backward() is replayed)")
        self.pass_grads = {}
        self.seeded = False

    def _grad_value(self, edge: Any, g: Any) -> Value:
        """The value of the summed gradient the engine hands over for edge."""
        v = self.pass_grads.pop(edge, None)
        if v is None:
            v = self.by_array.get(id(g))
        if v is None:
            if self.seeded:
                self.fail("a gradient came from outside the recorded program")
            # the seed dL/dL = 1 (ones of the output's shape), or a gradient= passed
            v = self._new("const", "seed", array=np.array(g))
        self.seeded = True
        self._learn(g, v)
        return v

    @_event
    def node_gradient(self, node: Node, g: Any) -> Any:
        v = self._grad_value(node, g)
        if v.kind == "op" and v.name == "g":
            v.name = "g_" + node.op.name
        self.node_grads.append((node, v))

    @_event
    def contribution(self, node: Node, i: int, rule: ops.Rule, g: Any, raw: Any,
                     gi: Any) -> None:
        if node.op not in _KNOWN_OPS:
            self.fail(f"it uses the custom op {node.op.name!r} (an autograd.Function), "
                      "whose backward may do anything in Python")
        gv = self.by_array[id(g)]
        if raw is g:
            rv = gv
        else:
            inputs = []
            read = rule_inputs(node, rule, i, None)
            for name, x in zip(rule.reads, read):
                if name in ("a", "b", "out"):
                    xv = self.by_array.get(id(x))
                    if xv is None:
                        self.fail(f"{node.name()}'s rule reads a value the program does "
                                  "not know (a private copy made by an in-place op)")
                    inputs.append(xv)
                else:
                    inputs.append(self.bind(x))
            rv = self._inline_rule(node, i, rule, (gv, g), list(zip(inputs, read)), raw)
            if rv is None:  # no plain NumPy spelling of this rule here: call it
                rv = self._result(raw, "g")
                shared = [v for v, (_, x) in zip([gv, *inputs], [(gv, g), *zip(inputs, read)])
                          if isinstance(v, Value) and isinstance(x, np.ndarray) and
                          isinstance(raw, np.ndarray) and np.may_share_memory(raw, x)]
                if len({id(v.root()) for v in shared}) > 1:
                    self.fail(f"{node.name()}'s rule returns a view of several values")
                if shared:  # a view (a permute or expand of g): it lives in g's memory
                    rv.storage = shared[0]
                self.emit(Instr(rv, f"rule_{node.op.name}_{i}", rule.fn, [gv, *inputs],
                                origin=f"{node.name()}: {rule.text}", comment=rule.text))
        cur = rv
        shape = node.shapes[i]
        if raw.shape != shape:
            axes = broadcast_axes(raw.shape, shape)
            summed = raw.sum(axis=axes, keepdims=True) if axes else raw
            if axes:
                sv = self._new("op", "g", array=summed)
                self.emit(Instr(sv, "np.add.reduce", np.add.reduce, [cur],
                                {"axis": axes, "keepdims": True},
                                "undo broadcasting (sum_to)", out_able=True))
                cur = sv
            if summed.shape != shape:
                nv = self._new("op", "g", storage=cur, array=None)
                self.emit(Instr(nv, "np.reshape", np.reshape, [cur, shape], {},
                                "undo broadcasting (sum_to)", view=True))
                cur = nv
        if gi.dtype != raw.dtype:
            cv = self._new("op", "g", array=gi)
            self.emit(Instr(cv, "np.ndarray.astype", np.ndarray.astype, [cur, gi.dtype], {},
                            "cast back to the input's dtype"))
            cur = cv
        if gi is not raw:
            self._learn(gi, cur)
        parent = node.parents[i]
        before = self.pass_grads.get(parent)
        if before is not None:
            # (a stand-in array: its shape and dtype let the sum go into a reused buffer)
            total = self._new("op", "g", array=np.broadcast_to(np.zeros((), gi.dtype), gi.shape))
            self.emit(Instr(total, "np.add", np.add, [before, cur], {},
                            "gradients that meet are summed", out_able=True))
            cur = total
        self.pass_grads[parent] = cur

    def _inline_rule(self, node: Node, i: int, rule: ops.Rule, g: tuple, inputs: list,
                     raw: Any) -> Value | None:
        """The rule written out as NumPy calls, one per line (see ``_RULE_LINES``), if it
        has such a spelling for these values. The lines are run now on the recorded
        arrays, and used only if they give the rule's own result bit for bit."""
        lines = _rule_lines(node.op, i, {k: v for k, (v, _) in zip(rule.reads, inputs)})
        if lines is None:
            return None
        env = {"g": g, **dict(zip(rule.reads, inputs))}  # name -> (value, array now)
        if any(isinstance(a, str) and a not in env for line in lines for a in line[2]):
            return None
        arrays: list = []
        instrs: list[Instr] = []
        for k, (fn, call, args, view) in enumerate(lines):
            vals, now = [], []
            for a in args:
                if isinstance(a, str):
                    v, x = env[a]
                elif isinstance(a, int):
                    v, x = instrs[a].out, arrays[a]
                else:
                    v = x = a.value
                vals.append(v)
                now.append(x)
            for j, a in enumerate(args):
                if isinstance(a, _Lit) and isinstance(call, np.ufunc):
                    vals[j] = self.number(a.value, now)
                    if isinstance(vals[j], Value):
                        now[j] = vals[j].array
            try:
                with np.errstate(all="ignore"):
                    array = call(*now)
            except Exception:  # noqa: BLE001 - then the rule function is called instead
                return None
            arrays.append(array)
            last = k == len(lines) - 1
            v = self._new("op", "g", array=array)
            if view:
                v.storage = vals[0]
            instrs.append(Instr(v, fn, call, vals, {}, f"{node.name()}: {rule.text}",
                                out_able=not view and isinstance(call, np.ufunc),
                                view=view, comment=rule.text if last else ""))
        result = arrays[-1]
        if not (isinstance(result, np.ndarray) and isinstance(raw, np.ndarray)) or \
                result.dtype != raw.dtype or result.shape != raw.shape or \
                not np.array_equal(result, raw, equal_nan=raw.dtype.kind in "fc"):
            return None
        for ins in instrs:
            self.emit(ins)
        out = instrs[-1].out
        self._learn(raw, out)
        return out

    @_event
    def leaf_gradient(self, leaf: Any, g: Any) -> Any:
        gv = self._grad_value(leaf, g)
        self._leaf(leaf)
        ref = self._ref(leaf)
        grad = leaf._grad
        if grad is not None and not grad.requires_grad and grad._view is None:
            # .grad exists: backward adds into it in place and counts a new version
            target = self.value_of(grad)
            target.root().written = True
            name = leaf._name or "leaf"
            self.emit(Instr(None, "np.add", np.add, [target, gv], {"out": target},
                            f"{name}.grad += gradient (AccumulateGrad)", effect=True))
            self.emit(Instr(None, "", None, [ref], origin="version counter of .grad + 1 "
                            "(as eager)", effect=True, stmt="{t}._grad._vc.n += 1"))
            return
        v = self._new("op", (leaf._name or "p") + "_grad", array=None)
        v.written = True  # .grad's memory: filled in place, read by the user later
        self.emit(Instr(v, "accumulate", _accumulate, [ref, gv],
                        origin=f"{leaf._name or 'leaf'}.grad += gradient (AccumulateGrad)",
                        effect=True))
        self.pending.append((leaf, v))


@dataclass(frozen=True)
class _Lit:
    """A number written into a rule's lines."""

    value: Any


def _rule_lines(op: ops.Op, i: int, reads: dict) -> list | None:
    """The lines of NumPy calls that compute the rule of op's input i, as the rule in
    ops.py does (the same operations in the same order): (name, function, arguments,
    is a view). An argument is "g" or a name the rule reads, the index of an earlier
    line, or a _Lit number. None: no such spelling (the rule function is called)."""
    mul, sub, div, neg = np.multiply, np.subtract, np.divide, np.negative
    key = (op.name, i)
    T = ("np.swapaxes", np.swapaxes)
    if key == ("mul", 0):
        return [("np.multiply", mul, ["g", "b"], False)]
    if key == ("mul", 1):
        return [("np.multiply", mul, ["g", "a"], False)]
    if key == ("sub", 1) or key == ("neg", 0):
        return [("np.negative", neg, ["g"], False)]
    if key == ("div", 0):
        return [("np.divide", div, ["g", "b"], False)]
    if key == ("div", 1):  # g * (-(a / b) / b)
        return [("np.divide", div, ["a", "b"], False), ("np.negative", neg, [0], False),
                ("np.divide", div, [1, "b"], False), ("np.multiply", mul, ["g", 2], False)]
    if key in (("exp", 0),):
        return [("np.multiply", mul, ["g", "out"], False)]
    if key == ("log", 0):
        return [("np.divide", div, ["g", "a"], False)]
    if key == ("tanh", 0):  # g * (1 - out * out)
        return [("np.multiply", mul, ["out", "out"], False),
                ("np.subtract", sub, [_Lit(1), 0], False), ("np.multiply", mul, ["g", 1], False)]
    if key == ("sqrt", 0):  # g * 0.5 / out
        return [("np.multiply", mul, ["g", _Lit(0.5)], False),
                ("np.divide", div, [0, "out"], False)]
    if key == ("square", 0):  # g * (2 * a)
        return [("np.multiply", mul, [_Lit(2), "a"], False), ("np.multiply", mul, ["g", 0], False)]
    if key == ("pow", 0):  # g * (b * a ** (b - 1)) where no b is 0
        b = reads.get("b")
        if not isinstance(b, Value) or b.kind != "const" or (np.asarray(b.array) == 0).any():
            return None
        bm1 = _Lit(b.array - 1)
        return [("np.power", np.power, ["a", bm1], False), ("np.multiply", mul, ["b", 0], False),
                ("np.multiply", mul, ["g", 1], False)]
    if key == ("relu", 0):  # where(out <= 0, 0.0, g)
        return [("np.less_equal", np.less_equal, ["out", _Lit(0)], False),
                ("np.where", np.where, [0, _Lit(0.0), "g"], False)]
    if key == ("matmul", 0) and _ndim(reads.get("b")) >= 2:  # g @ b^T
        return [(*T, ["b", _Lit(-1), _Lit(-2)], True), ("np.matmul", np.matmul, ["g", 0], False)]
    if key == ("matmul", 1) and _ndim(reads.get("a")) >= 2:
        if reads.get("b_column_major"):  # (g^T @ a)^T
            return [(*T, ["g", _Lit(-1), _Lit(-2)], True),
                    ("np.matmul", np.matmul, [0, "a"], False),
                    (*T, [1, _Lit(-1), _Lit(-2)], True)]
        return [(*T, ["a", _Lit(-1), _Lit(-2)], True), ("np.matmul", np.matmul, [0, "g"], False)]
    return None


def _ndim(v: Any) -> int:
    return np.ndim(v.array) if isinstance(v, Value) and v.array is not None else 0


_SYMBOL = {"add": "+", "sub": "-", "mul": "*", "div": "/", "pow": "**"}
_KNOWN_OPS = frozenset(ops.ALL_OPS)


def _forward_call(op: ops.Op, params: dict, arrays: list) -> tuple[str, Callable, bool]:
    """(name in the source, function, accepts out=) for op's forward."""
    if op in _UFUNC_OPS:
        return f"np.{op.forward.__name__}", op.forward, True
    if op is ops.RELU:
        return "np.maximum", np.maximum, True
    if op in _REDUCTIONS:
        ufunc = _REDUCTIONS[op]
        return f"np.{ufunc.__name__}.reduce", ufunc.reduce, True
    if op is ops.MATMUL and all(np.ndim(a) >= 2 for a in arrays):
        # what the forward does for these shapes (the guard keeps them): an inner
        # dimension of 1 is a broadcast multiply, else np.matmul
        if arrays[0].shape[-1] == 1:
            return "np.multiply", np.multiply, True
        return "np.matmul", np.matmul, True
    return f"{op.name}_forward", op.forward, False


# --- from a recording to a program --------------------------------------------------------


@dataclass
class Recording:
    """What one recorded call did, and what it assumed."""

    recorder: Recorder
    signature: tuple
    python: tuple  # the guarded Python values (closure numbers, optimizer settings)
    seen: Seen  # the same, by identity, for the guard
    outputs: Any  # None, a Value, or a tuple/list of Values
    out_kind: type | None


def _signature(args: tuple, kwargs: dict) -> tuple:
    """What the arguments are, as the guard compares them."""
    sig = []
    for a in args:
        if isinstance(a, Tensor):
            sig.append(("tensor", a.array.shape, a.array.dtype, a.requires_grad))
        else:
            sig.append(("value", type(a), a))
    for k in sorted(kwargs):
        if isinstance(kwargs[k], Tensor):
            raise NotCompilable("it takes a tensor as a keyword argument; pass tensors by "
                                "position")
        sig.append(("kw", k, type(kwargs[k]), kwargs[k]))
    return (tuple(sig), state.enabled, get_default_dtype())


def _python_state(fn: Callable) -> tuple:
    """The numbers and optimizer settings the step's own code can see (its closure, the
    globals it names, a bound method's object's attributes): a change means the recorded
    constants are stale."""
    seen = []
    code = getattr(fn, "__code__", None)
    objects = []
    if isinstance(fn, types.MethodType):
        objects.append(fn.__self__)
        fn = fn.__func__
        code = fn.__code__
    if code is not None:
        for cell in fn.__closure__ or ():
            with contextlib.suppress(ValueError):  # an empty cell
                objects.append(cell.cell_contents)
        g = fn.__globals__
        objects.extend(g[n] for n in code.co_names if n in g)
    for obj in objects:
        for item in _python_values(obj):
            seen.append(item)
        if hasattr(obj, "__dict__") and not isinstance(obj, (types.ModuleType, type)) and \
                not callable(obj):
            for attr in vars(obj).values():
                seen.extend(_python_values(attr))
    return tuple(seen)


_EMPTY = object()  # an empty closure cell / a name not in the globals


@dataclass
class Seen:
    """The objects a step's code could see when it was recorded, by identity (its
    closure cells, the globals it names, a bound method's object), and the values of
    those that can change without being replaced (an optimizer's settings, an object's
    attributes): what the guard compares on every call, as ``_python_state`` would."""

    cells: list  # (cell, object or _EMPTY)
    globals: dict | None
    present: list  # (name, object) of the names found in the globals
    absent: tuple  # the names that were not there (builtins, attributes)
    self_obj: Any
    mutable: list  # objects whose values are compared
    values: tuple
    nglobals: int = 0  # how many globals there were when absent was last checked

    def check_absent(self) -> bool:
        """None of the absent names has appeared in the globals (checked again only
        when their number changes)."""
        if any(n in self.globals for n in self.absent):
            return False
        self.nglobals = len(self.globals)
        return True


def _seen(fn: Callable) -> Seen:
    cells, present, absent, g, self_obj = [], [], [], None, _EMPTY
    if isinstance(fn, types.MethodType):
        self_obj = fn.__self__
        fn = fn.__func__
    code = getattr(fn, "__code__", None)
    objects = [] if self_obj is _EMPTY else [self_obj]
    if code is not None:
        for cell in fn.__closure__ or ():
            try:
                cells.append((cell, cell.cell_contents))
                objects.append(cell.cell_contents)
            except ValueError:  # an empty cell
                cells.append((cell, _EMPTY))
        g = fn.__globals__
        for n in dict.fromkeys(code.co_names):
            if n in g:
                present.append((n, g[n]))
                objects.append(g[n])
            else:
                absent.append(n)
    mutable = [o for o in objects if isinstance(o, Optimizer) or _has_attrs(o)]
    return Seen(cells, g, present, tuple(absent), self_obj, mutable, _values_of(mutable),
                0 if g is None else len(g))


def _has_attrs(obj: Any) -> bool:
    return hasattr(obj, "__dict__") and not isinstance(obj, (types.ModuleType, type)) and \
        not callable(obj)


def _values_of(objects: list) -> tuple:
    """The Python values of these objects that ``_python_state`` reads."""
    seen = []
    for obj in objects:
        seen.extend(_python_values(obj))
        if _has_attrs(obj):
            for attr in vars(obj).values():
                seen.extend(_python_values(attr))
    return tuple(seen)


def _cell_empty(cell: Any) -> bool:
    try:
        cell.cell_contents  # noqa: B018 - reading it is the test
    except ValueError:
        return True
    return False


def _python_values(obj: Any) -> list:
    if isinstance(obj, (bool, int, float, complex, str)) or obj is None:
        return [obj]
    if isinstance(obj, Optimizer):
        return [tuple((k, repr(v)) for k, v in group.items()
                      if k not in ("params", "param_names")) for group in obj.param_groups]
    return []


def _same_recording(a: Recording, b: Recording) -> str | None:
    """None if the two recordings did the same, else why they differ."""
    ra, rb = a.recorder, b.recorder
    outside_a = [v.obj for v in ra.values if v.kind == "tensor"]
    outside_b = [v.obj for v in rb.values if v.kind == "tensor"]
    if len(outside_a) == len(outside_b) and any(x is not y for x, y in zip(outside_a, outside_b)):
        return ("it makes new tensors from outside data or random numbers on every call "
                "(tensor(...), randn, a comparison or argmax computed in NumPy ...); pass "
                "such data to the step as an argument")
    if len(ra.instrs) != len(rb.instrs) or len(ra.values) != len(rb.values) or \
            a.signature != b.signature or a.out_kind is not b.out_kind:
        return "its two recordings disagree (the step did different things on two calls)"
    index_a = {id(v): k for k, v in enumerate(ra.values)}
    index_b = {id(v): k for k, v in enumerate(rb.values)}

    def norm(x: Any, index: dict) -> Any:
        if isinstance(x, Value):
            return ("value", index[id(x)])
        if isinstance(x, (list, tuple)):
            return type(x)(norm(y, index) for y in x)
        return x

    for ia, ib in zip(ra.instrs, rb.instrs):
        if ia.fn != ib.fn or ia.stmt != ib.stmt or \
                not _same(norm(ia.args, index_a), norm(ib.args, index_b)) or \
                ia.kwargs.keys() != ib.kwargs.keys() or \
                not all(_same(norm(ia.kwargs[k], index_a), norm(ib.kwargs[k], index_b))
                        for k in ia.kwargs):
            return "its two recordings disagree (the step did different things on two calls)"
    for va, vb in zip(ra.values, rb.values):
        if va.kind != vb.kind or (va.kind == "const" and not _same(va.array, vb.array)):
            return ("its two recordings disagree: a number or constant changed between "
                    "calls (pass it to the step as a tensor argument)")
    return None


class Program:
    """A recording, simplified and emitted as Python source."""

    def __init__(self, rec: Recording, name: str, optimize: bool = True) -> None:
        self.name = name
        r = rec.recorder
        self.signature = rec.signature
        self.python = rec.python
        self.out_kind = rec.out_kind
        self.folded: list[str] = []
        self.dropped: list[str] = []
        instrs = list(r.instrs)
        outputs = rec.outputs if isinstance(rec.outputs, (list, tuple)) else \
            ([] if rec.outputs is None else [rec.outputs])
        self.outside = [v for v in r.values if v.kind == "tensor"]
        self.leaves = list(r.leaves.values())
        self.grad_start = [r.grad_start[id(p)] for p in self.leaves]
        foldable = {id(v) for v in self.outside if not v.obj.requires_grad and not v.written}
        self.frozen = [v for v in self.outside if id(v) in foldable]
        self.frozen_state = [(v.obj.array, v.obj._vc.n) for v in self.frozen]
        if optimize:
            instrs = self._fold(instrs, foldable)
            instrs = self._identities(instrs, outputs)
            instrs = self._dead(instrs, outputs)
        self.instrs = instrs
        self.outputs = outputs
        self.namespace: dict[str, Any] = dict(_HELPERS)
        self.namespace["np"] = np
        self.source = self._emit(r, optimize)
        exec(builtins.compile(self.source, f"<compiled {name}>", "exec"), self.namespace)
        self.run_fn = self.namespace["step"]
        self.guard_source, space = _guard_source(self, rec)
        exec(builtins.compile(self.guard_source, f"<guard of {name}>", "exec"), space)
        self.check = space["guard"]

    # the optimisations

    def _fold(self, instrs: list[Instr], foldable: set) -> list[Instr]:
        """Constant folding: an op whose inputs are all constants (numbers, and tensors
        from outside that need no gradient and that the step never writes) is computed
        once, now."""
        constant = set(foldable)
        kept = []
        for ins in instrs:
            vals = _ins_values(ins)
            pure = not ins.effect and ins.out is not None and not ins.out.root().written
            if pure and all(v.kind == "const" or id(v) in constant for v in vals):
                args = [_now(a) for a in ins.args]
                kwargs = {k: _now(a) for k, a in ins.kwargs.items()}
                array = np.asarray(ins.call(*args, **kwargs))
                ins.out.kind, ins.out.array, ins.out.storage = "const", array, None
                self.folded.append(ins.origin)
                continue
            kept.append(ins)
        return kept

    def _identities(self, instrs: list[Instr], outputs: list) -> list[Instr]:
        """x*1, x+0, x-0, x/1, a reshape to the same shape, a cast to the same dtype:
        the result is x itself (when neither is written in place)."""
        alias: dict[int, Value] = {}
        kept = []
        for ins in instrs:
            def swap(v: Value) -> Value:
                return alias.get(id(v), v)
            ins.args = [_map_values(a, swap) for a in ins.args]
            ins.kwargs = {k: _map_values(a, swap) for k, a in ins.kwargs.items()}
            same = _identity_of(ins)
            if same is not None and not same.root().written and not ins.out.written:
                alias[id(ins.out)] = same
                self.dropped.append(ins.origin)
                continue
            kept.append(ins)
        outputs[:] = [alias.get(id(v), v) for v in outputs]
        return kept

    def _dead(self, instrs: list[Instr], outputs: list) -> list[Instr]:
        """Dead code: a result nobody reads, from an instruction with no effect."""
        used = {id(v) for v in outputs}
        kept = []
        for ins in reversed(instrs):
            if not ins.effect and ins.out is not None and id(ins.out) not in used and \
                    not any(ins.out.root() is v for v in (ins.out,) if v.written):
                self.dropped.append(ins.origin + " (unused)")
                continue
            kept.append(ins)
            for a in _ins_values(ins):
                used.add(id(a))
                root = a
                while root.storage is not None:  # a view keeps its base alive
                    root = root.storage
                    used.add(id(root))
        kept.reverse()
        return kept

    # the source

    def _emit(self, r: Recorder, optimize: bool) -> str:
        taken: dict[str, int] = {}

        def var(v: Value) -> str:
            if not v.var:
                base = _identifier(v.name)
                n = taken.get(base, 0)
                taken[base] = n + 1
                v.var = base if n == 0 and base not in ("t", "g", "c") else f"{base}{n}"
            return v.var

        for node, v in r.node_values:  # names the user gave the tensors
            label = names.of(node)
            if label and v.kind == "op":
                v.name = label
        for node, g in r.node_grads:
            label = names.of(node)
            if label and g.kind == "op" and g.name.startswith("g"):
                g.name = label + "_grad"
        lines, head, consts = [], [], []
        params = [f"{_identifier(v.name)}_in" for v in sorted(
            (v for v in r.values if v.kind == "arg"), key=lambda v: v.index)]
        argnames = {v.index: p for v, p in zip(sorted((v for v in r.values if v.kind == "arg"),
                                                      key=lambda v: v.index), params)}
        nargs = len(self.signature[0]) - sum(1 for s in self.signature[0] if s[0] == "kw")
        arglist = [argnames.get(k, f"_unused{k}") for k in range(nargs)]
        objects: dict[int, str] = {}

        def obj(v: Value) -> str:
            if v.kind == "arg":
                return argnames[v.index]
            key = id(v.obj)
            if key not in objects:
                objects[key] = f"{_identifier(v.obj._name or v.name)}_t{len(objects)}"
                self.namespace[objects[key]] = v.obj
            return objects[key]

        used = set()
        for ins in self.instrs:
            for a in [*_ins_values(ins), ins.out]:
                if isinstance(a, Value):
                    used.add(id(a))
        for v in r.values:
            if id(v) not in used:
                continue
            if v.kind == "arg":
                head.append(f"    {var(v)} = {argnames[v.index]}.array")
            elif v.kind == "tensor":
                head.append(f"    {var(v)} = {obj(v)}.array")
            elif v.kind == "grad":
                head.append(f"    {var(v)} = {obj(v)}._grad.array")
            elif v.kind == "const":
                name = var(v)
                self.namespace[name] = v.array
                consts.append(f"#   {name} = {_show(v.array)}")
        pool, index = _buffers(self.instrs, self.outputs) if optimize else ({}, {})
        for k, array in pool.items():
            self.namespace[f"buf{k}"] = array
        for ins in self.instrs:
            if ins.fn:
                self.namespace[ins.fn.split(".")[0]] = _HELPERS.get(ins.fn, ins.call) \
                    if "." not in ins.fn else np
            args = [_code(a, var, self.namespace) for a in ins.args]
            kwargs = dict(ins.kwargs)
            if ins.fn in ("accumulate", "set_grad_none", "bump", "bump_grad"):
                args = [obj(ins.args[0]), *args[1:]]
            if ins.stmt:
                first = ins.args[0]
                text = ins.stmt.format(
                    t=obj(first) if first.kind in ("arg", "tensor") else "",
                    v=var(first), a1=_code(ins.args[1], var, self.namespace)
                    if len(ins.args) > 1 else "") + f"  # {ins.origin}"
                lines.append("    " + text)
                ins.text = text
                continue
            parts = args + [f"{k}={_code(a, var, self.namespace)}" for k, a in kwargs.items()]
            if id(ins) in index:  # a ufunc's out as its last positional argument: the
                # same call, without parsing a keyword (~40 ns on every line)
                plain = isinstance(ins.call, np.ufunc) and not kwargs and \
                    ins.call not in (np.maximum, np.minimum) and \
                    len(args) == ins.call.nin
                parts.append(f"{'' if plain else 'out='}buf{index[id(ins)]}")
            call = f"{ins.fn}({', '.join(parts)})"
            text = f"{var(ins.out)} = {call}" if ins.out is not None else call
            if ins.comment:
                text += f"  # {ins.comment}"
            lines.append("    " + text)
            ins.text = text
        rets = []
        for v in self.outputs:
            if v.kind == "tensor":
                rets.append(obj(v))
            else:
                rets.append(f"tensor_out({var(v)})")
        self.head = head
        body = head + lines
        if self.out_kind is None:
            ret = "    return None"
        elif self.out_kind is Tensor:
            ret = f"    return {rets[0]}"
        else:
            ret = f"    return {', '.join(rets)}{',' if len(rets) == 1 else ''}"
        doc = [f"# {self.name}, compiled: one NumPy call per line"]
        if consts:
            doc.append("# constants:")
            doc.extend(consts)
        return "\n".join(doc + [f"def step({', '.join(arglist)}):"] + body + [ret]) + "\n"

    # running

    def guard(self, args: tuple, kwargs: dict, fn: Callable) -> bool:
        """True if what the recording assumed still holds (the generated ``check`` is
        the same test, written out for this program)."""
        return self.check(args, kwargs)

    def guard_slow(self, args: tuple, kwargs: dict, fn: Callable) -> bool:
        """The guard as a loop over what the recording assumed (``check``'s meaning)."""
        try:
            if _signature(args, kwargs) != self.signature:
                return False
        except NotCompilable:
            return False
        for v in self.outside:
            t = v.obj
            if t.array.shape != v.array.shape or t.array.dtype != v.array.dtype or \
                    t.requires_grad != v.requires:
                return False
        for v, (array, n) in zip(self.frozen, self.frozen_state):
            if v.obj.array is not array or v.obj._vc.n != n:
                return False
        for p, start in zip(self.leaves, self.grad_start):
            g = p._grad
            if (g is None) != (start is None) or not p.requires_grad:
                return False
            if g is not None and (g.shape, g.dtype, g.requires_grad) != start:
                return False
        return _python_state(fn) == self.python

    def run(self, args: tuple) -> Any:
        return self.run_fn(*args)


def _guard_source(program: Program, rec: Recording) -> tuple[str, dict]:
    """The guard written out as one test per line: what the recording assumed (see
    ``Program.guard_slow``; the closure's and globals' objects by identity)."""
    space: dict[str, Any] = {"Tensor": Tensor, "state": state, "_signature": _signature,
                             "get_default_dtype": get_default_dtype, "_EMPTY": _EMPTY,
                             "NotCompilable": NotCompilable, "_values_of": _values_of,
                             "_cell_empty": _cell_empty}
    lines = ["def guard(args, kwargs):"]

    def const(value: Any) -> str:
        name = f"k{len(space)}"
        space[name] = value
        return name

    def fail_if(test: str) -> None:
        lines.append(f"    if {test}:\n        return False")

    sig, enabled, dtype = program.signature
    positional = [s for s in sig if s[0] != "kw"]
    fail_if(f"len(args) != {len(positional)}")
    if len(positional) == len(sig):
        fail_if("kwargs")
    else:  # keyword arguments: compared as the recording saw them
        lines.append("    try:")
        lines.append(f"        if _signature(args, kwargs) != {const(program.signature)}:")
        lines.append("            return False")
        lines.append("    except NotCompilable:")
        lines.append("        return False")
    fail_if(f"state.enabled is not {enabled!r} or get_default_dtype() != {const(dtype)}")
    for k, entry in enumerate(positional):
        a = f"args[{k}]"
        if entry[0] == "tensor":
            _, shape, dt, req = entry
            fail_if(f"not isinstance({a}, Tensor) or {a}.array.shape != {shape!r} or "
                    f"{a}.array.dtype != {const(dt)} or {a}.requires_grad is not {req!r}")
        else:
            fail_if(f"isinstance({a}, Tensor) or ('value', type({a}), {a}) != "
                    f"{const(entry)}")
    for v in program.outside:
        t = const(v.obj)
        fail_if(f"{t}.array.shape != {v.array.shape!r} or {t}.array.dtype != "
                f"{const(v.array.dtype)} or {t}.requires_grad is not {v.requires!r}")
    for v, (array, n) in zip(program.frozen, program.frozen_state):
        t = const(v.obj)
        fail_if(f"{t}.array is not {const(array)} or {t}._vc.n != {n}")
    for p, start in zip(program.leaves, program.grad_start):
        t = const(p)
        fail_if(f"not {t}.requires_grad")
        if start is None:
            fail_if(f"{t}._grad is not None")
        else:
            fail_if(f"{t}._grad is None or ({t}._grad.shape, {t}._grad.dtype, "
                    f"{t}._grad.requires_grad) != {const(start)}")
    seen = rec.seen
    for cell, obj in seen.cells:
        if obj is _EMPTY:
            fail_if(f"not _cell_empty({const(cell)})")
        else:
            fail_if(f"{const(cell)}.cell_contents is not {const(obj)}")
    if seen.globals is not None:
        g = const(seen.globals)
        for n, obj in seen.present:
            fail_if(f"{g}.get({n!r}, _EMPTY) is not {const(obj)}")
        if seen.absent:  # a name found nowhere then must still be missing
            s = const(seen)
            fail_if(f"len({g}) != {s}.nglobals and not {s}.check_absent()")
    for t, grad in rec.recorder.plain_bumps:  # still no views: += 1 is all eager does
        x = f"{const(t)}._grad" if grad else const(t)
        fail_if(f"{x}._vc.views is not None or {x}._view is not None")
    if seen.mutable:
        fail_if(f"_values_of({const(seen.mutable)}) != {const(seen.values)}")
    lines.append("    return True")
    return "\n".join(lines) + "\n", space


def _now(a: Any) -> Any:
    return _map_values(a, lambda v: v.array if v.kind == "const" else v.obj.array)


def _identity_of(ins: Instr) -> Value | None:
    """The input an instruction returns unchanged, if it is an identity."""
    out = ins.out
    if out is None or ins.kwargs.get("out") is not None or out.array is None:
        return None
    fn, args = ins.fn, ins.args
    if fn in ("np.multiply", "np.divide", "np.add", "np.subtract") and len(args) == 2:
        unit = 1 if fn in ("np.multiply", "np.divide") else 0
        x, c = args
        if fn in ("np.multiply", "np.add") and isinstance(x, Value) and x.kind == "const" and \
                isinstance(c, Value) and c.kind != "const":
            x, c = c, x
        if isinstance(c, Value) and c.kind == "const" and c.array.size and \
                (c.array == unit).all() and isinstance(x, Value) and x.array is not None and \
                x.array.shape == out.array.shape and x.array.dtype == out.array.dtype:
            return x
    if fn == "np.power" and len(args) == 2 and isinstance(args[0], Value) and \
            not isinstance(args[1], Value) and np.ndim(args[1]) == 0 and args[1] == 1 and \
            args[0].array is not None and args[0].array.shape == out.array.shape and \
            args[0].array.dtype == out.array.dtype:
        return args[0]  # x ** 1 is x, exactly
    if fn == "reshape_forward" and isinstance(args[0], Value) and args[0].array is not None \
            and args[0].array.shape == out.array.shape:
        return args[0]
    if fn == "cast_forward" and isinstance(args[0], Value) and args[0].array is not None \
            and args[0].array.dtype == out.array.dtype:
        return args[0]
    return None


def _buffers(instrs: list[Instr], outputs: list) -> tuple[dict, dict]:
    """Preallocated outputs: each out-able result gets a buffer of its shape and dtype,
    reused once every value living in it has had its last use (liveness)."""
    last: dict[int, int] = {}
    for k, ins in enumerate(instrs):
        for a in _ins_values(ins):
            last[id(a.root())] = k
    for v in outputs:
        last[id(v.root())] = len(instrs)
    free: dict[tuple, list[int]] = {}
    pool: dict[int, np.ndarray] = {}
    index: dict[int, int] = {}
    release: dict[int, list[int]] = {}
    for k, ins in enumerate(instrs):
        for b in release.pop(k - 1, []):
            shape_key = (pool[b].shape, pool[b].dtype)
            free.setdefault(shape_key, []).append(b)
        out = ins.out
        if not ins.out_able or out is None or out.array is None or out.written or \
                out.storage is not None or "out" in ins.kwargs:
            continue
        key = (np.shape(out.array), np.asarray(out.array).dtype)
        if free.get(key):
            b = free[key].pop()
        else:
            b = len(pool)
            pool[b] = np.empty(key[0], key[1])
        index[id(ins)] = b
        end = last.get(id(out), k)
        release.setdefault(max(end, k), []).append(b)
    return pool, index


def _code(a: Any, var: Callable, namespace: dict) -> str:
    """How a value or a Python constant is written in the source."""
    if isinstance(a, Value):
        return var(a)
    if isinstance(a, np.dtype):
        return f"np.{a.name}"
    if isinstance(a, (np.ndarray, np.generic)):
        name = f"k{sum(1 for k in namespace if k.startswith('k') and k[1:].isdigit())}"
        namespace[name] = a
        return name
    if isinstance(a, tuple):
        inner = ", ".join(_code(x, var, namespace) for x in a)
        return f"({inner},)" if len(a) == 1 else f"({inner})"
    if isinstance(a, list):
        return "[" + ", ".join(_code(x, var, namespace) for x in a) + "]"
    return repr(a)


def _identifier(name: str) -> str:
    text = "".join(ch if ch.isalnum() or ch == "_" else "_" for ch in name) or "t"
    return text if not text[0].isdigit() else "t" + text


def _show(array: np.ndarray) -> str:
    if array.size <= 4:
        return np.array2string(array, separator=", ").replace("\n", "") + \
            ("" if array.dtype == np.float64 else f" ({array.dtype})")
    return f"array of shape {array.shape} ({array.dtype}), computed once"


# --- the user's side ------------------------------------------------------------------------


class CompiledStep:
    """What ``compile(fn)`` returns: call it as you would call fn."""

    def __init__(self, fn: Callable, optimize: bool = True) -> None:
        self.fn = fn
        self.optimize = optimize
        self.program: Program | None = None
        self.reason: str | None = None  # why the step runs eagerly for good
        self.recordings = 0
        self._warm = False
        self._first: Recording | None = None
        functools.update_wrapper(self, fn)

    @property
    def source(self) -> str | None:
        """The generated Python function (None until the step is compiled)."""
        return None if self.program is None else self.program.source

    def explain(self) -> str:
        """Each line of the source and the eager op it came from."""
        if self.program is None:
            return f"not compiled ({self.reason or 'not recorded yet'})"
        rows = [f"{line.strip():<60} <- {where}" for line, where in
                [(h, "read where it lives") for h in self.program.head] +
                [(ins.text, ins.origin) for ins in self.program.instrs]]
        notes = [f"folded (computed once): {', '.join(self.program.folded)}"] \
            if self.program.folded else []
        if self.program.dropped:
            notes.append(f"dropped: {', '.join(self.program.dropped)}")
        return "\n".join(rows + notes)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.reason is not None:
            return self.fn(*args, **kwargs)
        if state.observers and any(o not in _PASSIVE for o in state.observers):
            hooks._update_observer()  # the hook observer leaves once no hook is left
            if any(o not in _PASSIVE for o in state.observers):
                return self.fn(*args, **kwargs)  # anomaly mode, hooks: eager, as asked
        program = self.program
        if program is not None:
            if program.check(args, kwargs):
                return program.run_fn(*args)
            self.program = None  # something changed: record again
        if not self._warm:
            self._warm = True
            return self.fn(*args, **kwargs)
        return self._record(args, kwargs)

    def _record(self, args: tuple, kwargs: dict) -> Any:
        try:
            signature = _signature(args, kwargs)
        except NotCompilable as exc:
            self._give_up(str(exc))
            return self.fn(*args, **kwargs)
        recorder = Recorder(args)
        python = _python_state(self.fn)
        seen = _seen(self.fn)
        self.recordings += 1
        with observing(recorder):
            try:
                result = self.fn(*args, **kwargs)
            except NotCompilable:  # the step cannot be replayed: finish it eagerly
                result = None
                recorder_failed = True
            else:
                recorder_failed = False
        if recorder_failed:
            self._give_up(recorder.failure)
            raise RuntimeError(f"compile({self.__name__}): the recording stopped the call "
                               "half-way; call again") from None
        if recorder.failure is None:
            recorder._flush()
            try:
                outputs = _outputs(recorder, result)
            except NotCompilable as exc:
                recorder.failure = str(exc)
        if recorder.failure is not None:
            self._give_up(recorder.failure)
            return result
        rec = Recording(recorder, signature, python, seen, outputs,
                        None if result is None else type(result))
        if self._first is None:
            self._first = rec
            return result
        why = _same_recording(self._first, rec)
        self._first = None
        if why is not None:
            self._give_up(why)
            return result
        self.program = Program(rec, self.__name__, self.optimize)
        return result

    def _give_up(self, reason: str) -> None:
        self.reason = reason
        self.program = None
        warnings.warn(f"compile({self.__name__}): {reason}; it runs eagerly from now on",
                      UserWarning, stacklevel=4)


def _outputs(recorder: Recorder, result: Any) -> Any:
    if result is None:
        return None
    if isinstance(result, Tensor):
        return recorder.value_of(result)
    if isinstance(result, (tuple, list)) and all(isinstance(t, Tensor) for t in result):
        return type(result)(recorder.value_of(t) for t in result)
    raise NotCompilable(f"it returns a {type(result).__name__}; a compiled step returns a "
                        "tensor, a tuple of tensors, or nothing")


def compile(fn: Callable | None = None, *, optimize: bool = True) -> Any:  # noqa: A001
    """Compile a training step: ``step = compile(step)`` or ``@compile``. The first calls
    run eagerly and record the step; later calls replay it as NumPy code (``.source``)."""
    if fn is None:
        return lambda f: CompiledStep(f, optimize)
    return CompiledStep(fn, optimize)
