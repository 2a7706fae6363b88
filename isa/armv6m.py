"""ARMv6-M (Cortex-M0) kernel generator: 16-bit Thumb only.

Owns the generator contract of docs/kernels.md for the ``armv6m`` family
(``generate`` / ``variants`` / ``max_dims``): distance, scan, top-k search
and range search for l1/l2 over 1-, 4-, 8- and 16-bit codes, AAPCS, every D
up to ``max_dims``.

What ARMv6-M leaves you: eight low registers (r0-r7) for nearly every
instruction, two-operand flag-setting ALU ops, no IT/CBZ, no DSP SIMD, no
literal pools here (the checker decodes all of ``.text``, so constants are
built with MOVS/LSLS/ADDS in the set-up code), and high registers
(r8-r12, lr) reachable only by MOV, ADD and CMP.  The kernels therefore keep
the hot row in the low registers and park loop state in the high ones: the
row end pointer and the current k-th distance are compared with CMP low,
high; accumulators grow with ADD high, low.

Variants
--------
``swar`` (4-, 8- and 16-bit, the default there)
    Whole words: each row word comes in with LDM, and a per-query table on
    the stack holds, per word, q|H and ~q (H = the top bit of every lane;
    built once per call, read with LDM; for one or two words the values
    stay resident in high registers instead and come back by MOV).  The
    wrap subtract is borrow-free because the top bit of every lane of the
    minuend is a guard set to 1 and that of the subtrahend is cleared; the
    true top bit is restored by XOR with ~(q ^ r) & H.

    * 8-bit l1: |int8| is taken as (d & 0x7f7f7f7f) ^ (m * 0x7f) + m with m
      the byte sign bits (so −128 → 128 exactly), in the nine-operation step
      of ``baselines/c/torus_swar.c`` (ten Thumb instructions with the LDM); the
      "+ m" is deferred to a byte counter, and two words of (|d| − m) ≤ 0x7f per byte add
      without overflow before being widened to two 16-bit lanes: about 19
      cycles per four dims.  Rows are fully unrolled up to ``UNROLL_WORDS``;
      longer rows loop over unrolled 16-word groups.
    * 4-bit, 8-bit l2, 16-bit: each lane of d is sign-extended (SXTB/SXTH,
      LSLS+ASRS, or ASRS for the top lane); the signed wrap difference x
      has |x| = t (−2^(n−1) → 2^(n−1)), so l1 adds |x| (sign mask, EORS,
      SUBS) and l2 adds x·x (MULS).  Unrolled up to ~400 instructions of
      row code, then looped groups.
``popcount`` (1-bit, the default there)
    XOR and a SWAR popcount (0x5555…, 0x3333… to nibble counts), three words
    of nibble counts added before the 0x0f0f… step, byte counts gathered in
    a high register and widened once per row (or per 30-word chunk).  Up to
    three query words stay resident in high registers.
``simple`` (every spec)
    One dim at a time (LDRB/LDRH, subtract, mask, min(δ, 2^n − δ) with a
    branch, MULS for l2), unpadded rows: the readable reference of the family.

The order is fixed, not searched per call: under the Cortex-M0 model the
word kernels cost 1.8-5x fewer cycles than ``simple`` on every spec
(tests/test_isa_armv6m.py checks the default is the cheaper one for each
bits/metric).  Both l2 kernels spend one MULS per dim, so on a part with
the 32-cycle multiplier option either pays 31 more cycles per dim.

The four kernels share one frame, prologue and epilogue; search and range
share one row walk.  Search keeps the sorted top-k list in the caller's
``out_idx``/``out_dist`` arrays and the current k-th distance in a high
register (0xffffffff while fewer than k rows are kept); range keeps its
radius there.  A row that does not pass costs one CMP and one not-taken
branch; the rare one that passes leaves the loop (search: enters only when
strictly closer, which keeps ties in row order; range: distance <= radius,
index written while count < cap).  Row bodies of up to ``ROW_PAIR_INSNS``
instructions are emitted twice per loop trip (an odd n enters at the second
copy).  Rows are walked by pointer; the out-of-line paths turn the pointer
back into a row index with an exact division (shift by the stride's power of
two, multiply by the inverse of its odd part mod 2^32).

Limits: rows (and the query) of at most ``MAX_ROW_BYTES`` = 1020 bytes, and
D within the uint32 bound of torus_hw.reference; ``max_dims`` is the smaller.
"""

from __future__ import annotations

from contextlib import contextmanager

from . import generate as core
from .emit import Asm, Style, kernel_header
from .spec import KernelSpec, RowLayout, prototype
from .targets import AAPCS, Target

# Rows (and the query) are at most 1020 bytes = 255 words: the swar kernel's
# 16-bit lanes sum at most 255 words x 256 < 2^16, and a Cortex-M0 part's
# SRAM (4-32 KiB) holds the 2 KiB query table at that size.
MAX_ROW_BYTES = 1020
UNROLL_WORDS = 32          # swar: rows up to 128 bytes are fully unrolled
SWAR_GROUP_WORDS = 16      # swar: longer rows loop over 16-word groups
POP_CHUNK_WORDS = 30       # popcount: byte counters hold 10 groups of 3 words (<= 240)

FRAME = 32                 # the kernels' locals below the query table (bytes; the SLOT_* offsets)
ROW_PAIR_INSNS = 100       # search: row bodies up to this size are emitted twice per loop trip


KERNELS = ("distance", "scan", "search", "range")
DIALECTS = ("gnu",)
ROW_LIMIT = "the SWAR lane sums and immediate offsets limit a row"
STYLE = Style(comment="@", column=28, label_pad=21)


def variants(target: Target, spec: KernelSpec) -> list[str]:
    return ["popcount" if spec.bits == 1 else "swar", "simple"]


# isa.generate's entry points, refusing a target of another family; max_dims: min(the uint32 bound of the distance, MAX_ROW_BYTES).
generate, max_dims = core.family_entry_points(__name__)


# --- the assembly writer ---------------------------------------------------------


class _Asm(Asm):
    def __init__(self) -> None:
        super().__init__(STYLE)

    def const(self, reg: str, value: int, comment: str | None = None) -> None:
        """Build a 32-bit constant in a low register without a literal pool (MOVS, then LSLS/ADDS per byte)."""
        if value < 256:
            self.op(f"movs {reg}, #{value}", comment)
            return
        chunks = [(value >> s) & 0xFF for s in (24, 16, 8, 0)]
        while chunks[0] == 0:
            chunks.pop(0)
        self.op(f"movs {reg}, #{chunks[0]}", comment or f"= {value:#010x}, built byte by byte")
        for byte in chunks[1:]:
            self.op(f"lsls {reg}, {reg}, #8")
            if byte:
                self.op(f"adds {reg}, #{byte}")

    def bcc_far(self, cond: str, label: str, far: bool) -> None:
        """Conditional branch; past B<cc>'s ±256-byte reach, an inverted B<cc> over a B."""
        if not far:
            self.op(f"b{cond} {label}")
            return
        inverse = {"ne": "eq", "eq": "ne"}[cond]
        self.op(f"b{inverse} 9f", "long branch: B<cc> reaches only ±256 bytes")
        self.op(f"b {label}")
        self.label("9")

    def sp_adjust(self, delta: int, scratch: str) -> None:
        """sp += delta (a multiple of 4); beyond ADD/SUB SP's 508-byte immediate, through `scratch`."""
        if abs(delta) <= 508:
            self.op(f"{'add' if delta > 0 else 'sub'} sp, #{abs(delta)}")
            return
        self.const(scratch, abs(delta))
        if delta < 0:
            self.op(f"rsbs {scratch}, {scratch}, #0")
        self.op(f"add {scratch}, sp")
        self.op(f"mov sp, {scratch}")

# --- row bodies: one row's distance, pointer advanced by the stride --------------
#
# Each body follows isa.generate.RowBody (set-up, body, plan, why) and names
# the low registers it uses: `row` is the row pointer (r0 in every body),
# `dist` where the distance ends.  The high registers r8 (end of the database)
# and r9 (k-th kept distance, radius or output pointer) belong to the kernel
# around the body.

QUERY = "r5"               # the query pointer at a body's set-up (r0 has become the row pointer)


def _noted(note: bool):
    """The comment of a step, or None: of a repeated (unrolled) step only the first copy is commented."""
    return (lambda text: text) if note else (lambda text: None)


class _Body:
    """Defaults of a row body; each subclass adds body, plan and why (isa.generate.RowBody)."""

    dist = "r2"
    spare = "r3"            # a low register free after the body (scan's store)
    align = 4               # rows padded to whole words (LDM), but the simple body's unpadded rows

    def __init__(self, spec: KernelSpec):
        self.spec = spec
        self.layout = RowLayout(spec.dims, spec.bits, align=self.align)
        self.words = self.layout.stride // 4 if self.align == 4 else 0

    def stack_bytes(self) -> int:
        """Bytes of per-call table the body keeps on the stack at sp + FRAME."""
        return 0

    def setup(self, a: _Asm) -> None:
        """Per call: QUERY (r5) holds the query pointer; may clobber r1-r7 (n in r2 is dead by then)."""

    def reload(self, a: _Asm) -> None:
        """Restore the loop-invariant low registers after the insertion path clobbered them."""


class _Simple(_Body):
    """One dim (4-bit: one byte, two dims) per loop trip; r10 = query, r11 = query end."""

    dist = "r4"
    spare = "r2"
    align = 1

    def plan(self) -> list[str]:
        return ["r0 row pointer (walks the row byte by byte)", "r1 query pointer", "r2, r3 query / row codes",
                "r4 distance accumulator", "r5, r7 scratch", "r6 constant (15 for 4-bit, 0 for 1-bit)",
                "r10 query start, r11 query end (reset and stop the dim loop)"]

    def why(self) -> str:
        return "the readable one-dim-at-a-time reference of the family"

    def setup(self, a: _Asm) -> None:
        a.op(f"mov r10, {QUERY}", "query start")
        a.const("r7", self.spec.row_bytes)
        a.op(f"adds r7, {QUERY}")
        a.op("mov r11, r7", "query end: the dim loop stops there")
        self.reload(a)

    def reload(self, a: _Asm) -> None:
        if self.spec.bits == 4:
            a.op("movs r6, #15", "nibble mask")
        elif self.spec.bits == 1:
            a.op("movs r6, #0", "zero, for ADCS")

    def _tmin(self, a: _Asm, x: str, y: str, mask: str | None, ext: str | None) -> None:
        """x = min(x mod 2^n, (-x) mod 2^n), y scratch."""
        if ext:
            a.op(f"{ext} {x}, {x}", "δ = (q - r) mod 2^n")
            a.op(f"rsbs {y}, {x}, #0")
            a.op(f"{ext} {y}, {y}", "2^n - δ (mod 2^n)")
        else:
            a.op(f"ands {x}, {mask}", "δ = (q - r) mod 16")
            a.op(f"rsbs {y}, {x}, #0")
            a.op(f"ands {y}, {mask}", "16 - δ (mod 16)")
        a.op(f"cmp {x}, {y}")
        a.op("bls 1f", "keep the smaller")
        a.op(f"movs {x}, {y}")
        a.label("1")
        if self.spec.metric == "l2":
            a.op(f"muls {x}, {x}, {x}", "t^2")
        a.op(f"adds r4, {x}")

    def body(self, a: _Asm) -> None:
        bits = self.spec.bits
        a.op("mov r1, r10", "query pointer back to the start")
        a.op("movs r4, #0")
        a.label(".Ldim", "one dim (4-bit: one byte = two dims) per trip")
        # One element of the query (r1) and of the row (r0) per trip: a
        # halfword for 16-bit codes, else a byte (two 4-bit dims, eight 1-bit).
        width = 2 if bits == 16 else 1
        a.op(f"ldr{'h' if width == 2 else 'b'} r2, [r1]")
        a.op(f"ldr{'h' if width == 2 else 'b'} r3, [r0]")
        a.op(f"adds r1, #{width}")
        a.op(f"adds r0, #{width}")
        if bits in (8, 16):
            a.op("subs r2, r2, r3")
            self._tmin(a, "r2", "r3", None, "uxth" if bits == 16 else "uxtb")
        elif bits == 4:
            a.op("subs r5, r2, r3", "low nibbles: dim 2j")
            self._tmin(a, "r5", "r7", "r6", None)
            a.op("lsrs r2, r2, #4", "high nibbles: dim 2j+1 (0 in both when padding)")
            a.op("lsrs r3, r3, #4")
            a.op("subs r5, r2, r3")
            self._tmin(a, "r5", "r7", "r6", None)
        else:
            a.op("eors r2, r3", "differing bits")
            for _ in range(8):
                a.op("lsrs r2, r2, #1", "next bit into C")
                a.op("adcs r4, r6", "r4 += C (r6 = 0)")
        a.op("cmp r1, r11")
        a.op("bne .Ldim")


class _SwarBody(_Body):
    """What both swar bodies share: the query as (q_j | H, ~q_j) word pairs, made once per call.

    Per word j of the query, q_j | H (H = the guard bits, the top bit of every
    lane) then ~q_j: in high registers `homes` when the row is short, else in a
    table on the stack at sp + FRAME that each row reads back with LDM.
    Subclasses set `guard`, `homes` and `looped_group` (words per looped group
    of a long row; 0 when the row is fully unrolled).
    """

    guard: int
    homes: list[tuple[str, str]] | None
    looped_group: int

    def stack_bytes(self) -> int:
        return 0 if self.homes else 8 * self.words

    def setup(self, a: _Asm) -> None:
        """The pairs, in `homes` or the table (r1-r4 clobbered); H is left in r6.

        With a looped group, r12 = the table address where the looped groups end.
        """
        a.note(f"Query resident in high registers: per word j, q_j | {self.guard:#010x} and ~q_j "
               "(MOV brings them back)." if self.homes else
               f"Query table: per word j, q_j | {self.guard:#010x} (guard bits) then ~q_j.")
        a.const("r6", self.guard, "H: the top bit of every lane")
        if self.homes:
            for hi_a, hi_b in self.homes:
                a.op(f"ldm {QUERY}!, {{r3}}")
                a.op("mvns r4, r3", "~q")
                a.op("orrs r3, r6", "q | H")
                a.op(f"mov {hi_a}, r3")
                a.op(f"mov {hi_b}, r4")
            return
        a.op(f"add r1, sp, #{FRAME}", "table start")
        a.const("r2", self.words, "words to convert")
        a.label(".Lqtab")
        a.op(f"ldm {QUERY}!, {{r3}}")
        a.op("mvns r4, r3", "~q")
        a.op("orrs r3, r6", "q | H")
        a.op("stm r1!, {r3, r4}")
        a.op("subs r2, #1")
        a.op("bne .Lqtab")
        if self.looped_group:
            a.op(f"add r1, sp, #{FRAME}")
            a.const("r3", (self.words // self.looped_group) * self.looped_group * 8)
            a.op("adds r3, r1")
            a.op("mov r12, r3", "query table end of the looped groups")

    def reload(self, a: _Asm) -> None:
        a.const("r6", self.guard, "H")

    def rewind(self, a: _Asm) -> None:
        """At the start of a row: r1 back to the table's first pair (nothing to do for resident pairs)."""
        if not self.homes:
            a.op(f"add r1, sp, #{FRAME}", "query table")

    def pair(self, a: _Asm, x: str, j: int, note: bool) -> None:
        """x = q_j | H, r4 = ~q_j: from high registers (2 cycles) or the stacked table (LDM, 3 cycles)."""
        if self.homes:
            a.op(f"mov {x}, {self.homes[j][0]}", "q|H (resident)" if note else None)
            a.op(f"mov r4, {self.homes[j][1]}", "~q (resident)" if note else None)
        else:
            a.op(f"ldm r1!, {{{x}, r4}}", "q|H, ~q (query table)" if note else None)


def _split_lanes(a: _Asm, x: str, t: str, shift: int, mask: str, lanes: str, note: bool) -> None:
    """x's `shift`-bit lanes widened, the odd ones to t: t = (x >> shift) & mask, x &= mask."""
    c = _noted(note)
    a.op(f"lsrs {t}, {x}, #{shift}", c(f"odd {lanes} ..."))
    a.op(f"ands {t}, {mask}", c(f"... to {2 * shift}-bit lanes"))
    a.op(f"ands {x}, {mask}", c(f"even {lanes} to {2 * shift}-bit lanes"))


@contextmanager
def _group_loop(a: _Asm, label: str, comment: str, end: str):
    """A long row's looped groups: the block emits one group; r1 walks the query (or its table) up to `end`."""
    a.label(label, comment)
    yield
    a.op(f"cmp r1, {end}")
    a.bcc_far("ne", label, True)


class _SwarLanes(_SwarBody):
    """4-, 8- (l2) and 16-bit: exact lane-wise wrap difference per word, then each lane sign-extended."""

    dist = "r2"
    spare = "r4"
    GUARD = {4: 0x88888888, 8: 0x80808080, 16: 0x80008000}
    BODY_INSNS = 400        # unrolled code per row (or per looped group) stays within ~800 bytes

    def __init__(self, spec: KernelSpec):
        super().__init__(spec)
        self.guard = self.GUARD[spec.bits]
        self.lanes = 32 // spec.bits
        per_word = 7 + self.lanes * (1.75 + (4 if spec.metric == "l1" else 2))
        self.group = max(1, int(self.BODY_INSNS // per_word))
        self.unroll = self.words <= self.group
        self.looped_group = 0 if self.unroll else self.group
        # r10, r11, r12 and lr are free in this body: two words of query fit them.
        self.homes = [("r10", "r11"), ("r12", "lr")][:self.words] if self.words <= 2 else None

    def plan(self) -> list[str]:
        where = ", ".join(f"{h[0]}/{h[1]} word {j}" for j, h in enumerate(self.homes or []))
        return ["r0 row pointer (LDM r0!)",
                f"query resident: q|H / ~q in {where}" if self.homes else
                f"r1 query-table pointer (reset to sp+{FRAME} per row; q|{self.guard:#010x}, ~q per word)",
                "r2 distance accumulator", "r3 d: the word's exact lane differences", "r4, r5 lane / sign scratch",
                f"r6 H = {self.guard:#010x} (lane top bits)",
                *([] if self.homes else ["r12 end of the query table's looped groups (long rows)"])]

    def why(self) -> str:
        n = self.spec.bits
        op = "|x| by sign mask" if self.spec.metric == "l1" else "x*x by MULS (t^2 = x^2 for the signed lane)"
        return (f"SWAR wrap subtract of {self.lanes} {n}-bit lanes per word (guard bits), each lane sign-extended "
                f"by LSLS/ASRS (the signed wrap difference x has |x| = t, -2^{n - 1} -> 2^{n - 1}), {op}; "
                f"{self.words} word(s) per row, {'fully unrolled' if self.unroll else f'groups of {self.group} words'}")

    def _word(self, a: _Asm, first: bool, note: bool, j: int = 0) -> None:
        """Word j: r3 = the exact per-lane (q - r) mod 2^n (r4, r5 clobbered), then each lane into r2."""
        n = self.spec.bits
        c = _noted(note)
        self.pair(a, "r3", j, note)
        a.op("ldm r0!, {r5}", c("R = row word"))
        a.op("eors r4, r5", c("~q ^ r"))
        a.op("ands r4, r6", c("c = ~(q ^ r) in each lane's top bit: fixes the guard bit"))
        a.op("bics r5, r6", c("r with lane top bits cleared"))
        a.op("subs r3, r3, r5", c("(q|H) - (r&~H): each guard bit absorbs its lane's borrow"))
        a.op("eors r3, r4", c(f"d = (q - r) mod 2^n in every {n}-bit lane"))
        for lane in range(self.lanes):
            c = _noted(note and lane < 2)
            if lane == self.lanes - 1:
                a.op(f"asrs r4, r3, #{32 - n}", c("top lane: ASRS sign-extends"))
            elif lane == 0 and n in (8, 16):
                a.op(f"sxt{'b' if n == 8 else 'h'} r4, r3", c("lane 0, signed: x = the wrap difference as int"))
            else:
                a.op(f"lsls r4, r3, #{32 - n * (lane + 1)}", c(f"lane {lane} to the top ..."))
                a.op(f"asrs r4, r4, #{32 - n}", c("... and back, sign-extended"))
            if self.spec.metric == "l1":
                a.op("asrs r5, r4, #31", c("s = x < 0 ? -1 : 0"))
                a.op("eors r4, r5")
                a.op("subs r4, r4, r5", c("|x| = t (the most negative lane gives 2^(n-1))"))
            else:
                a.op("muls r4, r4, r4", c("t^2 = x^2"))
            if first and lane == 0:
                a.op("movs r2, r4", c("distance starts"))
            else:
                a.op("adds r2, r4")

    def body(self, a: _Asm) -> None:
        W = self.words
        self.rewind(a)
        if self.unroll:
            for w in range(W):
                self._word(a, w == 0, w == 0, w)
            return
        a.op("movs r2, #0")
        with _group_loop(a, ".Lgroup", f"{self.group} words per trip", "r12"):
            for w in range(self.group):
                self._word(a, False, w == 0)
        for w in range(W % self.group):
            self._word(a, False, False)


class _Swar8(_SwarBody):
    """8-bit l1, four dims per word (see the module docstring for the algebra)."""

    dist = "r3"
    spare = "r4"
    guard = 0x80808080
    MASK = 0x00FF00FF       # M: even bytes to 16-bit lanes
    # r0 row, r1 query table, r2 X (pair sum), r3 A, r4 B, r5 R (row word), r6 H, r7 M
    # r10 byte-sign counter, r11 lane accumulator, r12 query-table group end

    def __init__(self, spec: KernelSpec):
        super().__init__(spec)
        # r12 and lr are free in this body: one word of query (D <= 4) fits them.
        self.homes = [("r12", "lr")] if self.words == 1 else None
        self.looped_group = SWAR_GROUP_WORDS if self.words > UNROLL_WORDS else 0

    def plan(self) -> list[str]:
        return ["r0 row pointer (LDM r0!: one word per LDM, the row is walked once)",
                "query resident: q|H in r12, ~q in lr" if self.homes else
                f"r1 query-table pointer (reset to sp+{FRAME} per row; LDM r1!: q|{self.guard:#010x}, ~q per word)",
                "r2 X: |d| - m of two words added (<= 0xfe per byte)", "r3 A, r4 B, r5 R: one word in flight",
                f"r6 H = {self.guard:#010x}", f"r7 M = {self.MASK:#010x} (byte -> 16-bit lane mask)",
                "r10 byte sign counter (the deferred + m of |d|)", "r11 two 16-bit lane sums",
                "r12 end of the query table's looped groups (rows longer than the unrolled limit)"]

    def why(self) -> str:
        shape = "fully unrolled" if self.words <= UNROLL_WORDS else f"unrolled groups of {SWAR_GROUP_WORDS} words"
        return ("SWAR over four bytes per word: borrow-free wrap subtract with guard bits, |int8| by sign masks, "
                f"{self.words} word(s) per row, {shape}; about 19 cycles per word against ~75 for one byte at a time")

    def setup(self, a: _Asm) -> None:
        super().setup(a)
        a.const("r7", self.MASK, "M (H is already in r6)")

    def reload(self, a: _Asm) -> None:
        super().reload(a)
        a.const("r7", self.MASK, "M")

    def _word(self, a: _Asm, x: str, first_word: bool, note: bool) -> None:
        """One word into `x` (= |d| - m per byte); m added to r10."""
        c = _noted(note)
        self.pair(a, x, 0, note)
        # The nine-operation step of baselines/c/torus_swar.c (only the top bits of ~q are
        # read, and they equal those of q ^ H): z = (q|H) - (r&L), s = (z ^ r ^ ~q) & H
        # the sign of d = q - r per byte, m = s >> 7, x = (z ^ (s - m)) & L = |d| - m.
        a.op("ldm r0!, {r5}", c("R = row word"))
        a.op("eors r4, r5", c("~q ^ r"))
        a.op("bics r5, r6", c("r & 0x7f7f7f7f"))
        a.op(f"subs {x}, {x}, r5", c("z = (q|H) - (r&~H): the guard bit absorbs each byte's borrow"))
        a.op(f"eors r4, {x}", c("z ^ r ^ ~q: its top bits are the sign of d = (q - r) mod 256"))
        a.op("ands r4, r6", c("s = sign bits of d"))
        a.op("lsrs r5, r4, #7", c("m = 1 in each negative byte"))
        a.op("subs r4, r4, r5", c("s - m = m * 0x7f"))
        a.op(f"eors {x}, r4", c("low 7 bits inverted where negative"))
        a.op(f"bics {x}, r6", c("|d| - m: 127 - low7 if negative (so -128 -> 127 + 1), else low7"))
        if first_word:
            a.op("mov r10, r5", c("byte sign counter starts"))
        else:
            a.op("add r10, r5", c("the deferred + m, counted per byte"))

    def _widen(self, a: _Asm, first: bool, note: bool) -> None:
        _split_lanes(a, "r2", "r3", 8, "r7", "bytes", note)
        if first:
            a.op("mov r11, r3", "lane sums start" if note else None)
        else:
            a.op("add r11, r3")
        a.op("add r11, r2")

    def _words(self, a: _Asm, n: int, first: bool) -> None:
        """n words unrolled (pairs, then a lone last word)."""
        for w in range(0, n, 2):
            note = first and w == 0
            self._word(a, "r2", first and w == 0, note)
            if w + 1 < n:
                self._word(a, "r3", False, False)
                a.op("adds r2, r3", "two words of |d| - m: <= 0xfe per byte" if note else None)
            self._widen(a, first and w == 0, note)

    def body(self, a: _Asm) -> None:
        W = self.words
        self.rewind(a)
        if W <= UNROLL_WORDS:
            self._words(a, W, True)
        else:
            a.op("movs r3, #0")
            a.op("mov r10, r3")
            a.op("mov r11, r3")
            with _group_loop(a, ".Lgroup", f"{SWAR_GROUP_WORDS} words per trip", "r12"):
                self._words(a, SWAR_GROUP_WORDS, False)
            rest = W % SWAR_GROUP_WORDS
            if rest:
                self._words(a, rest, False)
        a.note("Row total: widen the sign counter, add the lanes, fold the two halves.")
        a.op("mov r2, r10")
        _split_lanes(a, "r2", "r3", 8, "r7", "bytes", False)
        a.op("adds r2, r3")
        a.op("mov r3, r11")
        a.op("adds r2, r3", "two 16-bit lanes, each < 2^16 (<= 255 words)")
        a.op("uxth r3, r2")
        a.op("lsrs r2, r2, #16")
        a.op("adds r3, r2", "distance")


class _Popcount(_Body):
    """1-bit Hamming: XOR, SWAR popcount, byte counters."""

    dist = "r2"
    spare = "r3"
    # r0 row, r1 query, r2 N (nibble counts of up to 3 words), r3 T, r4 R, r5 C5, r6 C3, r7 CF
    # r10 byte counters, r11 query start, r12 32-bit sum (chunked rows), lr query end of the chunks

    HOMES = ("r11", "r12", "lr")     # free high registers: up to three query words stay resident

    def __init__(self, spec: KernelSpec):
        super().__init__(spec)
        self.homes = self.HOMES[:self.words] if self.words <= len(self.HOMES) else None

    def plan(self) -> list[str]:
        return ["r0 row pointer (LDM r0!)",
                f"query words resident in {', '.join(self.homes)} (MOV per use)" if self.homes else
                "r1 query pointer (LDM r1!, reset from r11 per row)",
                "r2 N: nibble counts of up to three words (<= 12)", "r3, r4 scratch / row word",
                "r5 0x55555555, r6 0x33333333, r7 0x0f0f0f0f", "r10 byte counters (<= 240)",
                *([] if self.homes else ["r11 query start",
                                         "r12 running sum and lr end of looped chunks (rows > 30 words)"])]

    def why(self) -> str:
        return (f"XOR + SWAR popcount on {self.words} word(s) per row; three words share the nibble-to-byte step "
                "and byte counters are widened once per row (or 30-word chunk)")

    def setup(self, a: _Asm) -> None:
        if self.homes:
            a.note("Query resident: each word in a high register, brought back by MOV (1 cycle, LDM 2).")
            for home in self.homes:
                a.op(f"ldm {QUERY}!, {{r3}}")
                a.op(f"mov {home}, r3")
        else:
            a.op(f"mov r11, {QUERY}", "query start")
            if self.words > POP_CHUNK_WORDS:
                a.const("r3", (self.words // POP_CHUNK_WORDS) * POP_CHUNK_WORDS * 4)
                a.op(f"adds r3, {QUERY}")
                a.op("mov lr, r3", "query end of the looped chunks")
        self.reload(a)

    def reload(self, a: _Asm) -> None:
        a.const("r5", 0x55555555)
        a.const("r6", 0x33333333)
        a.const("r7", 0x0F0F0F0F)

    def _word(self, a: _Asm, dst: str, note: bool, j: int) -> None:
        c = _noted(note)
        if self.homes:
            a.op(f"mov {dst}, {self.homes[j]}", c("query word (resident)"))
        else:
            a.op(f"ldm r1!, {{{dst}}}", c("query word"))
        a.op("ldm r0!, {r4}", c("row word"))
        a.op(f"eors {dst}, r4", c("differing bits"))
        a.op(f"lsrs r4, {dst}, #1")
        a.op("ands r4, r5")
        a.op(f"subs {dst}, {dst}, r4", c("2-bit counts: x - ((x >> 1) & 0x55..)"))
        a.op(f"lsrs r4, {dst}, #2")
        a.op("ands r4, r6")
        a.op(f"ands {dst}, r6")
        a.op(f"adds {dst}, r4", c("nibble counts (<= 4)"))

    def _chunk(self, a: _Asm, n: int, note: bool) -> None:
        """n <= 30 words into the byte counters r10 (which must start at 0 or be set by the first group)."""
        for g in range(0, n, 3):
            first = g == 0
            self._word(a, "r2", note and first, g)
            for w in range(1, min(3, n - g)):
                self._word(a, "r3", False, g + w)
                a.op("adds r2, r3", "nibble counts of up to 3 words: <= 12" if note and first else None)
            _split_lanes(a, "r2", "r3", 4, "r7", "nibbles", False)
            a.op("adds r2, r3", "byte counts (<= 24)" if note and first else None)
            if first:
                a.op("mov r10, r2", "byte counters start" if note else None)
            else:
                a.op("add r10, r2", "byte counters (<= 240 over 30 words)" if note else None)

    def _fold(self, a: _Asm, into_sum: bool) -> None:
        """r2 = sum of the byte counters r10 (and, `into_sum`, added to the running sum r12)."""
        a.op("mov r2, r10")
        a.op("lsrs r3, r2, #8")
        a.const("r4", 0x00FF00FF)
        a.op("ands r3, r4")
        a.op("ands r2, r4")
        a.op("adds r2, r3", "two 16-bit lanes")
        a.op("uxth r3, r2")
        a.op("lsrs r2, r2, #16")
        a.op("adds r2, r3", "popcount of the chunk")
        if into_sum:
            a.op("add r12, r2")

    def body(self, a: _Asm) -> None:
        W = self.words
        if not self.homes:
            a.op("mov r1, r11", "query pointer back to the start")
        if W <= POP_CHUNK_WORDS:
            self._chunk(a, W, True)
            self._fold(a, False)
            return
        a.op("movs r2, #0")
        a.op("mov r12, r2", "running sum")
        with _group_loop(a, ".Lchunk", f"{POP_CHUNK_WORDS} words per trip", "lr"):
            self._chunk(a, POP_CHUNK_WORDS, True)
            self._fold(a, True)
        rest = W % POP_CHUNK_WORDS
        if rest:
            self._chunk(a, rest, False)
            self._fold(a, True)
        a.op("mov r2, r12", "distance")


def _body(spec: KernelSpec, variant: str) -> _Body:
    if variant == "swar":
        return (_Swar8 if (spec.bits, spec.metric) == (8, "l1") else _SwarLanes)(spec)
    return {"simple": _Simple, "popcount": _Popcount}[variant](spec)


# --- the kernels: one frame, one row walk, the out-of-line paths --------------------
#
# Every kernel saves the same registers and reserves the same frame: eight
# words of locals at sp (the slots below), then the swar query table at
# sp + FRAME.  Search and range walk the rows the same way (r0 the row
# pointer, r8 its end, r9 the bound a row's distance is compared with) and
# leave the loop only for the rare row that passes.

SLOT_LIMIT = 0             # k (search) or cap (range)
SLOT_FOUND = 4             # rows kept (search) or counted (range): the result
SLOT_DB = 8                # db, for turning a row pointer back into a row index
SLOT_OUT_IDX = 12
SLOT_OUT_DIST = 16         # search only
SLOT_INVERSE = 20          # inverse of the stride's odd part mod 2^32
SLOT_COPY = 24             # which copy of a two-row trip left for the insertion path
SLOT_ODD = 28              # n odd: the two-row loop is entered at its second copy

# AAPCS's callee-saved registers, split the way v6-M must push them: r4-r7
# directly, r8-r11 moved through r4-r7 first.  With lr: nine words.
LOW = tuple(r for r in AAPCS.callee_saved if int(r[1:]) < 8)
HIGH = tuple(r for r in AAPCS.callee_saved if int(r[1:]) >= 8)
assert len(LOW) == len(HIGH) == 4
SAVED_BYTES = 4 * (len(LOW) + len(HIGH) + 1)
STACKED_INTO = ("r6", "r7")  # arguments beyond r0-r3 (search's and range's 5th and 6th) are read into these


def _prologue(a: _Asm, spec: KernelSpec, body: _Body) -> int:
    """Save r4-r11 and lr; reserve the frame and the body's table. Returns the bytes reserved.

    Arguments the caller stacked (AAPCS, for the kernel's argument kinds) are
    read into STACKED_INTO before the frame is reserved (past it they may lie
    beyond LDR's 1020-byte SP offset).
    """
    a.op(f"push {{{LOW[0]}-{LOW[-1]}, lr}}", "AAPCS: callee-saved low registers and the return address")
    for low, high in zip(LOW, HIGH):
        a.op(f"mov {low}, {high}")
    a.op(f"push {{{LOW[0]}-{LOW[-1]}}}", "callee-saved high registers, through low ones (v6-M PUSH takes low only)")
    places = AAPCS.arguments(spec.kind.arg_kinds)
    stacked = [(arg, where) for arg, where in zip(spec.kind.args, places) if where.register is None]
    assert len(stacked) <= len(STACKED_INTO)
    for reg, (arg, where) in zip(STACKED_INTO, stacked):
        a.op(f"ldr {reg}, [sp, #{SAVED_BYTES + where.offset}]", f"{arg.name} (stacked by the caller)")
    local = AAPCS.aligned_frame(SAVED_BYTES + FRAME + body.stack_bytes()) - SAVED_BYTES
    a.sp_adjust(-local, "r4")
    return local


def _epilogue(a: _Asm, local: int) -> None:
    a.sp_adjust(local, "r4")
    a.op(f"pop {{{LOW[0]}-{LOW[-1]}}}")
    for low, high in zip(LOW, HIGH):
        a.op(f"mov {high}, {low}")
    a.op(f"pop {{{LOW[0]}-{LOW[-1]}, pc}}", "return")


def _end_pointer(a: _Asm, body: _Body) -> None:
    """r8 = db + n * stride, the end of the database (db in r1, n in r2)."""
    a.const("r4", body.layout.stride, "row stride")
    a.op("muls r4, r2, r4", "n * stride")
    a.op("adds r4, r1")
    a.op("mov r8, r4", "r8 = end of the database")


def _enter_rows(a: _Asm, body: _Body) -> None:
    """The query pointer to QUERY, r0 = the first row, then the body's once-per-call set-up."""
    a.op(f"mov {QUERY}, r0")
    a.op("mov r0, r1", "r0 = row pointer")
    body.setup(a)


def _close_rows(a: _Asm, start: int) -> None:
    """Back to .Lrow until r0 reaches r8 (a long branch when the loop since `start` is long)."""
    a.op("cmp r0, r8")
    a.bcc_far("ne", ".Lrow", a.count - start > 100)


def _walk_setup(a: _Asm, spec: KernelSpec, body: _Body) -> None:
    """Search's and range's arguments into the frame, the stride inverse, r8 = end of the database."""
    sixth = {"search": (SLOT_OUT_DIST, "out_dist"), "range": (SLOT_LIMIT, "cap")}[spec.kernel]
    a.op(f"str r1, [sp, #{SLOT_DB}]", "db, for turning a row pointer into a row index")
    a.op(f"str r6, [sp, #{SLOT_OUT_IDX}]", "out_idx")
    a.op(f"str r7, [sp, #{sixth[0]}]", sixth[1])
    stride = body.layout.stride
    shift, inverse = core.exact_division(stride)
    a.const("r4", inverse, f"inverse of the stride's odd part {stride >> shift} mod 2^32")
    a.op(f"str r4, [sp, #{SLOT_INVERSE}]")
    _end_pointer(a, body)


def _row_loop(a: _Asm, body: _Body, branch: str, path: str, notes: tuple[str, str],
              result: str) -> list[tuple[str, str]]:
    """The row walk of search and range: each row's distance against r9, `branch` to `path` when it passes.

    Short bodies without loops of their own come twice per trip (an odd n,
    noted in SLOT_ODD, enters at the second copy): copy a branches to
    `path`_a and is resumed at .Lnext_a, copy b branches to `path`_b and is
    resumed at .Lnext.  One copy branches to `path`, resumed at .Lnext.
    Returns the (suffix, resume label) of each copy.
    """
    probe = _Asm()
    body.body(probe)
    two = probe.count <= ROW_PAIR_INSNS and not any(line.startswith(".L") for line in probe.lines)
    if two:
        a.op("movs r4, #1")
        a.op("ands r4, r2")
        a.op(f"str r4, [sp, #{SLOT_ODD}]", "n odd: enter the two-row loop at its second row")
    _enter_rows(a, body)
    d = body.dist
    start = a.count
    if two:
        a.op(f"ldr r4, [sp, #{SLOT_ODD}]")
        a.op("cmp r4, #0")
        a.op("bne .Lrow_b")
    copies = [(".Lrow", "two rows per trip (the row loop unrolled)", "_a", ".Lnext_a"),
              (".Lrow_b", "second row of the trip", "_b", ".Lnext")] if two else [
             (".Lrow", "one row per trip", "", ".Lnext")]
    for n, (row, comment, suffix, back) in enumerate(copies):
        c = _noted(n == 0)
        a.label(row, comment)
        body.body(a)
        a.op(f"cmp {d}, r9", c(notes[0]))
        a.op(f"b{branch} {path}{suffix}", c(notes[1]))
        a.label(back)
    _close_rows(a, start)
    a.label(".Ldone")
    a.op(f"ldr r0, [sp, #{SLOT_FOUND}]", result)
    a.op("b .Lexit")
    return [(suffix, back) for _, _, suffix, back in copies]


def _row_index(a: _Asm, body: _Body, i: str, tmp: str) -> None:
    """i = index of the row r0 has just moved past: (r0 - db) / stride - 1, an exact division."""
    stride = body.layout.stride
    shift, _ = core.exact_division(stride)
    a.op(f"ldr {i}, [sp, #{SLOT_DB}]")
    a.op(f"subs {i}, r0, {i}", "bytes from db to the end of this row = (i + 1) * stride")
    if shift:
        a.op(f"lsrs {i}, {i}, #{shift}")
    if stride >> shift != 1:
        a.op(f"ldr {tmp}, [sp, #{SLOT_INVERSE}]")
        a.op(f"muls {i}, {tmp}, {i}", "exact division by the odd part: multiply by its inverse mod 2^32")
    a.op(f"subs {i}, #1", "row index i")


def _distance(a: _Asm, spec: KernelSpec, body: _Body) -> None:
    local = _prologue(a, spec, body)
    _enter_rows(a, body)
    body.body(a)
    a.op(f"mov r0, {body.dist}", "return the distance")
    _epilogue(a, local)


def _scan(a: _Asm, spec: KernelSpec, body: _Body) -> None:
    local = _prologue(a, spec, body)
    a.op("cmp r2, #0")
    a.bcc_far("eq", ".Lexit", True)
    _end_pointer(a, body)
    a.op("mov r9, r3", "r9 = output pointer")
    _enter_rows(a, body)
    a.label(".Lrow", "one row per trip")
    start = a.count
    body.body(a)
    s = body.spare
    a.op(f"mov {s}, r9")
    a.op(f"stm {s}!, {{{body.dist}}}", "out[i] = distance")
    a.op(f"mov r9, {s}")
    _close_rows(a, start)
    a.label(".Lexit")
    _epilogue(a, local)


def _search(a: _Asm, spec: KernelSpec, body: _Body) -> None:
    local = _prologue(a, spec, body)
    a.note("r0 q, r1 db, r2 n, r3 k, r6 out_idx, r7 out_dist.")
    a.op(f"cmp r3, #{spec.k_max}")
    a.op("bls 1f")
    a.op(f"movs r3, #{spec.k_max}", "k > k_max: clamp (the list has k_max slots)")
    a.label("1")
    a.op(f"str r3, [sp, #{SLOT_LIMIT}]", "k")
    a.op("movs r4, #0")
    a.op(f"str r4, [sp, #{SLOT_FOUND}]", "found = 0")
    a.op("cmp r3, #0")
    a.bcc_far("eq", ".Lreturn", True)
    a.op("cmp r2, #0")
    a.bcc_far("eq", ".Lreturn", True)
    _walk_setup(a, spec, body)
    a.op("movs r4, #0")
    a.op("mvns r4, r4")
    a.op("mov r9, r4", "r9 = k-th best distance so far: 0xffffffff until k rows are kept")
    copies = _row_loop(a, body, "lo", ".Linsert",
                       ("closer than the k-th kept row?", "rarely: strictly closer (ties keep the lower row)"),
                       "return found = min(k, n)")
    two = len(copies) == 2
    if two:
        # Which copy entered the insertion path, kept on the stack (it clobbers the low registers).
        for flag, (suffix, _) in enumerate(copies):
            a.label(f".Linsert{suffix}")
            a.op(f"movs {body.spare}, #{flag}")
            a.op(f"str {body.spare}, [sp, #{SLOT_COPY}]",
                 f"return to the {'first' if flag == 0 else 'second'} row copy")
            a.op("b .Linsert")
    _insert(a, body)
    if two:
        a.op(f"ldr r1, [sp, #{SLOT_COPY}]")
        a.op("cmp r1, #0")
        a.bcc_far("eq", ".Lnext_a", True)
    a.op("b .Lnext")
    a.label(".Lreturn")
    a.op("movs r0, #0")
    a.label(".Lexit")
    _epilogue(a, local)


def _insert(a: _Asm, body: _Body) -> None:
    """Search's insertion path: row i with distance d (in body.dist) into the sorted top-k list.

    The row pointer r0 is past this row; every other low register is scratch,
    so the body's invariants are reloaded at the end.
    """
    d = body.dist
    i, pos, dist, idx, tmp, e = [r for r in ("r1", "r2", "r3", "r4", "r5", "r6", "r7") if r != d][:6]
    a.label(".Linsert", "insert row i with distance d into the sorted list")
    _row_index(a, body, i, tmp)
    a.op(f"ldr {dist}, [sp, #{SLOT_OUT_DIST}]", "out_dist")
    a.op(f"ldr {idx}, [sp, #{SLOT_OUT_IDX}]", "out_idx")
    a.op(f"ldr {tmp}, [sp, #{SLOT_FOUND}]", "found")
    a.op(f"ldr {e}, [sp, #{SLOT_LIMIT}]", "k")
    a.op(f"cmp {tmp}, {e}")
    a.op("blo 2f")
    a.op(f"subs {pos}, {e}, #1", "list full: the k-th entry drops out")
    a.op("b 3f")
    a.label("2")
    a.op(f"mov {pos}, {tmp}", "list not full: append at found")
    a.op(f"adds {tmp}, #1")
    a.op(f"str {tmp}, [sp, #{SLOT_FOUND}]", "found += 1")
    a.label("3")
    a.op(f"lsls {pos}, {pos}, #2", "byte offset of the slot")
    a.label(".Lshift", "move worse entries down one slot")
    a.op(f"cmp {pos}, #0")
    a.op("beq 4f")
    a.op(f"subs {tmp}, {pos}, #4")
    a.op(f"ldr {e}, [{dist}, {tmp}]")
    a.op(f"cmp {e}, {d}")
    a.op("bls 4f", "an equal distance came from an earlier row: it stays ahead")
    a.op(f"str {e}, [{dist}, {pos}]")
    a.op(f"ldr {e}, [{idx}, {tmp}]")
    a.op(f"str {e}, [{idx}, {pos}]")
    a.op(f"mov {pos}, {tmp}")
    a.op("b .Lshift")
    a.label("4")
    a.op(f"str {d}, [{dist}, {pos}]")
    a.op(f"str {i}, [{idx}, {pos}]")
    a.op(f"ldr {tmp}, [sp, #{SLOT_FOUND}]")
    a.op(f"ldr {e}, [sp, #{SLOT_LIMIT}]")
    a.op(f"cmp {tmp}, {e}")
    a.op("bne 5f", "not full yet: the threshold stays 0xffffffff")
    a.op(f"lsls {e}, {e}, #2")
    a.op(f"subs {e}, #4")
    a.op(f"ldr {e}, [{dist}, {e}]")
    a.op(f"mov r9, {e}", "threshold = the k-th kept distance")
    a.label("5")
    body.reload(a)


def _range(a: _Asm, spec: KernelSpec, body: _Body) -> None:
    local = _prologue(a, spec, body)
    a.note("r0 q, r1 db, r2 n, r3 radius, r6 out_idx, r7 cap.")
    a.op("movs r4, #0")
    a.op(f"str r4, [sp, #{SLOT_FOUND}]", "count = 0")
    a.op("cmp r2, #0")
    a.bcc_far("eq", ".Ldone", True)
    _walk_setup(a, spec, body)
    a.op("mov r9, r3", "r9 = radius")
    copies = _row_loop(a, body, "ls", ".Lhit",
                       ("within the radius?", "distance <= radius: count it (out of line)"),
                       "return the count of every row within the radius")
    for suffix, back in copies:
        _count_hit(a, body, suffix, back)
    a.label(".Lexit")
    _epilogue(a, local)


def _count_hit(a: _Asm, body: _Body, suffix: str, back: str) -> None:
    """Range's out-of-line path of one row copy: count the row, write its index while count < cap.

    One copy per row copy, each resuming its own copy, so a hit costs no more
    with two rows per trip.  It uses only r1-r4, which every body recomputes
    per row: the body's constants in r5-r7 and the high registers survive, so
    nothing is reloaded.
    """
    d = body.dist
    i, cnt, tmp = [r for r in ("r1", "r2", "r3", "r4") if r != d]
    a.label(f".Lhit{suffix}", "count the row; write its index while count < cap")
    a.op(f"ldr {cnt}, [sp, #{SLOT_FOUND}]", "count")
    a.op(f"ldr {tmp}, [sp, #{SLOT_LIMIT}]", "cap")
    a.op(f"cmp {cnt}, {tmp}")
    a.op("bhs 2f", "out_idx is full: only count")
    _row_index(a, body, i, tmp)
    a.op(f"ldr {tmp}, [sp, #{SLOT_OUT_IDX}]", "out_idx")
    a.op(f"lsls {d}, {cnt}, #2", "(the distance is no longer needed)")
    a.op(f"str {i}, [{tmp}, {d}]", "out_idx[count] = i (row order)")
    a.label("2")
    a.op(f"adds {cnt}, #1")
    a.op(f"str {cnt}, [sp, #{SLOT_FOUND}]", "count += 1")
    a.op(f"b {back}")


KERNEL_CODE = {"distance": _distance, "scan": _scan, "search": _search, "range": _range}
OUTER_PLAN = {"distance": [], "scan": ["r8 end of the database, r9 output pointer"],
              "search": ["r8 end of the database, r9 k-th kept distance (0xffffffff until k rows are kept)"],
              "range": ["r8 end of the database, r9 radius"]}


def emit(target: Target, spec: KernelSpec, variant: str, symbol: str, dialect: str):
    body = _body(spec, variant)
    layout = body.layout
    a = _Asm()
    a.lines += kernel_header(STYLE, target=target, spec=spec, variant=variant, options=variants(target, spec),
                             why=body.why(), prototype=prototype(spec.kernel, symbol), layout=layout,
                             plan=[*body.plan(), *OUTER_PLAN[spec.kernel]])
    a.lines += [
        "",
        target.asm_prologue.strip(),
        ".text",
        f".global {symbol}",
        f".type {symbol}, %function",
        ".p2align 2",
        ".thumb_func",
        f"{symbol}:",
    ]
    KERNEL_CODE[spec.kernel](a, spec, body)
    a.lines.append(f".size {symbol}, . - {symbol}")
    return a.text(), layout, [body.why()]
