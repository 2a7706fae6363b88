"""torus_hw.train: a short seeded run learns, is reproducible, and its checkpoint validates."""

import dataclasses

import numpy as np
import pytest
import torch

from model_helpers import SHORT, trained
from torus_hw.errors import TorusInputError
from torus_hw.export import export_codes
from torus_hw.train import Checkpoint, TrainSettings, ensure_model, train_model

pytestmark = pytest.mark.xdist_group("torus_model")


@pytest.fixture(autouse=True)
def one_thread():
    torch.set_num_threads(1)


def test_short_seeded_digits_run_reaches_high_query_p_at_1():
    ckpt, _ = trained()
    assert ckpt.p_at_1 >= 0.9
    assert ckpt.history[0]["epoch"] == 0 and ckpt.best_epoch >= 1
    assert max(h["p_at_1"] for h in ckpt.history if h["p_at_1"] is not None) == ckpt.p_at_1


def test_checkpoint_round_trip_records_every_setting(tmp_path):
    ckpt, path = trained()
    again = Checkpoint.load(path)
    assert again.settings == SHORT
    assert again.dataset["input_shape"] == [64] and again.p_at_1 == ckpt.p_at_1
    for k, v in ckpt.state_dict.items():
        assert torch.equal(v, again.state_dict[k])


def test_same_seed_gives_identical_checkpoint_and_codes(tmp_path):
    s = TrainSettings(mode="torusN", dim=8, epochs=2, seed=11)
    a = train_model(s, tmp_path / "a.pt")
    b = train_model(s, tmp_path / "b.pt")
    assert a.state_dict.keys() == b.state_dict.keys()
    assert all(torch.equal(a.state_dict[k], b.state_dict[k]) for k in a.state_dict)
    assert a.history == b.history
    ca, cb = export_codes(Checkpoint.load(tmp_path / "a.pt"), 8), export_codes(Checkpoint.load(tmp_path / "b.pt"), 8)
    assert np.array_equal(ca.database, cb.database) and np.array_equal(ca.queries, cb.queries)
    c = train_model(dataclasses.replace(s, seed=12))
    assert not all(torch.equal(a.state_dict[k], c.state_dict[k]) for k in a.state_dict)


def test_ensure_model_reuses_matching_and_retrains_other(tmp_path):
    s = TrainSettings(mode="sphere", dim=4, epochs=1)
    path = tmp_path / "m.pt"
    ensure_model(s, path)
    stamp = path.stat().st_mtime_ns
    ensure_model(s, path)
    assert path.stat().st_mtime_ns == stamp
    ensure_model(dataclasses.replace(s, seed=1), path)
    assert Checkpoint.load(path).settings.seed == 1


@pytest.mark.parametrize("change,match", [
    ({"mode": "hyperbolic"}, "mode must be one of"),
    ({"dim": 7}, "even dim"),
    ({"koleo": -1.0}, "koleo"),
    ({"epochs": 0}, "epochs"),
    ({"batch": 1}, "batch"),
    ({"lr": 0.0}, "lr"),
    ({"data": "imagenet"}, "data must be one of"),
    ({"clip": float("nan")}, "clip"),
])
def test_bad_settings(change, match):
    with pytest.raises(TorusInputError, match=match):
        TrainSettings(**change)


def test_corrupt_checkpoint(tmp_path):
    p = tmp_path / "bad.pt"
    p.write_bytes(b"\x00garbage" * 10)
    with pytest.raises(TorusInputError, match="not a readable torch checkpoint"):
        Checkpoint.load(p)
    _, good = trained()
    p.write_bytes(good.read_bytes()[: 3000])  # truncated
    with pytest.raises(TorusInputError, match="not a readable torch checkpoint"):
        Checkpoint.load(p)


def test_checkpoint_of_another_kind(tmp_path):
    p = tmp_path / "other.pt"
    torch.save(torch.nn.Linear(2, 2).state_dict(), p)
    with pytest.raises(TorusInputError, match="not a torus-hw model checkpoint"):
        Checkpoint.load(p)
    ckpt, _ = trained()
    d = ckpt.to_dict()
    d["settings"] = dict(d["settings"], dim=64)  # weights no longer fit
    torch.save(d, p)
    with pytest.raises(TorusInputError, match="do not fit"):
        Checkpoint.load(p)
    d = ckpt.to_dict()
    d["settings"] = {k: v for k, v in d["settings"].items() if k != "seed"}
    torch.save(d, p)
    with pytest.raises(TorusInputError, match="missing"):
        Checkpoint.load(p)


def test_missing_output_folder_fails_before_training(tmp_path):
    with pytest.raises(TorusInputError, match="does not exist"):
        train_model(TrainSettings(epochs=1), tmp_path / "no" / "m.pt")


@pytest.mark.parametrize("x_shape,mode", [((40, 8, 8, 3), "torusC"), ((40, 5), "sphere")])
def test_npz_images_use_the_cnn_and_vectors_the_mlp(tmp_path, x_shape, mode):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "d.npz", x=rng.random(x_shape).astype(np.float32), y=np.repeat(np.arange(4), 10))
    s = TrainSettings(mode=mode, dim=4, epochs=1, width=16, data=str(tmp_path / "d.npz"), koleo=0.1)
    ckpt = train_model(s, tmp_path / "m.pt")
    model = Checkpoint.load(tmp_path / "m.pt").model()
    assert type(model.encoder).__name__ == ("SmallCNN" if len(x_shape) == 4 else "MLP")
    codes = export_codes(ckpt, 8)
    assert codes.dims == 4 and len(codes.queries) == 8


def test_training_leaves_the_callers_rng_and_determinism_flag_alone():
    torch.manual_seed(123)
    before = torch.random.get_rng_state()
    flag = torch.are_deterministic_algorithms_enabled()
    train_model(TrainSettings(mode="torusC", dim=4, epochs=1))
    assert torch.equal(torch.random.get_rng_state(), before)
    assert torch.are_deterministic_algorithms_enabled() == flag
