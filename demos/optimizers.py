"""The NumPy article's extensions (step decay, L2, momentum) and Adam, on y = w·x² + b.

Same data, start and lr as the quadratic demo (seed 100, lr 0.001, 800 full-batch
steps). The article sketches three changes to plain gradient descent:

step decay   ``if epoch % 200 == 0: lr *= 0.8``. That is StepLR(step_size=200,
             gamma=0.8), with one difference: the article's test is also true at
             epoch 0, so it decays before the first step; StepLR (as PyTorch's)
             keeps the starting lr for epochs 0-199.
L2           loss + ½·λ·w², λ = 0.01: its gradient adds λ·w to dL/dw, which is SGD's
             weight_decay=λ, here on w only (a parameter group), as the article
             penalises only w. Written literally, ``0.5*(y_pred-y)**2 +
             0.5*lambda_reg*(w**2)`` broadcasts the penalty onto each of the 100
             squared errors before the sum, i.e. 100·λ; we add it once.
momentum     v = β·v + (1 − β)·g, w -= lr·v, β = 0.9. PyTorch's SGD writes
             v = β·v + g; the article's rule is SGD(lr=(1 − β)·lr, momentum=β), step
             for step up to rounding (see tinygrad_edu/optim/), which we check. Its
             steady-state step is lr·g, so it converges at the rate of plain gradient
             descent; PyTorch's form with the same lr takes 1/(1 − β) = 10 times
             longer steps and reaches the minimum well within 800 steps.
Adam         not in the article; PyTorch's formulas, with its own lr (--adam-lr).

Prints a table of the final w, b and loss, and plots the loss curves, the loss above
the least-squares minimum, and each method's path over the loss surface.

Run:  python demos/optimizers.py [--epochs 800] [--lr 0.001] [--adam-lr 0.05]
                                 [--seed 100] [--out out] [--no-plot]
"""

from __future__ import annotations

import contextlib

import numpy as np
from _common import (
    advice_on_divergence,
    lr_advice,
    make_parser,
    positive_float,
    pyplot,
    run_demo,
    save,
    stable_lr,
)
from quadratic_regression import article_data

from tinygrad_edu.models import QuadraticRegressor, quadratic_grads, quadratic_optimum
from tinygrad_edu.optim import SGD, Adam, StepLR

BETA = 0.9  # the article's momentum coefficient
LAMBDA = 0.01  # the article's L2 coefficient


def article_momentum(x, y, w, b, lr: float, epochs: int) -> tuple[list, list]:
    """The article's momentum loop by hand: v = β·v + (1 − β)·g, p -= lr·v."""
    w, b = w.copy(), b.copy()
    v_w, v_b = 0.0, 0.0
    ws, bs = [w.copy()], [b.copy()]
    for _ in range(epochs):
        grad_w, grad_b = quadratic_grads(x, y, w, b)
        v_w = BETA * v_w + (1 - BETA) * grad_w
        v_b = BETA * v_b + (1 - BETA) * grad_b
        w -= lr * v_w
        b -= lr * v_b
        ws.append(w.copy())
        bs.append(b.copy())
    return ws, bs


def methods(lr: float, adam_lr: float) -> list[tuple[str, str, object]]:
    """(name, settings, function making the optimizer and scheduler for a model)."""

    def plain(m):
        return SGD(m.parameters(), lr=lr), None

    def step_decay(m):
        optimizer = SGD(m.parameters(), lr=lr)
        return optimizer, StepLR(optimizer, step_size=200, gamma=0.8)

    def l2(m):
        return SGD([{"params": [m.w], "weight_decay": LAMBDA}, {"params": [m.b]}], lr=lr), None

    def momentum_article(m):
        return SGD(m.parameters(), lr=(1 - BETA) * lr, momentum=BETA), None

    def momentum_pytorch(m):
        return SGD(m.parameters(), lr=lr, momentum=BETA), None

    def adam(m):
        return Adam(m.parameters(), lr=adam_lr), None

    return [
        ("gradient descent", f"SGD(lr={lr:g})", plain),
        ("step decay", "StepLR(step_size=200, gamma=0.8)", step_decay),
        ("L2 on w", f"weight_decay={LAMBDA:g} on w", l2),
        ("momentum, article", f"SGD(lr={(1 - BETA) * lr:g}, momentum={BETA:g})",
         momentum_article),
        ("momentum, PyTorch", f"SGD(lr={lr:g}, momentum={BETA:g})", momentum_pytorch),
        ("Adam", f"Adam(lr={adam_lr:g})", adam),
    ]


def main(argv: list[str] | None = None) -> dict:
    parser = make_parser(__doc__, epochs=800, lr=0.001, seed=100)
    parser.add_argument("--adam-lr", type=positive_float, default=0.05,
                        help="Adam's learning rate (default 0.05)")
    args = parser.parse_args(argv)
    x, y, w0, b0 = article_data(args.seed)
    best_w, best_b = quadratic_optimum(x, y)
    best_loss = QuadraticRegressor(best_w, best_b).loss(x, y).item()

    # --lr's methods are all stable below half the bound of plain gradient descent
    advice = lr_advice(stable_lr(np.column_stack([x ** 2, np.ones_like(x)])))
    runs = {}
    for name, settings, make in methods(args.lr, args.adam_lr):
        model = QuadraticRegressor(w=w0, b=b0)
        optimizer, scheduler = make(model)
        # Adam's step is not lr·gradient: the bound says nothing about --adam-lr
        with contextlib.nullcontext() if name == "Adam" else advice_on_divergence(advice):
            history = model.fit(x, y, epochs=args.epochs, optimizer=optimizer,
                                scheduler=scheduler, log_every=None)
        runs[name] = {"settings": settings, "history": history, "w": model.w.item(),
                      "b": model.b.item(), "loss": model.loss(x, y).item()}

    print(f"y = w·x² + b, seed {args.seed}, start w = {w0.item():.4f}, b = {b0.item():.4f}, "
          f"{args.epochs} full-batch steps\n")
    print(f"{'method':20}{'settings':36}{'w':>9}{'b':>9}{'loss':>11}{'loss − min':>12}")
    for name, run in runs.items():
        print(f"{name:20}{run['settings']:36}{run['w']:9.4f}{run['b']:9.4f}"
              f"{run['loss']:11.6f}{run['loss'] - best_loss:12.2e}")
    print(f"{'least squares':20}{'closed form (normal equations)':36}{best_w:9.4f}"
          f"{best_b:9.4f}{best_loss:11.6f}")

    hand_w, hand_b = article_momentum(x, y, w0, b0, args.lr, args.epochs)
    history = runs["momentum, article"]["history"]
    gap = max(np.max(np.abs(np.array(hand_w) - np.array(history.w))),
              np.max(np.abs(np.array(hand_b) - np.array(history.b))))
    print(f"\nthe article's momentum loop (v = βv + (1−β)g, lr {args.lr:g}) vs "
          f"SGD(lr={(1 - BETA) * args.lr:g}, momentum={BETA:g}): largest difference "
          f"{gap:.1e}")
    lrs = runs["step decay"]["history"].lr
    changes = [e for e in range(1, len(lrs)) if lrs[e] != lrs[e - 1]]
    print("step decay: lr " + ", ".join(f"{lrs[e]:.6g} from epoch {e}" for e in [0] + changes))

    result = {"runs": runs, "best_w": best_w, "best_b": best_b, "best_loss": best_loss,
              "momentum_gap": gap}
    if not args.no_plot:
        result["png"] = plot(x, y, runs, best_w, best_b, best_loss, args)
    return result


def plot(x, y, runs, best_w, best_b, best_loss, args) -> object:
    plt = pyplot()
    fig, (ax_loss, ax_excess, ax_path) = plt.subplots(1, 3, figsize=(17, 4.8))
    colors = dict(zip(runs, ["black", "tab:orange", "tab:green", "tab:blue", "tab:purple",
                             "tab:red"]))
    styles = {"L2 on w": "--"}
    for name, run in runs.items():
        loss = np.array(run["history"].loss)
        style = {"color": colors[name], "linestyle": styles.get(name, "-"), "label": name}
        ax_loss.plot(loss, **style)
        # the loss above the minimum; floored so exact hits stay on the log scale
        ax_excess.plot(np.maximum(loss - best_loss, 1e-16), **style)
        # plain gradient descent last and on top: the others start along its path
        plain = name == "gradient descent"
        ax_path.plot(np.ravel(run["history"].w), np.ravel(run["history"].b),
                     color=colors[name], linestyle=":" if plain else styles.get(name, "-"),
                     linewidth=2.2 if plain else 1.2, zorder=3 if plain else 2, label=name)

    ax_loss.axhline(best_loss, color="gray", linestyle=":", label="least-squares minimum")
    ax_loss.set_yscale("log")
    ax_loss.set_title("loss ½Σ(ŷ − y)²")
    ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel("loss (log scale)")
    ax_loss.legend(fontsize=8)
    ax_excess.set_yscale("log")
    ax_excess.set_title("loss − least-squares minimum")
    ax_excess.set_xlabel("epoch")
    ax_excess.set_ylabel("loss − minimum (log scale)")
    for ax in (ax_loss, ax_excess):
        ax.grid(alpha=0.3, which="both")

    # contours of the loss over (w, b), and where each method went
    ws, bs = np.meshgrid(np.linspace(0.5, 3.5, 121), np.linspace(0.5, 4.0, 141))
    residual = np.power(x.reshape(1, 1, -1), 2) * ws[..., None] + bs[..., None] - \
        y.reshape(1, 1, -1)
    surface = 0.5 * np.sum(residual ** 2, axis=-1)
    ax_path.contour(ws, bs, surface, levels=np.geomspace(0.2, 300, 15), colors="lightgray",
                    linewidths=0.8)
    start = runs["gradient descent"]["history"]
    ax_path.plot(start.w[0].item(), start.b[0].item(), "ko", label="start")
    ax_path.plot(best_w, best_b, "k*", markersize=12, label="least squares")
    ax_path.set_xlabel("w")
    ax_path.set_ylabel("b")
    ax_path.set_title("paths over the loss surface")
    ax_path.legend(fontsize=7, loc="upper left", ncol=2)

    fig.tight_layout()
    return save(fig, args.out, "optimizers.png")


if __name__ == "__main__":
    run_demo(main)
