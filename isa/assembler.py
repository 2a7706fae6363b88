"""The assembler driver: GNU assembly text → relocatable object → linked image.

The only toolchain is the clang and lld inside the ``ziglang`` PyPI package
(``python -m ziglang cc`` / ``ld.lld``), which covers all six targets; no
system package and no home-made encoder.  Objects and images are read with
pyelftools.  Sources are assembled with ``-g`` so that the DWARF line table
maps every address back to its source line (the checker reports lines).

Every flag comes from the target's description (``Target.toolchain``):
:func:`compile_flags` and :func:`link_flags` are the one place they are
spelled out, and the C baselines (``baselines.build``) build with them too.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path

from elftools.elf.elffile import ELFFile

from torus_hw.errors import TorusInputError

from .targets import Target

class AssemblerError(TorusInputError):
    """The assembler or linker rejected the source (message: its first error)."""


@dataclass
class Image:
    """A linked kernel: loadable segments, symbols, and an address → line map."""

    target: str
    obj: bytes                                   # the relocatable object (kernel.o)
    elf: bytes                                   # the linked executable
    segments: list[tuple[int, bytes]]            # (address, bytes) of each allocated section
    symbols: dict[str, int]                      # global symbol → address
    text: tuple[int, bytes]                      # (address, bytes) of .text
    lines: dict[int, int] = field(default_factory=dict)  # address → source line

    @property
    def code_bytes(self) -> int:
        return sum(len(data) for _, data in self.segments)

    def symbol(self, name: str) -> int:
        try:
            return self.symbols[name]
        except KeyError:
            raise TorusInputError(f"image for {self.target} has no symbol {name!r}") from None


def _zig(*args: str, cwd: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "ziglang", *args], cwd=cwd, capture_output=True, text=True)
    if proc.returncode:
        output = (proc.stderr or proc.stdout).splitlines()
        at = next((i for i, ln in enumerate(output) if "error" in ln.lower()), None)
        if at is None:
            raise AssemblerError(f"{args[0]} failed: {(output or ['no output'])[0].strip()}")
        # clang prints the offending source line right after the error line.
        context = output[at + 1].strip() if at + 1 < len(output) else ""
        raise AssemblerError(f"{args[0]} failed: {output[at].strip()}" + (f": '{context}'" if context else ""))


def _line_table(elf: ELFFile) -> dict[int, int]:
    if not elf.has_dwarf_info():
        return {}
    table: dict[int, int] = {}
    dwarf = elf.get_dwarf_info()
    for cu in dwarf.iter_CUs():
        program = dwarf.line_program_for_CU(cu)
        if program is None:
            continue
        for entry in program.get_entries():
            state = entry.state
            if state is not None and not state.end_sequence:
                table.setdefault(state.address, state.line)
    return table


def compile_flags(target: Target) -> list[str]:
    """clang flags that select ``target`` (triple, CPU, its extra flags), for assembly and C alike."""
    tc = target.toolchain
    return ["-target", tc.triple, *([f"-mcpu={tc.cpu}"] if tc.cpu else []), *tc.cc_flags]


def link_flags(target: Target) -> list[str]:
    """ld.lld flags that link a kernel for ``target`` at its link address (inputs and -o not included)."""
    tc = target.toolchain
    # Kernels are called by symbol, never started: --entry=0 silences the
    # missing _start; the image base must not exceed the link address.
    return ["-m", tc.ld_emulation, f"-Ttext={tc.link_base:#x}", f"--image-base={tc.link_base:#x}", "--entry=0",
            "--no-undefined", "-static", *tc.ld_flags]


def source_file(target: Target, source: str) -> str:
    """``source`` as a file for any assembler (``kernel.S``): led by the target's directives (.code16, .thumb…)."""
    prologue = target.toolchain.asm_prologue
    return source if source.startswith(prologue) else prologue + source


def assemble(target: Target, source: str, *, workdir: str | Path | None = None) -> Image:
    """Assemble and link ``source`` for ``target`` at its link address.

    With ``workdir`` the intermediate files (``kernel.S``, ``kernel.o``,
    ``kernel.elf``) are kept there; otherwise a temporary folder is used.
    """
    source = source_file(target, source)
    with tempfile.TemporaryDirectory(prefix="torus-asm-") as tmp:
        work = Path(workdir) if workdir is not None else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        (work / "kernel.S").write_text(source)
        _zig("cc", *compile_flags(target), "-g", "-c", "kernel.S", "-o", "kernel.o", cwd=work)
        _zig("ld.lld", *link_flags(target), "kernel.o", "-o", "kernel.elf", cwd=work)
        obj = (work / "kernel.o").read_bytes()
        elf_bytes = (work / "kernel.elf").read_bytes()
    return read_image(target, obj, elf_bytes)


def read_image(target: Target, obj: bytes, elf_bytes: bytes) -> Image:
    """The :class:`Image` of a linked ELF (and its object) for ``target``."""
    elf = ELFFile(BytesIO(elf_bytes))
    # Load allocated sections, not PT_LOAD segments: lld's first segment also
    # carries the ELF and program headers, which overlap the code here.
    segments = [
        (sec["sh_addr"], sec.data())
        for sec in elf.iter_sections()
        if sec["sh_flags"] & 0x2 and sec["sh_type"] == "SHT_PROGBITS" and sec["sh_size"]
    ]
    symbols = {}
    symtab = elf.get_section_by_name(".symtab")
    for sym in symtab.iter_symbols() if symtab else []:
        if sym.name and sym["st_info"]["bind"] == "STB_GLOBAL" and sym["st_shndx"] != "SHN_UNDEF":
            # A Thumb function symbol carries the Thumb bit; the image records its address.
            symbols[sym.name] = sym["st_value"] & ~1 if target.emulator.thumb else sym["st_value"]
    text = elf.get_section_by_name(".text")
    if text is None:
        raise AssemblerError(f"{target.name}: the source produced no .text section")
    return Image(target=target.name, obj=obj, elf=elf_bytes, segments=segments, symbols=symbols,
                 text=(text["sh_addr"], text.data()), lines=_line_table(elf))
