"""The generator contract, once for every target × kernel × metric × bits (docs/kernels.md).

Every target's default kernel is built (assembled and ISA-checked) and run
against :mod:`torus_hw.reference` — ties, a query equal to a row, n below k,
range radii at the boundaries and caps below the count — and a property test
draws every variant of every target.  The refusals of :func:`isa.generate.generate`
have one wording each, on every target; the ISA-specific behaviour (faults,
checker proofs, row modes) stays in tests/test_isa_*.py.
"""

from __future__ import annotations

import importlib
import re
import shutil
import subprocess
import zlib
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from isa.build import build_kernel
from isa.generate import family, generate, max_dims, variants
from isa.spec import KERNELS, KernelSpec
from isa.targets import TARGETS, get_target
from sim.runner import KernelRunner
from torus_hw import reference
from torus_hw.errors import TorusInputError

from crosscheck import check_distance, check_range, check_scan, check_search, code_matrix, examples

METRICS, WIDTHS = ("l1", "l2"), (1, 4, 8, 16)
FAMILIES = sorted({t.family for t in TARGETS.values()})


def _dims(target: str, kernel: str, metric: str, bits: int, want: int) -> int:
    return min(want, max_dims(target, KernelSpec(kernel, metric, bits, 1)))


def _database(bits: int, rows: int, dims: int, seed: int) -> np.ndarray:
    """Adversarial codes with ties: row 5 repeats row 2, the last row repeats row 0."""
    rng = np.random.default_rng(seed)
    top = (1 << bits) - 1
    values = sorted({0, 1, top >> 1, (top >> 1) + 1, top})
    db = rng.integers(0, top + 1, (rows, dims))
    mask = rng.random((rows, dims)) < 0.4
    db[mask] = rng.choice(values, size=int(mask.sum()))
    db[min(5, rows - 1)] = db[min(2, rows - 1)]
    db[-1] = db[0]
    return db.astype(np.uint16 if bits == 16 else np.uint8)


def _radii(query, db, spec) -> list[int]:
    dist = reference.scan(query, db, bits=spec.bits, metric=spec.metric)
    top = reference.max_distance(spec.dims, spec.bits, spec.metric)
    return sorted({0, int(dist.min()), int(np.median(dist)), int(dist.max()), top, top + 1, 2**32 - 1})


@pytest.mark.parametrize("bits", WIDTHS)
@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("target", list(TARGETS))
def test_contract(target, kernel, metric, bits):
    """The default variant builds, passes its ISA check and answers exactly like the reference."""
    dims = _dims(target, kernel, metric, bits, 13)
    spec = KernelSpec(kernel, metric, bits, dims, 4 if kernel == "search" else 1)
    db = _database(bits, 37, dims, seed=zlib.crc32(f"{target} {kernel} {metric} {bits}".encode()))
    query = db[2].copy()                                       # distance 0 to rows 2 and 5: a tie
    if kernel == "distance":
        check_distance(target, spec, db[:4], query)
    elif kernel == "scan":
        check_scan(target, spec, db, query)
    elif kernel == "search":
        check_search(target, spec, db, np.stack([query, db[-1]]), 3)
        check_search(target, spec, db[:2], query[None], 4)     # n < k returns n
    else:
        for radius in _radii(query, db, spec):
            for cap in (0, 1, 3, 37):
                check_range(target, spec, db, query, radius, cap)
        check_range(target, spec, db[:1], query, 2**32 - 1, 5)  # n = 1


# --- every variant, drawn ------------------------------------------------------------

# Small D, and every family's shape changes: SWAR/SIMD word and chunk edges, register-resident
# query limits, unrolled -> looped rows (armv6m 128 / 960 dims, riscv 240 / 256, aarch64 8 chunks),
# the 8086's 64-byte groups; values beyond a target's max_dims are clamped to it.
DIMS = st.one_of(st.integers(1, 40), st.sampled_from([47, 63, 64, 65, 66, 127, 128, 129, 131, 200, 241, 257, 300,
                                                      333, 513, 961, 1025, 2100]))


@pytest.mark.parametrize("target", list(TARGETS))
@settings(max_examples=examples(25))
@given(data=st.data(), kernel=st.sampled_from(KERNELS), metric=st.sampled_from(METRICS),
       bits=st.sampled_from(WIDTHS), d=DIMS, n=st.one_of(st.just(1), st.integers(1, 40)))
def test_every_variant_matches_reference(target, data, kernel, metric, bits, d, n):
    k_max = data.draw(st.integers(1, 16), label="k_max") if kernel == "search" else 1
    spec = KernelSpec(kernel, metric, bits, _dims(target, kernel, metric, bits, d), k_max)
    variant = data.draw(st.sampled_from(variants(target, spec)), label="variant")
    db = data.draw(code_matrix(bits, n, spec.dims), label="db")
    query = data.draw(code_matrix(bits, 1, spec.dims), label="q")[0]
    if data.draw(st.booleans(), label="query is a row"):
        query = db[data.draw(st.integers(0, n - 1), label="row")]
    if kernel == "distance":
        check_distance(target, spec, db[:3], query, variant)
    elif kernel == "scan":
        check_scan(target, spec, db, query, variant)
    elif kernel == "search":
        check_search(target, spec, db, query[None], data.draw(st.integers(1, k_max), label="k"), variant)
    else:
        radius = data.draw(st.sampled_from(_radii(query, db, spec)), label="radius")
        check_range(target, spec, db, query, radius, data.draw(st.integers(0, n + 1), label="cap"), variant)


# --- one message per refusal ----------------------------------------------------------


def _spec(kernel="search", metric="l1", bits=8, dims=16, k_max=2) -> KernelSpec:
    return KernelSpec(kernel, metric, bits, dims, k_max)


def test_unknown_kernel_name_is_refused_by_the_spec():
    with pytest.raises(TorusInputError, match=r"^kernel must be one of distance, scan, search, range, got 'knn'$"):
        _spec(kernel="knn")


@pytest.mark.parametrize("target", list(TARGETS))
def test_a_kernel_the_family_does_not_have_is_refused(target):
    """The defect: armv7em emitted its distance kernel for any name (the others failed four ways)."""
    bogus = _spec()
    object.__setattr__(bogus, "kernel", "knn")                 # past the spec's own check
    with pytest.raises(TorusInputError, match=rf"^{target}: no knn kernel; it generates distance, scan, search, range$"):
        generate(target, bogus)


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("target", list(TARGETS))
def test_a_family_refuses_another_familys_target(family, target):
    """The defect: armv7em, aarch64 and armv6m generated for any target (a Thumb-2 file 'for cortex-m0')."""
    module = importlib.import_module(f"isa.{family}")
    if get_target(target).family == family:
        assert module.generate(get_target(target), _spec()).target == target
        return
    with pytest.raises(TorusInputError, match=rf"^isa\.{family} generates for .*, not for target '{target}'$"):
        module.generate(get_target(target), _spec())
    with pytest.raises(TorusInputError, match=rf"not for target '{target}'"):
        module.max_dims(get_target(target), _spec())


@pytest.mark.parametrize("target", list(TARGETS))
def test_unknown_variant_one_wording_everywhere(target):
    spec = _spec("scan", "l1", 8, 8, 1)
    choices = ", ".join(variants(target, spec))
    with pytest.raises(TorusInputError,
                       match=rf"^{target}: no variant 'avx' for scan 8-bit l1 D=8; choose one of {choices}$"):
        generate(target, spec, "avx")


@pytest.mark.parametrize("bits", WIDTHS)
@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("target", list(TARGETS))
def test_beyond_max_dims_is_refused_naming_the_bound(target, metric, bits):
    limit = max_dims(target, KernelSpec("scan", metric, bits, 1))
    assert 1 <= limit <= reference.max_dims_u32(bits, metric)
    generate(target, KernelSpec("scan", metric, bits, limit))
    with pytest.raises(TorusInputError, match=rf"^{target}: D={limit + 1} for {bits}-bit {metric} is beyond "
                                              rf"max_dims={limit}: "):
        generate(target, KernelSpec("scan", metric, bits, limit + 1))


@pytest.mark.parametrize("target", list(TARGETS))
def test_bad_symbol_and_dialect_are_refused(target):
    for bad in ("9lives", "has-dash", "int", "", "a b"):
        with pytest.raises(TorusInputError, match=r"^symbol .* is (not a C identifier|reserved in C)"):
            generate(target, _spec(), symbol=bad)
    with pytest.raises(TorusInputError, match=rf"^{target}: no 'masm' dialect; it writes "):
        generate(target, _spec(), dialect="masm")


# --- what every generated file says -----------------------------------------------------


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("target", list(TARGETS))
def test_header_carries_the_whole_prototype_spec_and_plan(target, kernel):
    """The defect: both Arm headers cut the C prototype after ``uint32_t k,``."""
    k = generate(target, _spec(kernel, k_max=2 if kernel == "search" else 1))
    for line in k.prototype.splitlines():
        assert line.strip() in k.asm, (target, line)
    assert k.spec.describe() in k.asm and k.variant in k.asm
    assert re.search(r"register", k.asm, re.I), "the register plan"
    assert k.symbol == f"torus_{kernel}" and f"{k.symbol}:" in k.asm


HEADER_FIELDS = ("torus-hw kernel:", "variant:", "why:", "prototype:", "row layout:", "semantics:",
                 "register plan:")


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("target", list(TARGETS))
def test_every_file_opens_with_the_one_header(target, kernel):
    """One header (isa.emit.kernel_header) on every target: the same fields in the same order, before any code."""
    k = generate(target, _spec(kernel, k_max=2 if kernel == "search" else 1))
    marker = family(TARGETS[target]).STYLE.comment
    lines = k.asm.splitlines()
    first_code = next(i for i, line in enumerate(lines) if line.strip() and not line.lstrip().startswith(marker)
                      and not line.lstrip().startswith((".syntax", ".thumb")))
    fields = [line.lstrip()[len(marker):].strip() for line in lines[:first_code] if line.lstrip().startswith(marker)]
    seen = [f for f in HEADER_FIELDS for line in fields if line.startswith(f)]
    assert seen == list(HEADER_FIELDS), (target, kernel, fields[:12])
    assert fields[0] == f"torus-hw kernel: {k.spec.describe()} for {target} ({TARGETS[target].description})"


@pytest.mark.parametrize("target", list(TARGETS))
def test_the_harness_calls_the_kernel_by_its_symbol(target):
    spec = _spec("search", "l2", 4, 9, 3)
    name = spec.symbol_name()
    assert name == "torus_search_l2_u4_d9_k3"
    built = build_kernel(target, spec, symbol=name)
    assert built.kernel.symbol == name and "torus_search(" not in built.kernel.prototype
    assert "torus_search:" not in built.kernel.asm
    db = _database(4, 20, 9, seed=7)
    runner = KernelRunner(built, count=False)
    runner.load_database(db)
    want_i, want_d = reference.search(db[3:4], db, bits=4, metric="l2", k=3)
    got = runner.call(db[3], k=3)
    assert (got.indices.tolist(), got.distances.tolist()) == (want_i[0].tolist(), want_d[0].tolist())


def test_range_spec_symbol_name_has_no_k():
    assert KernelSpec("range", "l1", 8, 16).symbol_name() == "torus_range_l1_u8_d16"
    assert replace(_spec(), k_max=5).symbol_name() == "torus_search_l1_u8_d16_k5"


# --- the NASM dialect of the 8086 kernels --------------------------------------------------


@pytest.mark.nasm
@pytest.mark.skipif(shutil.which("nasm") is None, reason="needs nasm: apt-get install -y nasm")
@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("bits, metric", [(8, "l1"), (8, "l2"), (4, "l1"), (4, "l2"), (1, "l1"), (16, "l1"),
                                          (16, "l2")])
def test_nasm_dialect_assembles_to_the_same_bytes(tmp_path, kernel, bits, metric):
    for variant in variants("i8086", KernelSpec(kernel, metric, bits, 1)):
        spec = KernelSpec(kernel, metric, bits, min(13, max_dims("i8086", KernelSpec(kernel, metric, bits, 1))),
                          3 if kernel == "search" else 1)
        gnu = build_kernel("i8086", spec, variant=variant).image
        text = generate("i8086", spec, variant, dialect="nasm").asm
        tables = [data for address, data in gnu.segments if address != gnu.text[0]]
        if tables:  # place the tables where the GNU link put them (their address is in the code)
            (address, _), = [seg for seg in gnu.segments if seg[0] != gnu.text[0]]
            text = text.replace("section .rodata", f"section .rodata vstart={address:#x}")
        source = tmp_path / f"{variant}.asm"
        source.write_text(text)
        out = tmp_path / f"{variant}.bin"
        subprocess.run(["nasm", "-f", "bin", "-o", str(out), str(source)], check=True, capture_output=True)
        binary = out.read_bytes()
        assert binary[:len(gnu.text[1])] == gnu.text[1], (kernel, bits, metric, variant)
        assert all(table in binary[len(gnu.text[1]):] for table in tables), "the tables, byte for byte"
