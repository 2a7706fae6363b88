"""Bad input to ``firmware`` and ``export --format c``: one line, exit 2, nothing written.

The same contract and machinery as tests/test_errors.py (whose case builder
and check these cases reuse); docs/errors.md lists them
with the messages a real run prints.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from firmware.header import render_header
from isa.build import build_kernel
from isa.spec import KernelSpec
from test_errors import BIG_DIMS, BIG_ROWS, case
from test_errors import test_bad_input_is_one_line_exit_2_and_writes_nothing as refused_in_one_line
from torus_hw.codes import TorusCodes


def make_firmware_inputs(folder: Path) -> Path:
    """Write every input the cases name into ``folder``."""
    rng = np.random.default_rng(0)
    u8 = lambda *shape: rng.integers(0, 256, shape).astype(np.uint8)  # noqa: E731
    TorusCodes(database=u8(20, 8), queries=u8(2, 8), bits=8).save(folder / "codes.npz")
    TorusCodes(database=u8(BIG_ROWS, BIG_DIMS), queries=u8(1, BIG_DIMS), bits=8).save(folder / "big.npz")
    TorusCodes(database=u8(5000, 16), queries=u8(1, 16), bits=8).save(folder / "80k.npz")
    (folder / "d13.h").write_text(render_header(build_kernel("cortex-m4", KernelSpec("search", "l1", 8, 13, 2)).kernel))
    (folder / "not-a-header.h").write_text("#define X 1\n")
    return folder


@pytest.fixture(scope="module")
def fw_inputs(tmp_path_factory) -> Path:
    return make_firmware_inputs(tmp_path_factory.mktemp("bad-firmware-inputs"))


CASES = [
    case("export-c-out-not-h-or-c", "export --format c --codes codes.npz --target cortex-m4 --out db.txt",
         "--format c", "must end in .h or .c", "'db.txt'"),
    case("export-out-suffix-contradicts-format", "export --format npz --codes codes.npz --out db.h",
         "ends in .h", "--format npz"),
    case("export-c-no-kernel", "export --format c --codes codes.npz --out db.h", "--target T or --kernel-layout"),
    case("export-c-name-not-c-identifier", "export --codes codes.npz --target cortex-m4 --out my-db.h",
         "output name 'my-db' is not a C identifier"),
    case("export-c-kernel-layout-mismatch", "export --codes codes.npz --kernel-layout d13.h --out db.h",
         "kernel layout is 8-bit D=13", "codes are 8-bit D=8"),
    case("export-c-kernel-layout-not-a-header", "export --codes codes.npz --kernel-layout not-a-header.h --out db.h",
         "not a torus-hw kernel header"),
    case("firmware-unknown-board", "firmware --target cortex-m4 --codes codes.npz --board pdp11 --out proj",
         "unknown board 'pdp11'", "mps2-an386"),
    case("firmware-board-of-another-target", "firmware --target cortex-m0 --codes codes.npz --board mps2-an386 "
         "--out proj", "board mps2-an386 runs cortex-m4, not cortex-m0"),
    case("firmware-symbol-not-c-identifier", "firmware --target rv32im --codes codes.npz --symbol 9lives --out proj",
         "symbol '9lives' is not a C identifier"),
    case("firmware-database-too-big-for-flash", "firmware --target cortex-m0 --codes big.npz --out proj",
         "40,000 rows", "640,016 bytes", "262,144-byte flash of microbit"),
    case("firmware-database-too-big-for-a-com", "firmware --target i8086 --codes 80k.npz --out proj",
         "80,016 bytes", "more than a dos .COM can hold"),
    case("gen-syntax-nasm-not-8086", "gen --target rv32im --kernel search --dims 8 --syntax nasm --out gen",
         "rv32im: no 'nasm' dialect"),
    case("firmware-unknown-target", "firmware --target pdp11 --codes codes.npz --out proj", "unknown target 'pdp11'"),
]


@pytest.mark.parametrize("c", CASES)
def test_bad_firmware_input_is_one_line_exit_2_and_writes_nothing(c, fw_inputs, monkeypatch, capsys):
    refused_in_one_line(c, fw_inputs, monkeypatch, capsys)
