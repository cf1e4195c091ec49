"""Switching recording on and off: ``no_grad``, ``enable_grad``, ``set_grad_enabled``.

Each is a block (``with no_grad():``) or a decorator (``@no_grad`` or ``@no_grad()``)
around one switch, ``GradMode``: it sets ``engine.state.enabled`` on entry and puts the
previous value back on exit (per thread).

After ``watch_no_grad()``, while a user's ``no_grad`` (or ``inference_mode``,
``set_grad_enabled(False)``) is on, a small observer notes the tensors computed from
tensors that require grad (``made_without_grad``), so that ``explain_grad`` can say that
such a tensor has no gradient because of no_grad. It is off by default: an observer in
every training step's update block costs about 4 % of a small step. The switch that
``backward()`` itself uses never watches.
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Callable, Sequence
from typing import Any

from .engine import Observer, state

# tensors computed, while recording was off, from tensors that require grad: id -> ref
# (by id: a Tensor's == is elementwise, so it cannot be a dictionary key itself)
_made_without_grad: dict[int, weakref.ref] = {}


def made_without_grad(t: Any) -> bool:
    """True if ``t`` was computed inside ``no_grad`` from tensors that require grad."""
    ref = _made_without_grad.get(id(t))
    return ref is not None and ref() is t


class _WatchNoGrad(Observer):
    """Notes the tensors that a no_grad block computes from tensors requiring grad."""

    pending = False

    def forward(self, op: Any, inputs: Sequence, out: Any, node: Any, params: Any) -> None:
        self.pending = node is None and not state.enabled and not state.in_backward \
            and any(t.requires_grad for t in inputs)

    def made(self, t: Any) -> None:
        if self.pending:
            key = id(t)
            _made_without_grad[key] = weakref.ref(
                t, lambda _ref, k=key: _made_without_grad.pop(k, None))
            self.pending = False


_WATCH = _WatchNoGrad()
_watching = [False]  # set by watch_no_grad()


def watch_no_grad(on: bool = True) -> None:
    """From now on (on=False: no longer), no_grad blocks note what they compute from
    tensors that require grad, for ``explain_grad``."""
    _watching[0] = bool(on)


def _watch(on: bool) -> bool:
    """Join (on) or leave the observers; True if this call changed anything."""
    watching = _WATCH in state.observers
    if on and not watching:
        state.observers = [*state.observers, _WATCH]
    elif watching and not on:
        state.observers = [o for o in state.observers if o is not _WATCH]
    else:
        return False
    return True


def is_grad_enabled() -> bool:
    """True when ops are being recorded for backward (per thread)."""
    return state.enabled


class GradMode:
    """A block, or a decorated function, that runs with recording set to ``enabled``."""

    def __init__(self, enabled: bool, watch: bool = False) -> None:
        self.enabled = bool(enabled)
        self.watch = watch and not self.enabled  # a user's no_grad: note what it makes
        self.previous: list[tuple[bool, bool]] = []  # a stack: a block may be re-entered

    def __enter__(self) -> None:
        self.previous.append((state.enabled, self.watch and _watching[0] and _watch(True)))
        state.enabled = self.enabled

    def __exit__(self, *exc: object) -> None:
        state.enabled, joined = self.previous.pop()
        if joined:
            _watch(False)

    def __call__(self, fn: Callable) -> Callable:
        @functools.wraps(fn)
        def run(*args: Any, **kwargs: Any) -> Any:
            with GradMode(self.enabled, self.watch):
                return fn(*args, **kwargs)
        return run


def no_grad(fn: Callable | None = None) -> Any:
    """``with no_grad():`` ops run without building a graph; in-place updates of
    parameters (``w -= lr * w.grad``) belong here. Also a decorator, with or without ()."""
    return GradMode(False, True)(fn) if fn is not None else GradMode(False, True)


def inference_mode(mode: bool | Callable = True) -> Any:
    """PyTorch's ``inference_mode``: here the same as ``no_grad`` (nothing is recorded;
    PyTorch also forbids using its results in a later recorded graph). A block or a
    decorator; ``inference_mode(False)`` records as usual."""
    if callable(mode):
        return GradMode(False, True)(mode)
    return GradMode(not mode, True)


def enable_grad(fn: Callable | None = None) -> Any:
    """Turns recording back on inside a ``no_grad`` block (or as a decorator)."""
    return GradMode(True)(fn) if fn is not None else GradMode(True)


class _Restore(GradMode):
    """What set_grad_enabled returns: the switch was made already; a block restores
    the previous mode at its end, a decorator undoes the switch and applies per call."""

    def __init__(self, enabled: bool, previous: bool) -> None:
        super().__init__(enabled, True)
        self.before = previous

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc: object) -> None:
        state.enabled = self.before
        _watch(not self.before and _watching[0])

    def __call__(self, fn: Callable) -> Callable:
        state.enabled = self.before
        _watch(not self.before and _watching[0])
        return super().__call__(fn)


def set_grad_enabled(mode: bool) -> GradMode:
    """Switch recording on or off at once (a plain call, as PyTorch's). Used as
    ``with set_grad_enabled(mode):`` the previous mode returns after the block, and as
    ``@set_grad_enabled(mode)`` it applies to each call of the function only."""
    previous = state.enabled
    state.enabled = bool(mode)
    _watch(not mode and _watching[0])
    return _Restore(bool(mode), previous)
