"""The Cortex-M4 cycle model reproduces the published figures it cites.

Figures: Cortex-M4 TRM (DDI 0439B) Table 3-1 and the load/store pairing
examples of section 3.3.1 ("LDR R0,[R1]; LDR R1,[R2] - normally three cycles
total", …).  Snippets are assembled by the project's toolchain, decoded with
capstone (detail on) and priced in order, the previous instruction chained
as the harness does; one loop runs through sim.machine.Machine.
"""

import capstone
import pytest

from isa.assembler import assemble
from isa.targets import get_target
from sim.cycles import get_model
from sim.cycles.cortex_m4 import CortexM4
from sim.machine import Machine

M4 = get_target("cortex-m4")
MODEL = get_model("cortex-m4")
P = MODEL.refill


def decode(body: str):
    image = assemble(M4, ".text\n.globl f\n.thumb_func\nf:\n" + body + "\n")
    md = capstone.Cs(capstone.CS_ARCH_ARM, capstone.CS_MODE_THUMB | capstone.CS_MODE_MCLASS)
    md.detail = True
    address, code = image.text
    return list(md.disasm(code, address))


def price(body: str, taken_last: bool = False) -> int:
    insns = decode(body)
    total, prev = 0, None
    for i, insn in enumerate(insns):
        total += MODEL.instruction_cycles(insn, taken=taken_last and i == len(insns) - 1, prev=prev)
        prev = insn
    return total


@pytest.mark.parametrize("body, cycles", [
    # Table 3-1: data processing, multiply and DSP are single-cycle on the M4.
    (" mov r0, r1", 1), (" add.w r0, r1, r2, lsl #3", 1), (" rsb r0, r0, #256", 1), (" movw r0, #0x1234", 1),
    (" mul r0, r1, r2", 1), (" mla r0, r1, r2, r3", 1), (" mls r0, r1, r2, r3", 1),
    (" umull r0, r1, r2, r3", 1), (" smull r0, r1, r2, r3", 1), (" umlal r0, r1, r2, r3", 1),
    (" usub8 r0, r1, r2", 1), (" ssub8 r0, r1, r2", 1), (" sel r0, r1, r2", 1), (" uadd8 r0, r1, r2", 1),
    (" usada8 r0, r1, r2, r3", 1), (" usad8 r0, r1, r2", 1), (" smlad r0, r1, r2, r3", 1),
    (" sxtb16 r0, r1, ror #8", 1), (" usat r0, #8, r1", 1), (" it hi\n addhi r0, r0, r1", 2),
    # SDIV/UDIV: "2 to 12" with early termination; priced at the bound.
    (" udiv r0, r1, r2", 12), (" sdiv r0, r1, r2", 12),
    # Loads and stores: LDR 2, LDRD 3 (1 + N), LDM/STM/PUSH/POP 1 + N.
    (" ldr r0, [r1]", 2), (" ldrb r0, [r1, #3]", 2), (" ldrh r0, [r1], #2", 2), (" str r0, [r1, r2]", 2),
    (" ldrd r0, r1, [r2]", 3), (" strd r0, r1, [r2, #8]", 3),
    (" ldm r0!, {r1, r2, r3, r4}", 5), (" ldm.w r0, {r1, r2, r3, r4, r5, r6, r7, r8}", 9),
    (" stm r0!, {r1, r2, r3}", 4), (" push {r4, r5, r6, r7, r8, r9, r10, r11, lr}", 10),
    (" pop {r4, r5, r6, r7}", 5), (" pop {r4, r5, r6, pc}", 5 + P),
    # Branches: 1 + P taken, 1 when a conditional branch falls through.
    (" bx lr", 1 + P),
    # "1 or 2" special-register and interrupt-mask moves, priced at the bound; barriers 1 + B
    (" mrs r0, primask", 2), (" msr basepri, r0", 2), (" cpsid i", 2),
    (" dmb", 1), (" dsb", 1), (" isb", 1 + P),
    # 3.3.1: LDR PC "at least five", TBB/TBH "at least six"
    (" ldr pc, [r0]", 5), (" tbb [r0, r1]", 6),
])
def test_table_3_1_figures(body, cycles):
    assert price(body, taken_last=True) == cycles


@pytest.mark.parametrize("body, cycles", [
    # Section 3.3.1's own examples: neighbouring single loads/stores pipeline.
    (" ldr r0, [r1]\n ldr r1, [r2]", 3),
    (" ldr r0, [r1, r2]\n str r0, [r3, #20]", 3),
    (" ldr r0, [r1, r2]\n str r1, [r3, r2]", 3),
    (" ldr r0, [r1, r5]\n ldr r1, [r2]\n ldr r2, [r3, #4]", 4),
    # …but not when the first load's destination forms the next address,
    (" ldr r0, [r1]\n ldr r2, [r0]", 4),
    # "STR Rx,[Ry,#imm] is always one cycle", but nothing is pipelined after a store,
    (" str r0, [r1]", 1), (" str r0, [r1], #4", 1), (" str r0, [r1]\n ldr r2, [r3]", 3),
    # nor around LDM/LDRD ("cannot be pipelined with preceding or following instructions").
    (" ldm r1!, {r2, r3}\n ldr r4, [r5]", 5),
    (" ldr r4, [r5]\n ldrd r2, r3, [r1]", 5),
    (" ldr r4, [r5]\n add r0, r0, r1\n ldr r6, [r5, #4]", 5),
    # "Any load or store that generates an address dependent on the result of a preceding
    # data processing operation stalls the pipeline for an additional cycle".
    (" add r1, r1, #4\n ldr r0, [r1]", 4), (" add r2, r2, #4\n ldr r0, [r1]", 3),
    (" add r2, r2, #4\n ldr r0, [r1, r2]", 4), (" mov r1, r0\n ldm r1!, {r2, r3}", 5),
    (" sub sp, #8\n push {r4, lr}", 5), (" ldr r1, [r0]\n ldr r2, [r1]", 4),
])
def test_load_store_pipelining_notes(body, cycles):
    assert price(body) == cycles


def test_conditional_branch_taken_and_not_taken():
    insns = decode(" cmp r0, #0\n bne 1f\n nop\n1: nop")
    branch = insns[1]
    assert MODEL.instruction_cycles(branch, taken=False, prev=insns[0]) == 1
    assert MODEL.instruction_cycles(branch, taken=True, prev=insns[0]) == 1 + P
    cbz = decode(" cbz r0, 1f\n nop\n1: nop")[0]
    assert (MODEL.instruction_cycles(cbz, taken=False, prev=None),
            MODEL.instruction_cycles(cbz, taken=True, prev=None)) == (1, 1 + P)


def test_refill_is_the_trm_range():
    assert [CortexM4(p).instruction_cycles(decode(" b 1f\n nop\n1: nop")[0], taken=True, prev=None)
            for p in (1, 2, 3)] == [2, 3, 4]
    with pytest.raises(ValueError):
        CortexM4(4)


def test_a_counted_loop_through_the_harness():
    """10 trips of (adds, subs, bne): the harness's block counting prices taken/not-taken per trip."""
    image = assemble(M4, """
.text
.globl f
.thumb_func
f:
    movs r0, #0
    movs r1, #10
1:  adds r0, r0, #1
    subs r1, r1, #1
    bne 1b
    bx lr
""")
    value, stats = Machine(M4, image).call("f", [])
    assert value == 10
    assert stats.instructions == 2 + 3 * 10 + 1
    # 2 movs + 10 x (adds + subs) + 9 taken bne + 1 fall-through bne + bx lr
    assert stats.cycles["cortex-m4"] == 2 + 20 + 9 * (1 + P) + 1 + (1 + P)


def test_model_states_its_source_and_omissions():
    assert "DDI 0439B" in MODEL.source and "Table 3-1" in MODEL.source
    assert "wait states" in MODEL.omits and MODEL.core == "cortex-m4"
