"""A buildable firmware project for one kernel on one board.

This module owns the project a ``torus-hw firmware`` run writes: the kernel
(``SYMBOL.S`` as ``isa.assembler`` writes it, ``SYMBOL.h``/``.inc`` from
firmware/header.py), the database and queries exported by
torus_hw/c_export.py, ``main.c`` (or the 8086 ``.COM`` driver ``main86.S``),
startup code and vector table, the linker script from the board's memory map
(firmware/boards.py), the board's output layer (semihosting, Linux system
calls or DOS), and one ``Makefile`` whose targets are the contract other
tools script against:

``make gnu``    build/firmware.elf (dos: build/FW.COM) with the GNU toolchain
``make clang``  the same file with the ziglang clang and ld.lld (pip only)
``make qemu``   run the GNU build on the board's QEMU machine (dos: DOSBox),
                exiting with the firmware's status
``make run``    run build/ as it is (e.g. after ``make clang``) on the same emulator
``make nasm``   dos only: the .COM with the kernel assembled by NASM from its
                NASM-syntax source (``SYMBOL.asm``)

Both builds use ``-Os -ffunction-sections -fdata-sections -Wl,--gc-sections``
(``make OPT=-O2`` overrides the level).  The templates are package data in
firmware/templates/; ``@NAME@`` fields are filled in here and nowhere else.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from importlib import resources

from isa.assembler import source_file
from isa.build import BuiltKernel, generate
from torus_hw.c_export import KernelTie, PackedExport, asm_export, c_export
from torus_hw.errors import TorusInputError

from .boards import Board
from .header import header_name, macro_prefix, render_header, render_inc

DB_NAME = "torus_db"
RUNTIME_BYTES = 4096     # main.c, startup and output layer, generously (measured: < 1.5 KiB on every target)
RAM_RUNTIME_BYTES = 1024  # output buffers and the line buffer


@dataclass(frozen=True)
class Toolchain:
    gnu_cc: str          # the GNU compiler driver (also the assembler and link driver)
    gnu_flags: str
    clang_flags: str     # after -target/-mcpu, which come from isa/targets.py
    lld_flags: str


TOOLCHAINS = {
    "cortex-m4": Toolchain("arm-none-eabi-gcc", "-mcpu=cortex-m4 -mthumb -mfloat-abi=soft", "", "-m armelf"),
    "cortex-m0": Toolchain("arm-none-eabi-gcc", "-mcpu=cortex-m0 -mthumb -mfloat-abi=soft", "", "-m armelf"),
    "rv32im": Toolchain("riscv64-unknown-elf-gcc", "-march=rv32im_zicsr -mabi=ilp32 -mcmodel=medany -mno-relax",
                        "-mcmodel=medany -mno-relax", "-m elf32lriscv --no-relax"),
    "rv64im": Toolchain("riscv64-unknown-elf-gcc", "-march=rv64im_zicsr -mabi=lp64 -mcmodel=medany -mno-relax",
                        "-mcmodel=medany -mno-relax", "-m elf64lriscv --no-relax"),
    "aarch64": Toolchain("aarch64-linux-gnu-gcc", "-mcpu=cortex-a53", "-mcpu=cortex_a53", "-m aarch64linux"),
    "i8086": Toolchain("gcc -m32", "", "", "-m elf_i386"),
}

# Debian packages that provide each GNU toolchain and emulator (the skip reason of the board tests).
APT_PACKAGES = ("gcc-arm-none-eabi gcc-riscv64-unknown-elf gcc-aarch64-linux-gnu qemu-system-arm "
                "qemu-system-misc qemu-user dosbox nasm")


def template(name: str) -> str:
    return resources.files("firmware").joinpath("templates", name).read_text()


def fill(text: str, fields: dict[str, object]) -> str:
    """``text`` with every ``@NAME@`` replaced; a field left unfilled is a bug in this module."""
    for key, value in fields.items():
        text = text.replace(f"@{key}@", str(value))
    left = re.search(r"@[A-Z_]+@", text)
    if left:
        raise AssertionError(f"template field {left.group(0)} was not filled")
    return text


def image_name(board: Board) -> str:
    return "FW.COM" if board.boot == "dos" else "firmware.elf"


def check_fits(board: Board, packed: PackedExport, code_bytes: int) -> None:
    """Refuse, naming the sizes, a database that cannot fit the board's flash (and RAM)."""
    data = packed.data_bytes
    flash_need = data + code_bytes + RUNTIME_BYTES
    what = (f"the database ({packed.rows:,} rows x {packed.stride} B) and queries take {data:,} bytes; with the "
            f"kernel ({code_bytes:,} B) and the runtime ({RUNTIME_BYTES:,} B) the image needs {flash_need:,} bytes")
    if board.boot == "dos":
        room = board.flash.size - board.stack_bytes - RAM_RUNTIME_BYTES
        if flash_need > room:
            raise TorusInputError(f"{what}, more than a {board.name} .COM can hold ({room:,} bytes: one 64 KiB "
                                  f"segment less the PSP, {board.stack_bytes:,} B of stack and buffers)")
        return
    if flash_need > board.flash.size:
        raise TorusInputError(f"{what}, more than the {board.flash.size:,}-byte flash of {board.name}")
    ram_need = board.stack_bytes + RAM_RUNTIME_BYTES
    if ram_need > board.ram.size:
        raise TorusInputError(f"{board.name}: {ram_need:,} bytes of RAM needed, {board.ram.size:,} available")


def _makefile(board: Board, built: BuiltKernel, symbol: str, python: str, sources: list[str]) -> str:
    """The Makefile; ``sources`` are every .c/.S of the project but main.c (the Makefile's $(MAIN))."""
    target = built.target
    tc = TOOLCHAINS[target.name]
    clang = f"-target {target.triple}" + (f" -mcpu={target.cpu}" if target.cpu else "") + \
        (f" {tc.clang_flags}" if tc.clang_flags else "")
    dos = board.boot == "dos"
    link = "" if board.boot == "linux" else "-T link.ld"
    gnu_link = (f"-nostdlib -nostartfiles -static -Wl,--gc-sections {('-Wl,' + link.replace(' ', ',')) if link else ''}"
                f"{' -Wl,-e,_start' if board.boot == 'linux' else ''}")
    qemu = board.qemu.format(elf="build/firmware.elf", xlen=target.word_bits)
    fields = dict(BOARD=board.name, TARGET=target.name, DESCRIPTION=board.description, PYTHON=python, SYMBOL=symbol,
                  GNU_CC=tc.gnu_cc, GNU_FLAGS=tc.gnu_flags, CLANG_FLAGS=clang, LLD_FLAGS=tc.lld_flags,
                  SRCS=" ".join(sources), IMAGE=image_name(board), GNU_LINK=gnu_link,
                  LLD_LINK=(link + (" -e _start" if board.boot == "linux" else "")).strip(), QEMU=qemu)
    return fill(template("Makefile.dos" if dos else "Makefile"), fields)


def project_files(board: Board, built: BuiltKernel, packed: PackedExport, ks: list[int], *,
                  stack_bytes: int | None, python: str | None = None) -> dict[str, str]:
    """Every file of the project, by name (nothing is written here)."""
    kernel, target = built.kernel, built.target
    if packed.name != DB_NAME:
        raise TorusInputError(f"the firmware's export is named {DB_NAME}, got {packed.name}")
    check_fits(board, packed, built.code_bytes)
    symbol = kernel.symbol
    prefix = macro_prefix(symbol)
    files = {f"{symbol}.S": source_file(target, kernel.asm), header_name(symbol): render_header(kernel, stack_bytes),
             f"{symbol}.inc": render_inc(kernel, stack_bytes)}
    fields = dict(SYMBOL=symbol, PREFIX=prefix, BOARD=board.name, TARGET=target.name,
                  KS=", ".join(str(k) for k in ks), NKS=len(ks), STACK_BYTES=board.stack_bytes, ENTRY="_start")
    if board.boot == "dos":
        # The same kernel in NASM syntax, for `make nasm` (NASM assembles it to the same bytes).
        files[f"{symbol}.asm"] = generate(target, kernel.spec, kernel.variant, symbol=symbol, dialect="nasm").asm
        files.update(asm_export(packed, f"{symbol}.inc", prefix))
        files["main86.S"] = fill(template("main86.S"), fields)
        files["link.ld"] = fill(template("link86.ld"), fields)
        files["run_dosbox.sh"] = template("run_dosbox.sh")
    else:
        files.update(c_export(packed, KernelTie(header_name(symbol), prefix)))
        files["main.c"] = fill(template("main.c"), fields)
        files["fw_io.h"] = template("fw_io.h")
        files["fw_io.c"] = template("fw_io_linux.c" if board.output == "linux" else "fw_io_semihosting.c")
        if board.boot == "cortex-m":
            files["fw_crt0.c"] = template("fw_crt0.c")
            files["startup.c"] = template("startup_cortexm.c")
        elif board.boot == "riscv":
            files["fw_crt0.c"] = template("fw_crt0.c")
            files["start.S"] = template("start_riscv.S")
        else:
            files["start.S"] = template("start_linux_aarch64.S")
        if board.boot != "linux":
            fields.update(ENTRY="fw_start_c" if board.boot == "cortex-m" else "_start",
                          FLASH_ORIGIN=f"{board.flash.origin:#010x}", FLASH_SIZE=f"{board.flash.size:#x}",
                          RAM_ORIGIN=f"{board.ram.origin:#010x}", RAM_SIZE=f"{board.ram.size:#x}")
            files["link.ld"] = fill(template("link.ld"), fields)
    sources = [name for name in files if name.endswith((".c", ".S")) and name != "main.c"]
    files["Makefile"] = _makefile(board, built, symbol, python or sys.executable, sources)
    return files
