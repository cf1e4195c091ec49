"""Every error the core raises: the exception type, and a message that names the op
(or function) and the shapes involved, so the user can find the mistake.

Shapes are checked as Python prints them, e.g. ``(2, 3)``.
"""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu.autograd import grad
from tinygrad_edu.ops import Rule


def message(exc_type, fn):
    """Run fn, expect exc_type exactly (not a subclass), return the message."""
    with pytest.raises(exc_type) as info:
        fn()
    assert type(info.value) is exc_type, f"got {type(info.value).__name__}: {info.value}"
    return str(info.value)


def has(msg, *parts):
    """Every part occurs in msg."""
    missing = [p for p in parts if p not in msg]
    assert not missing, f"{missing} not in message: {msg!r}"


def leaf(values):
    return tg.tensor(values, requires_grad=True)


def case(name, call, exc_type, parts):
    """One row of the table: call() raises exc_type with every string of parts in its
    message."""
    return pytest.param(call, exc_type, parts, id=name)


# --- one-liners: (name, call, exception type, what the message must contain) -------------

M23, V4 = tg.ones(2, 3), tg.ones(4)
V3 = tg.ones(3)

CASES = [
    # broadcasting and linear algebra
    ("add broadcast", lambda: M23 + V4, ValueError, ["add", "(2, 3)", "(4,)"]),
    ("mul broadcast", lambda: V3 * V4, ValueError, ["mul", "(3,)", "(4,)"]),
    ("matmul inner", lambda: M23 @ tg.ones(4, 2), ValueError, ["matmul", "(2, 3)", "(4, 2)"]),
    ("matmul vector", lambda: M23 @ V4, ValueError, ["matmul", "(2, 3)", "(4,)"]),
    ("vector matmul", lambda: V4 @ M23, ValueError, ["matmul", "(4,)", "(2, 3)"]),
    ("matmul batch", lambda: tg.ones(2, 2, 3) @ tg.ones(3, 3, 2), ValueError,
     ["matmul", "(2, 2, 3)", "(3, 3, 2)", "batch"]),
    ("mm inner", lambda: M23.mm(tg.ones(4, 2)), ValueError, ["matmul", "(2, 3)", "(4, 2)"]),
    ("mm not 2-D", lambda: M23.mm(V3), ValueError, ["mm", "2-D", "(2, 3)", "(3,)"]),
    ("mm 3-D", lambda: tg.ones(1, 2, 3).mm(tg.ones(3, 2)), ValueError,
     ["mm", "(1, 2, 3)", "(3, 2)"]),
    ("matmul 0-d", lambda: M23 @ tg.tensor(2.0), ValueError, ["matmul", "(2, 3)", "()"]),
    ("matmul 0-d left", lambda: tg.tensor(2.0).matmul(V3), ValueError, ["matmul", "()", "(3,)"]),
    ("mT of 1-D", lambda: V3.mT, ValueError, ["mT", "(3,)"]),
    # shapes
    ("reshape size", lambda: M23.reshape(4, 2), ValueError, ["reshape", "(2, 3)", "(4, 2)"]),
    ("reshape two -1", lambda: M23.reshape(-1, -1), ValueError, ["reshape", "(2, 3)"]),
    ("expand", lambda: M23.expand(4, 3), ValueError, ["expand", "(2, 3)", "(4, 3)"]),
    ("expand fewer dims", lambda: M23.expand(3), ValueError, ["expand", "(2, 3)", "(3,)"]),
    ("permute repeated", lambda: M23.permute(0, 0), ValueError, ["permute", "(2, 3)"]),
    ("permute too few", lambda: M23.permute(1), ValueError, ["permute", "(2, 3)"]),
    ("permute out of range", lambda: M23.permute(0, 2), ValueError, ["permute", "(2, 3)"]),
    # axes
    ("sum axis", lambda: M23.sum(axis=2), np.exceptions.AxisError, ["sum", "2", "(2, 3)"]),
    ("mean dim", lambda: M23.mean(dim=-3), np.exceptions.AxisError, ["mean", "-3", "(2, 3)"]),
    ("max axis", lambda: M23.max(axis=5), np.exceptions.AxisError, ["max", "(2, 3)"]),
    ("min axis", lambda: M23.min(dim=2), np.exceptions.AxisError, ["min", "(2, 3)"]),
    ("logsumexp axis", lambda: M23.logsumexp(axis=2), np.exceptions.AxisError,
     ["logsumexp", "(2, 3)"]),
    ("softmax axis", lambda: M23.softmax(dim=3), np.exceptions.AxisError, ["3", "(2, 3)"]),
    ("transpose axis", lambda: M23.transpose(0, 3), np.exceptions.AxisError,
     ["transpose", "(2, 3)"]),
    ("squeeze axis", lambda: M23.squeeze(2), np.exceptions.AxisError, ["squeeze", "(2, 3)"]),
    ("unsqueeze dim", lambda: M23.unsqueeze(4), np.exceptions.AxisError,
     ["unsqueeze", "4", "(2, 3)"]),
    ("cat axis", lambda: tg.cat([M23, M23], axis=2), np.exceptions.AxisError, ["cat"]),
    ("axis and dim", lambda: M23.sum(axis=0, dim=1), TypeError, ["sum", "axis", "dim"]),
    ("max axis and dim", lambda: M23.max(axis=0, dim=1), TypeError, ["max", "axis", "dim"]),
    ("repeated axis", lambda: M23.sum(axis=(0, 0)), ValueError, ["sum", "repeated"]),
    ("non-int axis in tuple", lambda: M23.sum(axis=(0, 0.5)), TypeError, ["sum", "0.5"]),
    ("non-int axis", lambda: M23.sum(axis=0.5), TypeError, ["sum", "0.5"]),
    ("mean of empty", lambda: tg.ones(0, 3).mean(axis=0), ValueError, ["mean", "(0, 3)"]),
    ("max of empty", lambda: tg.ones(0, 3).max(), ValueError, ["max", "(0, 3)"]),
    ("min of empty", lambda: tg.ones(0).min(), ValueError, ["min", "(0,)"]),
    # making tensors
    ("tensor from str", lambda: tg.tensor("1.0"), TypeError, ["tensor()", "str"]),
    ("tensor from bytes", lambda: tg.tensor(b"1"), TypeError, ["tensor()", "bytes"]),
    ("tensor from list of str", lambda: tg.tensor(["1", "2"]), TypeError, ["tensor()"]),
    ("tensor ragged", lambda: tg.tensor([[1.0, 2.0], [3.0]]), ValueError,
     ["tensor()", "ragged"]),
    ("tensor None", lambda: tg.tensor(None), TypeError, ["tensor()", "None"]),
    ("tensor with None inside", lambda: tg.tensor([1.0, None]), TypeError,
     ["tensor()", "object"]),
    ("tensor complex", lambda: tg.tensor([1 + 2j]), TypeError, ["tensor()", "complex"]),
    ("tensor object", lambda: tg.tensor(object()), TypeError, ["tensor()", "object"]),
    ("tensor datetime", lambda: tg.tensor(np.array(["2024-01-01"], dtype="datetime64[D]")),
     TypeError, ["tensor()", "datetime64"]),
    ("tensor int32 requires grad", lambda: tg.tensor([1], dtype=np.int32, requires_grad=True),
     RuntimeError, ["floating point", "int32"]),
    ("tensor float16 dtype", lambda: tg.tensor([1.0], dtype=np.float16), TypeError,
     ["tensor()", "float16"]),
    ("tensor bad dtype", lambda: tg.tensor([1.0], dtype="banana"), TypeError,
     ["tensor()", "banana"]),
    ("astype complex", lambda: V3.astype(np.complex128), TypeError, ["astype", "complex128"]),
    ("zeros float16", lambda: tg.zeros(2, dtype=np.float16), TypeError, ["zeros", "float16"]),
    ("rand negative size", lambda: tg.rand(-1), ValueError, ["rand", "-1"]),
    ("ones float size", lambda: tg.ones(2.5), ValueError, ["ones", "2.5"]),
    ("arange step 0", lambda: tg.arange(0, 3, 0), ValueError, ["arange", "step"]),
    ("linspace steps", lambda: tg.linspace(0, 1, 2.5), ValueError, ["linspace", "2.5"]),
    ("from_numpy list", lambda: tg.from_numpy([1.0]), TypeError, ["from_numpy", "list"]),
    ("from_numpy complex", lambda: tg.from_numpy(np.ones(2, dtype=complex)), TypeError,
     ["from_numpy", "complex128"]),
    # operands
    ("tensor + str", lambda: V3 + "a", TypeError, ["+", "Tensor", "str"]),
    ("None - tensor", lambda: None - V3, TypeError, ["-", "Tensor"]),
    ("tensor * list", lambda: V3 * [1.0, 2.0, 3.0], TypeError, ["Tensor"]),
    ("tensor @ str", lambda: V3 @ "a", TypeError, ["@", "Tensor", "str"]),
    ("tensor + complex", lambda: V3 + 1j, TypeError, ["+", "Tensor", "complex"]),
    ("tensor + str array", lambda: V3 + np.array(["a"]), TypeError, ["Tensor"]),
    ("matmul str", lambda: M23.matmul("a"), TypeError, ["matmul"]),
    ("mm str", lambda: M23.mm("a"), TypeError, ["mm", "str"]),
    ("where str", lambda: tg.where([True], "a", V3), TypeError, ["where"]),
    ("maximum str", lambda: tg.maximum(V3, "a"), TypeError, ["maximum"]),
    ("compare broadcast", lambda: V3 < V4, ValueError, ["less", "(3,)", "(4,)"]),
    # indexing and conversion
    ("float index", lambda: V3[1.5], IndexError, ["index", "(3,)"]),
    ("float index array", lambda: V3[np.array([0.5, 1.0])], IndexError, ["index", "0.5"]),
    ("float index list", lambda: V3[[0.0, 1.5]], IndexError, ["index", "1.5"]),
    ("float index tensor", lambda: V3[tg.tensor([0.25])], IndexError, ["index", "0.25"]),
    ("nan index", lambda: V3[np.array([np.nan])], IndexError, ["index", "nan"]),
    ("index out of range", lambda: V3[5], IndexError, ["index", "5", "(3,)"]),
    ("index array out of range", lambda: M23[[0, 7]], IndexError, ["index", "7", "(2, 3)"]),
    ("index second axis", lambda: M23[0, 3], IndexError, ["index", "3", "(2, 3)"]),
    ("too many indices", lambda: V3[0, 0], IndexError, ["index", "(3,)"]),
    ("item multi", lambda: V3.item(), ValueError, ["item()", "(3,)"]),
    ("float multi", lambda: float(V3), ValueError, ["(3,)"]),
    ("bool multi", lambda: bool(M23), ValueError, ["truth value", "(2, 3)"]),
    ("if multi", lambda: 1 if V3 else 0, ValueError, ["truth value", "(3,)"]),
    ("len 0-d", lambda: len(tg.tensor(1.0)), TypeError, ["len()", "0-d"]),
    # functions of several tensors
    ("cat shapes", lambda: tg.cat([M23, tg.ones(2, 4)]), ValueError,
     ["cat", "(2, 3)", "(2, 4)"]),
    ("cat ndim", lambda: tg.cat([M23, V3]), ValueError, ["cat", "(2, 3)", "(3,)"]),
    ("cat empty", lambda: tg.cat([]), ValueError, ["cat"]),
    ("cat 0-d", lambda: tg.cat([tg.tensor(1.0), tg.tensor(2.0)]), ValueError, ["cat", "stack"]),
    ("stack shapes", lambda: tg.stack([V3, V4]), ValueError, ["stack", "(3,)", "(4,)"]),
    ("stack empty", lambda: tg.stack([]), ValueError, ["stack"]),
    ("where shapes", lambda: tg.where(np.ones(2, dtype=bool), V3, V3), ValueError,
     ["where", "(2,)", "(3,)"]),
    ("where a vs b", lambda: tg.where(True, V3, V4), ValueError, ["where", "(3,)", "(4,)"]),
    ("maximum shapes", lambda: tg.maximum(V3, V4), ValueError, ["maximum", "(3,)", "(4,)"]),
    ("clip no bounds", lambda: V3.clip(), ValueError, ["clip", "min", "max"]),
    ("clamp no bounds", lambda: tg.clamp(V3), ValueError, ["clip"]),
    # the ops table itself
    ("rule without g", lambda: Rule("d f/da", lambda a: a), TypeError, ["d f/da", "g"]),
]


@pytest.mark.parametrize("call, exc_type, parts", [case(*row) for row in CASES])
def test_error_type_and_message(call, exc_type, parts):
    """The call raises exactly exc_type, and the message names the op and the shapes."""
    has(message(exc_type, call), *parts)


# --- backward ---------------------------------------------------------------------------


def test_backward_on_non_scalar_without_gradient_names_the_shape():
    """A (2, 3) output needs gradient=; the message says so and shows the shape."""
    y = leaf(np.ones((2, 3))) * 2
    has(message(RuntimeError, y.backward), "backward()", "(2, 3)", "gradient=")


def test_backward_with_wrong_shaped_gradient():
    """gradient= must have the output's shape: ValueError naming both shapes."""
    y = leaf([1.0, 2.0, 3.0]) * 2
    has(message(ValueError, lambda: y.backward(gradient=tg.ones(2))),
        "backward()", "(2,)", "(3,)")


def test_backward_on_tensor_that_does_not_require_grad():
    """Nothing to differentiate: RuntimeError mentioning requires_grad and the shape."""
    y = tg.ones(2).sum()
    has(message(RuntimeError, y.backward), "backward()", "requires_grad", "()")


def test_backward_on_loss_computed_under_no_grad():
    """A loss computed under no_grad cannot be differentiated; the message hints at it."""
    w = leaf([1.0])
    with tg.no_grad():
        loss = (w * w).sum()
    has(message(RuntimeError, loss.backward), "no_grad")


def test_second_backward_through_freed_graph():
    """RuntimeError naming the node and telling to pass retain_graph=True."""
    a = leaf([1.0, 2.0])
    loss = (a * a).sum()
    loss.backward()
    has(message(RuntimeError, loss.backward), "SumBackward", "second time", "retain_graph")


def test_backward_through_freed_inner_node():
    """A new output built on a freed graph fails at the first freed node it reaches."""
    a = leaf([1.0, 2.0])
    h = a * a
    h.sum().backward()
    has(message(RuntimeError, (h + 1).sum().backward), "MulBackward", "retain_graph")


# --- in-place ---------------------------------------------------------------------------


@pytest.mark.parametrize("update", [
    lambda w: w.__iadd__(1.0),
    lambda w: w.__isub__(1.0),
    lambda w: w.__imul__(2.0),
    lambda w: w.__itruediv__(2.0),
    lambda w: w.zero_(),
], ids=["+=", "-=", "*=", "/=", "zero_()"])
def test_inplace_on_leaf_requiring_grad(update):
    """With grad on, changing a trainable leaf in place says to use no_grad."""
    w = leaf(np.ones((2, 2)))
    has(message(RuntimeError, lambda: update(w)), "leaf", "(2, 2)", "no_grad")


def test_inplace_that_would_change_the_shape_recorded():
    """c += x where c + x is larger than c: ValueError naming both shapes."""
    c = leaf([1.0, 2.0, 3.0]) * 2

    def update():
        nonlocal c
        c += tg.ones(2, 3)

    has(message(ValueError, update), "+=", "(2, 3)", "(3,)", "shape")


def test_inplace_that_would_change_the_shape_unrecorded():
    """The same under no_grad / on a plain tensor: ValueError naming both shapes."""
    t = tg.ones(3)

    def update():
        nonlocal t
        t *= tg.ones(2, 3)

    has(message(ValueError, update), "*=", "(2, 3)", "(3,)", "shape")


def test_inplace_with_unsupported_operand():
    """t += 'a' is a TypeError naming the operator and the operand's type."""
    t = tg.ones(3)
    has(message(TypeError, lambda: t.__iadd__("a")), "+=", "str")


def test_recorded_inplace_on_a_view_of_a_leaf():
    """Changing a view of a leaf that requires grad, while recording, is refused
    (RuntimeError, as PyTorch), naming the op, the view and the fix."""
    x = leaf([1.0, 2.0])
    has(message(RuntimeError, lambda: x[:1].__iadd__(1.0)), "+=", "view of a leaf",
        "no_grad")


def test_inplace_on_expanded_view_is_refused():
    """An expand() result is a read-only broadcast: += says read-only and names shapes."""
    e = tg.ones(3, 1).expand(3, 3)
    with tg.no_grad():
        msg = message(ValueError, lambda: e.__iadd__(1.0))
    has(msg, "+=", "(3, 3)", "read-only")


def test_inplace_on_expanded_view_does_not_blame_the_shape():
    """The read-only error does not claim a shape change that did not happen."""
    e = tg.ones(3, 1).expand(3, 3)
    with tg.no_grad():
        msg = message(ValueError, lambda: e.__iadd__(1.0))
    assert "cannot change the shape" not in msg


def test_zero_on_expanded_view_names_op_and_shape():
    """zero_() on a read-only view: ValueError naming zero_() and the shape."""
    e = tg.ones(3, 1).expand(3, 3)
    with tg.no_grad():
        msg = message(ValueError, e.zero_)
    has(msg, "zero_", "(3, 3)")


def test_item_assignment_into_tensor_requiring_grad():
    """x[0] = 1 on a tensor that requires grad (grad on) is refused, pointing to no_grad."""
    x = leaf([1.0, 2.0, 3.0])

    def assign():
        x[0] = 5.0

    has(message(RuntimeError, assign), "(3,)", "no_grad")


def test_item_assignment_of_wrong_shape():
    """t[0] = two values: ValueError naming the tensor's shape."""
    t = tg.ones(3)

    def assign():
        t[0] = tg.ones(2)

    has(message(ValueError, assign), "item assignment", "(3,)")


def test_requires_grad_false_on_non_leaf():
    """requires_grad_(False) on an op result is refused, naming its node and detach()."""
    y = leaf([1.0]) * 2
    has(message(RuntimeError, lambda: y.requires_grad_(False)), "MulBackward", "detach")


# --- version counter --------------------------------------------------------------------


def test_version_counter_error_names_the_op_and_shape():
    """y = w * x; w changed in place under no_grad; backward names MulBackward and (2,)."""
    w, x = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    y = (w * x).sum()
    with tg.no_grad():
        w -= 1
    has(message(RuntimeError, y.backward), "MulBackward", "(2,)", "in-place", "version")


def test_version_counter_error_for_a_saved_result():
    """exp saves its result: e += 1 then backward names ExpBackward and 'result'."""
    e = leaf([0.0, 1.0]).exp()
    e += 1
    has(message(RuntimeError, e.sum().backward), "ExpBackward", "result", "(2,)")


def test_version_counter_error_through_grad():
    """autograd.grad checks versions too."""
    w = leaf([1.0, 2.0])
    y = (w * w).sum()
    with tg.no_grad():
        w *= 3
    has(message(RuntimeError, lambda: grad(y, w)), "MulBackward", "(2,)")


# --- autograd.grad ----------------------------------------------------------------------


def test_grad_input_that_does_not_require_grad():
    """grad() w.r.t. a constant: RuntimeError naming which input and its shape."""
    x = leaf([1.0, 2.0])
    const = tg.ones(2)
    has(message(RuntimeError, lambda: grad((x * const).sum(), [x, const])),
        "grad", "input 1", "(2,)", "requires_grad")


def test_grad_unused_input_without_allow_unused():
    """An unused input is an error unless allow_unused=True; the message says so."""
    x, unused = leaf([1.0]), leaf([1.0, 2.0, 3.0])
    has(message(RuntimeError, lambda: grad((x * 2).sum(), [x, unused])),
        "grad", "input 1", "(3,)", "allow_unused")


def test_grad_non_scalar_output_without_grad_outputs():
    """grad() of a (2,) output needs grad_outputs: RuntimeError naming the shape."""
    x = leaf([1.0, 2.0])
    has(message(RuntimeError, lambda: grad(x * 2, x)), "grad", "(2,)")


def test_grad_outputs_count_mismatch():
    """One output but two grad_outputs: ValueError with both counts."""
    x = leaf([1.0])
    has(message(ValueError, lambda: grad([(x * 2).sum()], [x], grad_outputs=[None, None])),
        "grad", "1 outputs", "2 grad_outputs")


def test_grad_with_non_tensor_input():
    """grad() inputs must be Tensors: TypeError naming the type."""
    x = leaf([1.0])
    has(message(TypeError, lambda: grad((x * 2).sum(), [x, 3.0])), "grad", "float")


# --- detect_anomaly ----------------------------------------------------------------------


def test_anomaly_in_forward_names_op_and_shape():
    """Under detect_anomaly, log(0) raises AnomalyError naming log, the shape and this file."""
    x = leaf([1.0, 0.0])
    with tg.detect_anomaly(), np.errstate(divide="ignore"):
        msg = message(tg.AnomalyError, x.log)
    has(msg, "log", "inf", "(2,)", "forward", "test_errors.py")


def test_anomaly_in_backward_names_node_and_rule():
    """Under detect_anomaly, sqrt'(0) = inf raises AnomalyError naming SqrtBackward."""
    x = leaf([4.0, 0.0])
    with tg.detect_anomaly(), np.errstate(divide="ignore"):
        y = x.sqrt().sum()
        msg = message(tg.AnomalyError, y.backward)
    has(msg, "SqrtBackward", "(2,)", "backward", "test_errors.py")
