"""The 8086/8088 cycle models against the figures Intel printed.

Every expected number below is read off the 8086 Family User's Manual
(Oct. 1979), Table 2-20 (EA clocks) and Table 2-21 (instruction clocks),
plus the p. 2-50 rule: +4 per word transfer at an odd address (8086) or per
word transfer at any address (8088).  The instruction forms are assembled
with the project's toolchain (so GNU Intel syntax really produces the form
the table row describes) and priced by the model directly; run-time effects
(REP counts, CL, data addresses, taken branches) go through the listing
engine and the kernel harness, the two paths that use the model.
"""

import capstone
import pytest

from isa.assembler import assemble
from isa.targets import get_target
from sim.cycles import get_model
from sim.cycles.i8086 import I8086Model
from sim.listing import estimate
from sim.machine import Machine
from torus_hw.errors import TorusInputError

I8086 = get_target("i8086")

# (GNU Intel syntax, 8086 clocks from Table 2-21 [+ Table 2-20 EA]); each line is one instruction.
STATIC_FORMS = [
    # Table 2-20: every EA form, through MOV reg16, mem16 = 8 + EA.
    ("mov cx, [bx+si+1000]", 8 + 11), ("mov cx, [bp+di+1000]", 8 + 11),
    ("mov cx, [bx+di+1000]", 8 + 12), ("mov cx, [bp+si-2]", 8 + 12),
    ("mov cx, [bx+si]", 8 + 7), ("mov cx, [bp+di]", 8 + 7),
    ("mov cx, [bx+di]", 8 + 8), ("mov cx, [bp+si]", 8 + 8),
    ("mov cx, [si]", 8 + 5), ("mov cx, [di]", 8 + 5), ("mov cx, [bx]", 8 + 5),
    ("mov cx, [bp]", 8 + 9),                     # no [bp] form: encoded [bp+0], displacement + base
    ("mov cx, [di+4]", 8 + 9), ("mov cx, word ptr [1234]", 8 + 6),
    ("mov cx, es:[bx+si+1000]", 8 + 11 + 2),     # segment override +2
    ("mov ax, word ptr [1234]", 10),             # MOV accumulator, memory: its own form, no EA
    ("mov word ptr [1234], ax", 10),
    # MOV
    ("mov bx, cx", 2), ("mov bl, 5", 4), ("mov bx, 5", 4), ("mov [bx], cx", 9 + 5),
    ("mov word ptr [bx], 5", 10 + 5), ("mov ds, ax", 2), ("mov ax, es", 2), ("mov es, [bx]", 8 + 5),
    # ALU: reg,reg 3; reg,mem 9+EA; mem,reg 16+EA; reg,imm 4; mem,imm 17+EA; acc,imm 4; CMP only reads
    ("add bx, cx", 3), ("add dx, [di+999]", 9 + 9), ("add [di+999], dx", 16 + 9),
    ("sub bx, 1000", 4), ("and word ptr [bx], 1000", 17 + 5), ("xor al, 5", 4), ("or ax, 1000", 4),
    ("cmp [di+999], dx", 9 + 9), ("cmp byte ptr [bx], 5", 10 + 5), ("adc bx, cx", 3), ("sbb cl, [si]", 9 + 5),
    # TEST: reg,reg 3; reg,mem 9+EA; acc,imm 4; reg,imm 5; mem,imm 11+EA
    ("test bx, cx", 3), ("test [bx], cl", 9 + 5), ("test al, 1", 4), ("test bl, 1", 5),
    ("test byte ptr [bx], 1", 11 + 5),
    # INC/DEC/NEG/NOT
    ("inc ax", 2), ("dec al", 3), ("inc word ptr [bx]", 15 + 5), ("neg ax", 3), ("not word ptr [bx]", 16 + 5),
    # stack: PUSH reg 11, sreg 10, mem 16+EA; POP reg 8, sreg 8, mem 17+EA; PUSHF 10; POPF 8
    ("push ax", 11), ("pop ax", 8), ("push es", 10), ("pop es", 8),
    ("push word ptr [bx]", 16 + 5), ("pop word ptr [bx]", 17 + 5), ("pushf", 10), ("popf", 8),
    # XCHG: acc,reg16 3; reg,reg 4; mem,reg 17+EA; LEA 2+EA; LDS/LES 16+EA
    ("xchg ax, bx", 3), ("xchg cx, bx", 4), ("xchg [bx], cx", 17 + 5),
    ("lea ax, [bx+si+4]", 2 + 11), ("lds si, [bx]", 16 + 5), ("les di, [bp+6]", 16 + 9),
    # misc
    ("cbw", 2), ("cwd", 5), ("xlatb", 11), ("nop", 3), ("clc", 2), ("cld", 2), ("std", 2), ("sahf", 4),
    ("lahf", 4), ("aaa", 4), ("daa", 4), ("aam", 83), ("aad", 60), ("hlt", 2),
    ("in al, dx", 8), ("out dx, ax", 8), ("in al, 0x60", 10), ("out 0x20, al", 10),
    # shifts and rotates by 1: reg 2, mem 15+EA; by CL: 8 / 20+EA before the 4/bit
    ("shl ax, 1", 2), ("rcr byte ptr [bx], 1", 15 + 5), ("sar dx, cl", 8), ("rol word ptr [si], cl", 20 + 5),
    # MUL/IMUL/DIV/IDIV at the published maximum; memory forms +6 and EA
    ("mul bl", 77), ("mul bx", 133), ("imul bl", 98), ("imul bx", 154),
    ("div bl", 90), ("div bx", 162), ("idiv bl", 112), ("idiv bx", 184),
    ("mul byte ptr [bx]", 83 + 5), ("imul word ptr [bx]", 160 + 5), ("div word ptr [bx]", 168 + 5),
    ("idiv byte ptr [si]", 118 + 5),
    # string instructions without REP
    ("movsb", 18), ("movsw", 18), ("cmpsb", 22), ("scasw", 15), ("lodsb", 12), ("stosw", 11),
    # transfers (clang's .code16 Intel syntax emits 386 forms of CALL/RET: 8086 encodings as bytes)
    ("jmp ax", 11), ("jmp word ptr [bx]", 18 + 5), ("call ax", 16), ("call word ptr [bx]", 21 + 5),
    (".byte 0xff, 0x1f", 37 + 5),                # CALL far [bx]
    (".byte 0xff, 0x2f", 24 + 5),                # JMP far [bx]
    (".byte 0xe8, 0, 0", 19),                    # CALL near
    (".byte 0x9a, 0, 0, 0, 0", 28),              # CALL far direct
    (".byte 0xea, 0, 0, 0, 0", 15),              # JMP far direct
    (".byte 0xc3", 8), (".byte 0xc2, 4, 0", 12), (".byte 0xcb", 18), (".byte 0xca, 4, 0", 17),
    ("int 0x21", 51), ("int3", 52), (".byte 0xcf", 24),
    ("lock xchg [bx], ax", 2 + 17 + 5),          # LOCK prefix 2
]


@pytest.fixture(scope="module")
def decoded():
    """Assemble every form once; return {source line: capstone insn}."""
    source = "".join(f"{text}\n" for text, _ in STATIC_FORMS)
    image = assemble(I8086, source)
    md = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_16)
    md.detail = True
    address, code = image.text
    insns = list(md.disasm(code, address))
    assert len(insns) == len(STATIC_FORMS), "each form must assemble to exactly one instruction"
    return {text: insn for (text, _), insn in zip(STATIC_FORMS, insns)}


@pytest.mark.parametrize("text, clocks", STATIC_FORMS, ids=[t for t, _ in STATIC_FORMS])
def test_published_clocks_per_form(decoded, text, clocks):
    """Without data-address penalties the 8086 and the 8088 charge the same Table 2-21 figure."""
    for core in ("i8086-datasheet", "i8088-datasheet"):
        assert get_model(core).instruction_cycles(decoded[text], taken=False, prev=None) == clocks


def _one(hex_bytes: str):
    md = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_16)
    md.detail = True
    return next(md.disasm(bytes.fromhex(hex_bytes), 0))


@pytest.mark.parametrize("hex_bytes, taken, not_taken", [
    ("7400", 16, 4),      # JE: 16 taken, 4 not
    ("7f00", 16, 4),      # JG
    ("e200", 17, 5),      # LOOP
    ("e100", 18, 6),      # LOOPE
    ("e000", 19, 5),      # LOOPNE
    ("e300", 18, 6),      # JCXZ
    ("ce", 53, 4),        # INTO
    ("eb00", 15, 15),     # JMP short: always 15
])
def test_conditional_transfers(hex_bytes, taken, not_taken):
    insn = _one(hex_bytes)
    model = get_model("i8086-datasheet")
    assert model.instruction_cycles(insn, taken=True, prev=None) == taken
    assert model.instruction_cycles(insn, taken=False, prev=None) == not_taken


def test_mul_div_range_policy():
    """MUL r8 is published as 70-77: max by default, min and the rounded-up midpoint on request."""
    mul_bl, div_mem16 = _one("f6e3"), _one("f737")   # mul bl; div word ptr [bx]
    assert I8086Model("i8086", 16).instruction_cycles(mul_bl, taken=False, prev=None) == 77
    assert I8086Model("i8086", 16, muldiv="min").instruction_cycles(mul_bl, taken=False, prev=None) == 70
    assert I8086Model("i8086", 16, muldiv="mid").instruction_cycles(mul_bl, taken=False, prev=None) == 74
    assert I8086Model("i8086", 16, muldiv="min").instruction_cycles(div_mem16, taken=False, prev=None) == 150 + 5


def test_word_transfer_penalties():
    """p. 2-50: +4 per word at an odd address on the 8086; +4 per word anywhere on the 8088."""
    i8086, i8088 = get_model("i8086-datasheet"), get_model("i8088-datasheet")
    assert [i8086.memory_cycles(a, 2, False) for a in (0x1000, 0x1001)] == [0, 4]
    assert [i8086.memory_cycles(a, 1, True) for a in (0x1000, 0x1001)] == [0, 0]
    assert [i8088.memory_cycles(a, 2, True) for a in (0x1000, 0x1001)] == [4, 4]
    assert i8088.memory_cycles(0x1001, 1, False) == 0
    assert i8086.memory_cycles(0x1001, 4, False) == 8 and i8088.memory_cycles(0x1000, 4, False) == 8


def test_outside_the_8086_set_is_refused():
    for hex_bytes in ("c1e004", "6a05", "66c3", "0fafc3", "d6"):   # 186 shift imm, push imm, 386 ret, imul, SALC
        with pytest.raises(TorusInputError, match="no published 8086 timing"):
            get_model("i8086-datasheet").instruction_cycles(_one(hex_bytes), taken=False, prev=None)


def test_models_are_registered_and_documented():
    for core, bus in (("i8086-datasheet", 16), ("i8088-datasheet", 8)):
        model = get_model(core)
        assert model.core == core and model.target == "i8086" and model.bus_bits == bus and model.needs_memory
        assert "Table 2-21" in model.source and "Table 2-20" in model.source
        assert "prefetch" in model.omits and "wait states" in model.omits and "refresh" in model.omits


# --- run-time effects through the listing engine -------------------------------------


def _total(core, source):
    return estimate(core, source).total_cycles


@pytest.mark.parametrize("source, i8086, i8088", [
    # the brief's two examples; DI = 0 so [di+999] is odd, [di+1000] even
    ("mov cx, [bx+si+1000]", 19, 19 + 4),
    ("add word ptr [di+999], dx", 25 + 8, 25 + 8),      # read and write, both odd on the 8086
    ("add word ptr [di+1000], dx", 25, 25 + 8),
    ("add byte ptr [di+999], dl", 25, 25),              # bytes never pay
    ("mov cx, es:[bx+si+1000]", 21, 21 + 4),
    ("push ax\npop bx", 11 + 8, 11 + 8 + 8),            # stack words: SP even, so 8088 only
])
def test_data_address_penalties(source, i8086, i8088):
    assert (_total("i8086-datasheet", source), _total("i8088-datasheet", source)) == (i8086, i8088)


@pytest.mark.parametrize("source, i8086, i8088", [
    # REP totals = MOV CX (4) + the published 9 + n × per-repetition (+ word penalties)
    ("mov cx, 5\nrep movsb", 4 + 9 + 5 * 17, 4 + 9 + 5 * 17),
    ("mov cx, 4\nrep stosw", 4 + 9 + 4 * 10, 4 + 9 + 4 * 10 + 4 * 4),
    ("mov cx, 3\nrep lodsb", 4 + 9 + 3 * 13, 4 + 9 + 3 * 13),
    ("mov cx, 3\nmov di, 1\nrep stosw", 8 + 9 + 3 * (10 + 4), 8 + 9 + 3 * (10 + 4)),  # odd words
    ("mov cx, 2\nrep movsw", 4 + 9 + 2 * 17, 4 + 9 + 2 * (17 + 8)),                  # read + write per rep
    ("rep movsb", 9, 9),                                                             # CX = 0: no repetition
    ("mov cx, 1\nrep scasb", 4 + 9 + 15, 4 + 9 + 15),
    # REPNE CMPSB on equal (zero) bytes stops after the first repetition, on ZF, with CX = 4 left
    ("mov cx, 5\nrepne cmpsb", 4 + 9 + 22, 4 + 9 + 22),
    ("mov cx, 5\nrepe cmpsb", 4 + 9 + 5 * 22, 4 + 9 + 5 * 22),
    ("mov cx, 3\n.byte 0xf3, 0x26, 0xa4", 4 + 9 + 2 + 3 * 17, 4 + 9 + 2 + 3 * 17),              # override once
])
def test_rep_totals(source, i8086, i8088):
    assert (_total("i8086-datasheet", source), _total("i8088-datasheet", source)) == (i8086, i8088)


def test_rep_is_one_row_with_its_repetitions():
    est = estimate("i8086-datasheet", "mov cx, 4\nrep stosb\ninc ax")
    assert [(r.text.split()[0], r.executions, r.cycles) for r in est.rows] == [
        ("mov", 1, 4), ("rep", 5, 9 + 4 * 10), ("inc", 1, 2)]  # 4 repetitions + the CX = 0 exit


@pytest.mark.parametrize("count", [0, 1, 3, 15])
def test_shift_by_cl_costs_4_per_bit(count):
    assert _total("i8086-datasheet", f"mov cl, {count}\nshl ax, cl") == 4 + 8 + 4 * count
    assert _total("i8086-datasheet", f"mov cl, {count}\nrcl word ptr [si], cl") == 4 + 20 + 5 + 4 * count


def test_taken_and_not_taken_branches():
    source = """
        xor ax, ax          # 3, ZF = 1
        jz 1f               # taken: 16
        nop
    1:  jnz 2f              # not taken: 4
    2:  mov cx, 3           # 4
    3:  inc ax              # 2, three times
        loop 3b             # 17, 17, 5
        jcxz 4f             # CX = 0: taken, 18
        nop
    4:  loop 5f             # CX = 0 wraps to 0xFFFF: taken, 17
        nop
    5:  loop 5b             # re-executes itself: one row, 0xFFFE × 17 + 5
    """
    est = estimate("i8086-datasheet", source)
    assert [(r.cycles, r.executions) for r in est.rows] == [
        (3, 1), (16, 1), (4, 1), (4, 1), (2, 1), (17, 1), (2, 1), (17, 1), (2, 1), (5, 1), (18, 1), (17, 1),
        (0xFFFE * 17 + 5, 0xFFFF)]
    assert est.total_cycles == sum(r.cycles for r in est.rows)


# --- the kernel harness path (block-granular counting) agrees with the listing ----------

KERNEL_BODY = """
    push bp
    push si
    push di
    mov cx, 3
    mov di, 0x101        # odd: every word of the REP pays on the 8086
    mov si, 0x200
    rep movsw
    mov cl, 5
    shr ax, cl
    xor cx, cx
    rep stosb            # CX = 0: 9 clocks
    mov cx, 4
1:  add ax, [si]
    loop 1b
    pop di
    pop si
    pop bp
    .byte 0xc3           # near RET
"""


def test_harness_counts_like_the_listing():
    """Machine.call prices blocks once per (prev, block, next) triple, plus hooked CL/CX costs;
    the listing prices every executed instruction: the totals must agree to the clock."""
    image = assemble(I8086, ".globl torus_distance\ntorus_distance:\n" + KERNEL_BODY)
    machine = Machine(I8086, image, cores=("i8086-datasheet", "i8088-datasheet"))
    _, stats = machine.call("torus_distance", [("ptr", 0x30000), ("ptr", 0x30000)])
    for core in ("i8086-datasheet", "i8088-datasheet"):
        assert stats.cycles[core] == estimate(core, KERNEL_BODY).total_cycles, core
    # by hand, 8086: pushes 33, movs 12, REP MOVSW 9 + 3 × 17 + 3 odd word writes × 4 (SI is even),
    # MOV CL + SHR 4 + 8 + 4 × 5, XOR 3, REP STOSB 9, MOV CX 4, 4 × ADD (9 + 5) + 3 × 17 + 5, pops 24, RET 8
    assert stats.cycles["i8086-datasheet"] == 33 + 12 + (9 + 51 + 12) + 32 + 3 + 9 + 4 + 56 + 56 + 24 + 8


def test_harness_refuses_a_register_dependent_instruction_it_did_not_hook():
    """A byte of data before SHL r, CL hides it from the linear sweep that places the CL hooks:
    the harness must refuse to price it rather than charge 8 clocks without the 4/bit."""
    body = """
    .globl torus_distance
    torus_distance:
        mov cl, 3
        jmp 1f
        .byte 0xb8          # MOV AX, imm16 to a linear sweep: swallows the SHL below
    1:  shl ax, cl
        .byte 0xc3
    """
    machine = Machine(I8086, assemble(I8086, body), cores=("i8086-datasheet",))
    with pytest.raises(TorusInputError, match="was not hooked"):
        machine.call("torus_distance", [("ptr", 0x30000), ("ptr", 0x30000)])
