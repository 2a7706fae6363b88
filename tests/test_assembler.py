"""The ziglang assembler driver and the image it returns."""

import pytest

from isa.assembler import AssemblerError, assemble
from isa.targets import TARGETS, get_target
from torus_hw.errors import TorusInputError

@pytest.mark.parametrize("name", list(TARGETS))
def test_every_target_assembles_and_links(name):
    target = get_target(name)
    image = assemble(target, ".text\n.globl f\nf:\n nop\n nop\n")  # every ISA here spells it nop
    assert image.symbols["f"] == target.link_base
    address, code = image.text
    assert address == target.link_base and len(code) >= 2
    assert image.lines[address] == target.asm_prologue.count("\n") + 4  # kernel.S line of the first nop


def test_assembler_error_is_one_line():
    with pytest.raises(AssemblerError) as info:
        assemble(get_target("rv32im"), ".text\n frobnicate a0\n")
    assert "frobnicate" in str(info.value) and "\n" not in str(info.value)


def test_unknown_target():
    with pytest.raises(TorusInputError, match="unknown target 'z80'"):
        get_target("z80")


def test_undefined_symbol_is_refused():
    with pytest.raises(AssemblerError, match="undefined symbol"):
        assemble(get_target("aarch64"), ".text\n.globl f\nf: bl memset\n")
