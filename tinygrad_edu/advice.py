"""Messages that explain a user's mistake where it shows, not where it was made.

Kept out of the Tensor core (which calls them) so that the core stays short; they read
only what every Node has.
"""

from __future__ import annotations

from typing import Any

from .engine import Node


def non_leaf_grad(t: Any) -> str:
    """What reading ``.grad`` of a non-leaf warns (PyTorch's words), and, when the tensor
    looks like ``w = w - lr * w.grad`` (an add or sub of a leaf that requires grad),
    what happened there and what to write instead."""
    node = t.grad_fn
    text = (f"The .grad attribute of a Tensor that is not a leaf Tensor (shape {t.shape}, "
            f"made by {node.name()}) is being accessed. Its .grad attribute won't be "
            "populated during backward(). If you want the gradient of a non-leaf tensor, "
            "call .retain_grad() on it before backward() (or use autograd.grad); if you "
            "meant a leaf, access the leaf tensor instead.")
    leaf_input = any(p is not None and type(p) is not Node for p in node.parents)
    if node.op.name in ("sub", "add") and leaf_input:
        text += (" This tensor was computed from a parameter, as `w = w - lr * w.grad` "
                 "does: that line replaced the parameter (a leaf) with a new tensor, so "
                 "backward() no longer fills its .grad (it is None, and `lr * w.grad` "
                 "fails next). Update the parameter in place instead: "
                 "`with torch.no_grad(): w -= lr * w.grad` (or use an optimizer).")
    return text
