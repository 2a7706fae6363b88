"""The ISA checker: proof that an assembled image uses only its core's ISA.

Unicorn does not enforce a core's ISA (``UC_MODE_16`` happily runs 386 code,
the M3/M4 models run DSP instructions, ``UC_MODE_MCLASS`` is an M33), so the
project cannot trust a passing run.  This module decodes every instruction in
``.text`` with capstone and rejects any outside the target's allowed set,
naming the instruction, its address and its source line.

Rules, per target:

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

from dataclasses import dataclass

import capstone

from torus_hw.errors import TorusInputError

from .assembler import Image
from .targets import Target


class ISAViolation(TorusInputError):
    """An instruction outside the core's ISA (message names it and its line)."""


@dataclass(frozen=True)
class Decoded:
    address: int
    size: int
    mnemonic: str
    op_str: str
    raw: bytes

    @property
    def text(self) -> str:
        return f"{self.mnemonic} {self.op_str}".strip()


def _capstone_for(target: Target) -> capstone.Cs:
    arch = getattr(capstone, target.capstone_arch)
    mode = 0
    for name in target.capstone_mode.split("|"):
        mode |= getattr(capstone, name)
    md = capstone.Cs(arch, mode)
    md.detail = False
    return md


def decode(target: Target, code: bytes, address: int) -> list[Decoded]:
    """Decode all of ``code``; an undecodable word raises :class:`ISAViolation`."""
    md = _capstone_for(target)
    out: list[Decoded] = []
    offset = 0
    while offset < len(code):
        insn = next(md.disasm(code[offset:], address + offset, 1), None)
        if insn is None:
            raise ISAViolation(f"{target.name}: undecodable bytes {code[offset:offset + 4].hex()} at {address + offset:#x}")
        out.append(Decoded(insn.address, insn.size, insn.mnemonic, insn.op_str, bytes(insn.bytes)))
        offset += insn.size
    return out


# --- i8086 --------------------------------------------------------------------

_X86_PREFIXES = {0x26, 0x2E, 0x36, 0x3E, 0xF0, 0xF2, 0xF3}          # 8086 segment/LOCK/REP
_X86_FORBIDDEN_PREFIXES = {0x64: "FS override (386)", 0x65: "GS override (386)",
                           0x66: "operand-size prefix (386)", 0x67: "address-size prefix (386)"}
_X86_FORBIDDEN_OPCODES = {0x0F: "two-byte opcode (286+)", 0xC0: "shift/rotate by immediate (186)",
                          0xC1: "shift/rotate by immediate (186)", 0xC8: "ENTER (186)", 0xC9: "LEAVE (186)",
                          0xD6: "undocumented SALC", 0xF1: "undocumented ICEBP"}
_X86_FORBIDDEN_OPCODES.update({op: "186 instruction (PUSHA/POPA/BOUND/PUSH imm/IMUL imm/INS/OUTS)"
                               for op in range(0x60, 0x70)})


def _check_i8086(insn: Decoded) -> str | None:
    for byte in insn.raw:
        if byte in _X86_FORBIDDEN_PREFIXES:
            return _X86_FORBIDDEN_PREFIXES[byte]
        if byte not in _X86_PREFIXES:
            return _X86_FORBIDDEN_OPCODES.get(byte)
    return "prefix without opcode"


# --- RISC-V -------------------------------------------------------------------

_RV_I = set("""lui auipc jal jalr beq bne blt bge bltu bgeu lb lh lw lbu lhu sb sh sw addi slti sltiu xori
ori andi slli srli srai add sub sll slt sltu xor srl sra or and fence fence.i ecall ebreak
lwu ld sd addiw slliw srliw sraiw addw subw sllw srlw sraw""".split())
_RV_M = set("mul mulh mulhsu mulhu div divu rem remu mulw divw divuw remw remuw".split())
_RV_PSEUDO = set("""nop li mv not neg negw sext.w seqz snez sltz sgtz beqz bnez blez bgez bltz bgtz bgt ble
bgtu bleu j jr ret call tail unimp""".split())
_RV_C = {"c." + m for m in """nop addi addiw addi16sp addi4spn li lui mv add addw sub subw and andi or xor
slli srli srai lw lwsp ld ldsp sw swsp sd sdsp j jal jr jalr beqz bnez ebreak unimp""".split()}
_RV_ALLOWED = _RV_I | _RV_M | _RV_PSEUDO | _RV_C
_RV64_ONLY = {"lwu", "ld", "sd", "addiw", "slliw", "srliw", "sraiw", "addw", "subw", "sllw", "srlw", "sraw",
              "mulw", "divw", "divuw", "remw", "remuw", "negw", "sext.w", "c.addiw", "c.addw", "c.subw",
              "c.ld", "c.ldsp", "c.sd", "c.sdsp"}


def _check_riscv(insn: Decoded, xlen: int) -> str | None:
    if insn.mnemonic not in _RV_ALLOWED:
        return f"not in RV{xlen}IM(C)"
    if xlen == 32 and insn.mnemonic in _RV64_ONLY:
        return "RV64-only instruction"
    return None


# --- Arm ----------------------------------------------------------------------

_V6M_WIDE = {"bl", "dmb", "dsb", "isb", "mrs", "msr"}
_V6M_NARROW_FORBIDDEN = {"cbz", "cbnz", "it", "ite", "itt", "itte", "ittt", "itet", "itee", "ittee",
                         "iteee", "ittte", "iteet", "itete", "itett", "ittet", "ittt"}


def _check_cortex_m0(insn: Decoded) -> str | None:
    base = insn.mnemonic.split(".")[0]
    if insn.size == 4 and base not in _V6M_WIDE:
        return "32-bit Thumb-2 encoding (ARMv7-M), not in ARMv6-M"
    if base in _V6M_NARROW_FORBIDDEN or base.startswith("it"):
        return "ARMv7-M only (CBZ/CBNZ/IT)"
    return None


def _check_cortex_m4(insn: Decoded) -> str | None:
    base = insn.mnemonic.split(".")[0]
    if base.startswith("v"):
        return "floating point / SIMD coprocessor instruction (no FPU/NEON in this target)"
    if base in {"cdp", "cdp2", "mcr", "mcr2", "mrc", "mrc2", "mcrr", "mrrc", "ldc", "stc"}:
        return "coprocessor instruction"
    return None


_A64_EXTENSIONS = {"udot", "sdot", "usdot", "sudot", "bfdot", "fmlal", "fmlal2", "fmlsl", "fmlsl2",
                   "sqrdmlah", "sqrdmlsh", "fjcvtzs", "casal", "cas", "casa", "casl", "ldadd", "ldadda",
                   "ldaddal", "ldaddl", "swp", "swpa", "swpal", "swpl", "ldapr", "ldaprb", "ldaprh",
                   "rax1", "eor3", "bcax", "xar", "sha512h", "sm3ss1", "cnt_sve"}


def _check_aarch64(insn: Decoded) -> str | None:
    if insn.mnemonic in _A64_EXTENSIONS:
        return "ARMv8.1+ extension, not ARMv8.0-A"
    ops = insn.op_str.replace("[", " ").replace(",", " ").split()
    if any(op.startswith(("z", "p")) and op[1:2].isdigit() for op in ops) or "za" in ops:
        return "SVE/SME instruction"
    return None


def violation(target: Target, insn: Decoded) -> str | None:
    """Why ``insn`` is not allowed on ``target``, or None."""
    if target.name == "i8086":
        return _check_i8086(insn)
    if target.family == "riscv":
        return _check_riscv(insn, target.word_bits)
    if target.name == "cortex-m0":
        return _check_cortex_m0(insn)
    if target.name == "cortex-m4":
        return _check_cortex_m4(insn)
    if target.name == "aarch64":
        return _check_aarch64(insn)
    raise TorusInputError(f"no ISA rules for target {target.name!r}")


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
