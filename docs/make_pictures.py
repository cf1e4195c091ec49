"""Make the pictures the docs show (none is drawn by hand).

Run:  python docs/make_pictures.py            (writes docs/img/*.png)
      python docs/make_pictures.py --out DIR  (writes them somewhere else)
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
from pathlib import Path

import numpy as np

import tinygrad_edu as tg
from tinygrad_edu.viz import draw_graph

IMG = Path(__file__).resolve().parent / "img"
DEMOS = Path(__file__).resolve().parent.parent / "demos"


def quadratic_graph(out: Path) -> Path:
    """Lesson 1: the graph of the quadratic model's loss after a backward pass."""
    x = tg.tensor([-1.0, 0.5, 2.0], name="x")
    y = tg.tensor([5.1, 2.8, 14.0], name="y")
    w = tg.tensor(1.0, requires_grad=True, name="w")
    b = tg.tensor(0.5, requires_grad=True, name="b")
    loss = (0.5 * (w * x**2 + b - y) ** 2).sum()
    loss.name = "loss"
    loss.backward()
    path = out / "quadratic_graph.png"
    draw_graph(loss, path, dpi=100)
    return path


def finite_difference_error(out: Path) -> Path:
    """Lesson 4: error of the central difference of x^3 at 1 against h, per dtype."""
    from matplotlib.figure import Figure

    hs = np.logspace(-12, 0, 300)
    fig = Figure(figsize=(9.5, 4.4), dpi=100)
    ax = fig.add_subplot()
    for dtype, color in [(np.float64, "tab:blue"), (np.float32, "tab:orange")]:
        x = dtype(1.0)
        errors = []
        for h in hs:
            h = dtype(h)
            slope = ((x + h) ** 3 - (x - h) ** 3) / (2 * h)  # the exact slope is 3
            errors.append(max(abs(float(slope) - 3.0), 1e-17))
        eps = np.finfo(dtype).eps
        ax.loglog(hs, errors, ".", ms=3, color=color, label=f"{np.dtype(dtype).name}")
        ax.loglog(hs, eps * 3 / hs, "--", lw=1, color=color,
                  label=f"rounding ≈ ε·|f|/h, ε = {eps:.1e}")
        ax.axvline(eps ** (1 / 3), color=color, lw=0.8, ls=":")
    ax.loglog(hs, hs**2, "k-", lw=1, label="Taylor error h²")
    ax.set_ylim(1e-14, 1e3)
    ax.set_xlabel("h")
    ax.set_ylabel("|central difference − f'(1)|")
    ax.set_title("Central difference of f(x) = x³ at x = 1 (dotted lines: h = ε^(1/3))",
                 fontsize=10)
    ax.annotate("float32: x ± h rounds to x,\nthe secant is flat (error 3)", xy=(1e-10, 3),
                xytext=(1e-11, 1e-2), fontsize=8, arrowprops={"arrowstyle": "->", "lw": 0.8})
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.02, 0.5))
    ax.grid(True, which="major", alpha=0.3)
    fig.tight_layout()
    path = out / "finite_difference_error.png"
    fig.savefig(path)
    return path


def quadratic_regression_plot(out: Path) -> Path:
    """README: the quadratic article's demo (data, fitted curve, true curve, loss)."""
    sys.path.insert(0, str(DEMOS))
    try:
        import quadratic_regression
    finally:
        sys.path.remove(str(DEMOS))
    with contextlib.redirect_stdout(io.StringIO()):  # the demo's log is not wanted here
        result = quadratic_regression.main(["--out", str(out)])
    return Path(result["png"])


def main(argv: list[str] | None = None) -> list[Path]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=IMG, help="directory (default docs/img)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    made = [quadratic_graph(args.out), finite_difference_error(args.out),
            quadratic_regression_plot(args.out)]
    for path in made:
        print(f"wrote {path}")
    return made


if __name__ == "__main__":
    main()
