"""``torus-hw bench``: the JSON contract, the per-core bounds, and the refusals (no timed assertions)."""

from __future__ import annotations

import json
import shutil

import pytest

from baselines import build as baseline
from sim import bounds
from torus_hw.cli import main

SMALL = ["--dims", "8", "--k", "1", "--rows", "12", "--queries", "1"]


def _bench_json(capsys, *argv) -> tuple[int, list[dict]]:
    status = main(["bench", *argv, "--json"])
    return status, json.loads(capsys.readouterr().out)


def test_json_keeps_every_field(capsys):
    status, rows = _bench_json(capsys, "--targets", "cortex-m4", "i8086", *SMALL)
    assert status == 0
    assert {(r["target"], r["core"]) for r in rows} == {("cortex-m4", "cortex-m4"), ("i8086", "i8086"),
                                                       ("i8086", "i8088"), ("i8086", "i8086-datasheet"),
                                                       ("i8086", "i8088-datasheet")}
    for r in rows:
        for key in ("target", "core", "dims", "k", "cycles", "cycles_per_row_dim", "best_baseline", "ratio_best",
                    "ratio_naive", "bound_cycles_per_row_dim", "achieved_over_bound", "baselines", "compilers"):
            assert key in r, key
        best = r["best_baseline"]
        assert set(best) >= {"source", "compiler", "flags", "cycles"}
        measured = r["baselines"]
        assert best["cycles"] == min(b["cycles"] for b in measured)
        assert r["ratio_best"] == pytest.approx(best["cycles"] / r["cycles"])
        assert r["ratio_naive"] == pytest.approx(r["naive_baseline"]["cycles"] / r["cycles"])
        assert r["achieved_over_bound"] == pytest.approx(r["cycles"] / r["rows"] / r["bound_cycles_per_row"])
        assert r["mismatches"] == 0 and r["baseline_mismatches"] == []
        assert r["achieved_over_bound"] >= 1.0     # a kernel below its bound would mean the bound is wrong
    m4 = next(r for r in rows if r["core"] == "cortex-m4")
    # every source that covers the spec, at every optimisation level, by clang (the default)
    assert {(b["source"], b["flags"]) for b in m4["baselines"]} == {
        (s, o) for s in ("plain", "swar32", "acle") for o in baseline.OPT_LEVELS}
    assert m4["naive_baseline"]["source"] == "plain" and m4["naive_baseline"]["flags"] == "-O2"
    assert m4["ratio_intrinsics"] is not None
    x86 = [r for r in rows if r["target"] == "i8086"]
    assert all({b["source"] for b in r["baselines"]} == {"byte loop", "simple variant"} for r in x86)


def _refusal(capsys, *argv) -> str:
    status = main(["bench", *argv])
    err = capsys.readouterr().err
    assert status == 2 and err.startswith("torus-hw: error: ") and err.count("\n") == 1, err
    return err


def test_unknown_compiler_is_refused(capsys):
    err = _refusal(capsys, "--targets", "cortex-m4", "--compilers", "clang,icc", *SMALL)
    assert "unknown compiler 'icc'" in err and "clang, gcc" in err


def test_missing_gcc_names_the_package(capsys, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    err = _refusal(capsys, "--targets", "rv32im", "--compilers", "clang,gcc", *SMALL)
    assert "riscv64-unknown-elf-gcc" in err and "apt-get install -y gcc-riscv64-unknown-elf" in err


def test_a_wrong_baseline_fails_the_bench(capsys, monkeypatch, tmp_path):
    """A baseline that disagrees with the reference is exit 1, named, never a dropped column."""
    for f in baseline.C_DIR.iterdir():
        text = f.read_text()
        if f.name == "torus_acle.c":  # the wrong bias: every distance off
            text = text.replace("__usada8(__usub8(pq->qx[j], r[j]), 0x80808080u, acc)",
                                "__usada8(__usub8(pq->qx[j], r[j]), 0x80808000u, acc)")
        (tmp_path / f.name).write_text(text)
    monkeypatch.setattr(baseline, "C_DIR", tmp_path)
    status = main(["bench", "--targets", "cortex-m4", *SMALL, "--json"])
    captured = capsys.readouterr()
    assert status == 1
    assert "baseline acle clang -O2 disagreed with the reference" in captured.err
    row = json.loads(captured.out)[0]
    assert "acle clang -O2" in row["baseline_mismatches"]


@pytest.mark.parametrize("core", sorted(bounds.BOUNDS))
def test_bounds_are_priced_and_grow_with_d(core):
    per_row = [bounds.bound_cycles_per_row(core, d) for d in (8, 16, 32, 64)]
    assert all(b > 0 for b in per_row)
    assert per_row == sorted(per_row) and len(set(per_row)) == 4


@pytest.mark.parametrize("core,formula", [
    ("ibex", lambda w: 12 * w + 5), ("u54", lambda w: 11 * w + 3), ("cortex-m4", lambda w: 3 * w + -(-w // 4) + 2)])
def test_bounds_match_their_docstring_derivation(core, formula):
    """The model's prices of the written-out mix equal the sums the docstrings derive from its tables."""
    lanes = 8 if core == "u54" else 4
    for d in (8, 16, 32, 64):
        assert bounds.bound_cycles_per_row(core, d) == formula(-(-d // lanes)), d
