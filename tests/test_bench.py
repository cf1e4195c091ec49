"""Smoke test of benchmarks/bench.py --quick: it runs, prints its table and writes JSON
with every workload. No timing is asserted (the numbers depend on the machine)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "benchmarks" / "bench.py"
WORKLOADS = ["quadratic-100", "quadratic-1m", "chain", "chain-1m", "linreg", "mlp", "cnn",
             "compiled-quadratic-100", "compiled-quadratic-1m", "compiled-chain",
             "compiled-linreg", "compiled-mlp"]
PEERS = ["torch", "mygrad", "autograd", "jax"]
# The targets of issue 11 (engine shape), by workload and limit, next to those of issue 5
ENGINE_SHAPE_TARGETS = sorted([("quadratic-100", 4.5), ("quadratic-100", 0.9),
                               ("quadratic-1m", 1.25), ("chain", 4.5), ("chain", 0.9),
                               ("chain-1m", 6.0)])


def run_bench(tmp_path, *args, env_extra=None):
    out_json = tmp_path / "bench.json"
    env = dict(os.environ)
    env.pop("TINYGRAD_EDU_BENCH_NO_PEERS", None)
    env.update(env_extra or {})
    proc = subprocess.run([sys.executable, str(BENCH), "--quick", "--json", str(out_json),
                           *args], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, f"bench.py failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout, json.loads(out_json.read_text())


def check_report(stdout, doc, workloads):
    assert "tinygrad_edu benchmark" in stdout
    assert "load average" in stdout
    assert "targets (issue 5):" in stdout
    assert "targets (issue 11, engine shape):" in stdout
    assert stdout.index("targets (issue 5):") < stdout.index("targets (issue 11, engine shape):")
    assert set(doc["workloads"]) == set(workloads)
    assert doc["errors"] == []
    assert doc["meta"]["quick"] is True
    for name in workloads:
        assert f"] {name}: " in stdout  # the section's heading
        section = doc["workloads"][name]
        impls = section["implementations"]
        assert "engine" in impls, name
        if name != "chain-1m":
            assert "numpy" in impls, name
        for impl in impls.values():
            assert impl["median_s"] > 0
            assert len(impl["samples_s"]) == section["rounds"]
        for target in section["targets"]:
            assert target["target"] in stdout
            assert target["issue"] in (5, 11, 16)
            if target["pass"] is None:  # only a comparison with a peer that did not run
                assert target["missing"] == "PyTorch not available"
                assert "torch" in doc["meta"]["peers_skipped"]
            else:
                assert target["pass"] in (True, False)
    engine_shape = sorted((name, t["limit"]) for name in workloads
                          for t in doc["workloads"][name]["targets"] if t["issue"] == 11)
    assert engine_shape == [t for t in ENGINE_SHAPE_TARGETS if t[0] in workloads]
    if engine_shape:
        assert "    target (issue 11): " in stdout  # labelled in the workload's section too


def test_quick_run_with_whatever_peers_are_installed(tmp_path):
    stdout, doc = run_bench(tmp_path)
    check_report(stdout, doc, WORKLOADS)
    for peer, why in doc["meta"]["peers_skipped"].items():
        assert peer in PEERS
        assert "not importable" in why
    mem = doc["workloads"]["quadratic-1m"]["memory"]
    assert mem["engine"]["tracemalloc_peak_bytes"] > 0
    assert mem["numpy"]["tracemalloc_peak_bytes"] > 0


def test_quick_run_when_no_peer_can_be_imported(tmp_path):
    # CI installs none of the peers: stand-in modules that fail to import take their place
    blocked = tmp_path / "blocked"
    blocked.mkdir()
    for peer in PEERS:
        (blocked / f"{peer}.py").write_text(f"raise ImportError('{peer} blocked by the test')\n")
    path = os.pathsep.join(filter(None, [str(blocked), os.environ.get("PYTHONPATH")]))
    stdout, doc = run_bench(tmp_path, env_extra={"PYTHONPATH": path})
    check_report(stdout, doc, WORKLOADS)
    assert sorted(doc["meta"]["peers_skipped"]) == sorted(PEERS)
    assert doc["meta"]["peers"] == {}
    assert "blocked by the test" in stdout
    for section in doc["workloads"].values():
        assert not set(section["implementations"]) & set(PEERS)


@pytest.mark.parametrize("how", ["flag", "env"])
def test_only_and_no_peers(tmp_path, how):
    args = ["--only", "chain,linreg"] + (["--no-peers"] if how == "flag" else [])
    env = {"TINYGRAD_EDU_BENCH_NO_PEERS": "1"} if how == "env" else None
    stdout, doc = run_bench(tmp_path, *args, env_extra=env)
    check_report(stdout, doc, ["chain", "linreg"])
    assert sorted(doc["meta"]["peers_skipped"]) == sorted(PEERS)
    assert all("disabled" in why for why in doc["meta"]["peers_skipped"].values())
