"""The Ibex cycle model against the real Ibex RTL (``make test-ibex``; optional).

Given ``IBEX_ROOT`` (a lowRISC Ibex checkout), Verilator and FuseSoC, the
simple system is built once in the "small" configuration the model assumes
and every case below runs on it: the generated search kernels over bits,
metrics, dims, k and variants, a C baseline, and short functions exercising
the model's RTL-derived constants (37-cycle divide, 2 on a zero divisor, a
word-crossing access 3).  Answers, retired instructions (``minstret``) and
cycles (``mcycle``) must all equal the model's.  Skipped, with the set-up
commands, when the tools are absent.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from sim import ibex_rtl

pytestmark = pytest.mark.ibex_rtl

REASON = ibex_rtl.missing_tools()


@pytest.fixture(scope="module")
def sim() -> Path:
    if REASON:
        pytest.skip(REASON)
    return ibex_rtl.build_simulator(Path(os.environ["IBEX_ROOT"]))


# (bits, metric, dims, k, rows, variant) — every generator variant (swar, unrolled, simple), both metrics,
# bits 1/4/8/16, D 2-64, k up to 16
SPECS = [
    (8, "l1", 16, 1, 1442, None),      # the demo's default kernel and database shape
    (4, "l1", 16, 1, 97, "unrolled"), (8, "l1", 16, 1, 97, "simple"),
    (8, "l2", 16, 4, 120, None), (8, "l2", 16, 4, 120, "simple"),
    (8, "l1", 2, 1, 64, None), (8, "l1", 3, 2, 64, None), (8, "l1", 64, 16, 80, None),
    (8, "l2", 33, 5, 70, None), (4, "l2", 7, 3, 65, "unrolled"),
    (4, "l1", 16, 1, 100, None), (4, "l2", 8, 3, 90, None), (4, "l1", 31, 7, 66, "simple"),
    (1, "l1", 64, 1, 100, None), (1, "l2", 16, 8, 90, None), (1, "l1", 5, 2, 70, "simple"),
    (16, "l1", 16, 1, 80, None), (16, "l2", 2, 2, 60, None), (16, "l1", 9, 16, 70, "simple"),
]


def _spec_id(spec) -> str:
    bits, metric, dims, k, rows, variant = spec
    return f"{bits}b-{metric}-D{dims}-k{k}-N{rows}-{variant or 'default'}"


@pytest.mark.parametrize("spec", SPECS, ids=_spec_id)
def test_generated_kernel_matches_the_rtl(sim, spec):
    from isa.build import build_kernel
    from isa.spec import KernelSpec
    from isa.targets import get_target
    from torus_hw import reference

    bits, metric, dims, k, rows, variant = spec
    target = get_target("rv32im")
    kspec = KernelSpec("search", metric, bits, dims, k)
    rng = np.random.default_rng(dims * 131 + bits * 7 + k)
    db = rng.integers(0, 2 ** bits, (rows, dims))
    db[rows // 2] = db[rows // 3]                          # a tie, to check the lower row wins on the RTL too
    qs = rng.integers(0, 2 ** bits, (2, dims))
    built = build_kernel(target, kspec, variant=variant)
    c = ibex_rtl.compare_with_model(sim, built, db, qs, k)
    want_i, want_d = reference.search(qs, db, bits=bits, metric=metric, k=k)
    for q, i, d in zip(c.rtl, want_i, want_d):
        assert (q.indices, q.distances) == (i.tolist(), d.tolist())
    assert [q.instructions for q in c.rtl] == c.model_instructions
    assert [q.cycles for q in c.rtl] == c.model_cycles


@pytest.mark.parametrize("metric, k", [("l1", 1), ("l2", 4)])
def test_c_baseline_matches_the_rtl(sim, metric, k):
    from baselines.build import build_c_baseline
    from isa.spec import KernelSpec

    rng = np.random.default_rng(5)
    db, qs = rng.integers(0, 256, (60, 16)), rng.integers(0, 256, (2, 16))
    built = build_c_baseline("rv32im", KernelSpec("search", metric, 8, 16, k))
    assert ibex_rtl.compare_with_model(sim, built, db, qs, k).agrees


FUNCTIONS = {
    "divide": " li a1, 7\n li a0, 1000\n div a2, a0, a1\n remu a3, a0, a1\n",
    "divide by zero": " li a1, 0\n li a0, 1000\n div a2, a0, a1\n rem a3, a0, a1\n",
    "misaligned lw": " addi sp, sp, -16\n sw zero, 0(sp)\n sw zero, 4(sp)\n lw a0, 1(sp)\n lw a0, 2(sp)\n"
                     " addi sp, sp, 16\n",
    "misaligned lh and sw": " addi sp, sp, -16\n sw zero, 0(sp)\n sw zero, 4(sp)\n lh a0, 3(sp)\n lh a0, 1(sp)\n"
                            " sw a0, 2(sp)\n addi sp, sp, 16\n",
    "multiplies": " li a1, 3\n mul a0, a1, a1\n mulh a2, a1, a1\n mulhu a2, a1, a1\n mulhsu a2, a1, a1\n",
    "branches and jumps": " li t0, 5\n1: addi t0, t0, -1\n bnez t0, 1b\n beq t0, t0, 2f\n nop\n2: j 3f\n nop\n3:\n",
}


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_model_constants_match_the_rtl(sim, name):
    source = ".text\n.globl f\n.p2align 2\nf:\n" + FUNCTIONS[name] + " ret\n"
    rtl = ibex_rtl.run_function_on_rtl(sim, source)
    assert (rtl.cycles, rtl.instructions) == ibex_rtl.model_function(source)


def test_missing_tools_reason_names_the_setup(monkeypatch):
    # runs everywhere: without IBEX_ROOT the reason gives the commands that set the check up
    monkeypatch.delenv("IBEX_ROOT", raising=False)
    reason = ibex_rtl.missing_tools()
    assert "IBEX_ROOT" in reason and "verilator" in reason and "fusesoc" in reason
