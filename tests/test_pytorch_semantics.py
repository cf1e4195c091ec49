"""Regression tests for the classes of results where the engine once disagreed with
PyTorch (found by the differential fuzzer, tests/test_fuzz_vs_torch.py). The expected
values are PyTorch's, written out, so these run without PyTorch installed.
"""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu.autograd import grad


def leaf(values):
    return tg.tensor(values, requires_grad=True)


# --- 1. a view op that changes nothing still makes a new tensor ---------------------------

IDENTITY_VIEWS = {
    "permute(0, 1)": lambda x: x.permute(0, 1),
    "transpose(1, 1)": lambda x: x.transpose(1, 1),
    "squeeze(0) of a dim of size 2": lambda x: x.squeeze(0),
    "reshape to the same shape": lambda x: x.reshape(2, 3),
    "view to the same shape": lambda x: x.view(2, 3),
    "expand to the same shape": lambda x: x.expand(2, 3),
    "flatten of a 2-D tensor": lambda x: x.flatten(),
    "T of a 1-D row": lambda x: x[0].T,
}


@pytest.mark.parametrize("make", IDENTITY_VIEWS.values(), ids=IDENTITY_VIEWS.keys())
def test_identity_view_is_a_new_non_leaf_tensor(make):
    x = leaf(np.arange(6.0).reshape(2, 3))
    v = make(x)
    assert v is not x
    assert not v.is_leaf and v.requires_grad and v.grad_fn is not None
    loss = (x * 2).sum()  # does not use v
    with pytest.raises(RuntimeError, match="not used"):
        grad(loss, [v], retain_graph=True)
    assert grad(loss, [v], allow_unused=True) == (None,)


def test_identity_view_passes_the_gradient_through():
    x = leaf([[1.0, 2.0], [3.0, 4.0]])
    (x.permute(0, 1) * x.reshape(2, 2)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), 2 * x.numpy())


def test_casts_to_the_same_dtype_return_the_tensor_itself_as_pytorch():
    x = leaf([1.0, 2.0])
    assert x.double() is x and x.astype(np.float64) is x and x.flatten() is x


def test_a_view_made_under_no_grad_requires_grad_but_leads_nowhere():
    """PyTorch's rule: such a view has requires_grad=True, no grad_fn, and gradients
    that reach it are dropped (neither it nor its base gets a .grad)."""
    x = leaf([1.0, 2.0, 3.0])
    with tg.no_grad():
        v = x.unsqueeze(-1)
    assert v.requires_grad and v.is_leaf
    y = (v * 2).sum()
    assert y.requires_grad
    y.backward()
    assert x.grad is None and v.grad is None


# --- 2. squeeze with a tuple of dims ----------------------------------------------------

@pytest.mark.parametrize("shape, dims, expected", [
    ((1, 1, 2), (0, 1), (2,)),
    ((1, 3, 1), (0, 2), (3,)),
    ((1, 2, 1), (0, 1), (2, 1)),  # dims that are not 1 are kept
    ((1, 2, 1), (-1,), (1, 2)),
    ((1, 2, 1), 1, (1, 2, 1)),
    ((1, 2, 1), None, (2,)),
])
def test_squeeze_dims(shape, dims, expected):
    assert tg.zeros(shape).squeeze(dims).shape == expected


# --- 3. in-place ops through views ------------------------------------------------------

def test_inplace_on_a_matmul_result_with_a_1d_operand():
    a, v = leaf([[1.0, 2.0], [3.0, 4.0]]), leaf([1.0, -1.0])
    y = a @ v
    y += 0.25
    assert y.grad_fn.name() == "AddBackward"  # no view in between, as in PyTorch
    (y * y).sum().backward()
    np.testing.assert_allclose(y.numpy(), [-0.75, -0.75])
    np.testing.assert_allclose(a.grad.numpy(), [[-1.5, 1.5], [-1.5, 1.5]])
    np.testing.assert_allclose(v.grad.numpy(), [-6.0, -9.0])


def test_inplace_on_a_logsumexp_result():
    x = leaf([[0.0, 0.0], [1.0, 1.0]])
    y = x.logsumexp(dim=1)
    y *= 2.0
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.full((2, 2), 1.0))


def test_inplace_through_a_view_updates_the_base_and_its_other_views():
    # PyTorch: c's grad_fn becomes CopySlices; w (made before) follows the new history
    b = leaf(np.zeros((3, 4)))
    c = b * 1
    v = c[0]
    w = c.view(12)
    v.mul_(2)
    assert c.grad_fn.name() == "PutBackward"
    (w * tg.arange(12.0)).sum().backward()
    np.testing.assert_array_equal(b.grad.numpy(), [[0, 2, 4, 6], [4, 5, 6, 7], [8, 9, 10, 11]])


def test_inplace_through_setitem_of_a_view():
    x, y = leaf([1.0, 2.0, 3.0]), leaf(10.0)
    base = x * 1
    base[0] += y  # Python: t = base[0]; t += y; base[0] = t
    np.testing.assert_array_equal(base.numpy(), [11.0, 2.0, 3.0])
    (base * tg.tensor([1.0, 2.0, 3.0])).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 2.0, 3.0])
    assert y.grad.item() == 1.0


def test_setitem_into_a_non_leaf_records_put():
    x, v = leaf([1.0, 2.0, 3.0, 4.0]), leaf([5.0, 6.0])
    c = x * 1
    c[1:3] = v * 2
    (c * tg.tensor([1.0, 10.0, 100.0, 1000.0])).sum().backward()
    np.testing.assert_array_equal(c.numpy(), [1.0, 10.0, 12.0, 4.0])
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 0.0, 0.0, 1000.0])
    np.testing.assert_array_equal(v.grad.numpy(), [20.0, 200.0])


def test_setitem_of_a_tensor_that_requires_grad_into_a_constant():
    w = leaf([2.0])
    c = tg.zeros(3)
    c[1] = w
    assert not c.is_leaf and c.requires_grad
    (c * tg.tensor([1.0, 5.0, 1.0])).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [5.0])


def test_inplace_on_a_base_refreshes_its_views():
    x = leaf([1.0, 2.0])
    c = x * 1
    v = c[:1]
    c.mul_(3)  # v's values change too; its gradient must flow through the mul
    v.sum().backward()
    np.testing.assert_array_equal(v.numpy(), [3.0])
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 0.0])


def test_refusals_are_those_pytorch_makes():
    x = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match="view of a leaf"):
        x[0].mul_(2)
    with tg.no_grad():
        v = (x * 1)[0]
    with pytest.raises(RuntimeError, match="no_grad"):
        v.mul_(x[1])


# --- 4. and 5. pow at base 0 --------------------------------------------------------------

@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_pow_exponent_gradient_at_base_zero():
    a, b = leaf([[0.0]]), leaf([0.6, -2.0, -4.1, 0.0])
    (a ** b).sum().backward()
    np.testing.assert_array_equal(b.grad.numpy(), [0.0, -np.inf, -np.inf, 0.0])


def test_derivative_of_x_to_the_zero_at_zero():
    x = leaf(0.0)
    (g,) = grad(x ** 0, x)
    assert g.item() == 0.0


def test_third_derivative_of_x_squared_at_zero():
    x = leaf(0.0)
    (g1,) = grad(x ** 2, x, create_graph=True)
    (g2,) = grad(g1, x, create_graph=True)
    (g3,) = grad(g2, x, allow_unused=True)
    assert g2.item() == 2.0 and g3.item() == 0.0


# --- 6. gates select, they do not multiply -------------------------------------------------

GATES = {  # op, PyTorch's x.grad for x = [-1, 0, 2] and an upstream 1/(y - y)
    "relu": (lambda x: x.relu(), [0.0, 0.0, np.nan]),
    "clamp": (lambda x: x.clamp(-0.5, 1.0), [0.0, np.nan, 0.0]),
    "clamp min only": (lambda x: x.clamp(min=0.5), [0.0, 0.0, np.nan]),
    "maximum": (lambda x: tg.maximum(x, tg.zeros(3)), [0.0, np.nan, np.nan]),
    "minimum": (lambda x: tg.minimum(x, tg.zeros(3)), [np.nan, np.nan, 0.0]),
    "max()": (lambda x: x.max().expand(3), [0.0, 0.0, np.nan]),
    "where": (lambda x: tg.where(x > 0, x, 0.0), [0.0, 0.0, np.nan]),
}


@pytest.mark.parametrize("op, expected", GATES.values(), ids=GATES.keys())
def test_gates_keep_nan_where_the_op_did_not_pass(op, expected):
    x = leaf([-1.0, 0.0, 2.0])
    y = op(x)
    with np.errstate(divide="ignore", invalid="ignore"):
        (1 / (y - y)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), expected)


def test_amax_over_a_dim_selects_too_a_deliberate_difference():
    """PyTorch's amax multiplies by the mask (NaN everywhere); the engine selects."""
    x = leaf([[-1.0, 0.0, 2.0]])
    y = x.amax(dim=1, keepdim=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        (1 / (y - y)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[0.0, 0.0, np.nan]])


# --- errors name what the user called ---------------------------------------------------------

@pytest.mark.parametrize("call, name", [
    (lambda: tg.minimum(tg.ones(2), tg.ones(3)), "minimum:"),
    (lambda: tg.ones(2, 3).softmax(5), "softmax:"),
    (lambda: tg.ones(2, 3).log_softmax(dim=-3), "log_softmax:"),
    (lambda: tg.stack([tg.ones(2)], dim=4), "stack:"),
])
def test_errors_name_the_function_the_user_called(call, name):
    with pytest.raises((ValueError, IndexError)) as info:
        call()
    assert str(info.value).startswith(name)


def test_grad_with_respect_to_an_intermediate_runs_no_rule_below_it():
    """grad(loss, [y]) needs only the rules above y: a value below y that was changed
    in place (which y's own rule would need) is no reason to refuse, as in PyTorch."""
    a, b = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    c = b * 1
    y = a * c  # mul saves c for a's gradient
    c += 1  # ... which is now stale, but grad(loss, [y]) never calls that rule
    loss = (y * 2).sum()
    (gy,) = grad(loss, [y])
    np.testing.assert_array_equal(gy.numpy(), [2.0, 2.0])


# --- found by the fuzzer later: what arrives from above may be inf or NaN ----------------

@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_pow_with_exponent_zero_sends_zero_whatever_arrives():
    x = leaf([2.0, 0.0])
    (x ** 0.0).backward(tg.tensor([np.inf, np.inf]))
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0])


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_pow_exponent_gradient_at_base_zero_multiplies_what_arrives():
    b = leaf([0.5])
    (tg.tensor([0.0]) ** b).backward(tg.tensor([np.inf]))
    assert np.isnan(b.grad.item())  # inf * 0, as PyTorch


def test_relu_passes_the_gradient_at_nan():
    x = leaf([np.nan, -1.0, 2.0])
    x.relu().sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 0.0, 1.0])


def test_a_view_gets_a_new_history_after_an_unrecorded_change():
    x = leaf([1.0, 2.0])
    v = x.view(2)
    a = v * 2.0
    with tg.no_grad():
        v.mul_(3.0)
    (gv,) = grad(a.sum() + v.sum(), [v])
    np.testing.assert_array_equal(gv.numpy(), [1.0, 1.0])  # only the use after the change


# --- the deliberate differences the README lists ----------------------------------------

def test_float32_with_a_float64_0d_tensor_promotes_as_numpy():
    """PyTorch keeps float32 here (a 0-d tensor does not take part in promotion)."""
    a = tg.tensor(np.ones(2, dtype=np.float32))
    assert (a + tg.tensor(2.0)).dtype == np.float64
    assert (a + 2.0).dtype == np.float32  # a Python number keeps the tensor's dtype (both)


def test_ties_max_of_a_dim_sends_to_its_index_amax_splits():
    """As PyTorch: max(dim) returns (values, indices) and the gradient goes to the first
    index of a tie; amax (and max over everything) splits it evenly."""
    x = leaf([[1.0, 1.0, 0.0]])
    values, indices = x.max(dim=1)
    assert indices.tolist() == [0] and indices.dtype == np.int64
    values.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[1.0, 0.0, 0.0]])
    x.grad = None
    x.amax(dim=1).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[0.5, 0.5, 0.0]])


def test_softmax_of_a_row_with_inf_is_nan_as_pytorch():
    with np.errstate(invalid="ignore"):
        out = tg.tensor([1.0, np.inf, 2.0]).log_softmax(dim=0)
        assert np.isnan(out.numpy()).all()
        assert np.isnan(tg.tensor([-np.inf, -np.inf]).softmax(dim=0).numpy()).all()
    assert tg.tensor([1.0, np.inf]).logsumexp(dim=0).item() == np.inf  # logsumexp: inf


# --- dtypes: PyTorch's data model -----------------------------------------------------

def test_int_and_bool_tensors_and_promotion():
    i = tg.tensor([1, 2, 3])
    assert i.dtype == tg.long and tg.tensor([True]).dtype == tg.bool
    assert (i + 1).dtype == tg.long and (i + 0.5).dtype == tg.float64
    assert (i * tg.ones(3, dtype=tg.float32)).dtype == tg.float32  # NumPy would say float64
    assert (i / 2).dtype == tg.float64 and (i > 1).dtype == tg.bool
    with pytest.raises(RuntimeError, match="floating point"):
        tg.tensor([1, 2], requires_grad=True)
    with pytest.raises(TypeError, match="mean"):
        i.mean()
    assert i.float().mean().item() == 2.0


def test_elementwise_equality_and_logic():
    a, b = tg.tensor([1.0, 2.0, 3.0]), tg.tensor([1.0, 0.0, 3.0])
    assert (a == b).tolist() == [True, False, True] and (a != b).tolist() == [False, True, False]
    assert ((a > 1) & (b > 1)).tolist() == [False, False, True]
    assert (~(a > 1)).tolist() == [True, False, False]
    assert (a == b).any().item() and not (a == b).all().item()
    assert a.equal(a * 1) and not a.equal(b) and a.allclose(a + 1e-9)
    assert len({a, b}) == 2 and (a == None) is False  # noqa: E711 - hashing by identity
    with pytest.raises(TypeError, match="boolean or integer"):
        a & b


def test_argmax_and_max_over_a_dim_give_int64_tensors():
    logits = tg.tensor([[0.1, 0.9], [0.8, 0.2]])
    _, pred = logits.max(1)
    assert pred.tolist() == [1, 0] and pred.dtype == tg.long
    assert logits.argmax(dim=1).tolist() == [1, 0] and logits.argmax().item() == 1
    assert (pred == tg.tensor([1, 1])).float().mean().item() == 0.5
    assert int(tg.tensor(3)) == 3 and [10, 20, 30][tg.tensor(1)] == 20


def test_legacy_constructors_and_default_dtype():
    assert tg.Tensor(2, 3).shape == (2, 3) and tg.Tensor([1, 2]).dtype == tg.float64
    assert tg.LongTensor([1, 2]).dtype == tg.long and tg.FloatTensor(3).dtype == tg.float32
    try:
        tg.set_default_dtype(tg.float32)
        assert tg.tensor([1.5]).dtype == tg.float32 and tg.get_default_dtype() == tg.float32
    finally:
        tg.set_default_dtype(tg.float64)


# --- the in-place family ----------------------------------------------------------------

def test_inplace_family_values_and_gradients():
    x = leaf([1.0, 2.0, 3.0])
    c = x * 1
    c.add_(tg.tensor([1.0, 1.0, 1.0]), alpha=2).clamp_(max=4.0)
    c.masked_fill_(tg.tensor([False, False, True]), 0.5)
    np.testing.assert_array_equal(c.numpy(), [3.0, 4.0, 0.5])
    (c * c).sum().backward()  # 2c where passed (clamp includes its bound), 0 where filled
    np.testing.assert_array_equal(x.grad.numpy(), [6.0, 8.0, 0.0])
    v = leaf(2.0)
    d = tg.zeros(3)
    d.fill_(v)
    d.sum().backward()
    assert v.grad.item() == 3.0
    src = leaf([5.0, 6.0])
    e = tg.zeros(2)
    e.copy_(src * 2)
    e.sum().backward()
    np.testing.assert_array_equal(src.grad.numpy(), [2.0, 2.0])


def test_inplace_random_fills_are_seeded():
    a, b = tg.zeros(4), tg.zeros(4)
    a.normal_(generator=tg.Generator().manual_seed(3))
    b.normal_(generator=tg.Generator().manual_seed(3))
    assert a.equal(b) and not a.equal(tg.zeros(4))
    u = tg.zeros(1000).uniform_(2.0, 3.0)
    assert u.numpy().min() >= 2.0 and u.numpy().max() < 3.0
    assert (tg.tensor([1.0, 2.0]).sub(tg.tensor([1.0, 1.0]), alpha=2)).tolist() == [-1.0, 0.0]


def test_data_is_a_tensor_sharing_memory_that_autograd_does_not_watch():
    w = leaf([1.0, 2.0])
    (w * w).sum().backward()
    w.data -= 0.5 * w.grad  # PyTorch's classic update
    np.testing.assert_array_equal(w.numpy(), [0.0, 0.0])
    assert isinstance(w.data, tg.Tensor) and not w.data.requires_grad and w.is_leaf
    w.grad.data.zero_()
    assert w.grad.tolist() == [0.0, 0.0]
    loss = (w * 3).sum()
    assert loss.data.item() == 0.0
    y = w * w  # saves w ...
    w.data += 1  # ... changed through .data: not seen, as in PyTorch
    y.sum().backward()
    w.data = tg.tensor([5.0, 6.0, 7.0])
    assert w.shape == (3,)


def test_every_function_form_is_a_tensor_method():
    """The one list of function forms: each name must be a method, and the function
    must give what the method gives."""
    missing = [name for name in tg.FUNCTION_FORMS if not hasattr(tg.Tensor, name)]
    assert not missing
    x = tg.tensor([[1.0, -2.0], [3.0, 0.5]])
    assert tg.sum(x, dim=1).tolist() == x.sum(dim=1).tolist()
    assert tg.clamp(input=x, min=0.0).tolist() == x.clamp(min=0.0).tolist()
    assert tg.mul(x, other=2.0).tolist() == (x * 2.0).tolist()


def test_descending_sort_of_unsigned_and_boolean_tensors():
    """Negating uint8 wraps around and bool cannot be negated: sorted as int64 keys."""
    values, indices = tg.tensor([3, 1, 2], dtype=tg.uint8).sort(descending=True)
    assert values.tolist() == [3, 2, 1] and indices.tolist() == [0, 2, 1]
    assert tg.tensor([False, True, True]).sort(descending=True).indices.tolist() == [1, 2, 0]


def test_grad_assignment_is_checked():
    x = leaf([1.0, 2.0])
    x.grad = tg.ones(2)
    with pytest.raises(RuntimeError, match="shape"):
        x.grad = tg.ones(3)
    with pytest.raises(TypeError, match="Tensor or None"):
        x.grad = [1.0, 2.0]


def test_new_tensors_like_this_one_and_cpu_only_devices():
    x = tg.tensor([1.0, 2.0], dtype=tg.float32)
    assert x.new_zeros(2, 3).shape == (2, 3) and x.new_zeros((2,)).dtype == tg.float32
    assert x.new_full((2,), 7.0).tolist() == [7.0, 7.0] and x.new_tensor([1, 2]).dtype == tg.float32
    assert x.new_ones(1, dtype=tg.int64).dtype == tg.int64 and x.contiguous() is x
    assert not x.is_cuda
    with pytest.raises(RuntimeError, match="cuda"):
        x.cuda()


def test_module_to_converts_parameters_in_place():
    model = tg.nn.Linear(2, 3)
    weight = model.weight
    assert model.to("cpu").float() is model
    assert model.weight is weight and weight.dtype == tg.float32
    model.double()
    assert weight.dtype == tg.float64
    with pytest.raises(RuntimeError, match="cuda"):
        model.to("cuda")
