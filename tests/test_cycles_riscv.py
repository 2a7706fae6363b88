"""The Ibex and U54 cycle models reproduce the published figures they cite.

Snippets are assembled with the project's assembler, decoded by capstone
(detail on) and priced one instruction at a time; whole loops are also run
through the Unicorn harness so that the dynamic taken/not-taken and
previous-instruction plumbing is checked end to end.
"""

import capstone
import pytest

from isa.assembler import assemble
from isa.targets import get_target
from sim.cycles import get_model
from sim.listing import estimate
from sim.machine import Machine


def decode(target: str, body: str):
    t = get_target(target)
    image = assemble(t, ".text\n.globl f\nf:\n" + body + "\n")
    md = capstone.Cs(capstone.CS_ARCH_RISCV,
                     capstone.CS_MODE_RISCV32 if t.word_bits == 32 else capstone.CS_MODE_RISCV64)
    md.detail = True
    address, code = image.text
    return list(md.disasm(code, address))


def price(core: str, insns, taken=()):
    model = get_model(core)
    out, prev = [], None
    for i, insn in enumerate(insns):
        out.append(model.instruction_cycles(insn, taken=i in taken, prev=prev))
        prev = insn
    return out


# --- Ibex: 'Multi- and Single-Cycle Instructions' (stall X → X + 1 cycles) -------------

@pytest.mark.parametrize("insn, cycles", [
    ("add a0, a1, a2", 1),     # integer computational: 0 stalls
    ("lw a0, 0(a1)", 2),       # load: 1 stall (single-cycle data memory)
    ("sw a0, 0(a1)", 2),       # store: 1 stall
    ("lbu a0, 0(a1)", 2),
    ("mul a0, a1, a2", 3),     # fast multiplier: 2 stalls for MUL
    ("mulh a0, a1, a2", 4),    # ... 3 for MULH
    ("mulhu a0, a1, a2", 4),
    ("div a0, a1, a2", 37),    # Multiplier/Divider Block: long division takes 37 cycles ...
    ("remu a0, a1, a2", 37),
    ("divu a0, a1, zero", 2),  # ... 2 on a divide by zero (here known from the encoding)
])
def test_ibex_table(insn, cycles):
    assert price("ibex", decode("rv32im", insn)) == [cycles]


def test_ibex_branches_and_jumps():
    insns = decode("rv32im", "1: beq a0, a1, 1b\n j 1b\n jalr a0\n ret")
    assert price("ibex", insns[:1], taken={0}) == [3]   # taken branch: 2 stalls (no branch-target ALU)
    assert price("ibex", insns[:1]) == [1]              # not taken: no stall
    assert price("ibex", insns[1:]) == [2, 2, 2]        # jumps: 1 stall
    assert price("ibex", decode("rv32im", "lw a0, 0(a1)\n add a0, a0, a0")) == [2, 1]  # no load-use stall


def _listing(core: str, body: str) -> list[int]:
    """Each executed instruction's cycles when ``body`` runs under the harness's listing estimator."""
    return [i["cycles"] for i in estimate(core, body).to_json()["instructions"]]


def test_ibex_divide_by_zero_is_read_from_the_divisor():
    # the divisor's value decides: 2 cycles when it is zero at run time, 37 otherwise
    assert _listing("ibex", " li a1, 0\n li a0, 9\n div a2, a0, a1\n rem a2, a0, a1\n"
                            " li a1, 3\n divu a2, a0, a1\n remu a2, a0, a1") == [1, 1, 2, 2, 1, 37, 37]


def test_ibex_misaligned_access_is_one_more_transaction():
    # Load-Store Unit, 'Misaligned Accesses': an access that crosses a word boundary is split in two
    body = (" addi sp, sp, -16\n sw zero, 0(sp)\n sw zero, 4(sp)\n lw a0, 1(sp)\n lw a0, 4(sp)\n"
            " lh a1, 3(sp)\n lh a1, 1(sp)\n lhu a1, 2(sp)\n lbu a1, 3(sp)\n sw a0, 2(sp)\n sh a0, 7(sp)")
    assert _listing("ibex", body) == [1, 2, 2, 3, 2, 3, 2, 2, 2, 3, 3]


def test_ibex_misaligned_access_through_the_harness():
    t = get_target("rv32im")
    image = assemble(t, ".text\n.globl f\nf:\n addi sp, sp, -16\n sw zero, 0(sp)\n sw zero, 4(sp)\n"
                        " lw a0, 2(sp)\n addi sp, sp, 16\n ret\n")
    _, stats = Machine(t, image).call("f", [])
    assert stats.cycles == {"ibex": 1 + 2 + 2 + 3 + 1 + 2}


def test_ibex_split_fetch_after_a_jump():
    # Instruction Fetch, 'Misaligned Accesses': a 32-bit instruction at 2 mod 4 needs two word fetches;
    # the prefetch buffer already holds the first word when it is reached in sequence, not after a jump.
    md = capstone.Cs(capstone.CS_ARCH_RISCV, capstone.CS_MODE_RISCV32 | capstone.CS_MODE_RISCVC)
    md.detail = True
    nop16, add32 = list(md.disasm(bytes.fromhex("0100" "3305b500"), 0x10000))   # c.nop; add a0, a0, a1
    assert add32.address % 4 == 2 and add32.size == 4
    jump = decode("rv32im", "j 1f\n1: nop")[0]
    model = get_model("ibex")
    assert model.instruction_cycles(add32, taken=False, prev=nop16) == 1      # in sequence
    assert model.instruction_cycles(add32, taken=False, prev=jump) == 2       # jump target: second fetch
    assert model.instruction_cycles(add32, taken=False, prev=None) == 2       # the first of a run
    assert model.instruction_cycles(nop16, taken=False, prev=jump) == 1       # a 16-bit one fits one word


def _loop(target: str) -> Machine:
    t = get_target(target)
    image = assemble(t, ".text\n.globl f\nf:\n li t0, 5\n1: addi t0, t0, -1\n bnez t0, 1b\n ret\n")
    return Machine(t, image)


def test_ibex_loop_through_the_harness():
    # li 1 + 5 x addi 1 + 4 taken bnez x 3 + 1 fall-through bnez x 1 + ret 2 = 21
    _, stats = _loop("rv32im").call("f", [])
    assert stats.instructions == 12 and stats.cycles == {"ibex": 21}


# --- U54: result latencies and the 3-cycle mispredict penalty ------------------------------

@pytest.mark.parametrize("body, cycles", [
    ("ld a0, 0(a1)\n add a2, a0, a0", [1, 2]),     # LD/LW: 2-cycle result latency → 1 bubble
    ("lw a0, 0(a1)\n add a2, a0, a0", [1, 2]),
    ("lbu a0, 0(a1)\n add a2, a0, a0", [1, 3]),    # LB/LBU/LH/LHU: 3-cycle → 2 bubbles
    ("lhu a0, 0(a1)\n sub a2, a1, a0", [1, 3]),
    ("ld a0, 0(a1)\n add a2, a1, a1", [1, 1]),     # independent: no bubble
    ("mul a0, a1, a2\n add a3, a0, a1", [1, 5]),   # MUL: 5-cycle result latency (FU540 manual 4.3)
    ("mulw a0, a1, a2\n mul a3, a1, a2", [1, 5]),  # 16 bits per cycle: one multiply at a time
    ("add a0, a1, a2\n add a3, a0, a0", [1, 1]),   # fully bypassed ALU
])
def test_u54_result_latency(body, cycles):
    assert price("u54", decode("rv64im", body)) == cycles


def test_u54_scoreboard_sees_distance_two_interlocks():
    # a block is priced as a whole: a use two instructions after a 3-cycle load still waits one cycle
    insns = decode("rv64im", "lbu a0, 0(a1)\n add a3, a4, a4\n add a2, a0, a0")
    assert get_model("u54").block_cycles(insns, taken_last=False, before=None) == 1 + 1 + 2
    # the default kernel's two multiplies per row: the second waits for the first, its user for it
    insns = decode("rv64im", "mul t6, t6, s5\n mul t5, t5, s6\n addi a1, a1, 16\n srli t6, t6, 56\n"
                             " srli t5, t5, 48")
    assert get_model("u54").block_cycles(insns, taken_last=False, before=None) == 1 + 5 + 5


def test_u54_divide_at_its_maximum():
    assert price("u54", decode("rv64im", "div a0, a1, a2\n add a3, a0, a0")) == [1, 65]
    assert price("u54", decode("rv64im", "divw a0, a1, a2\n add a3, a0, a0")) == [1, 33]


def test_u54_branch_prediction():
    back = decode("rv64im", "1: nop\n bne a0, a1, 1b")[1]
    fwd = decode("rv64im", "bne a0, a1, 1f\n nop\n1: nop")[0]
    model = get_model("u54")
    assert model.instruction_cycles(back, taken=True, prev=None) == 1    # loop back-edge: predicted
    assert model.instruction_cycles(back, taken=False, prev=None) == 4   # loop exit: mispredicted (+3)
    assert model.instruction_cycles(fwd, taken=False, prev=None) == 1
    assert model.instruction_cycles(fwd, taken=True, prev=None) == 4
    j, ret, jr = decode("rv64im", "1: j 1b\n ret\n jr a0")
    assert [model.instruction_cycles(i, taken=True, prev=None) for i in (j, ret, jr)] == [1, 1, 4]


def test_u54_loop_through_the_harness():
    # li 1 + 5 x addi 1 + 4 predicted bnez x 1 + exit bnez 1 + 3 + ret 1 = 15
    _, stats = _loop("rv64im").call("f", [])
    assert stats.instructions == 12 and stats.cycles == {"u54": 15}


def test_models_cite_sources_and_omissions():
    ibex, u54 = get_model("ibex"), get_model("u54")
    assert "Ibex" in ibex.source and "Pipeline Details" in ibex.source and ibex.target == "rv32im"
    assert "FU540-C000 Manual" in u54.source and u54.target == "rv64im"
    assert "cache" in u54.omits and "wait states" in ibex.omits
