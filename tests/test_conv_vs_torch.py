"""Convolution and pooling against PyTorch (skipped without it): the same inputs and
weights in float64 give the same outputs, gradients, indices, second derivatives and
layer reprs."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tinygrad_edu as tg
from tinygrad_edu import nn
from tinygrad_edu.nn import functional as F

from .test_conv import conv_inputs, pool_inputs

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.filterwarnings("ignore:Using padding=.same.:UserWarning")
TF = torch.nn.functional

SETTINGS = settings(max_examples=25, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def compare(name, arrays, params, seed=0, atol=1e-12):
    """Run F.<name> here and in PyTorch on the same arrays; compare the outputs (and
    indices) and the gradients of every input for a random upstream gradient."""
    ours = [tg.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, expected = getattr(F, name)(*ours, **params), getattr(TF, name)(*theirs, **params)
    if isinstance(expected, tuple):  # (values, indices)
        assert out[1].dtype == np.int64
        np.testing.assert_array_equal(out[1].numpy(), expected[1].numpy())
        out, expected = out[0], expected[0]
    assert out.shape == tuple(expected.shape)
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), rtol=1e-12, atol=atol)
    g = np.random.default_rng(seed).standard_normal(out.shape)
    out.backward(g)
    expected.backward(torch.tensor(g))
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-12, atol=atol)


RNG = np.random.default_rng(0)
X2 = RNG.standard_normal((2, 3, 9, 8))
W2 = RNG.standard_normal((4, 3, 3, 2))
B = RNG.standard_normal(4)
X1 = RNG.standard_normal((2, 3, 11))
W1 = RNG.standard_normal((4, 3, 4))

CALLS = [
    ("conv2d", [X2, W2, B], {}),
    ("conv2d", [X2, W2, B], {"stride": 2, "padding": 1, "dilation": 2}),
    ("conv2d", [X2, W2, B], {"stride": (1, 3), "padding": (2, 0)}),
    ("conv2d", [X2, W2, B], {"padding": "same", "dilation": (1, 3)}),
    ("conv2d", [X2, W2], {"padding": "valid"}),
    ("conv2d", [RNG.standard_normal((2, 4, 7, 7)), RNG.standard_normal((6, 2, 3, 3))],
     {"groups": 2}),
    ("conv2d", [X2[0], W2, B], {"padding": 1}),  # unbatched (C, H, W)
    ("conv2d", [RNG.standard_normal((0, 3, 5, 5)), W2], {}),  # an empty batch
    ("conv1d", [X1, W1, B], {"stride": 2, "padding": 3, "dilation": 2}),
    ("conv1d", [X1, W1], {"padding": "same"}),  # an even kernel: one more after
    ("conv1d", [X1[0], W1, B], {}),
    ("max_pool2d", [X2], {"kernel_size": 2}),
    ("max_pool2d", [X2], {"kernel_size": 3, "stride": 2, "padding": 1}),
    ("max_pool2d", [X2], {"kernel_size": (3, 2), "stride": (2, 1), "dilation": (2, 1),
                          "padding": (1, 1)}),
    ("max_pool2d", [X2], {"kernel_size": 3, "stride": 2, "ceil_mode": True}),
    ("max_pool2d", [X2], {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True,
                          "return_indices": True}),
    ("max_pool2d", [X2], {"kernel_size": 2, "dilation": 2, "padding": 1,
                          "return_indices": True}),
    ("max_pool2d", [np.round(X2)], {"kernel_size": 3, "stride": 1,
                                    "return_indices": True}),  # many ties
    ("max_pool2d", [X2[0]], {"kernel_size": 2}),
    ("max_pool1d", [X1], {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True,
                          "return_indices": True}),
    ("avg_pool2d", [X2], {"kernel_size": 2}),
    ("avg_pool2d", [X2], {"kernel_size": 3, "stride": 2, "padding": 1}),
    ("avg_pool2d", [X2], {"kernel_size": 3, "stride": 2, "padding": 1,
                          "count_include_pad": False}),
    ("avg_pool2d", [X2], {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True}),
    ("avg_pool2d", [X2], {"kernel_size": 2, "stride": 2, "padding": 1, "ceil_mode": True,
                          "count_include_pad": False}),
    ("avg_pool2d", [X2], {"kernel_size": 2, "divisor_override": 3}),
    ("avg_pool1d", [X1], {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True,
                          "count_include_pad": False}),
    ("unfold", [X2], {"kernel_size": (2, 3), "dilation": (2, 1), "padding": 1,
                      "stride": (1, 2)}),
    ("fold", [RNG.standard_normal((2, 18, 36))], {"output_size": (9, 8), "kernel_size": (2, 3),
                                                  "dilation": (2, 1), "padding": 1,
                                                  "stride": (1, 2)}),
]


@pytest.mark.parametrize("name, arrays, params", CALLS,
                         ids=[f"{c[0]}-{k}" for k, c in enumerate(CALLS)])
def test_functions_match_pytorch(name, arrays, params):
    compare(name, arrays, params)


@pytest.mark.parametrize("name, k", [("conv1d", 1), ("conv2d", 2)])
@SETTINGS
@given(data=st.data(), seed=st.integers(0, 2**16))
def test_random_convolutions_match_pytorch(name, k, data, seed):
    arrays, params = conv_inputs(data.draw, k)
    compare(name, arrays, params, seed, atol=1e-11)


@SETTINGS
@given(data=st.data(), seed=st.integers(0, 2**16), ties=st.booleans())
def test_random_max_pools_match_pytorch(data, seed, ties):
    k = data.draw(st.integers(1, 2))
    x, params = pool_inputs(data.draw, k, max_pool=True)
    if ties:  # the gradient goes to the first maximum of a window, as PyTorch's
        x = np.round(x)
    compare(f"max_pool{k}d", [x], {**params, "return_indices": True}, seed)


@SETTINGS
@given(data=st.data(), seed=st.integers(0, 2**16))
def test_random_avg_pools_match_pytorch(data, seed):
    k = data.draw(st.integers(1, 2))
    x, params = pool_inputs(data.draw, k)
    params["count_include_pad"] = data.draw(st.booleans())
    compare(f"avg_pool{k}d", [x], params, seed)


def test_second_derivatives_through_conv_and_pooling_match_pytorch():
    x, w = RNG.standard_normal((2, 2, 6, 6)), RNG.standard_normal((3, 2, 3, 3))
    results = []
    for lib, functional in ((tg, F), (torch, TF)):
        a = lib.tensor(x, requires_grad=True)
        b = lib.tensor(w, requires_grad=True)
        out = functional.conv2d(a, b, padding=1, stride=2).tanh()
        out = functional.avg_pool2d(functional.max_pool2d(out, 2, stride=1), 2, ceil_mode=True)
        (ga,) = lib.autograd.grad(out.sum(), [a], create_graph=True)
        (ga ** 2).sum().backward()  # d/d(a, b) of |dL/da|^2
        results.append([t.detach().numpy() for t in (out, ga, a.grad, b.grad)])
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)


LAYERS = [
    ("Conv2d", (3, 4, 3), {}),
    ("Conv2d", (3, 4, (3, 2)), {"padding": "same", "padding_mode": "reflect", "dilation": 2,
                                "bias": False}),
    ("Conv2d", (3, 6, 3), {"padding": 2, "padding_mode": "circular", "groups": 3, "stride": 2}),
    ("Conv2d", (3, 4, 3), {"padding": (1, 2), "padding_mode": "replicate"}),
    ("Conv2d", (3, 4, 2), {"padding": "valid"}),
    ("Conv1d", (3, 4, 3), {"stride": 2, "padding": 1}),
    ("Conv1d", (3, 6, 2), {"groups": 3, "padding": "same", "padding_mode": "reflect"}),
]


@pytest.mark.parametrize("layer, args, kwargs", LAYERS, ids=lambda v: str(v))
def test_conv_layers_with_copied_weights_match_pytorch(layer, args, kwargs):
    ours = getattr(nn, layer)(*args, **kwargs)
    theirs = getattr(torch.nn, layer)(*args, **kwargs).double()
    assert repr(ours) == repr(theirs)
    assert ours.weight.shape == tuple(theirs.weight.shape)
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(ours.weight.numpy()))
        if ours.bias is not None:
            theirs.bias.copy_(torch.tensor(ours.bias.numpy()))
    shape = (2, 3, 7, 6) if layer == "Conv2d" else (2, 3, 9)
    x = RNG.standard_normal(shape)
    out, expected = ours(tg.tensor(x)), theirs(torch.tensor(x))
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), rtol=1e-12, atol=1e-12)
    g = RNG.standard_normal(out.shape)
    out.backward(g)
    expected.backward(torch.tensor(g))
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(),
                               rtol=1e-11, atol=1e-12)
    if ours.bias is not None:
        np.testing.assert_allclose(ours.bias.grad.numpy(), theirs.bias.grad.numpy(),
                                   rtol=1e-11, atol=1e-12)


@pytest.mark.parametrize("layer, kwargs", [
    ("MaxPool2d", {"kernel_size": 2}),
    ("MaxPool2d", {"kernel_size": (3, 2), "stride": 1, "padding": 1, "dilation": 2,
                   "ceil_mode": True}),
    ("MaxPool1d", {"kernel_size": 3, "stride": 2}),
    ("AvgPool2d", {"kernel_size": 2}),
    ("AvgPool2d", {"kernel_size": (2, 3), "stride": 1, "padding": 1, "ceil_mode": True,
                   "count_include_pad": False, "divisor_override": 2}),
    ("AvgPool1d", {"kernel_size": 3}),
    ("AvgPool1d", {"kernel_size": 3, "stride": 2, "padding": 1}),
], ids=str)
def test_pooling_layers_match_pytorch(layer, kwargs):
    ours, theirs = getattr(nn, layer)(**kwargs), getattr(torch.nn, layer)(**kwargs)
    assert repr(ours) == repr(theirs)
    x = RNG.standard_normal((2, 3, 8, 7) if layer.endswith("2d") else (2, 3, 9))
    np.testing.assert_allclose(ours(tg.tensor(x)).numpy(), theirs(torch.tensor(x)).numpy(),
                               rtol=1e-12, atol=1e-12)
