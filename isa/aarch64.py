"""The AArch64 family generator: torus kernels in A64 + Advanced SIMD (NEON).

Owns the ``aarch64`` target's code: ``generate`` / ``variants`` / ``max_dims``
of the generator contract (docs/kernels.md) for the distance, scan, top-k
search and range kernels, every metric and code width, AAPCS64.  Both
variants share one kernel skeleton (``_Base``: frame from the ABI, the
search/range state and row test, the loop ends, result and out-of-line
``.Linsert``); each supplies its set-up, its row distance and its row walk.

Variants (fastest first):

* ``neon`` — rows are processed in groups of 4 to 16 (as many loads in
  flight as the 32 v registers allow; v8–v15 are saved when used) with the
  query held in v registers.  The group's (chunk, row) items are software-
  pipelined: an item's load is issued two items ahead and its arithmetic
  steps run two items apart (``STEP_GAP``), so the in-order core always finds independent
  work (on the Cortex-A55 model a longer lead costs more: the 64-bit load
  port is the bottleneck).  Per 16-byte chunk the per-dim torus distance is computed in
  the code's own lane width, where wrap-around *is* the torus:

  - 8-bit: ``SUB .16b`` then ``ABS .16b``; read unsigned, |(int8)(a−b)| is
    exactly min(δ, 256−δ) (ABS(−128) = 0x80 = 128);
  - 16-bit: the same with ``.8h`` lanes;
  - 4-bit: each nibble is moved to the top of its byte (``SHL #4`` for the low
    nibble, ``AND #0xF0`` for the high one), so the byte subtraction wraps
    mod 16 and ``ABS`` gives 16·t; the sum is shifted right by 4 at the end
    (l2 shifts each 16·t down first and squares with ``MUL .16b``, t² ≤ 64);
  - 1-bit: ``EOR`` then ``CNT`` (Hamming);

  then summed with ``UADDLP``/``UADALP`` (u16 lanes, flushed into u32 before
  they could overflow) or ``UMULL``/``UMULL2`` + ``ADDP`` + ``UADALP`` for
  squares.  A group's row sums are folded with an ``ADDP`` tree into one
  ``.4s`` vector per four rows, so scan stores four distances with one
  ``STR q`` and search rejects four or eight rows with one ``UMINV`` compared
  against the current k-th best (a rare out-of-line path inserts rows one by
  one, in row order).  When registers allow, that tree and test of group g
  run interleaved with group g+1's loads and arithmetic, hiding their
  latency chain (the last group's tree runs after the loop).  Rows of ≤ 4 or ≤ 8 bytes are padded to 4 or 8 bytes so
  that one 16-byte load carries several rows; longer rows are padded to a
  multiple of 16 bytes.  Zero padding in both query and row contributes 0.
  Long rows (more chunks than fit in registers) loop over chunks, query
  reloaded per chunk.
* ``simple`` — the straightforward scalar loop (one dim at a time:
  load, subtract, mask, negate, mask, min, accumulate), unpadded rows; kept as
  the readable reference and the honest "no tricks" figure.

Search keeps the sorted top-k list in ``out_idx``/``out_dist`` themselves
(insertion with a strict ``>`` shift keeps ties on the lower row), with the
k-th best distance cached in a register as the rejection threshold
(0xFFFFFFFF while the list is not full: no distance can reach it, because
every per-dim maximum is a power of two and D·max ≤ 2³²−1 is then < 2³²−1).
"""

from __future__ import annotations

from typing import NamedTuple

from torus_hw.reference import max_distance
from torus_hw.quantize import row_bytes

from . import generate as core
from .emit import Asm, Style, kernel_header
from .spec import KernelSpec, RowLayout, prototype
from .abi import Abi
from .targets import Target

VARIANTS = ("neon", "simple")
QUERY_LIMIT = 64 * 1024     # the harness (sim/machine.py) holds a query of at most 64 KiB
U16_MAX = 0xFFFF
# Steps of one item run this many items apart: ABS waits 2 cycles for SUB and UADALP 3 for ABS
# on the Cortex-A55, so one item between them (gap 1) stalled the UADALP of every item; gap 2
# measured 15.5 instead of 18.5 cycles per row at D=64 (7.75 vs 9.1 at D=32, 4.75 vs 5.1 at
# D=16, loop body under the cortex-a55 model); gap 3 measured the same as 2.
STEP_GAP = 2
# An item's load is issued this many items ahead of its first step (a longer lead costs more on
# the Cortex-A55 model: the 64-bit load port is the bottleneck).
LOAD_LEAD = 2

# Registers the scalar code uses (AAPCS64: x0–x5 arguments; x9–x17 scratch;
# x19–x24 callee-saved, saved by the long-row code that needs them).


# --- contract --------------------------------------------------------------------


KERNELS = ("distance", "scan", "search", "range")
DIALECTS = ("gnu",)
MAX_ROW_BYTES = QUERY_LIMIT
ROW_LIMIT = "a query must fit the harness's query region"
STYLE = Style(comment="//", column=40, label_pad=34)


def variants(target: Target, spec: KernelSpec) -> list[str]:
    return list(VARIANTS)


# isa.generate's entry points, refusing a target of another family; max_dims: min(the uint32 bound of the distance, the 64 KiB a query may occupy).
generate, max_dims = core.family_entry_points(__name__)


def layout_for(spec: KernelSpec, variant: str) -> RowLayout:
    if variant == "simple":
        return RowLayout(spec.dims, spec.bits, align=1)
    rb = row_bytes(spec.dims, spec.bits)
    return RowLayout(spec.dims, spec.bits, align=4 if rb <= 4 else 8 if rb <= 8 else 16)


def emit(target: Target, spec: KernelSpec, variant: str, symbol: str, dialect: str):
    layout = layout_for(spec, variant)
    gen = {"neon": _Neon, "simple": _Simple}[variant](spec, layout, target.abi)
    body = gen.emit()
    head = kernel_header(STYLE, target=target, spec=spec, variant=variant, options=variants(target, spec),
                         why=gen.WHY, prototype=prototype(spec.kernel, symbol), layout=layout, plan=gen.plan(),
                         notes=[f"ABI {target.abi.description}", *gen.header_notes()])
    asm = "\n".join(head) + "\n\n" + "\n".join([
        ".text",
        ".p2align 4",
        f".globl {symbol}",
        f".type {symbol}, %function",
        f"{symbol}:",
        *body,
        f".size {symbol}, .-{symbol}",
        "",
    ])
    return asm, layout, gen.notes


# --- shared scalar pieces -----------------------------------------------------------


class _Asm(Asm):
    """The shared emitter plus the A64 constants it needs (no literal pool)."""

    def mov_imm(self, reg: str, value: int, comment: str = "") -> None:
        if value < 0x10000:
            self(f"mov {reg}, #{value}", comment)
        else:
            self(f"mov {reg}, #{value & 0xFFFF}", comment)
            for shift in (16, 32, 48):
                part = (value >> shift) & 0xFFFF
                if part:
                    self(f"movk {reg}, #{part}, lsl #{shift}")

    def add_imm(self, dst: str, src: str, value: int, comment: str = "") -> None:
        """dst = src + value; a value beyond ADD's 12-bit immediate goes through x13."""
        if value < 4096:
            self(f"add {dst}, {src}, #{value}", comment)
        else:
            self.mov_imm("x13", value)
            self(f"add {dst}, {src}, x13", comment)


class _Base:
    """The kernel skeleton both variants share: frame, the search/range state, the row walk's ends, result.

    A variant provides ``setup()`` (once per call), ``row()`` (one row's
    distance into a w register, x1 not advanced), ``walk()`` (every row, from
    x1; returns the out-of-line paths it branches to), ``plan()`` (its
    registers), ``header_notes()`` (loop shape, schedule) and ``WHY``.
    """

    WHY = ""

    def __init__(self, spec: KernelSpec, layout: RowLayout, abi: Abi):
        self.spec = spec
        self.abi = abi
        self.stride = layout.stride
        self.a = _Asm(STYLE)
        self.notes: list[str] = []

    def emit(self) -> list[str]:
        s = self.spec
        self.save()
        if self.select:
            self.select_prologue()
        self.setup()
        if s.kernel == "distance":
            self.a(f"mov w0, {self.row()}")
            self.restore()
            self.a("ret")
            return self.a.lines
        slow = self.walk()
        self.a.label(".Ldone")
        if self.select:
            self.a("mov w0, w6", "min(k, n)" if s.kernel == "search" else "the count of every row within the radius")
        self.restore()
        # search and range reach .Linsert with BL, which overwrites x30: the return address waits in x15
        self.a("ret x15" if self.select else "ret")
        for label, vecs, back in slow:
            self.slow_path(label, vecs, back)
        if self.select:
            self.select_helper()
        return self.a.lines

    def frame(self) -> list[tuple[str, str]]:
        """The callee-saved registers the variant uses, in STP/LDP pairs (none by default)."""
        return []

    def save(self) -> None:
        frame = self.frame()
        for n, (a, b) in enumerate(frame):
            if n == 0:
                self.a(f"stp {a}, {b}, [sp, #-{16 * len(frame)}]!", "callee-saved registers this kernel uses")
            else:
                self.a(f"stp {a}, {b}, [sp, #{16 * n}]")

    def restore(self) -> None:
        frame = self.frame()
        for n, (a, b) in reversed(list(enumerate(frame))):
            if n == 0:
                self.a(f"ldp {a}, {b}, [sp], #{16 * len(frame)}")
            else:
                self.a(f"ldp {a}, {b}, [sp, #{16 * n}]")

    def state_plan(self) -> str:
        """The scalar registers of the skeleton's search/range state, for the register plan."""
        return {"search": "w6 found, w7 threshold, w8 row index, w10/w11 candidate distance/row, x15 return address",
                "range": "w6 count, w7 radius, w5 cap, w8 row index, w10/w11 candidate distance/row, "
                         "x15 return address"}[self.spec.kernel]

    @property
    def select(self) -> bool:
        """Search and range share the row walk: a threshold test per row (or group), rare work out of line."""
        return self.spec.kernel in ("search", "range")

    @property
    def hit(self) -> str:
        """Condition after ``cmp distance, w7`` for a row that needs the out-of-line path."""
        return "ls" if self.spec.kernel == "range" else "lo"

    @property
    def miss(self) -> str:
        """Condition after ``cmp distance, w7`` for a row that stays out (search: not better; range: beyond)."""
        return "hi" if self.spec.kernel == "range" else "hs"

    def select_prologue(self) -> None:
        """w6 = rows kept, w7 = the threshold, w8 = row index; search clamps k and returns at once for k = 0."""
        s = self.spec
        search = s.kernel == "search"
        self.a("mov x15, x30", "keep the return address: .Linsert is reached with BL")
        if search:
            self.a(f"cmp w3, #{s.k_max}", f"k = min(k, k_max = {s.k_max})")
            self.a(f"mov w12, #{s.k_max}")
            self.a("csel w3, w3, w12, ls")
            self.a("mov w6, #0", "w6 = found (rows in the list)")
            self.a("mov w7, #-1", "w7 = threshold: 0xFFFFFFFF until the list holds k rows")
        else:
            self.a("mov w6, #0", "w6 = count (rows within the radius)")
            self.a("mov w7, w3", "w7 = radius: a row with distance <= w7 is a hit")
        self.a("mov w8, #0", "w8 = index of the next row")
        if search:
            self.a("cbz w3, .Ldone", "k = 0: nothing to return")

    def offer(self, dist: str, row: int | None, skip: str) -> None:
        """Row w8 (+ ``row``) at distance ``dist`` goes to .Linsert (w10, w11) unless it misses w7."""
        self.a(f"cmp {dist}, w7", "better than the k-th best (strict: ties keep the lower row)?"
               if self.spec.kernel == "search" else "within the radius?")
        self.a(f"b.{self.miss} {skip}")
        if dist != "w10":
            self.a(f"mov w10, {dist}")
        self.a("mov w11, w8" if row is None else f"add w11, w8, #{row}")
        self.a("bl .Linsert")
        self.a.label(skip)

    def loop_end(self, count: str, label: str, rows: int) -> None:
        """Search and range: w8 += the rows just done; then loop to ``label`` while ``count`` is not used up."""
        if self.select:
            self.a(f"add w8, w8, #{rows}", "row index of the next row" + ("s" if rows > 1 else ""))
        self.a(f"subs {count}, {count}, #1")
        self.a(f"b.ne {label}")

    def select_helper(self) -> None:
        if self.spec.kernel == "search":
            self.insert_helper()
            return
        self.a.note(".Linsert (range): count row w11 and write it to out_idx[count] while count < cap (w5).")
        self.a.label(".Linsert")
        self.a("cmp w6, w5")
        self.a("b.hs .Linsert_full", "out_idx is full: only count")
        self.a("str w11, [x4, w6, uxtw #2]", "out_idx[count] = row (row order)")
        self.a.label(".Linsert_full")
        self.a("add w6, w6, #1")
        self.a("ret")

    def insert_helper(self) -> None:
        if self.spec.k_max == 1:
            # One entry, full after the first insert: no position to find and
            # nothing to shift (the caller's strict w10 < w7 keeps ties on the
            # lower row), which saves the general walk's set-up on every new best.
            self.a.note(".Linsert (k_max = 1): (w10 = distance, w11 = row) replaces the single entry and")
            self.a.note("  becomes the threshold w7.  The caller has checked w10 < w7.")
            self.a.label(".Linsert")
            self.a("str w10, [x5]", "out_dist[0]")
            self.a("str w11, [x4]", "out_idx[0]")
            self.a("mov w6, #1", "found = 1 = k")
            self.a("mov w7, w10", "threshold = the kept distance")
            self.a("ret")
            return
        self.a.note(".Linsert: put (w10 = distance, w11 = row) into the sorted list out_dist/out_idx.")
        self.a.note("  pos = found < k ? found++ : k-1; shift entries with dist > w10 up by one (strict '>'")
        self.a.note("  keeps an earlier row with an equal distance ahead: ties go to the lower row); refresh")
        self.a.note("  the threshold w7 = out_dist[k-1] once the list is full.  Clobbers x12-x14, w16 and the")
        self.a.note("  flags; the caller has checked w10 < w7.")
        self.a.label(".Linsert")
        self.a("cmp w6, w3")
        self.a("b.hs .Linsert_full")
        self.a("mov w12, w6", "list not full: the new entry starts at the end")
        self.a("add w6, w6, #1")
        self.a("b .Linsert_at")
        self.a.label(".Linsert_full")
        self.a("sub w12, w3, #1", "full: the worst entry is overwritten")
        self.a.label(".Linsert_at")
        # Walk pointers, not an index: both loads of an entry issue back to back,
        # so the compare waits for one load latency (A55: 3 cycles) and the idx
        # store finds its value ready, instead of two serial load-use waits.
        self.a("add x13, x4, w12, uxtw #2", "x13 = &out_idx[pos]")
        self.a("add x12, x5, w12, uxtw #2", "x12 = &out_dist[pos]")
        self.a.label(".Linsert_shift")
        self.a("cmp x12, x5", "pos == 0: nothing ahead")
        self.a("b.eq .Linsert_put")
        self.a("ldur w14, [x12, #-4]", "out_dist[pos-1]")
        self.a("ldur w16, [x13, #-4]", "out_idx[pos-1] (needed only if it moves)")
        self.a("cmp w14, w10")
        self.a("b.ls .Linsert_put", "<= : equal distances keep the earlier row first")
        self.a("str w14, [x12], #-4", "move it one place down, pos -= 1")
        self.a("str w16, [x13], #-4")
        self.a("b .Linsert_shift")
        self.a.label(".Linsert_put")
        self.a("str w10, [x12]")
        self.a("str w11, [x13]")
        self.a("cmp w6, w3")
        self.a("b.lo .Linsert_ret")
        self.a("sub w13, w3, #1")
        self.a("ldr w7, [x5, w13, uxtw #2]", "threshold = k-th best")
        self.a.label(".Linsert_ret")
        self.a("ret")


# --- simple: one dim at a time ------------------------------------------------------


class _Simple(_Base):
    """Scalar loop over the packed bytes of a row, one code at a time."""

    WHY = "the scalar reference loop, no SIMD: the honest no-tricks figure"

    def plan(self) -> list[str]:
        return ["x0 query, x1 row (walks the database), w2 rows left",
                "x10/x11 query/row cursors, w9 bytes left in the row, w12 distance",
                "w13/w14 codes and per-dim distance",
                *([f"{self.spec.kernel}: {self.state_plan()}"] if self.select else [])]

    def header_notes(self) -> list[str]:
        return ["loops: .Lrow (one row), .Ldim (one byte of the row)"]

    def dim_term(self, a: str, b: str, mask: int) -> None:
        """w12 += t(a, b) or t², where t = min((a-b) & mask, (b-a) & mask); clobbers a, b."""
        self.a(f"sub {a}, {a}, {b}", "delta = a - b")
        self.a(f"and {a}, {a}, #{mask}", "mod 2^n")
        self.a(f"neg {b}, {a}", "2^n - delta ...")
        self.a(f"and {b}, {b}, #{mask}", "... mod 2^n")
        self.a(f"cmp {a}, {b}")
        self.a(f"csel {a}, {a}, {b}, lo", "t = min(delta, 2^n - delta)")
        if self.spec.metric == "l2":
            self.a(f"madd w12, {a}, {a}, w12", "distance += t*t")
        else:
            self.a(f"add w12, w12, {a}", "distance += t")

    def setup(self) -> None:
        """Nothing: every code is loaded where it is used."""

    def row(self) -> str:
        """w12 = distance(query x0, row x1); leaves x11 at the row's end."""
        s = self.spec
        bits = s.bits
        count = s.dims if bits in (8, 16) else row_bytes(s.dims, bits)
        self.a("mov x10, x0", "query cursor")
        self.a("mov x11, x1", "row cursor")
        self.a("mov w12, #0", "distance")
        self.a.mov_imm("w9", count, "codes (8/16-bit) or bytes (4/1-bit) per row")
        self.a.label(".Ldim")
        if bits in (8, 16):
            load, size = ("ldrb", 1) if bits == 8 else ("ldrh", 2)
            self.a(f"{load} w13, [x10], #{size}")
            self.a(f"{load} w14, [x11], #{size}")
            self.dim_term("w13", "w14", (1 << bits) - 1)
        elif bits == 4:
            self.a("ldrb w16, [x10], #1", "two 4-bit codes per byte")
            self.a("ldrb w17, [x11], #1")
            self.a("and w13, w16, #0xf", "dim 2j: low nibble")
            self.a("and w14, w17, #0xf")
            self.dim_term("w13", "w14", 0xF)
            self.a("lsr w13, w16, #4", "dim 2j+1: high nibble (zero padding past D adds 0)")
            self.a("lsr w14, w17, #4")
            self.dim_term("w13", "w14", 0xF)
        else:
            self.a("ldrb w13, [x10], #1", "eight 1-bit codes per byte")
            self.a("ldrb w14, [x11], #1")
            self.a("eor w13, w13, w14", "t = a xor b for each bit (l1 = l2 = Hamming)")
            for bit in range(8):
                self.a(f"ubfx w14, w13, #{bit}, #1", f"dim 8j+{bit}")
                self.a("add w12, w12, w14")
        self.a("subs w9, w9, #1")
        self.a("b.ne .Ldim")
        return "w12"

    def walk(self) -> list:
        """One row per iteration; n = 0 goes straight to .Ldone."""
        self.a("cbz w2, .Ldone")
        self.a.label(".Lrow")
        dist = self.row()
        if self.spec.kernel == "scan":
            self.a(f"str {dist}, [x3], #4", "out[i] = distance")
        self.a("mov x1, x11", "next row follows (stride = packed row size)")
        if self.select:
            self.offer(dist, None, ".Lnext")
        self.loop_end("w2", ".Lrow", 1)
        return []


# --- neon ----------------------------------------------------------------------------


class _Item(NamedTuple):
    """One (chunk, row unit) of a software-pipelined schedule: a 16-byte load, then its dependent steps."""

    buf: tuple[int, int]               # the row register it loads into (unit, buffer): later items wait for it
    load: tuple[str, str]              # (instruction, comment)
    stages: list[tuple[str, str]]
    commented: bool                    # the first item's steps carry the comments, the others repeat them


class _Neon(_Base):
    """Advanced SIMD kernel; see the module docstring for the per-width tricks."""

    WHY = "fastest under the cortex-a55 model: groups of rows in v registers, software-pipelined"

    def __init__(self, spec: KernelSpec, layout: RowLayout, abi: Abi):
        super().__init__(spec, layout, abi)
        s = spec
        self.bits, self.l2 = s.bits, s.metric == "l2"
        # accumulator lanes: u16 ('h') where one chunk adds little per lane, else u32 ('s')
        self.acc = "s" if (s.bits == 16 or (s.bits == 8 and self.l2)) else "h"
        # largest amount one chunk adds to one accumulator lane
        lane_add = {(8, False): 2 * 128, (4, False): 2 * 2 * 128, (4, True): 2 * 128,
                    (1, False): 2 * 8, (1, True): 2 * 8}.get((s.bits, self.l2), 0)
        self.scale = 16 if (s.bits == 4 and not self.l2) else 1   # 4-bit l1 sums 16·t
        # a row's whole distance fits u16: the row-sum tree may add u16 lanes before it widens
        self.fits16 = max_distance(s.dims, s.bits, s.metric) * self.scale <= U16_MAX
        self.small = self.stride < 16
        self.slot = "s" if self.stride == 4 else "d"                 # small: the register of one 4- or 8-byte row
        self.chunks = 1 if self.small else self.stride // 16
        self.per_vec = 16 // self.stride if self.small else 1        # rows in one 16-byte load
        self.qper = 2 if s.bits == 4 else 1                          # query registers per chunk
        max_unrolled = 5 if s.bits == 4 else 8                        # query chunks that fit in registers
        self.looped = self.chunks > max_unrolled
        self.needs_t = s.bits == 4 or self.l2                       # stages that need a second register
        self.nbuf = 2 if self.chunks > 1 and not self.looped else 1    # double-buffer rows across chunks
        self.block = U16_MAX // lane_add if self.acc == "h" else None
        nq = self.qper * (1 if self.looped else self.chunks)
        fixed = nq * (2 if self.small else 1) + (1 if s.bits == 4 else 0)
        per_unit = self.nbuf * (1 + self.needs_t) + 1 + (1 if (self.looped and self.acc == "h") else 0)
        # rows per group: as many loads in flight as the 32 v registers allow (16 rows at most)
        choices = [4] if self.looped else ([8, 4] if not self.small else ([8, 4] if self.stride == 8 else [4, 2]))
        fits = [u for u in choices if fixed + u * per_unit <= 32] or choices[-1:]
        # prefer the widest group whose tree can also be deferred into the next group (see below)
        self.units = next((u for u in fits if fixed + u * per_unit + self._tree_regs(u) <= 32), fits[0])
        self.group = self.units * self.per_vec                         # rows per group: 4, 8 or 16
        # register file: v0-v7 and v16-v31 first; v8-v15 only when needed (their low halves are saved)
        self.vfree = [f"v{n}" for n in list(range(0, 8)) + list(range(16, 32)) + list(range(8, 16))]
        self.qv = self._take(nq)                                       # group query (replicated if small)
        self.qv1 = self._take(nq) if self.small else self.qv          # single-row query
        self.mask = self._take(1)[0] if s.bits == 4 else None
        self.R = [self._take(self.nbuf) for _ in range(self.units)]
        self.T = [self._take(self.nbuf) if self.needs_t else [None] * self.nbuf for _ in range(self.units)]
        self.A = self._take(self.units)                                # accumulators
        self.A32 = self._take(self.units) if (self.looped and self.acc == "h") else self.A
        # Deferred tree: group g's row-sum tree and test run interleaved with group g+1's loads and
        # arithmetic (the in-order core hides the tree's latency chain).  It needs registers of its
        # own for the tree's first level and, for search, the UMIN steps; used when they fit.
        n1 = self._tree_level1(self.units)
        need = self._tree_regs(self.units)
        self.deferred = not self.looped and s.kernel != "distance" and n1 > 0 and need <= len(self.vfree)
        self.D = self._take(n1) if self.deferred else []
        self.M = self._take(need - n1) if self.deferred else []
        # scratch for the row-sum tree and the search test: every row/temp register is free by then
        self.scratch = [r for rs in self.R for r in rs] + [t for ts in self.T for t in ts if t]
        used = {int(v[1:]) for v in self.qv + self.qv1 + self.A + self.A32 + self.scratch
                + ([self.mask] if self.mask else []) + self.D + self.M}
        # the callee-saved part of a v register is its low half, d<n>
        self.saved_d = sorted(int(r[1:]) for r in abi.must_save(f"d{n}" for n in used))
        self.notes.append(f"acc lanes u{16 if self.acc == 'h' else 32}, {self.group} rows/group, "
                          f"{self.chunks} chunk(s)/row, {'looped' if self.looped else 'unrolled'}")

    def _take(self, n: int) -> list[str]:
        """The next ``n`` free v registers."""
        return [self.vfree.pop(0) for _ in range(n)]

    def _tree_level1(self, units: int) -> int:
        """Outputs of the row-sum tree's first level (0: the accumulators are already the distances)."""
        lanes = self.lanes_per_row(self.acc)
        if self.acc == "h":
            return units // 2 if (lanes > 2 and self.fits16) else units
        return units // 2 if lanes > 1 else 0

    def _tree_regs(self, units: int) -> int:
        """Registers a deferred tree needs: its first level, plus the UMIN steps of search."""
        return self._tree_level1(units) + (units * self.per_vec // 4 if self.select else 0)

    def plan(self) -> list[str]:
        s = self.spec
        lines = [
            f"query chunk(s) {', '.join(self.qv)}"
            + (f" (replicated {self.per_vec}x for groups; {', '.join(self.qv1)} for one row)" if self.small else "")
            + (f", nibble mask {self.mask} = 0xF0" if self.mask else ""),
            f"rows {', '.join('/'.join(r) for r in self.R)}" + (" (double-buffered across chunks)" if self.nbuf == 2 else "")
            + (f", temps {', '.join('/'.join(t) for t in self.T)}" if self.needs_t else ""),
            f"accumulators {', '.join(self.A)}"
            + (f" (u16; flushed into {', '.join(self.A32)} every {self.block} chunks)" if self.A32 is not self.A else ""),
            "x1 walks the database; "
            + (f"w9 groups/rows left, {self.state_plan()}" if self.select else
               {"scan": "x3 output, w9 groups/rows left, w10 a row's distance", "distance": "w10 the distance"}[s.kernel]),
        ]
        if self.looped:
            lines.append("x19-x22 row cursors, x23 query cursor, x24 stride, x16/x17 chunk/block counters")
        if self.saved_d:
            lines.append(f"v{self.saved_d[0]}-v{self.saved_d[-1]} used: "
                         + ", ".join(f"{a}/{b}" for a, b in self.frame() if a[0] == "d") + " saved on the stack")
        return lines

    def header_notes(self) -> list[str]:
        s = self.spec
        lines = [
            f"group: {self.group} rows per iteration ({self.units} loads of 16 bytes"
            + (f", {self.per_vec} rows each" if self.small else "") + f"), then {s.dims} dims in "
            f"{self.chunks} chunk(s); sums folded by an ADDP tree to {self.group // 4} .4s vector(s) of row distances",
            "loops: .Lgroup (a group of rows), .Ltail (leftover rows one at a time)"
            + (", .Lchunk*/.Lblock* (chunks of a long row)" if self.looped else ""),
        ]
        if self.select:
            against, slow = ("threshold", "inserts") if s.kernel == "search" else ("radius", "counts")
            lines.append(f"{s.kernel}: UMINV over the group's distances against the {against}; "
                         f".Lgroup_slow {slow} rows in order")
        if self.deferred:
            lines.append(f"deferred tree: group g's row-sum tree ({', '.join(self.D)})"
                         + (f" and UMIN test ({', '.join(self.M)})" if self.M else "")
                         + " run inside group g+1 (.Lgroup), the last one after the loop (.Lgroup_last)")
        if not self.looped:
            lines += ["schedule: software-pipelined across (chunk, row) items: item i's load is issued two items",
                      "  ahead and its steps run two items apart (sub of row i with abs of row i-2, ...), so the",
                      "  in-order core always has an independent instruction to issue"]
        return lines

    # --- per-chunk arithmetic ------------------------------------------------------

    def query_chunk(self, regs: list[str], c: int) -> list[str]:
        """The query registers of chunk ``c`` in ``regs``: (low, high nibbles) for 4-bit, else one."""
        return regs[self.qper * c:self.qper * (c + 1)]

    def prep_query(self, regs: list[str]) -> None:
        """4-bit: turn the loaded query chunk into (low nibbles << 4, high nibbles & 0xF0)."""
        if self.bits == 4:
            lo, hi = regs
            self.a(f"and {hi}.16b, {lo}.16b, {self.mask}.16b", "query high nibbles, in place at the top of each byte")
            self.a(f"shl {lo}.16b, {lo}.16b, #4", "query low nibbles moved to the top: byte subtraction wraps mod 16")

    def stages(self, q: list[str], r: str, t: str, a: str, first: bool) -> list[tuple[str, str]]:
        """The dependent steps of one chunk for one row (emitted stage by stage over the group)."""
        acc_op = "uaddlp" if first else "uadalp"
        b, l2 = self.bits, self.l2
        if b in (8, 16):
            # the code's own lanes (.16b or .8h), where wrap-around is the torus; w: lanes twice as wide
            n, half, w = ("16b", "8b", "8h") if b == 8 else ("8h", "4h", "4s")
            steps = [(f"sub {r}.{n}, {q[0]}.{n}, {r}.{n}", f"a - b, wrapping in {b} bits"),
                     (f"abs {r}.{n}, {r}.{n}", f"t = |(int{b})(a-b)| = min(d, {1 << b}-d); ABS(-{1 << (b - 1)}) "
                                               f"reads {1 << (b - 1)} unsigned")]
            if not l2:
                return steps + [(f"{acc_op} {a}.{w}, {r}.{n}", f"u{2 * b} lanes += pairs of t")]
            steps += [(f"umull {t}.{w}, {r}.{half}, {r}.{half}", f"t^2 <= 2^{2 * b - 2}, lower half"),
                      (f"umull2 {r}.{w}, {r}.{n}, {r}.{n}", "t^2, upper half"),
                      (f"addp {t}.{w}, {t}.{w}, {r}.{w}", f"pairs in dim order (<= 2^{2 * b - 1} fits u{2 * b})")]
            if b == 8:
                return steps + [(f"{acc_op} {a}.4s, {t}.8h", "u32 lanes += pairs")]
            return steps + [(f"mov {a}.16b, {t}.16b" if first else f"add {a}.4s, {a}.4s, {t}.4s", "u32 lanes += pairs")]
        if b == 4:
            lo, hi = q
            steps = [(f"shl {t}.16b, {r}.16b, #4", "row low nibbles to the top of the byte"),
                     (f"and {r}.16b, {r}.16b, {self.mask}.16b", "row high nibbles, low half cleared"),
                     (f"sub {t}.16b, {lo}.16b, {t}.16b", "16*(a-b) wraps mod 256 = 16*((a-b) mod 16)"),
                     (f"sub {r}.16b, {hi}.16b, {r}.16b", ""),
                     (f"abs {t}.16b, {t}.16b", "16*t, t = min(d, 16-d) <= 8: at most 128"),
                     (f"abs {r}.16b, {r}.16b", "")]
            if not l2:
                return steps + [(f"{acc_op} {a}.8h, {t}.16b", "u16 lanes += 16*t (shifted out at the end)"),
                                (f"uadalp {a}.8h, {r}.16b", "")]
            return steps + [(f"ushr {t}.16b, {t}.16b, #4", "t"),
                            (f"ushr {r}.16b, {r}.16b, #4", ""),
                            (f"mul {t}.16b, {t}.16b, {t}.16b", "t^2 <= 64 fits a byte"),
                            (f"mul {r}.16b, {r}.16b, {r}.16b", ""),
                            (f"add {t}.16b, {t}.16b, {r}.16b", "two dims per byte: <= 128"),
                            (f"{acc_op} {a}.8h, {t}.16b", "u16 lanes += pairs")]
        # 1-bit
        return [(f"eor {r}.16b, {q[0]}.16b, {r}.16b", "differing bits"),
                (f"cnt {r}.16b, {r}.16b", "popcount per byte (Hamming, <= 8)"),
                (f"{acc_op} {a}.8h, {r}.16b", "u16 lanes += pairs")]

    def emit_chunk(self, units: list[int], q: list[str]) -> None:
        """Stage-major emission of one chunk (the long-row loop, whose loads are in the loop head)."""
        per = [self.stages(q, self.R[u][0], self.T[u][0], self.A[u], False) for u in units]
        for depth in range(len(per[0])):
            for n, u in enumerate(units):
                text, comment = per[n][depth]
                self.a(text, comment if n == 0 else "")

    def run_items(self, items: list[_Item], after_loads: tuple[str, str] | None = None,
                  prefix: list[str] | None = None, side: list[list[str]] | None = None) -> None:
        """Software-pipelined emission of (load, steps) items.

        Item i's load is issued at step i - ``LOAD_LEAD`` and its k-th step at step
        i + ``STEP_GAP``·k, so each step mixes the steps of several independent items (the
        in-order core then finds an independent instruction for every issue
        slot).  Items sharing a register buffer (``buf``) are kept apart: an
        item's load waits until every earlier item is complete when the buffer
        it overwrites may still be in use.  All steps of an item keep their
        order, and items complete in order, so an accumulator's first step
        (UADDLP, which initialises it) always precedes its later UADALPs.
        """
        n = len(items)
        done = [0] * n
        last_user: dict = {}
        owner = []
        for idx, it in enumerate(items):
            owner.append(last_user.get(it.buf, -1))
            last_user[it.buf] = idx

        def step(idx: int) -> None:
            text, comment = items[idx].stages[done[idx]]
            self.a(text, comment if items[idx].commented else "")
            done[idx] += 1

        def complete(upto: int) -> None:
            for j in range(upto + 1):
                while done[j] < len(items[j].stages):
                    step(j)

        def load(idx: int) -> None:
            if owner[idx] >= 0:
                complete(owner[idx])
            self.a(*items[idx].load)
            if idx == n - 1 and after_loads:
                self.a(*after_loads)

        depth = max(len(it.stages) for it in items)
        # the deferred tree is one dependent chain (ADDP, UADDLP, UMINV, FMOV: 3-4 cycles each on the
        # A55): when the group has the steps for it, one of its lines every STEP_GAP steps keeps it off
        # the critical path (cortex-a55 model, D=64: 15.5 -> 14.75 cycles per row; packed tighter
        # where it does not fit, as at D=16, where spacing it cost 0.25 cycles per row)
        side = list(side or [])
        if len(side) * STEP_GAP <= n + depth * STEP_GAP:
            side = [entry for line in side for entry in ([line] + [[]] * (STEP_GAP - 1))]
        for idx in range(min(LOAD_LEAD, n)):
            load(idx)
        # the previous group's tree reads its accumulators before this group's first step writes them
        self.a.lines.extend(prefix or [])
        gap = STEP_GAP
        for s in range(n + depth * gap):
            if s + LOAD_LEAD < n:
                load(s + LOAD_LEAD)
            if side:
                self.a.lines.extend(side.pop(0))
            for idx in range(max(0, s - depth * gap + 1), min(n, s + 1)):
                if done[idx] < len(items[idx].stages) and done[idx] * gap <= s - idx:
                    step(idx)
        complete(n - 1)
        for lines in side:
            self.a.lines.extend(lines)

    # --- row sums: accumulators → distances ------------------------------------------

    def fold(self, accs: list[str], arrangement: str, lanes: int, pool: list[str] | None = None) -> list[str]:
        """ADDP tree: accumulators (row order, ``lanes`` lanes per row) → .4s vectors, one lane per row.

        With ``pool`` the first level writes there and later levels work in place
        (the deferred tree must not touch the registers the next group is using).
        """
        vecs = list(accs)
        tmp = iter(pool if pool is not None else self.scratch)
        first = True

        def level(op: str, dst: str, src: str, width: int, comment: str) -> list[str]:
            """One level of the tree; with a pool only the first level takes new registers."""
            nonlocal first
            out = tmp if (pool is None or first) else None
            first = False
            return self.reduce(op, vecs, dst, src, width, out, comment)

        if arrangement == "h":
            while lanes > 2 and self.fits16 and len(vecs) >= 2:
                vecs = level("addp", "8h", "8h", 2, "u16 pairwise: partial row sums (the row total fits u16)")
                lanes //= 2
            vecs = level("uaddlp", "4s", "8h", 1, "widen pairs to u32")
            lanes //= 2
        while lanes > 1:
            vecs = level("addp", "4s", "4s", 2, "pairwise: lanes of a row merge, rows stay in order")
            lanes //= 2
        if self.scale != 1:
            for v in vecs:
                self.a(f"ushr {v}.4s, {v}.4s, #4", "4-bit l1 summed 16*t: divide by 16 (exact)")
        return vecs

    def reduce(self, op: str, vecs: list[str], dst: str, src: str, width: int, out, comment: str) -> list[str]:
        """``op`` over each ``width`` vectors of ``vecs``, into the next registers of ``out`` (None: in place)."""
        results = []
        for j in range(0, len(vecs), width):
            ins = vecs[j:j + width]
            d = next(out) if out is not None else ins[0]
            self.a(f"{op} {d}.{dst}, " + ", ".join(f"{v}.{src}" for v in ins), comment)
            results.append(d)
        return results

    def capture(self, fn) -> tuple[list[str], object]:
        """Lines ``fn`` emits, taken out of the stream (to be interleaved elsewhere)."""
        saved, self.a = self.a, _Asm(STYLE)
        try:
            value = fn()
            return self.a.lines, value
        finally:
            self.a = saved

    def lanes_per_row(self, arrangement: str) -> int:
        lanes = 8 if arrangement == "h" else 4
        return lanes // self.per_vec

    # --- a group of rows ---------------------------------------------------------------

    def group_body(self, fold: bool = True, prefix=None, side=None) -> list[str]:
        """Distances of the next ``group`` rows at x1 → .4s vectors (x1 advanced).

        With ``fold=False`` the sums stay in the accumulators (the deferred tree
        folds them during the next group); ``prefix``/``side`` are the previous
        group's tree lines to interleave.
        """
        units = list(range(self.units))
        if self.looped:
            return self.looped_rows(units)
        self.run_items(self.chunk_items(units, self.qv, one_row=False),
                       after_loads=(f"add x1, x1, #{self.group * self.stride}", "x1 = next group"),
                       prefix=prefix, side=side)
        if not fold:
            return []
        return self.fold(self.A, self.acc, self.lanes_per_row(self.acc))

    def row(self) -> str:
        """Distance of the one row at x1 → w10 (x1 not advanced)."""
        if self.looped:
            vecs = self.looped_rows([0])
            self.a(f"fmov w10, s{vecs[0][1:]}", "row distance")
            return "w10"
        self.run_items(self.chunk_items([0], self.qv1, one_row=True))
        a = self.A[0]
        if self.acc == "h":
            self.a(f"uaddlv s{a[1:]}, {a}.8h", "sum all u16 lanes into u32")
        else:
            self.a(f"addv s{a[1:]}, {a}.4s", "sum all u32 lanes")
        self.a(f"fmov w10, s{a[1:]}", "row distance")
        if self.scale != 1:
            self.a("lsr w10, w10, #4", "4-bit l1 summed 16*t")
        return "w10"

    def chunk_items(self, units: list[int], query: list[str], one_row: bool) -> list[_Item]:
        """The (chunk, unit) items of rows at x1, chunk-major; the buffers alternate across chunks."""
        items = []
        for c in range(self.chunks):
            for u in units:
                buf = c % self.nbuf
                r, t = self.R[u][buf], self.T[u][buf]
                items.append(_Item((u, buf), self.load(u, c, r, one_row),
                                   self.stages(self.query_chunk(query, c), r, t, self.A[u], c == 0),
                                   commented=u == 0 and c == 0))
        return items

    def load(self, u: int, c: int, reg: str, one_row: bool) -> tuple[str, str]:
        """The load of chunk ``c`` of unit ``u`` at x1: one row of a group, several small rows, or a lone small row."""
        if self.small and one_row:
            return f"ldr {self.slot}{reg[1:]}, [x1]", f"the row's {self.stride} bytes; upper lanes zero (as the query's)"
        what = (f"rows {u * self.per_vec}-{u * self.per_vec + self.per_vec - 1}" if self.small
                else f"row {u}, chunk {c}")
        return f"ldr q{reg[1:]}, [x1, #{u * (16 if self.small else self.stride) + c * 16}]", what

    def looped_rows(self, units: list[int]) -> list[str]:
        """Long rows: loop over chunks (query reloaded per chunk); u16 sums flushed before overflow."""
        q = self.query_chunk(self.qv, 0)
        cursors = [f"x{19 + u}" for u in units]
        self.a("mov x19, x1", "row cursors")
        for u in units[1:]:
            self.a(f"add x{19 + u}, x{18 + u}, x24", f"row {u}")
        for u in units:
            self.a(f"movi {self.A32[u]}.2d, #0", "u32 row sums")
        blocks = []
        if self.acc == "h":
            full, rem = divmod(self.chunks, self.block)
            if full:
                blocks.append((self.block, full))
            if rem:
                blocks.append((rem, 1))
        else:
            blocks.append((self.chunks, 1))
        self.a("mov x23, x0", "query cursor")
        for size, times in blocks:
            n = len(self.a.lines)
            tag = f"{n}"
            if times > 1:
                self.a.mov_imm("x17", times, f"{times} blocks of {size} chunks")
                self.a.label(f".Lblock{tag}")
            if self.acc == "h":
                for u in units:
                    self.a(f"movi {self.A[u]}.2d, #0", "u16 partial sums (flushed after the block)")
            self.a.mov_imm("x16", size, "chunks in this block")
            self.a.label(f".Lchunk{tag}")
            self.a(f"ldr q{q[0][1:]}, [x23], #16", "query chunk")
            for u, cur in zip(units, cursors):
                self.a(f"ldr q{self.R[u][0][1:]}, [{cur}], #16", f"row {u} chunk")
            self.prep_query(q)
            self.emit_chunk(units, q)
            self.a("subs x16, x16, #1")
            self.a(f"b.ne .Lchunk{tag}")
            if self.acc == "h":
                for u in units:
                    self.a(f"uadalp {self.A32[u]}.4s, {self.A[u]}.8h", "flush u16 sums into u32")
            if times > 1:
                self.a("subs x17, x17, #1")
                self.a(f"b.ne .Lblock{tag}")
        if len(units) > 1:
            self.a(f"mov x1, {cursors[-1]}", "the last row's cursor ends at the next group")
        if len(units) == 1:
            a = self.A32[0]
            vec = self.scratch[0]
            self.a(f"addv s{vec[1:]}, {a}.4s", "sum the u32 lanes")
            if self.scale != 1:
                self.a(f"ushr v{vec[1:]}.2s, v{vec[1:]}.2s, #4", "4-bit l1 summed 16*t")
            return [vec]
        return self.fold([self.A32[u] for u in units], "s", 4)

    def tree_lines(self, resume: str, slow: str) -> tuple[list[str], list[list[str]], list[str]]:
        """The deferred tree of the previous group: (first level, later steps one per slot, distance vectors).

        Its use follows the tree: scan stores the distances; search and range
        test them, branching to ``slow`` and coming back at ``resume``.
        """
        lines, vecs = self.capture(lambda: self.fold(self.A, self.acc, self.lanes_per_row(self.acc), pool=self.D))
        prefix, rest = lines[:len(self.D)], lines[len(self.D):]
        use, _ = self.capture(lambda: self.use_sums(vecs, self.M, slow))
        side = [[line] for line in rest + use]
        if self.select:
            side[-1].append(STYLE.label(resume))
        return prefix, side, vecs

    def group_test(self, vecs: list[str], spare: list[str], slow: str) -> None:
        """Branch to ``slow`` when some row of the group beats the threshold w7."""
        spare = iter(spare)
        level = list(vecs)
        while len(level) > 1:
            level = self.reduce("umin", level, "4s", "4s", 2, spare, "best of each lane pair of vectors")
        best = next(spare)
        self.a(f"uminv s{best[1:]}, {level[0]}.4s", "best distance in the group")
        self.a(f"fmov w10, s{best[1:]}")
        self.a("cmp w10, w7", "any row better than the k-th best? (rare once the list is full)"
               if self.spec.kernel == "search" else "any row within the radius?")
        self.a(f"b.{self.hit} {slow}")

    def slow_path(self, label: str, vecs: list[str], back: str) -> None:
        """Out of line: some row of the group passed its test; offer its rows one by one, in order."""
        if self.spec.kernel == "search" and self.spec.k_max == 1:
            self.best_row_path(label, vecs, back)
            return
        self.a.label(label, "rows of the group, in order (ties keep the lower row)")
        for j in range(self.group):
            self.a(f"mov w10, {_lane(vecs, j)}", f"row {j} of the group")
            self.offer("w10", j, f"{label}_skip{j}")
        self.a(f"b {back}")

    def best_row_path(self, label: str, vecs: list[str], back: str) -> None:
        """k_max = 1: only the group's best row can enter, so one insert, of the first row at w10.

        w10 holds the group's minimum (group_test's UMINV) and beats w7; the first
        lane equal to it is the lowest such row (ties to the lower row).  The lanes
        are read three ahead of their compares: UMOV's 2-cycle latency stays hidden.
        """
        self.a.label(label, "k_max = 1: the lowest row of the group with the group's best distance w10")
        regs = ["w12", "w13", "w14"]       # the k_max = 1 .Linsert clobbers none of them
        last = self.group - 1

        def extract(j: int) -> None:
            self.a(f"mov {regs[j % 3]}, {_lane(vecs, j)}", f"row {j} of the group")

        for j in range(min(3, last)):
            extract(j)
        for j in range(last):
            self.a(f"add w11, w8, #{j}")
            self.a(f"cmp {regs[j % 3]}, w10")
            self.a(f"b.eq {label}_found")
            if j + 3 < last:
                extract(j + 3)
        self.a(f"add w11, w8, #{last}", f"not rows 0-{last - 1}: row {last} holds the minimum")
        self.a.label(f"{label}_found")
        self.a("bl .Linsert")
        self.a(f"b {back}")

    def deferred_groups(self) -> list[tuple[str, list[str], str]]:
        """Group loop with the tree of group g interleaved into group g+1; returns the slow paths to emit."""
        g = self.group
        self.a.note("group 0: loads and arithmetic only; its tree runs inside the next group (or after the loop)")
        self.group_body(fold=False)
        self.a("subs w9, w9, #1")
        self.a("b.eq .Lgroup_last")
        self.a.label(".Lgroup", f"{g} rows, and the tree of the previous {g}")
        prefix, side, vecs = self.tree_lines(".Lgroup_resume", ".Lgroup_slow")
        self.group_body(fold=False, prefix=prefix, side=side)
        self.loop_end("w9", ".Lgroup", g)
        self.a.label(".Lgroup_last", "the last group's tree")
        prefix, side, vecs = self.tree_lines(".Lgroup_last_resume", ".Lgroup_last_slow")
        self.a.lines.extend(prefix)
        for lines in side:
            self.a.lines.extend(lines)
        if not self.select:
            return []
        self.a(f"add w8, w8, #{g}")
        return [(".Lgroup_slow", vecs, ".Lgroup_resume"), (".Lgroup_last_slow", vecs, ".Lgroup_last_resume")]

    # --- kernels -------------------------------------------------------------------------

    def setup(self) -> None:
        """The query into registers (4-bit: split into nibble halves), or the stride for long rows."""
        s = self.spec
        if self.mask:
            self.a(f"movi {self.mask}.16b, #0xf0", "high-nibble mask")
        if self.looped:
            self.a.mov_imm("x24", self.stride, "row stride")
            return
        if self.small:
            rep = "4s" if self.stride == 4 else "2d"
            if s.kernel != "distance":
                self.a(f"ld1r {{{self.qv[0]}.{rep}}}, [x0]", f"query replicated into each {self.stride}-byte row slot")
                self.prep_query(self.qv[:2])
            self.a(f"ldr {self.slot}{self.qv1[0][1:]}, [x0]", "query for one row; upper lanes zero")
            self.prep_query(self.qv1[:2])
            return
        for c in range(self.chunks):
            q = self.query_chunk(self.qv, c)
            self.a(f"ldr q{q[0][1:]}, [x0, #{16 * c}]", f"query chunk {c}")
            self.prep_query(q)

    def frame(self) -> list[tuple[str, str]]:
        """The long-row cursors x19-x24 and the d halves of v8-v15 in use (d registers in aligned pairs)."""
        x = self.abi.must_save(f"x{n}" for n in range(19, 25)) if self.looped else ()
        d = sorted({n & ~1 for n in self.saved_d})
        return list(zip(x[0::2], x[1::2])) + [(f"d{n}", f"d{n + 1}") for n in d]

    def walk(self) -> list[tuple[str, list[str], str]]:
        """Groups of rows, then the rows left over one at a time; returns the groups' slow paths."""
        shift = self.group.bit_length() - 1
        self.a(f"lsr w9, w2, #{shift}", f"groups of {self.group} rows")
        self.a("cbz w9, .Ltail_start")
        slow = self.deferred_groups() if self.deferred else self.groups()
        self.a.label(".Ltail_start")
        self.a(f"ands w9, w2, #{self.group - 1}", "rows left over")
        self.a("b.eq .Ldone")
        self.a.label(".Ltail", "one row")
        dist = self.row()
        if self.spec.kernel == "scan":
            self.a(f"str {dist}, [x3], #4")
        else:
            self.offer(dist, None, ".Ltail_next")
        self.a.add_imm("x1", "x1", self.stride)
        self.loop_end("w9", ".Ltail", 1)
        return slow

    def groups(self) -> list[tuple[str, list[str], str]]:
        """The group loop, each group's tree and test inside it."""
        self.a.label(".Lgroup", f"{self.group} rows")
        vecs = self.group_body()
        # spare: registers that do not hold the distances (the slow path reads them)
        self.use_sums(vecs, [v for v in self.scratch + self.A if v not in vecs], ".Lgroup_slow")
        if self.select:
            self.a.label(".Lgroup_next")
        self.loop_end("w9", ".Lgroup", self.group)
        return [(".Lgroup_slow", vecs, ".Lgroup_next")] if self.select else []

    def use_sums(self, vecs: list[str], spare: list[str], slow: str) -> None:
        """A group's distances: scan stores them, four rows per STR q; search and range test them."""
        if self.spec.kernel != "scan":
            self.group_test(vecs, spare, slow)
            return
        for v in vecs:
            self.a(f"str q{v[1:]}, [x3], #16", "four distances")


def _lane(vecs: list[str], row: int) -> str:
    """The lane holding row ``row`` of a group whose distances are .4s vectors, four rows each."""
    return f"{vecs[row // 4]}.s[{row % 4}]"
