"""tinygrad_edu.func without PyTorch: the transforms against central differences, the
one-table forward mode, and a clear error for each misuse."""

from __future__ import annotations

import re

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import func, numerical_grad

AF = tg.autograd.functional


def f(a, b):
    return (a * b.sin() + (a * a + 1).log()).tanh() * b


def test_grad_jvp_jacobians_and_hessian_match_central_differences():
    rng = np.random.default_rng(0)
    a, b, t = rng.standard_normal((3, 1)), rng.standard_normal(4), rng.standard_normal((3, 1))
    x, y = tg.tensor(a), tg.tensor(b)
    scalar = lambda s, u: f(s, u).sum()  # noqa: E731
    numeric = numerical_grad(scalar, a.copy(), b.copy())
    grads = func.grad(scalar, argnums=(0, 1))(x, y)
    for got, want in zip(grads, numeric):
        np.testing.assert_allclose(got.array, want, rtol=1e-6, atol=1e-8)
    # jvp along t is the directional derivative (f(a + h t) - f(a - h t)) / 2h
    h = 1e-6
    numeric_jvp = (f(tg.tensor(a + h * t), y).array - f(tg.tensor(a - h * t), y).array) / (2 * h)
    _, jt = func.jvp(lambda s: f(s, y), (x,), (tg.tensor(t),))
    np.testing.assert_allclose(jt.array, numeric_jvp, rtol=1e-6, atol=1e-8)
    jac = func.jacrev(f)(x, y)
    assert jac.shape == (3, 4, 3, 1)
    np.testing.assert_allclose(func.jacfwd(f)(x, y).array, jac.array, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(np.einsum("ijkl,kl->ij", jac.array, t), jt.array, rtol=1e-12)
    hess = func.hessian(scalar)(x, y)
    for k in range(3):  # the Hessian's column k: central differences of the gradient
        e = np.zeros((3, 1))
        e[k] = h
        up = func.grad(scalar)(tg.tensor(a + e), y).array
        down = func.grad(scalar)(tg.tensor(a - e), y).array
        np.testing.assert_allclose(hess.array[:, :, k, 0], (up - down) / (2 * h), rtol=1e-5,
                                   atol=1e-7)


def test_the_four_ways_to_a_hessian_agree():
    x, y = tg.tensor([[0.3], [-0.8], [1.4]]), tg.tensor([0.5, -1.0, 2.0, 0.1])
    scalar = lambda s: f(s, y).exp().sum()  # noqa: E731
    hess = func.hessian(scalar)(x).array
    for way in (func.jacfwd(func.jacrev(scalar)), func.jacrev(func.jacfwd(scalar)),
                func.jacrev(func.jacrev(scalar)), func.jacfwd(func.jacfwd(scalar))):
        np.testing.assert_allclose(way(x).array, hess, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(hess.reshape(3, 3), hess.reshape(3, 3).T, rtol=1e-12)


def test_forward_mode_comes_from_the_reverse_table_whatever_the_cotangent_value():
    """The double-vjp trick: uᵀJ is linear in u, so its derivative along t does not
    depend on the u it was recorded at (zeros here); compare with u = random."""
    x = tg.tensor([0.3, -1.2, 2.0])
    t = tg.tensor([1.0, 0.5, -2.0])
    _, jt = func.jvp(lambda s: (s.exp() * s.sin()).cumsum(0), (x,), (t,))
    u = tg.tensor([0.7, -0.1, 3.0], requires_grad=True)
    s = x.clone().requires_grad_(True)
    (v,) = tg.autograd.grad((s.exp() * s.sin()).cumsum(0), s, u, create_graph=True)
    (again,) = tg.autograd.grad(v, u, t)
    np.testing.assert_allclose(jt.array, again.array, rtol=1e-14)


def test_vmap_is_a_loop_and_composes_with_grad():
    ws = tg.tensor(np.arange(6.0).reshape(3, 2) / 5)
    x = tg.tensor([0.5, -1.0])
    loss = lambda w, x: (w * x).sin().sum()  # noqa: E731
    per_example = func.vmap(func.grad(loss), in_dims=(0, None))(ws, x)
    for k in range(3):
        np.testing.assert_allclose(per_example.array[k], func.grad(loss)(ws[k], x).array)
    assert func.vmap(lambda w: w.sum(), in_dims=1)(ws).shape == (2,)
    assert func.vmap(lambda w: w * 2, out_dims=1)(ws).shape == (2, 3)


def test_autograd_functional_is_reachable_as_torch_autograd_functional():
    from tinygrad_edu.autograd.functional import jacobian

    assert jacobian is AF.jacobian is tg.autograd_functional.jacobian
    x = tg.tensor([1.0, 2.0])
    np.testing.assert_allclose(jacobian(lambda s: s * s, x).array, np.diag([2.0, 4.0]))


def message(call) -> str:
    with pytest.raises(Exception) as info:
        call()
    return f"{type(info.value).__name__}: {info.value}"


x = tg.tensor([1.0, 2.0, 3.0])
ERRORS = [
    ("grad of a vector", lambda: func.grad(lambda s: s * 2)(x),
     r"RuntimeError: grad\(f\)\(\*args\): f must return a scalar \(0-d\) Tensor, got shape "
     r"\(3,\).*vjp or jacrev"),
    ("argnums out of range", lambda: func.grad(lambda s: s.sum(), argnums=1)(x),
     r"RuntimeError: grad\(f\)\(\*args\): got argnums=1, but f was called with only 1 "),
    ("argnums repeated", lambda: func.jacrev(lambda s, t: s, argnums=(0, -2))(x, x),
     "RuntimeError: jacrev.*argnums elements must be unique"),
    ("argnums not an int", lambda: func.grad(lambda s: s.sum(), argnums=[0])(x),
     "RuntimeError: grad.*argnums must be an int or a non-empty tuple of ints, got \\[0\\]"),
    ("has_aux without a pair", lambda: func.grad(lambda s: s.sum(), has_aux=True)(x),
     r"RuntimeError: grad.*with has_aux=True, f must return a tuple \(output, aux\); got Tensor"),
    ("has_aux with a triple", lambda: func.vjp(lambda s: (s, s, s), x, has_aux=True),
     "RuntimeError: vjp.*got tuple of length 3"),
    ("a number to differentiate", lambda: func.grad(lambda s: s * 2)(3.0),
     "ValueError: grad.*must be Tensors .*got float; wrap numbers with tensor"),
    ("an integer tensor", lambda: func.grad(lambda s: s.sum())(tg.tensor([1, 2])),
     "RuntimeError: grad.*dtype int64; only floating-point inputs"),
    ("tangent of the wrong shape", lambda: func.jvp(lambda s: s.sin(), (x,), (tg.ones(2),)),
     r"RuntimeError: jvp.*tangent 0 has shape \(2,\) but primal 0 has shape \(3,\)"),
    ("tangents of another structure", lambda: func.jvp(lambda s: s, (x,), (x, x)),
     r"RuntimeError: jvp.*same structure as primal: expected \(\*,\), got \(\*, \*\)"),
    ("primals not a tuple", lambda: func.jvp(lambda s: s, x, x),
     "RuntimeError: jvp.*primals must be a tuple .*write \\(primal,\\)"),
    ("cotangent of the wrong shape", lambda: func.vjp(lambda s: s.sin(), x)[1](tg.ones(2)),
     r"RuntimeError: vjp.*cotangent 0 has shape \(2,\) but output 0 has shape \(3,\)"),
    ("f returns a number", lambda: func.jacrev(lambda s: 3.0)(x),
     "ValueError: jacrev.*outputs of f must be Tensors.*got float"),
    ("in_dim out of range", lambda: func.vmap(lambda s: s, in_dims=1)(x),
     r"ValueError: vmap\(<lambda>, in_dims=1.*in_dim=1 for an input of shape \(3,\)"),
    ("batch sizes differ", lambda: func.vmap(lambda s, t: s + t)(tg.ones(2, 3), tg.ones(3, 3)),
     r"ValueError: vmap: .*same size in the mapped dimension, got sizes \[2, 3\]"),
    ("nothing mapped", lambda: func.vmap(lambda s, t: s, in_dims=(None, None))(x, x),
     "ValueError: vmap.*no input is mapped over"),
    ("in_dims of another length", lambda: func.vmap(lambda s, t: s, in_dims=(0,))(x, x),
     "ValueError: vmap.*in_dims has 1 entries but f was called with 2 positional inputs"),
    ("in_dims structure", lambda: func.vmap(lambda d: d, in_dims=({"a": 0},))({"b": x}),
     "ValueError: vmap.*in_dims has structure {'a': \\*} but the values have structure"),
    ("mapping a number", lambda: func.vmap(lambda s: s)(3.0),
     "ValueError: vmap.*in_dim=0 for an input of type float; .*use None"),
    ("out_dim out of range", lambda: func.vmap(lambda s: s.sum(), out_dims=1)(tg.ones(2, 3)),
     r"IndexError: vmap.*out_dim=1 is out of range for output 0"),
    ("f returns a number under vmap", lambda: func.vmap(lambda s: 3.0)(x),
     "ValueError: vmap.*must return only Tensors, got float"),
    ("jacobian of a list", lambda: AF.jacobian(lambda s: s, [x, x]),
     "TypeError: autograd.functional.jacobian: the inputs must be a Tensor or a tuple of "
     "Tensors, got list"),
    ("jacobian strategy", lambda: AF.jacobian(lambda s: s, x, strategy="fast"),
     "ValueError: autograd.functional.jacobian: strategy must be"),
    ("vjp without v", lambda: AF.vjp(lambda s: s.sin(), x),
     "RuntimeError: autograd.functional.vjp: v can only be None if the function's output is "
     "a single Tensor with a single element"),
    ("jvp v of the wrong shape", lambda: AF.jvp(lambda s: s.sin(), x, tg.ones(2)),
     r"RuntimeError: autograd.functional.jvp: v 0 has shape \(2,\) but input 0 has shape"),
    ("hessian of a vector", lambda: AF.hessian(lambda s: s.sin(), x),
     r"RuntimeError: autograd.functional.hessian: the function must return a Tensor with a "
     r"single element, got shape \(3,\)"),
    ("strict", lambda: AF.vjp(lambda s, t: s.sin(), (x, x), x, strict=True),
     "RuntimeError: autograd.functional.vjp: the output is independent of input 1"),
]


@pytest.mark.parametrize("case", ERRORS, ids=[c[0] for c in ERRORS])
def test_misuse_gives_a_clear_error(case):
    _name, call, pattern = case
    got = message(call)
    assert re.search(pattern, got), got
