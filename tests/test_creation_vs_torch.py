"""Creation functions, devices and generators against PyTorch (skipped without torch).

The same calls must give the same shapes, dtypes, devices and reprs. Random values
differ between the libraries (NumPy's PCG64 is not PyTorch's Mersenne Twister), so for
them only statistics of many draws are compared, with both near the exact value.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import tinygrad_edu as tg

torch = pytest.importorskip("torch")

DTYPES = [(tg.float32, torch.float32), (tg.float64, torch.float64)]


def same_dtype(ours, theirs) -> bool:
    return str(np.dtype(ours)) == str(theirs).removeprefix("torch.")


# --- devices ------------------------------------------------------------------------------


@pytest.mark.parametrize("args", [("cpu",), ("cpu", 0), ("cpu:0",), ("cuda",), ("cuda", 1),
                                  ("cuda:2",), ("mps",)])
def test_device_type_index_repr_and_str(args):
    ours, theirs = tg.device(*args), torch.device(*args)
    assert (ours.type, ours.index) == (theirs.type, theirs.index)
    assert repr(ours) == repr(theirs) and str(ours) == str(theirs)


def test_device_equality_between_devices():
    for a in ("cpu", "cpu:0", "cuda", "cuda:1"):
        for b in ("cpu", "cpu:0", "cuda", "cuda:1"):
            assert (tg.device(a) == tg.device(b)) == (torch.device(a) == torch.device(b))


def test_unknown_device_type_is_a_runtime_error_in_both():
    with pytest.raises(RuntimeError):
        torch.device("gpu")
    with pytest.raises(RuntimeError):
        tg.device("gpu")


def test_tensors_are_on_the_cpu_and_accelerators_are_absent():
    assert repr(tg.zeros(2).device) == repr(torch.zeros(2).device)
    assert str(tg.randn(2).device) == str(torch.randn(2).device) == "cpu"
    if not torch.cuda.is_available():  # a CPU build of PyTorch, as in our CI
        assert tg.cuda.is_available() == torch.cuda.is_available()
        assert tg.cuda.device_count() == torch.cuda.device_count() == 0
    if not torch.backends.mps.is_available():
        assert tg.backends.mps.is_available() == torch.backends.mps.is_available()


def test_to_and_cpu_return_the_tensor_itself_when_nothing_changes_as_pytorch():
    ours = tg.zeros(2, dtype=tg.float32, requires_grad=True)
    theirs = torch.zeros(2, dtype=torch.float32, requires_grad=True)
    for lib, t in ((tg, ours), (torch, theirs)):
        forms = [t.to("cpu"), t.to(lib.device("cpu")), t.to(lib.float32), t.to(t),
                 t.to("cpu", lib.float32), t.to(device="cpu", dtype=lib.float32), t.cpu()]
        assert all(u is t for u in forms)
        assert t.to("cpu", copy=True) is not t
        u = t.to(lib.float64)
        assert u is not t and u.requires_grad and u.grad_fn is not None
    assert same_dtype(ours.to(tg.zeros(1)).dtype, theirs.to(torch.zeros(1).double()).dtype)


# --- shapes, dtypes and reprs of the creation functions -----------------------------------

# each call is written once and run in both libraries (lib is tinygrad_edu or torch)
CALLS = [
    "lib.zeros(2, 3)", "lib.zeros((2, 3))", "lib.zeros(size=(2, 3))", "lib.ones(4)",
    "lib.ones(size=(1, 2))", "lib.empty(2, 2)", "lib.empty(size=(3,))", "lib.full((2, 3), 1.5)",
    "lib.eye(3)", "lib.eye(2, 3)", "lib.arange(5.0)", "lib.arange(1.0, 4.0, 0.5)",
    "lib.linspace(0, 1, 5)", "lib.rand(2, 3)", "lib.rand(size=(4,))", "lib.randn(3, 1)",
    "lib.randn(size=(2, 2))", "lib.zeros_like(lib.ones(2, 3))", "lib.ones_like(lib.ones(2))",
    "lib.empty_like(lib.ones(3, 1))", "lib.full_like(lib.ones(2), 7.0)",
    "lib.rand_like(lib.ones(2, 2))", "lib.randn_like(lib.ones(5))",
    "lib.normal(0.0, 1.0, size=(2, 3))", "lib.normal(lib.zeros(3))",
    "lib.normal(lib.zeros(3), lib.ones(2, 1))", "lib.normal(2.0, lib.ones(4))",
    "lib.bernoulli(lib.full((3, 2), 0.5))", "lib.bernoulli(lib.zeros(3), 0.5)",
    "lib.tensor([[1.0, 2.0]])", "lib.full((2,), 3)", "lib.full((2,), True)",
    "lib.full_like(lib.zeros(2), 3)", "lib.arange(4)",
]


@pytest.mark.parametrize("call", CALLS)
@pytest.mark.parametrize("ours_dtype, torch_dtype", DTYPES, ids=["float32", "float64"])
def test_same_shape_dtype_and_device(call, ours_dtype, torch_dtype):
    """With the default dtype set to the same one in both libraries."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch_dtype)
    try:
        theirs = eval(call, {"lib": torch})
    finally:
        torch.set_default_dtype(previous)
    ours = eval(call, {"lib": tg})
    assert ours.shape == tuple(theirs.shape)
    assert str(ours.device) == str(theirs.device)
    assert ours.is_leaf and theirs.is_leaf
    if ours_dtype == tg.float64:  # our default; float32 needs dtype= (next test)
        assert same_dtype(ours.dtype, theirs.dtype)


DTYPE_CALLS = [
    "lib.zeros(2, dtype=d)", "lib.ones(2, dtype=d)", "lib.empty(2, dtype=d)",
    "lib.full((2,), 3.0, dtype=d)", "lib.eye(2, dtype=d)", "lib.arange(3, dtype=d)",
    "lib.linspace(0, 1, 3, dtype=d)", "lib.rand(2, dtype=d)", "lib.randn(2, dtype=d)",
    "lib.normal(0.0, 1.0, (2,), dtype=d)", "lib.normal(lib.zeros(2, dtype=d), 1.0)",
    "lib.bernoulli(lib.full((2,), 0.5, dtype=d))", "lib.zeros_like(lib.ones(2, dtype=d))",
    "lib.full_like(lib.ones(2, dtype=d), 2.0)", "lib.rand_like(lib.ones(2, dtype=d))",
    "lib.randn_like(lib.ones(2, dtype=d))", "lib.empty_like(lib.ones(2, dtype=d))",
    "lib.tensor([1.0], dtype=d)", "lib.ones(2).to(d)", "lib.ones(2).to('cpu', d)",
    "lib.zeros(2, dtype=d, device='cpu', requires_grad=True)",
]


@pytest.mark.parametrize("call", DTYPE_CALLS)
@pytest.mark.parametrize("ours_dtype, torch_dtype", DTYPES, ids=["float32", "float64"])
def test_same_dtype_when_asked_for(call, ours_dtype, torch_dtype):
    ours = eval(call, {"lib": tg, "d": ours_dtype})
    theirs = eval(call, {"lib": torch, "d": torch_dtype})
    assert same_dtype(ours.dtype, theirs.dtype) and ours.shape == tuple(theirs.shape)
    assert ours.requires_grad == theirs.requires_grad


@pytest.mark.parametrize("call", ["lib.zeros(2, 3)", "lib.ones(3)", "lib.eye(2)",
                                  "lib.arange(4.0)", "lib.full((2,), 7.0)",
                                  "lib.zeros(2, requires_grad=True)"])
def test_same_repr_with_each_librarys_default_dtype(call):
    assert repr(eval(call, {"lib": tg})) == repr(eval(call, {"lib": torch}))


@pytest.mark.parametrize("call", ["lib.arange(5.0)", "lib.arange(1.0, 4.0, 0.5)",
                                  "lib.arange(3.0, 0.0, -1.0)", "lib.linspace(-1, 1, 5)",
                                  "lib.eye(2, 3)", "lib.full((2,), 1.5)",
                                  "lib.full_like(lib.ones(2), 7.0)",
                                  "lib.bernoulli(lib.tensor([0.0, 1.0]))",
                                  "lib.normal(lib.tensor([1.0, 2.0]), lib.zeros(2))"])
def test_same_values_where_they_are_not_random(call):
    ours = eval(call, {"lib": tg})
    theirs = eval(call, {"lib": torch}).double()
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)


@pytest.mark.parametrize("indexing", ["ij", "xy"])
def test_meshgrid_same_grids(indexing):
    ours = tg.meshgrid(tg.arange(2.0), tg.arange(3.0), tg.arange(4.0), indexing=indexing)
    theirs = torch.meshgrid(torch.arange(2.0), torch.arange(3.0), torch.arange(4.0),
                            indexing=indexing)
    assert len(ours) == len(theirs)
    for o, t in zip(ours, theirs):
        np.testing.assert_array_equal(o.numpy(), t.numpy())


def test_meshgrid_warns_in_both_only_without_indexing():
    for lib in (tg, torch):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            xs, _ = lib.meshgrid(lib.arange(2.0), lib.arange(3.0))
            assert tuple(xs.shape) == (2, 3)  # 'ij' by default
        assert any("indexing" in str(w.message) for w in caught), lib.__name__
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            lib.meshgrid(lib.arange(2.0), lib.arange(3.0), indexing="xy")


def test_meshgrid_same_gradients():
    grads = []
    for lib in (tg, torch):
        a = lib.tensor([1.0, 2.0], requires_grad=True)
        b = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
        xs, ys = lib.meshgrid(a, b, indexing="xy")
        (xs * ys * ys).sum().backward()
        grads.append((a.grad.tolist(), b.grad.tolist()))
    assert grads[0] == grads[1]


# --- generators ---------------------------------------------------------------------------


def test_generator_seeds_as_pytorch():
    ours, theirs = tg.Generator(), torch.Generator()
    assert ours.initial_seed() == theirs.initial_seed()
    assert ours.manual_seed(5) is ours and theirs.manual_seed(5) is theirs
    assert ours.initial_seed() == theirs.initial_seed() == 5
    assert ours.manual_seed(-1).initial_seed() == theirs.manual_seed(-1).initial_seed()
    assert str(ours.device) == str(theirs.device)
    for lib in (tg, torch):
        assert lib.manual_seed(3) is lib.default_generator
        assert lib.initial_seed() == 3


def test_the_same_seed_repeats_in_both():
    for lib in (tg, torch):
        a = lib.randn(4, generator=lib.Generator().manual_seed(0))
        b = lib.randn(4, generator=lib.Generator().manual_seed(0))
        assert a.tolist() == b.tolist()


# (name, draw(lib, generator) of 100k numbers, exact mean, exact std)
STATISTICS = [
    ("rand", lambda lib, g: lib.rand(100_000, generator=g), 0.5, (1 / 12) ** 0.5),
    ("randn", lambda lib, g: lib.randn(100_000, generator=g), 0.0, 1.0),
    ("normal(3, 2)", lambda lib, g: lib.normal(3.0, 2.0, size=(100_000,), generator=g),
     3.0, 2.0),
    ("normal tensors", lambda lib, g: lib.normal(lib.full((100_000,), -1.0),
                                                 lib.full((100_000,), 0.5), generator=g),
     -1.0, 0.5),
    ("bernoulli(0.3)", lambda lib, g: lib.bernoulli(lib.full((100_000,), 0.3), generator=g),
     0.3, (0.3 * 0.7) ** 0.5),
    ("rand_like", lambda lib, g: lib.rand_like(lib.zeros(100_000), generator=g),
     0.5, (1 / 12) ** 0.5),
    ("randn_like", lambda lib, g: lib.randn_like(lib.zeros(100_000), generator=g), 0.0, 1.0),
]


@pytest.mark.parametrize("name, draw, mean, std", STATISTICS, ids=[s[0] for s in STATISTICS])
def test_same_distribution(name, draw, mean, std):
    """Mean and std of 100k draws: within 5 standard errors of the exact values."""
    for lib in (tg, torch):
        x = np.asarray(draw(lib, lib.Generator().manual_seed(0)).tolist())
        assert abs(x.mean() - mean) < 5 * std / 100_000 ** 0.5, lib.__name__
        assert abs(x.std() - std) < 0.01 * std + 1e-3, lib.__name__


# --- random integers ----------------------------------------------------------------------


@pytest.mark.parametrize("call", ["lib.randint(3, (2, 4))", "lib.randint(1, 3, size=(5,))",
                                  "lib.randint(0, 5, (3,), dtype=lib.float32)",
                                  "lib.randperm(6)", "lib.randperm(4, dtype=lib.float64)",
                                  "lib.multinomial(lib.ones(4), 2)",
                                  "lib.multinomial(lib.ones(3, 4), 5, replacement=True)"])
def test_random_integers_same_shape_and_dtype(call):
    ours, theirs = eval(call, {"lib": tg}), eval(call, {"lib": torch})
    assert ours.shape == tuple(theirs.shape) and same_dtype(ours.dtype, theirs.dtype)


def test_random_integers_same_distribution():
    for lib in (tg, torch):
        g = lib.Generator().manual_seed(0)
        x = np.asarray(lib.randint(0, 10, (100_000,), generator=g).tolist())
        assert abs(x.mean() - 4.5) < 5 * (99 / 12) ** 0.5 / 100_000 ** 0.5, lib.__name__
        draws = lib.multinomial(lib.tensor([1.0, 3.0]), 100_000, replacement=True,
                                generator=g)
        assert abs(np.mean(draws.tolist()) - 0.75) < 0.01, lib.__name__
        assert sorted(lib.randperm(20, generator=g).tolist()) == list(range(20))
