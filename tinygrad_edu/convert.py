"""Turning user data into arrays: the dtypes a tensor may hold, and the checks that give
a clear message for anything else (strings, ragged lists, complex numbers ...)."""

from __future__ import annotations

from typing import Any

import numpy as np

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def check_dtype(dtype: Any, where: str) -> np.dtype:
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{where}: {dtype!r} is not a dtype; use float32 or float64") from None
    if dt not in FLOAT_DTYPES:
        raise TypeError(f"{where}: dtype {dt} is not supported; tensors hold float32 or float64")
    return dt


def to_array(data: Any, dtype: Any = None, where: str = "tensor()") -> np.ndarray:
    """Copy user data into a float array: float32 stays float32, the rest is float64."""
    if isinstance(data, (str, bytes)) or data is None:
        raise TypeError(f"{where}: cannot make a tensor from {type(data).__name__} "
                        f"{data!r}; give numbers, nested lists of numbers or an ndarray")
    try:
        array = np.array(data)
    except ValueError as exc:
        raise ValueError(f"{where}: the nested lists are ragged (rows of different "
                         f"lengths) or not numbers ({exc}); every row must have the "
                         "same length") from None
    kind = array.dtype.kind
    if kind in "OUSVMm":
        raise TypeError(f"{where}: cannot make a tensor from values of type "
                        f"{array.dtype} (got {type(data).__name__}); give real numbers")
    if kind == "c":
        raise TypeError(f"{where}: complex numbers are not supported")
    if dtype is not None:
        return array.astype(check_dtype(dtype, where), copy=False)
    if array.dtype in FLOAT_DTYPES:
        return array
    return array.astype(np.float32 if array.dtype == np.float16 else np.float64)


