"""What a view remembers, so that an in-place change through it (or through its base)
can be recorded as PyTorch does (``_become`` in inplace.py). A view is the result of a
view op (reshape, permute, basic slicing ...) that shares memory with its input: it
shares the input's version counter (``Tensor._vc``, set by ``apply``) and keeps its base
(the tensor that owns the memory) and the view ops that lead from it."""

from __future__ import annotations

import weakref
from typing import Any

from .engine import state
from .ops import Op


def remember_view(t: Any, source: Any, op: Op, params: dict) -> None:
    """t = op(source) shares source's memory: note its base and the view ops from it,
    and list it among the views of the memory (weakly) while recording."""
    if not state.enabled:
        t.requires_grad = source.requires_grad  # as PyTorch: a no-grad view still "requires"
    base, steps, recording = source._view or (source, (), True)
    t._view = (base, steps + ((op, params),), recording and state.enabled)
    if state.enabled:
        version = t._vc
        views = version.views
        if views is None:
            version.views = views = []
        elif len(views) >= 16 and len(views) & (len(views) - 1) == 0:
            views[:] = [ref for ref in views if ref() is not None]  # drop dead views
        views.append(weakref.ref(t))
