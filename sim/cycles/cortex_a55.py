"""Cortex-A55 cycle model: in-order, dual-issue scoreboard over each executed block.

Source: Arm Cortex-A55 Software Optimization Guide (ARM-EPM-128372, v3.0,
2018), section 3 "Instruction characteristics" — the execution latency and
throughput tables for branch, arithmetic/logical, multiply, load, store and
"Advanced SIMD integer" instructions — and section 2 (pipeline overview:
in-order, dual issue, two integer ALUs, one MAC, one load and one store AGU,
two 64-bit Advanced SIMD/FP pipelines).  The figures were taken from LLVM's
transcription of that guide (``llvm/lib/Target/AArch64/AArch64SchedA55.td``,
whose comments cite the guide's section 4.15 table numbering); entries marked
*assumed* below are not in either and are said so where they are used.

What the model does, per instruction, in program order:

* it issues no earlier than the previous instruction (in-order) and no
  earlier than the cycle all its source registers are ready (latency of the
  producer; a dependent instruction issued too early stalls, e.g. the 3-cycle
  load-use latency of ``LDR``);
* at most two instructions issue per cycle, subject to the pipes: two integer
  ALUs, one multiply/MAC, one load, one store, one branch, and two 64-bit
  Advanced SIMD pipes — a Q-form (128-bit) SIMD instruction occupies both, so
  one Q-form SIMD op issues per cycle while two D-form ops may pair (LLVM
  also makes a Q-form op start its issue group; that rule is not modelled);
* a Q-form vector load moves 64 bits per cycle, so it holds the load pipe for
  two cycles;
* a taken branch ends its issue group and the target issues no earlier than
  ``1 + TAKEN_BRANCH_BUBBLE`` cycles later (*assumed*: correctly predicted,
  one fetch bubble; the guide gives no figure for the taken-branch redirect).

Left out: caches (every load hits L1), the data prefetcher, branch
mispredictions (every branch is predicted correctly), the late-forwarding of
accumulator operands, store-buffer and write-allocate effects, and the
history before a block: a block is priced from the one instruction executed
just before it (``before``), so a stall caused by an instruction two or more
blocks back is not seen.  The count for a block is the number of cycles from
the issue of ``before`` to the issue of the block's last instruction (a block
entered by a taken branch pays that branch's bubble), so the blocks' costs add
up to the run's length.
"""

from __future__ import annotations

import re

from .base import CycleModel

TAKEN_BRANCH_BUBBLE = 1   # assumed, see the module docstring

# --- execution latencies (cycles until a dependent instruction may issue) ----
# Integer, guide tables "Arithmetic and logical" / "Move and shift":
ALU_LATENCY = 1            # ADD/SUB/logical/MOV/CSEL/CMP, forwarded back to back
ALU_SHIFTED_LATENCY = 2    # ALU op with a shifted or extended register operand
MUL_LATENCY = 3            # MUL/MADD (W or X), one MAC pipe
# Loads, table "Load instructions":
LOAD_LATENCY = 3           # LDR/LDRB/LDRH, immediate offset (load-use)
LOAD_REG_OFFSET_LATENCY = 4
LOAD_PAIR_LATENCY = 4
VLOAD_D_LATENCY = 4        # LDR Dt / LD1 {.8b}
VLOAD_Q_LATENCY = 5        # LD1 {.16b}: two 64-bit beats (LDR Qt assumed the same)
WRITEBACK_LATENCY = 1      # pre/post-index base update, done in the AGU

# Advanced SIMD integer, table "Advanced SIMD integer instructions" (one entry per
# group of the table: logical 1; arith #1, compare, min/max, shift by immediate 2;
# arith #2/#3, absolute difference, reduce, shift-accumulate 3; accumulate,
# multiply, multiply-long, min/max across 4).
SIMD_LATENCY = {
    "and": 1, "orr": 1, "eor": 1, "bic": 1, "orn": 1, "not": 1, "mvn": 1, "mov": 1, "mvni": 1,
    "add": 2, "sub": 2, "neg": 2, "cmeq": 2, "cmhi": 2, "cmhs": 2, "cmge": 2, "cmgt": 2,
    "umin": 2, "umax": 2, "smin": 2, "smax": 2, "uminp": 2, "umaxp": 2,
    "shl": 2, "ushr": 2, "sshr": 2, "ushll": 2, "ushll2": 2, "uxtl": 2, "uxtl2": 2, "xtn": 2, "xtn2": 2,
    "shrn": 2, "dup": 2,
    "abs": 3, "addp": 3, "uaddlp": 3, "saddlp": 3, "uqadd": 3, "uqsub": 3, "uabd": 3, "sabd": 3,
    "uabdl": 3, "uabdl2": 3, "uaddl": 3, "uaddl2": 3, "uaddw": 3, "uaddw2": 3, "usubl": 3, "usubl2": 3,
    "addv": 3, "uaddlv": 3, "usra": 3, "cmtst": 3,
    "uadalp": 4, "sadalp": 4, "uaba": 4, "uabal": 4, "uabal2": 4, "mul": 4, "mla": 4, "mls": 4,
    "umull": 4, "umull2": 4, "umlal": 4, "umlal2": 4, "uminv": 4, "umaxv": 4,
}
# Not in the transcription; assumed, by analogy with the group named:
SIMD_LATENCY_ASSUMED = {
    "movi": 1, "bsl": 1, "bit": 1, "bif": 1,             # logical
    "cnt": 2, "ext": 2, "zip1": 2, "zip2": 2, "uzp1": 2, "uzp2": 2, "trn1": 2, "trn2": 2,  # arith #1
    "tbl": 3,                                             # arith #2
    "umov": 2, "fmov": 2, "ins": 2,                       # SIMD <-> general register transfers
}
SIMD_DEFAULT_LATENCY = 4   # LLVM's WriteV default for the rest of the table

_QFORM = re.compile(r"\.(16b|8h|4s|2d)\b")
_VREG = re.compile(r"\bv\d+\.")
_SCALAR_FP = re.compile(r"^[bhsdq]\d+$")


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


class CortexA55(CycleModel):
    core = "cortex-a55"
    target = "aarch64"
    source = ("Arm Cortex-A55 Software Optimization Guide (ARM-EPM-128372 v3.0), section 3 instruction "
              "latency/throughput tables, as transcribed in LLVM AArch64SchedA55.td")
    omits = ("caches (all loads hit L1), prefetcher, branch mispredictions (all predicted), accumulator "
             "late-forwarding, store buffer; stalls caused more than one block back")

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

    def classify(self, insn) -> dict:
        """Pipe, latency and shape of one instruction (exposed for tests)."""
        m = insn.mnemonic
        ops = insn.op_str
        base = m.split(".")[0]
        info = {"pipe": "alu", "latency": ALU_LATENCY, "qform": False, "load_beats": 0, "writeback": 0}
        first = ops.split(",")[0].strip().lstrip("{")
        vector_dest = bool(_SCALAR_FP.match(first.split(".")[0])) or first.startswith("v")
        if base in ("b", "bl", "br", "blr", "ret", "cbz", "cbnz", "tbz", "tbnz"):
            info.update(pipe="branch", latency=0)
        elif base.startswith("ld") or base.startswith("st"):
            store = base.startswith("st")
            info["pipe"] = "store" if store else "load"
            info["writeback"] = int(bool(getattr(insn, "writeback", False)))
            if vector_dest:
                q = first.startswith("q") or bool(_QFORM.search(ops.split("[")[0]))
                info["qform"] = q
                info["load_beats"] = 2 if q else 1
                info["latency"] = 1 if store else (VLOAD_Q_LATENCY if q else VLOAD_D_LATENCY)
            else:
                info["load_beats"] = 1
                if store:
                    info["latency"] = 1
                elif base.startswith("ldp"):
                    info["latency"] = LOAD_PAIR_LATENCY
                elif re.search(r"\[[^\]]*,\s*[wx]\d+", ops):
                    info["latency"] = LOAD_REG_OFFSET_LATENCY
                else:
                    info["latency"] = LOAD_LATENCY
        elif _VREG.search(ops) or _SCALAR_FP.match(first) or base in ("umov", "ins", "dup", "fmov"):
            latency = SIMD_LATENCY.get(base, SIMD_LATENCY_ASSUMED.get(base, SIMD_DEFAULT_LATENCY))
            info.update(pipe="simd", latency=latency,
                        qform=bool(_QFORM.search(ops)))
        elif base in ("mul", "madd", "msub", "umull", "smull", "umaddl", "smaddl", "mneg"):
            info.update(pipe="mac", latency=MUL_LATENCY)
        elif re.search(r",\s*(lsl|lsr|asr|ror|uxt[bhwx]|sxt[bhwx])\b", ops) and base not in ("lsl", "lsr", "asr"):
            info["latency"] = ALU_SHIFTED_LATENCY
        return info

    # --- pricing ---------------------------------------------------------------------

    def block_cycles(self, insns, *, taken_last: bool, before) -> int:
        ready: dict[str, int] = {}
        cycle = 0          # issue cycle of the most recent instruction
        used: dict[str, int] = {}   # pipes used in ``cycle``
        slots = 0
        load_free = 0      # first cycle the load pipe accepts a new access
        start = 0
        seq = list(insns)
        if before is not None:
            seq = [before] + seq
        else:
            start = -1     # the first instruction of a run costs its issue cycle
        last_issue = 0
        for n, insn in enumerate(seq):
            info = self.classify(insn)
            reads, writes = self._regs(insn)
            earliest = max([cycle] + [ready.get(r, 0) for r in reads])
            pipe = info["pipe"]
            if pipe == "load":
                earliest = max(earliest, load_free)
            issue = earliest
            if issue == cycle and n > 0 and not self._pairs(used, slots, info):
                issue += 1
            if issue != cycle or n == 0:
                used, slots = {}, 0
            cycle = issue
            slots += 1
            if pipe == "simd":
                used["simd"] = used.get("simd", 0) + (2 if info["qform"] else 1)
            else:
                used[pipe] = used.get(pipe, 0) + 1
            if pipe == "load":
                load_free = issue + info["load_beats"]
            lat = max(info["latency"], 1)
            base = {r for r in reads if r in writes and r.startswith("x")} if info["writeback"] else set()
            for w in writes:
                # nzcv feeds a branch next cycle; a pre/post-index base is updated in the AGU
                ready[w] = issue + (1 if w == "nzcv" or w in base else lat)
            last_issue = issue
            if n == 0 and before is not None and self._taken(before, seq[1] if len(seq) > 1 else None):
                # control arrived by a taken branch: nothing issues with it, then a fetch bubble
                cycle = issue + TAKEN_BRANCH_BUBBLE
                used, slots = {"branch": 1, "alu": 2, "simd": 2, "load": 1, "store": 1, "mac": 1}, 2
        return last_issue - start

    @staticmethod
    def _taken(branch, nxt) -> bool:
        """Did control leave ``branch`` for anywhere but the next instruction?"""
        if nxt is None or branch.mnemonic.split(".")[0] not in (
                "b", "bl", "br", "blr", "ret", "cbz", "cbnz", "tbz", "tbnz"):
            return False
        return nxt.address != branch.address + branch.size

    @staticmethod
    def _pairs(used: dict[str, int], slots: int, info: dict) -> bool:
        """May ``info`` issue in the same cycle as what ``used`` already holds?"""
        if slots >= 2:
            return False
        pipe = info["pipe"]
        if pipe == "simd":
            return used.get("simd", 0) + (2 if info["qform"] else 1) <= 2
        if pipe == "alu":
            return used.get("alu", 0) < 2
        return used.get(pipe, 0) < 1

    def instruction_cycles(self, insn, *, taken: bool, prev) -> int:
        """One instruction priced on its own after ``prev`` (block_cycles is what the harness uses)."""
        return self.block_cycles([insn], taken_last=taken, before=prev)


MODELS = {"cortex-a55": CortexA55()}
