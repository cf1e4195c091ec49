"""Fit y = 2·x1 + 51·x2 + 21.2 with mini-batch SGD: the MXNet article, on the engine.

The article draws 300 examples of two standard-normal features, makes
y = X·[2, 51] + 21.2 + 0.01·N(0, 1), starts from w = random_normal(2), b = 0, and
trains for 10 epochs over shuffled batches of 10 (its ``data_iter``) with step size
0.01: ``param[:] = param - eta * param.grad``. Here the same loop runs on the
engine: LinearRegressor holds w, b and the loss, BatchIterator is data_iter, SGD the
update, backward() gives the gradients. (LinearRegressor.fit does all of it in one
call; the loop is written out so that it can stop at the first batch that blows up.)

The article shows its loss only as a picture ("mean squared error"). We use the
articles' ½ Σ (ŷ − y)² over each batch; without the ½ the steps would be twice as
long and training would converge just as well. Being a sum, it makes a step grow with
the batch: with --batch-size 300 (one batch of all the examples) a step is 30 times
the article's and lr 0.01 diverges. Training stops then, at the first batch whose loss
is above the loss of all 300 examples at the start (for a lr that works, the loss
only falls), and suggests a learning rate computed from the data and the batch size.

Its plot puts x2 on the horizontal axis and y on the vertical for 50 examples, the
model's estimate as red circles and the truth as green stars; we draw that before
training, after the first epoch and at the end, plus the loss per epoch.

Run:  python demos/linear_regression.py [--epochs 10] [--lr 0.01] [--seed 0]
                                        [--batch-size 10] [--out out] [--no-plot]
"""

from __future__ import annotations

import argparse
import math

import numpy as np
from _common import (
    diverged,
    lr_advice,
    make_parser,
    positive_int,
    pyplot,
    run_demo,
    save,
    stable_lr,
)

from tinygrad_edu.data import BatchIterator
from tinygrad_edu.models import DivergenceError, History, LinearRegressor, linear_optimum
from tinygrad_edu.optim import SGD

TRUE_W = np.array([2.0, 51.0])
TRUE_B = 21.2


def make_data(seed: int, n: int = 300) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """X (n, 2) standard normal, y = X·true_w + true_b + 0.01·noise, and the starting
    w (standard normal, as the article's nd.random_normal(shape=2))."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 2))
    y = X @ TRUE_W + TRUE_B + 0.01 * rng.standard_normal(n)
    w0 = rng.standard_normal(2)
    return X, y, w0


def parameter_table(rows: list[tuple[str, np.ndarray, float]]) -> str:
    """Rows of name, w1, w2, b under a header; the columns widen for wide numbers
    and are always apart by at least one space."""
    def number(v: float) -> str:
        return f"{v:.4f}" if abs(v) < 1e9 else f"{v:.4e}"

    cells = [[number(v) for v in (*w, b)] for _, w, b in rows]
    width = max(9, *(len(cell) for row in cells for cell in row))
    lines = [" " * 16 + "".join(" " + head.rjust(width) for head in ("w1", "w2", "b"))]
    for (name, _, _), row in zip(rows, cells):
        lines.append(f"{name:16}" + "".join(" " + cell.rjust(width) for cell in row))
    return "\n".join(lines)


def train(model: LinearRegressor, X: np.ndarray, y: np.ndarray,
          args: argparse.Namespace) -> History:
    """The article's loop, printing the parameters and the loss after every epoch;
    DivergenceError at the first batch whose loss is not finite or above the loss of
    all the examples at the start."""
    batches = BatchIterator(X, y, batch_size=args.batch_size, seed=args.seed)
    optimizer = SGD(model.parameters(), lr=args.lr)
    start = model.loss(X, y).item()
    history = History(w=[model.w.numpy().copy()], b=[model.b.numpy().copy()])
    with np.errstate(over="ignore", invalid="ignore"):  # a blow-up is caught below
        for epoch in range(args.epochs):
            total = 0.0
            for xb, yb in batches:
                loss = model.loss(xb, yb)  # ½ Σ (ŷ − y)² over the batch
                if not loss.item() <= start:
                    raise blown_up(epoch, loss.item(), start, X, args)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()  # param -= lr * param.grad
                total += loss.item()
            history.loss.append(total)
            history.lr.append(args.lr)
            history.w.append(model.w.numpy().copy())
            history.b.append(model.b.numpy().copy())
            (w1, w2), b = model.w.numpy(), model.b.item()
            print(f"Epoch {epoch}: w=[{w1:.4f}, {w2:.4f}], b={b:.4f}, Loss={total:.4f}")
    return history


def blown_up(epoch: int, loss: float, start: float, X: np.ndarray,
             args: argparse.Namespace) -> DivergenceError:
    if math.isfinite(loss):
        what = (f"the loss of a batch grew to {loss:.3g}, above the {start:.4g} of all "
                f"{len(X)} examples at the start")
    else:
        what = "the loss of a batch became inf or NaN"
    if args.batch_size > 10:
        what += (" (the loss adds up the batch, so a step grows with --batch-size: it is "
                 f"{args.batch_size / 10:g} times the article's here)")
    one_batch = args.batch_size >= len(X)  # plain gradient descent: the bound is exact
    batch_size = None if one_batch else args.batch_size
    bound = stable_lr(np.column_stack([X, np.ones(len(X))]), batch_size)  # rows [xᵢ, 1]
    return diverged(epoch, what, args.lr, lr_advice(bound, batch_size))


def main(argv: list[str] | None = None) -> dict:
    parser = make_parser(__doc__, epochs=10, lr=0.01, seed=0)
    parser.add_argument("--batch-size", type=positive_int, default=10,
                        help="examples per batch (default 10)")
    args = parser.parse_args(argv)

    X, y, w0 = make_data(args.seed)
    print(f"300 examples, y = 2·x1 + 51·x2 + 21.2 + 0.01·noise (seed {args.seed}); "
          f"batch {args.batch_size}, lr {args.lr}, {args.epochs} epochs")
    if args.epochs == 1:
        print("(only 1 epoch, so progress is printed after it)")
    elif args.epochs <= 10:
        print(f"(only {args.epochs} epochs, so progress is printed after every one)")
    print()
    model = LinearRegressor(2, w=w0, b=0.0)
    history = train(model, X, y, args)

    best_w, best_b = linear_optimum(X, y)
    w, b = model.w.numpy().copy(), model.b.item()
    print()
    print(parameter_table([("true", TRUE_W, TRUE_B), ("learned", w, b),
                           ("least squares", best_w, best_b)]))
    print(f"largest error of the learned parameters: "
          f"{max(np.max(np.abs(w - TRUE_W)), abs(b - TRUE_B)):.4f}")

    result = {"X": X, "y": y, "history": history, "w": w, "b": b, "best_w": best_w,
              "best_b": best_b}
    if not args.no_plot:
        result["png"] = plot(X, history, args)
    return result


def plot(X: np.ndarray, history, args) -> object:
    plt = pyplot()
    fig, axes = plt.subplots(1, 4, figsize=(17, 4.2))
    shown = X[:50]  # the article's sample_size=50
    truth = shown @ TRUE_W + TRUE_B
    snapshots = [(0, "before training")]
    if args.epochs > 1:
        snapshots.append((1, "after epoch 1"))
    snapshots.append((args.epochs, f"after epoch {args.epochs}"))
    for ax, (epoch, title) in zip(axes, snapshots):
        estimate = shown @ history.w[epoch] + history.b[epoch]
        ax.plot(shown[:, 1], estimate, "or", label="estimate X·w + b")
        ax.plot(shown[:, 1], truth, "*g", label="truth 2·x1 + 51·x2 + 21.2 (no noise)")
        ax.set_title(f"{title}: w = [{history.w[epoch][0]:.2f}, {history.w[epoch][1]:.2f}], "
                     f"b = {history.b[epoch][0]:.2f}", fontsize=9)
        ax.set_xlabel("$x_2$")
        ax.set_ylabel("y")
        ax.legend(loc="upper left", fontsize=8)
    for ax in axes[len(snapshots):-1]:
        ax.axis("off")

    ax_loss = axes[-1]
    ax_loss.plot(np.arange(len(history.loss)), history.loss, "o-", color="tab:red",
                 label="½Σ(ŷ − y)² summed over the epoch's batches")
    ax_loss.set_yscale("log")
    ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel("loss (log scale)")
    ax_loss.legend(fontsize=7)
    ax_loss.set_title("loss per epoch (sum over its batches)", fontsize=9)
    ax_loss.grid(alpha=0.3, which="both")

    fig.tight_layout()
    return save(fig, args.out, "linear_regression.png")


if __name__ == "__main__":
    run_demo(main)
