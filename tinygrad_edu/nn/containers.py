"""Containers: modules and parameters held in a list or a dict, so that the owner finds
them (a plain Python list or dict is not looked into). Each item is an attribute named by
its position ("0", "1", ...) or its key, which is where the dotted names of
``named_parameters`` and ``state_dict`` come from: ``layers.0.weight``."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from ..tensor import Tensor
from .module import Module, Parameter


def _check_module(module: Any, where: str) -> Module:
    if not isinstance(module, Module):
        raise TypeError(f"{where}: {type(module).__name__} is not a Module")
    return module


def _index(index: Any, length: int, where: str) -> int:
    """A position as a non-negative int, or PyTorch's IndexError."""
    if not -length <= index < length:
        raise IndexError(f"{where}: index {index} is out of range for {length} items")
    return index % length


class ModuleList(Module):
    """A list of modules whose parameters the owner finds (a plain list is not
    searched). The modules are attributes named "0", "1", ..."""

    def __init__(self, modules: Iterable[Module] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def _items(self) -> list[Module]:
        return [module for _, module in self._child_items()]

    def _refill(self, modules: list[Module]) -> None:
        for name, _ in self._child_items():
            object.__delattr__(self, name)
        for k, module in enumerate(modules):
            self.add_module(str(k), module)

    def append(self, module: Module) -> ModuleList:
        self.add_module(str(len(self)), _check_module(module, type(self).__name__))
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        for module in modules:
            self.append(module)
        return self

    def insert(self, index: int, module: Module) -> None:
        items = self._items()
        items.insert(index, _check_module(module, type(self).__name__))
        self._refill(items)

    def pop(self, index: int = -1) -> Module:
        items = self._items()
        module = items.pop(_index(index, len(items), type(self).__name__))
        self._refill(items)
        return module

    def __delitem__(self, index: int | slice) -> None:
        items = self._items()
        if isinstance(index, slice):
            del items[index]
        else:
            del items[_index(index, len(items), type(self).__name__)]
        self._refill(items)

    def __len__(self) -> int:
        return len(self._child_items())

    def __iter__(self) -> Iterator[Module]:
        return iter(self._items())

    def __getitem__(self, index: int | slice) -> Any:
        items = self._items()
        if isinstance(index, slice):
            return type(self)(items[index])
        return items[_index(index, len(items), type(self).__name__)]

    def __setitem__(self, index: int, module: Module) -> None:
        position = _index(index, len(self), type(self).__name__)
        setattr(self, str(position), _check_module(module, type(self).__name__))

    def __repr__(self) -> str:
        # as PyTorch's ModuleList: runs of equal modules as "(0-2): 3 x Linear(...)"
        reprs = [repr(m) for m in self]
        if not reprs:
            return f"{type(self).__name__}()"
        lines, start = [], 0
        for k in range(1, len(reprs) + 1):
            if k == len(reprs) or reprs[k] != reprs[start]:
                body = reprs[start].replace("\n", "\n  ")
                if k - start == 1:
                    lines.append(f"({start}): {body}")
                else:
                    lines.append(f"({start}-{k - 1}): {k - start} x {body}")
                start = k
        return f"{type(self).__name__}(\n  " + "\n  ".join(lines) + "\n)"


class Sequential(ModuleList):
    """Modules applied one after another: ``Sequential(a, b, c)(x) == c(b(a(x)))``.
    ``Sequential({"hidden": ..., "out": ...})`` names the steps. (Here it is a
    ModuleList with a forward; PyTorch keeps the two classes apart.)"""

    def __init__(self, *modules: Module | Mapping[str, Module]) -> None:
        Module.__init__(self)
        if len(modules) == 1 and isinstance(modules[0], Mapping):
            for name, module in modules[0].items():
                self.add_module(str(name), _check_module(module, "Sequential"))
        else:
            self.extend(modules)

    def __getitem__(self, index: int | slice) -> Any:
        items = self._child_items()
        if isinstance(index, slice):
            return Sequential(dict(items[index]))  # the names stay, as PyTorch
        return items[_index(index, len(items), "Sequential")][1]

    def __setitem__(self, index: int, module: Module) -> None:
        items = self._child_items()
        name = items[_index(index, len(items), "Sequential")][0]
        setattr(self, name, _check_module(module, "Sequential"))

    __repr__ = Module.__repr__

    def forward(self, input: Any) -> Any:
        x = input
        for module in self._items():
            x = module(x)
        return x


class _NamedEntries:
    """The dict protocol of ModuleDict and ParameterDict, over ``items()`` (the
    entries as (key, value) pairs in order, kept as the module's attributes)."""

    _entry = "entry"  # what an entry is called in messages

    def items(self) -> list:
        raise NotImplementedError

    def __getitem__(self, key: str) -> Any:
        entries = dict(self.items())
        if key not in entries:
            raise KeyError(f"{type(self).__name__} has no {self._entry} {key!r}; its keys are "
                           f"{list(entries)}")
        return entries[key]

    def __delitem__(self, key: str) -> None:
        self[key]  # noqa: B018 - the KeyError for a missing key
        delattr(self, key)

    def __len__(self) -> int:
        return len(self.items())

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __contains__(self, key: object) -> bool:
        return key in dict(self.items())

    def keys(self) -> list[str]:
        return [name for name, _ in self.items()]

    def values(self) -> list:
        return [value for _, value in self.items()]

    def pop(self, key: str) -> Any:
        value = self[key]
        delattr(self, key)
        return value

    def clear(self) -> None:
        for key in self.keys():
            delattr(self, key)

    def update(self, entries: Mapping[str, Any] | Iterable) -> None:
        pairs = entries.items() if isinstance(entries, Mapping) else entries
        for key, value in pairs:
            self[key] = value


class ModuleDict(_NamedEntries, Module):
    """Modules under string keys: ``ModuleDict({"conv": ..., "act": ...})``, then
    ``d["conv"]``, ``d.keys()``, ``d.items()``... A key may not hide an attribute of
    the module (``"train"`` is refused, as in PyTorch)."""

    _entry = "module"

    def __init__(self, modules: Mapping[str, Module] | Iterable | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.update(modules)

    def items(self) -> list[tuple[str, Module]]:
        return self._child_items()

    def __setitem__(self, key: str, module: Module) -> None:
        self.add_module(key, _check_module(module, "ModuleDict"))


def _as_parameter(value: Any, where: str) -> Parameter:
    if isinstance(value, Parameter):
        return value
    if isinstance(value, Tensor):  # as PyTorch: a plain tensor becomes a Parameter
        return Parameter(value)
    raise TypeError(f"{where}: expected a Parameter or a Tensor, got {type(value).__name__}")


def _describe(p: Tensor, type_name: str) -> str:
    """PyTorch's line for one entry: Parameter containing: [torch.float64 of size 2x3]."""
    kind = "Parameter" if isinstance(p, Parameter) else "Tensor"
    size = "x".join(str(n) for n in p.shape)
    return f"{kind} containing: [{type_name} of size {size}]"


class ParameterList(Module):
    """A list of Parameters that the owner finds (attributes "0", "1", ...). A plain
    Tensor appended becomes a Parameter."""

    def __init__(self, values: Iterable[Any] | None = None) -> None:
        super().__init__()
        if values is not None:
            self.extend(values)

    def _items(self) -> list[Parameter]:
        return [p for _, p in self._own_parameters()]

    def append(self, value: Any) -> ParameterList:
        setattr(self, str(len(self)), _as_parameter(value, "ParameterList"))
        return self

    def extend(self, values: Iterable[Any]) -> ParameterList:
        for value in values:
            self.append(value)
        return self

    def __len__(self) -> int:
        return len(self._own_parameters())

    def __iter__(self) -> Iterator[Parameter]:
        return iter(self._items())

    def __getitem__(self, index: int | slice) -> Any:
        items = self._items()
        if isinstance(index, slice):
            return ParameterList(items[index])
        return items[_index(index, len(items), "ParameterList")]

    def __setitem__(self, index: int, value: Any) -> None:
        position = _index(index, len(self), "ParameterList")
        setattr(self, str(position), _as_parameter(value, "ParameterList"))

    def extra_repr(self) -> str:
        return "\n".join(f"  ({k}): " + _describe(p, f"torch.{p.dtype}")
                         for k, p in enumerate(self))


class ParameterDict(_NamedEntries, Module):
    """Parameters under string keys (``d["scale"]``, ``d.items()`` ...) that the owner
    finds. A plain Tensor set becomes a Parameter."""

    _entry = "parameter"

    def __init__(self, parameters: Mapping[str, Any] | Iterable | None = None) -> None:
        super().__init__()
        if parameters is not None:
            self.update(parameters)

    def items(self) -> list[tuple[str, Parameter]]:
        return self._own_parameters()

    def _items(self) -> list[Parameter]:
        return self.values()

    def __setitem__(self, key: str, value: Any) -> None:
        self.register_parameter(key, _as_parameter(value, "ParameterDict"))

    def extra_repr(self) -> str:
        return "\n".join(f"  ({k}): " + _describe(p, p.type()) for k, p in self.items())
