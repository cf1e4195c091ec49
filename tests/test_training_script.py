"""A PyTorch user's whole training script (model, DataLoader, loss, optimizer,
scheduler, gradient clipping, a checkpoint saved and resumed) runs with
``import tinygrad_edu as torch`` and nothing else changed. Where PyTorch is
installed the same function runs on it, from the same initial weights and data,
and both must agree.
"""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_edu

try:
    import torch as real_torch
except ImportError:
    real_torch = None


def make_data(n=96, d=6, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 2, (classes, d))
    labels = rng.integers(0, classes, n)
    points = centres[labels] + rng.normal(0, 1, (n, d))
    return points, labels


def initial_weights(seed=1):
    rng = np.random.default_rng(seed)
    return {"0.weight": rng.normal(0, 0.3, (16, 6)), "0.bias": np.zeros(16),
            "1.weight": np.ones(16), "1.bias": np.zeros(16),
            "3.weight": rng.normal(0, 0.3, (3, 16)), "3.bias": np.zeros(3)}


def build(torch, weights):
    from collections import OrderedDict
    nn = torch.nn
    model = nn.Sequential(nn.Linear(6, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 3))
    model = model.double()
    state = model.state_dict()
    for name, value in weights.items():
        state[name] = torch.tensor(value, dtype=torch.float64)
    model.load_state_dict(OrderedDict(state))
    decay = [p for n, p in model.named_parameters() if n.endswith("weight")]
    no_decay = [p for n, p in model.named_parameters() if n.endswith("bias")]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05},
                                   {"params": no_decay, "weight_decay": 0.0}], lr=0.01)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
    return model, optimizer, scheduler


def train_epochs(torch, model, optimizer, scheduler, loader, epochs):
    loss_fn = torch.nn.CrossEntropyLoss(label_smoothing=0.1)
    losses = []
    for _epoch in range(epochs):
        model.train()
        total = 0.0
        for xb, yb in loader:
            optimizer.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
            optimizer.step()
            total += loss.item() * len(xb)
        scheduler.step()
        losses.append(total / len(loader.dataset))
    return losses


def script(torch, path, resume):
    """Train 3 epochs, save a checkpoint, then 3 more: straight on, or after loading
    the checkpoint into a fresh model and optimizer (resume=True)."""
    DataLoader, TensorDataset = torch.utils.data.DataLoader, torch.utils.data.TensorDataset
    points, labels = make_data()
    dataset = TensorDataset(torch.tensor(points, dtype=torch.float64), torch.tensor(labels))
    loader = DataLoader(dataset, batch_size=16, shuffle=False, drop_last=False)
    model, optimizer, scheduler = build(torch, initial_weights())
    losses = train_epochs(torch, model, optimizer, scheduler, loader, 3)
    torch.save({"epoch": 3, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(), "losses": losses}, path)
    if resume:
        checkpoint = torch.load(path)
        model, optimizer, scheduler = build(torch, initial_weights(seed=2))  # other weights
        model.load_state_dict(checkpoint["model"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        scheduler.load_state_dict(checkpoint["scheduler"])
        assert checkpoint["epoch"] == 3 and checkpoint["losses"] == losses
    losses += train_epochs(torch, model, optimizer, scheduler, loader, 3)
    model.eval()
    with torch.no_grad():
        accuracy = (model(dataset.tensors[0]).argmax(dim=1) == dataset.tensors[1]).float().mean()
    weights = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    return losses, accuracy.item(), weights


@pytest.mark.parametrize("resume", [False, True], ids=["straight", "resumed"])
def test_the_training_script_runs_and_resuming_changes_nothing(tmp_path, resume):
    losses, accuracy, weights = script(tinygrad_edu, tmp_path / "ckpt.pt", resume)
    assert losses[-1] < losses[0] / 2 and accuracy > 0.9
    if resume:  # the same numbers as training straight on
        straight, _, straight_weights = script(tinygrad_edu, tmp_path / "other.pt", False)
        np.testing.assert_allclose(losses, straight, rtol=1e-12)
        for k in weights:
            np.testing.assert_allclose(weights[k], straight_weights[k], rtol=1e-12, atol=1e-14)


@pytest.mark.skipif(real_torch is None, reason="PyTorch is not installed")
def test_the_training_script_gives_pytorchs_numbers(tmp_path):
    ours = script(tinygrad_edu, tmp_path / "ours.pt", True)
    theirs = script(real_torch, tmp_path / "theirs.pt", True)
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-9)
    assert ours[1] == pytest.approx(theirs[1], rel=1e-6)  # a float32 mean
    for k in theirs[2]:  # atol: 0.bias stays ~0 (BatchNorm cancels it), so only noise
        np.testing.assert_allclose(ours[2][k], theirs[2][k], rtol=1e-8, atol=1e-9, err_msg=k)


def test_a_shuffled_loader_with_dropout_learns_and_repeats_with_its_seed():
    torch = tinygrad_edu
    from tinygrad_edu.utils.data import DataLoader, TensorDataset

    def run(seed):
        torch.manual_seed(seed)
        points, labels = make_data()
        loader = DataLoader(TensorDataset(torch.tensor(points), torch.tensor(labels)),
                            batch_size=16, shuffle=True)
        model = torch.nn.Sequential(torch.nn.Linear(6, 32), torch.nn.ReLU(),
                                    torch.nn.Dropout(0.2), torch.nn.Linear(32, 3)).double()
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=5)
        return train_epochs(torch, model, optimizer, scheduler, loader, 5)

    first = run(0)
    assert first[-1] < 0.6 * first[0]
    assert run(0) == first and run(1) != first
