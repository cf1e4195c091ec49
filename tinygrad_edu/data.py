"""Mini-batches: the MXNet article's ``data_iter``.

    batches = BatchIterator(x, y, batch_size=10, seed=0)
    for epoch in range(10):
        for xb, yb in batches:          # a new shuffled order every epoch
            ...

Each pass over ``batches`` is one epoch: the rows are put in a random order and cut
into consecutive batches of ``batch_size`` rows (the last one smaller if the rows do
not divide evenly, unless ``drop_last=True``). With a ``seed`` the sequence of orders
is the same on every run.

It is ``torch.utils.data``'s samplers at work (``tinygrad_edu.utils.data``): a
``RandomSampler`` (or ``SequentialSampler``) cut into lists of rows by a
``BatchSampler``; the rows are taken from the arrays at once, so the batches stay
NumPy arrays. For PyTorch's way, ``DataLoader(TensorDataset(x, y), batch_size=10,
shuffle=True)`` gives the batches as tensors.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from ._validate import positive_int
from .creation import Generator
from .tensor import Tensor
from .utils.data import BatchSampler, RandomSampler, SequentialSampler


def _array(data: Any, name: str) -> np.ndarray:
    array = np.asarray(data.array if isinstance(data, Tensor) else data)
    if array.ndim == 0:
        raise ValueError(f"BatchIterator: {name} must have one row per example, got a "
                         f"single number {array.item()!r}")
    return array


class BatchIterator:
    """Shuffled mini-batches of matching rows of x and y, as NumPy arrays."""

    def __init__(self, x: Any, y: Any, batch_size: int = 10, shuffle: bool = True,
                 seed: int | None = None, drop_last: bool = False) -> None:
        self.x = _array(x, "x")
        self.y = _array(y, "y")
        if len(self.x) != len(self.y):
            raise ValueError(f"BatchIterator: x has {len(self.x)} rows but y has "
                             f"{len(self.y)}; they must have one row per example")
        if len(self.x) == 0:
            raise ValueError("BatchIterator: there are no examples (x has 0 rows)")
        batch_size = positive_int(batch_size, "batch_size", "BatchIterator")
        if drop_last and batch_size > len(self.x):
            raise ValueError(f"BatchIterator: batch_size {batch_size} is larger than the "
                             f"{len(self.x)} examples, so drop_last=True leaves no batch")
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.generator = Generator()  # the same orders as NumPy's default_rng(seed)
        if seed is None:
            self.generator.seed()
        else:
            self.generator.manual_seed(seed)
        rows = range(len(self.x))
        sampler = RandomSampler(rows, generator=self.generator) if shuffle \
            else SequentialSampler(rows)
        self.batches = BatchSampler(sampler, batch_size, drop_last)

    def __len__(self) -> int:
        """Batches per epoch."""
        return len(self.batches)

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for rows in self.batches:
            yield self.x[rows], self.y[rows]
