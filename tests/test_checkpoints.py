"""Checkpoints: save and load nested objects without pickle, as torch.save / torch.load.

Round trips keep the nesting, the container kinds, dtypes and requires_grad; every
file that is not a whole, well-formed checkpoint is refused with a ValueError before
anything is returned (so a model loading from it stays as it was); PyTorch's own
pickle files are refused with a way to convert them."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import nn
from tinygrad_edu.serialization import load, save


def model(seed=0):
    tg.manual_seed(seed)
    return nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1))


def params(m):
    return {name: p.numpy().copy() for name, p in m.named_parameters()}


def assert_same(a, b):
    """Equal values with the same types all the way down (tensors: dtype,
    requires_grad and kind too)."""
    assert type(a) is type(b), (a, b)
    if isinstance(a, tg.Tensor):
        assert a.dtype == b.dtype and a.shape == b.shape and a.requires_grad == b.requires_grad
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    elif isinstance(a, (np.ndarray, np.generic)):
        assert a.dtype == b.dtype and np.shape(a) == np.shape(b)
        np.testing.assert_array_equal(a, b)
    elif isinstance(a, dict):
        assert list(a) == list(b)
        for key in a:
            assert type(key) is type(list(b)[list(a).index(key)])
            assert_same(a[key], b[key])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_same(x, y)
    elif isinstance(a, float) and np.isnan(a):
        assert np.isnan(b)
    else:
        assert a == b


def checkpoint():
    """What a training script saves: an epoch count, a model's and an optimizer's
    state dicts (PyTorch's layout: int keys, tuples, None), and odds and ends."""
    m = model()
    return {
        "epoch": 3, "loss": 0.125, "best": float("inf"), "nan": float("nan"),
        "done": False, "note": "run ü/1", "nothing": None,
        "model": m.state_dict(),
        "optim": {"state": {0: {"step": tg.tensor(4.0), "exp_avg": tg.zeros(3, 2)}},
                  "param_groups": [{"lr": 0.001, "betas": (0.9, 0.999), "eps": 1e-8,
                                    "foreach": None, "params": [0, 1, 2, 3]}]},
        "dtypes": [tg.ones(2, dtype=d) for d in (tg.float32, tg.float64, tg.int64, tg.int32,
                                                  tg.int16, tg.int8, tg.uint8, tg.bool)],
        "shapes": (tg.tensor(2.5), tg.zeros(0, 3), tg.arange(6.0).reshape(2, 3).T),
        "trainable": tg.ones(2, requires_grad=True),
        "parameter": m[0].weight,
        "arrays": {"u16": np.arange(3, dtype=np.uint16), "f16": np.ones(2, np.float16),
                   "scalar": np.float32(1.5), "count": np.int64(7)},
        1: "int key", 2.5: "float key", None: "None key", "flags": {True: 1, False: 0},
        "a b": tg.ones(1), "a_b": tg.zeros(1), "../x": tg.ones(1),  # look-alike names
    }


def test_a_nested_checkpoint_round_trips_exactly(tmp_path):
    obj = checkpoint()
    save(obj, tmp_path / "ckpt.pt")
    back = load(tmp_path / "ckpt.pt")
    assert_same(obj, back)
    assert isinstance(back["parameter"], nn.Parameter)
    assert back["model"]["0.weight"].is_leaf and back["trainable"].is_leaf
    with zipfile.ZipFile(tmp_path / "ckpt.pt") as archive:  # arrays named by where they sit
        names = archive.namelist()
    assert "model/0.weight.npy" in names and "optim/state/0/exp_avg.npy" in names
    assert all(".." not in name for name in names)


def test_tuples_stay_tuples_and_a_shared_tensor_stays_shared(tmp_path):
    t = tg.ones(2)
    save({"a": t, "b": t, "pair": (t, [t])}, tmp_path / "shared.pt")
    back = load(tmp_path / "shared.pt")
    assert back["a"] is back["b"] is back["pair"][0] is back["pair"][1][0]
    assert type(back["pair"]) is tuple and type(back["pair"][1]) is list


@pytest.mark.parametrize("obj", [tg.ones(2, 2), 3, "text", None, [1, (2.0, None)], {}])
def test_any_saveable_value_can_be_the_whole_object(obj, tmp_path):
    save(obj, tmp_path / "x.pt")
    assert_same(obj, load(tmp_path / "x.pt"))


def test_file_objects_and_pytorchs_keywords(tmp_path):
    buffer = io.BytesIO()
    save({"w": tg.ones(2)}, buffer, pickle_protocol=4)
    buffer.seek(0)
    assert load(buffer)["w"].tolist() == [1.0, 1.0]
    path = tmp_path / "w.pt"
    save({"w": tg.ones(2)}, path)
    for kwargs in ({"map_location": "cpu"}, {"map_location": tg.device("cpu")},
                   {"map_location": lambda storage, loc: storage},
                   {"map_location": {"cuda:0": "cpu"}}, {"weights_only": True},
                   {"weights_only": False, "mmap": False}):
        assert load(path, **kwargs)["w"].tolist() == [1.0, 1.0]
    with pytest.raises(RuntimeError, match="'cuda' is not available"):
        load(path, map_location="cuda")
    with pytest.raises(TypeError, match="weights_only must be True, False or None"):
        load(path, weights_only="yes")


def test_a_training_run_resumes_from_a_checkpoint(tmp_path):
    m = model(seed=1)
    optimizer = tg.optim.SGD(m.parameters(), lr=0.1)
    x, y = tg.randn(8, 2), tg.randn(8, 1)
    for _ in range(3):
        optimizer.zero_grad()
        ((m(x) - y) ** 2).mean().backward()
        optimizer.step()
    save({"epoch": 3, "model": m.state_dict()}, tmp_path / "ckpt.pt")
    resumed = model(seed=2)
    state = load(tmp_path / "ckpt.pt")
    resumed.load_state_dict(state["model"])
    assert state["epoch"] == 3
    np.testing.assert_array_equal(resumed(x).numpy(), m(x).numpy())


def test_files_of_the_earlier_format_still_load(tmp_path):
    """A flat .npz of name -> array (what save() wrote before, and numpy.savez writes)."""
    np.savez(tmp_path / "old.npz", **{"0.weight": np.ones((3, 2)), "steps": np.arange(2)})
    back = load(tmp_path / "old.npz")
    assert list(back) == ["0.weight", "steps"]
    assert back["0.weight"].dtype == tg.float64 and back["steps"].dtype == tg.int64


# --- what save refuses -------------------------------------------------------------------


@pytest.mark.parametrize("obj, message", [
    ({"w": {1, 2}}, r"obj\['w'\] is a set"),
    ({"model": model()}, r"obj\['model'\] is a Sequential.*save its state_dict\(\) instead"),
    ([object()], r"obj\[0\] is a object.*anything else would need pickle"),
    ({"c": np.ones(2, complex)}, r"obj\['c'\] has dtype complex128"),
    ({"s": np.array(["a"])}, r"has dtype <U1"),
    ({(1, 2): tg.ones(1)}, "has a key of type tuple"),
])
def test_save_refuses_what_would_need_pickle_and_leaves_the_file(obj, message, tmp_path):
    path = tmp_path / "keep.pt"
    save({"w": tg.ones(1)}, path)
    with pytest.raises(TypeError, match=message):
        save(obj, path)
    assert load(path)["w"].tolist() == [1.0]  # the earlier checkpoint is untouched


def test_save_refuses_an_object_that_contains_itself(tmp_path):
    loop = [1]
    loop.append(loop)
    with pytest.raises(ValueError, match=r"obj\[1\] contains itself"):
        save(loop, tmp_path / "loop.pt")


# --- what load refuses -------------------------------------------------------------------


def archive(path, manifest, arrays=(), extra=()):
    """A zip written by hand: ``manifest`` (a dict, or raw text), arrays by name."""
    with zipfile.ZipFile(path, "w") as zf:
        if manifest is not None:
            zf.writestr("manifest.json", manifest if isinstance(manifest, str)
                        else json.dumps(manifest))
        for name, array in dict(arrays).items():
            with zf.open(name, "w") as member:
                np.lib.format.write_array(member, array, allow_pickle=True)
        for name, data in dict(extra).items():
            zf.writestr(name, data)
    return path


def manifest(root):
    return {"format": "tinygrad_edu checkpoint", "version": 1, "object": root}


def tensor_node(name="w.npy", dtype="float64", shape=(3,), **more):
    return {"tensor": name, "dtype": dtype, "shape": list(shape), "requires_grad": False,
            **more}


def good(root_key="w"):
    return manifest({"dict": [[root_key, tensor_node()]]})


BAD_FILES = {
    "missing array": (good(), {}, {}, r"names the array 'w.npy', which is not in the file"),
    "dtype mismatch": (manifest({"dict": [["w", tensor_node(dtype="float32")]]}),
                       {"w.npy": np.ones(3)}, {}, "says dtype 'float32'"),
    "shape mismatch": (manifest({"dict": [["w", tensor_node(shape=(2,))]]}),
                       {"w.npy": np.ones(3)}, {}, r"says shape \[2\]"),
    "pickled objects": (good(), {"w.npy": np.array([{"a": 1}], dtype=object)}, {},
                        "holds Python objects"),
    "strings": (good(), {"w.npy": np.array(["abc"])}, {}, "non-numeric dtype"),
    "not JSON": ("{oops", {"w.npy": np.ones(3)}, {}, "manifest is not valid JSON"),
    "foreign manifest": ({"object": 1}, {}, {}, "not a tinygrad_edu checkpoint manifest"),
    "newer version": (dict(good(), version=2), {"w.npy": np.ones(3)}, {}, "version 2"),
    "unknown kind": (manifest({"set": [1]}), {}, {}, "of one of the kinds"),
    "two kinds": (manifest({"list": [], "tuple": []}), {}, {}, "of one of the kinds"),
    "bad dict entry": (manifest({"dict": [["w"]]}), {}, {}, r"must be \[key, value\]"),
    "duplicate key": (manifest({"dict": [["a", 1], ["a", 2]]}), {}, {}, "comes twice"),
    "an int that requires grad": (
        manifest({"dict": [["w", tensor_node(dtype="int64", requires_grad=True)]]}),
        {"w.npy": np.arange(3)}, {}, "int64 tensor cannot require grad"),
    "an unnamed array": (good(), {"w.npy": np.ones(3), "x.npy": np.ones(1)}, {},
                         r"arrays the manifest does not name: \['x.npy'\]"),
    "an extra member": (good(), {"w.npy": np.ones(3)}, {"run.sh": "rm -rf /"},
                        "'run.sh', which is neither an array nor the manifest"),
    "a bare list node": (manifest([1, 2]), {}, {}, "expected a value or an object"),

}


@pytest.mark.parametrize("case", BAD_FILES)
def test_a_bad_file_is_refused_and_the_model_stays_as_it_was(case, tmp_path):
    root, arrays, extra, message = BAD_FILES[case]
    path = archive(tmp_path / "bad.pt", root, arrays, extra)
    m = model()
    before = params(m)
    with pytest.raises(ValueError, match=message) as info:
        m.load_state_dict(load(path))
    assert "bad.pt" in str(info.value)
    after = params(m)
    assert all(np.array_equal(before[k], after[k]) for k in before)


def test_a_hand_written_manifest_may_order_its_fields_freely(tmp_path):
    node = {"dtype": "float64", "shape": [3], "tensor": "w.npy"}  # no requires_grad: False
    path = archive(tmp_path / "hand.pt", manifest({"dict": [["w", node]]}),
                   {"w.npy": np.ones(3)})
    assert load(path)["w"].tolist() == [1.0, 1.0, 1.0]


def test_truncated_and_damaged_files_are_refused(tmp_path):
    path = tmp_path / "ckpt.pt"
    save({"w": tg.arange(2000.0)}, path)
    data = path.read_bytes()
    (tmp_path / "short.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="damaged or truncated"):
        load(tmp_path / "short.pt")
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0xFF  # inside the array's bytes: the CRC no longer matches
    (tmp_path / "flipped.pt").write_bytes(bytes(flipped))
    with pytest.raises(ValueError, match="array 'w.npy' is damaged"):
        load(tmp_path / "flipped.pt")
    (tmp_path / "text.pt").write_text("hello")
    with pytest.raises(ValueError, match="not a file written by save"):
        load(tmp_path / "text.pt")
    np.save(tmp_path / "one.npy", np.ones(2))
    with pytest.raises(ValueError, match="single array"):
        load(tmp_path / "one.npy")
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "missing.pt")


def test_pytorch_files_are_refused_with_a_way_to_convert_them(tmp_path):
    torch = pytest.importorskip("torch")
    state = {"weight": torch.ones(3, 2), "bias": torch.zeros(3)}
    torch.save(state, tmp_path / "torch.pt")
    torch.save(state, tmp_path / "legacy.pt", _use_new_zipfile_serialization=False)
    with pytest.raises(ValueError, match="PyTorch file written by torch.save.*numpy.savez"):
        load(tmp_path / "torch.pt")
    with pytest.raises(ValueError, match="is a pickle file .*legacy.*numpy.savez"):
        load(tmp_path / "legacy.pt")
    # the conversion the message gives, then the file loads here
    converted = torch.load(tmp_path / "torch.pt", weights_only=True)
    np.savez(tmp_path / "converted.npz", **{k: v.numpy() for k, v in converted.items()})
    m = nn.Linear(2, 3, dtype=tg.float32)
    m.load_state_dict(load(tmp_path / "converted.npz"))
    assert m.weight.tolist() == [[1.0] * 2] * 3


def test_the_round_trip_keeps_what_pytorchs_keeps(tmp_path):
    """The same nested object through torch.save/torch.load and through ours: the same
    kinds of containers and keys, dtypes and requires_grad."""
    torch = pytest.importorskip("torch")

    def build(lib):
        return {"epoch": 2, "pair": (lib.ones(2, dtype=lib.int32), [1.5, None]),
                "state": {0: {"buf": lib.zeros(2, dtype=lib.float32, requires_grad=True)}},
                "flag": True}

    def shape_of(x):
        if isinstance(x, (torch.Tensor, tg.Tensor)):
            return ("tensor", str(x.dtype).replace("torch.", ""), x.requires_grad)
        if isinstance(x, dict):
            return ("dict", [(type(k).__name__, k, shape_of(v)) for k, v in x.items()])
        if isinstance(x, (list, tuple)):
            return (type(x).__name__, [shape_of(v) for v in x])
        return (type(x).__name__, x)

    torch.save(build(torch), tmp_path / "t.pt")
    save(build(tg), tmp_path / "o.pt")
    theirs = shape_of(torch.load(tmp_path / "t.pt"))
    ours = shape_of(load(tmp_path / "o.pt"))
    assert ours == theirs
