"""Cortex-A55 cycle model: in-order, dual-issue scoreboard over each executed block.

Source: *Arm Cortex-A55 Software Optimization Guide* (EPM128372, issue 4.0,
2022; the same tables as issue 3.0 of 2018 for everything used here):

* section 3.2 "Dual-issue", Table 1 "Instruction-0 dual issue conditions"
  and Table 2 "Instruction-1 dual issue conditions": which instructions may
  pair as the older (slot 0) or the younger (slot 1) of an issue pair — in
  particular a conditional instruction pairs with the flag-setting
  instruction before it, and loads cannot pair with loads, stores with
  stores, branches with branches;
* section 4 "Instruction characteristics" — 4.2 branch, 4.3 arithmetic and
  logical, 4.4 move and shift, 4.5 divide and multiply, 4.7 miscellaneous
  data-processing, 4.8 load, 4.9 store, 4.12 FP miscellaneous (FMOV), 4.13
  FP (vector register) load, 4.14 FP store, 4.15 "Advanced SIMD integer
  instructions", 4.17 "Advanced SIMD miscellaneous instructions", 4.18
  "Advanced SIMD load instructions" and 4.19 "Advanced SIMD store
  instructions": for each instruction group its exec latency, execution
  throughput (instructions per cycle) and dual-issue slots (4.1: "00" never,
  "01" only as instruction 0, "10" only as instruction 1, "11" either).

How the tables become issue rules, per instruction in program order:

* it issues no earlier than the previous instruction (in order) and no
  earlier than the cycle its source registers are ready (the producer's exec
  latency, e.g. 3 for LDR, 4 for a Q-form LDR or UMINV);
* it issues in the *same* cycle as the previous instruction only when that
  one opened the cycle and may be instruction 0 (dual-issue 11 or 01), this
  one may be instruction 1 (11 or 10), and the pipes have room: two integer
  ALUs, one MAC, one divider, one load, one store, one branch, and the two
  64-bit halves of the NEON-FP datapath;
* execution throughput t: throughput 2 uses one ALU (or one 64-bit NEON
  half) for a cycle, throughput 1 both, throughput 1/n the whole pipe for n
  cycles (UADALP, UABA/UABAL, SRSRA: 1/2; a Q-form LDR: 1/2; LD1 of two Q
  registers: 1/4 …);
* note 1 of tables 4.15–4.17: "if the instruction has Q-form, the Q-form of
  the instruction can only be dual issued as instruction 0 and execution
  throughput is 1" — applied to every SIMD instruction whose destination is
  a 128-bit vector (the guide prints the note for nearly every group; for
  the few without it, e.g. SHL/USHR, DUP from a general register, the model
  still takes a 128-bit op to use both 64-bit halves);
* flags: a conditional instruction (B.cond, CSEL) may pair with the flag
  setter before it (Table 2), so NZCV is ready in the setter's own cycle;
* a taken branch ends its issue group and the target issues no earlier than
  ``1 + TAKEN_BRANCH_BUBBLE`` cycles later (*assumed*: correctly predicted,
  one fetch bubble; the guide gives no figure for the redirect).

Where the guide gives a range the model takes: divides at their maximum
(12 cycles W-form, 20 X-form, as the Cortex-M4 model does), 64-bit MADD/MUL
at the best case (latency 4, throughput 1/2; 3.4: "two or three cycles,
depending on whether both operands contain 1s in their top 32 bits").
LLVM's ``AArch64SchedA55.td`` was the earlier source of this model; it
agrees with the guide on the SIMD latencies but not on several load
latencies (register offset 4 there, 3 here; Q-form LDR 5 there, 4 here),
UADALP's throughput, or the slot rules.

Left out: caches (every load hits L1), the prefetcher, branch
mispredictions (every branch is predicted correctly), the unaligned-access
penalty cycle (3.3; the kernels' accesses are aligned), the short load→AGU
"pointer chasing" path (latency 2 in parentheses), the accumulator
forwarding of MLA/UMLAL/UDOT chains (latency 1 in parentheses; the kernels
accumulate with ADD/UADALP, which have none), store-buffer effects, and the
history before a block: a block is priced from the one instruction executed
just before it (``before``), so a stall caused by an instruction two or more
blocks back is not seen.  The count for a block is the number of cycles from
the issue of ``before`` to the issue of the block's last instruction (a block
entered by a taken branch pays that branch's bubble), so the blocks' costs add
up to the run's length.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .base import CycleModel

TAKEN_BRANCH_BUBBLE = 1   # assumed, see the module docstring

# --- integer (4.2–4.7) ------------------------------------------------------------------
ALU_LATENCY = 1            # 4.3 ALU basic, CSEL, CCMP; 4.4 MOV/MOVZ/ADR; 4.7 SXTB/UXTB, CLZ, REV
ALU_SHIFTED_LATENCY = 2    # 4.3 "ALU, extend and/or shift"; 4.7 SBFM/UBFM (LSL/LSR/ASR #imm, UBFX), EXTR, RBIT
MUL_LATENCY = 3            # 4.5 MADD/MSUB 32-bit, SMADDL/UMADDL
MUL64_LATENCY = 4          # 4.5 MADD/MSUB 64-bit: 4-5, throughput 1/3-1/2 (best case taken)
MULH_LATENCY = 6           # 4.5 SMULH/UMULH, throughput 1/3
DIV_W_LATENCY = 12         # 4.5 SDIV/UDIV W: 3-12, throughput 1/12-1/3 (priced at the maximum)
DIV_X_LATENCY = 20         # ... X: 3-20
# --- loads and stores (4.8, 4.9, 4.13, 4.14, 4.18, 4.19) -------------------------------
LOAD_LATENCY = 3           # LDR/LDUR/LDRB/LDRH/LDRSW, immediate, literal or register offset
LOAD_PAIR_W_LATENCY = 3    # LDP W-form (00)
LOAD_PAIR_X_LATENCY = 4    # LDP X-form, throughput 1/2 (01)
VLOAD_LATENCY = 3          # LDR B/H/S/D vector register; LD1 one D register; LD1R; LD1 one lane
VLOAD_Q_LATENCY = 4        # LDR Q, LD1 one Q register: throughput 1/2 (a 64-bit load path, 3.3)
WRITEBACK_LATENCY = 1      # pre/post-index base update ("3 (2), 1"); Q-form vector loads: 2

# --- Advanced SIMD, tables 4.15 and 4.17 (AArch64) ---------------------------------------
# mnemonic → (exec latency, execution throughput of the D-form, dual-issue slots).
# Throughput 2 / "11" groups carry note 1: their Q-form has throughput 1 and issues as instruction 0 only.
_T2 = (2, "11")
SIMD = {
    # 4.15
    **{m: (3, *_T2) for m in ("sabd", "uabd")},
    **{m: (4, 0.5, "01") for m in ("saba", "uaba", "sabal", "uabal")},
    **{m: (3, 1, "01") for m in ("sabdl", "uabdl")},
    **{m: (2, *_T2) for m in ("add", "sub", "neg", "shadd", "uhadd", "shsub", "uhsub", "srhadd", "urhadd")},
    **{m: (3, *_T2) for m in ("abs", "addp", "saddlp", "uaddlp", "sqadd", "uqadd", "sqneg", "sqsub", "uqsub",
                              "suqadd", "usqadd")},
    **{m: (3, 1, "01") for m in ("saddl", "uaddl", "saddw", "uaddw", "ssubl", "usubl", "ssubw", "usubw",
                                 "addhn", "subhn")},
    "sqabs": (4, *_T2),
    **{m: (4, 0.5, "01") for m in ("raddhn", "rsubhn")},
    **{m: (3, 1, "01") for m in ("addv", "saddlv", "uaddlv")},
    **{m: (2, *_T2) for m in ("cmeq", "cmge", "cmgt", "cmhi", "cmhs", "cmle", "cmlt")},
    "cmtst": (3, *_T2),
    **{m: (1, *_T2) for m in ("and", "bic", "eor", "mvn", "not", "orn", "orr")},
    "mov": (2, *_T2),                                   # ASIMD logical MOV (ORR alias)
    **{m: (2, *_T2) for m in ("smax", "smaxp", "smin", "sminp", "umax", "umaxp", "umin", "uminp")},
    **{m: (4, 1, "01") for m in ("smaxv", "sminv", "umaxv", "uminv")},
    **{m: (4, *_T2) for m in ("mul", "sqdmulh", "sqrdmulh", "mla", "mls", "udot", "sdot")},
    "pmul": (3, *_T2),
    **{m: (4, 1, "01") for m in ("sqrdmlah", "sqrdmlsh", "smlal", "smlsl", "umlal", "umlsl", "sqdmlal",
                                 "sqdmlsl", "smull", "umull", "sqdmull")},
    "pmull": (3, 1, "01"),
    **{m: (4, 0.5, "01") for m in ("sadalp", "uadalp")},
    **{m: (3, *_T2) for m in ("sra", "ssra", "usra")},
    **{m: (4, 0.5, "01") for m in ("srsra", "ursra")},
    **{m: (2, *_T2) for m in ("shl", "shrn", "sli", "sri", "sshr", "ushr")},
    **{m: (2, 1, "01") for m in ("shll", "sshll", "ushll", "sxtl", "uxtl")},
    **{m: (3, *_T2) for m in ("rshrn", "srshr", "urshr", "sqshrn", "uqshrn", "srshl", "urshl")},
    **{m: (4, *_T2) for m in ("sqshl", "sqshlu", "uqshl", "sqrshrn", "uqrshrn", "sqrshrun", "sqshrun",
                              "sqrshl", "uqrshl")},
    **{m: (2, *_T2) for m in ("sshl", "ushl")},
    # 4.17
    **{m: (2, *_T2) for m in ("rbit", "bif", "bit", "bsl", "clz", "cnt", "ext", "xtn", "rev16", "rev32",
                              "rev64", "uzp1", "uzp2", "zip1", "zip2", "trn1", "trn2")},
    "cls": (3, *_T2),
    **{m: (4, *_T2) for m in ("sqxtn", "sqxtun", "uqxtn")},
    "movi": (1, *_T2), "mvni": (1, *_T2),
    **{m: (2, *_T2) for m in ("smov", "umov")},
}
DUP_GENERAL_LATENCY = 3        # 4.17 "ASIMD duplicate, gen reg" (from an element: 2)
INS_LATENCY = 2                # 4.17 INS, element or general register
FMOV_TO_GENERAL_LATENCY = 1    # 4.12 "FP transfer, from double/single to gen reg"
FMOV_FROM_GENERAL_LATENCY = 2  # 4.12 "FP transfer, from gen to half/double/single"
TBL_LATENCY = 2                # 4.17 TBL: 2 + N - 1, throughput 1/N (N table registers)

# LD1/ST1 multiple structures, 4.18/4.19: (registers, Q-form) → (latency, cycles the pipe is held)
LD1_MULTIPLE = {(1, False): (3, 1), (1, True): (4, 2), (2, False): (4, 2), (2, True): (6, 4),
                (3, False): (5, 3), (3, True): (8, 6), (4, False): (6, 4), (4, True): (10, 8)}
ST1_MULTIPLE = {(1, False): 1, (1, True): 1, (2, False): 1, (2, True): 2, (3, False): 2, (3, True): 3,
                (4, False): 2, (4, True): 4}
# LD2/LD3/LD4 multiple: (Q-form) → (latency, hold) for byte/halfword elements (the worst case of each table row)
LDN_MULTIPLE = {("ld2", False): (4, 2), ("ld2", True): (6, 4), ("ld3", False): (6, 4), ("ld3", True): (9, 7),
                ("ld4", False): (7, 5), ("ld4", True): (11, 9)}

_QFORM = re.compile(r"\.(16b|8h|4s|2d)\b")
_VREG = re.compile(r"\bv\d+\.")
_SCALAR_FP = re.compile(r"^[bhsdq]\d+$")
_BRANCHES = ("b", "bl", "br", "blr", "ret", "cbz", "cbnz", "tbz", "tbnz")
_CONDITIONAL = ("csel", "csinc", "csinv", "csneg", "cset", "csetm", "cinc", "cinv", "cneg", "ccmp", "ccmn",
                "adc", "adcs", "sbc", "sbcs")
# pipe → units per cycle; "simd" counts 64-bit halves of the NEON-FP datapath
_UNITS = {"alu": 2, "mac": 1, "div": 1, "load": 1, "store": 1, "branch": 1, "simd": 2}


@dataclass
class Issue:
    """How one instruction issues (exposed for tests): pipe, units it takes, cycles it holds the pipe."""

    pipe: str
    latency: int
    units: int = 1          # units of ``pipe`` used in the issue cycle
    hold: int = 1           # cycles before the pipe takes another instruction (1/throughput)
    slots: str = "11"       # dual-issue: "11", "01" (instruction 0 only), "10" (1 only), "00" (never)
    writeback: int = 0      # latency of a pre/post-index base update (0: none)
    qform: bool = False


def _norm(name: str) -> str | None:
    """One name per architectural register: w3/x3 → x3, b/h/s/d/q/v5 → v5."""
    if name in ("wzr", "xzr", "sp", "wsp"):
        return None if name.endswith("zr") else "sp"
    if name == "nzcv":
        return name
    head, num = name[0], name[1:]
    if num.isdigit():
        if head in "wx":
            return "x" + num
        if head in "bhsdqv":
            return "v" + num
    return name


def _lookup(base: str):
    if base in SIMD:
        return SIMD[base]
    if base.endswith("2") and base[:-1] in SIMD:    # UADDL2, UMULL2, XTN2, …: the same group
        return SIMD[base[:-1]]
    return None


class CortexA55(CycleModel):
    core = "cortex-a55"
    target = "aarch64"
    source = ("Arm Cortex-A55 Software Optimization Guide (EPM128372 issue 4.0): 3.2 dual-issue tables, "
              "4.2-4.19 instruction latency/throughput/dual-issue tables")
    omits = ("caches (all loads hit L1), prefetcher, branch mispredictions (all predicted), unaligned-access "
             "penalty, pointer-chasing and accumulator forwarding paths, store buffer; stalls caused more than "
             "one block back")

    # --- classification ----------------------------------------------------------

    def _regs(self, insn) -> tuple[list[str], list[str]]:
        reads, writes = insn.regs_access()
        r = [_norm(insn.reg_name(x)) for x in reads]
        w = [_norm(insn.reg_name(x)) for x in writes]
        if insn.mnemonic in ("cmp", "cmn", "tst"):
            # capstone lists the first source of an alias of SUBS/ADDS/ANDS with a zero
            # destination as written; it is read.
            r += [x for x in w if x != "nzcv"]
            w = ["nzcv"]
        return [x for x in r if x], [x for x in w if x]

    def classify(self, insn) -> Issue:
        """Pipe, latency, units, hold and slots of one instruction (the guide's table row)."""
        m = insn.mnemonic
        ops = insn.op_str
        base = m.split(".")[0]
        first = ops.split(",")[0].strip().lstrip("{")
        vector_dest = bool(_SCALAR_FP.match(first.split(".")[0])) or first.startswith("v")
        writeback = bool(getattr(insn, "writeback", False))
        if base in _BRANCHES:                                       # 4.2
            return Issue("branch", 0, slots="10" if base in ("br", "blr", "ret") else "11")
        if re.match(r"^(ld|st)", base) and base not in ("stlr",) and not base.startswith("ldad"):
            return self._memory(base, ops, first, vector_dest, writeback)
        if base in ("fmov",):                                       # 4.12
            if first.startswith(("w", "x")):
                return Issue("simd", FMOV_TO_GENERAL_LATENCY)
            if re.search(r",\s*[wx]\d+$", ops):
                return Issue("simd", FMOV_FROM_GENERAL_LATENCY)
            return Issue("simd", 1)
        if _VREG.search(ops) or _SCALAR_FP.match(first):
            return self._simd(base, ops, first)
        return self._integer(base, ops, first)

    def _simd(self, base: str, ops: str, first: str) -> Issue:
        qform = bool(_QFORM.search(first))          # the destination is a 128-bit vector
        if base == "mov" and "[" in ops:            # MOV alias of INS (to an element) or UMOV (to a W/X register)
            return Issue("simd", INS_LATENCY)
        if base == "dup":
            latency = DUP_GENERAL_LATENCY if re.search(r",\s*[wx]\d+$", ops) else 2
            return Issue("simd", latency, units=2 if qform else 1, slots="01" if qform else "11", qform=qform)
        if base == "ins":
            return Issue("simd", INS_LATENCY)
        if base in ("tbl", "tbx"):
            n = max(1, ops.split("}")[0].count("v"))
            extra = 1 if base == "tbx" else 0
            return Issue("simd", TBL_LATENCY + n - 1 + extra, units=2, hold=n + extra, slots="01", qform=qform)
        row = _lookup(base)
        if row is None:
            row = (4, *_T2)                         # not in the guide's integer tables: FP-like default
        latency, throughput, slots = row
        if throughput == 2 and qform:               # note 1
            throughput, slots = 1, "01"
        if throughput >= 2:
            return Issue("simd", latency, units=1, slots=slots, qform=qform)
        hold = 1 if throughput >= 1 else round(1 / throughput)
        return Issue("simd", latency, units=2, hold=hold, slots=slots, qform=qform)

    def _memory(self, base: str, ops: str, first: str, vector_dest: bool, writeback: bool) -> Issue:
        store = base.startswith("st")
        pipe = "store" if store else "load"
        wb = WRITEBACK_LATENCY if writeback else 0
        regs = ops.split("}")[0].count("v") if ops.startswith("{") else 1
        qform = first.startswith("q") or bool(_QFORM.search(ops.split("[")[0]))
        if base in ("ld1", "st1") and ops.startswith("{") and "}[" not in ops:   # multiple structures
            if store:
                hold = ST1_MULTIPLE[(min(regs, 4), qform)]
                return Issue(pipe, hold, hold=hold, slots="11" if regs == 1 else "01", writeback=wb)
            latency, hold = LD1_MULTIPLE[(min(regs, 4), qform)]
            return Issue(pipe, latency, hold=hold, slots="11" if (regs, qform) == (1, False) else "01",
                         writeback=wb, qform=qform)
        if base in ("ld2", "ld3", "ld4") and "}[" not in ops:
            latency, hold = LDN_MULTIPLE[(base, qform)]
            return Issue(pipe, latency, hold=hold, slots="01", writeback=wb, qform=qform)
        if base.startswith(("ld1", "ld2", "ld3", "ld4")):                       # one lane / all lanes (…R)
            return Issue(pipe, VLOAD_LATENCY, slots="01", writeback=wb)
        if base.startswith(("st2", "st3", "st4")):
            return Issue(pipe, 1, hold=2, slots="01", writeback=wb)
        pair = base in ("ldp", "ldnp", "stp", "stnp", "ldpsw")
        if vector_dest:
            size = first[0]                                                        # b/h/s/d/q
            if store:
                if pair and size == "q":
                    return Issue(pipe, 2, hold=2, slots="01", writeback=wb)       # STP Q
                return Issue(pipe, 1, writeback=wb)
            if pair:
                latency, hold = {"s": (3, 1), "d": (4, 2), "q": (6, 4)}[size]
                return Issue(pipe, latency, hold=hold, slots="01", writeback=wb * hold)
            if size == "q":
                return Issue(pipe, VLOAD_Q_LATENCY, hold=2, slots="01", writeback=2 if writeback else 0,
                             qform=True)
            return Issue(pipe, VLOAD_LATENCY, slots="01" if size in "bh" else "11", writeback=wb)
        if store:
            if base in ("stlr", "stlrb", "stlrh"):
                return Issue(pipe, 2, hold=2, slots="01")
            return Issue(pipe, 1, writeback=wb)                                   # STR/STUR/STP
        if pair:
            if base == "ldpsw" or first.startswith("w"):
                return Issue(pipe, LOAD_PAIR_W_LATENCY, slots="00", writeback=wb)
            return Issue(pipe, LOAD_PAIR_X_LATENCY, hold=2, slots="00" if writeback else "01",
                         writeback=2 if writeback else 0)
        if base.startswith(("ldar", "ldax", "ldxr", "ldaxr")):
            return Issue(pipe, LOAD_LATENCY, slots="01")
        return Issue(pipe, LOAD_LATENCY, writeback=wb)

    def _integer(self, base: str, ops: str, first: str) -> Issue:
        x_form = first.startswith("x")
        if base in ("mul", "madd", "msub", "mneg"):
            if x_form:
                return Issue("mac", MUL64_LATENCY, hold=2)
            return Issue("mac", MUL_LATENCY)
        if base in ("umull", "smull", "umaddl", "smaddl", "umsubl", "smsubl", "umnegl", "smnegl"):
            return Issue("mac", MUL_LATENCY)
        if base in ("umulh", "smulh"):
            return Issue("mac", MULH_LATENCY, hold=3)
        if base in ("udiv", "sdiv"):
            latency = DIV_X_LATENCY if x_form else DIV_W_LATENCY
            return Issue("div", latency, hold=latency, slots="01")
        if base in ("lsl", "lsr", "asr", "ror"):
            if re.search(r",\s*[wx]\d+$", ops):                        # LSLV/…: 4.4 "Variable shift" 1, 1
                return Issue("alu", ALU_LATENCY, units=2)
            return Issue("alu", ALU_SHIFTED_LATENCY)                    # UBFM/SBFM/EXTR aliases
        if base in ("ubfx", "sbfx", "ubfiz", "sbfiz", "bfi", "bfxil", "bfc", "ubfm", "sbfm", "bfm", "extr",
                    "rbit", "sxtw"):
            return Issue("alu", ALU_SHIFTED_LATENCY)
        if re.search(r",\s*(lsl|lsr|asr|ror|uxt[bhwx]|sxt[bhwx])\b", ops):
            return Issue("alu", ALU_SHIFTED_LATENCY)                    # 4.3 "ALU, extend and/or shift"
        return Issue("alu", ALU_LATENCY)

    # --- pricing ---------------------------------------------------------------------

    def block_cycles(self, insns, *, taken_last: bool, before) -> int:
        ready: dict[str, int] = {}
        free: dict[str, int] = {}       # first cycle each pipe accepts a new instruction (multi-cycle holds)
        used: dict[str, int] = {}       # units of each pipe used in ``cycle``
        cycle = 0                       # issue cycle of the most recent instruction
        group = 0                       # instructions issued in ``cycle``
        opener_slots = "00"             # dual-issue slots of the instruction that opened ``cycle``
        start = 0
        seq = list(insns)
        if before is not None:
            seq = [before] + seq
        else:
            start = -1                  # the first instruction of a run costs its issue cycle
        last_issue = 0
        for n, insn in enumerate(seq):
            info = self.classify(insn)
            reads, writes = self._regs(insn)
            earliest = max([cycle, free.get(info.pipe, 0)] + [ready.get(r, 0) for r in reads])
            issue = earliest
            if n > 0 and issue == cycle and not self._pairs(used, group, opener_slots, info):
                issue += 1
            if n == 0 or issue != cycle:
                used, group, opener_slots = {}, 0, info.slots
            cycle = issue
            group += 1
            used[info.pipe] = used.get(info.pipe, 0) + info.units
            if info.hold > 1:
                free[info.pipe] = issue + info.hold
            lat = max(info.latency, 1)
            bases = {r for r in reads if r in writes and r.startswith("x")} if info.writeback else set()
            for w in writes:
                if w == "nzcv":
                    ready[w] = issue            # a conditional instruction pairs with the flag setter (Table 2)
                else:
                    ready[w] = issue + (info.writeback if w in bases else lat)
            last_issue = issue
            if n == 0 and before is not None and self._taken(before, seq[1] if len(seq) > 1 else None):
                # control arrived by a taken branch: nothing issues with it, then a fetch bubble
                cycle = issue + TAKEN_BRANCH_BUBBLE
                used, group, opener_slots = {}, 2, "00"
        return last_issue - start

    @staticmethod
    def _taken(branch, nxt) -> bool:
        """Did control leave ``branch`` for anywhere but the next instruction?"""
        if nxt is None or branch.mnemonic.split(".")[0] not in _BRANCHES:
            return False
        return nxt.address != branch.address + branch.size

    @staticmethod
    def _pairs(used: dict[str, int], group: int, opener_slots: str, info: Issue) -> bool:
        """May ``info`` issue as instruction 1 beside the instruction that opened the cycle?"""
        if group != 1 or opener_slots not in ("11", "01") or info.slots not in ("11", "10"):
            return False
        return used.get(info.pipe, 0) + info.units <= _UNITS[info.pipe]

    def instruction_cycles(self, insn, *, taken: bool, prev) -> int:
        """One instruction priced on its own after ``prev`` (block_cycles is what the harness uses)."""
        return self.block_cycles([insn], taken_last=taken, before=prev)


MODELS = {"cortex-a55": CortexA55()}
