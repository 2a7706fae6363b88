"""``torus-hw search`` and the CLI's error contract (one line, exit 2)."""

import json

import numpy as np
import pytest

from torus_hw.cli import main
from torus_hw.codes import TorusCodes
from torus_hw.reference import range_search, scan, search


@pytest.fixture
def codes_file(tmp_path):
    rng = np.random.default_rng(5)
    codes = TorusCodes(database=rng.integers(0, 256, (30, 6)).astype(np.uint8),
                       queries=rng.integers(0, 256, (4, 6)).astype(np.uint8), bits=8)
    path = tmp_path / "codes.npz"
    codes.save(path)
    return path, codes


@pytest.mark.parametrize("metric", ["l1", "l2"])
def test_json_matches_reference(codes_file, capsys, metric):
    path, codes = codes_file
    assert main(["search", "--codes", str(path), "--metric", metric, "--k", "3", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    idx, dist = search(codes.queries, codes.database, bits=8, metric=metric, k=3)
    assert out["bits"] == 8 and out["metric"] == metric and out["k"] == 3
    assert [q["indices"] for q in out["queries"]] == idx.tolist()
    assert [q["distances"] for q in out["queries"]] == dist.tolist()


def test_table(codes_file, capsys):
    path, _ = codes_file
    assert main(["search", "--codes", str(path)]) == 0
    assert "8-bit l1 top-1" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["search", "--codes", "missing.npz"], "does not exist"),
    (["search", "--codes", "{codes}", "--k", "0"], "--k must be at least 1"),
    (["search", "--codes", "{codes}", "--metric", "cos"], "invalid choice"),
    (["search"], "required: --codes"),
    (["frobnicate"], "invalid choice"),
    (["search", "--codes", "{text}"], "not a readable .npz"),
    (["run", "--target", "rv32im", "--codes", "{codes}", "--kernel", "range"], "--kernel range needs --radius R"),
    (["run", "--target", "rv32im", "--codes", "{codes}", "--radius", "3"], "--radius applies to --kernel range only"),
    (["run", "--target", "rv32im", "--codes", "{codes}", "--kernel", "range", "--radius", "3", "--k", "2"],
     "--k applies to --kernel search only"),
    (["run", "--target", "rv32im", "--codes", "{codes}", "--kernel", "range", "--radius", "3", "--cap", "-1"],
     "--cap must be between 0 and 4294967295, got -1"),
    (["run", "--target", "rv32im", "--codes", "{codes}", "--k", "17"], "--k must be between 1 and 16, got 17"),
    (["run", "--target", "rv32im", "--codes", "{codes}", "--kernel", "knn"], "invalid choice"),
    (["run", "--target", "rtl", "--codes", "{codes}", "--kernel", "scan"], "the RTL has no 'scan' kernel"),
    (["run", "--target", "rv32im", "--codes", "{codes}", "--kernel", "distance", "--row", "30"],
     "row=30 outside 0..29 (a row of the database)"),
    (["run", "--target", "rv32im", "--codes", "{codes}", "--kernel", "range", "--radius", "-1"], "--radius must be"),
    (["gen", "--target", "rv32im", "--kernel", "range", "--dims", "4", "--symbol", "9x", "--out", "{text}.d"],
     "is not a C identifier"),
])
def test_bad_input_one_line_exit_2(codes_file, tmp_path, capsys, argv, message):
    text = tmp_path / "t.npz"
    text.write_text("x")
    argv = [a.format(codes=codes_file[0], text=text) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("torus-hw: error:") and message in err
    assert err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.parametrize("target", ["cortex-m4", "rtl"])
def test_run_range_json_carries_count_indices_and_distances(codes_file, capsys, target):
    path, codes = codes_file
    assert main(["run", "--target", target, "--codes", str(path), "--kernel", "range", "--radius", "300",
                 "--cap", "2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["kernel"], out["radius"], out["cap"], out["mismatches"]) == ("range", 300, 2, 0)
    assert out["distances_from"] == ("kernel" if target == "rtl" else "reference")
    for got, query in zip(out["queries"], codes.queries):
        want = range_search(query, codes.database, bits=8, metric="l1", radius=300)
        assert got["count"] == len(want) and got["indices"] == want[:2].tolist()
        assert got["distances"] == scan(query, codes.database, bits=8, metric="l1")[want[:2]].tolist()


def test_help_lists_the_pipeline(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    assert "search" in capsys.readouterr().out
