"""optim, optim.lr_scheduler and nn.utils clipping against PyTorch (skipped without it).

Both libraries train the same two parameters, W (3, 2) and b (2,), from the same
start on the same least-squares loss, each computing its own gradients, in float64.
After every one of 50 steps the parameters (and the learning rates, and what the
schedulers set) must agree to 1e-10.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu.nn.utils import (
    clip_grad_norm_,
    clip_grad_value_,
    parameters_to_vector,
    vector_to_parameters,
)

torch = pytest.importorskip("torch")

STEPS = 50
TOL = {"rtol": 1e-10, "atol": 1e-10}
RNG = np.random.default_rng(0)
X, Y = RNG.standard_normal((8, 3)), RNG.standard_normal((8, 2))
W0, B0 = RNG.standard_normal((3, 2)), RNG.standard_normal(2)

# in both libraries, calling step() on a scheduler whose optimizer never stepped warns
pytestmark = pytest.mark.filterwarnings("ignore:.*(step\\(\\)|lr_scheduler.step).*before")


def params(lib):
    return lib.tensor(W0.copy(), requires_grad=True), lib.tensor(B0.copy(), requires_grad=True)


def loss_of(lib, W, b, sign=1.0):
    return sign * ((lib.tensor(X) @ W + b - lib.tensor(Y)) ** 2).mean()


def values(*tensors):
    return [t.detach().numpy().copy() for t in tensors]


def train(lib, make_optimizer, make_scheduler=None, steps=STEPS, sign=1.0, metric=None):
    """Train W, b; after each step record the parameters, the lrs and each group's
    momentum / betas (what OneCycleLR cycles)."""
    W, b = params(lib)
    optimizer = make_optimizer(lib.optim, W, b)
    scheduler = make_scheduler(lib.optim.lr_scheduler, optimizer) if make_scheduler else None
    history = []
    for k in range(steps):
        optimizer.zero_grad()
        loss = loss_of(lib, W, b, sign)
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            if metric is None:
                scheduler.step()
            else:
                scheduler.step(metric(k, loss.item()))
        groups = optimizer.param_groups
        history.append((values(W, b), [g["lr"] for g in groups],
                        [g.get("momentum", g.get("betas")) for g in groups]))
    return history, optimizer, scheduler


def assert_same_history(ours, theirs):
    assert len(ours) == len(theirs)
    for step, ((p1, lr1, m1), (p2, lr2, m2)) in enumerate(zip(ours, theirs)):
        for a, b in zip(p1, p2):
            np.testing.assert_allclose(a, b, **TOL, err_msg=f"parameters after step {step}")
        np.testing.assert_allclose(lr1, lr2, **TOL, err_msg=f"lr after step {step}")
        np.testing.assert_allclose(np.array(m1, dtype=float), np.array(m2, dtype=float), **TOL,
                                   err_msg=f"momentum after step {step}")


def both(make_optimizer, make_scheduler=None, **kwargs):
    ours = train(tg, make_optimizer, make_scheduler, **kwargs)
    theirs = train(torch, make_optimizer, make_scheduler, **kwargs)
    assert_same_history(ours[0], theirs[0])
    return ours, theirs


# --- every optimizer, many settings -------------------------------------------------------

OPTIMIZERS = [
    ("SGD", {"lr": 0.1}),
    ("SGD", {}),  # PyTorch's default lr, 1e-3
    ("SGD", {"lr": 0.05, "momentum": 0.9}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "dampening": 0.5}),
    ("SGD", {"lr": 0.05, "momentum": 0.8, "nesterov": True}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.1}),
    ("SGD", {"lr": 0.1, "weight_decay": 0.3, "maximize": True}),
    ("Adam", {}),
    ("Adam", {"lr": 0.05, "betas": (0.8, 0.95)}),
    ("Adam", {"lr": 0.05, "weight_decay": 0.1, "eps": 1e-4}),
    ("Adam", {"lr": 0.05, "amsgrad": True}),
    ("Adam", {"lr": 0.05, "amsgrad": True, "weight_decay": 0.1, "maximize": True}),
    ("Adam", {"lr": 0.05, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("AdamW", {}),
    ("AdamW", {"lr": 0.05, "weight_decay": 0.3, "amsgrad": True}),
    ("AdamW", {"lr": 0.05, "betas": (0.5, 0.9), "maximize": True}),
    ("RMSprop", {}),
    ("RMSprop", {"lr": 0.005, "momentum": 0.9}),
    ("RMSprop", {"lr": 0.01, "centered": True}),
    ("RMSprop", {"lr": 0.005, "centered": True, "momentum": 0.5, "weight_decay": 0.1}),
    ("RMSprop", {"lr": 0.01, "alpha": 0.9, "eps": 1e-6, "maximize": True}),
    ("Adagrad", {}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.05}),
    ("Adagrad", {"lr": 0.1, "weight_decay": 0.1, "initial_accumulator_value": 0.5}),
    ("Adagrad", {"lr": 0.1, "eps": 1e-6, "maximize": True}),
]


@pytest.mark.parametrize("name, settings", OPTIMIZERS,
                         ids=[f"{n}-{'-'.join(s) or 'defaults'}" for n, s in OPTIMIZERS])
def test_optimizer_matches_pytorch_for_50_steps(name, settings):
    # with maximize, both climb the negated loss: the same path as descending the loss
    sign = -1.0 if settings.get("maximize") else 1.0
    (ours, optimizer, _), (theirs, torch_optimizer, _) = both(
        lambda optim, W, b: getattr(optim, name)([W, b], **settings), sign=sign)
    assert not np.allclose(ours[-1][0][0], W0)  # it did move
    # the same state, under PyTorch's names, with the same values
    state, torch_state = optimizer.state_dict()["state"], torch_optimizer.state_dict()["state"]
    assert state.keys() == torch_state.keys()
    assert state.keys() == (set() if name == "SGD" and "momentum" not in settings else {0, 1})
    for index in state:
        assert state[index].keys() == torch_state[index].keys()
        for key, value in state[index].items():
            np.testing.assert_allclose(value.numpy(), torch_state[index][key].numpy(), **TOL)
    if settings.get("maximize"):
        plain = {k: v for k, v in settings.items() if k != "maximize"}
        descended, _, _ = train(tg, lambda optim, W, b: getattr(optim, name)([W, b], **plain))
        assert_same_history(ours, descended)


def test_param_groups_have_their_own_settings_as_in_pytorch():
    def make(optim, W, b):
        return optim.SGD([{"params": [W], "weight_decay": 0.2},
                          {"params": [b], "lr": 0.01, "nesterov": True}], lr=0.1, momentum=0.9)
    (_, optimizer, _), (_, torch_optimizer, _) = both(make)
    ours, theirs = optimizer.state_dict(), torch_optimizer.state_dict()
    for group, torch_group in zip(ours["param_groups"], theirs["param_groups"]):
        shared = {k: v for k, v in torch_group.items()
                  if k not in ("foreach", "differentiable", "fused")}
        assert group == shared  # defaults filled in, params as indices


@pytest.mark.parametrize("name", ["Adam", "AdamW", "RMSprop", "Adagrad"])
def test_groups_with_different_lr_and_weight_decay(name):
    def make(optim, W, b):
        return getattr(optim, name)([{"params": [W], "lr": 0.02, "weight_decay": 0.5},
                                     {"params": [b]}], lr=0.05)
    both(make)


def test_add_param_group_during_training():
    def make(optim, W, b):
        optimizer = optim.Adagrad([W], lr=0.1, initial_accumulator_value=0.5)
        optimizer.add_param_group({"params": b, "lr": 0.05})
        return optimizer
    (_, optimizer, _), (_, torch_optimizer, _) = both(make)
    assert optimizer.param_groups[1]["params"][0].shape == (2,)
    assert optimizer.param_groups[1]["initial_accumulator_value"] == 0.5  # a default
    # a group's own initial_accumulator_value is used here (PyTorch's Adagrad takes the
    # constructor's for every group)
    W, b = params(tg)
    optimizer = tg.optim.Adagrad([{"params": [W]},
                                  {"params": [b], "initial_accumulator_value": 2.0}])
    assert optimizer.state[W]["sum"].tolist() == [[0.0, 0.0]] * 3
    assert optimizer.state[b]["sum"].tolist() == [2.0, 2.0]
    w = tg.tensor([1.0], requires_grad=True)
    with pytest.raises(ValueError, match="more than one parameter group"):
        optimizer.add_param_group({"params": [w, optimizer.param_groups[0]["params"][0]]})
    assert len(optimizer.param_groups) == 2  # nothing was added


def test_a_parameter_without_gradient_is_skipped_and_has_no_state():
    for lib in (tg, torch):
        W, b = params(lib)
        frozen = lib.tensor([5.0], requires_grad=True)
        optimizer = lib.optim.Adam([W, frozen, b], lr=0.1)
        for _ in range(3):
            optimizer.zero_grad()
            loss_of(lib, W, b).backward()
            optimizer.step()
        assert frozen.grad is None and frozen.tolist() == [5.0]
        assert sorted(optimizer.state_dict()["state"]) == [0, 2]


def test_zero_grad_and_step_with_a_closure():
    for lib in (tg, torch):
        W, b = params(lib)
        optimizer = lib.optim.SGD([W, b], lr=0.1)
        calls = []

        def closure(W=W, b=b, optimizer=optimizer, lib=lib, calls=calls):
            calls.append(1)
            optimizer.zero_grad()
            loss = loss_of(lib, W, b)
            loss.backward()
            return loss
        with lib.no_grad():  # the closure runs with gradients enabled all the same
            loss = optimizer.step(closure)
        assert calls == [1] and math.isclose(loss.item(), loss_of(lib, *params(lib)).item())
        optimizer.zero_grad(set_to_none=False)
        assert W.grad.tolist() == [[0.0, 0.0]] * 3
        optimizer.zero_grad()
        assert W.grad is None and optimizer.step() is None


def test_repr_as_pytorch():
    text = repr(tg.optim.SGD([tg.tensor([1.0], requires_grad=True)], lr=0.1, momentum=0.9))
    torch_text = repr(torch.optim.SGD([torch.tensor([1.0], requires_grad=True)], lr=0.1,
                                      momentum=0.9))
    ignored = ("differentiable", "foreach", "fused")
    assert text.splitlines() == [line for line in torch_text.splitlines()
                                 if not line.strip().startswith(ignored)]


# --- state_dict / load_state_dict -----------------------------------------------------------

ROUND_TRIP = [("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True}),
              ("Adam", {"lr": 0.05, "amsgrad": True}), ("AdamW", {"lr": 0.05}),
              ("RMSprop", {"lr": 0.01, "centered": True, "momentum": 0.5}),
              ("Adagrad", {"lr": 0.1, "lr_decay": 0.01})]


@pytest.mark.parametrize("name, settings", ROUND_TRIP, ids=[n for n, _ in ROUND_TRIP])
def test_state_dict_round_trip_mid_training_continues_identically(name, settings):
    def make(optim, W, b):
        return getattr(optim, name)([{"params": [W]}, {"params": [b], "lr": 0.02}], **settings)

    def make_scheduler(lr_scheduler, optimizer):
        return lr_scheduler.StepLR(optimizer, step_size=7, gamma=0.5)
    uninterrupted, _, _ = train(tg, make, make_scheduler)
    first, optimizer, scheduler = train(tg, make, make_scheduler, steps=20)
    saved, saved_scheduler = optimizer.state_dict(), scheduler.state_dict()
    # a new run: new parameters holding the values reached, a new optimizer, then load
    W, b = (tg.tensor(v, requires_grad=True) for v in first[-1][0])
    resumed = make(tg.optim, W, b)
    resumed_scheduler = make_scheduler(tg.optim.lr_scheduler, resumed)
    resumed.load_state_dict(saved)
    resumed_scheduler.load_state_dict(saved_scheduler)
    for step in range(20, STEPS):
        resumed.zero_grad()
        loss_of(tg, W, b).backward()
        resumed.step()
        resumed_scheduler.step()
        for a, expected in zip(values(W, b), uninterrupted[step][0]):
            np.testing.assert_allclose(a, expected, rtol=0, atol=0)
    # loading copied the state: the first optimizer's tensors were not touched
    first_state = optimizer.state_dict()["state"]
    for key, value in first_state[0].items():
        assert value is not resumed.state[W][key]
    # and PyTorch's state dict has the same structure
    torch_first = train(torch, make, make_scheduler, steps=20)[1].state_dict()
    assert [sorted(s) for s in saved["state"].values()] == \
        [sorted(s) for s in torch_first["state"].values()]
    assert [g["params"] for g in saved["param_groups"]] == [[0], [1]]
    assert [g["params"] for g in torch_first["param_groups"]] == [[0], [1]]


def test_a_state_dict_from_pytorch_can_be_loaded():
    _, torch_optimizer, _ = train(torch, lambda optim, W, b: optim.Adam([W, b], lr=0.05),
                                  steps=10)
    saved = torch_optimizer.state_dict()
    state = {i: {k: tg.tensor(v.numpy()) for k, v in s.items()} for i, s in saved["state"].items()}
    groups = [{k: v for k, v in g.items() if k not in ("foreach", "differentiable", "fused",
                                                       "capturable")}
              for g in saved["param_groups"]]
    W, b = (tg.tensor(p.detach().numpy(), requires_grad=True)
            for p in torch_optimizer.param_groups[0]["params"])
    optimizer = tg.optim.Adam([W, b])
    optimizer.load_state_dict({"state": state, "param_groups": groups})
    assert optimizer.param_groups[0]["lr"] == 0.05 and optimizer.state[W]["step"].item() == 10
    torch_W = torch_optimizer.param_groups[0]["params"][0]
    for opt, w, lib in ((optimizer, W, tg), (torch_optimizer, torch_W, torch)):
        opt.zero_grad()
        loss_of(lib, w, opt.param_groups[0]["params"][1]).backward()
        opt.step()
    np.testing.assert_allclose(W.detach().numpy(), torch_W.detach().numpy(), **TOL)


def test_load_state_dict_checks_everything_before_changing_anything():
    W, b = params(tg)
    optimizer = tg.optim.SGD([W, b], lr=0.1, momentum=0.9)
    loss_of(tg, W, b).backward()
    optimizer.step()
    good = optimizer.state_dict()
    before = (optimizer.param_groups[0]["lr"], optimizer.state[W]["momentum_buffer"].numpy().copy())

    def broken(change):
        saved = {"state": {i: dict(s) for i, s in good["state"].items()},
                 "param_groups": [dict(g, params=list(g["params"])) for g in good["param_groups"]]}
        saved["param_groups"][0]["lr"] = 5.0  # would change the lr if anything were applied
        change(saved)
        return saved
    cases = [
        (lambda s: s["param_groups"].append({"params": []}), ValueError,
         "different number of parameter groups"),
        (lambda s: s["param_groups"][0]["params"].pop(), ValueError,
         "doesn't match the size of optimizer's group"),
        (lambda s: s["state"][1].update(momentum_buffer=tg.zeros(5)), ValueError,
         r"has shape \(5,\), but the parameter has shape \(2,\)"),
        (lambda s: s["state"].update({7: {}}), ValueError, "parameter 7"),
        (lambda s: s["param_groups"][0].update(momentum=-1), ValueError,
         "Invalid momentum value: -1"),
        (lambda s: s["state"][0].update(momentum_buffer="x"), TypeError, "is a str"),
        (lambda s: s.pop("state"), KeyError, "no 'state' entry"),
    ]
    for change, error, message in cases:
        with pytest.raises(error, match=message):
            optimizer.load_state_dict(broken(change))
        assert optimizer.param_groups[0]["lr"] == before[0]
        np.testing.assert_array_equal(optimizer.state[W]["momentum_buffer"].numpy(), before[1])
    with pytest.raises(TypeError, match="expected the dict from optimizer.state_dict"):
        optimizer.load_state_dict([1, 2])
    # and PyTorch raises the same errors for the first two
    torch_optimizer = torch.optim.SGD(params(torch), lr=0.1, momentum=0.9)
    for change, error, message in cases[:2]:
        saved = torch_optimizer.state_dict()
        saved["param_groups"] = [dict(g, params=list(g["params"])) for g in saved["param_groups"]]
        change(saved)
        with pytest.raises(error, match=message):
            torch_optimizer.load_state_dict(saved)


# --- schedulers --------------------------------------------------------------------------

SCHEDULERS = [
    ("StepLR", lambda s, o: s.StepLR(o, step_size=7, gamma=0.5)),
    ("StepLR-default-gamma", lambda s, o: s.StepLR(o, 3)),
    ("MultiStepLR", lambda s, o: s.MultiStepLR(o, milestones=[5, 12, 12, 30], gamma=0.3)),
    ("ExponentialLR", lambda s, o: s.ExponentialLR(o, gamma=0.93)),
    ("CosineAnnealingLR", lambda s, o: s.CosineAnnealingLR(o, T_max=20)),
    ("CosineAnnealingLR-eta_min", lambda s, o: s.CosineAnnealingLR(o, T_max=13, eta_min=0.01)),
    ("LambdaLR", lambda s, o: s.LambdaLR(o, lambda epoch: 1 / (1 + 0.3 * epoch))),
    ("LambdaLR-per-group", lambda s, o: s.LambdaLR(o, [lambda e: 0.95 ** e,
                                                       lambda e: 1 + math.sin(e)])),
    ("OneCycleLR", lambda s, o: s.OneCycleLR(o, max_lr=0.5, total_steps=STEPS)),
    ("OneCycleLR-linear-three-phase", lambda s, o: s.OneCycleLR(
        o, max_lr=[0.5, 0.2], epochs=5, steps_per_epoch=10, pct_start=0.25,
        anneal_strategy="linear", three_phase=True, div_factor=10, final_div_factor=100)),
    ("OneCycleLR-no-momentum", lambda s, o: s.OneCycleLR(
        o, max_lr=0.3, total_steps=60, cycle_momentum=False)),
    ("OneCycleLR-momentum-lists", lambda s, o: s.OneCycleLR(
        o, max_lr=0.3, total_steps=STEPS, base_momentum=[0.8, 0.7], max_momentum=0.9)),
]


def two_groups(optim, W, b):
    return optim.SGD([{"params": [W]}, {"params": [b], "lr": 0.02}], lr=0.05, momentum=0.5)


@pytest.mark.parametrize("name, make_scheduler", SCHEDULERS, ids=[n for n, _ in SCHEDULERS])
def test_scheduler_matches_pytorch_for_50_steps(name, make_scheduler):
    (ours, optimizer, scheduler), (_, _, torch_scheduler) = both(two_groups, make_scheduler)
    np.testing.assert_allclose(scheduler.get_last_lr(), torch_scheduler.get_last_lr(), **TOL)
    assert scheduler.last_epoch == torch_scheduler.last_epoch == STEPS
    np.testing.assert_allclose(scheduler.base_lrs, torch_scheduler.base_lrs, **TOL)
    assert len({tuple(lrs) for _, lrs, _ in ours}) > 1  # the lr did change


@pytest.mark.parametrize("name", ["Adam", "AdamW", "RMSprop"])
def test_one_cycle_cycles_beta1_or_momentum_of_each_optimizer(name):
    def make_scheduler(s, o):
        return s.OneCycleLR(o, max_lr=0.05, total_steps=STEPS, pct_start=0.4)
    (ours, optimizer, _), _ = both(lambda optim, W, b: getattr(optim, name)([W, b]),
                                   make_scheduler)
    assert len({str(m) for _, _, m in ours}) > 10


@pytest.mark.parametrize("settings", [
    {},
    {"patience": 2, "factor": 0.5},
    {"mode": "max", "patience": 1, "threshold": 0.05},
    {"patience": 0, "threshold_mode": "abs", "threshold": 0.01, "cooldown": 3},
    {"mode": "max", "threshold_mode": "abs", "patience": 1, "min_lr": [0.01, 0.001]},
    {"patience": 1, "factor": 0.5, "min_lr": 0.004, "eps": 1e-3},
])
def test_reduce_lr_on_plateau_matches_pytorch(settings):
    # a metric that improves, stalls, wobbles, and improves again
    metrics = [1.0 / (k + 1) if k < 10 else 0.09 + 0.01 * math.sin(k) for k in range(STEPS)]
    metrics[30:35] = [0.05, 0.04, 0.03, 0.02, 0.01]

    def make_scheduler(s, o):
        return s.ReduceLROnPlateau(o, **settings)
    (ours, _, scheduler), (_, _, torch_scheduler) = both(
        two_groups, make_scheduler, metric=lambda k, loss: metrics[k])
    assert scheduler.get_last_lr() == pytest.approx(torch_scheduler.get_last_lr(), rel=1e-12)
    assert scheduler.num_bad_epochs == torch_scheduler.num_bad_epochs
    assert scheduler.best == torch_scheduler.best
    assert len({tuple(lrs) for _, lrs, _ in ours}) > 1


def test_reduce_lr_on_plateau_takes_a_tensor_metric():
    optimizer = tg.optim.SGD(params(tg), lr=1.0)
    scheduler = tg.optim.lr_scheduler.ReduceLROnPlateau(optimizer, patience=0)
    scheduler.step(tg.tensor(1.0))
    scheduler.step(tg.tensor(2.0))  # worse: reduced at once
    assert scheduler.get_last_lr() == [0.1]
    with pytest.raises(TypeError, match="metrics must be a number"):
        scheduler.step(tg.tensor([1.0, 2.0]))


def test_chained_schedulers_and_a_hand_set_lr_follow_pytorchs_recursion():
    """Two recursive schedulers on one optimizer multiply together, and an lr changed
    by hand is carried on, as in PyTorch."""
    def run(lib):
        W, b = params(lib)
        optimizer = lib.optim.SGD([W, b], lr=1.0)
        first = lib.optim.lr_scheduler.ExponentialLR(optimizer, gamma=0.9)
        second = lib.optim.lr_scheduler.StepLR(optimizer, step_size=3, gamma=0.5)
        lrs = []
        for k in range(12):
            optimizer.zero_grad()
            loss_of(lib, W, b).backward()
            optimizer.step()
            first.step()
            second.step()
            if k == 5:
                optimizer.param_groups[0]["lr"] = 0.3
            lrs.append(optimizer.param_groups[0]["lr"])
        return lrs
    np.testing.assert_allclose(run(tg), run(torch), **TOL)


@pytest.mark.parametrize("make", [
    lambda s, o: s.StepLR(o, 4, gamma=0.5), lambda s, o: s.MultiStepLR(o, [3, 9]),
    lambda s, o: s.ExponentialLR(o, 0.8), lambda s, o: s.CosineAnnealingLR(o, 10, 0.001),
])
def test_step_with_an_epoch_uses_the_closed_form_and_warns(make):
    def run(lib):
        optimizer = lib.optim.SGD(params(lib), lr=0.1)
        scheduler = make(lib.optim.lr_scheduler, optimizer)
        optimizer.step()
        lrs = []
        for epoch in (5, 2, 13, 13, 27):
            with pytest.warns(UserWarning):
                scheduler.step(epoch)
            lrs.append(scheduler.get_last_lr()[0])
        return lrs
    np.testing.assert_allclose(run(tg), run(torch), **TOL)


def test_scheduler_state_dict_round_trip_and_resuming_with_last_epoch():
    def run(lib, resume_at=None):
        optimizer = lib.optim.SGD(params(lib), lr=0.1, momentum=0.9)
        scheduler = lib.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=15)
        lrs = []
        for k in range(30):
            optimizer.step()
            scheduler.step()
            lrs.append(scheduler.get_last_lr()[0])
            if k == resume_at:
                saved_optimizer, saved = optimizer.state_dict(), scheduler.state_dict()
                optimizer = lib.optim.SGD(params(lib), lr=0.1, momentum=0.9)
                scheduler = lib.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=15)
                optimizer.load_state_dict(saved_optimizer)
                scheduler.load_state_dict(saved)
        return lrs
    np.testing.assert_allclose(run(tg), run(torch), **TOL)
    np.testing.assert_allclose(run(tg, resume_at=11), run(tg), rtol=0, atol=0)
    # LambdaLR keeps a callable object's attributes, not a function's
    optimizer = tg.optim.SGD(params(tg), lr=0.1)

    class Warmup:
        def __init__(self, length):
            self.length = length

        def __call__(self, epoch):
            return min(1.0, (epoch + 1) / self.length)
    scheduler = tg.optim.lr_scheduler.LambdaLR(optimizer, [Warmup(4)])
    saved = scheduler.state_dict()
    assert saved["lr_lambdas"] == [{"length": 4}] and saved["last_epoch"] == 0
    other = tg.optim.lr_scheduler.LambdaLR(optimizer, Warmup(10))
    other.load_state_dict(saved)
    assert other.lr_lambdas[0].length == 4
    with pytest.raises(ValueError, match="unknown keys"):
        other.load_state_dict({**saved, "gamma": 0.5})
    # resuming a schedule needs the groups' initial_lr, as PyTorch
    for lib in (tg, torch):
        with pytest.raises(KeyError, match="initial_lr"):
            lib.optim.lr_scheduler.StepLR(lib.optim.SGD(params(lib), lr=0.1), 2, last_epoch=3)


def test_scheduler_warnings_as_pytorch():
    optimizer = tg.optim.SGD(params(tg), lr=0.1)
    scheduler = tg.optim.lr_scheduler.StepLR(optimizer, 2)
    with pytest.warns(UserWarning, match="before optimizer.step"):
        scheduler.step()
    with pytest.warns(UserWarning, match="use get_last_lr"):
        scheduler.get_lr()
    optimizer.step()
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tg.optim.lr_scheduler.StepLR(optimizer, 2).step()  # the optimizer has stepped


# --- clipping and flat vectors -----------------------------------------------------------


def with_grads(lib, grads):
    tensors = []
    for g in grads:
        t = lib.tensor(np.zeros_like(g), requires_grad=True)
        if g is not None:
            t.grad = lib.tensor(g.copy())
        tensors.append(t)
    return tensors


GRADS = [RNG.standard_normal((3, 4)) * 3, RNG.standard_normal(5), RNG.standard_normal(())]


@pytest.mark.parametrize("norm_type", [2.0, 1, 3.5, 0.5, math.inf, "inf"])
@pytest.mark.parametrize("max_norm", [0.5, 1e3])
def test_clip_grad_norm_matches_pytorch(norm_type, max_norm):
    ours, theirs = with_grads(tg, GRADS), with_grads(torch, GRADS)
    total = clip_grad_norm_(ours, max_norm, norm_type=norm_type)
    torch_total = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type)
    assert isinstance(total, tg.Tensor) and total.shape == ()
    np.testing.assert_allclose(total.item(), torch_total.item(), **TOL)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), **TOL)
    if max_norm == 0.5:  # clipped: the new total norm is max_norm
        new_total = tg.nn.utils.get_total_norm([p.grad for p in ours], norm_type)
        assert new_total.item() == pytest.approx(0.5, rel=1e-5)


def test_clip_grad_norm_skips_missing_grads_and_takes_one_tensor():
    for lib, clip in ((tg, clip_grad_norm_), (torch, torch.nn.utils.clip_grad_norm_)):
        a, none = with_grads(lib, [np.array([3.0, 4.0]), np.array([1.0])])
        none.grad = None
        assert clip([a, none], 1.0).item() == pytest.approx(5.0)
        assert none.grad is None
        np.testing.assert_allclose(a.grad.tolist(), [0.6 / (1 + 2e-7), 0.8 / (1 + 2e-7)],
                                   rtol=1e-6)
        assert clip(a, 10.0).item() == pytest.approx(1.0, rel=1e-6)  # a single tensor
        assert clip([none], 1.0).item() == 0.0  # no gradients: norm 0


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # inf · 0
def test_non_finite_norms_as_pytorch():
    grads = [np.array([1.0, np.inf]), np.array([2.0])]
    for lib, utils in ((tg, tg.nn.utils), (torch, torch.nn.utils)):
        with pytest.raises(RuntimeError, match="non-finite"):
            utils.clip_grad_norm_(with_grads(lib, grads), 1.0, error_if_nonfinite=True)
    ours, theirs = with_grads(tg, grads), with_grads(torch, grads)
    assert math.isinf(clip_grad_norm_(ours, 1.0).item())
    torch.nn.utils.clip_grad_norm_(theirs, 1.0)
    for a, b in zip(ours, theirs):  # scaled by 0: 0 and inf·0 = nan
        np.testing.assert_array_equal(a.grad.numpy(), b.grad.numpy())
    nans = [np.array([np.nan, 1.0])]
    ours, theirs = with_grads(tg, nans), with_grads(torch, nans)
    clip_grad_norm_(ours, 1.0)
    torch.nn.utils.clip_grad_norm_(theirs, 1.0)
    np.testing.assert_array_equal(ours[0].grad.numpy(), theirs[0].grad.numpy())


@pytest.mark.parametrize("clip_value", [0.5, 2, 10.0])
def test_clip_grad_value_matches_pytorch(clip_value):
    ours, theirs = with_grads(tg, GRADS), with_grads(torch, GRADS)
    assert clip_grad_value_(ours, clip_value) is None
    torch.nn.utils.clip_grad_value_(theirs, clip_value)
    for a, b in zip(ours, theirs):
        np.testing.assert_array_equal(a.grad.numpy(), b.grad.numpy())


def test_parameters_to_vector_and_back_as_pytorch():
    model = tg.nn.Linear(3, 2)
    torch_model = torch.nn.Linear(3, 2).double()
    with torch.no_grad():
        torch_model.weight.copy_(torch.tensor(model.weight.numpy()))
        torch_model.bias.copy_(torch.tensor(model.bias.numpy()))
    vector = parameters_to_vector(model.parameters())
    torch_vector = torch.nn.utils.parameters_to_vector(torch_model.parameters())
    np.testing.assert_array_equal(vector.numpy(), torch_vector.detach().numpy())
    (vector * tg.arange(8.0)).sum().backward()  # gradients flow back through it
    np.testing.assert_array_equal(model.weight.grad.numpy(), np.arange(6.0).reshape(2, 3))
    new = np.linspace(-1, 1, 8)
    weight = model.weight
    vector_to_parameters(tg.tensor(new), model.parameters())
    torch.nn.utils.vector_to_parameters(torch.tensor(new), torch_model.parameters())
    assert model.weight is weight and model.weight.is_leaf
    np.testing.assert_array_equal(model.weight.numpy(), torch_model.weight.detach().numpy())
    np.testing.assert_array_equal(model.bias.numpy(), torch_model.bias.detach().numpy())


# --- errors: PyTorch's types and words, naming the class ----------------------------------

LEAF = np.array([1.0])
ERRORS = [
    (lambda lib, p: lib.optim.SGD([p], lr=-1), ValueError, "Invalid learning rate: -1"),
    (lambda lib, p: lib.optim.SGD([p], momentum=-0.5), ValueError,
     "Invalid momentum value: -0.5"),
    (lambda lib, p: lib.optim.SGD([p], weight_decay=-1e-3), ValueError,
     "Invalid weight_decay value: -0.001"),
    (lambda lib, p: lib.optim.SGD([p], nesterov=True), ValueError,
     "Nesterov momentum requires a momentum and zero dampening"),
    (lambda lib, p: lib.optim.Adam([p], lr=-0.5), ValueError, "Invalid learning rate: -0.5"),
    (lambda lib, p: lib.optim.Adam([p], eps=-1.0), ValueError, "Invalid epsilon value: -1.0"),
    (lambda lib, p: lib.optim.Adam([p], betas=(1.0, 0.9)), ValueError,
     "Invalid beta parameter at index 0: 1.0"),
    (lambda lib, p: lib.optim.AdamW([p], betas=(0.9, 1.5)), ValueError,
     "Invalid beta parameter at index 1: 1.5"),
    (lambda lib, p: lib.optim.AdamW([p], weight_decay=-0.1), ValueError,
     "Invalid weight_decay value: -0.1"),
    (lambda lib, p: lib.optim.RMSprop([p], alpha=-0.1), ValueError, "Invalid alpha value: -0.1"),
    (lambda lib, p: lib.optim.RMSprop([p], momentum=-1.0), ValueError,
     "Invalid momentum value: -1.0"),
    (lambda lib, p: lib.optim.Adagrad([p], lr_decay=-1.0), ValueError,
     "Invalid lr_decay value: -1.0"),
    (lambda lib, p: lib.optim.Adagrad([p], initial_accumulator_value=-1.0), ValueError,
     "Invalid initial_accumulator_value value: -1.0"),
    (lambda lib, p: lib.optim.SGD([], lr=0.1), ValueError, "empty parameter list"),
    (lambda lib, p: lib.optim.SGD(p, lr=0.1), TypeError, "Tensor"),
    (lambda lib, p: lib.optim.SGD([p * 2], lr=0.1), ValueError, "can't optimize a non-leaf"),
    (lambda lib, p: lib.optim.SGD([np.ones(2)], lr=0.1), TypeError, "can only optimize Tensors"),
    (lambda lib, p: lib.optim.SGD([{"params": [p]}, {"params": [p]}]), ValueError,
     "more than one parameter group"),
    (lambda lib, p: lib.optim.SGD([p]).add_param_group([p]), TypeError, "must be a dict"),
    (lambda lib, p: lib.optim.lr_scheduler.StepLR("SGD", 2), TypeError, "is not an Optimizer"),
    (lambda lib, p: lib.optim.lr_scheduler.LambdaLR(lib.optim.SGD([p]), [abs, abs]),
     ValueError, "Expected 1 lr_lambdas"),
    (lambda lib, p: lib.optim.lr_scheduler.ReduceLROnPlateau(lib.optim.SGD([p]), factor=1.0),
     ValueError, "Factor should be < 1.0"),
    (lambda lib, p: lib.optim.lr_scheduler.ReduceLROnPlateau(lib.optim.SGD([p]), mode="up"),
     ValueError, "is unknown"),
    (lambda lib, p: lib.optim.lr_scheduler.ReduceLROnPlateau(lib.optim.SGD([p]),
                                                             threshold_mode="x"),
     ValueError, "threshold mode"),
    (lambda lib, p: lib.optim.lr_scheduler.ReduceLROnPlateau(lib.optim.SGD([p]), min_lr=[0, 0]),
     ValueError, "min_lr"),
    (lambda lib, p: lib.optim.lr_scheduler.OneCycleLR(lib.optim.SGD([p]), 0.1), ValueError,
     "You must define either total_steps OR"),
    (lambda lib, p: lib.optim.lr_scheduler.OneCycleLR(lib.optim.SGD([p]), 0.1, total_steps=0),
     ValueError, "total_steps"),
    (lambda lib, p: lib.optim.lr_scheduler.OneCycleLR(lib.optim.SGD([p]), 0.1, 10,
                                                      pct_start=1.5), ValueError, "pct_start"),
    (lambda lib, p: lib.optim.lr_scheduler.OneCycleLR(lib.optim.SGD([p]), 0.1, 10,
                                                      anneal_strategy="exp"), ValueError,
     "anneal_strategy must be one of 'cos' or 'linear'"),
    (lambda lib, p: lib.optim.lr_scheduler.OneCycleLR(lib.optim.Adagrad([p]), 0.1, 10),
     ValueError, "optimizer must support momentum or beta1"),
    (lambda lib, p: lib.optim.lr_scheduler.OneCycleLR(lib.optim.SGD([p]), [0.1, 0.2], 10),
     ValueError, "max_lr must have the same length as optimizer.param_groups"),
    (lambda lib, p: lib.nn.utils.vector_to_parameters([1.0], [p]), TypeError, "expected"),
]


@pytest.mark.parametrize("make, error, message", ERRORS)
def test_errors_as_pytorch(make, error, message):
    for lib in (tg, torch):
        with pytest.raises(error, match=message):
            make(lib, lib.tensor(LEAF.copy(), requires_grad=True))


def test_our_errors_name_the_class_and_go_further():
    p = tg.tensor(LEAF.copy(), requires_grad=True)
    s = tg.optim.lr_scheduler
    cases = [
        (lambda: tg.optim.RMSprop([p], lr=-1), ValueError,
         r"^RMSprop: Invalid learning rate: -1 \(lr must be >= 0\)$"),
        (lambda: tg.optim.SGD([p], lr="fast"), TypeError, "SGD: lr must be a number"),
        (lambda: tg.optim.SGD([p], lr=float("nan")), ValueError, "Invalid learning rate: nan"),
        (lambda: tg.optim.Adam([{"params": [p], "betas": (0.9, 2)}]), ValueError,
         "Adam: Invalid beta parameter at index 1: 2"),  # a group's settings are checked too
        (lambda: tg.optim.SGD([p, p]), ValueError, "appears twice"),  # PyTorch only warns
        (lambda: tg.optim.SGD({p}), TypeError, "ordered collection"),
        (lambda: s.StepLR(tg.optim.SGD([p]), step_size=0), ValueError,
         "StepLR: step_size must be a positive int"),
        (lambda: s.MultiStepLR(tg.optim.SGD([p]), 3), TypeError, "write \\[3\\]"),
        (lambda: s.CosineAnnealingLR(tg.optim.SGD([p]), T_max=0), ValueError, "T_max"),
        (lambda: s.ReduceLROnPlateau(tg.optim.SGD([p]), patience=-1), ValueError,
         "patience must be an int >= 0"),
        (lambda: s.OneCycleLR(tg.optim.SGD([p]), 0.1, 10, pct_start=0.1), ValueError,
         "phase 1 of the cycle has no steps"),  # PyTorch: ZeroDivisionError
        (lambda: vector_to_parameters(tg.zeros(3), [p]), RuntimeError,
         r"the parameters have 1 elements, vec has shape \(3,\)"),
        (lambda: clip_grad_norm_([p], 1.0, norm_type=0), ValueError, "norm_type must be > 0"),
        (lambda: clip_grad_norm_(3.0, 1.0), TypeError, "iterable of Tensors"),
    ]
    for make, error, message in cases:
        with pytest.raises(error, match=message):
            make()


def test_one_cycle_stepping_past_the_end_is_an_error_as_pytorch():
    for lib in (tg, torch):
        optimizer = lib.optim.SGD(params(lib), lr=0.1)
        scheduler = lib.optim.lr_scheduler.OneCycleLR(optimizer, 0.1, total_steps=3)
        for _ in range(3):
            optimizer.step()
            scheduler.step()
        with pytest.raises(ValueError, match="Tried to step 4 times"):
            scheduler.step()


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad"])
def test_float32_parameters_stay_float32_and_follow_pytorch(name):
    settings = {"SGD": {"lr": 0.05, "momentum": 0.9}, "RMSprop": {"centered": True}}.get(name, {})
    results = []
    for lib in (tg, torch):
        W = lib.tensor(W0.astype(np.float32), requires_grad=True)
        optimizer = getattr(lib.optim, name)([W], **settings)
        for _ in range(20):
            optimizer.zero_grad()
            ((lib.tensor(X.astype(np.float32)) @ W - lib.tensor(Y.astype(np.float32))) ** 2
             ).mean().backward()
            optimizer.step()
        results.append(W.detach().numpy())
        assert W.dtype == lib.float32
    np.testing.assert_allclose(results[0], results[1], rtol=1e-5, atol=1e-6)


def test_named_parameters_keep_their_names_as_in_pytorch():
    model, torch_model = tg.nn.Linear(3, 2), torch.nn.Linear(3, 2)
    ours = tg.optim.SGD(model.named_parameters(), lr=0.1).state_dict()["param_groups"][0]
    theirs = torch.optim.SGD(torch_model.named_parameters(), lr=0.1).state_dict()
    assert ours["param_names"] == theirs["param_groups"][0]["param_names"] == ["weight", "bias"]
    with pytest.raises(ValueError, match="with names or all without"):
        tg.optim.SGD([{"params": model.named_parameters()},
                      {"params": [tg.zeros(1, requires_grad=True)]}])
