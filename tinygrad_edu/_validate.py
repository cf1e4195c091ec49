"""Checks of the counts and sizes users pass in, with one wording for the package.

    positive_int(value, "epochs", "QuadraticRegressor.fit")  -> the int, or ValueError
    positive_number(value, "lr", "SGD")                     -> the float, or ValueError
    ints_per_axis(value, 2, "stride", "conv2d", error=RuntimeError)  -> a tuple of 2 ints

The message says where the check failed, which argument and what it got:
"SGD: lr must be a positive number, got -1". ``where`` and ``name`` may be left
empty (the demos' command-line options add their own prefix). Booleans are refused
although Python counts True as an int (``epochs=True`` is a mistake, not 1), and so
are arrays: one number is expected.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def _shown(value: Any) -> str:
    """The value as the message shows it: -1 and 0.5, not np.float64(0.5)."""
    if isinstance(value, np.generic):
        value = value.item()
    return repr(value)


def _error(value: Any, name: str, where: str, wanted: str) -> ValueError:
    prefix = f"{where}: " if where else ""
    subject = f"{name} " if name else ""
    return ValueError(f"{prefix}{subject}must be {wanted}, got {_shown(value)}")


def positive_int(value: Any, name: str = "", where: str = "") -> int:
    """``value`` as an int if it is a whole number >= 1 (Python or NumPy int)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise _error(value, name, where, "a positive int")
    return int(value)


def positive_number(value: Any, name: str = "", where: str = "") -> float:
    """``value`` as a float if it is a finite real number > 0 (NaN and inf are not)."""
    is_real = isinstance(value, (int, float, np.integer, np.floating)) \
        and not isinstance(value, bool)
    if not (is_real and 0 < value < math.inf):  # also false for NaN
        infinite = is_real and value == math.inf
        raise _error(value, name, where,
                     "a finite positive number" if infinite else "a positive number")
    return float(value)


def ints_per_axis(value: Any, count: int, name: str = "", where: str = "", minimum: int = 1,
                  error: type[Exception] = ValueError) -> tuple[int, ...]:
    """``value`` (one whole number, or ``count`` of them) as a tuple of ``count`` ints,
    each at least ``minimum`` (1: "positive", 0: "non-negative"): the kernel sizes,
    strides and paddings of convolutions, one per spatial axis. A value that is not whole
    numbers is a TypeError; the wrong count or too small a number raises ``error``."""
    values = tuple(value) if isinstance(value, (tuple, list)) else (value,) * count
    prefix = f"{where}: " if where else ""
    if not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in values):
        raise TypeError(f"{prefix}{name} must be an int or {count} ints (one per spatial "
                        f"axis), got {_shown(value)}")
    if len(values) != count:
        raise error(f"{prefix}{name} must be an int or {count} ints (one per spatial axis), "
                    f"got {_shown(value)}")
    if any(v < minimum for v in values):
        wanted = "positive" if minimum == 1 else f"at least {minimum}" if minimum else \
            "non-negative"
        raise error(f"{prefix}{name} must be {wanted}, got {_shown(value)}")
    return tuple(int(v) for v in values)
