"""An MLP sorts the points of a three-armed spiral into its three arms.

Three classes need three outputs: the network gives one logit per class, softmax
turns them into probabilities, and CrossEntropyLoss, -log softmax(z)[true class], is
minimised with Adam. The arms wind around each other, so the boundary the network
learns has to wind as well.

Run:  python demos/mlp_spiral.py [--epochs 500] [--lr 0.01] [--seed 0]
                                 [--out out] [--no-plot]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from _common import make_parser, plot_training_curves, pyplot, save

import tinygrad_edu as tg
from tinygrad_edu import nn
from tinygrad_edu.optim import Adam

CLASSES = 3
COLORS = ("tab:blue", "tab:red", "tab:green")


def make_spiral(per_class: int, classes: int, noise: float,
                rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Arm k: points r * (cos a, sin a) with radius r from 0 to 1 and angle

        a = 2 pi k / classes + 6 r  (+ noise)

    so every arm starts at the centre, turned by 1/classes of a circle from the
    previous one, and winds 6 radians (almost a full turn) on its way out. The
    noise is in the angle, so near the centre, where the arms are close, they mix.
    """
    points, labels = [], []
    for k in range(classes):
        r = np.linspace(0.05, 1.0, per_class)
        angle = 2 * np.pi * k / classes + 6.0 * r + rng.normal(0.0, noise, per_class)
        points.append(np.stack([r * np.cos(angle), r * np.sin(angle)], axis=1))
        labels.append(np.full(per_class, k))
    return np.concatenate(points), np.concatenate(labels)


def make_model() -> nn.Module:
    return nn.Sequential(
        nn.Linear(2, 64), nn.ReLU(),
        nn.Linear(64, 64), nn.ReLU(),
        nn.Linear(64, CLASSES),  # one logit per class; the loss applies log_softmax
    )


def accuracy(logits: tg.Tensor, labels: np.ndarray) -> float:
    return (logits.argmax(dim=1) == labels).float().mean().item()  # the most likely class


def train(args: argparse.Namespace) -> dict:
    rng = np.random.default_rng(args.seed)
    points, labels = make_spiral(100, CLASSES, noise=0.2, rng=rng)
    x = tg.tensor(points)  # already centred, with a spread of about 1/2

    tg.manual_seed(args.seed)
    model = make_model()
    loss_fn = nn.CrossEntropyLoss()
    optimizer = Adam(model.parameters(), lr=args.lr)
    print(model)
    print(f"{sum(p.numel() for p in model.parameters())} parameters, "
          f"{len(labels)} points in {CLASSES} classes\n")

    # losses[e], accuracies[e]: the model after e epochs (e = 0: before training); the
    # forward pass of epoch e + 1 measures them, one more after the last step
    losses, accuracies = [], []

    def measure(epoch: int, logits: tg.Tensor, loss: tg.Tensor) -> None:
        losses.append(loss.item())
        accuracies.append(accuracy(logits, labels))
        if epoch % 100 == 0 or epoch == args.epochs:
            print(f"epoch {epoch:5d}  loss {losses[-1]:.4f}  accuracy {accuracies[-1]:6.1%}")

    start = time.perf_counter()
    for epoch in range(args.epochs):
        logits = model(x)
        loss = loss_fn(logits, labels)  # labels: an integer ndarray of class indices
        measure(epoch, logits, loss)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    seconds = time.perf_counter() - start
    with tg.no_grad():
        logits = model(x)  # after the last step
        measure(args.epochs, logits, loss_fn(logits, labels))

    final = accuracies[-1]
    epochs = f"{args.epochs} epoch" + ("s" if args.epochs != 1 else "")
    print(f"\ntraining accuracy {final:.1%} after {epochs} in {seconds:.2f} s")
    return {"model": model, "points": points, "labels": labels, "losses": losses,
            "accuracies": accuracies, "accuracy": final, "seconds": seconds}


def plot(result: dict, out: Path) -> Path:
    plt = pyplot()  # matplotlib drawing into files
    from matplotlib.colors import ListedColormap

    points, labels = result["points"], result["labels"]
    low, high = points.min(axis=0) - 0.2, points.max(axis=0) + 0.2
    gx, gy = np.meshgrid(np.linspace(low[0], high[0], 250), np.linspace(low[1], high[1], 250))
    grid = np.stack([gx.ravel(), gy.ravel()], axis=1)
    with tg.no_grad():
        regions = result["model"](tg.tensor(grid)).argmax(axis=1).reshape(gx.shape)

    fig, (ax_data, ax_loss, ax_acc) = plt.subplots(1, 3, figsize=(15, 4.6))
    ax_data.contourf(gx, gy, regions, levels=np.arange(CLASSES + 1) - 0.5,
                     cmap=ListedColormap(COLORS), alpha=0.25)
    for k in range(CLASSES):
        chosen = labels == k
        ax_data.scatter(points[chosen, 0], points[chosen, 1], s=12, c=COLORS[k],
                        edgecolors="k", linewidths=0.3, label=f"class {k}")
    ax_data.set_title(f"predicted class regions, accuracy {result['accuracy']:.1%}")
    ax_data.set_aspect("equal")
    ax_data.set_xlabel("$x_1$")
    ax_data.set_ylabel("$x_2$")
    ax_data.legend(loc="upper center", bbox_to_anchor=(0.5, -0.06), ncol=CLASSES, fontsize=8)

    plot_training_curves(ax_loss, ax_acc, result["losses"], result["accuracies"],
                         "CrossEntropyLoss")

    fig.tight_layout()
    return save(fig, out, "mlp_spiral.png")


def main(argv: list[str] | None = None) -> dict:
    args = make_parser(__doc__, epochs=500, lr=0.01, seed=0).parse_args(argv)
    result = train(args)
    result["png"] = None if args.no_plot else plot(result, args.out)
    return result


if __name__ == "__main__":
    main()
