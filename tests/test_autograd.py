"""Graph semantics of the engine, as PyTorch defines them.

Every expected value is derived by hand or with plain NumPy (never by the engine):
reuse and diamonds, accumulation, retain_graph, grad modes and threads, detach,
in-place rules and the version counter, ``autograd.grad`` and second derivatives,
deep chains, freeing by reference counting, broadcasting, subgradient conventions,
indexing, and the creation API.
"""

from __future__ import annotations

import gc
import threading
import weakref

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu.autograd import grad


def leaf(values, dtype=None):
    """A leaf tensor that requires grad."""
    return tg.tensor(values, requires_grad=True, dtype=dtype)


def close(t, expected):
    """t (a Tensor) equals expected (array-like), elementwise, to float64 rounding."""
    assert t is not None
    np.testing.assert_allclose(t.numpy(), np.asarray(expected, dtype=np.float64),
                               rtol=1e-12, atol=1e-12)


# --- reuse, diamonds, accumulation ---------------------------------------------------


def test_square_by_reuse_a_times_a():
    """a*a uses a twice: d(a^2)/da = 2a."""
    a = leaf([1.5, -2.0, 3.0])
    (a * a).sum().backward()
    close(a.grad, [3.0, -4.0, 6.0])


def test_reuse_in_a_chain_of_additions():
    """b = a+a; c = b+b is 4a, so dc/da = 4."""
    a = leaf(0.7)
    b = a + a
    c = b + b
    c.backward()
    close(a.grad, 4.0)
    close(c, 2.8)


def test_diamond_sums_both_paths():
    """a -> (2a, 3a) -> product 6a^2: the two paths add up to 12a."""
    a = leaf([1.0, -0.5])
    left, right = a * 2, a * 3
    (left * right).sum().backward()
    close(a.grad, [12.0, -6.0])


def test_deep_diamond_through_nonlinear_ops():
    """d/da of e*e + e with e = exp(a) is (2e + 1) e."""
    a = leaf([0.3, -1.2])
    e = a.exp()
    (e * e + e).sum().backward()
    ex = np.exp([0.3, -1.2])
    close(a.grad, (2 * ex + 1) * ex)


def test_leaf_reached_from_many_nodes_gets_every_contribution():
    """a appears in three places: d/da (a*b + a + b*a) = 2b + 1."""
    a, b = leaf([2.0, 3.0]), leaf([5.0, 7.0])
    (a * b + a + b * a).sum().backward()
    close(a.grad, [11.0, 15.0])
    close(b.grad, [4.0, 6.0])


def test_repeated_backward_accumulates_until_zeroed():
    """Each backward adds to .grad; grad.zero_() starts over (same grad object)."""
    a = leaf([1.0, 2.0])
    for k in (1, 2, 3):
        (a * 3).sum().backward()
        close(a.grad, [3.0 * k, 3.0 * k])
    g = a.grad
    a.grad.zero_()
    close(a.grad, [0.0, 0.0])
    (a * a).sum().backward()
    assert a.grad is g
    close(a.grad, [2.0, 4.0])


def test_retain_graph_allows_a_second_backward_that_accumulates():
    """backward(retain_graph=True) then backward() gives twice the gradient."""
    a = leaf([1.0, -2.0])
    loss = (a * a * a).sum()
    loss.backward(retain_graph=True)
    close(a.grad, [3.0, 12.0])
    loss.backward()
    close(a.grad, [6.0, 24.0])


def test_second_backward_on_freed_graph_mentions_retain_graph():
    """Without retain_graph the graph is freed: going through it again is an error."""
    a = leaf([1.0, -2.0])
    loss = (a * a).sum()
    loss.backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        loss.backward()
    close(a.grad, [2.0, -4.0])  # the failed call added nothing


def test_backward_from_a_leaf_scalar():
    """A scalar leaf's backward sets its own grad to 1."""
    a = leaf(4.0)
    a.backward()
    close(a.grad, 1.0)


def test_backward_with_gradient_for_a_non_scalar_output():
    """y.backward(gradient=v) computes the vector-Jacobian product v^T dy/dx."""
    x = leaf([1.0, 2.0, 3.0])
    y = x * x
    y.backward(gradient=tg.tensor([1.0, 0.5, -1.0]))
    close(x.grad, [2.0, 2.0, -6.0])


def test_backward_gradient_may_be_a_list():
    """gradient= accepts plain data of the output's shape."""
    x = leaf([[1.0, 2.0], [3.0, 4.0]])
    (x * 2).backward(gradient=[[1.0, 0.0], [0.0, 1.0]])
    close(x.grad, [[2.0, 0.0], [0.0, 2.0]])


def test_backward_of_one_by_one_output_needs_no_gradient():
    """A (1,1) output has one element, so backward() starts from 1."""
    w = leaf([[2.0]])
    y = w * 3 + 1
    assert y.shape == (1, 1)
    y.backward()
    close(w.grad, [[3.0]])


def test_backward_does_not_alias_the_given_gradient():
    """x.grad is a copy: changing the gradient tensor afterwards leaves x.grad alone."""
    x = leaf([1.0, 2.0])
    v = tg.tensor([5.0, 6.0])
    (x + 0.0).backward(gradient=v)
    v.numpy()[:] = 99.0
    close(x.grad, [5.0, 6.0])


# --- grad modes -----------------------------------------------------------------------


def test_no_grad_context_records_nothing():
    """Inside no_grad results have no grad_fn and do not require grad."""
    x = leaf([1.0, 2.0])
    assert tg.is_grad_enabled()
    with tg.no_grad():
        assert not tg.is_grad_enabled()
        y = x * 2
    assert tg.is_grad_enabled()
    assert y.grad_fn is None
    assert not y.requires_grad
    assert y.is_leaf


def test_no_grad_as_decorator():
    """@no_grad() turns recording off only while the function runs."""
    x = leaf([1.0])

    @tg.no_grad()
    def double(t):
        return t * 2, tg.is_grad_enabled()

    y, enabled = double(x)
    assert enabled is False
    assert not y.requires_grad
    assert tg.is_grad_enabled()


def test_enable_grad_inside_no_grad():
    """enable_grad() inside no_grad() records again, and no_grad resumes after it."""
    x = leaf([1.0, 2.0])
    with tg.no_grad():
        with tg.enable_grad():
            assert tg.is_grad_enabled()
            y = x * x
        assert not tg.is_grad_enabled()
        z = x * x
    assert y.requires_grad and repr(y.grad_fn) == "<MulBackward>"
    assert not z.requires_grad
    y.sum().backward()
    close(x.grad, [2.0, 4.0])


def test_enable_grad_as_decorator_inside_no_grad():
    """A function decorated with @enable_grad() records even when called under no_grad."""
    x = leaf([3.0])

    @tg.enable_grad()
    def square(t):
        return t * t

    with tg.no_grad():
        y = square(x)
        assert not tg.is_grad_enabled()
    y.backward()
    close(x.grad, [6.0])


def test_nested_no_grad_restores_each_level():
    """Nesting no_grad / enable_grad / no_grad restores the right mode at every exit."""
    seen = []
    with tg.no_grad():
        seen.append(tg.is_grad_enabled())
        with tg.no_grad():
            seen.append(tg.is_grad_enabled())
            with tg.enable_grad():
                seen.append(tg.is_grad_enabled())
            seen.append(tg.is_grad_enabled())
        seen.append(tg.is_grad_enabled())
    seen.append(tg.is_grad_enabled())
    assert seen == [False, False, True, False, False, True]


def test_decorated_function_can_recurse():
    """A @no_grad() function calling itself leaves grad enabled at the end."""
    @tg.no_grad()
    def depth(n):
        assert not tg.is_grad_enabled()
        return 0 if n == 0 else 1 + depth(n - 1)

    assert depth(3) == 3
    assert tg.is_grad_enabled()


def test_no_grad_restores_mode_after_an_exception():
    """An exception leaving a no_grad block still turns recording back on."""
    with pytest.raises(KeyError), tg.no_grad():
        raise KeyError("boom")
    assert tg.is_grad_enabled()


def test_set_grad_enabled_works_as_a_plain_call():
    """As in PyTorch, set_grad_enabled(False) as a statement turns recording off."""
    try:
        tg.set_grad_enabled(False)
        assert not tg.is_grad_enabled()
    finally:
        tg.set_grad_enabled(True)


def test_no_grad_in_one_thread_does_not_affect_another():
    """Grad mode is per thread: a worker inside no_grad leaves the main thread recording."""
    entered, release = threading.Event(), threading.Event()
    seen = {}

    def worker():
        with tg.no_grad():
            seen["worker"] = tg.is_grad_enabled()
            entered.set()
            release.wait(10)

    thread = threading.Thread(target=worker)
    thread.start()
    try:
        assert entered.wait(10)
        x = leaf([1.0])
        assert tg.is_grad_enabled()
        assert (x * 2).requires_grad
    finally:
        release.set()
        thread.join()
    assert seen["worker"] is False


def test_new_thread_records_even_when_parent_is_in_no_grad():
    """A thread started inside no_grad begins with recording on (its own mode)."""
    seen = {}

    def worker():
        seen["enabled"] = tg.is_grad_enabled()
        seen["records"] = (leaf([1.0]) * 2).requires_grad

    with tg.no_grad():
        thread = threading.Thread(target=worker)
        thread.start()
        thread.join()
    assert seen == {"enabled": True, "records": True}


# --- leaves, detach, requires_grad_ -----------------------------------------------------


def test_is_leaf_and_grad_fn_repr():
    """User tensors are leaves with grad_fn None; op results show e.g. <MulBackward>."""
    a, b = leaf([1.0]), tg.tensor([2.0])
    c = a * b
    assert a.is_leaf and a.grad_fn is None
    assert b.is_leaf and not b.requires_grad
    assert not c.is_leaf and c.requires_grad
    assert repr(c.grad_fn) == "<MulBackward>"
    assert repr((a + b).grad_fn) == "<AddBackward>"
    assert repr(a.exp().grad_fn) == "<ExpBackward>"
    assert "grad_fn=<MulBackward>" in repr(c)
    assert (b * 2).is_leaf  # nothing to record: still a leaf


def test_only_leaves_get_grad():
    """Intermediate tensors keep grad None after backward (PyTorch's default)."""
    a = leaf([1.0, 2.0])
    h = a * 2
    (h * h).sum().backward()
    assert h.grad is None
    close(a.grad, [8.0, 16.0])


def test_detach_shares_data_and_has_no_grad():
    """detach() is a leaf without grad over the same memory."""
    a = leaf([1.0, 2.0])
    h = a * 2
    d = h.detach()
    assert d.numpy() is h.numpy()
    assert d.is_leaf and not d.requires_grad and d.grad_fn is None
    with tg.no_grad():
        h += 1
    close(d, [3.0, 5.0])


def test_detach_cuts_the_gradient_path():
    """Gradient does not flow through a detached value: d(a * a.detach())/da = a."""
    a = leaf([3.0, -1.0])
    (a * a.detach()).sum().backward()
    close(a.grad, [3.0, -1.0])


def test_requires_grad_turns_a_tensor_into_a_trainable_leaf():
    """requires_grad_() returns the tensor itself, now recorded."""
    w = tg.tensor([1.0, 2.0])
    assert w.requires_grad_() is w
    assert w.requires_grad and w.is_leaf
    (w * w).sum().backward()
    close(w.grad, [2.0, 4.0])
    w.requires_grad_(False)
    assert not (w * 2).requires_grad


# --- in-place rules ---------------------------------------------------------------------


def test_sgd_step_under_no_grad_keeps_the_same_leaf():
    """with no_grad(): w -= lr * w.grad updates w's data; w stays the same leaf object."""
    w = leaf([1.0, 2.0])
    data = w.numpy()
    (w * w).sum().backward()
    before = id(w)
    with tg.no_grad():
        w -= 0.1 * w.grad
    assert id(w) == before
    assert w.numpy() is data
    assert w.is_leaf and w.requires_grad and w.grad_fn is None
    close(w, [0.8, 1.6])


def test_inplace_on_leaf_requiring_grad_raises_and_changes_nothing():
    """With grad on, w += 1 on a trainable leaf is an error mentioning no_grad."""
    w = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match="no_grad"):
        w += 1
    close(w, [1.0, 2.0])
    assert w.is_leaf


def test_recorded_inplace_add_on_non_leaf():
    """c = a + b; c += c + 1 is c = 2(a+b) + 1: a.grad = b.grad = 2, as in PyTorch."""
    a, b = leaf(1.0), leaf(2.0)
    c = a + b
    c += c + 1
    close(c, 7.0)
    assert not c.is_leaf
    c.backward()
    close(a.grad, 2.0)
    close(b.grad, 2.0)


def test_recorded_inplace_mul_on_non_leaf():
    """c = a * b; c *= 3 gives dc/da = 3b and dc/db = 3a."""
    a, b = leaf([1.0, 2.0]), leaf([5.0, -1.0])
    c = a * b
    c *= 3
    close(c, [15.0, -6.0])
    assert repr(c.grad_fn) == "<MulBackward>"
    c.sum().backward()
    close(a.grad, [15.0, -3.0])
    close(b.grad, [3.0, 6.0])


def test_recorded_inplace_sub_and_div_on_non_leaf():
    """c = a*a; c -= a; c /= 2 is (a^2 - a)/2, derivative (2a - 1)/2."""
    a = leaf([3.0, -1.0])
    c = a * a
    c -= a
    c /= 2
    close(c, [3.0, 1.0])
    c.sum().backward()
    close(a.grad, [2.5, -1.5])


def test_recorded_inplace_mul_by_a_tracked_tensor_uses_the_old_value():
    """c = a * 1; c *= b: b's gradient is the old c (= a), not the overwritten one."""
    a, b = leaf([1.0, 2.0]), leaf([3.0, 5.0])
    c = a * 1
    c *= b
    close(c, [3.0, 10.0])
    c.sum().backward()
    close(a.grad, [3.0, 5.0])
    close(b.grad, [1.0, 2.0])


def test_inplace_add_of_a_tracked_tensor_into_a_plain_tensor_is_recorded():
    """t += x, with x requiring grad, makes t a non-leaf that depends on x."""
    x = leaf([1.0, 2.0])
    t = tg.tensor([10.0, 20.0])
    t += x * x
    assert not t.is_leaf and t.requires_grad
    t.sum().backward()
    close(x.grad, [2.0, 4.0])


def test_recorded_zero_on_non_leaf_stops_its_gradient():
    """c = 2a; c.zero_(); (c + a) has derivative 1 w.r.t. a."""
    a = leaf([1.0, 2.0])
    c = a * 2
    c.zero_()
    close(c, [0.0, 0.0])
    (c + a).sum().backward()
    close(a.grad, [1.0, 1.0])


def test_version_counter_catches_an_input_changed_after_use():
    """y = w * x saves w; changing w in place under no_grad makes backward fail, naming
    MulBackward, instead of returning a wrong gradient."""
    w, x = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    y = (w * x).sum()
    with tg.no_grad():
        w -= 1
    with pytest.raises(RuntimeError, match="MulBackward"):
        y.backward()


def test_version_counter_catches_a_saved_result_changed_in_place():
    """exp saves its result; e += 1 (recorded) changes it, so backward fails."""
    a = leaf([0.0, 1.0])
    e = a.exp()
    e += 1
    with pytest.raises(RuntimeError, match="ExpBackward"):
        e.sum().backward()


def test_out_of_place_update_after_exp_is_fine():
    """e = e + 1 (a new tensor) keeps exp's saved result intact: gradient exp(a)."""
    a = leaf([0.0, 1.0])
    e = a.exp()
    e = e + 1
    e.sum().backward()
    close(a.grad, np.exp([0.0, 1.0]))


def test_views_share_the_version_counter():
    """Changing a base tensor in place invalidates what was saved from its slice."""
    a = leaf([0.5, 1.0, 2.0])
    c = a * 1.0
    v = c[0:2]
    y = v.log().sum()  # log saves its input v
    with tg.no_grad():
        c += 1
    assert v._version == c._version == 1
    close(v, [1.5, 2.0])
    with pytest.raises(RuntimeError, match="LogBackward"):
        y.backward()


def test_values_not_saved_may_change_in_place():
    """add saves nothing, so changing its input in place afterwards is harmless."""
    a, b = leaf([1.0]), tg.tensor([2.0])
    y = (a + b).sum()
    with tg.no_grad():
        b += 5
    y.backward()
    close(a.grad, [1.0])


# --- autograd.grad ----------------------------------------------------------------------


def test_grad_returns_gradients_without_touching_dot_grad():
    """grad(out, [a, b]) returns (da, db); a.grad and b.grad stay as they were."""
    a, b = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    a.grad = tg.tensor([100.0, 100.0])
    ga, gb = grad((a * b).sum(), [a, b])
    close(ga, [3.0, 4.0])
    close(gb, [1.0, 2.0])
    close(a.grad, [100.0, 100.0])
    assert b.grad is None
    assert not ga.requires_grad


def test_grad_with_respect_to_a_non_leaf():
    """d/dc of sum(c*c) is 2c, for c = a*b an intermediate tensor."""
    a, b = leaf([1.0, 2.0]), leaf([3.0, -1.0])
    c = a * b
    (gc_,) = grad((c * c).sum(), c)
    close(gc_, [6.0, -4.0])
    assert a.grad is None


def test_grad_wrt_leaf_and_non_leaf_together():
    """With c = a*b among the inputs, a's gradient still includes the path through c."""
    a, b = leaf([1.0, 2.0]), leaf([3.0, -1.0])
    c = a * b
    out = (c * c + a).sum()  # d/da = 2 c b + 1
    ga, gc_ = grad(out, [a, c])
    close(gc_, [6.0, -4.0])
    close(ga, [19.0, 5.0])


def test_grad_allow_unused_gives_none():
    """An input not used by the output gets None when allow_unused=True."""
    a, unused = leaf([1.0]), leaf([2.0])
    ga, gu = grad((a * 5).sum(), [a, unused], allow_unused=True)
    close(ga, [5.0])
    assert gu is None


def test_grad_with_grad_outputs_for_non_scalar_output():
    """grad_outputs gives the vector of a vector-Jacobian product."""
    x = leaf([1.0, 2.0])
    (gx,) = grad(x * x * x, x, grad_outputs=tg.tensor([1.0, -1.0]))
    close(gx, [3.0, -12.0])


def test_grad_of_several_outputs_adds_their_gradients():
    """grad([y1, y2], x) is the gradient of y1 + y2."""
    x = leaf([1.0, 2.0])
    (gx,) = grad([(x * x).sum(), (x * 3).sum()], x)
    close(gx, [5.0, 7.0])


def test_grad_frees_the_graph_unless_retained():
    """grad() without retain_graph frees the graph; retain_graph=True keeps it."""
    x = leaf([2.0])
    y = (x * x).sum()
    grad(y, x, retain_graph=True)
    (g,) = grad(y, x)
    close(g, [4.0])
    with pytest.raises(RuntimeError, match="retain_graph"):
        grad(y, x)


def test_hessian_vector_product_matches_hand_derived_hessian():
    """f = x0^3 + x0 x1^2 + exp(x1): grad(grad(f).v) = H v with H computed by hand."""
    x0, x1 = 0.5, -1.0
    x = leaf([x0, x1])
    f = x[0] ** 3 + x[0] * x[1] ** 2 + x[1].exp()
    (g,) = grad(f, x, create_graph=True)
    close(g, [3 * x0**2 + x1**2, 2 * x0 * x1 + np.exp(x1)])
    assert g.requires_grad
    v = np.array([1.0, 2.0])
    (hv,) = grad((g * tg.tensor(v)).sum(), x)
    hessian = np.array([[6 * x0, 2 * x1], [2 * x1, 2 * x0 + np.exp(x1)]])
    np.testing.assert_allclose(hv.numpy(), hessian @ v, rtol=1e-12)
    assert x.grad is None


def test_newton_step_with_second_derivatives():
    """One Newton step on f = sum(x^4 - 3x^2 + x): x - f'(x)/f''(x), checked with NumPy."""
    x0 = np.array([2.0, -1.5, 0.3])
    x = leaf(x0)
    f = (x ** 4 - 3 * x ** 2 + x).sum()
    (g,) = grad(f, x, create_graph=True)
    (h,) = grad(g.sum(), x)  # f is separable: the Hessian is diagonal
    step = x.numpy() - g.numpy() / h.numpy()
    expected = x0 - (4 * x0**3 - 6 * x0 + 1) / (12 * x0**2 - 6)
    np.testing.assert_allclose(step, expected, rtol=1e-12)


def test_backward_create_graph_makes_grad_differentiable():
    """backward(create_graph=True): x.grad = 3x^2 can itself be differentiated (6x)."""
    x = leaf([2.0, 3.0])
    (x ** 3).sum().backward(create_graph=True)
    g = x.grad
    close(g, [12.0, 27.0])
    assert g.requires_grad
    x.grad = None
    g.sum().backward()
    close(x.grad, [12.0, 18.0])


def test_backward_create_graph_through_saved_results_with_retain_graph():
    """x.grad = exp(x) from backward(create_graph=True, retain_graph=True) differentiates
    to exp(x) again (the double-backward graph goes through ExpBackward)."""
    x = leaf([0.5, 1.0])
    x.exp().sum().backward(create_graph=True, retain_graph=True)
    g = x.grad
    x.grad = None
    g.sum().backward()
    close(x.grad, np.exp([0.5, 1.0]))


def test_backward_create_graph_retains_the_graph_by_default():
    """As in PyTorch, retain_graph defaults to create_graph: d/dx of (exp x)' is exp x."""
    x = leaf([0.5, 1.0])
    x.exp().sum().backward(create_graph=True)
    g = x.grad
    x.grad = None
    g.sum().backward()
    close(x.grad, np.exp([0.5, 1.0]))


# --- deep graphs and memory -------------------------------------------------------------


def test_million_node_chain_forward_and_backward():
    """A chain of 10^6 additions y = y + x: no recursion error, every node delivers its 1
    to x (dy/dx = 10^6 + 1), and dropping y frees the whole chain by reference counting."""
    n = 1_000_000
    x = leaf(0.5)
    was_enabled = gc.isenabled()
    gc.disable()  # the graph has no cycles; the collector would only cost time here
    try:
        y = x + x
        first_node = weakref.ref(y.grad_fn)
        for _ in range(n - 1):
            y = y + x
        y.backward()
        assert x.grad.item() == n + 1
        assert y.item() == 0.5 * (n + 1)
        del y  # deallocating a million-deep chain must not overflow the C stack
        assert first_node() is None
    finally:
        if was_enabled:
            gc.enable()


def _graph_is_freed_by_refcount(build):
    """Build an output with build(), drop it with the collector off, check it is gone."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        out, inner = build()
        refs = [weakref.ref(out), weakref.ref(out.grad_fn), weakref.ref(inner)]
        del out, inner
        return [r() is None for r in refs]
    finally:
        if was_enabled:
            gc.enable()


def test_dropping_the_output_frees_the_graph_without_gc():
    """No reference cycles: deleting the output frees it and its nodes at once."""
    x = leaf([1.0, 2.0])

    def build():
        h = (x * 3).exp()
        out = (h * h + x.tanh()).sum()
        return out, h.grad_fn

    assert _graph_is_freed_by_refcount(build) == [True, True, True]


def test_graph_is_freed_without_gc_after_a_retained_backward():
    """Even after backward(retain_graph=True) the graph is freed by reference counting."""
    x = leaf([1.0, 2.0])

    def build():
        h = x.sigmoid() @ tg.tensor([[1.0], [2.0]])
        out = (h * h).sum()
        out.backward(retain_graph=True)
        return out, h.grad_fn

    assert _graph_is_freed_by_refcount(build) == [True, True, True]
    assert x.grad is not None


def test_a_node_does_not_keep_its_output_tensor_alive():
    """Holding out.grad_fn does not keep out alive (nodes never point to their result)."""
    x = leaf([1.0])
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        out = x * 2
        node = out.grad_fn
        ref = weakref.ref(out)
        del out
        assert ref() is None
        assert repr(node) == "<MulBackward>"
    finally:
        if was_enabled:
            gc.enable()


# --- broadcasting and dtypes ------------------------------------------------------------


def test_broadcast_gradients_have_the_input_shapes():
    """a (3,1) + b (4,) is (3,4); each gradient is summed back to its input's shape."""
    a = leaf(np.arange(3.0).reshape(3, 1))
    b = leaf([10.0, 20.0, 30.0, 40.0])
    weights = np.arange(12.0).reshape(3, 4)
    out = a + b
    assert out.shape == (3, 4)
    (out * tg.tensor(weights)).sum().backward()
    assert a.grad.shape == (3, 1) and b.grad.shape == (4,)
    close(a.grad, weights.sum(axis=1, keepdims=True))
    close(b.grad, weights.sum(axis=0))


def test_broadcast_of_a_size_one_leading_input():
    """A (1,) tensor added to a (2,3) one receives the sum of all six upstream values."""
    a = leaf([0.0])
    b = tg.ones(2, 3)
    (a + b).backward(gradient=np.arange(6.0).reshape(2, 3))
    assert a.grad.shape == (1,)
    close(a.grad, [15.0])


def test_float32_inputs_get_float32_grads_when_mixed_with_float64():
    """float32 + float64 computes in float64, but each grad has its own input's dtype."""
    a = leaf(np.ones((3, 1), dtype=np.float32))
    b = leaf([1.0, 2.0, 3.0, 4.0])
    out = a * b
    assert out.dtype == np.float64
    out.sum().backward()
    assert a.grad.dtype == np.float32
    assert b.grad.dtype == np.float64
    np.testing.assert_allclose(a.grad.numpy(), [[10.0], [10.0], [10.0]])
    np.testing.assert_allclose(b.grad.numpy(), [3.0, 3.0, 3.0, 3.0])


def test_float32_stays_float32_with_python_scalars_and_float64_arrays():
    """A float32 tensor times a Python float stays float32; its grad is float32 either way."""
    a = leaf(np.array([1.0, 2.0], dtype=np.float32))
    assert (a * 2.5).dtype == np.float32
    (a * np.array([1.0, 2.0])).sum().backward()
    assert a.grad.dtype == np.float32
    np.testing.assert_allclose(a.grad.numpy(), [1.0, 2.0])


# --- subgradient conventions ------------------------------------------------------------


def test_max_ties_split_the_gradient_evenly():
    """max([1, 3, 3]): each of the two maxima gets 1/2."""
    a = leaf([1.0, 3.0, 3.0])
    a.max().backward()
    close(a.grad, [0.0, 0.5, 0.5])


def test_min_ties_split_the_gradient_evenly():
    """min([2, 1, 1, 1]): each of the three minima gets 1/3."""
    a = leaf([2.0, 1.0, 1.0, 1.0])
    a.min().backward()
    close(a.grad, [0.0, 1 / 3, 1 / 3, 1 / 3])


def test_max_along_an_axis_splits_ties_per_row():
    """max(axis=1) of [[1,1],[0,2]]: the tied row splits, the other row has one winner."""
    a = leaf([[1.0, 1.0], [0.0, 2.0]])
    a.max(axis=1).sum().backward()
    close(a.grad, [[0.5, 0.5], [0.0, 1.0]])


def test_maximum_ties_split_between_the_two_inputs():
    """maximum(a, b) where a == b gives each side half of the gradient."""
    a, b = leaf([1.0, 5.0, 2.0]), leaf([1.0, 3.0, 4.0])
    tg.maximum(a, b).sum().backward()
    close(a.grad, [0.5, 1.0, 0.0])
    close(b.grad, [0.5, 0.0, 1.0])


def test_relu_derivative_at_zero_is_zero():
    """relu'(0) = 0, relu'(>0) = 1, relu'(<0) = 0."""
    a = leaf([0.0, 2.0, -2.0])
    a.relu().sum().backward()
    close(a.grad, [0.0, 1.0, 0.0])


def test_abs_derivative_at_zero_is_zero():
    """abs'(0) = 0, otherwise sign(a)."""
    a = leaf([0.0, 2.0, -2.0])
    a.abs().sum().backward()
    close(a.grad, [0.0, 1.0, -1.0])


def test_sqrt_derivative_at_zero_is_plus_infinity():
    """sqrt'(0) = +inf (the limit 1/(2 sqrt a)); sqrt'(4) = 1/4."""
    a = leaf([0.0, 4.0])
    with np.errstate(divide="ignore"):
        a.sqrt().sum().backward()
    assert a.grad.numpy()[0] == np.inf
    assert a.grad.numpy()[1] == 0.25


# --- indexing ---------------------------------------------------------------------------


def test_repeated_integer_indices_accumulate():
    """a[[0, 0, 1]] picks a[0] twice, so a[0] gets two contributions."""
    a = leaf([1.0, 2.0, 3.0])
    a[[0, 0, 1]].sum().backward()
    close(a.grad, [2.0, 1.0, 0.0])


def test_repeated_indices_accumulate_weighted_upstream():
    """Weighted upstream: a[[2, 0, 2]] * [1, 2, 3] sends 1+3 to a[2] and 2 to a[0]."""
    a = leaf([1.0, 2.0, 3.0])
    (a[[2, 0, 2]] * tg.tensor([1.0, 2.0, 3.0])).sum().backward()
    close(a.grad, [2.0, 0.0, 4.0])


def test_basic_slice_gradient_lands_in_place():
    """The gradient of a[1:, 0] is 1 at those positions and 0 elsewhere."""
    a = leaf(np.zeros((3, 2)))
    a[1:, 0].sum().backward()
    close(a.grad, [[0.0, 0.0], [1.0, 0.0], [1.0, 0.0]])


# --- creation API -----------------------------------------------------------------------


def test_manual_seed_reproduces_random_numbers():
    """Same seed, same numbers (rand and randn); different seed, different numbers."""
    tg.manual_seed(1234)
    first = (tg.rand(5).numpy().copy(), tg.randn(2, 3).numpy().copy())
    tg.manual_seed(1234)
    second = (tg.rand(5).numpy(), tg.randn(2, 3).numpy())
    tg.manual_seed(4321)
    other = tg.rand(5).numpy()
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])
    assert not np.array_equal(first[0], other)


def test_rand_is_in_unit_interval():
    """rand draws from [0, 1)."""
    tg.manual_seed(0)
    r = tg.rand(1000).numpy()
    assert r.min() >= 0.0 and r.max() < 1.0


@pytest.mark.parametrize("make, shape", [
    (lambda **kw: tg.zeros(2, 3, **kw), (2, 3)),
    (lambda **kw: tg.ones((4,), **kw), (4,)),
    (lambda **kw: tg.rand(2, 1, 3, **kw), (2, 1, 3)),
    (lambda **kw: tg.randn(5, **kw), (5,)),
    (lambda **kw: tg.full((2, 2), 7.0, **kw), (2, 2)),
    (lambda **kw: tg.arange(5.0, **kw), (5,)),  # ints would make int64, as PyTorch
    (lambda **kw: tg.linspace(0, 1, 4, **kw), (4,)),
    (lambda **kw: tg.eye(3, **kw), (3, 3)),
    (lambda **kw: tg.eye(2, 3, **kw), (2, 3)),
])
def test_creation_shapes_and_dtypes(make, shape):
    """Creation functions give the asked shape, float64 by default, float32 for tg.float."""
    t = make()
    assert t.shape == shape and t.dtype == np.float64 and not t.requires_grad
    assert make(dtype=tg.float).dtype == np.float32
    assert make(dtype=tg.float32).dtype == np.float32
    assert make(dtype=tg.float64).dtype == np.float64
    trainable = make(requires_grad=True)
    assert trainable.requires_grad and trainable.is_leaf


def test_creation_values():
    """zeros/ones/full/arange/linspace/eye hold the values NumPy gives."""
    close(tg.zeros(2), [0.0, 0.0])
    close(tg.ones(2), [1.0, 1.0])
    close(tg.full((2,), 7.0), [7.0, 7.0])
    close(tg.arange(1, 7, 2), [1.0, 3.0, 5.0])
    close(tg.linspace(0, 1, 5), [0.0, 0.25, 0.5, 0.75, 1.0])
    close(tg.eye(2), [[1.0, 0.0], [0.0, 1.0]])


def test_like_functions_copy_shape_and_dtype():
    """zeros_like / ones_like keep the shape and dtype of their argument."""
    t = tg.ones(2, 3, dtype=tg.float32)
    assert tg.zeros_like(t).shape == (2, 3) and tg.zeros_like(t).dtype == np.float32
    close(tg.ones_like(t), np.ones((2, 3)))
    assert tg.ones_like(t).dtype == np.float32


def test_tensor_dtype_rules():
    """As PyTorch: Python ints and int arrays stay int64, bools bool, Python floats
    become the default float64; float32 arrays stay float32; Tensor(...) is always float."""
    assert tg.tensor(3).dtype == np.int64
    assert tg.tensor([1, 2]).dtype == np.int64
    assert tg.tensor(np.arange(3)).dtype == np.int64
    assert tg.tensor([True]).dtype == np.bool_
    assert tg.tensor([1.5]).dtype == np.float64
    assert tg.Tensor([1, 2]).dtype == np.float64
    assert tg.tensor(np.ones(2, dtype=np.float32)).dtype == np.float32
    assert tg.tensor([1.0], dtype=tg.float).dtype == np.float32


def test_tensor_copies_its_data():
    """tensor(array) copies: changing the array afterwards does not change the tensor."""
    array = np.array([1.0, 2.0])
    t = tg.tensor(array)
    array[0] = 50.0
    close(t, [1.0, 2.0])


def test_unsqueeze_function_and_size():
    """tinygrad_edu.unsqueeze inserts a size-1 axis; size() is the shape, size(d) one side."""
    x = tg.linspace(-1, 1, 100)
    col = tg.unsqueeze(x, dim=1)
    assert col.size() == (100, 1)
    assert tg.unsqueeze(x, 0).size() == (1, 100)
    assert tg.unsqueeze(x, -1).shape == (100, 1)
    assert col.size(0) == 100 and col.size(1) == 1 and col.size(-1) == 1
    close(col[:, 0], np.linspace(-1, 1, 100))


def test_bare_no_grad_decorator():
    """@no_grad without parentheses works as in PyTorch 2."""
    @tg.no_grad
    def f(t):
        return t * 2

    assert not f(tg.tensor([1.0], requires_grad=True)).requires_grad
    assert tg.is_grad_enabled()


def test_backward_restores_the_garbage_collector():
    """The reverse pass pauses the cyclic collector and switches it back on after,
    also when backward raises; a collector already off stays off."""
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    assert gc.isenabled()
    (x * x).sum().backward()
    assert gc.isenabled()
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        y.backward()
    assert gc.isenabled()
    gc.disable()
    try:
        (x * 3).sum().backward()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_set_grad_enabled_as_a_block_and_as_a_decorator():
    """with set_grad_enabled(False): restores the mode after the block; as a decorator
    it applies per call and leaves the mode alone when the function is decorated."""
    x = tg.tensor([1.0], requires_grad=True)
    with tg.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert tg.is_grad_enabled()

    @tg.set_grad_enabled(False)
    def double(t):
        return t * 2

    assert tg.is_grad_enabled()  # decorating did not switch recording off
    assert not double(x).requires_grad
    assert tg.is_grad_enabled() and (x * 2).requires_grad
    with tg.no_grad():
        with tg.set_grad_enabled(True):
            assert (x * 2).requires_grad
        assert not tg.is_grad_enabled()
