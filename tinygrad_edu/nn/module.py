"""``Module`` and ``Parameter``: how a network keeps its parts.

How a Module finds its parts: ``parameters()`` walks the module's attributes
(``vars(self)``, in the order they were first set) and picks the ``Parameter`` values and
the ``Module`` values, recursively. PyTorch does the same bookkeeping in ``__setattr__``;
walking the attributes gives the same answers with no hidden tables. As in PyTorch, a
plain list of modules is not looked into: use ``ModuleList`` (or ``Sequential``).

Buffers are tensors that belong to the module's state without being trained (BatchNorm's
running mean): ``register_buffer(name, tensor)`` sets the attribute and writes the name
down in ``_buffer_persistence`` (name -> whether ``state_dict`` saves it). The one piece
of ``__setattr__`` here only checks types, as PyTorch does: a buffer takes a Tensor or
None, a parameter a Parameter or None, a submodule a Module or None.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

import numpy as np

from ..grad_mode import no_grad
from ..tensor import Tensor


class Parameter(Tensor):
    """A Tensor that a Module lists in ``parameters()``. It requires grad by default.

    ``Parameter(data)`` copies ``data`` (a Tensor, an ndarray or nested lists). Results
    of operations on a Parameter are plain Tensors.
    """

    __slots__ = ()  # like Tensor: no per-instance __dict__

    def __init__(self, data: Any = None, requires_grad: bool = True) -> None:
        super().__init__(np.empty(0) if data is None else data, requires_grad=requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


class IncompatibleKeys(NamedTuple):
    """What ``load_state_dict(..., strict=False)`` skipped."""

    missing_keys: list[str]
    unexpected_keys: list[str]


class HookHandle:
    """What the register_*_hook methods return: ``remove()`` takes the hook away."""

    _next = 0

    def __init__(self, table: dict) -> None:
        self.table = table
        HookHandle._next += 1
        self.id = HookHandle._next

    def remove(self) -> None:
        self.table.pop(self.id, None)


class _BackwardCall:
    """One forward's full backward hooks: the output's gradient arrives first in the
    reverse pass, then the inputs' (through identity nodes put in front of them, as
    PyTorch does); the hooks are called when all have arrived."""

    def __init__(self, module: Module, hooks: dict, args: tuple) -> None:
        self.module, self.hooks = module, hooks
        self.grad_input: list = [None] * len(args)
        self.pending = {k for k, a in enumerate(args)
                        if isinstance(a, Tensor) and a.requires_grad}
        self.grad_output: tuple | None = None

    def watch_inputs(self, args: tuple) -> tuple:
        watched = list(args)
        for k in self.pending:
            watched[k] = args[k] * 1.0
            watched[k].register_hook(lambda g, k=k: self.input_arrived(k, g))
        return tuple(watched)

    def watch_output(self, out: Any) -> None:
        outputs = out if isinstance(out, tuple) else (out,)
        first = next((j for j, o in enumerate(outputs)
                      if isinstance(o, Tensor) and o.requires_grad), None)
        if first is not None:  # the others' gradients are not reported here
            # the hook holds positions, not the outputs: a hook table keyed by a node
            # must not keep that node's tensor (and so the node) alive
            n = len(outputs)
            outputs[first].register_hook(lambda g: self.output_arrived(
                tuple(g if j == first else None for j in range(n))))

    def output_arrived(self, grad_output: tuple) -> None:
        self.grad_output = grad_output
        self.call_when_ready()

    def input_arrived(self, k: int, g: Tensor) -> None:
        self.grad_input[k] = g
        self.pending.discard(k)
        self.call_when_ready()

    def call_when_ready(self) -> None:
        if self.grad_output is not None and not self.pending:
            for hook in list(self.hooks.values()):
                hook(self.module, tuple(self.grad_input), self.grad_output)
            self.grad_output = None  # once per backward of this forward


def _check_name(module: Module, name: Any, kind: str, replacing: type | None) -> None:
    """PyTorch's checks of a name given to register_buffer / register_parameter /
    add_module: a string, not empty, no dot, and not an attribute of another kind."""
    where = type(module).__name__
    if not isinstance(name, str):
        raise TypeError(f"{where}: {kind} name should be a string, got "
                        f"{type(name).__name__}")
    if not name:
        raise KeyError(f'{where}: {kind} name can\'t be empty string ""')
    if "." in name:
        raise KeyError(f'{where}: {kind} name can\'t contain ".", got {name!r}')
    if hasattr(module, name):
        # a method, a setting or a part of another kind is not replaced
        current = module.__dict__.get(name, Ellipsis)
        buffers = module.__dict__.get("_buffer_persistence", {})
        if kind == "buffer":
            ours = name in buffers or current is None
        else:
            ours = current is None or isinstance(current, replacing)
        if not ours:
            raise KeyError(f"{where}: attribute {name!r} already exists; choose another "
                           f"name for the {kind}")


class Module:
    """Base class of every layer and model: subclass it, set the parts as attributes in
    ``__init__`` (after ``super().__init__()``), and write ``forward``.

    >>> class TwoLayer(Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.hidden = Linear(2, 8)
    ...         self.out = Linear(8, 1)
    ...     def forward(self, x):
    ...         return self.out(self.hidden(x).relu())
    >>> [name for name, p in TwoLayer().named_parameters()]
    ['hidden.weight', 'hidden.bias', 'out.weight', 'out.bias']
    """

    training: bool = True  # a class default, in case a subclass skips super().__init__()

    def __init__(self) -> None:
        self.training = True

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} has no forward(); define "
                                  "forward(self, ...) to say what calling the module does")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        hooks = self.__dict__.get("_hooks")
        if not hooks:
            return self.forward(*args, **kwargs)
        for hook in list(hooks["forward_pre"].values()):
            result = hook(self, args)
            if result is not None:
                args = result if isinstance(result, tuple) else (result,)
        backward = _BackwardCall(self, hooks["backward"], args) if hooks["backward"] else None
        if backward is not None:
            args = backward.watch_inputs(args)
        out = self.forward(*args, **kwargs)
        for hook in list(hooks["forward"].values()):
            result = hook(self, args, out)
            if result is not None:
                out = result
        if backward is not None:
            backward.watch_output(out)
        return out

    # --- setting attributes: type checks only ---------------------------------------------

    def __setattr__(self, name: str, value: Any) -> None:
        """As PyTorch: a buffer's name takes a Tensor or None, a Parameter's a Parameter
        or None (``self.weight = self.weight * 2`` would quietly stop training it), a
        submodule's a Module or None. A Parameter or Module set over a buffer replaces
        the buffer."""
        buffers = self.__dict__.get("_buffer_persistence")
        if buffers and name in buffers:
            if isinstance(value, (Parameter, Module)):
                del buffers[name]
            elif value is not None and not isinstance(value, Tensor):
                raise TypeError(f"{type(self).__name__}: cannot assign "
                                f"'{type(value).__name__}' as buffer {name!r} (a Tensor or "
                                "None expected)")
        else:
            current = self.__dict__.get(name)
            if isinstance(current, Parameter) and value is not None \
                    and not isinstance(value, (Parameter, Module)):
                raise TypeError(f"{type(self).__name__}: cannot assign "
                                f"'{type(value).__name__}' as parameter {name!r} (a "
                                "Parameter or None expected); wrap it: nn.Parameter(value), "
                                "or change the values in place under no_grad()")
            if isinstance(current, Module) and value is not None \
                    and not isinstance(value, (Module, Parameter)):
                raise TypeError(f"{type(self).__name__}: cannot assign "
                                f"'{type(value).__name__}' as child module {name!r} (a "
                                "Module or None expected)")
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        buffers = self.__dict__.get("_buffer_persistence")
        if buffers:
            buffers.pop(name, None)
        object.__delattr__(self, name)

    def register_buffer(self, name: str, tensor: Tensor | None,
                        persistent: bool = True) -> None:
        """Keep ``tensor`` as state that is not a parameter (not trained, not in
        ``parameters()``): listed by ``buffers()``, moved by ``to()``/``double()``, and
        saved in ``state_dict`` unless ``persistent=False``. It is an attribute as well:
        ``self.running_mean``. None registers the name with no tensor yet."""
        _check_name(self, name, "buffer", None)
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"{type(self).__name__}: cannot assign "
                            f"'{type(tensor).__name__}' object to buffer {name!r} (a Tensor "
                            "or None required)")
        self.__dict__.setdefault("_buffer_persistence", {})[name] = bool(persistent)
        object.__setattr__(self, name, tensor)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """``self.name = param``, with PyTorch's checks (None registers no parameter)."""
        _check_name(self, name, "parameter", Parameter)
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"{type(self).__name__}: cannot assign "
                            f"'{type(param).__name__}' object to parameter {name!r} (a "
                            "Parameter or None required)")
        object.__setattr__(self, name, param)

    def add_module(self, name: str, module: Module | None) -> None:
        """``self.name = module``, with PyTorch's checks: the name must not hide a method
        or another attribute (``add_module("train", ...)`` is refused)."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(self).__name__}: {type(module).__name__} is not a "
                            "Module subclass")
        _check_name(self, name, "module", Module)
        object.__setattr__(self, name, module)

    register_module = add_module

    # --- hooks ---------------------------------------------------------------------------

    def _hook_table(self, kind: str, hook: Any) -> HookHandle:
        hooks = self.__dict__.setdefault(
            "_hooks", {"forward_pre": {}, "forward": {}, "backward": {}})
        handle = HookHandle(hooks[kind])
        hooks[kind][handle.id] = hook
        return handle

    def register_forward_pre_hook(self, hook: Any) -> HookHandle:
        """``hook(module, args)`` before each forward; a returned value replaces args."""
        return self._hook_table("forward_pre", hook)

    def register_forward_hook(self, hook: Any) -> HookHandle:
        """``hook(module, args, output)`` after each forward; a returned value replaces
        the output."""
        return self._hook_table("forward", hook)

    def register_full_backward_hook(self, hook: Any) -> HookHandle:
        """``hook(module, grad_input, grad_output)`` once the gradients with respect to
        the module's tensor inputs are known (tuples; None for an input that needs none)."""
        return self._hook_table("backward", hook)

    # --- finding the parts ---------------------------------------------------------------

    def _child_items(self) -> list[tuple[str, Module]]:
        """(name, module) of every module attribute, a shared one under each name."""
        return [(name, value) for name, value in vars(self).items()
                if isinstance(value, Module)]

    def _own_parameters(self) -> list[tuple[str, Parameter]]:
        return [(name, value) for name, value in vars(self).items()
                if isinstance(value, Parameter)]

    def _own_buffers(self, persistent_only: bool = False) -> list[tuple[str, Tensor]]:
        buffers = self.__dict__.get("_buffer_persistence", {})
        return [(name, self.__dict__[name]) for name, persistent in buffers.items()
                if isinstance(self.__dict__.get(name), Tensor)
                and (persistent or not persistent_only)]

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """The modules set directly as attributes of this one, in order (each once)."""
        seen: set[int] = set()
        for name, child in self._child_items():
            if id(child) not in seen:
                seen.add(id(child))
                yield name, child

    def children(self) -> Iterator[Module]:
        for _, child in self.named_children():
            yield child

    def named_modules(self, memo: set | None = None, prefix: str = "",
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Module]]:
        """This module and every module inside it (depth first), with dotted names.
        A module reachable twice (shared) is listed once unless remove_duplicate=False.
        ``memo`` (a set of modules to skip) is PyTorch's first argument."""
        seen: set = set() if memo is None else memo
        stack = [(prefix, self)]
        while stack:
            name, module = stack.pop()
            if remove_duplicate:
                if module in seen:
                    continue
                seen.add(module)
            yield name, module
            children = [(f"{name}.{child_name}" if name else child_name, child)
                        for child_name, child in module._child_items()]
            stack.extend(reversed(children))  # popped in attribute order

    def modules(self) -> Iterator[Module]:
        for _, module in self.named_modules():
            yield module

    def _named_members(self, members: Any, prefix: str, recurse: bool,
                       remove_duplicate: bool) -> Iterator[tuple[str, Tensor]]:
        modules = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) \
            if recurse else iter([(prefix, self)])
        seen: set[int] = set()
        for module_name, module in modules:
            for name, value in members(module):
                if id(value) in seen:
                    continue
                if remove_duplicate:
                    seen.add(id(value))
                yield (f"{module_name}.{name}" if module_name else name), value

    def named_parameters(self, prefix: str = "", recurse: bool = True,
                         remove_duplicate: bool = True) -> Iterator[tuple[str, Parameter]]:
        """(dotted name, Parameter) pairs: each module's own parameters in attribute
        order, modules visited depth first. A shared Parameter is listed once."""
        yield from self._named_members(Module._own_parameters, prefix, recurse,
                                       remove_duplicate)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        """Every Parameter, e.g. to hand to an optimizer: ``Adam(model.parameters())``."""
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True,
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Tensor]]:
        """(dotted name, tensor) of every buffer (registered with register_buffer and not
        None), in the order of named_parameters."""
        yield from self._named_members(Module._own_buffers, prefix, recurse,
                                       remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    # --- training helpers ----------------------------------------------------------------

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients of all parameters. As PyTorch 2, ``.grad`` becomes None
        (the next backward allocates it afresh); ``set_to_none=False`` fills the
        existing gradients with zeros instead."""
        for p in self.parameters():
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                if p.grad.requires_grad:  # made by backward(create_graph=True)
                    p.grad = p.grad.detach()  # drop its graph, keep its memory
                with no_grad():
                    p.grad.zero_()

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Switch gradients on or off for every parameter (freeze a part of a model with
        ``part.requires_grad_(False)``); returns self."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def train(self, mode: bool = True) -> Module:
        """Set training mode on this module and, through ``train(mode)`` of each child,
        on all modules inside it (Dropout and BatchNorm behave differently when
        training); returns self."""
        if not isinstance(mode, bool):
            raise ValueError(f"{type(self).__name__}.train: training mode is expected to be "
                             f"boolean, got {mode!r}")
        self.training = mode
        for child in self.children():
            child.train(mode)
        return self

    def eval(self) -> Module:
        """Evaluation mode: ``train(False)``."""
        return self.train(False)

    def apply(self, fn: Any) -> Module:
        """Call ``fn(module)`` on every module inside this one and on itself
        (children first), e.g. to re-initialise weights; returns self."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    def to(self, *args: Any, **kwargs: Any) -> Module:
        """PyTorch's ``model.to(device)`` / ``model.to(dtype)``: the device must be the
        CPU; a floating dtype converts every floating parameter (and its .grad) and
        buffer in place, so an optimizer made before still holds the same Parameter
        objects. Integer buffers (BatchNorm's num_batches_tracked) keep their dtype, as
        in PyTorch. Returns self."""
        for t in [*self.parameters(), *self.buffers()]:
            converted = t.to(*args, **kwargs)  # checks the device, as Tensor.to
            if converted is t or converted.dtype == t.dtype or t.dtype.kind != "f":
                continue
            if converted.dtype.kind != "f":
                raise TypeError(f"Module.to: only floating dtypes are accepted, got "
                                f"{converted.dtype}")
            t.array = converted.array
            if t.grad is not None:
                t.grad = t.grad.to(converted.dtype)
        return self

    def cpu(self) -> Module:
        return self

    def cuda(self, device: Any = None) -> Module:
        """An error naming the device: this engine runs on the CPU only."""
        Tensor.cuda(Tensor(0), device)
        return self

    def float(self) -> Module:
        return self.to(np.float32)

    def double(self) -> Module:
        return self.to(np.float64)

    # --- saving and loading --------------------------------------------------------------

    def state_dict(self, *, destination: dict | None = None, prefix: str = "",
                   keep_vars: bool = False) -> dict[str, Tensor]:
        """{dotted name: tensor} of every parameter and persistent buffer, in PyTorch's
        order (each module's parameters, then its buffers, then its children; a shared
        module under each of its names). As in PyTorch, each tensor is detached but
        shares memory with the parameter: training goes on changing it. Copy it
        (``{k: v.clone() ...}``) to keep a snapshot."""
        state = {} if destination is None else destination
        for name, t in self._own_parameters() + self._own_buffers(persistent_only=True):
            state[prefix + name] = t if keep_vars else t.detach()
        for name, child in self._child_items():
            child.state_dict(destination=state, prefix=f"{prefix}{name}.", keep_vars=keep_vars)
        return state

    def load_state_dict(self, state_dict: Mapping[str, Any],
                        strict: bool = True) -> IncompatibleKeys:
        """Copy values from ``state_dict`` into the parameters and persistent buffers
        (in place).

        Everything is checked before anything is copied, so on an error the module is
        unchanged. Shapes must match. With ``strict=True`` (the default) the keys must
        match exactly; with ``strict=False`` missing and unexpected keys are skipped and
        returned.
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"load_state_dict: expected a dict of name -> tensor, got "
                            f"{type(state_dict).__name__}")
        own = self.state_dict(keep_vars=True)
        missing = [name for name in own if name not in state_dict]
        unexpected = [name for name in state_dict if name not in own]
        problems = []
        if strict and missing:
            problems.append("missing keys: " + ", ".join(map(repr, missing)))
        if strict and unexpected:
            problems.append("unexpected keys: " + ", ".join(map(repr, unexpected)))
        arrays = {}
        for name, t in own.items():
            if name not in state_dict:
                continue
            value = state_dict[name]
            array = value.array if isinstance(value, Tensor) else np.asarray(value)
            if array.dtype.kind not in "biuf":
                problems.append(f"{name!r}: values of dtype {array.dtype} are not numbers")
            elif array.shape != t.shape:
                problems.append(f"size mismatch for {name!r}: shape {array.shape} in the "
                                f"state dict, {t.shape} in the model")
            else:
                arrays[name] = array
        if problems:
            raise RuntimeError(f"Error(s) in loading state_dict for {type(self).__name__} "
                               "(nothing was changed):\n  " + "\n  ".join(problems))
        with no_grad():
            for name, array in arrays.items():
                own[name][...] = array  # in place: optimizers keep their references
        return IncompatibleKeys(missing, unexpected)

    # --- printing ------------------------------------------------------------------------

    def extra_repr(self) -> str:
        """The settings shown between the parentheses of this module's repr."""
        return ""

    def __repr__(self) -> str:
        # PyTorch's layout: one line when there is one line of settings and no child,
        # else the settings' lines and then "(name): child", indented by two spaces
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [f"({name}): " + repr(child).replace("\n", "\n  ")
                       for name, child in self._child_items()]
        if len(extra_lines) == 1 and not child_lines:
            return f"{type(self).__name__}({extra_lines[0]})"
        lines = extra_lines + child_lines
        if not lines:
            return f"{type(self).__name__}()"
        return f"{type(self).__name__}(\n  " + "\n  ".join(lines) + "\n)"
