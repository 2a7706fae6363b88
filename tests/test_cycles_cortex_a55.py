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
    # register-offset addressing: the same 3 (SOG 4.8 "Load register, register offset")
    assert cycles("ldr x1, [x0, x4]\nadd x2, x1, #1") == a55.LOAD_LATENCY + 1


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


def test_q_forms_issue_as_instruction_0_only():
    # SOG 4.15 note 1 and 4.13 (LDR Q: dual-issue 01): a Q-form op or Q load opens its cycle; an
    # integer op (11) may follow it in the same cycle, but nothing pairs in front of it
    assert cycles("sub v0.16b, v0.16b, v1.16b\nadd x1, x1, #1") == 1
    assert cycles("add x1, x1, #1\nsub v0.16b, v0.16b, v1.16b") == 2
    assert cycles("sub v0.16b, v0.16b, v1.16b\nldr q2, [x0]\nabs v3.16b, v3.16b\nadd x1, x1, #1") == 3
    assert cycles("sub v0.8b, v0.8b, v1.8b\nldr d2, [x0]") == 1        # D-forms (11) pair


def test_reduction_into_a_general_register():
    # UMINV (4, SOG 4.15) then FMOV to a W register (1, SOG 4.12) then CMP
    assert cycles("uminv s0, v1.4s\nfmov w1, s0\ncmp w1, w2") == 4 + 1 + 1


def test_cmp_reads_both_operands():
    assert cycles("add x1, x1, #1\ncmp w1, w2") == 2 and cycles("add x3, x3, #1\ncmp w1, w2") == 1


def test_taken_branch_loop_through_the_harness():
    """A counted loop: SUBS and B.NE pair (SOG Table 2), taken: one bubble before the next SUBS."""
    image = assemble(T, ".text\n.globl f\nf:\n mov x0, #100\n1:\n subs x0, x0, #1\n b.ne 1b\n ret\n")
    m = Machine(T, image)
    _, stats = m.call("f", [])
    assert stats.instructions == 1 + 2 * 100 + 1
    # per taken iteration: subs and b.ne (cycle 0), bubble (cycle 1): 2 cycles
    per_iteration = 1 + a55.TAKEN_BRANCH_BUBBLE
    cost = stats.cycles["cortex-a55"]
    assert 99 * per_iteration < cost <= 100 * per_iteration + 3


# --- the guide's throughput and slot rules (SOG issue 4.0, sections 3.2 and 4) -------------

def test_uadalp_half_throughput():
    # 4.15 "ASIMD pairwise add and accumulate": throughput 1/2 — independent UADALPs every 2 cycles
    body = "".join(f"uadalp v{i}.8h, v{i + 8}.16b\n" for i in range(4))
    assert cycles(body) == 1 + 3 * 2
    # and the pipe is held: an independent SIMD op right after waits out the second cycle
    assert cycles("uadalp v0.8h, v8.16b\nsub v1.16b, v1.16b, v2.16b") == 3
    # UADDLP (throughput 2, Q-form 1) issues every cycle
    assert cycles("".join(f"uaddlp v{i}.8h, v{i + 8}.16b\n" for i in range(4))) == 4


def test_absolute_difference_accumulate_half_throughput():
    assert cycles("".join(f"uabal v{i}.8h, v{i + 8}.8b, v{i + 16}.8b\n" for i in range(3))) == 1 + 2 * 2
    assert cycles("".join(f"uabd v{i}.8b, v{i + 8}.8b, v{i + 16}.8b\n" for i in range(4))) == 2


@pytest.mark.parametrize("op", ["uaddlv h0, v1.16b", "uminv s0, v1.4s", "ushll v0.8h, v1.8b, #0",
                                "umull v0.8h, v1.8b, v2.8b", "uaddl v0.8h, v1.8b, v2.8b"])
def test_throughput_1_groups_use_the_whole_simd_datapath(op):
    # ADDV/UADDLV, UMINV, USHLL, UMULL, UADDL: throughput 1, dual-issue 01 even in D-form
    assert cycles(f"{op}\n" + "add v5.8b, v5.8b, v6.8b") == 2
    assert cycles(f"{op}\n" + "add x5, x5, #1") == 1


def test_loads_and_stores_by_the_table():
    assert cycles("ldp w1, w2, [x0]\nadd x3, x3, #1") == 2                  # LDP W: 00
    assert cycles("ldp x1, x2, [x0]\nadd x5, x1, #1") == a55.LOAD_PAIR_X_LATENCY + 1
    assert cycles("ld1 {v0.16b, v1.16b}, [x0]\nldr x2, [x3]") == 1 + 4      # LD1 2 Q regs: 1/4
    assert cycles("ld1 {v0.16b, v1.16b}, [x0]\nadd v2.16b, v1.16b, v1.16b") == 6 + 1
    assert cycles("ldr q0, [x0]\nadd v1.16b, v0.16b, v0.16b") == a55.VLOAD_Q_LATENCY + 1
    assert cycles("ldr d0, [x0]\nadd v1.8b, v0.8b, v0.8b") == a55.VLOAD_LATENCY + 1
    assert cycles("str x1, [x0]\nstr x2, [x0, #8]") == 2                   # one store pipe
    assert cycles("ldr x1, [x0]\nstr x2, [x3]") == 1                        # a load and a store pair


def test_branch_slots_and_flags():
    assert cycles("cmp w1, w2\nb.lo 1f\n1: nop") >= 1
    assert MODEL.block_cycles(insns("cmp w1, w2\nb.lo 1f\n1:"), taken_last=False, before=None) == 1
    assert MODEL.block_cycles(insns("cmp w1, w2\ncsel w3, w4, w5, lo"), taken_last=False, before=None) == 1
    assert MODEL.classify(insns("ret")[0]).slots == "10"                     # BR/RET: instruction 1 only
    assert MODEL.block_cycles(insns("add x1, x1, #1\nret"), taken_last=True, before=None) == 1


def test_integer_rows():
    assert cycles("lsr w1, w2, #3\nadd w3, w1, #1") == a55.ALU_SHIFTED_LATENCY + 1   # UBFM alias: 2
    assert cycles("lsl w1, w2, w4\nlsl w5, w6, w7") == 2                            # variable shift: 1/cycle
    assert cycles("mul x0, x1, x2\nadd x3, x0, #1") == a55.MUL64_LATENCY + 1
    assert cycles("udiv w0, w1, w2\nadd x3, x0, #1") == a55.DIV_W_LATENCY + 1
    assert cycles("dup v0.8b, w1\nadd v1.8b, v0.8b, v0.8b") == a55.DUP_GENERAL_LATENCY + 1
