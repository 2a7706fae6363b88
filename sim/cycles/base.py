"""The interface every cycle model implements.

A model prices one *executed* instruction: the harness tells it the capstone
instruction (decoded with ``detail=True``), whether control left it for
anywhere but the next instruction (``taken``: a taken branch, a REP string
step that repeats, a return), and the instruction executed just before it
(``prev``, for load-use and back-to-back rules).  Models that depend on data
addresses (the 8086's odd-address word penalty, the 8088's 8-bit bus) set
``needs_memory`` and price each access in :meth:`memory_cycles`.

Costs are per instruction and deterministic, so the harness caches them per
executed (previous block, block, next block) triple: counting stays at block
granularity and never needs a per-instruction Python hook.  The one exception
is a cost that depends on a register's value (the 8086's shift by CL, its REP
count): a model names those registers in :meth:`register_dependent`, and the
harness hooks just those instructions' addresses, reads the registers before
each execution and adds :meth:`register_cycles`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod


class CycleModel(ABC):
    core: str            # e.g. "cortex-m4"
    target: str          # the isa target it prices, e.g. "cortex-m4"
    source: str          # the published table(s) it is built from
    omits: str           # what it leaves out, in words
    needs_memory: bool = False
    # The published figures the model claims, as (listing, total cycles, where the table says so):
    # tests/test_cycle_models.py runs each listing through ``torus-hw cycles`` and compares.
    published: tuple[tuple[str, int, str], ...] = ()

    @abstractmethod
    def instruction_cycles(self, insn, *, taken: bool, prev) -> int:
        """Cycles of one executed instruction (capstone CsInsn, detail on)."""

    def block_cycles(self, insns, *, taken_last: bool, before) -> int:
        """Cycles of one executed block (``before``: the instruction executed just before it).

        The default sums :meth:`instruction_cycles`; a model of a pipelined
        core (an in-order scoreboard needs more than the previous instruction)
        overrides it and still only sees this block and ``before``, so the
        harness's per-triple cache stays exact.
        """
        total = 0
        last = before
        for i, insn in enumerate(insns):
            taken = taken_last if i == len(insns) - 1 else False
            total += self.instruction_cycles(insn, taken=taken, prev=last)
            last = insn
        return total

    def memory_cycles(self, address: int, size: int, write: bool) -> int:
        """Extra cycles of one data access (only called when ``needs_memory``)."""
        return 0

    def register_dependent(self, insn) -> tuple[str, ...]:
        """Registers (lower-case names) whose values change ``insn``'s cost; () for most."""
        return ()

    def register_cycles(self, insn, values: dict[str, int]) -> int:
        """Extra cycles of one execution of ``insn``, given the registers it named, read just before it runs."""
        return 0
