"""Per-core lower bounds on an 8-bit l1 search, priced by each core's own cycle model.

A bound is the cost of the *method* every fast kernel and baseline here
shares — stream the row a word (or vector) at a time, wrap-subtract, take
|·| per lane, accumulate per word, then compare the row's sum with the
current k-th best and branch — with every instruction independent (perfect
scheduling: no load-use or result-latency stall), the query already in
registers, the loop back-edge and pointer updates amortised away (rows
unrolled), and the top-k insertion never taken.  It is not a bound on every
conceivable program, only on this method as the model prices it; where a
core cannot hold the method's registers or operand forms (the Cortex-M0's
two-operand Thumb and eight low registers, the 8086's four byte registers)
the bound is not reachable, and docs/performance.md says so.

The instruction mix of one word step and one row is written out below as
assembly, assembled by the ziglang clang like every kernel, decoded by
capstone and priced by ``sim.cycles`` — so the bound moves with the model's
tables (a half-throughput UADALP on the A55, a queue-accurate 8086 BIU) and
is never typed in.  Each function's docstring is its derivation.
"""

from __future__ import annotations

from functools import lru_cache
from itertools import repeat
from math import ceil

from isa.assembler import assemble
from isa.checker import disassembler
from isa.targets import get_target

from .cycles import get_model

# The SWAR step of baselines/c/torus_swar.c (nine operations), with row word r in
# {R}, query words qh, qx, constants H, L; every destination is fresh so no
# instruction waits for another (registers named per ISA below).
_RV_STEP = ["and t1, {R}, s3", "sub t1, s7, t1", "xor t2, t1, {R}", "xor t2, t2, s8", "and t2, t2, s2",
            "srli t3, t2, 7", "sub t4, t2, t3", "xor t5, t1, t4", "and t5, t5, s3"]


@lru_cache(maxsize=None)
def _price(target: str, core: str, text: str) -> float:
    """Cycles the core's model charges for ``text`` run once, straight through, from a cold start."""
    t = get_target(target)
    image = assemble(t, text + "\n")
    address, code = image.text
    insns = list(disassembler(t, detail=True).disasm(code, address))
    model = get_model(core)
    if model.stateful:  # the 8086/8088 bus unit: one straight run from its entry state, every word even
        cycles, _, _ = model.run_block(insns, next_address=None, end=None, odd_words=repeat(False), regs={},
                                       state=model.initial_state())
        return float(cycles)
    cycles = model.block_cycles(insns, taken_last=False, before=None)
    if model.needs_memory:  # the datasheet 8086/8088: the word loads' bus penalties (all at even addresses)
        cycles += sum(model.memory_cycles(0x100, 2, False) for i in insns if i.mnemonic.startswith("lods"))
    return float(cycles)


def _steady(target: str, core: str, lines: list[str], copies: int = 4) -> float:
    """Cycles per copy of ``lines`` in a long straight run (the start-up of a cold pipeline removed)."""
    one = _price(target, core, "\n".join(lines * copies))
    two = _price(target, core, "\n".join(lines * (2 * copies)))
    return (two - one) / copies


def ibex(dims: int) -> float:
    """Ibex (rv32im), per row: W = ⌈D/4⌉ words of ``lw`` (LOAD_STORE = 2) + the nine-operation SWAR
    step + one accumulating ``add`` (1 cycle each), then one ``mul`` (MUL = 3) and ``srli`` for the
    horizontal sum and one not-taken ``bltu`` (BRANCH_NOT_TAKEN = 1): 12·W + 5."""
    word = ["lw a4, 0(a1)", *(s.format(R="t0") for s in _RV_STEP), "add t6, t6, t5"]
    row = ["mul a3, a3, s5", "srli a3, a3, 24", "bltu a3, s1, 1f", "1:"]
    return _per_row("rv32im", "ibex", ceil(dims / 4), word, row)


def u54(dims: int) -> float:
    """U54 (rv64im, single issue, 1 cycle per instruction when nothing waits), per row: W = ⌈D/8⌉
    words of ``ld`` + nine SWAR operations + one ``add``, then ``mul`` + ``srli`` (the horizontal
    sum, its latency hidden behind other rows) and a correctly predicted ``bltu``: 11·W + 3."""
    word = ["ld a4, 0(a1)", *(s.format(R="t0") for s in _RV_STEP), "add t6, t6, t5"]
    row = ["mul a3, a2, s5", "srli a5, a6, 56", "bltu a7, s1, 1f", "1:"]
    return _per_row("rv64im", "u54", ceil(dims / 8), word, row)


def cortex_m0(dims: int) -> float:
    """Cortex-M0, per row: the row's W = ⌈D/4⌉ words by ``ldm`` of up to four (1 + N), nine SWAR
    operations and one ``adds`` per word (1 cycle each, operand copies ignored), then ``muls``
    (1, the fast multiplier) + ``lsrs`` for the horizontal sum, ``cmp`` and a not-taken ``bcc``."""
    words = ceil(dims / 4)
    step = ["ands r5, r6", "subs r5, r7, r5", "eors r6, r5", "eors r6, r7", "ands r6, r7", "lsrs r6, r6, #7",
            "subs r6, r5, r6", "eors r5, r6", "ands r5, r7", "adds r4, r4, r5"]
    loads = [f"ldm r0!, {{{', '.join(f'r{1 + i}' for i in range(min(4, words - 4 * b)))}}}"
             for b in range(ceil(words / 4))]
    row = [*loads, *(step * words), "muls r4, r5, r4", "lsrs r4, r4, #24", "cmp r4, r3", "bcc 1f", "1:"]
    return _price("cortex-m0", "cortex-m0", "\n".join(row))


def cortex_m4(dims: int) -> float:
    """Cortex-M4, per row: W = ⌈D/4⌉ words by ``ldm`` of up to four (1 + N), one ``usub8`` and one
    ``usada8`` per word (1 cycle each, the DSP trick of baselines/c/torus_acle.c), then ``cmp`` and a
    not-taken ``bcc``: about 3·W + ⌈W/4⌉ + 2."""
    words = ceil(dims / 4)
    loads = [f"ldm r0!, {{{', '.join(f'r{4 + i}' for i in range(min(4, words - 4 * b)))}}}"
             for b in range(ceil(words / 4))]
    step = ["usub8 r8, r9, r10", "usada8 r11, r8, r12, r11"]
    row = [*loads, *(step * words), "cmp r11, r3", "bcc 1f", "1:"]
    return _price("cortex-m4", "cortex-m4", "\n".join(row))


def cortex_a55(dims: int) -> float:
    """Cortex-A55 (dual issue, one 64-bit load pipe, two 64-bit SIMD pipes), per row in steady state:
    for each 16-byte chunk (two 8-byte rows when D <= 8) one vector load, ``sub``, ``abs`` and ``uadalp``
    (the method of baselines/c/torus_neon.c), plus one ``addp`` per row to fold its lane sums; the
    compare and branch are shared by a group of 8 rows (one ``uminv``, ``fmov``, ``cmp``, ``b.hs``).
    Priced on a long straight run of independent groups (no instruction waits for another)."""
    chunk = ["ld1 {{v{L}.16b}}, [x1]", "sub v{S}.16b, v20.16b, v21.16b", "abs v{S}.16b, v22.16b",
             "uadalp v{A}.8h, v23.16b"]
    # Rows of up to 8 dims share a 16-byte vector two at a time (as the generated kernel does), so
    # a group of 8 such rows is 4 chunks and 4 folds; longer rows take ⌈D/16⌉ chunks and 1 fold each.
    chunks, folds = (4, 4) if dims <= 8 else (8 * ceil(dims / 16), 8)
    group = [s.format(L=i % 4, S=4 + i % 4, A=8 + i % 8) for i in range(chunks) for s in chunk]
    group += [f"addp v{16 + g % 4}.8h, v24.8h, v25.8h" for g in range(folds)]
    group += ["uminv h26, v27.8h", "fmov w9, s28", "cmp w10, w7", "b.hs 1f", "1:"]
    return _steady("aarch64", "cortex-a55", group, copies=2) / 8


def i8086(dims: int, core: str = "i8086") -> float:
    """8086/8088, per row: per two dims one ``lodsw`` (the row word; 8088: +4 for the word on its
    8-bit bus) and per dim ``sub al, dl`` (query byte in a register), ``cbw``, ``xor al, ah``,
    ``add bx, ax`` and ``add ch, ah`` (the word variant's abs-and-accumulate, the sign bytes counted
    for one correction per row), two byte moves per word, then ``cmp`` and a not-taken ``jb``."""
    per_dim = ["cbw", "xor al, ah", "add bx, ax", "add ch, ah"]
    word = ["lodsw", "mov cl, ah", "sub al, dl", *per_dim, "mov al, cl", "sub al, dh", *per_dim]
    row = [*(word * ceil(dims / 2)), "cmp bx, di", "jb 1f", "1:"]
    return _price("i8086", core, "\n".join(row))


def _per_row(target: str, core: str, words: int, word: list[str], row: list[str]) -> float:
    return _price(target, core, "\n".join(word * words + row))


BOUNDS = {"ibex": ibex, "u54": u54, "cortex-m0": cortex_m0, "cortex-m4": cortex_m4, "cortex-a55": cortex_a55,
          **{core: (lambda dims, core=core: i8086(dims, core))
             for core in ("i8086", "i8088", "i8086-datasheet", "i8088-datasheet")}}


def bound_cycles_per_row(core: str, dims: int) -> float:
    """The method's lower bound for one row of an 8-bit l1 search on ``core`` (see the functions above)."""
    return BOUNDS[core](dims)


def bound_cycles_per_row_dim(core: str, dims: int) -> float:
    return bound_cycles_per_row(core, dims) / dims
