"""tinygrad_edu.utils.data against torch.utils.data: datasets, samplers, collating and
the DataLoader. Orders without shuffling, batches, dtypes and shapes are compared with
PyTorch itself (those tests are skipped without it); shuffled orders are NumPy's, so
they are checked for being permutations that a seed reproduces."""

from __future__ import annotations

import warnings
from collections import namedtuple

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu.utils.data import (
    BatchSampler,
    ConcatDataset,
    DataLoader,
    Dataset,
    IterableDataset,
    RandomSampler,
    SequentialSampler,
    Subset,
    SubsetRandomSampler,
    TensorDataset,
    WeightedRandomSampler,
    default_collate,
    default_convert,
    get_worker_info,
    random_split,
)

Point = namedtuple("Point", "x y")


def plain(batch):
    """A batch of either library as plain Python, to compare the two: a tensor becomes
    ('tensor', dtype name, shape, values); containers keep their kind."""
    if hasattr(batch, "dtype") and hasattr(batch, "tolist") and not isinstance(batch, np.ndarray):
        dtype = str(batch.dtype).replace("torch.", "")
        return ("tensor", dtype, tuple(batch.shape), batch.tolist())
    if isinstance(batch, dict):
        return {key: plain(value) for key, value in batch.items()}
    if isinstance(batch, tuple) and hasattr(batch, "_fields"):
        return (type(batch).__name__, *(plain(v) for v in batch))
    if isinstance(batch, tuple):
        return ("tuple", *(plain(v) for v in batch))
    if isinstance(batch, list):
        return [plain(v) for v in batch]
    return batch


def order(loader):
    """The labels of a TensorDataset(x, labels) loader, in the order it gives them."""
    return [int(v) for _, labels in loader for v in labels.tolist()]


def labelled(n=10):
    return TensorDataset(tg.arange(2.0 * n).reshape(n, 2), tg.arange(n))


# --- datasets ----------------------------------------------------------------------------


def test_tensor_dataset_pairs_rows_and_names_mismatched_sizes():
    dataset = labelled(5)
    x, label = dataset[3]
    assert len(dataset) == 5 and x.tolist() == [6.0, 7.0] and label.item() == 3
    with pytest.raises(ValueError, match=r"first dimensions are \[5, 4\]"):
        TensorDataset(tg.zeros(5, 2), tg.zeros(4))
    with pytest.raises(ValueError, match="at least one tensor"):
        TensorDataset()
    with pytest.raises(ValueError, match="0-d tensor has no rows"):
        TensorDataset(tg.tensor(1.0))
    with pytest.raises(TypeError, match="expected tensors"):
        TensorDataset([1, 2, 3])


def test_subset_concat_and_the_dataset_base_class():
    dataset = labelled(5)
    subset = Subset(dataset, [4, 0])
    assert len(subset) == 2 and subset[0][1].item() == 4
    assert subset[[0, 1]][1].tolist() == [4, 0]  # a list of positions, as PyTorch's
    both = dataset + Subset(dataset, [1])
    assert isinstance(both, ConcatDataset) and len(both) == 6
    assert both[5][1].item() == 1 and both[-1][1].item() == 1 and both[4][1].item() == 4
    with pytest.raises(IndexError, match="index 6 is out of range for 6"):
        both[6]
    with pytest.raises(ValueError, match="empty"):
        ConcatDataset([])

    class Squares(Dataset):
        def __getitem__(self, i):
            return i * i

        def __len__(self):
            return 4

    assert [b.tolist() for b in DataLoader(Squares(), batch_size=3)] == [[0, 1, 4], [9]]
    with pytest.raises(NotImplementedError, match="__getitem__"):
        Dataset()[0]


def test_random_split_sizes_are_disjoint_and_cover_the_dataset():
    parts = random_split(range(10), [3, 7], generator=tg.Generator().manual_seed(0))
    assert [len(p) for p in parts] == [3, 7]
    assert sorted(parts[0].indices + parts[1].indices) == list(range(10))
    again = random_split(range(10), [3, 7], generator=tg.Generator().manual_seed(0))
    assert again[0].indices == parts[0].indices
    other = random_split(range(10), [3, 7], generator=tg.Generator().manual_seed(1))
    assert other[0].indices != parts[0].indices
    tg.manual_seed(4)
    first = random_split(range(10), [5, 5])[0].indices
    tg.manual_seed(4)
    assert random_split(range(10), [5, 5])[0].indices == first  # the global generator


@pytest.mark.parametrize("n, fractions", [(10, [0.8, 0.2]), (10, [0.5, 0.3, 0.2]),
                                          (11, [0.5, 0.5]), (7, [0.1, 0.1, 0.8]),
                                          (100, [0.7, 0.15, 0.15])])
def test_random_split_fractions_give_pytorchs_sizes(n, fractions):
    torch = pytest.importorskip("torch")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a zero-length split warns, in both
        ours = [len(p) for p in random_split(range(n), fractions)]
        theirs = [len(p) for p in torch.utils.data.random_split(range(n), fractions)]
    assert ours == theirs


def test_random_split_errors_and_the_empty_split_warning():
    with pytest.raises(ValueError, match=r"sum of input lengths \(6\) does not equal .* \(10\)"):
        random_split(range(10), [3, 3])
    with pytest.raises(ValueError, match="fraction at index 0 is not between 0 and 1"):
        random_split(range(10), [1.5, -0.5])
    with pytest.raises(ValueError, match="whole numbers >= 0"):
        random_split(range(10), [-1, 11])
    with pytest.warns(UserWarning, match="index 1 is 0"):
        parts = random_split(range(2), [0.1, 0.1, 0.8])
    assert [len(p) for p in parts] == [1, 0, 1]


# --- collating ---------------------------------------------------------------------------


COLLATE_CASES = {
    "ints": [1, 2, 3],
    "floats": [1.5, 2.0],
    "bools": [True, False],
    "numpy float32 scalars": [np.float32(1.0), np.float32(2.5)],
    "numpy arrays": [np.array([1, 2]), np.array([3, 4])],
    "float32 arrays": [np.ones((2, 2), np.float32), np.zeros((2, 2), np.float32)],
    "tuples": [(1, 2.0), (3, 4.0)],
    "lists": [[1, 2], [3, 4]],
    "dicts": [{"a": 1, "b": (1.0, 2)}, {"a": 2, "b": (3.0, 4)}],
    "strings": [(1, "cat"), (2, "dog")],
    "namedtuples": [Point(1, 2.0), Point(3, 4.0)],
    "uint8 and bool arrays": [(np.array([1], np.uint8), np.array([True])),
                              (np.array([2], np.uint8), np.array([False]))],
}


@pytest.mark.parametrize("case", COLLATE_CASES)
def test_default_collate_matches_pytorch(case):
    torch = pytest.importorskip("torch")
    batch = COLLATE_CASES[case]
    assert plain(default_collate(batch)) == plain(torch.utils.data.default_collate(batch))


def test_python_floats_collate_to_float64_whatever_the_default_dtype():
    """As PyTorch's, whose default dtype is float32: a batch of floats is float64."""
    tg.set_default_dtype(tg.float32)
    try:
        assert default_collate([1.5, 2.0]).dtype == tg.float64
        assert default_collate([tg.tensor(1.5), tg.tensor(2.0)]).dtype == tg.float32
    finally:
        tg.set_default_dtype(tg.float64)


def test_default_collate_stacks_tensors_and_keeps_gradients_flowing():
    torch = pytest.importorskip("torch")
    rows = [tg.tensor([1.0, 2.0], dtype=tg.float32), tg.tensor([3.0, 4.0], dtype=tg.float32)]
    theirs = [torch.tensor(r.tolist()) for r in rows]
    assert plain(default_collate(rows)) == plain(torch.utils.data.default_collate(theirs))
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    batch = default_collate([w * 2, w * 3])
    batch.sum().backward()
    assert batch.shape == (2, 2) and w.grad.tolist() == [5.0, 5.0]


def test_default_collate_errors_are_pytorchs_types():
    with pytest.raises(RuntimeError, match=r"equal size, but got \(2,\) at entry 0 and \(3,\)"):
        default_collate([tg.ones(2), tg.ones(3)])
    with pytest.raises(RuntimeError, match="each element in list of batch should be of "
                                           r"equal size, got sizes \[2, 1\]"):
        default_collate([[1, 2], [3]])
    with pytest.raises(TypeError, match="found object. Give the DataLoader a collate_fn"):
        default_collate([object()])
    with pytest.raises(TypeError, match="found ndarray"):
        default_collate([np.array(["a"]), np.array(["b"])])


def test_default_convert_matches_pytorch():
    torch = pytest.importorskip("torch")
    for data in [(np.ones(2), 1, {"a": np.zeros(1)}), [np.float32(2.0)], "text", 3.5,
                 Point(np.arange(2), 1)]:
        assert plain(default_convert(data)) == plain(torch.utils.data.default_convert(data))


# --- the DataLoader against PyTorch's, without shuffling --------------------------------


def loader_cases(torch):
    """(name, our dataset, PyTorch's, keyword arguments) for the same data."""
    x = np.arange(30, dtype=np.float32).reshape(10, 3)
    y = np.arange(10)
    examples = [(float(i), i, np.full(2, i, np.int32), f"s{i}") for i in range(7)]
    dicts = [{"x": np.ones(2) * i, "label": i % 2 == 0} for i in range(5)]
    ours_td = TensorDataset(tg.tensor(x), tg.tensor(y))
    theirs_td = torch.utils.data.TensorDataset(torch.tensor(x), torch.tensor(y))
    return [
        ("tensors, batch 3", ours_td, theirs_td, {"batch_size": 3}),
        ("tensors, drop_last", ours_td, theirs_td, {"batch_size": 3, "drop_last": True}),
        ("tensors, one batch", ours_td, theirs_td, {"batch_size": 64}),
        ("tensors, batch_size=1", ours_td, theirs_td, {}),
        ("tensors, no batching", ours_td, theirs_td, {"batch_size": None}),
        ("a tensor as the dataset", tg.tensor(x), torch.tensor(x), {"batch_size": 4}),
        ("a list of tuples", examples, examples, {"batch_size": 3}),
        ("a list of dicts", dicts, dicts, {"batch_size": 2}),
        ("no batching of numpy", dicts, dicts, {"batch_size": None}),
        ("a sampler", ours_td, theirs_td, {"batch_size": 2, "sampler": [9, 0, 4]}),
        ("a batch sampler", ours_td, theirs_td, {"batch_sampler": [[1, 2], [0], [5, 6, 7]]}),
        ("a collate_fn", examples, examples, {"batch_size": 4, "collate_fn": list}),
    ]


@pytest.mark.parametrize("case", range(12))
def test_loader_without_shuffle_gives_pytorchs_batches(case):
    torch = pytest.importorskip("torch")
    name, ours, theirs, kwargs = loader_cases(torch)[case]
    mine, pytorchs = DataLoader(ours, **kwargs), torch.utils.data.DataLoader(theirs, **kwargs)
    assert len(mine) == len(pytorchs), name
    assert [plain(b) for b in mine] == [plain(b) for b in pytorchs], name
    assert [plain(b) for b in mine] == [plain(b) for b in pytorchs], "a second epoch"


@pytest.mark.parametrize("n, batch_size", [(10, 3), (9, 3), (2, 5), (1, 1), (0, 4)])
def test_len_and_drop_last(n, batch_size):
    dataset = labelled(n)
    for drop_last in (False, True):
        loader = DataLoader(dataset, batch_size=batch_size, drop_last=drop_last)
        sizes = [len(labels) for _, labels in loader]
        assert len(loader) == len(sizes)
        full, rest = divmod(n, batch_size)
        assert sizes == [batch_size] * full + ([rest] if rest and not drop_last else [])


def test_num_workers_are_accepted_and_load_in_this_process():
    loader = DataLoader(labelled(), batch_size=4, num_workers=2, pin_memory=True,
                        persistent_workers=True, prefetch_factor=2, timeout=5)
    assert order(loader) == list(range(10)) and get_worker_info() is None


def test_the_package_is_torch_utils_data():
    import tinygrad_edu.utils.data as module
    assert tg.utils.data is module and tg.utils.data.DataLoader is DataLoader
    x = tg.randn(6, 2)
    features, labels = next(iter(tg.utils.data.DataLoader(  # d2l's load_array
        tg.utils.data.TensorDataset(x, x.sum(1)), batch_size=4, shuffle=True)))
    assert features.shape == (4, 2) and labels.shape == (4,)


# --- shuffling: seeded, reproducible -----------------------------------------------------


def test_shuffle_follows_manual_seed():
    loader = DataLoader(labelled(20), batch_size=6, shuffle=True)
    tg.manual_seed(0)
    first, second = order(loader), order(loader)
    assert sorted(first) == list(range(20)) and sorted(second) == list(range(20))
    assert first != second  # a new order every epoch
    tg.manual_seed(0)
    assert order(loader) == first and order(loader) == second
    tg.manual_seed(1)
    assert order(loader) != first


def test_shuffle_with_a_generator_ignores_the_global_one():
    def run(seed):
        loader = DataLoader(labelled(20), batch_size=5, shuffle=True,
                            generator=tg.Generator().manual_seed(seed))
        tg.manual_seed(seed + 100)  # changes nothing
        return [order(loader) for _ in range(2)]

    assert run(3) == run(3) and run(3) != run(4)
    assert sorted(run(3)[0]) == list(range(20))
    with pytest.raises(TypeError, match="DataLoader: generator must be a tinygrad_edu.Generator"):
        DataLoader(labelled(), shuffle=True, generator=np.random.default_rng(0))


def test_batch_iterator_keeps_numpys_orders():
    """The demos' BatchIterator draws through RandomSampler: the same orders as
    NumPy's default_rng(seed).permutation, so the demo logs do not change."""
    x = np.arange(23)
    epochs = [np.concatenate([xb for xb, _ in tg.data.BatchIterator(x, x, 5, seed=7)])]
    rng = np.random.default_rng(7)
    assert epochs[0].tolist() == rng.permutation(23).tolist()
    batches = tg.data.BatchIterator(x, x, 5, seed=7)
    list(batches)
    second = np.concatenate([xb for xb, _ in batches])
    assert second.tolist() == rng.permutation(23).tolist()


# --- samplers ----------------------------------------------------------------------------


def test_samplers():
    data = range(7)
    assert list(SequentialSampler(data)) == list(range(7))
    g = tg.Generator().manual_seed(0)
    assert sorted(RandomSampler(data, generator=g)) == list(range(7))
    longer = list(RandomSampler(data, num_samples=10, generator=g))
    assert len(longer) == 10 and sorted(longer[:7]) == list(range(7))
    drawn = list(RandomSampler(data, replacement=True, num_samples=50, generator=g))
    assert len(drawn) == 50 and set(drawn) <= set(range(7)) and len(set(drawn)) < 7 + 1
    assert sorted(SubsetRandomSampler([5, 1, 3], generator=g)) == [1, 3, 5]
    weighted = list(WeightedRandomSampler([0.0, 1.0, 3.0], 40, generator=g))
    assert len(weighted) == 40 and set(weighted) == {1, 2}  # weight 0: never
    assert sorted(WeightedRandomSampler([1, 1, 1], 3, replacement=False, generator=g)) == [0, 1, 2]
    batches = BatchSampler(SequentialSampler(data), 3, drop_last=False)
    assert list(batches) == [[0, 1, 2], [3, 4, 5], [6]] and len(batches) == 3
    assert len(BatchSampler(data, 3, drop_last=True)) == 2


@pytest.mark.parametrize("make", [
    lambda m: m.RandomSampler(range(3), num_samples=0),
    lambda m: m.RandomSampler(range(3), replacement=1),
    lambda m: m.BatchSampler(range(3), batch_size=0, drop_last=False),
    lambda m: m.BatchSampler(range(3), batch_size=2, drop_last=1),
    lambda m: m.DataLoader(range(3), batch_size=0),
    lambda m: m.DataLoader(range(3), batch_size=2.0),
    lambda m: m.DataLoader(range(3), batch_size=None, drop_last=True),
    lambda m: m.DataLoader(range(3), sampler=[0, 1], shuffle=True),
    lambda m: m.DataLoader(range(3), batch_sampler=[[0]], batch_size=2),
    lambda m: m.DataLoader(range(3), batch_sampler=[[0]], drop_last=True),
    lambda m: m.DataLoader(range(3), num_workers=-1),
])
def test_bad_arguments_raise_pytorchs_error_types(make):
    torch = pytest.importorskip("torch")
    with pytest.raises(Exception) as theirs:
        make(torch.utils.data)
    with pytest.raises(type(theirs.value)):
        make(tg.utils.data)


def test_bad_datasets_are_named_at_once():
    with pytest.raises(TypeError, match="DataLoader: dataset must be map-style .* got int"):
        DataLoader(5)
    with pytest.raises(TypeError, match="IterableDataset"):
        DataLoader(i for i in range(3))

    class NoLength(Dataset):
        def __getitem__(self, i):
            return i

    with pytest.raises(TypeError, match="no __len__.*give sampler="):
        DataLoader(NoLength())
    assert [b.tolist() for b in DataLoader(NoLength(), sampler=[2, 0], batch_size=2)] == [[2, 0]]


# --- streams -----------------------------------------------------------------------------


class Count(IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return iter(range(self.n))

    def __len__(self):
        return self.n


def test_iterable_datasets_are_cut_into_batches():
    torch = pytest.importorskip("torch")

    class TorchCount(torch.utils.data.IterableDataset):
        def __iter__(self):
            return iter(range(7))

        def __len__(self):
            return 7

    for kwargs in ({"batch_size": 3}, {"batch_size": 3, "drop_last": True}, {"batch_size": None}):
        mine = DataLoader(Count(7), **kwargs)
        theirs = torch.utils.data.DataLoader(TorchCount(), **kwargs)
        assert [plain(b) for b in mine] == [plain(b) for b in theirs]
        assert len(mine) == len(theirs)
    with pytest.raises(ValueError, match="expected unspecified shuffle option"):
        DataLoader(Count(3), shuffle=True)
    with pytest.raises(ValueError, match="expected unspecified sampler option"):
        DataLoader(Count(3), sampler=[0])
