"""The stepper page without a browser, explain_grad for each cause, and retain_grads."""

from __future__ import annotations

import html
import re

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import nn, optim
from tinygrad_edu.explain import explain_backward
from tinygrad_edu.stepper import keep_values


def quadratic(keep=True):
    block = keep_values() if keep else tg.no_grad()  # no_grad: never entered below
    x = tg.tensor([-1.0, 0.5, 2.0], name="x")
    y = tg.tensor([5.1, 2.8, 14.0], name="y")
    w = tg.tensor(1.0, requires_grad=True, name="w")
    b = tg.tensor(0.5, requires_grad=True, name="b")
    if keep:
        with block:
            loss = (0.5 * (w * x**2 + b - y) ** 2).sum()
    else:
        loss = (0.5 * (w * x**2 + b - y) ** 2).sum()
    loss.name = "loss"
    return loss, w, b


# --- the page ------------------------------------------------------------------------------


def test_page_is_one_self_contained_file(tmp_path):
    loss, _w, _b = quadratic()
    path = tg.viz.stepper(loss).save(tmp_path / "page.html")
    text = path.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and "<svg" in text and "<script>" in text
    assert not re.search(r"https?://", text)
    assert not re.search(r"<(link|img|iframe)\b|\bsrc=", text)
    assert "default-src 'none'" in text


def test_repr_html_is_the_same_page_in_an_iframe():
    loss, _w, _b = quadratic()
    page = tg.viz.stepper(loss)
    markup = page._repr_html_()
    srcdoc = re.fullmatch(r'<iframe srcdoc="([^"]*)".*</iframe>', markup, re.DOTALL).group(1)
    assert html.unescape(srcdoc) == page.html()
    assert not re.search(r"https?://", markup)


def test_steps_carry_the_traces_numbers_and_the_gradients_match_backward():
    loss, w, b = quadratic()
    twin, w2, b2 = quadratic()
    record = explain_backward(twin)
    page = tg.viz.stepper(loss)
    assert w.grad.item() == w2.grad.item() and b.grad.item() == b2.grad.item()
    backward = [s for s in page.steps if s["phase"] == "backward"]
    assert len(backward) == len(record.steps) == 6
    assert [s["phase"] for s in page.steps].count("forward") == 6
    for shown, step in zip(backward, record.steps):
        rows = {r.get("id"): r for r in shown["rows"]}
        np.testing.assert_array_equal(rows["upstream"]["n"], np.ravel(step.upstream))
        for c in step.contributions:
            np.testing.assert_array_equal(rows[f"sent-{c.index}"]["n"], np.ravel(c.grad))
            assert any(r["v"] == f"rule (ops.py): {c.rule}" for r in shown["rows"])
    notes = [r["note"] for s in backward for r in s["rows"] if "note" in r]
    assert notes and all("summed axis 0" in n for n in notes)
    forward = [s for s in page.steps if s["phase"] == "forward"]
    assert forward[0]["rows"][-1]["n"] == [1.0, 0.25, 4.0]  # w * x**2 with w = 1


def test_several_consumers_add_up_on_the_page():
    a = tg.tensor([1.0, 2.0], requires_grad=True, name="a")
    with keep_values():
        h = a * 3
        h.name = "h"
        loss = (h * h + h).sum()
    page = tg.viz.stepper(loss)
    text = " ".join(r["v"] for s in page.steps for r in s["rows"])
    assert "the sum of 3 contributions" in text
    np.testing.assert_allclose(a.grad.numpy(), 3 * (2 * 3 * np.array([1.0, 2.0]) + 1))


def test_without_keep_values_the_page_shows_what_backward_saved():
    loss, _w, _b = quadratic(keep=False)
    page = tg.viz.stepper(loss)
    forward = [s for s in page.steps if s["phase"] == "forward"]
    kept = [s["rows"][-1]["n"] is not None for s in forward]
    assert kept[-1] and not all(kept)  # the output's value, not every one
    assert "keep_values" in " ".join(s["rows"][-1]["v"] for s in forward)


def test_stepper_errors_name_the_function():
    with pytest.raises(TypeError, match="viz.stepper: expected the Tensor"):
        tg.viz.stepper([1.0])
    loss, _w, _b = quadratic()
    loss.backward()
    with pytest.raises(RuntimeError, match="viz.stepper: a backward already went through"):
        tg.viz.stepper(loss)
    with pytest.raises(RuntimeError, match=r"viz.stepper\(\): this tensor"):
        tg.viz.stepper(tg.tensor([1.0]).sum())
    h = tg.tensor(1.0, requires_grad=True)
    for _ in range(50):
        h = h * 1.0
    with pytest.raises(ValueError, match="51 nodes"):
        tg.viz.stepper(h, max_nodes=40)


def test_a_leaf_output_gives_a_page_too():
    w = tg.tensor(2.0, requires_grad=True, name="w")
    page = tg.viz.stepper(w)
    assert [s["phase"] for s in page.steps] == ["start", "done"] and w.grad.item() == 1.0


# --- explain_grad ---------------------------------------------------------------------------


def causes(t):
    return tg.explain_grad(t).causes


def test_explain_grad_for_each_cause():
    w = tg.tensor([1.0, -2.0], requires_grad=True, name="w")
    unused = tg.tensor(1.0, requires_grad=True, name="unused")
    h = w * 3
    kept = w * 2
    kept.retain_grad()
    with tg.no_grad():
        unwatched = w * 2  # not noted: watch_no_grad() is off by default
    tg.watch_no_grad()
    try:
        with tg.no_grad():
            under = w * 2
    finally:
        tg.watch_no_grad(False)
    detached, data = w.detach(), w.data
    plain = tg.tensor([1.0])
    ints = tg.tensor([1, 2])
    assert causes(w) == ["not reached"]
    (h.relu().sum() + kept.sum()).backward()
    assert causes(w) == ["ok"]
    assert causes(unused) == ["not reached"]
    assert causes(h) == ["non-leaf"]
    assert causes(kept) == ["retains", "ok"]
    assert causes(under) == ["requires_grad=False", "no_grad"]
    assert causes(unwatched) == ["requires_grad=False"]
    assert "watch_no_grad()" in str(tg.explain_grad(unwatched))
    assert causes(detached) == ["requires_grad=False", "detach"]
    assert causes(data) == ["requires_grad=False", "data"]
    assert causes(plain) == ["requires_grad=False"]
    assert causes(ints) == ["requires_grad=False", "integer dtype"]
    dead = tg.tensor([-1.0, -2.0], requires_grad=True)
    dead.relu().sum().backward()
    assert causes(dead) == ["zero"]
    bad = tg.tensor([1.0], requires_grad=True)
    (bad * tg.tensor([np.inf])).sum().backward()
    assert causes(bad) == ["inf"]
    nan = tg.tensor([1.0], requires_grad=True)
    (nan * tg.tensor([np.nan])).sum().backward()
    assert causes(nan) == ["nan"]
    assert "detect_anomaly" in str(tg.explain_grad(nan))
    text = str(tg.explain_grad(h))
    assert "retain_grad()" in text and "retain_grads()" in text and "not a leaf" in text
    assert "Compute it outside the no_grad block" in str(tg.explain_grad(under))


def test_explain_grad_for_a_module_and_an_optimizer():
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    extra = nn.Linear(2, 1)  # never used by the loss
    opt = optim.SGD([*model.parameters(), *extra.parameters()], lr=0.1)
    model(tg.ones(4, 2)).sum().backward()
    report = tg.explain_grad(model)
    assert report.no_grad_params == []
    assert "every one of the 4 parameters" in str(report)
    report = tg.explain_grad(opt)
    assert report.no_grad_params == ["group 0 param 4", "group 0 param 5"]
    assert "2 of 6 parameters got no gradient" in str(report)
    with pytest.raises(TypeError, match="explain_grad: expected a Tensor, a Module"):
        tg.explain_grad(3)


def test_the_no_grad_watch_is_off_by_default_and_leaves_with_the_block():
    from tinygrad_edu.engine import state
    from tinygrad_edu.grad_mode import _WATCH
    before = list(state.observers)
    with tg.no_grad():  # off by default: a training step's update block pays nothing
        assert _WATCH not in state.observers
    tg.watch_no_grad()
    try:
        with tg.no_grad():
            assert _WATCH in state.observers
        tg.set_grad_enabled(False)
        assert _WATCH in state.observers
        tg.set_grad_enabled(True)
        assert state.observers == before
    finally:
        tg.watch_no_grad(False)
    assert state.observers == before


# --- retain_grads ----------------------------------------------------------------------------


def test_retain_grads_equals_retain_grad_on_each_tensor():
    def forward(retain_each):
        x = tg.tensor([[1.0, -2.0], [0.5, 3.0]], requires_grad=True)
        h = x @ x
        r = h.tanh()
        loss = (r * h).sum()
        if retain_each:
            for t in (h, r, loss):
                t.retain_grad()
        return x, h, r, loss

    x1, *made1 = forward(True)
    made1[-1].backward()
    with tg.retain_grads():
        x2, *made2 = forward(False)
    made2[-1].backward()
    for a, b in zip(made1, made2):
        assert b.retains_grad
        np.testing.assert_array_equal(a.grad.numpy(), b.grad.numpy())
    np.testing.assert_array_equal(x1.grad.numpy(), x2.grad.numpy())
    after = x2 * 2  # outside the block: not retained
    assert not after.retains_grad
