"""Devices, as PyTorch names them: this engine computes with NumPy, on the CPU only.

``device("cpu")`` is the one device a tensor can live on. Other devices can be named
(``device("cuda")`` works, as in PyTorch, so ``device("cuda" if cuda.is_available() else
"cpu")`` runs), but asking for one where a tensor is made or moved raises a RuntimeError
that says why. ``check(device, where)`` is that check; every creation function and
``Tensor.to`` call it.
"""

from __future__ import annotations

import builtins
from typing import Any

# the device types PyTorch knows (its error for an unknown one lists them)
KNOWN_TYPES = ("cpu", "cuda", "mps", "xpu", "xla", "meta", "hip", "ipu", "mtia", "hpu",
               "vulkan", "privateuseone")


class device:  # noqa: N801 - PyTorch's name
    """Where a tensor's memory is: ``device("cpu")``, ``device("cuda:0")``,
    ``device("cuda", 0)``. Equal to another device of the same type and index, and to
    its string (``device("cpu") == "cpu"``; PyTorch's own device is not equal to a
    string)."""

    __slots__ = ("type", "index")

    def __init__(self, type: str | device, index: int | None = None) -> None:  # noqa: A002
        if isinstance(type, device):
            if index is not None:
                raise RuntimeError("device: give a device or a type and an index, not both")
            self.type, self.index = type.type, type.index
            return
        if isinstance(type, int) and not isinstance(type, bool):
            raise RuntimeError(f"device: {type} names an accelerator (cuda:{type}); this "
                               "engine runs on the CPU only (with NumPy)")
        if not isinstance(type, str):
            raise TypeError("device: expected a string such as 'cpu', got "
                            f"{builtins.type(type).__name__} {type!r}")
        name, _, number = type.partition(":")
        if name not in KNOWN_TYPES:
            raise RuntimeError(f"device: unknown device type {name!r} in {type!r}; expected "
                               f"one of {', '.join(KNOWN_TYPES)} (this engine runs on 'cpu')")
        if number:
            if index is not None:
                raise RuntimeError(f"device: {type!r} already holds an index; do not pass "
                                   f"index={index} too")
            if not number.isdigit():
                raise RuntimeError(f"device: invalid device string {type!r}")
            index = int(number)
        if index is not None and (not isinstance(index, int) or index < 0):
            raise RuntimeError(f"device: the index must be a non-negative int, got {index!r}")
        self.type, self.index = name, index

    def __repr__(self) -> str:
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            try:
                other = device(other)
            except (RuntimeError, TypeError):
                return False
        if not isinstance(other, device):
            return NotImplemented
        return (self.type, self.index) == (other.type, other.index)

    def __hash__(self) -> int:
        return hash((self.type, self.index))


CPU = device("cpu")


def check(dev: Any, where: str) -> device:
    """``dev`` (None, a string or a device) as the CPU device, or a RuntimeError."""
    if dev is None:
        return CPU
    if not isinstance(dev, (str, device, int)) or isinstance(dev, bool):
        raise TypeError(f"{where}: device must be a string such as 'cpu' or a device, got "
                        f"{type(dev).__name__} {dev!r}")
    dev = device(dev)
    if dev.type != "cpu":
        raise RuntimeError(f"{where}: device {str(dev)!r} is not available: this engine "
                           "runs on the CPU only (with NumPy); use device='cpu'")
    return CPU


def is_device(x: Any) -> bool:
    """Whether ``x`` names a device (for ``Tensor.to``, which also takes dtypes)."""
    if isinstance(x, device):
        return True
    if isinstance(x, str):
        return x.partition(":")[0] in KNOWN_TYPES
    return isinstance(x, int) and not isinstance(x, bool)
