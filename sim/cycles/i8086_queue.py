"""Cores ``i8086`` and ``i8088``: clocks from the bus-interface-unit model, state carried across instructions.

What it owns: the :class:`CycleModel` face of :mod:`sim.cycles.i8086_biu`
(the queue and bus state machine) and :mod:`sim.cycles.i8086_schedule`
(each instruction's EU schedule).  It is *stateful*: the queue contents,
the bus cycle under way and the prefetch decisions pending when a block
ends are the next block's starting state, so the harness caches a block's
cost per (block, bus-unit state at entry, the facts that change its
schedule) and walks the executed blocks in order.

Checked against real silicon: tests/test_sst8086.py replays SingleStepTests
8086 v1 (a real P80C86A-2, clock-by-clock bus traces) through this model;
docs/performance.md records the exact-match rates.  The 8088 uses the same
EU schedules with a 4-byte queue and an 8-bit bus; no 8088 trace is checked
here.

What it leaves out: DRAM refresh, interrupts; IMUL/DIV/IDIV at the
published maximum of their range (MUL follows its operand, see
:func:`sim.cycles.i8086_schedule.muldiv_clocks`); REP MOVS/CMPS/SCAS,
BCD adjustments, far transfers, CALL, I/O and interrupts are not scheduled
(the kernels use none of them) and are refused with a message naming the
``-datasheet`` cores, which price them.  Wait states (``--wait-states code=N,data=M``) are
Tw states in every code fetch / data transfer; default zero.
"""

from __future__ import annotations

from dataclasses import replace

from torus_hw.errors import TorusInputError

from .base import CycleModel
from .i8086_biu import I8086_BUS, I8088_BUS, BusGeometry, BusState, run
from .i8086_schedule import Facts, Unscheduled, mul_facts, schedule

SOURCE = ("bus-unit simulation: Intel 8086/8088 data sheets (T-states, queue sizes, bus widths); "
          "queue and arbitration rules after reenigne's 8088 cycle-exact notes and MartyPC; EU schedules "
          "from the 8086 microcode; held against SingleStepTests 8086 v1 real-chip traces")
OMITS = ("DRAM refresh, interrupts; IMUL/DIV/IDIV at the published maximum; REP MOVS/CMPS/SCAS, BCD, CALL, "
         "far transfers and I/O unscheduled (refused)")


class I8086QueueModel(CycleModel):
    """Queue-accurate clocks of an 8086 (16-bit bus, 6-byte queue) or 8088 (8-bit bus, 4-byte queue)."""

    target = "i8086"
    source = SOURCE
    omits = OMITS
    stateful = True

    def __init__(self, core: str, geometry: BusGeometry):
        self.core = core
        self.geometry = geometry
        # Word parity matters on the 8086 only: every 8088 word is two byte cycles wherever it is.
        self.needs_memory = geometry.bus_bytes == 2

    supports_wait_states = True

    def with_wait_states(self, wait_states) -> "I8086QueueModel":
        """A copy whose bus cycles take ``code``/``data`` Tw states (T1 T2 T3 Tw… T4) — code fetches and
        data/I-O transfers respectively; the queue and the EU see the longer cycles as they happen."""
        if not wait_states:
            return self
        if wait_states.fetch_bytes not in (None, self.geometry.bus_bytes):
            raise TorusInputError(f"{self.core}: a code fetch is {self.geometry.bus_bytes} byte(s) wide on its bus; "
                                  f"fetch={wait_states.fetch_bytes} does not apply")
        configured = I8086QueueModel(self.core, replace(self.geometry, code_wait=wait_states.code,
                                                        data_wait=wait_states.data))
        configured.wait_states = wait_states
        return configured

    def initial_state(self) -> BusState:
        """A call starts as after a far transfer of control: queue empty, a fetch of the entry point starting."""
        return BusState(queue=0, next_t1=2, next_code=True, idle_since=-100)

    def instruction_cycles(self, insn, *, taken: bool, prev) -> int:
        """Clocks of one instruction started from an empty queue (no state: for callers that have none)."""
        facts = Facts(taken=taken, target_odd=False)
        return self.run_instruction(bytes(insn.bytes), facts, self.initial_state())[0]

    def register_dependent(self, insn) -> tuple[str, ...]:
        """CWD: AX; MUL: AX and a register multiplier; REP STOS/LODS: CX; shifts by CL: CL."""
        raw = bytes(insn.bytes)
        op, i = _opcode(raw)
        if op == 0x99:
            return ("ax",)
        if op in (0xF6, 0xF7) and i + 1 < len(raw) and ((raw[i + 1] >> 3) & 7) == 4:
            modrm = raw[i + 1]
            if modrm >> 6 == 3:
                return ("ax", (_REG16 if op & 1 else _REG8)[modrm & 7])
            return ("ax",)
        if op in (0xAA, 0xAB, 0xAC, 0xAD) and any(p in (0xF2, 0xF3) for p in raw[:i]):
            return ("cx",)
        if op in (0xD2, 0xD3):
            return ("cl",)
        return ()

    def reenters(self, insn) -> bool:
        """A REP string instruction: Unicorn re-enters it once per repetition; its schedule covers them all."""
        raw = bytes(insn.bytes)
        op, i = _opcode(raw)
        return (op & 0xF0) == 0xA0 and any(p in (0xF2, 0xF3) for p in raw[:i])

    def register_facts(self, insn, values: dict[str, int]) -> dict[str, int]:
        """The part of the register values the schedule depends on (keeps the block cache small)."""
        raw = bytes(insn.bytes)
        op, i = _opcode(raw)
        if op == 0x99:
            return {"ax": values["ax"] & 0x8000}
        if op in (0xF6, 0xF7):
            names = [n for n in values if n != "ax"]
            return mul_facts(2 if op & 1 else 1, values["ax"], values[names[0]] if names else None)
        return dict(values)   # CX of a REP, CL of a shift: the whole count matters

    def run_instruction(self, raw: bytes, facts: Facts, state: BusState):
        """(clocks, queue wait, bus wait, state after) of one instruction."""
        try:
            steps = schedule(raw, facts)
        except Unscheduled as exc:
            raise Unscheduled(f"{self.core}: {exc}") from None
        result = run(steps, self.geometry, state)
        return result.clocks, result.queue_wait, result.bus_wait, result.state

    def run_block(self, insns, *, next_address, end, odd_words, regs, state):
        """Clocks of one executed block from ``state``; (total, per-instruction rows, state after).

        ``odd_words``: for each data access of the block in order, whether it
        was a word at an odd address; ``regs``: per instruction address, the
        register values read just before it ran; ``next_address``: where
        control went after the block (None past the end of the call).
        """
        rows = []
        accesses = iter(odd_words)
        total = 0
        for i, insn in enumerate(insns):
            last = i == len(insns) - 1
            taken = last and next_address is not None and next_address != end
            facts = Facts(accesses=_Shared(accesses), taken=taken,
                          target_odd=bool(next_address & 1) if taken else False,
                          regs=regs.get(insn.address, {}))
            clocks, queue_wait, bus_wait, state = self.run_instruction(bytes(insn.bytes), facts, state)
            rows.append((clocks, queue_wait, bus_wait))
            total += clocks
        return total, rows, state


class _Shared(list):
    """A block's data-access parities, consumed in order by the instructions that made them."""

    def __init__(self, it):
        super().__init__()
        self.it = it


_REG8 = ("al", "cl", "dl", "bl", "ah", "ch", "dh", "bh")
_REG16 = ("ax", "cx", "dx", "bx", "sp", "bp", "si", "di")


def _opcode(raw: bytes) -> tuple[int, int]:
    """The opcode byte after any prefixes, and its index."""
    for i, b in enumerate(raw):
        if b not in (0x26, 0x2E, 0x36, 0x3E, 0xF0, 0xF2, 0xF3):
            return b, i
    return 0, len(raw)


MODELS = {
    "i8086": I8086QueueModel("i8086", I8086_BUS),
    "i8088": I8086QueueModel("i8088", I8088_BUS),
}
