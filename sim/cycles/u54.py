"""Cycle model of the SiFive U54 core (RV64IMAC), in-order, single issue.

Source: SiFive U54 Core Complex Manual, chapter "U54 RISC-V Core",
sections "Instruction Fetch Unit" (branch prediction) and "Execution
Pipeline".  The figures used:

* five-stage, single-issue, in-order pipeline, peak one instruction per
  cycle, fully bypassed: most instructions have a **1-cycle** result latency;
* loads (data-cache hit): ``LW`` has a **2-cycle** result latency; ``LH``,
  ``LHU``, ``LB``, ``LBU`` a **3-cycle** result latency.  ``LD`` and ``LWU``
  are assumed to behave like ``LW`` (the manual's wording names LW);
* ``MUL``, ``MULH``, ``MULHU``, ``MULHSU``, ``MULW``: **3-cycle** result
  latency, pipelined (a new multiply may issue every cycle);
* ``DIV``/``REM`` and their ``W`` forms: an iterative divider with a
  data-dependent latency; charged here at a flat **34 cycles** (no kernel of
  this project divides, the C baselines do not either);
* branch prediction: a branch history table, a branch target buffer and a
  return-address stack with one-cycle latency, so "correctly predicted
  control-flow instructions result in no penalty", and "mispredicted
  control-flow instructions incur a **three-cycle** penalty".

What the model assumes about prediction: the predictor is warm and predicts
each conditional branch the way a static backward-taken / forward-not-taken
rule would (loop back-edges taken, forward skips not taken).  A branch that
goes the other way pays the 3-cycle penalty.  ``JAL`` hits the BTB (no
penalty); ``ret`` hits the RAS (no penalty); other ``JALR`` pay 3 cycles.

Interlocks: the harness passes only the previous instruction, so a
result-latency stall is charged when the *immediately* following instruction
reads the result (load: latency − 1 cycles, multiply: 2 cycles).  A use two
instructions after a 3-cycle load or multiply (1 more stall cycle on real
hardware) is not seen.  The ``swar`` kernels of ``isa.riscv`` are scheduled
so that this never happens (word loads are used ≥ 2 instructions later, each
product either ≥ 3 instructions later or by the very next instruction, which
is charged in full), and so is the ``unrolled`` variant (loads one step
ahead, squares added 4 instructions later); the ``simple`` variant and
compiler output (``lbu``, ``lbu``, then a use) can be under-counted by one
cycle per such pair, which flatters the baselines, never the fast kernels.

Verification status (say it plainly, since every printed number should be
true): the load latencies, the one-cycle predictor latency and the 3-cycle
mispredict penalty match, word for word, the "Execution Pipeline" and
"Instruction Fetch Unit" text of SiFive's E31 manual, whose pipeline the U54
shares.  The 3-cycle multiply latency and the 34-cycle divide were taken from
recollection of the U54 manual and were not checked against its text when
this model was written (the E31, with an 8-bit-per-cycle multiplier, gives 5
for MUL); treat the multiply figure as the model's weakest number.

Left out: instruction- and data-cache misses, TLB misses, the fetch
bubble of a taken branch across an I-cache line, store-buffer effects,
interrupts, CSR flushes, and the data-dependent divider latency.
"""

from __future__ import annotations

from .base import CycleModel
from .ibex import BRANCHES, DIV, JUMPS, MUL, MULH, riscv_operands

LOAD_LATENCY = {"lw": 2, "ld": 2, "lwu": 2, "c.lw": 2, "c.ld": 2, "c.lwsp": 2, "c.ldsp": 2,
                "lh": 3, "lhu": 3, "lb": 3, "lbu": 3}
MUL_LATENCY = 3
MISPREDICT = 3
DIV_CYCLES = 34


def _branch_target(insn) -> int | None:
    from capstone import riscv_const
    for op in insn.operands:
        if op.type == riscv_const.RISCV_OP_IMM:
            return insn.address + op.imm
    return None


class U54Model(CycleModel):
    core = "u54"
    target = "rv64im"
    source = ("SiFive U54 Core Complex Manual: 'Execution Pipeline' (result latencies) and "
              "'Instruction Fetch Unit' (branch prediction, 3-cycle mispredict penalty)")
    omits = ("cache and TLB misses, fetch bubbles, distance-2 interlocks after 3-cycle loads/multiplies, "
             "store buffer, interrupts, CSR flushes, data-dependent divide latency; prediction approximated "
             "by backward-taken/forward-not-taken on a warm predictor")

    def instruction_cycles(self, insn, *, taken: bool, prev) -> int:
        m = insn.mnemonic
        cycles = DIV_CYCLES if m in DIV else 1
        if prev is not None:
            latency = LOAD_LATENCY.get(prev.mnemonic)
            if latency is None and (prev.mnemonic in MUL or prev.mnemonic in MULH):
                latency = MUL_LATENCY
            if latency:
                written, _ = riscv_operands(prev)
                _, read = riscv_operands(insn)
                if written & read:
                    cycles += latency - 1
        if m in BRANCHES:
            target = _branch_target(insn)
            backward = target is not None and target <= insn.address
            if taken != backward:  # predicted taken iff backward
                cycles += MISPREDICT
        elif m in JUMPS:
            indirect = m in {"jalr", "jr", "c.jr", "c.jalr"}
            if indirect and not _is_ret(insn):
                cycles += MISPREDICT  # no RAS prediction for an indirect jump; BTB assumed cold
        return cycles


def _is_ret(insn) -> bool:
    return insn.mnemonic == "ret" or insn.op_str.replace(" ", "") in {"ra", "zero,0(ra)", "zero,ra,0"}


MODELS = {"u54": U54Model()}
