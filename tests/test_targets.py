"""The target descriptions and every registry derived from them agree.

One description per target (``isa.targets``) and one record of which cycle
models price it (``CycleModel.target``); everything else — CLI choices, the
checker's rules, the assembler's flags, the harness's ABI adapter and start
state, the bench goals — is read from them.  These tests catch a description
that is incomplete or a registry that has drifted from it.
"""

import functools

import pytest

from isa.abi import POINTER, U32, Abi, far_pointer
from isa.targets import TARGETS, get_target
from sim import cycles
from sim.machine import FLAT, REAL_MODE, X86_SEGMENTS, Machine, register_id
from torus_hw.cli import build_parser
from torus_hw.errors import TorusInputError

SEARCH_KINDS = [POINTER, POINTER, U32, U32, POINTER, POINTER]  # torus_search(q, db, n, k, out_idx, out_dist)


# --- targets ↔ cycle models ---------------------------------------------------------

def test_every_model_prices_a_known_target_under_its_own_name():
    for core, model in cycles.models().items():
        assert model.core == core
        assert model.target in TARGETS, f"{core} prices unknown target {model.target!r}"
        assert model.source and model.omits, f"{core} must cite its table and say what it leaves out"


@pytest.mark.parametrize("name", list(TARGETS))
def test_every_target_has_its_default_core_registered_with_it(name):
    cores = cycles.cores_for(name)
    assert cores[0] == TARGETS[name].default_core
    assert all(cycles.get_model(core).target == name for core in cores)
    assert set(cores) == {c for c, m in cycles.models().items() if m.target == name}


def test_the_core_target_relation_is_stored_once():
    """Targets no longer list cores: the model's ``target`` is the only record."""
    assert not any(hasattr(t, "cores") for t in TARGETS.values())
    assert sorted(c for name in TARGETS for c in cycles.cores_for(name)) == sorted(cycles.available_cores())


def test_a_default_core_without_a_model_is_refused(monkeypatch):
    import dataclasses

    import isa.targets

    broken = dataclasses.replace(TARGETS["rv32im"], default_core="no-such-core")
    monkeypatch.setitem(isa.targets.TARGETS, "rv32im", broken)
    with pytest.raises(TorusInputError, match="default core 'no-such-core'.*registered: ibex"):
        cycles.cores_for("rv32im")


# --- the CLI ---------------------------------------------------------------------------

def _help(*command: str) -> str:
    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    return action.choices[command[0]].format_help().replace("\n", " ")


def test_cli_offers_exactly_the_registered_targets_and_cores():
    gen, run, cyc = _help("gen"), _help("run"), _help("cycles")
    listed = ", ".join(TARGETS)
    assert f"one of {listed}" in " ".join(gen.split())
    assert f"one of {listed}, rtl" in " ".join(run.split())
    assert f"one of {', '.join(cycles.available_cores())}" in " ".join(cyc.split())


def test_bench_goals_are_the_targets_goals():
    from sim import bench

    assert bench.GOALS == {name: t.goal for name, t in TARGETS.items()}
    assert {bench.baseline_name(name) for name in TARGETS} <= {"clang -O2", "clang -O3", "byte loop"}
    assert all(t.goal > 1 for t in TARGETS.values())


# --- each description is complete -------------------------------------------------------

@pytest.mark.parametrize("name", list(TARGETS))
def test_every_register_a_description_names_exists_in_unicorn(name):
    t = TARGETS[name]
    abi = t.abi
    names = {*abi.argument_registers, *abi.result_registers, *abi.callee_saved, *abi.volatile, abi.stack_pointer,
             *abi.reserved, *(r for r, _ in t.emulator.setup_registers), *(r for r, _ in t.emulator.entry_registers)}
    names |= {abi.link_register} if abi.link_register else set()
    names |= {abi.flags_register} if abi.flags_register else set()
    for reg in sorted(names):
        register_id(t, reg)  # raises with the register's name when the data has a typo


@pytest.mark.parametrize("name", list(TARGETS))
def test_every_description_is_self_consistent(name):
    t = TARGETS[name]
    abi = t.abi
    assert t.rules, "the checker needs rules"
    assert t.emulator.memory in ("flat", "real-mode")
    assert abi.slot_bytes * 8 == t.word_bits
    assert abi.stack_alignment & (abi.stack_alignment - 1) == 0
    assert not set(abi.callee_saved) & set(abi.volatile), "a register is either callee-saved or volatile"
    assert abi.stack_pointer not in abi.callee_saved  # checked on its own, with the return's pop
    assert (abi.link_register is None) == (abi.return_address_bytes > 0)
    assert t.generator().__name__ == f"isa.{t.family}"


def test_unknown_target_names_the_registered_ones():
    with pytest.raises(TorusInputError, match="unknown target 'z80'; choose one of " + ", ".join(TARGETS)):
        get_target("z80")


# --- the ABI objects: the documented conventions -----------------------------------------

def _where(abi: Abi, kinds=SEARCH_KINDS):
    return [(a.register, a.offset, a.size) for a in abi.arguments(kinds)]


def test_abi_argument_locations_are_the_documented_ones():
    regs = lambda names, size: [(r, None, size) for r in names]  # noqa: E731
    assert _where(get_target("rv32im").abi) == regs(["a0", "a1", "a2", "a3", "a4", "a5"], 4)
    assert _where(get_target("rv64im").abi) == [(f"a{i}", None, 8 if k == POINTER else 4)
                                                for i, k in enumerate(SEARCH_KINDS)]
    assert _where(get_target("aarch64").abi) == [(f"x{i}", None, 8 if k == POINTER else 4)
                                                 for i, k in enumerate(SEARCH_KINDS)]
    # AAPCS: r0-r3, then out_idx at [sp] and out_dist at [sp+4] on entry
    for name in ("cortex-m0", "cortex-m4"):
        assert _where(get_target(name).abi) == regs(["r0", "r1", "r2", "r3"], 4) + [(None, 0, 4), (None, 4, 4)]
    # 8086 cdecl: return IP at [sp], then every argument as two words, first argument lowest
    assert _where(get_target("i8086").abi) == [(None, 2 + 4 * i, 4) for i in range(6)]
    assert get_target("i8086").abi.stack_bytes(SEARCH_KINDS) == 26
    assert get_target("cortex-m0").abi.stack_bytes(SEARCH_KINDS) == 8
    assert get_target("aarch64").abi.stack_bytes(SEARCH_KINDS) == 0


def test_abi_encodes_far_pointers_and_results_by_the_convention():
    x86 = get_target("i8086").abi
    assert far_pointer(0x4_1234) == (0x4123, 0x4)
    assert x86.encode(POINTER, 0x4_1234) == 0x4123 << 16 | 0x4  # offset word (low address), then segment word
    registers, stack = x86.place([(U32, 0x0002_0005), (POINTER, 0x3_0010)])
    assert registers == {} and stack == [(2, bytes([5, 0, 2, 0])), (6, bytes([0, 0, 1, 0x30]))]
    assert x86.result([0x1234, 0xABCD]) == 0xABCD_1234             # DX:AX
    assert get_target("aarch64").abi.result([0xFFFF_FFFF_0000_0007]) == 7  # w0
    with pytest.raises(TorusInputError, match="unknown argument kind 'f32'"):
        x86.arguments(["f32"])


def test_abi_tells_a_prologue_what_to_save_and_how_big_a_frame_is():
    aapcs, a64 = get_target("cortex-m4").abi, get_target("aarch64").abi
    assert aapcs.must_save(["r0", "r7", "r4", "r12", "lr"]) == ("r4", "r7")
    assert a64.must_save(["x0", "d9", "x19", "v1"]) == ("x19", "d9")
    assert (aapcs.aligned_frame(20), a64.aligned_frame(24), a64.aligned_frame(0)) == (24, 32, 0)


# --- the harness reads the description: start state and ABI checks -----------------------

@functools.cache
def _image(name: str):
    from isa.build import build_kernel
    from isa.spec import KernelSpec

    return build_kernel(name, KernelSpec("distance", "l1", 8, 4)).image


def _machine(name: str) -> Machine:
    return Machine(get_target(name), _image(name), count=False)


@pytest.mark.parametrize("name", list(TARGETS))
def test_start_state_puts_every_argument_where_the_abi_says(name):
    """Machine.enter is every target's ABI adapter: read each argument back from where the ABI says it is."""
    m = _machine(name)
    region = REAL_MODE if m.real_mode else FLAT
    values = [region.query, region.db + 0x123, 0x0001_0002, 3, region.out_idx, region.out_dist]
    args = list(zip(SEARCH_KINDS, values))
    begin, until = m.enter(0x40, args)
    t, abi = m.target, m.target.abi
    sp = m.reg(abi.stack_pointer)
    stack_base = X86_SEGMENTS["ss"] << 4 if m.real_mode else 0
    assert sp % abi.stack_alignment == 0
    for where, (kind, value) in zip(abi.arguments(SEARCH_KINDS), args):
        want = abi.encode(kind, value)
        if where.register is not None:
            assert m.reg(where.register) & ((1 << 8 * abi.slot_bytes) - 1) == want  # the whole register
        else:
            got = int.from_bytes(m.read(stack_base + sp + where.offset, where.size), "little")
            assert got == want & ((1 << 8 * where.size) - 1)
    # the return address leads to the EXIT sentinel, and the call starts at the entry (Thumb bit set on Thumb)
    if abi.link_register is not None:
        assert m.reg(abi.link_register) & ~1 == until
    else:
        assert (X86_SEGMENTS["cs"] << 4) + int.from_bytes(m.read(stack_base + sp, abi.return_address_bytes),
                                                          "little") == until
    assert begin == 0x40 | (1 if t.emulator.thumb else 0)
    for reg, value in t.emulator.entry_registers:
        assert m.reg(reg) == value


@pytest.mark.parametrize("name", list(TARGETS))
def test_callee_saved_registers_are_seeded_distinctly(name):
    """A kernel that swaps two callee-saved registers must be caught too, so no two start equal."""
    m = _machine(name)
    m.enter(m.image.symbol("torus_distance"), [(POINTER, m.region.query), (POINTER, m.region.db)])
    saved = m._seed_callee_saved()
    fixed = {m.target.abi.stack_pointer, *(X86_SEGMENTS if m.real_mode else ())}
    seeded = [v for reg, v in saved.items() if reg not in fixed]
    assert len(seeded) == len(set(seeded)) == len(m.target.abi.callee_saved) - len(fixed & set(m.target.abi.callee_saved))
    assert all(v for v in seeded)


def _clobber_after_return(m: Machine, reg: str, value):
    """Run the kernel for real, then change ``reg`` as a faulty kernel would have left it."""
    run = m.uc.emu_start

    def emu_start(begin, until, **kw):
        run(begin, until, **kw)
        m.set_reg(reg, value(m.reg(reg)))

    m.uc.emu_start = emu_start


@pytest.mark.parametrize("name, reg", [(name, reg) for name, t in TARGETS.items() for reg in t.abi.saved()])
def test_every_clobbered_callee_saved_register_is_caught(name, reg):
    from sim.machine import EmulatorFault

    m = _machine(name)
    m.write(m.region.query, bytes(16))
    args = [(POINTER, m.region.query), (POINTER, m.region.query)]
    assert m.call("torus_distance", args)[0] == 0  # the real kernel keeps the convention
    _clobber_after_return(m, reg, lambda v: v ^ 0x10)
    with pytest.raises(EmulatorFault, match=f"broke the {m.target.abi} ABI: callee-saved register {reg} "):
        m.call("torus_distance", args)


@pytest.mark.parametrize("name", [n for n, t in TARGETS.items() if t.abi.clear_flags])
def test_a_flag_the_abi_wants_clear_is_checked_on_return(name):
    from sim.machine import EmulatorFault

    m = _machine(name)
    m.write(m.region.query, bytes(16))
    args = [(POINTER, m.region.query), (POINTER, m.region.query)]
    abi = m.target.abi
    for flag, mask in abi.clear_flags:
        _clobber_after_return(m, abi.flags_register, lambda v, mask=mask: v | mask)
        with pytest.raises(EmulatorFault, match=f"returned with {flag} set"):
            m.call("torus_distance", args)


def test_design_doc_states_each_targets_convention_as_the_data_does():
    """docs/design.md quotes Abi.summary(): change an ABI and the doc must follow."""
    from pathlib import Path

    design = (Path(__file__).parents[1] / "docs" / "design.md").read_text().splitlines()
    for abi in {t.abi for t in TARGETS.values()}:
        row = next((line for line in design if line.startswith(f"| `{abi}` |")), None)
        assert row is not None and row.endswith(f"| {abi.summary()} |"), abi.name


# --- a uint32 in a 64-bit register: the harness passes and checks it as the ABI says -------------

def test_a_uint32_in_a_wide_register_is_passed_as_the_abi_defines_it():
    lp64, a64, ilp32 = get_target("rv64im").abi, get_target("aarch64").abi, get_target("rv32im").abi
    assert lp64.encode(U32, 0x8000_0001) == 0xFFFF_FFFF_8000_0001  # LP64: sign-extended, unsigned too
    assert lp64.encode(U32, 0x7FFF_FFFF) == 0x7FFF_FFFF
    assert a64.encode(U32, 5) >> 32 != 0 and a64.encode(U32, 5) & 0xFFFF_FFFF == 5  # AAPCS64: upper bits undefined
    assert ilp32.encode(U32, 0x8000_0001) == 0x8000_0001
    assert lp64.result_violation([0xFFFF_FFFF_C000_0000]) is None
    assert "not sign-extended" in lp64.result_violation([0x0000_0000_C000_0000])
    assert a64.result_violation([0x0000_0000_C000_0000]) is None and a64.result([0x1234_5678_C000_0000]) == 0xC000_0000


def test_a_kernel_returning_a_zero_extended_uint32_on_lp64_is_caught():
    from isa.assembler import assemble
    from sim.machine import EmulatorFault

    target = get_target("rv64im")
    image = assemble(target, ".text\n.globl f\nf:\n    li a0, 1\n    slli a0, a0, 31\n    ret\n")
    with pytest.raises(EmulatorFault, match="not sign-extended from bit 31"):
        Machine(target, image, count=False).call("f", [])


@pytest.mark.parametrize("name", [n for n, t in TARGETS.items() if t.abi.slot_bytes == 8])
def test_a_distance_of_2_to_the_31_or_more_comes_back_through_the_abi(name):
    """16-bit l2 with D=3 reaches 3 · 2^30: the LP64 kernels must return it sign-extended (the bug: mv a0)."""
    import numpy as np

    from isa.build import build_kernel
    from isa.generate import variants
    from isa.spec import KernelSpec
    from sim.runner import KernelRunner

    spec = KernelSpec("distance", "l2", 16, 3)
    for variant in variants(name, spec):
        runner = KernelRunner(build_kernel(name, spec, variant=variant), count=False)
        runner.load_database(np.full((1, 3), 32768, dtype=np.uint16))
        assert runner.call(np.zeros(3, dtype=np.uint16), row=0).distance == 3 << 30, variant
