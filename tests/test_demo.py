"""The end-to-end demo, run for real (--quick): every backend agrees and every file is written."""

import subprocess
import sys

import pytest

from torus_hw.cli import main


@pytest.mark.xdist_group("torus_model")
def test_quick_demo_end_to_end(tmp_path, capsys):
    import torch

    torch.set_num_threads(1)
    out = tmp_path / "demo"
    assert main(["demo", "--quick", "--out", str(out)]) == 0
    table = capsys.readouterr().out
    for target in ("i8086", "i8088", "rv32im", "rv64im", "cortex-m0", "cortex-m4", "aarch64", "rtl"):
        assert target in table
    report = (out / "report.md").read_text()
    rows = [line for line in report.splitlines() if line.startswith("| ") and "× " in line or "| rtl |" in line]
    from isa.targets import TARGETS
    from sim.cycles import cores_for

    assert len(rows) == sum(len(cores_for(t)) for t in TARGETS) + 1   # every core of every target, and the RTL unit
    for line in rows:
        cells = [c.strip() for c in line.strip("|").split("|")]
        assert cells[7] == "0", line             # mismatches
        assert cells[8] == cells[9], line        # P@1 from the target's own answers = the reference's
    for name in ("model.pt", "codes.npz", "kernels/cortex-m4/torus_db.c", "cycles_per_query.png", "p_at_1_by_precision.png",
                 "kernels/rtl/torus_search_unit.v"):
        assert (out / name).stat().st_size > 0, name
    for target in ("i8086", "rv32im", "rv64im", "cortex-m0", "cortex-m4", "aarch64"):
        for ext in ("S", "o", "h"):
            assert (out / "kernels" / target / f"kernel.{ext}").stat().st_size > 0
    # The firmware export is real C, tied to its kernel: the same clang compiles it for the Cortex-M4.
    (tmp_path / "firmware.c").write_text(
        '#include "torus_db.h"\n'
        "uint32_t first_code(void) { return torus_db_db[0] + TORUS_DB_DIMS + (uint32_t)torus_db_db_labels[0]; }\n")
    for source in ("firmware.c", str(out / "kernels" / "cortex-m4" / "torus_db.c")):
        proc = subprocess.run([sys.executable, "-m", "ziglang", "cc", "-target", "thumb-freestanding-eabi",
                               "-mcpu=cortex_m4", "-Wall", "-Werror", "-I", str(out / "kernels" / "cortex-m4"),
                               "-c", source, "-o", "firmware.o"], cwd=tmp_path, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
    # A second run reuses the cached model (same settings) and gives the same codes.
    before = (out / "codes.npz").read_bytes()
    assert main(["demo", "--quick", "--out", str(out)]) == 0
    assert (out / "codes.npz").read_bytes() == before
