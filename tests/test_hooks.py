"""Tensor hooks, retain_grad and the graph's next_functions, as PyTorch has them (each
program runs on both libraries where PyTorch is installed; the numbers are written out
too, so the tests also run without it)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu.engine import state
from tinygrad_edu.hooks import HookObserver

try:
    import torch
except ImportError:  # the written-out numbers still check the engine
    torch = None

LIBS = [tg] + ([torch] if torch is not None else [])


def run_both(program):
    results = [program(M) for M in LIBS]
    for other in results[1:]:
        for a, b in zip(results[0], other):
            np.testing.assert_allclose(np.asarray(a, dtype=float), np.asarray(b, dtype=float))
    return results[0]


def leaf(M, values):
    return M.tensor(values, dtype=M.float64, requires_grad=True)


def test_retain_grad_accumulates_over_backward_and_grad():
    def program(M):
        x = leaf(M, [1.0, 2.0])
        y = x * 2
        y.retain_grad()
        z = (y * y).sum()
        M.autograd.grad(z, [x], retain_graph=True)
        first = y.grad.numpy().copy()
        z.backward(retain_graph=True)
        z.backward()
        return first, y.grad.numpy(), x.grad.numpy(), [y.retains_grad, x.retains_grad]
    first, total, xg, flags = run_both(program)
    assert first.tolist() == [4.0, 8.0] and total.tolist() == [12.0, 24.0]
    assert flags == [True, False]


def test_hooks_observe_replace_and_are_removed():
    def program(M):
        seen = []
        x = leaf(M, [1.0, 2.0])
        h = x * 1
        handle = h.register_hook(lambda g: g * 10)
        leaf_handle = x.register_hook(lambda g: seen.append(g.numpy().copy()))
        (h * h).sum().backward()
        after_hooks = x.grad.numpy().copy()
        handle.remove()
        leaf_handle.remove()
        x.grad = None
        h = x * 1
        (h * h).sum().backward()
        return after_hooks, x.grad.numpy(), seen[0]
    replaced, plain, seen = run_both(program)
    assert replaced.tolist() == [20.0, 40.0] and plain.tolist() == [2.0, 4.0]
    assert seen.tolist() == [20.0, 40.0]  # a leaf's hook sees what will be accumulated


def test_hooks_run_under_grad_and_are_differentiable_with_create_graph():
    def program(M):
        x = leaf(M, [3.0])
        y = x * x
        y.register_hook(lambda g: g * x)  # depends on x: differentiable
        (g,) = M.autograd.grad(y.sum() * 1.0, [x], create_graph=True)
        (gg,) = M.autograd.grad(g.sum(), [x])
        return g.detach().numpy(), gg.numpy()
    g, gg = run_both(program)
    assert g.tolist() == [18.0] and gg.tolist() == [12.0]  # d/dx (x * 2x) = 4x


def test_next_functions_walk_the_graph():
    def program(M):
        a, b = leaf(M, [1.0]), leaf(M, [2.0])
        z = (a * b + a.exp()).sum()
        names, stack = [], [z.grad_fn]
        while stack:
            node = stack.pop()
            if node is None:
                continue
            names.append(node.name().split("::")[-1].rstrip("0123456789"))
            stack.extend(fn for fn, _ in reversed(node.next_functions))
        accumulate = z.grad_fn.next_functions[0][0].next_functions[0][0].next_functions[0][0]
        return [sorted(names), accumulate.variable is a]
    results = [program(M) for M in LIBS]
    for names, found in results:
        assert names == sorted(["SumBackward", "AddBackward", "MulBackward", "AccumulateGrad",
                                "AccumulateGrad", "ExpBackward", "AccumulateGrad"])
        assert found
    assert all(r == results[0] for r in results)


def test_reading_grad_of_a_non_leaf_warns():
    x = tg.tensor([1.0], requires_grad=True)
    y = x * 2
    with pytest.warns(UserWarning, match="retain_grad"):
        assert y.grad is None
    y.retain_grad()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert y.grad is None and x.grad is None


def test_the_observer_joins_only_while_hooks_exist():
    x = tg.tensor([1.0], requires_grad=True)
    handle = x.register_hook(lambda g: None)
    assert any(isinstance(o, HookObserver) for o in state.observers)
    handle.remove()
    assert not any(isinstance(o, HookObserver) for o in state.observers)


def test_a_hook_returning_a_wrong_shape_is_a_clear_error():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    y.register_hook(lambda g: tg.ones(3))
    with pytest.raises(ValueError, match="shape"):
        y.sum().backward()


def test_variable_and_inference_mode():
    v = tg.autograd.Variable(tg.ones(2), requires_grad=True)
    assert isinstance(v, tg.Tensor) and v.requires_grad
    with tg.autograd.inference_mode():
        assert not (v * 2).requires_grad
    assert tg.autograd.gradcheck is tg.gradcheck


@pytest.mark.parametrize("M", LIBS, ids=lambda M: M.__name__)
def test_module_hooks_in_order_and_removed(M):
    layer = M.nn.Linear(3, 2).double()
    with M.no_grad():
        layer.weight.copy_(M.tensor(np.arange(6.0).reshape(2, 3)))
        layer.bias.fill_(0.5)
    log = []
    handles = [
        layer.register_forward_pre_hook(lambda mod, args: log.append("pre")),
        layer.register_forward_hook(lambda mod, args, out: log.append("forward")),
        layer.register_full_backward_hook(
            lambda mod, gi, go: log.append(("backward", gi[0].tolist(), go[0].tolist()))),
    ]
    x = M.tensor([[1.0, 2.0, 3.0]], dtype=M.float64, requires_grad=True)
    (layer(x) * M.tensor([[1.0, 2.0]], dtype=M.float64)).sum().backward()
    for handle in handles:
        handle.remove()
    layer(x).sum().backward()
    assert log == ["pre", "forward", ("backward", [[6.0, 9.0, 12.0]], [[1.0, 2.0]])]


def test_a_forward_hook_can_replace_the_output():
    layer = tg.nn.Linear(2, 2)
    layer.register_forward_hook(lambda mod, args, out: out * 0)
    assert layer(tg.ones(1, 2)).tolist() == [[0.0, 0.0]]


def test_the_classic_leaf_mistake_is_explained_where_it_happens():
    """w = w - lr * w.grad makes w a non-leaf: the next step's w.grad is None. The
    warning at that read says what happened and what to write instead."""
    x = tg.tensor([1.0, 2.0])
    w = tg.tensor([0.5, -0.5], requires_grad=True)
    (w * x).sum().backward()
    w = w - 0.1 * w.grad  # the mistake
    (w * x).sum().backward()
    with pytest.warns(UserWarning, match=r"w -= lr \* w.grad") as record:
        assert w.grad is None
    assert "made by SubBackward" in str(record[0].message)
    h = tg.tensor([1.0], requires_grad=True) * 3  # another non-leaf: no such hint
    with pytest.warns(UserWarning) as record:
        h.grad
    assert "w -= lr" not in str(record[0].message)


def test_a_module_backward_hook_keeps_no_graph_alive():
    """The hooks a full backward hook puts on the graph hold no tensor of it: once the
    graph is dropped, nothing is left in the hook tables (a leak before), and the hook
    observer leaves the passes (a compiled step would otherwise run eagerly)."""
    import gc

    from tinygrad_edu import hooks
    from tinygrad_edu.engine import state

    def use_once():
        layer = tg.nn.Linear(3, 2).double()
        handle = layer.register_full_backward_hook(lambda mod, gi, go: None)
        x = tg.tensor([[1.0, 2.0, 3.0]], dtype=tg.float64, requires_grad=True)
        layer(x).sum().backward()
        handle.remove()

    use_once()
    gc.collect()
    assert len(hooks._node_hooks) == 0
    hooks._update_observer()
    assert hooks._OBSERVER not in state.observers
