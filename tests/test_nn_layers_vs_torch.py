"""nn layers, containers, the Module API and the functional forms against PyTorch.

Every layer runs in float64 with the same weights (copied through state_dict, which
checks the names too) and the same input as torch.nn's; the outputs and the gradients
with respect to the input and to every parameter must agree. Also: BatchNorm's running
statistics over several training steps and then in eval mode, Dropout's statistics,
reprs and state_dict keys of the same architecture built with both libraries.
"""

from __future__ import annotations

import math
from collections import OrderedDict

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import nn
from tinygrad_edu.nn import functional as F

torch = pytest.importorskip("torch")
tnn, TF = torch.nn, torch.nn.functional

from .torch_compare import assert_close, compare, compare_grads, torch_state  # noqa: E402

RNG = np.random.default_rng(0)


def randn(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape)


def same_weights(ours: nn.Module, theirs) -> None:
    """Copy our (random) parameters and buffers into the PyTorch module, by name; the
    strict load checks that both state_dicts have the same keys."""
    theirs.double()
    theirs.load_state_dict(torch_state(ours))


def randomize(module: nn.Module) -> nn.Module:
    """Random values for every floating parameter (ones and zeros hide mistakes)."""
    for p in module.parameters():
        p.data = tg.tensor(randn(*p.shape))
    return module


def compare_module(ours: nn.Module, theirs, x: np.ndarray, seed: int = 0) -> None:
    """Forward and backward through both modules: output, input gradient, parameter
    gradients."""
    compare(ours, theirs, x, seed=seed)
    compare_grads(ours, theirs)


# --- shape layers ----------------------------------------------------------------------


@pytest.mark.parametrize("make", [
    lambda m: m.Flatten(), lambda m: m.Flatten(0, 2), lambda m: m.Flatten(-2),
    lambda m: m.Unflatten(1, (2, 3)), lambda m: m.Unflatten(-1, (2, -1)), lambda m: m.Identity(),
    lambda m: m.Identity(3, unused=0.1),
])
def test_shape_layers(make):
    compare_module(make(nn), make(tnn), randn(2, 6, 4))


def test_flatten_and_unflatten_shapes():
    x = tg.zeros(2, 3, 4, 5)
    assert nn.Flatten()(x).shape == (2, 60) and nn.Flatten(0, -1)(x).shape == (120,)
    assert nn.Unflatten(1, (1, 3))(x).shape == (2, 1, 3, 4, 5)
    with pytest.raises(ValueError, match="unflatten"):
        nn.Unflatten(1, (2, 2))(x)


# --- activations -----------------------------------------------------------------------

ACTIVATIONS = [
    lambda m: m.ReLU(), lambda m: m.LeakyReLU(), lambda m: m.LeakyReLU(0.2),
    lambda m: m.ELU(), lambda m: m.ELU(alpha=0.7), lambda m: m.GELU(),
    lambda m: m.GELU(approximate="tanh"), lambda m: m.SiLU(), lambda m: m.Softplus(),
    lambda m: m.Softplus(beta=2.0, threshold=3.0), lambda m: m.Softmax(dim=1),
    lambda m: m.Softmax(dim=0), lambda m: m.LogSoftmax(dim=-1), lambda m: m.Tanh(),
    lambda m: m.Sigmoid(),
]


@pytest.mark.parametrize("make", ACTIVATIONS)
def test_activations_match_pytorch(make):
    x = randn(5, 7) * 3
    x[0, :3] = [0.0, 1.5, -1.5]  # 0 too: the subgradients there agree with PyTorch's
    compare_module(make(nn), make(tnn), x)


def test_activation_kinks_and_large_values_match_pytorch():
    x = np.array([-800.0, -30.0, -1e-3, 0.0, 1e-3, 10.0, 20.0, 20.5, 800.0])
    for ours, theirs in [(F.softplus, TF.softplus), (F.elu, TF.elu), (F.silu, TF.silu),
                         (F.gelu, TF.gelu), (lambda t: F.leaky_relu(t, 0.3),
                                             lambda t: TF.leaky_relu(t, 0.3)),
                         (lambda t: F.softplus(t, 0.5, 5.0), lambda t: TF.softplus(t, 0.5, 5.0))]:
        compare(ours, theirs, x)


def test_inplace_activations_write_into_their_input():
    for make in (lambda m: m.ReLU(inplace=True), lambda m: m.LeakyReLU(0.1, inplace=True),
                 lambda m: m.ELU(inplace=True), lambda m: m.SiLU(inplace=True)):
        values = randn(3, 4)
        x = tg.tensor(values)
        assert make(nn)(x) is x
        np.testing.assert_allclose(x.array, make(tnn)(torch.tensor(values)).numpy())
    # through autograd: y is written in place, the gradient still reaches x
    compare(lambda a: F.relu(a * 2.0, inplace=True), lambda a: TF.relu(a * 2.0, inplace=True),
            randn(6))


def test_softmax_without_dim_warns_and_picks_pytorchs_dim():
    for shape in [(4,), (2, 3), (2, 3, 4), (2, 3, 4, 5)]:
        x = randn(*shape)
        with pytest.warns(UserWarning, match="Implicit dimension choice"):
            ours = nn.Softmax()(tg.tensor(x))
        with pytest.warns(UserWarning):
            theirs = tnn.Softmax()(torch.tensor(x))
        assert_close(ours, theirs)
        with pytest.warns(UserWarning, match="log_softmax"):
            assert_close(F.log_softmax(tg.tensor(x)), TF.log_softmax(torch.tensor(x), dim=None))


def test_gelu_rejects_unknown_approximations():
    with pytest.raises(RuntimeError, match="gelu: approximate must be 'none' or 'tanh'"):
        nn.GELU("fast")(tg.ones(2))


# --- Linear ---------------------------------------------------------------------------


def test_linear_matches_pytorch():
    for bias in (True, False):
        ours = nn.Linear(5, 3, bias=bias)
        theirs = tnn.Linear(5, 3, bias=bias)
        same_weights(ours, theirs)
        compare_module(ours, theirs, randn(4, 5))
        compare_module(ours, theirs, randn(2, 4, 5))


def test_linear_follows_the_default_dtype():
    tg.set_default_dtype(tg.float32)
    try:
        assert nn.Linear(2, 2).weight.dtype == np.float32
        assert nn.BatchNorm1d(2).running_mean.dtype == np.float32
    finally:
        tg.set_default_dtype(tg.float64)
    assert nn.Linear(2, 2).weight.dtype == np.float64
    with pytest.raises(TypeError, match="Linear: parameters must be floating"):
        nn.Linear(2, 2, dtype=tg.int64)
    with pytest.raises(RuntimeError, match="cuda"):
        nn.Linear(2, 2, device="cuda")


# --- Dropout --------------------------------------------------------------------------


def test_dropout_keeps_the_mean_and_zeroes_a_fraction_p():
    tg.manual_seed(0)
    for p in (0.2, 0.5, 0.8):
        x = tg.ones(400_000, requires_grad=True)
        out = nn.Dropout(p)(x)
        values = out.array
        assert abs((values == 0).mean() - p) < 0.005
        assert abs(values.mean() - 1.0) < 0.01
        np.testing.assert_allclose(np.unique(values), [0.0, 1 / (1 - p)])
        out.sum().backward()
        np.testing.assert_array_equal(x.grad.array, values)  # d out/dx = mask / (1 - p)


def test_dropout_in_eval_mode_and_the_extremes():
    x = tg.tensor(randn(3, 4))
    layer = nn.Dropout(0.5)
    assert layer.eval()(x) is x
    assert F.dropout(x, 0.5, training=False) is x
    np.testing.assert_array_equal(nn.Dropout(0.0)(x).array, x.array)
    assert not nn.Dropout(1.0)(x).array.any()
    tg.manual_seed(3)
    first = F.dropout(x).array
    tg.manual_seed(3)
    np.testing.assert_array_equal(F.dropout(x).array, first)  # the global generator
    for bad in (-0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match="Dropout: dropout probability has to be between"):
            nn.Dropout(bad)
    with pytest.raises(ValueError, match="dropout: dropout probability"):
        F.dropout(x, 2.0)


# --- Embedding ------------------------------------------------------------------------


@pytest.mark.parametrize("padding_idx", [None, 0, 3, -1])
def test_embedding_matches_pytorch(padding_idx):
    ours = nn.Embedding(6, 4, padding_idx=padding_idx)
    theirs = tnn.Embedding(6, 4, padding_idx=padding_idx)
    same_weights(ours, theirs)
    index = np.array([[0, 3, 5, 3], [1, 0, 2, 5]])
    out, expected = ours(tg.tensor(index)), theirs(torch.tensor(index))
    assert_close(out, expected)
    upstream = randn(2, 4, 4)
    (out * tg.tensor(upstream)).sum().backward()
    (expected * torch.tensor(upstream)).sum().backward()
    compare_grads(ours, theirs)  # the padding row gets none, the repeated rows add up
    if padding_idx is not None:
        assert not ours.weight.grad.array[padding_idx].any()


def test_embedding_initialisation_and_from_pretrained():
    tg.manual_seed(0)
    table = nn.Embedding(1000, 100, padding_idx=2)
    w = table.weight.array
    assert not w[2].any()
    assert abs(w.mean()) < 0.01 and abs(w.std() - 1) < 0.01  # N(0, 1), as PyTorch
    pretrained = np.arange(6.0).reshape(3, 2)
    frozen = nn.Embedding.from_pretrained(tg.tensor(pretrained))
    assert not frozen.weight.requires_grad
    np.testing.assert_array_equal(frozen(tg.tensor([2, 0])).array, pretrained[[2, 0]])
    assert nn.Embedding.from_pretrained(tg.tensor(pretrained), freeze=False).weight.requires_grad
    assert repr(frozen) == repr(tnn.Embedding.from_pretrained(torch.tensor(pretrained)))


def test_embedding_max_norm_renormalises_the_rows_it_looks_up():
    ours = nn.Embedding(5, 3, max_norm=1.0)
    theirs = tnn.Embedding(5, 3, max_norm=1.0)
    same_weights(ours, theirs)
    index = np.array([1, 3, 3])
    assert_close(ours(tg.tensor(index)), theirs(torch.tensor(index)))
    assert_close(ours.weight, theirs.weight)  # changed in place, rows 1 and 3 only


def test_embedding_errors():
    table = nn.Embedding(5, 2)
    with pytest.raises(TypeError, match="Embedding: the indices must be integers"):
        table(tg.tensor([1.0, 2.0]))
    with pytest.raises(IndexError, match="Embedding: index 5 is out of range for 5"):
        table(tg.tensor([0, 5]))
    with pytest.raises(ValueError, match="padding_idx must be within num_embeddings"):
        nn.Embedding(5, 2, padding_idx=5)
    with pytest.raises(ValueError, match="positive int"):
        nn.Embedding(0, 2)
    with pytest.raises(IndexError, match="embedding: index -1"):
        F.embedding(tg.tensor([-1]), table.weight)


# --- BatchNorm ------------------------------------------------------------------------

BATCH_NORMS = [
    (lambda m: m.BatchNorm1d(3), (8, 3)),
    (lambda m: m.BatchNorm1d(3), (4, 3, 5)),
    (lambda m: m.BatchNorm1d(3, momentum=None), (6, 3)),  # cumulative average
    (lambda m: m.BatchNorm1d(3, eps=1e-3, momentum=0.3, affine=False), (5, 3, 2)),
    (lambda m: m.BatchNorm1d(3, bias=False), (5, 3)),
    (lambda m: m.BatchNorm1d(3, track_running_stats=False), (5, 3)),
    (lambda m: m.BatchNorm2d(2), (3, 2, 4, 5)),
    (lambda m: m.BatchNorm2d(2, momentum=None, affine=False), (2, 2, 3, 3)),
    (lambda m: m.BatchNorm2d(2, track_running_stats=False), (2, 2, 3, 3)),
]


@pytest.mark.parametrize("make, shape", BATCH_NORMS)
def test_batch_norm_training_steps_then_eval_match_pytorch(make, shape):
    ours, theirs = randomize(make(nn)), make(tnn)
    same_weights(ours, theirs)
    for step in range(4):  # different batches: the running statistics move
        x = randn(*shape) * (step + 1) + step
        compare_module(ours, theirs, x, seed=step)
        ours.zero_grad()
        theirs.zero_grad()
        for (name, b), (name_t, b_t) in zip(ours.named_buffers(), theirs.named_buffers()):
            assert name == name_t
            assert_close(b, b_t, name)
            assert b.dtype == (np.int64 if name == "num_batches_tracked" else np.float64)
    ours.eval()
    theirs.eval()
    compare_module(ours, theirs, randn(*shape) + 5.0)  # the running statistics (if kept)
    before = {name: b.array.copy() for name, b in ours.named_buffers()}
    ours(tg.tensor(randn(*shape)))
    for name, b in ours.named_buffers():  # eval mode changes no statistic
        np.testing.assert_array_equal(b.array, before[name])


def test_batch_norm_keeps_its_statistics_as_buffers():
    layer = nn.BatchNorm1d(4)
    assert [n for n, _ in layer.named_buffers()] == ["running_mean", "running_var",
                                                     "num_batches_tracked"]
    assert list(layer.state_dict()) == list(tnn.BatchNorm1d(4).state_dict())
    assert [n for n, _ in layer.named_parameters()] == ["weight", "bias"]
    untracked = nn.BatchNorm2d(4, track_running_stats=False, affine=False)
    assert untracked.running_mean is None and list(untracked.state_dict()) == []
    layer(tg.tensor(randn(3, 4)))
    assert int(layer.num_batches_tracked) == 1
    layer.reset_running_stats()
    assert int(layer.num_batches_tracked) == 0 and np.all(layer.running_var.array == 1)


def test_batch_norm_errors_name_the_layer_and_the_shapes():
    with pytest.raises(ValueError, match=r"BatchNorm1d: expected 2D or 3D input.*4D input "
                                         r"of shape \(2, 3, 4, 5\)"):
        nn.BatchNorm1d(3)(tg.zeros(2, 3, 4, 5))
    with pytest.raises(ValueError, match="BatchNorm2d: expected 4D input"):
        nn.BatchNorm2d(3)(tg.zeros(2, 3, 4))
    with pytest.raises(ValueError, match=r"BatchNorm1d: expected more than 1 value per "
                                         r"channel when training, got input of shape \(1, 3\)"):
        nn.BatchNorm1d(3)(tg.zeros(1, 3))
    nn.BatchNorm1d(3).eval()(tg.zeros(1, 3))  # fine in eval mode, as PyTorch
    with pytest.raises(RuntimeError, match=r"BatchNorm1d: running_mean has shape \(3,\), but "
                                           r"the input of shape \(4, 5\) has 5 channels"):
        nn.BatchNorm1d(3)(tg.zeros(4, 5))


@pytest.mark.parametrize("training", [True, False])
def test_functional_batch_norm_and_layer_norm_match_pytorch(training):
    x, mean, var = randn(6, 3, 2), randn(3), np.abs(randn(3)) + 0.1
    w, b = randn(3), randn(3)
    ours_stats = [tg.tensor(mean), tg.tensor(var)]
    theirs_stats = [torch.tensor(mean), torch.tensor(var)]
    compare(lambda a, w_, b_: F.batch_norm(a, *ours_stats, w_, b_, training, 0.2, 1e-3),
            lambda a, w_, b_: TF.batch_norm(a, *theirs_stats, w_, b_, training, 0.2, 1e-3),
            x, w, b)
    for ours, theirs in zip(ours_stats, theirs_stats):  # moved only when training
        assert_close(ours, theirs)
    compare(lambda a, w_, b_: F.layer_norm(a, (3, 2), w_, b_, eps=1e-3),
            lambda a, w_, b_: TF.layer_norm(a, (3, 2), w_, b_, eps=1e-3),
            x, randn(3, 2), randn(3, 2))


# --- LayerNorm ------------------------------------------------------------------------


@pytest.mark.parametrize("make, shape", [
    (lambda m: m.LayerNorm(5), (4, 5)),
    (lambda m: m.LayerNorm((3, 5), eps=1e-3), (2, 3, 5)),
    (lambda m: m.LayerNorm([5], elementwise_affine=False), (2, 3, 5)),
    (lambda m: m.LayerNorm(5, bias=False), (3, 5)),
])
def test_layer_norm_matches_pytorch(make, shape):
    ours, theirs = randomize(make(nn)), make(tnn)
    same_weights(ours, theirs)
    compare_module(ours, theirs, randn(*shape) * 3 + 1)
    ours.eval()
    theirs.eval()
    compare_module(ours, theirs, randn(*shape))  # the same in eval mode


def test_layer_norm_shape_errors():
    with pytest.raises(RuntimeError, match=r"LayerNorm: normalized_shape=\(3,\) expects an "
                                           r"input of shape \(\*, 3\), got \(5, 4\)"):
        nn.LayerNorm(3)(tg.zeros(5, 4))
    with pytest.raises(RuntimeError, match="layer_norm: normalized_shape"):
        F.layer_norm(tg.zeros(4), (2, 4))


# --- reprs and state_dict keys vs PyTorch ------------------------------------------------

REPRS = [
    lambda m: m.Flatten(), lambda m: m.Unflatten(1, (2, 5)), lambda m: m.Identity(),
    lambda m: m.Dropout(), lambda m: m.Dropout(0.2, inplace=True), lambda m: m.Embedding(10, 3),
    lambda m: m.Embedding(10, 3, padding_idx=-1), lambda m: m.Embedding(4, 2, max_norm=1.0),
    lambda m: m.BatchNorm1d(3), lambda m: m.BatchNorm2d(4, momentum=None, affine=False,
                                                         track_running_stats=False),
    lambda m: m.BatchNorm1d(2, bias=False), lambda m: m.LayerNorm(5),
    lambda m: m.LayerNorm((2, 3), elementwise_affine=False), lambda m: m.LayerNorm(4, bias=False),
    lambda m: m.ReLU(), lambda m: m.ReLU(inplace=True), lambda m: m.LeakyReLU(),
    lambda m: m.LeakyReLU(0.2, True), lambda m: m.ELU(), lambda m: m.ELU(0.5, True),
    lambda m: m.GELU(), lambda m: m.GELU("tanh"), lambda m: m.Softmax(),
    lambda m: m.Softmax(dim=1), lambda m: m.LogSoftmax(dim=-1), lambda m: m.Softplus(),
    lambda m: m.Softplus(2, 10), lambda m: m.SiLU(), lambda m: m.SiLU(True), lambda m: m.Tanh(),
    lambda m: m.Sigmoid(), lambda m: m.Linear(2, 3, bias=False),
    lambda m: m.MSELoss(reduction="sum"), lambda m: m.CrossEntropyLoss(label_smoothing=0.1),
    lambda m: m.ModuleDict({"a": m.Linear(2, 3), "b": m.ReLU()}),
    lambda m: m.ModuleList([m.Linear(2, 2), m.Linear(2, 2), m.Linear(2, 2), m.ReLU(),
                            m.Linear(2, 2)]),
    lambda m: m.ModuleList([m.Sequential(m.Linear(1, 1), m.ReLU()),
                            m.Sequential(m.Linear(1, 1), m.ReLU())]),
    lambda m: m.Sequential(m.Linear(2, 2), m.Linear(2, 2)), lambda m: m.ModuleList(),
    lambda m: m.Sequential(), lambda m: m.ParameterList(),
    lambda m: m.Sequential(m.Flatten(), m.Dropout(0.1), m.Sequential(m.BatchNorm1d(4),
                                                                    m.GELU())),
]


@pytest.mark.parametrize("make", REPRS)
def test_repr_is_pytorchs(make):
    assert repr(make(nn)) == repr(make(tnn))


def test_parameter_containers_repr_as_pytorch():
    ours = nn.ParameterList([nn.Parameter(np.ones(3)), nn.Parameter(np.ones((2, 2)))])
    theirs = tnn.ParameterList([tnn.Parameter(torch.ones(3, dtype=torch.float64)),
                                tnn.Parameter(torch.ones(2, 2, dtype=torch.float64))])
    assert repr(ours) == repr(theirs)
    ours = nn.ParameterDict({"x": nn.Parameter(np.ones(3))})
    theirs = tnn.ParameterDict({"x": tnn.Parameter(torch.ones(3, dtype=torch.float64))})
    assert repr(ours) == repr(theirs)


def build(m, lib):
    """The same model, made with tinygrad_edu (m = nn, lib = tg) or with PyTorch."""

    class Net(m.Module):
        def __init__(self):
            super().__init__()
            self.embed = m.Embedding(10, 4, padding_idx=0)
            self.blocks = m.ModuleList([m.Linear(4, 4), m.BatchNorm1d(4), m.Dropout(0.1)])
            self.heads = m.ModuleDict({"a": m.Linear(4, 3), "norm": m.LayerNorm(3)})
            self.scales = m.ParameterList([m.Parameter(lib.ones(3))])
            self.offsets = m.ParameterDict({"b": m.Parameter(lib.zeros(3))})
            self.shared = self.blocks[0]  # the same Linear under two names
            self.register_buffer("steps", lib.zeros(1))
            self.register_buffer("cache", lib.zeros(2), persistent=False)
            self.loss = m.CrossEntropyLoss(weight=lib.ones(3))

        def forward(self, index):
            h = self.embed(index).mean(dim=1)
            for block in self.blocks:
                h = block(h)
            out = self.heads["norm"](self.heads["a"](self.shared(h)))
            return out * self.scales[0] + self.offsets["b"]

    return Net()


def test_the_same_architecture_has_pytorchs_names_and_repr():
    tg.set_default_dtype(tg.float64)
    ours, theirs = build(nn, tg), build(tnn, torch).double()
    assert list(ours.state_dict()) == list(theirs.state_dict())  # shared: both names
    for method in ("named_parameters", "named_buffers", "named_modules", "named_children"):
        assert [n for n, _ in getattr(ours, method)()] == \
            [n for n, _ in getattr(theirs, method)()], method
    assert [n for n, _ in ours.named_parameters(remove_duplicate=False)] == \
        [n for n, _ in theirs.named_parameters(remove_duplicate=False)]
    assert [n for n, _ in ours.named_modules(remove_duplicate=False)] == \
        [n for n, _ in theirs.named_modules(remove_duplicate=False)]
    assert repr(ours) == repr(theirs)
    assert len(list(ours.parameters())) == len(list(theirs.parameters()))
    # PyTorch's weights in our model (and back): the same function, in eval mode
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    theirs.load_state_dict(torch_state(ours))
    ours.eval()
    theirs.eval()
    index = np.array([[1, 2, 0], [4, 4, 9]])
    assert_close(ours(tg.tensor(index)), theirs(torch.tensor(index)))


# --- the Module API -------------------------------------------------------------------


def test_buffers_are_state_but_not_parameters():
    model = build(nn, tg)
    assert "steps" in model.state_dict() and "cache" not in model.state_dict()
    assert [n for n, _ in model.named_buffers()][:2] == ["steps", "cache"]
    assert all(not b.requires_grad for b in model.buffers())
    new = tg.ones(1)
    model.steps = new  # assigning a tensor replaces the buffer
    assert model.state_dict()["steps"].array is new.array or \
        np.shares_memory(model.state_dict()["steps"].array, new.array)
    model.steps = None
    assert "steps" not in model.state_dict() and "steps" not in dict(model.named_buffers())
    with pytest.raises(TypeError, match=r"Net: cannot assign 'int' as buffer 'cache' \(a "
                                        r"Tensor or None expected\)"):
        model.cache = 3
    del model.cache
    assert "cache" not in dict(model.named_buffers())


def test_load_state_dict_copies_buffers_in_place():
    layer = nn.BatchNorm1d(2)
    running = layer.running_mean
    state = {"weight": np.ones(2), "bias": np.zeros(2), "running_mean": np.array([1.0, 2.0]),
             "running_var": np.ones(2), "num_batches_tracked": np.array(7)}
    layer.load_state_dict(state)
    assert layer.running_mean is running and running.tolist() == [1.0, 2.0]
    assert int(layer.num_batches_tracked) == 7 and layer.num_batches_tracked.dtype == np.int64
    del state["num_batches_tracked"]
    with pytest.raises(RuntimeError, match="missing keys: 'num_batches_tracked'"):
        layer.load_state_dict(state)


def test_buffers_survive_a_round_trip_through_a_file(tmp_path):
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    model(tg.tensor(randn(5, 3)))
    tg.save(model.state_dict(), tmp_path / "bn.npz")
    loaded = tg.load(tmp_path / "bn.npz")
    assert loaded["1.num_batches_tracked"].shape == () and \
        loaded["1.num_batches_tracked"].dtype == np.int64
    other = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    other.load_state_dict(loaded)
    for (name, a), (_, b) in zip(model.state_dict().items(), other.state_dict().items()):
        np.testing.assert_array_equal(a.array, b.array, err_msg=name)


def test_register_errors_are_pytorchs():
    module = nn.Linear(2, 2)
    for register in (lambda: module.register_buffer("weight", tg.ones(1)),
                     lambda: module.add_module("train", nn.ReLU()),
                     lambda: module.register_parameter("in_features", nn.Parameter([1.0])),
                     lambda: module.register_buffer("a.b", tg.ones(1)),
                     lambda: module.register_buffer("", tg.ones(1))):
        with pytest.raises(KeyError):
            register()
    theirs = tnn.Linear(2, 2)
    for register in (lambda: theirs.register_buffer("weight", torch.ones(1)),
                     lambda: theirs.add_module("train", tnn.ReLU())):
        with pytest.raises(KeyError):
            register()
    with pytest.raises(TypeError, match="cannot assign 'int' object to buffer 'x'"):
        module.register_buffer("x", 5)
    with pytest.raises(TypeError, match="cannot assign 'Tensor' object to parameter 'p'"):
        module.register_parameter("p", tg.ones(1))
    with pytest.raises(TypeError, match="Linear: int is not a Module subclass"):
        module.add_module("act", 5)
    with pytest.raises(TypeError, match="cannot assign 'Tensor' as parameter 'weight'"):
        module.weight = module.weight * 2  # would quietly stop training it
    with pytest.raises(TypeError, match="cannot assign '.*' as parameter 'weight'"):
        theirs.weight = theirs.weight * 2
    model = nn.Sequential(nn.ReLU())
    with pytest.raises(TypeError, match="cannot assign 'int' as child module '0'"):
        setattr(model, "0", 1)
    module.register_buffer("x", None)
    module.x = tg.zeros(1)
    module.register_parameter("extra", nn.Parameter([1.0]))
    module.add_module("act", nn.ReLU())
    assert [n for n, _ in module.named_parameters()] == ["weight", "bias", "extra"]
    assert [n for n, _ in module.named_buffers()] == ["x"]


def test_to_float_and_double_convert_floating_parameters_and_buffers():
    ours, theirs = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2)), \
        tnn.Sequential(tnn.Linear(2, 2), tnn.BatchNorm1d(2))
    weight = ours[0].weight
    (ours(tg.ones(3, 2)) ** 2).sum().backward()
    assert ours.float() is ours and ours[0].weight is weight  # in place: optimizers stay valid
    theirs.float()
    for (name, t), (_, t_t) in zip(list(ours.state_dict().items()),
                                   list(theirs.state_dict().items())):
        assert str(t.dtype) == str(t_t.dtype).replace("torch.", ""), name
    assert weight.grad.dtype == np.float32
    ours.double()
    assert ours[1].running_var.dtype == np.float64
    assert ours[1].num_batches_tracked.dtype == np.int64
    assert ours.to(tg.float32)[0].bias.dtype == np.float32
    with pytest.raises(TypeError, match="only floating dtypes"):
        ours.to(tg.int64)


def test_requires_grad_zero_grad_and_train_eval_reach_every_module():
    model = build(nn, tg)
    assert model.requires_grad_(False) is model
    assert not any(p.requires_grad for p in model.parameters())
    model.requires_grad_()
    assert all(p.requires_grad for p in model.parameters())
    model.eval()
    assert not model.blocks[2].training and not model.blocks[1].training
    assert not model.heads["norm"].training and not model.loss.training
    model.train()
    assert all(m.training for m in model.modules())
    with pytest.raises(ValueError, match="training mode is expected to be boolean"):
        model.train("yes")
    out = model(tg.tensor([[1, 2], [3, 4]]))
    out.sum().backward()
    assert model.embed.weight.grad is not None
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())
    visited, visited_t = [], []
    model.apply(lambda m: visited.append(type(m).__name__))
    build(tnn, torch).apply(lambda m: visited_t.append(type(m).__name__))
    assert visited == visited_t and visited[-1] == "Net"  # children first


def test_train_calls_the_childrens_train():
    calls = []

    class Tracked(nn.Module):
        def train(self, mode=True):
            calls.append(mode)
            return super().train(mode)

    model = nn.Sequential(nn.Sequential(Tracked()))
    model.eval()
    model.train()
    assert calls == [False, True]


def test_shared_parameters_are_listed_once():
    shared = nn.Parameter(np.ones(2))
    a, b = nn.Module(), nn.Module()
    a.p, b.p = shared, shared
    model = nn.ModuleList([a, b])
    assert [n for n, _ in model.named_parameters()] == ["0.p"]
    assert [n for n, _ in model.named_parameters(remove_duplicate=False)] == ["0.p", "1.p"]
    assert list(model.state_dict()) == ["0.p", "1.p"]  # as PyTorch


# --- containers -----------------------------------------------------------------------


def test_module_list_and_sequential_editing():
    layers = nn.ModuleList([nn.Linear(1, 1), nn.ReLU()])
    layers.insert(1, nn.Tanh())
    assert [type(m).__name__ for m in layers] == ["Linear", "Tanh", "ReLU"]
    assert isinstance(layers.pop(0), nn.Linear) and len(layers) == 2
    del layers[0]
    assert [n for n, _ in layers.named_children()] == ["0"] and isinstance(layers[0], nn.ReLU)
    with pytest.raises(IndexError, match="ModuleList: index 3 is out of range for 1"):
        layers[3]
    named = nn.Sequential({"hidden": nn.Linear(2, 3), "act": nn.ReLU(), "out": nn.Linear(3, 1)})
    head = named[1:]
    assert [n for n, _ in head.named_children()] == ["act", "out"]  # names kept, as PyTorch
    assert repr(head) == repr(tnn.Sequential(OrderedDict(
        zip(["hidden", "act", "out"], [tnn.Linear(2, 3), tnn.ReLU(), tnn.Linear(3, 1)])))[1:])
    twice = nn.Sequential(head[1], head[1])
    assert len(twice) == 2 and len(list(twice.children())) == 1  # as PyTorch


def test_module_dict_and_parameter_dict():
    d = nn.ModuleDict({"a": nn.Linear(2, 2)})
    d["b"] = nn.ReLU()
    d.update([("c", nn.Tanh())])
    assert list(d) == d.keys() == ["a", "b", "c"] and "b" in d and len(d) == 3
    assert isinstance(d.pop("b"), nn.ReLU) and "b" not in d
    del d["c"]
    assert [n for n, _ in d.named_parameters()] == ["a.weight", "a.bias"]
    with pytest.raises(KeyError, match="no module 'zz'"):
        d["zz"]
    with pytest.raises(KeyError, match="attribute 'eval' already exists"):
        d["eval"] = nn.ReLU()
    p = nn.ParameterDict({"w": tg.ones(2)})  # a tensor becomes a Parameter
    p["v"] = nn.Parameter(np.zeros(1))
    assert isinstance(p["w"], nn.Parameter) and p.keys() == ["w", "v"]
    assert [n for n, _ in p.named_parameters()] == ["w", "v"]
    plist = nn.ParameterList([tg.ones(2)])
    plist.append(nn.Parameter(np.ones(3)))
    assert [n for n, _ in plist.named_parameters()] == ["0", "1"] and len(plist) == 2
    assert isinstance(plist[0], nn.Parameter) and plist[-1].shape == (3,)
    with pytest.raises(TypeError, match="ParameterList: expected a Parameter or a Tensor"):
        plist.append(3)


# --- functional forms -----------------------------------------------------------------


@pytest.mark.parametrize("pad, mode, value", [
    ((1, 2), "constant", None), ((1, 0, 2, 1), "constant", 1.5), ((-1, 2), "constant", 0.0),
    ((2, 1, 0, 0, 1, 1), "constant", -1.0), ((2, 1), "reflect", None),
    ((1, 2, 2, 0), "reflect", None), ((2, 3), "replicate", None),
    ((1, 1, 2, 2), "replicate", None), ((2, 1), "circular", None),
    ((1, 2, 3, 1), "circular", None),
])
def test_pad_matches_pytorch(pad, mode, value):
    x = randn(2, 3, 4)
    compare(lambda t: F.pad(t, pad, mode, value), lambda t: TF.pad(t, pad, mode, value), x)


def test_pad_errors():
    x = tg.zeros(2, 3)
    with pytest.raises(RuntimeError, match="divisible by 2"):
        F.pad(x, (1,))
    with pytest.raises(RuntimeError, match="too large for mode 'reflect'"):
        F.pad(x, (3, 3), mode="reflect")
    with pytest.raises(RuntimeError, match="doesn't take a value"):
        F.pad(x, (1, 1), mode="reflect", value=2.0)
    with pytest.raises(NotImplementedError, match="unrecognised padding mode 'foo'"):
        F.pad(x, (1, 1), mode="foo")
    with pytest.raises(RuntimeError, match="pad 3 dimensions"):
        F.pad(x, (1, 1, 1, 1, 1, 1))
    with pytest.raises(RuntimeError, match=r"negative padding \(-2, -2\) at dimension 1 crops"):
        F.pad(x, (-2, -2))
    assert F.pad(tg.tensor([[1, 2]]), (1, 0), value=7).tolist() == [[7, 1, 2]]  # ints too


def test_one_hot_matches_pytorch():
    index = np.array([[0, 2], [3, 1]])
    for classes in (-1, 5):
        ours = F.one_hot(tg.tensor(index), classes)
        theirs = TF.one_hot(torch.tensor(index), classes)
        assert ours.dtype == np.int64
        np.testing.assert_array_equal(ours.array, theirs.numpy())
    for bad, error, message in [(tg.tensor([1.0]), TypeError, "class indices"),
                                (tg.tensor([-1, 2]), RuntimeError, "non-negative"),
                                (tg.tensor([1, 5]), RuntimeError, "smaller than num_classes=3"),
                                (tg.zeros(0).long(), RuntimeError, "empty")]:
        with pytest.raises(error, match=message):
            F.one_hot(bad, 3 if "num_classes" in message else -1)


@pytest.mark.parametrize("p, dim", [(2.0, 1), (1.0, 0), (3.0, -1)])
def test_normalize_matches_pytorch(p, dim):
    x = randn(3, 4)
    x[1] = 0.0  # a zero row stays zero (eps), with a finite gradient
    compare(lambda t: F.normalize(t, p, dim), lambda t: TF.normalize(t, p, dim), x)


def test_functional_linear_and_embedding_match_pytorch():
    compare(F.linear, TF.linear, randn(4, 3), randn(2, 3), randn(2))
    compare(lambda x, w: F.linear(x, w), lambda x, w: TF.linear(x, w), randn(3), randn(2, 3))
    index = np.array([2, 0, 2])
    compare(lambda w: F.embedding(tg.tensor(index), w, padding_idx=2),
            lambda w: TF.embedding(torch.tensor(index), w, padding_idx=2), randn(4, 3))


def test_gelu_uses_erf_which_matches_pytorch():
    x = np.linspace(-6, 6, 49)
    compare(lambda t: t.erf(), torch.erf, x)
    compare(tg.erf, torch.erf, x)
    assert math.isclose(float(F.gelu(tg.tensor(1.0))), 0.5 * (1 + math.erf(1 / math.sqrt(2))))


def test_second_derivatives_through_layers_match_pytorch():
    """The layers are compositions of ops whose rules are differentiable themselves, so
    create_graph=True works through them (a gradient penalty, as in WGAN-GP)."""
    def make(m):
        return m.Sequential(m.Linear(3, 4), m.LayerNorm(4), m.GELU(), m.Linear(4, 2),
                            m.Softplus(), m.Linear(2, 1))

    ours, theirs = make(nn), make(tnn).double()
    same_weights(ours, theirs)
    x = randn(5, 3)
    results = []
    for model, lib in ((ours, tg), (theirs, torch)):
        xs = lib.tensor(x, requires_grad=True)
        (g,) = lib.autograd.grad(model(xs).sum(), xs, create_graph=True)
        (g * g).sum().backward()
        results.append((g, xs.grad))
    (g, xg), (g_t, xg_t) = results
    assert_close(g, g_t, "first derivative")
    assert_close(xg, xg_t, "second derivative")
    compare_grads(ours, theirs)
