"""Compiler baselines: the C sources of ``baselines/c/`` built by every compiler here.

The sources a user would pick instead of a generated kernel, each a
:class:`CSource` (what it is, which targets and specs it covers, the row
alignment it reads):

* ``plain`` — the C reference kernels (``torus_kernels.c``), every spec: the
  naive baseline;
* ``swar32`` / ``swar64`` — portable SWAR C over 32- or 64-bit words
  (``torus_swar.c``, 8-bit l1), on the targets of that word width;
* ``acle`` — ACLE DSP intrinsics C for the Cortex-M4 (``torus_acle.c``);
* ``neon-g1`` / ``neon-g4`` / ``neon-g8`` — NEON intrinsics C for AArch64,
  1, 4 or 8 rows sharing each query vector (``torus_neon.c``).

Compilers (:data:`COMPILERS`): ``clang`` is the ziglang package's clang (always
present); ``gcc`` is the Debian cross GCC of each target, used when installed
(:func:`check_compilers` names the package otherwise).  Every build is
linked by the ziglang ld.lld at the target's link address, like the
generated kernels, and ISA-checked by ``isa.checker``.

No compiler here targets the 8086; its baselines are the generator's byte
loop and simple variant (``isa.x86_16``), named in :func:`x86_baselines`.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

from elftools.elf.elffile import ELFFile

from isa.assembler import AssemblerError, compile_flags, link_flags, read_image
from isa.build import BuiltKernel
from isa.checker import ISAViolation, check_image, decode, violation
from isa.spec import Kernel, KernelSpec, RowLayout
from isa.targets import TARGETS, Target, get_target
from torus_hw.errors import TorusInputError

OPT_LEVELS = ("-O2", "-O3", "-Os")
C_DIR = Path(__file__).parent / "c"
SHARED_HEADERS = ("torus_search.h",)
NAIVE = "plain"


@dataclass(frozen=True)
class CSource:
    name: str
    file: str
    description: str
    targets: tuple[str, ...]
    defines: tuple[str, ...] = ()
    word_bytes: int = 1                # rows (and the query) padded and aligned to this
    fast_spec_only: bool = True        # 8-bit l1 only (the plain reference covers every spec)
    max_dims: int | None = None        # beyond this the source's lane sums could overflow

    def covers(self, target: str, spec: KernelSpec) -> bool:
        if target not in self.targets:
            return False
        if self.fast_spec_only and (spec.bits != 8 or spec.metric != "l1"):
            return False
        return self.max_dims is None or spec.dims <= self.max_dims

    def layout(self, spec: KernelSpec) -> RowLayout:
        align = self.word_bytes
        if self.name.startswith("neon") and spec.dims <= 8:
            align = 8                  # one 8-byte vector per row
        return RowLayout(spec.dims, spec.bits, align=align)


_C_TARGETS = tuple(name for name, t in TARGETS.items() if t.c_baselines)
_WORD32 = tuple(t for t in _C_TARGETS if TARGETS[t].word_bits == 32)
_WORD64 = tuple(t for t in _C_TARGETS if TARGETS[t].word_bits == 64)

SOURCES: dict[str, CSource] = {s.name: s for s in [
    CSource(NAIVE, "torus_kernels.c", "plain C reference (byte at a time)", _C_TARGETS, fast_spec_only=False),
    CSource("swar32", "torus_swar.c", "portable SWAR C, 32-bit words", _WORD32,
            ("-DTORUS_WORD_BITS=32",), word_bytes=4),
    CSource("swar64", "torus_swar.c", "portable SWAR C, 64-bit words", _WORD64,
            ("-DTORUS_WORD_BITS=64",), word_bytes=8),
    CSource("acle", "torus_acle.c", "ACLE DSP intrinsics C (__usub8/__usada8)", ("cortex-m4",), word_bytes=4),
    *[CSource(f"neon-g{g}", "torus_neon.c", f"NEON intrinsics C, {g} row{'s' if g > 1 else ''} per query load",
              ("aarch64",), (f"-DTORUS_GROUP={g}",), word_bytes=16, max_dims=4095 * 8)
      for g in (1, 4, 8)],
]}


# --- compilers -------------------------------------------------------------------------------

# Debian's cross GCC per target: (driver, package, target flags).
GCC = {
    "rv32im": ("riscv64-unknown-elf-gcc", "gcc-riscv64-unknown-elf",
               ["-march=rv32im", "-mabi=ilp32", "-mno-relax", "-mcmodel=medlow"]),
    "rv64im": ("riscv64-unknown-elf-gcc", "gcc-riscv64-unknown-elf",
               ["-march=rv64im", "-mabi=lp64", "-mno-relax", "-mcmodel=medany"]),
    "cortex-m0": ("arm-none-eabi-gcc", "gcc-arm-none-eabi", ["-mcpu=cortex-m0", "-mthumb"]),
    "cortex-m4": ("arm-none-eabi-gcc", "gcc-arm-none-eabi", ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=soft"]),
    "aarch64": ("aarch64-linux-gnu-gcc", "gcc-aarch64-linux-gnu", ["-march=armv8-a", "-fno-pic", "-fno-pie"]),
}
COMPILERS = ("clang", "gcc")
_COMMON = ["-g", "-ffreestanding", "-fno-builtin", "-fno-stack-protector", "-fno-asynchronous-unwind-tables"]


def _compiler_command(compiler: str, target: Target) -> list[str]:
    if compiler == "clang":
        return [sys.executable, "-m", "ziglang", "cc", *compile_flags(target)]
    driver, _, flags = GCC[target.name]
    return [driver, *flags]


def check_compilers(compilers, targets) -> list[str]:
    """The compilers, validated for ``targets``: unknown or missing ones are refused with the install command."""
    out = []
    for name in compilers:
        if name not in COMPILERS:
            raise TorusInputError(f"unknown compiler {name!r}; choose from {', '.join(COMPILERS)}")
        if name == "gcc":
            for t in targets:
                if t in TARGETS and TARGETS[t].c_baselines and t not in GCC:  # a target added without one
                    raise TorusInputError(f"no cross GCC is set up for {t}; use --compilers clang")
                if t in GCC and shutil.which(GCC[t][0]) is None:
                    raise TorusInputError(f"compiler gcc for {t} is not installed ({GCC[t][0]} not on PATH): "
                                          f"apt-get install -y {GCC[t][1]}")
        if name not in out:
            out.append(name)
    return out


def installed_compilers() -> list[str]:
    """clang always; gcc when every cross GCC of :data:`GCC` is on PATH."""
    return ["clang"] + (["gcc"] if all(shutil.which(d) for d, _, _ in GCC.values()) else [])


# --- sources and builds ---------------------------------------------------------------------

def baseline_sources(target: str, spec: KernelSpec) -> list[CSource]:
    """Every C source that covers ``spec`` on ``target`` (none on the 8086)."""
    return [s for s in SOURCES.values() if s.covers(target, spec)]


def x86_baselines() -> tuple[str, ...]:
    """The 8086's baselines: generator variants, since no compiler here targets it."""
    return ("baseline", "simple")


def build_c_baseline(target: Target | str, spec: KernelSpec, opt: str = "-O2", *, source: str = NAIVE,
                     compiler: str = "clang") -> BuiltKernel:
    """Compile ``source`` for ``spec`` on ``target`` with ``compiler`` at ``opt`` and link it."""
    target = get_target(target) if isinstance(target, str) else target
    if not target.c_baselines:
        raise TorusInputError("no compiler here targets the 8086: its baselines are the x86_16 "
                              "'baseline' and 'simple' variants")
    if opt not in OPT_LEVELS:
        raise TorusInputError(f"optimisation level must be one of {', '.join(OPT_LEVELS)}, got {opt!r}")
    if source not in SOURCES:
        raise TorusInputError(f"unknown C baseline {source!r}; choose from {', '.join(SOURCES)}")
    src = SOURCES[source]
    if not src.covers(target.name, spec):
        raise TorusInputError(f"C baseline {source} does not cover {spec.describe()} on {target.name}")
    check_compilers([compiler], [target.name])
    layout = src.layout(spec)
    defines = [f"-DTORUS_DIMS={spec.dims}u", f"-DTORUS_BITS={spec.bits}", f"-DTORUS_L2={int(spec.metric == 'l2')}",
               f"-DTORUS_ROW_STRIDE={layout.stride}u", f"-DTORUS_K_MAX={spec.k_max}u", *src.defines]
    cc = _compiler_command(compiler, target)
    with tempfile.TemporaryDirectory(prefix="torus-cc-") as tmp:
        work = Path(tmp)
        for name in (src.file, *SHARED_HEADERS):
            (work / name).write_text((C_DIR / name).read_text())
        # Compile to the compiler's own assembly (kept for people), then assemble that same text.
        _run([*cc, opt, *_COMMON, *defines, "-S", src.file, "-o", "kernel.s"], work)
        _run([*cc, "-g", "-c", "kernel.s", "-o", "kernel.o"], work)
        asm = (work / "kernel.s").read_text()
        _run([sys.executable, "-m", "ziglang", "ld.lld", *link_flags(target), "kernel.o", "-o", "kernel.elf"], work)
        image = read_image(target, (work / "kernel.o").read_bytes(), (work / "kernel.elf").read_bytes())
    kernel = Kernel(spec=spec, target=target.name, asm=asm, layout=layout, variant=f"{source} {compiler} {opt}",
                    notes=[f"{src.description} ({src.file}) compiled by {compiler} {opt}"])
    return BuiltKernel(target, kernel, image, _check_code(target, image))


def _code_ranges(image) -> list[tuple[int, int]] | None:
    """The code spans of ``.text`` by its ELF mapping symbols ($d: data, $t/$a/$x: code), or None."""
    elf = ELFFile(BytesIO(image.elf))
    symtab, text = elf.get_section_by_name(".symtab"), elf.get_section_by_name(".text")
    index = next(i for i, sec in enumerate(elf.iter_sections()) if sec.name == ".text")
    marks = sorted((sym["st_value"], sym.name[1]) for sym in (symtab.iter_symbols() if symtab else [])
                   if sym["st_shndx"] == index and sym.name[:2] in ("$d", "$t", "$a", "$x"))
    if not any(kind == "d" for _, kind in marks):
        return None
    start, end = text["sh_addr"], text["sh_addr"] + text["sh_size"]
    bounds = marks if marks[0][0] <= start else [(start, "t"), *marks]
    spans = []
    for (at, kind), (nxt, _) in zip(bounds, [*bounds[1:], (end, "")]):
        if kind != "d" and nxt > at:
            spans.append((at, nxt))
    return spans


def _check_code(target: Target, image) -> list:
    """:func:`check_image` on the code only: compilers put literal pools (constants) in ``.text``."""
    spans = _code_ranges(image)
    if spans is None:
        return check_image(target, image)
    base, code = image.text
    decoded = []
    for start, end in spans:
        for insn in decode(target, code[start - base:end - base], start):
            why = violation(target, insn)
            if why:
                raise ISAViolation(f"{target.name}: '{insn.text}' at {insn.address:#x} is not allowed: {why}")
            decoded.append(insn)
    return decoded


def _run(cmd: list[str], cwd: Path) -> None:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if proc.returncode:
        first = next((ln for ln in proc.stderr.splitlines() if "error" in ln.lower()), proc.stderr.strip()[:200])
        raise AssemblerError(f"baseline build failed: {first}")
