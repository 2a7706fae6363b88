"""x86-16 generator (target ``i8086``): spec → commented 8086 assembly.

This module owns the 8086 kernels: the row layout they expect, the
documented maximum D, and three variants of code (fastest first):

``word``
    The fast kernels.  The row streams through DS:SI with LODSW (12 clocks
    for two bytes, no effective-address time), the query is read through
    ES:[DI+disp] with fixed displacements (the row body is unrolled over a
    group of up to GROUP_BYTES bytes, so there is no per-dim pointer
    arithmetic and no per-dim loop branch), and the per-dim work is:

    * 8-bit l1 — byte subtract, CBW, XOR AL,AH and a 16-bit ADD of the whole
      AX: for a negative difference x that adds |x| − 257, so the sign bytes
      (AH) are summed in CH and the row is corrected once by 257·N (N = the
      number of negative differences; AX = N:N *is* 257·N).  Nine clocks of
      abs-and-accumulate per dim instead of fifteen.
    * 8-bit l2 — the square comes from a 256-word table (t(δ)² by the byte
      difference δ) in the code segment: ~30 clocks instead of MUL's 70–77.
    * 4-bit — one byte subtract handles two dims: the borrow out of the low
      nibble is the auxiliary-carry flag, put back with LAHF / AND 10h / ADD;
      a 256-byte table (CS: XLAT) then gives t0+t1 (l1) or t0²+t1² (l2).
    * 1-bit — XOR, then CS: XLAT through a 256-byte popcount table.
    * 16-bit — LODSW / SUB / CWD / XOR / SUB (|int16| with −32768 → 32768),
      MUL AX for l2.

    Scan, search and range over rows of one group (stride <= 64 bytes) first
    copy the query into the stack frame: SS:[BP+disp] needs no segment
    override, which frees ES and DI.  The 8-bit l1 body then loads four query
    bytes with one LES (DX and ES), and search and range keep their 16-bit
    threshold in DI.

    Measured (sim/cycles/i8086.py, 8-bit l1 top-1 search over 1,000 random
    rows, clocks per query): D=8 273k, D=16 493k, D=32 938k, D=64 1,827k,
    i.e. 2.3x fewer than ``baseline`` (633k, 1,152k, 2,192k, 4,273k) and
    1.8x fewer than ``simple``; the order of :data:`VARIANTS` follows.

``simple``
    The straightforward reference: one dim at a time, unrolled over the same
    groups, byte loads, CBW abs (SUB/JNS/NEG for 16-bit), MUL for l2, and a
    32-bit DX:BX accumulator (ADD/ADC) per dim, so no bound proof is needed.

``baseline``
    The 8086 baseline the cost issue measures against (no compiler here
    targets the 8086): the textbook byte loop ``LODSB / SUB AL,ES:[DI] /
    INC DI / CBW / abs / ADD,ADC / LOOP`` (words for 16-bit codes, nibbles
    and bit-serial popcount for 4- and 1-bit codes), what a C compiler for
    the 8086 makes of the reference loop.

Memory and ABI (docs/kernels.md): __cdecl compact model, every data pointer
far and passed normalised (offset < 16).  The query is ES:DI for the whole
call.  Rows are walked with DS:SI; before each row the kernel checks that the
row cannot run past offset 0xFFFF and otherwise folds SI into DS (SI >> 4
added to the segment, SI &= 15), so a database may fill the 512 KiB harness
region.  The scan output pointer is advanced the same way (every 32 KiB).
Accumulators: 16-bit only where the group's bound is proven below 2^16
(the group sizes below); otherwise 24- or 32-bit (ADD/ADC).  Every row
distance is a full 32-bit value in DX:AX.

Search keeps its sorted top-k list (k ≤ 16 entries of distance and row
index, 32 bits each) on the stack.  Rows are scanned in order and enter only
when *strictly* below the current k-th distance, so ties keep the lower row;
the hot path compares against a cached 16-bit threshold when the kernel's
distances provably fit 16 bits.  Insertion is out of line.  Range tests each
row the same way against the radius (distance <= radius), counts the row out
of line in 32 bits and writes its index while the count is at most ``cap``,
with scan's output walk (the far pointer advanced in out_idx's own argument
slot, folded into the segment every 32 KiB).

Only 8086 instructions are emitted: no 186 shifts by immediate, PUSH imm,
ENTER/LEAVE, no 386 prefixes; conditional jumps are short (±127 bytes), so
long back-edges are written as an inverted Jcc over a JMP; RET is emitted as
``.byte 0xc3`` because this clang encodes a plain ``ret`` in ``.code16`` as
the 32-bit form 66 C3.  isa.checker proves it on every build.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from torus_hw.errors import TorusInputError
from torus_hw.reference import dim_distance

from . import generate as core
from .emit import Asm, Style, kernel_header
from .spec import KINDS, KernelSpec, RowLayout, prototype
from .targets import CDECL16_COMPACT, Target

VARIANTS = ("word", "simple", "baseline")

# A documented design limit: rows (and the query) of at most 4 KiB (32,768
# 1-bit, 8,192 4-bit, 4,096 8-bit or 2,048 16-bit dims).  It keeps every
# allowed D runnable in the harness (the 8086 query region is the 4 KiB at
# 0x3000:0000 below OUT_IDX) and is far inside what the code itself handles:
# a row must fit one segment after normalisation (offset < 16) under the
# "SI + stride <= 0xFFFF" walk rule, i.e. at most 65,504 bytes.
MAX_ROW_BYTES = 4096

# Unrolled group of row bytes: the body addresses the query with displacements
# 0..GROUP_BYTES-1 from DI.  64 bytes keeps every 16-bit group accumulator far
# from 2^16 (8-bit l1: 64·128 = 8,192; 4-bit l2: 64·128; 1-bit: 512) and the
# 8-bit l1 negative count N < 256, and the 24-bit ones (8-bit l2: 64·16,384,
# 16-bit l1: 32·32,768) below 2^24.  Rows longer than one group loop over
# groups and add each group's sum into a 32-bit total.
GROUP_BYTES = 64

# Stack frame (offsets from BP).  The arguments lie above the saved BP where
# the ABI puts them (see ``_arguments``: [bp+4] q, [bp+8] db or row, [bp+12] n,
# then k / radius / out, ...).  Saved: [bp-2] SI, [bp-4] DI, [bp-6] DS; the locals:
TLO, THI = -8, -10          # 32-bit row total when a row spans several groups
QEND = -12                  # query offset where the full groups end
QOFF = -14                  # query offset (DI at entry)
REM_LO, REM_HI = -16, -18   # rows not yet started in a chunk
BASE_LO, BASE_HI = -20, -22 # row index of the current chunk's first row
CHUNK = -24                 # rows in the current chunk (<= 255)
INNER = -26                 # rows left in the chunk (memory counter variant)
W16 = -28                   # k-th distance / radius clamped to 0xFFFF (16-bit fast path)
WLO, WHI = -30, -32         # k-th distance (32-bit)
KEFF = -34                  # min(k, k_max)
LAST = -36                  # SS offset of list entry k-1
OUT_OFF, OUT_SEG = -40, -38 # scan output far pointer (LES order: offset, segment)
CNT = -42                   # search result count
LIST = -44                  # list entry j at LIST - 8*(k_max-1) + 8*j (see _list_base)
COUNT_LO, COUNT_HI = CNT, KEFF  # range: the 32-bit hit count (search's count and k_eff slots)


KERNELS = ("distance", "scan", "search", "range")
DIALECTS = ("gnu", "nasm")
ROW_LIMIT = "a row must fit the 8086 kernels' row limit"
STYLE = Style(comment="//", column=34, gap=" ", label_pad=28, directive_indent="    ")


# The callee-saved registers the kernels use besides BP (the frame pointer);
# SS is never written.  [bp-2], [bp-4], [bp-6] hold them, so locals start at [bp-8].
SAVED = CDECL16_COMPACT.must_save(("si", "di", "ds"))
assert SAVED == ("si", "di", "ds") and TLO == -2 * len(SAVED) - 2

def _arguments(kernel: str) -> dict[str, int]:
    """BP offset of each argument of ``kernel``: its ABI stack offset at entry, past the pushed BP."""
    kind = KINDS[kernel]  # the C arguments in order, with their ABI kinds
    at_entry = CDECL16_COMPACT.arguments(kind.arg_kinds)
    return {arg.name: CDECL16_COMPACT.slot_bytes + where.offset for arg, where in zip(kind.args, at_entry)}


def variants(target: Target, spec: KernelSpec) -> list[str]:
    """Fastest first (measured under sim/cycles/i8086.py, see docs in the module)."""
    return list(VARIANTS)


# isa.generate's entry points, refusing a target of another family; max_dims is the
# documented maximum D: distances fit uint32 and a row fits MAX_ROW_BYTES.
generate, max_dims = core.family_entry_points(__name__)


def layout(target: Target, spec: KernelSpec, variant: str) -> RowLayout:
    # LODSW variants want even strides so every row (and word) starts at an
    # even address: the 8086 pays 4 clocks per odd-address word transfer.
    align = 2 if variant == "word" or spec.bits == 16 else 1
    return RowLayout(spec.dims, spec.bits, align)


# --- text builder ----------------------------------------------------------------


class _Asm(Asm):
    def jfar(self, cond: str, label: str, uid: str, comment: str = "") -> None:
        """Conditional jump of any distance: 8086 Jcc reach only ±127 bytes."""
        inverse = {"z": "nz", "nz": "z", "b": "ae", "ae": "b", "a": "be", "be": "a"}[cond]
        why = f"j{cond} {label}, written as an inverted Jcc over a JMP (Jcc reach: ±127 bytes)"
        self(f"j{inverse} {uid}", f"{comment}: {why}" if comment else why)
        self(f"jmp {label}")
        self.label(uid)


class _Quiet(_Asm):
    """Writes into another builder without per-instruction comments."""

    def __init__(self, into: _Asm) -> None:
        super().__init__(into.style, into.lines)

    def __call__(self, insn: str, comment: str = "") -> None:
        super().__call__(insn)


def _w(off: int) -> str:
    return f"word ptr [bp{off:+d}]"


# --- row bodies ----------------------------------------------------------------------
#
# A body computes the distance of the row at DS:SI to the query at ES:DI
# (DI preserved, SI advanced by exactly one stride) into DX:AX, or into AX
# alone when ``hi_zero`` (then DX is not set).  It may use AX BX DX and CH;
# CL is the row counter unless ``loop`` (the baseline's LOOP counts in CX).


@dataclass(frozen=True)
class _Body:
    name: str
    unit: int                     # bytes per unrolled step
    per_unit: Callable            # (a, disp) -> None
    init: Callable                # (a) -> None
    finish: Callable              # (a) -> None: group sum into DX:AX (or AX)
    hi_zero: bool                 # the group sum is AX alone (< 2^16)
    uses_total: bool = False      # accumulates straight into [bp+TLO]/[bp+THI]
    regs: str = ""                # the registers it uses, for the header's plan
    loop: bool = False            # baseline: one LOOP over the row, no unrolling
    tables: tuple[str, ...] = ()  # lookup tables it reads through CS: (see _tables)


def _q(disp: int, size: str = "byte") -> str:
    return f"{size} ptr es:[di+{disp}]" if disp else f"{size} ptr es:[di]"


# fast: 8-bit l1 -------------------------------------------------------------------

def _word8_l1(q, les: int) -> _Body:

    def init(a):
        a("xor bx, bx", "BX = group sum of AX values (t - 257 per negative)")
        a("xor ch, ch", "CH = -(number of negative differences), mod 256")

    def unit(a, o):
        a("lodsw", "AX = r1:r0 (row word, DS:SI, SI += 2)")
        if les and o % 4 == 0 and o + 4 <= les:
            a(f"les dx, {q(o, 'dword')}", "DX = q1:q0 and ES = q3:q2: four query bytes, one load")
        elif les and o % 4 == 2:
            a("mov dx, es", "DX = q3:q2 (loaded by the LES above)")
        else:
            a(f"mov dx, {q(o, 'word')}", "DX = q1:q0")
        a("sub al, dl", "AL = r0 - q0 mod 256 (t is symmetric)")
        a("sub dh, ah", "DH = q1 - r1 mod 256")
        a("cbw", "AH = sign of int8(AL)")
        a("xor al, ah", "AX = |x| (x >= 0) or |x|-1-256 (x < 0), -128 gives 127-256")
        a("add bx, ax", "sum without the +257 per negative ...")
        a("add ch, ah", "... which is counted here (AH = FF adds -1)")
        a("mov al, dh")
        a("cbw")
        a("xor al, ah")
        a("add bx, ax")
        a("add ch, ah")

    def finish(a):
        a("mov al, ch")
        a("neg al", "N = number of negative differences (< 256 in a group)")
        a("mov ah, al", "AX = N:N = 257*N, the missing correction")
        a("add ax, bx", "AX = group sum of t (<= 64*128 = 8192)")

    return _Body("word 8-bit l1", unit=2, per_unit=unit, init=init, finish=finish, hi_zero=True,
                 regs="AX row word / difference, DX query word, BX sum, CH sign count")


# fast: 8-bit l2 -------------------------------------------------------------------

def _word8_l2(q) -> _Body:

    def init(a):
        a("xor dx, dx", "CH:DX = 24-bit group sum (<= 64*16384)")
        a("xor ch, ch")

    def unit(a, o):
        a("lodsw", "AX = r1:r0")
        a(f"sub al, {q(o)}", "AL = r0 - q0 mod 256")
        a(f"sub ah, {q(o + 1)}", "AH = r1 - q1 mod 256")
        for half in ("al", "ah"):
            a(f"mov bl, {half}")
            a("xor bh, bh")
            a("shl bx, 1", "word index into the squares table")
            a("add dx, word ptr cs:[bx+.Lsq8]", "t(d)^2 from the table (no MUL)")
            a("adc ch, 0")

    def finish(a):
        a("mov ax, dx")
        a("mov dl, ch")
        a("xor dh, dh", "DX:AX = group sum")

    return _Body("word 8-bit l2", unit=2, per_unit=unit, init=init, finish=finish, hi_zero=False,
                 regs="AX row word / differences, BX table index, CH:DX sum", tables=("sq8",))


# fast: 16-bit ----------------------------------------------------------------------

def _abs16_cwd(a):
    a("cwd", "DX = sign of int16(AX)")
    a("xor ax, dx")
    a("sub ax, dx", "AX = |int16| as unsigned (-32768 gives 32768)")


def _total_init(a):
    a(f"mov {_w(TLO)}, 0", "32-bit sum in the frame (D <= 3: t^2 < 2^30)")
    a(f"mov {_w(THI)}, 0")


def _total_finish(a):
    a(f"mov ax, {_w(TLO)}")
    a(f"mov dx, {_w(THI)}")


def _add_square_to_total(a):
    a("mul ax", "DX:AX = t^2 (MUL r16)")
    a(f"add {_w(TLO)}, ax")
    a(f"adc {_w(THI)}, dx")


def _word16(metric: str, q) -> _Body:

    def init(a):
        a("xor bx, bx", "CH:BX = 24-bit group sum (<= 32*32768)")
        a("xor ch, ch")

    def unit(a, o):
        a("lodsw", "AX = row code")
        a(f"sub ax, {q(o, 'word')}", "AX = r - q mod 2^16")
        _abs16_cwd(a)
        if metric == "l2":
            _add_square_to_total(a)
            return
        a("add bx, ax")
        a("adc ch, 0")

    def finish(a):
        a("mov ax, bx")
        a("mov dl, ch")
        a("xor dh, dh")

    if metric == "l2":
        return _Body("word 16-bit l2", unit=2, per_unit=unit, init=_total_init, finish=_total_finish,
                     hi_zero=False, uses_total=True, regs="AX difference / square, DX sign / square high")
    return _Body("word 16-bit l1", unit=2, per_unit=unit, init=init, finish=finish, hi_zero=False,
                 regs="AX difference, DX sign, CH:BX sum")


# fast: 4-bit and 1-bit: sums of CS: XLAT table bytes -------------------------------

def _xlat_add(a, comment: str) -> None:
    a("cs xlatb", comment)
    a("add dl, al")
    a("adc dh, 0")


def _xlat_body(name: str, table: str, what: str, bound: str, unit, regs: str) -> _Body:
    """A word body summing bytes of one 256-byte table (BX = its offset, read with CS: XLAT) into DX."""

    def init(a):
        a(f"mov bx, offset .L{table}", f"XLAT table: {what}")
        a("xor dx, dx", f"DX = group sum (<= {bound})")

    def finish(a):
        a("mov ax, dx")

    return _Body(name, unit=2, per_unit=unit, init=init, finish=finish, hi_zero=True, regs=regs, tables=(table,))


def _word4(metric: str, q) -> _Body:

    def byte(a, o):
        a(f"sub al, {q(o)}", "per-nibble r - q; AF = borrow out of the low nibble")
        a("lahf", "AH bit 4 = AF")
        a("and ah, 0x10")
        a("add al, ah", "give the high nibble back its borrow: both nibbles exact mod 16")
        _xlat_add(a, "AL = table[AL] (table in the code segment)")

    def unit(a, o):
        a("lodsw", "AX = two row bytes = four dims")
        a("mov ch, ah", "keep r1 (LAHF overwrites AH)")
        byte(a, o)
        a("mov al, ch")
        byte(a, o + 1)

    return _xlat_body(f"word 4-bit {metric}", f"nib4{metric}",
                      "byte of two nibble differences -> t0+t1 / t0^2+t1^2", "64*128", unit,
                      "AX row bytes, BX table, CH saved byte, DX sum")


def _word1(q) -> _Body:

    def unit(a, o):
        a("lodsw", "AX = 16 row bits")
        a(f"xor ax, {q(o, 'word')}", "differing bits")
        _xlat_add(a, "AL = popcount(low byte)")
        a("mov al, ah")
        _xlat_add(a, "AL = popcount(high byte)")

    return _xlat_body("word 1-bit", "pop8", "popcount of a byte", "64*8", unit, "AX row bits, BX table, DX sum")


# simple / baseline per-dim code --------------------------------------------------------
#
# ``q`` is the query operand of the current byte/word; ``step`` advances the
# query pointer (baseline only).  Accumulator: DX:BX, 32-bit, ADD/ADC per dim.

def _acc_byte_t(a, metric):
    if metric == "l1":
        a("xor ah, ah", "AX = t")
    else:
        a("mul al", "AX = t^2 (MUL r8)")
    a("add bx, ax")
    a("adc dx, 0", "DX:BX += AX")


def _abs8(a):
    a("cbw", "AH = sign of int8(AL)")
    a("xor al, ah")
    a("sub al, ah", "AL = |int8| as unsigned (-128 gives 128)")


def _plain(bits: int, metric: str, loop: bool) -> _Body:
    name = f"{'baseline' if loop else 'simple'} {bits}-bit {metric}"

    def q(o, size="byte"):
        return _q(0 if loop else o, size)

    def step(a, n):
        if loop:
            for _ in range(n):
                a("inc di", "next query byte")

    def init(a):
        a("xor bx, bx", "DX:BX = 32-bit sum")
        a("xor dx, dx")

    def finish(a):
        a("mov ax, bx")

    def unit8(a, o):
        a("lodsb", "AL = row code")
        a(f"sub al, {q(o)}", "AL = r - q mod 256")
        step(a, 1)
        _abs8(a)
        _acc_byte_t(a, metric)

    def unit16(a, o):
        a("lodsw", "AX = row code")
        a(f"sub ax, {q(o, 'word')}", "AX = r - q mod 2^16")
        a("jns 1f", "|int16|: negate when negative")
        a("neg ax", "-32768 stays 0x8000 = 32768 unsigned")
        a("1:")
        step(a, 2)
        if metric == "l1":
            a("add bx, ax")
            a("adc dx, 0")
        else:
            _add_square_to_total(a)

    def unit4(a, o):
        a("lodsb", "AL = two row dims (low nibble: even dim)")
        if not loop:
            a("mov ch, al", "keep the row byte")
        a(f"mov ah, {q(o)}", "AH = two query dims")
        a("sub al, ah", "low nibble = (r - q) mod 16 for the even dim")
        a("and al, 0x0f")
        a("xor al, 8")
        a("sub al, 8", "sign-extend the 4-bit difference: int8 in [-8, 7]")
        _abs8(a)
        _acc_byte_t(a, metric)
        if loop:
            a("mov al, byte ptr [si-1]", "the row byte again (CX is the loop counter)")
        else:
            a("mov al, ch")
        a(f"mov ah, {q(o)}")
        step(a, 1)
        a("and ax, 0xf0f0", "the odd dims, still in the high nibbles")
        a("sub al, ah", "AL = (r - q) << 4 mod 256: no borrow from below")
        _abs8(a)
        for _ in range(4):
            a("shr al, 1", "t << 4 -> t (8086: shifts by 1 or CL only)")
        _acc_byte_t(a, metric)

    def unit1(a, o):
        a("lodsb", "AL = 8 row bits")
        a(f"xor al, {q(o)}", "differing bits")
        step(a, 1)
        for i in range(8):
            a("shr al, 1", "next bit into CF" if i == 0 else "")
            a("adc bx, 0", "count it" if i == 0 else "")
            a("adc dx, 0")

    per_unit, regs = {
        8: (unit8, "AX code / t, DX:BX sum"),
        16: (unit16, "AX code / t, DX:BX sum" if metric == "l1" else "AX code / t, DX:AX square, sum in frame"),
        4: (unit4, "AX codes / t, DX:BX sum" + ("" if loop else ", CH row byte")),
        1: (unit1, "AL differing bits, DX:BX sum"),
    }[bits]
    in_frame = bits == 16 and metric == "l2"  # t^2 < 2^30 overflows DX:BX's ADC: the sum lives in the frame
    return _Body(name, unit=2 if bits == 16 else 1, per_unit=per_unit, init=_total_init if in_frame else init,
                 finish=_total_finish if in_frame else finish, hi_zero=False, uses_total=in_frame, loop=loop,
                 regs=regs)


def _body(spec: KernelSpec, variant: str, q, les: int) -> _Body:
    if variant == "word":
        if spec.bits == 8:
            return _word8_l1(q, les) if spec.metric == "l1" else _word8_l2(q)
        if spec.bits == 16:
            return _word16(spec.metric, q)
        if spec.bits == 4:
            return _word4(spec.metric, q)
        return _word1(q)
    return _plain(spec.bits, spec.metric, loop=variant == "baseline")


# --- tables (in .rodata, read through CS:) ------------------------------------------


def _tables(a: _Asm, names) -> None:
    """The lookup tables the word bodies name, each computed from torus_hw.reference's per-dim distance."""
    x = np.arange(256)
    for name in names:
        if name == "sq8":
            vals, directive, what = dim_distance(x, 0, bits=8) ** 2, ".word", "t(d)^2, d = byte difference"
        elif name.startswith("nib4"):
            power = 2 if name.endswith("l2") else 1
            vals = dim_distance(x & 15, 0, bits=4) ** power + dim_distance(x >> 4, 0, bits=4) ** power
            directive, what = ".byte", f"{'t0^2+t1^2' if power == 2 else 't0+t1'} of the two nibble differences in x"
        else:
            vals, directive, what = [bin(v).count("1") for v in x], ".byte", "popcount(x)"
        a.blank()
        a.directive(".balign 2")
        a.label(f".L{name}", what)
        for i in range(0, 256, 16):
            a.directive(f"{directive} " + ", ".join(str(v) for v in vals[i:i + 16]))


# --- kernels ---------------------------------------------------------------------------


class _Gen:
    """One kernel file.  Its row code follows :class:`isa.generate.RowBody`: :meth:`query_setup`
    (once per call), :meth:`row` (one row's distance into DX:AX), :meth:`plan` and :meth:`why`;
    the kernels around it share the frame, the row walk, the row-index recovery and the output walk."""

    def __init__(self, target: Target, spec: KernelSpec, variant: str):
        self.target = target
        self.spec = spec
        self.variant = variant
        self.args = _arguments(spec.kernel)
        self.layout = layout(target, spec, variant)
        self.stride = self.layout.stride
        # Scan/search with a one-group row: copy the query (<= GROUP_BYTES) into
        # the frame, read it as SS:[BP+disp] (no segment override), and so free
        # ES (a scratch segment register for LES) and DI (the search threshold).
        self.copy = (variant == "word" and spec.kernel != "distance" and self.stride <= GROUP_BYTES)
        self.qc = self.list_base() - self.stride if self.copy else 0
        if self.copy:
            def q(o: int, size: str = "byte") -> str:
                return f"{size} ptr [bp{self.qc + o:+d}]"
            les = self.stride if (spec.bits, spec.metric) == (8, "l1") else 0
            self.body = _body(spec, variant, q, les)
        else:
            self.body = _body(spec, variant, _q, 0)
        self.counter = "mem" if self.body.loop else "cl"
        b = self.body
        if b.loop:
            self.groups, self.tail, self.group = 0, 0, 0
        else:
            self.group = min(GROUP_BYTES, self.stride) // b.unit * b.unit
            self.groups, self.tail = divmod(self.stride, self.group)
        if b.uses_total and (self.groups > 1 or self.tail):
            raise TorusInputError(f"internal: {b.name} needs a single group")  # D <= 3 by the u32 bound
        self._uid = 0

    def uid(self, stem: str) -> str:
        self._uid += 1
        return f".L{stem}{self._uid}"

    @property
    def multi(self) -> bool:
        return self.groups > 1 or self.tail > 0

    @property
    def hi_zero(self) -> bool:
        return self.body.hi_zero and not self.multi

    @property
    def threshold_in_di(self) -> bool:
        """Search and range keep their 16-bit threshold in DI when the query is in the frame and distances fit 16 bits."""
        return self.spec.kernel in ("search", "range") and self.copy and self.hi_zero

    def threshold_test(self, jump: str, lo: str, hi: str, what: str, action: str):
        """The per-row test of search and range: to the out-of-line path when DX:AX ``jump``s the threshold hi:lo
        (jb: strictly below, jbe: at most).

        A distance below 2^16 is compared in AX alone with the threshold clamped
        to 16 bits: DI when it holds it (a register operand, no EA clocks), else
        [bp+W16].
        """
        def test(a: _Asm) -> None:
            if self.hi_zero:
                a(f"cmp ax, {'di' if self.threshold_in_di else _w(W16)}",
                  f"distance < 2^16: compare with the clamped {what}")
            else:
                a(f"cmp dx, {hi}")
                a("jb .Ltrampoline")
                a("ja .Lnext")
                a(f"cmp ax, {lo}")
            a(f"{jump} .Ltrampoline", action)
        return test

    # -- the row body: DS:SI row, ES:DI query -> DX:AX (or AX if hi_zero) --------

    def row(self, a: _Asm) -> None:
        b = self.body
        if b.loop:
            b.init(a)
            count = self.stride // b.unit
            lp = self.uid("dim")
            a(f"mov cx, {count}", f"{count} steps of {b.unit} byte(s)")
            a.label(lp, "one dim (one byte / word) per iteration")
            b.per_unit(a, 0)
            a(f"loop {lp}")
            b.finish(a)
            a(f"mov di, {_w(QOFF)}", "rewind the query pointer")
            return
        if not self.multi:
            b.init(a)
            self._units(a, self.stride)
            b.finish(a)
            return
        a(f"mov {_w(TLO)}, 0", "32-bit row total over groups")
        a(f"mov {_w(THI)}, 0")
        if self.groups:
            g = self.uid("grp")
            a.label(g, f"one group of {self.group} bytes, unrolled")
            self._group(a, self.group)
            a(f"add di, {self.group}", "next query group")
            a(f"cmp di, {_w(QEND)}")
            a.jfar("b", g, self.uid("grpx"))
        if self.tail:
            a.note(f"tail: the last {self.tail} bytes")
            self._group(a, self.tail)
        a(f"mov di, {_w(QOFF)}", "rewind the query pointer")
        a(f"mov ax, {_w(TLO)}")
        a(f"mov dx, {_w(THI)}", "DX:AX = row distance")

    def _units(self, a: _Asm, nbytes: int) -> None:
        """The unrolled steps; the first two carry the comments (the rest repeat them)."""
        quiet = _Quiet(a)
        for i, o in enumerate(range(0, nbytes, self.body.unit)):
            self.body.per_unit(a if i < 2 else quiet, o)

    def _group(self, a: _Asm, nbytes: int) -> None:
        b = self.body
        b.init(a)
        self._units(a, nbytes)
        b.finish(a)
        a(f"add {_w(TLO)}, ax", "group sum into the 32-bit total")
        a(f"adc {_w(THI)}, {0 if b.hi_zero else 'dx'}")

    # -- frame ------------------------------------------------------------------------

    def arg(self, name: str, half: int = 0) -> str:
        """Word ``half`` of argument ``name``: 0 the low word (a pointer's offset), 1 the high (its segment)."""
        return _w(self.args[name] + 2 * half)

    def far(self, name: str) -> str:
        """Pointer argument ``name`` as the operand of LDS / LES."""
        return f"dword ptr [bp+{self.args[name]}]"

    def frame_bytes(self) -> int:
        return -(self.qc if self.copy else LIST - 8 * self.spec.k_max) - 2 * len(SAVED)

    def list_base(self) -> int:
        """BP offset of list entry 0 (entries ascend by 8)."""
        return LIST - 8 * self.spec.k_max + 2

    def prologue(self, a: _Asm) -> None:
        a("push bp")
        a("mov bp, sp", f"frame: arguments at [bp+{self.args['q']}], locals below")
        for i, reg in enumerate(SAVED):
            a(f"push {reg}", f"callee-saved: {' '.join(r.upper() for r in ('bp', *SAVED))}" if i == 0 else None)
        a(f"sub sp, {self.frame_bytes()}", "locals (see the frame map above)")
        a.note("DF is clear on entry (ABI): LODS steps forward.")

    def epilogue(self, a: _Asm) -> None:
        a.label(".Lreturn")
        a(f"lea sp, [bp-{2 * len(SAVED)}]")
        for reg in reversed(SAVED):
            a(f"pop {reg}")
        a("pop bp")
        a(".byte 0xc3", "RET near (this clang encodes 'ret' in .code16 as 66 C3, a 386 form)")

    def query_setup(self, a: _Asm) -> None:
        a(f"les di, {self.far('q')}", "ES:DI = query (far)")
        a(f"mov {_w(QOFF)}, di")
        if self.copy:
            a.note(f"copy the {self.stride}-byte query into the frame at [bp{self.qc:+d}] (SS, even address)")
            for o in range(0, self.stride, 2):
                a(f"mov ax, word ptr es:[di+{o}]")
                a(f"mov word ptr [bp{self.qc + o:+d}], ax")
        if self.multi and self.groups:
            a("mov ax, di")
            a(f"add ax, {self.groups * self.group}")
            a(f"mov {_w(QEND)}, ax", "query offset after the full groups")

    # -- the three kernels -------------------------------------------------------------

    def distance(self, a: _Asm) -> None:
        self.query_setup(a)
        a(f"lds si, {self.far('row')}", "DS:SI = row (far, normalised: the row fits the segment)")
        self.row(a)
        if self.hi_zero:
            a("xor dx, dx", "distance < 2^16")
        a("jmp .Lreturn")

    def rows(self, a: _Asm, per_row) -> None:
        """The row walk shared by scan, search and range: chunks of <= 255 rows, ``per_row`` after each row's body."""
        a(f"lds si, {self.far('db')}", "DS:SI = database (far)")
        a(f"mov ax, {self.arg('n')}")
        a(f"mov {_w(REM_LO)}, ax", "rows left = n (32-bit)")
        a(f"mov ax, {self.arg('n', 1)}")
        a(f"mov {_w(REM_HI)}, ax")
        a(f"mov {_w(BASE_LO)}, 0", "row index of the chunk's first row")
        a(f"mov {_w(BASE_HI)}, 0")
        cap = min(255, 0xFFF0 // self.stride)
        a.label(".Lchunk", f"next chunk of min({cap}, rows left) rows")
        a.note("fold SI into DS (SI >> 4 paragraphs, SI &= 15): the chunk's rows then lie in")
        a.note(f"offsets < 16 + {cap} * {self.stride} <= 0xFFFF, so no row needs a per-row check")
        a("mov ax, si")
        for _ in range(4):
            a("shr ax, 1", "8086: shifts by 1 or CL only")
        a("mov dx, ds")
        a("add dx, ax")
        a("mov ds, dx")
        a("and si, 15")
        a(f"mov cx, {cap}")
        a(f"cmp {_w(REM_HI)}, 0")
        a("jne .Lchunk_big")
        a(f"cmp {_w(REM_LO)}, cx")
        a("jae .Lchunk_big")
        a(f"mov cx, {_w(REM_LO)}")
        a.label(".Lchunk_big")
        a("or cx, cx")
        a.jfar("z", ".Ldone", self.uid("more"), "no rows left")
        a(f"sub {_w(REM_LO)}, cx")
        a(f"sbb {_w(REM_HI)}, 0")
        a(f"mov {_w(CHUNK)}, cx")
        if self.counter == "mem":
            a(f"mov {_w(INNER)}, cx", "row counter in the frame (the body uses CX)")
        else:
            a.note("CL = rows left in this chunk (the body never touches CL)")
        a.label(".Lrow", "---- one row per iteration ----")
        self.row(a)
        per_row(a)
        a.label(".Lnext")
        if self.counter == "mem":
            a(f"dec {_w(INNER)}")
        else:
            a("dec cl")
        a("jz .Lchunk_end")
        a("jmp .Lrow")
        if self.spec.kernel in ("search", "range"):
            a.label(".Ltrampoline", "Jcc reach is ±127 bytes")
            a("jmp .Linsert")
        a.label(".Lchunk_end")
        a(f"mov ax, {_w(CHUNK)}")
        a(f"add {_w(BASE_LO)}, ax")
        a(f"adc {_w(BASE_HI)}, 0")
        a("jmp .Lchunk")

    def row_index(self, a: _Asm, lo: str, hi: str, tmp: str) -> None:
        """hi:lo = index of the current row: chunk base + rows in the chunk - rows left (CL or the frame)."""
        a(f"mov {lo}, {_w(CHUNK)}", "row index = base + chunk - rows left")
        if self.counter == "mem":
            a(f"sub {lo}, {_w(INNER)}")
        else:
            a(f"mov {tmp}, cx")
            a(f"and {tmp}, 0xff")
            a(f"sub {lo}, {tmp}")
        a(f"xor {hi}, {hi}")
        a(f"add {lo}, {_w(BASE_LO)}")
        a(f"adc {hi}, {_w(BASE_HI)}", f"{hi.upper()}:{lo.upper()} = row index")

    def output_store(self, a: _Asm, at: int, what: str) -> None:
        """Write DX:AX (uint32) through the far pointer at [bp+at] and advance it, folding it into the
        segment every 32 KiB.  The usual case (no fold) jumps to .Lnext; a fold falls through."""
        a("push es", "ES is the query segment; borrow it for the output")
        a(f"les bx, dword ptr [bp{at:+d}]")
        a("mov word ptr es:[bx], ax", f"{what} (uint32)")
        a("mov word ptr es:[bx+2], dx")
        a("pop es")
        a(f"add {_w(at)}, 4")
        a(f"cmp {_w(at)}, 0x8000", "keep the output offset below 32 KiB")
        a("jb .Lnext")
        a(f"sub {_w(at)}, 0x8000")
        a(f"add {_w(at + 2)}, 0x800")

    def scan(self, a: _Asm) -> None:
        self.query_setup(a)
        a(f"mov ax, {self.arg('out')}")
        a(f"mov {_w(OUT_OFF)}, ax", "out (far), advanced per row")
        a(f"mov ax, {self.arg('out', 1)}")
        a(f"mov {_w(OUT_SEG)}, ax")

        def store(a: _Asm) -> None:
            if self.hi_zero:
                a("xor dx, dx")
            self.output_store(a, OUT_OFF, "out[i] = distance")

        self.rows(a, store)
        a.label(".Ldone")
        a("jmp .Lreturn")

    def search(self, a: _Asm) -> None:
        k_max = self.spec.k_max
        base = self.list_base()
        self.query_setup(a)
        a.note("k_eff = min(k, k_max); k = 0 returns 0")
        a(f"mov ax, {self.arg('k')}")
        a(f"cmp {self.arg('k', 1)}, 0")
        a("jne .Lk_clamp")
        a(f"cmp ax, {k_max}")
        a("jbe .Lk_ok")
        a.label(".Lk_clamp")
        a(f"mov ax, {k_max}")
        a.label(".Lk_ok")
        a(f"mov {_w(KEFF)}, ax")
        a("or ax, ax")
        a("jnz .Lk_nonzero")
        a("xor dx, dx")
        a("jmp .Lreturn")
        a.label(".Lk_nonzero")
        a.note("fill the k_eff list entries with distance = row = 0xFFFFFFFF (above any distance)")
        a(f"lea bx, [bp{base:+d}]", "SS:BX = entry 0 (dist lo, dist hi, row lo, row hi)")
        a("mov cx, ax")
        a.label(".Lfill")
        for i in range(4):
            a(f"mov word ptr ss:[bx+{2 * i}], 0xffff")
        a("add bx, 8")
        a("loop .Lfill")
        a("sub bx, 8")
        a(f"mov {_w(LAST)}, bx", "SS offset of entry k_eff-1: the current k-th")
        a(f"mov {_w(W16)}, 0xffff")
        a(f"mov {_w(WLO)}, 0xffff")
        a(f"mov {_w(WHI)}, 0xffff")
        if self.threshold_in_di:
            a("mov di, 0xffff", "DI = k-th distance clamped to 16 bits (the query is in the frame)")
        self.rows(a, self.threshold_test("jb", _w(WLO), _w(WHI), "k-th",
                                         "strictly below: insert (ties keep the lower row)"))
        a.label(".Linsert", "DX:AX = distance of the current row, below the k-th")
        if self.hi_zero:
            a("xor dx, dx")
        a("push cx")
        a("push si")
        a("push di")
        self.row_index(a, "si", "di", "di")
        a(f"mov bx, {_w(LAST)}", "start at the k-th entry, which is dropped")
        a.label(".Lins_loop")
        a(f"lea cx, [bp{base:+d}]")
        a("cmp bx, cx")
        a("je .Lins_put", "reached entry 0")
        a("cmp dx, word ptr ss:[bx-6]", "previous entry's distance vs the new one")
        a("jb .Lins_shift")
        a("ja .Lins_put")
        a("cmp ax, word ptr ss:[bx-8]")
        a("jae .Lins_put", "previous <= new: the new row goes after it")
        a.label(".Lins_shift", "previous > new: move it down one place")
        for i in range(4):
            a(f"mov cx, word ptr ss:[bx-{8 - 2 * i}]")
            a(f"mov word ptr ss:[bx+{2 * i}], cx")
        a("sub bx, 8")
        a("jmp .Lins_loop")
        a.label(".Lins_put")
        a("mov word ptr ss:[bx], ax")
        a("mov word ptr ss:[bx+2], dx")
        a("mov word ptr ss:[bx+4], si")
        a("mov word ptr ss:[bx+6], di")
        a(f"mov bx, {_w(LAST)}", "refresh the cached k-th distance")
        a("mov ax, word ptr ss:[bx]")
        a("mov dx, word ptr ss:[bx+2]")
        a(f"mov {_w(WLO)}, ax")
        a(f"mov {_w(WHI)}, dx")
        a("or dx, dx")
        a("jz .Lins_w16")
        a("mov ax, 0xffff", "k-th >= 2^16: every 16-bit distance is below it")
        a.label(".Lins_w16")
        a(f"mov {_w(W16)}, ax")
        a("pop di")
        a("pop si")
        a("pop cx")
        if self.threshold_in_di:
            a(f"mov di, {_w(W16)}", "the new threshold register")
        a("jmp .Lnext")
        a.label(".Ldone", "write min(k_eff, n) entries to out_idx / out_dist")
        a(f"mov cx, {_w(KEFF)}")
        a(f"cmp {self.arg('n', 1)}, 0")
        a("jne .Lcount")
        a(f"cmp {self.arg('n')}, cx")
        a("jae .Lcount")
        a(f"mov cx, {self.arg('n')}", "n < k_eff")
        a.label(".Lcount")
        a(f"mov {_w(CNT)}, cx")
        a("jcxz .Lout_done")
        a("push ss")
        a("pop ds", "DS = SS: the list is the string source")
        for name, field in (("idx", 4), ("dist", 0)):
            a(f"mov cx, {_w(CNT)}")
            a(f"les di, {self.far('out_' + name)}", f"ES:DI = out_{name} (far)")
            a(f"lea si, [bp{base + field:+d}]")
            lbl = f".Lout_{name}"
            a.label(lbl)
            a("lodsw")
            a("stosw")
            a("lodsw")
            a("stosw", f"out_{name}[i] (uint32)")
            a("add si, 4", "next list entry")
            a(f"loop {lbl}")
        a.label(".Lout_done")
        a(f"mov ax, {_w(CNT)}", "return min(k, n)")
        a("xor dx, dx")
        a("jmp .Lreturn")

    def range(self, a: _Asm) -> None:
        self.query_setup(a)
        a(f"mov {_w(COUNT_LO)}, 0", "count = 0 (32-bit)")
        a(f"mov {_w(COUNT_HI)}, 0")
        a.note("out_idx's own argument slot is the output pointer, advanced per index written")
        a.note("(cdecl: the arguments belong to the callee)")
        a(f"mov ax, {self.arg('radius')}", "radius clamped to 16 bits, for distances < 2^16")
        a(f"cmp {self.arg('radius', 1)}, 0")
        a("je .Lr_w16")
        a("mov ax, 0xffff")
        a.label(".Lr_w16")
        if self.threshold_in_di:
            a("mov di, ax", "DI = the clamped radius (the query is in the frame)")
        else:
            a(f"mov {_w(W16)}, ax")
        self.rows(a, self.threshold_test("jbe", self.arg("radius"), self.arg("radius", 1), "radius",
                                         "within the radius: count it (out of line)"))
        a.label(".Linsert", "a row within the radius: count it, and write its index while count <= cap")
        a(f"add {_w(COUNT_LO)}, 1", "count += 1 (32-bit)")
        a(f"adc {_w(COUNT_HI)}, 0")
        a(f"mov ax, {self.arg('cap')}")
        a(f"mov dx, {self.arg('cap', 1)}")
        a(f"sub ax, {_w(COUNT_LO)}")
        a(f"sbb dx, {_w(COUNT_HI)}", "cap - count borrows when count > cap ...")
        a("jb .Lnext", "... out_idx is full: only counted")
        self.row_index(a, "ax", "dx", "bx")
        self.output_store(a, self.args["out_idx"], "out_idx[count - 1] = row index (row order)")
        a("jmp .Lnext")
        a.label(".Ldone")
        a(f"mov ax, {_w(COUNT_LO)}", "return the count of every row within the radius")
        a(f"mov dx, {_w(COUNT_HI)}", "(on into the epilogue)")

    # -- whole file ------------------------------------------------------------------------

    def plan(self) -> list[str]:
        """The register plan for the header, one line per register or group."""
        lines = ["DS:SI  the row (LODS stream)" + ("" if self.spec.kernel == "distance" else
                                                 ", folded into DS once per chunk of rows")]
        if self.copy:
            lines += [f"SS:[bp{self.qc:+d}]  the query, copied into the frame (no segment override); ES scratch",
                      f"DI  {'the threshold clamped to 16 bits' if self.threshold_in_di else 'unused'}"]
        else:
            lines.append("ES:DI  the query")
        lines.append(self.body.regs)
        if self.spec.kernel != "distance":
            lines.append("CL  rows left in the chunk" if self.counter == "cl" else
                         f"rows left in the chunk: [bp{INNER}] (the body's LOOP counts in CX)")
        lines += ["BP  the frame (map below)",
                  "DX:AX  the row distance" + (" (< 2^16: AX alone, 16-bit compares)" if self.hi_zero else "")]
        return lines

    def notes(self) -> list[str]:
        """The row body's shape and the frame map, for the header."""
        b = self.body
        shape = (f"a LOOP of {self.stride // b.unit} steps of {b.unit} byte(s)" if b.loop else
                 f"unrolled groups of {self.group} bytes ({self.groups} full group(s), {self.tail}-byte tail)")
        return [
            f"body: {b.name}, {shape}",
            f"frame: [bp+{self.args['q']}].. arguments; [bp{TLO}] total lo, [bp{THI}] hi, [bp{QEND}] query end, "
            f"[bp{QOFF}] query off,",
            f"       [bp{REM_LO}/{REM_HI}] rows left, [bp{BASE_LO}/{BASE_HI}] chunk base row, [bp{CHUNK}] chunk, "
            f"[bp{INNER}] counter,",
            f"       [bp{W16}] threshold (16-bit clamp), [bp{WLO}/{WHI}] k-th, [bp{KEFF}] k_eff, [bp{LAST}] last entry,",
            f"       [bp{OUT_OFF}/{OUT_SEG}] scan out far, [bp{CNT}] count, then the top-k list (8 bytes an entry)",
        ]

    def why(self) -> str:
        return _WHY[self.variant]

    def text(self, symbol: str, dialect: str) -> str:
        s, b = self.spec, self.body
        a = _Asm(STYLE.with_dialect(dialect))
        a.lines += kernel_header(a.style, target=self.target, spec=s, variant=self.variant, options=VARIANTS,
                                 why=self.why(), prototype=prototype(s.kernel, symbol), layout=self.layout,
                                 plan=self.plan(), notes=self.notes())
        a.blank()
        if dialect == "nasm":
            a.directive("bits 16", "NASM: 16-bit code, 8086 instructions only")
            a.directive("cpu 8086")
        a.begin_function(symbol)
        self.prologue(a)
        getattr(self, s.kernel)(a)
        self.epilogue(a)
        a.end_function(symbol)
        if b.tables:
            a.blank()
            a.directive(".section .rodata", "read through CS: (tiny-code, far-data model)", column=38)
            _tables(a, b.tables)
        return a.text()


_WHY = {
    "word": "the default: fewest i8086-model clocks (LODSW row stream, unrolled groups, table/CBW tricks)",
    "simple": "the straightforward reference: per-dim, unrolled, 32-bit ADD/ADC accumulator",
    "baseline": "the 8086 baseline: the textbook LODSB/SUB/CBW/abs/ADD byte loop (no compiler targets the 8086)",
}


def emit(target: Target, spec: KernelSpec, variant: str, symbol: str, dialect: str):
    gen = _Gen(target, spec, variant)
    return gen.text(symbol, dialect), gen.layout, [f"{gen.body.name}; stride {gen.stride}"]
