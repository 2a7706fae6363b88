"""AArch64 kernels (isa/aarch64.py): what is particular to NEON and AAPCS64.

The contract every target shares (bit-exact answers for every variant,
refusals, headers) is tests/test_contract.py; here: the largest D of each
(bits, metric), ties and k clamping, faults, the checker, callee-saved
registers and the group slow path.
"""

from __future__ import annotations

import numpy as np
import pytest

from isa import aarch64
from isa.assembler import assemble
from isa.build import generate
from isa.checker import ISAViolation, check_image
from isa.spec import KernelSpec
from isa.targets import get_target
from sim.machine import EmulatorFault, Machine
from sim.runner import KernelRunner
from crosscheck import built, check_distance, check_scan, check_search
from torus_hw import reference
from torus_hw.errors import TorusInputError

TARGET = "aarch64"
T = get_target(TARGET)
COMBOS = [(b, m) for b in (1, 4, 8, 16) for m in ("l1", "l2")]


@pytest.mark.parametrize("bits, metric", COMBOS)
def test_largest_dims(bits, metric):
    """max_dims itself: the longest rows (looped, u16 flushes) for both variants."""
    top = aarch64.max_dims(T, KernelSpec("scan", metric, bits, 1))
    rng = np.random.default_rng(bits * 7 + len(metric))
    dtype = np.uint16 if bits == 16 else np.uint8
    hi = 1 << bits
    # all-antipodal rows reach the largest distance: the overflow bound is exercised
    db = np.stack([rng.integers(0, hi, top), np.zeros(top), np.full(top, hi // 2),
                   rng.integers(0, hi, top), np.full(top, hi - 1)]).astype(dtype)
    query = np.zeros(top, dtype=dtype)
    # one reference call (its per-dim loop is the slow part at half a million dims)
    want = reference.scan(query, db, bits=bits, metric=metric)
    assert want.max() == reference.max_distance(top, bits, metric)
    best = sorted(range(len(db)), key=lambda i: (want[i], i))[:3]
    for variant in aarch64.VARIANTS:
        scan = KernelRunner(built(TARGET, KernelSpec("scan", metric, bits, top), variant), count=False)
        scan.load_database(db)
        np.testing.assert_array_equal(scan.call(query).distances, want)
        search = KernelRunner(built(TARGET, KernelSpec("search", metric, bits, top, k_max=3), variant), count=False)
        search.load_database(db)
        got = search.call(query, k=3)
        assert got.indices.tolist() == best and got.distances.tolist() == [int(want[i]) for i in best], variant


def test_ties_go_to_the_lower_row_and_n_below_k():
    spec = KernelSpec("search", "l1", 8, 16, k_max=16)
    db = np.zeros((11, 16), dtype=np.uint8)
    db[[3, 7]] = 1
    for variant in aarch64.VARIANTS:
        got = check_search(TARGET, spec, db, np.zeros((1, 16), dtype=np.uint8), 16, variant=variant)[0]
        assert got.returned == 11
        assert got.indices.tolist() == [0, 1, 2, 4, 5, 6, 8, 9, 10, 3, 7]


def test_k_above_k_max_is_clamped_by_the_kernel():
    """The kernel never writes more than k_max entries even if called with a larger k."""
    b = built(TARGET, KernelSpec("search", "l1", 8, 16, k_max=2))
    m = Machine(T, b.image, count=False)
    db = np.arange(5 * 16, dtype=np.uint8).reshape(5, 16)
    m.map_range(0x1000_0000, db.size)
    m.write(0x1000_0000, db.tobytes())
    m.write(0x0020_0000, bytes(16))
    m.write(0x0021_0000, b"\xa5" * 64)
    returned, _ = m.call("torus_search", [("ptr", 0x0020_0000), ("ptr", 0x1000_0000), ("u32", 5), ("u32", 9),
                                          ("ptr", 0x0021_0000), ("ptr", 0x0021_1000)])
    assert returned == 2
    assert m.read(0x0021_0000 + 8, 4) == b"\xa5" * 4


def test_variants_and_header():
    spec = KernelSpec("search", "l2", 4, 21, k_max=4)
    assert aarch64.variants(T, spec)[0] == "neon"
    for variant in aarch64.VARIANTS:
        k = generate(TARGET, spec, variant)
        assert k.variant == variant
        assert f"variant: {variant} (" in k.asm and "register plan:" in k.asm and spec.describe() in k.asm
    with pytest.raises(TorusInputError, match="no variant .avx."):
        generate(TARGET, spec, "avx")


def test_unmapped_database_faults_naming_target_pc_and_instruction():
    b = built(TARGET, KernelSpec("scan", "l1", 8, 16), "neon")
    m = Machine(T, b.image, count=False)
    m.write(0x0020_0000, bytes(16))
    m.map_range(0x0100_0000, 64)
    with pytest.raises(EmulatorFault) as info:
        m.call("torus_scan", [("ptr", 0x0020_0000), ("ptr", 0x7000_0000), ("u32", 4), ("ptr", 0x0100_0000)])
    text = str(info.value)
    assert "aarch64" in text and "pc=0x1" in text and "ldr q" in text and "UNMAPPED" in text


@pytest.mark.parametrize("word, what", [
    ("0x6e829420", "udot"),     # UDOT v0.4s, v1.16b, v2.16b: ARMv8.2 dot product
    ("0x04210000", "z0.b"),     # SVE ADD z0.b, z0.b, z1.b
    ("0xb8200020", "ldadd"),    # LSE atomic (ARMv8.1)
])
def test_checker_rejects_foreign_words_inside_a_generated_kernel(word, what):
    asm = generate(TARGET, KernelSpec("search", "l1", 8, 16)).asm
    marker = "    abs v1.16b, v1.16b"
    assert marker in asm
    bad = asm.replace(marker, f"    .inst {word}\n{marker}", 1)
    image = assemble(T, bad)
    with pytest.raises(ISAViolation) as info:
        check_image(T, image)
    text = str(info.value)
    assert what in text and "not allowed" in text and "kernel.S line" in text
    address = image.symbol("torus_search") + 4 * next(
        n for n, line in enumerate(_instruction_lines(bad)) if line.startswith(".inst"))
    assert f"at {address:#x}" in text


def _instruction_lines(asm: str) -> list[str]:
    """The instruction lines of a generated kernel after its symbol, in order."""
    body = asm.split("torus_search:\n", 1)[1]
    out = []
    for line in body.splitlines():
        line = line.split("//")[0].strip()
        if line and not line.endswith(":") and not line.startswith((".size", ".type", ".globl", ".p2align")):
            out.append(line)
    return out


@pytest.mark.parametrize("kernel, bits, metric, dims, saves", [
    ("search", 4, "l2", 160, "stp d8, d9"), ("scan", 4, "l2", 160, "stp d8, d9"),
    ("search", 8, "l1", 4097, "stp x19, x20"), ("distance", 8, "l1", 2000, "stp x19, x20")])
def test_callee_saved_registers_survive(kernel, bits, metric, dims, saves):
    """AAPCS64: wide kernels use v8-v15 and long-row kernels x19-x24; both save and restore them.

    The harness seeds x19-x29, d8-d15 and checks them and sp on return (EmulatorFault otherwise);
    here the kernels that really touch those registers go through it.
    """
    spec = KernelSpec(kernel, metric, bits, dims, k_max=4)
    b = built(TARGET, spec, "neon")
    assert saves in b.kernel.asm
    rng = np.random.default_rng(dims)
    db = rng.integers(0, 1 << bits, (9, dims)).astype(np.uint8)
    if kernel == "search":
        check_search(TARGET, spec, db, db[:1], 4, variant="neon")
    elif kernel == "scan":
        check_scan(TARGET, spec, db, db[0], variant="neon")
    else:
        check_distance(TARGET, spec, db[:2], db[3], variant="neon")


@pytest.mark.parametrize("dims, k", [(16, 3), (6, 16), (40, 1)])
def test_every_group_hits_the_slow_path(dims, k):
    """Rows ever closer to the query: every group has a candidate, inside the loop and in the last group."""
    spec = KernelSpec("search", "l1", 8, dims, k_max=16)
    kern = generate(TARGET, spec, "neon")
    assert ".Lgroup_last_slow" in kern.asm  # the deferred tree is in use for these shapes
    n = 61
    db = np.zeros((n, dims), dtype=np.uint8)
    db[:, 0] = np.linspace(120, 0, n).astype(np.uint8)   # decreasing distance to the zero query
    db[30:45, 0] = db[30, 0]                               # and a run of exact ties
    check_search(TARGET, spec, db, np.zeros((1, dims), dtype=np.uint8), k, variant="neon")
