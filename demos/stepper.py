"""Step through backward in a browser: the quadratic model's page and an MLP's.

Writes two self-contained HTML pages into --out (open them in any browser; no network,
no Graphviz, no matplotlib needed):

* stepper_quadratic.html: L = sum((w*x^2 + b - y)^2) / 2 on 3 data points, the
  articles' model; step through the forward pass, then the backward pass node by
  node, or switch on the quiz and type each gradient before it is shown;
* stepper_mlp.html: a small MLP (Linear 2→3, ReLU, Linear 3→1) with MSELoss on 4 points.

Keys: → next, ← previous, space play/pause, Home reset.

Run:  python demos/stepper.py [--out DIR] [--no-plot]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import tinygrad_edu as tg
from tinygrad_edu import nn
from tinygrad_edu.viz import keep_values

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import add_output_options, folder_problem  # noqa: E402


class _Parser(argparse.ArgumentParser):
    """The demos' --out and --no-plot; --out is checked before anything is computed
    (the pages need no matplotlib)."""

    def parse_args(self, args=None, namespace=None):
        parsed = super().parse_args(args, namespace)
        if not parsed.no_plot:
            problem = folder_problem(parsed.out)
            if problem:
                self.error(f"argument --out: {problem}")
        return parsed


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = _Parser(description=__doc__.splitlines()[0])
    add_output_options(parser, "the HTML pages")
    return parser.parse_args(argv)


def quadratic_loss() -> tuple[tg.Tensor, tg.Tensor, tg.Tensor]:
    """The articles' model on 3 points of y = 3x^2 + 2 (plus noise), from w = 1, b = 0.5."""
    x = tg.tensor([-1.0, 0.5, 2.0], name="x")
    y = tg.tensor([5.1, 2.8, 14.0], name="y")
    w = tg.tensor(1.0, requires_grad=True, name="w")
    b = tg.tensor(0.5, requires_grad=True, name="b")
    with keep_values():  # the page shows every intermediate value
        y_pred = w * x**2 + b
        y_pred.name = "y_pred"
        loss = (0.5 * (y_pred - y) ** 2).sum()
    loss.name = "loss"
    return loss, w, b


def mlp_loss() -> tuple[tg.Tensor, nn.Module]:
    tg.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    x = tg.tensor([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [-1.0, 0.5]], name="x")
    target = tg.tensor([[1.0], [0.0], [1.0], [0.5]], name="target")
    with keep_values():
        loss = nn.MSELoss()(model(x), target)
    loss.name = "loss"
    return loss, model


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    loss, w, b = quadratic_loss()
    page = tg.viz.stepper(loss)
    print(f"quadratic model: {page}; w.grad = {w.grad.item():.6g}, "
          f"b.grad = {b.grad.item():.6g}")
    mlp, model = mlp_loss()
    params = dict(model.named_parameters())
    mlp_page = tg.viz.stepper(mlp, params=params)
    print(f"MLP: {mlp_page}")
    print(tg.explain_grad(model), end="")
    result = {"pages": [], "quadratic": page, "mlp": mlp_page, "w": w, "b": b}
    if not args.no_plot:
        for name, p in (("stepper_quadratic.html", page), ("stepper_mlp.html", mlp_page)):
            path = p.save(args.out / name)
            print(f"wrote {path}")
            result["pages"].append(path)
        print("Open them in a browser; → steps forward, ← back.")
    return result


if __name__ == "__main__":
    main()
