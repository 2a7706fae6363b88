"""The ISA checker rejects what each core cannot run, naming it and its line."""

import pytest

from isa.assembler import assemble
from isa.checker import ISAViolation, check_image
from isa.targets import get_target


def check(target, body):
    t = get_target(target)
    return check_image(t, assemble(t, ".text\n.globl f\nf:\n" + body + "\n"))


@pytest.mark.parametrize("target, body", [
    ("i8086", " push bp\n mov bp, sp\n shl ax, 1\n shl ax, cl\n lodsb\n cbw\n xlatb\n pop bp\n .byte 0xc3"),
    ("rv32im", " add a0, a0, a1\n mul a0, a0, a1\n divu a0, a0, a1\n ret"),
    ("rv64im", " ld a0, 0(a1)\n mulw a0, a0, a1\n addiw a0, a0, 1\n ret"),
    ("cortex-m0", " adds r0, r0, r1\n ldm r1!, {r2, r3}\n muls r0, r1, r0\n bl f\n bx lr"),
    ("cortex-m4", " usub8 r0, r0, r1\n sel r0, r0, r1\n usada8 r0, r1, r2, r3\n ldrd r2, r3, [r1]\n bx lr"),
    ("aarch64", " ldr q0, [x0]\n sub v0.16b, v0.16b, v1.16b\n abs v0.16b, v0.16b\n uadalp v2.8h, v0.16b\n ret"),
])
def test_native_code_passes(target, body):
    assert check(target, body)


@pytest.mark.parametrize("target, body, what", [
    ("i8086", " shl ax, 4", "shift/rotate by immediate (186)"),
    ("i8086", " push 5", "186 instruction"),
    ("i8086", " imul ax, bx, 3", "186 instruction"),
    ("i8086", " movzx ax, bl", "two-byte opcode (286+)"),
    ("i8086", " mov eax, ebx", "operand-size prefix (386)"),
    ("i8086", " mov ax, word ptr [eax]", "prefix (386)"),
    ("i8086", " ret", "operand-size prefix (386)"),  # this clang's intel-syntax ret is the 32-bit form
    ("i8086", " enter 4, 0", "ENTER (186)"),
    ("i8086", " mov ax, fs:[bx]", "FS override"),
    ("rv32im", " .word 0x60251513", "undecodable"),        # cpop a0, a0 (Zbb)
    ("rv32im", " .word 0x00b57553", "not in RV32IM"),      # fadd.s (F)
    ("rv32im", " .word 0x0005b503", "undecodable"),        # ld a0, 0(a1): RV64 only
    ("cortex-m0", " .inst.w 0xfac0f041", "not in ARMv6-M"),  # usub8 r0, r0, r1
    ("cortex-m0", " .inst.n 0xb108", "CBZ/CBNZ/IT"),         # cbz r0, …
    ("cortex-m0", " .inst.n 0xbf08", "CBZ/CBNZ/IT"),         # it eq
    ("cortex-m4", " .inst.w 0xee300a01", "floating point"),   # vadd.f32 s0, s0, s2
    ("aarch64", " .inst 0x6e829420", "ARMv8.1+"),             # udot v0.4s, v1.16b, v2.16b
    ("aarch64", " .inst 0x04a10000", "SVE"),                  # add z0.s, z0.s, z1.s
])
def test_foreign_code_is_rejected_with_its_line(target, body, what):
    with pytest.raises(ISAViolation) as info:
        check(target, body)
    message = str(info.value)
    assert what in message and target in message and "\n" not in message
    if "undecodable" not in message:
        assert "kernel.S line" in message
