"""Firmware projects built with the GNU toolchains (and the ziglang clang) and run on the real emulators.

For every board: ``make gnu`` (at -Os -fdata-sections and at -O2) then ``make qemu`` (QEMU's board model with
semihosting, ``qemu-aarch64 -cpu cortex-a53`` for linux-user, DOSBox headless
for dos), and ``make clang`` (for dos also ``make nasm``) then ``make run`` on the same emulator; every line
printed is checked against the reference and the exit status must be 0.
Marked ``boards`` (``make test-boards`` runs only these); each skips, naming
the apt-get command, where its GNU toolchain or emulator is not installed.
"""

from __future__ import annotations

import pytest

from firmware.boards import BOARDS
from firmware_cases import OPTS, Case, check, gnu_tools_missing, make, write_project

pytestmark = pytest.mark.boards

RUNS = [(board, target) for board, b in BOARDS.items() for target in b.targets]
CASES = {"i8086": (4, 13), "rv32im": (1, 33), "rv64im": (16, 5), "cortex-m0": (8, 17), "cortex-m4": (4, 31),
         "aarch64": (8, 64)}


@pytest.mark.parametrize("board, target", RUNS, ids=[f"{b}-{t}" for b, t in RUNS])
def test_gnu_and_clang_builds_run_on_the_board_emulator(tmp_path, board, target):
    reason = gnu_tools_missing(board, target)
    if reason:
        pytest.skip(reason)
    bits, dims = CASES[target]
    case = Case(target, bits, dims, board=board, rows=60, queries=4)
    _, db, q = write_project(case, tmp_path)
    steps = [("gnu", "qemu", "Os-sections"), ("gnu", "qemu", "O2"), ("clang", "run", "Os-sections")]
    if board == "dos":
        steps.append(("nasm", "run", "Os-sections"))  # the kernel assembled by NASM from SYMBOL.asm
    for build, run, opt in steps:
        proc = make(tmp_path, build, **OPTS[opt])
        assert proc.returncode == 0, f"make {build}: {proc.stderr}"
        proc = make(tmp_path, run, **OPTS[opt])
        result = check(case, proc.stdout, db, q)
        assert result.ok, f"make {run} after {build}: {result.mismatches[:3]} {proc.stderr[-500:]}"
        assert proc.returncode == 0, f"make {run} after {build} exited {proc.returncode}: {proc.stderr[-500:]}"
