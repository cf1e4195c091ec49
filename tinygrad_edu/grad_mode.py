"""Switching recording on and off: ``no_grad``, ``enable_grad``, ``set_grad_enabled``.

Each is a block (``with no_grad():``) or a decorator (``@no_grad`` or ``@no_grad()``)
around one switch, ``GradMode``: it sets ``engine.state.enabled`` on entry and puts the
previous value back on exit (per thread).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from .engine import state


def is_grad_enabled() -> bool:
    """True when ops are being recorded for backward (per thread)."""
    return state.enabled


class GradMode:
    """A block, or a decorated function, that runs with recording set to ``enabled``."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = bool(enabled)
        self.previous: list[bool] = []  # a stack: the same block may be entered twice

    def __enter__(self) -> None:
        self.previous.append(state.enabled)
        state.enabled = self.enabled

    def __exit__(self, *exc: object) -> None:
        state.enabled = self.previous.pop()

    def __call__(self, fn: Callable) -> Callable:
        @functools.wraps(fn)
        def run(*args: Any, **kwargs: Any) -> Any:
            with GradMode(self.enabled):
                return fn(*args, **kwargs)
        return run


def no_grad(fn: Callable | None = None) -> Any:
    """``with no_grad():`` ops run without building a graph; in-place updates of
    parameters (``w -= lr * w.grad``) belong here. Also a decorator, with or without ()."""
    return GradMode(False)(fn) if fn is not None else GradMode(False)


def inference_mode(mode: bool | Callable = True) -> Any:
    """PyTorch's ``inference_mode``: here the same as ``no_grad`` (nothing is recorded;
    PyTorch also forbids using its results in a later recorded graph). A block or a
    decorator; ``inference_mode(False)`` records as usual."""
    if callable(mode):
        return GradMode(False)(mode)
    return GradMode(not mode)


def enable_grad(fn: Callable | None = None) -> Any:
    """Turns recording back on inside a ``no_grad`` block (or as a decorator)."""
    return GradMode(True)(fn) if fn is not None else GradMode(True)


class _Restore(GradMode):
    """What set_grad_enabled returns: the switch was made already; a block restores
    the previous mode at its end, a decorator undoes the switch and applies per call."""

    def __init__(self, enabled: bool, previous: bool) -> None:
        super().__init__(enabled)
        self.before = previous

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc: object) -> None:
        state.enabled = self.before

    def __call__(self, fn: Callable) -> Callable:
        state.enabled = self.before
        return super().__call__(fn)


def set_grad_enabled(mode: bool) -> GradMode:
    """Switch recording on or off at once (a plain call, as PyTorch's). Used as
    ``with set_grad_enabled(mode):`` the previous mode returns after the block, and as
    ``@set_grad_enabled(mode)`` it applies to each call of the function only."""
    previous = state.enabled
    state.enabled = bool(mode)
    return _Restore(bool(mode), previous)
