"""Firmware images booted from reset in Unicorn give the reference's answers.

Each case writes a ``torus-hw firmware`` project (firmware/project.py), builds it
with its own Makefile and the ziglang clang (``make clang``: pip only), boots
the image from its reset vector in Unicorn (sim/boot.py: vector table,
``.data`` copied from flash by the startup code, ``.bss`` cleared,
semihosting / Linux / DOS calls trapped) and checks every printed line with
the reference (sim/firmware_check.py).  Every case asks for a k beyond the
kernel's k_max, which must give k_max answers, never more and never garbage.

The layout matrix — bits {1, 4, 8, 16} x D {1, 2, 3, 5, 8, 13, 16, 17, 31,
32, 33, 64} x every target x {-O2, -Os -fdata-sections} — runs whole under
``HYPOTHESIS_PROFILE=long`` (make test-long) and as a fixed sample of it
otherwise, one case per target, the settings alternating.  (The 8086 image has no C: its
data is placed by the assembler, so the two settings build the same .COM.)
"""

from __future__ import annotations

import os
import re
import shutil

import pytest

from firmware.boards import BOARDS
from firmware_cases import BOARD_OF, OPTS, Case, check, make, run_case, write_project
from isa.targets import TARGETS, get_target
from sim.boot import boot

BITS = (1, 4, 8, 16)
DIMS = (1, 2, 3, 5, 8, 13, 16, 17, 31, 32, 33, 64)
LONG = os.environ.get("HYPOTHESIS_PROFILE") == "long"


def _matrix():
    every = [(t, b, d, o) for t in TARGETS for b in BITS for d in DIMS for o in OPTS]
    if LONG:
        return every
    # One case per target and setting, walking bits and D so the sample covers odd D,
    # sub-byte codes, rows shorter than a word and rows longer than one unrolled group.
    picks = [(1, 33), (4, 13), (8, 17), (16, 5), (4, 1), (1, 64), (8, 3), (16, 31), (4, 2), (1, 8), (8, 64),
             (16, 16)]
    opts = list(OPTS)
    return [(t, *picks[2 * i], opts[i % 2]) for i, t in enumerate(TARGETS)]


@pytest.mark.parametrize("target, bits, dims, opt", _matrix())
def test_layout_matrix(tmp_path, target, bits, dims, opt):
    result, status = run_case(Case(target, bits, dims, seed=bits * 100 + dims), tmp_path, opt=opt)
    assert result.ok, result.mismatches[:3]
    assert status == 0


@pytest.mark.parametrize("board", [b for b in BOARDS if b not in BOARD_OF.values()])
def test_other_boards_and_l2(tmp_path, board):
    """The boards the matrix does not use (netduinoplus2), with l2 and k_max = 16."""
    target = BOARDS[board].targets[0]
    case = Case(target, 8, 16, k_max=16, ks=(1, 16, 17), metric="l2", board=board, rows=40)
    result, status = run_case(case, tmp_path)
    assert result.ok and status == 0, result.mismatches[:3]


def test_cli_project_for_every_board_builds_and_boots(tmp_path):
    """``torus-hw firmware`` itself, through the CLI, for one board (the rest are the same code)."""
    from sim.firmware_check import check_output
    from torus_hw.cli import main
    from torus_hw.codes import TorusCodes

    from firmware_cases import codes

    import numpy as np

    db, q = codes(np.random.default_rng(5), 30, 4, 13, 4)
    TorusCodes(database=db, queries=q, bits=4).save(tmp_path / "codes.npz")
    out = tmp_path / "proj"
    assert main(["firmware", "--target", "cortex-m0", "--codes", str(tmp_path / "codes.npz"), "--out", str(out),
                 "--k", "4", "--queries", "3"]) == 0
    header = next(out.glob("torus_search*.h")).read_text()
    assert re.search(r"_STACK_BYTES\s+\d+u", header)
    proc = make(out, "clang")
    assert proc.returncode == 0, proc.stderr
    result = boot(BOARDS["microbit"], get_target("cortex-m0"), (out / "build" / "firmware.elf").read_bytes())
    report = check_output(result.stdout, db, q[:3], bits=4, metric="l1", k_max=4, ks=[1, 4])
    assert report.ok and result.status == 0, report.mismatches[:3]


def test_cplusplus_main_links_and_answers(tmp_path):
    """extern "C" in both headers: the same main compiled as C++ links against the assembly kernel."""
    case = Case("cortex-m4", 4, 13)
    board, db, q = write_project(case, tmp_path)
    shutil.copy(tmp_path / "main.c", tmp_path / "main.cpp")
    proc = make(tmp_path, "clang", MAIN="main.cpp")
    assert proc.returncode == 0, proc.stderr
    result = boot(board, get_target(case.target), (tmp_path / "build" / "firmware.elf").read_bytes())
    assert check(case, result.stdout, db, q).ok and result.status == 0


@pytest.mark.parametrize("target", ["cortex-m0"])
def test_odd_placement_cannot_misalign_the_data(tmp_path, target):
    """A 1-byte constant before the database at -Os -fdata-sections: the alignment attribute still holds."""
    case = Case(target, 8, 13)
    (tmp_path / "odd.c").write_text('#include <stdint.h>\n__attribute__((used)) const uint8_t odd_byte = 1;\n'
                                    '__attribute__((used)) const uint8_t odd_bytes[3] = {1, 2, 3};\n')
    result, status = run_case(case, tmp_path, EXTRA_SRCS="odd.c")
    assert result.ok and status == 0


def test_data_for_another_kernel_fails_the_build(tmp_path):
    """Regenerate the kernel (same --symbol) for another D without re-exporting: the build stops at the assert."""
    write_project(Case("cortex-m4", 8, 13), tmp_path, symbol="my_search")
    other = tmp_path / "other"
    write_project(Case("cortex-m4", 8, 14), other, symbol="my_search")
    for name in ("my_search.h", "my_search.S"):
        (tmp_path / name).write_text((other / name).read_text())
    proc = make(tmp_path, "clang")
    assert proc.returncode != 0
    assert "D differs from the kernel" in proc.stderr


def test_removing_the_alignment_fails_the_build(tmp_path):
    case = Case("cortex-m0", 8, 13)
    write_project(case, tmp_path)
    source = tmp_path / "torus_db.c"
    source.write_text(re.sub(r"TORUS_DB_ALIGNED const", "const", source.read_text()))
    proc = make(tmp_path, "clang")
    assert proc.returncode != 0
    assert "less aligned than the kernel needs" in proc.stderr


SECOND_MAIN = r"""
/* Two kernels in one image: main.c runs the first; this runs the second over its own export. */
#define fw_main fw_main_first
#include "main.c"
#undef fw_main
#include "@B@.h"
#include "other_db.h"

int fw_main(void)
{
    static const uint32_t ks[] = { 1, 2, 4 };
    static uint32_t idx[@P@_K_MAX], dist[@P@_K_MAX];
    int status = fw_main_first();
    uint32_t q, j;
    for (q = 0; q < OTHER_DB_QUERIES; q++)
        for (j = 0; j < 3; j++) {
            uint32_t got = @B@(other_db_queries + q * OTHER_DB_ROW_STRIDE, other_db_db, OTHER_DB_ROWS, ks[j],
                               idx, dist);
            put_str("{\"query\": "); put_u32(q); put_str(", \"k\": "); put_u32(ks[j]);
            put_str(", \"indices\": "); put_list(idx, got); put_str(", \"distances\": "); put_list(dist, got);
            put_str("}\n");
            flush();
        }
    fw_write("{\"done\": true}\n");
    return status;
}
"""


@pytest.mark.parametrize("target", ["cortex-m0", "rv64im"] if LONG else ["rv64im"])
def test_two_kernels_in_one_image(tmp_path, target):
    """Two kernels (their own symbols, guards and macros) and two exports linked together, both right."""
    import numpy as np

    from firmware.header import header_name, macro_prefix, render_header
    from firmware_cases import codes
    from isa.assembler import source_file
    from isa.build import build_kernel
    from isa.spec import KernelSpec
    from torus_hw.c_export import KernelTie, c_export, pack_export

    first = Case(target, 8, 13, k_max=3, ks=(1, 3, 5))
    board, db, q = write_project(first, tmp_path)
    second = Case(target, 4, 5, k_max=2, ks=(1, 2, 4))
    spec = KernelSpec("search", "l1", 4, 5, 2)
    built = build_kernel(target, spec, symbol=spec.symbol_name())
    db2, q2 = codes(np.random.default_rng(9), 17, 2, 5, 4)
    sym = built.kernel.symbol
    files = c_export(pack_export("other_db", built.kernel.layout, db2, q2, bits=4),
                     KernelTie(header_name(sym), macro_prefix(sym)))
    files[header_name(sym)] = render_header(built.kernel)
    files[f"{sym}.S"] = source_file(built.target, built.kernel.asm)
    files["main2.c"] = SECOND_MAIN.replace("@B@", sym).replace("@P@", macro_prefix(sym))
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    proc = make(tmp_path, "clang", MAIN="main2.c", EXTRA_SRCS=f"other_db.c {sym}.S")
    assert proc.returncode == 0, proc.stderr
    result = boot(board, get_target(target), (tmp_path / "build" / "firmware.elf").read_bytes())
    text_a, text_b = result.stdout.split('{"done": true}\n', 1)
    assert check(first, text_a + '{"done": true}\n', db, q).ok
    assert check(second, text_b, db2, q2).ok
    assert result.status == 0


@pytest.mark.parametrize("target, skip", [("cortex-m0", "data"), ("rv32im", "bss")])
def test_a_startup_that_skips_the_data_copy_or_bss_clear_is_caught(tmp_path, target, skip):
    """The harness boots with garbage in RAM, so these pass only because the startup code does its job."""
    case = Case(target, 8, 5)
    board, db, q = write_project(case, tmp_path)
    crt0 = tmp_path / "fw_crt0.c"
    loop = "while (dst < _edata)\n        *dst++ = *src++;" if skip == "data" else \
        "for (dst = _sbss; dst < _ebss;)\n        *dst++ = 0;"
    assert loop in crt0.read_text()
    crt0.write_text(crt0.read_text().replace(loop, "(void)src;" if skip == "data" else ""))
    assert make(tmp_path, "clang").returncode == 0
    try:
        result = boot(board, get_target(target), (tmp_path / "build" / "firmware.elf").read_bytes())
    except Exception:  # a fault is as good a catch as wrong output
        return
    assert not check(case, result.stdout, db, q).ok


def test_the_dos_driver_is_8086_code(tmp_path):
    """main86.S passes the same ISA checker as the kernels (Unicorn would run 386 code without a word)."""
    from io import BytesIO

    from elftools.elf.elffile import ELFFile

    from isa.assembler import Image
    from isa.checker import check_image

    write_project(Case("i8086", 4, 13), tmp_path)
    assert make(tmp_path, "clang").returncode == 0
    elf = ELFFile(BytesIO((tmp_path / "build" / "clang" / "main86.o").read_bytes()))
    code = elf.get_section_by_name(".text.start").data()
    decoded = check_image(get_target("i8086"), Image("i8086", b"", b"", [], {}, (0x100, code)))
    assert len(decoded) > 100


def test_a_target_without_a_board_is_refused_by_name(monkeypatch):
    """A target added without a board (the firmware is optional for it): a one-line refusal, not a KeyError."""
    from firmware import boards
    from torus_hw.errors import TorusInputError

    monkeypatch.delitem(boards.DEFAULT_BOARD, "rv32im")
    with pytest.raises(TorusInputError, match="^no board runs rv32im yet \\(boards: mps2-an386, "):
        boards.get_board(None, "rv32im")
    assert boards.get_board("virt", "rv32im").name == "virt"
