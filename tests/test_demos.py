"""The article demos: each reproduces what its article printed, writes its PNG, runs
from the command line, and answers bad arguments with a usage error."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

DEMOS = Path(__file__).resolve().parents[1] / "demos"
NAMES = ["quadratic_regression", "linear_regression", "numerical_gradient", "optimizers",
         "pytorch_style"]


@pytest.fixture
def load_demo(monkeypatch):
    """Import demos/<name>.py; the demos import their helper _common from their folder."""
    monkeypatch.syspath_prepend(str(DEMOS))

    def load(name):
        spec = importlib.util.spec_from_file_location(f"demo_{name}", DEMOS / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    return load


def assert_png(path: Path, min_bytes: int = 10_000) -> None:
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert path.stat().st_size > min_bytes


# --- each demo does what its article did -----------------------------------------------


def test_quadratic_demo_reproduces_the_article(load_demo, tmp_path, capsys):
    result = load_demo("quadratic_regression").main(["--out", str(tmp_path)])
    # the article printed [[2.98941611]] [[2.09813123]]; its program gives ours
    assert result["article_gap"] < 1e-3
    assert (result["w"], result["b"]) == pytest.approx((2.98927619, 2.09818307), abs=1e-8)
    # the engine's backward() and the hand-derived gradients: the same trajectory
    assert result["trajectory_gap"] <= 1e-9
    assert len(result["hand_w"]) == len(result["history"].w) == 801
    out = capsys.readouterr().out
    assert "Epoch 0: w=0.8692, b=0.9866, Loss=237.1448" in out
    assert "Epoch 700: w=2.9867, b=2.0991, Loss=0.1671" in out
    assert "[[2.98941611]] [[2.09813123]]" in out and "[[2.98927619]] [[2.09818307]]" in out
    assert result["png"] == tmp_path / "quadratic_regression.png"
    assert_png(result["png"])


def test_quadratic_demo_compile_flag_prints_the_generated_source(load_demo, capsys):
    result = load_demo("quadratic_regression").main(["--no-plot", "--compile"])
    out = capsys.readouterr().out
    assert "def step():" in out and "np.add(w_grad, " in out  # .grad += gradient, in place
    assert result["compiled"]["w"] == result["w"] and result["compiled"]["b"] == result["b"]


def test_quadratic_demo_default_log_has_no_compiled_source(load_demo, capsys):
    load_demo("quadratic_regression").main(["--no-plot"])
    assert "def step():" not in capsys.readouterr().out


def test_quadratic_demo_with_other_settings_makes_no_article_claim(load_demo, capsys):
    result = load_demo("quadratic_regression").main(["--epochs", "30", "--seed", "1",
                                                     "--no-plot"])
    assert "article_gap" not in result and result["trajectory_gap"] <= 1e-9
    assert "is for --epochs 800 --lr 0.001 --seed 100" in capsys.readouterr().out


def test_linear_demo_recovers_the_true_parameters(load_demo, tmp_path, capsys):
    result = load_demo("linear_regression").main(["--out", str(tmp_path)])
    np.testing.assert_allclose(result["w"], [2.0, 51.0], atol=0.05)
    assert result["b"] == pytest.approx(21.2, abs=0.05)
    np.testing.assert_allclose(result["w"], result["best_w"], atol=0.01)
    assert len(result["history"].loss) == 10
    out = capsys.readouterr().out
    assert out.count("Epoch ") == 10 and "least squares" in out
    assert_png(tmp_path / "linear_regression.png")


def test_numerical_gradient_demo(load_demo, tmp_path, capsys):
    result = load_demo("numerical_gradient").main(["--out", str(tmp_path)])
    assert result["relative_error"] < 1e-8  # central differences, h = 1e-6
    assert result["hand_error"] < 1e-13  # Xᵀ(ŷ − y), Σ(ŷ − y): the engine's own numbers
    assert result["trajectory_gap"] < 1e-8
    forward = result["sweep"]["forward"]
    bottom = int(np.argmin(forward))
    assert 0 < bottom < len(forward) - 1  # the V: worse for larger and for smaller h
    assert result["steps"][bottom] == pytest.approx(1e-8, rel=10)
    assert result["sweep"]["central"][0] < 1e-12  # no truncation error for a quadratic
    assert "Iteration 0 Loss:" in capsys.readouterr().out
    assert_png(tmp_path / "numerical_gradient.png")


def test_optimizers_demo(load_demo, tmp_path, capsys):
    result = load_demo("optimizers").main(["--out", str(tmp_path)])
    runs, best = result["runs"], result["best_loss"]
    assert result["momentum_gap"] < 1e-12  # the article's momentum is rescaled SGD momentum
    assert runs["gradient descent"]["w"] == pytest.approx(2.98927619, abs=1e-8)
    for fast in ("momentum, PyTorch", "Adam"):
        assert runs[fast]["loss"] == pytest.approx(best, abs=1e-9)
    assert runs["L2 on w"]["w"] < runs["gradient descent"]["w"]  # the penalty shrinks w
    assert runs["step decay"]["history"].lr[-1] == pytest.approx(0.001 * 0.8 ** 3)
    out = capsys.readouterr().out
    assert "least squares" in out and "step decay: lr 0.001 from epoch 0" in out
    assert_png(tmp_path / "optimizers.png")


def test_pytorch_style_demo_runs_the_articles_code(load_demo, tmp_path, capsys):
    result = load_demo("pytorch_style").main(["--out", str(tmp_path)])
    w, b = result["w"], result["b"]
    assert w.is_leaf and w.requires_grad and w.dtype == np.float32  # dtype=torch.float
    assert w.item() == pytest.approx(3.0, abs=0.1) and b.item() == pytest.approx(2.0, abs=0.15)
    assert result["loss"] < 0.2
    assert "tensor([[" in capsys.readouterr().out  # the article's print(w, b)
    assert_png(tmp_path / "pytorch_style.png")
    assert_png(tmp_path / "pytorch_style_data.png")


@pytest.mark.parametrize("name", NAMES)
def test_no_plot_writes_nothing(load_demo, tmp_path, name):
    out = tmp_path / "never"
    result = load_demo(name).main(["--epochs", "3", "--no-plot", "--out", str(out)])
    assert "png" not in result and not out.exists()


# --- bad arguments are usage errors -----------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("argv", [
    ["--epochs", "-1"], ["--epochs", "0"], ["--epochs", "1.5"], ["--lr", "0"],
    ["--lr", "-0.001"], ["--lr", "nan"], ["--lr", "fast"], ["--seed", "x"], ["--bogus"],
])
def test_bad_arguments_are_usage_errors(load_demo, capsys, name, argv):
    demo = load_demo(name)
    with pytest.raises(SystemExit) as exit_info:
        demo.main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage:") and "error:" in err


@pytest.mark.parametrize("name, argv", [
    ("linear_regression", ["--batch-size", "0"]),
    ("optimizers", ["--adam-lr", "-1"]),
    ("cnn_digits", ["--batch-size", "0"]),
    ("cnn_digits", ["--batch-size", "ten"]),
])
def test_demo_specific_bad_arguments(load_demo, capsys, name, argv):
    with pytest.raises(SystemExit) as exit_info:
        load_demo(name).main(argv)
    assert exit_info.value.code == 2 and "error:" in capsys.readouterr().err


# --- the real command line -----------------------------------------------------------------


def run_command(args, cwd, env=None):
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


def test_command_line_default_output_folder(tmp_path):
    done = run_command([str(DEMOS / "quadratic_regression.py"), "--epochs", "5"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Epoch 0: w=0.8692" in done.stdout
    assert_png(tmp_path / "out" / "quadratic_regression.png")


def test_command_line_usage_error(tmp_path):
    done = run_command([str(DEMOS / "linear_regression.py"), "--epochs", "-3"], tmp_path)
    assert done.returncode == 2
    assert "usage:" in done.stderr and "--epochs" in done.stderr


DIVERGING = [("quadratic_regression", ["--lr", "1"]), ("quadratic_regression", ["--lr", "10"]),
             ("numerical_gradient", ["--lr", "100"]), ("optimizers", ["--lr", "10"]),
             ("pytorch_style", ["--lr", "10"]), ("pytorch_style", ["--lr", "0.0178"]),
             ("linear_regression", ["--lr", "10"]), ("linear_regression", ["--lr", "1e300"]),
             ("linear_regression", ["--batch-size", "300", "--lr", "0.01"])]


@pytest.mark.parametrize("name, argv", DIVERGING)
def test_command_line_divergence_is_a_message_not_a_traceback(tmp_path, load_demo, name,
                                                              argv):
    done = run_command([str(DEMOS / f"{name}.py"), *argv, "--no-plot"], tmp_path)
    assert done.returncode == 1, done.stderr
    assert done.stderr.startswith("error: training diverged") and "smaller" in done.stderr
    assert "Traceback" not in done.stderr and "Warning" not in done.stderr
    assert len(done.stderr.splitlines()) == 1
    # the advice is a learning rate computed from the data, and it works
    suggested = re.search(r"so --lr (\S+) is safe", done.stderr).group(1)
    assert float(suggested) < float(argv[-1])
    load_demo(name).main([*argv[:-2], "--lr", suggested, "--no-plot"])
    # it stopped at the first blown-up value: no screen-wide numbers before the message
    assert max((len(line) for line in done.stdout.splitlines()), default=0) < 200


def test_linear_demo_stops_in_the_epoch_that_blows_up(tmp_path):
    done = run_command([str(DEMOS / "linear_regression.py"), "--lr", "10", "--no-plot"],
                       tmp_path)
    assert done.returncode == 1 and "Epoch" not in done.stdout
    assert done.stderr.startswith("error: training diverged in epoch 0: the loss of a batch "
                                  "grew to ")


def test_linear_demo_explains_that_a_larger_batch_takes_larger_steps(tmp_path):
    done = run_command([str(DEMOS / "linear_regression.py"), "--batch-size", "300",
                        "--no-plot"], tmp_path)
    assert done.returncode == 1 and done.stdout.count("Epoch ") == 1
    assert "a step grows with --batch-size: it is 30 times the article's" in done.stderr
    assert "stable only for lr < 0.00609" in done.stderr  # one batch: the exact bound


def test_the_stable_learning_rate_is_computed_from_the_data(load_demo):
    common = load_demo("_common")
    rng = np.random.default_rng(0)
    A = np.column_stack([rng.standard_normal((50, 2)), np.ones(50)])
    assert common.stable_lr(A) == pytest.approx(2 / np.linalg.eigvalsh(A.T @ A)[-1])
    assert common.stable_lr(A, batch_size=50) == common.stable_lr(A)
    # with batches: below 2/λ_max of every batch of 5, however the rows are shuffled
    batches = [A[k:k + 5] for k in range(0, 50, 5)]
    assert common.stable_lr(A, batch_size=5) <= min(2 / np.linalg.eigvalsh(a.T @ a)[-1]
                                                    for a in batches)
    assert common.safe_lr(0.0178) == pytest.approx(0.008)
    assert common.safe_lr(0.169) == pytest.approx(0.08)
    assert common.safe_lr(2.0) == 1.0


def test_no_plot_needs_no_matplotlib(tmp_path):
    """With matplotlib made unimportable, every demo still runs under --no-plot."""
    fake = tmp_path / "fake" / "matplotlib"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('matplotlib is blocked')\n")
    driver = tmp_path / "run_all.py"
    driver.write_text(textwrap.dedent(f"""
        import runpy, sys
        sys.path.insert(0, {str(DEMOS)!r})
        for name in {NAMES!r}:
            sys.argv = [name, "--epochs", "2", "--no-plot"]
            runpy.run_path({str(DEMOS)!r} + "/" + name + ".py", run_name="__main__")
        try:
            import matplotlib
        except ImportError:
            print("matplotlib was blocked throughout")
    """))
    env = {**os.environ, "PYTHONPATH": str(fake.parent)}
    done = run_command([str(driver)], tmp_path, env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("Epoch 0:") == 3  # quadratic, linear, pytorch_style
    assert "Iteration 0 Loss:" in done.stdout and "least squares" in done.stdout
    assert done.stdout.rstrip().endswith("matplotlib was blocked throughout")


# --- mistakes on the command line: one clear line, never a traceback ------------------------

SEEDED = NAMES + ["mlp_moons", "mlp_spiral", "cnn_digits"]  # every demo with --seed


def assert_usage_error(done, message):
    """Exit status 2, argparse's usage and one "error:" line holding the message."""
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith("usage:")
    error_lines = [line for line in done.stderr.splitlines() if "error:" in line]
    assert len(error_lines) == 1 and message in error_lines[0], done.stderr


@pytest.mark.parametrize("name", SEEDED)
@pytest.mark.parametrize("seed", ["-1", "4294967296"])
def test_command_line_bad_seed(tmp_path, name, seed):
    done = run_command([str(DEMOS / f"{name}.py"), "--seed", seed, "--no-plot"], tmp_path)
    assert_usage_error(done, f"argument --seed: must be from 0 to 2**32 - 1 = 4294967295, "
                             f"got {seed}")


@pytest.mark.parametrize("name", ["quadratic_regression", "pytorch_style"])
def test_the_largest_seed_is_fine(load_demo, name):
    load_demo(name).main(["--seed", "4294967295", "--epochs", "2", "--no-plot"])


ALL = SEEDED + ["explain_backward", "stepper"]  # every demo; all take --out and --no-plot


def blocked_matplotlib(tmp_path) -> dict:
    """An environment in which `import matplotlib` raises ImportError."""
    fake = tmp_path / "fake" / "matplotlib"
    fake.mkdir(parents=True, exist_ok=True)
    (fake / "__init__.py").write_text("raise ImportError('matplotlib is blocked')\n")
    return {**os.environ, "PYTHONPATH": str(fake.parent)}


@pytest.mark.parametrize("name", ALL)
def test_command_line_out_is_a_file(tmp_path, name):
    taken = tmp_path / "taken.png"
    taken.write_bytes(b"not a folder")
    done = run_command([str(DEMOS / f"{name}.py"), "--out", str(taken)], tmp_path)
    assert_usage_error(done, f"argument --out: {taken} is a file, not a folder")
    assert done.stdout == ""  # refused before any training
    assert taken.read_bytes() == b"not a folder"


@pytest.mark.parametrize("name", ["linear_regression", "explain_backward"])
def test_command_line_out_under_a_file(tmp_path, name):
    (tmp_path / "file").write_text("")
    out = tmp_path / "file" / "pictures"
    done = run_command([str(DEMOS / f"{name}.py"), "--out", str(out)], tmp_path)
    assert_usage_error(done, f"argument --out: cannot create the folder {out}: "
                             f"{tmp_path / 'file'} is a file")
    assert done.stdout == ""


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="root may write into any folder, whatever its mode")
@pytest.mark.parametrize("inside", [False, True])
def test_command_line_out_not_writable(tmp_path, inside):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    out = locked / "pictures" if inside else locked
    try:
        done = run_command([str(DEMOS / "quadratic_regression.py"), "--out", str(out)],
                           tmp_path)
    finally:
        locked.chmod(0o700)
    message = (f"cannot create the folder {out} (Permission denied)" if inside
               else f"cannot write into the folder {out} (Permission denied)")
    assert_usage_error(done, f"argument --out: {message}")
    assert done.stdout == ""


@pytest.mark.parametrize("name", [n for n in ALL if n != "stepper"])  # it needs none
def test_command_line_without_matplotlib_asks_for_it_before_training(tmp_path, name):
    done = run_command([str(DEMOS / f"{name}.py"), "--out", str(tmp_path / "pictures")],
                       tmp_path, blocked_matplotlib(tmp_path))
    assert_usage_error(done, "matplotlib is not installed: install the plot extra "
                             "(pip install -e '.[plot]') or pass --no-plot")
    assert done.stdout == ""


@pytest.mark.parametrize("epochs, remark", [
    ("10", "(only 10 epochs, so progress is printed after every one)"),
    ("3", "(only 3 epochs, so progress is printed after every one)"),
    ("1", "(only 1 epoch, so progress is printed after it)"),
    ("50", None),
])
def test_linear_demo_says_only_n_epochs_only_when_true(load_demo, capsys, epochs, remark):
    load_demo("linear_regression").main(["--epochs", epochs, "--no-plot"])
    out = capsys.readouterr().out
    assert out.count("Epoch ") == int(epochs)
    if remark is None:
        assert "(only" not in out
    else:
        assert remark in out


def test_linear_demo_table_keeps_wide_numbers_apart(load_demo):
    table = load_demo("linear_regression").parameter_table([
        ("true", np.array([2.0, 51.0]), 21.2),
        ("learned", np.array([37366.1643, -52317.1926]), -64898.9449),
        ("huge", np.array([-1.5e300, 2.0]), 3.0),
    ])
    header, *rows = table.splitlines()
    assert header.split() == ["w1", "w2", "b"]
    numbers = [[float(cell) for cell in row.split()[1:]] for row in rows]
    assert numbers == [[2.0, 51.0, 21.2], [37366.1643, -52317.1926, -64898.9449],
                       [-1.5e300, 2.0, 3.0]]
    assert len({len(line) for line in table.splitlines()}) == 1  # the columns line up


def test_linear_demo_help_shows_the_batch_size_default(load_demo, capsys):
    with pytest.raises(SystemExit):
        load_demo("linear_regression").main(["--help"])
    assert "examples per batch (default 10)" in " ".join(capsys.readouterr().out.split())


# --- what each demo takes: its --help and README's table ---------------------------------


def help_entries(load_demo, capsys, name) -> dict[str, str]:
    """The options of the demo's --help: flag -> its help text (on one line)."""
    with pytest.raises(SystemExit) as exit_info:
        load_demo(name).main(["--help"])
    assert exit_info.value.code == 0
    options = capsys.readouterr().out.split("options:", 1)[1]
    entries = re.split(r"\n  (?=-)", "\n" + options)[1:]  # each starts with its flag(s)
    return {entry.split()[0].rstrip(","): " ".join(entry.split()) for entry in entries}


@pytest.mark.parametrize("name", ALL)
def test_help_lists_every_flag_with_its_default(load_demo, capsys, name):
    entries = help_entries(load_demo, capsys, name)
    assert "--out" in entries and "--no-plot" in entries
    for flag, text in entries.items():
        assert flag == "-h" or "(default" in text, text


def test_readme_table_says_which_flags_each_demo_takes(load_demo, capsys):
    readme = (DEMOS.parent / "README.md").read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| `\.venv/bin/python demos/(\w+)\.py` \| `([^`]*)` \|",
                           readme, flags=re.MULTILINE))
    assert sorted(rows) == sorted(ALL)
    for name, flags in rows.items():
        listed = {word for word in flags.split() if word.startswith("--")}
        taken = set(help_entries(load_demo, capsys, name)) - {"-h"}
        assert listed == taken, name


def test_readme_starts_with_the_two_quiet_commands():
    lines = (DEMOS.parent / "README.md").read_text(encoding="utf-8").splitlines()
    assert lines[:4] == [
        "```bash",
        "python3 -m venv .venv && .venv/bin/pip install -q -e '.[plot]' && "
        ".venv/bin/python demos/quadratic_regression.py",
        "python3 -m venv .venv && .venv/bin/pip install -q -e '.[test]' && "
        ".venv/bin/python -m pytest -q",
        "```",
    ]


def test_stepper_demo_writes_the_two_pages(load_demo, tmp_path, capsys):
    result = load_demo("stepper").main(["--out", str(tmp_path)])
    assert result["pages"] == [tmp_path / "stepper_quadratic.html", tmp_path / "stepper_mlp.html"]
    for path in result["pages"]:
        text = path.read_text(encoding="utf-8")
        assert text.startswith("<!DOCTYPE html>") and "<svg" in text
    backward = [s for s in result["quadratic"].steps if s["phase"] == "backward"]
    assert len(backward) == 6  # the quadratic model's six ops, node by node
    assert result["w"].grad.item() == pytest.approx(-42.1125)
    out = capsys.readouterr().out
    assert "every one of the 4 parameters got a gradient" in out
    assert f"wrote {tmp_path / 'stepper_mlp.html'}" in out


def test_stepper_demo_needs_no_matplotlib(tmp_path):
    env = blocked_matplotlib(tmp_path)
    env["PYTHONPATH"] += os.pathsep + os.environ.get("PYTHONPATH", "")
    done = run_command([str(DEMOS / "stepper.py"), "--out", str(tmp_path)], tmp_path, env)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "stepper_quadratic.html").exists()
