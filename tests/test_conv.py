"""Convolution and pooling (tinygrad_edu.nn.conv, nn.conv_layers) on their own: gradients
against central finite differences in float64 over hypothesis-drawn sizes, strides,
paddings and dilations; second derivatives; the windows primitive's memory; dtypes; the
layers; and the errors. The comparisons with PyTorch are in test_conv_vs_torch.py; the
primitive's own cases (unfold, fold) are in test_ops.py's table.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import tinygrad_edu as tg
from tinygrad_edu import nn
from tinygrad_edu.gradcheck import gradcheck, gradgradcheck
from tinygrad_edu.nn import functional as F

from . import strategies as S

SETTINGS = settings(max_examples=15, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def conv_inputs(draw, k):
    """input (N, C, *S), weight (F, C/groups, *K), bias and settings that fit."""
    groups = draw(st.sampled_from([1, 1, 2]))
    channels, filters = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(k))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(k))
    stride = tuple(draw(st.integers(1, 2)) for _ in range(k))
    padding = tuple(draw(st.integers(0, 2)) for _ in range(k))
    sizes = tuple(max(1, d * (j - 1) + 1 - 2 * p) + draw(st.integers(0, 2))
                  for j, d, p in zip(kernel, dilation, padding))
    x = S.values(draw, (draw(st.integers(1, 2)), channels, *sizes))
    w = S.values(draw, (filters, channels // groups, *kernel))
    b = S.values(draw, (filters,))
    return [x, w, b], {"stride": stride, "padding": padding, "dilation": dilation,
                       "groups": groups}


def pool_inputs(draw, k, max_pool=False):
    """An input (N, C, *S) and pooling settings that fit it; for max pooling a dilation
    too and distinct values (a tie is a kink: finite differences mean nothing there)."""
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(k))
    dilation = tuple(draw(st.integers(1, 2)) if max_pool else 1 for _ in range(k))
    spans = [d * (j - 1) + 1 for j, d in zip(kernel, dilation)]
    padding = tuple(draw(st.integers(0, j // 2)) for j in kernel)
    sizes = tuple(max(1, span - 2 * p) + draw(st.integers(0, 3))
                  for span, p in zip(spans, padding))
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 2)), *sizes)
    x = S.distinct(draw, shape) if max_pool else S.values(draw, shape)
    params = {"kernel_size": kernel, "stride": tuple(draw(st.integers(1, 3)) for _ in range(k)),
              "padding": padding, "ceil_mode": draw(st.booleans())}
    if max_pool:
        params["dilation"] = dilation
        # no window wholly in the padding (dilation allows that): its maximum is -inf,
        # and PyTorch sends its gradient to an element outside the window
        pool = F.max_pool1d if k == 1 else F.max_pool2d
        assume(np.isfinite(pool(np.zeros((1, 1, *sizes)), **params).numpy()).all())
    return x, params


# --- gradients against finite differences -----------------------------------------------------


@pytest.mark.parametrize("conv, k", [(F.conv1d, 1), (F.conv2d, 2)])
@SETTINGS
@given(data=st.data(), seed=st.integers(0, 2**16))
def test_conv_gradients_match_finite_differences(conv, k, data, seed):
    arrays, params = conv_inputs(data.draw, k)
    gradcheck(lambda x, w, b: conv(x, w, b, **params), *arrays, seed=seed, atol=1e-6,
              rtol=1e-5)


@SETTINGS
@given(data=st.data(), seed=st.integers(0, 2**16))
def test_max_pool_gradients_match_finite_differences(data, seed):
    k = data.draw(st.integers(1, 2))
    x, params = pool_inputs(data.draw, k, max_pool=True)
    pool = F.max_pool1d if k == 1 else F.max_pool2d
    gradcheck(lambda a: pool(a, **params), x, seed=seed, atol=1e-6, rtol=1e-5)


@SETTINGS
@given(data=st.data(), seed=st.integers(0, 2**16))
def test_avg_pool_gradients_match_finite_differences(data, seed):
    k = data.draw(st.integers(1, 2))
    x, params = pool_inputs(data.draw, k)
    params["count_include_pad"] = data.draw(st.booleans())
    pool = F.avg_pool1d if k == 1 else F.avg_pool2d
    gradcheck(lambda a: pool(a, **params), x, seed=seed, atol=1e-6, rtol=1e-5)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), seed=st.integers(0, 2**16))
def test_conv_second_derivatives_match_finite_differences(data, seed):
    # conv is bilinear in (input, weight): its second derivatives mix the two, through
    # the rules of unfold (fold) and fold (unfold) recorded with create_graph=True
    arrays, params = conv_inputs(data.draw, 2)
    gradgradcheck(lambda x, w, b: F.conv2d(x, w, b, **params).tanh(), *arrays, seed=seed,
                  eps=1e-5, atol=1e-5, rtol=1e-4)


def test_window_gradients_by_hand():
    # d(sum of all windows)/dx_i = how many windows read x_i
    for params, counts in [({"kernel_size": 2}, [1, 2, 2, 2, 1]),
                           ({"kernel_size": 2, "stride": 2}, [1, 1, 1, 1, 0]),
                           ({"kernel_size": 2, "dilation": 2}, [1, 1, 2, 1, 1]),
                           ({"kernel_size": 3, "padding": 1}, [2, 3, 3, 3, 2])]:
        x = tg.tensor(np.ones((1, 1, 5)), requires_grad=True)
        x.sliding_windows(**params).sum().backward()
        assert x.grad.numpy().ravel().tolist() == counts, params


# --- what the values are ----------------------------------------------------------------------


def test_conv2d_by_hand():
    # a 3x3 image and a 2x2 kernel: each output is the sum of a window times the kernel
    x = tg.tensor(np.arange(9.0).reshape(1, 1, 3, 3))
    w = tg.tensor([[[[1.0, 0.0], [0.0, -1.0]]]])  # x[i, j] - x[i+1, j+1]
    out = F.conv2d(x, w, tg.tensor([0.5]))
    assert out.shape == (1, 1, 2, 2)
    np.testing.assert_array_equal(out.numpy(), np.full((1, 1, 2, 2), -4.0 + 0.5))
    same = F.conv2d(x, w, padding="same")  # even kernel: the extra row/column after
    assert same.shape == (1, 1, 3, 3) and same.numpy()[0, 0, 2, 2] == 8.0


def test_pooling_by_hand():
    x = tg.tensor(np.array([[[[1.0, 2.0, 5.0, 0.0],
                              [3.0, 4.0, 1.0, 1.0],
                              [0.0, 0.0, 2.0, 2.0],
                              [0.0, 9.0, 2.0, 2.0]]]]), requires_grad=True)
    out = F.max_pool2d(x, 2)
    np.testing.assert_array_equal(out.numpy(), [[[[4.0, 5.0], [9.0, 2.0]]]])
    out.sum().backward()
    # each window sends its gradient to its maximum; in the tied window, to the first
    np.testing.assert_array_equal(x.grad.numpy(), [[[[0, 0, 1, 0], [0, 1, 0, 0],
                                                     [0, 0, 1, 0], [0, 1, 0, 0]]]])
    np.testing.assert_array_equal(F.avg_pool2d(x, 2).numpy(), [[[[2.5, 1.75], [2.25, 2.0]]]])
    values, indices = F.max_pool2d(x, 2, return_indices=True)
    assert indices.dtype == np.int64 and indices.tolist() == [[[[5, 2], [13, 10]]]]


def test_a_max_pool_window_wholly_in_the_padding():
    # with dilation a window can miss the input: its maximum is -inf and it sends no
    # gradient (PyTorch sends that window's gradient to an element outside it)
    x = tg.tensor([[[0.5]]], requires_grad=True)
    out = F.max_pool1d(x, 2, stride=1, padding=1, dilation=2)
    assert out.tolist() == [[[-np.inf]]]
    out.sum().backward()
    assert x.grad.tolist() == [[[0.0]]]


def test_sliding_windows_layout_and_memory():
    x = tg.tensor(np.arange(10.0).reshape(1, 2, 5))
    windows = x.sliding_windows(3, stride=2, padding=((0, 1),), pad_value=-1.0)
    assert windows.shape == (1, 2, 2, 3)  # (N, O, C, K)
    assert windows.numpy()[0, 1].tolist() == [[2.0, 3.0, 4.0], [7.0, 8.0, 9.0]]
    assert windows.numpy()[0, 0, 0].tolist() == [0.0, 1.0, 2.0]
    # the windows own their memory: changing x afterwards does not change them
    with tg.no_grad():
        x += 100
    assert windows.numpy()[0, 0, 0].tolist() == [0.0, 1.0, 2.0]
    windows[0, 0, 0, 0] = 7.0  # and they can be written
    back = windows.fold_windows((1, 2, 5), stride=2, padding=((0, 1),))
    assert back.numpy()[0, 0].tolist() == [7.0, 1.0, 4.0, 3.0, 4.0]  # overlaps add up


def test_float32_stays_float32():
    tg.manual_seed(0)
    layer = nn.Conv2d(2, 3, 3, padding=1, dtype=np.float32)
    x = tg.randn(2, 2, 5, 5, dtype=tg.float32, requires_grad=True)
    out = F.avg_pool2d(F.max_pool2d(layer(x), 2, padding=1), 2, ceil_mode=True, padding=1)
    assert out.dtype == np.float32
    out.sum().backward()
    assert x.grad.dtype == np.float32 and layer.weight.grad.dtype == np.float32


def test_unbatched_inputs_give_unbatched_outputs():
    x = np.random.default_rng(0).standard_normal((2, 6, 6))
    w = np.random.default_rng(1).standard_normal((3, 2, 3, 3))
    np.testing.assert_allclose(F.conv2d(x, w).numpy(), F.conv2d(x[None], w).numpy()[0])
    assert F.max_pool2d(tg.tensor(x), 2).shape == (2, 3, 3)
    assert F.avg_pool1d(tg.tensor(x[0]), 3).shape == (6, 2)


# --- the layers -------------------------------------------------------------------------------


def test_conv2d_layer_shapes_init_and_parameters():
    tg.manual_seed(0)
    layer = nn.Conv2d(4, 6, (3, 2), groups=2)
    assert layer.weight.shape == (6, 2, 3, 2) and layer.bias.shape == (6,)
    assert [name for name, _ in layer.named_parameters()] == ["weight", "bias"]
    bound = 1 / math.sqrt(2 * 3 * 2)  # fan_in = in_channels/groups * kernel taps
    assert np.abs(layer.weight.numpy()).max() <= bound
    assert np.abs(layer.weight.numpy()).max() > 0.8 * bound  # uniform over the whole range
    assert np.abs(layer.bias.numpy()).max() <= bound
    assert layer(tg.randn(2, 4, 5, 5)).shape == (2, 6, 3, 4)
    assert nn.Conv1d(3, 2, 4, bias=False).bias is None
    assert nn.Conv2d(1, 1, 3).weight.dtype == tg.get_default_dtype()


def test_layers_in_a_network_learn():
    tg.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(4, 4, 3, padding="same", padding_mode="reflect"),
                          nn.AvgPool2d(2))
    x = tg.randn(8, 1, 8, 8)
    target = tg.randn(8, 4, 2, 2)
    optimizer = tg.optim.Adam(model.parameters(), lr=0.01)
    losses = []
    for _ in range(30):
        loss = F.mse_loss(model(x), target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.7 * losses[0]


def test_padding_modes_pad_as_numpy_does():
    # with a kernel of one tap that picks the top-left corner of each 3x3 window...
    layer = nn.Conv2d(1, 1, 3, padding=1, bias=False, padding_mode="circular")
    with tg.no_grad():
        layer.weight[...] = np.eye(3)[0].reshape(1, 1, 1, 3) * np.eye(3)[0].reshape(1, 1, 3, 1)
    x = np.arange(12.0).reshape(1, 1, 3, 4)
    for mode, numpy_mode in (("circular", "wrap"), ("reflect", "reflect"),
                             ("replicate", "edge")):
        layer.padding_mode = mode
        expected = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)), mode=numpy_mode)[..., :3, :4]
        np.testing.assert_array_equal(layer(tg.tensor(x)).numpy(), expected)


# --- errors: what went wrong, in which function, with the shapes ------------------------------


@pytest.mark.parametrize("call, error, message", [
    (lambda: F.conv2d(np.ones((8, 8)), np.ones((2, 1, 3, 3))), RuntimeError,
     r"conv2d: expected a 3-D \(C, H, W\) unbatched or 4-D \(N, C, H, W\) batched input, "
     r"but got shape \(8, 8\)"),
    (lambda: F.conv2d(np.ones((1, 2, 8, 8)), np.ones((4, 1, 3, 3))), RuntimeError,
     r"conv2d: the weight of shape \(4, 1, 3, 3\) with groups=1 expects 1 input channels, "
     r"but the input of shape \(1, 2, 8, 8\) has 2"),
    (lambda: F.conv2d(np.ones((1, 1, 8, 8)), np.ones((4, 1, 3))), RuntimeError,
     r"conv2d: the weight must be 4-D"),
    (lambda: F.conv2d(np.ones((1, 1, 8, 8)), np.ones((4, 1, 3, 3)), np.ones(3)), RuntimeError,
     r"conv2d: the bias must have shape \(4,\)"),
    (lambda: F.conv2d(np.ones((1, 1, 2, 2)), np.ones((4, 1, 3, 3))), RuntimeError,
     r"conv2d: the input of shape \(1, 1, 2, 2\) padded by 0 is smaller than the kernel"),
    (lambda: F.conv2d(np.ones((1, 1, 8, 8)), np.ones((4, 1, 3, 3)), stride=0), RuntimeError,
     r"conv2d: stride must be positive, got 0"),
    (lambda: F.conv2d(np.ones((1, 1, 8, 8)), np.ones((4, 1, 3, 3)), stride=(1, 1, 1)),
     RuntimeError, r"conv2d: stride must be an int or 2 ints \(one per spatial axis\), got "
                   r"\(1, 1, 1\)"),
    (lambda: F.conv2d(np.ones((1, 1, 8, 8)), np.ones((4, 1, 3, 3)), padding=-1), RuntimeError,
     r"conv2d: padding must be non-negative"),
    (lambda: F.conv2d(np.ones((1, 1, 8, 8)), np.ones((4, 1, 3, 3)), padding="full"),
     RuntimeError, r"conv2d: invalid padding string 'full'"),
    (lambda: F.conv2d(np.ones((1, 1, 8, 8)), np.ones((4, 1, 3, 3)), padding="same", stride=2),
     RuntimeError, r"padding='same' is not supported for strided convolutions"),
    (lambda: F.conv2d(np.ones((1, 1, 8, 8)), np.ones((4, 1, 3, 3)), stride=1.5), TypeError,
     r"conv2d: stride must be an int"),
    (lambda: F.conv1d(np.ones((1, 1, 8, 8)), np.ones((4, 1, 3))), RuntimeError,
     r"conv1d: expected a 2-D \(C, L\) unbatched or 3-D \(N, C, L\) batched input"),
    (lambda: F.max_pool2d(np.ones((1, 1, 8, 8)), 3, padding=2), RuntimeError,
     r"max_pool2d: padding should be at most half of kernel_size"),
    (lambda: F.max_pool2d(np.ones(8), 2), RuntimeError, r"max_pool2d: expected a 3-D"),
    (lambda: F.max_pool2d(np.ones((1, 1, 2, 2)), 3), RuntimeError,
     r"max_pool2d: an input of size \(2, 2\) is too small for kernel_size=\(3, 3\)"),
    (lambda: F.avg_pool2d(np.ones((1, 1, 4, 4)), 2, divisor_override=0), RuntimeError,
     r"avg_pool2d: divisor_override must be a nonzero int"),
    (lambda: F.fold(np.ones((1, 5, 4)), (3, 3), 2), RuntimeError,
     r"fold: expected columns \(N, C\*2\*2, 4\)"),
    (lambda: tg.ones(1, 1, 2).sliding_windows(3), ValueError,
     r"sliding_windows: a window of 3 taps with dilation 1 spans 3 elements, more than the 2"),
    (lambda: tg.ones(2, 3).sliding_windows(3), ValueError,
     r"sliding_windows: needs a tensor \(N, C, \*spatial\)"),
    (lambda: tg.ones(1, 1, 2, 3).fold_windows((1, 1, 4, 4)), ValueError,
     r"fold_windows: windows of shape \(1, 1, 2, 3\) do not fit the shape \(1, 1, 4, 4\)"),
    (lambda: nn.Conv2d(3, 2, 3, groups=2), ValueError, r"Conv2d: in_channels must be divisible"),
    (lambda: nn.Conv2d(2, 3, 3, groups=2), ValueError, r"Conv2d: out_channels must be divisible"),
    (lambda: nn.Conv2d(2, 3, 3, padding_mode="mirror"), ValueError,
     r"Conv2d: padding_mode must be one of"),
    (lambda: nn.Conv2d(2, 3, 3, padding="full"), ValueError, r"Conv2d: invalid padding string"),
    (lambda: nn.Conv2d(2, 3, 3, padding="same", stride=2), ValueError,
     r"Conv2d: padding='same' is not supported for strided convolutions"),
    (lambda: nn.Conv2d(2, 3, 0), ValueError, r"Conv2d: kernel_size must be positive"),
    (lambda: nn.Conv1d(2, 3, (3, 3)), ValueError, r"Conv1d: kernel_size must be an int or 1 "
                                                  r"ints"),
    (lambda: nn.Conv1d(2, 3, 2.5), TypeError, r"Conv1d: kernel_size must be an int"),
    (lambda: nn.Conv2d(0, 3, 3), ValueError, r"Conv2d: in_channels must be a positive int, "
                                             r"got 0"),
    (lambda: nn.Conv2d(1, 1, 3, padding=4, padding_mode="reflect")(tg.ones(1, 1, 4, 4)),
     RuntimeError, r"Conv2d: padding \(4, 4\) is too large for padding_mode='reflect' on an "
                   r"axis of size 4"),
])
def test_errors_name_the_function_and_the_shapes(call, error, message):
    with pytest.raises(error, match=message):
        call()
