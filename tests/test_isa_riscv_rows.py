"""RISC-V SWAR rows at the switch from one unrolled segment to the block loop.

On rv64 an 8-bit l1 row of 31 or 32 words (D = 241..256) is too long for one
segment (30 words keep the per-byte m counts below 256) yet short enough to
hold part of the query in registers; the block loop walks the row and the
query in s7/s8, which are also the first query registers.  The query must then
be read from memory.  These rows, around the switch, are checked bit-exactly
(scan: every distance).
"""

import numpy as np
import pytest

from crosscheck import check_scan, check_search
from isa.spec import KernelSpec


@pytest.mark.parametrize("target, dims", [("rv64im", 240), ("rv64im", 241), ("rv64im", 248), ("rv64im", 256),
                                          ("rv64im", 257), ("rv32im", 248), ("rv32im", 256)])
def test_swar8_rows_around_the_block_loop_switch(target, dims):
    rng = np.random.default_rng(dims)
    db = rng.integers(0, 256, (6, dims)).astype(np.uint8)
    q = rng.integers(0, 256, (2, dims)).astype(np.uint8)
    check_scan(target, KernelSpec("scan", "l1", 8, dims), db, q[0], variant="swar")
    check_search(target, KernelSpec("search", "l1", 8, dims, 3), db, q, 3, variant="swar")
