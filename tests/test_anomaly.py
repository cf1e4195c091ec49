"""detect_anomaly: the first op that makes a NaN or inf from finite values is blamed,
by name, with its shapes and the line of this file that created it."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu.explain import explain_backward

HERE = __file__.rsplit("/", 1)[-1]  # test_anomaly.py


def anomaly(fn):
    """The AnomalyError message that fn raises."""
    with pytest.raises(tg.AnomalyError) as info:
        fn()
    return str(info.value)


# --- forward --------------------------------------------------------------------------


def test_forward_nan_names_log_its_shape_and_the_source_line():
    x = tg.tensor([1.0, -2.0], requires_grad=True, name="x")

    def model():
        with tg.detect_anomaly(), np.errstate(invalid="ignore"):
            h = x * 2
            out = h.log().exp()  # log(-4) is NaN: log is to blame, not mul or exp
            return out

    msg = anomaly(model)
    assert msg.startswith("log produced 1 NaN and 0 inf values")
    assert "(2,)" in msg and "forward pass" in msg
    assert f"{HERE}:" in msg and "in model: out = h.log().exp()" in msg


def test_forward_blames_the_first_op_only():
    """Once a value is NaN, the ops after it are not blamed (their inputs were not finite)."""
    x = tg.tensor([-1.0], requires_grad=True)
    with np.errstate(invalid="ignore"):
        bad = x.log()  # outside detect_anomaly: no check
        assert np.isnan(bad.item())
        with tg.detect_anomaly():
            later = bad.exp() * 3  # NaN in, NaN out: not this op's fault
    assert np.isnan(later.item())


def test_forward_without_detect_anomaly_is_silent_and_the_mode_is_restored():
    x = tg.tensor([-1.0], requires_grad=True)
    with np.errstate(invalid="ignore"):
        assert np.isnan(x.log().item())
        with pytest.raises(tg.AnomalyError), tg.detect_anomaly():
            x.log()
        assert np.isnan(x.log().item())  # the block has ended: silent again


def test_detect_anomaly_as_a_decorator():
    @tg.detect_anomaly()
    def f(t):
        return t.log()

    with np.errstate(invalid="ignore"):
        msg = anomaly(lambda: f(tg.tensor([-1.0, 2.0, -3.0])))
    assert msg.startswith("log produced 2 NaN") and "(3,)" in msg
    assert "in f: return t.log()" in msg


# --- backward -------------------------------------------------------------------------


def test_backward_inf_names_sqrt_its_rule_and_the_line_that_created_it():
    """sqrt(0) = 0 is fine forward; its derivative 1/(2*sqrt(0)) is +inf."""
    x = tg.tensor([4.0, 0.0], requires_grad=True, name="x")
    with tg.detect_anomaly(), np.errstate(divide="ignore"):
        h = x * 3
        r = h.sqrt()
        loss = (r * 2 + 1).sum()
        msg = anomaly(loss.backward)
    assert msg.startswith("SqrtBackward produced 0 NaN and 1 inf values")
    assert "gradient of input 0 (shape (2,))" in msg and "backward pass" in msg
    assert "d sqrt(a)/da" in msg
    assert f"{HERE}:" in msg and "r = h.sqrt()" in msg


def test_backward_blame_is_the_same_in_explain_backward():
    x = tg.tensor([0.0, 1.0], requires_grad=True)
    with tg.detect_anomaly(), np.errstate(divide="ignore"):
        loss = x.sqrt().sum()
        msg = anomaly(lambda: explain_backward(loss))
    assert msg.startswith("SqrtBackward") and "loss = x.sqrt().sum()" in msg


def test_backward_without_detect_anomaly_gives_inf_silently():
    x = tg.tensor([0.0, 1.0], requires_grad=True)
    with np.errstate(divide="ignore"):
        x.sqrt().sum().backward()
    assert np.isinf(x.grad.numpy()[0]) and x.grad.numpy()[1] == 0.5


def test_backward_nan_in_a_second_derivative_names_the_rule_op():
    """d/dx of x^1.5 is 1.5*x^0.5; differentiating that again at 0 divides by zero."""
    x = tg.tensor([0.0, 1.0], requires_grad=True)
    with tg.detect_anomaly(), np.errstate(divide="ignore", invalid="ignore"):
        y = (x**1.5).sum()
        (g,) = tg.autograd.grad(y, x, create_graph=True)
        msg = anomaly(g.sum().backward)
    assert msg.startswith("PowBackward") and "backward pass" in msg


def test_backward_blame_for_a_graph_built_outside_the_block_says_how_to_get_the_line():
    x = tg.tensor([0.0, 1.0], requires_grad=True)
    loss = x.sqrt().sum()  # built before detect_anomaly: no line was recorded
    with tg.detect_anomaly(), np.errstate(divide="ignore"):
        msg = anomaly(loss.backward)
    assert msg.startswith("SqrtBackward")
    assert "None" not in msg
    assert "detect_anomaly" in msg  # e.g. "build the graph inside detect_anomaly() ..."
