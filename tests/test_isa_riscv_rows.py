"""RISC-V kernels at two edges their code relies on.

* SWAR rows at the switch from one unrolled segment to the block loop.  On
  rv64 an 8-bit l1 row of 31 or 32 words (D = 241..256) is too long for one
  segment (30 words keep the per-byte m counts below 256) yet short enough to
  hold part of the query in registers; the block loop walks the row and the
  query in s7/s8, which are also the first query registers, so the query must
  then be read from memory.  Rows around the switch are checked bit-exactly.
* The range radius on rv64: lp64 passes the uint32_t sign-extended, and a
  16-bit l2 distance of a row of D <= 3 may pass 2^31, so radii on both sides
  of 2^31 must compare as unsigned 32-bit values.
"""

import numpy as np
import pytest

from crosscheck import built, check_scan, check_search
from isa.spec import KernelSpec
from sim.runner import KernelRunner
from torus_hw import reference


@pytest.mark.parametrize("target, dims", [("rv64im", 240), ("rv64im", 241), ("rv64im", 248), ("rv64im", 256),
                                          ("rv64im", 257), ("rv32im", 248), ("rv32im", 256)])
def test_swar8_rows_around_the_block_loop_switch(target, dims):
    rng = np.random.default_rng(dims)
    db = rng.integers(0, 256, (6, dims)).astype(np.uint8)
    q = rng.integers(0, 256, (2, dims)).astype(np.uint8)
    check_scan(target, KernelSpec("scan", "l1", 8, dims), db, q[0], variant="swar")
    check_search(target, KernelSpec("search", "l1", 8, dims, 3), db, q, 3, variant="swar")


@pytest.mark.parametrize("radius", [2**31 - 1, 2**31, 2**31 + 1, 3 * 2**30 - 1, 3 * 2**30, 2**32 - 1])
@pytest.mark.parametrize("variant", ["unrolled", "simple"])
def test_rv64_range_reads_a_sign_extended_radius_as_uint32(radius, variant):
    """16-bit l2 at D = 3 (max_dims): distances 0, 2^31 - 2^17 + 1, 2^31 and 3 * 2^30.

    The harness zero-extends a u32 argument, so the radius goes in as a
    64-bit value, sign-extended from bit 31 as lp64 passes a uint32_t.
    """
    db = np.array([[0, 0, 0], [32767, 32767, 1], [32768, 32768, 0], [32768, 32768, 32768]], dtype=np.uint16)
    q = np.zeros(3, dtype=np.uint16)
    runner = KernelRunner(built("rv64im", KernelSpec("range", "l2", 16, 3), variant), count=False)
    runner.load_database(db)
    runner._load_query(q)
    region = runner.region
    runner.machine.map_range(region.scan_out, 4096)
    lp64 = radius | (0xFFFF_FFFF << 32 if radius >> 31 else 0)
    count, _ = runner.machine.call("torus_range", [("ptr", region.query), ("ptr", region.db), ("u32", len(db)),
                                                   ("ptr", lp64), ("ptr", region.scan_out), ("u32", len(db))])
    want = reference.range_search(q, db, bits=16, metric="l2", radius=radius)
    assert count == len(want)
