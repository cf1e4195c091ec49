"""Turning user data into arrays: the dtypes a tensor may hold, the default float dtype,
and the checks that give a clear message for anything else (strings, ragged lists,
complex numbers ...).

As in PyTorch and NumPy: Python floats become the default float dtype (float64 here,
NumPy's and the articles'; ``set_default_dtype`` changes it), Python ints become
int64 and bools stay bool; an array keeps its dtype when a tensor can hold it.
Only floating tensors can require gradients.
"""

from __future__ import annotations

from typing import Any

import numpy as np

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
DTYPES = FLOAT_DTYPES + tuple(np.dtype(t) for t in (np.int64, np.int32, np.int16, np.int8,
                                                    np.uint8, np.bool_))
_default = [np.dtype(np.float64)]


def get_default_dtype() -> np.dtype:
    """The dtype that Python floats and float creation functions get (float64 here)."""
    return _default[0]


def set_default_dtype(dtype: Any) -> None:
    """Make ``dtype`` (float32 or float64) the default float dtype, as PyTorch's."""
    dt = check_dtype(dtype, "set_default_dtype")
    if dt not in FLOAT_DTYPES:
        raise TypeError(f"set_default_dtype: only floating dtypes can be the default, got {dt}")
    _default[0] = dt


def is_floating(dtype: np.dtype) -> bool:
    return dtype.kind == "f"


def check_dtype(dtype: Any, where: str) -> np.dtype:
    """``dtype`` as a NumPy dtype a tensor can hold, or a TypeError naming ``where``."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{where}: {dtype!r} is not a dtype; use float32, float64, int64, "
                        "int32, uint8 or bool") from None
    if dt not in DTYPES:
        raise TypeError(f"{where}: dtype {dt} is not supported; tensors hold float32, "
                        "float64, int64, int32, int16, int8, uint8 or bool")
    return dt


def to_array(data: Any, dtype: Any = None, where: str = "tensor()") -> np.ndarray:
    """Copy user data into an array of a dtype a tensor can hold."""
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
    if kind == "f" and not isinstance(data, (np.ndarray, np.generic)):
        return array.astype(_default[0], copy=False)  # Python floats: the default dtype
    if array.dtype in DTYPES:
        return array
    if kind == "f":
        return array.astype(np.float32 if array.dtype == np.float16 else np.float64)
    return array.astype(np.int64)  # uint16, uint32, uint64: PyTorch's long
