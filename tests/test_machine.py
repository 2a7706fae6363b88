"""The Unicorn harness: ABIs, memory map, faults, and the C baselines through it."""

import numpy as np
import pytest

from baselines.build import build_c_baseline
from isa.assembler import assemble
from isa.spec import KernelSpec
from isa.targets import TARGETS, get_target
from sim.machine import REAL_MODE, EmulatorFault, Machine
from sim.runner import KernelRunner
from torus_hw import reference
from torus_hw.errors import TorusInputError

# every target a compiler here serves: the flat-memory ones (the 8086's baseline is its byte loop)
FLAT_TARGETS = [name for name, t in TARGETS.items() if t.emulator.memory == "flat"]


@pytest.mark.parametrize("target", FLAT_TARGETS)
@pytest.mark.parametrize("bits, metric, dims", [(8, "l1", 13), (4, "l2", 7), (1, "l1", 19), (16, "l2", 3)])
def test_c_baseline_search_is_bit_exact(target, bits, metric, dims):
    """Six-argument search exercises every ABI's register and stack arguments."""
    rng = np.random.default_rng(bits * 100 + dims)
    dtype = np.uint16 if bits == 16 else np.uint8
    db = rng.integers(0, 1 << bits, (40, dims)).astype(dtype)
    db[7] = db[3]  # a tie
    runner = KernelRunner(build_c_baseline(target, KernelSpec("search", metric, bits, dims, 5)), count=False)
    runner.load_database(db)
    for q in (db[3], rng.integers(0, 1 << bits, dims).astype(dtype)):
        got = runner.call(q, k=5)
        want_i, want_d = reference.search(q[None], db, bits=bits, metric=metric, k=5)
        assert (got.indices.tolist(), got.distances.tolist(), got.returned) == (want_i[0].tolist(), want_d[0].tolist(), 5)


@pytest.mark.parametrize("target", FLAT_TARGETS)
def test_c_baseline_scan_and_distance(target):
    rng = np.random.default_rng(7)
    db = rng.integers(0, 256, (25, 9)).astype(np.uint8)
    q = rng.integers(0, 256, 9).astype(np.uint8)
    want = reference.scan(q, db, bits=8, metric="l2")
    scan = KernelRunner(build_c_baseline(target, KernelSpec("scan", "l2", 8, 9), "-O3"), count=False)
    scan.load_database(db)
    assert scan.call(q).distances.tolist() == want.tolist()
    dist = KernelRunner(build_c_baseline(target, KernelSpec("distance", "l2", 8, 9)), count=False)
    dist.load_database(db)
    assert [dist.call(q, row=i).distance for i in (0, 11, 24)] == [want[0], want[11], want[24]]


# A tiny 8086 kernel that returns its arguments, to pin the cdecl compact ABI.
ECHO_8086 = """
.text
.globl torus_search
torus_search:
    push bp
    mov bp, sp
    mov ax, word ptr [bp+10]    # db segment
    mov dx, word ptr [bp+14]    # n, high word
    add ax, word ptr [bp+12]    # + n, low word
    pop bp
    .byte 0xc3                  # near ret (this clang would emit a 386 `ret` in intel syntax)
"""


def test_i8086_cdecl_compact_abi():
    target = get_target("i8086")
    machine = Machine(target, assemble(target, ECHO_8086), count=False)
    db_linear = REAL_MODE.db + 0x1234
    value, _ = machine.call("torus_search", [("ptr", REAL_MODE.query), ("ptr", db_linear), ("u32", 0x0002_0005),
                                             ("u32", 1), ("ptr", REAL_MODE.out_idx), ("ptr", REAL_MODE.out_dist)])
    assert value == (0x0002 << 16) | ((db_linear >> 4) + 5)


def test_fault_names_target_pc_and_instruction():
    target = get_target("rv32im")
    image = assemble(target, ".text\n.globl torus_distance\ntorus_distance:\n lw a0, 0(zero)\n ret\n")
    with pytest.raises(EmulatorFault) as info:
        Machine(target, image, count=False).call("torus_distance", [("ptr", 0), ("ptr", 0)])
    message = str(info.value)
    assert "rv32im" in message and "pc=0x10000" in message and "lw a0, 0(zero)" in message


def test_database_too_large_for_the_8086_is_refused():
    target = get_target("i8086")
    machine = Machine(target, assemble(target, ECHO_8086), count=False)
    with pytest.raises(TorusInputError, match="does not fit the i8086 address space"):
        machine.check_fits("database", REAL_MODE.db, 600 * 1024, REAL_MODE.db_end)


def test_kernel_refuses_wrong_dims_and_k():
    runner = KernelRunner(build_c_baseline("rv32im", KernelSpec("search", "l1", 8, 4, 2)), count=False)
    with pytest.raises(TorusInputError, match="D=5"):
        runner.load_database(np.zeros((3, 5), np.uint8))
    runner.load_database(np.zeros((3, 4), np.uint8))
    with pytest.raises(TorusInputError, match="k=3 outside 1..2"):
        runner.call(np.zeros(4, np.uint8), k=3)


@pytest.mark.parametrize("target, body, register", [
    ("rv32im", " li s1, 7\n ret", "s1"),
    ("cortex-m4", " movs r4, #7\n bx lr", "r4"),
    ("aarch64", " fmov d9, xzr\n ret", "d9"),
    ("i8086", " xor si, si\n .byte 0xc3", "si"),
])
def test_clobbering_a_callee_saved_register_is_caught(target, body, register):
    t = get_target(target)
    image = assemble(t, f".text\n.globl torus_distance\ntorus_distance:\n{body}\n")
    with pytest.raises(EmulatorFault, match=f"callee-saved register {register} "):
        Machine(t, image, count=False).call("torus_distance", [("ptr", 0), ("ptr", 0)])
