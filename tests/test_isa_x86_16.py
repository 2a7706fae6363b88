"""The i8086 kernels (isa/x86_16.py): what is particular to the 8086.

The shared contract (every variant bit-exact, refusals, headers) is
tests/test_contract.py's and the cost goal tests/test_bench_goals.py's; here:
ties across 255-row chunks, k and n at the ABI, databases past 64 KiB and
n > 65535, the largest row, faults and the 8086-only checker."""

from __future__ import annotations

import re

import numpy as np
import pytest

from isa import x86_16
from isa.assembler import assemble
from isa.build import build_kernel
from isa.checker import ISAViolation, check_image
from isa.spec import KernelSpec
from isa.targets import get_target
from sim.machine import X86_DB, X86_DB_END, EmulatorFault
from sim.runner import KernelRunner
from torus_hw import reference

from crosscheck import check_range, check_scan, check_search

TARGET = "i8086"
T = get_target(TARGET)
VARIANTS = x86_16.VARIANTS
# D values around every width the kernels care about: odd, one below / above a
# word, a 64-byte group (8-bit), two groups, and 4-/1-bit byte boundaries.
DIMS = (1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 31, 33, 63, 64, 65, 66, 127, 129, 130)


def _max(bits: int, metric: str) -> int:
    return x86_16.max_dims(T, KernelSpec("distance", metric, bits, 1))


def test_search_ties_across_row_chunks_keep_lower_rows():
    """All rows equal: the answer is rows 0..k-1 even across the 255-row chunks."""
    rng = np.random.default_rng(7)
    row = rng.integers(0, 256, size=(1, 24), dtype=np.uint8)
    database = np.repeat(row, 700, axis=0)
    database[600] ^= 1                      # one row slightly off, later than the ties
    queries = np.vstack([row, database[600:601]])
    for variant in VARIANTS:
        got = check_search(TARGET, KernelSpec("search", "l1", 8, 24, 16), database, queries, 16, variant=variant)
        assert got[0].indices.tolist() == list(range(16))
        assert got[1].indices[0] == 600


def test_k_above_n_returns_n():
    rng = np.random.default_rng(3)
    database = rng.integers(0, 16, size=(3, 11), dtype=np.uint8)
    for variant in VARIANTS:
        answers = check_search(TARGET, KernelSpec("search", "l2", 4, 11, 16), database, database[:1], 16,
                               variant=variant)
        assert answers[0].returned == 3


def test_k_zero_n_zero_and_k_above_k_max_at_the_abi():
    """Called directly (the runner refuses these): k = 0 or n = 0 return 0; k > k_max is clamped."""
    rng = np.random.default_rng(4)
    database = rng.integers(0, 256, size=(10, 8), dtype=np.uint8)
    query = rng.integers(0, 256, size=8, dtype=np.uint8)
    for variant in VARIANTS:
        runner = KernelRunner(build_kernel(TARGET, KernelSpec("search", "l1", 8, 8, 4), variant=variant),
                              count=False)
        runner.load_database(database)
        runner.call(query, k=1)                               # places the query
        m, r = runner.machine, runner.region

        def call(n: int, k: int) -> int:
            return m.call("torus_search", [("ptr", r.query), ("ptr", r.db), ("u32", n), ("u32", k),
                                           ("ptr", r.out_idx), ("ptr", r.out_dist)])[0]

        assert call(10, 0) == 0
        assert call(0, 3) == 0
        want_idx, want_dist = reference.search(query[None], database, bits=8, metric="l1", k=4)
        for k in (9, 1 << 16):                                # above k_max, and k.hi != 0
            assert call(10, k) == 4
            assert np.frombuffer(m.read(r.out_idx, 16), "<u4").tolist() == want_idx[0].tolist()
            assert np.frombuffer(m.read(r.out_dist, 16), "<u4").tolist() == want_dist[0].tolist()


def test_database_beyond_200_kib_and_n_above_65535():
    """70,000 rows of 4 bytes (280 KB): the row walk must advance DS, n.hi is non-zero."""
    rng = np.random.default_rng(11)
    n, dims = 70_000, 4
    database = rng.integers(0, 256, size=(n, dims), dtype=np.uint8)
    plant = [5, 65_535, 65_536, 69_999]      # rows around the 64 KiB, 256 KiB and n = 2^16 edges
    query = rng.integers(0, 256, size=dims, dtype=np.uint8)
    for i, r in enumerate(plant):
        database[r] = query
        database[r, 0] = (int(query[0]) + i) % 256   # distances 0, 1, 2, 3 in that order
    assert database.nbytes >= 200 * 1024
    answers = check_search(TARGET, KernelSpec("search", "l1", 8, dims, 4), database, query[None], 4)
    assert answers[0].indices.tolist() == plant


def test_scan_output_beyond_64_kib():
    """30,000 rows: 120 KB of uint32 output walks the output segment forward."""
    rng = np.random.default_rng(12)
    database = rng.integers(0, 256, size=(30_000, 8), dtype=np.uint8)
    for variant in ("word", "baseline"):
        check_scan(TARGET, KernelSpec("scan", "l2", 8, 8), database, database[123], variant=variant)


def test_range_output_beyond_64_kib_and_n_above_65535():
    """70,000 rows, 20,000 within the radius: 80 KB of indices walk out_idx's segment forward past
    the 32 KiB folds, a cap below the count stops the writes, n.hi is non-zero."""
    rng = np.random.default_rng(13)
    database = rng.integers(0, 256, size=(70_000, 4), dtype=np.uint8)
    query = database[0].copy()
    hits = np.sort(rng.choice(np.arange(1, 70_000), size=20_000, replace=False))
    database[hits] = query
    database[hits[::7], 1] ^= 1                          # distance 1: within radius 1, not radius 0
    spec = KernelSpec("range", "l1", 8, 4)
    for variant in ("word", "baseline"):
        for radius, cap in ((1, 20_001), (0, 9_000)):
            got = check_range(TARGET, spec, database, query, radius, cap, variant=variant)
            assert got.count > 8_192                      # past the first 32 KiB of indices
    assert check_range(TARGET, spec, database, query, 1, 20_001).indices[-1] == hits[-1]


def test_largest_row_at_max_dims():
    """D = max_dims for 8-bit l1: 4,096-byte rows (64 groups, 32-bit row total)."""
    top = _max(8, "l1")
    assert top == x86_16.MAX_ROW_BYTES
    rng = np.random.default_rng(5)
    database = rng.integers(0, 256, size=(3, top), dtype=np.uint8)
    database[2] = 128 + database[1]          # every dim at the torus antipode: t = 128
    check_search(TARGET, KernelSpec("search", "l1", 8, top, 2), database, database[1:2], 2)
    assert reference.scan(database[1], database[2:3], bits=8, metric="l1")[0] == 128 * top


def test_max_dims_bounds():
    assert _max(16, "l2") == 3                      # 3 * 2^30 < 2^32 <= 4 * 2^30
    assert _max(16, "l1") == x86_16.MAX_ROW_BYTES // 2
    assert _max(1, "l1") == x86_16.MAX_ROW_BYTES * 8
    for bits in (1, 4, 8, 16):
        for metric in ("l1", "l2"):
            top = _max(bits, metric)
            assert top * reference.max_dim_distance(bits, metric) < 2**32


def test_fault_names_target_pc_and_instruction():
    """Unmap the database region: the first row load must fault, not return junk."""
    runner = KernelRunner(build_kernel(TARGET, KernelSpec("search", "l1", 8, 16, 1)), count=False)
    runner.load_database(np.zeros((4, 16), dtype=np.uint8))
    runner.machine.uc.mem_unmap(X86_DB, X86_DB_END - X86_DB)
    with pytest.raises(EmulatorFault, match=r"i8086: emulator fault at pc=0x[0-9a-f]+ \(lodsw"):
        runner.call(np.zeros(16, dtype=np.uint8), k=1)


BAD = {  # name: (source, the checker's reason)
    "shl ax, 4": (".byte 0xc1, 0xe0, 0x04", "shift/rotate by immediate (186)"),
    "push imm8": (".byte 0x6a, 0x05", "186 instruction"),
    "push imm16": (".byte 0x68, 0x34, 0x12", "186 instruction"),
    "imul ax, bx, 5": (".byte 0x6b, 0xc3, 0x05", "186 instruction"),
    "movzx ax, bl": (".byte 0x0f, 0xb6, 0xc3", "two-byte opcode (286+)"),
    "mov eax, ebx": (".byte 0x66, 0x89, 0xd8", "operand-size prefix (386)"),
    "mov ax, [eax]": (".byte 0x67, 0x8b, 0x00", "address-size prefix (386)"),
    "mov ax, fs:[bx]": (".byte 0x64, 0x8b, 0x07", "FS override (386)"),
    "enter 4, 0": (".byte 0xc8, 0x04, 0x00, 0x00", "ENTER (186)"),
    "leave": (".byte 0xc9", "LEAVE (186)"),
    "pusha": (".byte 0x60", "186 instruction"),
    "clang's .code16 ret (66 C3)": ("ret", "operand-size prefix (386)"),
    "clang's .code16 call (66 E8)": ("call 1f\n1:", "operand-size prefix (386)"),
}


@pytest.mark.parametrize("name", list(BAD))
def test_checker_rejects_non_8086(name):
    code, reason = BAD[name]
    source = f".text\n.globl f\nf:\n    cbw\n    {code}\n    .byte 0xc3\n"
    image = assemble(T, source)
    # .byte lines have no DWARF line entry, so their line prints as '?'.
    with pytest.raises(ISAViolation, match=r"i8086: '.*' at 0x1 \(kernel.S line (\d+|\?)\) is not allowed: "
                       + re.escape(reason)):
        check_image(T, image)


def test_every_variant_passes_the_checker_for_every_kernel_and_width():
    """Every variant x width x metric, over two groups plus a tail (the checker runs in build)."""
    for variant in VARIANTS:
        for bits in (1, 4, 8, 16):
            for metric in ("l1", "l2"):
                dims = min(_max(bits, metric), 135 * 8 // bits)
                kernel = build_kernel(TARGET, KernelSpec("search", metric, bits, dims, 2), variant=variant).kernel
                assert kernel.variant == variant
                assert f"variant: {variant}" in kernel.asm


