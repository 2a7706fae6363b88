"""Shared by the firmware tests: write a project, build it with make, boot it, check it.

A case is codes (database, queries), a target and board, a kernel k_max and the
list of k the firmware asks for; :func:`run_case` writes the project with
firmware/project.py (as ``torus-hw firmware`` does), builds it with its own
Makefile (``make clang`` or ``make gnu``), boots the image from reset in
Unicorn (sim/boot.py) or runs it with ``make qemu``, and checks every printed
answer with sim/firmware_check.py.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from firmware.boards import BOARDS, get_board
from firmware.project import APT_PACKAGES, DB_NAME, TOOLCHAINS, image_name, project_files
from isa.build import build_kernel
from isa.spec import KernelSpec
from isa.targets import get_target
from sim.boot import boot
from sim.firmware_check import check_output
from torus_hw.c_export import pack_export

OPTS = {"O2": {"OPT": "-O2", "SECTIONS": ""}, "Os-sections": {"OPT": "-Os"}}
BOARD_OF = {"i8086": "dos", "rv32im": "virt", "rv64im": "virt", "cortex-m0": "microbit",
            "cortex-m4": "mps2-an386", "aarch64": "linux-user"}


def codes(rng: np.random.Generator, rows: int, queries: int, dims: int, bits: int):
    """Random codes with adversarial rows: duplicates (ties), all-zero, all-max, and half-way values."""
    dtype = np.uint16 if bits == 16 else np.uint8
    top = (1 << bits) - 1
    db = rng.integers(0, top + 1, size=(rows, dims))
    db[1 % rows] = db[0]                       # a tie with row 0
    db[2 % rows] = 0
    db[3 % rows] = top
    db[4 % rows] = (1 << bits) >> 1            # the wrap's far side
    q = rng.integers(0, top + 1, size=(queries, dims))
    q[0] = db[0]                               # distance 0, tied twice
    return db.astype(dtype), q.astype(dtype)


@dataclass
class Case:
    target: str
    bits: int
    dims: int
    k_max: int = 3
    ks: tuple[int, ...] = (1, 3, 5)           # 5 > k_max: the kernel must stop at k_max
    metric: str = "l1"
    board: str | None = None
    rows: int = 23
    queries: int = 3
    seed: int = 0


def write_project(case: Case, folder: Path, symbol: str | None = None):
    """The project of ``case`` in ``folder``; returns (board, database, queries)."""
    board = get_board(case.board or BOARD_OF[case.target], case.target)
    db, q = codes(np.random.default_rng(case.seed), case.rows, case.queries, case.dims, case.bits)
    spec = KernelSpec("search", case.metric, case.bits, case.dims, case.k_max)
    built = build_kernel(case.target, spec, symbol=symbol or spec.symbol_name())
    packed = pack_export(DB_NAME, built.kernel.layout, db, q, bits=case.bits)
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in project_files(board, built, packed, list(case.ks), stack_bytes=None).items():
        (folder / name).write_text(text)
    return board, db, q


def make(folder: Path, goal: str, **variables) -> subprocess.CompletedProcess:
    args = ["make", "-s", "-C", str(folder), goal, f"PYTHON={sys.executable}"]
    args += [f"{k}={v}" for k, v in variables.items()]
    return subprocess.run(args, capture_output=True, text=True, timeout=600)


def check(case: Case, text: str, db, q):
    return check_output(text, db, q, bits=case.bits, metric=case.metric, k_max=case.k_max, ks=list(case.ks))


def run_case(case: Case, folder: Path, *, opt: str = "Os-sections", toolchain: str = "clang", **variables):
    """Build ``case`` with ``toolchain`` and boot it in Unicorn; returns (FirmwareCheck, status)."""
    board, db, q = write_project(case, folder)
    proc = make(folder, toolchain, **OPTS[opt], **variables)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    image = (folder / "build" / image_name(board)).read_bytes()
    result = boot(board, get_target(case.target), image)
    return check(case, result.stdout, db, q), result.status


def gnu_tools_missing(board_name: str, target: str) -> str | None:
    """The reason a board test cannot run here (a missing GNU compiler or emulator), or None."""
    board = BOARDS[board_name]
    tools = [TOOLCHAINS[target].gnu_cc.split()[0], "make"]
    tools.append(board.qemu.split()[0].replace("{xlen}", str(get_target(target).word_bits)))
    if board.boot == "dos":
        tools += ["ld", "nasm"]
    missing = [t for t in tools if shutil.which(t) is None]
    if not missing:
        return None
    return (f"needs {', '.join(missing)}: apt-get update && apt-get install -y {APT_PACKAGES}")
