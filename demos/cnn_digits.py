"""A small convolutional network reads handwritten digits (8x8 pixels, 10 classes).

The data are the 1,797 digits of the UCI "Optical Recognition of Handwritten Digits"
set (demos/data/, CC BY 4.0): a fifth of them is held out, and the network never sees
it while training; the accuracy on it measures what was learned, not what was memorised.

Each Conv2d layer slides 3x3 filters over the image (a filter is a small pattern, and
its output is high where the image looks like it); ReLU keeps the positive answers and
MaxPool2d halves the image, keeping the strongest answer of each 2x2 block:

    1x8x8 -> conv 3x3 (16 filters), ReLU, max pool -> 16x4x4
          -> conv 3x3 (32 filters), ReLU, max pool -> 32x2x2 -> flatten 128 -> Linear 10

The 10 outputs are logits, one per digit; CrossEntropyLoss is minimised with Adam on
mini-batches (a DataLoader over a TensorDataset, split with random_split, as in PyTorch),
the learning rate shrinking by a factor 0.85 after every epoch.

Run:  python demos/cnn_digits.py [--epochs 12] [--lr 0.01] [--batch-size 32] [--seed 0]
                                 [--out out] [--no-plot]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from _common import make_parser, positive_int, pyplot, save

import tinygrad_edu as tg
from tinygrad_edu import nn
from tinygrad_edu.optim import Adam, ExponentialLR
from tinygrad_edu.utils.data import DataLoader, TensorDataset, random_split

DATA = Path(__file__).resolve().parent / "data" / "digits.npz"
TEST_SHARE = 0.2  # the held-out fifth
TARGET = 97.0  # % test accuracy the default settings reach
GAMMA = 0.85  # the learning rate is multiplied by this after every epoch


def load_digits(path: Path = DATA) -> tuple[np.ndarray, np.ndarray]:
    """(images (1797, 8, 8) of uint8 pixels 0..16, labels (1797,) 0..9)."""
    with np.load(path) as data:  # plain arrays: no pickle
        return data["images"], data["labels"].astype(np.int64)




def split(dataset, generator: tg.Generator) -> list:
    """(training, held-out test) subsets of the dataset: a random fifth is held out."""
    return random_split(dataset, [1 - TEST_SHARE, TEST_SHARE], generator=generator)


class DigitsCNN(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, kernel_size=3, padding=1)  # 8x8 stays 8x8
        self.conv2 = nn.Conv2d(16, 32, kernel_size=3, padding=1)
        self.pool = nn.MaxPool2d(2)  # 8x8 -> 4x4 -> 2x2
        self.fc = nn.Linear(32 * 2 * 2, 10)

    def forward(self, x: tg.Tensor) -> tg.Tensor:
        x = self.pool(self.conv1(x).relu())
        x = self.pool(self.conv2(x).relu())
        return self.fc(x.flatten(1))  # one logit per digit


def predict(model: nn.Module, x: np.ndarray) -> np.ndarray:
    with tg.no_grad():
        return model(tg.tensor(x)).argmax(dim=1).numpy()


def train(args: argparse.Namespace) -> dict:
    images, labels = load_digits()
    x = (images / 16.0).reshape(-1, 1, 8, 8)  # (N, channels, height, width), pixels 0..1
    dataset = TensorDataset(tg.tensor(x), tg.tensor(labels))
    generator = tg.Generator().manual_seed(args.seed)  # the split and the batch order
    train_set, test_set = split(dataset, generator)
    loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True,
                        generator=generator)  # a new order every epoch
    train_rows, test_rows = np.array(train_set.indices), np.array(test_set.indices)
    x_train, y_train = x[train_rows], labels[train_rows]
    x_test, y_test = x[test_rows], labels[test_rows]

    tg.manual_seed(args.seed)  # the weights' initial values
    model = DigitsCNN()
    loss_fn = nn.CrossEntropyLoss()
    optimizer = Adam(model.parameters(), lr=args.lr)
    schedule = ExponentialLR(optimizer, gamma=GAMMA)  # smaller steps as it settles
    print(model)
    print(f"{sum(p.numel() for p in model.parameters())} parameters; {len(y_train)} "
          f"training and {len(y_test)} held-out test images\n")

    # history[e]: the model after e epochs (e = 0: before training)
    history = {"loss": [], "train": [], "test": []}

    def measure(epoch: int, loss: float, seconds: float) -> None:
        history["loss"].append(loss)
        history["train"].append(100 * np.mean(predict(model, x_train) == y_train))
        history["test"].append(100 * np.mean(predict(model, x_test) == y_test))
        print(f"epoch {epoch:3d}  loss {loss:.4f}  train {history['train'][-1]:5.1f} %  "
              f"test {history['test'][-1]:5.1f} %  ({seconds:.1f} s)")

    with tg.no_grad():
        start_loss = loss_fn(model(tg.tensor(x_train)), y_train).item()
    measure(0, start_loss, 0.0)
    start = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        total = 0.0
        for xb, yb in loader:
            loss = loss_fn(model(xb), yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(yb)
        schedule.step()
        measure(epoch, total / len(y_train), time.perf_counter() - start)
    seconds = time.perf_counter() - start

    predicted = predict(model, x_test)
    accuracy = float(np.mean(predicted == y_test))
    epochs = f"{args.epochs} epoch" + ("s" if args.epochs != 1 else "")
    print(f"\ntest accuracy {accuracy:.1%} ({np.sum(predicted == y_test)} of {len(y_test)} "
          f"held-out images) after {epochs} in {seconds:.1f} s")
    return {"model": model, "history": history, "accuracy": accuracy, "seconds": seconds,
            "test_images": images[test_rows], "test_labels": y_test, "predicted": predicted}


# --- pictures ---------------------------------------------------------------------------------


def plot_curves(result: dict, out: Path) -> Path:
    plt = pyplot()
    history = result["history"]
    epochs = np.arange(len(history["loss"]))
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(11, 4))
    ax_loss.plot(epochs, history["loss"], color="tab:purple")
    ax_loss.set_yscale("log")
    ax_loss.set_title("training loss (cross-entropy; epoch 0: before training)")
    ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel("loss")
    ax_acc.plot(epochs, history["train"], color="tab:green", label="training images")
    ax_acc.plot(epochs, history["test"], color="tab:orange", label="held-out test images")
    ax_acc.axhline(TARGET, color="gray", linestyle="--", linewidth=1,
                   label=f"{TARGET:g} %: the target for the defaults")
    ax_acc.set_ylim(max(0.0, min(history["test"]) - 5), 101)
    ax_acc.set_title("accuracy")
    ax_acc.set_xlabel("epoch")
    ax_acc.set_ylabel("accuracy (%)")
    ax_acc.legend(loc="lower right")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return save(fig, out, "cnn_digits_curves.png")


def plot_predictions(result: dict, out: Path, rows: int = 4, cols: int = 8) -> Path:
    """The first test images with the network's answers; the mistakes among the test
    images come first, so that they are seen."""
    plt = pyplot()
    images, labels, predicted = (result["test_images"], result["test_labels"],
                                 result["predicted"])
    wrong = np.flatnonzero(predicted != labels)
    shown = np.concatenate([wrong, np.flatnonzero(predicted == labels)])[:rows * cols]
    fig, axes = plt.subplots(rows, cols, figsize=(1.4 * cols, 1.6 * rows + 0.6))
    for ax, k in zip(axes.ravel(), shown):
        ax.imshow(images[k], cmap="gray_r", vmin=0, vmax=16)
        right = predicted[k] == labels[k]
        ax.set_title(f"{predicted[k]}" if right else f"{predicted[k]} (is {labels[k]})",
                     color="tab:green" if right else "tab:red", fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in axes.ravel()[len(shown):]:
        ax.axis("off")
    fig.suptitle(f"held-out test digits and the network's answers (red: wrong, "
                 f"{len(wrong)} of {len(labels)})")
    fig.tight_layout()
    return save(fig, out, "cnn_digits_predictions.png")


def plot_filters(result: dict, out: Path) -> Path:
    """The 16 learned 3x3 filters of the first layer: what each looks for."""
    plt = pyplot()
    weights = result["model"].conv1.weight.numpy()[:, 0]  # (16, 3, 3)
    limit = np.abs(weights).max()
    fig, axes = plt.subplots(2, 8, figsize=(12, 3.8), layout="constrained")
    for k, (ax, w) in enumerate(zip(axes.ravel(), weights)):
        image = ax.imshow(w, cmap="RdBu_r", vmin=-limit, vmax=limit)
        ax.set_title(f"filter {k}", fontsize=9)
        ax.set_xticks(range(3))
        ax.set_yticks(range(3))
        ax.tick_params(labelsize=7)
    fig.colorbar(image, ax=axes, shrink=0.9, label="weight")
    fig.suptitle("first layer: the 16 learned 3x3 filters (red: a dark pixel there counts "
                 "for, blue: against)")
    fig.supxlabel("column in the 3x3 window", fontsize=9)
    fig.supylabel("row", fontsize=9)
    return save(fig, out, "cnn_digits_filters.png")


def main(argv: list[str] | None = None) -> dict:
    parser = make_parser(__doc__, epochs=12, lr=0.01, seed=0)
    parser.add_argument("--batch-size", type=positive_int, default=32,
                        help="images per mini-batch (default 32)")
    args = parser.parse_args(argv)
    result = train(args)
    if not args.no_plot:
        result["pngs"] = [plot_curves(result, args.out), plot_predictions(result, args.out),
                          plot_filters(result, args.out)]
    return result


if __name__ == "__main__":
    main()
