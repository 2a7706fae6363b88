"""The target registry: one description per target, every other registry derives from it.

A :class:`Target` says everything the project knows about where a kernel
runs, as data:

* ``abi`` — the calling convention (:class:`isa.abi.Abi`: argument, result
  and callee-saved registers, return address, stack alignment); the
  generators' prologues and the Unicorn harness both read it;
* ``rules`` — what the ISA checker admits (:mod:`isa.rules` objects) and
  ``allowed_isa``, the same in words;
* ``toolchain`` — ziglang clang and ld.lld flags, the directives every
  file starts with, the link address;
* ``emulator`` — Unicorn and capstone settings (kept as constant *names* so
  that ``isa`` does not import the emulator; ``sim`` resolves them), the
  registers set once at start-up and on every entry, the memory layout;
* ``extensions`` — ISA extensions beyond the family's base that a
  generator may use (``"dsp"`` on the Cortex-M4, ``"neon"`` on AArch64);
* ``default_core`` and the bench goal (``baseline``, ``goal``).

Which cycle models price a target is stored once, on the model
(``CycleModel.target``, registered in ``sim.cycles``): ``isa`` never imports
``sim``, so ``sim.cycles.cores_for(target)`` derives the list and the
registry test checks ``default_core`` is among them.

Derived from this file: the CLI's target choices, the checker's rules, the
assembler's flags, the harness's ABI adapter and start state, the listing's
start state, the bench goals and their test, and every test parametrised
over targets.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from torus_hw.errors import TorusInputError

from . import rules as R
from .abi import Abi


@dataclass(frozen=True)
class Toolchain:
    """How ziglang clang and ld.lld build for the target."""

    triple: str                        # clang -target
    cpu: str | None                    # clang -mcpu
    ld_emulation: str                  # ld.lld -m
    cc_flags: tuple[str, ...] = ()     # extra clang flags (assembly and the C baselines)
    ld_flags: tuple[str, ...] = ()     # extra ld.lld flags
    asm_prologue: str = ""             # directives every assembly file for this target starts with
    link_base: int = 0x0001_0000       # address .text is linked at


@dataclass(frozen=True)
class Emulator:
    """How Unicorn runs the target and capstone decodes it (constant names, resolved in ``sim``/the checker)."""

    unicorn_arch: str
    unicorn_mode: str
    unicorn_cpu: str | None
    capstone_arch: str
    capstone_mode: str                 # names joined by "|"
    memory: str = "flat"               # the harness's memory layout: "flat" or "real-mode" (sim.machine)
    setup_registers: tuple[tuple[str, int], ...] = ()  # written once when the machine is created
    entry_registers: tuple[tuple[str, int], ...] = ()  # written before every call (the start state)
    thumb: bool = False                # code addresses carry the Thumb bit (bit 0 set when called)


@dataclass(frozen=True)
class Target:
    name: str
    family: str                        # generator module in isa/
    description: str
    abi: Abi
    allowed_isa: str                   # what the checker admits, in words
    rules: tuple                       # what it admits, as isa.rules objects (first objection wins)
    toolchain: Toolchain
    emulator: Emulator
    word_bits: int                     # native register width
    address_bits: int                  # what a pointer can reach
    default_core: str                  # the cycle model runs and the bench report by default
    baseline: str                      # what the bench goal is measured against: "clang -O2", "clang -O3", "byte loop"
    goal: float                        # baseline cycles ≥ goal × kernel cycles on default_core (8-bit l1 top-1, D=16)
    extensions: tuple[str, ...] = ()   # ISA extensions a generator may use beyond its family's base ("dsp", "neon")
    endian: str = "little"

    # The toolchain and emulator facts by their old flat names, for the generators and tests.
    @property
    def triple(self) -> str:
        return self.toolchain.triple

    @property
    def cpu(self) -> str | None:
        return self.toolchain.cpu

    @property
    def asm_prologue(self) -> str:
        return self.toolchain.asm_prologue

    @property
    def link_base(self) -> int:
        return self.toolchain.link_base

    @property
    def unicorn_arch(self) -> str:
        return self.emulator.unicorn_arch

    @property
    def unicorn_mode(self) -> str:
        return self.emulator.unicorn_mode

    @property
    def unicorn_cpu(self) -> str | None:
        return self.emulator.unicorn_cpu

    @property
    def capstone_arch(self) -> str:
        return self.emulator.capstone_arch

    @property
    def capstone_mode(self) -> str:
        return self.emulator.capstone_mode

    @property
    def c_baselines(self) -> bool:
        """Does a C compiler here target it (else its baselines are the generator's byte loop and simple variant)?"""
        return self.baseline != "byte loop"

    def generator(self):
        """The generator module for this target's family (imported lazily)."""
        return importlib.import_module(f"isa.{self.family}")


# --- calling conventions ----------------------------------------------------------

def _riscv_abi(name: str, xlen: int) -> Abi:
    return Abi(
        name=name, description=f"RISC-V psABI {name}: arguments in a0–a7, result in a0, return to ra",
        slot_bytes=xlen // 8, pointer_bytes=xlen // 8,
        argument_registers=tuple(f"a{i}" for i in range(8)), result_registers=("a0",),
        callee_saved=tuple(f"s{i}" for i in range(12)),
        volatile=("ra", *(f"t{i}" for i in range(7)), *(f"a{i}" for i in range(8))),
        stack_pointer="sp", stack_alignment=16, link_register="ra", reserved=("gp", "tp"),
        widening="sign" if xlen == 64 else "exact",
    )


ILP32 = _riscv_abi("ilp32", 32)
LP64 = _riscv_abi("lp64", 64)

AAPCS = Abi(
    name="aapcs", description="AAPCS: arguments in r0–r3 then the stack, result in r0, return to lr",
    slot_bytes=4, pointer_bytes=4,
    argument_registers=("r0", "r1", "r2", "r3"), result_registers=("r0",),
    callee_saved=tuple(f"r{i}" for i in range(4, 12)),
    volatile=("r0", "r1", "r2", "r3", "r12", "lr"),
    stack_pointer="sp", stack_alignment=8, link_register="lr",
)

AAPCS64 = Abi(
    name="aapcs64", description="AAPCS64: arguments in x0–x7, result in w0, return to x30",
    slot_bytes=8, pointer_bytes=8,
    argument_registers=tuple(f"x{i}" for i in range(8)), result_registers=("x0",),
    # x19–x28 and the frame pointer x29; of v8–v15 only the low 64 bits (d8–d15).
    callee_saved=(*(f"x{i}" for i in range(19, 30)), *(f"d{i}" for i in range(8, 16))),
    volatile=(*(f"x{i}" for i in range(18)), "x30", *(f"v{i}" for i in range(8)), *(f"v{i}" for i in range(16, 32))),
    stack_pointer="sp", stack_alignment=16, link_register="x30", reserved=("x18",), widening="unspecified",
)

CDECL16_COMPACT = Abi(
    name="cdecl16-compact",
    description="__cdecl, compact model: near call, arguments on the stack right to left, far data pointers, "
                "result in DX:AX",
    slot_bytes=2, pointer_bytes=4, far_pointers=True,
    argument_registers=(), result_registers=("ax", "dx"),
    callee_saved=("bp", "si", "di", "ds", "ss"),
    volatile=("ax", "bx", "cx", "dx", "es"),
    stack_pointer="sp", stack_alignment=2, link_register=None, return_address_bytes=2,
    flags_register="flags", clear_flags=(("DF", 0x400),),
)

# --- ISA rules ----------------------------------------------------------------------

_X86_186 = {op: "186 instruction (PUSHA/POPA/BOUND/PUSH imm/IMUL imm/INS/OUTS)" for op in range(0x60, 0x70)}
I8086_RULES = (R.OpcodeBytes(
    prefixes=frozenset({0x26, 0x2E, 0x36, 0x3E, 0xF0, 0xF2, 0xF3}),       # 8086 segment/LOCK/REP
    forbidden_prefixes={0x64: "FS override (386)", 0x65: "GS override (386)",
                        0x66: "operand-size prefix (386)", 0x67: "address-size prefix (386)"},
    forbidden_opcodes={0x0F: "two-byte opcode (286+)", 0xC0: "shift/rotate by immediate (186)",
                       0xC1: "shift/rotate by immediate (186)", 0xC8: "ENTER (186)", 0xC9: "LEAVE (186)",
                       0xD6: "undocumented SALC", 0xF1: "undocumented ICEBP", **_X86_186}),)

RV_I = frozenset("""lui auipc jal jalr beq bne blt bge bltu bgeu lb lh lw lbu lhu sb sh sw addi slti sltiu xori
ori andi slli srli srai add sub sll slt sltu xor srl sra or and fence fence.i ecall ebreak
lwu ld sd addiw slliw srliw sraiw addw subw sllw srlw sraw""".split())
RV_M = frozenset("mul mulh mulhsu mulhu div divu rem remu mulw divw divuw remw remuw".split())
RV_PSEUDO = frozenset("""nop li mv not neg negw sext.w seqz snez sltz sgtz beqz bnez blez bgez bltz bgtz bgt ble
bgtu bleu j jr ret call tail unimp""".split())
RV_C = frozenset("c." + m for m in """nop addi addiw addi16sp addi4spn li lui mv add addw sub subw and andi or xor
slli srli srai lw lwsp ld ldsp sw swsp sd sdsp j jal jr jalr beqz bnez ebreak unimp""".split())
RV64_ONLY = frozenset("""lwu ld sd addiw slliw srliw sraiw addw subw sllw srlw sraw mulw divw divuw remw remuw
negw sext.w c.addiw c.addw c.subw c.ld c.ldsp c.sd c.sdsp""".split())
# capstone 5 cannot decode Zbb or V, so those fail as undecodable before any rule.
RV32IM_RULES = (R.Only(RV_I | RV_M | RV_PSEUDO | RV_C, "not in RV32IM(C)"), R.Never(RV64_ONLY, "RV64-only instruction"))
RV64IM_RULES = (R.Only(RV_I | RV_M | RV_PSEUDO | RV_C, "not in RV64IM(C)"),)

CORTEX_M0_RULES = (
    R.NarrowOnly(2, frozenset({"bl", "dmb", "dsb", "isb", "mrs", "msr"}),
                 "32-bit Thumb-2 encoding (ARMv7-M), not in ARMv6-M"),
    R.Never(frozenset({"cbz", "cbnz"}), "ARMv7-M only (CBZ/CBNZ/IT)", base=True),
    R.NeverPrefix(("it",), "ARMv7-M only (CBZ/CBNZ/IT)"),
)
CORTEX_M4_RULES = (
    R.NeverPrefix(("v",), "floating point / SIMD coprocessor instruction (no FPU/NEON in this target)"),
    R.Never(frozenset({"cdp", "cdp2", "mcr", "mcr2", "mrc", "mrc2", "mcrr", "mrrc", "ldc", "stc"}),
            "coprocessor instruction", base=True),
)
A64_EXTENSIONS = frozenset("""udot sdot usdot sudot bfdot fmlal fmlal2 fmlsl fmlsl2 sqrdmlah sqrdmlsh fjcvtzs
casal cas casa casl ldadd ldadda ldaddal ldaddl swp swpa swpal swpl ldapr ldaprb ldaprh rax1 eor3 bcax xar
sha512h sm3ss1""".split())
AARCH64_RULES = (
    R.Never(A64_EXTENSIONS, "ARMv8.1+ extension, not ARMv8.0-A"),
    R.NoRegisters(("z", "p"), frozenset({"za"}), "SVE/SME instruction"),
)

# --- the targets --------------------------------------------------------------------

_RISCV_CC = ("-mno-relax",)    # keep branches resolved: no linker relaxation surprises
_RISCV_LD = ("--no-relax",)
_THUMB = ".syntax unified\n.thumb\n"

TARGETS: dict[str, Target] = {t.name: t for t in [
    Target(
        name="i8086", family="x86_16",
        description="Intel 8086/8088, real mode, __cdecl compact model (far data pointers)",
        abi=CDECL16_COMPACT,
        allowed_isa="8086 only: no 186/286/386 forms, 16-bit registers, shifts by 1 or CL",
        rules=I8086_RULES,
        toolchain=Toolchain("x86-freestanding-none", None, "elf_i386",
                            asm_prologue=".code16\n.intel_syntax noprefix\n",
                            link_base=0x0000),  # offsets within the code segment; CS supplies the base
        emulator=Emulator("UC_ARCH_X86", "UC_MODE_16", None, "CS_ARCH_X86", "CS_MODE_16", memory="real-mode",
                          # every general register zero and FLAGS with DF clear, as cdecl requires
                          entry_registers=(*((r, 0) for r in ("ax", "bx", "cx", "dx", "si", "di", "bp")),
                                           ("flags", 0x0002))),
        word_bits=16, address_bits=20, default_core="i8086", baseline="byte loop", goal=2.0,
    ),
    Target(
        name="rv32im", family="riscv",
        description="RISC-V RV32IM (+C allowed), ilp32",
        abi=ILP32, allowed_isa="RV32I + M (+ C)", rules=RV32IM_RULES,
        toolchain=Toolchain("riscv32-freestanding-none", "generic_rv32+m", "elf32lriscv", _RISCV_CC, _RISCV_LD),
        emulator=Emulator("UC_ARCH_RISCV", "UC_MODE_RISCV32", "UC_CPU_RISCV32_BASE32",
                          "CS_ARCH_RISCV", "CS_MODE_RISCV32"),
        word_bits=32, address_bits=32, default_core="ibex", baseline="clang -O2", goal=2.5, extensions=("m", "c"),
    ),
    Target(
        name="rv64im", family="riscv",
        description="RISC-V RV64IM (+C allowed), lp64",
        abi=LP64, allowed_isa="RV64I + M (+ C)", rules=RV64IM_RULES,
        toolchain=Toolchain("riscv64-freestanding-none", "generic_rv64+m", "elf64lriscv", _RISCV_CC, _RISCV_LD),
        emulator=Emulator("UC_ARCH_RISCV", "UC_MODE_RISCV64", "UC_CPU_RISCV64_BASE64",
                          "CS_ARCH_RISCV", "CS_MODE_RISCV64"),
        word_bits=64, address_bits=64, default_core="u54", baseline="clang -O2", goal=3.0, extensions=("m", "c"),
    ),
    Target(
        name="cortex-m0", family="armv6m",
        description="Arm Cortex-M0, ARMv6-M Thumb, AAPCS",
        abi=AAPCS,
        allowed_isa="ARMv6-M Thumb: 16-bit Thumb (no CBZ/CBNZ/IT) plus BL, DMB, DSB, ISB, MRS, MSR",
        rules=CORTEX_M0_RULES,
        toolchain=Toolchain("thumb-freestanding-eabi", "cortex_m0", "armelf", asm_prologue=_THUMB),
        emulator=Emulator("UC_ARCH_ARM", "UC_MODE_THUMB", "UC_CPU_ARM_CORTEX_M0",
                          "CS_ARCH_ARM", "CS_MODE_THUMB|CS_MODE_MCLASS", thumb=True),
        word_bits=32, address_bits=32, default_core="cortex-m0", baseline="clang -O2", goal=2.0,
    ),
    Target(
        name="cortex-m4", family="armv7em",
        description="Arm Cortex-M4, ARMv7E-M Thumb-2 with DSP SIMD, AAPCS",
        abi=AAPCS,
        allowed_isa="ARMv7E-M Thumb-2 incl. DSP SIMD (USUB8, SEL, USADA8…); no FPU, no NEON",
        rules=CORTEX_M4_RULES,
        toolchain=Toolchain("thumb-freestanding-eabi", "cortex_m4", "armelf", asm_prologue=_THUMB),
        emulator=Emulator("UC_ARCH_ARM", "UC_MODE_THUMB", "UC_CPU_ARM_CORTEX_M4",
                          "CS_ARCH_ARM", "CS_MODE_THUMB|CS_MODE_MCLASS", thumb=True),
        word_bits=32, address_bits=32, default_core="cortex-m4", baseline="clang -O2", goal=4.0, extensions=("dsp",),
    ),
    Target(
        name="aarch64", family="aarch64",
        description="ARMv8-A AArch64 with NEON (Advanced SIMD), AAPCS64",
        abi=AAPCS64,
        allowed_isa="ARMv8.0-A A64 + Advanced SIMD (no SVE, no v8.1+ extensions)",
        rules=AARCH64_RULES,
        toolchain=Toolchain("aarch64-freestanding-none", None, "aarch64elf"),
        emulator=Emulator("UC_ARCH_ARM64", "UC_MODE_ARM", "UC_CPU_ARM64_A53", "CS_ARCH_ARM64", "CS_MODE_ARM",
                          # CPACR_EL1.FPEN = 0b11: FP/Advanced SIMD not trapped at EL0/EL1
                          setup_registers=(("cpacr_el1", 0x3 << 20),)),
        word_bits=64, address_bits=64, default_core="cortex-a55", baseline="clang -O3", goal=1.3, extensions=("neon",),
    ),
]}


def get_target(name: str) -> Target:
    try:
        return TARGETS[name]
    except KeyError:
        raise TorusInputError(f"unknown target {name!r}; choose one of {', '.join(TARGETS)}") from None
