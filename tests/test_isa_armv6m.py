"""The ARMv6-M (Cortex-M0) kernels: bit-exact against the reference, refusals, faults, ISA proof.

The shared contract (every variant bit-exact, refusals, headers) is
tests/test_contract.py's; here the fast variants get extra draws around the
SWAR/popcount group boundaries, plus every lane pairing, ties, odd strides,
D at max_dims, faults and the checker.
"""

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from isa import armv6m
from isa.assembler import assemble
from isa.build import build_kernel
from isa.checker import ISAViolation, check_image
from isa.spec import KernelSpec
from isa.targets import get_target
from sim.runner import KernelRunner
from crosscheck import built, check_range, check_scan, check_search, code_matrix, examples, unmapped_database_fault
from torus_hw import reference

TARGET = "cortex-m0"
M0 = get_target(TARGET)
# Small D; swar's unroll limit (32 words = 128 dims) and group loop; popcount's 30-word chunks (960 dims).
DIMS = st.one_of(st.integers(1, 40), st.sampled_from([63, 64, 65, 127, 128, 129, 131, 200, 961, 1000, 2000]))


def _dims(bits, metric, d):
    return min(d, armv6m.max_dims(M0, KernelSpec("distance", metric, bits, 1)))


FAST = st.sampled_from([(8, "l1", "swar"), (1, "l1", "popcount"), (1, "l2", "popcount"), (8, "l2", "swar"),
                        (4, "l1", "swar"), (4, "l2", "swar"), (16, "l1", "swar"), (16, "l2", "swar")])


@settings(max_examples=examples(30))
@given(data=st.data(), fast=FAST, d=DIMS, k_max=st.integers(1, 16), n=st.one_of(st.just(1), st.integers(1, 40)))
def test_fast_variants_match_reference(data, fast, d, k_max, n):
    """The default (fast) kernels get their own draws: search and scan on the same codes."""
    bits, metric, variant = fast
    d = _dims(bits, metric, d)
    k = data.draw(st.integers(1, k_max), label="k")
    db = data.draw(code_matrix(bits, n, d), label="db")
    queries = np.concatenate([data.draw(code_matrix(bits, 2, d), label="q"), db[-1:]])
    check_search(TARGET, KernelSpec("search", metric, bits, d, k_max), db, queries, k, variant=variant)
    check_scan(TARGET, KernelSpec("scan", metric, bits, d), db, queries[0], variant=variant)


@pytest.mark.parametrize("d", [1, 4, 5, 8, 127, 128, 129, 131, 1020])
def test_swar_every_byte_pair_in_every_lane(d):
    """swar meets all 256 x 256 (q, r) byte pairs in each of the four byte lanes (every wrap, -128 -> 128).

    Row i holds (i + 13j) mod 256 at dim j, query k holds (k + 7j) mod 256; K queries are used, the
    fewest for which the test's own coverage count is complete.
    """
    j = np.arange(d)
    db = ((np.arange(256)[:, None] + 13 * j) % 256).astype(np.uint8)
    for K in (1, 2, 4, 8, 16, 32, 64, 128, 256):
        queries = ((np.arange(K)[:, None] + 7 * j) % 256).astype(np.uint8)
        seen = np.zeros((4, 256), dtype=bool)   # per lane: which q values meet all 256 r values
        for lane in range(4):
            seen[lane, np.unique(queries[:, j % 4 == lane])] = True
        if seen[: min(d, 4)].all():
            break
    assert seen[: min(d, 4)].all()
    runner = KernelRunner(built(TARGET, KernelSpec("scan", "l1", 8, d), "swar"), count=False)
    runner.load_database(db)
    for q in queries:
        assert runner.call(q).distances.tolist() == reference.scan(q, db, bits=8, metric="l1").tolist()


@pytest.mark.parametrize("metric", ["l1", "l2"])
@pytest.mark.parametrize("d", [8, 13])
def test_swar_every_nibble_pair_in_every_lane(metric, d):
    """4-bit swar: all 16 x 16 (q, r) pairs in each of the eight nibble lanes of a word."""
    j = np.arange(d)
    db = ((np.arange(16)[:, None] + 3 * j) % 16).astype(np.uint8)
    queries = ((np.arange(16)[:, None] + 5 * j) % 16).astype(np.uint8)
    runner = KernelRunner(built(TARGET, KernelSpec("scan", metric, 4, d), "swar"), count=False)
    runner.load_database(db)
    for q in queries:
        assert runner.call(q).distances.tolist() == reference.scan(q, db, bits=4, metric=metric).tolist()


def test_ties_keep_the_lower_row_and_n_below_k():
    """Equal rows everywhere: the answer is rows 0..k-1 in order; n < k returns n."""
    db = np.full((5, 19), 200, dtype=np.uint8)
    q = np.zeros((1, 19), dtype=np.uint8)
    for variant in armv6m.variants(M0, KernelSpec("search", "l1", 8, 19, 16)):
        spec = KernelSpec("search", "l1", 8, 19, 16)
        got = check_search(TARGET, spec, db, q, 3, variant=variant)[0]
        assert got.indices.tolist() == [0, 1, 2] and got.distances.tolist() == [19 * 56] * 3
        got = check_search(TARGET, spec, db, q, 16, variant=variant)[0]
        assert got.returned == 5 and got.indices.tolist() == [0, 1, 2, 3, 4]


def test_search_row_index_survives_odd_strides():
    """The insertion path divides by the stride exactly: odd (simple, D=7) and 12-byte (swar, D=9) strides."""
    rng = np.random.default_rng(7)
    for d, variant in [(7, "simple"), (9, "swar"), (9, "simple"), (11, "swar")]:
        db = rng.integers(0, 256, (300, d)).astype(np.uint8)
        queries = np.concatenate([db[[299, 150]], rng.integers(0, 256, (1, d)).astype(np.uint8)])
        check_search(TARGET, KernelSpec("search", "l1", 8, d, 16), db, queries, 16, variant=variant)


def test_k_above_k_max_and_zero_rows_at_the_abi():
    """Called directly: k beyond the kernel's k_max is clamped; n = 0 or k = 0 return 0 and write nothing."""
    spec = KernelSpec("search", "l1", 8, 8, 2)
    runner = KernelRunner(built(TARGET, spec, "swar"), count=False)
    db = np.arange(40, dtype=np.uint8).reshape(5, 8)
    runner.load_database(db)
    region = runner.region
    m = runner.machine
    m.write(region.query, bytes(8))
    for n, k, want in [(5, 9, 2), (0, 2, 0), (5, 0, 0)]:
        m.write(region.out_idx, b"\xa5" * 16)
        value, _ = m.call("torus_search", [("ptr", region.query), ("ptr", region.db), ("u32", n), ("u32", k),
                                           ("ptr", region.out_idx), ("ptr", region.out_dist)])
        assert value == want
        idx = np.frombuffer(m.read(region.out_idx, 16), dtype="<u4").tolist()
        assert idx == [0, 1][:want] + [0xA5A5A5A5] * (4 - want)


@pytest.mark.parametrize("bits, metric", [(8, "l1"), (8, "l2"), (16, "l1"), (16, "l2"), (4, "l1"), (4, "l2"),
                                          (1, "l1")])
def test_max_dims_runs_at_the_bound_without_overflow(bits, metric):
    """D = max_dims, every variant: the largest distance (every dim 2^(n-1) apart) comes back exactly."""
    d = armv6m.max_dims(M0, KernelSpec("scan", metric, bits, 1))
    half = 1 << (bits - 1)
    rng = np.random.default_rng(d)
    dtype = np.uint16 if bits == 16 else np.uint8
    db = np.stack([np.full(d, half), rng.integers(0, 1 << bits, d), np.full(d, (1 << bits) - 1)]).astype(dtype)
    q = np.zeros(d, dtype=dtype)
    for variant in armv6m.variants(M0, KernelSpec("scan", metric, bits, d)):
        runner = KernelRunner(built(TARGET, KernelSpec("scan", metric, bits, d), variant), count=False)
        runner.load_database(db)
        got = runner.call(q).distances
        assert got.tolist() == reference.scan(q, db, bits=bits, metric=metric).tolist()
        assert got[0] == reference.max_distance(d, bits, metric)


def test_header_names_spec_variant_and_register_plan():
    kernel = armv6m.generate(M0, KernelSpec("search", "l1", 8, 16, 4))
    head = kernel.asm.split("torus_search:")[0]
    assert "search 8-bit l1 D=16 k<=4" in head and "variant: swar (the default" in head
    assert "register plan" in head and "r6 H = 0x80808080" in head
    assert kernel.layout.stride == 16 and kernel.layout.align == 4
    assert armv6m.variants(M0, kernel.spec) == ["swar", "simple"]
    assert armv6m.variants(M0, KernelSpec("search", "l2", 1, 16)) == ["popcount", "simple"]
    assert armv6m.variants(M0, KernelSpec("search", "l2", 4, 16)) == ["swar", "simple"]


def _cycles(kernel, db, q):
    runner = KernelRunner(kernel)
    runner.load_database(db)
    answer = runner.call(q, k=1)
    assert answer.indices.tolist() == reference.search(q[None], db, bits=8, metric="l1", k=1)[0][0].tolist()
    return answer.cycles[TARGET]


@pytest.mark.parametrize("bits, metric, d", [(8, "l1", 16), (8, "l2", 16), (16, "l1", 16), (16, "l2", 3),
                                             (4, "l1", 32), (4, "l2", 32), (1, "l1", 64)])
def test_default_variant_is_the_cheapest_under_the_m0_model(bits, metric, d):
    spec = KernelSpec("search", metric, bits, d, 1)
    rng = np.random.default_rng(d + bits)
    dtype = np.uint16 if bits == 16 else np.uint8
    db = rng.integers(0, 1 << bits, (64, d)).astype(dtype)
    q = rng.integers(0, 1 << bits, d).astype(dtype)
    cycles = {}
    for variant in armv6m.variants(M0, spec):
        runner = KernelRunner(built(TARGET, spec, variant))
        runner.load_database(db)
        answer = runner.call(q, k=1)
        assert answer.indices.tolist() == reference.search(q[None], db, bits=bits, metric=metric, k=1)[0][0].tolist()
        cycles[variant] = answer.cycles[TARGET]
    default, *others = armv6m.variants(M0, spec)
    assert all(cycles[default] * 1.5 < cycles[v] for v in others), cycles


def test_unmapped_database_faults_naming_target_pc_and_instruction():
    message = unmapped_database_fault(TARGET, KernelSpec("search", "l1", 8, 16, 1), "swar")
    assert message.startswith("cortex-m0: emulator fault at pc=0x")
    assert re.search(r"\(ldm r0!, \{r5\}\)", message), message


@pytest.mark.parametrize("encoding, text, what", [
    (".inst.w 0xfac0f041", "usub8 r0, r0, r1", "not in ARMv6-M"),     # DSP SIMD (ARMv7E-M)
    (".inst.w 0xeb000001", "add.w r0, r0, r1", "not in ARMv6-M"),     # a wide Thumb-2 ADD
    (".inst.n 0xb108", "cbz r0, ", "CBZ/CBNZ/IT"),                   # ARMv7-M compare-and-branch
    (".inst.n 0xbf08", "it eq", "CBZ/CBNZ/IT"),                       # ARMv7-M IT block
])
def test_checker_rejects_foreign_code_inside_a_generated_kernel(encoding, text, what):
    asm = armv6m.generate(M0, KernelSpec("search", "l1", 8, 8, 2)).asm
    asm = asm.replace(".Lrow:", f".Lrow:\n    {encoding}", 1)
    with pytest.raises(ISAViolation) as info:
        check_image(M0, assemble(M0, asm))
    message = str(info.value)
    assert message.startswith(f"cortex-m0: '{text}") and what in message and "kernel.S line" in message


def test_every_variant_passes_the_checker_and_uses_what_it_claims():
    for bits, metric in [(8, "l1"), (8, "l2"), (16, "l1"), (16, "l2"), (4, "l1"), (1, "l1")]:
        spec = KernelSpec("search", metric, bits, _dims(bits, metric, 24), 3)
        for variant in armv6m.variants(M0, spec):
            kernel = build_kernel(TARGET, spec, variant=variant)
            mnemonics = {d.mnemonic for d in kernel.decoded}
            assert all(d.size == 2 for d in kernel.decoded), "ARMv6-M kernels here are 16-bit Thumb only"
            if variant in ("swar", "popcount"):
                assert "ldm" in mnemonics and "ldrb" not in mnemonics, mnemonics


@pytest.mark.parametrize("bits, metric, d", [(8, "l1", 4), (8, "l1", 16), (8, "l2", 3), (4, "l2", 8), (16, "l1", 5),
                                             (1, "l1", 64), (8, "l1", 200)])
def test_range_hits_in_both_row_copies_keep_the_body_constants(bits, metric, d):
    """Range: odd and even n (the two-row loop's entries), radii from none to every row, caps around the count.

    With every row a hit the out-of-line path runs between all rows: that it
    reloads nothing is only right if the body's constants survive it.
    """
    rng = np.random.default_rng(d * bits)
    dtype = np.uint16 if bits == 16 else np.uint8
    for variant in armv6m.variants(M0, KernelSpec("range", metric, bits, d)):
        spec = KernelSpec("range", metric, bits, d)
        for n in (1, 2, 5, 6):
            db = rng.integers(0, 1 << bits, (n, d)).astype(dtype)
            query = rng.integers(0, 1 << bits, d).astype(dtype)
            dist = reference.scan(query, db, bits=bits, metric=metric)
            for radius in sorted({0, int(dist.min()), int(np.median(dist)), int(dist.max())}):
                for cap in sorted({0, 1, n - 1, n}):
                    check_range(TARGET, spec, db, query, radius, cap, variant=variant)


def test_short_rows_walk_two_per_trip_in_search_and_range():
    """Search and range share the row loop: short loop-free bodies come twice per trip, long ones once."""
    for kernel in ("search", "range"):
        short = armv6m.generate(M0, KernelSpec(kernel, "l1", 1, 64)).asm
        long = armv6m.generate(M0, KernelSpec(kernel, "l1", 8, 200)).asm
        assert ".Lrow_b:" in short and ".Lrow_b:" not in long
