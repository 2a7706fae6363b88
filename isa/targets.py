"""The target registry: where a kernel runs.

One :class:`Target` per ISA the project generates for, with everything the
assembler, the checker and the Unicorn harness need to know about it.  The
Unicorn settings are kept as constant *names* so that ``isa`` does not import
the emulator (``sim`` resolves them).

The cores listed for a target are the cycle models in ``sim.cycles`` that
cost it; the first is the target's default core.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from torus_hw.errors import TorusInputError


@dataclass(frozen=True)
class Target:
    name: str
    family: str                  # generator module in isa/
    description: str
    triple: str                  # ziglang clang -target
    cpu: str | None              # ziglang clang -mcpu
    abi: str                     # calling convention the kernels follow
    word_bits: int               # native register width
    address_bits: int            # what a pointer can reach
    endian: str
    unicorn_arch: str            # unicorn constant names, resolved in sim/
    unicorn_mode: str
    unicorn_cpu: str | None
    capstone_arch: str           # capstone constant names, resolved in the checker
    capstone_mode: str
    allowed_isa: str             # what the checker admits, in words
    cores: tuple[str, ...]
    asm_prologue: str = ""       # directives every file for this target starts with
    link_base: int = 0x0001_0000 # address the image is linked at

    @property
    def default_core(self) -> str:
        return self.cores[0]

    def generator(self):
        """The generator module for this target's family (imported lazily)."""
        return importlib.import_module(f"isa.{self.family}")


TARGETS: dict[str, Target] = {t.name: t for t in [
    Target(
        name="i8086", family="x86_16",
        description="Intel 8086/8088, real mode, __cdecl compact model (far data pointers)",
        triple="x86-freestanding-none", cpu=None, abi="cdecl16-compact",
        word_bits=16, address_bits=20, endian="little",
        unicorn_arch="UC_ARCH_X86", unicorn_mode="UC_MODE_16", unicorn_cpu=None,
        capstone_arch="CS_ARCH_X86", capstone_mode="CS_MODE_16",
        allowed_isa="8086 only: no 186/286/386 forms, 16-bit registers, shifts by 1 or CL",
        cores=("i8086", "i8088"),
        asm_prologue=".code16\n.intel_syntax noprefix\n",
        link_base=0x0000,  # offsets within the code segment; CS supplies the base
    ),
    Target(
        name="rv32im", family="riscv",
        description="RISC-V RV32IM (+C allowed), ilp32",
        triple="riscv32-freestanding-none", cpu="generic_rv32+m", abi="ilp32",
        word_bits=32, address_bits=32, endian="little",
        unicorn_arch="UC_ARCH_RISCV", unicorn_mode="UC_MODE_RISCV32", unicorn_cpu="UC_CPU_RISCV32_BASE32",
        capstone_arch="CS_ARCH_RISCV", capstone_mode="CS_MODE_RISCV32",
        allowed_isa="RV32I + M (+ C)", cores=("ibex",),
    ),
    Target(
        name="rv64im", family="riscv",
        description="RISC-V RV64IM (+C allowed), lp64",
        triple="riscv64-freestanding-none", cpu="generic_rv64+m", abi="lp64",
        word_bits=64, address_bits=64, endian="little",
        unicorn_arch="UC_ARCH_RISCV", unicorn_mode="UC_MODE_RISCV64", unicorn_cpu="UC_CPU_RISCV64_BASE64",
        capstone_arch="CS_ARCH_RISCV", capstone_mode="CS_MODE_RISCV64",
        allowed_isa="RV64I + M (+ C)", cores=("u54",),
    ),
    Target(
        name="cortex-m0", family="armv6m",
        description="Arm Cortex-M0, ARMv6-M Thumb, AAPCS",
        triple="thumb-freestanding-eabi", cpu="cortex_m0", abi="aapcs",
        word_bits=32, address_bits=32, endian="little",
        unicorn_arch="UC_ARCH_ARM", unicorn_mode="UC_MODE_THUMB", unicorn_cpu="UC_CPU_ARM_CORTEX_M0",
        capstone_arch="CS_ARCH_ARM", capstone_mode="CS_MODE_THUMB|CS_MODE_MCLASS",
        allowed_isa="ARMv6-M Thumb: 16-bit Thumb (no CBZ/CBNZ/IT) plus BL, DMB, DSB, ISB, MRS, MSR",
        cores=("cortex-m0",),
        asm_prologue=".syntax unified\n.thumb\n",
    ),
    Target(
        name="cortex-m4", family="armv7em",
        description="Arm Cortex-M4, ARMv7E-M Thumb-2 with DSP SIMD, AAPCS",
        triple="thumb-freestanding-eabi", cpu="cortex_m4", abi="aapcs",
        word_bits=32, address_bits=32, endian="little",
        unicorn_arch="UC_ARCH_ARM", unicorn_mode="UC_MODE_THUMB", unicorn_cpu="UC_CPU_ARM_CORTEX_M4",
        capstone_arch="CS_ARCH_ARM", capstone_mode="CS_MODE_THUMB|CS_MODE_MCLASS",
        allowed_isa="ARMv7E-M Thumb-2 incl. DSP SIMD (USUB8, SEL, USADA8…); no FPU, no NEON",
        cores=("cortex-m4",),
        asm_prologue=".syntax unified\n.thumb\n",
    ),
    Target(
        name="aarch64", family="aarch64",
        description="ARMv8-A AArch64 with NEON (Advanced SIMD), AAPCS64",
        triple="aarch64-freestanding-none", cpu=None, abi="aapcs64",
        word_bits=64, address_bits=64, endian="little",
        unicorn_arch="UC_ARCH_ARM64", unicorn_mode="UC_MODE_ARM", unicorn_cpu="UC_CPU_ARM64_A53",
        capstone_arch="CS_ARCH_ARM64", capstone_mode="CS_MODE_ARM",
        allowed_isa="ARMv8.0-A A64 + Advanced SIMD (no SVE, no v8.1+ extensions)",
        cores=("cortex-a55",),
    ),
]}


def get_target(name: str) -> Target:
    try:
        return TARGETS[name]
    except KeyError:
        raise TorusInputError(f"unknown target {name!r}; choose one of {', '.join(TARGETS)}") from None
