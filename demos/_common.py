"""What every demo shares: its options, headless matplotlib, saving PNGs, a clean exit.

    parser = make_parser(__doc__, epochs=800, lr=0.001, seed=100)
    args = parser.parse_args(argv)  # unless --no-plot: matplotlib is there, --out is
    ...                             # a writable folder (else a usage error, exit 2)
    if not args.no_plot:
        plt = pyplot()            # matplotlib is imported only when drawing
        fig, ax = plt.subplots()
        ...
        save(fig, args.out, "name.png")

    if __name__ == "__main__":
        run_demo(main)
"""

from __future__ import annotations

import argparse
import contextlib
import math
import re
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from tinygrad_edu import _validate
from tinygrad_edu.models import DivergenceError


def _option(check: Callable[[Any], Any], value: Any) -> Any:
    """Run a check of tinygrad_edu._validate on an option's value; its ValueError
    becomes argparse's usage error (exit status 2, "argument --lr: must be ...")."""
    try:
        return check(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def positive_int(text: str) -> int:
    """argparse type: a whole number >= 1 (else a usage error, exit status 2)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    return _option(_validate.positive_int, value)


def positive_float(text: str) -> float:
    """argparse type: a finite number > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    return _option(_validate.positive_number, value)


SEEDS = 2**32  # NumPy's RandomState (the articles' np.random.seed) takes 0 .. 2**32 - 1


def random_seed(text: str) -> int:
    """argparse type: a random seed, a whole number from 0 to 2**32 - 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 0 <= value < SEEDS:
        raise argparse.ArgumentTypeError(f"must be from 0 to 2**32 - 1 = {SEEDS - 1}, "
                                         f"got {value}")
    return value


class DemoParser(argparse.ArgumentParser):
    """argparse, and before any training starts, the checks that drawing will work:
    matplotlib is there and --out is a folder we can write (unless --no-plot)."""

    def parse_args(self, args=None, namespace=None):
        parsed = super().parse_args(args, namespace)
        if not parsed.no_plot:
            try:
                pyplot()
            except ImportError:
                self.error("matplotlib is not installed: install the plot extra "
                           "(pip install -e '.[plot]') or pass --no-plot")
            problem = folder_problem(parsed.out)
            if problem:
                self.error(f"argument --out: {problem}")
        return parsed


def folder_problem(out: Path) -> str | None:
    """Create the folder out (and its parents) and check that a file can be written
    in it; None if all went well, else what is wrong, in words."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        return f"{out} is a file, not a folder"
    except NotADirectoryError:
        blocking = next(p for p in out.parents if p.exists())
        return f"cannot create the folder {out}: {blocking} is a file"
    except OSError as exc:
        return f"cannot create the folder {out} ({exc.strerror})"
    try:
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as exc:
        return f"cannot write into the folder {out} ({exc.strerror})"
    return None


def add_output_options(parser: argparse.ArgumentParser, what: str) -> None:
    """--out and --no-plot."""
    parser.add_argument("--out", type=Path, default=Path("out"), metavar="DIR",
                        help=f"folder for {what} (default: out/)")
    parser.add_argument("--no-plot", action="store_true",
                        help="print only, do not draw; matplotlib is not needed "
                             "(default: off, the plots are drawn)")


def make_parser(doc: str, epochs: int, lr: float, seed: int) -> DemoParser:
    """The options every training demo takes; a demo may add its own before parsing."""
    parser = DemoParser(description=doc.strip().splitlines()[0])
    parser.add_argument("--epochs", type=positive_int, default=epochs,
                        help=f"training epochs (default {epochs})")
    parser.add_argument("--lr", type=positive_float, default=lr,
                        help=f"learning rate (default {lr})")
    parser.add_argument("--seed", type=random_seed, default=seed,
                        help=f"random seed for data and initial values, 0 to 2**32-1 "
                             f"(default {seed})")
    add_output_options(parser, "the PNG files")
    return parser


# --- learning rates that work, for least squares --------------------------------------


def stable_lr(A: np.ndarray, batch_size: int | None = None) -> float:
    """The learning rate below which gradient descent on L = ½ Σᵢ (aᵢ·θ − yᵢ)² cannot
    diverge; the rows aᵢ of A are the examples' inputs (with a 1 for the bias).

    L is a bowl with the constant Hessian H = AᵀA. A step θ ← θ − lr·∇L takes the
    distance to the minimum θ − θ* to (I − lr·H)(θ − θ*): along each eigenvector of H
    it is multiplied by 1 − lr·λ, which shrinks it for every λ if and only if
    lr < 2/λ_max. That is the bound; above it, gradient descent diverges. (For the
    mean instead of the sum, H and λ_max are n times smaller, the bound n times larger.)

    With mini-batches of ``batch_size`` rows, each step uses its batch's H_b = A_bᵀA_b.
    No batch's λ_max exceeds λ_max(AᵀA) (the other rows only add curvature), nor the
    trace of H_b, the sum of its rows' |aᵢ|²; so 2 over the smaller of λ_max(AᵀA) and
    the largest such sum is safe for every batch (safe, not the exact edge).
    """
    A = np.asarray(A, dtype=np.float64)
    curvature = np.linalg.eigvalsh(A.T @ A)[-1]
    if batch_size is not None and batch_size < len(A):
        squares = np.sort(np.sum(A ** 2, axis=1))[::-1]
        curvature = min(curvature, squares[:batch_size].sum())
    return float(2.0 / curvature)


def safe_lr(bound: float) -> float:
    """A learning rate well inside the stable range: half the bound, rounded down to
    one significant digit (0.0178 -> 0.008)."""
    half = bound / 2
    scale = 10.0 ** math.floor(math.log10(half))
    return math.floor(half / scale) * scale


def lr_advice(bound: float, batch_size: int | None = None) -> str:
    """What to try instead of a learning rate that diverged, computed from the data."""
    if batch_size is None:
        stable = (f"gradient descent on this data is stable only for lr < {bound:.3g} "
                  "(2/λ_max of AᵀA, A the examples' inputs)")
    else:
        stable = (f"with batches of {batch_size}, gradient descent on this data is sure to "
                  f"be stable for lr < {bound:.3g} (2 over the most curvature AᵀA a batch "
                  "can have)")
    return f"try a smaller one: {stable}, so --lr {safe_lr(bound):g} is safe"


@contextlib.contextmanager
def advice_on_divergence(advice: str) -> Iterator[None]:
    """Training inside this block that diverges (the models' DivergenceError) ends with
    this advice instead of the models' general one (a tenth of the learning rate)."""
    try:
        yield
    except DivergenceError as exc:
        text, found = re.subn(r"try a smaller one, e\.g\. \S+?(?=\.(\s|$))", advice, str(exc),
                              count=1)
        raise DivergenceError(text if found else f"{exc} {advice}.") from None


def diverged(epoch: int, what: str, lr: float, advice: str) -> DivergenceError:
    """The error a demo's own training loop raises: in which epoch, what happened."""
    return DivergenceError(
        f"training diverged in epoch {epoch}: {what}. Each step overshot the minimum by "
        f"more than the last, so the learning rate {lr:g} is too large for this data; "
        f"{advice}.")


def run_demo(main: Callable[[], object]) -> None:
    """Run a demo from the command line: training that diverges (too large a --lr)
    ends with its message and exit status 1 instead of a traceback."""
    try:
        main()
    except DivergenceError as exc:
        sys.exit(f"error: {exc}")


def pyplot():
    """matplotlib.pyplot drawing into files (the Agg backend: no window, no display)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save(fig, out: Path, name: str) -> Path:
    """Write the figure to out/name, close it, and say where it went."""
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    path = out / name
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print(f"wrote {path}")
    return path


def plot_training_curves(ax_loss, ax_acc, losses: list[float], accuracies: list[float],
                         loss_name: str, accuracy_floor: float = 0.0) -> None:
    """Loss (log scale) and training accuracy in % against the epochs trained: the
    lists hold the values after 0, 1, 2, ... epochs."""
    epochs = np.arange(len(losses))
    ax_loss.plot(epochs, losses, color="tab:purple", label=f"{loss_name}, mean over the batch")
    ax_loss.set_yscale("log")
    ax_loss.set_title("training loss")
    ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel("loss (log scale)")
    ax_loss.legend(loc="upper right", fontsize=8)
    ax_loss.grid(alpha=0.3)

    ax_acc.plot(epochs, 100 * np.array(accuracies), color="tab:green",
                label="share of training points classified right")
    ax_acc.set_ylim(accuracy_floor, 101)
    ax_acc.set_title("training accuracy")
    ax_acc.set_xlabel("epoch")
    ax_acc.set_ylabel("accuracy (%)")
    ax_acc.legend(loc="lower right", fontsize=8)
    ax_acc.grid(alpha=0.3)
