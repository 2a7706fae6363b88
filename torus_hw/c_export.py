"""Codes as C (or assembly) source for firmware, packed to one kernel's row layout.

This module owns the firmware export: ``NAME.h`` + ``NAME.c`` holding the
database (and optionally the queries and labels) as bytes already packed by
:func:`torus_hw.quantize.pack_rows` — the one packing implementation — to the
kernel's stride, zero-padded, defined once in the ``.c`` with the kernel's
alignment and declared ``extern const`` in the ``.h`` behind ``extern "C"``.

The header includes the kernel's own header and checks at compile time
(``_Static_assert`` / ``static_assert``, or a negative-size array in C99 and
C++98) that dims, bits, stride and alignment are the kernel's, so data packed
for another kernel fails the build instead of the answers.

The layout is duck-typed (``dims``, ``bits``, ``stride``, ``align``; e.g.
:class:`isa.spec.RowLayout`) so that ``torus_hw`` needs nothing from ``isa``.
For the 8086, which has no C compiler here, :func:`asm_export` writes the same
bytes as a GNU-assembler file with the same checks as ``.error`` directives.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from .errors import TorusInputError
from .quantize import pack_rows, row_bytes

C_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
C_KEYWORDS = frozenset("""auto break case char const continue default do double else enum extern float for goto if
inline int long register restrict return short signed sizeof static struct switch typedef union unsigned void
volatile while _Alignas _Alignof _Atomic _Bool _Complex _Generic _Imaginary _Noreturn _Static_assert
_Thread_local bool class namespace template this new delete operator private public protected virtual
friend true false""".split())

BYTES_PER_LINE = 16


def check_c_identifier(name: str, what: str = "symbol") -> str:
    """``name`` if it is a usable C (and C++) identifier, else a TorusInputError naming it."""
    if not isinstance(name, str) or not C_IDENTIFIER.match(name) or name in C_KEYWORDS:
        raise TorusInputError(f"{what} {name!r} is not a C identifier (letters, digits and _, not starting "
                              f"with a digit, not a keyword)")
    if name.startswith("__") or (name.startswith("_") and name[1:2].isupper()):
        raise TorusInputError(f"{what} {name!r} is reserved in C (leading __ or _ and a capital)")
    return name


@dataclass(frozen=True)
class KernelTie:
    """The kernel a data file is packed for: its header file and macro prefix (its symbol, upper case)."""

    header: str          # e.g. "torus_search_l1_u8_d16_k5.h"
    macro_prefix: str    # e.g. "TORUS_SEARCH_L1_U8_D16_K5"


@dataclass(frozen=True)
class PackedExport:
    """The packed arrays of one export, ready to be written in any syntax."""

    name: str
    dims: int
    bits: int
    stride: int
    align: int
    database: np.ndarray                 # (N, stride) uint8
    queries: np.ndarray | None           # (Q, stride) uint8
    database_labels: np.ndarray | None   # int32[N]
    query_labels: np.ndarray | None      # int32[Q]

    @property
    def rows(self) -> int:
        return int(self.database.shape[0])

    @property
    def data_bytes(self) -> int:
        """Bytes this export occupies in read-only memory (each array rounded up to the alignment)."""
        total = 0
        for arr in (self.database, self.queries, self.database_labels, self.query_labels):
            if arr is not None:
                total += -(-arr.nbytes // self.align) * self.align
        return total


def pack_export(name: str, layout, database, queries=None, database_labels=None, query_labels=None,
                *, bits: int) -> PackedExport:
    """Check codes against ``layout`` and pack them (the layout's bits and D must be the codes')."""
    check_c_identifier(name, "export name")
    database = np.atleast_2d(np.asarray(database))
    dims = int(database.shape[1])
    if layout.bits != bits or layout.dims != dims:
        raise TorusInputError(f"the kernel layout is {layout.bits}-bit D={layout.dims} but the codes are "
                              f"{bits}-bit D={dims}")
    if layout.stride < row_bytes(dims, bits) or layout.align < 1 or layout.align & (layout.align - 1):
        raise TorusInputError(f"kernel layout stride {layout.stride} / align {layout.align} cannot hold "
                              f"{dims} dims of {bits} bits")
    if len(database) == 0:
        raise TorusInputError("the database has no rows: nothing to search")
    packed_q = None
    if queries is not None:
        queries = np.atleast_2d(np.asarray(queries))
        if queries.shape[1] != dims:
            raise TorusInputError(f"queries have D={queries.shape[1]}, the database D={dims}")
        packed_q = pack_rows(queries, bits, layout.stride)

    def labels(values, n, what):
        if values is None:
            return None
        values = np.asarray(values, dtype=np.int64).reshape(-1)
        if len(values) != n:
            raise TorusInputError(f"{what} has {len(values)} entries for {n} rows")
        if values.size and (values.min() < -2**31 or values.max() >= 2**31):
            raise TorusInputError(f"{what} do not fit int32")
        return values.astype("<i4")

    return PackedExport(name, dims, bits, int(layout.stride), int(layout.align),
                        pack_rows(database, bits, layout.stride), packed_q,
                        labels(database_labels, len(database), "database labels"),
                        None if packed_q is None else labels(query_labels, len(packed_q), "query labels"))


def _byte_lines(packed: np.ndarray, indent: str, directive: str = "") -> list[str]:
    """One line per row (split every BYTES_PER_LINE bytes) with its row number: C initialisers, or
    assembler lines when ``directive`` (e.g. ``.byte``) is given."""
    out = []
    for i, row in enumerate(packed):
        for j in range(0, max(len(row), 1), BYTES_PER_LINE):
            text = ", ".join(f"0x{int(v):02x}" for v in row[j:j + BYTES_PER_LINE])
            note = "" if j else (f"  // row {i}" if directive else f"  /* row {i} */")
            out.append(f"{indent}{directive}{text}{'' if directive else ','}{note}")
    return out


def _int_lines(values: np.ndarray, indent: str, directive: str = "", per_line: int = 16) -> list[str]:
    out = []
    for j in range(0, len(values), per_line):
        text = ", ".join(str(int(v)) for v in values[j:j + per_line])
        out.append(f"{indent}{directive}{text}{'' if directive else ','}")
    return out


def c_export(packed: PackedExport, tie: KernelTie) -> dict[str, str]:
    """``{NAME.h: text, NAME.c: text}`` for ``packed``, tied to the kernel header ``tie``."""
    n, up, k = packed.name, packed.name.upper(), tie.macro_prefix
    arrays = [("db", packed.database, "uint8_t", "the database, row r at r * ROW_STRIDE")]
    if packed.queries is not None:
        arrays.append(("queries", packed.queries, "uint8_t", "query q at q * ROW_STRIDE, packed like the rows"))
    if packed.database_labels is not None:
        arrays.append(("db_labels", packed.database_labels, "int32_t", "class label of each database row"))
    if packed.query_labels is not None:
        arrays.append(("query_labels", packed.query_labels, "int32_t", "class label of each query"))
    guard = f"{up}_H"
    h = [
        f"/* {n}.h: torus-hw database export, {packed.rows} rows x {packed.dims} dims x {packed.bits} bits,",
        f" * packed for the kernel in {tie.header} (row stride {packed.stride} B, zero-padded; every array",
        f" * aligned to {packed.align} B).  Generated by torus-hw; do not edit: regenerate with the kernel. */",
        f"#ifndef {guard}", f"#define {guard}", "", "#include <stdint.h>", f'#include "{tie.header}"', "",
        f"#define {up}_ROWS       {packed.rows}u",
        f"#define {up}_DIMS       {packed.dims}u",
        f"#define {up}_BITS       {packed.bits}u",
        f"#define {up}_ROW_STRIDE {packed.stride}u",
        f"#define {up}_ROW_ALIGN  {packed.align}u",
    ]
    if packed.queries is not None:
        h.append(f"#define {up}_QUERIES    {len(packed.queries)}u")
    h += [
        "",
        "/* Compile-time checks: C11 _Static_assert, C++11 static_assert, else a negative array size. */",
        "#if defined(__cplusplus) && __cplusplus >= 201103L",
        f"#define {up}_ASSERT(c, m) static_assert(c, m)",
        "#elif !defined(__cplusplus) && defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L",
        f"#define {up}_ASSERT(c, m) _Static_assert(c, m)",
        "#else",
        f"#define {up}_ASSERT_CAT(c, l) typedef char {n}_assert_line_##l[(c) ? 1 : -1]",
        f"#define {up}_ASSERT_AT(c, l) {up}_ASSERT_CAT(c, l)",
        f"#define {up}_ASSERT(c, m) {up}_ASSERT_AT(c, __LINE__)",
        "#endif",
        "",
        "/* The data must be packed exactly as the kernel reads it. */",
        f'{up}_ASSERT({up}_DIMS == {k}_DIMS, "{n}: D differs from the kernel\'s");',
        f'{up}_ASSERT({up}_BITS == {k}_BITS, "{n}: bits per code differ from the kernel\'s");',
        f'{up}_ASSERT({up}_ROW_STRIDE == {k}_ROW_STRIDE, "{n}: row stride differs from the kernel\'s");',
        f'{up}_ASSERT({up}_ROW_ALIGN % {k}_ROW_ALIGN == 0, "{n}: alignment is weaker than the kernel needs");',
        "",
        "#ifdef __cplusplus", 'extern "C" {', "#endif", "",
    ]
    for suffix, arr, ctype, what in arrays:
        h.append(f"extern const {ctype} {n}_{suffix}[{arr.size}];  /* {what} */")
    h += ["", "#ifdef __cplusplus", "}", "#endif", "", f"#endif /* {guard} */", ""]

    c = [
        f"/* {n}.c: the arrays of {n}.h, defined once, aligned to {packed.align} B for {tie.header}.",
        " * Generated by torus-hw; do not edit. */",
        f'#include "{n}.h"', "",
        "/* The alignment the kernel needs, whatever -fdata-sections or the linker does. */",
        "#if defined(__GNUC__) || defined(__clang__)",
        f"#define {up}_ALIGNED __attribute__((aligned({packed.align})))",
        "#elif defined(__cplusplus) && __cplusplus >= 201103L",
        f"#define {up}_ALIGNED alignas({packed.align})",
        "#elif defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L",
        f"#define {up}_ALIGNED _Alignas({packed.align})",
        "#elif defined(_MSC_VER)",
        f"#define {up}_ALIGNED __declspec(align({packed.align}))",
        "#else",
        f'#error "{n}.c: no way to align the data for this compiler; align {n}_db to {packed.align} bytes"',
        "#endif", "",
    ]
    for suffix, arr, ctype, _ in arrays:
        c.append(f"{up}_ALIGNED const {ctype} {n}_{suffix}[{arr.size}] = {{")
        c += _byte_lines(arr, "    ") if ctype == "uint8_t" else _int_lines(arr, "    ")
        c += ["};", ""]
    c += [
        "#if defined(__GNUC__) || defined(__clang__)",
        f'{up}_ASSERT(__alignof__({n}_db) >= {k}_ROW_ALIGN, "{n}_db is less aligned than the kernel needs");',
    ]
    if packed.queries is not None:
        c.append(f'{up}_ASSERT(__alignof__({n}_queries) >= {k}_ROW_ALIGN, "{n}_queries is less aligned than '
                 f'the kernel needs");')
    c += ["#endif",
          f'{up}_ASSERT(sizeof({n}_db) == {up}_ROWS * {k}_ROW_STRIDE, "{n}_db is not ROWS whole rows");', ""]
    return {f"{n}.h": "\n".join(h), f"{n}.c": "\n".join(c)}


def asm_export(packed: PackedExport, kernel_inc: str, macro_prefix: str) -> dict[str, str]:
    """``{NAME.inc, NAME.S}``: the same bytes for the GNU assembler (the 8086 has no C compiler here).

    ``NAME.inc`` holds the constants and includes the kernel's ``.inc`` (``.equ`` constants); a
    mismatch stops the assembly with ``.error``.  ``NAME.S`` holds the arrays.
    """
    n, up, k = packed.name, packed.name.upper(), macro_prefix
    inc = [
        f"// {n}.inc: torus-hw database export, {packed.rows} rows x {packed.dims} dims x {packed.bits} bits,",
        f"// packed for the kernel of {kernel_inc} (row stride {packed.stride} B, align {packed.align} B).",
        "// Generated by torus-hw; do not edit.",
        f'.include "{kernel_inc}"',
        f".equ {up}_ROWS, {packed.rows}",
        f".equ {up}_DIMS, {packed.dims}",
        f".equ {up}_BITS, {packed.bits}",
        f".equ {up}_ROW_STRIDE, {packed.stride}",
        f".equ {up}_ROW_ALIGN, {packed.align}",
        f".equ {up}_QUERIES, {0 if packed.queries is None else len(packed.queries)}",
        f".if {up}_DIMS - {k}_DIMS", f'.error "{n}: D differs from the kernel\'s"', ".endif",
        f".if {up}_BITS - {k}_BITS", f'.error "{n}: bits per code differ from the kernel\'s"', ".endif",
        f".if {up}_ROW_STRIDE - {k}_ROW_STRIDE", f'.error "{n}: row stride differs from the kernel\'s"', ".endif",
        f".if {up}_ROW_ALIGN % {k}_ROW_ALIGN", f'.error "{n}: alignment is weaker than the kernel needs"', ".endif",
    ]
    data = [f"// {n}.S: the arrays of {n}.inc.  Generated by torus-hw; do not edit.", f'.include "{n}.inc"',
            ".section .rodata"]
    for suffix, arr in (("db", packed.database), ("queries", packed.queries)):
        if arr is not None:
            data += [f".balign {packed.align}", f".globl {n}_{suffix}", f"{n}_{suffix}:"]
            data += _byte_lines(arr, "    ", ".byte ")
    for suffix, arr in (("db_labels", packed.database_labels), ("query_labels", packed.query_labels)):
        if arr is not None:
            data += [".balign 4", f".globl {n}_{suffix}", f"{n}_{suffix}:"]
            data += _int_lines(arr, "    ", ".long ")
    return {f"{n}.inc": "\n".join(inc) + "\n", f"{n}.S": "\n".join(data) + "\n"}
