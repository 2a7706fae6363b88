"""RISC-V generator (targets ``rv32im`` and ``rv64im``): spec → commented GNU assembly.

This module owns the RV32IM/RV64IM kernels: the row layout they expect, the
documented maximum D (``max_dims``), and three kinds of row code:

``swar`` (the default for 8-bit l1 and for 1-bit codes)
    Rows are read a whole register at a time (XLEN/8 codes per load: 4 on
    rv32, 8 on rv64) and processed as SIMD-within-a-register:

    * 8-bit l1 — per-byte wrap-around subtract with a guard bit above each
      byte's 7-bit difference (no borrow crosses a byte), the torus
      ``|signed byte|`` from the byte's sign mask in the nine-operation step
      of ``isa/c/torus_swar.c`` (proved over every byte pair by
      tests/test_baselines.py), byte pairs summed into 16-bit lanes, and one
      multiply per horizontal sum.  The query (as ``q | H`` and ``q ^ H``)
      is held in registers when it fits (4 words:
      D ≤ 16 on rv32, D ≤ 32 on rv64).
    * 1-bit — XOR, then the SWAR popcount (no Zbb here), nibble counts of
      three words summed before one multiply per group.

``unrolled`` (the default for 4- and 16-bit codes and 8-bit l2)
    One dim at a time with branch-free ``|x|`` (or a multiply for l2), the
    dim loop fully unrolled over the row and every load issued one step ahead
    of its use.

``simple``
    The straightforward reference variant: a loop over dims (over bytes for
    1- and 4-bit codes) with byte/halfword loads.  It is there to be read
    and to measure the fast ones against.

The first variant of :func:`variants` is the one with the fewest cycles
under the target's core model (ibex / u54); ``tests/test_isa_riscv.py``
checks that ordering.

Row loops close on the row pointer (``a1 != END``): no index counter.  Search
keeps the sorted top-k list in the caller's ``out_idx``/``out_dist``; the hot
loop holds only a threshold, and a row enters (out of line) only if its
distance is *strictly* below the current k-th, so ties keep the lower row.
The row index is recovered on insertion by an exact division of the byte
offset (a shift and a multiply by a modular inverse, no divider).

Semantics are exactly :mod:`torus_hw.reference`; every variant is
cross-checked by ``tests/test_isa_riscv.py``.
"""

from __future__ import annotations

import re

from . import generate as core
from .emit import Asm, Style
from .spec import Kernel, KernelSpec, RowLayout, prototype
from .targets import Target

# A documented design limit: rows (and the query) of at most 16 KiB.  It keeps
# every allowed D runnable in the harness (its query region is 64 KiB), every
# distance below 2^31 (so the search threshold can be compared signed) and the
# generated code of bounded size.
MAX_ROW_BYTES = 16 * 1024

VARIANTS = ("swar", "unrolled", "simple")

# Fully unroll a row body up to this many register-words; longer rows loop
# over blocks of BLOCK_WORDS words and unroll the remainder.
UNROLL_WORDS = 32
BLOCK_WORDS = 16
# Query words held in registers by the 8-bit SWAR kernel (2 registers each).
QUERY_REG_WORDS_8 = 4
# ... or, for rows of up to this many words, q ^ H alone (1 register each, one OR per word more).
QUERY_REG_WORDS_8_HALF = 8
# Query words held in registers by the 1-bit SWAR kernel (1 register each).
QUERY_REG_WORDS_1 = 8
# Unrolled per-dim kernel: fully unroll rows of up to this many dims.
UNROLL_DIMS = 256


KERNELS = ("distance", "scan", "search", "range")
DIALECTS = ("gnu",)
ROW_LIMIT = "a row must fit the RISC-V kernels' row limit"
STYLE = Style(comment="#", column=28, label_pad=20)


def variants(target: Target, spec: KernelSpec) -> list[str]:
    """Variants for ``spec``, fastest first (the first is the default)."""
    if spec.bits == 1 or (spec.bits == 8 and spec.metric == "l1"):
        return ["swar", "simple"]
    return ["unrolled", "simple"]


def layout(target: Target, spec: KernelSpec, variant: str) -> RowLayout:
    # SWAR reads whole registers: rows (and the query) start XLEN-aligned and
    # are zero-padded to a whole number of registers (padding adds 0).
    align = target.word_bits // 8 if variant == "swar" else (2 if spec.bits == 16 else 1)
    return RowLayout(spec.dims, spec.bits, align)


def generate(target: Target, spec: KernelSpec, variant: str | None = None, **options) -> Kernel:
    """:func:`isa.generate.generate`, refusing a target of another family."""
    return core.generate(target, spec, variant, module=__name__, **options)


def max_dims(target: Target, spec: KernelSpec) -> int:
    return core.max_dims(target, spec, module=__name__)


def _Asm() -> Asm:
    return Asm(STYLE)


class _Ctx:
    """What a row-distance emitter needs to know about the target and spec."""

    def __init__(self, target: Target, spec: KernelSpec, variant: str):
        self.target = target
        self.spec = spec
        self.variant = variant
        self.xlen = target.word_bits
        self.wb = self.xlen // 8
        self.layout = layout(target, spec, variant)
        self.stride = self.layout.stride
        self.ld = "ld" if self.xlen == 64 else "lw"
        self.lwu = "lwu" if self.xlen == 64 else "lw"     # reload a uint32 zero-extended
        self.labels = 0
        # The row-pointer advance, placed by the row emitter where it hides a
        # multiply latency (search and scan); None for the distance kernel.
        self.filler: tuple[str, str] | None = None

    def label(self, stem: str) -> str:
        self.labels += 1
        return f".L{stem}_{self.labels}"


def _fits12(value: int) -> bool:
    return -2048 <= value <= 2047


# --- register plan (shared by every variant) ------------------------------------
#
#   a0  query pointer              a1  row pointer (advances by the stride)
#   a2  n (rows)                   s0  END = db + n * stride (the loop closes on a1)
#   s1  search: threshold; scan: output pointer
#   a6  K of a row whose result is S with distance = K - S (no current variant; see _Row)
#   s2-s6  SWAR constants          s7-s11, a3-a5  query words held in registers
#   t0-t6, a7  per-row temporaries; insertion uses them too (rows are done then)
#   ra  row stride when it exceeds a 12-bit immediate (saved in the frame)
QPOOL = ["s7", "s8", "s9", "s10", "s11", "a3", "a4", "a5"]
ROWP, QP, NREG, END, THR, KREG, STRIDE_REG = "a1", "a0", "a2", "s0", "s1", "a6", "ra"


class _Row:
    """Emitted code for one row: ``setup`` runs once per call, ``body`` per row.

    After ``body`` the row's result is in ``reg``; when ``kminus`` it is S with
    distance = K - S (K in a6), otherwise it is the distance itself.
    """

    def __init__(self, setup: _Asm, body: _Asm, reg: str, kminus: bool, notes: list[str], plan: list[str]):
        self.setup, self.body, self.reg, self.kminus, self.notes, self.plan = setup, body, reg, kminus, notes, plan


def _li(a: _Asm, reg: str, value: int, comment: str) -> None:
    a(f"li {reg}, {value:#x}", comment)


# --- 8-bit l1 SWAR ----------------------------------------------------------------


def _swar8(ctx: _Ctx) -> _Row:
    xlen, wb, ld = ctx.xlen, ctx.wb, ctx.ld
    nw = ctx.stride // wb
    rep = lambda byte: int.from_bytes(bytes([byte]) * wb, "little")  # noqa: E731
    H, L, M16 = rep(0x80), rep(0x7F), int.from_bytes(b"\xff\x00" * (wb // 2), "little")
    P8, P16 = rep(0x01), int.from_bytes(b"\x01\x00" * (wb // 2), "little")
    in_regs = nw <= QUERY_REG_WORDS_8
    # q ^ H only (q | H = (q ^ H) | H per word), for the first words of a fully unrolled row
    half_regs = not in_regs and nw <= UNROLL_WORDS
    reg_words = min(nw, QUERY_REG_WORDS_8_HALF) if half_regs else 0
    setup, body = _Asm(), _Asm()
    setup.note("8-bit l1 SWAR constants")
    _li(setup, "s2", H, "H: the high bit of every byte")
    _li(setup, "s3", L, "L = ~H: the low 7 bits of every byte")
    _li(setup, "s4", M16, "even bytes, for splitting into 16-bit lanes")
    if nw > 1:   # a one-word row adds m in place (see word()): no byte sum
        _li(setup, "s5", P8, "x * P8 sums all bytes into the top byte")
    _li(setup, "s6", P16, "x * P16 sums all 16-bit lanes into the top lane")
    if in_regs:
        setup.note("query held in registers: for word j, q_j | H and q_j ^ H")
        for j in range(nw):
            xo, x = QPOOL[2 * j], QPOOL[2 * j + 1]
            setup(f"{ld} {x}, {j * wb}({QP})", f"q word {j}")
            setup(f"or {xo}, {x}, s2", f"q{j} | H: sets a guard bit above each byte's 7-bit subtract")
            setup(f"xor {x}, {x}, s2", f"q{j} ^ H: folds the sign fix-up's constant into the query")
    elif half_regs:
        setup.note("query held in registers as q_j ^ H (q_j | H is rebuilt per word: (q ^ H) | H)")
        for j in range(reg_words):
            x = QPOOL[j]
            setup(f"{ld} {x}, {j * wb}({QP})", f"q word {j}")
            setup(f"xor {x}, {x}, s2", f"q{j} ^ H")

    # Temporaries: y0/y1 ping-pong row loads, t,u,v work, E holds the first
    # x of a pair, acc the 16-bit lane sums, macc the per-byte m counts.
    Y = ["t0", "t1"]
    T, U, V, E, ACC, MACC, S = "t2", "t3", "a7", "t4", "t5", "t6", "t6"
    X = "a6" if half_regs else "s10"  # query word when it is read from memory (s10 may hold one)

    def word(a: _Asm, j: int, base_off: int, rw: str, qw: str, first_of_pair: bool, last: bool,
             y: str, ynext: str | None, next_off: int | None, fresh: bool):
        # The nine-operation step (isa/c/torus_swar.c derives it): z = (q|H) - (r&L),
        # s = (z ^ r ^ q ^ H) & H the sign of d = q - r per byte, m = s >> 7,
        # x = (z ^ (s - m)) & L; then t = x + m = min(d, 256 - d) per byte.
        # Load the next row word now: its first use is a dozen instructions
        # later, so neither core waits for it (u54 load-use, ibex none).
        if ynext is not None:
            a(f"{ld} {ynext}, {next_off}({rw})", "prefetch the next row word (hides load-use latency)")
        if in_regs:
            xo, x = QPOOL[2 * j], QPOOL[2 * j + 1]
            a(f"and {T}, {y}, s3", f"word {j}: r & L")
            a(f"sub {T}, {xo}, {T}", "z = (q | H) - (r & L): 7-bit differences, no borrow across bytes")
            a(f"xor {U}, {T}, {y}", "z ^ r")
            a(f"xor {U}, {U}, {x}", "z ^ r ^ q ^ H: its high bits are the sign of d = q - r mod 256")
        elif j < reg_words:
            x = QPOOL[j]
            a(f"and {T}, {y}, s3", f"word {j}: r & L")
            a(f"or {U}, {x}, s2", "(q ^ H) | H = q | H")
            a(f"sub {T}, {U}, {T}", "z = (q | H) - (r & L): 7-bit differences, no borrow across bytes")
            a(f"xor {U}, {T}, {y}", "z ^ r")
            a(f"xor {U}, {U}, {x}", "z ^ r ^ q ^ H: its high bits are the sign of d = q - r mod 256")
        else:
            a(f"{ld} {X}, {base_off}({qw})", f"word {j}: query word from memory")
            a(f"and {T}, {y}, s3", "r & L")
            a(f"or {U}, {X}, s2", "q | H")
            a(f"sub {T}, {U}, {T}", "z: 7-bit differences, guard bits stop the borrows")
            a(f"xor {U}, {T}, {y}", "z ^ r")
            a(f"xor {U}, {U}, {X}", "z ^ r ^ q")
            a(f"xor {U}, {U}, s2", "^ H: its high bits are the sign of d = q - r mod 256")
        m = MACC if fresh else V  # the first word's m starts the per-byte count directly
        a(f"and {U}, {U}, s2", "s: 0x80 in the bytes where d >= 128")
        a(f"srli {m}, {U}, 7", "m = 1 in those bytes")
        a(f"sub {U}, {U}, {m}", "s - m = 0x7F in those bytes (no cross-byte borrow)")
        # x in [0, 127]; the pair's first is kept: x1 + x2 <= 254 still fits a byte
        xr = E if first_of_pair and not last else T
        a(f"xor {xr}, {T}, {U}", "z ^ (s - m): the low 7 bits inverted where d >= 128")
        a(f"and {xr}, {xr}, s3", "x = |d| - m per byte (t = x + m)")
        if not fresh:
            a(f"add {MACC}, {MACC}, {V}", "m counts, per byte (<= words per segment)")
        if fresh and last:
            # A one-word segment adds m in place: t = x + m <= 128 per byte, so
            # the byte and lane sums cannot carry, and one multiply (not two on
            # the one-at-a-time multiplier: u54 5 cycles each) sums the row.
            a(f"add {T}, {T}, {MACC}", "t = x + m = min(d, 256 - d) per byte")
        if first_of_pair and not last:
            return
        if not first_of_pair:
            a(f"add {T}, {T}, {E}", "x1 + x2 per byte")
        a(f"and {U}, {T}, s4", "even bytes -> 16-bit lanes")
        a(f"srli {T}, {T}, 8", "odd bytes ...")
        a(f"and {T}, {T}, s4", "... -> 16-bit lanes")
        if fresh_acc[0]:
            a(f"add {ACC}, {T}, {U}", "lane sums")
            fresh_acc[0] = False
        else:
            a(f"add {ACC}, {ACC}, {U}", "lane sums (each <= 254 per word: no overflow in a segment)")
            a(f"add {ACC}, {ACC}, {T}")

    def segment(a: _Asm, words: range, rw: str, qw: str, off0: int, total: str, first_seg: bool,
                filler: tuple[str, str] | None = None):
        """Words [j0, j1) at byte offsets from rw/qw; adds this segment's distance to `total`."""
        js = list(words)
        fresh_acc[0] = True
        a(f"{ld} {Y[0]}, {off0}({rw})", "first row word of the segment")
        for n, j in enumerate(js):
            off = off0 + n * wb
            y, ynext = Y[n % 2], (Y[(n + 1) % 2] if n + 1 < len(js) else None)
            word(a, j, off, rw, qw, first_of_pair=(n % 2 == 0), last=(n == len(js) - 1), y=y, ynext=ynext,
                 next_off=off + wb, fresh=(n == 0))
        if len(js) == 1:
            a(f"mul {ACC}, {ACC}, s6", "sum of t lanes lands in the top 16-bit lane (<= 1024)")
            if filler:
                a(*filler)
            if first_seg:
                a(f"srli {total}, {ACC}, {xlen - 16}", "distance = sum(t)")
            else:
                a(f"srli {ACC}, {ACC}, {xlen - 16}")
                a(f"add {total}, {total}, {ACC}", "distance += sum(t)")
            return
        a(f"mul {MACC}, {MACC}, s5", "sum of m bytes lands in the top byte (< 256 in a segment)")
        a(f"mul {ACC}, {ACC}, s6", "sum of x lanes lands in the top 16-bit lane (< 65536)")
        # One independent instruction between the multiplies and their uses
        # keeps each product 3 instructions old when read (u54: 3-cycle mul).
        a(*(filler or ("nop", "nothing independent left: a nop instead of a 1-cycle multiply bubble")))
        a(f"srli {MACC}, {MACC}, {xlen - 8}")
        a(f"srli {ACC}, {ACC}, {xlen - 16}")
        if first_seg:
            a(f"add {total}, {ACC}, {MACC}", "distance = sum(x + m)")
        else:
            a(f"add {total}, {total}, {ACC}", "distance += sum(x)")
            a(f"add {total}, {total}, {MACC}", "distance += sum(m)")

    fresh_acc = [True]
    seg_max = 62 if xlen == 32 else 30  # keeps sum(m) < 256 and lanes < 65536 per segment
    plan = ["t0/t1 row words (ping-pong loads)", "t2,t3,a7 work", "t4 first x of a pair",
            "t5 16-bit lane sums", "t6 m byte counts, then the distance",
            "s2 H, s3 L, s4 M16, s5 P8, s6 P16" if nw > 1 else "s2 H, s3 L, s4 M16, s6 P16"]
    if in_regs:
        plan.append(f"{', '.join(QPOOL[:2 * nw])}: query (q_j | H, q_j ^ H) per word")
    elif half_regs:
        plan.append(f"{', '.join(QPOOL[:reg_words])}: query q_j ^ H for words 0-{reg_words - 1}"
                    + (f"; a6 query words {reg_words}-{nw - 1} read from memory" if nw > reg_words else ""))
    if nw <= min(UNROLL_WORDS, seg_max):
        body.note(f"row: {nw} words fully unrolled, one segment")
        segment(body, range(nw), ROWP, QP, 0, S, True, ctx.filler)
    else:
        blocks, rest = divmod(nw, BLOCK_WORDS)
        rw, qw, cnt, tot = "s7", "s8", "s9", "s11"
        plan.append("s7 row walk, s8 query walk, s9 block counter, s10 query word, s11 distance total")
        body.note(f"row: {blocks} blocks of {BLOCK_WORDS} words in a loop, then {rest} words unrolled")
        body(f"mv {rw}, {ROWP}", "walk the row ...")
        body(f"mv {qw}, {QP}", "... and the query together")
        body(f"li {cnt}, {blocks}")
        body(f"li {tot}, 0", "distance")
        lab = ctx.label("block")
        body.label(lab, f"one block of {BLOCK_WORDS} words per iteration")
        segment(body, range(0, BLOCK_WORDS), rw, qw, 0, tot, False, (f"addi {cnt}, {cnt}, -1", "blocks left"))
        body(f"addi {rw}, {rw}, {BLOCK_WORDS * wb}")
        body(f"addi {qw}, {qw}, {BLOCK_WORDS * wb}")
        body(f"bnez {cnt}, {lab}")
        if rest:
            segment(body, range(0, rest), rw, qw, 0, tot, False, ctx.filler)
        elif ctx.filler:
            body(*ctx.filler)
        body(f"mv {S}, {tot}", "the whole row's distance")
    notes = [f"8-bit l1 SWAR over {xlen}-bit words ({nw} per row)",
             "query in registers" if in_regs else
             f"query words 0-{reg_words - 1} in registers as q ^ H" if half_regs
             else "query read from memory (too long for registers)"]
    return _Row(setup, body, S, False, notes, plan)


# --- 1-bit SWAR popcount --------------------------------------------------------------


def _swar1(ctx: _Ctx) -> _Row:
    xlen, wb, ld = ctx.xlen, ctx.wb, ctx.ld
    nw = ctx.stride // wb
    rep = lambda byte: int.from_bytes(bytes([byte]) * wb, "little")  # noqa: E731
    in_regs = nw <= QUERY_REG_WORDS_1
    setup, body = _Asm(), _Asm()
    setup.note("1-bit SWAR popcount constants")
    _li(setup, "s2", rep(0x55), "0x55..: 1-bit fields")
    _li(setup, "s3", rep(0x33), "0x33..: 2-bit fields")
    _li(setup, "s4", rep(0x0F), "0x0F..: 4-bit fields")
    _li(setup, "s5", rep(0x01), "x * P8 sums all bytes into the top byte")
    if in_regs:
        setup.note("query held in registers, one per word")
        for j in range(nw):
            setup(f"{ld} {QPOOL[j]}, {j * wb}({QP})", f"q word {j}")
    Y = ["t0", "t1"]
    Z, U, NACC, P, TOT = "t2", "t3", "t4", "t5", "t6"
    X = "s10"
    # Up to 3 words of nibble counts (<= 4 each) fit a nibble (<= 12), and
    # 3 words are at most 192 bits, so their byte sum fits the top byte.
    group = 3

    def words(a: _Asm, count: int, rw: str, qw: str, first_total: bool, filler=None):
        a(f"{ld} {Y[0]}, 0({rw})", "first row word")
        first = [first_total]
        pending: list[tuple[str, str]] = []

        def total(reg: str):
            if first[0]:
                pending.append((f"mv {TOT}, {reg}", "distance so far"))
                first[0] = False
            else:
                pending.append((f"add {TOT}, {TOT}, {reg}", "distance so far"))

        for g0 in range(0, count, group):
            gw = list(range(g0, min(count, g0 + group)))
            for n, j in enumerate(gw):
                y = Y[j % 2]
                if not (in_regs and rw == ROWP):
                    # query word first: its use is 2 instructions later (no load-use bubble)
                    a(f"{ld} {X}, {j * wb}({qw})", f"word {j}: query word")
                if j + 1 < count:
                    a(f"{ld} {Y[(j + 1) % 2]}, {(j + 1) * wb}({rw})", "prefetch the next row word")
                if in_regs and rw == ROWP:
                    a(f"xor {Z}, {y}, {QPOOL[j]}", f"word {j}: differing bits")
                else:
                    a(f"xor {Z}, {y}, {X}", "differing bits")
                a(f"srli {U}, {Z}, 1", "popcount: pairs")
                a(f"and {U}, {U}, s2")
                if n == 0 and pending:
                    # the previous group's product is >= 4 instructions old by now:
                    # finish it here instead of waiting on the 3-cycle multiply
                    for insn in pending:
                        a(*insn)
                    pending.clear()
                a(f"sub {Z}, {Z}, {U}", "2-bit counts")
                a(f"srli {U}, {Z}, 2")
                a(f"and {U}, {U}, s3")
                a(f"and {Z}, {Z}, s3")
                if n == 0:
                    a(f"add {NACC}, {Z}, {U}", "4-bit counts (<= 4)")
                else:
                    a(f"add {Z}, {Z}, {U}", "4-bit counts (<= 4)")
                    a(f"add {NACC}, {NACC}, {Z}", f"nibble sums of {n + 1} words (<= {4 * (n + 1)})")
            a(f"srli {U}, {NACC}, 4", "fold nibbles into bytes: mask both halves first,")
            a(f"and {U}, {U}, s4", "since a nibble sum of up to 24 would not fit a nibble")
            a(f"and {NACC}, {NACC}, s4")
            a(f"add {NACC}, {NACC}, {U}", "byte counts")
            a(f"mul {P}, {NACC}, s5", f"sum of bytes in the top byte (<= {len(gw) * xlen} < 256)")
            pending.append((f"srli {P}, {P}, {xlen - 8}", "this group's count"))
            total(P)
        # The last product: used by the very next instruction, which the u54
        # model charges in full (2 bubbles); the row-pointer advance follows.
        for insn in pending:
            a(*insn)
        if filler:
            a(*filler)

    plan = ["t0/t1 row words (ping-pong loads)", "t2,t3 work", "t4 nibble/byte counts",
            "t5 a group's byte sum (finished early in the next group)", "t6 distance",
            "s2 0x55.., s3 0x33.., s4 0x0F.., s5 0x01.."]
    if in_regs:
        plan.append(f"{', '.join(QPOOL[:nw])}: query words")
    if nw <= UNROLL_WORDS:
        body.note(f"row: {nw} words fully unrolled")
        words(body, nw, ROWP, QP, True, ctx.filler)
    else:
        blocks, rest = divmod(nw, BLOCK_WORDS)
        rw, qw, cnt = "s7", "s8", "s9"
        plan.append("s7 row walk, s8 query walk, s9 block counter, s10 query word")
        body.note(f"row: {blocks} blocks of {BLOCK_WORDS} words in a loop, then {rest} words unrolled")
        body(f"mv {rw}, {ROWP}")
        body(f"mv {qw}, {QP}")
        body(f"li {cnt}, {blocks}")
        body(f"li {TOT}, 0")
        lab = ctx.label("block")
        body.label(lab, f"one block of {BLOCK_WORDS} words per iteration")
        words(body, BLOCK_WORDS, rw, qw, False, (f"addi {cnt}, {cnt}, -1", "blocks left"))
        body(f"addi {rw}, {rw}, {BLOCK_WORDS * wb}")
        body(f"addi {qw}, {qw}, {BLOCK_WORDS * wb}")
        body(f"bnez {cnt}, {lab}")
        if rest:
            words(body, rest, rw, qw, False, ctx.filler)
        elif ctx.filler:
            body(*ctx.filler)
    notes = [f"1-bit SWAR popcount over {xlen}-bit words ({nw} per row)",
             "query in registers" if in_regs else "query read from memory"]
    return _Row(setup, body, TOT, False, notes, plan)


# --- per-dim code (unrolled and simple) ------------------------------------------------


def _dim_tail(a: _Asm, ctx: _Ctx, d: str, tmp: str, acc: str, first: bool) -> None:
    """From d = a - b (plain integers, fields of n bits) add t (or t^2) to acc.

    Sign-extending d from n bits gives the torus difference in
    [-2^(n-1), 2^(n-1)); its absolute value is t, its square t^2.
    """
    sh = ctx.xlen - ctx.spec.bits
    a(f"slli {d}, {d}, {sh}", f"keep the low {ctx.spec.bits} bits (d mod 2^n) ...")
    a(f"srai {d}, {d}, {sh}", "... as a signed value: the wrapped difference")
    if ctx.spec.metric == "l2":
        a(f"mul {d}, {d}, {d}", "t^2 = d^2")
    else:
        a(f"srai {tmp}, {d}, {ctx.xlen - 1}", "sign mask")
        a(f"xor {d}, {d}, {tmp}")
        a(f"sub {d}, {d}, {tmp}", "t = |d| (branch-free)")
    a(*((f"mv {acc}, {d}", "distance so far") if first else (f"add {acc}, {acc}, {d}", "distance so far")))


def _dim_tail_add(pending: list, acc: str, d: str, first: bool) -> None:
    pending.append((f"mv {acc}, {d}", "distance so far") if first else (f"add {acc}, {acc}, {d}", "distance so far"))


def _fields(ctx: _Ctx):
    """(byte offset, load op, shift, mask) of every dim's field."""
    n = ctx.spec.bits
    out = []
    for j in range(ctx.spec.dims):
        if n == 16:
            out.append((2 * j, "lhu", 0, None))
        elif n == 8:
            out.append((j, "lbu", 0, None))
        elif n == 4:
            out.append((j // 2, "lbu", 4 * (j % 2), 0xF))
        else:
            out.append((j // 8, "lbu", j % 8, 1))
    return out


def _unrolled(ctx: _Ctx) -> _Row:
    """Per-dim code, the dim loop unrolled; sub-byte fields read once per byte."""
    spec = ctx.spec
    setup, body = _Asm(), _Asm()
    ACC, X, Y, D, TMP = "t6", "t0", "t1", "t2", "t3"
    fields = _fields(ctx)
    plan = ["t4/t5 and a4/a5: query/row codes or bytes, loaded one step ahead (ping-pong)",
            "t0/t1 sub-byte fields", "t2,t3 work", "t6 distance"]

    PAIRS = [("t4", "t5"), ("a4", "a5")]  # ping-pong (query, row) load registers

    def dims(a: _Asm, js, rw: str, qw: str, base: int, first: bool):
        # Load units: one per dim for 8/16-bit codes, one per byte for 4-bit.
        # The next unit is loaded before the current one is used, so a load
        # is always several instructions from its use (u54 load latency).
        units: list[tuple[int, str, list[int]]] = []
        for j in js:
            off, op, _, _ = fields[j]
            if units and units[-1][0] == off - base and fields[j][3] is not None:
                units[-1][2].append(j)
            else:
                units.append((off - base, op, [j]))

        def load(u: int):
            off, op, members = units[u]
            qx, ry = PAIRS[u % 2]
            what = f"dim {members[0]}" if len(members) == 1 else f"dims {members[0]}-{members[-1]}"
            a(f"{op} {qx}, {off}({qw})", f"{what}: query")
            a(f"{op} {ry}, {off}({rw})", "row (loaded one step ahead)")

        # l2: each square is added after the next dim's subtract and shifts,
        # so the multiply's result is 4 instructions old when read.
        l2 = spec.metric == "l2"
        pending: list = []
        dregs = ["t2", "t3"] if l2 else [D]
        load(0)
        for u, (_, _, members) in enumerate(units):
            if u + 1 < len(units):
                load(u + 1)
            qx, ry = PAIRS[u % 2]
            for j in members:
                _, _, shift, mask = fields[j]
                d = dregs[j % len(dregs)]
                if mask is None:
                    a(f"sub {d}, {qx}, {ry}", f"dim {j}")
                elif shift:
                    a(f"srli {X}, {qx}, {shift}", f"dim {j}")
                    a(f"srli {Y}, {ry}, {shift}")
                    a(f"andi {X}, {X}, {mask}")
                    a(f"andi {Y}, {Y}, {mask}")
                    a(f"sub {d}, {X}, {Y}")
                else:
                    a(f"andi {X}, {qx}, {mask}", f"dim {j}")
                    a(f"andi {Y}, {ry}, {mask}")
                    a(f"sub {d}, {X}, {Y}")
                sh = ctx.xlen - spec.bits
                if l2:
                    a(f"slli {d}, {d}, {sh}", f"keep the low {spec.bits} bits (d mod 2^n) ...")
                    a(f"srai {d}, {d}, {sh}", "... as a signed value: the wrapped difference")
                    for line in pending:
                        a(*line)
                    pending.clear()
                    a(f"mul {d}, {d}, {d}", "t^2 = d^2")
                    _dim_tail_add(pending, ACC, d, first)
                else:
                    _dim_tail(a, ctx, d, TMP, ACC, first)
                first = False
        for line in pending:
            a(*line)

    per_block = {16: 128, 8: 256, 4: 512, 1: 2048}[spec.bits]  # dims per looped block (256 bytes)
    if spec.dims <= UNROLL_DIMS or spec.dims <= per_block:
        body.note(f"row: {spec.dims} dims fully unrolled")
        dims(body, range(spec.dims), ROWP, QP, 0, True)
    else:
        blocks, rest = divmod(spec.dims, per_block)
        block_bytes = per_block * spec.bits // 8
        rw, qw, cnt = "s7", "s8", "s9"
        plan.append("s7 row walk, s8 query walk, s9 block counter")
        body.note(f"row: {blocks} blocks of {per_block} dims in a loop, then {rest} dims unrolled")
        body(f"mv {rw}, {ROWP}")
        body(f"mv {qw}, {QP}")
        body(f"li {cnt}, {blocks}")
        body(f"li {ACC}, 0")
        lab = ctx.label("block")
        body.label(lab, f"{per_block} dims ({block_bytes} bytes) per iteration")
        dims(body, range(per_block), rw, qw, 0, False)
        body(f"addi {rw}, {rw}, {block_bytes}")
        body(f"addi {qw}, {qw}, {block_bytes}")
        body(f"addi {cnt}, {cnt}, -1")
        body(f"bnez {cnt}, {lab}")
        if rest:
            dims(body, range(blocks * per_block, spec.dims), rw, qw, blocks * block_bytes, False)
    if ctx.filler:
        body(*ctx.filler)
    return _Row(setup, body, ACC, False, [f"{spec.bits}-bit {spec.metric}, one dim at a time, unrolled"], plan)


def _simple(ctx: _Ctx) -> _Row:
    """A loop over dims (over bytes for 1- and 4-bit codes): the reference variant."""
    spec = ctx.spec
    n = spec.bits
    setup, body = _Asm(), _Asm()
    ACC, X, Y, D, TMP, QW, RW, END = "t6", "t0", "t1", "t2", "t3", "t4", "t5", "a7"
    plan = ["t4/t5 query/row walk, a7 query end", "t0/t1 codes", "t2,t3 work", "t6 distance"]
    lab = ctx.label("dim")
    body(f"mv {QW}, {QP}", "walk the query ...")
    body(f"mv {RW}, {ROWP}", "... and the row")
    nbytes = spec.row_bytes
    body(f"addi {END}, {QP}, {nbytes}" if _fits12(nbytes) else f"li {END}, {nbytes}", "end of the query")
    if not _fits12(nbytes):
        body(f"add {END}, {END}, {QP}")
    body(f"li {ACC}, 0", "distance")
    if n in (8, 16):
        op, step = ("lbu", 1) if n == 8 else ("lhu", 2)
        body.label(lab, "one dim per iteration")
        body(f"{op} {X}, 0({QW})")
        body(f"{op} {Y}, 0({RW})")
        body(f"sub {D}, {X}, {Y}")
        _dim_tail(body, ctx, D, TMP, ACC, False)
        body(f"addi {QW}, {QW}, {step}")
        body(f"addi {RW}, {RW}, {step}")
        body(f"bne {QW}, {END}, {lab}")
    elif n == 4:
        body.label(lab, "two dims (one byte) per iteration; a padding nibble is 0 in both")
        body(f"lbu {X}, 0({QW})")
        body(f"lbu {Y}, 0({RW})")
        body(f"andi {D}, {X}, 15", "low nibble: dim 2j")
        body(f"andi {TMP}, {Y}, 15")
        body(f"sub {D}, {D}, {TMP}")
        _dim_tail(body, ctx, D, TMP, ACC, False)
        body(f"srli {D}, {X}, 4", "high nibble: dim 2j+1")
        body(f"srli {TMP}, {Y}, 4")
        body(f"sub {D}, {D}, {TMP}")
        _dim_tail(body, ctx, D, TMP, ACC, False)
        body(f"addi {QW}, {QW}, 1")
        body(f"addi {RW}, {RW}, 1")
        body(f"bne {QW}, {END}, {lab}")
    else:
        inner = ctx.label("bit")
        body.label(lab, "eight dims (one byte) per iteration; padding bits are 0 in both")
        body(f"lbu {X}, 0({QW})")
        body(f"lbu {Y}, 0({RW})")
        body(f"xor {D}, {X}, {Y}", "differing bits")
        body.label(inner, "count them one at a time")
        body(f"andi {TMP}, {D}, 1")
        body(f"add {ACC}, {ACC}, {TMP}")
        body(f"srli {D}, {D}, 1")
        body(f"bnez {D}, {inner}")
        body(f"addi {QW}, {QW}, 1")
        body(f"addi {RW}, {RW}, 1")
        body(f"bne {QW}, {END}, {lab}")
    if ctx.filler:
        body(*ctx.filler)
    return _Row(setup, body, ACC, False, [f"{n}-bit {spec.metric}, a loop over dims"], plan)


# --- kernels -------------------------------------------------------------------------


def _row(ctx: _Ctx) -> _Row:
    if ctx.variant == "swar":
        return _swar8(ctx) if ctx.spec.bits == 8 else _swar1(ctx)
    if ctx.variant == "unrolled":
        return _unrolled(ctx)
    return _simple(ctx)


def _frame(ctx: _Ctx, text: str, extra_slots: int):
    """The return address and callee-saved registers (the psABI's) the code uses, and the frame size."""
    abi = ctx.target.abi
    named = {r for r in (abi.link_register, *abi.callee_saved) if re.search(rf"\b{r}\b", text)}
    used = [abi.link_register] * (abi.link_register in named) + list(abi.must_save(named))
    return used, abi.aligned_frame((len(used) + extra_slots) * ctx.wb)


def _prologue(a: _Asm, ctx: _Ctx, used: list[str], size: int) -> None:
    st = "sd" if ctx.xlen == 64 else "sw"
    if size:
        a(f"addi sp, sp, -{size}", "frame: saved registers, then search state")
    for i, r in enumerate(used):
        a(f"{st} {r}, {i * ctx.wb}(sp)", "callee-saved (psABI)")


def _epilogue(a: _Asm, ctx: _Ctx, used: list[str], size: int) -> None:
    for i, r in enumerate(used):
        a(f"{ctx.ld} {r}, {i * ctx.wb}(sp)")
    if size:
        a(f"addi sp, sp, {size}")
    a("ret")


def _advance_insn(ctx: _Ctx) -> tuple[str, str]:
    if _fits12(ctx.stride):
        return f"addi {ROWP}, {ROWP}, {ctx.stride}", f"next row ({ctx.stride}-byte stride)"
    return f"add {ROWP}, {ROWP}, {STRIDE_REG}", f"next row ({ctx.stride}-byte stride)"


def _loop_setup(a: _Asm, ctx: _Ctx) -> None:
    """END = db + n * stride: the row loop closes on the row pointer, no index counter."""
    if ctx.xlen == 64:
        # lp64 passes a uint32_t sign-extended to 64 bits: zero-extend n so a
        # count of 2^31 or more is not read as negative.
        a(f"slli {NREG}, {NREG}, 32", "n is uint32_t: zero-extend it")
        a(f"srli {NREG}, {NREG}, 32")
    if not _fits12(ctx.stride):
        a(f"li {STRIDE_REG}, {ctx.stride}", "row stride (beyond a 12-bit immediate)")
    if ctx.stride & (ctx.stride - 1) == 0:
        a(f"slli {END}, {NREG}, {ctx.stride.bit_length() - 1}", "n * stride")
    else:
        a(f"li t0, {ctx.stride}")
        a(f"mul {END}, {NREG}, t0", "n * stride")
    a(f"add {END}, {END}, {ROWP}", "END: one past the last row")


def _row_loop(a: _Asm, ctx: _Ctx, row: _Row, loop: str) -> None:
    """END, the row set-up, then the loop label and one row's body (which advances a1)."""
    _loop_setup(a, ctx)
    a.extend(row.setup)
    a.label(loop, "one row per iteration (the row body advances a1)")
    a.extend(row.body)


def _gen_distance(ctx: _Ctx, row: _Row) -> _Asm:
    a = _Asm()
    a.extend(row.setup)
    a.extend(row.body)
    if row.kminus:
        a(f"sub a0, {KREG}, {row.reg}", "distance = K - S")
    else:
        a(f"mv a0, {row.reg}", "distance")
    return a


def _gen_scan(ctx: _Ctx, row: _Row) -> _Asm:
    a = _Asm()
    done = ctx.label("done")
    a(f"beqz {NREG}, {done}", "no rows")
    a(f"mv {THR}, a3", "output pointer")
    loop = ctx.label("row")
    _row_loop(a, ctx, row, loop)
    if row.kminus:
        a(f"sub {row.reg}, {KREG}, {row.reg}", "distance = K - S")
    a(f"sw {row.reg}, 0({THR})", "out[i] (uint32)")
    a(f"addi {THR}, {THR}, 4")
    a(f"bne {ROWP}, {END}, {loop}", "backward branch: taken while rows remain")
    a.label(done)
    return a


def _row_index(b: _Asm, ctx: _Ctx, W: str, V: str, db_slot: int) -> None:
    """W = index of the row a1 has just moved past; clobbers V."""
    # The row index is not kept in the hot loop: a1 has already moved past the
    # row, so i = (a1 - db) / stride - 1.  The division is exact, so it is a
    # shift by the stride's power of two and a multiply by the modular inverse
    # of its odd part (no divider needed).
    tz, inv = core.exact_division(ctx.stride, ctx.xlen)
    odd = ctx.stride >> tz
    b(f"{ctx.ld} {V}, {db_slot}(sp)")
    b(f"sub {W}, {ROWP}, {V}", "(i + 1) * stride")
    if tz:
        b(f"srli {W}, {W}, {tz}", f"/ 2^{tz}")
    if odd > 1:
        b(f"li {V}, {inv:#x}", f"inverse of {odd} mod 2^{ctx.xlen}")
        b(f"mul {W}, {W}, {V}", f"exact division by {odd}")
    b(f"addi {W}, {W}, -1", "row index i")


def _gen_range(ctx: _Ctx, row: _Row, slots: int):
    """Range search; frame slots: out_idx, cap, count, db (after the saved registers)."""
    w, ld, lwu = ctx.wb, ctx.ld, ctx.lwu
    st = "sd" if ctx.xlen == 64 else "sw"
    OI, CAP, COUNT, DB0 = (slots + i * w for i in range(4))
    a, b = _Asm(), _Asm()
    done, loop, nxt, hit = ctx.label("done"), ctx.label("row"), ctx.label("next"), ctx.label("hit")
    a(f"sw zero, {COUNT}(sp)", "count = 0")
    a(f"beqz {NREG}, {done}", "no rows: returns 0")
    a(f"{st} a4, {OI}(sp)", "out_idx, cap and db live in the frame: only a hit needs them")
    a(f"sw a5, {CAP}(sp)")
    a(f"{st} {ROWP}, {DB0}(sp)")
    if ctx.xlen == 64:
        a(f"slli {THR}, a3, 32", "radius is uint32_t (passed sign-extended): zero-extend it")
        a(f"srli {THR}, {THR}, 32")
    else:
        a(f"mv {THR}, a3", "radius")
    _row_loop(a, ctx, row, loop)
    if row.kminus:
        a(f"sub {row.reg}, {KREG}, {row.reg}", "distance = K - S")
    a(f"bleu {row.reg}, {THR}, {hit}", "distance <= radius: a hit (out of line)")
    a.label(nxt)
    a(f"bne {ROWP}, {END}, {loop}", "backward branch: taken while rows remain")
    a.label(done)
    a(f"{lwu} a0, {COUNT}(sp)", "returns the count of every row within the radius")
    b.label(hit, "row within the radius: count it, and write its index while count < cap")
    CNT, CP, W, V = "t0", "t1", "t2", "t3"
    b(f"{lwu} {CNT}, {COUNT}(sp)")
    b(f"{lwu} {CP}, {CAP}(sp)")
    full = ctx.label("full")
    b(f"bgeu {CNT}, {CP}, {full}", "out_idx is full: only count")
    _row_index(b, ctx, W, V, DB0)
    b(f"{ld} {V}, {OI}(sp)")
    b(f"slli {CP}, {CNT}, 2")
    b(f"add {V}, {V}, {CP}", "&out_idx[count]")
    b(f"sw {W}, 0({V})", "out_idx[count] = i (row order)")
    b.label(full)
    b(f"addi {CNT}, {CNT}, 1")
    b(f"sw {CNT}, {COUNT}(sp)", "count += 1")
    b(f"j {nxt}")
    return a, b


def _gen_search(ctx: _Ctx, row: _Row, slots: int):
    """Top-k search; frame slots: k, out_idx, out_dist, found, db (after the saved registers)."""
    w, ld, lwu = ctx.wb, ctx.ld, ctx.lwu
    st = "sd" if ctx.xlen == 64 else "sw"
    K_, OI, OD, FOUND, DB0 = (slots + i * w for i in range(5))
    a = _Asm()
    done = ctx.label("done")
    loop, nxt, ins = ctx.label("row"), ctx.label("next"), ctx.label("insert")
    a("li t0, 0")
    a(f"{st} t0, {FOUND}(sp)", "found = 0")
    a(f"beqz {NREG}, {done}", "no rows: returns 0")
    a(f"beqz a3, {done}", "k = 0: returns 0")
    a(f"li t0, {ctx.spec.k_max}")
    a("bleu a3, t0, 1f", f"k <= k_max ({ctx.spec.k_max})?")
    a("mv a3, t0", "clamp k to the kernel's k_max (the list has no more room)")
    a.label("1")
    a(f"{st} a3, {K_}(sp)", "k, out_idx, out_dist and db live in the frame: only insertion needs them")
    a(f"{st} a4, {OI}(sp)")
    a(f"{st} a5, {OD}(sp)")
    a(f"{st} {ROWP}, {DB0}(sp)")
    a(f"li {THR}, -1", "threshold: not full yet, every row enters")
    _row_loop(a, ctx, row, loop)
    if row.kminus:
        a(f"blt {THR}, {row.reg}, {ins}", "S > K - worst  <=>  distance < worst (strict: ties keep the lower row)")
    else:
        a(f"bltu {row.reg}, {THR}, {ins}", "distance < worst (strict: ties keep the lower row)")
    a.label(nxt)
    a(f"bne {ROWP}, {END}, {loop}", "backward branch: taken while rows remain")
    a.label(done)
    a(f"{ld} a0, {FOUND}(sp)", "returns min(k, n)")
    b = _Asm()  # the out-of-line insertion, placed after the return
    b.label(ins, "insert the row into the sorted top-k list (rare after the first rows)")
    DIST, FND, KK, PD, PI, V, W, OFF = "a7", "t0", "t1", "t2", "t3", "t4", "t5", "t6"
    if row.kminus:
        b(f"sub {DIST}, {KREG}, {row.reg}", "distance = K - S")
    else:
        b(f"mv {DIST}, {row.reg}")
    b(f"{ld} {FND}, {FOUND}(sp)")
    b(f"{ld} {KK}, {K_}(sp)")
    b(f"{ld} {PD}, {OD}(sp)")
    b(f"{ld} {PI}, {OI}(sp)")
    full = ctx.label("full")
    b(f"bgeu {FND}, {KK}, {full}", "list full: the new row replaces the last entry")
    b(f"slli {OFF}, {FND}, 2", "not full: append at position found ...")
    b(f"addi {FND}, {FND}, 1", "... and found += 1")
    b(f"{st} {FND}, {FOUND}(sp)")
    shift = ctx.label("shift")
    b(f"j {shift}")
    b.label(full)
    b(f"slli {OFF}, {KK}, 2")
    b(f"addi {OFF}, {OFF}, -4", "position k - 1")
    b.label(shift)
    b(f"add {W}, {PD}, {OFF}", "&out_dist[pos]")
    b(f"add {OFF}, {PI}, {OFF}", "&out_idx[pos]")
    sl, place = ctx.label("sift"), ctx.label("place")
    b.label(sl, "move larger entries one place down")
    b(f"beq {W}, {PD}, {place}", "pos == 0")
    b(f"{lwu} {V}, -4({W})", "out_dist[pos - 1]")
    b(f"bgeu {DIST}, {V}, {place}", "stop at an entry <= distance (it came first: it stays ahead)")
    b(f"sw {V}, 0({W})")
    b(f"lw {V}, -4({OFF})")
    b(f"sw {V}, 0({OFF})")
    b(f"addi {W}, {W}, -4")
    b(f"addi {OFF}, {OFF}, -4")
    b(f"j {sl}")
    b.label(place)
    b(f"sw {DIST}, 0({W})", "out_dist[pos] = distance")
    _row_index(b, ctx, W, V, DB0)
    b(f"sw {W}, 0({OFF})", "out_idx[pos] = i")
    b(f"bltu {FND}, {KK}, {nxt}", "still not full: the threshold stays open")
    b(f"slli {V}, {KK}, 2")
    b(f"add {V}, {PD}, {V}")
    b(f"{lwu} {V}, -4({V})", "worst kept distance, out_dist[k - 1]")
    if row.kminus:
        b(f"sub {THR}, {KREG}, {V}", "threshold in S terms: K - worst")
    else:
        b(f"mv {THR}, {V}", "threshold: worst kept distance")
    b(f"j {nxt}")
    return a, b


def emit(target: Target, spec: KernelSpec, chosen: str, sym: str, dialect: str):
    """GNU assembly for ``spec`` on ``target`` (rv32im / rv64im)."""
    xlen = target.word_bits
    ctx = _Ctx(target, spec, chosen)
    if spec.kernel != "distance":
        ctx.filler = _advance_insn(ctx)
    row = _row(ctx)
    after = None
    if spec.kernel == "distance":
        body = _gen_distance(ctx, row)
    elif spec.kernel == "scan":
        body = _gen_scan(ctx, row)
    else:
        body = None
    # Frame: the saved registers the code touches (+4 slots of search state).
    probe = "\n".join(row.setup.lines + row.body.lines) + ("\n s0 s1" if spec.kernel != "distance" else "")
    if spec.kernel != "distance" and not _fits12(ctx.stride):
        probe += "\n ra"
    slots = {"search": 5, "range": 4}.get(spec.kernel, 0)
    used, size = _frame(ctx, probe, slots)
    if spec.kernel == "search":
        body, after = _gen_search(ctx, row, len(used) * ctx.wb)
    elif spec.kernel == "range":
        body, after = _gen_range(ctx, row, len(used) * ctx.wb)
    why = {
        "swar": "fewest cycles under the ibex/u54 models; rows read a register at a time",
        "unrolled": "fewest cycles under the ibex/u54 models for this spec (no SWAR form here); dim loop unrolled",
        "simple": "the straightforward reference variant",
    }[chosen]
    head = [
        f"# torus-hw kernel: {spec.describe()} for {target.name} (RV{xlen}IM, {target.abi})",
        f"# variant: {chosen} ({why})",
        *[f"# {line.strip()}" for line in prototype(spec.kernel, sym).splitlines()],
        f"# row layout: {ctx.stride}-byte stride, {ctx.layout.align}-byte aligned, zero-padded (pads add 0)",
        "# semantics: torus_hw.reference — per dim t = min(d, 2^n - d), d = (q - r) mod 2^n;",
        "#            l1 = sum t, l2 = sum t^2; search by (distance, row), ties to the lower row",
        "#",
        "# register plan:",
        "#   a0 query, a1 row pointer (advanced inside the row body), a2 n, s0 END (db + n * stride),",
        "#   s1 threshold (search) / out pointer (scan)" + (" / radius (range)" if spec.kernel == "range" else ""),
    ] + [f"#   {p}" for p in row.plan] + ["#", "# notes:"] + [f"#   {n}" for n in row.notes]
    a = _Asm()
    a.lines += head + ["", ".text", f".globl {sym}", f".type {sym}, @function", ".p2align 2", f"{sym}:"]
    _prologue(a, ctx, used, size)
    a.extend(body)
    _epilogue(a, ctx, used, size)
    if after is not None:
        a.blank()
        a.extend(after)
    a.lines.append(f".size {sym}, . - {sym}")
    return a.text(), ctx.layout, row.notes
