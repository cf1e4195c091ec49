"""tinygrad_edu.func and autograd.functional against torch.func and
torch.autograd.functional (skipped without torch), to 1e-10 in float64.

Each seed draws a random smooth function of two inputs of broadcasting shapes, built
from the op vocabulary with methods both libraries share, so that one piece of code
runs in both. Every transform is applied to it in both libraries and compared.
"""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import func

torch = pytest.importorskip("torch")
import torch.autograd.functional as TAF  # noqa: E402
import torch.func as tf  # noqa: E402

from .torch_compare import assert_close  # noqa: E402

AF = tg.autograd.functional
SEEDS = range(6)
SHAPES = [((3, 1), (4,)), ((2, 3), (3,)), ((3,), (3,)), ((2, 1), (1, 3))]

UNARY = [
    lambda t: t.sin(),
    lambda t: t.cos(),
    lambda t: t.tanh(),
    lambda t: t.sigmoid(),
    lambda t: t.tanh().exp(),
    lambda t: t * t,
    lambda t: (t * t + 1).sqrt(),
    lambda t: (t * t + 1).log(),
    lambda t: t.softmax(-1),
]
BINARY = [
    lambda s, t: s + t,
    lambda s, t: s - t,
    lambda s, t: s * t,
    lambda s, t: s / (t * t + 1),
    lambda s, t: s * t.sin() + 0.5 * s,
]


def random_function(seed: int):
    """(f, shape of a, shape of b): f(a, b) a random composition of smooth ops."""
    rng = np.random.default_rng(seed)
    steps = []
    for k in range(4):
        if rng.random() < 0.5:
            steps.append(("unary", int(rng.integers(len(UNARY))), int(rng.integers(k + 2))))
        else:
            steps.append(("binary", int(rng.integers(len(BINARY))), int(rng.integers(k + 2)),
                          int(rng.integers(k + 2))))

    def f(a, b):
        values = [a, b]
        for step in steps:
            if step[0] == "unary":
                values.append(UNARY[step[1]](values[step[2]]))
            else:
                values.append(BINARY[step[1]](values[step[2]], values[step[3]]))
        return values[-1] * a + b.cos()  # depends on both inputs, broadcast shape

    shape_a, shape_b = SHAPES[seed % len(SHAPES)]
    return f, shape_a, shape_b


def scalar(f):
    return lambda a, b: f(a, b).tanh().sum()


def arrays(seed: int, *shapes):
    rng = np.random.default_rng(100 + seed)
    return [rng.uniform(-1.5, 1.5, size=s) for s in shapes]


def both(*values):
    """Our tensors and torch's, float64, from the same arrays."""
    return ([tg.tensor(v) for v in values],
            [torch.tensor(v, dtype=torch.float64) for v in values])


def close(ours, theirs, what=""):
    """Nested tuples/lists/dicts of tensors, compared leaf by leaf."""
    if isinstance(theirs, (tuple, list)):
        assert isinstance(ours, (tuple, list)) and len(ours) == len(theirs), what
        for k, (a, b) in enumerate(zip(ours, theirs)):
            close(a, b, f"{what}[{k}]")
    elif isinstance(theirs, dict):
        assert sorted(ours) == sorted(theirs), what
        for key in theirs:
            close(ours[key], theirs[key], f"{what}[{key!r}]")
    else:
        assert isinstance(ours, tg.Tensor), f"{what}: {type(ours)}"
        assert_close(ours, theirs, what)


@pytest.mark.parametrize("seed", SEEDS)
def test_grad_vjp_jvp_linearize_match_torch_func(seed):
    f, sa, sb = random_function(seed)
    a, b, ga, gb = arrays(seed, sa, sb, sa, sb)
    out_shape = np.broadcast_shapes(sa, sb)
    (u,) = arrays(seed + 50, out_shape)
    (x, y, tx, ty, cu), (X, Y, TX, TY, CU) = both(a, b, ga, gb, u)

    g = scalar(f)
    close(func.grad(g, argnums=(0, 1))(x, y), tf.grad(g, argnums=(0, 1))(X, Y), "grad")
    close(func.grad(g, argnums=1)(x, y), tf.grad(g, argnums=1)(X, Y), "grad argnums=1")
    close(func.grad_and_value(g)(x, y), tf.grad_and_value(g)(X, Y), "grad_and_value")

    out, vjp_fn = func.vjp(f, x, y)
    OUT, VJP = tf.vjp(f, X, Y)
    close(out, OUT, "vjp output")
    close(vjp_fn(cu), VJP(CU), "vjp")
    close(vjp_fn(cu * 2.0), VJP(CU * 2.0), "vjp called again")

    close(func.jvp(f, (x, y), (tx, ty)), tf.jvp(f, (X, Y), (TX, TY)), "jvp")
    out, jvp_fn = func.linearize(f, x, y)
    OUT, JVP = tf.linearize(f, X, Y)
    close(out, OUT, "linearize output")
    close(jvp_fn(tx, ty), JVP(TX, TY), "linearize")
    close(jvp_fn(ty.sum() * tx, ty), JVP(TY.sum() * TX, TY), "linearize called again")
    assert not out.requires_grad and not jvp_fn(tx, ty).requires_grad


@pytest.mark.parametrize("seed", SEEDS)
def test_jacobians_and_hessians_match_torch_func(seed):
    f, sa, sb = random_function(seed)
    (x, y), (X, Y) = both(*arrays(seed, sa, sb))
    expected = tf.jacrev(f, argnums=(0, 1))(X, Y)
    close(func.jacrev(f, argnums=(0, 1))(x, y), expected, "jacrev")
    close(func.jacfwd(f, argnums=(0, 1))(x, y), expected, "jacfwd")
    close(func.jacfwd(f)(x, y), tf.jacfwd(f)(X, Y), "jacfwd argnums=0")
    g = scalar(f)
    hess = func.hessian(g, argnums=(0, 1))(x, y)
    close(hess, tf.hessian(g, argnums=(0, 1))(X, Y), "hessian")
    # composition: jacfwd(jacrev) is hessian, so is jacrev(jacrev) and jacfwd(jacfwd)
    close(func.jacrev(func.jacrev(g, argnums=(0, 1)), argnums=(0, 1))(x, y),
          tf.hessian(g, argnums=(0, 1))(X, Y), "jacrev(jacrev)")
    close(func.jacfwd(func.jacfwd(g))(x, y), tf.hessian(g)(X, Y), "jacfwd(jacfwd)")


@pytest.mark.parametrize("seed", SEEDS[:3])
def test_autograd_functional_matches_torch(seed):
    f, sa, sb = random_function(seed)
    a, b, ga, gb = arrays(seed, sa, sb, sa, sb)
    (u,) = arrays(seed + 50, np.broadcast_shapes(sa, sb))
    (x, y, tx, ty, cu), (X, Y, TX, TY, CU) = both(a, b, ga, gb, u)
    g = scalar(f)
    close(AF.jacobian(f, (x, y)), TAF.jacobian(f, (X, Y)), "jacobian")
    close(AF.jacobian(f, (x, y), strategy="forward-mode"),
          TAF.jacobian(f, (X, Y), vectorize=True, strategy="forward-mode"), "forward-mode")
    close(AF.jacobian(lambda t: f(t, y), x), TAF.jacobian(lambda t: f(t, Y), X), "one input")
    close(AF.hessian(g, (x, y)), TAF.hessian(g, (X, Y)), "hessian")
    close(AF.hessian(lambda t: g(t, y), x), TAF.hessian(lambda t: g(t, Y), X), "hessian 1")
    close(AF.vjp(f, (x, y), cu), TAF.vjp(f, (X, Y), CU), "vjp")
    close(AF.vjp(lambda t: g(t, y), x),
          TAF.vjp(lambda t: g(t, Y), X), "vjp v=None")
    close(AF.jvp(f, (x, y), (tx, ty)), TAF.jvp(f, (X, Y), (TX, TY)), "jvp")
    close(AF.hvp(g, (x, y), (tx, ty)), TAF.hvp(g, (X, Y), (TX, TY)), "hvp")
    close(AF.vhp(g, (x, y), (tx, ty)), TAF.vhp(g, (X, Y), (TX, TY)), "vhp")
    close(AF.hvp(lambda t: g(t, y), x, tx), TAF.hvp(lambda t: g(t, Y), X, TX), "hvp 1")


def test_autograd_functional_create_graph_and_strict_as_torch():
    x = tg.tensor([0.5, -1.0, 2.0], requires_grad=True)
    X = torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64, requires_grad=True)
    jac = AF.jacobian(lambda t: t.sin() * t, x, create_graph=True)
    JAC = TAF.jacobian(lambda t: t.sin() * t, X, create_graph=True)
    assert jac.requires_grad and JAC.requires_grad
    jac.sum().backward()
    JAC.sum().backward()
    assert_close(x.grad, X.grad, "through jacobian(create_graph=True)")
    assert not AF.jacobian(lambda t: t.sin(), x).requires_grad
    with pytest.raises(RuntimeError, match="independent of input 1"):
        AF.jacobian(lambda s, t: s.sin(), (x, x), strict=True)
    with pytest.raises(RuntimeError, match="independent of input 1"):
        TAF.jacobian(lambda s, t: s.sin(), (X, X), strict=True)
    close(AF.jacobian(lambda s, t: s.sin(), (x, x)), TAF.jacobian(lambda s, t: s.sin(), (X, X)))


@pytest.mark.parametrize("seed", SEEDS[:3])
def test_vmap_matches_torch_and_a_loop(seed):
    f, sa, sb = random_function(seed)
    batch = 3
    a, b, bb = arrays(seed, (batch,) + sa, sb, sb + (batch,))
    (xs, y, ys_last), (XS, Y, YS_LAST) = both(a, b, bb)
    close(func.vmap(f, in_dims=(0, None))(xs, y), tf.vmap(f, in_dims=(0, None))(XS, Y), "vmap")
    close(func.vmap(f, in_dims=(0, -1), out_dims=-1)(xs, ys_last),
          tf.vmap(f, in_dims=(0, -1), out_dims=-1)(XS, YS_LAST), "in_dims -1, out_dims -1")
    pair = lambda s, t: (f(s, t), f(s, t).sum())  # noqa: E731
    close(func.vmap(pair, in_dims=(0, None), out_dims=(1, 0))(xs, y),
          tf.vmap(pair, in_dims=(0, None), out_dims=(1, 0))(XS, Y), "tuple out_dims")
    # per-example gradients: vmap(grad) equals torch's and a loop of grad
    g = scalar(f)
    per_example = func.vmap(func.grad(g, argnums=1), in_dims=(0, None))(xs, y)
    close(per_example, tf.vmap(tf.grad(g, argnums=1), in_dims=(0, None))(XS, Y), "vmap(grad)")
    loop = tg.stack([func.grad(g, argnums=1)(xs[k], y) for k in range(batch)])
    assert_close(per_example, loop, "vmap(grad) vs a loop")
    # nested dict inputs with a nested in_dims
    d = lambda p: (p["w"] * p["x"]).sin()  # noqa: E731
    close(func.vmap(d, in_dims=({"w": None, "x": 0},))({"w": y, "x": xs}),
          tf.vmap(d, in_dims=({"w": None, "x": 0},))({"w": Y, "x": XS}), "dict in_dims")


def test_pytrees_aux_and_nested_transforms_match_torch_func():
    rng = np.random.default_rng(7)
    w, x, v = rng.standard_normal(3), rng.standard_normal(3), rng.standard_normal(3)
    (tw, tx, tv), (TW, TX, TV) = both(w, x, v)

    def loss(params, data):
        return ((params["w"] * data).sin() * params["b"]).sum()

    p, P = {"w": tw, "b": tv}, {"w": TW, "b": TV}
    close(func.grad(loss)(p, tx), tf.grad(loss)(P, TX), "dict params")

    def with_aux(s):
        return (s.exp() * s).sum(), {"double": s * 2}

    close(func.grad(with_aux, has_aux=True)(tx), tf.grad(with_aux, has_aux=True)(TX), "aux")
    close(func.vjp(with_aux, tx, has_aux=True)[2], tf.vjp(with_aux, TX, has_aux=True)[2])
    close(func.jvp(with_aux, (tx,), (tv,), has_aux=True),
          tf.jvp(with_aux, (TX,), (TV,), has_aux=True), "jvp aux")
    close(func.jacrev(lambda s: (s.sin(), {"c": s * s}))(tx),
          tf.jacrev(lambda s: (s.sin(), {"c": s * s}))(TX), "tuple and dict outputs")

    # grad of a function of a gradient (a gradient penalty), through a closure
    def penalty(s):
        inner = func.grad(lambda t: (t * t * s).sin().sum())(tx)
        return (inner * inner).sum()

    def PENALTY(s):
        inner = tf.grad(lambda t: (t * t * s).sin().sum())(TX)
        return (inner * inner).sum()

    close(func.grad(penalty)(tw), tf.grad(PENALTY)(TW), "grad through grad's closure")
    cube = lambda s: (s ** 3).sin().sum()  # noqa: E731
    close(func.grad(func.grad(lambda s: (s ** 3).sin()))(tx[1]),
          tf.grad(tf.grad(lambda s: (s ** 3).sin()))(TX[1]), "grad(grad)")
    close(func.grad(lambda s: (func.grad(cube)(s) ** 2).sum())(tx),
          tf.grad(lambda s: (tf.grad(cube)(s) ** 2).sum())(TX), "grad of a norm of grad")
    close(func.jacrev(func.grad(cube))(tx), tf.hessian(cube)(TX), "jacrev(grad)")
    close(func.vmap(func.jacrev(lambda s: s.sin() * s.sum()))(tx.reshape(3, 1)),
          tf.vmap(tf.jacrev(lambda s: s.sin() * s.sum()))(TX.reshape(3, 1)), "vmap(jacrev)")


def test_transforms_compose_with_ordinary_autograd_as_torch():
    """A transform's result stays differentiable with respect to tensors outside it."""
    x = tg.tensor([0.3, -0.7, 1.1], requires_grad=True)
    X = torch.tensor([0.3, -0.7, 1.1], dtype=torch.float64, requires_grad=True)
    w = tg.tensor(1.5, requires_grad=True)
    W = torch.tensor(1.5, dtype=torch.float64, requires_grad=True)
    g = func.grad(lambda t: (w * t * t).sin().sum())(x)
    G = tf.grad(lambda t: (W * t * t).sin().sum())(X)
    assert g.requires_grad and G.requires_grad
    (g * g).sum().backward()
    (G * G).sum().backward()
    assert_close(x.grad, X.grad, "x.grad")
    assert_close(w.grad, W.grad, "w.grad")
    t = tg.tensor([1.0, 2.0, 0.5])
    _, jt = func.jvp(lambda s: s.sin() * w, (x,), (t,))
    _, JT = tf.jvp(lambda s: s.sin() * W, (X,), (torch.tensor([1.0, 2.0, 0.5],
                                                              dtype=torch.float64),))
    assert jt.requires_grad and JT.requires_grad
    w.grad, W.grad = None, None
    jt.sum().backward()
    JT.sum().backward()
    assert_close(w.grad, W.grad, "w.grad through jvp")
    # nothing outside requires grad: plain results, as torch.func
    plain = tg.tensor([0.3, -0.7, 1.1])
    assert not func.grad(lambda s: (s ** 3).sum())(plain).requires_grad
    with tg.no_grad():  # a surrounding no_grad does not stop the transform
        assert_close(func.grad(lambda s: (s ** 3).sum())(plain), 3 * X.detach() ** 2)
