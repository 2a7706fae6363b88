"""Per-core cycle models built from published timing tables.

Each model is a :class:`sim.cycles.base.CycleModel` in its own module, cites
its source table and says what it leaves out.  ``get_model(core)`` imports
it lazily.
"""

from __future__ import annotations

import importlib

from torus_hw.errors import TorusInputError

# core name → module in sim.cycles holding ``MODELS: dict[str, CycleModel]``
CORE_MODULES = {
    "i8086": "i8086",
    "i8088": "i8086",
    "ibex": "ibex",
    "u54": "u54",
    "cortex-m0": "cortex_m0",
    "cortex-m4": "cortex_m4",
    "cortex-a55": "cortex_a55",
}


def get_model(core: str, *, wait_states=None):
    """The cycle model for ``core``; a clear error when unknown.

    ``wait_states`` (a :class:`sim.cycles.base.WaitStates`; None or zero: the
    zero-wait model) gives a copy priced with that memory system.
    """
    if core not in CORE_MODULES:
        raise TorusInputError(f"unknown core {core!r}; choose one of {', '.join(CORE_MODULES)}")
    module = importlib.import_module(f"sim.cycles.{CORE_MODULES[core]}")
    model = module.MODELS[core]
    return model if wait_states is None else model.with_wait_states(wait_states)


def supports_wait_states(core: str) -> bool:
    """Does ``core``'s model price memory wait states?"""
    return get_model(core).supports_wait_states


def available_cores() -> list[str]:
    return list(CORE_MODULES)
