"""RISC-V generator (targets ``rv32im`` and ``rv64im``): spec → commented GNU assembly.

This module owns the RV32IM/RV64IM kernels: the row layout they expect, the
documented maximum D (``max_dims``), and three kinds of row code:

``swar`` (the default for 8-bit l1 and for 1-bit codes)
    Rows are read a whole register at a time (XLEN/8 codes per load: 4 on
    rv32, 8 on rv64) and processed as SIMD-within-a-register:

    * 8-bit l1 — per-byte wrap-around subtract with a guard bit above each
      byte's 7-bit difference (no borrow crosses a byte), the torus
      ``|signed byte|`` from the byte's sign mask in the nine-operation step
      of ``baselines/c/torus_swar.c`` (proved over every byte pair by
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

Each row code is a class following :class:`isa.generate.RowBody` (set-up,
per-row body, register plan, why); a row too long to unroll loops over
blocks and unrolls the rest, the same walk for every variant.  Row loops
close on the row pointer (``a1 != END``): no index counter.  Search
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
from .abi import register_span
from .emit import Asm, Style, kernel_header
from .spec import KernelSpec, RowLayout, prototype
from .targets import Target

# A documented design limit: rows (and the query) of at most 16 KiB.  It keeps
# every allowed D runnable in the harness (its query region is 64 KiB) and the
# generated code of bounded size.
MAX_ROW_BYTES = 16 * 1024

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
STYLE = Style(comment="#", column=28, label_pad=20,
              function_entry=(".text", ".globl {symbol}", ".type {symbol}, @function", ".p2align 2"),
              function_exit=(".size {symbol}, . - {symbol}",))


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


generate, max_dims = core.family_entry_points(__name__)


def _Asm() -> Asm:
    return Asm(STYLE)


# --- register plan (shared by every variant) ------------------------------------
#
#   a0  query pointer              a1  row pointer (advances by the stride)
#   a2  n (rows)                   s0  END = db + n * stride (the loop closes on a1)
#   s1  search: threshold; scan: output pointer; range: radius
#   t6  the row's distance, when the row body ends
#   s2-s6  SWAR constants          s7-s11, a3-a5  query words held in registers
#   t0-t6, a6, a7  per-row temporaries; insertion uses them too (rows are done then)
#   ra  row stride when it exceeds a 12-bit immediate (saved in the frame)
QPOOL = ["s7", "s8", "s9", "s10", "s11", "a3", "a4", "a5"]
# a0-a2 are where the psABI passes q, db (row) and n (see _Ctx.args); the hot loops name them directly.
ROWP, QP, NREG, END, THR, DIST, STRIDE_REG = "a1", "a0", "a2", "s0", "s1", "t6", "ra"
# Rows too long to unroll walk the row and the query in s7/s8 and count blocks in s9.
ROW_WALK, QUERY_WALK, BLOCKS = "s7", "s8", "s9"


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
        self.st = "sd" if self.xlen == 64 else "sw"
        self.lwu = "lwu" if self.xlen == 64 else "lw"     # reload a uint32 zero-extended
        # Each C argument's register at entry, by name: a0 q, a1 db (row), a2 n, then the kernel's own.
        kind = spec.kind
        self.args = {arg.name: at.register for arg, at in zip(kind.args, target.abi.arguments(kind.arg_kinds))}
        self.labels = 0
        # The row-pointer advance, placed by the row emitter where it hides a
        # multiply latency (the row walks); the distance kernel has none.
        step = f"addi {ROWP}, {ROWP}, {self.stride}" if _fits12(self.stride) else f"add {ROWP}, {ROWP}, {STRIDE_REG}"
        self.filler = None if spec.kernel == "distance" else (step, f"next row ({self.stride}-byte stride)")

    def label(self, stem: str) -> str:
        self.labels += 1
        return f".L{stem}_{self.labels}"


def _fits12(value: int) -> bool:
    return -2048 <= value <= 2047


def _accumulate(acc: str, d: str, first: bool) -> tuple[str, str]:
    """The instruction that adds one term to the distance (the first one starts it)."""
    return (f"mv {acc}, {d}", "distance so far") if first else (f"add {acc}, {acc}, {d}", "distance so far")


def _flush(a: _Asm, pending: list[tuple[str, str]]) -> None:
    """Write the instructions held back until a multiply's result is old enough to read."""
    for insn in pending:
        a(*insn)
    pending.clear()


class _Body:
    """A row body, following :class:`isa.generate.RowBody`.

    The constructor settles the register plan and takes the body's labels
    (so they number before the kernel's); :meth:`setup` and :meth:`body` only
    write text, so the frame can be sized from a first writing.  The body
    leaves the row's distance in t6 and advances a1 by the stride
    (``ctx.filler``, placed where it hides a latency).
    """

    WHY = ""   # why this variant (the header's variant line)

    def __init__(self, ctx: _Ctx, unrolled: bool = True):
        self.ctx = ctx
        self.unrolled = unrolled
        self.block_label = None if unrolled else ctx.label("block")

    def setup(self, a: _Asm) -> None:
        """Constants and the query in registers, once per call (nothing by default)."""

    def why(self) -> str:
        return self.WHY

    def _walk(self, a: _Asm, units: int, what: str, emit, per_block: int, block_bytes: int,
              total: str = DIST, hide_countdown: bool = True) -> None:
        """The row's ``units`` fully unrolled, or blocks of ``per_block`` in a loop and the rest unrolled.

        ``emit(a, units, rw, qw, fresh, filler)`` writes the code for a range of
        units read from rw/qw (pointing at the range's first unit): a fresh
        range starts the distance in t6, the others add to ``total`` (zeroed
        before the loop); ``filler`` is an independent instruction to place
        where it hides a latency.  With ``hide_countdown`` the block counter's
        decrement is that filler inside each block.
        """
        if self.unrolled:
            a.note(f"row: {units} {what} fully unrolled")
            emit(a, range(units), ROWP, QP, True, self.ctx.filler)
            return
        blocks, rest = divmod(units, per_block)
        a.note(f"row: {blocks} blocks of {per_block} {what} in a loop, then {rest} {what} unrolled")
        a(f"mv {ROW_WALK}, {ROWP}", "walk the row ...")
        a(f"mv {QUERY_WALK}, {QP}", "... and the query together")
        a(f"li {BLOCKS}, {blocks}", "blocks")
        a(f"li {total}, 0", "distance")
        a.label(self.block_label, f"one block of {per_block} {what} per iteration")
        countdown = (f"addi {BLOCKS}, {BLOCKS}, -1", "blocks left")
        emit(a, range(per_block), ROW_WALK, QUERY_WALK, False, countdown if hide_countdown else None)
        a(f"addi {ROW_WALK}, {ROW_WALK}, {block_bytes}")
        a(f"addi {QUERY_WALK}, {QUERY_WALK}, {block_bytes}")
        if not hide_countdown:
            a(*countdown)
        a(f"bnez {BLOCKS}, {self.block_label}")
        if rest:
            emit(a, range(blocks * per_block, units), ROW_WALK, QUERY_WALK, False, self.ctx.filler)
        elif self.ctx.filler:
            a(*self.ctx.filler)
        if total != DIST:
            a(f"mv {DIST}, {total}", "the whole row's distance")


class _Swar(_Body):
    """Rows read a whole register (XLEN/8 bytes) at a time; rows are padded to whole registers."""

    WHY = "fewest cycles under the ibex/u54 models; rows read a register at a time"

    def __init__(self, ctx: _Ctx, unrolled_words: int):
        self.nw = ctx.stride // ctx.wb
        super().__init__(ctx, self.nw <= unrolled_words)

    def rep(self, byte: int) -> int:
        """``byte`` in every byte of a register."""
        return int.from_bytes(bytes([byte]) * self.ctx.wb, "little")


# --- 8-bit l1 SWAR ----------------------------------------------------------------


class _Swar8(_Swar):
    """8-bit l1: the nine-operation torus step per byte, byte pairs summed into 16-bit lanes."""

    # Temporaries: Y ping-pong row loads, T/U/V work, E holds the first x of a
    # pair, ACC the 16-bit lane sums, MACC the per-byte m counts (then the distance).
    Y = ("t0", "t1")
    T, U, V, E, ACC, MACC = "t2", "t3", "a7", "t4", "t5", "t6"
    TOTAL = "s11"   # a looped row's distance, summed over its segments
    # Words per segment that keep sum(m) < 256 per byte and the lanes < 65536.
    SEG_MAX = {32: 62, 64: 30}

    def __init__(self, ctx: _Ctx):
        super().__init__(ctx, min(UNROLL_WORDS, self.SEG_MAX[ctx.xlen]))
        nw = self.nw
        self.in_regs = nw <= QUERY_REG_WORDS_8
        # q ^ H only (q | H = (q ^ H) | H per word), for the first words of a fully unrolled row
        # (a looped row needs s7-s9 to walk it)
        self.half_regs = not self.in_regs and self.unrolled
        self.reg_words = min(nw, QUERY_REG_WORDS_8_HALF) if self.half_regs else 0
        self.X = "a6" if self.half_regs else "s10"  # query word when it is read from memory (s10 may hold one)
        self._fresh_acc = True

    def setup(self, a: _Asm) -> None:
        wb, ld, nw = self.ctx.wb, self.ctx.ld, self.nw
        m16 = int.from_bytes(b"\xff\x00" * (wb // 2), "little")
        p16 = int.from_bytes(b"\x01\x00" * (wb // 2), "little")
        a.note("8-bit l1 SWAR constants")
        a(f"li s2, {self.rep(0x80):#x}", "H: the high bit of every byte")
        a(f"li s3, {self.rep(0x7F):#x}", "L = ~H: the low 7 bits of every byte")
        a(f"li s4, {m16:#x}", "even bytes, for splitting into 16-bit lanes")
        if nw > 1:   # a one-word row adds m in place (see _word): no byte sum
            a(f"li s5, {self.rep(0x01):#x}", "x * P8 sums all bytes into the top byte")
        a(f"li s6, {p16:#x}", "x * P16 sums all 16-bit lanes into the top lane")
        if self.in_regs:
            a.note("query held in registers: for word j, q_j | H and q_j ^ H")
        elif self.half_regs:
            a.note("query held in registers as q_j ^ H (q_j | H is rebuilt per word: (q ^ H) | H)")
        for j in range(nw if self.in_regs else self.reg_words):
            x = self._q_xor_h(j)
            a(f"{ld} {x}, {j * wb}({QP})", f"q word {j}")
            if self.in_regs:
                a(f"or {QPOOL[2 * j]}, {x}, s2", f"q{j} | H: sets a guard bit above each byte's 7-bit subtract")
            a(f"xor {x}, {x}, s2", f"q{j} ^ H: folds the sign fix-up's constant into the query")

    def _q_xor_h(self, j: int) -> str | None:
        """The register holding q_j ^ H (q_j | H is the one before it), or None: word j is read from memory."""
        if self.in_regs:
            return QPOOL[2 * j + 1]
        return QPOOL[j] if j < self.reg_words else None

    def body(self, a: _Asm) -> None:
        self._walk(a, self.nw, "words", self._segment, BLOCK_WORDS, BLOCK_WORDS * self.ctx.wb, self.TOTAL)

    def _word(self, a: _Asm, j: int, n: int, count: int, rw: str, qw: str) -> None:
        """Word j, the n-th of a segment of ``count`` words (row word n is already in Y[n % 2])."""
        # The nine-operation step (baselines/c/torus_swar.c derives it): z = (q|H) - (r&L),
        # s = (z ^ r ^ q ^ H) & H the sign of d = q - r per byte, m = s >> 7,
        # x = (z ^ (s - m)) & L; then t = x + m = min(d, 256 - d) per byte.
        # Load the next row word now: its first use is a dozen instructions
        # later, so neither core waits for it (u54 load-use, ibex none).
        T, U, V, E, ACC, MACC, X = self.T, self.U, self.V, self.E, self.ACC, self.MACC, self.X
        y, off = self.Y[n % 2], n * self.ctx.wb
        first_of_pair, last, fresh = n % 2 == 0, n == count - 1, n == 0
        if not last:
            a(f"{self.ctx.ld} {self.Y[(n + 1) % 2]}, {off + self.ctx.wb}({rw})",
              "prefetch the next row word (hides load-use latency)")
        # The query word: q | H and q ^ H both in registers, q ^ H alone (q | H
        # rebuilt as (q ^ H) | H), or q read from memory (H applied to it here).
        from_memory = self._q_xor_h(j) is None
        x = X if from_memory else self._q_xor_h(j)
        if from_memory:
            a(f"{self.ctx.ld} {X}, {off}({qw})", f"word {j}: query word from memory")
        a(f"and {T}, {y}, s3", f"word {j}: r & L")
        if self.in_regs:
            q_or_h = QPOOL[2 * j]
        else:
            a(f"or {U}, {x}, s2", "q | H" if from_memory else "(q ^ H) | H = q | H")
            q_or_h = U
        a(f"sub {T}, {q_or_h}, {T}", "z = (q | H) - (r & L): 7-bit differences, no borrow across bytes")
        a(f"xor {U}, {T}, {y}", "z ^ r")
        if from_memory:
            a(f"xor {U}, {U}, {X}", "z ^ r ^ q")
            a(f"xor {U}, {U}, s2", "^ H: its high bits are the sign of d = q - r mod 256")
        else:
            a(f"xor {U}, {U}, {x}", "z ^ r ^ q ^ H: its high bits are the sign of d = q - r mod 256")
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
        if self._fresh_acc:
            a(f"add {ACC}, {T}, {U}", "lane sums")
            self._fresh_acc = False
        else:
            a(f"add {ACC}, {ACC}, {U}", "lane sums (each <= 254 per word: no overflow in a segment)")
            a(f"add {ACC}, {ACC}, {T}")

    def _segment(self, a: _Asm, words: range, rw: str, qw: str, fresh: bool,
                 filler: tuple[str, str] | None) -> None:
        """``words`` read from rw/qw; a fresh segment starts the distance (in t6), others add to s11."""
        xlen, ACC, MACC = self.ctx.xlen, self.ACC, self.MACC
        total = DIST if fresh else self.TOTAL
        self._fresh_acc = True
        a(f"{self.ctx.ld} {self.Y[0]}, 0({rw})", "first row word of the segment")
        for n, j in enumerate(words):
            self._word(a, j, n, len(words), rw, qw)
        if len(words) == 1:
            a(f"mul {ACC}, {ACC}, s6", "sum of t lanes lands in the top 16-bit lane (<= 1024)")
            if filler:
                a(*filler)
            if fresh:
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
        if fresh:
            a(f"add {total}, {ACC}, {MACC}", "distance = sum(x + m)")
        else:
            a(f"add {total}, {total}, {ACC}", "distance += sum(x)")
            a(f"add {total}, {total}, {MACC}", "distance += sum(m)")

    def plan(self) -> list[str]:
        nw = self.nw
        plan = ["t0/t1 row words (ping-pong loads)", "t2,t3,a7 work", "t4 first x of a pair",
                "t5 16-bit lane sums", "t6 m byte counts, then the distance",
                "s2 H, s3 L, s4 M16, s5 P8, s6 P16" if nw > 1 else "s2 H, s3 L, s4 M16, s6 P16"]
        if self.in_regs:
            plan.append(f"{', '.join(QPOOL[:2 * nw])}: query (q_j | H, q_j ^ H) per word")
        elif self.half_regs:
            plan.append(f"{', '.join(QPOOL[:self.reg_words])}: query q_j ^ H for words 0-{self.reg_words - 1}"
                        + (f"; a6 query words {self.reg_words}-{nw - 1} read from memory"
                           if nw > self.reg_words else ""))
        if not self.unrolled:
            plan.append("s7 row walk, s8 query walk, s9 block counter, s10 query word, s11 distance total")
        return plan

    def notes(self) -> list[str]:
        return [f"8-bit l1 SWAR over {self.ctx.xlen}-bit words ({self.nw} per row)",
                "query in registers" if self.in_regs else
                f"query words 0-{self.reg_words - 1} in registers as q ^ H" if self.half_regs
                else "query read from memory (too long for registers)"]


# --- 1-bit SWAR popcount --------------------------------------------------------------


class _Swar1(_Swar):
    """1-bit: XOR, then the SWAR popcount (no Zbb), nibble counts of three words per multiply."""

    Y = ("t0", "t1")
    Z, U, NACC, P = "t2", "t3", "t4", "t5"
    X = "s10"   # query word when it is read from memory
    # Up to 3 words of nibble counts (<= 4 each) fit a nibble (<= 12), and
    # 3 words are at most 192 bits, so their byte sum fits the top byte.
    GROUP = 3

    def __init__(self, ctx: _Ctx):
        super().__init__(ctx, UNROLL_WORDS)
        self.in_regs = self.nw <= QUERY_REG_WORDS_1

    def setup(self, a: _Asm) -> None:
        a.note("1-bit SWAR popcount constants")
        a(f"li s2, {self.rep(0x55):#x}", "0x55..: 1-bit fields")
        a(f"li s3, {self.rep(0x33):#x}", "0x33..: 2-bit fields")
        a(f"li s4, {self.rep(0x0F):#x}", "0x0F..: 4-bit fields")
        a(f"li s5, {self.rep(0x01):#x}", "x * P8 sums all bytes into the top byte")
        if self.in_regs:
            a.note("query held in registers, one per word")
            for j in range(self.nw):
                a(f"{self.ctx.ld} {QPOOL[j]}, {j * self.ctx.wb}({QP})", f"q word {j}")

    def body(self, a: _Asm) -> None:
        self._walk(a, self.nw, "words", self._words, BLOCK_WORDS, BLOCK_WORDS * self.ctx.wb)

    def _words(self, a: _Asm, words: range, rw: str, qw: str, fresh: bool,
               filler: tuple[str, str] | None) -> None:
        """``words`` read from rw/qw, their popcount added to t6 (started by a fresh run)."""
        ld, wb, xlen, Y, X = self.ctx.ld, self.ctx.wb, self.ctx.xlen, self.Y, self.X
        Z, U, NACC, P = self.Z, self.U, self.NACC, self.P
        count = len(words)
        query_in_regs = self.in_regs and rw == ROWP
        a(f"{ld} {Y[0]}, 0({rw})", "first row word")
        first = fresh
        pending: list[tuple[str, str]] = []
        for g0 in range(0, count, self.GROUP):
            group = range(g0, min(count, g0 + self.GROUP))
            for n in group:
                j, y = words[n], Y[n % 2]
                if not query_in_regs:
                    # query word first: its use is 2 instructions later (no load-use bubble)
                    a(f"{ld} {X}, {n * wb}({qw})", f"word {j}: query word")
                if n + 1 < count:
                    a(f"{ld} {Y[(n + 1) % 2]}, {(n + 1) * wb}({rw})", "prefetch the next row word")
                a(f"xor {Z}, {y}, {QPOOL[j] if query_in_regs else X}", f"word {j}: differing bits")
                a(f"srli {U}, {Z}, 1", "popcount: pairs")
                a(f"and {U}, {U}, s2")
                if n == g0:
                    # the previous group's product is >= 4 instructions old by now:
                    # finish it here instead of waiting on the 3-cycle multiply
                    _flush(a, pending)
                a(f"sub {Z}, {Z}, {U}", "2-bit counts")
                a(f"srli {U}, {Z}, 2")
                a(f"and {U}, {U}, s3")
                a(f"and {Z}, {Z}, s3")
                if n == g0:
                    a(f"add {NACC}, {Z}, {U}", "4-bit counts (<= 4)")
                else:
                    a(f"add {Z}, {Z}, {U}", "4-bit counts (<= 4)")
                    a(f"add {NACC}, {NACC}, {Z}", f"nibble sums of {n - g0 + 1} words (<= {4 * (n - g0 + 1)})")
            a(f"srli {U}, {NACC}, 4", "fold nibbles into bytes: mask both halves first,")
            a(f"and {U}, {U}, s4", "since a nibble sum of up to 24 would not fit a nibble")
            a(f"and {NACC}, {NACC}, s4")
            a(f"add {NACC}, {NACC}, {U}", "byte counts")
            a(f"mul {P}, {NACC}, s5", f"sum of bytes in the top byte (<= {len(group) * xlen} < 256)")
            pending.append((f"srli {P}, {P}, {xlen - 8}", "this group's count"))
            pending.append(_accumulate(DIST, P, first))
            first = False
        # The last product: used by the very next instruction, which the u54
        # model charges in full (2 bubbles); the row-pointer advance follows.
        _flush(a, pending)
        if filler:
            a(*filler)

    def plan(self) -> list[str]:
        plan = ["t0/t1 row words (ping-pong loads)", "t2,t3 work", "t4 nibble/byte counts",
                "t5 a group's byte sum (finished early in the next group)", "t6 distance",
                "s2 0x55.., s3 0x33.., s4 0x0F.., s5 0x01.."]
        if self.in_regs:
            plan.append(f"{', '.join(QPOOL[:self.nw])}: query words")
        if not self.unrolled:
            plan.append("s7 row walk, s8 query walk, s9 block counter, s10 query word")
        return plan

    def notes(self) -> list[str]:
        return [f"1-bit SWAR popcount over {self.ctx.xlen}-bit words ({self.nw} per row)",
                "query in registers" if self.in_regs else "query read from memory"]


# --- per-dim code (unrolled and simple) ------------------------------------------------


class _PerDim(_Body):
    """One dim at a time: the wrapped difference sign-extended from n bits, then |d| or d^2."""

    HOW = ""   # how the dims are walked (the header's note)

    def notes(self) -> list[str]:
        return [f"{self.ctx.spec.bits}-bit {self.ctx.spec.metric}, {self.HOW}"]

    def _tail(self, a: _Asm, d: str, tmp: str, first: bool) -> None:
        """From d = a - b (plain integers, fields of n bits) add t (or t^2) to the distance (t6).

        Sign-extending d from n bits gives the torus difference in
        [-2^(n-1), 2^(n-1)); its absolute value is t, its square t^2.
        """
        self._wrap(a, d)
        if self.ctx.spec.metric == "l2":
            a(f"mul {d}, {d}, {d}", "t^2 = d^2")
        else:
            a(f"srai {tmp}, {d}, {self.ctx.xlen - 1}", "sign mask")
            a(f"xor {d}, {d}, {tmp}")
            a(f"sub {d}, {d}, {tmp}", "t = |d| (branch-free)")
        a(*_accumulate(DIST, d, first))

    def _wrap(self, a: _Asm, d: str) -> None:
        sh = self.ctx.xlen - self.ctx.spec.bits
        a(f"slli {d}, {d}, {sh}", f"keep the low {self.ctx.spec.bits} bits (d mod 2^n) ...")
        a(f"srai {d}, {d}, {sh}", "... as a signed value: the wrapped difference")


class _Unrolled(_PerDim):
    """Per-dim code, the dim loop unrolled; sub-byte fields read once per byte."""

    WHY = "fewest cycles under the ibex/u54 models for this spec (no SWAR form here); dim loop unrolled"
    HOW = "one dim at a time, unrolled"
    X, Y, D, TMP = "t0", "t1", "t2", "t3"
    PAIRS = (("t4", "t5"), ("a4", "a5"))  # ping-pong (query, row) load registers
    BLOCK_BYTES = 256   # a looped row's block: 128 to 2048 dims

    def __init__(self, ctx: _Ctx):
        self.per_block = self.BLOCK_BYTES * 8 // ctx.spec.bits
        super().__init__(ctx, ctx.spec.dims <= max(UNROLL_DIMS, self.per_block))
        self.fields = self._fields()

    def _fields(self) -> list[tuple[int, str, int, int | None]]:
        """(byte offset, load op, shift, mask) of every dim's field; whole 8/16-bit codes need no mask."""
        n = self.ctx.spec.bits
        return [(j * n // 8, "lhu" if n == 16 else "lbu", j * n % 8, (1 << n) - 1 if n < 8 else None)
                for j in range(self.ctx.spec.dims)]

    def body(self, a: _Asm) -> None:
        self._walk(a, self.ctx.spec.dims, "dims", self._dims, self.per_block, self.BLOCK_BYTES, hide_countdown=False)

    def _dims(self, a: _Asm, js: range, rw: str, qw: str, first: bool, filler: tuple[str, str] | None) -> None:
        """Dims ``js`` read from rw/qw (at the first one's byte), added to t6 (started when ``first``)."""
        spec, fields, PAIRS, X, Y = self.ctx.spec, self.fields, self.PAIRS, self.X, self.Y
        base = fields[js[0]][0]
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
        dregs = ["t2", "t3"] if l2 else [self.D]
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
                if l2:
                    self._wrap(a, d)
                    _flush(a, pending)
                    a(f"mul {d}, {d}, {d}", "t^2 = d^2")
                    pending.append(_accumulate(DIST, d, first))
                else:
                    self._tail(a, d, self.TMP, first)
                first = False
        _flush(a, pending)
        if filler:
            a(*filler)

    def plan(self) -> list[str]:
        plan = ["t4/t5 and a4/a5: query/row codes or bytes, loaded one step ahead (ping-pong)",
                "t0/t1 sub-byte fields", "t2,t3 work", "t6 distance"]
        if not self.unrolled:
            plan.append("s7 row walk, s8 query walk, s9 block counter")
        return plan


class _Simple(_PerDim):
    """A loop over dims (over bytes for 1- and 4-bit codes): the reference variant."""

    WHY = "the straightforward reference variant"
    HOW = "a loop over dims"
    X, Y, D, TMP, QW, RW, QEND = "t0", "t1", "t2", "t3", "t4", "t5", "a7"

    def __init__(self, ctx: _Ctx):
        super().__init__(ctx)
        self.dim_label = ctx.label("dim")
        self.bit_label = ctx.label("bit") if ctx.spec.bits == 1 else None

    def body(self, a: _Asm) -> None:
        n, nbytes = self.ctx.spec.bits, self.ctx.spec.row_bytes
        X, Y, D, TMP, QW, RW, QEND, lab = self.X, self.Y, self.D, self.TMP, self.QW, self.RW, self.QEND, self.dim_label
        a(f"mv {QW}, {QP}", "walk the query ...")
        a(f"mv {RW}, {ROWP}", "... and the row")
        a(f"addi {QEND}, {QP}, {nbytes}" if _fits12(nbytes) else f"li {QEND}, {nbytes}", "end of the query")
        if not _fits12(nbytes):
            a(f"add {QEND}, {QEND}, {QP}")
        a(f"li {DIST}, 0", "distance")
        op, step = ("lhu", 2) if n == 16 else ("lbu", 1)
        a.label(lab, {16: "one dim per iteration", 8: "one dim per iteration",
                      4: "two dims (one byte) per iteration; a padding nibble is 0 in both",
                      1: "eight dims (one byte) per iteration; padding bits are 0 in both"}[n])
        a(f"{op} {X}, 0({QW})")
        a(f"{op} {Y}, 0({RW})")
        if n >= 8:
            a(f"sub {D}, {X}, {Y}")
            self._tail(a, D, TMP, False)
        elif n == 4:
            for field, imm, what in (("andi", 15, "low nibble: dim 2j"), ("srli", 4, "high nibble: dim 2j+1")):
                a(f"{field} {D}, {X}, {imm}", what)
                a(f"{field} {TMP}, {Y}, {imm}")
                a(f"sub {D}, {D}, {TMP}")
                self._tail(a, D, TMP, False)
        else:
            a(f"xor {D}, {X}, {Y}", "differing bits")
            a.label(self.bit_label, "count them one at a time")
            a(f"andi {TMP}, {D}, 1")
            a(f"add {DIST}, {DIST}, {TMP}")
            a(f"srli {D}, {D}, 1")
            a(f"bnez {D}, {self.bit_label}")
        a(f"addi {QW}, {QW}, {step}")
        a(f"addi {RW}, {RW}, {step}")
        a(f"bne {QW}, {QEND}, {lab}")
        if self.ctx.filler:
            a(*self.ctx.filler)

    def plan(self) -> list[str]:
        return ["t4/t5 query/row walk, a7 query end", "t0/t1 codes", "t2,t3 work", "t6 distance"]


# --- kernels -------------------------------------------------------------------------


def _row(ctx: _Ctx) -> _Body:
    if ctx.variant == "swar":
        return _Swar8(ctx) if ctx.spec.bits == 8 else _Swar1(ctx)
    if ctx.variant == "unrolled":
        return _Unrolled(ctx)
    return _Simple(ctx)


class _Frame:
    """The stack frame: ra and the callee-saved registers the code names (psABI), then the kernel's state.

    Search and range keep their cold-path state (k, out_idx, ...) in named
    slots above the saved registers: only an insertion or a hit reads them,
    so the hot loop keeps every register.  ``frame["db"]`` is a slot's operand.
    """

    def __init__(self, ctx: _Ctx, text: str, state: tuple[str, ...] = ()):
        abi = ctx.target.abi
        named = {r for r in (abi.link_register, *abi.callee_saved) if re.search(rf"\b{r}\b", text)}
        self.saved = [abi.link_register] * (abi.link_register in named) + list(abi.must_save(named))
        self.size = abi.aligned_frame((len(self.saved) + len(state)) * ctx.wb)
        self.slots = {name: (len(self.saved) + i) * ctx.wb for i, name in enumerate(state)}
        self.ctx = ctx

    def __getitem__(self, name: str) -> str:
        return f"{self.slots[name]}(sp)"

    def notes(self) -> list[str]:
        """The frame map, for the header (nothing when there is no frame)."""
        if not self.size:
            return []
        saved = f"{register_span(self.saved)} at 0-{len(self.saved) * self.ctx.wb - 1}" if self.saved else ""
        state = ", ".join(f"{name} at {offset}" for name, offset in self.slots.items())
        return [f"frame ({self.size} bytes at sp): " + "; ".join(part for part in (saved, state) if part)]

    def prologue(self, a: _Asm) -> None:
        if self.size:
            a(f"addi sp, sp, -{self.size}", "frame: saved registers, then search state")
        for i, r in enumerate(self.saved):
            a(f"{self.ctx.st} {r}, {i * self.ctx.wb}(sp)", "callee-saved (psABI)")

    def epilogue(self, a: _Asm) -> None:
        for i, r in enumerate(self.saved):
            a(f"{self.ctx.ld} {r}, {i * self.ctx.wb}(sp)")
        if self.size:
            a(f"addi sp, sp, {self.size}")
        a("ret")


def _uint32(a: _Asm, ctx: _Ctx, dst: str, src: str, what: str) -> None:
    """dst = the uint32_t argument in src.

    lp64 passes a uint32_t sign-extended to 64 bits: zero-extend it, so that
    a count or a radius of 2^31 or more (a 16-bit l2 distance of D <= 3
    passes 2^31) is not read as negative or compared as a huge value.
    """
    if ctx.xlen == 64:
        a(f"slli {dst}, {src}, 32", f"{what} is uint32_t: zero-extend it")
        a(f"srli {dst}, {dst}, 32")
    elif dst != src:
        a(f"mv {dst}, {src}", what)


def _row_loop(a: _Asm, ctx: _Ctx, row: _Body, loop: str) -> None:
    """END = db + n * stride, the row set-up, then the loop label and one row's body (which advances a1).

    The row loop closes on the row pointer: no index counter.
    """
    _uint32(a, ctx, NREG, NREG, "n")
    if not _fits12(ctx.stride):
        a(f"li {STRIDE_REG}, {ctx.stride}", "row stride (beyond a 12-bit immediate)")
    if ctx.stride & (ctx.stride - 1) == 0:
        a(f"slli {END}, {NREG}, {ctx.stride.bit_length() - 1}", "n * stride")
    else:
        a(f"li t0, {ctx.stride}")
        a(f"mul {END}, {NREG}, t0", "n * stride")
    a(f"add {END}, {END}, {ROWP}", "END: one past the last row")
    row.setup(a)
    a.label(loop, "one row per iteration (the row body advances a1)")
    row.body(a)


def _loop_end(a: _Asm, loop: str, done: str) -> None:
    a(f"bne {ROWP}, {END}, {loop}", "backward branch: taken while rows remain")
    a.label(done)


def _gen_distance(ctx: _Ctx, row: _Body, frame: _Frame) -> tuple[_Asm, None]:
    a = _Asm()
    row.setup(a)
    row.body(a)
    if ctx.xlen == 64:  # a uint32 of 2^31 or more is returned as a C caller compiled for LP64 expects it
        a(f"addiw a0, {DIST}, 0", "distance, sign-extended from bit 31 (LP64 psABI: uint32 results are)")
    else:
        a(f"mv a0, {DIST}", "distance")
    return a, None


def _gen_scan(ctx: _Ctx, row: _Body, frame: _Frame) -> tuple[_Asm, None]:
    out = ctx.args["out"]
    a = _Asm()
    done = ctx.label("done")
    a(f"beqz {NREG}, {done}", "no rows")
    a(f"mv {THR}, {out}", "output pointer")
    loop = ctx.label("row")
    _row_loop(a, ctx, row, loop)
    a(f"sw {DIST}, 0({THR})", "out[i] (uint32)")
    a(f"addi {THR}, {THR}, 4")
    _loop_end(a, loop, done)
    return a, None


def _row_index(b: _Asm, ctx: _Ctx, W: str, V: str, frame: _Frame) -> None:
    """W = index of the row a1 has just moved past; clobbers V."""
    # The row index is not kept in the hot loop: a1 has already moved past the
    # row, so i = (a1 - db) / stride - 1.  The division is exact, so it is a
    # shift by the stride's power of two and a multiply by the modular inverse
    # of its odd part (no divider needed).
    tz, inv = core.exact_division(ctx.stride, ctx.xlen)
    odd = ctx.stride >> tz
    b(f"{ctx.ld} {V}, {frame['db']}")
    b(f"sub {W}, {ROWP}, {V}", "(i + 1) * stride")
    if tz:
        b(f"srli {W}, {W}, {tz}", f"/ 2^{tz}")
    if odd > 1:
        b(f"li {V}, {inv:#x}", f"inverse of {odd} mod 2^{ctx.xlen}")
        b(f"mul {W}, {W}, {V}", f"exact division by {odd}")
    b(f"addi {W}, {W}, -1", "row index i")


RANGE_STATE = ("out_idx", "cap", "count", "db")


def _gen_range(ctx: _Ctx, row: _Body, frame: _Frame) -> tuple[_Asm, _Asm]:
    """Range search: the hot loop compares with the radius; a hit (out of line) counts and writes the index."""
    ld, st, lwu = ctx.ld, ctx.st, ctx.lwu
    radius, out_idx, cap = ctx.args["radius"], ctx.args["out_idx"], ctx.args["cap"]
    a, b = _Asm(), _Asm()
    done, loop, nxt, hit = ctx.label("done"), ctx.label("row"), ctx.label("next"), ctx.label("hit")
    a(f"sw zero, {frame['count']}", "count = 0")
    a(f"beqz {NREG}, {done}", "no rows: returns 0")
    a(f"{st} {out_idx}, {frame['out_idx']}", "out_idx, cap and db live in the frame: only a hit needs them")
    a(f"sw {cap}, {frame['cap']}")
    a(f"{st} {ROWP}, {frame['db']}")
    _uint32(a, ctx, THR, radius, "radius")
    _row_loop(a, ctx, row, loop)
    a(f"bleu {DIST}, {THR}, {hit}", "distance <= radius: a hit (out of line)")
    a.label(nxt)
    _loop_end(a, loop, done)
    a(f"lw a0, {frame['count']}", "returns the count of every row within the radius (lw: sign-extended, as LP64 returns a uint32)")
    b.label(hit, "row within the radius: count it, and write its index while count < cap")
    CNT, CP, W, V = "t0", "t1", "t2", "t3"
    b(f"{lwu} {CNT}, {frame['count']}")
    b(f"{lwu} {CP}, {frame['cap']}")
    full = ctx.label("full")
    b(f"bgeu {CNT}, {CP}, {full}", "out_idx is full: only count")
    _row_index(b, ctx, W, V, frame)
    b(f"{ld} {V}, {frame['out_idx']}")
    b(f"slli {CP}, {CNT}, 2")
    b(f"add {V}, {V}, {CP}", "&out_idx[count]")
    b(f"sw {W}, 0({V})", "out_idx[count] = i (row order)")
    b.label(full)
    b(f"addi {CNT}, {CNT}, 1")
    b(f"sw {CNT}, {frame['count']}", "count += 1")
    b(f"j {nxt}")
    return a, b


SEARCH_STATE = ("k", "out_idx", "out_dist", "found", "db")


def _gen_search(ctx: _Ctx, row: _Body, frame: _Frame) -> tuple[_Asm, _Asm]:
    """Top-k search: the hot loop compares with a threshold; a better row is inserted out of line."""
    ld, st, lwu = ctx.ld, ctx.st, ctx.lwu
    k, out_idx, out_dist = ctx.args["k"], ctx.args["out_idx"], ctx.args["out_dist"]
    a = _Asm()
    done = ctx.label("done")
    loop, nxt, ins = ctx.label("row"), ctx.label("next"), ctx.label("insert")
    a("li t0, 0")
    a(f"{st} t0, {frame['found']}", "found = 0")
    a(f"beqz {NREG}, {done}", "no rows: returns 0")
    a(f"beqz {k}, {done}", "k = 0: returns 0")
    a(f"li t0, {ctx.spec.k_max}")
    a(f"bleu {k}, t0, 1f", f"k <= k_max ({ctx.spec.k_max})?")
    a(f"mv {k}, t0", "clamp k to the kernel's k_max (the list has no more room)")
    a.label("1")
    a(f"{st} {k}, {frame['k']}", "k, out_idx, out_dist and db live in the frame: only insertion needs them")
    a(f"{st} {out_idx}, {frame['out_idx']}")
    a(f"{st} {out_dist}, {frame['out_dist']}")
    a(f"{st} {ROWP}, {frame['db']}")
    a(f"li {THR}, -1", "threshold: not full yet, every row enters")
    _row_loop(a, ctx, row, loop)
    a(f"bltu {DIST}, {THR}, {ins}", "distance < worst (strict: ties keep the lower row)")
    a.label(nxt)
    _loop_end(a, loop, done)
    a(f"{ld} a0, {frame['found']}", "returns min(k, n)")
    b = _Asm()  # the out-of-line insertion, placed after the return
    b.label(ins, "insert the row into the sorted top-k list (rare after the first rows)")
    NEW, FND, KK, PD, PI, V, W, OFF = "a7", "t0", "t1", "t2", "t3", "t4", "t5", "t6"
    b(f"mv {NEW}, {DIST}", "the row's distance (t6 holds the list offset below)")
    b(f"{ld} {FND}, {frame['found']}")
    b(f"{ld} {KK}, {frame['k']}")
    b(f"{ld} {PD}, {frame['out_dist']}")
    b(f"{ld} {PI}, {frame['out_idx']}")
    full = ctx.label("full")
    b(f"bgeu {FND}, {KK}, {full}", "list full: the new row replaces the last entry")
    b(f"slli {OFF}, {FND}, 2", "not full: append at position found ...")
    b(f"addi {FND}, {FND}, 1", "... and found += 1")
    b(f"{st} {FND}, {frame['found']}")
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
    b(f"bgeu {NEW}, {V}, {place}", "stop at an entry <= distance (it came first: it stays ahead)")
    b(f"sw {V}, 0({W})")
    b(f"lw {V}, -4({OFF})")
    b(f"sw {V}, 0({OFF})")
    b(f"addi {W}, {W}, -4")
    b(f"addi {OFF}, {OFF}, -4")
    b(f"j {sl}")
    b.label(place)
    b(f"sw {NEW}, 0({W})", "out_dist[pos] = distance")
    _row_index(b, ctx, W, V, frame)
    b(f"sw {W}, 0({OFF})", "out_idx[pos] = i")
    b(f"bltu {FND}, {KK}, {nxt}", "still not full: the threshold stays open")
    b(f"slli {V}, {KK}, 2")
    b(f"add {V}, {PD}, {V}")
    b(f"{lwu} {V}, -4({V})", "worst kept distance, out_dist[k - 1]")
    b(f"mv {THR}, {V}", "threshold: worst kept distance")
    b(f"j {nxt}")
    return a, b


_KERNELS = {"distance": (_gen_distance, ()), "scan": (_gen_scan, ()),
            "search": (_gen_search, SEARCH_STATE), "range": (_gen_range, RANGE_STATE)}


def emit(target: Target, spec: KernelSpec, chosen: str, sym: str, dialect: str):
    """GNU assembly for ``spec`` on ``target`` (rv32im / rv64im)."""
    ctx = _Ctx(target, spec, chosen)
    row = _row(ctx)
    gen, state = _KERNELS[spec.kernel]
    # The frame saves the callee-saved registers the row code names, and the
    # row walk's END and threshold (plus ra when it holds the stride).
    probe = _Asm()
    row.setup(probe)
    row.body(probe)
    if spec.kernel != "distance":
        probe.lines.append(f"{END} {THR}" + (f" {STRIDE_REG}" if not _fits12(ctx.stride) else ""))
    frame = _Frame(ctx, "\n".join(probe.lines), state)
    body, after = gen(ctx, row, frame)
    a = _Asm()
    if spec.kernel == "distance":
        walk = ["a0 query (then the distance returned), a1 row"]
    else:
        walk = ["a0 query, a1 row pointer (advanced inside the row body), a2 n, s0 END (db + n * stride)",
                "s1 " + {"scan": "out pointer", "search": "threshold (the k-th distance kept)",
                         "range": "radius"}[spec.kernel]]
    a.lines += kernel_header(STYLE, target=target, spec=spec, variant=chosen, options=variants(target, spec),
                             why=row.why(), prototype=prototype(spec.kernel, sym), layout=ctx.layout,
                             plan=walk + row.plan(), notes=row.notes() + frame.notes())
    a.blank()
    a.begin_function(sym)
    frame.prologue(a)
    a.extend(body)
    frame.epilogue(a)
    if after is not None:
        a.blank()
        a.extend(after)
    a.end_function(sym)
    return a.text(), ctx.layout, row.notes()
