"""The firmware export and the kernel header: bit-exact packing, compile-time ties, the contract.

* ``torus_pack_query`` / ``torus_quantize_angle`` (torus_hw/c/) compiled for the
  host with the ziglang clang agree bit for bit with torus_hw/quantize.py for
  every bits value, D, stride and the boundary angles of the grid.
* The exported ``.h``/``.c`` compile as C99, C11, C++98 and C++17 against the
  kernel's header, and data packed for another kernel fails every one of them.
* ``export --format c`` writes exactly NAME.h + NAME.c, for ``--target`` or
  for the kernel of a header (``--kernel-layout``).
* The header's k contract is what every kernel does: k > k_max gives k_max
  answers, k = 0 gives none, and nothing past them is written.
"""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from firmware.header import header_name, macro_prefix, render_header
from isa.build import build_kernel
from isa.spec import KernelSpec
from isa.targets import TARGETS
from sim.runner import KernelRunner
from torus_hw.c_export import KernelTie, c_export, pack_export
from torus_hw.cli import main
from torus_hw.codes import TorusCodes
from torus_hw.quantize import TWO_PI, angles_to_codes, pack_rows, row_bytes

C_DIR = Path(__file__).resolve().parents[1] / "torus_hw" / "c"
ZIG = [sys.executable, "-m", "ziglang"]


@pytest.fixture(scope="module")
def packer(tmp_path_factory):
    exe = tmp_path_factory.mktemp("pack") / "pack_check"
    proc = subprocess.run([*ZIG, "cc", "-O2", "-std=c99", "-Wall", "-Wextra", "-Werror", "-I", str(C_DIR),
                           str(Path(__file__).parent / "c" / "torus_pack_check.c"), str(C_DIR / "torus_pack.c"),
                           str(C_DIR / "torus_quantize.c"), "-o", str(exe)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr

    def ask(requests: list[str]) -> list[str]:
        out = subprocess.run([str(exe)], input="\n".join(requests) + "\n", capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        return out.stdout.split()

    return ask


@given(bits=st.sampled_from([1, 4, 8, 16]), dims=st.integers(1, 70), pad=st.integers(0, 9), data=st.data())
def test_pack_query_matches_python(packer, bits, dims, pad, data):
    top = (1 << bits) - 1
    codes = data.draw(st.lists(st.sampled_from([0, top, top // 2, (top + 1) // 2]) | st.integers(0, top),
                               min_size=dims, max_size=dims))
    stride = row_bytes(dims, bits) + pad
    got = packer([f"p {bits} {dims} {stride} " + " ".join(map(str, codes))])
    assert got == [pack_rows(np.array(codes), bits, stride).tobytes().hex()]


def test_pack_query_refuses_what_python_refuses(packer):
    assert packer(["p 4 3 1 1 2 3", "p 4 2 1 16 0", "p 7 2 4 1 1", "p 1 9 2 1 0 1 0 1 0 1 0 1"]) == \
        ["error", "error", "error", pack_rows(np.array([1, 0] * 4 + [1]), 1, 2).tobytes().hex()]


def _double_hex(x: float) -> str:
    return struct.pack("<d", x)[::-1].hex()


@pytest.mark.parametrize("bits", [1, 4, 8, 16])
def test_quantize_angle_matches_python(packer, bits):
    rng = np.random.default_rng(bits)
    step = TWO_PI / (1 << bits)
    halves = (np.arange(-(1 << bits) // 2 - 1, (1 << bits) // 2 + 1) + 0.5) * step  # round-half-even cases
    theta = np.concatenate([rng.uniform(-np.pi, np.pi, 2000), halves, np.nextafter(halves, 10),
                            np.nextafter(halves, -10), [np.pi, -np.pi, 0.0, -0.0, np.nextafter(np.pi, 0)]])
    got = packer([f"a {bits} {_double_hex(float(t))}" for t in theta])
    assert [int(v) for v in got] == angles_to_codes(theta, bits).astype(int).tolist()


# --- the export compiles, and refuses another kernel's data --------------------------------------

STANDARDS = [("c", "-std=c99"), ("c", "-std=c11"), ("c++", "-std=c++98"), ("c++", "-std=c++17")]


def _export(folder: Path, dims: int, kernel_dims: int, target="cortex-m0", bits=4):
    rng = np.random.default_rng(0)
    built = build_kernel(target, KernelSpec("search", "l1", bits, kernel_dims, 2))
    layout = build_kernel(target, KernelSpec("search", "l1", bits, dims, 2)).kernel.layout
    db = rng.integers(0, 1 << bits, size=(9, dims)).astype(np.uint8)
    packed = pack_export("mydb", layout, db, db[:2], np.arange(9), np.arange(2), bits=bits)
    files = c_export(packed, KernelTie(header_name(built.kernel.symbol), macro_prefix(built.kernel.symbol)))
    files[header_name(built.kernel.symbol)] = render_header(built.kernel)
    for name, text in files.items():
        (folder / name).write_text(text)
    (folder / "use.c").write_text('#include "mydb.h"\nconst uint8_t *first_row(void) { return mydb_db; }\n')


def _compile(folder: Path, lang: str, std: str, source: str) -> subprocess.CompletedProcess:
    return subprocess.run([*ZIG, "cc", "-target", "thumb-freestanding-eabi", "-mcpu=cortex_m0", "-x", lang, std,
                           "-Wall", "-Wextra", "-Werror", "-pedantic" if std != "-std=c++98" else "-Wall",
                           "-c", source, "-o", "out.o"], cwd=folder, capture_output=True, text=True)


@pytest.mark.parametrize("lang, std", STANDARDS)
def test_export_compiles_in_every_standard(tmp_path, lang, std):
    _export(tmp_path, 13, 13)
    for source in ("mydb.c", "use.c"):
        proc = _compile(tmp_path, lang, std, source)
        assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("lang, std", STANDARDS)
def test_export_for_another_kernel_fails_every_standard(tmp_path, lang, std):
    _export(tmp_path, 13, 12)     # 13-dim data, a 12-dim kernel: same stride at 4 bits, the D check fires
    proc = _compile(tmp_path, lang, std, "use.c")
    assert proc.returncode != 0
    assert ("D differs" in proc.stderr) if std in ("-std=c11", "-std=c++17") else "mydb_assert_line" in proc.stderr


def test_export_cli_writes_h_and_c_only(tmp_path):
    rng = np.random.default_rng(1)
    db = rng.integers(0, 256, size=(12, 5)).astype(np.uint8)
    TorusCodes(database=db, queries=db[:3], bits=8, database_labels=np.arange(12),
               query_labels=np.arange(3)).save(tmp_path / "codes.npz")
    out = tmp_path / "out"
    out.mkdir()
    assert main(["export", "--format", "c", "--codes", str(tmp_path / "codes.npz"), "--target", "rv32im",
                 "--labels", "--out", str(out / "faces.h")]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["faces.c", "faces.h"]
    text = (out / "faces.c").read_text()
    stride = build_kernel("rv32im", KernelSpec("search", "l1", 8, 5, 5)).kernel.layout.stride
    assert f"const uint8_t faces_db[{12 * stride}]" in text and "faces_db_labels[12]" in text
    assert pack_rows(db, 8, stride)[0, :5].tolist() == [int(v, 16) for v in
                                                          text.split("faces_db[")[1].split("{")[1].split(",")[:5]]
    # The same export driven by a kernel header written by gen.
    assert main(["gen", "--target", "rv32im", "--kernel", "search", "--bits", "8", "--dims", "5", "--k", "2",
                 "--out", str(tmp_path / "k")]) == 0
    assert main(["export", "--codes", str(tmp_path / "codes.npz"), "--kernel-layout",
                 str(tmp_path / "k" / "kernel.h"), "--out", str(out / "again.c")]) == 0
    def db_array(path: Path, name: str) -> str:
        return path.read_text().split(f"{name}_db[", 1)[1].split("};", 1)[0]

    assert db_array(out / "again.c", "again") == db_array(out / "faces.c", "faces")
    assert '#include "torus_search' in (out / "again.h").read_text()


def test_gen_writes_the_nasm_source_on_request(tmp_path):
    assert main(["gen", "--target", "i8086", "--kernel", "search", "--bits", "4", "--dims", "13", "--k", "3",
                 "--syntax", "nasm", "--out", str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kernel.asm", "kernel.h", "kernel.o"]
    text = (tmp_path / "kernel.asm").read_text()
    assert "bits 16" in text and "cpu 8086" in text and "global torus_search_l1_u4_d13_k3" in text
    assert "#define TORUS_SEARCH_L1_U4_D13_K3_STACK_BYTES" in (tmp_path / "kernel.h").read_text()


# --- the header's contract -----------------------------------------------------------------------

@pytest.mark.parametrize("target", list(TARGETS))
def test_k_beyond_k_max_gives_k_max_answers_and_writes_no_more(target):
    built = build_kernel(target, KernelSpec("search", "l1", 8, 5, 2))
    header = render_header(built.kernel)
    assert "for k > k_max it returns k_max" in header and 'extern "C"' in header
    runner = KernelRunner(built, count=False)
    runner.load_database(np.arange(50).reshape(10, 5).astype(np.uint8))
    m, reg = runner.machine, runner.region
    runner._load_query(np.zeros(5, np.uint8))
    for k, want in ((5, 2), (2, 2), (1, 1), (0, 0)):
        m.write(reg.out_idx, b"\xa5" * 40)
        got, _ = m.call(built.kernel.symbol, [("ptr", reg.query), ("ptr", reg.db), ("u32", 10), ("u32", k),
                                               ("ptr", reg.out_idx), ("ptr", reg.out_dist)])
        assert got == want
        assert m.read(reg.out_idx, 40)[4 * want:] == b"\xa5" * (40 - 4 * want)
        assert np.frombuffer(m.read(reg.out_idx, 4 * want), "<u4").tolist() == list(range(want))
