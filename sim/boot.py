"""Boot a whole firmware image from reset in Unicorn, as the board would.

This module owns the emulated boards of ``torus-hw firmware`` projects: the
memory map of each board (from firmware/boards.py), loading the image where the
board's loader puts it (ELF load addresses, so ``.data`` starts in flash and
the startup code must copy it; a ``.COM`` at PSP:0100), RAM filled with garbage (a
startup that skips the ``.data`` copy or the ``.bss`` clear fails), the reset itself (a
Cortex-M core's stack pointer and entry from its vector table, RISC-V and
Linux from the ELF entry, DOS at CS:0100 with a ``ret`` to the PSP's
INT 20h), and the I/O the firmware uses, trapped by hooks:

* Arm semihosting (``BKPT 0xAB``) and RISC-V semihosting (``slli``/``ebreak``/
  ``srai``): SYS_WRITE0, SYS_WRITEC, SYS_EXIT and SYS_EXIT_EXTENDED;
* AArch64 Linux system calls (``svc #0``): write(1, …) and exit/exit_group;
* DOS (``INT 21h``): AH=02h, 09h, 40h to stdout, 4Ch exit; ``INT 20h``.

Anything else — an unmapped access, an undefined instruction, another trap —
ends the run as a fault, reported with the pc.  :func:`boot` returns what the
firmware printed and its exit status.
"""

from __future__ import annotations

from dataclasses import dataclass
from io import BytesIO

import unicorn
from elftools.elf.elffile import ELFFile
from unicorn import arm64_const, arm_const, riscv_const, x86_const

from firmware.boards import Board
from isa.targets import Target
from torus_hw.errors import TorusInputError

from .machine import resolve

PAGE = 0x1000
SYS_WRITEC, SYS_WRITE0, SYS_EXIT, SYS_EXIT_EXTENDED = 0x03, 0x04, 0x18, 0x20
ADP_STOPPED_APPLICATION_EXIT = 0x20026
LINUX_STACK_TOP, LINUX_STACK_BYTES = 0x7FFF_0000, 0x10_0000
DOS_PSP_SEGMENT = 0x1000
BOOT_TIMEOUT_US = 600_000_000
RAM_FILL, GARBAGE_BYTES = b"\xa5", 1 << 20
EXCP_SWI, EXCP_BKPT, RISCV_BREAKPOINT = 2, 7, 3
RISCV_SEMI_ENTRY, RISCV_SEMI_EXIT = 0x01F01013, 0x40705013  # slli x0,x0,0x1f / srai x0,x0,7


class BootFault(TorusInputError):
    """The firmware faulted, trapped unexpectedly or did not finish."""


@dataclass
class BootResult:
    stdout: str
    status: int

    def lines(self) -> list[str]:
        return self.stdout.splitlines()


def _page_range(origin: int, size: int) -> tuple[int, int]:
    start = origin & ~(PAGE - 1)
    end = -(-(origin + size) // PAGE) * PAGE
    return start, end - start


class BootMachine:
    """One Unicorn machine booting one image on one board (use :func:`boot`)."""

    def __init__(self, board: Board, target: Target, image: bytes):
        self.board, self.target, self.image = board, target, image
        self.out: list[bytes] = []
        self.status: int | None = None
        self.fault: str | None = None
        self.uc = unicorn.Uc(resolve(unicorn, target.unicorn_arch), resolve(unicorn, target.unicorn_mode))
        cpu = target.unicorn_cpu
        if cpu is not None:
            module = {"UC_ARCH_ARM": arm_const, "UC_ARCH_ARM64": arm64_const, "UC_ARCH_RISCV": riscv_const}
            self.uc.ctl_set_cpu_model(resolve(module[target.unicorn_arch], cpu))
        self.uc.hook_add(unicorn.UC_HOOK_INTR, self._on_interrupt)

    # --- memory -------------------------------------------------------------------

    def _map(self, origin: int, size: int) -> None:
        start, length = _page_range(origin, size)
        self.uc.mem_map(start, length)

    def _load_elf(self) -> int:
        elf = ELFFile(BytesIO(self.image))
        for seg in elf.iter_segments():
            if seg["p_type"] != "PT_LOAD" or not seg["p_filesz"]:
                continue
            # Load address (p_paddr): .data sits in flash until the startup code copies it.
            address = seg["p_paddr"] if self.board.boot != "linux" else seg["p_vaddr"]
            self.uc.mem_write(address, seg.data())
        return elf.header["e_entry"]

    # --- reset ------------------------------------------------------------------------

    def start(self) -> tuple[int, int]:
        b = self.board
        if b.boot == "dos":
            return self._start_dos()
        if b.boot == "linux":
            elf = ELFFile(BytesIO(self.image))
            for seg in elf.iter_segments():
                if seg["p_type"] == "PT_LOAD":
                    self._map(seg["p_vaddr"], seg["p_memsz"])
            self._map(LINUX_STACK_TOP - LINUX_STACK_BYTES, LINUX_STACK_BYTES)
            entry = self._load_elf()
            sp = LINUX_STACK_TOP - 0x100  # argc = 0, argv = envp = auxv = NULL below it (zeroed)
            self.uc.reg_write(arm64_const.UC_ARM64_REG_SP, sp)
            self.uc.reg_write(arm64_const.UC_ARM64_REG_CPACR_EL1, 0x3 << 20)  # FP/SIMD on, as Linux has it
            return entry, 0
        self._map(b.flash.origin, b.flash.size)
        if b.ram.origin != b.flash.origin:
            self._map(b.ram.origin, b.ram.size)
        # RAM is not zero at power-on: fill where .data and .bss go, so an image whose startup code
        # does not copy .data or clear .bss prints garbage here instead of passing by luck.
        self.uc.mem_write(b.ram.origin, RAM_FILL * min(b.ram.size, GARBAGE_BYTES))
        entry = self._load_elf()
        if b.boot == "riscv":
            self._hook_riscv_semihosting()
            return entry, 0
        table = b.flash.origin
        if b.vector_alias is not None:  # the core fetches the table at the alias; it mirrors flash
            self._map(b.vector_alias, PAGE)
            self.uc.mem_write(b.vector_alias, bytes(self.uc.mem_read(b.flash.origin, PAGE)))
            table = b.vector_alias
        sp, reset = (int.from_bytes(self.uc.mem_read(table + 4 * i, 4), "little") for i in range(2))
        if not reset & 1:
            raise BootFault(f"{b.name}: reset vector {reset:#x} is not a Thumb address")
        self.uc.reg_write(arm_const.UC_ARM_REG_SP, sp)
        return reset | 1, 0

    def _start_dos(self) -> tuple[int, int]:
        uc = self.uc
        uc.mem_map(0, 0x10_0000)
        base = DOS_PSP_SEGMENT << 4
        if len(self.image) > 0xFF00:
            raise BootFault(f"dos: a .COM holds at most 65,280 bytes, this one has {len(self.image):,}")
        uc.mem_write(base, RAM_FILL * 0x1_0000)           # DOS does not clear the segment either
        uc.mem_write(base, b"\xcd\x20")                  # PSP:0000 INT 20h, where a final RET lands
        uc.mem_write(base + 0x100, self.image)
        uc.mem_write(base + 0xFFFE, b"\0\0")
        for reg in ("CS", "DS", "ES", "SS"):
            uc.reg_write(getattr(x86_const, f"UC_X86_REG_{reg}"), DOS_PSP_SEGMENT)
        uc.reg_write(x86_const.UC_X86_REG_SP, 0xFFFE)    # a zero word at the top: RET → PSP:0000
        return 0x100, 0

    # --- traps ------------------------------------------------------------------------

    def _hook_riscv_semihosting(self) -> None:
        """Hook each EBREAK of a semihosting sequence (Unicorn reports a bare EBREAK as an invalid instruction)."""
        elf = ELFFile(BytesIO(self.image))
        entry = RISCV_SEMI_ENTRY.to_bytes(4, "little")
        for seg in elf.iter_segments():
            if seg["p_type"] != "PT_LOAD" or not seg["p_flags"] & 1:  # executable segments
                continue
            data, at = seg.data(), 0
            while (at := data.find(entry, at)) >= 0:
                if at % 4 == 0:
                    address = seg["p_paddr"] + at + 4
                    self.uc.hook_add(unicorn.UC_HOOK_CODE, self._on_riscv_ebreak, begin=address, end=address)
                at += 4

    def _on_riscv_ebreak(self, uc, address, size, _user) -> None:
        self._on_interrupt(uc, RISCV_BREAKPOINT, None)

    def _stop(self, status: int) -> None:
        self.status = status
        self.uc.emu_stop()

    def _on_interrupt(self, uc, intno, _user) -> None:
        t = self.target.unicorn_arch
        if t == "UC_ARCH_ARM" and intno == EXCP_BKPT:
            pc = uc.reg_read(arm_const.UC_ARM_REG_PC)
            if uc.mem_read(pc, 2) != b"\xab\xbe":  # BKPT 0xAB (Thumb)
                return self._fault(f"breakpoint that is not semihosting at pc={pc:#x}")
            r0 = uc.reg_read(arm_const.UC_ARM_REG_R0)
            r1 = uc.reg_read(arm_const.UC_ARM_REG_R1)
            uc.reg_write(arm_const.UC_ARM_REG_R0, self._semihost(r0, r1, 4))
            uc.reg_write(arm_const.UC_ARM_REG_PC, (pc + 2) | 1)
        elif t == "UC_ARCH_RISCV" and intno == RISCV_BREAKPOINT:
            pc = uc.reg_read(riscv_const.UC_RISCV_REG_PC)
            before = int.from_bytes(uc.mem_read(pc - 4, 4), "little")
            after = int.from_bytes(uc.mem_read(pc + 4, 4), "little")
            if (before, after) != (RISCV_SEMI_ENTRY, RISCV_SEMI_EXIT):
                return self._fault(f"ebreak that is not semihosting at pc={pc:#x}")
            word = self.target.word_bits // 8
            a0 = uc.reg_read(riscv_const.UC_RISCV_REG_A0)
            a1 = uc.reg_read(riscv_const.UC_RISCV_REG_A1)
            uc.reg_write(riscv_const.UC_RISCV_REG_A0, self._semihost(a0, a1, word))
            uc.reg_write(riscv_const.UC_RISCV_REG_PC, pc + 8)
        elif t == "UC_ARCH_ARM64" and intno == EXCP_SWI:
            nr = uc.reg_read(arm64_const.UC_ARM64_REG_X8)
            x0, x1, x2 = (uc.reg_read(getattr(arm64_const, f"UC_ARM64_REG_X{i}")) for i in range(3))
            if nr == 64 and x0 in (1, 2):
                self.out.append(bytes(uc.mem_read(x1, x2)))
                uc.reg_write(arm64_const.UC_ARM64_REG_X0, x2)
            elif nr in (93, 94):
                self._stop(x0 & 0xFF)
            else:
                self._fault(f"Linux system call {nr} is not emulated")
        elif t == "UC_ARCH_X86" and intno in (0x20, 0x21):
            self._dos(intno)
        else:
            self._fault(f"unexpected trap {intno}")

    def _semihost(self, op: int, arg: int, word: int) -> int:
        uc = self.uc
        if op == SYS_WRITE0:
            data = bytearray()
            while True:
                chunk = bytes(uc.mem_read(arg + len(data), 64))
                end = chunk.find(b"\0")
                data += chunk if end < 0 else chunk[:end]
                if end >= 0:
                    break
            self.out.append(bytes(data))
            return 0
        if op == SYS_WRITEC:
            self.out.append(bytes(uc.mem_read(arg, 1)))
            return 0
        if op in (SYS_EXIT, SYS_EXIT_EXTENDED):
            if op == SYS_EXIT and word == 4:  # 32-bit SYS_EXIT: the reason itself, no status
                self._stop(0 if arg == ADP_STOPPED_APPLICATION_EXIT else 1)
            else:
                reason, sub = (int.from_bytes(uc.mem_read(arg + word * i, word), "little") for i in range(2))
                self._stop(sub & 0xFF if reason == ADP_STOPPED_APPLICATION_EXIT else 1)
            return 0
        self._fault(f"semihosting call {op:#x} is not emulated")
        return 0

    def _dos(self, intno: int) -> None:
        uc = self.uc
        if intno == 0x20:
            return self._stop(0)
        ax = uc.reg_read(x86_const.UC_X86_REG_AX)
        ah = ax >> 8
        ds = uc.reg_read(x86_const.UC_X86_REG_DS) << 4
        dx = uc.reg_read(x86_const.UC_X86_REG_DX)
        if ah == 0x02:
            self.out.append(bytes([dx & 0xFF]))
        elif ah == 0x09:
            data = bytes(uc.mem_read(ds + dx, 0x1_0000 - dx))
            self.out.append(data[:data.index(b"$")] if b"$" in data else data)
        elif ah == 0x40 and uc.reg_read(x86_const.UC_X86_REG_BX) in (1, 2):
            cx = uc.reg_read(x86_const.UC_X86_REG_CX)
            self.out.append(bytes(uc.mem_read(ds + dx, cx)))
            uc.reg_write(x86_const.UC_X86_REG_AX, cx)
            uc.reg_write(x86_const.UC_X86_REG_EFLAGS, uc.reg_read(x86_const.UC_X86_REG_EFLAGS) & ~1)  # CF = ok
        elif ah == 0x4C:
            self._stop(ax & 0xFF)
        else:
            self._fault(f"DOS call INT 21h AH={ah:#04x} is not emulated")

    def _fault(self, why: str) -> None:
        self.fault = why
        self.uc.emu_stop()

    def run(self, timeout_us: int = BOOT_TIMEOUT_US) -> BootResult:
        begin, _ = self.start()
        try:
            self.uc.emu_start(begin, -1 & ((1 << 64) - 1) if self.target.word_bits == 64 else 0xFFFF_FFFF,
                              timeout=timeout_us)
        except unicorn.UcError as exc:
            raise BootFault(f"{self.board.name}: {self.target.name} firmware faulted at pc={self._pc():#x}: {exc}; "
                            f"printed so far: {b''.join(self.out)[-200:]!r}") from None
        if self.fault:
            raise BootFault(f"{self.board.name}: {self.fault}")
        if self.status is None:
            raise BootFault(f"{self.board.name}: the firmware did not exit (pc={self._pc():#x}) within "
                            f"{timeout_us // 1_000_000} s")
        return BootResult(b"".join(self.out).decode(errors="replace"), self.status)

    def _pc(self) -> int:
        t = self.target.unicorn_arch
        if t == "UC_ARCH_X86":
            return (self.uc.reg_read(x86_const.UC_X86_REG_CS) << 4) + self.uc.reg_read(x86_const.UC_X86_REG_IP)
        reg = {"UC_ARCH_ARM": arm_const.UC_ARM_REG_PC, "UC_ARCH_ARM64": arm64_const.UC_ARM64_REG_PC,
               "UC_ARCH_RISCV": riscv_const.UC_RISCV_REG_PC}[t]
        return self.uc.reg_read(reg)


def boot(board: Board, target: Target, image: bytes, *, timeout_us: int = BOOT_TIMEOUT_US) -> BootResult:
    """Boot ``image`` (ELF, or a .COM for dos) on ``board`` from reset; return its output and exit status."""
    return BootMachine(board, target, image).run(timeout_us)
