"""Saving and loading state dicts: ``save(model.state_dict(), path)`` and
``model.load_state_dict(load(path))``, as ``torch.save`` / ``torch.load``.

The file is a NumPy ``.npz`` archive: a zip file holding one ``.npy`` array per
entry, named by the entry's key. Only numeric arrays are written, and ``load`` reads
with ``allow_pickle=False``, so opening a file never runs code from it (unlike
pickle, which ``torch.load`` used by default before PyTorch 2.6).
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Mapping
from typing import Any

import numpy as np

from .convert import to_array
from .tensor import Tensor


def _numeric_array(name: Any, value: Any) -> np.ndarray:
    if not isinstance(name, str):
        raise TypeError(f"save: keys must be strings, got {name!r}")
    array = value.array if isinstance(value, Tensor) else value
    if not isinstance(array, np.ndarray) or array.dtype.kind not in "biuf":
        raise TypeError(f"save: entry {name!r} is a {type(value).__name__}; only Tensors "
                        "and numeric ndarrays can be saved (arbitrary objects would need "
                        "pickle)")
    return array


def save(state_dict: Mapping[str, Any], path: str | os.PathLike) -> None:
    """Write {name: Tensor or ndarray} to ``path`` as an .npz archive (the path is used
    as given: no suffix is added)."""
    if not isinstance(state_dict, Mapping):
        raise TypeError(f"save: expected a dict of name -> tensor (e.g. model.state_dict()), "
                        f"got {type(state_dict).__name__}")
    arrays = {name: _numeric_array(name, value) for name, value in state_dict.items()}
    # What np.savez does, written out so that no key can collide with its keywords
    with zipfile.ZipFile(path, "w") as archive:
        for name, array in arrays.items():
            with archive.open(name + ".npy", "w") as member:  # a 0-d array stays 0-d
                np.lib.format.write_array(member, np.asarray(array, order="C"),
                                          allow_pickle=False)


def load(path: str | os.PathLike) -> dict[str, Tensor]:
    """Read a file written by ``save`` into {name: Tensor}, in the saved order.

    Integer and boolean arrays become float64 tensors (tensors hold floats). Raises
    ValueError for a file that is not such an archive or holds Python objects.
    """
    try:
        archive = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise ValueError(f"load: {os.fspath(path)!r} is not a file written by save() "
                         f"(a NumPy .npz archive): {exc}") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ValueError(f"load: {os.fspath(path)!r} holds a single array, not a state dict "
                         "written by save()")
    result = {}
    with archive:
        for name in archive.files:
            try:
                array = archive[name]
            except ValueError:
                raise ValueError(f"load: entry {name!r} of {os.fspath(path)!r} holds Python "
                                 "objects; load() does not unpickle them") from None
            if array.dtype.kind not in "biuf":
                raise ValueError(f"load: entry {name!r} has non-numeric dtype {array.dtype}")
            result[name] = Tensor._wrap(to_array(array, None, "load"), None)  # ints stay ints
    return result
