"""PyTorch's data model, compared with PyTorch itself (skipped without it): dtypes and
their promotion, comparisons and logic, values-and-indices reductions, the in-place
family, ``.data``, and the function forms."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import tinygrad_edu as tg

torch = pytest.importorskip("torch")

DTYPES = {  # ours, PyTorch's
    "float32": (tg.float32, torch.float32),
    "float64": (tg.float64, torch.float64),
    "int64": (tg.int64, torch.int64),
    "int32": (tg.int32, torch.int32),
    "uint8": (tg.uint8, torch.uint8),
    "bool": (tg.bool, torch.bool),
}


@pytest.fixture(autouse=True)
def same_default_dtype():
    """PyTorch's default float dtype is float32, ours float64: compare with the same."""
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(before)


def name(dtype) -> str:
    return str(dtype).replace("torch.", "") if isinstance(dtype, torch.dtype) else \
        np.dtype(dtype).name


VALUES = {"float32": [1.5, -2.0], "float64": [1.5, -2.0], "int64": [3, -1],
          "int32": [3, -1], "uint8": [3, 1], "bool": [True, False]}


@pytest.mark.parametrize("a, b", list(itertools.product(DTYPES, repeat=2)))
@pytest.mark.parametrize("op", ["add", "mul", "div", "eq", "lt"])
def test_promotion_table_of_two_tensors(a, b, op):
    """The result dtype of tensor (op) tensor, for every pair of dtypes. The one
    deliberate difference (float32 with float64 gives float64 in both libraries when
    neither is 0-d) is covered, as these tensors are 1-D."""
    ta = tg.tensor(VALUES[a], dtype=DTYPES[a][0])
    tb = tg.tensor(VALUES[b], dtype=DTYPES[b][0])
    pa = torch.tensor(VALUES[a], dtype=DTYPES[a][1])
    pb = torch.tensor(VALUES[b], dtype=DTYPES[b][1])
    if op in ("add", "mul") and a == b == "bool":
        pass  # both libraries give bool (logical or / and)
    try:
        expected = getattr(torch, op)(pa, pb)
    except RuntimeError:
        pytest.skip("PyTorch refuses this pair")
    ours = getattr(tg, op)(ta, tb)
    assert name(ours.dtype) == name(expected.dtype)
    np.testing.assert_allclose(ours.numpy().astype(np.float64),
                               expected.numpy().astype(np.float64))


@pytest.mark.parametrize("a", list(DTYPES))
@pytest.mark.parametrize("number", [2, 2.5, True])
def test_promotion_with_python_numbers(a, number):
    ta = tg.tensor(VALUES[a], dtype=DTYPES[a][0])
    pa = torch.tensor(VALUES[a], dtype=DTYPES[a][1])
    for op in ("__add__", "__mul__", "__truediv__", "__radd__"):
        expected = getattr(pa, op)(number)
        ours = getattr(ta, op)(number)
        assert name(ours.dtype) == name(expected.dtype), op
        np.testing.assert_allclose(ours.numpy().astype(np.float64),
                                   expected.numpy().astype(np.float64))


@pytest.mark.parametrize("data", [[1, 2, 3], [1.5, 2.0], [True, False], [[1, 2], [3, 4]], 7,
                                  2.5, np.arange(3, dtype=np.int32), np.ones(2, np.float32)])
def test_tensor_keeps_the_dtype_pytorch_gives(data):
    assert name(tg.tensor(data).dtype) == name(torch.tensor(data).dtype)
    assert name(tg.as_tensor(data).dtype) == name(torch.as_tensor(data).dtype)


def test_legacy_constructors_and_conversions():
    assert name(tg.Tensor([1, 2]).dtype) == name(torch.Tensor([1, 2]).dtype)
    assert tg.Tensor(2, 3).shape == tuple(torch.Tensor(2, 3).shape)
    assert name(tg.LongTensor([1, 2]).dtype) == name(torch.LongTensor([1, 2]).dtype)
    x = [1.7, -2.2, 0.0]
    for conv in ("long", "int", "bool", "float", "double", "short", "byte"):
        ours = getattr(tg.tensor(x), conv)()
        theirs = getattr(torch.tensor(x), conv)()
        assert name(ours.dtype) == name(theirs.dtype), conv
        if conv != "byte":  # casting negative floats to uint8 is undefined in C
            np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    assert tg.tensor(x).type() == torch.tensor(x).type()
    assert tg.tensor([1]).type() == torch.tensor([1]).type()


def test_comparisons_and_logic():
    a, b = [1.0, 2.0, 3.0], [1.0, 0.0, 4.0]
    ta, tb, pa, pb = tg.tensor(a), tg.tensor(b), torch.tensor(a), torch.tensor(b)
    for op in ("__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__"):
        np.testing.assert_array_equal(getattr(ta, op)(tb).numpy(), getattr(pa, op)(pb).numpy())
        np.testing.assert_array_equal(getattr(ta, op)(2.0).numpy(), getattr(pa, op)(2.0).numpy())
    ma, mb, qa, qb = ta > 1, tb > 0, pa > 1, pb > 0
    for op in ("__and__", "__or__", "__xor__"):
        np.testing.assert_array_equal(getattr(ma, op)(mb).numpy(), getattr(qa, op)(qb).numpy())
    np.testing.assert_array_equal((~ma).numpy(), (~qa).numpy())
    assert bool(ma.any()) == bool(qa.any()) and bool(ma.all()) == bool(qa.all())
    assert ta.equal(ta * 1) == torch.equal(pa, pa * 1) and ta.equal(tb) == torch.equal(pa, pb)
    assert ta.allclose(ta + 1e-9) == torch.allclose(pa, pa + 1e-9)
    i = torch.tensor([5, 3])
    np.testing.assert_array_equal((tg.tensor([5, 3]) & 6).numpy(), (i & 6).numpy())


@pytest.mark.parametrize("dim, keepdim", [(0, False), (1, True), (-1, False)])
@pytest.mark.parametrize("which", ["max", "min"])
def test_values_and_indices_with_their_gradient(dim, keepdim, which):
    data = np.array([[1.0, 5.0, 5.0], [4.0, 2.0, 6.0], [4.0, 0.5, 6.0]])
    t, p = tg.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
    ours, theirs = getattr(t, which)(dim, keepdim), getattr(p, which)(dim, keepdim)
    np.testing.assert_array_equal(ours.values.numpy(), theirs.values.detach().numpy())
    np.testing.assert_array_equal(ours.indices.numpy(), theirs.indices.numpy())
    assert name(ours.indices.dtype) == name(theirs.indices.dtype)
    w = np.arange(ours.values.numel(), dtype=float).reshape(ours.values.shape) + 1
    (ours.values * tg.tensor(w)).sum().backward()
    (theirs.values * torch.tensor(w)).sum().backward()
    np.testing.assert_array_equal(t.grad.numpy(), p.grad.numpy())
    arg = "argmax" if which == "max" else "argmin"
    np.testing.assert_array_equal(getattr(t, arg)(dim, keepdim).numpy(),
                                  getattr(p, arg)(dim, keepdim).numpy())
    assert getattr(t, arg)().item() == getattr(p, arg)().item()


def test_the_inplace_family():
    data = np.array([1.0, -2.0, 3.0, 0.5])
    for step in [
        lambda t, M: t.add_(M.ones(4), alpha=2),
        lambda t, M: t.sub_(M.ones(4), alpha=0.5),
        lambda t, M: t.pow_(2),
        lambda t, M: t.clamp_(-1.0, 1.0),
        lambda t, M: t.fill_(3.0),
        lambda t, M: t.zero_(),
        lambda t, M: t.copy_(M.tensor([9.0, 8.0, 7.0, 6.0])),
        lambda t, M: t.masked_fill_(t > 0, -1.0),
    ]:
        x, y = tg.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
        a, b = x * 1, y * 1  # non-leaves: recorded
        step(a, tg)
        step(b, torch)
        np.testing.assert_array_equal(a.numpy(), b.detach().numpy())
        (a * a).sum().backward()
        (b * b).sum().backward()
        np.testing.assert_array_equal(x.grad.numpy(), y.grad.numpy())


def test_data_as_pytorch_has_it():
    for M in (tg, torch):
        w = M.tensor([1.0, 2.0], requires_grad=True)
        (w * w).sum().backward()
        w.data -= 0.5 * w.grad
        w.grad.data.zero_()
        assert w.is_leaf and not w.data.requires_grad
        assert w.tolist() == [0.0, 0.0] and w.grad.tolist() == [0.0, 0.0]
        assert (w + 3).sum().data.item() == 6.0


def test_function_forms_take_pytorchs_keywords():
    x = np.array([[1.0, -2.0], [3.0, 0.5]])
    t, p = tg.tensor(x), torch.tensor(x)
    for fn, kwargs in [("sum", {"dim": 1}), ("mean", {"dim": 0, "keepdim": True}),
                       ("clamp", {"min": 0.0}), ("amax", {"dim": 1}), ("exp", {}),
                       ("argmax", {"dim": 1}), ("transpose", {"dim0": 0, "dim1": 1})]:
        if fn == "transpose":
            ours, theirs = tg.transpose(t, 0, 1), torch.transpose(p, 0, 1)
        else:
            ours, theirs = getattr(tg, fn)(input=t, **kwargs), getattr(torch, fn)(input=p,
                                                                                  **kwargs)
        np.testing.assert_allclose(ours.numpy(), theirs.numpy())
    np.testing.assert_allclose(tg.add(t, t, alpha=2).numpy(), torch.add(p, p, alpha=2).numpy())
    np.testing.assert_allclose(tg.max(t, tg.zeros(2, 2)).numpy(),
                               torch.max(p, torch.zeros(2, 2)).numpy())


@pytest.mark.parametrize("call", [
    lambda t: t.sort(), lambda t: t.sort(dim=0, descending=True), lambda t: t.topk(2),
    lambda t: t.topk(1, dim=0, largest=False), lambda t: (t.argsort(dim=1), None)])
def test_sort_and_topk_with_their_gradient(call):
    data = np.array([[3.0, 1.0, 2.0, 5.0], [0.5, 4.0, -1.0, 2.5], [7.0, 6.0, 0.0, 1.5]])
    t, p = tg.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
    ours, theirs = call(t), call(p)
    if ours[1] is None:  # argsort: indices only
        np.testing.assert_array_equal(ours[0].numpy(), theirs[0].numpy())
        return
    np.testing.assert_array_equal(ours[0].numpy(), theirs[0].detach().numpy())
    np.testing.assert_array_equal(ours[1].numpy(), theirs[1].numpy())
    w = np.arange(ours[0].numel(), dtype=float).reshape(ours[0].shape) + 1
    (ours[0] * tg.tensor(w)).sum().backward()
    (theirs[0] * torch.tensor(w)).sum().backward()
    np.testing.assert_array_equal(t.grad.numpy(), p.grad.numpy())
