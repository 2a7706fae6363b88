"""The RISC-V (rv32im, rv64im) kernels: bit-exact against the reference, refusals, faults, ISA proof.

The shared contract (every variant bit-exact, refusals, headers) is
tests/test_contract.py's; here: ties, D at max_dims, faults, the checker,
the cheapest-default ordering and the rv64 uint32 arguments.
"""

import re

import numpy as np
import pytest

from isa import riscv
from isa.assembler import assemble
from isa.build import build_kernel
from isa.checker import ISAViolation, check_image
from isa.spec import KernelSpec
from isa.targets import get_target
from sim.runner import KernelRunner
from crosscheck import built, check_search, unmapped_database_fault
from torus_hw import reference



@pytest.mark.parametrize("target", ["rv32im", "rv64im"])
def test_ties_keep_the_lower_row_and_n_below_k(target):
    """Equal rows everywhere: the answer is rows 0..k-1 in order; n < k returns n."""
    db = np.full((5, 19), 200, dtype=np.uint8)
    q = np.zeros((1, 19), dtype=np.uint8)
    spec = KernelSpec("search", "l1", 8, 19, 16)
    for variant in riscv.variants(get_target(target), spec):
        got = check_search(target, spec, db, q, 3, variant=variant)[0]
        assert got.indices.tolist() == [0, 1, 2] and got.distances.tolist() == [19 * 56] * 3
        got = check_search(target, spec, db, q, 16, variant=variant)[0]
        assert got.returned == 5 and got.indices.tolist() == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("target", ["rv32im", "rv64im"])
@pytest.mark.parametrize("bits, metric", [(8, "l1"), (8, "l2"), (16, "l1"), (16, "l2"), (4, "l1"), (4, "l2"),
                                          (1, "l1")])
def test_max_dims_runs_at_the_bound_without_overflow(target, bits, metric):
    """D = max_dims, every variant: the largest distance (every dim 2^(n-1) apart) comes back exactly."""
    t = get_target(target)
    d = riscv.max_dims(t, KernelSpec("scan", metric, bits, 1))
    half = 1 << (bits - 1)
    rng = np.random.default_rng(d)
    dtype = np.uint16 if bits == 16 else np.uint8
    db = np.stack([np.full(d, half), rng.integers(0, 1 << bits, d), np.full(d, (1 << bits) - 1)]).astype(dtype)
    q = np.zeros(d, dtype=dtype)
    spec = KernelSpec("scan", metric, bits, d)
    for variant in riscv.variants(t, spec):
        runner = KernelRunner(build_kernel(t, spec, variant=variant), count=False)
        runner.load_database(db)
        got = runner.call(q).distances
        assert got.tolist() == reference.scan(q, db, bits=bits, metric=metric).tolist(), variant
        assert got[0] == reference.max_distance(d, bits, metric)


def test_header_names_spec_variant_and_register_plan():
    rv32 = get_target("rv32im")
    kernel = riscv.generate(rv32, KernelSpec("search", "l1", 8, 16, 4))
    head = kernel.asm.split("torus_search:")[0]
    assert "search 8-bit l1 D=16 k<=4" in head and "variant: swar" in head
    assert "register plan" in head and "query (q_j | H, q_j ^ H) per word" in head
    assert kernel.layout.stride == 16 and kernel.layout.align == 4
    assert riscv.variants(rv32, kernel.spec) == ["swar", "simple"]
    assert riscv.variants(rv32, KernelSpec("search", "l2", 8, 16)) == ["unrolled", "simple"]
    rv64 = riscv.generate(get_target("rv64im"), KernelSpec("scan", "l1", 1, 100))
    assert rv64.layout.align == 8 and rv64.layout.stride == 16 and "popcount" in rv64.asm


@pytest.mark.parametrize("target, load", [("rv32im", "lw"), ("rv64im", "ld")])
def test_unmapped_database_faults_naming_target_pc_and_instruction(target, load):
    message = unmapped_database_fault(target, KernelSpec("search", "l1", 8, 16, 1), "swar")
    assert message.startswith(f"{target}: emulator fault at pc=0x"), message
    assert re.search(rf"\({load} t0, 0\(a1\)\)", message), message


@pytest.mark.parametrize("target, word, why", [
    ("rv32im", "0x60259513", "undecodable"),        # cpop a0, a1 (Zbb)
    ("rv64im", "0x40c5f533", "undecodable"),        # andn a0, a1, a2 (Zbb)
    ("rv32im", "0x022180d7", "undecodable"),        # vadd.vv v1, v2, v3 (V)
    ("rv64im", "0x00208053", "not in RV64IM"),      # fadd.s f0, f1, f2 (F)
    ("rv32im", "0x0005b503", "undecodable"),        # ld a0, 0(a1): RV64 only
])
def test_checker_rejects_foreign_code_inside_a_generated_kernel(target, word, why):
    t = get_target(target)
    asm = riscv.generate(t, KernelSpec("search", "l1", 8, 8, 2)).asm
    asm = asm.replace("torus_search:\n", f"torus_search:\n    .word {word}\n", 1)
    with pytest.raises(ISAViolation) as info:
        check_image(t, assemble(t, asm))
    message = str(info.value)
    assert message.startswith(target) and why in message and hex(t.link_base) in message, message


def test_every_variant_passes_the_checker_and_uses_no_division():
    for target in ("rv32im", "rv64im"):
        for bits, metric in [(8, "l1"), (8, "l2"), (16, "l1"), (4, "l2"), (1, "l1")]:
            spec = KernelSpec("search", metric, bits, 24, 3)
            for variant in riscv.variants(get_target(target), spec):
                kernel = build_kernel(target, spec, variant=variant)
                mnemonics = {d.mnemonic for d in kernel.decoded}
                assert not mnemonics & {"div", "divu", "rem", "remu", "divw", "divuw", "remw", "remuw"}
                if variant == "swar":
                    assert "mul" in mnemonics and ("ld" in mnemonics) == (target == "rv64im")


@pytest.mark.parametrize("target", ["rv32im", "rv64im"])
@pytest.mark.parametrize("bits, metric, d", [(8, "l1", 16), (8, "l1", 61), (1, "l1", 100), (8, "l2", 16),
                                             (16, "l1", 9), (4, "l2", 30)])
def test_default_variant_is_the_cheapest_under_the_core_model(target, bits, metric, d):
    """variants()[0] is the fastest: fewer cycles than every other variant on the target's core."""
    t = get_target(target)
    spec = KernelSpec("search", metric, bits, d, 4)
    rng = np.random.default_rng(d)
    db = rng.integers(0, 1 << bits, (60, d)).astype(np.uint16 if bits == 16 else np.uint8)
    q = rng.integers(0, 1 << bits, d).astype(db.dtype)
    cycles = {}
    for variant in riscv.variants(t, spec):
        runner = KernelRunner(built(target, spec, variant))
        runner.load_database(db)
        cycles[variant] = runner.call(q, k=4).cycles[t.default_core]
    first = riscv.variants(t, spec)[0]
    assert all(cycles[first] < c for v, c in cycles.items() if v != first), cycles


@pytest.mark.parametrize("target", ["rv32im", "rv64im"])
def test_k_beyond_k_max_is_clamped_by_the_kernel(target):
    """Called directly with k > k_max, the kernel keeps k_max rows (its list has no more room)."""
    spec = KernelSpec("search", "l1", 8, 12, 3)
    runner = KernelRunner(built(target, spec, None), count=False)
    rng = np.random.default_rng(3)
    db = rng.integers(0, 256, (9, 12)).astype(np.uint8)
    q = rng.integers(0, 256, 12).astype(np.uint8)
    runner.load_database(db)
    runner._load_query(q)
    region = runner.region
    returned, _ = runner.machine.call("torus_search", [("ptr", region.query), ("ptr", region.db), ("u32", 9),
                                                       ("u32", 50), ("ptr", region.out_idx), ("ptr", region.out_dist)])
    want_idx, want_dist = reference.search(q[None], db, bits=8, metric="l1", k=3)
    got_idx = np.frombuffer(runner.machine.read(region.out_idx, 12), dtype="<u4").tolist()
    got_dist = np.frombuffer(runner.machine.read(region.out_dist, 12), dtype="<u4").tolist()
    assert returned == 3 and got_idx == want_idx[0].tolist() and got_dist == want_dist[0].tolist()


def test_rv64_reads_n_as_uint32():
    """lp64 passes uint32_t sign-extended; the kernel uses only the low 32 bits of n."""
    spec = KernelSpec("scan", "l1", 8, 8)
    runner = KernelRunner(built("rv64im", spec, None), count=False)
    rng = np.random.default_rng(5)
    db = rng.integers(0, 256, (3, 8)).astype(np.uint8)
    q = rng.integers(0, 256, 8).astype(np.uint8)
    runner.load_database(db)
    runner._load_query(q)
    region = runner.region
    runner.machine.map_range(region.scan_out, 4096)
    runner.machine.write(region.scan_out, b"\xa5" * 16)
    runner.machine.call("torus_scan", [("ptr", region.query), ("ptr", region.db),
                                       ("u32", (0xFFFF_FFFF << 32) | 3), ("ptr", region.scan_out)])
    got = np.frombuffer(runner.machine.read(region.scan_out, 16), dtype="<u4").tolist()
    assert got[:3] == reference.scan(q, db, bits=8, metric="l1").tolist() and got[3] == 0xA5A5A5A5
