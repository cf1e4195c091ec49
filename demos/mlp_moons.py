"""A small MLP learns to separate two interleaved half-moons.

No straight line separates the two moons, so a linear model tops out near 85 %. Two
hidden layers bend the boundary around them: the network outputs one logit z per
point, p = sigmoid(z) is its belief that the point belongs to the lower moon, and
BCEWithLogitsLoss, -[y log p + (1-y) log(1-p)], is minimised with Adam.

Run:  python demos/mlp_moons.py [--epochs 300] [--lr 0.03] [--seed 0]
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


def make_moons(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """n points on two half-circles of radius 1, plus Gaussian noise.

    upper moon (label 0): (cos t, sin t)            for t in [0, pi]
    lower moon (label 1): (1 - cos t, 1/2 - sin t)  for t in [0, pi]
    The lower moon is the upper one turned over and shifted so that each reaches
    into the other's hollow.
    """
    upper, lower = n // 2, n - n // 2
    t_upper = rng.uniform(0.0, np.pi, upper)
    t_lower = rng.uniform(0.0, np.pi, lower)
    points = np.concatenate([
        np.stack([np.cos(t_upper), np.sin(t_upper)], axis=1),
        np.stack([1.0 - np.cos(t_lower), 0.5 - np.sin(t_lower)], axis=1),
    ])
    points += rng.normal(0.0, noise, points.shape)
    labels = np.concatenate([np.zeros(upper), np.ones(lower)])
    return points, labels


def make_model() -> nn.Module:
    return nn.Sequential(
        nn.Linear(2, 16), nn.Tanh(),
        nn.Linear(16, 16), nn.Tanh(),
        nn.Linear(16, 1),  # one logit per point: no sigmoid here, the loss applies it
    )


def accuracy(logits: tg.Tensor, labels: np.ndarray) -> float:
    # logit > 0  <=>  sigmoid(logit) > 1/2: predict the lower moon
    return float(np.mean((logits.numpy()[:, 0] > 0) == labels))


def train(args: argparse.Namespace) -> dict:
    rng = np.random.default_rng(args.seed)
    points, labels = make_moons(300, noise=0.15, rng=rng)
    # centre and scale each input feature: the tanh units start in their useful range
    mean, std = points.mean(axis=0), points.std(axis=0)
    x = tg.tensor((points - mean) / std)
    y = tg.tensor(labels.reshape(-1, 1))

    tg.manual_seed(args.seed)  # the weights' initial values
    model = make_model()
    loss_fn = nn.BCEWithLogitsLoss()
    optimizer = Adam(model.parameters(), lr=args.lr)
    print(model)
    print(f"{sum(p.numel() for p in model.parameters())} parameters, "
          f"{len(labels)} points\n")

    # losses[e], accuracies[e]: the model after e epochs (e = 0: before training); the
    # forward pass of epoch e + 1 measures them, one more after the last step
    losses, accuracies = [], []

    def measure(epoch: int, logits: tg.Tensor, loss: tg.Tensor) -> None:
        losses.append(loss.item())
        accuracies.append(accuracy(logits, labels))
        if epoch % 50 == 0 or epoch == args.epochs:
            print(f"epoch {epoch:4d}  loss {losses[-1]:.4f}  accuracy {accuracies[-1]:6.1%}")

    start = time.perf_counter()
    for epoch in range(args.epochs):
        logits = model(x)
        loss = loss_fn(logits, y)
        measure(epoch, logits, loss)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    seconds = time.perf_counter() - start
    with tg.no_grad():
        logits = model(x)  # after the last step
        measure(args.epochs, logits, loss_fn(logits, y))

    final = accuracies[-1]
    epochs = f"{args.epochs} epoch" + ("s" if args.epochs != 1 else "")
    print(f"\ntraining accuracy {final:.1%} after {epochs} in {seconds:.2f} s")
    return {"model": model, "points": points, "labels": labels, "mean": mean, "std": std,
            "losses": losses, "accuracies": accuracies, "accuracy": final,
            "seconds": seconds}


def plot(result: dict, out: Path) -> Path:
    plt = pyplot()  # matplotlib drawing into files

    points, labels = result["points"], result["labels"]
    # the model's probability on a grid covering the data
    low, high = points.min(axis=0) - 0.5, points.max(axis=0) + 0.5
    gx, gy = np.meshgrid(np.linspace(low[0], high[0], 200), np.linspace(low[1], high[1], 200))
    grid = np.stack([gx.ravel(), gy.ravel()], axis=1)
    with tg.no_grad():
        logits = result["model"](tg.tensor((grid - result["mean"]) / result["std"]))
    prob = tg.sigmoid(logits).numpy().reshape(gx.shape)

    fig, (ax_data, ax_loss, ax_acc) = plt.subplots(1, 3, figsize=(15, 4.6))
    ax_data.contourf(gx, gy, prob, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.6)
    ax_data.contour(gx, gy, prob, levels=[0.5], colors="k", linewidths=1.5)
    for label, color, name in ((0, "tab:blue", "upper moon (0)"),
                               (1, "tab:red", "lower moon (1)")):
        chosen = labels == label
        ax_data.scatter(points[chosen, 0], points[chosen, 1], s=12, c=color,
                        edgecolors="k", linewidths=0.3, label=name)
    ax_data.set_title(f"decision boundary (black: p = 0.5), accuracy {result['accuracy']:.1%}")
    ax_data.set_xlabel("$x_1$")
    ax_data.set_ylabel("$x_2$")
    ax_data.legend(loc="lower left", fontsize=8)

    plot_training_curves(ax_loss, ax_acc, result["losses"], result["accuracies"],
                         "BCEWithLogitsLoss", accuracy_floor=40)

    fig.tight_layout()
    return save(fig, out, "mlp_moons.png")


def main(argv: list[str] | None = None) -> dict:
    args = make_parser(__doc__, epochs=300, lr=0.03, seed=0).parse_args(argv)
    result = train(args)
    result["png"] = None if args.no_plot else plot(result, args.out)
    return result


if __name__ == "__main__":
    main()
