"""tinygrad_edu.nn: modules, parameters, state dicts and files, losses, initialisers.

Each loss is checked against a NumPy formula written independently (np.logaddexp,
a max-shifted logsumexp) and its gradient against central finite differences, for
hypothesis-drawn batch sizes and class counts.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_edu as tg
from tinygrad_edu import nn
from tinygrad_edu.gradcheck import gradcheck, numerical_grad
from tinygrad_edu.nn import functional as F
from tinygrad_edu.nn import init
from tinygrad_edu.serialization import load, save

FAST = settings(max_examples=50, deadline=None)
REDUCTIONS = ["mean", "sum", "none"]


def mlp(seed: int = 0) -> nn.Sequential:
    tg.manual_seed(seed)
    return nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 16), nn.Tanh(),
                         nn.Linear(16, 1))


class Block(nn.Module):
    """A module with a nested module, a ModuleList and things that are NOT parameters."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(np.ones(3))
        self.inner = nn.Linear(3, 4)
        self.heads = nn.ModuleList([nn.Linear(4, 2), nn.Linear(4, 1, bias=False)])
        self.plain_list = [nn.Linear(4, 4)]  # not searched, as in PyTorch
        self.buffer = tg.ones(3, requires_grad=True)  # a Tensor, not a Parameter
        self.note = "text"

    def forward(self, x):
        h = self.inner(x * self.scale).relu()
        return [head(h) for head in self.heads]


def params_copy(model: nn.Module) -> dict[str, np.ndarray]:
    return {name: p.array.copy() for name, p in model.named_parameters()}


def assert_params_equal(model: nn.Module, saved: dict[str, np.ndarray]) -> None:
    now = params_copy(model)
    assert now.keys() == saved.keys()
    for name in saved:
        np.testing.assert_array_equal(now[name], saved[name], err_msg=name)


# --- Parameter -----------------------------------------------------------------------


def test_parameter_is_a_tensor_that_requires_grad():
    p = nn.Parameter([1.0, 2.0])
    assert isinstance(p, tg.Tensor) and p.requires_grad and p.is_leaf
    assert not hasattr(p, "__dict__")  # keeps Tensor's __slots__
    assert type(p * 2) is tg.Tensor  # results of ops are plain tensors
    assert type(nn.Parameter._wrap(np.zeros(2), None)) is nn.Parameter
    assert repr(p) == "Parameter containing:\ntensor([1., 2.], requires_grad=True)"
    assert not nn.Parameter(np.ones(2), requires_grad=False).requires_grad
    (p * p).sum().backward()
    np.testing.assert_array_equal(p.grad.array, [2.0, 4.0])
    with tg.no_grad():
        p -= 0.5 * p.grad
    assert type(p) is nn.Parameter
    np.testing.assert_array_equal(p.array, [0.0, 0.0])


def test_parameter_copies_its_data_and_keeps_float32():
    source = np.ones(2, dtype=np.float32)
    p = nn.Parameter(source)
    source[0] = 5
    assert p.dtype == np.float32 and p.array[0] == 1


# --- registration --------------------------------------------------------------------


def test_nested_registration_and_named_parameters_order():
    model = Block()
    names = [name for name, _ in model.named_parameters()]
    assert names == ["scale", "inner.weight", "inner.bias", "heads.0.weight", "heads.0.bias",
                     "heads.1.weight"]
    assert [name for name, _ in model.named_children()] == ["inner", "heads"]
    assert [name for name, _ in model.named_modules()] == [
        "", "inner", "heads", "heads.0", "heads.1"]
    assert [name for name, _ in model.named_parameters(recurse=False)] == ["scale"]
    assert sum(p.numel() for p in model.parameters()) == 3 + (12 + 4) + (8 + 2) + 4
    assert all(isinstance(p, nn.Parameter) for p in model.parameters())


def test_parameter_counts_of_an_mlp():
    model = mlp()
    assert [p.shape for p in model.parameters()] == [
        (16, 2), (16,), (16, 16), (16,), (1, 16), (1,)]
    assert sum(p.numel() for p in model.parameters()) == 48 + 272 + 17


def test_shared_modules_and_parameters_are_listed_once():
    layer = nn.Linear(3, 3)
    model = nn.Sequential(layer, nn.ReLU(), layer)
    assert [name for name, _ in model.named_parameters()] == ["0.weight", "0.bias"]
    assert len(list(model.modules())) == 3  # the Sequential, the Linear once, the ReLU


def test_reassigning_an_attribute_replaces_the_parameter():
    model = nn.Linear(2, 2)
    model.bias = None
    assert [name for name, _ in model.named_parameters()] == ["weight"]
    model.weight = nn.Parameter(np.zeros((2, 2)))
    assert next(model.parameters()) is model.weight


def test_module_that_skips_super_init_still_works():
    class NoInit(nn.Module):
        def __init__(self):
            self.layer = nn.Linear(1, 1)

        def forward(self, x):
            return self.layer(x)

    model = NoInit()
    assert model.training and len(list(model.parameters())) == 2
    assert not model.eval().layer.training


def test_forward_is_required():
    with pytest.raises(NotImplementedError, match="forward"):
        nn.Module()(tg.ones(1))


def test_sequential_and_module_list_behave_like_lists():
    model = mlp()
    assert len(model) == 5 and isinstance(model[0], nn.Linear)
    assert isinstance(model[-1], nn.Linear) and model[-1].out_features == 1
    head = model[:2]
    assert isinstance(head, nn.Sequential) and len(head) == 2 and head[0] is model[0]
    x = tg.randn(4, 2)
    np.testing.assert_allclose(model(x).array, model[2:](model[:2](x)).array)
    named = nn.Sequential({"hidden": nn.Linear(2, 3), "act": nn.Tanh()})
    assert [name for name, _ in named.named_parameters()] == ["hidden.weight", "hidden.bias"]
    layers = nn.ModuleList()
    layers.append(nn.Linear(1, 2)).extend([nn.ReLU(), nn.Linear(2, 1)])
    assert len(layers) == 3 and [type(m).__name__ for m in layers] == ["Linear", "ReLU",
                                                                        "Linear"]
    layers[1] = nn.Tanh()
    assert isinstance(layers[1], nn.Tanh)
    with pytest.raises(TypeError, match="not a Module"):
        nn.Sequential(nn.Linear(1, 1), lambda x: x)
    with pytest.raises(IndexError):
        layers[7] = nn.Tanh()


def test_zero_grad_sets_none_by_default_or_zeros_in_place():
    model = mlp()
    nn.MSELoss()(model(tg.randn(3, 2)), tg.zeros(3, 1)).backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and np.any(g.array != 0) for g in grads)
    model.zero_grad(set_to_none=False)
    for p, g in zip(model.parameters(), grads):
        assert p.grad is g and not np.any(g.array)  # same tensor, zeroed in place
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_zero_grad_drops_a_recorded_gradient_graph():
    layer = nn.Linear(2, 1)
    out = (layer(tg.ones(1, 2)) ** 2).sum()  # its gradient depends on the weights
    out.backward(create_graph=True)
    assert layer.weight.grad.requires_grad
    layer.zero_grad(set_to_none=False)
    assert not layer.weight.grad.requires_grad and not layer.weight.grad.array.any()


def test_deepcopy_gives_an_independent_model():
    model = mlp()
    twin = copy.deepcopy(model)
    assert type(twin[0].weight) is nn.Parameter and twin[0].weight.requires_grad
    assert not np.shares_memory(twin[0].weight.array, model[0].weight.array)
    with tg.no_grad():
        twin[0].weight -= 1.0
    assert not np.allclose(twin[0].weight.array, model[0].weight.array)


def test_train_and_eval_reach_every_module():
    model = Block()
    assert model.eval() is model
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())


def test_apply_visits_children_before_parents():
    model = Block()
    seen = []
    model.apply(lambda m: seen.append(type(m).__name__))
    assert seen == ["Linear", "Linear", "Linear", "ModuleList", "Block"]


def test_repr_reads_like_pytorch():
    assert repr(mlp()) == (
        "Sequential(\n"
        "  (0): Linear(in_features=2, out_features=16, bias=True)\n"
        "  (1): ReLU()\n"
        "  (2): Linear(in_features=16, out_features=16, bias=True)\n"
        "  (3): Tanh()\n"
        "  (4): Linear(in_features=16, out_features=1, bias=True)\n"
        ")")
    assert repr(Block()) == (
        "Block(\n"
        "  (inner): Linear(in_features=3, out_features=4, bias=True)\n"
        "  (heads): ModuleList(\n"
        "    (0): Linear(in_features=4, out_features=2, bias=True)\n"
        "    (1): Linear(in_features=4, out_features=1, bias=False)\n"
        "  )\n"
        ")")
    assert repr(nn.CrossEntropyLoss()) == "CrossEntropyLoss()"
    assert repr(nn.MSELoss(reduction="sum")) == "MSELoss()"  # as PyTorch: no settings


# --- Linear --------------------------------------------------------------------------


def test_linear_computes_x_w_transpose_plus_b():
    layer = nn.Linear(3, 2)
    x = np.random.default_rng(0).standard_normal((5, 3))
    expected = x @ layer.weight.array.T + layer.bias.array
    np.testing.assert_allclose(layer(tg.tensor(x)).array, expected)
    np.testing.assert_allclose(layer(tg.tensor(x[0])).array, expected[0])  # one sample
    no_bias = nn.Linear(3, 2, bias=False)
    assert no_bias.bias is None and len(list(no_bias.parameters())) == 1
    with pytest.raises(ValueError, match="expects 3 features"):
        layer(tg.ones(5, 4))
    with pytest.raises(ValueError, match="positive int"):
        nn.Linear(0, 2)


def test_linear_weight_gradient_is_laid_out_like_the_weight():
    """x @ W.T multiplies by a transposed view; W's gradient must still come out in
    W's own (row-major) layout, or every update would need a slow strided copy."""
    layer = nn.Linear(6, 4)
    x = np.random.default_rng(1).standard_normal((5, 6))
    for _ in range(2):  # the first gradient, then one accumulated into it
        layer(tg.tensor(x)).sum().backward()
    grad = layer.weight.grad.array
    assert grad.flags.c_contiguous and grad.shape == (4, 6)
    np.testing.assert_allclose(grad, 2 * np.ones((5, 4)).T @ x, rtol=1e-12)


def test_linear_default_init_follows_pytorch():
    # weight: kaiming_uniform_(a=sqrt(5)) -> U(-1/sqrt(fan_in), 1/sqrt(fan_in)); bias too
    tg.manual_seed(0)
    layer = nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)
    for p in (layer.weight, layer.bias):
        assert np.all(np.abs(p.array) <= bound)
        assert np.abs(p.array).max() > 0.95 * bound  # fills the whole interval
    assert layer.weight.array.var() == pytest.approx(bound**2 / 3, rel=0.02)
    assert abs(layer.weight.array.mean()) < 0.01 * bound * 10
    tg.manual_seed(0)
    again = nn.Linear(400, 300)
    np.testing.assert_array_equal(layer.weight.array, again.weight.array)
    assert nn.Linear(2, 2, dtype=np.float32).weight.dtype == np.float32


# --- state dicts and files -----------------------------------------------------------


def test_state_dict_names_shapes_and_sharing():
    model = mlp()
    state = model.state_dict()
    assert list(state) == [name for name, _ in model.named_parameters()]
    assert all(not t.requires_grad for t in state.values())
    assert np.shares_memory(state["0.weight"].array, model[0].weight.array)  # as PyTorch


def test_state_dict_round_trip_through_a_file(tmp_path):
    model = mlp(seed=0)
    path = tmp_path / "model.npz"
    save(model.state_dict(), path)
    other = mlp(seed=1)
    x = tg.randn(7, 2)
    assert not np.allclose(model(x).array, other(x).array)
    weight_before = other[0].weight
    result = other.load_state_dict(load(path))
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert other[0].weight is weight_before  # copied in place: optimizers stay valid
    np.testing.assert_array_equal(model(x).array, other(x).array)
    assert list(load(path)) == list(model.state_dict())


def test_save_uses_the_path_as_given_and_loads_with_numpy(tmp_path):
    path = tmp_path / "weights.bin"
    save({"a": tg.tensor([1.0, 2.0]), "b": np.arange(3), "file": np.ones(1)}, str(path))
    assert path.exists() and not (tmp_path / "weights.bin.npz").exists()
    with np.load(path, allow_pickle=False) as archive:
        np.testing.assert_array_equal(archive["b"], [0, 1, 2])
    loaded = load(path)
    assert set(loaded) == {"a", "b", "file"}
    assert loaded["b"].dtype == np.int64  # an integer array stays integer


def test_float32_parameters_survive_the_round_trip(tmp_path):
    model = nn.Linear(2, 3, dtype=np.float32)
    save(model.state_dict(), tmp_path / "f32.npz")
    loaded = load(tmp_path / "f32.npz")
    assert loaded["weight"].dtype == np.float32
    np.testing.assert_array_equal(loaded["weight"].array, model.weight.array)


@pytest.mark.parametrize("edit, message", [
    (lambda s: s.pop("2.bias"), r"missing keys: '2\.bias'"),
    (lambda s: s.update(extra=tg.ones(1)), r"unexpected keys: 'extra'"),
    (lambda s: s.update({"4.weight": tg.ones(16, 1)}),
     r"size mismatch for '4\.weight': shape \(16, 1\) in the state dict, \(1, 16\)"),
    (lambda s: s.update({"0.bias": np.array(["a"] * 16)}), r"'0\.bias': values of dtype"),
])
def test_load_errors_are_clear_and_change_nothing(tmp_path, edit, message):
    source = mlp(seed=1).state_dict()
    source = {name: t.clone() for name, t in source.items()}
    edit(source)
    model = mlp(seed=0)
    before = params_copy(model)
    with pytest.raises(RuntimeError, match=message) as info:
        model.load_state_dict(source)
    assert "nothing was changed" in str(info.value)
    assert_params_equal(model, before)  # even entries that were fine were not copied
    if all(isinstance(v, tg.Tensor) for v in source.values()):  # the same through a file
        save(source, tmp_path / "bad.npz")
        with pytest.raises(RuntimeError, match=message):
            model.load_state_dict(load(tmp_path / "bad.npz"))
        assert_params_equal(model, before)


def test_all_problems_are_listed_together():
    model = mlp()
    state = model.state_dict()
    del state["0.weight"], state["2.bias"]
    state["0.bias"] = tg.ones(3)
    state["extra"] = tg.ones(1)
    with pytest.raises(RuntimeError) as info:
        model.load_state_dict(state)
    text = str(info.value)
    assert "'0.weight', '2.bias'" in text and "'extra'" in text and "'0.bias'" in text


def test_non_strict_loading_skips_keys_but_not_shapes():
    model = mlp(seed=0)
    source = mlp(seed=1).state_dict()
    del source["4.bias"]
    source["extra"] = tg.ones(2)
    old_bias = model[4].bias.array.copy()
    missing, unexpected = model.load_state_dict(source, strict=False)
    assert missing == ["4.bias"] and unexpected == ["extra"]
    np.testing.assert_array_equal(model[0].weight.array, source["0.weight"].array)
    np.testing.assert_array_equal(model[4].bias.array, old_bias)
    source["0.weight"] = tg.ones(2, 16)
    with pytest.raises(RuntimeError, match="size mismatch"):
        model.load_state_dict(source, strict=False)


def test_load_state_dict_accepts_arrays_and_casts_to_the_parameter_dtype():
    model = nn.Linear(2, 1, dtype=np.float32)
    model.load_state_dict({"weight": np.array([[1.0, 2.0]]), "bias": [3]})
    assert model.weight.dtype == np.float32
    np.testing.assert_array_equal(model(tg.tensor([1.0, 1.0], dtype=np.float32)).array, [6.0])
    with pytest.raises(TypeError, match="dict"):
        model.load_state_dict([("weight", np.ones((1, 2)))])


def test_load_refuses_pickles_and_foreign_files(tmp_path):
    objects = tmp_path / "objects.npz"
    np.savez(objects, weight=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ValueError, match="Python objects"):
        load(objects)
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(ValueError, match="not a file written by save"):
        load(text)
    single = tmp_path / "single.npy"
    np.save(single, np.ones(2))
    with pytest.raises(ValueError, match="single array"):
        load(single)
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "missing.npz")


def test_save_refuses_what_would_need_pickle(tmp_path):
    with pytest.raises(TypeError, match=r"obj\['w'\] is a set"):
        save({"w": {1, 2}}, tmp_path / "x.npz")
    with pytest.raises(TypeError, match="keys must be strings, ints"):
        save({(1, 2): tg.ones(1)}, tmp_path / "x.npz")
    with pytest.raises(TypeError, match=r"save its state_dict\(\) instead"):
        save(mlp(), tmp_path / "x.npz")
    assert not (tmp_path / "x.npz").exists()


# --- losses: NumPy references --------------------------------------------------------


def reduce_np(loss: np.ndarray, reduction: str) -> np.ndarray:
    return {"mean": loss.mean, "sum": loss.sum, "none": lambda: loss}[reduction]()


def mse_np(x, y, reduction):
    return reduce_np((x - y) ** 2, reduction)


def bce_np(x, y, reduction):
    # -[y log s(x) + (1-y) log(1-s(x))] = log(1 + e^x) - x*y
    return reduce_np(np.logaddexp(0.0, x) - x * y, reduction)


def cross_entropy_np(logits, classes, reduction):
    m = logits.max(axis=-1, keepdims=True)
    lse = (m + np.log(np.exp(logits - m).sum(axis=-1, keepdims=True)))[..., 0]
    picked = np.take_along_axis(logits, np.asarray(classes)[..., None], axis=-1)[..., 0]
    return reduce_np(lse - picked, reduction)


@st.composite
def classification(draw, max_abs=5.0):
    """Logits (N, C) and integer targets (N,), N in 1..8 and C in 1..6."""
    n, c = draw(st.integers(1, 8)), draw(st.integers(1, 6))
    logits = draw(hnp.arrays(np.float64, (n, c), elements=st.floats(-max_abs, max_abs)))
    classes = draw(hnp.arrays(np.int64, (n,), elements=st.integers(0, c - 1)))
    return logits, classes


@st.composite
def regression(draw, target_lo=-3.0):
    """Predictions and targets of one shape (batch 1..8, 1..3 outputs)."""
    shape = (draw(st.integers(1, 8)), draw(st.integers(1, 3)))
    x = draw(hnp.arrays(np.float64, shape, elements=st.floats(-6, 6)))
    y = draw(hnp.arrays(np.float64, shape, elements=st.floats(target_lo, 1)))
    return x, y


@FAST
@given(data=classification(), reduction=st.sampled_from(REDUCTIONS))
def test_cross_entropy_matches_numpy_and_finite_differences(data, reduction):
    logits, classes = data
    out = nn.CrossEntropyLoss(reduction=reduction)(tg.tensor(logits), classes)
    np.testing.assert_allclose(out.array, cross_entropy_np(logits, classes, reduction),
                               rtol=1e-10, atol=1e-12)
    assert gradcheck(lambda z: F.cross_entropy(z, classes, reduction=reduction), logits)


@FAST
@given(data=regression(), reduction=st.sampled_from(REDUCTIONS))
def test_mse_matches_numpy_and_finite_differences(data, reduction):
    x, y = data
    out = nn.MSELoss(reduction=reduction)(tg.tensor(x), tg.tensor(y))
    np.testing.assert_allclose(out.array, mse_np(x, y, reduction), rtol=1e-12)
    assert gradcheck(lambda a, b: F.mse_loss(a, b, reduction=reduction), x, y)


@FAST
@given(data=regression(target_lo=0.0), reduction=st.sampled_from(REDUCTIONS))
def test_bce_with_logits_matches_numpy_and_finite_differences(data, reduction):
    x, y = data
    out = nn.BCEWithLogitsLoss(reduction=reduction)(tg.tensor(x), tg.tensor(y))
    np.testing.assert_allclose(out.array, bce_np(x, y, reduction), rtol=1e-10, atol=1e-12)
    fn = lambda a, b: F.binary_cross_entropy_with_logits(a, b, reduction=reduction)
    assert gradcheck(fn, x, y)


def test_bce_gradient_is_exact_at_zero_logit():
    # the kinks of max(x, 0) and |x| cancel at x = 0: d/dx = sigmoid(0) - y = 0.5 - y
    x = tg.zeros(3, requires_grad=True)
    y = tg.tensor([0.0, 0.3, 1.0])
    F.binary_cross_entropy_with_logits(x, y, reduction="sum").backward()
    np.testing.assert_allclose(x.grad.array, 0.5 - y.array)


def softmax_np(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_extreme_logits_stay_finite(reduction):
    logits = np.array([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 1000.0], [0.0, 0.0, 0.0]])
    classes = np.array([1, 2, 0])
    z = tg.tensor(logits, requires_grad=True)
    loss = F.cross_entropy(z, classes, reduction=reduction)
    np.testing.assert_allclose(loss.array, cross_entropy_np(logits, classes, reduction))
    assert np.all(np.isfinite(loss.array))
    loss.sum().backward()
    expected = softmax_np(logits) - np.eye(3)[classes]  # d loss_i / d z_i
    scale = {"mean": 1 / 3, "sum": 1.0, "none": 1.0}[reduction]
    np.testing.assert_allclose(z.grad.array, scale * expected, atol=1e-12)

    x = tg.tensor([1000.0, -1000.0, 1000.0, -1000.0], requires_grad=True)
    y = tg.tensor([0.0, 1.0, 1.0, 0.0])
    loss = F.binary_cross_entropy_with_logits(x, y, reduction=reduction)
    np.testing.assert_allclose(loss.array, bce_np(x.array, y.array, reduction))
    loss.sum().backward()
    sigmoid = np.array([1.0, 0.0, 1.0, 0.0])
    scale = {"mean": 1 / 4, "sum": 1.0, "none": 1.0}[reduction]
    np.testing.assert_allclose(x.grad.array, scale * (sigmoid - y.array), atol=1e-12)


def test_cross_entropy_accepts_whole_number_targets_in_several_forms():
    logits = np.random.default_rng(1).standard_normal((4, 3))
    expected = cross_entropy_np(logits, [0, 2, 1, 2], "mean")
    for target in ([0, 2, 1, 2], np.array([0, 2, 1, 2], dtype=np.uint8),
                   tg.tensor([0.0, 2.0, 1.0, 2.0]), np.array([0.0, 2.0, 1.0, 2.0])):
        np.testing.assert_allclose(F.cross_entropy(tg.tensor(logits), target).array, expected)
    one = F.cross_entropy(tg.tensor(logits[1]), 2)  # a single sample: logits (C,)
    np.testing.assert_allclose(one.array, cross_entropy_np(logits[1:2], [2], "sum"))


@pytest.mark.parametrize("target, error, message", [
    (np.array([0, 3, 1, -1]), IndexError, r"out of range.*valid targets are 0 to 2"),
    (np.array([0, 1]), ValueError, r"target of shape \(4,\).*got \(2,\)"),
    (np.zeros((4, 3), dtype=np.int64), ValueError, r"target of shape \(4,\)"),
    (tg.tensor([0.0, 1.5, 1.0, 2.0]), ValueError, "whole numbers"),
    (np.array([0.0, np.nan, 1.0, 2.0]), ValueError, "whole numbers"),
    (np.array([True, False, True, False]), TypeError, "dtype bool"),
    (np.array(["0", "1", "1", "2"]), TypeError, "class indices"),
    ("0112", TypeError, "got str"),
])
def test_cross_entropy_target_errors(target, error, message):
    with pytest.raises(error, match=message):
        F.cross_entropy(tg.zeros(4, 3), target)


def test_loss_argument_errors():
    with pytest.raises(ValueError, match="must be equal"):
        F.mse_loss(tg.zeros(4, 1), tg.zeros(4))  # would silently broadcast to (4, 4)
    with pytest.raises(ValueError, match="must be equal"):
        nn.BCEWithLogitsLoss()(tg.zeros(4), tg.zeros(4, 1))
    with pytest.raises(ValueError, match="reduction must be"):
        nn.MSELoss(reduction="average")
    with pytest.raises(ValueError, match="reduction must be"):
        F.cross_entropy(tg.zeros(2, 2), [0, 1], reduction="avg")
    with pytest.raises(ValueError, match=r"\(N, C\), \(C,\) or \(N, C, d1, ...\)"):
        F.cross_entropy(tg.zeros(()), 0)
    with pytest.raises(ValueError, match=r"needs a target of shape \(2, 2\)"):
        F.cross_entropy(tg.zeros(2, 2, 2), [0, 1])  # (N, C, d1) takes targets (N, d1)


def test_functional_activations_match_the_tensor_methods():
    x = tg.tensor([-2.0, 0.0, 3.0])
    np.testing.assert_array_equal(F.relu(x).array, [0.0, 0.0, 3.0])
    np.testing.assert_allclose(F.tanh(x).array, np.tanh(x.array))
    np.testing.assert_allclose(F.sigmoid(x).array, 1 / (1 + np.exp(-x.array)))
    np.testing.assert_allclose(nn.Sigmoid()(x).array, F.sigmoid(x).array)
    np.testing.assert_allclose(nn.Tanh()(x).array, F.tanh(x).array)
    np.testing.assert_allclose(nn.ReLU()(x).array, F.relu(x).array)
    np.testing.assert_allclose(F.softmax(x, dim=0).array, softmax_np(x.array))
    np.testing.assert_allclose(F.log_softmax(x, 0).array, np.log(softmax_np(x.array)))
    assert nn.Identity()(x) is x


# --- gradients through a whole network -----------------------------------------------


def test_gradcheck_through_a_small_mlp():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((5, 3)), rng.standard_normal((5, 2))
    shapes = [(4, 3), (4,), (2, 4), (2,)]
    weights = [rng.standard_normal(s) for s in shapes]

    def loss(w1, b1, w2, b2):
        hidden = F.tanh(F.linear(tg.tensor(x), w1, b1))
        return F.mse_loss(F.linear(hidden, w2, b2), y)

    assert gradcheck(loss, *weights)


@pytest.mark.parametrize("loss_fn, make_target", [
    (nn.MSELoss(), lambda rng: rng.standard_normal((6, 3))),
    (nn.CrossEntropyLoss(), lambda rng: rng.integers(0, 3, 6)),
    (nn.BCEWithLogitsLoss(), lambda rng: rng.integers(0, 2, (6, 3)).astype(float)),
])
def test_module_gradients_match_finite_differences(loss_fn, make_target):
    rng = np.random.default_rng(2)
    tg.manual_seed(2)
    model = nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 5), nn.Sigmoid(),
                          nn.Linear(5, 3))
    x, target = tg.tensor(rng.standard_normal((6, 4))), make_target(rng)
    loss_fn(model(x), target).backward()
    params = list(model.parameters())
    # numerical_grad nudges each parameter's own memory and calls the closure
    numeric = numerical_grad(lambda *_: loss_fn(model(x), target), *params)
    for p, expected in zip(params, numeric):
        np.testing.assert_allclose(p.grad.array, expected, rtol=1e-5, atol=1e-8)


# --- init ----------------------------------------------------------------------------


def test_init_functions_fill_in_place_with_the_right_statistics():
    tg.manual_seed(0)
    w = nn.Parameter(np.zeros((300, 200)))  # requires grad: filled under no_grad
    data = w.array
    assert init.uniform_(w, -2.0, 3.0) is w and w.array is data
    assert w.array.min() >= -2 and w.array.max() < 3
    assert w.array.mean() == pytest.approx(0.5, abs=0.02)
    assert w.array.var() == pytest.approx(25 / 12, rel=0.02)  # (b - a)^2 / 12
    init.normal_(w, 1.0, 0.5)
    assert w.array.mean() == pytest.approx(1.0, abs=0.01)
    assert w.array.std() == pytest.approx(0.5, rel=0.01)
    init.zeros_(w)
    assert not w.array.any()
    init.ones_(w)
    assert np.all(w.array == 1)
    init.constant_(w, 0.25)
    assert np.all(w.array == 0.25)
    assert w.grad is None and w.is_leaf and w.requires_grad


@pytest.mark.parametrize("fill, bound", [
    (lambda w: init.kaiming_uniform_(w), math.sqrt(2) * math.sqrt(3 / 200)),
    (lambda w: init.kaiming_uniform_(w, nonlinearity="relu", mode="fan_out"),
     math.sqrt(2) * math.sqrt(3 / 300)),
    (lambda w: init.kaiming_uniform_(w, a=math.sqrt(5)), 1 / math.sqrt(200)),
    (lambda w: init.xavier_uniform_(w), math.sqrt(6 / 500)),
    (lambda w: init.xavier_uniform_(w, gain=init.calculate_gain("tanh")),
     5 / 3 * math.sqrt(6 / 500)),
])
def test_uniform_initialisers_use_their_bound(fill, bound):
    tg.manual_seed(0)
    w = fill(tg.zeros(300, 200))  # (fan_out, fan_in)
    assert np.all(np.abs(w.array) <= bound) and np.abs(w.array).max() > 0.99 * bound
    assert w.array.var() == pytest.approx(bound**2 / 3, rel=0.02)


def test_normal_initialisers_use_their_std():
    tg.manual_seed(0)
    w = init.kaiming_normal_(tg.zeros(300, 200), nonlinearity="relu")
    assert w.array.std() == pytest.approx(math.sqrt(2 / 200), rel=0.02)
    w = init.xavier_normal_(tg.zeros(300, 200))
    assert w.array.std() == pytest.approx(math.sqrt(2 / 500), rel=0.02)


def test_init_is_seeded_by_manual_seed():
    def draw():
        return [f(tg.zeros(4, 5)).array.copy() for f in (
            init.uniform_, init.normal_, init.kaiming_uniform_, init.xavier_uniform_)]

    tg.manual_seed(123)
    first = draw()
    tg.manual_seed(123)
    again = draw()
    tg.manual_seed(124)
    other = draw()
    for a, b, c in zip(first, again, other):
        np.testing.assert_array_equal(a, b)
        assert not np.array_equal(a, c)


def test_init_errors():
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        init.kaiming_uniform_(tg.zeros(5))
    with pytest.raises(ValueError, match="mode"):
        init.kaiming_uniform_(tg.zeros(2, 2), mode="fan_avg")
    with pytest.raises(ValueError, match="unknown nonlinearity"):
        init.calculate_gain("swish")
    with pytest.raises(TypeError, match="expected a Tensor"):
        init.zeros_(np.zeros(3))
    assert init.calculate_gain("leaky_relu", 0.2) == pytest.approx(math.sqrt(2 / 1.04))
    assert init.fan_in_and_fan_out(tg.zeros(8, 3, 5, 5)) == (75, 200)
