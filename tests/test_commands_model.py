"""``torus-hw train | export | evaluate`` through torus_hw.cli.main: output and bad-input handling."""

import json

import numpy as np
import pytest
import torch

from model_helpers import trained
from torus_hw.cli import main
from torus_hw.codes import TorusCodes

pytestmark = pytest.mark.xdist_group("torus_model")


@pytest.fixture(autouse=True)
def one_thread():
    torch.set_num_threads(1)


def _one_line_error(capsys, rc):
    out = capsys.readouterr()
    assert rc == 2
    lines = out.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("torus-hw: error:"), out.err
    assert "Traceback" not in out.err
    return lines[0]


def test_train_export_evaluate(tmp_path, capsys):
    model = tmp_path / "m.pt"
    assert main(["train", "--mode", "sphere", "--dim", "8", "--epochs", "2", "--no-progress",
                 "--out", str(model)]) == 0
    assert "query P@1" in capsys.readouterr().out
    assert main(["export", "--model", str(model), "--bits", "1", "--out", str(tmp_path / "c.npz")]) == 0
    codes = TorusCodes.load(tmp_path / "c.npz")
    assert codes.bits == 1 and codes.dims == 8 and codes.source["mode"] == "sphere"
    capsys.readouterr()
    assert main(["evaluate", "--model", str(model), "--bits", "8", "1", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert set(r["quantised"]) == {"8", "1"} and "l2_plain" in r["quantised"]["8"]["p_at_1"]


def test_evaluate_table_and_search_on_exported_codes(tmp_path, capsys):
    _, model = trained()
    assert main(["export", "--model", str(model), "--bits", "4", "--out", str(tmp_path / "c.npz")]) == 0
    assert main(["evaluate", "--model", str(model), "--bits", "4", "--pq", "2,4"]) == 0
    out = capsys.readouterr().out
    assert "4-bit" in out and "PQ(2,4)" in out and "circular variance" in out
    assert main(["search", "--codes", str(tmp_path / "c.npz"), "--json"]) == 0


@pytest.mark.parametrize("argv,needle", [
    (["train", "--mode", "torusN", "--dim", "31"], "even dim"),
    (["train", "--mode", "hyperbolic"], "mode must be one of"),
    (["train", "--data", "cifar10"], "cifar-10-batches-py"),
    (["train", "--data", "cifar100"], "cifar-100-python"),
    (["train", "--epochs", "0"], "epochs"),
])
def test_train_bad_input(tmp_path, capsys, argv, needle):
    out = tmp_path / "m.pt"
    rc = main(argv + ["--data-root", str(tmp_path), "--no-progress", "--out", str(out)])
    assert needle in _one_line_error(capsys, rc)
    assert list(tmp_path.iterdir()) == []  # nothing half-written


def test_export_bad_input(tmp_path, capsys):
    _, model = trained()
    out = tmp_path / "c.npz"
    rc = main(["export", "--model", str(model), "--bits", "3", "--out", str(out)])
    assert "invalid choice" in _one_line_error(capsys, rc)
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(model.read_bytes()[:500])
    rc = main(["export", "--model", str(corrupt), "--out", str(out)])
    assert "not a readable torch checkpoint" in _one_line_error(capsys, rc)
    other = tmp_path / "other.pt"
    torch.save({"kind": "something-else", "w": torch.zeros(2)}, other)
    rc = main(["export", "--model", str(other), "--out", str(out)])
    assert "not a torus-hw model checkpoint" in _one_line_error(capsys, rc)
    TorusCodes(database=np.zeros((2, 2), np.uint8), queries=np.zeros((1, 2), np.uint8), bits=8).save(tmp_path / "k.npz")
    rc = main(["evaluate", "--model", str(tmp_path / "k.npz")])  # a codes file is not a model
    assert "checkpoint" in _one_line_error(capsys, rc)
    rc = main(["export", "--model", str(tmp_path / "missing.pt"), "--out", str(out)])
    assert "does not exist" in _one_line_error(capsys, rc)
    rc = main(["export", "--model", str(model), "--out", str(tmp_path / "no" / "c.npz")])
    assert "does not exist" in _one_line_error(capsys, rc)
    rc = main(["export", "--model", str(model), "--out", str(tmp_path)])
    assert "folder" in _one_line_error(capsys, rc)
    rc = main(["train", "--epochs", "1", "--no-progress", "--out", str(tmp_path)])
    assert "it is a folder" in _one_line_error(capsys, rc)
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_export_sphere_fixed_grid_and_bad_pq(tmp_path, capsys):
    _, model = trained()
    rc = main(["evaluate", "--model", str(model), "--pq", "3,8"])  # 8 code dims, M=3 does not divide
    assert "PQ(3,8)" in _one_line_error(capsys, rc)
    rc = main(["evaluate", "--model", str(model), "--pq", "two"])
    assert "M,NBITS" in _one_line_error(capsys, rc)
    rc = main(["evaluate", "--model", str(model), "--bits", "2"])
    assert "invalid choice" in _one_line_error(capsys, rc)


def test_parser_defaults_match_train_settings_and_need_no_torch():
    import subprocess
    import sys

    from torus_hw.commands.model import TRAIN_DEFAULTS
    from torus_hw.train import TrainSettings

    assert TRAIN_DEFAULTS == TrainSettings().to_dict()
    code = ("import argparse, sys; import torus_hw.commands.model as m; "
            "m.register(argparse.ArgumentParser().add_subparsers()); print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
