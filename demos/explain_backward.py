"""The quadratic model's backward pass, narrated step by step.

The articles fit y = w*x^2 + b with the loss L = sum((y_pred - y)^2) / 2 and derive
its gradients by hand:

    dL/dw = sum((y_pred - y) * x^2)        dL/db = sum(y_pred - y)

Here the engine computes them on 3 data points, and explain_backward prints every
step it takes to get there: which rule of ops.py it applied, what it sent where, and
where a broadcast (the scalar w and b met 3 data points) was summed back.

Run:  python demos/explain_backward.py [--out DIR] [--no-plot]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

import tinygrad_edu as tg
from tinygrad_edu.explain import explain_backward
from tinygrad_edu.viz import draw_graph, graph_stats, to_text

# the demos' shared helpers sit next to this file (on sys.path already when it is run
# as a script, not when it is imported from its path, as the tests do)
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import DemoParser, add_output_options  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = DemoParser(description=__doc__.splitlines()[0])
    add_output_options(parser, "the picture of the graph")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)

    # three data points from y = 3x^2 + 2 plus a little noise, and a first guess w, b
    x = tg.tensor([-1.0, 0.5, 2.0], name="x")
    y = tg.tensor([5.1, 2.8, 14.0], name="y")
    w = tg.tensor(1.0, requires_grad=True, name="w")
    b = tg.tensor(0.5, requires_grad=True, name="b")

    y_pred = w * x**2 + b  # x**2 needs no gradient: it is computed, not recorded
    y_pred.name = "y_pred"  # names label the ops in the table and the picture
    error = y_pred - y
    error.name = "y_pred - y"
    loss = (0.5 * error**2).sum()
    loss.name = "loss"

    print("The graph backward will walk (output at the top, inputs below it):\n")
    print(to_text(loss))
    print(graph_stats(loss), "\n")

    record = explain_backward(loss)  # fills w.grad and b.grad, as loss.backward() would
    print("The backward pass, one rule at a time:\n")
    print(record)
    print("Reading it as the chain rule: step 3 turns g = 1/2 into (y_pred - y), the\n"
          "rule of the square; steps 4 and 5 pass it on unchanged (d(a-b)/da = d(a+b)/da\n"
          "= 1); step 5 also sums it over the 3 points for b, because b was broadcast;\n"
          "step 6 multiplies by x^2 (d(w*x^2)/dw = x^2) and sums again for w.\n")

    # the articles' hand-derived formulas, in plain NumPy
    error = y_pred.numpy() - y.numpy()
    by_hand_w = np.sum(error * x.numpy()**2)
    by_hand_b = np.sum(error)
    print("Compare with the hand-derived gradients:")
    print(f"  sum((y_pred - y) * x^2) = {by_hand_w:<10.6g}  w.grad = {w.grad.item():.6g}")
    print(f"  sum(y_pred - y)         = {by_hand_b:<10.6g}  b.grad = {b.grad.item():.6g}")
    assert np.isclose(w.grad.item(), by_hand_w) and np.isclose(b.grad.item(), by_hand_b)
    print("  equal: the engine's chain of local rules gives the same numbers.")

    result = {"loss": loss, "w": w, "b": b, "record": record,
              "by_hand": (by_hand_w, by_hand_b), "picture": None}
    if not args.no_plot:
        path = args.out / "explain_backward_graph.png"  # the folder: made by parse_args
        draw_graph(loss, path)
        print(f"\nThe graph, with the gradients of w and b, is drawn in {path}")
        result["picture"] = path
    return result


if __name__ == "__main__":
    main()
