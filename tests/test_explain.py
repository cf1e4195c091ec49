"""The narrated backward pass: it computes what backward computes, and says how.

Expected gradients come from the articles' hand derivation in plain NumPy:
for L = sum((w*x^2 + b - y)^2) / 2, dL/dw = sum((y_pred - y) * x^2), dL/db = sum(y_pred - y).
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import ops
from tinygrad_edu.explain import BackwardRecord, explain_backward

ROOT = Path(__file__).resolve().parent.parent
X = np.array([-1.0, 0.5, 2.0])
Y = np.array([5.1, 2.8, 14.0])


def quadratic(w0=1.0, b0=0.5):
    x = tg.tensor(X, name="x")
    y = tg.tensor(Y, name="y")
    w = tg.tensor(w0, requires_grad=True, name="w")
    b = tg.tensor(b0, requires_grad=True, name="b")
    loss = (0.5 * (w * x**2 + b - y) ** 2).sum()
    loss.name = "loss"
    return loss, w, b


def by_hand(w0=1.0, b0=0.5):
    error = w0 * X**2 + b0 - Y
    return np.sum(error * X**2), np.sum(error)


def test_final_gradients_equal_grad_and_the_hand_derived_formulas():
    loss, w, b = quadratic()
    record = explain_backward(loss)
    grad_w, grad_b = by_hand()
    np.testing.assert_allclose(w.grad.numpy(), grad_w, rtol=1e-12)
    np.testing.assert_allclose(b.grad.numpy(), grad_b, rtol=1e-12)
    np.testing.assert_allclose(record.total(w), w.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(record.total(b), b.grad.numpy(), rtol=1e-12)
    assert record.leaves == [b, w]  # in the order they received a gradient


def test_same_gradients_as_backward_on_a_twin_graph():
    loss, w, b = quadratic(2.0, -1.0)
    twin, w2, b2 = quadratic(2.0, -1.0)
    explain_backward(loss)
    twin.backward()
    np.testing.assert_array_equal(w.grad.numpy(), w2.grad.numpy())
    np.testing.assert_array_equal(b.grad.numpy(), b2.grad.numpy())


def test_one_step_per_op_in_backward_order_with_the_rules_of_ops_py():
    loss, _w, _b = quadratic()
    record = explain_backward(loss)
    assert [s.node.name() for s in record.steps] == [
        "SumBackward", "MulBackward", "PowBackward", "SubBackward", "AddBackward", "MulBackward"]
    sent = [(r.step, r.input, r.to, r.rule) for r in record.rows if r.sent is not None]
    assert sent == [
        (1, "a", "#2 MulBackward", ops.SUM.rules[0].text),
        (2, "b", "#3 PowBackward", ops.MUL.rules[1].text),  # 0.5 * (...): input b
        (3, "a", "#4 SubBackward", ops.POW.rules[0].text),
        (4, "a", "#5 AddBackward", ops.SUB.rules[0].text),
        (5, "a", "#6 MulBackward", ops.ADD.rules[0].text),
        (5, "b", "b", ops.ADD.rules[1].text),
        (6, "a", "w", ops.MUL.rules[0].text),
    ]
    skipped = [(r.step, r.input, r.to) for r in record.rows if r.sent is None]
    assert skipped == [(2, "a", "constant ()"), (3, "b", "constant ()"),
                       (4, "b", "constant y (3,)"), (6, "b", "constant (3,)")]


def test_upstream_gradients_follow_the_chain_rule():
    """g at each node, worked out by hand: 1, 1, 1/2, (y_pred - y), (y_pred - y), ..."""
    loss, _w, _b = quadratic()
    record = explain_backward(loss)
    error = 1.0 * X**2 + 0.5 - Y
    expected = [1.0, np.ones(3), np.full(3, 0.5), error, error, error]
    for step, g in zip(record.steps, expected):
        np.testing.assert_allclose(step.upstream, g, rtol=1e-12)


def test_broadcast_is_reported_with_the_summed_axes():
    loss, _w, _b = quadratic()
    record = explain_backward(loss)
    to_leaves = {r.to: r for r in record.rows if r.to in ("w", "b")}
    for row in to_leaves.values():
        assert row.summed_axes == (0,) and row.raw_shape == (3,)
    text = str(record)
    assert text.count("summed axis 0: (3,) → ()") == 2
    # 2-D: a (1, 4) row broadcast over 3 rows is summed over axis 0
    a = tg.tensor(np.arange(12.0).reshape(3, 4), requires_grad=True, name="a")
    c = tg.tensor(np.ones((1, 4)), requires_grad=True, name="c")
    record = explain_backward((a * c).sum())
    row = next(r for r in record.rows if r.to == "c")
    assert row.summed_axes == (0,)
    np.testing.assert_allclose(c.grad.numpy(), [[12.0, 15.0, 18.0, 21.0]])
    assert "summed axis 0: (3, 4) → (1, 4)" in str(record)


def test_table_reads_like_the_math():
    loss, _w, _b = quadratic()
    text = explain_backward(loss).table()
    lines = text.splitlines()
    assert lines[0] == "backward of loss = 53.71: 6 steps, 7 rule calls"
    assert lines[1].split() == ["step", "node", "upstream", "g", "input", "rule", "(ops.py)",
                                "sends", "broadcast", "undone"]
    assert "1 (seed)" in lines[3]
    assert "d(a*b)/da = b" in text and "a → w" in text
    assert "[-3.6, -2.05, -9.5]" in text  # y_pred - y, sent by the square's rule
    assert "w.grad += -42.11  (1 contribution)" in text
    assert "b.grad += -15.15  (1 contribution)" in text
    assert "nothing: needs no gradient" in text
    assert str(explain_backward(quadratic()[0])) == text  # str() is the table


def test_reuse_sums_the_contributions_and_unnamed_leaves_get_labels():
    x = tg.tensor([1.0, -2.0], requires_grad=True)
    record = explain_backward((x * x).sum())
    np.testing.assert_allclose(x.grad.numpy(), [2.0, -4.0])
    np.testing.assert_allclose(record.total(x), [2.0, -4.0])
    assert record.label(x) == "leaf1"
    assert "leaf1.grad += [2, -4]  (sum of 2 contributions)" in str(record)


def test_big_values_are_summarised_by_shape():
    x = tg.tensor(np.linspace(0, 1, 1000), requires_grad=True, name="x")
    text = str(explain_backward((x * 2.0).sum()))
    assert "(1000,) all 2" in text  # x.grad = 2 everywhere
    assert max(len(line) for line in text.splitlines()) < 200


def test_grad_accumulates_like_backward():
    loss, w, b = quadratic()
    explain_backward(loss)
    # a second graph on the same leaves: .grad adds up, as with backward()
    w2_loss = (0.5 * (w * tg.tensor(X**2) + b - tg.tensor(Y)) ** 2).sum()
    explain_backward(w2_loss)
    grad_w, grad_b = by_hand()
    np.testing.assert_allclose(w.grad.numpy(), 2 * grad_w)
    np.testing.assert_allclose(b.grad.numpy(), 2 * grad_b)


def test_retain_graph():
    loss, w, _b = quadratic()
    explain_backward(loss, retain_graph=True)
    explain_backward(loss)  # allowed once more, then freed
    np.testing.assert_allclose(w.grad.numpy(), 2 * by_hand()[0])
    with pytest.raises(RuntimeError, match="second time"):
        explain_backward(loss)


def test_non_scalar_needs_a_gradient_and_no_grad_is_refused():
    x = tg.tensor([1.0, 2.0], requires_grad=True, name="x")
    with pytest.raises(RuntimeError, match="explain_backward"):
        explain_backward(x * 3)
    record = explain_backward(x * 3, gradient=[1.0, 10.0])
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 30.0])
    assert len(record.steps) == 1
    with pytest.raises(RuntimeError, match="does not require grad"):
        explain_backward(tg.tensor([1.0]).sum())
    with pytest.raises(TypeError):
        explain_backward(np.ones(2))


def test_record_repr():
    record = explain_backward(quadratic()[0])
    assert isinstance(record, BackwardRecord)
    assert repr(record) == "<BackwardRecord: 6 steps, 7 rule calls>"


# --- the demo -------------------------------------------------------------------------


def load_demo():
    path = ROOT / "demos" / "explain_backward.py"
    spec = importlib.util.spec_from_file_location("demo_explain_backward", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_demo_prints_the_table_and_matches_the_hand_formulas(tmp_path, capsys):
    result = load_demo().main(["--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert "backward of loss" in out and "d(a*b)/da = b" in out and "equal" in out
    grad_w, grad_b = result["by_hand"]
    np.testing.assert_allclose(result["w"].grad.item(), grad_w)
    np.testing.assert_allclose(result["b"].grad.item(), grad_b)
    picture = tmp_path / "explain_backward_graph.png"
    assert result["picture"] == picture
    assert picture.read_bytes().startswith(b"\x89PNG") and picture.stat().st_size > 10_000


def test_demo_no_plot(tmp_path, capsys):
    result = load_demo().main(["--out", str(tmp_path / "out"), "--no-plot"])
    capsys.readouterr()
    assert result["picture"] is None
    assert not (tmp_path / "out").exists()


def test_step_numbers_are_the_numbers_of_the_text_tree_and_the_picture():
    """to_text/draw_graph number the ops [1], [2] ... in the order backward visits them."""
    from tinygrad_edu.viz import to_text

    a = tg.tensor([1.0, -0.5], requires_grad=True, name="a")
    shared = a.exp()
    out = (shared * shared.tanh() + a).sum()
    numbered = dict(re.findall(r"\[(\d+)\] (\w+)", to_text(out)))
    record = explain_backward(out)
    assert {str(k): s.node.name() for k, s in enumerate(record.steps, start=1)} == numbered


def test_named_intermediate_appears_in_the_table():
    """Steps and destinations name intermediate tensors that were given a name."""
    w = tg.tensor(2.0, requires_grad=True, name="w")
    err = w * tg.tensor([1.0, 2.0]) - 1.0
    err.name = "err"
    record = tg.explain_backward((err ** 2).sum())
    table = str(record)
    assert "SubBackward (sub → err)" in table  # its own step
    assert "SubBackward (err)" in table  # where pow sends its gradient
    np.testing.assert_allclose(w.grad.array, 2 * (2 * 1 - 1) * 1 + 2 * (2 * 2 - 1) * 2)
