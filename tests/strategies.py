"""Hypothesis strategies for op inputs: shapes (broadcasting included) and values
kept inside each op's domain and away from its kinks."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

MAX_SIDE = 3


def values(draw, shape, lo=-2.0, hi=2.0, avoid=None, gap=0.05):
    """A float64 array of ``shape`` with elements in [lo, hi], at least ``gap`` away
    from every point in ``avoid`` (kinks where finite differences are meaningless)."""
    elements = st.floats(lo, hi, allow_nan=False, allow_infinity=False)
    if avoid:
        elements = elements.filter(lambda v: all(abs(v - k) > gap for k in avoid))
    return draw(hnp.arrays(np.float64, shape, elements=elements))


def shape(draw, min_dims=0, max_dims=3, min_side=1, max_side=MAX_SIDE):
    return draw(hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side,
                                 max_side=max_side))


def broadcast_shapes(draw, n=2, max_dims=3):
    """n shapes that broadcast together (size-1 and missing axes included)."""
    shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=n, max_dims=max_dims,
                                                    min_side=1, max_side=MAX_SIDE))
    return shapes.input_shapes


def distinct(draw, shape, spacing=0.37, offset=0.0):
    """Values all different from each other (no ties for max/min)."""
    n = int(np.prod(shape))
    order = draw(st.permutations(range(n))) if n else []
    return (np.array(order, dtype=np.float64) * spacing - n * spacing / 2 + offset).reshape(shape)


def interleaved(draw, shape, half):
    """Multiples of 0.5 (half=0) or those plus 0.25 (half=1): two such arrays never tie."""
    ints = draw(hnp.arrays(np.int64, shape, elements=st.integers(-4, 4)))
    return ints * 0.5 + 0.25 * half


def axes(draw, ndim):
    """None, one axis (maybe negative) or a tuple of distinct axes."""
    if ndim == 0:
        return None
    choice = draw(st.integers(0, 2))
    if choice == 0:
        return None
    if choice == 1:
        return draw(st.integers(-ndim, ndim - 1))
    subset = draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True))
    return tuple(subset)
