"""The ARMv7E-M (Cortex-M4) kernels: bit-exact against the reference, refusals, faults, ISA proof.

The shared contract (every variant bit-exact, refusals, headers) is
tests/test_contract.py's; here: ties, D at max_dims, faults, the checker,
every DSP row mode and loop entry (search, scan and range), and the runtime k clamp.
"""

import re

import numpy as np
import pytest

from isa import armv7em
from isa.assembler import assemble
from isa.build import build_kernel
from isa.checker import ISAViolation, check_image
from isa.spec import KernelSpec
from isa.targets import get_target
from sim.runner import KernelRunner
from crosscheck import built, check_range, check_scan, check_search, unmapped_database_fault
from torus_hw import reference

TARGET = "cortex-m4"
M4 = get_target(TARGET)


def test_ties_keep_the_lower_row_and_n_below_k():
    """Equal rows everywhere: the answer is rows 0..k-1 in order; n < k returns n."""
    db = np.full((5, 19), 200, dtype=np.uint8)
    q = np.zeros((1, 19), dtype=np.uint8)
    for variant in armv7em.VARIANTS:
        spec = KernelSpec("search", "l1", 8, 19, 16)
        got = check_search(TARGET, spec, db, q, 3, variant=variant)[0]
        assert got.indices.tolist() == [0, 1, 2] and got.distances.tolist() == [19 * 56] * 3
        got = check_search(TARGET, spec, db, q, 16, variant=variant)[0]
        assert got.returned == 5 and got.indices.tolist() == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("bits, metric", [(8, "l1"), (8, "l2"), (16, "l1"), (16, "l2"), (4, "l1"), (4, "l2"),
                                          (1, "l1")])
@pytest.mark.parametrize("variant", armv7em.VARIANTS)
def test_max_dims_runs_at_the_bound_without_overflow(bits, metric, variant):
    """D = max_dims: the largest distance (every dim 2^(n-1) apart) comes back exactly."""
    d = armv7em.max_dims(M4, KernelSpec("scan", metric, bits, 1))
    half = 1 << (bits - 1)
    rng = np.random.default_rng(d)
    dtype = np.uint16 if bits == 16 else np.uint8
    db = np.stack([np.full(d, half), rng.integers(0, 1 << bits, d), np.full(d, (1 << bits) - 1)]).astype(dtype)
    q = np.zeros(d, dtype=dtype)
    runner = KernelRunner(build_kernel(TARGET, KernelSpec("scan", metric, bits, d), variant=variant), count=False)
    runner.load_database(db)
    got = runner.call(q).distances
    want = reference.scan(q, db, bits=bits, metric=metric)
    assert got.tolist() == want.tolist()
    assert got[0] == reference.max_distance(d, bits, metric)


def test_header_names_spec_variant_and_register_plan():
    kernel = armv7em.generate(M4, KernelSpec("search", "l1", 8, 16, 4))
    head = kernel.asm.split("torus_search:")[0]
    assert "search 8-bit l1 D=16 k<=4" in head and "variant: dsp" in head
    assert "query words (resident" in head and "USADA8" in head
    assert kernel.layout.stride == 16 and kernel.layout.align == 4
    assert armv7em.variants(M4, kernel.spec)[0] == "dsp"


def test_unmapped_database_faults_naming_target_pc_and_instruction():
    message = unmapped_database_fault(TARGET, KernelSpec("search", "l1", 8, 16, 1), "dsp")
    assert message.startswith("cortex-m4: emulator fault at pc=0x")
    assert re.search(r"\(ldm(\.w)? r1!, \{", message), message


@pytest.mark.parametrize("encoding, text, what", [
    (".inst.w 0xee300a01", "vadd.f32 s0, s0, s2", "floating point"),   # no FPU in this target
    (".inst.w 0xef000801", "vadd.i8 d0, d0, d1", "floating point"),    # NEON
    (".inst.w 0xee010f10", "mcr p15, #0, r0, c1, c0, #0", "coprocessor"),
])
def test_checker_rejects_foreign_code_inside_a_generated_kernel(encoding, text, what):
    asm = armv7em.generate(M4, KernelSpec("search", "l1", 8, 8, 2)).asm
    asm = asm.replace(".Lrow_a:", f".Lrow_a:\n    {encoding}", 1)
    with pytest.raises(ISAViolation) as info:
        check_image(M4, assemble(M4, asm))
    message = str(info.value)
    # clang's line table has no row for .inst data, so the line may read '?'; the instruction is named.
    assert message.startswith(f"cortex-m4: '{text}' at 0x") and what in message and "kernel.S line" in message


def test_every_variant_passes_the_checker():
    for variant in armv7em.VARIANTS:
        for bits, metric in [(8, "l1"), (8, "l2"), (16, "l1"), (4, "l2"), (1, "l1")]:
            kernel = build_kernel(TARGET, KernelSpec("search", metric, bits, 24, 3), variant=variant)
            mnemonics = {d.mnemonic.split(".")[0] for d in kernel.decoded}
            if variant == "dsp":
                assert mnemonics & {"usub8", "usub16", "usad8", "usada8", "smlad", "eor"}, mnemonics


MODES = {  # (bits, metric) -> D giving the register-resident, streamed (paired) and inner-loop dsp row bodies
    (8, "l1"): (16, 100, 201), (8, "l2"): (12, 99, 203), (16, "l1"): (5, 49, 101), (16, "l2"): (3,),
    (4, "l1"): (15, 199, 333), (4, "l2"): (9, 197, 331), (1, "l1"): (61, 701, 1501), (1, "l2"): (33, 699, 1499),
}


@pytest.mark.parametrize("bits, metric", list(MODES))
def test_every_dsp_row_mode_searches_and_ranges_exactly(bits, metric):
    """Each dsp row body (resident, streamed singly or in pairs, inner loop) with odd and even N.

    Range runs the same row bodies (the same D picks the same mode): radii
    below the nearest row, at a row's distance (the boundary counts) and
    at the farthest; cap 5 below the count.
    """
    rng = np.random.default_rng(bits * 7 + len(metric))
    modes = []
    for d in MODES[bits, metric]:
        for kernel in ("search", "range"):
            spec = KernelSpec(kernel, metric, bits, d, 5 if kernel == "search" else 1)
            note = built(TARGET, spec, "dsp").kernel.notes[0]
            modes.append("resident" if "fits the registers" in note else "loop" if "inner loop" in note
                         else "pair" if "in pairs" in note else "stream")
        db = _codes(rng, bits, 23, d)
        queries = np.concatenate([_codes(rng, bits, 2, d), db[[4]]])
        search, ranged = KernelSpec("search", metric, bits, d, 5), KernelSpec("range", metric, bits, d)
        check_search(TARGET, search, db, queries, 5, variant="dsp")
        check_search(TARGET, search, db[:22], queries, 5, variant="dsp")
        near = np.sort(reference.scan(queries[0], db, bits=bits, metric=metric))
        for radius in (max(int(near[0]) - 1, 0), int(near[11]), int(near[-1])):
            check_range(TARGET, ranged, db, queries[0], radius, 5, variant="dsp")
            check_range(TARGET, ranged, db[:22], queries[0], radius, 23, variant="dsp")
    expected = ["resident", "pair" if bits in (8, 16) else "stream", "loop"]
    assert modes == [mode for mode in expected[:len(modes) // 2] for _ in ("search", "range")]


def _codes(rng, bits, rows, d):
    """Uniform codes with a quarter of the entries at the wrap edges (0, 2^(n-1), 2^n - 1) and a tied pair."""
    top = 1 << bits
    out = rng.integers(0, top, (rows, d))
    edge = rng.random((rows, d)) < 0.25
    out[edge] = rng.choice([0, top >> 1, top - 1], int(edge.sum()))
    out[rows - 1] = out[rows // 2]
    return out.astype(np.uint16 if bits == 16 else np.uint8)


@pytest.mark.parametrize("kernel", ["search", "scan", "range"])
def test_loop_entry_for_every_n_mod_unroll(kernel):
    """Short resident rows run four or two per loop trip, entered part-way: every n mod 4.

    (4-bit D=24 needs r3 for a resident query: search frees it, scan and range
    keep their output pointer or radius there and stream the query, one row
    per trip.)
    """
    rng = np.random.default_rng(4)
    for bits, d, unroll in [(8, 8, 4), (4, 24, 4 if kernel == "search" else 1), (8, 24, 2)]:
        spec = KernelSpec(kernel, "l1", bits, d, 3 if kernel == "search" else 1)
        asm = built(TARGET, spec, "dsp").kernel.asm
        assert ("one row" if unroll == 1 else f"row a of {unroll} per trip") in asm
        for n in range(1, 10):
            db = _codes(rng, bits, n, d)
            q = _codes(rng, bits, 1, d)
            if kernel == "search":
                check_search(TARGET, spec, db, q, 3, variant="dsp")
            elif kernel == "range":
                radius = int(np.median(reference.scan(q[0], db, bits=bits, metric="l1")))
                check_range(TARGET, spec, db, q[0], radius, 2, variant="dsp")
            else:
                check_scan(TARGET, spec, db, q[0], variant="dsp")


@pytest.mark.parametrize("variant", armv7em.VARIANTS)
def test_runtime_k_is_clamped_to_k_max_and_k0_returns_nothing(variant):
    """Called directly (the runner refuses such k): k > k_max acts as k_max, k = 0 writes nothing."""
    spec = KernelSpec("search", "l2", 8, 12, 4)
    runner = KernelRunner(built(TARGET, spec, variant), count=False)
    rng = np.random.default_rng(12)
    db = rng.integers(0, 256, (9, 12)).astype(np.uint8)
    runner.load_database(db)
    region, machine = runner.region, runner.machine
    machine.write(region.query, db[5].tobytes())
    want_i, want_d = reference.search(db[5][None], db, bits=8, metric="l2", k=4)
    for k, count in [(0, 0), (99, 4)]:
        machine.write(region.out_idx, b"\xa5" * 64)
        machine.write(region.out_dist, b"\xa5" * 64)
        returned, _ = machine.call("torus_search", [("ptr", region.query), ("ptr", region.db), ("u32", 9),
                                                    ("u32", k), ("ptr", region.out_idx), ("ptr", region.out_dist)])
        assert returned == count
        idx = np.frombuffer(machine.read(region.out_idx, 64), "<u4")
        dist = np.frombuffer(machine.read(region.out_dist, 64), "<u4")
        assert idx[:count].tolist() == want_i[0].tolist()[:count] and dist[:count].tolist() == want_d[0].tolist()[:count]
        assert (idx[count:] == 0xA5A5A5A5).all() and (dist[count:] == 0xA5A5A5A5).all()
