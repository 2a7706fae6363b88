"""torus_hw.data: the digits split, CIFAR folders, .npz files, augmentation."""

import pickle

import numpy as np
import pytest
import torch

from torus_hw.data import augment, load_dataset, per_class_split
from torus_hw.errors import TorusInputError


def test_digits_split_is_fixed_disjoint_and_stratified():
    a, b = load_dataset("digits"), load_dataset("digits")
    assert (len(a.y_db), len(a.y_query)) == (1442, 355)
    assert np.array_equal(a.x_query, b.x_query) and np.array_equal(a.y_db, b.y_db)
    assert set(np.unique(a.y_query)) == set(range(10))
    assert a.x_db.dtype == np.float32 and 0.0 <= a.x_db.min() and a.x_db.max() <= 1.0
    # no image is both database and query
    db = {r.tobytes() for r in a.x_db}
    assert sum(r.tobytes() in db for r in a.x_query) < 5  # the set has a handful of exact duplicates


def test_per_class_split_takes_every_fifth():
    y = np.array([0] * 10 + [1] * 5)
    q = per_class_split(y)
    assert np.flatnonzero(q).tolist() == [4, 9, 14]


def test_missing_cifar_folder_names_the_expected_folder(tmp_path):
    with pytest.raises(TorusInputError) as e:
        load_dataset("cifar10", tmp_path)
    assert "cifar-10-batches-py" in str(e.value) and "\n" not in str(e.value)
    with pytest.raises(TorusInputError, match="cifar-100-python"):
        load_dataset("cifar100", tmp_path)


def test_cifar10_reads_python_batches(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        with open(folder / name, "wb") as fh:
            pickle.dump({b"data": rng.integers(0, 256, (4, 3072), dtype=np.uint8),
                         b"labels": list(range(4))}, fh)
    d = load_dataset("cifar10", tmp_path)
    assert d.x_db.shape == (20, 3, 32, 32) and d.x_query.shape == (4, 3, 32, 32)
    assert d.kind == "image" and d.y_db.dtype == np.int64


def test_cifar_corrupt_batch(tmp_path):
    folder = tmp_path / "cifar-100-python"
    folder.mkdir()
    (folder / "train").write_bytes(b"not a pickle")
    with pytest.raises(TorusInputError, match="not a readable pickle"):
        load_dataset("cifar100", tmp_path)


def test_npz_vectors_and_images(tmp_path):
    rng = np.random.default_rng(1)
    np.savez(tmp_path / "v.npz", x=rng.normal(size=(50, 7)), y=np.repeat(np.arange(5), 10))
    v = load_dataset(str(tmp_path / "v.npz"))
    assert v.kind == "vector" and len(v.y_query) == 10 and len(v.y_db) == 40
    np.savez(tmp_path / "i.npz", x=rng.integers(0, 256, (6, 16, 16, 3), dtype=np.uint8), y=np.arange(6),
             x_query=rng.integers(0, 256, (2, 16, 16, 3), dtype=np.uint8), y_query=np.arange(2))
    i = load_dataset(str(tmp_path / "i.npz"))
    assert i.kind == "image" and i.x_db.shape == (6, 3, 16, 16) and i.x_db.max() <= 1.0


@pytest.mark.parametrize("arrays,match", [
    ({"x": np.zeros((4, 2))}, "no 'y'"),
    ({"x": np.zeros((4, 2)), "y": np.zeros(3, dtype=int)}, "4 integer labels"),
    ({"x": np.zeros((4, 2)), "y": np.zeros(4)}, "integer labels"),
    ({"x": np.full((10, 2), np.nan), "y": np.zeros(10, dtype=int)}, "NaN"),
])
def test_bad_npz(tmp_path, arrays, match):
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(TorusInputError, match=match):
        load_dataset(str(tmp_path / "bad.npz"))


def test_unknown_data_name_and_missing_file(tmp_path):
    with pytest.raises(TorusInputError, match="data must be one of"):
        load_dataset("mnist")
    with pytest.raises(TorusInputError, match="does not exist"):
        load_dataset(str(tmp_path / "nope.npz"))


@pytest.mark.parametrize("kind,shape", [("digits", (5, 64)), ("image", (5, 3, 32, 32)), ("vector", (5, 9))])
def test_augment_is_seeded_and_keeps_shape(kind, shape):
    x = torch.rand(shape)
    a = augment(x, kind, torch.Generator().manual_seed(1))
    b = augment(x, kind, torch.Generator().manual_seed(1))
    c = augment(x, kind, torch.Generator().manual_seed(2))
    assert a.shape == x.shape and torch.equal(a, b) and not torch.equal(a, c)


def test_digit_shift_is_at_most_one_pixel():
    img = torch.zeros(1, 64)
    img[0, 3 * 8 + 3] = 1.0  # one bright pixel at (3, 3)
    out = augment(img, "digits", torch.Generator().manual_seed(0)).view(8, 8)
    r, c = divmod(int(out.argmax()), 8)
    assert abs(r - 3) <= 1 and abs(c - 3) <= 1
