"""Every loss, module and F form, against PyTorch in float64: for each reduction and
option, the value and the gradients with respect to the input (and the target where
PyTorch gives one). Then the errors: each names the loss the user called and the shapes.
"""

from __future__ import annotations

from contextlib import nullcontext

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import nn
from tinygrad_edu.nn import functional as F

torch = pytest.importorskip("torch")
tnn, TF = torch.nn, torch.nn.functional

from .torch_compare import assert_close, compare  # noqa: E402

RNG = np.random.default_rng(1)
REDUCTIONS = ["mean", "sum", "none"]


def randn(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape)


def both(make, *args, **kwargs):
    """The loss module made by ``make(nn_module, tensor_maker)`` in both libraries."""
    return make(nn, tg.tensor, *args, **kwargs), make(tnn, torch.tensor, *args, **kwargs)


def compare_module(make, *arrays, constants=(), **kwargs):
    """A loss module of both libraries on the same float inputs (all get gradients) and
    the same constant arguments (class indices ...)."""
    ours, theirs = both(make, **kwargs)
    ours_constants = [tg.tensor(c) for c in constants]
    theirs_constants = [torch.tensor(c) for c in constants]
    compare(lambda *xs: ours(*xs, *ours_constants), lambda *xs: theirs(*xs, *theirs_constants),
            *arrays)


# --- regression losses -----------------------------------------------------------------

ELEMENTWISE = [
    ("mse", lambda m, t, r: m.MSELoss(reduction=r), F.mse_loss, TF.mse_loss, {}),
    ("l1", lambda m, t, r: m.L1Loss(reduction=r), F.l1_loss, TF.l1_loss, {}),
    ("smooth_l1", lambda m, t, r: m.SmoothL1Loss(reduction=r), F.smooth_l1_loss,
     TF.smooth_l1_loss, {}),
    ("smooth_l1 beta=0.5", lambda m, t, r: m.SmoothL1Loss(reduction=r, beta=0.5),
     F.smooth_l1_loss, TF.smooth_l1_loss, {"beta": 0.5}),
    ("smooth_l1 beta=0", lambda m, t, r: m.SmoothL1Loss(reduction=r, beta=0.0),
     F.smooth_l1_loss, TF.smooth_l1_loss, {"beta": 0.0}),
    ("huber", lambda m, t, r: m.HuberLoss(reduction=r), F.huber_loss, TF.huber_loss, {}),
    ("huber delta=0.4", lambda m, t, r: m.HuberLoss(reduction=r, delta=0.4), F.huber_loss,
     TF.huber_loss, {"delta": 0.4}),
    ("huber delta=2", lambda m, t, r: m.HuberLoss(reduction=r, delta=2.0), F.huber_loss,
     TF.huber_loss, {"delta": 2.0}),
]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name, make, ours_fn, theirs_fn, options", ELEMENTWISE,
                         ids=[e[0] for e in ELEMENTWISE])
def test_regression_losses_match_pytorch(name, make, ours_fn, theirs_fn, options, reduction):
    x, y = randn(4, 3) * 2, randn(4, 3)
    x[0, 0] = y[0, 0]  # a zero difference too
    compare_module(lambda m, t: make(m, t, reduction), x, y)
    compare(lambda a, b: ours_fn(a, b, reduction=reduction, **options),
            lambda a, b: theirs_fn(a, b, reduction=reduction, **options), x, y)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("ours_fn, theirs_fn", [(F.mse_loss, TF.mse_loss),
                                                (F.l1_loss, TF.l1_loss),
                                                (F.huber_loss, TF.huber_loss)])
def test_weighted_regression_losses_match_pytorch(ours_fn, theirs_fn, reduction):
    weight = np.abs(randn(4, 3))
    compare(lambda a, b: ours_fn(a, b, reduction=reduction, weight=tg.tensor(weight)),
            lambda a, b: theirs_fn(a, b, reduction=reduction, weight=torch.tensor(weight)),
            randn(4, 3), randn(4, 3))


# --- nll_loss and cross_entropy -----------------------------------------------------------

CLASS_CASES = [  # (input shape, target) with some targets ignored (-100)
    ((6, 4), np.array([0, 3, 1, 1, 2, 3])),
    ((6, 4), np.array([0, -100, 1, 3, -100, 2])),
    ((3, 4, 2, 2), np.array([[[0, 1], [2, 3]], [[3, -100], [1, 1]], [[2, 2], [0, 3]]])),
    ((4,), np.array(2)),
]


def class_ids(cases):
    return [f"{shape}{'-ignored' if np.any(t == -100) else ''}" for shape, t in cases]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("shape, target", CLASS_CASES, ids=class_ids(CLASS_CASES))
def test_nll_loss_matches_pytorch(shape, target, weighted, reduction):
    weight = np.array([0.5, 2.0, 1.0, 3.0]) if weighted else None
    log_probs = TF.log_softmax(torch.tensor(randn(*shape)), dim=0 if len(shape) == 1 else 1)
    options = {"reduction": reduction}
    compare_module(lambda m, t: m.NLLLoss(weight=None if weight is None else t(weight),
                                          reduction=reduction),
                   log_probs.numpy(), constants=[target])
    compare(lambda a: F.nll_loss(a, tg.tensor(target), None if weight is None
                                 else tg.tensor(weight), **options),
            lambda a: TF.nll_loss(a, torch.tensor(target), None if weight is None
                                  else torch.tensor(weight), **options), log_probs.numpy())


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("smoothing", [0.0, 0.15])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("shape, target", CLASS_CASES, ids=class_ids(CLASS_CASES))
def test_cross_entropy_with_class_indices_matches_pytorch(shape, target, weighted, smoothing,
                                                          reduction):
    weight = np.array([0.5, 2.0, 1.0, 3.0]) if weighted else None
    compare_module(lambda m, t: m.CrossEntropyLoss(
        weight=None if weight is None else t(weight), reduction=reduction,
        label_smoothing=smoothing), randn(*shape) * 2, constants=[target])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("shape", [(5, 3), (2, 3, 4), (3,)])
def test_cross_entropy_with_class_probabilities_matches_pytorch(shape, weighted, smoothing,
                                                                reduction):
    weight = np.array([0.5, 2.0, 1.5]) if weighted else None
    class_dim = 0 if len(shape) == 1 else 1
    probs = TF.softmax(torch.tensor(randn(*shape)), dim=class_dim).numpy()
    options = {"reduction": reduction, "label_smoothing": smoothing}
    compare(lambda a, p: F.cross_entropy(a, p, None if weight is None else tg.tensor(weight),
                                         **options),
            lambda a, p: TF.cross_entropy(a, p, None if weight is None
                                          else torch.tensor(weight), **options),
            randn(*shape), probs)  # the gradient with respect to the target too


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_with_another_ignore_index(reduction):
    target = np.array([0, 1, 2, 1])
    compare(lambda a: F.cross_entropy(a, tg.tensor(target), ignore_index=1,
                                      reduction=reduction, label_smoothing=0.1),
            lambda a: TF.cross_entropy(a, torch.tensor(target), ignore_index=1,
                                       reduction=reduction, label_smoothing=0.1),
            randn(4, 3))


def test_every_target_ignored_gives_nan_as_pytorch():
    target = np.full(3, -100)
    for loss in (F.cross_entropy, F.nll_loss):
        assert np.isnan(loss(tg.tensor(randn(3, 2)), tg.tensor(target)).item())
    assert np.isnan(TF.cross_entropy(torch.tensor(randn(3, 2)), torch.tensor(target)).item())


# --- binary losses ----------------------------------------------------------------------


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_bce_matches_pytorch(weighted, reduction):
    p = RNG.uniform(0.02, 0.98, (4, 3))
    y = RNG.uniform(0, 1, (4, 3))
    weight = np.abs(randn(3)) if weighted else None  # broadcast over the rows, as PyTorch
    compare_module(lambda m, t: m.BCELoss(weight=None if weight is None else t(weight),
                                          reduction=reduction), p, y)
    compare(lambda a, b: F.binary_cross_entropy(a, b, reduction=reduction),
            lambda a, b: TF.binary_cross_entropy(a, b, reduction=reduction), p, y)


def test_bce_clamps_its_logs_at_minus_100_as_pytorch():
    p = np.array([0.0, 1.0, 0.0, 1.0, 1e-50, 1e-10, 1 - 1e-10])
    y = np.array([0.0, 1.0, 1.0, 0.0, 1.0, 0.0, 1.0])
    ours = F.binary_cross_entropy(tg.tensor(p), tg.tensor(y), reduction="none")
    assert_close(ours, TF.binary_cross_entropy(torch.tensor(p), torch.tensor(y),
                                               reduction="none"))
    x = tg.tensor(p, requires_grad=True)
    F.binary_cross_entropy(x, tg.tensor(y), reduction="sum").backward()
    assert np.all(np.isfinite(x.grad.array))  # log(0) is not differentiated


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted, pos_weighted", [(False, False), (True, False),
                                                    (False, True), (True, True)])
def test_bce_with_logits_matches_pytorch(weighted, pos_weighted, reduction):
    x = randn(4, 3) * 3
    x[0] = [0.0, 60.0, -60.0]
    y = RNG.uniform(0, 1, (4, 3))
    weight = np.abs(randn(4, 1)) if weighted else None
    pos_weight = np.abs(randn(3)) + 0.5 if pos_weighted else None

    def make(m, t):
        return m.BCEWithLogitsLoss(weight=None if weight is None else t(weight),
                                   pos_weight=None if pos_weight is None else t(pos_weight),
                                   reduction=reduction)
    compare_module(make, x, y)


def test_bce_with_logits_stays_finite_for_huge_logits():
    x = np.array([1000.0, -1000.0, 1000.0, -1000.0])
    y = np.array([0.0, 1.0, 1.0, 0.0])
    compare(lambda a: F.binary_cross_entropy_with_logits(a, tg.tensor(y), pos_weight=tg.tensor(
        [2.0])), lambda a: TF.binary_cross_entropy_with_logits(
        a, torch.tensor(y), pos_weight=torch.tensor([2.0])), x)


# --- KL divergence ----------------------------------------------------------------------


@pytest.mark.parametrize("reduction", ["batchmean", "sum", "none", "mean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div_matches_pytorch(reduction, log_target):
    log_q = TF.log_softmax(torch.tensor(randn(4, 5)), dim=1).numpy()
    p = TF.softmax(torch.tensor(randn(4, 5)), dim=1).numpy()
    target = np.log(p) if log_target else p
    with pytest.warns(UserWarning, match="batchmean") if reduction == "mean" else nullcontext():
        compare_module(lambda m, t: m.KLDivLoss(reduction=reduction, log_target=log_target),
                       log_q, target)


def test_kl_div_treats_zero_target_as_zero_loss():
    log_q = TF.log_softmax(torch.tensor(randn(2, 3)), dim=1).numpy()
    p = np.array([[0.0, 0.25, 0.75], [1.0, 0.0, 0.0]])
    compare(lambda a: F.kl_div(a, tg.tensor(p), reduction="sum"),
            lambda a: TF.kl_div(a, torch.tensor(p), reduction="sum"), log_q)


# --- the legacy size_average / reduce arguments -------------------------------------------


@pytest.mark.parametrize("size_average, reduce", [(False, None), (None, False), (True, True)])
def test_legacy_size_average_and_reduce(size_average, reduce):
    x, y = randn(3, 2), randn(3, 2)
    with pytest.warns(UserWarning, match="size_average and reduce are deprecated"):
        ours = nn.MSELoss(size_average=size_average, reduce=reduce)
    with pytest.warns(UserWarning):
        theirs = tnn.MSELoss(size_average=size_average, reduce=reduce)
    assert ours.reduction == theirs.reduction
    with pytest.warns(UserWarning):
        value = F.l1_loss(tg.tensor(x), tg.tensor(y), size_average, reduce)
    with pytest.warns(UserWarning):
        assert_close(value, TF.l1_loss(torch.tensor(x), torch.tensor(y), size_average, reduce))


# --- state: weights are buffers ----------------------------------------------------------


def test_loss_weights_are_buffers_as_in_pytorch():
    for make in (lambda m, t: m.CrossEntropyLoss(weight=t([1.0, 2.0])),
                 lambda m, t: m.NLLLoss(weight=t([1.0, 2.0])),
                 lambda m, t: m.BCELoss(weight=t([1.0, 2.0])),
                 lambda m, t: m.BCEWithLogitsLoss(weight=t([1.0]), pos_weight=t([2.0])),
                 lambda m, t: m.CrossEntropyLoss(), lambda m, t: m.MSELoss()):
        ours, theirs = both(make)
        assert list(ours.state_dict()) == list(theirs.state_dict())
        assert repr(ours) == repr(theirs)
    loss = nn.CrossEntropyLoss(weight=tg.tensor([1.0, 2.0])).float()
    assert loss.weight.dtype == np.float32


# --- errors name the loss and the shapes --------------------------------------------------


@pytest.mark.parametrize("call, error, message", [
    (lambda: nn.MSELoss()(tg.zeros(4, 1), tg.zeros(4)), ValueError,
     r"MSELoss: input shape \(4, 1\) and target shape \(4,\) differ"),
    (lambda: F.l1_loss(tg.zeros(2), tg.zeros(3)), ValueError, r"l1_loss: input shape \(2,\)"),
    (lambda: nn.HuberLoss()(tg.zeros(2), tg.zeros(2, 1)), ValueError, "HuberLoss: input shape"),
    (lambda: nn.BCELoss()(tg.zeros(2), tg.zeros(1, 2)), ValueError, "BCELoss: input shape"),
    (lambda: nn.KLDivLoss(reduction="sum")(tg.zeros(2), tg.zeros(3)), ValueError,
     "KLDivLoss: input shape"),
    (lambda: nn.NLLLoss()(tg.zeros(4, 3), tg.tensor([0, 3, 1, 2])), IndexError,
     r"NLLLoss: target class \[3\] out of range: the input has 3 classes"),
    (lambda: nn.CrossEntropyLoss()(tg.zeros(4, 3), tg.tensor([0, 1])), ValueError,
     r"CrossEntropyLoss: input of shape \(4, 3\) needs a target of shape \(4,\) .*got \(2,\)"),
    (lambda: F.cross_entropy(tg.zeros(2, 3, 5), tg.zeros((2, 3), dtype=tg.int64)), ValueError,
     r"cross_entropy: input of shape \(2, 3, 5\) needs a target of shape \(2, 5\)"),
    (lambda: F.cross_entropy(tg.zeros(4, 3), tg.zeros(4, 2)), ValueError,
     r"needs a target of shape \(4,\).*got \(4, 2\)"),  # probabilities of another shape
    (lambda: nn.CrossEntropyLoss(weight=tg.ones(2))(tg.zeros(4, 3), tg.tensor([0, 1, 2, 0])),
     RuntimeError, r"CrossEntropyLoss: weight should have one entry per class \(3 classes\), "
                   r"got shape \(2,\)"),
    (lambda: nn.CrossEntropyLoss(label_smoothing=1.5)(tg.zeros(2, 3), tg.tensor([0, 1])),
     RuntimeError, "CrossEntropyLoss: label_smoothing must be between 0.0 and 1.0, got 1.5"),
    (lambda: nn.CrossEntropyLoss(ignore_index=0)(tg.zeros(2, 3), tg.zeros(2, 3)),
     RuntimeError, "ignore_index is not supported for class-probability targets"),
    (lambda: nn.BCELoss()(tg.tensor([0.5, 1.5]), tg.zeros(2)), RuntimeError,
     r"BCELoss: all elements of input should be between 0 and 1 .*from 0.5 to 1.5; apply "
     "sigmoid first"),
    (lambda: nn.SmoothL1Loss(beta=-1.0)(tg.zeros(2), tg.zeros(2)), RuntimeError,
     "SmoothL1Loss: beta must be >= 0"),
    (lambda: F.huber_loss(tg.zeros(2), tg.zeros(2), delta=0.0), RuntimeError,
     "huber_loss: delta must be positive"),
    (lambda: F.mse_loss(tg.zeros(2), tg.zeros(2), weight=tg.ones(3)), ValueError,
     "mse_loss: the weight has shape"),
    (lambda: nn.MSELoss(reduction="avg"), ValueError,
     "MSELoss: reduction must be 'mean', 'sum' or 'none', got 'avg'"),
    (lambda: F.nll_loss(tg.zeros(2, 2), tg.tensor([0, 1]), reduction="batchmean"), ValueError,
     "nll_loss: reduction must be"),
    (lambda: nn.KLDivLoss(reduction="avg"), ValueError,
     "KLDivLoss: reduction must be 'mean', 'batchmean', 'sum' or 'none'"),
    (lambda: nn.NLLLoss()(tg.zeros(()), tg.tensor(0)), ValueError,
     r"NLLLoss: the input must be \(N, C\), \(C,\) or \(N, C, d1, ...\)"),
])
def test_loss_errors_name_the_loss_and_the_shapes(call, error, message):
    with pytest.raises(error, match=message):
        call()
