"""ARMv7E-M (Cortex-M4) kernel generator: Thumb-2 with the DSP SIMD extension.

Owns the generator contract of docs/kernels.md for the ``armv7em`` family
(``generate`` / ``variants`` / ``max_dims``): distance, scan, top-k search
and range search for l1/l2 over 1-, 4-, 8- and 16-bit codes, AAPCS, any D up
to ``max_dims``.  The four kernels share one function frame, one row walk
(end pointer, loop entry, unrolling) and one row-index recovery; only what
each does with a row's distance differs.

Variants
--------
``dsp`` (default, fastest)
    Word-at-a-time SIMD on the packed row (rows padded to a 4-byte stride).

    * 8-bit l1: with q' = q XOR 0x80 per byte, y = USUB8(q', r) is
      (δ + 128) mod 256 and |y − 128| = min(δ, 256 − δ) exactly (δ = 128
      gives y = 0, distance 128), so USADA8 against 0x80808080 sums four
      torus distances: two instructions per four dims.  When the query does
      not fit the registers it is used raw: USADA8(USUB8(q, r), 0x80…)
      sums 128 − t, and one RSB per row turns that into Σt.
    * 8-bit l2: the wrap difference read as int8 squares to t² (−128² =
      128²): USUB8, SXTB16 (even and odd bytes), SMUAD/SMLAD.
    * 16-bit: USUB16 then |x| by SSUB16 from zero + SEL (GE = x ≤ 0,
      −32768 → 0x8000 = 32768) and two halfword adds (l1), or SMLAD (l2).
    * 4-bit: each nibble is moved to the top of its byte (AND with
      0xF0F0F0F0, before or after LSL #4), so USUB8 wraps mod 16 exactly and
      the byte is 16·δ; then the 8-bit tricks apply with a factor of 16
      (256 for l2) removed by one shift per row.
    * 1-bit: EOR and a SWAR popcount to byte counts, summed by USAD8(A8).

``simple``
    One dim at a time (LDRB/LDRH, subtract, mask, ``min(δ, 2^n − δ)`` with an
    IT block), unpadded rows; the readable reference of the family.

Row bodies (dsp), chosen per spec and named in the kernel's header:

* resident: the whole (transformed) query sits in registers, rows stream in
  through LDM with write-back (1 + N cycles), two or four rows per loop trip;
* pair / stream: the query does not fit; its words are reloaded in one
  pipelined LDR chain with the row words (TRM 3.3.1: neighbouring LDRs cost
  one cycle each), fully unrolled, and when registers allow (scan, search)
  two rows share each query load;
* loop: rows longer than 128 bytes run an inner loop over LDM chunks.

Search keeps the top k in a sorted list on the stack, the k-th distance
(the insertion threshold) in r3 or, when that register lets the query stay
resident, in the frame; a row is inserted only when strictly closer than the
k-th, so ties keep the lower row.  Rows are walked by pointer; the list
stores the pointer past each row and the exit code turns it into a row index
(a shift, or UDIV at most k times when the stride is not a power of two).
Range compares each row with the radius in r3; a hit branches out of line,
counts, and while count < cap writes its index (a shift and a multiply by the
inverse of the stride's odd part: exact, since the offset is a multiple).

Limits (``max_dims``): the uint32 bound of torus_hw.reference, and a packed
row of at most 64 KiB (the harness's query region; more than the SRAM of
most Cortex-M4 parts).  Every intermediate sum is bounded by the final
distance (or 16×/256× it for 4-bit, checked below 2^32 at 64 KiB rows).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import generate as core
from .emit import Asm, Style, kernel_header
from .spec import KINDS, KernelSpec, RowLayout, prototype
from .targets import AAPCS, Target

VARIANTS = ("dsp", "simple")

# A packed row (and so the query) of at most 64 KiB: the harness's query region,
# and more SRAM than most Cortex-M4 parts have.  It also bounds the 4-bit sums,
# which carry a factor 16 (l1: 16·8·131072 = 2^24) or 256 (l2: 256·64·131072 = 2^31).
MAX_ROW_BYTES = 65536

UNROLL_MAX_WORDS = 32      # rows up to 128 bytes are fully unrolled (dsp)
ROW_UNROLL_MAX_WORDS = 16  # rows up to 64 bytes: two per loop trip (up to 16 bytes: four)
POOL = ["r3", "r4", "r5", "r6", "r7", "r8", "r9", "r10", "r11", "r12", "lr"]


KERNELS = ("distance", "scan", "search", "range")
DIALECTS = ("gnu",)
ROW_LIMIT = "a packed row must fit the harness's query region"
STYLE = Style(comment="@", column=34, gap=" ", label_pad=26)


def variants(target: Target, spec: KernelSpec) -> list[str]:
    return list(VARIANTS)


# isa.generate's entry points, refusing a target of another family; max_dims: min(the uint32 accumulator bound, a 64 KiB packed row).
generate, max_dims = core.family_entry_points(__name__)


# --- small helpers ---------------------------------------------------------------


def _t2_imm(value: int) -> bool:
    """Is ``value`` a Thumb-2 modified immediate (ThumbExpandImm)?"""
    v = value & 0xFFFF_FFFF
    b = v & 0xFF
    if v < 256 or v in (b * 0x0001_0001, b * 0x0101_0101) or v == ((v >> 8) & 0xFF) * 0x0100_0100:
        return True
    for rot in range(8, 32):
        x = ((v << rot) | (v >> (32 - rot))) & 0xFFFF_FFFF
        if x < 256 and x & 0x80:
            return True
    return False


class _Asm(Asm):
    """The shared emitter in this family's style, with Thumb-2 constants and immediates (no literal pool)."""

    def __init__(self) -> None:
        super().__init__(STYLE)

    def const(self, reg: str, value: int, comment: str | None = None) -> None:
        value &= 0xFFFF_FFFF
        if _t2_imm(value):
            self.op(f"mov.w {reg}, #{value:#x}", comment)
        elif _t2_imm(~value):
            self.op(f"mvn {reg}, #{~value & 0xFFFF_FFFF:#x}", comment)
        else:
            self.op(f"movw {reg}, #{value & 0xFFFF:#x}", comment)
            if value >> 16:
                self.op(f"movt {reg}, #{value >> 16:#x}")

    def arith(self, op: str, dst: str, src: str, value: int, scratch: str, comment: str) -> None:
        """dst = src ± value (``op`` add or sub): ADDW/SUBW take 12 bits, .W a modified immediate, else ``scratch``."""
        if value < 4096:
            self.op(f"{op}w {dst}, {src}, #{value}", comment)
        elif _t2_imm(value):
            self.op(f"{op}.w {dst}, {src}, #{value:#x}", comment)
        else:
            self.const(scratch, value)
            self.op(f"{op} {dst}, {src}, {scratch}", comment)

    def rsb_const(self, acc: str, value: int, scratch: str, comment: str) -> None:
        """acc = value − acc."""
        if _t2_imm(value):
            self.op(f"rsb {acc}, {acc}, #{value:#x}", comment)
        else:
            self.const(scratch, value)
            self.op(f"sub {acc}, {scratch}, {acc}", comment)


# --- the per-word SIMD recipes (dsp) ---------------------------------------------


@dataclass(frozen=True)
class _Recipe:
    """How one 32-bit word of query and row becomes a partial sum."""

    consts: tuple[tuple[str, int, str], ...]   # (role, value, why)
    qforms: int                                 # registers one resident query word occupies
    temps: int                                  # scratch registers per word (besides the row word)
    dims_per_word: int


_C80 = ("c80", 0x8080_8080, "bias 128 per byte for USADA8")
_MF0 = ("mF0", 0xF0F0_F0F0, "keeps the nibble at the top of each byte")
_POPCOUNT = _Recipe((("m55", 0x5555_5555, "popcount: pairs"), ("m33", 0x3333_3333, "popcount: nibbles"),
                     ("m0F", 0x0F0F_0F0F, "popcount: bytes"), ("zero", 0, "USAD8 against zero sums bytes")), 1, 1, 32)

# (bits, metric) -> recipe; at 1 bit l2 is l1 (t is 0 or 1)
_RECIPES = {
    (8, "l1"): _Recipe((_C80,), 1, 0, 4),
    (8, "l2"): _Recipe((), 1, 1, 4),
    (16, "l1"): _Recipe((("zero", 0, "SSUB16 computes 0 − x for |x|"),), 1, 1, 2),
    (16, "l2"): _Recipe((), 1, 0, 2),
    (4, "l1"): _Recipe((_MF0, _C80), 2, 1, 8),
    (4, "l2"): _Recipe((_MF0,), 2, 2, 8),
    (1, "l1"): _POPCOUNT,
    (1, "l2"): _POPCOUNT,
}


class _DspRow:
    """Emits the dsp distance of one row into ``acc`` (every kernel shares it)."""

    def __init__(self, spec: KernelSpec, layout: RowLayout, pool: list[str], *, pairs: bool = False):
        self.bits, self.metric = spec.bits, spec.metric
        self.r = _RECIPES[spec.bits, spec.metric]
        self.words = layout.stride // 4
        self.stride = layout.stride
        self.q, self.row = "r0", "r1"
        self.acc_b, self.rowregs_b = None, []
        pool = list(pool)
        self.acc = pool.pop(0)
        self.c = {role: pool.pop(0) for role, _, _ in self.r.consts}
        self.temps = [pool.pop(0) for _ in range(self.r.temps)]
        # Mode: all query words resident in registers (direct form), else stream
        # query and row words from memory each row (raw form), in a loop for long rows.
        free = len(pool) + 1                           # r0 joins when the whole query is resident
        w = self.words
        if w * self.r.qforms + 2 <= free and w <= UNROLL_MAX_WORDS:
            self.mode = "resident"
            pool.append(self.q)
            self.qregs = [pool.pop(0) for _ in range(w * self.r.qforms)]
            n_row = min(len(pool), max(w, 2), 8)
            self.rowregs = sorted(pool[:n_row], key=_regno)
            self.chunk = min(n_row, w)
            self.prep = []
        else:
            self.mode = "stream" if w <= UNROLL_MAX_WORDS else "loop"
            if self.mode == "loop":
                # r0 itself walks the query (rewound after each row); qend marks the chunk loop's end
                self.qp, self.qend = self.q, pool.pop(0)
            # a 4-bit raw query word expands to two forms: one shared register holds the even-dim form
            self.prep = [pool.pop(0)] if self.r.qforms == 2 else []
            assert len(pool) >= 2, "the largest recipe (1-bit: 4 constants, 1 temp) leaves 3 of 10"
            if pairs and self.mode == "stream" and len(pool) >= 7:
                # Two rows per pass share each query load: 2 query, 2 + 2 row registers, a second acc.
                self.mode = "pair"
                self.acc_b = pool.pop(0)
                self.rowregs_b = sorted(pool[4:6], key=_regno)
            self.chunk = 2 if self.mode == "pair" else max(1, min(4, len(pool) // 2))
            self.qregs = sorted(pool[:self.chunk], key=_regno)
            self.rowregs = sorted(pool[self.chunk:2 * self.chunk], key=_regno)
        self.direct = self.mode == "resident"
        self.used = {self.acc, *self.c.values(), *self.temps, *self.qregs, *self.rowregs,
                     *self.prep, *([self.qend] if self.mode == "loop" else []),
                     *([self.acc_b, *self.rowregs_b] if self.mode == "pair" else [])}
        self.scratch = self.rowregs[0]                 # free outside the row body
        # registers dead between rows (the search's insertion code may use them)
        self.free_after_body = (self.rowregs + self.rowregs_b + self.temps
                                + (self.qregs + self.prep if self.mode != "resident" else []))

    # -- description --------------------------------------------------------------

    def plan(self) -> list[str]:
        out = [f"acc = {self.acc} (row distance)"]
        out += [f"{role} = {reg} (constant {v:#010x}: {why})" for (role, v, why), reg
                in zip(self.r.consts, self.c.values())]
        if self.temps:
            out.append(f"scratch = {', '.join(self.temps)}")
        if self.mode == "resident":
            out.append(f"query words (resident, {self.r.qforms} form(s) per word) = {', '.join(self.qregs)}")
            out.append(f"row words, LDM chunks of {self.chunk} = {', '.join(self.rowregs)}")
        else:
            out.append(f"query chunk = {', '.join(self.qregs)}; row chunk = {', '.join(self.rowregs)}"
                       + (f"; expanded 4-bit forms = {', '.join(self.prep)}" if self.prep else ""))
            if self.mode == "pair":
                out.append(f"second row of a pair: acc = {self.acc_b}, row chunk = {', '.join(self.rowregs_b)}")
            if self.mode == "loop":
                out.append(f"query pointer = {self.qp} (walks the query, rewound each row), "
                           f"query loop end = {self.qend}")
        return out

    def why(self) -> str:
        w = self.words
        if self.mode == "resident":
            return (f"the {w}-word query fits the registers: rows stream through LDM with write-back and cost "
                    f"only the SIMD ops per word")
        if self.mode == "stream":
            return f"the {w}-word query does not fit the registers: query and row words are loaded each row"
        if self.mode == "pair":
            return (f"the {w}-word query does not fit the registers: rows go in pairs, each query word "
                    f"loaded once for both (one pipelined LDR chain per 2 words)")
        return f"the row ({w} words) is too long to unroll: an inner loop over {self.chunk}-word chunks"

    # -- code ---------------------------------------------------------------------------

    def setup(self, a: _Asm) -> None:
        """Constants and the resident query (once per call)."""
        for (role, value, why), reg in zip(self.r.consts, self.c.values()):
            a.const(reg, value, why)
        if self.mode != "resident":
            if self.mode == "loop":
                loop_words = (self.words // self.chunk) * self.chunk
                a.arith("add", self.qend, self.q, 4 * loop_words, self.scratch, "query end of the chunk loop")
            return
        raw = self.qregs[::self.r.qforms]
        # the query pointer may itself become a query register: load it last
        for i, reg in sorted(enumerate(raw), key=lambda item: item[1] == self.q):
            a.op(f"ldr {reg}, [{self.q}, #{4 * i}]", "query word (held for the whole call)" if i == 0 else None)
        for i, reg in enumerate(raw):
            forms = self.qregs[i * self.r.qforms:(i + 1) * self.r.qforms]
            self._prep(a, reg, forms, first=i == 0)

    def _prep(self, a: _Asm, raw: str, forms: list[str], *, first: bool) -> None:
        """A resident query word in the form(s) the recipe subtracts rows from (biased for l1)."""
        bits, metric = self.bits, self.metric
        if bits == 8 and metric == "l1":
            a.op(f"eor {raw}, {raw}, {self.c['c80']}",
                 "q' = q + 128 per byte: USUB8(q', r) = δ + 128, |· − 128| = t" if first else None)
        elif bits == 4:
            lo, hi = forms
            a.op(f"and {hi}, {raw}, {self.c['mF0']}", "odd dims: nibble already on top of its byte" if first else None)
            a.op(f"and {lo}, {self.c['mF0']}, {raw}, lsl #4", "even dims: nibble moved to the top" if first else None)
            if metric == "l1":
                a.op(f"eor {hi}, {hi}, {self.c['c80']}", "+128 bias, as for 8-bit" if first else None)
                a.op(f"eor {lo}, {lo}, {self.c['c80']}")

    def _word(self, a: _Asm, forms: list[str], r: str, first: bool, note: bool, acc: str | None = None) -> None:
        """acc (+)= partial sum of one word; ``r`` (the row word) is clobbered, the query forms are not.

        Only the first word of a row carries comments (``note``).
        """
        acc, c, t = acc or self.acc, self.c, self.temps
        bits, metric = self.bits, self.metric

        def say(text: str) -> str | None:
            return text if note else None

        def sad(x: str, k: str, why: str | None, first: bool = first):
            a.op(f"usad8 {acc}, {x}, {k}" if first else f"usada8 {acc}, {x}, {k}, {acc}", why)

        def sq(x: str, why: str | None, first: bool = first):
            a.op(f"smuad {acc}, {x}, {x}" if first else f"smlad {acc}, {x}, {x}, {acc}", why)

        def per_byte(x: str, q: str, first: bool, note: bool):
            """The 8-bit recipe on the four bytes of ``x`` against the query form ``q`` (4-bit: one half)."""
            a.op(f"usub8 {x}, {q}, {x}", "y = q − r per byte, wrapping (GE unused)" if note else None)
            if metric == "l1":
                sad(x, c["c80"], "Σ|y − 128|: Σt (biased q) or Σ(128 − t) (raw q)" if note else None, first)
                return
            spare = t[-1]
            a.op(f"sxtb16 {spare}, {x}", "bytes 0, 2 → signed halfwords (as int8, δ² = t²)" if note else None)
            a.op(f"sxtb16 {x}, {x}, ror #8", "bytes 1, 3 → signed halfwords" if note else None)
            sq(spare, "acc += x0² + x2², then x1² + x3²" if note else None, first)
            sq(x, None, first=False)

        if bits == 8:
            per_byte(r, forms[0], first, note)
        elif bits == 4:
            lo, hi = forms
            a.op(f"and {t[0]}, {c['mF0']}, {r}, lsl #4",
                 say("row even dims to the top of each byte: the 8-bit recipe sees 16·δ (and 16·t or 256·t²)"))
            per_byte(t[0], lo, first, note)
            a.op(f"and {r}, {r}, {c['mF0']}", say("row odd dims, already on top"))
            per_byte(r, hi, False, False)
        elif bits == 16 and metric == "l1":
            a.op(f"usub16 {r}, {forms[0]}, {r}", say("δ per halfword"))
            a.op(f"ssub16 {t[0]}, {c['zero']}, {r}", say("−x; GE set where x ≤ 0 (x = −32768 too)"))
            a.op(f"sel {r}, {t[0]}, {r}", say("|x| per halfword: 0x8000 reads as 32768"))
            if first:
                a.op(f"uxth {acc}, {r}", "low halfword")
            else:
                a.op(f"uxtah {acc}, {acc}, {r}", say("acc += low halfword"))
            a.op(f"add {acc}, {acc}, {r}, lsr #16", say("acc += high halfword"))
        elif bits == 16:
            a.op(f"usub16 {r}, {forms[0]}, {r}", say("δ per halfword; as int16 its square is t²"))
            sq(r, say("acc += x0² + x1² (wraps only past 2^32, excluded by max_dims)"))
        else:
            x = t[0]
            a.op(f"eor {r}, {forms[0]}, {r}", say("differing bits"))
            a.op(f"and {x}, {c['m55']}, {r}, lsr #1", say("SWAR popcount: 2-bit counts"))
            a.op(f"sub {r}, {r}, {x}")
            a.op(f"and {x}, {c['m33']}, {r}, lsr #2", say("4-bit counts"))
            a.op(f"and {r}, {r}, {c['m33']}")
            a.op(f"add {r}, {r}, {x}")
            a.op(f"add {r}, {r}, {r}, lsr #4", say("8-bit counts (≤ 8, no carry out of a byte)"))
            a.op(f"and {r}, {r}, {c['m0F']}")
            sad(r, c["zero"], say("USAD8 against zero sums the four byte counts"))

    def _load(self, a: _Asm, base: str, regs: list[str], note: str | None) -> None:
        """Consecutive words at ``base`` into ``regs``, ``base`` moved past them (LDM: 1 + N cycles)."""
        if len(regs) == 1:
            a.op(f"ldr {regs[0]}, [{base}], #4", note)
        else:
            a.op(f"ldm {base}!, {{{', '.join(regs)}}}", note)

    def body(self, a: _Asm, label: str) -> None:
        """acc = distance of the row at ``row``; ``row`` ends one stride further on."""
        w = self.words
        if self.mode == "resident":
            first = True
            for start in range(0, w, self.chunk):
                n = min(self.chunk, w - start)
                regs = self.rowregs[:n]
                self._load(a, self.row, regs, f"row words {start}..{start + n - 1} (1 + N cycles)")
                for i, reg in enumerate(regs):
                    word = start + i
                    forms = self.qregs[word * self.r.qforms:(word + 1) * self.r.qforms]
                    self._word(a, forms, reg, first, note=first)
                    first = False
        elif self.mode in ("stream", "pair"):
            self._streamed(a, [(self.rowregs, 0, None)])
            a.op(f"add {self.row}, {self.row}, #{4 * w}", "next row")
        else:
            loop_words = (w // self.chunk) * self.chunk
            a.op(f"movs {self.acc}, #0")
            a.label(f"{label}_chunk", f"inner loop: {self.chunk} words per trip")
            self._load(a, self.qp, self.qregs, "raw query words")
            self._load(a, self.row, self.rowregs, "row words")
            self._chunk_ops(a, self.chunk, first=False)
            a.op(f"cmp {self.qp}, {self.qend}")
            a.op(f"bne {label}_chunk")
            rest = w - loop_words
            if rest:
                for i in range(rest):
                    a.op(f"ldr {self.qregs[i]}, [{self.qp}, #{4 * i}]", "tail query words" if i == 0 else None)
                self._load(a, self.row, self.rowregs[:rest], "tail row words")
                self._chunk_ops(a, rest, first=False)
            a.arith("sub", self.qp, self.qp, 4 * loop_words, self.scratch, "rewind the query pointer")
        self.finish(a)

    def _streamed(self, a: _Asm, rows: list[tuple[list[str], int, str | None]]) -> None:
        """The query streamed word by word against one row, or two (a pair); ``row`` is not moved.

        ``rows`` holds (row registers, byte offset from ``row``, comment) per
        row.  Each chunk of query words is loaded once, in one pipelined LDR
        chain with the row words, and serves every row.
        """
        also = (rows[1][0], self.acc_b) if len(rows) == 2 else None
        note = ("each query word serves two rows: one pipelined LDR chain" if also
                else "query and row words: one pipelined LDR chain")
        first = True
        for start in range(0, self.words, self.chunk):
            n = min(self.chunk, self.words - start)
            for i in range(n):
                a.op(f"ldr {self.qregs[i]}, [{self.q}, #{4 * (start + i)}]", note if first and i == 0 else None)
            for regs, offset, why in rows:
                for i in range(n):
                    a.op(f"ldr {regs[i]}, [{self.row}, #{offset + 4 * (start + i)}]",
                         why if first and i == 0 else None)
            self._chunk_ops(a, n, first, also)
            first = False

    def body_pair(self, a: _Asm) -> None:
        """acc = distance of the row at r1, acc_b of the next one; r1 is not moved."""
        self._streamed(a, [(self.rowregs, 0, "row A"), (self.rowregs_b, self.stride, "row B, one stride further")])
        self.finish(a)
        self.finish(a, self.acc_b)

    def _chunk_ops(self, a: _Asm, n: int, first: bool, also=None) -> None:
        for i in range(n):
            q, r = self.qregs[i], self.rowregs[i]
            if self.r.qforms == 2:
                even = self.prep[0]
                a.op(f"and {even}, {self.c['mF0']}, {q}, lsl #4",
                     "raw query: even dims to the top (used before the next word)" if first and i == 0 else None)
                a.op(f"and {q}, {q}, {self.c['mF0']}", "raw query: odd dims" if first and i == 0 else None)
                forms = [even, q]
            else:
                forms = [q]
            self._word(a, forms, r, first and i == 0, note=first and i == 0)
            if also is not None:
                self._word(a, forms, also[0][i], first and i == 0, note=False, acc=also[1])

    def finish(self, a: _Asm, acc: str | None = None) -> None:
        """Turn the SIMD sum into the distance (nothing for most recipes)."""
        bits, metric, acc = self.bits, self.metric, acc or self.acc
        dims = self.words * self.r.dims_per_word
        scratch = self.scratch
        if bits == 8 and metric == "l1" and not self.direct:
            a.rsb_const(acc, 128 * dims, scratch, f"Σt = 128·{dims} − Σ(128 − t) (pad dims add 128 each)")
        elif bits == 4 and metric == "l1":
            if not self.direct:
                a.rsb_const(acc, 128 * dims, scratch, f"16·Σt = 128·{dims} − Σ16·(8 − t)")
            a.op(f"lsr {acc}, {acc}, #4", "remove the factor 16 of the top-of-byte nibbles")
        elif bits == 4:
            a.op(f"lsr {acc}, {acc}, #8", "remove the factor 256 (16² of the top-of-byte nibbles)")


# --- simple: one dim at a time ------------------------------------------------------


class _SimpleRow:
    def __init__(self, spec: KernelSpec, layout: RowLayout, pool: list[str]):
        self.spec = spec
        self.stride = layout.stride
        pool = list(pool)
        self.acc, self.qp, self.rend, self.a, self.b, self.c = (pool.pop(0) for _ in range(6))
        self.q, self.row = "r0", "r1"
        self.used = {self.acc, self.qp, self.rend, self.a, self.b, self.c}
        self.mode = "simple"
        self.scratch = self.a
        self.free_after_body = [self.a, self.b, self.c]

    def plan(self) -> list[str]:
        return [f"acc = {self.acc}", f"query pointer = {self.qp}", f"row end = {self.rend}",
                f"scratch = {self.a}, {self.b}, {self.c}"]

    def why(self) -> str:
        return "reference variant: one dim per step, no SIMD; kept to measure the dsp variant against"

    def setup(self, a: _Asm) -> None:
        pass

    def _tmin(self, a: _Asm, x: str, bits: int, note: bool) -> None:
        top = 1 << bits
        a.op(f"cmp {x}, #{top >> 1}", f"t = min(δ, {top} − δ)" if note else None)
        a.op("it hi")
        a.op(f"rsbhi {x}, {x}, #{top}")
        if self.spec.metric == "l1":
            a.op(f"add {self.acc}, {self.acc}, {x}")
        else:
            a.op(f"mla {self.acc}, {x}, {x}, {self.acc}", "acc += t²" if note else None)

    def body(self, a: _Asm, label: str) -> None:
        bits = self.spec.bits
        acc, qp, x, y, z, row = self.acc, self.qp, self.a, self.b, self.c, self.row
        a.op(f"mov {qp}, {self.q}")
        a.op(f"add {self.rend}, {row}, #{self.stride}", "row end")
        a.op(f"movs {acc}, #0")
        a.label(f"{label}_dim", "one byte (or halfword) of codes per trip")
        if bits in (8, 16):
            ld, mask = ("ldrb", "uxtb") if bits == 8 else ("ldrh", "uxth")
            a.op(f"{ld} {x}, [{qp}], #{bits // 8}")
            a.op(f"{ld} {y}, [{row}], #{bits // 8}")
            a.op(f"sub {x}, {x}, {y}")
            a.op(f"{mask} {x}, {x}", f"δ = (q − r) mod 2^{bits}")
            self._tmin(a, x, bits, True)
        elif bits == 4:
            a.op(f"ldrb {x}, [{qp}], #1")
            a.op(f"ldrb {y}, [{row}], #1")
            a.op(f"sub {z}, {x}, {y}", "low nibbles: the borrow from the high nibble is masked away")
            a.op(f"and {z}, {z}, #15")
            self._tmin(a, z, 4, True)
            a.op(f"lsr {x}, {x}, #4")
            a.op(f"sub {x}, {x}, {y}, lsr #4", "high nibbles")
            a.op(f"and {x}, {x}, #15")
            self._tmin(a, x, 4, False)
        else:
            a.op(f"ldrb {x}, [{qp}], #1")
            a.op(f"ldrb {y}, [{row}], #1")
            a.op(f"eors {x}, {x}, {y}", "differing bits of 8 dims")
            a.label(f"{label}_bit", "clear the lowest set bit until none is left")
            a.op(f"cbz {x}, {label}_bits_done")
            a.op(f"sub {y}, {x}, #1")
            a.op(f"and {x}, {x}, {y}")
            a.op(f"add {acc}, {acc}, #1")
            a.op(f"b {label}_bit")
            a.label(f"{label}_bits_done")
        a.op(f"cmp {row}, {self.rend}")
        a.op(f"bne {label}_dim")


def _regno(reg: str) -> int:
    return 14 if reg == "lr" else int(reg[1:])


# --- kernels: one function each, around the shared row walk -------------------------


def _layout(spec: KernelSpec, variant: str) -> RowLayout:
    return RowLayout(spec.dims, spec.bits, align=4 if variant == "dsp" else 1)


@dataclass
class _Function:
    """One kernel as the file's function, before the prologue and epilogue are put around it."""

    row: _DspRow | _SimpleRow
    saved: list[str]          # pushed by the prologue (lr last), popped by the epilogue (into pc)
    body: _Asm                # between the prologue and the epilogue
    registers: str            # the arguments' registers, for the header's register plan
    tail: _Asm | None = None  # cold code after the epilogue (out-of-line paths, early exits)
    notes: list[str] = field(default_factory=list)   # for the header: the frame, the rare paths


def emit(target: Target, spec: KernelSpec, variant: str, symbol: str, dialect: str):
    layout = _layout(spec, variant)
    kernel = {"search": _search, "scan": _scan, "distance": _distance, "range": _range}[spec.kernel]
    fn = kernel(spec, layout, variant)
    a = _Asm()
    notes = ["q and db must be 4-byte aligned (LDM faults on unaligned addresses)"] if layout.align == 4 else []
    a.lines += kernel_header(STYLE, target=target, spec=spec, variant=variant, options=VARIANTS, why=fn.row.why(),
                             prototype=prototype(spec.kernel, symbol), layout=layout,
                             plan=[fn.registers, *fn.row.plan()], notes=notes + fn.notes)
    for directive in (".text", f".globl {symbol}", f".type {symbol}, %function", ".p2align 2", ".thumb_func"):
        a.directive(directive)
    a.label(symbol)
    a.op(f"push {{{', '.join(fn.saved)}}}", "AAPCS: callee-saved registers")
    a.extend(fn.body)
    _epilogue(a, fn.saved)
    if fn.tail is not None:
        a.extend(fn.tail)
    return target.asm_prologue + a.text(), layout, [fn.row.why()]


def _row_emitter(spec, layout, variant, pool, pairs: bool = False):
    if variant == "simple":
        return _SimpleRow(spec, layout, pool)
    return _DspRow(spec, layout, pool, pairs=pairs)


def _saved(used: set[str]) -> list[str]:
    """The registers the prologue pushes: the callee-saved ones in ``used`` (AAPCS), then lr."""
    regs = list(AAPCS.must_save(used))
    pushed = AAPCS.slot_bytes * (len(regs) + 1)
    if AAPCS.aligned_frame(pushed) != pushed:
        # one more register keeps the stack aligned (AAPCS); with r4–r11 all in use it stays 4 off,
        # which a leaf may do: the 8-byte rule holds at calls
        spare = next((r for r in AAPCS.callee_saved if r not in regs), None)
        regs = sorted(regs + [spare], key=_regno) if spare else regs
    return regs + ["lr"]


def _epilogue(a: _Asm, saved: list[str]) -> None:
    a.op(f"pop {{{', '.join(saved[:-1] + ['pc'])}}}", "return")


def _stacked(kernel: str, below: int) -> tuple[int, int]:
    """The sp offsets of the 5th and 6th argument once ``below`` bytes (pushed registers, frame) were taken."""
    fifth, sixth = AAPCS.arguments(KINDS[kernel].arg_kinds)[4:]  # r0–r3, then the stack
    return below + fifth.offset, below + sixth.offset


# --- the row walk (scan, range, search) ------------------------------------------

_WALKED = "r0 = q, r1 = row pointer, r2 = n, then the end of the database"   # the header's register plan


def _row_walk(a: _Asm, row, layout: RowLayout, per_row) -> list[tuple[str, str]]:
    """Set-up, the end pointer and the loop over every row (r1 = db, r2 = n on entry).

    ``per_row(a, name, acc)`` consumes one row's distance (in ``acc``) with
    r1 just past that row; returns the (name, acc) of every call, for the
    out-of-line paths that return to ``.Lback_<name>``.
    """
    row.setup(a)
    _end_pointer(a, row, layout)
    return _rows_loop(a, row, per_row, _unroll(row))


def _end_pointer(a: _Asm, row, layout: RowLayout) -> None:
    """acc = n (for the loop entry); r2 = r1 + n·stride, the end of the database."""
    a.op(f"mov {row.acc}, r2", "n, for the loop entry")
    stride = layout.stride
    if stride & (stride - 1) == 0:
        shift = f", lsl #{stride.bit_length() - 1}" if stride > 1 else ""
        a.op(f"add r2, r1, r2{shift}", "end = db + n·stride")
    else:
        a.const(row.scratch, stride)
        a.op(f"mla r2, r2, {row.scratch}, r1", "end = db + n·stride")


def _unroll(row) -> int:
    """Rows per loop trip: the loop branch (1 + P) matters most for short rows."""
    if row.mode != "resident":
        return 1
    return 4 if row.words <= 4 else 2 if row.words <= ROW_UNROLL_MAX_WORDS else 1


def _rows_loop(a: _Asm, row, per_row, unroll: int) -> list[tuple[str, str]]:
    """Walk rows from r1 to the end pointer r2; n is in ``row.acc`` on entry.

    With ``unroll`` rows per trip the loop is entered part-way (Duff's
    device) so that the n mod unroll leftover rows run first; in pair mode an
    odd n runs one single row before the pairs.
    """
    a.op(f"cmp {row.acc}, #0", "no rows?")
    a.op("beq .Lrows_done")
    if row.mode == "pair":
        a.op(f"tst {row.acc}, #1", "even n: straight to the pairs")
        a.op("beq .Lrow_a")
        a.label(".Lrow_s", "odd n: the first row alone")
        row.body(a, ".Lrow_s")
        per_row(a, "s", row.acc)
        a.op("cmp r1, r2")
        a.op("beq .Lrows_done")
        a.label(".Lrow_a", "rows A and B of a pair")
        row.body_pair(a)
        a.arith("add", "r1", "r1", row.stride, row.scratch, "past row A")
        per_row(a, "a", row.acc)
        a.arith("add", "r1", "r1", row.stride, row.scratch, "past row B")
        per_row(a, "b", row.acc_b)
        rows = [("s", row.acc), ("a", row.acc), ("b", row.acc_b)]
    else:
        rows = [(name, row.acc) for name in ["a", "b", "c", "d"][:unroll]]
        if unroll == 2:
            a.op(f"tst {row.acc}, #1", "odd n: enter the two-row loop at its second row")
            a.op("bne .Lrow_b")
        elif unroll == 4:
            a.op(f"and {row.acc}, {row.acc}, #3", "n mod 4 leftover rows: enter the loop at row 4 - n mod 4")
            a.op(f"cmp {row.acc}, #2")
            a.op("beq .Lrow_c")
            a.op("bhi .Lrow_b")
            a.op(f"cmp {row.acc}, #1")
            a.op("beq .Lrow_d")
        for name, _ in rows:
            a.label(f".Lrow_{name}", "one row" if unroll == 1 else f"row {name} of {unroll} per trip")
            row.body(a, f".Lrow_{name}")
            per_row(a, name, row.acc)
    a.op("cmp r1, r2", "row pointer reached the end?")
    a.op("bne .Lrow_a")
    a.label(".Lrows_done")
    return rows


# --- row-index recovery (range's hits, search's write-out) ------------------------


def _row_index(a: _Asm, dst: str, past: str, db: str, stride: int, *, divisor: str | None = None,
               scratch: str | None = None) -> None:
    """dst = (past − db) / stride − 1: the index of the row that ends at ``past``.

    A power-of-two stride is a shift.  Otherwise ``divisor`` (holding the
    stride) divides with UDIV, or, without one, the stride's odd part is
    divided out exactly by its inverse mod 2^32 (core.exact_division),
    loaded into ``scratch``.
    """
    a.op(f"sub {dst}, {past}, {db}", "(i + 1)·stride")
    shift, inverse = core.exact_division(stride)
    if divisor is not None and stride >> shift != 1:
        a.op(f"udiv {dst}, {dst}, {divisor}")
    else:
        if shift:
            a.op(f"lsr {dst}, {dst}, #{shift}")
        if stride >> shift != 1:
            a.const(scratch, inverse, f"inverse of the stride's odd part {stride >> shift} mod 2^32")
            a.op(f"mul {dst}, {dst}, {scratch}", "exact division by the odd part")
    a.op(f"sub {dst}, {dst}, #1", "row index i")


# --- the four kernels ---------------------------------------------------------------


def _distance(spec, layout, variant) -> _Function:
    row = _row_emitter(spec, layout, variant, ["r2"] + POOL)
    body = _Asm()
    row.setup(body)
    row.body(body, ".Ldist")
    body.op(f"mov r0, {row.acc}", "return the distance")
    return _Function(row, _saved(row.used), body, "r0 = q, r1 = row")


def _scan(spec, layout, variant) -> _Function:
    row = _row_emitter(spec, layout, variant, list(POOL[1:]), pairs=True)   # r3 is the output pointer
    body = _Asm()
    _row_walk(body, row, layout, lambda a, name, acc: a.op(f"str {acc}, [r3], #4", "out[i] = distance"))
    return _Function(row, _saved(row.used), body, f"{_WALKED}, r3 = out")


def _range(spec, layout, variant) -> _Function:
    row = _row_emitter(spec, layout, variant, list(POOL[1:]), pairs=True)   # r3 is the radius
    saved = _saved(row.used)
    out_idx, cap = _stacked("range", 8 + 4 * len(saved))   # above the frame and the pushed registers
    body = _Asm()
    body.op("sub sp, sp, #8", "frame: db, count")
    body.op("str r1, [sp, #0]", "db, for turning a row pointer into a row index")
    body.op("movs r12, #0")
    body.op("str r12, [sp, #4]", "count = 0")

    def per_row(a: _Asm, name: str, acc: str) -> None:
        a.op(f"cmp {acc}, r3", "within the radius?")
        a.op(f"bls .Lhit_{name}", "distance <= radius: count it (out of line)")
        a.label(f".Lback_{name}")

    rows = _row_walk(body, row, layout, per_row)
    body.op("ldr r0, [sp, #4]", "return the count of every row within the radius")
    body.op("add sp, sp, #8")
    p, x = row.free_after_body[:2]
    tail = _Asm()
    for name, acc in rows:
        tail.label(f".Lhit_{name}", "count the row; write its index while count < cap")
        tail.op(f"ldr {p}, [sp, #4]", "count")
        tail.op(f"ldr {x}, [sp, #{cap}]", "cap (stacked argument)")
        tail.op(f"cmp {p}, {x}")
        tail.op(f"bhs .Lfull_{name}", "out_idx is full: only count")
        tail.op(f"ldr {x}, [sp, #0]", "db; r1 is past the row (its distance in acc is done with)")
        _row_index(tail, acc, "r1", x, layout.stride, scratch=x)
        tail.op(f"ldr {x}, [sp, #{out_idx}]", "out_idx (stacked argument)")
        tail.op(f"str {acc}, [{x}, {p}, lsl #2]", "out_idx[count] = i (row order)")
        tail.label(f".Lfull_{name}")
        tail.op(f"add {p}, {p}, #1")
        tail.op(f"str {p}, [sp, #4]", "count += 1")
        tail.op(f"b .Lback_{name}")
    notes = [f"frame: [sp] db, [sp+4] count; the stacked out_idx and cap at [sp+{out_idx}], [sp+{cap}]",
             "a row within the radius branches out of line: counted, its index written while count < cap"]
    return _Function(row, saved, body, f"{_WALKED}, r3 = radius", tail,
                     notes)


# search frame (below the pushed registers)
_F_DB, _F_N, _F_K, _F_LAST, _F_WORST, _F_LIST = 0, 4, 8, 12, 16, 24


def _search(spec, layout, variant) -> _Function:
    kmax = spec.k_max
    row = _row_emitter(spec, layout, variant, list(POOL[1:]), pairs=True)   # r3: k, then the threshold
    worst = "r3"
    if variant == "dsp" and row.mode != "resident":
        # One more register may let the whole query live in registers: then the
        # threshold stays in the frame (LDR + CMP per row beats reloading the query).
        alt = _row_emitter(spec, layout, variant, list(POOL))
        if alt.mode == "resident":
            row, worst = alt, None
    saved = _saved(row.used | {"r4", "r5", "r6"})
    body = _Asm()
    frame = (_F_LIST + 8 * kmax + 7) & ~7
    dist0, ptr0 = _F_LIST, _F_LIST + 4 * kmax
    out_idx, out_dist = _stacked("search", frame + 4 * len(saved))
    body.op(f"sub sp, sp, #{frame}", f"frame: db, n, k, &dist[k-1], threshold, pad, dist[{kmax}], ptr[{kmax}]")
    body.op(f"cmp r3, #{kmax}", "k = min(k, k_max)")
    body.op("it hi")
    body.op(f"movhi r3, #{kmax}")
    body.op("cmp r3, #0", "k = 0: nothing to return")
    body.op("beq .Lempty")
    body.op(f"str r1, [sp, #{_F_DB}]")
    body.op(f"str r2, [sp, #{_F_N}]")
    body.op(f"str r3, [sp, #{_F_K}]")
    body.op(f"add r12, sp, #{dist0 - 4}", "&dist[k-1]: the k-th best, the insertion threshold")
    body.op("add r12, r12, r3, lsl #2")
    body.op(f"str r12, [sp, #{_F_LAST}]")
    body.op("mov.w r3, #-1", "empty slots hold 0xFFFFFFFF: every distance is smaller (D <= max_dims)")
    for i in range(kmax):
        body.op(f"str r3, [sp, #{dist0 + 4 * i}]")
    if worst is None:
        body.op(f"str r3, [sp, #{_F_WORST}]", "the threshold lives in the frame (no register left)")

    def per_row(a: _Asm, name: str, acc: str) -> None:
        if worst is None:
            a.op(f"ldr {row.scratch}, [sp, #{_F_WORST}]", "the k-th best distance")
        a.op(f"cmp {acc}, {worst or row.scratch}", "strictly closer than the k-th best? (ties keep the lower row)")
        a.op(f"blo .Linsert_{name}")
        a.label(f".Lback_{name}")

    rows = _row_walk(body, row, layout, per_row)
    body.op("b .Lresults")
    # --- out-of-line insertion (rare: about k·ln(n/k) times for random data) ---
    p, x = row.free_after_body[:2]

    def insert(a: _Asm, name: str, acc: str) -> None:
        if kmax == 1:
            if worst is None:
                a.op(f"str {acc}, [sp, #{_F_WORST}]", "new best")
            else:
                a.op(f"mov {worst}, {acc}", "new best (kept in a register)")
            a.op(f"str {acc}, [sp, #{dist0}]")
            a.op(f"str r1, [sp, #{ptr0}]", "pointer past the row")
            return
        a.op(f"ldr {p}, [sp, #{_F_LAST}]", "start at the k-th slot, shift larger ones up")
        a.label(f".Lshift_{name}")
        a.op(f"add {x}, sp, #{dist0}")
        a.op(f"cmp {p}, {x}", "at the head of the list?")
        a.op(f"beq .Lplace_{name}")
        a.op(f"ldr {x}, [{p}, #-4]")
        a.op(f"cmp {x}, {acc}", "stop below an entry <= d: the earlier row stays first")
        a.op(f"bls .Lplace_{name}")
        a.op(f"str {x}, [{p}]")
        a.op(f"ldr {x}, [{p}, #{4 * kmax - 4}]")
        a.op(f"str {x}, [{p}, #{4 * kmax}]")
        a.op(f"sub {p}, {p}, #4")
        a.op(f"b .Lshift_{name}")
        a.label(f".Lplace_{name}")
        a.op(f"str {acc}, [{p}]")
        a.op(f"str r1, [{p}, #{4 * kmax}]", "pointer past the row")
        a.op(f"ldr {p}, [sp, #{_F_LAST}]")
        if worst is None:
            a.op(f"ldr {x}, [{p}]", "new threshold: the k-th best")
            a.op(f"str {x}, [sp, #{_F_WORST}]")
        else:
            a.op(f"ldr {worst}, [{p}]", "new threshold: the k-th best")

    for name, acc in rows:
        body.label(f".Linsert_{name}", "keep the list sorted by (distance, row)")
        insert(body, name, acc)
        body.op(f"b .Lback_{name}")
    # --- results: pointers -> row indices ---
    body.label(".Lresults", "count = min(k, n); idx = (ptr - db) / stride - 1")
    body.op(f"ldr r0, [sp, #{_F_K}]")
    body.op(f"ldr r1, [sp, #{_F_N}]")
    body.op("cmp r0, r1")
    body.op("it hi")
    body.op("movhi r0, r1")
    body.op(f"ldr r1, [sp, #{_F_DB}]")
    body.op(f"ldr r2, [sp, #{out_idx}]", "out_idx (stacked argument)")
    body.op(f"ldr r3, [sp, #{out_dist}]", "out_dist (stacked argument)")
    body.op(f"add r12, sp, #{dist0}")
    body.op("movs r4, r0")
    body.op("beq .Lout_done")
    stride = layout.stride
    if stride & (stride - 1):
        body.const("lr", stride, "stride (not a power of two: UDIV, at most k times)")
    body.label(".Lout")
    body.op(f"ldr r5, [r12, #{4 * kmax}]", "pointer past the row")
    body.op("ldr r6, [r12], #4", "its distance")
    _row_index(body, "r5", "r5", "r1", stride, divisor="lr")
    body.op("str r5, [r2], #4")
    body.op("str r6, [r3], #4")
    body.op("subs r4, r4, #1")
    body.op("bne .Lout")
    body.label(".Lout_done")
    body.op(f"add sp, sp, #{frame}")
    tail = _Asm()
    tail.label(".Lempty")
    tail.op("movs r0, #0")
    tail.op(f"add sp, sp, #{frame}")
    _epilogue(tail, saved)
    threshold = "r3 = k -> threshold (k-th best)" if worst else "r3 = k (saved); threshold in the frame"
    notes = [f"frame: [sp] db, n, k, &dist[k-1], threshold, pad, [sp+{dist0}] dist[{kmax}], [sp+{ptr0}] ptr[{kmax}]; "
             f"the stacked out_idx and out_dist at [sp+{out_idx}], [sp+{out_dist}]",
             "a row strictly closer than the k-th best branches out of line to the sorted insertion (ties keep "
             "the lower row); the list holds the pointer past each row, turned into its index at the end"]
    return _Function(row, saved, body, f"{_WALKED}, {threshold}", tail,
                     notes)
