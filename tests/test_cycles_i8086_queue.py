"""Cores i8086 and i8088 (the bus-unit model) across instructions: state carried, bus-bound code, operands.

Single instructions from a full queue are held against the real chip in
tests/test_sst8086.py; these check what only sequences show.
"""

import pytest

from sim.cycles import get_model
from sim.listing import estimate


def _rows(core, source):
    return estimate(core, source).rows


@pytest.mark.parametrize("core, clocks", [("i8086", 4), ("i8088", 8)])
def test_straight_line_code_runs_at_the_bus_rate(core, clocks):
    """2-byte ADDs (3 EU clocks) once the queue is drained: one word fetch (4 clocks) per ADD on the 8086,
    two byte fetches (8 clocks) on the 8088 — the published 3 assumes a full queue."""
    rows = _rows(core, "add ax, bx\n" * 40)
    assert {r.cycles for r in rows[-20:]} == {clocks}
    assert all(r.queue_wait == clocks - 3 for r in rows[-20:])


def test_a_long_instruction_fills_the_queue_for_the_next_ones():
    """After MUL (70+ clocks) the queue is full: the next ADDs run at their published 3 clocks until it drains."""
    rows = _rows("i8088", "mov al, 0\nmul bl\n" + "add ax, bx\n" * 6)
    adds = [r.cycles for r in rows[2:]]
    assert adds[0] == 3 and adds[-1] == 8 and sorted(adds) == adds


def test_mul_follows_its_operands():
    """MUL r8: 69 + the accumulator's 1-bits, one more when the high half of the product is zero."""
    def mul(al, bl):
        rows = _rows("i8086", f"mov al, {al}\nmov bl, {bl}\n" + "nop\n" * 8 + "mul bl\n")
        return rows[-1].cycles
    assert mul(0, 200) == 69 + 0 + 1
    assert mul(255, 1) == 69 + 8 + 1
    assert mul(255, 2) == 69 + 8
    assert mul(3, 200) == 69 + 2


def test_word_parity_matters_on_the_8086_only():
    even = estimate("i8086", "mov bx, 0x100\nmov ax, [bx]\n").total_cycles
    odd = estimate("i8086", "mov bx, 0x101\nmov ax, [bx]\n").total_cycles
    assert odd == even + 4
    assert (estimate("i8088", "mov bx, 0x100\nmov ax, [bx]\n").total_cycles
            == estimate("i8088", "mov bx, 0x101\nmov ax, [bx]\n").total_cycles)


def test_rep_stosw_is_one_row_priced_from_cx():
    rows = _rows("i8086", "mov cx, 4\nrep stosw\ninc ax\n")
    assert [(r.text.split()[0], r.executions) for r in rows] == [("mov", 1), ("rep", 5), ("inc", 1)]
    three = _rows("i8086", "mov cx, 3\nrep stosw\ninc ax\n")[1].cycles
    assert rows[1].cycles - three == 10      # one more even-word repetition: 4 T-states + 6 loop clocks


def test_models_say_what_they_are():
    for core in ("i8086", "i8088"):
        model = get_model(core)
        assert model.target == "i8086" and model.stateful
        assert "SingleStepTests" in model.source and "refresh" in model.omits


QUEUE_BODY = """
    push bp
    push si
    push di
    mov cx, 3
    mov di, 0x101        # odd: every word of the REP takes two bus cycles on the 8086
    rep stosw
    mov ax, 0x8001
    cwd                  # AX negative: one clock more
    mov bl, 7
    mul bl               # operand-dependent
    mov cx, 4
    mov si, 0x201
1:  add ax, [si]         # odd word
    loop 1b
    pop di
    pop si
    pop bp
    .byte 0xc3           # near RET
"""


def test_harness_counts_like_the_listing():
    """Machine.call walks executed blocks with the bus-unit state carried and each cost cached per
    (block, state, facts); the listing runs every instruction in order: the totals must agree."""
    from isa.assembler import assemble
    from isa.targets import get_target
    from sim.machine import Machine

    target = get_target("i8086")
    image = assemble(target, ".globl torus_distance\ntorus_distance:\n" + QUEUE_BODY)
    machine = Machine(target, image, cores=("i8086", "i8088"))
    for _ in range(2):   # the second call is served from the block cache
        _, stats = machine.call("torus_distance", [("ptr", 0x30000), ("ptr", 0x30000)])
        for core in ("i8086", "i8088"):
            assert stats.cycles[core] == estimate(core, QUEUE_BODY).total_cycles, core


def test_wait_states_lengthen_every_bus_cycle():
    """code=1: every fetch is T1 T2 T3 Tw T4; data=2: every transfer two Tw. Straight-line code is bus-bound,
    so each 2-byte ADD costs one fetch (8086) or two (8088) of 5 clocks; a load pays its data Tw on top."""
    from sim.cycles.base import WaitStates

    slow = get_model("i8086", wait_states=WaitStates(code=1, data=2))
    rows = estimate("i8086", "add ax, bx\n" * 30, model=slow).rows
    assert {r.cycles for r in rows[-10:]} == {5}
    slow88 = get_model("i8088", wait_states=WaitStates(code=1))
    assert {r.cycles for r in estimate("i8088", "add ax, bx\n" * 30, model=slow88).rows[-10:]} == {10}
    plain = estimate("i8086", "nop\n" * 8 + "mov ax, [bx]\n").rows[-1].cycles
    waited = estimate("i8086", "nop\n" * 8 + "mov ax, [bx]\n", model=get_model("i8086", wait_states=WaitStates(data=2)))
    assert waited.rows[-1].cycles == plain + 2
    assert get_model("i8086", wait_states=WaitStates()) is get_model("i8086")


def test_datasheet_wait_states():
    from sim.cycles.base import WaitStates

    model = get_model("i8086-datasheet", wait_states=WaitStates(code=1, data=3))
    assert model.memory_cycles(0x1001, 2, False) == 4 + 2 * 3 and model.memory_cycles(0x1000, 1, True) == 3
    with pytest.raises(Exception, match="byte"):
        get_model("i8088-datasheet", wait_states=WaitStates(code=1, fetch_bytes=4))


def test_shift_by_cl_costs_4_per_bit_unmasked():
    def shift(cl, operand="ax"):
        return _rows("i8086", f"mov cl, {cl}\n" + "nop\n" * 8 + f"shl {operand}, cl\n")[-1].cycles
    assert shift(5) - shift(2) == 12 and shift(0) == 8          # 8 + 4 x CL from a full queue
    assert shift(200) - shift(0) == 800                          # the 8086 does not mask CL
    assert shift(3, "word ptr [si]") - shift(1, "word ptr [si]") == 8
