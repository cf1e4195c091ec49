"""The MLP demos learn what they promise, with a fixed seed, in a few seconds."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

DEMOS = Path(__file__).resolve().parents[1] / "demos"


@pytest.fixture
def load_demo(monkeypatch):
    """Import demos/<name>.py (the demos folder is not a package; its scripts import
    demos/_common.py as a top-level module, so the folder goes on sys.path)."""
    monkeypatch.syspath_prepend(str(DEMOS))
    return _load


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"demo_{name}", DEMOS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_moons_demo_reaches_97_percent_and_draws_its_boundary(tmp_path, load_demo):
    demo = load_demo("mlp_moons")
    result = demo.main(["--seed", "0", "--out", str(tmp_path)])
    assert result["accuracy"] >= 0.97
    assert result["losses"][-1] < 0.5 * result["losses"][0]
    png = tmp_path / "mlp_moons.png"
    assert result["png"] == png and png.stat().st_size > 10_000
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_moons_data_are_two_interleaved_half_moons(load_demo):
    demo = load_demo("mlp_moons")
    points, labels = demo.make_moons(200, noise=0.0, rng=np.random.default_rng(0))
    assert points.shape == (200, 2) and labels.tolist() == [0] * 100 + [1] * 100
    upper, lower = points[labels == 0], points[labels == 1]
    np.testing.assert_allclose(np.hypot(*upper.T), 1.0)  # on the unit circle
    np.testing.assert_allclose(np.hypot(lower[:, 0] - 1, lower[:, 1] - 0.5), 1.0)
    assert upper[:, 1].min() >= 0 and lower[:, 1].max() <= 0.5


def test_spiral_demo_learns_the_three_arms(tmp_path, load_demo):
    demo = load_demo("mlp_spiral")
    result = demo.main(["--seed", "0", "--epochs", "300", "--out", str(tmp_path),
                        "--no-plot"])
    assert result["accuracy"] >= 0.95
    assert result["png"] is None and not list(tmp_path.iterdir())
    points, labels = demo.make_spiral(50, 3, noise=0.0, rng=np.random.default_rng(0))
    assert points.shape == (150, 2) and np.bincount(labels).tolist() == [50, 50, 50]
    assert np.hypot(*points.T).max() == pytest.approx(1.0)


@pytest.mark.parametrize("name, argv", [
    ("mlp_moons", ["--lr", "10"]),  # the last step changes a lot: 88.0 % before, 73.7 % after
    ("mlp_moons", []),
    ("mlp_spiral", ["--epochs", "120"]),
])
def test_mlp_demos_log_and_summary_agree(load_demo, capsys, name, argv):
    """The last log line and the summary report the same thing: the model after the
    last step."""
    result = load_demo(name).main([*argv, "--no-plot"])
    out = capsys.readouterr().out
    epochs = int(argv[argv.index("--epochs") + 1]) if "--epochs" in argv else 300
    last = [line for line in out.splitlines() if line.startswith("epoch")][-1]
    assert last.split()[1] == str(epochs)
    assert f"accuracy {result['accuracy']:6.1%}" in last
    assert f"loss {result['losses'][-1]:.4f}" in last
    assert f"training accuracy {result['accuracy']:.1%} after {epochs} epochs" in out
    # one value per number of epochs trained, 0 (the start) to all of them
    assert len(result["losses"]) == len(result["accuracies"]) == epochs + 1


@pytest.mark.parametrize("name", ["mlp_moons", "mlp_spiral"])
def test_mlp_demos_one_epoch_is_singular(load_demo, capsys, name):
    load_demo(name).main(["--epochs", "1", "--no-plot"])
    out = capsys.readouterr().out
    assert "after 1 epoch in" in out and "1 epochs" not in out
