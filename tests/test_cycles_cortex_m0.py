"""The Cortex-M0 cycle model against the figures of its TRM (DDI 0432C, Table 3-1)."""

import capstone
import pytest

from isa.assembler import assemble
from isa.targets import get_target
from sim.cycles import get_model
from sim.cycles.cortex_m0 import CortexM0
from sim.machine import Machine

M0 = get_target("cortex-m0")
MODEL = get_model("cortex-m0")


def decode(body: str) -> list:
    image = assemble(M0, ".syntax unified\n.thumb\n.text\n.globl f\n.thumb_func\nf:\n" + body + "\n")
    md = capstone.Cs(capstone.CS_ARCH_ARM, capstone.CS_MODE_THUMB | capstone.CS_MODE_MCLASS)
    md.detail = True
    address, code = image.text
    return list(md.disasm(code, address))


@pytest.mark.parametrize("text, cycles", [
    ("movs r0, #1", 1), ("mov r8, r0", 1), ("adds r0, r1, r2", 1), ("add r8, r1", 1), ("subs r0, #200", 1),
    ("rsbs r0, r1, #0", 1), ("cmp r0, r9", 1), ("eors r0, r1", 1), ("bics r0, r1", 1), ("mvns r0, r1", 1),
    ("lsls r0, r1, #8", 1), ("lsrs r0, r1", 1), ("uxth r0, r1", 1), ("rev r0, r1", 1), ("add r0, sp, #32", 1),
    ("sub sp, #8", 1), ("muls r0, r1, r0", 1),                                  # fast multiplier (see module doc)
    ("ldr r0, [r1, #4]", 2), ("ldrb r0, [r1, r2]", 2), ("ldrsh r0, [r1, r2]", 2), ("ldr r0, [sp, #8]", 2),
    ("str r0, [r1]", 2), ("strb r0, [r1, #3]", 2),
    ("ldm r0!, {r1}", 2), ("ldm r0!, {r1, r2, r3, r4}", 5), ("ldm r0, {r0, r1}", 3), ("stm r1!, {r3, r4}", 3),
    ("push {r4-r7, lr}", 6), ("pop {r4-r7}", 5), ("pop {r4-r7, pc}", 8), ("pop {pc}", 4),
    ("bl f", 4), ("bx lr", 3), ("blx r3", 3), ("mov pc, r0", 3),
    ("dsb sy", 4), ("isb sy", 4), ("mrs r0, primask", 4),
])
def test_table_3_1_figures(text, cycles):
    insn, = decode(text)
    assert MODEL.instruction_cycles(insn, taken=insn.mnemonic in ("bx", "blx", "bl", "pop"), prev=None) == cycles


def test_branches_taken_and_not():
    cond, uncond = decode("beq f\nb f")
    assert MODEL.instruction_cycles(cond, taken=True, prev=None) == 3
    assert MODEL.instruction_cycles(cond, taken=False, prev=None) == 1
    assert MODEL.instruction_cycles(uncond, taken=True, prev=None) == 3


def test_small_multiplier_option():
    mul, = decode("muls r0, r1, r0")
    assert CortexM0(multiplier_cycles=32).instruction_cycles(mul, taken=False, prev=None) == 32
    with pytest.raises(ValueError):
        CortexM0(multiplier_cycles=2)


def test_dynamic_count_of_a_loop_under_the_harness():
    """A 5-trip loop run by Unicorn: the harness's taken/not-taken pricing adds up to the table's figures."""
    image = assemble(M0, """.syntax unified
.thumb
.text
.globl f
.thumb_func
f:
    push {r4, lr}
    movs r4, #5
1:
    ldm r1!, {r2, r3}
    adds r0, r2
    subs r4, #1
    bne 1b
    pop {r4, pc}
""")
    machine = Machine(M0, image)
    machine.map_range(0x1000_0000, 0x1000)
    machine.write(0x1000_0000, bytes(range(40)))
    _, stats = machine.call("f", [("u32", 0), ("ptr", 0x1000_0000)])
    # push 3 + movs 1 + 5 x (ldm 3 + adds 1 + subs 1) + 4 taken bne x 3 + 1 not taken + pop {r4, pc} 5
    assert stats.instructions == 2 + 5 * 4 + 1
    assert stats.cycles["cortex-m0"] == 3 + 1 + 5 * 5 + 4 * 3 + 1 + 5


def test_model_states_its_source_and_omissions():
    assert "DDI 0432C" in MODEL.source and "Table 3-1" in MODEL.source
    assert "wait states" in MODEL.omits
