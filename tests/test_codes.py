"""The codes file: round trips, atomic writes, and one clear error per bad field."""

import json
import zipfile

import numpy as np
import pytest

from torus_hw.codes import FORMAT_VERSION, TorusCodes
from torus_hw.errors import TorusInputError


def sample(bits=8, n=5, q=2, d=3):
    dtype = np.uint16 if bits == 16 else np.uint8
    rng = np.random.default_rng(0)
    return TorusCodes(
        database=rng.integers(0, 1 << bits, (n, d)).astype(dtype),
        queries=rng.integers(0, 1 << bits, (q, d)).astype(dtype),
        bits=bits,
        database_labels=np.arange(n, dtype=np.int64),
        query_labels=np.arange(q, dtype=np.int64),
        source={"mode": "torusN", "dim": 2 * d},
    )


@pytest.mark.parametrize("bits", [1, 4, 8, 16])
def test_round_trip(tmp_path, bits):
    codes = sample(bits)
    codes.save(tmp_path / "c.npz")
    back = TorusCodes.load(tmp_path / "c.npz")
    assert back.bits == bits and back.source == codes.source
    for name in ("database", "queries", "database_labels", "query_labels"):
        np.testing.assert_array_equal(getattr(back, name), getattr(codes, name))
        assert getattr(back, name).dtype == getattr(codes, name).dtype


def test_save_leaves_no_temporary_file_and_no_partial_file_on_failure(tmp_path, monkeypatch):
    sample().save(tmp_path / "ok.npz")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ok.npz"]

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez_compressed", boom)
    with pytest.raises(OSError):
        sample().save(tmp_path / "bad.npz")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ok.npz"]


def write_npz(path, **arrays):
    base = {"database": np.zeros((2, 3), np.uint8), "queries": np.zeros((1, 3), np.uint8),
            "bits": np.array(8), "format_version": np.array(FORMAT_VERSION)}
    base.update(arrays)
    np.savez(path, **{k: v for k, v in base.items() if v is not None})


@pytest.mark.parametrize("arrays, message", [
    ({"database": None}, "no 'database' array"),
    ({"queries": None}, "no 'queries' array"),
    ({"bits": None}, "no 'bits' array"),
    ({"database": np.zeros((2, 3), np.int32)}, "'database' must be uint8"),
    ({"queries": np.zeros(3, np.uint8)}, "'queries' must have rank 2"),
    ({"queries": np.zeros((1, 4), np.uint8)}, "'queries' has D=4"),
    ({"database": np.full((2, 3), 16, np.uint8), "bits": np.array(4)}, "holds 16, not below 2^4"),
    ({"bits": np.array(3)}, "'bits' must be one of 1, 4, 8, 16"),
    ({"bits": np.array([8, 8])}, "'bits' must be a scalar"),
    ({"database": np.zeros((2, 3), np.uint8), "bits": np.array(16)}, "must be uint16"),
    ({"format_version": np.array(2)}, "'format_version' must be 1"),
    ({"database_labels": np.zeros(2, np.float32)}, "'database_labels' must be int64"),
    ({"query_labels": np.zeros(5, np.int64)}, "'query_labels' must have shape (1,)"),
    ({"source": np.array("{not json")}, "'source' is not valid JSON"),
])
def test_bad_fields_are_named(tmp_path, arrays, message):
    path = tmp_path / "bad.npz"
    write_npz(path, **arrays)
    with pytest.raises(TorusInputError) as info:
        TorusCodes.load(path)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_truncated_and_foreign_files(tmp_path):
    good = tmp_path / "good.npz"
    sample().save(good)
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(good.read_bytes()[:100])
    text = tmp_path / "text.npz"
    text.write_text("hello")
    for path in (truncated, text):
        with pytest.raises(TorusInputError, match="not a readable .npz"):
            TorusCodes.load(path)
    with pytest.raises(TorusInputError, match="does not exist"):
        TorusCodes.load(tmp_path / "missing.npz")


def test_pickled_object_arrays_are_refused(tmp_path):
    path = tmp_path / "obj.npz"
    np.savez(path, database=np.array([object()]), queries=np.zeros((1, 3), np.uint8), bits=np.array(8),
             format_version=np.array(1))
    with pytest.raises(TorusInputError):
        TorusCodes.load(path)


def test_source_is_json(tmp_path):
    sample().save(tmp_path / "c.npz")
    with zipfile.ZipFile(tmp_path / "c.npz") as z:
        assert "source.npy" in z.namelist()
    assert json.loads(str(np.load(tmp_path / "c.npz")["source"]))["mode"] == "torusN"


def test_written_files_get_ordinary_permissions(tmp_path):
    import os
    import stat

    sample().save(tmp_path / "c.npz")
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE((tmp_path / "c.npz").stat().st_mode) == 0o666 & ~umask
