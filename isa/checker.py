"""The ISA checker: proof that an assembled image uses only its core's ISA.

Unicorn does not enforce a core's ISA (``UC_MODE_16`` happily runs 386 code,
the M3/M4 models run DSP instructions, ``UC_MODE_MCLASS`` is an M33), so the
project cannot trust a passing run.  This module decodes every instruction in
``.text`` with capstone and rejects any outside the target's allowed set,
naming the instruction, its address and its source line.

The rules are data in each target's description (``Target.rules``, rule
kinds in :mod:`isa.rules`); this module owns decoding and reporting only:

* ``i8086`` — by opcode byte, the unambiguous test: no 0x66/0x67 operand or
  address-size prefix, no FS/GS (0x64/0x65), no 0x0F two-byte opcodes (all
  286+), none of the 186 additions (0x60–0x6F: PUSHA/POPA/BOUND/PUSH imm/
  IMUL imm/INS/OUTS; 0xC0/0xC1 shifts by immediate; 0xC8/0xC9 ENTER/LEAVE),
  and no undocumented SALC (0xD6) or ICEBP (0xF1);
* ``rv32im``/``rv64im`` — mnemonics of RV32I/RV64I, M and C only (capstone 5
  cannot decode Zbb or V, so those fail as undecodable);
* ``cortex-m0`` — 16-bit Thumb except CBZ, CBNZ and IT; the only 32-bit
  encodings ARMv6-M has are BL, DMB, DSB, ISB, MRS and MSR;
* ``cortex-m4`` — any ARMv7E-M Thumb-2 encoding capstone decodes in M-class
  mode, but no floating point or NEON (``v*``), and no CDP/MCR coprocessor ops;
* ``aarch64`` — A64 and Advanced SIMD, but no SVE/SME (``z``/``p``/``za``
  registers) and no v8.1+ atomics/dot product (LSE, UDOT/SDOT, …).
"""

from __future__ import annotations

import capstone

from torus_hw.errors import TorusInputError

from .assembler import Image
from .rules import Decoded
from .targets import Target

__all__ = ["Decoded", "ISAViolation", "capstone_mode", "check_image", "decode", "disassembler", "violation"]


class ISAViolation(TorusInputError):
    """An instruction outside the core's ISA (message names it and its line)."""


def capstone_mode(target: Target) -> int:
    """The target's capstone mode: its ``|``-joined constant names, resolved."""
    mode = 0
    for name in target.emulator.capstone_mode.split("|"):
        mode |= getattr(capstone, name)
    return mode


def disassembler(target: Target, *, detail: bool = False) -> capstone.Cs:
    """A capstone decoder for ``target`` (the harness and the listing use this one too)."""
    md = capstone.Cs(getattr(capstone, target.emulator.capstone_arch), capstone_mode(target))
    md.detail = detail
    return md


def decode(target: Target, code: bytes, address: int) -> list[Decoded]:
    """Decode all of ``code``; an undecodable word raises :class:`ISAViolation`."""
    md = disassembler(target)
    out: list[Decoded] = []
    offset = 0
    while offset < len(code):
        insn = next(md.disasm(code[offset:], address + offset, 1), None)
        if insn is None:
            raise ISAViolation(f"{target.name}: undecodable bytes {code[offset:offset + 4].hex()} at {address + offset:#x}")
        out.append(Decoded(insn.address, insn.size, insn.mnemonic, insn.op_str, bytes(insn.bytes)))
        offset += insn.size
    return out


def violation(target: Target, insn: Decoded) -> str | None:
    """Why ``insn`` is not allowed on ``target`` (the first rule that objects), or None."""
    if not target.rules:
        raise TorusInputError(f"no ISA rules for target {target.name!r}")
    for rule in target.rules:
        why = rule(insn)
        if why:
            return why
    return None


def check_image(target: Target, image: Image) -> list[Decoded]:
    """Decode ``.text`` and raise :class:`ISAViolation` on the first foreign instruction."""
    address, code = image.text
    try:
        decoded = decode(target, code, address)
    except ISAViolation as exc:
        raise ISAViolation(f"{exc} (line {_line_of(image, address)})") from None
    for insn in decoded:
        why = violation(target, insn)
        if why:
            raise ISAViolation(
                f"{target.name}: '{insn.text}' at {insn.address:#x} (kernel.S line {_line_of(image, insn.address)}) "
                f"is not allowed: {why}"
            )
    return decoded


def _line_of(image: Image, address: int) -> str:
    line = image.lines.get(address)
    return str(line) if line is not None else "?"
