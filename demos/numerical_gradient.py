"""Numerical gradients (central differences) against the engine's, on a linear model.

The article on numerical gradients trains y = x·w + b by gradient descent with

    dL/dθ ≈ (L(θ + h) − L(θ − h)) / 2h,   h = 1e-6,

the central difference: no calculus needed, only the loss. Here the data are the
article's five targets y = [1, −1, 1, −1, 1] with five random features per example,
the model is LinearRegressor (ŷ = X·w + b, L = ½ Σ (ŷ − y)²), and we

1. compute the gradient at the start three ways (engine backward, central differences
   with h = 1e-6, the hand formula Xᵀ(ŷ − y), Σ(ŷ − y)) and their relative error;
2. sweep h from 1e-1 to 1e-13 and plot the error on log-log axes. Two errors compete:
   truncation (the formula is only exact as h → 0) and rounding (L(θ ± h) carry
   float64 rounding of about ε·|L|, ε = 2.2e-16, and we divide by h). The forward
   difference (L(θ + h) − L(θ))/h has truncation error h/2·L'', so its error is a V
   with the bottom near h = sqrt(ε) ≈ 1e-8. The central difference's truncation error
   is h²/6·L''', and L''' = 0 for this quadratic loss: only the rounding branch is
   left, so h = 1e-6 is already good to about 1e-10;
3. train twice from the same start, with the numerical gradient and with backward(),
   and print the largest difference between the two parameter trajectories.

One difference from the article: its compute_gradients adds h to all five weights at
once (w + h), which measures the slope along the direction (1, 1, 1, 1, 1), not the
five partial derivatives. We move one coordinate at a time, as a gradient needs.

Run:  python demos/numerical_gradient.py [--epochs 100] [--lr 0.1] [--seed 0]
                                         [--out out] [--no-plot]
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from _common import advice_on_divergence, lr_advice, make_parser, pyplot, run_demo, save, stable_lr

from tinygrad_edu.models import LinearRegressor, linear_grads

H = 1e-6  # the article's step


def make_data(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Five examples of five uniform features, the article's targets, and a starting
    w, b drawn from the standard normal (the article's initialize_parameters)."""
    rng = np.random.default_rng(seed)
    X = rng.random((5, 5))
    y = np.array([1, -1, 1, -1, 1], dtype=np.float64)
    w = rng.standard_normal(5)
    b = rng.standard_normal(1)
    return X, y, w, b


def numerical_gradient(loss: Callable[..., float], params: list[np.ndarray], h: float,
                       central: bool = True) -> list[np.ndarray]:
    """The slope of loss(*params) along each coordinate, one at a time:

        central: (L(θ + h·e_k) − L(θ − h·e_k)) / 2h
        forward: (L(θ + h·e_k) − L(θ)) / h

    Each parameter array is nudged in place and put back.
    (tinygrad_edu.numerical_grad does the central version for tensors.)
    """
    grads = []
    for p in params:
        g = np.zeros_like(p)
        for k in np.ndindex(p.shape):
            old = p[k]
            p[k] = old + h
            up = loss(*params)
            p[k] = old - h if central else old
            down = loss(*params)
            p[k] = old
            g[k] = (up - down) / (2 * h if central else h)
        grads.append(g)
    return grads


def relative_error(a: list[np.ndarray], b: list[np.ndarray]) -> float:
    """|a − b| / |b| over all parameters together (|·|: the Euclidean length)."""
    a, b = np.concatenate([g.ravel() for g in a]), np.concatenate([g.ravel() for g in b])
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def main(argv: list[str] | None = None) -> dict:
    args = make_parser(__doc__, epochs=100, lr=0.1, seed=0).parse_args(argv)
    X, y, w0, b0 = make_data(args.seed)

    def loss(w: np.ndarray, b: np.ndarray) -> float:
        """The model's loss in plain NumPy: all a numerical gradient needs."""
        residual = X @ w + b - y
        return 0.5 * float(residual @ residual)

    # 1. one gradient, three ways
    model = LinearRegressor(5, w=w0, b=b0)
    model.loss(X, y).backward()
    engine = [model.w.grad.numpy().copy(), model.b.grad.numpy().copy()]
    numeric = numerical_gradient(loss, [w0.copy(), b0.copy()], H)
    hand_w, hand_b = linear_grads(X, y, w0, b0)
    print(f"gradient of L = ½ Σ (X·w + b − y)² at the start (h = {H:g}):")
    print(f"{'':6}{'backward()':>18}{'central diff.':>18}{'Xᵀ(ŷ−y), Σ(ŷ−y)':>18}")
    names = [f"w[{k}]" for k in range(5)] + ["b"]
    rows = zip(names, np.concatenate(engine), np.concatenate(numeric),
               np.append(hand_w, hand_b))
    for name, e, n, by_hand in rows:
        print(f"{name:6}{e:18.10f}{n:18.10f}{by_hand:18.10f}")
    error = relative_error(numeric, engine)
    print(f"relative error |numeric − backward| / |backward| = {error:.2e}")
    hand_error = relative_error([hand_w, np.array([hand_b])], engine)
    print(f"relative error |by hand − backward| / |backward| = {hand_error:.2e}")

    # 2. the error against h
    steps = np.logspace(-1, -13, 25)
    sweep = {kind: [relative_error(numerical_gradient(loss, [w0.copy(), b0.copy()], h,
                                                      central=kind == "central"), engine)
                    for h in steps]
             for kind in ("forward", "central")}
    best = steps[int(np.argmin(sweep["forward"]))]
    print(f"\nforward differences are best near h = {best:.0e} "
          f"(error {min(sweep['forward']):.1e}); central differences at h = 1e-1 already "
          f"have error {sweep['central'][0]:.1e}: no truncation error for a quadratic loss")

    # 3. gradient descent with each gradient (backward() first: it stops with a clear
    # error if --lr is so large that training diverges)
    model = LinearRegressor(5, w=w0, b=b0)
    bound = stable_lr(np.column_stack([X, np.ones(len(X))]))  # A: the rows [xᵢ, 1]
    with advice_on_divergence(lr_advice(bound)):
        history = model.fit(X, y, lr=args.lr, epochs=args.epochs, log_every=None)
    print(f"\ngradient descent, lr {args.lr}, {args.epochs} steps, numerical gradients "
          "(the article's printout):")
    w, b = w0.copy(), b0.copy()
    numeric_w, numeric_b, numeric_loss = [w.copy()], [b.copy()], []
    for i in range(args.epochs):
        numeric_loss.append(loss(w, b))
        grad_w, grad_b = numerical_gradient(loss, [w, b], H)
        w -= args.lr * grad_w
        b -= args.lr * grad_b
        numeric_w.append(w.copy())
        numeric_b.append(b.copy())
        if i % 10 == 0:
            print("Iteration", i, "Loss:", numeric_loss[-1])
    gap = max(np.max(np.abs(np.array(numeric_w) - np.array(history.w))),
              np.max(np.abs(np.array(numeric_b) - np.array(history.b))))
    print(f"final loss: numerical gradients {loss(w, b):.3e}, backward() "
          f"{model.loss(X, y).item():.3e}")
    print(f"largest difference between the two parameter trajectories: {gap:.1e}")

    result = {"engine": engine, "numeric": numeric, "hand": (hand_w, hand_b),
              "relative_error": error, "hand_error": hand_error, "steps": steps,
              "sweep": sweep, "trajectory_gap": gap, "numeric_loss": numeric_loss,
              "history": history}
    if not args.no_plot:
        result["png"] = plot(steps, sweep, numeric_loss, history, loss(w0, b0), args)
    return result


def plot(steps, sweep, numeric_loss, history, start_loss, args) -> object:
    plt = pyplot()
    fig, (ax_h, ax_loss) = plt.subplots(1, 2, figsize=(12, 4.6))
    eps = np.finfo(np.float64).eps
    ax_h.loglog(steps, sweep["forward"], "o-", color="tab:blue",
                label="forward  (L(θ+h) − L(θ)) / h")
    ax_h.loglog(steps, sweep["central"], "s-", color="tab:red",
                label="central  (L(θ+h) − L(θ−h)) / 2h")
    # the two error terms, scaled to meet the forward curve at its ends
    ax_h.loglog(steps, sweep["forward"][0] * steps / steps[0], ":", color="gray",
                label="truncation ∝ h")
    ax_h.loglog(steps, sweep["forward"][-1] * steps[-1] / steps, "--", color="gray",
                label="rounding ∝ ε/h")
    ax_h.axvline(np.sqrt(eps), color="tab:blue", alpha=0.3, linewidth=4)
    ax_h.axvline(H, color="tab:red", alpha=0.3, linewidth=4)
    # labels just inside the top of the frame (x in data units, y in axes units)
    top = ax_h.get_xaxis_transform()
    ax_h.text(np.sqrt(eps), 0.97, " √ε", va="top", ha="left", color="tab:blue", transform=top)
    ax_h.text(H, 0.97, " h = 1e-6", va="top", ha="left", color="tab:red", transform=top)
    ax_h.set_xlabel("step h")
    ax_h.set_ylabel("relative error of the gradient")
    ax_h.set_title("numerical vs backward() gradient: the V of forward differences")
    ax_h.legend(fontsize=8, loc="lower left")
    ax_h.grid(alpha=0.3, which="both")

    epochs = np.arange(len(numeric_loss))
    ax_loss.semilogy(epochs, numeric_loss, color="tab:orange", linewidth=4, alpha=0.6,
                     label="numerical gradients (h = 1e-6)")
    ax_loss.semilogy(epochs, history.loss, "k--", label="backward()")
    ax_loss.set_xlabel("step")
    ax_loss.set_ylabel("loss (log scale)")
    ax_loss.set_title(f"gradient descent, lr {args.lr}: the two runs coincide "
                      f"(start loss {start_loss:.2f})", fontsize=10)
    ax_loss.legend()
    ax_loss.grid(alpha=0.3, which="both")

    fig.tight_layout()
    return save(fig, args.out, "numerical_gradient.png")


if __name__ == "__main__":
    run_demo(main)
