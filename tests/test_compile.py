"""compile(step): a replay gives exactly what eager gives, or the step runs eagerly after
one warning that says why. Random steps are compared with their eager twins bit for bit."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import nn, optim

CALLS = 6  # 1 eager, 2 recorded, 3 replayed


# --- a random step, built twice (eager and compiled) from one seed ----------------------

UNARY = ["tanh", "exp_small", "relu", "sigmoid", "square", "neg", "sum_keep", "mean_axis",
         "transpose2", "reshape_flat", "abs", "sqrt_pos", "log_pos", "sin", "max_axis",
         "index_rows", "clamp"]
BINARY = ["add", "mul", "sub", "div_pos", "matmul", "maximum", "add_bias", "pow2"]


def make_step(seed: int, compiled: bool):
    rng = np.random.default_rng(seed)
    n, m = int(rng.integers(1, 5)), int(rng.integers(1, 5))
    w = tg.tensor(rng.standard_normal((n, m)), requires_grad=True, name="w")
    v = tg.tensor(rng.standard_normal((m, m)), requires_grad=True)
    bias = tg.tensor(rng.standard_normal(m), requires_grad=True, name="bias")
    params = [w, v, bias]
    x_data = rng.standard_normal((n, m))
    use_arg = bool(rng.integers(2))
    x_closure = tg.tensor(x_data)
    plan = [(str(rng.choice(UNARY)) if rng.random() < 0.5 else str(rng.choice(BINARY)),
             int(rng.integers(3))) for _ in range(int(rng.integers(1, 7)))]
    how = str(rng.choice(["by_hand", "sgd", "momentum", "zero_grad_start"]))
    opt = optim.SGD(params, lr=0.01, momentum=0.9 if how == "momentum" else 0.0)

    def unary(name, h):
        if name == "tanh":
            return h.tanh()
        if name == "exp_small":
            return (h * 0.1).exp()
        if name == "relu":
            return h.relu()
        if name == "sigmoid":
            return h.sigmoid()
        if name == "square":
            return h * h
        if name == "neg":
            return -h
        if name == "sum_keep":
            return h.sum(dim=-1, keepdim=True) + h
        if name == "mean_axis":
            return h.mean(dim=0) * h
        if name == "transpose2":
            return h.t().t()
        if name == "reshape_flat":
            return h.reshape(-1).reshape(h.shape)
        if name == "abs":
            return h.abs()
        if name == "sqrt_pos":
            return (h * h + 1).sqrt()
        if name == "log_pos":
            return (h * h + 1).log()
        if name == "sin":
            return h.sin()
        if name == "max_axis":
            return h.amax(dim=-1, keepdim=True) - h
        if name == "index_rows":
            return h[np.arange(h.shape[0]) % h.shape[0]]
        return h.clamp(-0.5, 0.5)

    def binary(name, h, other):
        if name == "add":
            return h + other
        if name == "mul":
            return h * other
        if name == "sub":
            return other - h
        if name == "div_pos":
            return h / (other * other + 1)
        if name == "matmul":
            return h @ v
        if name == "maximum":
            return tg.maximum(h, other)
        if name == "add_bias":
            return h + bias
        return h ** 2

    def step(*args):
        x = args[0] if use_arg else x_closure
        if how == "zero_grad_start":
            opt.zero_grad()
        h = x * w
        for name, pick in plan:
            other = [w, x, h][pick]
            h = unary(name, h) if name in UNARY else binary(name, h, other)
        loss = (h * h).sum() * 0.5 + (w * w).sum() * 0.01
        loss.backward()
        if how == "by_hand":
            with tg.no_grad():
                for p in params:
                    if p.grad is not None:
                        p -= 0.01 * p.grad
                        p.grad.zero_()
        else:
            opt.step()
            if how != "zero_grad_start":
                opt.zero_grad()
        return loss

    args = (tg.tensor(x_data),) if use_arg else ()
    return (tg.compile(step) if compiled else step), params, args


def state_of(params):
    out = []
    for p in params:
        out.append(p.array.copy())
        out.append(None if p._grad is None else p._grad.array.copy())
        out.append(p._version)
    return out


def same(a, b):
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b, equal_nan=True)
    return a == b


@pytest.mark.parametrize("block", range(6))
def test_random_steps_replay_exactly_what_eager_computes(block):
    replayed = 0
    for seed in range(block * 60, block * 60 + 60):
        eager, p_eager, a_eager = make_step(seed, False)
        comp, p_comp, a_comp = make_step(seed, True)
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("error", UserWarning)  # no step here may fall back
            for call in range(CALLS):
                le, lc = eager(*a_eager), comp(*a_comp)
                assert same(le.array, lc.array), (seed, call)
                for x, y in zip(state_of(p_eager), state_of(p_comp)):
                    assert x is y is None or same(x, y), (seed, call)
        assert comp.source is not None, seed
        replayed += 1
    assert replayed == 60


# --- the quadratic step: source, optimisations, interleaving ----------------------------


def quadratic(compiled=True):
    rs = np.random.RandomState(100)
    x = tg.from_numpy(np.linspace(-1, 1, 100).reshape(100, 1))
    y = 3 * x ** 2 + 2 + tg.from_numpy(0.2 * rs.rand(100, 1))
    w = tg.tensor(rs.rand(1, 1), requires_grad=True, name="w")
    b = tg.tensor(rs.rand(1, 1), requires_grad=True, name="b")

    def step():
        y_pred = x.pow(2).mm(w) + b
        y_pred.name = "y_pred"
        loss = (0.5 * (y_pred - y) ** 2).sum()
        loss.backward()
        with tg.no_grad():
            w.sub_(0.001 * w.grad)
            b.sub_(0.001 * b.grad)
            w.grad.zero_()
            b.grad.zero_()
        return loss
    return (tg.compile(step) if compiled else step), w, b, x


def test_source_is_numpy_named_after_the_tensors_and_folds_constants():
    step, w, b, x = quadratic()
    for _ in range(3):
        step()
    src = step.source
    assert "def step():" in src and "y_pred = np.add(" in src
    assert "np.add(w_grad, " in src and "np.subtract(w, " in src  # .grad += g, in place
    assert "rule_" not in src  # the rules are written out as NumPy calls
    assert "np.power(x" not in src  # x ** 2 depends on no input or parameter: folded
    assert "pow (forward)" in step.explain() and "folded" in step.explain()


def test_eager_and_compiled_calls_interleave_and_versions_advance():
    eager, we, be, _ = quadratic(False)
    comp, wc, bc, _ = quadratic()
    for k in range(8):
        if k == 5:  # an eager step in the middle, on the compiled step's parameters
            comp.__wrapped__()
            eager()
        else:
            assert same(eager().array, comp().array)
    assert same(we.array, wc.array) and same(be.array, bc.array)
    assert we._version == wc._version and we.grad._version == wc.grad._version


def test_an_old_graph_that_saved_a_parameter_still_refuses_backward():
    step, w, b, x = quadratic()
    for _ in range(3):
        step()
    old = (w * w).sum()  # saves w
    step()  # replayed: w changes in place
    with pytest.raises(RuntimeError, match="in-place"):
        old.backward()


def test_returned_tensors_are_copies_of_reused_buffers():
    step, *_ = quadratic()
    losses = [step() for _ in range(6)]
    values = [loss.item() for loss in losses]
    assert len(set(values)) == 6  # each its own number, not one buffer seen six times


def test_a_shape_change_records_again():
    w = tg.tensor(np.ones((3, 1)), requires_grad=True)

    def step(x):
        loss = (x @ w).sum()
        loss.backward()
        with tg.no_grad():
            w.sub_(0.1 * w.grad)
            w.grad.zero_()
        return loss
    comp = tg.compile(step)
    for n in (4, 4, 4, 4, 2, 2, 2, 4):
        comp(tg.ones(n, 3))
    assert comp.recordings == 5 and comp.reason is None  # 2 for n=4, 2 for n=2, 1 again


def test_a_changed_learning_rate_records_again():
    model = nn.Linear(3, 1)
    opt = optim.SGD(model.parameters(), lr=0.1)
    x = tg.ones(4, 3)
    ref = nn.Linear(3, 1)
    ref.load_state_dict(model.state_dict())
    ref_opt = optim.SGD(ref.parameters(), lr=0.1)

    def make(m, o):
        def step():
            o.zero_grad()
            loss = m(x).pow(2).sum()
            loss.backward()
            o.step()
            return loss
        return step
    comp, eager = tg.compile(make(model, opt)), make(ref, ref_opt)
    for k in range(8):
        if k == 5:
            opt.param_groups[0]["lr"] = ref_opt.param_groups[0]["lr"] = 0.01
        assert same(comp().array, eager().array)
    assert same(model.weight.array, ref.weight.array)


def test_anomaly_mode_runs_the_step_eagerly():
    step, w, b, x = quadratic()
    for _ in range(4):
        step()
    before = step.program
    with tg.detect_anomaly():
        step()
    assert step.program is before and step.reason is None


# --- every reason to run eagerly, with one warning saying it ------------------------------


def fallback(step, *args, match):
    comp = tg.compile(step)
    with pytest.warns(UserWarning, match=match) as caught:
        for _ in range(5):
            comp(*args)
    assert len([w for w in caught if "compile(" in str(w.message)]) == 1
    assert comp.source is None and comp.reason is not None
    return comp


def test_fallback_reading_a_value_into_python():
    w = tg.tensor([1.0], requires_grad=True)

    def step():
        loss = (w * w).sum()
        loss.backward()
        if loss.item() > 0:  # a data-dependent branch
            with tg.no_grad():
                w.sub_(0.1 * w.grad)
        w.grad = None
    fallback(step, match="reads a tensor's value into Python")
    assert w.item() == pytest.approx(0.8 ** 5)  # every call ran, eagerly


def test_fallback_random_numbers_in_the_step():
    w = tg.tensor([1.0, 2.0], requires_grad=True)

    def step():
        loss = (w * tg.randn(2)).sum()
        loss.backward()
        w.grad = None
    fallback(step, match="new tensors from outside data or random numbers")


def test_fallback_recordings_that_disagree():
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    calls = []

    def step():
        calls.append(1)
        loss = (w * w).sum() if len(calls) % 2 else w.exp().sum()
        loss.backward()
        w.grad = None
    fallback(step, match="recordings disagree")


def test_fallback_in_place_op_inside_the_graph():
    w = tg.tensor([1.0, 2.0], requires_grad=True)

    def step():
        h = w * 2
        h += 1
        h.sum().backward()
        w.grad = None
    fallback(step, match="part of the graph in place")


def test_fallback_a_write_that_is_not_replayed():
    w = tg.tensor([1.0, 2.0], requires_grad=True)

    def step():
        (w * w).sum().backward()
        with tg.no_grad():
            w.clamp_(-1, 1)
        w.grad = None
    fallback(step, match="not replayed")


def test_fallback_create_graph_and_autograd_grad():
    w = tg.tensor([1.0, 2.0], requires_grad=True)

    def step():
        (g,) = tg.autograd.grad((w ** 3).sum(), [w])
        return g
    fallback(step, match="autograd.grad")

    def step2():
        (w ** 3).sum().backward(create_graph=True)
        w.grad = None
    fallback(step2, match="create_graph")


def test_fallback_custom_function():
    class Double(tg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2
    w = tg.tensor([1.0], requires_grad=True)

    def step():
        Double.apply(w).sum().backward()
        w.grad = None
    fallback(step, match="custom op|custom autograd.Function")


def test_fallback_return_value_and_keyword_tensor():
    w = tg.tensor([1.0], requires_grad=True)

    def step(scale=1.0):
        (w * scale).sum().backward()
        w.grad = None
        return "done"
    fallback(step, match="returns a str")

    def step2(x=None):
        (w * x).sum().backward()
        w.grad = None
    comp = tg.compile(step2)
    with pytest.warns(UserWarning, match="keyword argument"):
        for _ in range(3):
            comp(x=tg.ones(1))


def test_fallback_assigning_a_tensor_to_grad():
    w = tg.tensor([1.0], requires_grad=True)

    def step():
        (w * w).sum().backward()
        w.grad = tg.zeros(1)
    fallback(step, match="assigns a tensor to .grad")


def test_fallback_graph_made_outside_the_step():
    w = tg.tensor([1.0], requires_grad=True)
    outside = w * 3

    def step():
        (outside * w).sum().backward(retain_graph=True)
        w.grad = None
    fallback(step, match="computed before the call")


def test_fallback_adam_reads_its_step_count():
    model = nn.Linear(2, 1)
    opt = optim.Adam(model.parameters())
    x = tg.ones(3, 2)

    def step():
        opt.zero_grad()
        model(x).sum().backward()
        opt.step()
    fallback(step, match="reads a tensor's value")


def test_hooks_make_the_step_run_eagerly():
    w = tg.tensor([1.0], requires_grad=True)
    seen = []
    w.register_hook(lambda g: seen.append(1))

    def step():
        (w * w).sum().backward()
        w.grad = None
    comp = tg.compile(step)
    for _ in range(4):
        comp()
    assert len(seen) == 4 and comp.source is None


def test_a_closure_variable_rebound_to_another_tensor_records_again():
    # the guard compares the closure's objects by identity: a new w of the same shape
    # must be the one the step updates
    holder = {"w": tg.tensor([1.0, 2.0], requires_grad=True)}
    w = holder["w"]

    def step():
        loss = (w * w).sum()
        loss.backward()
        with tg.no_grad():
            w.sub_(0.1 * w.grad)
            w.grad.zero_()
        return loss

    comp = tg.compile(step)
    for _ in range(4):
        comp()
    assert comp.source is not None
    old, before = w, w.array.copy()
    w = tg.tensor([3.0, 4.0], requires_grad=True)  # noqa: F841 - read by step's closure
    comp()
    start = np.array([3.0, 4.0])
    assert same(w.array, start - 0.1 * (start * 2)) and same(old.array, before)


def test_a_view_made_after_compiling_gets_its_history_renewed_as_eager():
    step, w, b, x = quadratic()
    eager, we, be, _ = quadratic(False)
    for _ in range(4):
        step()
        eager()
    wt, wte = w.t(), we.t()  # a view with a history, made while recording
    before, before_e = wt.grad_fn, wte.grad_fn
    step()
    eager()
    assert wte.grad_fn is not before_e  # eager renews the view's history ...
    assert wt.grad_fn is not before and wt.grad_fn is not None  # ... and so does the replay
    assert wt._version == wte._version and same(wt.array, wte.array)
    assert w._version == we._version


# --- index arrays and log_softmax (the MLP step) -----------------------------------------


def _mlp_step(compiled: bool):
    rng = np.random.default_rng(3)
    x = tg.from_numpy(rng.standard_normal((8, 5)))
    rows, labels = np.arange(8), rng.integers(0, 3, 8)
    params = [tg.tensor(rng.standard_normal(s), requires_grad=True)
              for s in [(5, 4), (4,), (4, 3), (3,)]]
    W1, b1, W2, b2 = params

    def step():
        h = (x @ W1 + b1).relu()
        logp = (h @ W2 + b2).log_softmax(dim=1)
        loss = -logp[rows, labels].mean()
        loss.backward()
        with tg.no_grad():
            for p in params:
                p.sub_(0.1 * p.grad)
                p.grad.zero_()
        return loss
    return (tg.compile(step) if compiled else step), params


def test_the_mlp_step_with_log_softmax_and_index_arrays_compiles_and_replays_exactly():
    eager, p_eager = _mlp_step(False)
    comp, p_comp = _mlp_step(True)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        for call in range(CALLS + 2):
            assert same(eager().array, comp().array), call
            for x, y in zip(state_of(p_eager), state_of(p_comp)):
                assert same(x, y), call
    assert comp.source is not None and "np.maximum.reduce" in comp.source


def test_an_index_tensor_argument_is_read_on_every_call_not_baked_in():
    w = tg.tensor(np.arange(12.0).reshape(4, 3), requires_grad=True)

    def step(idx):
        loss = (w[idx] * 2).sum()
        loss.backward()
        with tg.no_grad():
            w.grad.zero_()
        return loss
    comp = tg.compile(step)
    first = tg.tensor([0, 1])
    for _ in range(CALLS):
        assert comp(first).item() == 30.0
    assert comp.source is not None
    other = tg.tensor([2, 3])
    assert comp(other).item() == step(other).item() == 102.0
    w.grad = None
    (w[other] * 2).sum().backward()
    expected = w.grad.array.copy()
    w.grad = None
    comp2 = tg.compile(lambda idx: (w[idx] * 2).sum().backward())
    for _ in range(CALLS):
        w.grad = None
        comp2(first)
    w.grad = None
    comp2(other)
    assert comp2.source is not None and np.array_equal(w.grad.array, expected)


def test_an_index_array_changed_in_place_is_followed_as_eager():
    w = tg.tensor(np.arange(6.0), requires_grad=True)
    picks = np.array([0, 1])

    def step():
        return (w[picks] * 1.5).sum()
    comp = tg.compile(step)
    for _ in range(CALLS):
        assert comp().item() == 1.5
    picks[:] = [4, 5]
    assert comp().item() == step().item() == 13.5


@pytest.mark.parametrize("dtype", [tg.float64, tg.float32])
def test_the_tanh_chain_replays_exactly_with_numbers_as_0d_constants_and_summed_buffers(dtype):
    def make():
        a = tg.tensor([[0.9]], dtype=dtype, requires_grad=True)
        c = tg.tensor([[0.1]], dtype=dtype, requires_grad=True)
        h0 = tg.tensor([[0.5]], dtype=dtype)

        def step():
            a.grad = None
            c.grad = None
            h = h0
            for _ in range(5):
                h = tg.tanh(h * a + c)
            h.backward()
            return h
        return step, a, c
    eager, ea, ec = make()
    step, ca, cc = make()
    comp = tg.compile(step)
    for call in range(CALLS):
        he, hc = eager(), comp()
        for x, y in [(he, hc), (ea.grad, ca.grad), (ec.grad, cc.grad)]:
            assert same(x.array, y.array), call
    src = comp.source
    assert src is not None and "np.subtract(1," not in src  # 1 is a 0-d constant
    sums = [line for line in src.splitlines() if "= np.add(g" in line]
    assert sums and all("buf" in line for line in sums)  # gradient sums reuse buffers
    assert "np.tanh(t4, buf" in src  # a ufunc's out, positional
