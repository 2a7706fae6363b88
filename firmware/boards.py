"""The board registry: where a firmware image runs.

One :class:`Board` per machine a ``torus-hw firmware`` project is built for:
its target, memory map (what the linker script and the size check use), how
the image boots and prints (semihosting, Linux system calls or DOS), the
GNU toolchain and QEMU command that run it, and the flags of both compilers.
The Unicorn boot harness (sim/boot.py) reads the same memory map.

Memory maps, from the boards' documentation and QEMU's models:

* ``mps2-an386`` — Arm MPS2+ AN386 (Cortex-M4): 4 MiB ZBT SSRAM1 at 0x0000_0000
  holds code and read-only data, 4 MiB ZBT SSRAM2/3 at 0x2000_0000 is RAM.
* ``netduinoplus2`` — STM32F405RG (Cortex-M4F): 1 MiB flash at 0x0800_0000
  (aliased at 0 for the vector fetch), 128 KiB SRAM at 0x2000_0000.  The
  kernels use no FPU; the image is built soft-float.
* ``microbit`` — nRF51822 (Cortex-M0): 256 KiB flash at 0, 16 KiB RAM at 0x2000_0000.
* ``virt`` — QEMU's RISC-V virt machine (RV32 or RV64 by the target): DRAM at
  0x8000_0000 (128 MiB by default; the image takes the first 64 MiB as its
  "flash", the next 64 MiB as RAM); QEMU with ``-bios none`` starts at 0x8000_0000.
* ``linux-user`` — a static AArch64 Linux executable run by ``qemu-aarch64``;
  the kernel's loader maps it, so the map is only a budget (256 MiB).
* ``dos`` — a DOS ``.COM``: one 64 KiB segment, loaded at PSP:0100, holding
  code, data and stack (the stack starts at the top of the segment).
"""

from __future__ import annotations

from dataclasses import dataclass

from isa.targets import get_target
from torus_hw.errors import TorusInputError


@dataclass(frozen=True)
class Region:
    origin: int
    size: int


@dataclass(frozen=True)
class Board:
    name: str
    targets: tuple[str, ...]       # torus-hw targets this board runs (first = default for --board)
    description: str
    flash: Region                  # code and read-only data (the database)
    ram: Region                    # .data, .bss and the stack
    boot: str                      # "cortex-m" (vector table), "riscv" (_start at flash origin),
                                   # "linux" (ELF entry, Linux syscalls), "dos" (.COM at PSP:0100)
    output: str                    # "semihosting", "linux" or "dos"
    stack_bytes: int               # stack reserved at the top of RAM
    qemu: str                      # QEMU command line; {elf} is the image
    vector_alias: int | None = None  # where the core fetches the vector table, when not flash.origin


MiB, KiB = 1 << 20, 1 << 10
# No display, monitor or serial; the semihosting console on stdout (by default QEMU prints it on stderr).
QEMU_SEMIHOSTING = ("-display none -monitor none -serial none -chardev stdio,id=out "
                    "-semihosting-config enable=on,target=native,chardev=out -kernel {elf}")

BOARDS: dict[str, Board] = {b.name: b for b in [
    Board("mps2-an386", ("cortex-m4",), "Arm MPS2+ AN386, Cortex-M4",
          Region(0x0000_0000, 4 * MiB), Region(0x2000_0000, 4 * MiB), "cortex-m", "semihosting", 8 * KiB,
          "qemu-system-arm -M mps2-an386 " + QEMU_SEMIHOSTING),
    Board("netduinoplus2", ("cortex-m4",), "Netduino Plus 2, STM32F405RG, Cortex-M4F",
          Region(0x0800_0000, 1 * MiB), Region(0x2000_0000, 128 * KiB), "cortex-m", "semihosting", 8 * KiB,
          "qemu-system-arm -M netduinoplus2 " + QEMU_SEMIHOSTING,
          vector_alias=0x0000_0000),
    Board("microbit", ("cortex-m0",), "BBC micro:bit v1, nRF51822, Cortex-M0",
          Region(0x0000_0000, 256 * KiB), Region(0x2000_0000, 16 * KiB), "cortex-m", "semihosting", 4 * KiB,
          "qemu-system-arm -M microbit " + QEMU_SEMIHOSTING),
    Board("virt", ("rv32im", "rv64im"), "QEMU RISC-V virt machine",
          Region(0x8000_0000, 64 * MiB), Region(0x8400_0000, 64 * MiB), "riscv", "semihosting", 64 * KiB,
          "qemu-system-riscv{xlen} -M virt -bios none " + QEMU_SEMIHOSTING),
    Board("linux-user", ("aarch64",), "AArch64 Linux user mode (qemu-aarch64 -cpu cortex-a53)",
          Region(0x0040_0000, 256 * MiB), Region(0x1040_0000, 64 * MiB), "linux", "linux", 64 * KiB,
          "qemu-aarch64 -cpu cortex-a53 {elf}"),
    Board("dos", ("i8086",), "MS-DOS .COM program (8086 real mode), run headless in DOSBox",
          Region(0x0100, 0xFF00), Region(0x0100, 0xFF00), "dos", "dos", 2 * KiB,
          "dosbox"),
]}

DEFAULT_BOARD = {t: b.name for b in reversed(list(BOARDS.values())) for t in b.targets}
DEFAULT_BOARD["cortex-m4"] = "mps2-an386"


def get_board(name: str | None, target: str) -> Board:
    """The board ``name`` (or ``target``'s default), refusing one that cannot run ``target``."""
    get_target(target)
    if name is None:
        if target not in DEFAULT_BOARD:  # a target added without a board: refused, not a KeyError
            raise TorusInputError(f"no board runs {target} yet (boards: {', '.join(BOARDS)})")
        name = DEFAULT_BOARD[target]
    board = BOARDS.get(name)
    if board is None:
        raise TorusInputError(f"unknown board {name!r}; choose one of {', '.join(BOARDS)}")
    if target not in board.targets:
        raise TorusInputError(f"board {name} runs {', '.join(board.targets)}, not {target}")
    return board
