"""Why is my gradient None? ``explain_grad`` answers, for a tensor, a module or an optimizer.

The most common questions about autograd are why ``.grad`` is None or a model does not
learn: the tensor is not a leaf, does not require grad, was computed under
``no_grad()``, cut off by ``detach()`` or ``.data``, or is not used by the loss at all.
``explain_grad(t)`` states each fact about ``t`` that matters and what to do.

Where a tensor came from is noted as it is made, in side tables of the features that
make it: ``grad_mode.made_without_grad(t)`` (results of ops in a ``no_grad`` block) and,
here, the results of ``detach()`` and ``.data`` called on tensors that require grad
(the two methods are wrapped once, at import, to note that; nothing else changes).
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import grad_mode, hooks
from .tensor import Tensor
from .viz import _short

__all__ = ["GradReport", "explain_grad"]

# id(tensor) -> (ref, "detach()" or ".data"); by id: a Tensor's == is elementwise
_origin: dict[int, tuple[weakref.ref, str]] = {}


def _note(t: Tensor, how: str) -> None:
    key = id(t)
    _origin[key] = (weakref.ref(t, lambda _ref, k=key: _origin.pop(k, None)), how)


def _origin_of(t: Tensor) -> str | None:
    entry = _origin.get(id(t))
    return entry[1] if entry is not None and entry[0]() is t else None

_plain_detach = Tensor.detach
_plain_data = Tensor.data


def _detach(self: Tensor) -> Tensor:
    t = _plain_detach(self)
    if self.requires_grad:
        _note(t, "detach()")
    return t


def _data(self: Tensor) -> Tensor:
    t = _plain_data.fget(self)
    if self.requires_grad:
        _note(t, ".data")
    return t


_detach.__doc__ = _plain_detach.__doc__
_detach.__name__ = "detach"
Tensor.detach = _detach
Tensor.data = property(_data, _plain_data.fset, doc=_plain_data.__doc__)


@dataclass
class GradReport:
    """What ``explain_grad`` found. ``print(report)`` shows it; ``causes`` are short
    keys for the facts found (for a module or optimizer: per parameter,
    ``"name: key"``), ``no_grad_params`` the names of parameters without a gradient."""

    title: str
    lines: list[str]
    causes: list[str]
    no_grad_params: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return "\n".join([self.title, *self.lines]) + "\n"

    __repr__ = __str__


def _grad_facts(grad: Tensor) -> tuple[str, list[str]]:
    """(text, causes) for a gradient that exists: zero, NaN, inf or ordinary."""
    a = grad.array
    bad_nan, bad_inf = int(np.isnan(a).sum()), int(np.isinf(a).sum())
    if bad_nan or bad_inf:
        causes = (["nan"] if bad_nan else []) + (["inf"] if bad_inf else [])
        return (f"grad: {bad_nan} NaN and {bad_inf} inf of {a.size} values: some op on the "
                "way produced them. Run the forward and backward inside "
                "`with tinygrad_edu.detect_anomaly():` to find the op and your line"), causes
    if not a.any():
        return ("grad: all zeros. Backward reached it but every contribution was 0 (a ReLU "
                "that is off for every input, a mask, a constant loss), or .grad was zeroed "
                "(zero_grad(set_to_none=False)) and no backward reached it since"), ["zero"]
    return f"grad: {_short(a, 6)} (backward reached it)", ["ok"]


def _tensor_report(t: Tensor, label: str) -> tuple[list[str], list[str]]:
    lines: list[str] = []
    causes: list[str] = []
    grad = t._grad
    if t.grad_fn is not None:
        lines.append(f"not a leaf: made by the op {t.grad_fn.name()} (grad_fn)")
        lines.append("requires_grad: True (it was computed from tensors that require grad)")
        if hooks.retains_grad(t):
            lines.append("retains grad: yes (retain_grad() or retain_grads())")
            causes.append("retains")
            if grad is None:
                lines.append("grad: None. No backward has reached it since retain_grad(): "
                             "call backward() on a loss computed from it")
                causes.append("not reached")
                return lines, causes
        else:
            lines.append("retains grad: no")
            lines.append(
                "grad: None, as PyTorch: backward passes its gradient on to the leaves but "
                "keeps only the leaves' gradients. To see it, call "
                f"{label}.retain_grad() before backward(), or compute it inside "
                "`with tinygrad_edu.retain_grads():`, or ask for it with "
                f"tinygrad_edu.autograd.grad(loss, {label}). If you meant it as a "
                "parameter: an op on a leaf made it (e.g. randn(3, requires_grad=True) * "
                "0.01), so it is not a leaf; make the leaf last: "
                "(randn(3) * 0.01).requires_grad_()")
            causes.append("non-leaf")
            return lines, causes
    else:
        lines.append("leaf: yes (made by you or a creation function, not by a recorded op)")
        lines.append(f"requires_grad: {t.requires_grad}")
        if not t.requires_grad:
            causes.append("requires_grad=False")
            origin = _origin_of(t)
            if origin is None and grad_mode.made_without_grad(t):
                origin = "no_grad"
            if origin == "no_grad":
                lines.append("origin: computed inside no_grad() (or inference_mode, "
                             "set_grad_enabled(False)) from tensors that require grad, so "
                             "nothing was recorded. Compute it outside the no_grad block")
                causes.append("no_grad")
            elif origin is not None:
                lines.append(f"origin: made by {origin} from a tensor that requires grad: "
                             "it shares the values but is cut off from the graph. Use the "
                             f"original tensor where the gradient must flow ({origin} is "
                             "for values you do not want to differentiate)")
                causes.append("detach" if origin == "detach()" else "data")
            elif t.dtype.kind != "f":
                lines.append(f"dtype: {t.dtype}; only floating point tensors can require "
                             "grad. Convert it first (t.double() or t.float())")
                causes.append("integer dtype")
            else:
                lines.append("origin: created without requires_grad=True. Pass "
                             "requires_grad=True when you create it, or call "
                             f"{label}.requires_grad_(). If it was computed from tensors "
                             "that require grad, that happened inside no_grad() (or "
                             "inference_mode): compute it outside the block (call "
                             "tinygrad_edu.watch_no_grad() to have such tensors noted)")
            if grad is None:
                lines.append("grad: None: backward never computes a gradient for it")
                return lines, causes
    if grad is None:
        lines.append(
            "grad: None. No backward has reached it since it was made (or since its .grad "
            "was set to None, as zero_grad() does): the loss does not use it, or every path "
            "from it to the loss goes through detach(), .data, no_grad() or an op without "
            "a gradient (argmax, comparisons, integer results). Check with "
            "tinygrad_edu.viz.to_text(loss) that it appears in the loss's graph")
        causes.append("not reached")
        return lines, causes
    text, more = _grad_facts(grad)
    lines.append(text)
    if t.grad_fn is None and t.requires_grad:
        lines.append("note: a leaf's .grad adds up over backward calls; zero it each step "
                     "(optimizer.zero_grad())")
    return lines, causes + more


def _named_parameters(obj: Any) -> list[tuple[str, Tensor]]:
    if hasattr(obj, "named_parameters"):  # a Module
        return list(obj.named_parameters())
    pairs = []
    for g, group in enumerate(obj.param_groups):  # an Optimizer
        names = group.get("param_names")
        for k, p in enumerate(group["params"]):
            name = names[k] if names else f"group {g} param {k}"
            pairs.append((name, p))
    return pairs


def explain_grad(obj: Any) -> GradReport:
    """Why ``.grad`` is what it is: for a tensor, whether it is a leaf, requires grad,
    retains its gradient, was made under ``no_grad()`` or by ``detach()``/``.data``,
    whether a backward reached it, and whether its gradient is None, zero, NaN; and what
    to do. For a Module or an Optimizer: which parameters have no gradient (None: no
    backward reached them since ``zero_grad()``), a zero one or a NaN one."""
    if isinstance(obj, Tensor):
        label = obj.name or "t"
        lines, causes = _tensor_report(obj, label)
        what = f"'{obj.name}'" if obj.name else "this tensor"
        title = f"explain_grad: {what}, shape {obj.shape}, {obj.dtype}"
        return GradReport(title, ["  " + line for line in lines], causes)
    if not (hasattr(obj, "named_parameters") or hasattr(obj, "param_groups")):
        raise TypeError(f"explain_grad: expected a Tensor, a Module or an Optimizer, got "
                        f"{type(obj).__name__}")
    params = _named_parameters(obj)
    kind = type(obj).__name__
    lines, causes, missing = [], [], []
    for name, p in params:
        if p.grad is None:
            missing.append(name)
            state = "no gradient (None)"
            causes.append(f"{name}: " + ("requires_grad=False" if not p.requires_grad
                                          else "not reached"))
        else:
            _text, more = _grad_facts(p.grad)
            state = {"zero": "all zeros", "nan": "NaN", "inf": "inf"}.get(more[0], "ok")
            causes += [f"{name}: {c}" for c in more]
        lines.append(f"  {name} {tuple(p.shape)}: {state}")
    if missing:
        lines.append(f"{len(missing)} of {len(params)} parameters got no gradient: "
                     f"{', '.join(missing)}. Either no backward ran since zero_grad(), or "
                     "the loss does not use them (an unused layer, a branch not taken, a "
                     "detach() on the way); explain_grad(parameter) tells more")
    elif params:
        lines.append(f"every one of the {len(params)} parameters got a gradient")
    else:
        lines.append("it has no parameters")
    return GradReport(f"explain_grad: the parameters of this {kind}", lines, causes, missing)
