"""Calling conventions as data: where a kernel finds its arguments and leaves its result.

One :class:`Abi` object per convention (PeachPy's ``abi.py`` is the model):
argument registers, how arguments beyond them sit on the stack, the result
register(s), the callee-saved registers, where the return address lives and
the stack alignment.  Everything that depends on a convention reads it from
here — the generators' prologues, epilogues and argument loads, the Unicorn
harness that calls a kernel and checks it kept the convention, and the
listing's start state — so a convention is written down once.

Registers are named in lower case as capstone prints them and Unicorn names
them (``a0``, ``r4``, ``x19``, ``d8``, ``bp``); nothing here imports either
library.  The instances live beside the targets that use them, in
``isa.targets``.

Argument kinds are the two the kernels' C prototypes use: ``"ptr"`` (a data
pointer) and ``"u32"`` (``uint32_t``).
"""

from __future__ import annotations

from dataclasses import dataclass

from torus_hw.errors import TorusInputError

POINTER = "ptr"
U32 = "u32"
# What the harness puts in the upper half of a register holding a uint32 where the ABI leaves it unspecified.
UNSPECIFIED_UPPER = 0xA5A5_A5A5
KINDS = (POINTER, U32)


@dataclass(frozen=True)
class ArgLocation:
    """Where one argument is at the kernel's entry."""

    kind: str                 # "ptr" or "u32"
    register: str | None      # the register holding it, or None when it is on the stack
    offset: int | None        # on the stack: bytes above the stack pointer at entry
    size: int                 # bytes it occupies (an 8086 far pointer: 4, offset word then segment word)


@dataclass(frozen=True)
class Abi:
    """One calling convention, as data."""

    name: str                                 # e.g. "aapcs"; str(abi) is this name
    description: str                          # what it is, in words (for docs and headers)
    slot_bytes: int                           # a general register, and one stack-argument slot
    pointer_bytes: int                        # a data pointer as passed (8086 far pointer: 4)
    argument_registers: tuple[str, ...]       # integer/pointer arguments in order; () = all on the stack
    result_registers: tuple[str, ...]         # a uint32 result, least significant part first
    callee_saved: tuple[str, ...]             # hold their entry value on return (the stack pointer aside)
    volatile: tuple[str, ...]                 # free for the kernel without saving (caller-saved)
    stack_pointer: str
    stack_alignment: int                      # bytes, at a public interface
    link_register: str | None                 # holds the return address; None: the call pushed it on the stack
    return_address_bytes: int = 0             # with link_register None: bytes the call pushed (near IP: 2)
    far_pointers: bool = False                # pointers are segment:offset, passed normalised (offset < 16)
    flags_register: str | None = None
    clear_flags: tuple[tuple[str, int], ...] = ()  # (flag, mask) clear on entry and on return (8086 DF)
    reserved: tuple[str, ...] = ()            # never touched by a kernel (platform registers, gp/tp)
    # How a uint32 argument or result sits in a wider register (slot_bytes 8): "sign" — sign-extended
    # from bit 31, unsigned types too (RISC-V LP64 psABI); "unspecified" — the upper bits are whatever
    # the caller or callee left there (AAPCS64: only w0–w7 are defined).  A kernel must read the value
    # as 32 bits either way; the harness passes these patterns so a kernel that does not is caught.
    widening: str = "exact"
    red_zone: int = 0                         # bytes below the stack pointer a leaf may use unannounced

    def __str__(self) -> str:
        return self.name

    # --- arguments ---------------------------------------------------------------

    def size_of(self, kind: str) -> int:
        if kind == POINTER:
            return self.pointer_bytes
        if kind == U32:
            return 4
        raise TorusInputError(f"{self.name}: unknown argument kind {kind!r}; choose one of {', '.join(KINDS)}")

    def slots_of(self, kind: str) -> int:
        return -(-self.size_of(kind) // self.slot_bytes)

    @property
    def first_stack_offset(self) -> int:
        """Bytes above the entry stack pointer where stack-passed arguments begin (past a pushed return address)."""
        return self.return_address_bytes if self.link_register is None else 0

    def arguments(self, kinds) -> tuple[ArgLocation, ...]:
        """Where each argument of a prototype with these kinds is at entry.

        Arguments take the argument registers in order while they fit in one
        register each; the rest go on the stack, first argument at the lowest
        address, each in whole slots (the C conventions here all agree on that).
        """
        out = []
        regs = list(self.argument_registers)
        offset = self.first_stack_offset
        for kind in kinds:
            slots = self.slots_of(kind)
            if regs and slots == 1:
                out.append(ArgLocation(kind, regs.pop(0), None, self.size_of(kind)))
                continue
            regs = []  # once one argument is on the stack, all later ones are (no back-filling)
            out.append(ArgLocation(kind, None, offset, slots * self.slot_bytes))
            offset += slots * self.slot_bytes
        return tuple(out)

    def stack_bytes(self, kinds) -> int:
        """Bytes of stack the call occupies at entry: the pushed return address and stack arguments."""
        ends = [a.offset + a.size for a in self.arguments(kinds) if a.register is None]
        return max(ends, default=self.first_stack_offset)

    def encode(self, kind: str, value: int) -> int:
        """The bit pattern an argument is passed as (a linear address becomes a normalised far pointer)."""
        if kind == POINTER and self.far_pointers:
            segment, offset = far_pointer(value)
            return segment << 16 | offset
        bits = value & ((1 << 8 * self.size_of(kind)) - 1)
        if kind == U32 and self.slot_bytes == 8:
            if self.widening == "sign" and bits & 0x8000_0000:
                return bits | 0xFFFF_FFFF_0000_0000
            if self.widening == "unspecified":
                return bits | UNSPECIFIED_UPPER << 32
        return bits

    def place(self, args) -> tuple[dict[str, int], list[tuple[int, bytes]]]:
        """Register values and stack bytes (offset above the entry stack pointer, little-endian) for a call."""
        registers: dict[str, int] = {}
        stack: list[tuple[int, bytes]] = []
        for where, (kind, value) in zip(self.arguments([kind for kind, _ in args]), args):
            bits = self.encode(kind, value)
            if where.register is not None:
                registers[where.register] = bits
            else:
                stack.append((where.offset, (bits & ((1 << 8 * where.size) - 1)).to_bytes(where.size, "little")))
        return registers, stack

    # --- result ------------------------------------------------------------------

    def result(self, parts) -> int:
        """The uint32 result from the values of :attr:`result_registers`, in that order."""
        width = 8 * self.slot_bytes
        value = 0
        for i, part in enumerate(parts):
            value |= (part & ((1 << width) - 1)) << (width * i)
        return value & 0xFFFF_FFFF

    def result_violation(self, parts) -> str | None:
        """Why the result registers do not hold a uint32 the way this ABI returns one, or None (void: don't ask)."""
        if self.widening != "sign":
            return None
        raw = parts[0] & 0xFFFF_FFFF_FFFF_FFFF
        want = self.encode(U32, raw)
        if raw != want:
            return (f"{self.result_registers[0]} = {raw:#018x} is not sign-extended from bit 31 "
                    f"(the {self.name} psABI returns a uint32 as {want:#018x})")
        return None

    # --- the stack at return -----------------------------------------------------

    @property
    def return_pops(self) -> int:
        """Bytes the return instruction removes from the stack (a pushed near return address)."""
        return self.return_address_bytes if self.link_register is None else 0

    def saved(self, *, including_stack_pointer: bool = True) -> tuple[str, ...]:
        """Every register whose entry value the caller may rely on after the call."""
        return self.callee_saved + ((self.stack_pointer,) if including_stack_pointer else ())

    # --- for prologues and epilogues ---------------------------------------------------

    def must_save(self, used) -> tuple[str, ...]:
        """The callee-saved registers among ``used``, in the convention's order (what a prologue saves)."""
        used = set(used)
        return tuple(r for r in self.callee_saved if r in used)

    def aligned_frame(self, size: int) -> int:
        """``size`` bytes of frame rounded up so the stack pointer stays aligned (at a call, or on return)."""
        return -(-size // self.stack_alignment) * self.stack_alignment


    # --- in words ------------------------------------------------------------------

    def summary(self) -> str:
        """The convention in one line, rendered from the data (docs/design.md quotes it; a test checks)."""
        if self.argument_registers:
            args = f"arguments in {register_span(self.argument_registers)}"
            args += f", then the stack from [{self.stack_pointer}] in {self.slot_bytes}-byte slots"
        else:
            args = (f"arguments on the stack from [{self.stack_pointer}+{self.first_stack_offset}], "
                    f"first argument lowest, in {self.slot_bytes}-byte words")
        if self.far_pointers:
            args += "; pointers far (offset word, then segment word; normalised, offset < 16)"
        if self.widening == "sign":
            args += "; a uint32 argument or result sign-extended from bit 31"
        elif self.widening == "unspecified":
            args += "; a uint32 defined in the low 32 bits only (the rest unspecified)"
        parts = [args, f"result in {':'.join(reversed(self.result_registers))}",
                 f"callee-saved {register_span(self.callee_saved)} and {self.stack_pointer}",
                 (f"return address in {self.link_register}" if self.link_register else
                  f"return address pushed at [{self.stack_pointer}] ({self.return_address_bytes} bytes), "
                  f"popped by the return"),
                 f"stack aligned to {self.stack_alignment} bytes"]
        parts += [f"{flag} clear on entry and on return" for flag, _ in self.clear_flags]
        if self.reserved:
            parts.append(f"{register_span(self.reserved)} never touched")
        return "; ".join(parts)


def register_span(names) -> str:
    """``a0, a1, …, a7`` → ``a0–a7``: runs of one prefix with consecutive numbers are joined."""
    out: list[str] = []
    run: list[tuple[str, int]] = []

    def flush():
        if run:
            out.append(f"{run[0][0]}{run[0][1]}–{run[-1][0]}{run[-1][1]}" if len(run) > 2 else
                       ", ".join(f"{p}{n}" for p, n in run))
            run.clear()

    for name in names:
        prefix = name.rstrip("0123456789")
        digits = name[len(prefix):]
        if prefix and digits and run and run[-1][0] == prefix and run[-1][1] + 1 == int(digits):
            run.append((prefix, int(digits)))
            continue
        flush()
        if prefix and digits:
            run.append((prefix, int(digits)))
        else:
            out.append(name)
    flush()
    return ", ".join(out)


def far_pointer(linear: int) -> tuple[int, int]:
    """Normalised (segment, offset) of a linear real-mode address: offset < 16."""
    return linear >> 4, linear & 0xF
