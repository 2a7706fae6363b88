"""The Cortex-A55 model reproduces the figures it claims from the optimisation guide.

Snippets are assembled with the project's assembler, decoded by capstone
(detail on) and priced as one block; the last test runs a loop through the
Unicorn harness to check that block costs add up over a run.
"""

from __future__ import annotations

import capstone
import pytest

from isa.assembler import assemble
from isa.targets import get_target
from sim.cycles import get_model
from sim.cycles import cortex_a55 as a55
from sim.machine import Machine

T = get_target("aarch64")
MODEL = get_model("cortex-a55")


def insns(body: str):
    image = assemble(T, ".text\n.globl f\nf:\n" + body + "\n")
    md = capstone.Cs(capstone.CS_ARCH_ARM64, capstone.CS_MODE_ARM)
    md.detail = True
    address, code = image.text
    return list(md.disasm(code, address))


def cycles(body: str) -> int:
    """Cycles from a cold start to the issue of the last instruction, inclusive."""
    return MODEL.block_cycles(insns(body), taken_last=False, before=None)


def test_registered_with_its_source():
    assert a55.MODELS["cortex-a55"] is MODEL
    assert "Cortex-A55 Software Optimization Guide" in MODEL.source
    assert "cache" in MODEL.omits and "mispredict" in MODEL.omits


def test_dependent_alu_chain_is_one_per_cycle():
    assert cycles("add x0, x0, #1\n" * 8) == 8 * a55.ALU_LATENCY


def test_independent_alu_ops_dual_issue():
    assert cycles("add x0, x0, #1\nadd x1, x1, #1\n" * 4) == 4


def test_shifted_operand_costs_a_cycle_more():
    assert cycles("add x0, x0, x1, lsl #2\n" * 2) == 1 + a55.ALU_SHIFTED_LATENCY == 3


def test_load_use_latency_stalls_a_dependent_instruction():
    # LDR at cycle 0; its consumer may issue at cycle 3 (load-use latency 3)
    assert cycles("ldr x1, [x0]\nadd x2, x1, #1") == a55.LOAD_LATENCY + 1 == 4
    # an independent instruction in between pairs with the load and hides nothing
    assert cycles("ldr x1, [x0]\nadd x3, x3, #1\nadd x2, x1, #1") == 4
    # register-offset addressing: latency 4
    assert cycles("ldr x1, [x0, x4]\nadd x2, x1, #1") == a55.LOAD_REG_OFFSET_LATENCY + 1


def test_post_index_base_is_ready_next_cycle():
    assert cycles("ldr x1, [x0], #8\nadd x2, x0, #1") == 2


def test_one_load_pipe():
    assert cycles("ldr x1, [x0]\nldr x2, [x0, #8]\nldr x3, [x0, #16]") == 3


def test_q_form_vector_loads_take_two_beats():
    assert cycles("".join(f"ldr q{i}, [x0, #{16 * i}]\n" for i in range(4))) == 7
    assert cycles("".join(f"ldr d{i}, [x0, #{8 * i}]\n" for i in range(4))) == 4


def test_multiply_latency():
    assert cycles("mul w0, w0, w1\nmul w0, w0, w1") == a55.MUL_LATENCY + 1


@pytest.mark.parametrize("op, latency", [
    ("sub v0.16b, v0.16b, v1.16b", 2),
    ("abs v0.16b, v0.16b", 3),
    ("uadalp v0.8h, v0.16b", 4),
    ("addp v0.8h, v0.8h, v0.8h", 3),
    ("umull v0.8h, v0.8b, v0.8b", 4),
    ("cnt v0.16b, v0.16b", 2),
    ("and v0.16b, v0.16b, v1.16b", 1),
])
def test_simd_result_latency(op, latency):
    assert cycles(f"{op}\n" * 4) == 3 * latency + 1


def test_q_form_simd_issues_one_per_cycle_d_form_two():
    q = "".join(f"sub v{i}.16b, v{i}.16b, v31.16b\n" for i in range(8))
    d = "".join(f"sub v{i}.8b, v{i}.8b, v31.8b\n" for i in range(8))
    assert cycles(q) == 8
    assert cycles(d) == 4


def test_simd_pairs_with_a_load_and_an_alu_op():
    assert cycles("sub v0.16b, v0.16b, v1.16b\nldr q2, [x0]\nabs v3.16b, v3.16b\nadd x1, x1, #1") == 2


def test_reduction_into_a_general_register():
    # UMINV (4) then FMOV to a W register (2) then CMP
    assert cycles("uminv s0, v1.4s\nfmov w1, s0\ncmp w1, w2") == 4 + 2 + 1


def test_cmp_reads_both_operands():
    assert cycles("add x1, x1, #1\ncmp w1, w2") == 2 and cycles("add x3, x3, #1\ncmp w1, w2") == 1


def test_taken_branch_loop_through_the_harness():
    """A counted loop: SUBS then B.NE (flags next cycle), taken: one bubble before the next SUBS."""
    image = assemble(T, ".text\n.globl f\nf:\n mov x0, #100\n1:\n subs x0, x0, #1\n b.ne 1b\n ret\n")
    m = Machine(T, image)
    _, stats = m.call("f", [])
    assert stats.instructions == 1 + 2 * 100 + 1
    # per taken iteration: subs (cycle 0), b.ne (cycle 1), bubble (cycle 2): 3 cycles
    per_iteration = 2 + a55.TAKEN_BRANCH_BUBBLE
    cost = stats.cycles["cortex-a55"]
    assert 99 * per_iteration < cost <= 100 * per_iteration + 3
