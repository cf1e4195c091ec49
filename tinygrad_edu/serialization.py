"""Checkpoints: ``save(obj, path)`` and ``load(path)``, as ``torch.save`` / ``torch.load``,
without pickle.

    save({"epoch": 3, "model": model.state_dict(), "optim": optimizer.state_dict()},
         "ckpt.pt")
    checkpoint = load("ckpt.pt")
    model.load_state_dict(checkpoint["model"])

``obj`` may be tensors, NumPy arrays and numbers, ints, floats, bools, strings and
None, in dicts (keys: strings, numbers, bools or None), lists and tuples, nested
as deep as needed. The file is a zip archive (what ``numpy.savez`` writes): one
``.npy`` member per array, named after where it sits (``model/0.weight.npy``), and a
``manifest.json`` member describing the structure, for instance

    {"format": "tinygrad_edu checkpoint", "version": 1,
     "object": {"dict": [["epoch", 3],
                         ["model", {"dict": [["w", {"tensor": "model/w.npy",
                                    "dtype": "float32", "shape": [2, 3],
                                    "requires_grad": false}]]}]]}}

Opening a file never runs code from it (a pickle can run any code: that is why
``torch.load`` has ``weights_only``). ``load`` reads the arrays with
``allow_pickle=False`` and checks the whole file (the manifest well formed, every
array it names present with the dtype and shape it says, numeric dtypes, nothing
else in the archive) before it returns anything; a file that fails is a ValueError.
Files of the earlier format (a flat ``.npz`` of name -> array, also what
``numpy.savez(path, **arrays)`` writes) load as {name: tensor}.
"""

from __future__ import annotations

import json
import os
import re
import zipfile
from collections.abc import Mapping
from typing import IO, Any

import numpy as np

from .convert import DTYPES, to_array
from .devices import check as check_device
from .nn import Parameter
from .tensor import Tensor

FORMAT = "tinygrad_edu checkpoint"
VERSION = 1
MANIFEST = "manifest.json"
NUMERIC = "biuf"  # dtype kinds: bool, signed and unsigned ints, floats
KEY_TYPES = (str, int, float, bool, type(None))  # dict keys JSON can hold as they are
KINDS = {"list", "tuple", "dict", "tensor", "ndarray", "numpy"}  # the manifest's objects
FileLike = str | os.PathLike | IO[bytes]


# --- save ---------------------------------------------------------------------------------


def _where(path: tuple) -> str:
    """``obj['model']['w']``: where a value sits inside the saved object."""
    return "obj" + "".join(f"[{key!r}]" for key in path)


def _member_name(path: tuple) -> str:
    """A readable archive name for the array at ``path``: its keys joined by '/', each
    kept to letters, digits, '_', '.' and '-'."""
    parts = [re.sub(r"[^\w.-]", "_", str(key)).strip(".") or "_" for key in path]
    return "/".join(parts) or "obj"


class _Writer:
    """Turns an object into the manifest's JSON node and the arrays it names."""

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}
        self.seen: dict[int, dict] = {}  # id of a saved tensor or array -> its node
        self.open: set[int] = set()  # ids of the containers being written (cycles)

    def array(self, path: tuple, array: np.ndarray) -> str:
        if array.dtype.kind not in NUMERIC:
            raise TypeError(f"save: {_where(path)} has dtype {array.dtype}; only numbers "
                            "(bool, int, uint, float) can be saved without pickle")
        base = name = _member_name(path)
        k = 1
        while name + ".npy" in self.arrays:  # two keys that look alike ('a b', 'a_b')
            k += 1
            name = f"{base}~{k}"
        self.arrays[name + ".npy"] = np.asarray(array, order="C")
        return name + ".npy"

    def node(self, value: Any, path: tuple) -> Any:
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, (Tensor, np.ndarray, np.generic)):
            if id(value) in self.seen:  # the same tensor twice: loaded as one tensor
                return self.seen[id(value)]
            node = self.leaf(value, path)
            self.seen[id(value)] = node
            return node
        if isinstance(value, int):
            return int(value)  # an IntEnum or another subclass: its number
        if isinstance(value, float):
            return float(value)
        if isinstance(value, (Mapping, list, tuple)):
            if id(value) in self.open:
                raise ValueError(f"save: {_where(path)} contains itself; a checkpoint "
                                 "must be a tree")
            self.open.add(id(value))
            node = self.container(value, path)
            self.open.discard(id(value))
            return node
        advice = "save its state_dict() instead" if callable(getattr(value, "state_dict", None)) \
            else "convert it to one of those first"
        raise TypeError(f"save: {_where(path)} is a {type(value).__name__}; save() writes "
                        "tensors, NumPy arrays, numbers, strings and None, in dicts, lists "
                        f"and tuples (anything else would need pickle): {advice}")

    def leaf(self, value: Any, path: tuple) -> dict:
        if isinstance(value, Tensor):
            array = value.array
            node = {"tensor": self.array(path, array), "dtype": array.dtype.name,
                    "shape": list(array.shape), "requires_grad": bool(value.requires_grad)}
            if isinstance(value, Parameter):
                node["parameter"] = True
            return node
        if isinstance(value, np.generic):
            array = np.asarray(value)
            return {"numpy": self.array(path, array), "dtype": array.dtype.name}
        return {"ndarray": self.array(path, value), "dtype": value.dtype.name,
                "shape": list(value.shape)}

    def container(self, value: Any, path: tuple) -> dict:
        if isinstance(value, Mapping):
            items = []
            for key, item in value.items():
                if not isinstance(key, KEY_TYPES):
                    raise TypeError(f"save: {_where(path)} has a key of type "
                                    f"{type(key).__name__} ({key!r}); keys must be strings, "
                                    "ints, floats, bools or None")
                items.append([key, self.node(item, (*path, key))])
            return {"dict": items}
        kind = "tuple" if isinstance(value, tuple) else "list"
        return {kind: [self.node(item, (*path, k)) for k, item in enumerate(value)]}


def save(obj: Any, f: FileLike, pickle_module: Any = None, pickle_protocol: int = 2) -> None:
    """Write ``obj`` (tensors, arrays, numbers, strings, None, in dicts, lists and
    tuples) to ``f``, a path (used as given: no suffix is added) or a binary file.

    Everything is checked before the file is opened, so a TypeError for an object
    that cannot be saved leaves an existing file as it was. ``pickle_module`` and
    ``pickle_protocol`` are accepted for PyTorch's sake and ignored: nothing is pickled.
    """
    writer = _Writer()
    root = writer.node(obj, ())
    manifest = json.dumps({"format": FORMAT, "version": VERSION, "object": root})
    with zipfile.ZipFile(f, "w") as archive:
        archive.writestr(MANIFEST, manifest)
        for name, array in writer.arrays.items():
            with archive.open(name, "w", force_zip64=True) as member:
                np.lib.format.write_array(member, array, allow_pickle=False)


# --- load ---------------------------------------------------------------------------------


class _Invalid(Exception):
    """A problem found in a file; load() turns it into a ValueError naming the file."""


def _pytorch_advice(name: str) -> str:
    return (f"tinygrad_edu does not read pickles, since opening one can run any code. "
            f"Convert it once with PyTorch: state = torch.load({name}, weights_only=True), "
            f"then numpy.savez('converted.npz', **{{k: v.numpy() for k, v in state.items()}}) "
            "for a state dict of tensors, and load('converted.npz') here")


def _header(f: FileLike) -> bytes:
    """The first bytes of the file (a file object is put back where it was)."""
    if isinstance(f, (str, os.PathLike)):
        with open(f, "rb") as file:
            return file.read(8)
    start = f.tell()
    head = f.read(8)
    f.seek(start)
    return head


def _read_arrays(archive: zipfile.ZipFile, names: list[str]) -> dict[str, np.ndarray]:
    arrays = {}
    for name in names:
        if not name.endswith(".npy"):
            raise _Invalid(f"the archive holds {name!r}, which is neither an array nor "
                           "the manifest")
        try:
            with archive.open(name) as member:
                array = np.lib.format.read_array(member, allow_pickle=False)
        except ValueError as exc:
            if "allow_pickle" in str(exc) or "Object arrays" in str(exc):
                raise _Invalid(f"array {name!r} holds Python objects; load() does not "
                               "unpickle them") from None
            raise _Invalid(f"array {name!r} is damaged: {exc}") from None
        except (OSError, EOFError, zipfile.BadZipFile) as exc:
            raise _Invalid(f"array {name!r} is damaged: {exc}") from None
        if array.dtype.kind not in NUMERIC:
            raise _Invalid(f"array {name!r} has non-numeric dtype {array.dtype}")
        arrays[name] = array
    return arrays


class _Reader:
    """Rebuilds the object from the manifest's JSON, checking every node."""

    def __init__(self, arrays: dict[str, np.ndarray]) -> None:
        self.arrays = arrays
        self.made: dict[str, tuple[str, Any]] = {}  # member -> (kind, the object made)

    def node(self, node: Any, where: str) -> Any:
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        kinds = sorted(set(node) & KINDS) if isinstance(node, dict) else []
        if len(kinds) != 1:
            raise _Invalid(f"{where}: expected a value or an object of one of the kinds "
                           f"{sorted(KINDS)}, got {str(node)[:60]}")
        kind = kinds[0]
        if kind in ("list", "tuple", "dict"):
            if len(node) != 1 or not isinstance(node[kind], list):
                raise _Invalid(f"{where}: a {kind} must be {{{kind!r}: [...]}}")
            if kind == "dict":
                return self.mapping(node["dict"], where)
            items = [self.node(item, f"{where}[{k}]") for k, item in enumerate(node[kind])]
            return tuple(items) if kind == "tuple" else items
        return self.leaf(kind, node, where)

    def mapping(self, items: list, where: str) -> dict:
        result = {}
        for item in items:
            if not (isinstance(item, list) and len(item) == 2 and isinstance(item[0], KEY_TYPES)):
                raise _Invalid(f"{where}: a dict entry must be [key, value], got {item!r:.60}")
            key, value = item
            if key in result:
                raise _Invalid(f"{where}: the key {key!r} comes twice")
            result[key] = self.node(value, f"{where}[{key!r}]")
        return result

    def leaf(self, kind: str, node: dict, where: str) -> Any:
        fields = {"tensor": {"tensor", "dtype", "shape", "requires_grad", "parameter"},
                  "ndarray": {"ndarray", "dtype", "shape"}, "numpy": {"numpy", "dtype"}}[kind]
        if not set(node) <= fields or "dtype" not in node:
            raise _Invalid(f"{where}: a {kind} entry has the fields {sorted(node)}, "
                           f"expected {sorted(fields)}")
        name = node[kind]
        if not isinstance(name, str) or name not in self.arrays:
            raise _Invalid(f"{where}: the manifest names the array {name!r}, which is not "
                           "in the file")
        if name in self.made:  # the same tensor saved twice: the same object again
            made_kind, made = self.made[name]
            if made_kind != kind:
                raise _Invalid(f"{where}: the array {name!r} is used as a {made_kind} and "
                               f"as a {kind}")
            return made
        array = self.arrays[name]
        shape = list(array.shape)
        if node["dtype"] != array.dtype.name:
            raise _Invalid(f"{where}: the manifest says dtype {node['dtype']!r}, the array "
                           f"{name!r} has {array.dtype.name}")
        if node.get("shape", []) != shape:
            raise _Invalid(f"{where}: the manifest says shape {node.get('shape', [])}, the "
                           f"array {name!r} has {shape}")
        if kind == "ndarray":
            made = array
        elif kind == "numpy":
            made = array[()]
        else:
            made = self.tensor(node, array, where)
        self.made[name] = (kind, made)
        return made

    def tensor(self, node: dict, array: np.ndarray, where: str) -> Tensor:
        if array.dtype not in DTYPES:
            raise _Invalid(f"{where}: a tensor cannot hold dtype {array.dtype}")
        requires_grad = node.get("requires_grad", False)
        parameter = node.get("parameter", False)
        if not isinstance(requires_grad, bool) or not isinstance(parameter, bool):
            raise _Invalid(f"{where}: requires_grad and parameter must be true or false")
        if requires_grad and array.dtype.kind != "f":
            raise _Invalid(f"{where}: a {array.dtype} tensor cannot require grad")
        t = (Parameter if parameter else Tensor)._wrap(array, None)
        t.requires_grad = requires_grad
        return t


def _check_options(map_location: Any, weights_only: Any, mmap: Any) -> None:
    if isinstance(map_location, Mapping) or callable(map_location):
        pass  # a remapping of devices: there is only the CPU, so nothing moves
    else:
        check_device(map_location, "load")  # None, 'cpu', a device; 'cuda' is an error
    for name, value in (("weights_only", weights_only), ("mmap", mmap)):
        if value is not None and not isinstance(value, bool):
            raise TypeError(f"load: {name} must be True, False or None, got {value!r}")


def load(f: FileLike, map_location: Any = None, pickle_module: Any = None, *,
         weights_only: bool | None = None, mmap: bool | None = None) -> Any:
    """Read what ``save`` wrote to ``f`` (a path or a binary file) and return it: the
    same nesting, tensors with their dtype and requires_grad, tuples as tuples.

    The whole file is checked first; anything wrong raises ValueError naming the file
    and what is wrong, so nothing half-read is ever returned. A file written by
    PyTorch's ``torch.save`` (a pickle) is refused with a way to convert it.
    ``map_location`` ('cpu', a device, a dict or a function: there is only the CPU),
    ``weights_only`` (the format only ever holds data, so True and False read the same)
    and ``mmap`` (the arrays are read into memory) are PyTorch's keywords;
    ``pickle_module`` is accepted and ignored (nothing is unpickled).
    """
    _check_options(map_location, weights_only, mmap)
    name = repr(os.fspath(f)) if isinstance(f, (str, os.PathLike)) else "the file"
    head = _header(f)  # FileNotFoundError for a missing path, as PyTorch
    if head.startswith(b"\x93NUMPY"):
        raise ValueError(f"load: {name} holds a single array (numpy.save), not an object "
                         "written by save(); read it with numpy.load")
    if head.startswith(b"\x80"):
        raise ValueError(f"load: {name} is a pickle file (PyTorch's torch.save in its legacy "
                         f"format, or another pickle). " + _pytorch_advice(name))
    try:
        with zipfile.ZipFile(f) as archive:
            names = archive.namelist()
            if any(n == "data.pkl" or n.endswith("/data.pkl") for n in names):
                raise ValueError(f"load: {name} is a PyTorch file written by torch.save (a "
                                 "pickle, data.pkl, inside a zip archive). "
                                 + _pytorch_advice(name))
            if len(set(names)) != len(names):
                raise _Invalid("the archive holds two members of the same name")
            manifest = None
            if MANIFEST in names:
                names.remove(MANIFEST)
                manifest = _manifest(archive.read(MANIFEST))
            arrays = _read_arrays(archive, names)
        if manifest is None:  # the earlier format: a flat .npz of name -> array
            return {n[:-4]: Tensor._wrap(to_array(a, None, "load"), None)
                    for n, a in arrays.items()}
        reader = _Reader(arrays)
        result = reader.node(manifest["object"], "object")
        unused = sorted(set(arrays) - set(reader.made))
        if unused:
            raise _Invalid(f"the archive holds arrays the manifest does not name: {unused}")
        return result
    except _Invalid as problem:
        raise ValueError(f"load: {name} is not a valid checkpoint: {problem}") from None
    except RecursionError:
        raise ValueError(f"load: {name} is not a valid checkpoint: its manifest is nested "
                         "too deeply") from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise ValueError(f"load: {name} is not a file written by save() (a zip archive "
                         f"of arrays; damaged or truncated?): {exc}") from None


def _manifest(raw: bytes) -> dict:
    try:
        manifest = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise _Invalid(f"the manifest is not valid JSON: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT \
            or "object" not in manifest:
        raise _Invalid(f"the manifest is not a {FORMAT} manifest")
    if manifest.get("version") != VERSION:
        raise _Invalid(f"the manifest has version {manifest.get('version')!r}; this "
                       f"version of tinygrad_edu reads version {VERSION}")
    return manifest


