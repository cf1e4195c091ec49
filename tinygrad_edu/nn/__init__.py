"""Building networks the PyTorch way: ``Module``, ``Parameter``, layers and losses.

    import tinygrad_edu as tg
    from tinygrad_edu import nn

    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 1))
    loss = nn.BCEWithLogitsLoss()(model(x), y)
    loss.backward()

Everything here is built on the engine's Tensor operations; the engine knows nothing
of this file. How a Module finds its parts: ``parameters()`` walks the module's
attributes (``vars(self)``, in the order they were first set) and picks the
``Parameter`` values and the ``Module`` values, recursively. PyTorch does the same
bookkeeping in ``__setattr__``; walking the attributes gives the same answers for the
usual cases with no hidden machinery. As in PyTorch, a plain list of modules is not
looked into: use ``ModuleList`` (or ``Sequential``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, NamedTuple

import numpy as np

from .._validate import positive_int
from ..grad_mode import no_grad
from ..tensor import Tensor
from . import functional, init
from . import functional as F

# --- parameters and modules -----------------------------------------------------------


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
        first = next((o for o in outputs if isinstance(o, Tensor) and o.requires_grad), None)
        if first is not None:  # the others' gradients are not reported here
            first.register_hook(lambda g: self.output_arrived(
                tuple(g if o is first else None for o in outputs)))

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

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """The modules set directly as attributes of this one, in order."""
        for name, value in vars(self).items():
            if isinstance(value, Module):
                yield name, value

    def children(self) -> Iterator[Module]:
        for _, child in self.named_children():
            yield child

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """This module and every module inside it (depth first), with dotted names.
        A module reachable twice (shared) is listed once."""
        seen: set[int] = set()
        stack = [(prefix, self)]
        while stack:
            name, module = stack.pop()
            if id(module) in seen:
                continue
            seen.add(id(module))
            yield name, module
            children = [(f"{name}.{child_name}" if name else child_name, child)
                        for child_name, child in module.named_children()]
            stack.extend(reversed(children))  # popped in attribute order

    def modules(self) -> Iterator[Module]:
        for _, module in self.named_modules():
            yield module

    def named_parameters(self, prefix: str = "",
                         recurse: bool = True) -> Iterator[tuple[str, Parameter]]:
        """(dotted name, Parameter) pairs: each module's own parameters in attribute
        order, modules visited depth first. A shared Parameter is listed once."""
        modules = self.named_modules(prefix) if recurse else iter([(prefix, self)])
        seen: set[int] = set()
        for module_name, module in modules:
            for name, value in vars(module).items():
                if isinstance(value, Parameter) and id(value) not in seen:
                    seen.add(id(value))
                    yield (f"{module_name}.{name}" if module_name else name), value

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        """Every Parameter, e.g. to hand to an optimizer: ``Adam(model.parameters())``."""
        for _, p in self.named_parameters(recurse=recurse):
            yield p

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

    def train(self, mode: bool = True) -> Module:
        """Set training mode on this module and all modules inside it (layers such as
        dropout behave differently when training); returns self."""
        for module in self.modules():
            module.training = bool(mode)
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
        CPU; a floating dtype converts every parameter (and its .grad) in place, so
        an optimizer made before still holds the same Parameter objects. Returns self."""
        for p in self.parameters():
            converted = p.to(*args, **kwargs)  # checks the device, as Tensor.to
            if converted is not p and converted.dtype != p.dtype:
                if converted.dtype.kind != "f":
                    raise TypeError(f"Module.to: parameters must stay floating, not "
                                    f"{converted.dtype}")
                p.array = converted.array
                if p.grad is not None:
                    p.grad = p.grad.to(converted.dtype)
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

    def state_dict(self) -> dict[str, Tensor]:
        """{dotted name: tensor} of every parameter. As in PyTorch, each tensor is
        detached but shares memory with the parameter: training goes on changing it.
        Copy it (``{k: v.clone() ...}``) to keep a snapshot."""
        return {name: p.detach() for name, p in self.named_parameters()}

    def load_state_dict(self, state_dict: Mapping[str, Any],
                        strict: bool = True) -> IncompatibleKeys:
        """Copy values from ``state_dict`` into the parameters (in place).

        Everything is checked before anything is copied, so on an error the module is
        unchanged. Shapes must match. With ``strict=True`` (the default) the keys must
        match exactly; with ``strict=False`` missing and unexpected keys are skipped and
        returned.
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"load_state_dict: expected a dict of name -> tensor, got "
                            f"{type(state_dict).__name__}")
        own = dict(self.named_parameters())
        missing = [name for name in own if name not in state_dict]
        unexpected = [name for name in state_dict if name not in own]
        problems = []
        if strict and missing:
            problems.append("missing keys: " + ", ".join(map(repr, missing)))
        if strict and unexpected:
            problems.append("unexpected keys: " + ", ".join(map(repr, unexpected)))
        arrays = {}
        for name, p in own.items():
            if name not in state_dict:
                continue
            value = state_dict[name]
            array = value.array if isinstance(value, Tensor) else np.asarray(value)
            if array.dtype.kind not in "biuf":
                problems.append(f"{name!r}: values of dtype {array.dtype} are not numbers")
            elif array.shape != p.shape:
                problems.append(f"size mismatch for {name!r}: shape {array.shape} in the "
                                f"state dict, {p.shape} in the model")
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
        extra = self.extra_repr()
        children = list(self.named_children())
        if not children:
            return f"{type(self).__name__}({extra})"
        lines = [f"{type(self).__name__}("]
        lines += ["  " + line for line in extra.split("\n") if line]
        for name, child in children:
            lines.append(f"  ({name}): " + repr(child).replace("\n", "\n  "))
        return "\n".join(lines) + "\n)"


# --- containers -----------------------------------------------------------------------


def _check_module(module: Any, where: str) -> Module:
    if not isinstance(module, Module):
        raise TypeError(f"{where}: {type(module).__name__} is not a Module")
    return module


class ModuleList(Module):
    """A list of modules whose parameters the owner finds (a plain list is not
    searched). The modules are attributes named "0", "1", ..."""

    def __init__(self, modules: Iterable[Module] = ()) -> None:
        super().__init__()
        self.extend(modules)

    def append(self, module: Module) -> ModuleList:
        setattr(self, str(len(self)), _check_module(module, type(self).__name__))
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        for module in modules:
            self.append(module)
        return self

    def __len__(self) -> int:
        return sum(1 for _ in self.named_children())

    def __iter__(self) -> Iterator[Module]:
        return self.children()

    def __getitem__(self, index: int | slice) -> Any:
        items = list(self.children())
        if isinstance(index, slice):
            return type(self)(items[index])
        return items[index]

    def __setitem__(self, index: int, module: Module) -> None:
        name = list(dict(self.named_children()))[index]  # IndexError when out of range
        setattr(self, name, _check_module(module, type(self).__name__))


class Sequential(ModuleList):
    """Modules applied one after another: ``Sequential(a, b, c)(x) == c(b(a(x)))``.
    ``Sequential({"hidden": ..., "out": ...})`` names the steps. (Here it is a
    ModuleList with a forward; PyTorch keeps the two classes apart.)"""

    def __init__(self, *modules: Module | Mapping[str, Module]) -> None:
        Module.__init__(self)
        if len(modules) == 1 and isinstance(modules[0], Mapping):
            for name, module in modules[0].items():
                setattr(self, str(name), _check_module(module, "Sequential"))
        else:
            self.extend(modules)

    def __getitem__(self, index: int | slice) -> Any:
        items = list(self.children())
        if isinstance(index, slice):
            return Sequential(*items[index])
        return items[index]

    def forward(self, x: Any) -> Any:
        for module in self.children():
            x = module(x)
        return x


# --- layers ---------------------------------------------------------------------------


class Linear(Module):
    """y = x W^T + b, with W of shape (out_features, in_features) and b of shape
    (out_features,).

    Initialised as PyTorch: W by kaiming_uniform_(a=sqrt(5)) and b uniformly, both in
    [-1/sqrt(in_features), 1/sqrt(in_features)].
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 dtype: Any = None) -> None:
        super().__init__()
        self.in_features = positive_int(in_features, "in_features", "Linear")
        self.out_features = positive_int(out_features, "out_features", "Linear")
        dtype = np.float64 if dtype is None else dtype
        self.weight = Parameter(np.zeros((self.out_features, self.in_features), dtype=dtype))
        self.bias = Parameter(np.zeros(self.out_features, dtype=dtype)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # gain = sqrt(2 / (1 + a^2)) = sqrt(1/3) for a = sqrt(5), and
        # bound = gain * sqrt(3 / fan_in) = 1 / sqrt(fan_in)
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1.0 / math.sqrt(self.in_features)
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Identity(Module):
    """Returns its input unchanged (a placeholder layer)."""

    def forward(self, x: Any) -> Any:
        return x


class ReLU(Module):
    """max(x, 0) elementwise."""

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(x)


class Tanh(Module):
    def forward(self, x: Tensor) -> Tensor:
        return F.tanh(x)


class Sigmoid(Module):
    """1 / (1 + exp(-x)) elementwise."""

    def forward(self, x: Tensor) -> Tensor:
        return F.sigmoid(x)


# --- losses ---------------------------------------------------------------------------


class _Loss(Module):
    """A loss module: holds ``reduction`` and calls its function from ``functional``."""

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        if reduction not in ("mean", "sum", "none"):
            raise ValueError(f"{type(self).__name__}: reduction must be 'mean', 'sum' or "
                             f"'none', got {reduction!r}")
        self.reduction = reduction

    def extra_repr(self) -> str:
        return "" if self.reduction == "mean" else f"reduction={self.reduction!r}"


class MSELoss(_Loss):
    """(input - target)^2, averaged (see functional.mse_loss)."""

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.mse_loss(input, target, reduction=self.reduction)


class CrossEntropyLoss(_Loss):
    """-log softmax(logits)[target] from logits (N, C) and class indices (N,)
    (see functional.cross_entropy)."""

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.cross_entropy(input, target, reduction=self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Binary cross-entropy of sigmoid(logits) against targets in [0, 1], computed
    stably from the logits (see functional.binary_cross_entropy_with_logits)."""

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.binary_cross_entropy_with_logits(input, target, reduction=self.reduction)


__all__ = [
    "BCEWithLogitsLoss", "CrossEntropyLoss", "Identity", "IncompatibleKeys", "Linear",
    "MSELoss", "Module", "ModuleList", "Parameter", "ReLU", "Sequential", "Sigmoid", "Tanh",
    "functional", "init",
]

from .conv_layers import AvgPool1d, AvgPool2d, Conv1d, Conv2d, MaxPool1d, MaxPool2d  # noqa: E402, F401
