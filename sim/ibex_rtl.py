"""The generated kernels on the real Ibex RTL: lowRISC's simple system in Verilator.

This is the check behind ``make test-ibex`` (``tests/test_ibex_rtl.py``) and
what a user with an Ibex checkout runs to hold the Ibex cycle model
(:mod:`sim.cycles.ibex`) against the RTL:

1. :func:`build_simulator` builds lowRISC's ``ibex_simple_system`` with
   FuseSoC and Verilator in the "small" configuration the model assumes
   (``util/ibex_config.py small``: 2 stages, ``RV32MFast``, no branch-target
   ALU, no instruction cache, no branch predictor).  The simple system has
   one zero-wait RAM at 0x100000 for code and data.
2. :func:`run_kernel_on_rtl` links a generated rv32im search kernel with a
   small driver (written here, in assembly) and the packed database and
   queries, runs it on the simulator, and reads back, per query, the
   kernel's answers and the ``mcycle``/``minstret`` deltas around the call.
   The same deltas around a call of a one-instruction function (``ret``)
   are subtracted, so what is compared is the kernel's own cost.
3. :func:`compare_with_model` runs the same kernel and data under Unicorn
   and compares answers, retired instructions and cycles with the model.

Nothing of the Ibex repository is copied: it is used only through its own
build (FuseSoC core files) and its simulator binary's command line
(``--meminit=ram,FILE.elf``; bytes written to 0x20000 go to
``ibex_simple_system.log``; a write to 0x20008 halts).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from torus_hw.errors import TorusInputError

SIM_RELATIVE = Path("build/lowrisc_ibex_ibex_simple_system_0/sim-verilator/Vibex_simple_system")
SIM_OUT, SIM_CTRL = 0x20000, 0x20008
RAM_BASE, RAM_SIZE = 0x100000, 0x100000
SETUP = ("apt-get install -y verilator libelf-dev && pip install fusesoc==2.4.3 packaging && "
         "git clone https://github.com/lowRISC/ibex && export IBEX_ROOT=$PWD/ibex")
# the simple system's FuseSoC parameters for the model's configuration (util/ibex_config.py "small")
SMALL_CONFIG = ("--RV32E=0", "--RV32M=ibex_pkg::RV32MFast", "--RV32B=ibex_pkg::RV32BNone",
                "--RegFile=ibex_pkg::RegFileFF", "--BranchTargetALU=0", "--WritebackStage=0", "--ICache=0",
                "--ICacheECC=0", "--BranchPredictor=0", "--DbgTriggerEn=0", "--SecureIbex=0", "--PMPEnable=0",
                "--MHPMCounterNum=0")


@dataclass
class RtlQuery:
    count: int
    indices: list[int]
    distances: list[int]
    cycles: int          # mcycle delta of the kernel call minus that of a call to ``ret``
    instructions: int    # minstret delta, likewise


def missing_tools() -> str | None:
    """Why the RTL check cannot run here (None when it can)."""
    root = os.environ.get("IBEX_ROOT")
    if not root or not (Path(root) / "examples/simple_system/ibex_simple_system.core").is_file():
        return f"IBEX_ROOT is not a lowRISC Ibex checkout; set up with: {SETUP}"
    if simulator_path(Path(root)).is_file():
        return None
    for tool in ("verilator", "fusesoc"):
        if shutil.which(tool) is None:
            return f"{tool} not found (and no simulator built under IBEX_ROOT); set up with: {SETUP}"
    return None


def simulator_path(root: Path) -> Path:
    return root / SIM_RELATIVE


def build_simulator(root: Path, *, log=None) -> Path:
    """Build (once) the simple system in the small configuration; returns the simulator binary."""
    sim = simulator_path(root)
    if sim.is_file():
        return sim
    known = (root / "examples/simple_system/ibex_simple_system.core").read_text()
    options = [o for o in SMALL_CONFIG if re.search(rf"^\s+{o[2:].split('=')[0]}:", known, re.M)]
    proc = subprocess.run(["fusesoc", "--cores-root=.", "run", "--target=sim", "--setup", "--build",
                           "lowrisc:ibex:ibex_simple_system", *options], cwd=root, capture_output=True, text=True)
    if log is not None:
        log.write(proc.stdout + proc.stderr)
    if proc.returncode or not sim.is_file():
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise TorusInputError(f"building the Ibex simple system failed: {tail[0]}")
    return sim


# --- the program ------------------------------------------------------------------------

def _words(data: bytes) -> str:
    data = data + b"\0" * (-len(data) % 4)
    words = np.frombuffer(data, dtype="<u4")
    return "\n".join(f"    .word {', '.join(hex(w) for w in words[i:i + 8])}" for i in range(0, len(words), 8))


def _measured_call(callee: str, n_rows: int, k: int, offset: int) -> str:
    """Call ``callee`` with the search arguments; store its mcycle and minstret deltas at offset(s1)."""
    return f"""\
    mv a0, s0
    la a1, database
    li a2, {n_rows}
    li a3, {k}
    la a4, out_idx
    la a5, out_dist
    csrr s2, mcycle
    csrr s3, minstret
    call {callee}
    csrr s4, mcycle
    csrr s5, minstret
    sub s4, s4, s2
    sub s5, s5, s3
    sw s4, {offset}(s1)
    sw s5, {offset + 4}(s1)
"""


def _driver(symbol: str, n_queries: int, stride: int, n_rows: int, k: int, query_bytes: bytes, db_bytes: bytes) -> str:
    """Vectors, start-up, the measured calls, and a hex dump of the results to the output device.

    Each query is searched once and a function that only returns is called
    the same way, so the difference of the two deltas is the kernel's own.
    """
    per_query = 4 + 2 * k + 1       # dcyc, dinst (kernel), dcyc, dinst (ret), count, idx[k], dist[k]
    return f"""\
# torus-hw driver for the Ibex simple system: measure torus_search with mcycle/minstret.
    .section .vectors, "ax"
    .option norvc
    .org 0x00
    .rept 32
    j .Lhalt                          # every exception and interrupt: stop
    .endr
    .org 0x80
    j _start                          # reset vector (boot address + 0x80)

    .text
    .globl _start
_start:
    li sp, {RAM_BASE + RAM_SIZE - 16}
    csrw mcountinhibit, zero          # count mcycle and minstret
    la s0, queries                    # s0 = next query
    la s1, results                    # s1 = next result record
    li s6, {n_queries}
.Lquery:
{_measured_call(symbol, n_rows, k, 0)}    sw a0, 16(s1)                     # the kernel's return value
{_measured_call(".Lempty", n_rows, k, 8)}    la t0, out_idx
    la t1, out_dist
    li t2, {k}
    addi t3, s1, 20
.Lcopy:
    lw t4, 0(t0)
    sw t4, 0(t3)
    lw t4, 0(t1)
    sw t4, {4 * k}(t3)
    addi t0, t0, 4
    addi t1, t1, 4
    addi t3, t3, 4
    addi t2, t2, -1
    bnez t2, .Lcopy
    addi s0, s0, {stride}
    addi s1, s1, {4 * per_query}
    addi s6, s6, -1
    bnez s6, .Lquery
    la s1, results                    # print every result word as 8 hex digits and a newline
    li s6, {n_queries * per_query}
    li s7, {SIM_OUT}
.Lword:
    lw t0, 0(s1)
    li t1, 8
.Ldigit:
    srli t2, t0, 28
    slli t0, t0, 4
    li t3, 10
    blt t2, t3, 1f
    addi t2, t2, 39                   # 'a' - '0' - 10
1:  addi t2, t2, 48
    sw t2, 0(s7)
    addi t1, t1, -1
    bnez t1, .Ldigit
    li t2, 10
    sw t2, 0(s7)
    addi s1, s1, 4
    addi s6, s6, -1
    bnez s6, .Lword
.Lhalt:
    li t0, {SIM_CTRL}
    li t1, 1
    sw t1, 0(t0)
1:  j 1b

    .p2align 6
.Lempty:
    ret

    .data
    .p2align 4
queries:
{_words(query_bytes)}
    .p2align 4
database:
{_words(db_bytes)}
    .p2align 4
out_idx:
    .zero {4 * k}
out_dist:
    .zero {4 * k}
results:
    .zero {4 * per_query * n_queries}
"""


_LINK = f"""\
ENTRY(_start)
SECTIONS
{{
  . = {RAM_BASE:#x};
  .vectors : {{ KEEP(*(.vectors)) }}
  .text : ALIGN(64) {{ *(.text .text.*) }}
  .data : ALIGN(16) {{ *(.rodata .rodata.* .srodata .srodata.* .data .data.* .sdata .sdata.* .bss .bss.* .sbss .sbss.*) }}
  /DISCARD/ : {{ *(.eh_frame .eh_frame_hdr) }}
}}
"""


def _zig(args: list[str], cwd: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "ziglang", *args], cwd=cwd, capture_output=True, text=True)
    if proc.returncode:
        raise TorusInputError(f"building the Ibex test program failed: {(proc.stderr or proc.stdout).strip()[:300]}")


def _run_program(sim: Path, driver: str, obj: bytes, *, timeout: float) -> list[int]:
    """Link ``driver`` with the relocatable ``obj``, run it on the simulator, return the printed words."""
    with tempfile.TemporaryDirectory(prefix="torus-ibex-") as tmp:
        work = Path(tmp)
        (work / "driver.S").write_text(driver)
        (work / "code.o").write_bytes(obj)
        (work / "link.ld").write_text(_LINK)
        _zig(["cc", "-target", "riscv32-freestanding-none", "-mcpu=generic_rv32+m", "-mabi=ilp32", "-c",
              "driver.S", "-o", "driver.o"], work)
        _zig(["ld.lld", "-m", "elf32lriscv", "-T", "link.ld", "driver.o", "code.o", "-o", "prog.elf"], work)
        proc = subprocess.run([str(sim), f"--meminit=ram,{work / 'prog.elf'}"], cwd=work, capture_output=True,
                              text=True, timeout=timeout)
        log = work / "ibex_simple_system.log"
        if proc.returncode or not log.is_file():
            raise TorusInputError(f"the Ibex simulator failed: {(proc.stderr or proc.stdout).strip()[-300:]}")
        return [int(line, 16) for line in log.read_text().split()]


def _records(words: list[int], n: int, k: int) -> list[RtlQuery]:
    per_query = 4 + 2 * k + 1
    if len(words) != per_query * n:
        raise TorusInputError(f"the Ibex simulator printed {len(words)} words, expected {per_query * n}")
    out = []
    for i in range(n):
        w = words[i * per_query:(i + 1) * per_query]
        count = min(w[4], k)
        out.append(RtlQuery(count, w[5:5 + count], w[5 + k:5 + k + count], w[0] - w[2], w[1] - w[3]))
    return out


def run_kernel_on_rtl(sim: Path, built, database: np.ndarray, queries: np.ndarray, k: int,
                      *, timeout: float = 120) -> list[RtlQuery]:
    """Run ``built`` (an rv32im search kernel) on the simulator for every query."""
    from torus_hw.quantize import pack_rows

    spec, layout = built.kernel.spec, built.kernel.layout
    if built.target.name != "rv32im" or spec.kernel != "search":
        raise TorusInputError("the Ibex RTL check runs rv32im search kernels")
    db = pack_rows(np.atleast_2d(database), spec.bits, layout.stride)
    qs = pack_rows(np.atleast_2d(queries), spec.bits, layout.stride)
    driver = _driver(spec.symbol, len(qs), layout.stride, len(db), k, qs.tobytes(), db.tobytes())
    return _records(_run_program(sim, driver, built.image.obj, timeout=timeout), len(qs), k)


def run_function_on_rtl(sim: Path, source: str, symbol: str = "f", *, timeout: float = 60) -> RtlQuery:
    """Run the rv32im assembly function ``symbol`` of ``source`` once; its cycles and instructions."""
    from isa.assembler import assemble
    from isa.targets import get_target

    obj = assemble(get_target("rv32im"), source).obj
    driver = _driver(symbol, 1, 16, 0, 1, bytes(16), bytes(16))
    return _records(_run_program(sim, driver, obj, timeout=timeout), 1, 1)[0]


def model_function(source: str, symbol: str = "f") -> tuple[int, int]:
    """The Ibex model's (cycles, instructions) for one call of ``symbol``, less a call of ``ret``."""
    from isa.assembler import assemble
    from isa.targets import get_target
    from sim.machine import Machine

    t = get_target("rv32im")
    _, stats = Machine(t, assemble(t, source), cores=("ibex",)).call(symbol, [])
    return stats.cycles["ibex"] - _ret_cycles(), stats.instructions - 1


def _ret_cycles() -> int:
    """What the model charges the reference call's one instruction, ``ret``."""
    import capstone

    from sim.cycles import get_model

    md = capstone.Cs(capstone.CS_ARCH_RISCV, capstone.CS_MODE_RISCV32)
    md.detail = True
    ret = next(md.disasm(bytes.fromhex("67800000"), 0))
    return get_model("ibex").block_cycles([ret], taken_last=True, before=None)


@dataclass
class Comparison:
    rtl: list[RtlQuery]
    model_cycles: list[int]
    model_instructions: list[int]
    model_answers: list[tuple[list[int], list[int]]]

    @property
    def agrees(self) -> bool:
        return (all((q.indices, q.distances) == a for q, a in zip(self.rtl, self.model_answers))
                and [q.instructions for q in self.rtl] == self.model_instructions
                and [q.cycles for q in self.rtl] == self.model_cycles)


def compare_with_model(sim: Path, built, database: np.ndarray, queries: np.ndarray, k: int) -> Comparison:
    """RTL deltas and the Ibex model's figures for the same kernel, data and queries."""
    from sim.runner import KernelRunner

    rtl = run_kernel_on_rtl(sim, built, database, queries, k)
    runner = KernelRunner(built, cores=("ibex",))
    runner.load_database(database)
    ret_cycles = _ret_cycles()
    cycles, instructions, answers = [], [], []
    for q in np.atleast_2d(queries):
        got = runner.call(q, k=k)
        cycles.append(got.cycles["ibex"] - ret_cycles)
        instructions.append(got.instructions - 1)
        answers.append((got.indices.tolist(), got.distances.tolist()))
    return Comparison(rtl, cycles, instructions, answers)
