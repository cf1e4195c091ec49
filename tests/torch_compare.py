"""Running the same computation in tinygrad_edu and in PyTorch, in float64, and
comparing the values and the gradients (for the tests that compare with PyTorch; they
import torch with pytest.importorskip before importing this)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

import tinygrad_edu as tg

RTOL, ATOL = 1e-10, 1e-12


def numpy_of(t) -> np.ndarray:
    """The values of a tinygrad_edu or a torch tensor."""
    return t.array if isinstance(t, tg.Tensor) else t.detach().numpy()


def assert_close(ours, theirs, what: str = "", rtol: float = RTOL, atol: float = ATOL) -> None:
    a, b = numpy_of(ours), numpy_of(theirs)
    assert a.shape == b.shape, f"{what}: shape {a.shape} here, {b.shape} in PyTorch"
    np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=what)


def compare(ours_fn: Callable, theirs_fn: Callable, *arrays: np.ndarray,
            seed: int = 0, rtol: float = RTOL, atol: float = ATOL) -> tuple:
    """Call both functions on leaves made from ``arrays`` (requiring grad), backward a
    random upstream gradient through both, and compare the outputs and the leaves'
    gradients. Returns (our leaves, their leaves)."""
    ours = [tg.tensor(np.asarray(a, dtype=np.float64), requires_grad=True) for a in arrays]
    theirs = [torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=True) for a in arrays]
    out, expected = ours_fn(*ours), theirs_fn(*theirs)
    assert_close(out, expected, "forward", rtol, atol)
    upstream = np.random.default_rng(seed).standard_normal(np.shape(numpy_of(out)))
    (out * tg.tensor(upstream)).sum().backward()
    (expected * torch.tensor(upstream)).sum().backward()
    for k, (a, b) in enumerate(zip(ours, theirs)):
        if b.grad is None:
            assert a.grad is None or not np.any(a.grad.array), f"input {k}: PyTorch has no grad"
        else:
            assert_close(a.grad, b.grad, f"gradient of input {k}", rtol, atol)
    return ours, theirs


def torch_state(module) -> dict:
    """Our module's state_dict as torch tensors (to load into the same PyTorch model)."""
    return {name: torch.tensor(t.array) for name, t in module.state_dict().items()}


def compare_grads(ours_module, theirs_module, names: Sequence[str] | None = None,
                  rtol: float = RTOL, atol: float = ATOL) -> None:
    """The parameters' gradients of two models with the same parameter names."""
    theirs = dict(theirs_module.named_parameters())
    for name, p in ours_module.named_parameters():
        if names is not None and name not in names:
            continue
        if theirs[name].grad is None:
            assert p.grad is None, name
        else:
            assert_close(p.grad, theirs[name].grad, f"gradient of {name}", rtol, atol)
