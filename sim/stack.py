"""Stack bytes a kernel uses, measured in emulation (for its header's contract).

A write hook records the lowest stack address the kernel stores to, and a
code hook on the entry point the stack pointer it was called with; the
difference is the stack the caller must leave free below its own stack
pointer.  The kernels have fixed frames and no recursion, so a few calls that
cover their paths (every parameter at both ends of its range: k = 1 and
k = k_max, a radius no row and one every row is within, no index kept and
all of them; one row and more rows than k_max) give the worst case;
:func:`measure_stack` returns the largest.
"""

from __future__ import annotations

import itertools

import numpy as np
import unicorn
from unicorn import arm64_const, arm_const, riscv_const, x86_const

from isa.build import BuiltKernel

from .machine import STACK_BASE, STACK_TOP, X86_CS, X86_SS
from .runner import KernelRunner

_SP = {"UC_ARCH_ARM": arm_const.UC_ARM_REG_SP, "UC_ARCH_ARM64": arm64_const.UC_ARM64_REG_SP,
       "UC_ARCH_RISCV": riscv_const.UC_RISCV_REG_SP, "UC_ARCH_X86": x86_const.UC_X86_REG_SP}


def _calls(runner: KernelRunner, rng: np.random.Generator):
    """Probe calls: one row and more rows than k_max, every parameter at both ends of its range for the spec."""
    spec = runner.spec
    kind = runner.kind
    for rows in (1, spec.k_max + 3):
        db = rng.integers(0, 1 << spec.bits, size=(rows, spec.dims))
        runner.load_database(db)
        query = rng.integers(0, 1 << spec.bits, size=spec.dims)
        ends = [sorted({p.low, p.call_limit(spec, rows)}) for p in kind.params]
        for values in itertools.product(*ends):
            params = dict(zip((p.name for p in kind.params), values))
            yield lambda query=query, params=params: runner.call(query, **params)


def measure_stack(built: BuiltKernel) -> int:
    """The most stack bytes below its entry stack pointer the kernel wrote in any of the probe calls."""
    runner = KernelRunner(built, count=False)
    uc = runner.machine.uc
    target = built.target
    real = runner.machine.real_mode
    low, high = ((X86_SS << 4), (X86_SS << 4) + 0x1_0000) if real else (STACK_BASE, STACK_TOP)
    state = {"entry_sp": None, "lowest": None}
    sp_reg = _SP[target.unicorn_arch]

    def on_entry(uc, address, size, _user):
        if state["entry_sp"] is None:
            sp = uc.reg_read(sp_reg)
            state["entry_sp"] = (X86_SS << 4) + sp if real else sp

    def on_write(uc, access, address, size, value, _user):
        if low <= address < high and (state["lowest"] is None or address < state["lowest"]):
            state["lowest"] = address

    entry = built.image.symbol(built.kernel.symbol)
    linear = (X86_CS << 4) + entry if real else entry
    uc.hook_add(unicorn.UC_HOOK_CODE, on_entry, begin=linear, end=linear)
    uc.hook_add(unicorn.UC_HOOK_MEM_WRITE, on_write, begin=low, end=high - 1)
    worst = 0
    for call in _calls(runner, np.random.default_rng(0)):
        state.update(entry_sp=None, lowest=None)
        call()
        if state["lowest"] is not None and state["entry_sp"] is not None:
            worst = max(worst, state["entry_sp"] - state["lowest"])
    return worst
