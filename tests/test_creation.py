"""Devices, creation functions and random generators, as PyTorch has them.

The engine runs on the CPU only: every way of naming another device must fail with a
RuntimeError that names it. Every creation function takes the same keywords. A
Generator gives the same numbers for the same seed, and two generators (or a
generator and the global stream) do not disturb each other.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import creation, devices
from tinygrad_edu.nn import init

# --- devices ------------------------------------------------------------------------------


def test_cpu_device_type_index_repr_and_equality():
    cpu = tg.device("cpu")
    assert (cpu.type, cpu.index) == ("cpu", None)
    assert repr(cpu) == "device(type='cpu')" and str(cpu) == "cpu"
    assert cpu == tg.device("cpu") and cpu == "cpu" and "cpu" == cpu  # noqa: SIM300
    assert cpu != "cuda" and cpu != tg.device("cpu", 0) and cpu != 3
    assert hash(cpu) == hash(tg.device("cpu"))
    assert tg.device(cpu) == cpu
    indexed = tg.device("cuda:1")
    assert (indexed.type, indexed.index) == ("cuda", 1) and indexed == tg.device("cuda", 1)
    assert repr(indexed) == "device(type='cuda', index=1)" and str(indexed) == "cuda:1"


@pytest.mark.parametrize("args, error, match", [
    (("gpu",), RuntimeError, "unknown device type 'gpu'"),
    (("cpu", -1), RuntimeError, "non-negative"),
    (("cuda:0", 1), RuntimeError, "already holds an index"),
    (("cuda:x",), RuntimeError, "invalid device string"),
    ((0,), RuntimeError, "CPU only"),
    ((1.5,), TypeError, "expected a string"),
])
def test_bad_device_names_are_clear_errors(args, error, match):
    with pytest.raises(error, match=match):
        tg.device(*args)


def test_every_tensor_is_on_the_cpu():
    t = tg.randn(2, 3, requires_grad=True)
    assert t.device == tg.device("cpu") and repr(t.device) == "device(type='cpu')"
    assert (t * 2).sum().device == "cpu"
    assert t.cpu() is t


def test_cuda_and_mps_are_never_available():
    assert tg.cuda.is_available() is False and tg.cuda.device_count() == 0
    assert tg.backends.mps.is_available() is False and tg.backends.mps.is_built() is False
    # the PyTorch idiom picks the CPU
    dev = tg.device("cuda" if tg.cuda.is_available() else "cpu")
    assert tg.zeros(2, device=dev).device == "cpu"


OTHER_DEVICES = ["cuda", "cuda:0", "mps", "xpu", "meta", 0, tg.device("cuda"),
                 tg.device("cuda", 1)]


@pytest.mark.parametrize("dev", OTHER_DEVICES, ids=str)
def test_another_device_is_a_runtime_error_naming_it(dev):
    name = f"cuda:{dev}" if isinstance(dev, int) else str(dev)
    with pytest.raises(RuntimeError, match="CPU only") as info:
        tg.zeros(2, device=dev)
    assert name in str(info.value) and "NumPy" in str(info.value)
    t = tg.ones(2)
    with pytest.raises(RuntimeError, match="CPU only"):
        t.to(dev)
    with pytest.raises(RuntimeError, match="CPU only"):
        tg.tensor([1.0], device=dev)
    with pytest.raises(RuntimeError, match="CPU only"):
        tg.Generator(dev)


def test_a_device_that_is_no_device_is_a_type_error():
    with pytest.raises(TypeError, match="device must be a string"):
        tg.zeros(2, device=1.5)
    assert devices.check(None, "here") is devices.CPU
    assert devices.check("cpu:0", "here") == "cpu"  # the CPU has one device


def test_a_bad_device_does_not_use_up_random_numbers():
    tg.manual_seed(5)
    with pytest.raises(RuntimeError):
        tg.rand(3, device="cuda")
    first = tg.rand(3).tolist()
    tg.manual_seed(5)
    assert tg.rand(3).tolist() == first


# --- Tensor.to ----------------------------------------------------------------------------


def test_to_returns_the_tensor_itself_when_nothing_changes():
    t = tg.randn(3, requires_grad=True)
    for args, kwargs in [(("cpu",), {}), ((tg.device("cpu"),), {}), ((tg.float64,), {}),
                         (("cpu", tg.float64), {}), ((t,), {}), ((), {"device": "cpu"}),
                         ((), {"dtype": tg.float64}), (("cpu",), {"non_blocking": True})]:
        assert t.to(*args, **kwargs) is t, (args, kwargs)


def test_to_changes_the_dtype_and_records_the_cast():
    t = tg.tensor([1.0, 2.0], requires_grad=True)
    for u in (t.to(tg.float32), t.to("cpu", tg.float32), t.to(device="cpu", dtype="float32"),
              t.to(tg.zeros(1, dtype=tg.float32))):
        assert u.dtype == np.float32 and u.device == "cpu" and u.grad_fn is not None
    t.to(tg.float32).sum().backward()
    assert t.grad.dtype == np.float64 and t.grad.tolist() == [1.0, 1.0]


def test_to_copy_gives_a_new_tensor_gradients_flow_through():
    t = tg.tensor([1.0, 2.0], requires_grad=True)
    u = t.to("cpu", copy=True)
    assert u is not t and u.tolist() == t.tolist()
    (u * 3).sum().backward()
    assert t.grad.tolist() == [3.0, 3.0]


def test_to_errors():
    t = tg.zeros(2)
    with pytest.raises(TypeError, match="to: 'gpu' is not a dtype"):
        t.to("gpu")
    with pytest.raises(TypeError, match="takes a device, a dtype or a tensor"):
        t.to("cpu", tg.float32, "cpu")


# --- every creation function takes the same keywords --------------------------------------

# (name, make(**keywords), shape)
CREATORS = [
    ("tensor", lambda **kw: tg.tensor([[1.0, 2.0]], **kw), (1, 2)),
    ("zeros", lambda **kw: tg.zeros(2, 3, **kw), (2, 3)),
    ("ones", lambda **kw: tg.ones((3,), **kw), (3,)),
    ("empty", lambda **kw: tg.empty(2, **kw), (2,)),
    ("full", lambda **kw: tg.full((2, 2), 7.0, **kw), (2, 2)),
    ("rand", lambda **kw: tg.rand(2, 1, **kw), (2, 1)),
    ("randn", lambda **kw: tg.randn(4, **kw), (4,)),
    ("normal", lambda **kw: tg.normal(1.0, 2.0, size=(3,), **kw), (3,)),
    ("arange", lambda **kw: tg.arange(5.0, **kw), (5,)),  # a float: PyTorch makes ints int64
    ("linspace", lambda **kw: tg.linspace(0, 1, 4, **kw), (4,)),
    ("eye", lambda **kw: tg.eye(2, 3, **kw), (2, 3)),
    ("zeros_like", lambda **kw: tg.zeros_like(tg.ones(2, 2), **kw), (2, 2)),
    ("ones_like", lambda **kw: tg.ones_like(tg.ones(2, 2), **kw), (2, 2)),
    ("empty_like", lambda **kw: tg.empty_like(tg.ones(2), **kw), (2,)),
    ("full_like", lambda **kw: tg.full_like(tg.ones(2), 4.0, **kw), (2,)),
    ("rand_like", lambda **kw: tg.rand_like(tg.ones(3), **kw), (3,)),
    ("randn_like", lambda **kw: tg.randn_like(tg.ones(3), **kw), (3,)),
]


@pytest.mark.parametrize("name, make, shape", CREATORS, ids=[c[0] for c in CREATORS])
def test_creation_keywords(name, make, shape):
    t = make()
    assert t.shape == shape and t.dtype == np.float64 and t.device == "cpu"
    assert t.is_leaf and not t.requires_grad
    for dev in ("cpu", tg.device("cpu")):
        t = make(dtype=tg.float32, device=dev, requires_grad=True)
        assert t.shape == shape and t.dtype == np.float32 and t.device == "cpu"
        assert t.requires_grad and t.is_leaf
    with pytest.raises(RuntimeError, match=f"{name}: device 'cuda' is not available"):
        make(device="cuda")


@pytest.mark.parametrize("make", [tg.zeros, tg.ones, tg.empty, tg.rand, tg.randn])
def test_sizes_as_arguments_as_a_tuple_or_as_size(make):
    assert make(2, 3).shape == make((2, 3)).shape == make([2, 3]).shape == (2, 3)
    assert make(size=(2, 3)).shape == (2, 3) and make(size=4).shape == (4,)
    assert make().shape == () and make(0).shape == (0,)
    with pytest.raises(TypeError, match="not both"):
        make(2, size=(2, 3))
    with pytest.raises(ValueError, match="non-negative ints"):
        make(2, -1)


def test_values_of_the_filled_ones():
    assert tg.empty(2, 2).tolist() == [[0.0, 0.0], [0.0, 0.0]]  # zeros, as documented
    assert tg.full_like(tg.zeros(2, dtype=tg.float32), 2.5).tolist() == [2.5, 2.5]
    assert tg.full_like(tg.zeros(2, dtype=tg.float32), 2.5).dtype == np.float32
    assert tg.zeros_like(tg.zeros(2), dtype=tg.float32).dtype == np.float32
    assert tg.ones_like([1.0, 2.0]).tolist() == [1.0, 1.0]  # data that is not a tensor


def test_full_takes_its_dtype_from_the_fill_value():
    assert tg.full((2,), 3).dtype == np.int64 and tg.full((2,), 3).tolist() == [3, 3]
    assert tg.full((2,), True).dtype == np.bool_
    assert tg.full((2,), 3.5).dtype == np.float64
    assert tg.full((2,), 3, dtype=tg.float32).dtype == np.float32
    assert tg.full((2,), tg.tensor(2.5)).tolist() == [2.5, 2.5]
    assert tg.full_like(tg.zeros(2), 3).dtype == np.float64  # _like: the tensor's dtype
    with pytest.raises(TypeError, match="fill_value must be a number"):
        tg.full((2,), "a")


def test_like_functions_keep_the_dtype_of_their_input():
    x = tg.zeros(3, dtype=tg.float32)
    for like in (tg.zeros_like, tg.ones_like, tg.empty_like, tg.rand_like, tg.randn_like):
        assert like(x).dtype == np.float32 and like(x).shape == (3,)


# --- meshgrid -----------------------------------------------------------------------------


def test_meshgrid_ij_and_xy_agree_with_numpy():
    a, b, c = tg.arange(2.0), tg.arange(3.0), tg.arange(4.0)
    for indexing in ("ij", "xy"):
        ours = tg.meshgrid(a, b, c, indexing=indexing)
        theirs = np.meshgrid(a.numpy(), b.numpy(), c.numpy(), indexing=indexing)
        assert len(ours) == 3
        for o, t in zip(ours, theirs):
            np.testing.assert_array_equal(o.numpy(), t)
    assert tg.meshgrid([a, b], indexing="ij")[0].shape == (2, 3)  # a list works too
    assert tg.meshgrid(a, b, indexing="xy")[0].shape == (3, 2)
    assert tg.meshgrid(tg.tensor(5.0), b, indexing="ij")[0].shape == (1, 3)  # 0-d: length 1


def test_meshgrid_warns_only_without_indexing():
    a, b = tg.arange(2.0), tg.arange(3.0)
    with pytest.warns(UserWarning, match="indexing"):
        xs, ys = tg.meshgrid(a, b)
    assert xs.shape == (2, 3)  # PyTorch's default: 'ij'
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tg.meshgrid(a, b, indexing="ij")
        tg.meshgrid(a, b, indexing="xy")


def test_meshgrid_gradients_sum_over_the_grid():
    a = tg.tensor([1.0, 2.0], requires_grad=True)
    b = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    xs, ys = tg.meshgrid(a, b, indexing="ij")
    (xs * ys).sum().backward()
    assert a.grad.tolist() == [6.0, 6.0]  # d/da_i sum_j a_i b_j = sum_j b_j
    assert b.grad.tolist() == [3.0, 3.0, 3.0]


@pytest.mark.parametrize("tensors, indexing, error, match", [
    ((), "ij", ValueError, "at least one"),
    ((tg.zeros(2, 2),), "ij", ValueError, "0-D or 1-D"),
    ((tg.zeros(2), tg.zeros(2, dtype=tg.float32)), "ij", TypeError, "same dtype"),
    ((tg.zeros(2),), "yx", ValueError, "'ij' or 'xy'"),
])
def test_meshgrid_errors(tensors, indexing, error, match):
    with pytest.raises(error, match=match):
        tg.meshgrid(*tensors, indexing=indexing)


# --- normal and bernoulli -----------------------------------------------------------------


def test_normal_forms_shapes_and_dtypes():
    assert tg.normal(0.0, 1.0, size=(2, 3)).shape == (2, 3)
    assert tg.normal(0.0, 1.0, (4,)).shape == (4,)  # size positionally
    assert tg.normal(tg.zeros(3)).shape == (3,)  # std defaults to 1
    assert tg.normal(0.0, tg.ones(2, 1)).shape == (2, 1)
    assert tg.normal(tg.zeros(3), tg.ones(2, 1)).shape == (2, 3)  # broadcast
    assert tg.normal(tg.zeros(3, dtype=tg.float32), 1.0).dtype == np.float32
    assert tg.normal(tg.zeros(2), tg.zeros(2)).tolist() == [0.0, 0.0]  # std 0: the mean


def test_normal_each_element_has_its_own_mean_and_std():
    tg.manual_seed(0)
    mean = tg.tensor([[-5.0], [10.0]])
    std = tg.tensor([0.5, 3.0, 1.0])
    x = tg.normal(mean.expand(2, 3).reshape(2, 3, 1).expand(2, 3, 20_000),
                  std.reshape(3, 1).expand(3, 20_000))
    np.testing.assert_allclose(x.numpy().mean(axis=-1), [[-5, -5, -5], [10, 10, 10]],
                               atol=0.1)
    np.testing.assert_allclose(x.numpy().std(axis=-1), [[0.5, 3, 1], [0.5, 3, 1]],
                               rtol=0.03)


def test_normal_is_a_new_leaf():
    mean = tg.zeros(3, requires_grad=True)
    x = tg.normal(mean, 1.0)
    assert x.is_leaf and not x.requires_grad
    assert tg.normal(0.0, 1.0, (2,), requires_grad=True).requires_grad


@pytest.mark.parametrize("call, error, match", [
    (lambda: tg.normal(0.0, 1.0), TypeError, "give the size"),
    (lambda: tg.normal(tg.zeros(2), 1.0, size=(2,)), TypeError, "size= is for a number"),
    (lambda: tg.normal(0.0, -1.0, (2,)), ValueError, "std must be >= 0"),
    (lambda: tg.normal(tg.zeros(2), tg.tensor([1.0, -1.0])), ValueError, "std must be"),
    (lambda: tg.normal(tg.zeros(2), tg.ones(3)), ValueError, "do not broadcast"),
    (lambda: tg.normal(0.0, 1.0, (2,), generator=np.random.default_rng()), TypeError,
     "tinygrad_edu.Generator"),
])
def test_normal_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_bernoulli_draws_zeros_and_ones_with_the_given_probability():
    tg.manual_seed(0)
    p = tg.tensor([0.0, 0.25, 1.0], dtype=tg.float32).reshape(3, 1).expand(3, 40_000)
    x = tg.bernoulli(p)
    assert x.dtype == np.float32 and x.shape == (3, 40_000)
    assert set(np.unique(x.numpy())) <= {0.0, 1.0}
    np.testing.assert_allclose(x.numpy().mean(axis=1), [0.0, 0.25, 1.0], atol=0.01)
    y = tg.bernoulli(tg.zeros(40_000), 0.75)  # p for every element, input gives the shape
    assert y.shape == (40_000,) and abs(y.numpy().mean() - 0.75) < 0.01


@pytest.mark.parametrize("p", [-0.1, 1.5, float("nan")])
def test_bernoulli_rejects_probabilities_outside_0_1(p):
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        tg.bernoulli(tg.full((2,), p))
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        tg.bernoulli(tg.zeros(2), p)


def test_random_functions_need_a_floating_dtype():
    # (before integer tensors came, int64 was no dtype at all)
    with pytest.raises(TypeError, match="rand: (random numbers need a floating dtype|dtype "
                                        "int64 is not supported)"):
        tg.rand(2, dtype=np.int64)


# --- generators ---------------------------------------------------------------------------

RANDOM = [
    ("rand", lambda g: tg.rand(5, generator=g)),
    ("randn", lambda g: tg.randn(2, 3, generator=g)),
    ("rand_like", lambda g: tg.rand_like(tg.zeros(4), generator=g)),
    ("randn_like", lambda g: tg.randn_like(tg.zeros(4), generator=g)),
    ("normal", lambda g: tg.normal(3.0, 2.0, size=(5,), generator=g)),
    ("normal tensors", lambda g: tg.normal(tg.zeros(5), tg.ones(5), generator=g)),
    ("bernoulli", lambda g: tg.bernoulli(tg.full((20,), 0.5), generator=g)),
    ("uniform_", lambda g: init.uniform_(tg.zeros(4, 5), -1, 1, generator=g)),
    ("normal_", lambda g: init.normal_(tg.zeros(4, 5), generator=g)),
    ("kaiming_uniform_", lambda g: init.kaiming_uniform_(tg.zeros(4, 5), generator=g)),
    ("kaiming_normal_", lambda g: init.kaiming_normal_(tg.zeros(4, 5), generator=g)),
    ("xavier_uniform_", lambda g: init.xavier_uniform_(tg.zeros(4, 5), generator=g)),
    ("xavier_normal_", lambda g: init.xavier_normal_(tg.zeros(4, 5), generator=g)),
]
IDS = [r[0] for r in RANDOM]


@pytest.mark.parametrize("name, draw", RANDOM, ids=IDS)
def test_the_same_seed_gives_the_same_numbers(name, draw):
    first = draw(tg.Generator().manual_seed(42)).numpy().copy()
    again = draw(tg.Generator().manual_seed(42)).numpy()
    other = draw(tg.Generator().manual_seed(43)).numpy()
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


@pytest.mark.parametrize("name, draw", RANDOM, ids=IDS)
def test_two_generators_are_independent(name, draw):
    alone = tg.Generator().manual_seed(1)
    expected = [draw(alone).numpy().copy() for _ in range(2)]
    g, h = tg.Generator().manual_seed(1), tg.Generator().manual_seed(1)
    got = []
    for _ in range(2):
        got.append(draw(g).numpy().copy())
        draw(h)  # drawing from h does not move g
    for a, b in zip(expected, got):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name, draw", RANDOM, ids=IDS)
def test_a_generator_does_not_touch_the_global_stream(name, draw):
    tg.manual_seed(7)
    expected = tg.rand(4).tolist()
    tg.manual_seed(7)
    draw(tg.Generator())
    assert tg.rand(4).tolist() == expected


@pytest.mark.parametrize("name, draw", RANDOM, ids=IDS)
def test_without_a_generator_the_global_one_is_used(name, draw):
    tg.manual_seed(11)
    first = draw(None).numpy().copy()
    np.testing.assert_array_equal(first, draw(tg.Generator().manual_seed(11)).numpy())
    tg.manual_seed(11)
    np.testing.assert_array_equal(first, draw(None).numpy())


def test_generator_seeds():
    g = tg.Generator()
    assert g.initial_seed() == 67280421310721  # PyTorch's default seed
    np.testing.assert_array_equal(tg.rand(3, generator=g).numpy(),
                                  tg.rand(3, generator=tg.Generator()).numpy())
    assert g.manual_seed(3) is g and g.initial_seed() == 3
    assert g.manual_seed(-1).initial_seed() == 2**64 - 1  # as PyTorch
    assert g.manual_seed(np.int64(5)).initial_seed() == 5
    s = g.seed()
    assert isinstance(s, int) and 0 <= s < 2**64 and g.initial_seed() == s
    assert g.device == "cpu" and "initial_seed=" in repr(g)


@pytest.mark.parametrize("seed, error", [(1.5, TypeError), ("1", TypeError),
                                         (True, TypeError), (2**64, ValueError),
                                         (-(2**63) - 1, ValueError)])
def test_bad_seeds(seed, error):
    with pytest.raises(error, match="seed must be"):
        tg.Generator().manual_seed(seed)
    with pytest.raises(error, match="seed must be"):
        tg.manual_seed(seed)


def test_get_state_and_set_state_replay_the_numbers():
    g = tg.Generator().manual_seed(0)
    state = g.get_state()
    first = tg.randn(3, generator=g).tolist()
    assert g.set_state(state) is g
    assert tg.randn(3, generator=g).tolist() == first


def test_manual_seed_seeds_and_returns_the_global_generator():
    g = tg.manual_seed(9)
    assert g is tg.default_generator and isinstance(g, tg.Generator)
    assert tg.initial_seed() == 9
    assert creation.generator() is g._rng  # the NumPy generator internal users draw from
    first = tg.rand(2).tolist()
    assert tg.rand(2, generator=tg.Generator().manual_seed(9)).tolist() == first
    s = tg.seed()
    assert tg.initial_seed() == s


def test_seeding_keeps_numpys_numbers():
    """The numbers for a seed did not change when Generator came: NumPy's default_rng."""
    tg.manual_seed(1234)
    np.testing.assert_array_equal(tg.rand(3).numpy(), np.random.default_rng(1234).random(3))


# --- random integers ----------------------------------------------------------------------


def test_randint_forms_range_and_dtype():
    g = tg.Generator().manual_seed(0)
    assert tg.randint(3, (2, 4), generator=g).shape == (2, 4)
    x = tg.randint(10, size=(10_000,), generator=g)
    assert x.dtype == np.int64 and x.numpy().min() == 0 and x.numpy().max() == 9
    y = tg.randint(-2, 3, (10_000,), generator=g)
    assert set(np.unique(y.numpy())) == {-2, -1, 0, 1, 2}
    assert tg.randint(0, 5, (3,), dtype=tg.float32).dtype == np.float32
    assert tg.randint(5, ()).shape == ()


@pytest.mark.parametrize("call, error, match", [
    (lambda: tg.randint(3, 3, (2,)), ValueError, "low must be less than high"),
    (lambda: tg.randint(3), TypeError, "give high and size"),
    (lambda: tg.randint(1.5, (2,)), TypeError, "must be ints"),
    (lambda: tg.randint(3, (2,), device="cuda"), RuntimeError, "CPU only"),
])
def test_randint_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_randperm_is_a_permutation():
    p = tg.randperm(50, generator=tg.Generator().manual_seed(1))
    assert p.dtype == np.int64 and sorted(p.tolist()) == list(range(50))
    assert tg.randperm(0).shape == (0,)
    assert tg.randperm(4, dtype=tg.float64).dtype == np.float64
    with pytest.raises(ValueError, match="non-negative int"):
        tg.randperm(-1)


def test_multinomial_with_replacement_follows_the_weights():
    g = tg.Generator().manual_seed(0)
    draws = tg.multinomial(tg.tensor([0.0, 1.0, 3.0]), 100_000, replacement=True,
                           generator=g)
    assert draws.dtype == np.int64 and draws.shape == (100_000,)
    np.testing.assert_allclose(np.bincount(draws.numpy(), minlength=3) / 100_000,
                               [0.0, 0.25, 0.75], atol=0.01)


def test_multinomial_without_replacement():
    g = tg.Generator().manual_seed(0)
    rows = tg.multinomial(tg.ones(1000, 10), 3, generator=g)
    assert rows.shape == (1000, 3)
    assert all(len(set(row)) == 3 for row in rows.tolist())  # no index twice
    firsts = tg.multinomial(tg.tensor([0.0, 1.0, 3.0]).expand(20_000, 3), 1, generator=g)
    np.testing.assert_allclose(np.bincount(firsts.numpy().ravel(), minlength=3) / 20_000,
                               [0.0, 0.25, 0.75], atol=0.015)
    # zero weights come last, once the others are used up (as PyTorch)
    assert tg.multinomial(tg.tensor([0.0, 1.0]), 2).tolist() == [1, 0]


@pytest.mark.parametrize("weights, n, replacement, match", [
    ([-1.0, 1.0], 1, False, "finite and >= 0"),
    ([float("nan"), 1.0], 1, False, "finite and >= 0"),
    ([0.0, 0.0], 1, False, "sums to 0"),
    ([1.0, 1.0], 3, False, "without replacement"),
    ([1.0, 1.0], 0, True, "positive int"),
    ([[[1.0]]], 1, False, "1-D or 2-D"),
])
def test_multinomial_errors(weights, n, replacement, match):
    with pytest.raises(ValueError, match=match):
        tg.multinomial(tg.tensor(weights), n, replacement)
