"""Datasets, samplers and the DataLoader, as ``torch.utils.data``.

    dataset = TensorDataset(x, y)                      # rows of x with rows of y
    train, test = random_split(dataset, [0.8, 0.2])
    loader = DataLoader(train, batch_size=32, shuffle=True)
    for epoch in range(10):
        for xb, yb in loader:                         # a new order every epoch
            ...

How a DataLoader makes a batch: its *sampler* lists indices of the dataset
(``SequentialSampler``: 0, 1, 2 ...; ``RandomSampler``: a permutation), its *batch
sampler* cuts them into lists of ``batch_size``, the dataset gives one example per
index, and ``collate_fn`` (``default_collate``) stacks the examples into tensors. Each
piece can be replaced, as in PyTorch.

Randomness comes from a ``tinygrad_edu.Generator`` (``generator=``) or, without one,
from the global generator that ``tinygrad_edu.manual_seed`` seeds: the same seed gives
the same order every run, another seed another order. The orders are NumPy's, so the
same seed gives other orders than PyTorch's.
"""

from __future__ import annotations

import bisect
import math
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from .._validate import positive_int
from ..creation import Generator, multinomial, numpy_rng, randperm
from ..functions import stack, tensor
from ..tensor import Tensor

__all__ = [
    "BatchSampler", "ConcatDataset", "DataLoader", "Dataset", "IterableDataset",
    "RandomSampler", "Sampler", "SequentialSampler", "Subset", "SubsetRandomSampler",
    "TensorDataset", "WeightedRandomSampler", "default_collate", "default_convert",
    "get_worker_info", "random_split",
]


# --- datasets -----------------------------------------------------------------------------


class Dataset:
    """A map-style dataset: ``dataset[i]`` is example i, ``len(dataset)`` how many there
    are. Subclass it and define both; ``a + b`` joins two datasets (ConcatDataset).
    (Any object with ``__getitem__`` and ``__len__``, a list for instance, works too.)"""

    def __getitem__(self, index: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__ "
                                  "(and __len__) to be a Dataset")

    def __add__(self, other: Any) -> ConcatDataset:
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """A dataset read as a stream: define ``__iter__``. A DataLoader cuts the stream into
    batches; it cannot shuffle or sample it."""

    def __iter__(self) -> Iterator:
        raise NotImplementedError(f"{type(self).__name__} must define __iter__ to be an "
                                  "IterableDataset")

    def __add__(self, other: Any) -> Any:
        raise TypeError("IterableDataset: datasets read as streams cannot be joined with +")


def _rows(value: Any, where: str) -> int:
    """How many rows a tensor or array has (its first dimension)."""
    if not isinstance(value, (Tensor, np.ndarray)):
        raise TypeError(f"{where}: expected tensors (or ndarrays), got "
                        f"{type(value).__name__}")
    if value.ndim == 0:
        raise ValueError(f"{where}: a 0-d tensor has no rows; each tensor needs a first "
                         "dimension with one entry per example")
    return value.shape[0]


class TensorDataset(Dataset):
    """Example i is ``(t[i] for t in tensors)``: matching rows of tensors with the same
    first dimension (inputs and targets, say)."""

    def __init__(self, *tensors: Tensor) -> None:
        if not tensors:
            raise ValueError("TensorDataset: give at least one tensor")
        sizes = [_rows(t, "TensorDataset") for t in tensors]
        if len(set(sizes)) != 1:
            raise ValueError(f"TensorDataset: size mismatch between tensors: their first "
                             f"dimensions are {sizes}; every tensor needs one row per example")
        self.tensors = tensors

    def __getitem__(self, index: Any) -> tuple:
        return tuple(t[index] for t in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0].shape[0]


class Subset(Dataset):
    """The examples of ``dataset`` at ``indices``, in that order."""

    def __init__(self, dataset: Any, indices: Sequence[int]) -> None:
        self.dataset = dataset
        self.indices = indices

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, list):  # a list of positions, as PyTorch's Subset
            return self.dataset[[self.indices[i] for i in index]]
        return self.dataset[self.indices[index]]

    def __len__(self) -> int:
        return len(self.indices)


class ConcatDataset(Dataset):
    """Several datasets one after the other (``a + b``)."""

    def __init__(self, datasets: Iterable[Any]) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: datasets should not be an empty iterable")
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise TypeError("ConcatDataset: an IterableDataset has no indices to join")
        self.cumulative_sizes = list(np.cumsum([len(d) for d in self.datasets]).tolist())

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, index: int) -> Any:
        n = len(self)
        if not -n <= index < n:
            raise IndexError(f"ConcatDataset: index {index} is out of range for {n} examples")
        index %= n
        k = bisect.bisect_right(self.cumulative_sizes, index)  # the dataset it falls in
        start = self.cumulative_sizes[k - 1] if k > 0 else 0
        return self.datasets[k][index - start]


def _lengths(n: int, lengths: Sequence[Any]) -> list[int]:
    """random_split's sizes: whole numbers summing to n, or fractions summing to 1."""
    lengths = list(lengths)
    total = sum(lengths) if all(isinstance(x, (int, float)) for x in lengths) else None
    if total is not None and math.isclose(total, 1) and total <= 1:
        for k, fraction in enumerate(lengths):
            if not 0 <= fraction <= 1:
                raise ValueError(f"random_split: fraction at index {k} is not between 0 "
                                 f"and 1, got {fraction}")
        sizes = [math.floor(n * fraction) for fraction in lengths]
        for k in range(n - sum(sizes)):  # what flooring left over, one each, round robin
            sizes[k % len(sizes)] += 1
        for k, size in enumerate(sizes):
            if size == 0:
                warnings.warn(f"random_split: length of split at index {k} is 0; that "
                              "subset is empty", stacklevel=3)
        return sizes
    for k, size in enumerate(lengths):
        if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 0:
            raise ValueError(f"random_split: lengths must be whole numbers >= 0 or "
                             f"fractions summing to 1, got {size!r} at index {k}")
    if sum(lengths) != n:
        raise ValueError(f"random_split: sum of input lengths ({sum(lengths)}) does not "
                         f"equal the length of the input dataset ({n})")
    return [int(size) for size in lengths]


def random_split(dataset: Any, lengths: Sequence[int | float],
                 generator: Generator | None = None) -> list[Subset]:
    """Split ``dataset`` into non-overlapping random Subsets of the given lengths: whole
    numbers summing to ``len(dataset)``, or fractions summing to 1 (``[0.8, 0.2]``;
    what rounding down leaves is given one by one to the first subsets, as PyTorch)."""
    sizes = _lengths(len(dataset), lengths)
    order = randperm(sum(sizes), generator=generator).tolist()
    offsets = np.cumsum([0, *sizes]).tolist()
    return [Subset(dataset, order[start:stop]) for start, stop in zip(offsets, offsets[1:])]


# --- samplers: which indices, in which order ----------------------------------------------


class Sampler:
    """Lists indices of a dataset: subclass it and define ``__iter__`` (and ``__len__``)."""

    def __init__(self, data_source: Any = None) -> None:
        pass

    def __iter__(self) -> Iterator[int]:
        raise NotImplementedError(f"{type(self).__name__} must define __iter__")


class SequentialSampler(Sampler):
    """0, 1, ..., len(data_source) - 1."""

    def __init__(self, data_source: Any) -> None:
        self.data_source = data_source

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


def _flag(value: Any, name: str, where: str) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{where}: {name} should be a boolean value, got {value!r}")
    return value


def _generator(generator: Any, where: str) -> Generator | None:
    numpy_rng(generator, where)  # a TypeError for anything but None or a Generator
    return generator


class RandomSampler(Sampler):
    """The indices in a random order, a new one every pass: a permutation (repeated if
    ``num_samples`` is larger than the dataset), or with ``replacement=True``
    ``num_samples`` indices drawn independently."""

    def __init__(self, data_source: Any, replacement: bool = False,
                 num_samples: int | None = None, generator: Generator | None = None) -> None:
        self.data_source = data_source
        self.replacement = _flag(replacement, "replacement", "RandomSampler")
        self._num_samples = None if num_samples is None else \
            positive_int(num_samples, "num_samples", "RandomSampler")
        self.generator = _generator(generator, "RandomSampler")

    @property
    def num_samples(self) -> int:
        n = self._num_samples
        return len(self.data_source) if n is None else n

    def __iter__(self) -> Iterator[int]:
        n, count = len(self.data_source), self.num_samples
        rng = numpy_rng(self.generator, "RandomSampler")  # looked up now: manual_seed renews it
        if self.replacement:
            yield from rng.integers(0, n, size=count).tolist()
            return
        for _ in range(count // n):
            yield from rng.permutation(n).tolist()
        if count % n:
            yield from rng.permutation(n)[:count % n].tolist()

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given ``indices`` in a random order, a new one every pass."""

    def __init__(self, indices: Sequence[int], generator: Generator | None = None) -> None:
        self.indices = indices
        self.generator = _generator(generator, "SubsetRandomSampler")

    def __iter__(self) -> Iterator[int]:
        order = numpy_rng(self.generator, "SubsetRandomSampler").permutation(len(self.indices))
        return (self.indices[k] for k in order.tolist())

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """``num_samples`` indices 0 ... len(weights) - 1, index i drawn with probability
    proportional to ``weights[i]`` (with replacement unless ``replacement=False``)."""

    def __init__(self, weights: Any, num_samples: int, replacement: bool = True,
                 generator: Generator | None = None) -> None:
        self.weights = tensor(weights.array if isinstance(weights, Tensor) else weights,
                              dtype=np.float64)
        if self.weights.ndim != 1:
            raise ValueError(f"WeightedRandomSampler: weights must be a sequence of "
                             f"numbers, got shape {self.weights.shape}")
        self.num_samples = positive_int(num_samples, "num_samples", "WeightedRandomSampler")
        self.replacement = _flag(replacement, "replacement", "WeightedRandomSampler")
        self.generator = _generator(generator, "WeightedRandomSampler")

    def __iter__(self) -> Iterator[int]:
        drawn = multinomial(self.weights, self.num_samples, self.replacement,
                            generator=self.generator)
        return iter(drawn.tolist())

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler):
    """The indices of ``sampler`` in lists of ``batch_size`` (the last one shorter
    unless ``drop_last=True``, which leaves it out)."""

    def __init__(self, sampler: Iterable[int], batch_size: int, drop_last: bool) -> None:
        self.sampler = sampler
        self.batch_size = positive_int(batch_size, "batch_size", "BatchSampler")
        if not isinstance(drop_last, bool):
            raise ValueError(f"BatchSampler: drop_last should be a boolean value, got "
                             f"{drop_last!r}")
        self.drop_last = drop_last

    def __iter__(self) -> Iterator[list[int]]:
        batch = []
        for index in self.sampler:
            batch.append(index)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self) -> int:
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)


# --- collating: examples into a batch -----------------------------------------------------


def _is_namedtuple(x: Any) -> bool:
    return isinstance(x, tuple) and hasattr(x, "_fields")


def _collate_error(elem: Any) -> TypeError:
    return TypeError(f"default_collate: batch must contain tensors, numpy arrays, numbers, "
                     f"dicts or lists; found {type(elem).__name__}. Give the DataLoader a "
                     "collate_fn for other examples")


def default_collate(batch: Sequence[Any]) -> Any:
    """Join a list of examples into a batch, as PyTorch's: tensors and arrays are
    stacked along a new first dimension, Python ints become an int64 tensor, floats a
    float64 one, bools a bool one, strings stay a list; dicts, tuples and lists are
    joined entry by entry (a tuple gives a list, as PyTorch's; a namedtuple stays one)."""
    elem = batch[0]
    if isinstance(elem, (Tensor, np.ndarray)):
        if isinstance(elem, np.ndarray) and elem.dtype.kind in "OUSV":
            raise _collate_error(elem)
        for k, example in enumerate(batch):
            if type(example) is not type(elem) or example.shape != elem.shape:
                got = example.shape if type(example) is type(elem) else \
                    f"a {type(example).__name__}"
                raise RuntimeError(f"default_collate: stack expects each tensor to be equal "
                                   f"size, but got {elem.shape} at entry 0 and {got} at "
                                   f"entry {k}")
        if isinstance(elem, Tensor) and any(t.requires_grad for t in batch):
            return stack(batch, 0)  # recorded: gradients flow back to the examples
        # plain data: one NumPy stack (the same values as stack(), without a graph op per
        # example)
        return tensor(np.stack([e.numpy() if isinstance(e, Tensor) else e for e in batch]))
    if isinstance(elem, np.generic) and not isinstance(elem, (np.str_, np.bytes_)):
        return tensor(np.array(batch))  # NumPy numbers keep their dtype
    if isinstance(elem, float):
        return tensor(batch, dtype=np.float64)
    if isinstance(elem, int):  # also bool: a bool tensor
        return tensor(batch)
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, Mapping):
        return {key: default_collate([example[key] for example in batch]) for key in elem}
    if isinstance(elem, Sequence):
        sizes = [len(example) for example in batch]
        if len(set(sizes)) != 1:
            raise RuntimeError(f"default_collate: each element in list of batch should be "
                               f"of equal size, got sizes {sizes}")
        joined = [default_collate(samples) for samples in zip(*batch)]
        return type(elem)(*joined) if _is_namedtuple(elem) else joined
    raise _collate_error(elem)


def default_convert(data: Any) -> Any:
    """What a DataLoader without batching (``batch_size=None``) does to each example:
    NumPy arrays and numbers become tensors, in dicts, tuples and lists too (a tuple
    gives a list, as PyTorch's); everything else is left as it is."""
    if isinstance(data, np.ndarray):
        return data if data.dtype.kind in "OUSV" else tensor(data)
    if isinstance(data, np.generic) and not isinstance(data, (np.str_, np.bytes_)):
        return tensor(data)
    if isinstance(data, Mapping):
        return {key: default_convert(value) for key, value in data.items()}
    if _is_namedtuple(data):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, Sequence) and not isinstance(data, (str, bytes, Tensor)):
        return [default_convert(d) for d in data]
    return data


def get_worker_info() -> None:
    """None: the DataLoader always loads in the calling process (see DataLoader)."""
    return None


# --- the loader ---------------------------------------------------------------------------


class DataLoader:
    """Batches of a dataset, as ``torch.utils.data.DataLoader``; iterate over it once
    per epoch (``len(loader)`` batches).

    batch_size: examples per batch, or None for no batching (each example on its own,
    through ``default_convert``). shuffle: a new random order every epoch, drawn from
    ``generator`` or the global generator. sampler / batch_sampler: your own order of
    indices / of lists of indices instead. collate_fn: how a list of examples becomes
    a batch (``default_collate``). drop_last: leave out the last batch if it is short.

    num_workers > 0 is accepted but loads in this process (no worker processes, so
    ``worker_init_fn`` is not called and ``get_worker_info()`` is None); pin_memory,
    timeout, prefetch_factor, persistent_workers and the other multiprocessing options
    are accepted and have no effect here (the CPU is the only device).
    """

    def __init__(self, dataset: Any, batch_size: int | None = 1, shuffle: bool | None = None,
                 sampler: Iterable[int] | None = None,
                 batch_sampler: Iterable[list[int]] | None = None, num_workers: int = 0,
                 collate_fn: Callable[[Any], Any] | None = None, pin_memory: bool = False,
                 drop_last: bool = False, timeout: float = 0,
                 worker_init_fn: Callable[[int], None] | None = None,
                 multiprocessing_context: Any = None, generator: Generator | None = None,
                 *, prefetch_factor: int | None = None, persistent_workers: bool = False,
                 pin_memory_device: str = "", in_order: bool = True) -> None:
        if isinstance(num_workers, bool) or not isinstance(num_workers, (int, np.integer)) \
                or num_workers < 0:
            raise ValueError(f"DataLoader: num_workers should be a non-negative int, got "
                             f"{num_workers!r}; use num_workers=0 to load in this process")
        self.iterable = isinstance(dataset, IterableDataset)
        if not self.iterable and not hasattr(dataset, "__getitem__"):
            raise TypeError(f"DataLoader: dataset must be map-style (with __getitem__ and "
                            f"__len__) or an IterableDataset, got {type(dataset).__name__}; "
                            "to read a stream, subclass tinygrad_edu.utils.data.IterableDataset")
        if batch_size is not None:
            batch_size = positive_int(batch_size, "batch_size", "DataLoader")
        if batch_size is None and drop_last:
            raise ValueError("DataLoader: batch_size=None disables batching and is "
                             "mutually exclusive with drop_last")
        generator = _generator(generator, "DataLoader")
        if self.iterable:
            for name, value in (("shuffle", shuffle), ("sampler", sampler),
                                ("batch_sampler", batch_sampler)):
                if value not in (None, False):
                    raise ValueError(f"DataLoader with IterableDataset: expected unspecified "
                                     f"{name} option, but got {name}={value!r}: a stream "
                                     "has no indices to order")
        elif batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("DataLoader: batch_sampler option is mutually exclusive "
                                 "with batch_size, shuffle, sampler, and drop_last")
            batch_size, drop_last = None, False
        else:
            if sampler is not None and shuffle:
                raise ValueError("DataLoader: sampler option is mutually exclusive with "
                                 "shuffle")
            if sampler is None:
                if not hasattr(dataset, "__len__"):
                    raise TypeError(f"DataLoader: the dataset ({type(dataset).__name__}) has "
                                    "no __len__, so its indices are unknown; define "
                                    "__len__ or give sampler=")
                sampler = RandomSampler(dataset, generator=generator) if shuffle \
                    else SequentialSampler(dataset)
            if batch_size is not None:
                batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.dataset = dataset
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.num_workers = int(num_workers)
        self.generator = generator
        self.pin_memory = pin_memory
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.prefetch_factor = prefetch_factor
        self.persistent_workers = persistent_workers
        batching = batch_sampler is not None or (self.iterable and batch_size is not None)
        if collate_fn is None:
            collate_fn = default_collate if batching else default_convert
        self.collate_fn = collate_fn

    def __iter__(self) -> Iterator[Any]:
        if self.iterable:
            return self._stream()
        if self.batch_sampler is not None:
            return (self.collate_fn([self.dataset[i] for i in indices])
                    for indices in self.batch_sampler)
        return (self.collate_fn(self.dataset[i]) for i in self.sampler)

    def _stream(self) -> Iterator[Any]:
        """An IterableDataset's examples, cut into batches."""
        if self.batch_size is None:
            for example in self.dataset:
                yield self.collate_fn(example)
            return
        batch = []
        for example in self.dataset:
            batch.append(example)
            if len(batch) == self.batch_size:
                yield self.collate_fn(batch)
                batch = []
        if batch and not self.drop_last:
            yield self.collate_fn(batch)

    def __len__(self) -> int:
        """Batches per epoch (examples, without batching)."""
        if self.iterable:
            n = len(self.dataset)  # a TypeError if the stream has no length, as PyTorch
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)
        return len(self.batch_sampler if self.batch_sampler is not None else self.sampler)
