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

Stateful models (``stateful``: the 8086/8088 bus unit, whose queue and bus
state at the end of one block is where the next begins) implement
``initial_state()`` and ``run_block(insns, next_address=, end=, odd_words=,
regs=, state=) -> (total, rows, state after)``; the harness walks executed
blocks in order and caches per (block, next block, state, the block's
data-word parities and ``register_facts``), and ``reenters(insn)`` marks an
instruction Unicorn re-enters once per repetition (REP strings).

Memory systems: a model that prices wait states takes a :class:`WaitStates`
(``supports_wait_states``; :meth:`CycleModel.with_wait_states` gives a
configured copy, ``sim.cycles.get_model(core, wait_states=…)`` is the way in).
For the cores that price them per executed instruction (Cortex-M0/M4, Ibex)
:meth:`CycleModel.wait_cycles` adds, on top of the zero-wait figure,
``code`` cycles for each instruction-fetch transfer the instruction needs
that the one before it did not already bring in, and ``data`` cycles for each
data-bus transfer it makes.  The 8086/8088 bus-unit model inserts them as Tw
states in its own bus cycles.  Named presets and the one parser of
``--wait-states`` live in :mod:`sim.cycles.presets`.
"""

from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from dataclasses import dataclass

from torus_hw.errors import TorusInputError

MAX_WAIT_STATES = 64   # more than any real flash or bus needs; a larger figure is a typo


@dataclass(frozen=True)
class WaitStates:
    """Wait states of a memory system, in core clock cycles per bus transfer.

    ``code``: extra cycles of each instruction-fetch transfer; ``data``: extra
    cycles of each data (load/store) transfer; ``fetch_bytes``: how many
    bytes one fetch transfer brings in — ``None`` means the core's own fetch
    width (4 on Cortex-M and Ibex, 2 on the 8086, 1 on the 8088); a flash
    with a wide line behind a line buffer (e.g. 16 bytes on an STM32F4 with
    its accelerator's prefetch off) sets it.  ``WaitStates()`` is the
    zero-wait memory every model assumed before, so its figures are unchanged.
    """

    code: int = 0
    data: int = 0
    fetch_bytes: int | None = None

    def __post_init__(self):
        for name in ("code", "data"):
            value = getattr(self, name)
            if not isinstance(value, int) or not 0 <= value <= MAX_WAIT_STATES:
                raise TorusInputError(f"wait states {name}={value!r}: give an integer from 0 to {MAX_WAIT_STATES}")
        if self.fetch_bytes is not None and self.fetch_bytes not in (1, 2, 4, 8, 16, 32):
            raise TorusInputError(f"wait states fetch={self.fetch_bytes!r}: give 1, 2, 4, 8, 16 or 32 bytes")

    def __bool__(self) -> bool:
        return bool(self.code or self.data)

    def describe(self) -> str:
        """The ``--wait-states`` text that gives these wait states back."""
        text = f"code={self.code},data={self.data}"
        return text if self.fetch_bytes is None else f"{text},fetch={self.fetch_bytes}"


NO_WAIT_STATES = WaitStates()


class CycleModel(ABC):
    core: str            # e.g. "cortex-m4"
    target: str          # the isa target it prices, e.g. "cortex-m4"
    source: str          # the published table(s) it is built from
    omits: str           # what it leaves out, in words
    needs_memory: bool = False
    # A stateful model (the 8086/8088 bus unit) carries state from block to block: it implements
    # initial_state() and run_block(insns, next_address=, end=, odd_words=, regs=, state=) -> (total, rows, state),
    # and the harness caches per (block, state at entry, facts) and walks executions in order.
    stateful: bool = False
    supports_wait_states: bool = False   # does this model price a WaitStates (see the module docstring)?
    wait_states: WaitStates = NO_WAIT_STATES
    fetch_bytes: int = 4                 # bytes of one instruction-fetch transfer at zero wait states
    memory_assumed: str = "a zero-wait memory"   # what a model without wait states assumes, in words

    def with_wait_states(self, wait_states: WaitStates) -> "CycleModel":
        """A copy of this model priced with ``wait_states`` (this one when they are zero)."""
        if not wait_states:
            return self
        if not self.supports_wait_states:
            raise TorusInputError(f"core {self.core!r} does not model wait states (its model assumes "
                                  f"{self.memory_assumed})")
        configured = copy.copy(self)
        configured.wait_states = wait_states
        return configured

    def data_transfers(self, insn) -> int:
        """Data-bus transfers one execution of ``insn`` makes (for ``data`` wait states)."""
        return 0

    def fetch_transfers(self, insn, prev) -> int:
        """Instruction-fetch transfers ``insn`` needs that ``prev`` (executed just before) did not bring in.

        The fetch unit reads aligned ``fetch_bytes`` units: an instruction
        reached in sequence shares the unit its predecessor ended in; one
        reached by a jump (or the first of a run) fetches all of its own.
        """
        width = self.wait_states.fetch_bytes or self.fetch_bytes
        first, last = insn.address // width, (insn.address + insn.size - 1) // width
        units = last - first + 1
        if prev is not None and prev.address + prev.size == insn.address and (insn.address - 1) // width == first:
            units -= 1
        return units

    def wait_cycles(self, insn, prev) -> int:
        """Wait-state cycles of one execution of ``insn`` after ``prev`` (0 at zero wait states)."""
        ws = self.wait_states
        if not ws:
            return 0
        return ws.code * self.fetch_transfers(insn, prev) + ws.data * self.data_transfers(insn)
    # The published figures the model claims, as (listing, total cycles, where the table says so):
    # tests/test_cycle_models.py runs each listing through ``torus-hw cycles`` and compares.
    published: tuple[tuple[str, int, str], ...] = ()

    @abstractmethod
    def instruction_cycles(self, insn, *, taken: bool, prev) -> int:
        """Cycles of one executed instruction (capstone CsInsn, detail on)."""

    def block_cycles(self, insns, *, taken_last: bool, before) -> int:
        """Cycles of one executed block (``before``: the instruction executed just before it).

        The default sums :meth:`instruction_cycles` and :meth:`wait_cycles`; a model of a pipelined
        core (an in-order scoreboard needs more than the previous instruction)
        overrides it and still only sees this block and ``before``, so the
        harness's per-triple cache stays exact.
        """
        total = 0
        last = before
        for i, insn in enumerate(insns):
            taken = taken_last if i == len(insns) - 1 else False
            total += self.instruction_cycles(insn, taken=taken, prev=last) + self.wait_cycles(insn, last)
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
